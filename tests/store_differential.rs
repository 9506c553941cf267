//! The differential test: random sequences of commands (file a report and note it in its
//! hot-spot area, offer, claim, decline, arrive, resolve, escalate, timers firing, duty and
//! position changes, idempotent repeats, stale versions) run against the memory store and a
//! real `redis-server`, and every answer is compared: each write's outcome and the bus
//! messages it announced, and after every command the whole state the commands can reach
//! (hot-spot notes included). The memory store is the reference model; a difference fails
//! with proptest's shrunk sequence.
//!
//! Writes are built the way the dispatch layer builds them (the next version of the record as
//! the reference store holds it, with its timeline, timers, offers and holds), on a virtual
//! clock for deadlines. Needs `--features conformance` (the fixtures) and `redis-server` on
//! PATH (see README).

#[path = "support/redis_server.rs"]
mod redis_server;

use grid_dispatch::domain::account::Fix;
use grid_dispatch::domain::ids::{AccountId, IncidentId};
use grid_dispatch::domain::incident::{Event, Incident, Status};
use grid_dispatch::domain::location::GeoPoint;
use grid_dispatch::domain::timeline;
use grid_dispatch::store::memory::MemoryStore;
use grid_dispatch::store::redis::{RedisBus, RedisConfig, RedisStore};
use grid_dispatch::store::{
    AreaNote, Bus, BusMessage, BusReceiver, Creation, Expect, FixBatch, Hold, IdempotencyClaim, IncidentStore,
    IncidentWrite, NoteInArea, PresenceStore, TimerKey, TimerKind, TimerOp, conformance,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use redis_server::{RedisServer, unique_prefix};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Mediators in every case.
const MEDIATORS: usize = 3;
/// Incident slots a case can file into.
const SLOTS: usize = 3;
/// Days claims count on.
const DAYS: [&str; 3] = ["2026-11-20", "2026-11-21", "2026-11-22"];
/// Deadline kinds a case schedules.
const KINDS: [TimerKind; 4] = [TimerKind::Escalate, TimerKind::Wave, TimerKind::ArriveDue, TimerKind::ResolveDue];
/// How long a leased deadline stays leased.
const LEASE: Duration = Duration::from_secs(30);
/// Where reports are noted (latitudes at longitude 101.77: areas apart, and two places 11 m
/// apart).
const SPOTS: [f64; 4] = [36.6, 36.6001, 36.63, 36.7];
/// How long hot-spot notes are kept: shorter than a long case, so some are dropped.
const NOTE_KEEP: Duration = Duration::from_secs(1800);
/// How long one Redis bus message may take to arrive.
const BUS_WAIT: Duration = Duration::from_secs(5);

/// One thing that happens to the stores.
#[derive(Debug, Clone)]
enum Command {
    /// A resident files a report into `slot` (a no-op if the slot is taken, unless `reuse`:
    /// then a second creation of the same id, which must conflict), offered to `offered`,
    /// escalating after `escalate_s`, under idempotency key `key` if any, noted in hot-spot
    /// area `spot`.
    File {
        slot: usize,
        offered: Vec<usize>,
        escalate_s: i64,
        key: Option<(u8, u8)>,
        key_ttl_zero: bool,
        reuse: bool,
        spot: usize,
    },
    /// The next wave: more mediators offered, a wave deadline scheduled.
    Offer { slot: usize, to: Vec<usize>, wave_s: i64 },
    /// A mediator takes it (capacity-guarded), counting a claim on a day.
    Claim { slot: usize, by: usize, capacity: u32, day: usize },
    /// A mediator declines their offer.
    Decline { slot: usize, by: usize },
    /// The holder arrives: arrival deadline cancelled, resolution deadline set.
    Arrive { slot: usize, resolve_s: i64 },
    /// The holder resolves it (or the resident cancels): closed, released, deadlines gone.
    Resolve { slot: usize, cancel: bool },
    /// Escalated to the command center: offers closed, the holder (if any) released.
    Escalate { slot: usize, climb_s: i64 },
    /// A write at a version that is not the stored one (someone else moved it first).
    Stale { slot: usize, behind: u64 },
    /// The previous write, sent again verbatim (a retry).
    Repeat,
    /// Time passes, then the timer runner leases what is due (at most `max`) and finishes
    /// the first `finish` of them.
    Fire { advance_s: i64, max: usize, finish: usize },
    /// A mediator goes on or off duty.
    Duty { who: usize, on: bool },
    /// A mediator's phone sends a position.
    Move { who: usize, step: u8 },
}

fn slot() -> impl Strategy<Value = usize> {
    0..SLOTS
}

fn who() -> impl Strategy<Value = usize> {
    0..MEDIATORS
}

fn some_mediators() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(who(), 0..=MEDIATORS)
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => (slot(), some_mediators(), 1..600i64, prop::option::of((0..2u8, 0..2u8)), any::<bool>(), prop::bool::weighted(0.1), 0..SPOTS.len())
            .prop_map(|(slot, offered, escalate_s, key, key_ttl_zero, reuse, spot)| Command::File {
                slot, offered, escalate_s, key, key_ttl_zero: key_ttl_zero && key.is_some(), reuse, spot
            }),
        2 => (slot(), some_mediators(), 1..300i64).prop_map(|(slot, to, wave_s)| Command::Offer { slot, to, wave_s }),
        3 => (slot(), who(), 1..3u32, 0..DAYS.len()).prop_map(|(slot, by, capacity, day)| Command::Claim { slot, by, capacity, day }),
        1 => (slot(), who()).prop_map(|(slot, by)| Command::Decline { slot, by }),
        1 => (slot(), 1..900i64).prop_map(|(slot, resolve_s)| Command::Arrive { slot, resolve_s }),
        1 => (slot(), any::<bool>()).prop_map(|(slot, cancel)| Command::Resolve { slot, cancel }),
        1 => (slot(), 1..600i64).prop_map(|(slot, climb_s)| Command::Escalate { slot, climb_s }),
        1 => (slot(), 1..3u64).prop_map(|(slot, behind)| Command::Stale { slot, behind }),
        1 => Just(Command::Repeat),
        2 => (0..700i64, 1..4usize, 0..4usize).prop_map(|(advance_s, max, finish)| Command::Fire { advance_s, max, finish }),
        1 => (who(), any::<bool>()).prop_map(|(who, on)| Command::Duty { who, on }),
        1 => (who(), any::<u8>()).prop_map(|(who, step)| Command::Move { who, step }),
    ]
}

