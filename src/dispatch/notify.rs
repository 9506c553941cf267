//! Notifications out through WeChat (issue #3): a mediator with a bound openid gets one per
//! offer (so a phone whose page is closed still hears about it); a resident who reported
//! through WeChat gets one when their report is claimed, when the mediator arrives and when it
//! is resolved.
//!
//! Dispatch only enqueues ([`Dispatcher::wechat_notify`], [`Dispatcher::wechat_offers`]): a
//! bounded queue that never blocks (full → dropped and logged). A worker delivers with bounded
//! retries and doubling backoff, and appends each attempt's outcome to the incident's timeline
//! (`Event::Notified`). With no WeChat credentials configured, deliveries are logged as skipped.

use super::Dispatcher;
use crate::config::Settings;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Event, Transition};
use crate::domain::timeline;
use crate::store::Store;
use crate::wechat::client::{WechatClient, WechatError};
use crate::wechat::mask;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use tokio::sync::{Semaphore, mpsc};

/// Deliveries in flight at once.
const CONCURRENT_DELIVERIES: usize = 8;

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A mediator has a new offer.
    Offer,
    /// The resident's report was taken.
    Claimed,
    /// The mediator arrived.
    Arrived,
    /// The report was closed.
    Resolved,
}

impl Notice {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Claimed => "claimed",
            Self::Arrived => "arrived",
            Self::Resolved => "resolved",
        }
    }
}

/// Who gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recipient {
    Mediator(AccountId),
    Resident,
}

#[derive(Debug, Clone)]
struct Job {
    incident_id: IncidentId,
    notice: Notice,
    recipient: Recipient,
}

struct Context {
    store: Arc<dyn Store>,
    client: WechatClient,
    settings: Arc<Settings>,
    slots: Semaphore,
}

/// The notification queue and its worker (started on first use, inside the runtime).
pub(super) struct Notifier {
    context: Arc<Context>,
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Notifier {
    /// A notifier delivering through `store`'s cached token with `settings.wechat`.
    pub(super) fn new(store: Arc<dyn Store>, settings: Arc<Settings>) -> Self {
        let client = WechatClient::new(settings.wechat.clone(), store.clone());
        let slots = Semaphore::new(CONCURRENT_DELIVERIES);
        Self { context: Arc::new(Context { store, client, settings, slots }), queue: OnceLock::new() }
    }

    /// The WeChat API client.
    pub(super) fn client(&self) -> &WechatClient {
        &self.context.client
    }

    fn enqueue(&self, job: Job) {
        let Some(queue) = self.queue() else { return };
        if let Err(e) = queue.try_send(job) {
            metrics::counter!("gd_wechat_notify_dropped_total").increment(1);
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            tracing::warn!(incident_id = %job.incident_id, notice = job.notice.as_str(), "notification queue full; dropped");
        }
    }

    fn queue(&self) -> Option<&mpsc::Sender<Job>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.context.settings.wechat.notify_queue);
            runtime.spawn(run(self.context.clone(), rx));
            tx
        }))
    }
}

/// The worker: ends when the dispatcher (the sender) is gone.
async fn run(context: Arc<Context>, mut rx: mpsc::Receiver<Job>) {
    while let Some(job) = rx.recv().await {
        let context = context.clone();
        tokio::spawn(async move {
            let Ok(_slot) = context.slots.acquire().await else { return };
            deliver(&context, job).await;
        });
    }
}

async fn openid_of(context: &Context, job: &Job) -> Option<String> {
    let found = match &job.recipient {
        Recipient::Mediator(id) => context.store.get_account(id).await.map(|a| a.and_then(|a| a.wechat_openid)),
        Recipient::Resident => context.store.incident_openid(&job.incident_id).await,
    };
    match found {
        Ok(openid) => openid.filter(|o| !o.is_empty()),
        Err(e) => {
            tracing::warn!(incident_id = %job.incident_id, error = %e, "could not look up a notification recipient");
            None
        }
    }
}

async fn record(context: &Context, job: &Job, to: &str, outcome: String) {
    let event = Event::Notified {
        channel: format!("wechat_{}", context.settings.wechat.message_api),
        notice: job.notice.as_str().to_owned(),
        to: mask(to),
        outcome,
    };
    let entry = timeline::system(jiff::Timestamp::now(), event);
    if let Err(e) = context.store.append_timeline(&job.incident_id, &[entry]).await {
        tracing::warn!(incident_id = %job.incident_id, error = %e, "could not record a delivery");
    }
}

