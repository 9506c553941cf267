//! Who is filing, and how often they may: the report limits per sender (a WeChat openid, a
//! client IP), counted in the store's fixed windows so every instance shares one count.
//!
//! A report spends its sender's allowance only when it files something new: a retry answered
//! from its Idempotency-Key is not counted, and a request that is refused (an unknown scene, a
//! reused key, the store down) gives its hit back. Idempotency keys are scoped to the sender,
//! so one sender's key never returns another's receipt.

use super::{NewReport, ReportReceipt, Reports};
use crate::auth::sha256_hex;
use crate::dispatch::DispatchError;
use crate::dispatch::rate::{RateLimited, ip_bucket};
use std::net::IpAddr;

/// Which sender a limit counts.
#[derive(Debug, Clone, Copy)]
pub enum RateScope<'a> {
    /// A WeChat user.
    Openid(&'a str),
    /// A client IP (the H5 form; see `http::client_ip` for how it is found).
    Ip(IpAddr),
}

impl RateScope<'_> {
    /// The sender as limits and idempotency keys name it.
    fn key(&self) -> String {
        match self {
            Self::Openid(openid) => format!("openid:{openid}"),
            Self::Ip(ip) => format!("ip:{}", ip_bucket(*ip)),
        }
    }
}

impl Reports {
    /// File a report from `sender`, within its allowance (`report_limits`): the receipt, or
    /// when to retry. `idempotency` is the client's key and a fingerprint of its request; the
    /// key is scoped to `sender` here, and a replay answers the first receipt.
    ///
    /// # Errors
    /// `Ok(Err(RateLimited))` over the limit; otherwise as [`Reports::report`].
    pub async fn file(
        &self,
        sender: RateScope<'_>,
        new: NewReport,
        idempotency: Option<(String, String)>,
    ) -> Result<Result<ReportReceipt, RateLimited>, DispatchError> {
        let limits = &self.engine.settings().report_limits;
        let who = sender.key();
        let idempotency = idempotency.map(|(key, fingerprint)| (format!("{who}:{key}"), fingerprint));
        let limit = match sender {
            RateScope::Openid(_) => limits.per_openid,
            RateScope::Ip(_) => limits.per_ip,
        };
        if limit == 0 {
            return self.report(new, idempotency).await.map(Ok);
        }
        // A retry of a filed report is answered without spending anything.
        if let Some((key, fingerprint)) = &idempotency
            && let Some(first) = self.incidents.remembered_key(&sha256_hex(key)).await?
        {
            if first.fingerprint != *fingerprint {
                return Err(DispatchError::IdempotencyMismatch);
            }
            return self.replayed(&first.incident_id, first.receipt).await.map(Ok);
        }
        let window = sha256_hex(&format!("report:{who}"));
        let hit = self.leases.hit_rate_window(&window, limits.window).await?;
        if hit.count > u64::from(limit) {
            metrics::counter!("gd_reports_rate_limited_total").increment(1);
            return Ok(Err(RateLimited::until(hit.resets_in)));
        }
        let filed = self.report(new, idempotency).await;
        if !matches!(&filed, Ok(receipt) if !receipt.replayed)
            && let Err(e) = self.leases.refund_rate_window(&window).await
        {
            tracing::warn!(error = %e, "could not give back a report's hit on its sender's window");
        }
        filed.map(Ok)
    }
}
