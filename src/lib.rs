//! grid-dispatch: neighbourhood disputes from residents to the nearest people's mediators.
//!
//! Code map, in reading order:
//! - [`domain`]: pure types and the incident state machine (no I/O); departments' call-ins.
//! - [`matcher`]: ranking candidates, and the in-process H3 position index.
//! - [`store`]: the storage ports by concern (incidents, directory, presence, leases, WeChat
//!   state, health) and the bus, each with its memory and Redis backend; the stored records
//!   (schema-versioned).
//! - [`timers`]: the durable-deadline runner (escalation; offer waves, call-ins and case-file
//!   deadlines through their handlers).
//! - [`push`]: the in-process WebSocket hub (caps, revocation), the wire messages, and rendering
//!   the bus's incident news for local sockets.
//! - [`dispatch`]: the engine under the services: the command path (read → decide → one
//!   atomic write), workloads beside ranking, and the bus feed that keeps the per-instance
//!   copies fresh (the area map and mediators' profiles it reads, and the recent reports it
//!   feeds, are the services', through `Held`; the feed holds them itself); residents' shared
//!   tracking streams.
//! - [`services`]: one cheap-clone handle per capability over the engine (incidents, reports
//!   with filing, the duplicate look-back and offer waves, presence, areas, scenes, resident
//!   chat, statistics, health), each with the store ports it uses, handed to it by [`app`]:
//!   what the HTTP edge may call.
//! - [`departments`]: joint handling (联调联处): departments, call-ins on the clock, hand-over.
//! - [`accounts`]: staff accounts: login (throttled), changes, import/export, the audit record,
//!   and this instance's copies of mediators' ranking profiles.
//! - [`auth`]: JWTs, passwords, tracking tokens.
//! - [`casefile`]: after the mediator arrives: parties (sealed at rest), the mediation record, the
//!   agreement's versions and signatures, the A4 PDFs, the difficulty grade and the monthly
//!   以案定补 subsidy report; its own store port; its deadlines on the shared timer runner.
//! - [`wechat`]: the WeChat Official Account protocol: signatures, safe mode, XML, API client.
//! - [`sms`]: texts to residents' phones through an HTTP gateway (the tracking link).
//! - [`video`]: video mediation on an incident: sessions, one-time invitations, TURN
//!   credentials (its own store port, memory and Redis), the signaling relay between instances
//!   over the bus, receive-only observers.
//! - [`http`]: the router per audience, error mapping, extractors, sockets; handlers take
//!   services, never a store (`tests/architecture.rs`).
//! - [`config`], [`telemetry`], [`clock`], [`retry`], [`app`]: settings, logs/metrics, time,
//!   backoff with jitter for every retry loop, composition.
//! - [`demo`]: the simulated city behind `grid-dispatch demo`.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod casefile;
pub mod clock;
pub mod config;
pub mod demo;
pub mod departments;
pub mod dispatch;
pub mod domain;
pub mod http;
pub mod matcher;
pub mod push;
pub mod retry;
pub mod services;
pub mod sms;
pub mod store;
pub mod telemetry;
pub mod timers;
pub mod video;
pub mod wechat;
