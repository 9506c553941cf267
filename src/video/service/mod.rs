//! The video room's use cases behind one cheap-clone handle: start, invite, join, observe, the
//! socket's entering and leaving, remove, end, TURN credentials, the live list. Every change to
//! a session is read → change → compare-and-set on its version (retried), so two instances
//! never lose each other's seats. Start, joins, leaves and the end go on the incident timeline.

mod signaling;

use super::VideoSettings;
use super::rooms::{Audience, Outbound, Rooms};
use super::session::{Invitation, MAX_INVITATIONS, Seat, SeatKind, VideoSession, runs_the_room};
use super::store::VideoStore;
use super::turn;
use crate::auth::{random_token, sha256_hex};
use crate::dispatch::{DispatchError, Dispatcher, Scope};
use crate::domain::account::Role;
use crate::domain::ids::IncidentId;
use crate::domain::incident::Event;
use crate::domain::timeline::{ActorRole, TimelineEntry};
use crate::store::{Bus, IncidentStore, StoreError};
use jiff::Timestamp;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// Compare-and-set attempts before a change gives up (`Contended`).
const CAS_ATTEMPTS: usize = 8;

/// Longest label a seat may carry, characters.
pub const MAX_LABEL_CHARS: usize = 20;

/// Why a video request was refused.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// No such incident or session (or not one the caller may see).
    #[error("not found")]
    NotFound,
    /// Only the mediator holding the incident, or an operator, may do this.
    #[error("only the mediator holding this incident or an operator may do this")]
    NotYours,
    /// The incident already has a live session.
    #[error("this incident already has a live video session")]
    AlreadyLive(String),
    /// The session has ended.
    #[error("this video session has ended")]
    Ended,
    /// All seats are taken.
    #[error("this video session is full")]
    Full,
    /// The session handed out as many invitations as it may.
    #[error("this video session has handed out as many invitations as it may")]
    TooManyInvitations,
    /// The invitation's time ran out.
    #[error("this invitation has expired; ask the mediator for a new one")]
    InvitationExpired,
    /// The invitation was used already (or never issued).
    #[error("this invitation has been used already (or does not exist); ask the mediator for a new one")]
    InvitationUsed,
    /// The seat token is unknown, or the seat was removed.
    #[error("this page is not a participant of the session")]
    NotInvited,
    /// The addressed seat is not in the room (not connected, removed, or not of the session).
    #[error("that participant is not in the room")]
    NotHere,
    /// An observer's description would send media: the big screen receives only.
    #[error("an observer receives only: its description must not send media (a=sendrecv or a=sendonly)")]
    ObserverSends,
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Too many concurrent changes; retry.
    #[error("the session is changing too fast; retry")]
    Contended,
    /// Reading the incident failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who is asking, when it is staff.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    /// The role.
    pub role: Role,
    /// The account (None: an operations token).
    pub account_id: Option<String>,
    /// For operators: the area they see (sessions on incidents elsewhere answer 404).
    pub scope: Option<Scope>,
}

/// A seat handed to a page: the token opens the socket and fetches TURN credentials.
#[derive(Debug, Clone)]
pub struct SeatTicket {
    /// The session.
    pub session_id: String,
    /// The seat's id in the room.
    pub seat_id: String,
    /// The seat token (secret; only the page holds it).
    pub token: String,
    /// What for.
    pub kind: SeatKind,
}

/// A fresh invitation.
#[derive(Debug, Clone)]
pub struct InvitationTicket {
    /// The one-time token (the link is `/v/<token>`).
    pub token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What a page needs to connect: ICE servers with fresh credentials.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// The URLs (`turn:`, `turns:`, `stun:`).
    pub urls: Vec<String>,
    /// TURN username (`expiry:seat`), when TURN is configured.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
    /// When the credential expires.
    pub expires_at: Timestamp,
    /// Whether pages must use relayed paths only.
    pub relay_only: bool,
}

