//! What happened to an incident and who must hear of it: the bus carries these beside the
//! incident as its write left it, and every instance's `push` renders each one to the wire,
//! once, for the sockets it holds. Nothing here is a wire message.

use super::area::AreaPath;
use super::ids::AccountId;
use super::incident::Event;
use serde::{Deserialize, Serialize};

/// Who hears of an event, and in which role (the role decides what they are shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    /// Mediators it was just offered to: each is shown their own offer (their distance, when
    /// it lapses).
    Offered(Vec<AccountId>),
    /// Mediators whose open offer the event closed (claimed, assigned, cancelled, lapsed).
    OfferClosed(Vec<AccountId>),
    /// The mediator who holds it (or was just sent to it).
    Holder(AccountId),
    /// The command-center screens whose scope holds this place.
    Screens(AreaPath),
}

/// One event of a write, for one set of recipients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub event: Event,
    /// Who hears of it.
    pub to: Recipients,
}

impl Notice {
    /// `event` for `to`.
    #[must_use]
    pub fn new(event: Event, to: Recipients) -> Self {
        Self { event, to }
    }
}
