//! How reports are handled: offers and ranking (`[dispatch]`), the timer runner (`[timers]`),
//! sockets (`[push]`), input limits (`[limits]`), deadlines per risk colour (`[lifecycle]`),
//! the escalation ladder (`[ladder]`), keyword triage (`[triage]`) and the resident's pages
//! (`[resident]`).

use serde::Deserialize;
use std::time::Duration;

/// `[resident]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResidentSettings {
    /// The district's centre (WGS-84): where the report form's map starts, and where a report
    /// whose place is only typed in words is filed.
    #[serde(default = "default_home_lat")]
    pub home_lat: f64,
    /// See `home_lat`.
    #[serde(default = "default_home_lng")]
    pub home_lng: f64,
    /// The command center's public phone number, shown to a resident while the command center
    /// is finding a mediator (empty: none shown).
    #[serde(default)]
    pub center_phone: String,
}

impl Default for ResidentSettings {
    fn default() -> Self {
        Self { home_lat: default_home_lat(), home_lng: default_home_lng(), center_phone: String::new() }
    }
}

fn default_home_lat() -> f64 {
    36.6171
}

fn default_home_lng() -> f64 {
    101.7782
}

/// `[dispatch]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DispatchSettings {
    /// Unclaimed this long → escalate.
    #[serde(with = "humantime_serde")]
    pub escalate_after: Duration,
    /// Offers per report.
    pub offer_count: usize,
    /// Search radius, metres.
    pub search_radius_m: f64,
    /// Positions older than this are ignored.
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    /// H3 resolution of the index.
    pub index_resolution: u8,
    /// Specialty match counts as this many metres nearer.
    pub specialty_bonus_m: f64,
    /// A mediator whose home grid or community is the incident's counts as this much nearer.
    pub home_area_bonus_m: f64,
    /// Idempotency-Key memory.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// Suggestions in an incident's detail.
    pub suggest_count: usize,
    /// Time between offer waves.
    #[serde(with = "humantime_serde")]
    pub wave_interval: Duration,
    /// Unanswered offers lapse after this.
    #[serde(with = "humantime_serde")]
    pub offer_ttl: Duration,
    /// A position older than this is forgotten (index and store): the phone went silent.
    #[serde(with = "humantime_serde")]
    pub forget_positions_after: Duration,
    /// Positions arriving within this window are written to the store and announced to the
    /// other instances together (latest per mediator wins); 0 writes each at once.
    #[serde(with = "humantime_serde")]
    pub position_batch_window: Duration,
}

/// `[timers]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimerSettings {
    /// Safety-net poll period (real time): the runner sleeps until the soonest deadline and is
    /// woken by news of a sooner one; this bounds the wait if such news was lost.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Claim lease.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Claims per poll.
    pub batch: usize,
}

/// `[push]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PushSettings {
    /// Per-socket queue length.
    pub socket_queue: usize,
    /// Ping period; two unanswered pings close a socket as dead.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Bus buffer per subscriber.
    pub bus_capacity: usize,
    /// Live-feed batching period.
    #[serde(with = "humantime_serde")]
    pub live_batch_interval: Duration,
    /// A socket write slower than this drops the socket (a peer that stopped reading).
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Command-center screens per account, per instance.
    pub screens_per_account: usize,
    /// Command-center screens in all, per instance.
    pub screens_total: usize,
    /// Tracking streams per tracking token, per instance.
    pub tracking_streams_per_token: usize,
    /// Tracking streams per client IP, per instance.
    pub tracking_streams_per_ip: usize,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Description length, characters.
    pub description_max_chars: usize,
    /// Name length, characters.
    pub name_max_chars: usize,
    /// Note length, characters.
    pub note_max_chars: usize,
}

/// Deadlines for one risk colour.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ColourDeadlines {
    /// Arrive within this of the claim.
    #[serde(with = "humantime_serde")]
    pub arrive_within: Duration,
    /// Resolve within this of the claim.
    #[serde(with = "humantime_serde")]
    pub resolve_within: Duration,
}

/// `[lifecycle]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleSettings {
    /// Reminder lead time.
    #[serde(with = "humantime_serde")]
    pub remind_before: Duration,
    /// Red deadlines.
    pub red: ColourDeadlines,
    /// Yellow deadlines.
    pub yellow: ColourDeadlines,
    /// Blue deadlines.
    pub blue: ColourDeadlines,
}

impl LifecycleSettings {
    /// The deadlines for `risk`.
    #[must_use]
    pub fn for_risk(&self, risk: crate::domain::category::Risk) -> ColourDeadlines {
        use crate::domain::category::Risk;
        match risk {
            Risk::Red => self.red,
            Risk::Yellow => self.yellow,
            Risk::Blue => self.blue,
        }
    }
}

/// `[ladder]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LadderSettings {
    /// A community or street command center that has not assigned an escalated incident
    /// within this time passes it one level up.
    #[serde(with = "humantime_serde")]
    pub climb_after: Duration,
}

/// `[triage]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TriageSettings {
    /// Red keywords.
    #[serde(default)]
    pub red_keywords: Vec<String>,
    /// Yellow keywords.
    #[serde(default)]
    pub yellow_keywords: Vec<String>,
    /// Lowest colour per category.
    #[serde(default)]
    pub category_floor: std::collections::HashMap<crate::domain::category::Category, crate::domain::category::Risk>,
}

impl TriageSettings {
    /// As domain rules.
    #[must_use]
    pub fn rules(&self) -> crate::domain::triage::TriageRules {
        crate::domain::triage::TriageRules {
            red_keywords: self.red_keywords.clone(),
            yellow_keywords: self.yellow_keywords.clone(),
            category_floor: self.category_floor.clone(),
        }
    }
}