/// The video room. Cheap to clone (shared).
#[derive(Clone)]
pub struct Video(Arc<Inner>);

struct Inner {
    store: Arc<dyn VideoStore>,
    dispatcher: Dispatcher,
    /// The incidents mediated and their timelines.
    incidents: Arc<dyn IncidentStore>,
    /// What the room tells its sockets goes out here, to every instance's [`Rooms`].
    bus: Arc<dyn Bus>,
    rooms: Rooms,
    settings: VideoSettings,
    fallback_phone: String,
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Video").finish_non_exhaustive()
    }
}

fn seat_id() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap_or_default();
    bytes.iter().fold(String::from("p"), |mut id, b| {
        use std::fmt::Write as _;
        let _ = write!(id, "{b:02x}");
        id
    })
}

fn valid_session_id(id: &str) -> Result<(), VideoError> {
    if id.len() == 36 && uuid::Uuid::try_parse(id).is_ok() { Ok(()) } else { Err(VideoError::NotFound) }
}

/// A label from the client: trimmed, 1..=20 characters, no control characters; or the
/// kind's default.
fn label_for(kind: SeatKind, given: Option<&str>) -> Result<String, VideoError> {
    let given = given.map(str::trim).filter(|l| !l.is_empty());
    match given {
        None => Ok(match kind {
            SeatKind::Host => "调解员",
            SeatKind::Party => "当事人",
            SeatKind::Department => "部门专家",
            SeatKind::Operator => "指挥中心",
            SeatKind::Observer => "指挥中心（旁听）",
        }
        .to_owned()),
        Some(l) if l.chars().count() > MAX_LABEL_CHARS => {
            Err(VideoError::Invalid { field: "label", reason: "at most 20 characters" })
        }
        Some(l) if l.chars().any(char::is_control) => {
            Err(VideoError::Invalid { field: "label", reason: "no control characters" })
        }
        Some(l) => Ok(l.to_owned()),
    }
}

impl Video {
    /// The room on `store`, reading incidents and writing timelines in `incidents`, tracking
    /// and WeChat through `dispatcher`, telling sockets through `bus` (see [`Self::run_relay`]).
    #[must_use]
    pub fn new(
        store: Arc<dyn VideoStore>,
        dispatcher: Dispatcher,
        incidents: Arc<dyn IncidentStore>,
        bus: Arc<dyn Bus>,
    ) -> Self {
        let settings = dispatcher.settings().video.clone();
        let fallback_phone = if settings.fallback_phone.is_empty() {
            dispatcher.settings().resident.center_phone.clone()
        } else {
            settings.fallback_phone.clone()
        };
        Self(Arc::new(Inner { store, dispatcher, incidents, bus, rooms: Rooms::default(), settings, fallback_phone }))
    }

    fn now(&self) -> Timestamp {
        self.0.dispatcher.now()
    }

    /// The number shown to a browser that cannot do video calls (may be empty).
    #[must_use]
    pub fn fallback_phone(&self) -> &str {
        &self.0.fallback_phone
    }

    async fn timeline(&self, incident: &IncidentId, role: ActorRole, actor_id: Option<String>, event: Event) {
        let entry = TimelineEntry { at: self.now(), actor_role: role, actor_id, event };
        // The call goes on; a lost line is logged (the session record keeps the facts).
        if let Err(e) = self.0.incidents.append_timeline(incident, &[entry]).await {
            tracing::warn!(incident_id = %incident, error = %e, "could not add a video line to the timeline");
        }
    }

    /// Whether `caller` may run sessions on `incident`: its holder, or an operator/admin.
    async fn check_runs(&self, caller: &StaffCaller, incident: &IncidentId) -> Result<(), VideoError> {
        let incident = self.0.incidents.get_incident(incident).await?.ok_or(VideoError::NotFound)?;
        match caller.role {
            Role::Operator | Role::Admin if caller.scope.as_ref().is_none_or(|s| s.sees(&incident)) => Ok(()),
            Role::Operator | Role::Admin => Err(VideoError::NotFound),
            Role::Mediator if incident.claimed_by.as_ref().map(ToString::to_string) == caller.account_id => Ok(()),
            Role::Mediator | Role::Department => Err(VideoError::NotYours),
        }
    }

