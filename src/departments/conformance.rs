//! Behaviour every [`DepartmentStore`] must have, run against memory and Redis by
//! `tests/department_conformance.rs`. Each check gets the department store and the incident
//! store beside it (whose timer set and timelines a call-in write changes).

use super::domain::{CallIn, Department, DepartmentKind, DutyPhone, NewCallIn, Purpose, Urgency, Windows};
use super::store::{CallInWrite, DeliveryLine, DepartmentStore, WebhookEvent, webhook_key};
use crate::domain::category::Risk;
use crate::domain::ids::{DepartmentId, IncidentId};
use crate::domain::incident::Event;
use crate::domain::timeline::{ActorRole, TimelineEntry};
use crate::store::{IncidentStore, TimerKey, TimerKind, TimerOp};
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// A named check.
pub type Check = (
    &'static str,
    fn(Arc<dyn DepartmentStore>, Arc<dyn IncidentStore>) -> futures_util::future::BoxFuture<'static, ()>,
);

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check, by name.
        #[must_use]
        pub fn all() -> Vec<Check> {
            vec![$((stringify!($name), |d, s| Box::pin($name(d, s)))),*]
        }
    };
}

checks!(
    departments_round_trip_oldest_first,
    a_call_in_is_written_with_its_deadlines_and_timeline_at_once,
    a_stale_call_in_version_writes_nothing,
    call_ins_are_listed_per_incident_and_per_department,
    a_call_in_deadline_is_claimed_with_its_sub_key,
    webhook_events_are_kept_with_their_write_until_delivered,
    the_routing_table_is_saved_only_over_the_version_it_was_read_at,
);

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).expect("valid")
}

fn department(name: &str) -> Department {
    Department {
        id: DepartmentId::generate(),
        name: name.into(),
        kind: DepartmentKind::PoliceStation,
        area: None,
        duty_phone: DutyPhone::parse("0971-8123456").expect("valid"),
        created_at: t(0),
    }
}

fn call_in(incident: &IncidentId, dept: &Department) -> CallIn {
    let new = NewCallIn {
        incident_id: incident,
        risk: Risk::Yellow,
        department: dept,
        purpose: Purpose::Assist,
        urgency: Urgency::Normal,
        note: "请到场",
        called_by: "op".into(),
        called_by_role: ActorRole::Operator,
    };
    CallIn::new(
        &new,
        Windows { ack_within: SignedDuration::from_mins(10), respond_within: SignedDuration::from_hours(1) },
        t(0),
    )
}

fn line(c: &CallIn, step: &str) -> TimelineEntry {
    TimelineEntry {
        at: t(0),
        actor_role: ActorRole::Operator,
        actor_id: None,
        event: Event::Joint {
            call_in_id: c.id.to_string(),
            department_id: c.department_id.to_string(),
            department: c.department_name.clone(),
            step: step.into(),
            note: None,
        },
    }
}

fn ack_due(c: &CallIn) -> TimerKey {
    TimerKey::with_sub(TimerKind::CallInAckDue, c.incident_id.clone(), c.id.to_string())
}

fn create(c: &CallIn) -> CallInWrite {
    CallInWrite {
        call_in: c.clone(),
        expect_version: 0,
        timers: vec![TimerOp::Schedule(ack_due(c), c.ack_due)],
        timeline: vec![line(c, "called_in")],
        announce: vec![],
        webhooks: vec![],
    }
}

async fn departments_round_trip_oldest_first(d: Arc<dyn DepartmentStore>, _s: Arc<dyn IncidentStore>) {
    let a = department("南滩派出所");
    let b = department("南川司法所");
    d.put_department(&b).await.expect("put");
    d.put_department(&a).await.expect("put");
    assert_eq!(d.get_department(&a.id).await.expect("get"), Some(a.clone()));
    assert_eq!(d.get_department(&DepartmentId::generate()).await.expect("get"), None);
    let ids: Vec<_> = d.list_departments().await.expect("list").into_iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![a.id, b.id], "oldest (by id) first");
}

