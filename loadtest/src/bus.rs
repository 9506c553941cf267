//! Bus traffic in the steady window: a subscriber of its own on the service's bus channel counts
//! messages and bytes per kind (the `"t"` tag), whatever build of the service publishes them.

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// Messages and bytes per kind.
pub type Traffic = BTreeMap<String, (u64, u64)>;

/// A running count; [`Sniffer::finish`] stops it.
pub struct Sniffer {
    stop: tokio::sync::oneshot::Sender<()>,
    counted: tokio::task::JoinHandle<Traffic>,
}

/// Start counting what is published on `channel` of the Redis on `port`.
///
/// # Errors
/// When the subscription cannot be made.
pub async fn start(port: u16, channel: &str) -> anyhow::Result<Sniffer> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let counted = tokio::spawn(async move {
        let mut traffic = Traffic::new();
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                _ = &mut stopped => return traffic,
                message = messages.next() => {
                    let Some(message) = message else { return traffic };
                    let bytes = message.get_payload_bytes();
                    let entry = traffic.entry(kind(bytes)).or_default();
                    entry.0 += 1;
                    entry.1 += bytes.len() as u64;
                }
            }
        }
    });
    Ok(Sniffer { stop, counted })
}

impl Sniffer {
    /// Stop and hand back what was counted.
    pub async fn finish(self) -> Traffic {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(5), self.counted).await.ok().and_then(Result::ok).unwrap_or_default()
    }
}

/// The message's `"t"` tag (serde puts it first; the write script's own `load` messages may
/// put it anywhere), or `fixes` for a binary position batch (`grid_dispatch::store::bus_codec`).
fn kind(bytes: &[u8]) -> String {
    if bytes.first() == Some(&0x01) {
        return "fixes".into();
    }
    let text = String::from_utf8_lossy(bytes);
    let Some(at) = text.find("\"t\":\"") else { return "?".into() };
    let rest = &text[at + 5..];
    rest.split('"').next().unwrap_or("?").to_owned()
}

/// The table rows for `traffic` over `window` with `reports` filed in it.
pub fn print(traffic: &Traffic, window: Duration, reports: u64) {
    let (messages, bytes) = traffic.values().fold((0, 0), |(m, b), (m2, b2)| (m + m2, b + b2));
    let per = |b: u64, m: u64| b as f64 / m.max(1) as f64;
    println!(
        "| bus: messages/s, bytes/message (all kinds) | {:.0}/s, {:.0} B | | | — |",
        messages as f64 / window.as_secs_f64(),
        per(bytes, messages)
    );
    // What incidents put on the bus (everything but positions, duty and workload counts).
    let positions = ["fixes", "duty", "unreachable", "load"];
    let (im, ib) = traffic
        .iter()
        .filter(|(k, _)| !positions.contains(&k.as_str()))
        .fold((0, 0), |(m, b), (_, (m2, b2))| (m + m2, b + b2));
    println!(
        "| bus: incident messages per report, bytes per report, bytes/message | {:.2}, {:.0} B, {:.0} B | | | — |",
        im as f64 / reports.max(1) as f64,
        ib as f64 / reports.max(1) as f64,
        per(ib, im)
    );
    let kinds: Vec<String> = traffic.iter().map(|(k, (m, b))| format!("{k} {m} × {:.0} B", per(*b, *m))).collect();
    println!("| bus: by kind | {} | | | — |", kinds.join("; "));
}
