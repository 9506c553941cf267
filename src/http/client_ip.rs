//! The client's IP address: one rule for every use (report limits, login throttling, stream
//! caps). Handlers take [`ClientIp`]; nothing else reads `X-Forwarded-For`.
//!
//! Without `http.trust_forwarded_for` it is the TCP peer. Behind trusted reverse proxies it is
//! the address the nearest of them appended: the `http.trusted_hops`-th entry of
//! `X-Forwarded-For` counted from the right (1, the rightmost, for one proxy; 2 when a CDN
//! forwards to that proxy; …). Everything to the left of it was written by the client and is
//! never believed. A header too short for the hops, or an unreadable entry there, falls back
//! to the TCP peer (the proxy: one shared bucket, never the client's word).

use super::state::AppState;
use crate::config::HttpSettings;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client's IP (see the module docs for how it is found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(client_ip(peer, &parts.headers, &state.settings.http)))
    }
}

/// The client's IP from the TCP peer and the headers, under `http`'s proxy settings.
#[must_use]
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, http: &HttpSettings) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ip| ip.to_canonical());
    if !http.trust_forwarded_for {
        return peer;
    }
    // Several header lines count as one list, in order (RFC 9110 §5.3).
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let hops = usize::try_from(http.trusted_hops).unwrap_or(usize::MAX);
    entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries.get(i))
        .and_then(|entry| parse_entry(entry))
        .map_or(peer, |ip| ip.to_canonical())
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443` (proxies write all four).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings(trust: bool, hops: u32) -> HttpSettings {
        let mut http = Settings::defaults().http;
        http.trust_forwarded_for = trust;
        http.trusted_hops = hops;
        http
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", line.parse().expect("header value"));
        }
        h
    }

    const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn without_trust_the_peer_is_the_client_whatever_the_header_says() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(false, 1)), PROXY);
    }

    #[test]
    fn the_proxy_appended_entry_wins_over_what_the_client_wrote() {
        // The client sent "1.1.1.1, 2.2.2.2"; the proxy appended the real peer.
        let h = headers(&["1.1.1.1, 2.2.2.2, 198.51.100.7"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(true, 1)), ip("198.51.100.7"));
        // Two proxies (a CDN, then ours): the second from the right.
        let h = headers(&["1.1.1.1", "198.51.100.7, 192.0.2.1"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(true, 2)), ip("198.51.100.7"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read() {
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(true, 1)), ip("2001:db8::1"));
        let h = headers(&["198.51.100.7:5678"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(true, 1)), ip("198.51.100.7"));
        let h = headers(&["::ffff:198.51.100.7"]);
        assert_eq!(client_ip(Some(PROXY), &h, &settings(true, 1)), ip("198.51.100.7"));
    }

    #[test]
    fn a_short_or_unreadable_header_falls_back_to_the_peer() {
        let cases = [(headers(&[]), 1), (headers(&["198.51.100.7"]), 2), (headers(&["1.1.1.1, garbage"]), 1)];
        for (h, hops) in cases {
            assert_eq!(client_ip(Some(PROXY), &h, &settings(true, hops)), PROXY, "{h:?}");
        }
    }
}
