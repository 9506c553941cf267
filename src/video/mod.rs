//! Video mediation (视频调解, issue #22): sessions on an incident, one-time invitations, TURN
//! credentials, and the signaling relay between the participants' pages.
//!
//! Topology: a **mesh** (every sender sends to every other peer), with coturn relaying when
//! direct paths fail. At most [`VideoSettings::max_participants`] senders (6) plus two
//! receive-only observers; the reasoning and the bandwidth sums are in docs/architecture.md.
//! Nothing is recorded.
//!
//! - [`session`]: the session and its seats (pure rules).
//! - [`store`]: the storage port; [`memory`] and [`redis`] implement it.
//! - [`turn`]: TURN REST API credentials.
//! - [`rooms`]: this instance's open sockets per session; what they are told travels over the
//!   bus, so the participants of one session may be on different instances.
//! - [`sdp`]: whether a description sends media (an observer's must not).
//! - [`service`]: the use cases, as the cheap-clone handle [`Video`].

pub mod memory;
pub mod redis;
pub mod rooms;
pub mod sdp;
pub mod service;
pub mod session;
pub mod store;
pub mod turn;

pub use service::{Video, VideoError};

use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;

/// Close codes of the video socket (beside the shared ones in `http/ws.rs`).
pub mod close {
    /// The same seat opened the room again (another tab or a reconnect): this socket is done.
    pub const REPLACED: u16 = 4409;
    /// The host removed this participant: do not reconnect.
    pub const REMOVED: u16 = 4410;
    /// The session ended.
    pub const ENDED: u16 = 4411;

    /// The reason sent with `code`.
    #[must_use]
    pub const fn reason(code: u16) -> &'static str {
        match code {
            REPLACED => "opened again elsewhere",
            REMOVED => "removed by the mediator",
            ENDED => "the session ended",
            _ => "closed",
        }
    }
}

/// `[video]`.
#[derive(Debug, Clone, Deserialize)]
pub struct VideoSettings {
    /// TURN/STUN URLs handed to the pages, e.g. `turn:turn.example.cn:3478?transport=udp`,
    /// `turns:turn.example.cn:443?transport=tcp`. Empty: no relay (only direct paths work).
    #[serde(default)]
    pub turn_urls: Vec<String>,
    /// How long a minted TURN credential is accepted by coturn.
    #[serde(with = "humantime_serde", default = "default_credential_ttl")]
    pub credential_ttl: Duration,
    /// How long an invitation link works.
    #[serde(with = "humantime_serde", default = "default_invitation_ttl")]
    pub invitation_ttl: Duration,
    /// People sending audio and video in one session (observers not counted), 2..=6.
    #[serde(default = "default_max_participants")]
    pub max_participants: usize,
    /// Pages force relayed paths only (`iceTransportPolicy: "relay"`): no participant learns
    /// another's address. Tests set it so the TURN path is really used.
    #[serde(default)]
    pub relay_only: bool,
    /// The number a participant whose browser cannot do video calls is shown (empty: the
    /// command center's, `resident.center_phone`).
    #[serde(default)]
    pub fallback_phone: String,
    /// `GD_VIDEO__TURN_SECRET`, from the environment only: coturn's `static-auth-secret`.
    #[serde(skip)]
    pub turn_secret: Option<SecretString>,
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            turn_urls: Vec::new(),
            credential_ttl: default_credential_ttl(),
            invitation_ttl: default_invitation_ttl(),
            max_participants: default_max_participants(),
            relay_only: false,
            fallback_phone: String::new(),
            turn_secret: None,
        }
    }
}

fn default_credential_ttl() -> Duration {
    Duration::from_secs(4 * 3600)
}

fn default_invitation_ttl() -> Duration {
    Duration::from_secs(30 * 60)
}

const fn default_max_participants() -> usize {
    6
}

impl VideoSettings {
    /// Check the section.
    ///
    /// # Errors
    /// The offending key and why.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(2..=6).contains(&self.max_participants) {
            return Err(("video.max_participants", "must be 2 to 6 (a mesh; see docs/architecture.md)"));
        }
        if self.credential_ttl < Duration::from_secs(60) || self.invitation_ttl < Duration::from_secs(60) {
            return Err(("video.credential_ttl / invitation_ttl", "must be at least 1 minute"));
        }
        let schemes = ["turn:", "turns:", "stun:"];
        if self.turn_urls.iter().any(|u| !schemes.iter().any(|s| u.starts_with(s))) {
            return Err(("video.turn_urls", "each must start with turn:, turns: or stun:"));
        }
        if self.turn_urls.iter().any(|u| !u.starts_with("stun:")) && self.turn_secret.is_none() {
            return Err(("video.turn_urls", "TURN URLs need GD_VIDEO__TURN_SECRET (coturn's static-auth-secret)"));
        }
        Ok(())
    }
}
