//! Reports: residents filing (per-sender allowances, the `Idempotency-Key`), and texting a
//! tracking link to a resident's phone (a resident who filed on the H5 form asks for it on
//! the tracking page: the link is the only way back to the report), limited per report in the
//! store so every instance counts the same texts.

use crate::auth::sha256_hex;
use crate::dispatch::rate::{RateLimited, RateScope};
use crate::dispatch::{DispatchError, Dispatcher, NewReport, ReportReceipt};
use crate::domain::account::Phone;
use crate::sms::SmsSender;
use std::sync::Arc;
use std::time::Duration;

/// How long the texts of one report are counted together.
const TEXT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Filing reports. Cheap to clone.
#[derive(Clone)]
pub struct Reports {
    engine: Dispatcher,
    /// Texts to residents; None when `sms.url` is empty.
    sms: Option<Arc<dyn SmsSender>>,
}

impl Reports {
    /// Over the dispatch engine, texting through the gateway its settings name (if any).
    #[must_use]
    pub fn new(engine: Dispatcher) -> Self {
        let sms = crate::sms::from_settings(&engine.settings().sms);
        Self { engine, sms }
    }

    /// File a report from `sender`, within its allowance: the receipt, or when to retry.
    /// `idempotency` is (key, hash of the request); a replay answers the first receipt.
    ///
    /// # Errors
    /// `Invalid`, `IdempotencyMismatch`, `Store`.
    pub async fn file(
        &self,
        sender: RateScope<'_>,
        new: NewReport,
        idempotency: Option<(String, String)>,
    ) -> Result<Result<ReportReceipt, RateLimited>, DispatchError> {
        self.engine.report_as(sender, new, idempotency).await
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
        let hit = self.engine.ports().leases.hit_rate_window(&window, TEXT_WINDOW).await?;
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
