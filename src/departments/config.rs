//! `[departments]`: call-in deadlines per urgency and per risk colour, and limits.

use super::domain::{Urgency, Windows};
use crate::domain::category::Risk;
use serde::Deserialize;
use std::time::Duration;

/// One pair of deadlines, as configured.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct CallInDeadlines {
    /// Acknowledge (报到) within.
    #[serde(with = "humantime_serde")]
    pub ack_within: Duration,
    /// Respond (arrive, give an opinion, take over or decline) within.
    #[serde(with = "humantime_serde")]
    pub respond_within: Duration,
}

impl CallInDeadlines {
    const fn of(ack_mins: u64, respond_mins: u64) -> Self {
        Self { ack_within: Duration::from_secs(ack_mins * 60), respond_within: Duration::from_secs(respond_mins * 60) }
    }

    fn windows(self) -> Windows {
        let signed = |d: Duration| jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
        Windows { ack_within: signed(self.ack_within), respond_within: signed(self.respond_within) }
    }
}

/// `[departments.webhook]`: every call-in step sent, signed, to the district's platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Where to POST events (empty: none are sent or kept).
    pub url: String,
    /// Attempts per event before it is given up (and logged so).
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles (with jitter) up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_first: Duration,
    /// The longest delay between attempts.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long one attempt may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The HMAC-SHA256 key; from `GD_DEPARTMENTS__WEBHOOK__SECRET` only.
    #[serde(skip)]
    pub secret: Option<secrecy::SecretString>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_attempts: 12,
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(30 * 60),
            timeout: Duration::from_secs(5),
            secret: None,
        }
    }
}

impl PartialEq for WebhookSettings {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        let secret = |s: &Self| s.secret.as_ref().map(|k| k.expose_secret().to_owned());
        self.url == other.url
            && self.max_attempts == other.max_attempts
            && self.retry_first == other.retry_first
            && self.retry_max == other.retry_max
            && self.timeout == other.timeout
            && secret(self) == secret(other)
    }
}

impl Eq for WebhookSettings {}

impl WebhookSettings {
    /// Whether events are sent.
    #[must_use]
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }
}

/// `[departments]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DepartmentSettings {
    /// A reminder goes to the department this long before each deadline.
    #[serde(with = "humantime_serde")]
    pub remind_before: Duration,
    /// At most this many departments in one call-in request.
    pub max_per_call: usize,
    /// Deadlines of a normal call-in.
    pub normal: CallInDeadlines,
    /// Deadlines of an urgent call-in.
    pub urgent: CallInDeadlines,
    /// Deadlines on a red incident (the tighter of these and the urgency's apply).
    pub red: CallInDeadlines,
    /// On a yellow incident.
    pub yellow: CallInDeadlines,
    /// On a blue incident.
    pub blue: CallInDeadlines,
    /// Outbound signed webhooks.
    pub webhook: WebhookSettings,
    /// The routing table: category or keywords → departments to suggest.
    pub routing: Vec<super::routing::RoutingRule>,
    /// On a red incident, any of these words suggests the police station at once.
    pub violence_keywords: Vec<String>,
}

impl Default for DepartmentSettings {
    fn default() -> Self {
        Self {
            remind_before: Duration::from_secs(5 * 60),
            max_per_call: 8,
            normal: CallInDeadlines::of(30, 24 * 60),
            urgent: CallInDeadlines::of(10, 2 * 60),
            red: CallInDeadlines::of(10, 2 * 60),
            yellow: CallInDeadlines::of(30, 24 * 60),
            blue: CallInDeadlines::of(60, 72 * 60),
            webhook: WebhookSettings::default(),
            routing: vec![],
            violence_keywords: vec![],
        }
    }
}

impl DepartmentSettings {
    /// The deadlines of a call-in of `urgency` on an incident of colour `risk`: the tighter
    /// of the two tables.
    #[must_use]
    pub fn windows(&self, urgency: Urgency, risk: Risk) -> Windows {
        let by_urgency = match urgency {
            Urgency::Normal => self.normal,
            Urgency::Urgent => self.urgent,
        };
        let by_colour = match risk {
            Risk::Red => self.red,
            Risk::Yellow => self.yellow,
            Risk::Blue => self.blue,
        };
        by_urgency.windows().min(by_colour.windows())
    }

    /// Check the values.
    ///
    /// # Errors
    /// The key and why, when a deadline is zero or a response comes before its acknowledgement.
    pub fn validate(&self) -> Result<(), String> {
        let w = &self.webhook;
        if w.enabled() {
            if w.secret.is_none() {
                return Err("departments.webhook.url is set: GD_DEPARTMENTS__WEBHOOK__SECRET is required".into());
            }
            if w.max_attempts == 0 || w.retry_first.is_zero() || w.timeout.is_zero() {
                return Err("departments.webhook: max_attempts, retry_first and timeout must be more than zero".into());
            }
        }
        if self.max_per_call == 0 {
            return Err("departments.max_per_call must be at least 1".into());
        }
        for (name, d) in [
            ("normal", self.normal),
            ("urgent", self.urgent),
            ("red", self.red),
            ("yellow", self.yellow),
            ("blue", self.blue),
        ] {
            if d.ack_within.is_zero() || d.respond_within < d.ack_within {
                return Err(format!(
                    "departments.{name}: ack_within must be > 0 and respond_within at least ack_within"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_of_urgency_and_colour_applies() {
        let s = DepartmentSettings::default();
        let w = s.windows(Urgency::Normal, Risk::Red);
        assert_eq!(w.ack_within, jiff::SignedDuration::from_mins(10));
        let w = s.windows(Urgency::Normal, Risk::Blue);
        assert_eq!(w.ack_within, jiff::SignedDuration::from_mins(30));
        assert!(s.validate().is_ok());
    }
}
