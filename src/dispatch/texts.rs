//! The tracking link by text message: a resident who filed on the H5 form asks for it on the
//! tracking page (the link is the only way back to the report), limited per report in the
//! store so every instance counts the same texts.

use super::resident_chat::RateLimited;
use super::{DispatchError, Dispatcher};
use crate::auth::sha256_hex;
use crate::domain::account::Phone;

impl Dispatcher {
    /// Whether texts can be sent (`sms.url` is set).
    #[must_use]
    pub fn sms_available(&self) -> bool {
        self.inner.sms.is_some()
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
        let incident = self.tracked_incident(token).await?;
        let Some(sender) = self.inner.sms.clone() else { return Err(DispatchError::SmsUnavailable) };
        let sms = &self.settings().sms;
        let day = std::time::Duration::from_secs(24 * 3600);
        let hit = self.ports().leases.hit_rate_window(&sha256_hex(&format!("sms:{}", incident.id)), day).await?;
        if hit.count > u64::from(sms.per_report) {
            return Ok(Err(RateLimited::until(hit.resets_in)));
        }
        let base = self.settings().http.public_base_url.trim_end_matches('/');
        let number = super::notify::short(&incident.id);
        let text = format!("您反映的矛盾纠纷（编号 {number}）已受理，查看进度：{base}/t/{token}");
        sender.send(phone, &text).await?;
        tracing::info!(incident_id = %incident.id, to = %phone.masked(), "tracking link texted");
        metrics::counter!("gd_sms_sent_total").increment(1);
        Ok(Ok(()))
    }
}