/// The two stores, their buses, and what a case knows.
struct Pair {
    memory: MemoryStore,
    memory_rx: BusReceiver,
    redis: RedisStore,
    redis_bus: RedisBus,
    redis_rx: BusReceiver,
    cancel: CancellationToken,
    mediators: Vec<AccountId>,
    slots: Vec<Option<IncidentId>>,
    /// The virtual clock deadlines are set and fired on.
    now: Timestamp,
    last_write: Option<IncidentWrite>,
    /// Ends each step's announcements on the Redis bus (published after the step).
    marker: IncidentId,
}

impl Pair {
    async fn new(server: &RedisServer) -> Self {
        let memory = MemoryStore::new();
        let memory_rx = memory.bus().subscribe();
        let config = RedisConfig {
            url: server.url(),
            prefix: unique_prefix(),
            command_timeout: Duration::from_secs(5),
            cluster_nodes: vec![],
        };
        let redis = RedisStore::connect(&config).await.expect("connect to the test redis");
        let cancel = CancellationToken::new();
        let redis_bus = RedisBus::start(&config, cancel.clone()).await.expect("subscribe to the test redis");
        let redis_rx = redis_bus.subscribe();
        Self {
            memory,
            memory_rx,
            redis,
            redis_bus,
            redis_rx,
            cancel,
            mediators: (0..MEDIATORS).map(|_| AccountId::generate()).collect(),
            slots: vec![None; SLOTS],
            now: Timestamp::from_second(1_795_000_000).expect("valid"),
            last_write: None,
            marker: IncidentId::generate(),
        }
    }

    fn at(&self, secs: i64) -> Timestamp {
        self.now + SignedDuration::from_secs(secs)
    }

    fn timer(&self, kind: TimerKind, id: &IncidentId) -> TimerKey {
        TimerKey { kind, incident_id: id.clone(), sub: None }
    }

    /// The incident a command aimed at `slot` acts on, as the reference holds it: one of the
    /// filed ones (so few commands are wasted on empty slots).
    async fn current(&self, slot: usize) -> Option<Incident> {
        let filed: Vec<&IncidentId> = self.slots.iter().flatten().collect();
        let id = filed.get(slot % filed.len().max(1))?;
        self.memory.get_incident(id).await.expect("memory answers")
    }

    /// The next version of the incident in `slot`, as a write expecting the current one.
    async fn next(&self, slot: usize, event: Event, change: impl FnOnce(&mut Incident)) -> Option<IncidentWrite> {
        let current = self.current(slot).await?;
        let mut next = current.clone();
        change(&mut next);
        next.version += 1;
        let mut w = IncidentWrite::new(next, Expect::Version(current.version));
        w.append.push(timeline::system(self.now, event));
        w.announce.push(BusMessage::IncidentChanged { incident_id: current.id.clone() });
        Some(w)
    }