    fn new_seat(kind: SeatKind, label: String, account_id: Option<String>) -> (Seat, String) {
        let token_secret = random_token();
        let seat = Seat {
            id: seat_id(),
            kind,
            label,
            account_id,
            token_hash: String::new(),
            in_room_since: None,
            removed: false,
            socket: None,
        };
        (seat, token_secret)
    }

    fn ticket(session: &str, mut seat: Seat, secret: &str) -> (Seat, SeatTicket) {
        let token = format!("{session}.{secret}");
        seat.token_hash = sha256_hex(&token);
        let ticket = SeatTicket { session_id: session.to_owned(), seat_id: seat.id.clone(), token, kind: seat.kind };
        (seat, ticket)
    }

    /// Start a session on `incident`; the caller gets the host's seat. If it already has a live
    /// one, the caller gets a fresh seat in it (their earlier seat there stops working).
    ///
    /// # Errors
    /// `NotFound`, `NotYours`, `Store`.
    pub async fn start(&self, caller: &StaffCaller, incident: &IncidentId) -> Result<SeatTicket, VideoError> {
        self.check_runs(caller, incident).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let kind = if caller.role == Role::Mediator { SeatKind::Host } else { SeatKind::Operator };
        let (seat, secret) = Self::new_seat(kind, label_for(kind, None)?, caller.account_id.clone());
        let (seat, ticket) = Self::ticket(&id, seat, &secret);
        let session = VideoSession {
            id: id.clone(),
            incident_id: incident.clone(),
            started_at: self.now(),
            ended_at: None,
            seats: vec![seat],
            joined: Vec::new(),
            invitations: 0,
        };
        if !self.0.store.insert_session(&session).await? {
            let live = self.0.store.live_session_of(incident).await?.unwrap_or_default();
            return self.reseat(caller, &live, kind).await;
        }
        let role = if caller.role == Role::Mediator { ActorRole::Mediator } else { ActorRole::Operator };
        self.timeline(incident, role, caller.account_id.clone(), Event::VideoStarted { session_id: id }).await;
        tracing::info!(incident_id = %incident, session_id = %session.id, "video session started");
        Ok(ticket)
    }

    /// The incident already has a live session: its host (or an operator) who lost the page
    /// gets a fresh seat of the same kind, and their previous seat stops working.
    async fn reseat(&self, caller: &StaffCaller, live: &str, kind: SeatKind) -> Result<SeatTicket, VideoError> {
        let (seat, secret) = Self::new_seat(kind, label_for(kind, None)?, caller.account_id.clone());
        let (seat, ticket) = Self::ticket(live, seat, &secret);
        let max = self.0.settings.max_participants;
        let replaced = self
            .change(live, |s| {
                let mut replaced = Vec::new();
                for old in
                    s.seats.iter_mut().filter(|o| o.kind == kind && o.account_id == caller.account_id && !o.removed)
                {
                    old.removed = true;
                    replaced.push(old.id.clone());
                }
                if !s.has_room_for(kind, max) {
                    return Err(VideoError::Full);
                }
                s.seats.push(seat.clone());
                Ok(replaced)
            })
            .await
            .map_err(|e| if matches!(e, VideoError::NotFound) { VideoError::AlreadyLive(live.to_owned()) } else { e })?
            .1;
        for old in replaced {
            let close = Outbound::Close(super::close::REPLACED, "opened again elsewhere");
            let _ = self.tell(live, Audience::seat(&old), close).await;
        }
        Ok(ticket)
    }

