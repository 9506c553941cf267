//! The cross-instance bus: the messages every instance receives ([`BusMessage`]) and the
//! port ([`Bus`]) with its subscription ([`BusReceiver`]); `bus_codec.rs` is how they travel.

use super::{DayClaims, FixBatch, StoreError, records};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A message every instance receives: how sockets on other instances learn what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// Several mediators moved (a batch from one instance): sent by the store itself, with the
    /// batch's write ([`PresenceStore::store_fixes`]). On Redis it travels as a compact binary
    /// frame ([`bus_codec`]), not JSON.
    Fixes {
        /// Who, and where.
        fixes: FixBatch,
    },
    /// A mediator went on or off duty.
    Duty {
        /// Who.
        mediator_id: AccountId,
        /// On duty now.
        on: bool,
    },
    /// A mediator's phone stopped answering its socket's heartbeat: off the live map (their
    /// position is dropped from every index) until it sends a position again; duty stays.
    Unreachable {
        /// Who.
        mediator_id: AccountId,
    },
    /// A case-file deadline fell due (issue #20): the holder's phone and, for the mediation
    /// deadline, the screens that see the incident's place are told (`case_due`).
    CaseDue {
        /// The incident.
        incident_id: IncidentId,
        /// Which deadline (`performance`, `confirmation`, `deadline`).
        kind: String,
        /// The day it concerns (`YYYY-MM-DD`).
        #[serde(default)]
        date: Option<String>,
        /// The holding mediator (their sockets).
        #[serde(default)]
        holder: Option<AccountId>,
        /// The screens that see this place (None: no screen).
        #[serde(default)]
        screens: Option<crate::domain::area::AreaPath>,
    },
    /// A step of a department's call-in (joint handling) and who hears of it: every instance
    /// renders it for the sockets it holds (`push`), as it does [`BusMessage::News`].
    CallIn {
        /// The call-in as the write left it.
        call_in: Box<crate::domain::department::CallIn>,
        /// What happened to it.
        step: crate::domain::department::Step,
        /// The command-center screens that see this place (None: every screen).
        #[serde(default)]
        screens: Option<crate::domain::area::AreaPath>,
        /// The department's accounts (their sockets).
        #[serde(default)]
        accounts: Vec<AccountId>,
    },
    /// What a write did to an incident and who must hear of it, with the incident as the write
    /// left it (in its stored encoding, [`records`]): every instance renders each notice for
    /// the sockets it holds (`push`), in order.
    News {
        /// The incident after the write.
        #[serde(with = "records::incident_record")]
        incident: Box<Incident>,
        /// What happened, each with its recipients.
        notices: Vec<crate::domain::news::Notice>,
    },
    /// An incident changed: resident trackers re-read it.
    IncidentChanged {
        /// Which.
        incident_id: IncidentId,
    },
    /// The area hierarchy changed: reload it.
    AreasChanged,
    /// A mediator's workload after a write changed it, with the counts the store holds: sent
    /// by the store itself, with the write (see [`IncidentWrite::announce`]).
    Load {
        /// Who.
        mediator_id: AccountId,
        /// Incidents they hold now.
        holds: u32,
        /// Their claims on a day, when the write counted one.
        #[serde(default)]
        claims: Option<DayClaims>,
    },
    /// A report, for every instance's copy of recent reports by area (duplicates, hot spots):
    /// sent with the report's write, and again with the write that closes it.
    Noted {
        /// Which.
        incident_id: IncidentId,
        /// When it was reported.
        at: Timestamp,
        /// Where (WGS-84).
        place: crate::domain::location::GeoPoint,
        /// Still open (not resolved or cancelled).
        open: bool,
    },
    /// A write set a deadline sooner than every deadline held before it: timer runners that
    /// sleep until the earliest one wake and look again. Sent by the store itself, with the
    /// write (see [`IncidentWrite::announce`]).
    NextDeadline {
        /// When it is due, ms since the Unix epoch.
        due_ms: i64,
    },
    /// An account changed: forget what is held of it; a disabled one's sockets are closed.
    AccountChanged {
        /// Which.
        account_id: AccountId,
        /// It is disabled now: every instance closes its sockets (4403).
        #[serde(default)]
        disabled: bool,
    },
    /// An admin revoked an account's tokens (or reset its password): every instance closes
    /// its sockets (4401, sign in again).
    AccountSignedOut {
        /// Which.
        account_id: AccountId,
    },
    /// Something for the sockets of one video session, whichever instance holds them (issue
    /// #22): signaling, who joined or left, state, closes. Every instance hands it to the
    /// session's sockets it holds (`video::Video::deliver`); the feed ignores it.
    VideoRoom {
        /// The session.
        session_id: String,
        /// The one seat addressed (None: every seat of the session but `except`).
        #[serde(default)]
        seat: Option<String>,
        /// The seat left out when addressing everyone (the sender).
        #[serde(default)]
        except: Option<String>,
        /// A connection of the seat that is spared (the socket that just replaced the others).
        #[serde(default)]
        spare_conn: Option<u64>,
        /// The text to send, already serialised; None: close with `close_code`.
        #[serde(default)]
        text: Option<String>,
        /// The close code (`video::close`), when `text` is None.
        #[serde(default)]
        close_code: Option<u16>,
    },
    /// Local only: this instance may have missed messages (bus reconnected) and must resync.
    Resync,
}

/// The cross-instance message bus port.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Send to every instance (including this one).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn publish(&self, message: &BusMessage) -> Result<(), StoreError>;

    /// Receive what every instance publishes. Lagging receivers get [`BusMessage::Resync`].
    fn subscribe(&self) -> BusReceiver;
}

/// A subscription to the bus.
pub struct BusReceiver(tokio::sync::broadcast::Receiver<BusMessage>);

impl BusReceiver {
    /// Wrap a broadcast receiver.
    #[must_use]
    pub fn new(rx: tokio::sync::broadcast::Receiver<BusMessage>) -> Self {
        Self(rx)
    }

    /// The next message; `None` when the bus is gone. A lag becomes `Resync`.
    pub async fn recv(&mut self) -> Option<BusMessage> {
        use tokio::sync::broadcast::error::RecvError;
        match self.0.recv().await {
            Ok(m) => Some(m),
            Err(RecvError::Lagged(_)) => Some(BusMessage::Resync),
            Err(RecvError::Closed) => None,
        }
    }
}