    /// The write a command makes, if it makes one.
    async fn write_for(&mut self, command: &Command) -> Option<IncidentWrite> {
        let m = self.mediators.clone();
        match command.clone() {
            Command::File { slot, offered, escalate_s, key, key_ttl_zero, reuse, spot } => {
                let offered: Vec<AccountId> = offered.iter().map(|i| m[*i].clone()).collect();
                let mut incident = conformance::incident(&offered);
                match (&self.slots[slot], reuse) {
                    (Some(id), true) => incident.id = id.clone(),
                    (Some(_), false) => return None,
                    (None, _) => self.slots[slot] = Some(incident.id.clone()),
                }
                incident.created_at = self.now;
                incident.escalate_at = self.at(escalate_s);
                let mut w = conformance::creation(&incident, &format!("track-{}", incident.id));
                if let Some(TimerOp::Schedule(_, due)) = w.timers.first_mut() {
                    *due = incident.escalate_at;
                }
                w.creation = Some(Creation {
                    tracking_hash: format!("track-{}", incident.id),
                    idempotency: key.map(|(k, fingerprint)| IdempotencyClaim {
                        key_hash: format!("key-{k}"),
                        fingerprint: format!("fp-{fingerprint}"),
                        ttl: if key_ttl_zero { Duration::ZERO } else { Duration::from_secs(3600) },
                        receipt: format!("receipt-{}", incident.id),
                    }),
                });
                w.announce.push(BusMessage::IncidentChanged { incident_id: incident.id.clone() });
                let place = spot_at(spot);
                let note = AreaNote { id: incident.id.clone(), at: self.now, place };
                w.note = Some(NoteInArea { cell: place.area().to_string(), note, keep: NOTE_KEEP });
                Some(w)
            }
            Command::Offer { slot, to, wave_s } => {
                let to: Vec<AccountId> = to.iter().map(|i| m[*i].clone()).collect();
                let mut w = self.next(slot, Event::Offered { mediator_ids: to.clone() }, |_| {}).await?;
                w.timers.push(TimerOp::Schedule(self.timer(TimerKind::Wave, &w.incident.id), self.at(wave_s)));
                w.offers_open = to;
                Some(w)
            }
            Command::Claim { slot, by, capacity, day } => {
                let taker = m[by].clone();
                let mut w = self
                    .next(slot, Event::Claimed { mediator_id: taker.clone() }, |i| {
                        i.status = Status::Claimed;
                        i.claimed_by = Some(taker.clone());
                    })
                    .await?;
                let id = w.incident.id.clone();
                w.timers.push(TimerOp::Cancel(self.timer(TimerKind::Escalate, &id)));
                w.timers.push(TimerOp::Cancel(self.timer(TimerKind::Wave, &id)));
                w.timers.push(TimerOp::Schedule(self.timer(TimerKind::ArriveDue, &id), self.at(1800)));
                w.offers_close.clone_from(&m);
                w.hold = Some(Hold { mediator_id: taker, capacity, day: DAYS[day].into() });
                Some(w)
            }
            Command::Decline { slot, by } => {
                let mut w = self.next(slot, Event::Declined { mediator_id: m[by].clone() }, |_| {}).await?;
                w.offers_close = vec![m[by].clone()];
                Some(w)
            }
            Command::Arrive { slot, resolve_s } => {
                let mut w = self.next(slot, Event::Alerted, |i| i.status = Status::OnSite).await?;
                let id = w.incident.id.clone();
                w.timers.push(TimerOp::Cancel(self.timer(TimerKind::ArriveDue, &id)));
                w.timers.push(TimerOp::Schedule(self.timer(TimerKind::ResolveDue, &id), self.at(resolve_s)));
                Some(w)
            }
            Command::Resolve { slot, cancel } => {
                let holder = self.current(slot).await?.claimed_by;
                let status = if cancel { Status::Cancelled } else { Status::Resolved };
                let mut w = self.next(slot, Event::Reopened, |i| i.status = status).await?;
                let id = w.incident.id.clone();
                w.timers = KINDS.iter().map(|k| TimerOp::Cancel(self.timer(*k, &id))).collect();
                w.offers_close.clone_from(&m);
                w.release = holder;
                Some(w)
            }
            Command::Escalate { slot, climb_s } => {
                let holder = self.current(slot).await?.claimed_by;
                let mut w = self
                    .next(slot, Event::Escalated, |i| {
                        i.status = Status::Escalated;
                        i.claimed_by = None;
                    })
                    .await?;
                let id = w.incident.id.clone();
                w.timers.push(TimerOp::Cancel(self.timer(TimerKind::Escalate, &id)));
                w.timers.push(TimerOp::Schedule(self.timer(TimerKind::Wave, &id), self.at(climb_s)));
                w.offers_close.clone_from(&m);
                w.release = holder;
                Some(w)
            }
            Command::Stale { slot, behind } => {
                let mut w = self.next(slot, Event::Alerted, |_| {}).await?;
                let Expect::Version(v) = w.expect else { unreachable!("a next write expects a version") };
                w.expect = Expect::Version(v.wrapping_sub(behind));
                w.offers_open.clone_from(&m);
                Some(w)
            }
            Command::Repeat => self.last_write.clone(),
            Command::Fire { .. } | Command::Duty { .. } | Command::Move { .. } => None,
        }
    }