    /// Read → change → compare-and-set, retried; `change` returns what the caller gets, or
    /// refuses.
    async fn change<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut VideoSession) -> Result<T, VideoError>,
    ) -> Result<(VideoSession, T), VideoError> {
        valid_session_id(id)?;
        for _ in 0..CAS_ATTEMPTS {
            let held = self.0.store.session(id).await?.ok_or(VideoError::NotFound)?;
            let mut session = held.session;
            let out = change(&mut session)?;
            if self.0.store.replace_session(&session, held.version).await? {
                return Ok((session, out));
            }
        }
        Err(VideoError::Contended)
    }

    /// Give `seat` a place in a live session, if one of its kind is free.
    async fn add_seat(&self, session_id: &str, seat: &Seat) -> Result<VideoSession, VideoError> {
        let max = self.0.settings.max_participants;
        let (session, ()) = self
            .change(session_id, |s| {
                if !s.is_live() {
                    return Err(VideoError::Ended);
                }
                if !s.has_room_for(seat.kind, max) {
                    return Err(VideoError::Full);
                }
                s.seats.push(seat.clone());
                Ok(())
            })
            .await?;
        Ok(session)
    }

    /// A session by id (for a caller already checked).
    async fn session(&self, id: &str) -> Result<VideoSession, VideoError> {
        valid_session_id(id)?;
        Ok(self.0.store.session(id).await?.ok_or(VideoError::NotFound)?.session)
    }

    /// Invite someone: a one-time link. For a party it is also shown on the incident's
    /// tracking page, and sent in WeChat to a resident who reported through WeChat.
    ///
    /// # Errors
    /// `NotFound`, `NotYours`, `Ended`, `TooManyInvitations`, `Invalid` (kind, label).
    pub async fn invite(
        &self,
        caller: &StaffCaller,
        session_id: &str,
        kind: SeatKind,
        label: Option<&str>,
    ) -> Result<InvitationTicket, VideoError> {
        let session = self.session(session_id).await?;
        self.check_runs(caller, &session.incident_id).await?;
        self.issue_invitation(session_id, kind, label).await
    }

    /// [`Self::invite`] from inside the room, by the host or an operator's seat.
    ///
    /// # Errors
    /// As [`Self::invite`].
    pub async fn invite_from_seat(
        &self,
        session_id: &str,
        by: &Seat,
        kind: SeatKind,
        label: Option<&str>,
    ) -> Result<InvitationTicket, VideoError> {
        if !runs_the_room(by.kind) {
            return Err(VideoError::NotYours);
        }
        self.issue_invitation(session_id, kind, label).await
    }

    async fn issue_invitation(
        &self,
        session_id: &str,
        kind: SeatKind,
        label: Option<&str>,
    ) -> Result<InvitationTicket, VideoError> {
        if matches!(kind, SeatKind::Host | SeatKind::Observer) {
            return Err(VideoError::Invalid { field: "kind", reason: "party, department or operator" });
        }
        let label = label_for(kind, label)?;
        let (session, ()) = self
            .change(session_id, |s| {
                if !s.is_live() {
                    return Err(VideoError::Ended);
                }
                if s.invitations >= MAX_INVITATIONS {
                    return Err(VideoError::TooManyInvitations);
                }
                s.invitations += 1;
                Ok(())
            })
            .await?;
        let token = random_token();
        let ttl = self.0.settings.invitation_ttl;
        let expires_at = self.now() + ttl;
        let invitation = Invitation { session_id: session.id.clone(), kind, label, expires_at };
        // Kept a day past its expiry, so a late click is told "expired" rather than "unknown".
        let keep = ttl + Duration::from_secs(24 * 3600);
        self.0.store.put_invitation(&sha256_hex(&token), &invitation, keep).await?;
        if kind == SeatKind::Party {
            self.0.store.put_party_link(&session.incident_id, &token, ttl).await?;
            // Where the parties are: a resident who reported through WeChat gets the link there.
            let base = self.0.dispatcher.settings().http.public_base_url.trim_end_matches('/').to_owned();
            let minutes = ttl.as_secs().div_ceil(60);
            self.0.dispatcher.wechat_video_invitation(&session.incident_id, &format!("{base}/v/{token}"), minutes);
        }
        Ok(InvitationTicket { token, expires_at })
    }

    /// Use an invitation (once): a seat in its session.
    ///
    /// # Errors
    /// `InvitationUsed` (used, or never issued), `InvitationExpired`, `Ended`, `Full`.
    pub async fn join(&self, invitation_token: &str) -> Result<SeatTicket, VideoError> {
        if invitation_token.is_empty() || invitation_token.len() > 64 {
            return Err(VideoError::InvitationUsed);
        }
        let invitation =
            self.0.store.take_invitation(&sha256_hex(invitation_token)).await?.ok_or(VideoError::InvitationUsed)?;
        if invitation.expires_at <= self.now() {
            return Err(VideoError::InvitationExpired);
        }
        let (seat, secret) = Self::new_seat(invitation.kind, invitation.label.clone(), None);
        let (seat, ticket) = Self::ticket(&invitation.session_id, seat, &secret);
        let session = self.add_seat(&invitation.session_id, &seat).await?;
        if invitation.kind == SeatKind::Party
            && self.0.store.party_link(&session.incident_id).await?.is_some_and(|t| t == invitation_token)
        {
            self.0.store.drop_party_link(&session.incident_id).await?;
        }
        Ok(ticket)
    }

    /// An operator watches a live session: a receive-only seat, no invitation needed.
    ///
    /// # Errors
    /// `NotFound`, `NotYours` (not an operator), `Ended`, `Full` (two observers already).
    pub async fn observe(&self, caller: &StaffCaller, session_id: &str) -> Result<SeatTicket, VideoError> {
        if !matches!(caller.role, Role::Operator | Role::Admin) {
            return Err(VideoError::NotYours);
        }
        self.check_runs(caller, &self.session(session_id).await?.incident_id).await?;
        let (seat, secret) =
            Self::new_seat(SeatKind::Observer, label_for(SeatKind::Observer, None)?, caller.account_id.clone());
        let (seat, ticket) = Self::ticket(session_id, seat, &secret);
        self.add_seat(session_id, &seat).await?;
        Ok(ticket)
    }

    /// The session and seat a seat token opens (live, not removed).
    ///
    /// # Errors
    /// `NotInvited` for an unknown token or a removed seat; `Ended`.
    pub async fn admit(&self, seat_token: &str) -> Result<(VideoSession, Seat), VideoError> {
        let session_id = seat_token.split_once('.').map(|(s, _)| s).ok_or(VideoError::NotInvited)?;
        if seat_token.len() > 128 || valid_session_id(session_id).is_err() {
            return Err(VideoError::NotInvited);
        }
        let session = self.0.store.session(session_id).await?.ok_or(VideoError::NotInvited)?.session;
        let seat = session.seat_by_token(&sha256_hex(seat_token)).cloned().ok_or(VideoError::NotInvited)?;
        if seat.removed {
            return Err(VideoError::NotInvited);
        }
        if !session.is_live() {
            return Err(VideoError::Ended);
        }
        Ok((session, seat))
    }

    /// ICE servers for a seat, with a TURN credential minted now.
    ///
    /// # Errors
    /// As [`Self::admit`].
    pub async fn ice(&self, seat_token: &str) -> Result<IceConfig, VideoError> {
        let (session, seat) = self.admit(seat_token).await?;
        let s = &self.0.settings;
        let expires_at = self.now() + s.credential_ttl;
        let (username, credential) = match &s.turn_secret {
            Some(secret) => {
                // The user part names the seat, never the person.
                let user = format!("{}-{}", &session.id[..8], seat.id);
                let c = turn::credential(secret.expose_secret().as_bytes(), &user, expires_at.as_second());
                (Some(c.username), Some(c.password))
            }
            None => (None, None),
        };
        Ok(IceConfig { urls: s.turn_urls.clone(), username, credential, expires_at, relay_only: s.relay_only })
    }

    /// The host (or an operator in the room) removes a participant: their seat stops working,
    /// their socket closes (4410) and the others are told.
    ///
    /// # Errors
    /// `NotYours` when `by` does not run the room; `NotFound` for an unknown seat.
    pub async fn remove(&self, session_id: &str, by: &Seat, target: &str) -> Result<(), VideoError> {
        if !runs_the_room(by.kind) || by.id == target {
            return Err(VideoError::NotYours);
        }
        self.change(session_id, |s| {
            let t = s.seat_mut(target).ok_or(VideoError::NotFound)?;
            t.removed = true;
            Ok(())
        })
        .await?;
        let close = Outbound::Close(super::close::REMOVED, "removed by the mediator");
        let _ = self.tell(session_id, Audience::seat(target), close).await;
        Ok(())
    }

    /// End a session: every socket closes (4411), the timeline gets who took part and for how
    /// long. Ending an ended session is a no-op.
    ///
    /// # Errors
    /// `NotFound`; `NotYours`.
    pub async fn end(&self, session_id: &str, by: EndedBy<'_>) -> Result<(), VideoError> {
        let session = self.session(session_id).await?;
        match by {
            EndedBy::Staff(caller) => self.check_runs(caller, &session.incident_id).await?,
            EndedBy::Seat(seat) if runs_the_room(seat.kind) => {}
            EndedBy::Seat(_) => return Err(VideoError::NotYours),
        }
        let now = self.now();
        let (session, was_live) = self
            .change(session_id, |s| {
                let was_live = s.is_live();
                s.ended_at.get_or_insert(now);
                Ok(was_live)
            })
            .await?;
        if !was_live {
            return Ok(());
        }
        let close = Outbound::Close(super::close::ENDED, "the session ended");
        let _ = self.tell(session_id, Audience::all_but(None), close).await;
        let _ = self.0.store.drop_party_link(&session.incident_id).await;
        let seconds = u64::try_from(now.duration_since(session.started_at).as_secs()).unwrap_or(0);
        let event = Event::VideoEnded { session_id: session.id.clone(), participants: session.joined.clone(), seconds };
        self.timeline(&session.incident_id, ActorRole::System, None, event).await;
        tracing::info!(session_id, seconds, "video session ended");
        Ok(())
    }

    /// Every live session (the command center's list).
    ///
    /// # Errors
    /// `Store`.
    pub async fn live(&self, scope: &Scope) -> Result<Vec<VideoSession>, VideoError> {
        let sessions = self.0.store.live_sessions().await?;
        let ids: Vec<IncidentId> = sessions.iter().map(|s| s.incident_id.clone()).collect();
        let seen = self.0.incidents.get_incidents(&ids).await?;
        Ok(sessions.into_iter().filter(|s| seen.iter().any(|i| i.id == s.incident_id && scope.sees(i))).collect())
    }

    /// The parties' invitation waiting for the resident holding `tracking_token`, if any.
    ///
    /// # Errors
    /// `NotFound` for an unknown tracking token.
    pub async fn party_link(&self, tracking_token: &str) -> Result<Option<String>, VideoError> {
        let incident = self.0.dispatcher.tracked_incident(tracking_token).await.map_err(|e| match e {
            DispatchError::NotFound => VideoError::NotFound,
            e => VideoError::Dispatch(e),
        })?;
        Ok(self.0.store.party_link(&incident.id).await?)
    }
}

/// Who ends a session.
#[derive(Debug, Clone, Copy)]
pub enum EndedBy<'a> {
    /// Over HTTP, with a staff token.
    Staff(&'a StaffCaller),
    /// From inside the room.
    Seat(&'a Seat),
}
