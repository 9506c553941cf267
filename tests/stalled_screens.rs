//! Screens that stop reading, in a process of their own: the test measures the process's
//! memory (see `api/stalled_screens.rs`).

#[path = "support/redis_server.rs"]
mod redis_server;

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod helpers;

#[path = "api/stalled_screens.rs"]
mod stalled_screens;