    /// Run one command on both stores; the answers must agree.
    async fn step(&mut self, command: &Command) -> Result<(), TestCaseError> {
        if let Some(w) = self.write_for(command).await {
            let expected = self.memory.write_incident(&w).await.expect("memory answers");
            let actual = self.redis.write_incident(&w).await.expect("redis answers");
            prop_assert_eq!(&actual, &expected, "the write's outcome");
            self.last_write = Some(w);
        }
        match *command {
            Command::Fire { advance_s, max, finish } => {
                self.now = self.at(advance_s);
                let expected = self.memory.claim_due_timers(self.now, LEASE, max).await.expect("memory answers");
                let actual = self.redis.claim_due_timers(self.now, LEASE, max).await.expect("redis answers");
                prop_assert_eq!(&actual, &expected, "the deadlines leased");
                for timer in expected.iter().take(finish) {
                    self.memory.finish_timer(timer).await.expect("memory answers");
                    self.redis.finish_timer(timer).await.expect("redis answers");
                }
            }
            Command::Duty { who, on } => {
                let mediator = &self.mediators[who];
                self.memory.set_duty(mediator, on).await.expect("memory answers");
                self.redis.set_duty(mediator, on).await.expect("redis answers");
            }
            Command::Move { who, step } => {
                let point = GeoPoint::new(36.6 + f64::from(step) * 1e-4, 101.77).expect("valid");
                let fix = Fix { point, at: self.now, accuracy_m: Some(f32::from(step)) };
                let batch: FixBatch = vec![(self.mediators[who].clone(), fix)].into();
                self.memory.store_fixes(&batch).await.expect("memory answers");
                self.redis.store_fixes(&batch).await.expect("redis answers");
            }
            _ => {}
        }
        self.compare_announcements().await?;
        self.compare_state().await
    }

    /// What the step announced: everything on the memory bus now, and everything on the Redis
    /// bus before a marker published after the step (one subscriber, one connection: in order).
    async fn compare_announcements(&mut self) -> Result<(), TestCaseError> {
        let mut expected = vec![];
        while let Ok(Some(message)) = tokio::time::timeout(Duration::ZERO, self.memory_rx.recv()).await {
            expected.push(message);
        }
        let marker = BusMessage::IncidentChanged { incident_id: self.marker.clone() };
        self.redis_bus.publish(&marker).await.expect("publish the marker");
        let mut actual = vec![];
        loop {
            let next = tokio::time::timeout(BUS_WAIT, self.redis_rx.recv()).await;
            let message = next.expect("the marker arrives in time").expect("the bus is open");
            if message == marker {
                break;
            }
            actual.push(message);
        }
        prop_assert_eq!(actual, expected, "the messages announced");
        Ok(())
    }

    /// Everything the commands can reach, read from both stores.
    async fn compare_state(&self) -> Result<(), TestCaseError> {
        let expected = snapshot(&self.memory, self).await;
        let actual = snapshot(&self.redis, self).await;
        // Field by field, so a failure names what differs.
        macro_rules! same {
            ($($field:ident),*) => {
                $(prop_assert_eq!(&actual.$field, &expected.$field, "the stores' {}", stringify!($field));)*
            };
        }
        same!(
            incidents,
            timelines,
            tracked,
            remembered,
            deadlines,
            next_deadline,
            offered,
            held,
            hold_counts,
            claims,
            open,
            listed,
            presence,
            noted_areas,
            noted,
            noted_counts
        );
        Ok(())
    }
}