async fn deliver(context: &Context, job: Job) {
    let Some(openid) = openid_of(context, &job).await else { return };
    let w = &context.settings.wechat;
    let template = match job.notice {
        Notice::Offer => &w.template_offer,
        Notice::Claimed => &w.template_claimed,
        Notice::Arrived => &w.template_arrived,
        Notice::Resolved => &w.template_resolved,
    };
    if !context.client.enabled() || template.is_empty() {
        let why = if context.client.enabled() { "skipped: no template id" } else { "skipped: wechat not configured" };
        tracing::info!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), "{why}");
        record(context, &job, &openid, why.to_owned()).await;
        return;
    }
    let base = context.settings.http.public_base_url.trim_end_matches('/');
    let (what, link) = match job.notice {
        Notice::Offer => ("附近有新的矛盾纠纷，请尽快接单", format!("{base}/m")),
        Notice::Claimed => ("调解员已接单，正在赶来", format!("{base}/")),
        Notice::Arrived => ("调解员已到场", format!("{base}/")),
        Notice::Resolved => ("您反映的问题已办结，欢迎评价", format!("{base}/")),
    };
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    let data = json!({
        "thing1": { "value": what },
        "thing2": { "value": format!("编号{}", short(&job.incident_id)) },
        "time3": { "value": now.strftime("%Y-%m-%d %H:%M").to_string() },
    });
    let client_msg_id = format!("{}:{}:{}", job.incident_id, job.notice.as_str(), mask(&openid));
    let mut backoff = w.notify_backoff;
    for attempt in 1..=w.notify_attempts {
        let sent = if w.message_api == "subscribe" {
            context.client.send_subscribe(&openid, template, &link, &data).await
        } else {
            context.client.send_template(&openid, template, &link, &data, &client_msg_id).await
        };
        let last = attempt == w.notify_attempts;
        match sent {
            Ok(()) => {
                metrics::counter!("gd_wechat_notify_total", "outcome" => "sent").increment(1);
                tracing::info!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), attempt, "notification sent");
                record(context, &job, &openid, format!("sent (attempt {attempt})")).await;
                return;
            }
            Err(e) => {
                let retry = e.is_transient() && !last;
                let code = match &e {
                    WechatError::Api { code, .. } => code.to_string(),
                    other => other.to_string(),
                };
                tracing::warn!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), attempt, error = %e, retry, "notification failed");
                let outcome = if retry {
                    format!("failed (attempt {attempt}): {code}; retrying")
                } else {
                    format!("failed (attempt {attempt}): {code}")
                };
                record(context, &job, &openid, outcome).await;
                if !retry {
                    metrics::counter!("gd_wechat_notify_total", "outcome" => "failed").increment(1);
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
    }
}

fn short(id: &IncidentId) -> String {
    let s = id.to_string();
    s[s.len().saturating_sub(6)..].to_owned()
}

impl Dispatcher {
    /// Enqueue the WeChat notifications a stored transition calls for (never waits).
    pub(super) fn wechat_notify(&self, transition: &Transition) {
        let id = &transition.incident.id;
        for event in &transition.events {
            let (notice, recipient) = match event {
                Event::Offered { mediator_ids } => {
                    self.wechat_offers(id, mediator_ids);
                    continue;
                }
                Event::Claimed { .. } | Event::Assigned { .. } => (Notice::Claimed, Recipient::Resident),
                Event::Arrived => (Notice::Arrived, Recipient::Resident),
                Event::Resolved { .. } => (Notice::Resolved, Recipient::Resident),
                _ => continue,
            };
            self.inner.wechat.enqueue(Job { incident_id: id.clone(), notice, recipient });
        }
    }

    /// Enqueue one offer notification per mediator (never waits).
    pub(super) fn wechat_offers(&self, id: &IncidentId, mediator_ids: &[AccountId]) {
        for m in mediator_ids {
            let job = Job { incident_id: id.clone(), notice: Notice::Offer, recipient: Recipient::Mediator(m.clone()) };
            self.inner.wechat.enqueue(job);
        }
    }

    /// The WeChat API client (QR codes, notifications).
    #[must_use]
    pub fn wechat_client(&self) -> &WechatClient {
        self.inner.wechat.client()
    }
}