async fn a_call_in_is_written_with_its_deadlines_and_timeline_at_once(
    d: Arc<dyn DepartmentStore>,
    s: Arc<dyn IncidentStore>,
) {
    let dept = department("南滩派出所");
    let incident = IncidentId::generate();
    let c = call_in(&incident, &dept);
    assert!(d.write_call_in(&create(&c)).await.expect("write"));
    assert_eq!(d.get_call_in(&c.id).await.expect("get"), Some(c.clone()));
    assert_eq!(s.timer_due(&ack_due(&c)).await.expect("due"), Some(c.ack_due));
    assert_eq!(s.timeline(&incident).await.expect("timeline"), vec![line(&c, "called_in")]);

    let mut acked = c.clone();
    acked.acknowledged_at = Some(t(60));
    acked.version = 2;
    let w = CallInWrite {
        call_in: acked.clone(),
        expect_version: 1,
        timers: vec![TimerOp::Cancel(ack_due(&c))],
        timeline: vec![line(&c, "acknowledged")],
        announce: vec![],
        webhooks: vec![],
    };
    assert!(d.write_call_in(&w).await.expect("write"));
    assert_eq!(s.timer_due(&ack_due(&c)).await.expect("due"), None, "the deadline went with the write");
    assert_eq!(s.timeline(&incident).await.expect("timeline").len(), 2);
    assert_eq!(d.get_call_in(&c.id).await.expect("get"), Some(acked));
}

async fn a_stale_call_in_version_writes_nothing(d: Arc<dyn DepartmentStore>, s: Arc<dyn IncidentStore>) {
    let dept = department("南滩派出所");
    let incident = IncidentId::generate();
    let c = call_in(&incident, &dept);
    assert!(d.write_call_in(&create(&c)).await.expect("write"));
    assert!(!d.write_call_in(&create(&c)).await.expect("write"), "it exists already");
    let mut stale = c.clone();
    stale.version = 5;
    stale.ack_overdue = true;
    let w = CallInWrite {
        call_in: stale,
        expect_version: 4,
        timers: vec![TimerOp::Cancel(ack_due(&c))],
        timeline: vec![line(&c, "ack_overdue")],
        announce: vec![],
        webhooks: vec![],
    };
    assert!(!d.write_call_in(&w).await.expect("write"));
    assert_eq!(d.get_call_in(&c.id).await.expect("get"), Some(c.clone()));
    assert_eq!(s.timer_due(&ack_due(&c)).await.expect("due"), Some(c.ack_due), "timers untouched");
    assert_eq!(s.timeline(&incident).await.expect("timeline").len(), 1, "timeline untouched");
}

async fn call_ins_are_listed_per_incident_and_per_department(d: Arc<dyn DepartmentStore>, _s: Arc<dyn IncidentStore>) {
    let (police, justice) = (department("派出所"), department("司法所"));
    let (one, two) = (IncidentId::generate(), IncidentId::generate());
    let a = call_in(&one, &police);
    let b = call_in(&one, &justice);
    let c = call_in(&two, &police);
    for x in [&a, &b, &c] {
        assert!(d.write_call_in(&create(x)).await.expect("write"));
    }
    let ids = |v: Vec<CallIn>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(ids(d.call_ins_of_incident(&one).await.expect("list")), vec![a.id.clone(), b.id.clone()]);
    assert_eq!(ids(d.call_ins_of_department(&police.id).await.expect("list")), vec![a.id, c.id]);
    assert_eq!(ids(d.call_ins_of_department(&DepartmentId::generate()).await.expect("list")), vec![]);
}

