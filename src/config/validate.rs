//! The checks across every section, run at load: ranges, relations between keys, and what
//! production requires. Each refusal names its key.

use super::{ConfigError, Environment, Settings};
use secrecy::ExposeSecret;
use std::time::Duration;

impl Settings {
    /// Check ranges and relations.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.into() });
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return bad("auth.jwt_secret (GD_AUTH__JWT_SECRET)", "must be at least 32 bytes");
        }
        let a = &self.auth;
        if a.login_lockout.is_zero() || a.login_ip_window.is_zero() || a.login_phone_window.is_zero() {
            return bad("auth.login_lockout / login_ip_window / login_phone_window", "must be more than zero");
        }
        if a.password_hash_concurrency > 64 {
            return bad("auth.password_hash_concurrency", "must be 0 (half the cores) to 64");
        }
        if self.environment == Environment::Production {
            if self.auth.jwt_secret.is_none() {
                return bad(
                    "auth.jwt_secret (GD_AUTH__JWT_SECRET)",
                    "is required in production (a random key per run would log everyone out on restart)",
                );
            }
            if self.uses_memory_store() {
                return bad(
                    "redis.url (GD_REDIS__URL)",
                    "is required in production (the embedded store forgets everything on restart)",
                );
            }
        }
        self.metrics.separate_addr()?;
        self.departments.validate().map_err(|reason| ConfigError::Invalid { key: "departments", reason })?;
        self.casefile.grading.validate().map_err(|reason| ConfigError::Invalid { key: "casefile.grading", reason })?;
        if self.metrics.upkeep_interval.is_zero() {
            return bad("metrics.upkeep_interval", "must be more than zero");
        }
        if self.http.header_read_timeout.is_zero() || self.http.keep_alive_idle_timeout.is_zero() {
            return bad("http", "header_read_timeout and keep_alive_idle_timeout must be more than zero");
        }
        if self.http.max_connections == 0 {
            return bad("http.max_connections", "must be at least 1");
        }
        if crate::domain::location::resolution(self.dispatch.index_resolution).is_err() {
            return bad("dispatch.index_resolution", "must be 0..=15");
        }
        if !(self.dispatch.search_radius_m.is_finite() && self.dispatch.search_radius_m > 0.0) {
            return bad("dispatch.search_radius_m", "must be a positive number of metres");
        }
        if self.dispatch.search_radius_m > 100_000.0 {
            return bad("dispatch.search_radius_m", "must be at most 100 km");
        }
        if !self.dispatch.home_area_bonus_m.is_finite() || self.dispatch.home_area_bonus_m < 0.0 {
            return bad("dispatch.home_area_bonus_m", "must be zero or more metres");
        }
        if !self.dispatch.specialty_bonus_m.is_finite() || self.dispatch.specialty_bonus_m < 0.0 {
            return bad("dispatch.specialty_bonus_m", "must be zero or more metres");
        }
        if self.dispatch.offer_count == 0 || self.dispatch.offer_count > 50 {
            return bad("dispatch.offer_count", "must be 1..=50");
        }
        if self.dispatch.position_batch_window > Duration::from_secs(1) {
            return bad("dispatch.position_batch_window", "must be at most 1s");
        }
        if self.dispatch.forget_positions_after < self.dispatch.stale_after {
            return bad("dispatch.forget_positions_after", "must be at least dispatch.stale_after");
        }
        if !self.redis.cluster_nodes.is_empty() && !self.redis.url.trim().is_empty() {
            return bad("redis.cluster_nodes", "set either redis.url or redis.cluster_nodes, not both");
        }
        if self.redis.cluster_nodes.iter().any(|n| !(n.starts_with("redis://") || n.starts_with("rediss://"))) {
            return bad("redis.cluster_nodes", "every seed node must be a redis:// or rediss:// URL");
        }
        if self.redis.durability_check_every < Duration::from_millis(100) {
            return bad("redis.durability_check_every", "must be at least 100ms");
        }
        self.map.validate()?;
        if let Err((key, why)) = self.video.validate() {
            return bad(key, why);
        }
        if let Err((key, why)) = self.sms.validate() {
            return bad(key, why);
        }
        if crate::domain::location::GeoPoint::new(self.resident.home_lat, self.resident.home_lng).is_err() {
            return bad("resident.home_lat", "home_lat/home_lng must be a valid WGS-84 point");
        }
        let phone = self.resident.center_phone.trim();
        if phone.len() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ')) {
            return bad("resident.center_phone", "digits, spaces, '-' or '+', at most 32 characters");
        }
        if self.dispatch.wave_interval.is_zero() {
            return bad("dispatch.wave_interval", "must be more than zero");
        }
        if self.dispatch.offer_ttl < self.dispatch.wave_interval {
            return bad("dispatch.offer_ttl", "must be at least dispatch.wave_interval");
        }
        for (key, d) in [
            ("lifecycle.red", self.lifecycle.red),
            ("lifecycle.yellow", self.lifecycle.yellow),
            ("lifecycle.blue", self.lifecycle.blue),
        ] {
            if d.arrive_within.is_zero() || d.resolve_within < d.arrive_within {
                return bad(key, "arrive_within > 0 and resolve_within ≥ arrive_within are required");
            }
        }
        if self.dispatch.escalate_after.is_zero() {
            return bad("dispatch.escalate_after", "must be more than zero");
        }
        if self.timers.poll_interval.is_zero() || self.timers.lease < Duration::from_secs(1) || self.timers.batch == 0 {
            return bad("timers", "poll_interval > 0, lease ≥ 1s and batch ≥ 1 are required");
        }
        if self.http.body_limit_bytes < 1024 {
            return bad("http.body_limit_bytes", "must be at least 1024");
        }
        if self.push.socket_queue == 0 {
            return bad("push.socket_queue", "must be at least 1");
        }
        if self.push.write_timeout.is_zero() {
            return bad("push.write_timeout", "must be more than zero");
        }
        for (key, value) in [
            ("push.screens_per_account", self.push.screens_per_account),
            ("push.screens_total", self.push.screens_total),
            ("push.tracking_streams_per_token", self.push.tracking_streams_per_token),
            ("push.tracking_streams_per_ip", self.push.tracking_streams_per_ip),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            return bad("log.format", "must be \"json\" or \"pretty\"");
        }
        if !(self.http.public_base_url.starts_with("http://") || self.http.public_base_url.starts_with("https://")) {
            return bad("http.public_base_url", "must start with http:// or https://");
        }
        self.validate_wechat()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn shipped_defaults_load_and_validate() {
        let s = Settings::defaults();
        s.validate().unwrap();
        assert_eq!(s.dispatch.escalate_after, Duration::from_secs(300));
        assert!(s.uses_memory_store());
    }

    #[test]
    fn cluster_nodes_select_cluster_mode_and_are_checked() {
        let mut s = Settings::defaults();
        s.redis.cluster_nodes = vec!["redis://127.0.0.1:7000".into(), "redis://127.0.0.1:7001".into()];
        s.validate().unwrap();
        assert!(!s.uses_memory_store());
        s.redis.url = "redis://127.0.0.1:6379".into();
        assert!(s.validate().unwrap_err().to_string().contains("redis.cluster_nodes"));
        s.redis.url.clear();
        s.redis.cluster_nodes = vec!["127.0.0.1:7000".into()];
        assert!(s.validate().unwrap_err().to_string().contains("redis.cluster_nodes"));
    }

    #[test]
    fn a_short_jwt_secret_is_refused_and_named() {
        let mut s = Settings::defaults();
        s.auth.jwt_secret = Some(SecretString::from("too-short"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("GD_AUTH__JWT_SECRET"), "{err}");
    }

    #[test]
    fn the_client_ip_keys_are_checked_and_the_old_one_says_where_it_moved() {
        let mut s = Settings::defaults();
        s.report_limits.trust_forwarded_for = Some(true);
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("http.trust_forwarded_for"), "{err}");
        s.report_limits.trust_forwarded_for = None;
        s.http.trust_forwarded_for = true;
        s.http.trusted_hops = 0;
        assert!(s.validate().unwrap_err().to_string().contains("http.trusted_hops"));
        s.http.trusted_hops = 2;
        s.validate().unwrap();
    }
}
