//! What a command-center screen is sent on connect: the open incidents of its area, however
//! many closed ones are newer (issue #16, point 4).

use crate::helpers::{Backend, spawn_app};
use crate::on_both_stores;
use grid_dispatch::domain::incident::Status;
use grid_dispatch::store::conformance::{creation, incident};
use grid_dispatch::store::{Expect, IncidentWrite, WriteOutcome};

on_both_stores!(a_flood_of_closed_reports_does_not_push_an_open_one_out_of_the_snapshot);

/// Bytes a snapshot may spend per open incident (the full masked view the queues and the
/// detail panel read).
const SCREEN_INCIDENT_BUDGET: usize = 1_200;

/// More closed reports than the old 1,000-newest window, all newer than one still open: the
/// screen's snapshot carries the open one and none of the closed.
async fn a_flood_of_closed_reports_does_not_push_an_open_one_out_of_the_snapshot(backend: Backend) {
    const CLOSED: usize = 1_100;
    let app = spawn_app(backend).await;
    let store = app.app().ports().incidents.clone();
    let now = jiff::Timestamp::now();
    let ago = |minutes: i64| now.checked_sub(jiff::SignedDuration::from_mins(minutes)).unwrap();

    // Still open since ten days ago (nobody claimed it; the command center holds it).
    let mut open = incident(&[]);
    open.created_at = ago(10 * 24 * 60);
    open.escalate_at = ago(10 * 24 * 60 - 5);
    store.write_incident(&creation(&open, "open-one")).await.unwrap();

    // Then a busy stretch: every report since has been closed.
    for n in 0..CLOSED {
        let mut report = incident(&[]);
        report.created_at = ago(i64::try_from(CLOSED - n).unwrap());
        store.write_incident(&creation(&report, &format!("closed-{n}"))).await.unwrap();
        let mut closed = report.clone();
        closed.status = if n % 2 == 0 { Status::Resolved } else { Status::Cancelled };
        closed.version += 1;
        let written = store.write_incident(&IncidentWrite::new(closed, Expect::Version(report.version))).await.unwrap();
        assert_eq!(written, WriteOutcome::Written);
    }

    let op = app.operator("大屏").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = screen.wait_for("snapshot", |_| true).await;
    let incidents = snapshot["incidents"].as_array().unwrap();
    let ids: Vec<&str> = incidents.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![open.id.to_string().as_str()], "the open one, and nothing closed");
    let bytes = serde_json::to_string(&snapshot["incidents"]).unwrap().len();
    println!("snapshot: {bytes} bytes for {} open incident(s)", incidents.len());
    assert!(bytes < incidents.len() * SCREEN_INCIDENT_BUDGET, "{bytes} bytes per open incident");
}

/// Incidents filed before the open index existed (an upgrade over a Redis full of data): the
/// first start of this version indexes the open ones, so the screen still shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_incidents_filed_before_the_open_index_reach_the_snapshot_after_an_upgrade() {
    use grid_dispatch::store::redis::keys::Keys;
    let app = spawn_app(Backend::Redis).await;
    let store = app.app().ports().incidents.clone();
    let open = incident(&[]);
    store.write_incident(&creation(&open, "before-upgrade-open")).await.unwrap();
    let report = incident(&[]);
    store.write_incident(&creation(&report, "before-upgrade-closed")).await.unwrap();
    let mut closed = report.clone();
    closed.status = Status::Resolved;
    closed.version += 1;
    store.write_incident(&IncidentWrite::new(closed, Expect::Version(report.version))).await.unwrap();

    // As the previous version left Redis: no open index, no marker.
    let (settings, redis) = app.stop().await;
    let server = redis.expect("on Redis");
    let keys = Keys::new(&settings.redis.prefix).unwrap();
    let mut conn = ::redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let removed: i64 = ::redis::cmd("DEL")
        .arg(keys.open_incidents())
        .arg(keys.open_incidents_built())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(removed >= 1, "the open index existed");

    let app = crate::helpers::start(settings, Some(server)).await;
    let op = app.operator("大屏").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = screen.wait_for("snapshot", |_| true).await;
    let ids: Vec<&str> = snapshot["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![open.id.to_string().as_str()], "the open one, indexed at start; not the closed one");
}