async fn a_call_in_deadline_is_claimed_with_its_sub_key(d: Arc<dyn DepartmentStore>, s: Arc<dyn IncidentStore>) {
    let dept = department("派出所");
    let incident = IncidentId::generate();
    let (a, b) = (call_in(&incident, &dept), call_in(&incident, &dept));
    assert!(d.write_call_in(&create(&a)).await.expect("write"));
    assert!(d.write_call_in(&create(&b)).await.expect("write"));
    assert_eq!(s.next_timer_due().await.expect("next"), Some(a.ack_due));
    let claimed = s.claim_due_timers(a.ack_due, Duration::from_secs(30), 10).await.expect("claim");
    let mut keys: Vec<_> = claimed.iter().map(|c| c.key.clone()).collect();
    keys.sort();
    let mut want = vec![ack_due(&a), ack_due(&b)];
    want.sort();
    assert_eq!(keys, want, "two deadlines of one kind on one incident, told apart by their sub-key");
    for timer in &claimed {
        s.finish_timer(timer).await.expect("finish");
    }
    assert_eq!(s.next_timer_due().await.expect("next"), None);
}

async fn webhook_events_are_kept_with_their_write_until_delivered(
    d: Arc<dyn DepartmentStore>,
    s: Arc<dyn IncidentStore>,
) {
    let dept = department("派出所");
    let incident = IncidentId::generate();
    let c = call_in(&incident, &dept);
    let event = WebhookEvent {
        id: crate::domain::ids::CallInId::generate().to_string(),
        incident_id: incident.clone(),
        kind: "call_in.called_in".into(),
        body: "{\"a\":1}".into(),
        attempts: 0,
    };
    let mut w = create(&c);
    w.webhooks.push(event.clone());
    w.timers.push(TimerOp::Schedule(webhook_key(&event), t(0)));
    assert!(d.write_call_in(&w).await.expect("write"));
    assert_eq!(d.get_webhook(&event.id).await.expect("get"), Some(event.clone()));
    assert_eq!(s.timer_due(&webhook_key(&event)).await.expect("due"), Some(t(0)));

    let line = |attempt: u32, outcome: &str| DeliveryLine {
        event_id: event.id.clone(),
        kind: event.kind.clone(),
        attempt,
        outcome: outcome.into(),
        at: t(i64::from(attempt)),
    };
    let retried = WebhookEvent { attempts: 1, ..event.clone() };
    d.retry_webhook(&retried, t(30), &line(1, "failed 500; retry")).await.expect("retry");
    assert_eq!(d.get_webhook(&event.id).await.expect("get"), Some(retried));
    assert_eq!(s.timer_due(&webhook_key(&event)).await.expect("due"), Some(t(30)), "the deadline moved");
    d.finish_webhook(&event.id, &line(2, "delivered 200")).await.expect("finish");
    assert_eq!(d.get_webhook(&event.id).await.expect("get"), None);
    assert_eq!(d.delivery_log(10).await.expect("log"), vec![line(2, "delivered 200"), line(1, "failed 500; retry")]);
    assert_eq!(d.delivery_log(1).await.expect("log").len(), 1);
}

async fn the_routing_table_is_saved_only_over_the_version_it_was_read_at(
    d: Arc<dyn DepartmentStore>,
    _s: Arc<dyn IncidentStore>,
) {
    use super::routing::{RoutingRule, RoutingTable};
    assert_eq!(d.get_routing().await.expect("get"), None, "nothing stored at first");
    let rule = |word: &str| RoutingRule {
        categories: vec![crate::domain::category::Category::Wages],
        keywords: vec![word.into()],
        kinds: vec![DepartmentKind::LabourInspection],
    };
    let table = |version, word| RoutingTable {
        version,
        rules: vec![rule(word)],
        saved_at: Some(t(version as i64)),
        saved_by: "admin".into(),
    };
    assert!(!d.put_routing(&table(2, "欠薪")).await.expect("put"), "a first table must be version 1");
    assert!(d.put_routing(&table(1, "欠薪")).await.expect("put"));
    assert_eq!(d.get_routing().await.expect("get"), Some(table(1, "欠薪")));
    assert!(d.put_routing(&table(2, "讨薪")).await.expect("put"));
    assert!(!d.put_routing(&table(2, "工伤")).await.expect("put"), "a second save over version 1 is stale");
    assert!(!d.put_routing(&table(1, "工伤")).await.expect("put"), "so is one over nothing");
    assert_eq!(d.get_routing().await.expect("get"), Some(table(2, "讨薪")), "the stale saves changed nothing");
}