/// The reachable state of one store, as comparable values.
#[derive(Debug)]
struct Snapshot {
    incidents: Vec<Option<Incident>>,
    timelines: Vec<Vec<grid_dispatch::domain::timeline::TimelineEntry>>,
    tracked: Vec<Option<IncidentId>>,
    remembered: Vec<Option<grid_dispatch::store::RememberedKey>>,
    deadlines: Vec<Option<Timestamp>>,
    next_deadline: Option<Timestamp>,
    offered: Vec<Vec<IncidentId>>,
    held: Vec<Vec<IncidentId>>,
    hold_counts: Vec<u32>,
    claims: Vec<Vec<u32>>,
    open: Vec<IncidentId>,
    listed: Vec<IncidentId>,
    presence: Vec<grid_dispatch::domain::account::Presence>,
    /// Hot-spot areas noted within the time notes are kept, sorted.
    noted_areas: Vec<String>,
    /// Their notes, by time and id.
    noted: Vec<AreaNote>,
    /// How many each spot's area holds within that time.
    noted_counts: Vec<u64>,
}

async fn snapshot<S: IncidentStore + PresenceStore>(store: &S, pair: &Pair) -> Snapshot {
    let ids: Vec<IncidentId> = pair.slots.iter().flatten().cloned().collect();
    let mut s = Snapshot {
        incidents: vec![],
        timelines: vec![],
        tracked: vec![],
        remembered: vec![],
        deadlines: vec![],
        next_deadline: store.next_timer_due().await.expect("the store answers"),
        offered: vec![],
        held: vec![],
        hold_counts: store.hold_counts(&pair.mediators).await.expect("the store answers"),
        claims: vec![],
        open: store.open_incidents(10).await.expect("the store answers").into_iter().map(|i| i.id).collect(),
        listed: store
            .list_incidents(pair.now - SignedDuration::from_hours(1), pair.now + SignedDuration::from_secs(1), 10)
            .await
            .expect("the store answers")
            .into_iter()
            .map(|i| i.id)
            .collect(),
        presence: store.all_presence().await.expect("the store answers"),
        noted_areas: vec![],
        noted: vec![],
        noted_counts: vec![],
    };
    // Both stores drop notes (and areas) older than the time notes are kept before the newest
    // note of the same area (and of any area); they agree on what is within that time.
    let since = pair.now - SignedDuration::try_from(NOTE_KEEP).expect("short");
    s.noted_areas = store.noted_areas(since).await.expect("the store answers");
    s.noted_areas.sort();
    let cells: Vec<String> = (0..SPOTS.len()).map(|i| spot_at(i).area().to_string()).collect();
    s.noted = store.noted_in_areas(&cells, since, 10).await.expect("the store answers");
    s.noted.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    for cell in &cells {
        s.noted_counts.push(store.count_noted(cell, since).await.expect("the store answers"));
    }
    s.presence.sort_by(|a, b| a.mediator_id.cmp(&b.mediator_id));
    for id in &ids {
        s.incidents.push(store.get_incident(id).await.expect("the store answers"));
        s.timelines.push(store.timeline(id).await.expect("the store answers"));
        s.tracked.push(store.incident_by_tracking(&format!("track-{id}")).await.expect("the store answers"));
        for kind in KINDS {
            s.deadlines.push(store.timer_due(&pair.timer(kind, id)).await.expect("the store answers"));
        }
    }
    for key in 0..2 {
        s.remembered.push(store.remembered_key(&format!("key-{key}")).await.expect("the store answers"));
    }
    for m in &pair.mediators {
        s.offered.push(store.offered_to(m).await.expect("the store answers"));
        s.held.push(store.held_by(m).await.expect("the store answers"));
    }
    for day in DAYS {
        s.claims.push(store.claims_on(day, &pair.mediators).await.expect("the store answers"));
    }
    s
}

/// Where spot `i` lies.
fn spot_at(i: usize) -> GeoPoint {
    GeoPoint::new(SPOTS[i], 101.77).expect("valid")
}

/// Cases and sequence lengths kept small enough for CI (well under 30 s in a debug build).
/// Every run draws new sequences; a failure prints its shrunk sequence (nothing is written to
/// the source tree). `GD_DIFFERENTIAL_CASES=2000` searches longer by hand.
fn config() -> ProptestConfig {
    let cases = std::env::var("GD_DIFFERENTIAL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(32);
    ProptestConfig { cases, max_shrink_iters: 256, failure_persistence: None, ..ProptestConfig::default() }
}

#[test]
fn memory_and_redis_give_the_same_answers_to_the_same_commands() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    proptest!(config(), |(commands in prop::collection::vec(command(), 1..=20))| {
        runtime.block_on(async {
            let mut pair = Pair::new(&server).await;
            let mut result = Ok(());
            for command in &commands {
                result = pair.step(command).await;
                if result.is_err() {
                    break;
                }
            }
            pair.cancel.cancel();
            result
        })?;
    });
}
