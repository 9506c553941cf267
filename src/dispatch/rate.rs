//! Per-sender limits, as every capability that counts senders answers them: how a client
//! address is counted ([`ip_bucket`]) and the answer over a limit ([`RateLimited`]). The
//! windows themselves are the store's (`Leases`), so every instance shares one count; filing
//! (`services::Reports`) and login (`accounts::login`) count in them.

use std::net::IpAddr;

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
