//! Black-box tests: the real server on 127.0.0.1:0, real HTTP and WebSocket clients, on the
//! memory store and on a real redis-server (each behaviour test runs on both).

#[path = "../support/redis_server.rs"]
mod redis_server;

mod helpers;

mod accounts;
mod admin_console;
mod areas;
mod authz;
mod bad_input;
mod casefile;
mod casefile_due;
mod casefile_links;
mod casefile_subsidy;
mod command_staff;
mod department_areas;
mod department_board;
mod department_webhooks;
mod department_wechat;
mod departments;
mod dispatch_loop;
mod escalation;
mod field;
mod fuzz;
mod lifecycle;
mod logins;
mod names;
mod ops;
mod overload;
mod pages;
mod positions;
mod report_limits;
mod revocation;
mod routing_table;
mod scopes;
mod screen_snapshot;
mod sockets;
mod streams;
mod video;
mod wechat;
