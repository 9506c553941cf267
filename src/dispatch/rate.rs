//! Who is asking, and how often they may: the report limits per sender (a WeChat openid, a
//! client IP), counted in the store's fixed windows so every instance shares one count.
//!
//! A report spends its sender's allowance only when it files something new: a retry answered
//! from its Idempotency-Key is not counted, and a request that is refused (an unknown scene, a
//! reused key, the store down) gives its hit back. Idempotency keys are scoped to the sender,
//! so one sender's key never returns another's receipt.

use super::{DispatchError, Dispatcher, NewReport, ReportReceipt};
use crate::auth::sha256_hex;
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

/// How an address is counted: an IPv4 address alone; an IPv6 client by its /64, which one
/// subscriber (one phone, one home) usually holds whole, so that walking through its
/// addresses gains nothing.
#[must_use]
pub fn ip_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A sender over their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Until the window resets, whole seconds (at least 1).
    pub retry_after_s: u32,
}

impl RateLimited {
    /// Over the limit of a window that resets in `resets_in` (Retry-After: whole seconds,
    /// rounded up, at least 1).
    #[must_use]
    pub fn until(resets_in: std::time::Duration) -> Self {
        let secs = resets_in.as_secs_f64().ceil();
        // Bounded by the window, which is a config duration: fits u32 in practice.
        let retry_after_s = if secs >= f64::from(u32::MAX) { u32::MAX } else { (secs as u32).max(1) };
        Self { retry_after_s }
    }

    /// The friendly text residents see.
    #[must_use]
    pub fn message(&self) -> String {
        let minutes = self.retry_after_s.div_ceil(60).max(1);
        format!("您提交得有些频繁，请约{minutes}分钟后再试。如遇紧急情况（打架、持械、人员受伤），请立即拨打110。")
    }
}

impl Dispatcher {
    /// File a report from `sender`, within its report limit (`report_limits`).
    ///
    /// `idempotency` is the client's key and a fingerprint of its request; the key is scoped
    /// to `sender` here.
    ///
    /// # Errors
    /// `Ok(Err(RateLimited))` over the limit; otherwise as [`Dispatcher::report`].
    pub async fn report_as(
        &self,
        sender: RateScope<'_>,
        new: NewReport,
        idempotency: Option<(String, String)>,
    ) -> Result<Result<ReportReceipt, RateLimited>, DispatchError> {
        let limits = &self.settings().report_limits;
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
            && let Some(first) = self.ports().incidents.remembered_key(&sha256_hex(key)).await?
        {
            if first.fingerprint != *fingerprint {
                return Err(DispatchError::IdempotencyMismatch);
            }
            return self.replayed(&first.incident_id, first.receipt).await.map(Ok);
        }
        let window = sha256_hex(&format!("report:{who}"));
        let hit = self.ports().leases.hit_rate_window(&window, limits.window).await?;
        if hit.count > u64::from(limit) {
            metrics::counter!("gd_reports_rate_limited_total").increment(1);
            return Ok(Err(RateLimited::until(hit.resets_in)));
        }
        let filed = self.report(new, idempotency).await;
        if !matches!(&filed, Ok(receipt) if !receipt.replayed)
            && let Err(e) = self.ports().leases.refund_rate_window(&window).await
        {
            tracing::warn!(error = %e, "could not give back a report's hit on its sender's window");
        }
        filed.map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_message_names_minutes() {
        assert!(RateLimited { retry_after_s: 61 }.message().contains("约2分钟"));
        assert!(RateLimited { retry_after_s: 1 }.message().contains("约1分钟"));
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_bucket(a), ip_bucket(b));
        assert_ne!(ip_bucket(a), ip_bucket(c));
        assert_eq!(ip_bucket("::ffff:198.51.100.7".parse().unwrap()), "198.51.100.7");
    }
}
