//! Reports: residents filing, and what filing needs that no other capability does.
//!
//! - [`filing`]: a report's place, colour and first wave, decided through the state machine
//!   (`decide(None, Command::File…)`) and handed to the engine's one write path
//!   (`Dispatcher::create`); the receipt, and the answer to a replayed `Idempotency-Key`.
//! - [`allowance`]: who is filing and how often they may (per openid, per client IP), and
//!   retries answered from their key without spending anything.
//! - [`place`]: where a report is filed (its pin, its QR scene's place, the district's centre)
//!   and the name people see.
//! - [`look_back`]: duplicates nearby and recurring areas, from this instance's
//!   [`RecentReports`] (the store's notes until it is loaded).
//! - [`waves`]: offer waves, the first at filing and the next ones fired by the timer runner
//!   through its `TimerHandler` (or at once after the last open offer was declined).
//! - texting the tracking link to a resident's phone (a resident who filed on the H5 form asks
//!   for it on the tracking page: the link is the only way back to the report), limited per
//!   report in the store so every instance counts the same texts.

mod allowance;
mod filing;
mod look_back;
mod place;
mod recent;
mod waves;

pub use allowance::RateScope;
pub use filing::{NewReport, ReportReceipt};
pub(crate) use look_back::{CELLS_PER_READ, HOTSPOT_NOTES_PER_AREA, HOTSPOT_WINDOW};
pub use recent::RecentReports;
pub use waves::Waves;

use crate::auth::sha256_hex;
use crate::dispatch::rate::RateLimited;
use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::account::Phone;
use crate::sms::SmsSender;
use crate::store::{Directory, IncidentStore, Leases, Ports};
use std::sync::Arc;
use std::time::Duration;

/// How long the texts of one report are counted together.
const TEXT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Filing reports. Cheap to clone.
#[derive(Clone)]
pub struct Reports {
    engine: Dispatcher,
    /// Incidents, their idempotency keys and hot-spot notes, as stored.
    incidents: Arc<dyn IncidentStore>,
    /// Senders' allowances and the texts' daily window.
    leases: Arc<dyn Leases>,
    /// QR scenes (a report's place).
    directory: Arc<dyn Directory>,
    /// This instance's recent reports by hot-spot area, for the look-back.
    recent: RecentReports,
    /// Offer waves.
    waves: Waves,
    /// Texts to residents; None when `sms.url` is empty.
    sms: Option<Arc<dyn SmsSender>>,
}

impl Reports {
    /// Over the dispatch engine and the incident store, leases and directory of `ports`,
    /// looking back through `recent` (the copy the engine feeds as its `RecentSource`),
    /// texting through the gateway the settings name (if any).
    #[must_use]
    pub fn new(engine: Dispatcher, ports: &Ports, recent: RecentReports) -> Self {
        let sms = crate::sms::from_settings(&engine.settings().sms);
        let waves = Waves::new(engine.clone(), ports.incidents.clone());
        let (incidents, leases, directory) = (ports.incidents.clone(), ports.leases.clone(), ports.directory.clone());
        Self { engine, incidents, leases, directory, recent, waves, sms }
    }

    /// The offer waves (the timer runner fires the next ones; a decline may send one at once).
    #[must_use]
    pub fn waves(&self) -> &Waves {
        &self.waves
    }

    /// Text the tracking link of the report behind `token` to `phone`; at most
    /// `sms.per_report` texts per report a day.
    ///
    /// # Errors
    /// `NotFound` for an unknown token; `SmsUnavailable` when texts are off; `Sms` when the
    /// gateway refused; `Store`. `Ok(Err(limited))` over the limit (nothing sent).
    pub async fn text_tracking_link(
        &self,
        token: &str,
        phone: &Phone,
    ) -> Result<Result<(), RateLimited>, DispatchError> {
        let incident = self.engine.tracked_incident(token).await?;
        let Some(sender) = &self.sms else { return Err(DispatchError::SmsUnavailable) };
        let settings = self.engine.settings();
        let window = sha256_hex(&format!("sms:{}", incident.id));
        let hit = self.leases.hit_rate_window(&window, TEXT_WINDOW).await?;
        if hit.count > u64::from(settings.sms.per_report) {
            return Ok(Err(RateLimited::until(hit.resets_in)));
        }
        let base = settings.http.public_base_url.trim_end_matches('/');
        let number = crate::dispatch::short(&incident.id);
        let text = format!("您反映的矛盾纠纷（编号 {number}）已受理，查看进度：{base}/t/{token}");
        sender.send(phone, &text).await?;
        tracing::info!(incident_id = %incident.id, to = %phone.masked(), "tracking link texted");
        metrics::counter!("gd_sms_sent_total").increment(1);
        Ok(Ok(()))
    }
}
