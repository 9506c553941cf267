use super::*;
use crate::domain::account::{Account, Phone, Role};
use crate::domain::area::{Area, AreaLevel, AreaPath};
use crate::domain::category::{Category, Risk};
use crate::domain::grade::Grade;
use crate::domain::ids::AccountId;
use crate::domain::incident::Event;
use crate::domain::incident::{Deadline, Feedback, Incident, Offer, Outcome, Status, Supervision};
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline::{ActorRole, TimelineEntry};
use jiff::Timestamp;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + secs).expect("in range")
}

fn id<T: TryFrom<String>>(s: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(s.to_owned()).expect("a fixed id")
}

/// An incident with every field set, fixed ids and times: what the golden bytes hold.
fn every_field() -> Incident {
    let mediator: AccountId = id("01930000-0000-7000-8000-000000000002");
    let location = GeoPoint::new(36.6171, 101.7782).expect("valid");
    let _ = Deadline::Arrive;
    Incident {
        id: id("01930000-0000-7000-8000-000000000001"),
        status: Status::Resolved,
        category: Category::Neighbor,
        risk: Risk::Yellow,
        description: "楼上漏水，\"三天\"了".into(),
        location,
        cell: "8832a3b6c9fffff".into(),
        place_name: Some("幸福小区3号楼".into()),
        address: Some("幸福路 12 号".into()),
        approximate: true,
        scene_id: Some(id("01930000-0000-7000-8000-000000000003")),
        resident_phone: Some(Phone::parse("13800135678").expect("valid")),
        created_at: at(0),
        escalate_at: at(300),
        offers: vec![
            Offer {
                mediator_id: mediator.clone(),
                distance_m: 120.5,
                offered_at: at(1),
                declined_at: None,
                expired_at: None,
            },
            Offer {
                mediator_id: id("01930000-0000-7000-8000-000000000004"),
                distance_m: 830.25,
                offered_at: at(1),
                declined_at: Some(at(20)),
                expired_at: Some(at(181)),
            },
        ],
        claimed_by: Some(mediator.clone()),
        claimed_at: Some(at(30)),
        assigned_by: Some(id("01930000-0000-7000-8000-000000000005")),
        escalated_at: Some(at(300)),
        arrived_at: Some(at(900)),
        resolved_at: Some(at(3600)),
        outcome: Some(Outcome::Referred),
        resolution_note: Some("转交劳动监察".into()),
        cancelled_at: Some(at(4000)),
        alerted_at: Some(at(2)),
        arrive_by: Some(at(1830)),
        resolve_by: Some(at(86_430)),
        arrive_overdue_at: Some(at(1830)),
        resolve_overdue_at: Some(at(86_430)),
        supervision: Some(Supervision {
            operator_id: id("01930000-0000-7000-8000-000000000005"),
            note: "今天办结".into(),
            at: at(1000),
        }),
        feedback: Some(Feedback { rating: 4, comment: Some("谢谢".into()), resolved: true, at: at(90_000) }),
        reopened_at: Some(at(95_000)),
        wave: 2,
        duplicate_of: Some(id("01930000-0000-7000-8000-000000000006")),
        recurring: true,
        area: AreaPath {
            district: Some("630104".into()),
            street: Some("630104001".into()),
            community: Some("630104001001".into()),
            grid: Some("G-07".into()),
        },
        ladder: Some(AreaLevel::Street),
        version: 9,
    }
}

/// The fewest fields an incident has (a fresh report with no offers, phone or place).
fn fewest_fields() -> Incident {
    Incident {
        place_name: None,
        address: None,
        approximate: false,
        scene_id: None,
        resident_phone: None,
        offers: vec![],
        claimed_by: None,
        claimed_at: None,
        assigned_by: None,
        escalated_at: None,
        arrived_at: None,
        resolved_at: None,
        outcome: None,
        resolution_note: None,
        cancelled_at: None,
        alerted_at: None,
        arrive_by: None,
        resolve_by: None,
        arrive_overdue_at: None,
        resolve_overdue_at: None,
        supervision: None,
        feedback: None,
        reopened_at: None,
        wave: 0,
        duplicate_of: None,
        recurring: false,
        area: AreaPath::default(),
        ladder: None,
        status: Status::Escalated,
        version: 1,
        ..every_field()
    }
}

const GOLDEN_V1: &str = include_str!("../../../tests/golden/incident_v1.json");
const GOLDEN_FEWEST_V1: &str = include_str!("../../../tests/golden/incident_fewest_v1.json");
const GOLDEN_UNVERSIONED: &str = include_str!("../../../tests/golden/incident_unversioned.json");

#[test]
fn an_incident_is_stored_as_the_checked_in_v1_bytes_whatever_the_api_calls_its_fields() {
    // The bytes come from `StoredIncidentV1` alone: a field renamed in the domain or API type
    // changes a `From` conversion, and these stay as they are (and as every store holds them).
    assert_eq!(every_field().encode().unwrap(), GOLDEN_V1.trim_end());
    assert_eq!(fewest_fields().encode().unwrap(), GOLDEN_FEWEST_V1.trim_end());
    // The API's view of it is another shape: nothing stored follows it.
    let api = serde_json::to_value(crate::push::wire::IncidentView::masked(&every_field())).unwrap();
    let stored: serde_json::Value = serde_json::from_str(GOLDEN_V1).unwrap();
    assert_ne!(
        api.as_object().unwrap().keys().collect::<Vec<_>>(),
        stored.as_object().unwrap().keys().collect::<Vec<_>>()
    );
}

#[test]
fn a_v1_incident_written_today_reads_back_as_it_was() {
    assert_eq!(Incident::decode(GOLDEN_V1).unwrap(), every_field());
    assert_eq!(Incident::decode(GOLDEN_FEWEST_V1).unwrap(), fewest_fields());
    assert_eq!(every_field().round_trip().unwrap(), every_field());
}

#[test]
fn an_incident_stored_before_schema_versions_reads_as_v1() {
    assert!(!GOLDEN_UNVERSIONED.contains("\"schema\""));
    assert_eq!(Incident::decode(GOLDEN_UNVERSIONED).unwrap(), every_field());
}

#[test]
fn a_record_of_an_unknown_schema_is_refused_by_name() {
    let v2 = GOLDEN_V1.replacen("\"schema\":1", "\"schema\":2", 1);
    let err = Incident::decode(&v2).unwrap_err().to_string();
    assert!(err.contains("schema 2 is unknown"), "{err}");
    let reshaped = r#"{"schema":3,"renamed":true}"#;
    let err = Incident::decode(reshaped).unwrap_err().to_string();
    assert!(err.contains("schema 3 is unknown"), "{err}");
    assert!(matches!(Incident::decode("{}"), Err(StoreError::Corrupt(_))));
}

#[test]
fn accounts_scenes_and_areas_carry_their_schema_and_read_back() {
    let account = Account {
        id: id("01930000-0000-7000-8000-000000000002"),
        role: Role::Mediator,
        name: "王调解".into(),
        phone: Phone::parse("13800135678").expect("valid"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        enabled: true,
        specialties: vec![Category::Neighbor],
        capacity: 3,
        area: Some("G-07".into()),
        created_at: at(0),
        version: 2,
        wechat_openid: Some("o6_bmjrPTlm6_2sgVt7hMZOPfL2M".into()),
        token_generation: 1,
    };
    let json = account.encode().unwrap();
    assert!(json.starts_with("{\"schema\":1,"), "{json}");
    assert_eq!(Account::decode(&json).unwrap(), account);
    let scene = Scene {
        id: id("01930000-0000-7000-8000-000000000003"),
        name: "幸福小区3号楼".into(),
        location: GeoPoint::new(36.6171, 101.7782).expect("valid"),
        grid: Some("G-07".into()),
        created_at: at(0),
    };
    let json = scene.encode().unwrap();
    assert!(json.starts_with("{\"schema\":1,"), "{json}");
    assert_eq!(Scene::decode(&json).unwrap(), scene);
    let area = Area {
        code: "630104".into(),
        name: "城西区".into(),
        level: AreaLevel::District,
        parent: None,
        geometry: serde_json::json!({"type": "Polygon", "coordinates": []}),
    };
    let json = area.encode().unwrap();
    assert!(json.starts_with("{\"schema\":1,"), "{json}");
    assert_eq!(Area::decode(&json).unwrap(), area);
}

// --- timeline entries -----------------------------------------------------------------------

/// One entry per kind of event, every field set (fixed ids and times): what the golden lines hold.
fn every_event() -> Vec<TimelineEntry> {
    let m: AccountId = id("01930000-0000-7000-8000-000000000002");
    let op: AccountId = id("01930000-0000-7000-8000-000000000005");
    let events = vec![
        Event::Reported,
        Event::Offered { mediator_ids: vec![m.clone(), id("01930000-0000-7000-8000-000000000004")] },
        Event::Claimed { mediator_id: m.clone() },
        Event::Declined { mediator_id: m.clone() },
        Event::Escalated,
        Event::Alerted,
        Event::OffersExpired { mediator_ids: vec![m.clone()] },
        Event::Reminded { deadline: Deadline::Arrive },
        Event::Overdue { deadline: Deadline::Resolve },
        Event::Supervised { note: "今天办结".into() },
        Event::RiskChanged { from: Risk::Blue, to: Risk::Red },
        Event::FeedbackGiven { rating: 4, resolved: true },
        Event::Reopened,
        Event::PhoneRevealed,
        Event::MediatorPhoneRevealed { mediator_id: m.clone() },
        Event::LadderMoved { from: Some(AreaLevel::Grid), to: AreaLevel::Community, note: Some("交上级".into()) },
        Event::CategoryChanged { from: Category::Other, to: Category::Wages },
        Event::Transferred {
            from: Some("G-07".into()), to: "630104001002".into(), note: "地址在隔壁社区".into()
        },
        Event::Assigned { operator_id: op.clone(), mediator_id: m.clone() },
        Event::Arrived,
        Event::Resolved { outcome: Outcome::NotMediated },
        Event::Cancelled,
        Event::Notified {
            channel: "wechat_template".into(),
            notice: "claimed".into(),
            to: "o6_b****L2M".into(),
            outcome: "sent (attempt 1)".into(),
        },
        Event::Joint {
            call_in_id: "01930000-0000-7000-8000-000000000007".into(),
            department_id: "01930000-0000-7000-8000-000000000008".into(),
            department: "劳动监察大队".into(),
            step: "handed_over".into(),
            note: Some("欠薪".into()),
        },
        Event::VideoStarted { session_id: "01930000-0000-7000-8000-000000000009".into() },
        Event::VideoJoined {
            session_id: "01930000-0000-7000-8000-000000000009".into(),
            kind: "party".into(),
            label: "当事人 甲".into(),
        },
        Event::VideoLeft {
            session_id: "01930000-0000-7000-8000-000000000009".into(),
            label: "当事人 甲".into(),
            seconds: 95,
            removed: true,
        },
        Event::VideoEnded {
            session_id: "01930000-0000-7000-8000-000000000009".into(),
            participants: vec!["调解员".into(), "当事人 甲".into()],
            seconds: 600,
        },
        Event::CaseGraded { from: Some(Grade::Simple), to: Grade::General },
        Event::CaseFile { step: "confirmation_due".into(), date: Some("2026-06-27".into()), detail: None },
    ];
    let actors = [
        ActorRole::Resident,
        ActorRole::Mediator,
        ActorRole::Operator,
        ActorRole::Admin,
        ActorRole::Department,
        ActorRole::System,
    ];
    events
        .into_iter()
        .zip(0usize..)
        .map(|(event, n)| {
            let actor_role = actors[n % actors.len()];
            let actor_id = matches!(actor_role, ActorRole::Operator | ActorRole::Admin).then(|| op.to_string());
            TimelineEntry { at: at(i64::try_from(n).expect("few") * 60), actor_role, actor_id, event }
        })
        .collect()
}

/// Which kind of event `e` is: exhaustive, so a new kind fails to compile here until it is
/// given a line in the golden files (see [`every_kind_of_event_has_a_golden_line`]).
fn kind(e: &Event) -> usize {
    match e {
        Event::Reported => 0,
        Event::Offered { .. } => 1,
        Event::Claimed { .. } => 2,
        Event::Declined { .. } => 3,
        Event::Escalated => 4,
        Event::Alerted => 5,
        Event::OffersExpired { .. } => 6,
        Event::Reminded { .. } => 7,
        Event::Overdue { .. } => 8,
        Event::Supervised { .. } => 9,
        Event::RiskChanged { .. } => 10,
        Event::FeedbackGiven { .. } => 11,
        Event::Reopened => 12,
        Event::PhoneRevealed => 13,
        Event::MediatorPhoneRevealed { .. } => 14,
        Event::LadderMoved { .. } => 15,
        Event::CategoryChanged { .. } => 16,
        Event::Transferred { .. } => 17,
        Event::Assigned { .. } => 18,
        Event::Arrived => 19,
        Event::Resolved { .. } => 20,
        Event::Cancelled => 21,
        Event::Notified { .. } => 22,
        Event::Joint { .. } => 23,
        Event::VideoStarted { .. } => 24,
        Event::VideoJoined { .. } => 25,
        Event::VideoLeft { .. } => 26,
        Event::VideoEnded { .. } => 27,
        Event::CaseGraded { .. } => 28,
        Event::CaseFile { .. } => 29,
    }
}

const GOLDEN_TIMELINE_V1: &str = include_str!("../../../tests/golden/timeline_v1.jsonl");
const GOLDEN_TIMELINE_UNVERSIONED: &str = include_str!("../../../tests/golden/timeline_unversioned.jsonl");

#[test]
fn every_kind_of_event_has_a_golden_line() {
    let kinds: Vec<usize> = every_event().iter().map(|e| kind(&e.event)).collect();
    assert_eq!(kinds, (0..=29).collect::<Vec<_>>());
    assert_eq!(GOLDEN_TIMELINE_V1.lines().count(), kinds.len());
    assert_eq!(GOLDEN_TIMELINE_UNVERSIONED.lines().count(), kinds.len());
}

#[test]
fn timeline_entries_are_stored_as_the_checked_in_v1_bytes() {
    for (entry, golden) in every_event().iter().zip(GOLDEN_TIMELINE_V1.lines()) {
        assert_eq!(entry.encode().unwrap(), golden);
    }
}

#[test]
fn timeline_entries_written_today_and_before_schema_versions_read_back_as_they_were() {
    for (entry, golden) in every_event().iter().zip(GOLDEN_TIMELINE_V1.lines()) {
        assert_eq!(&TimelineEntry::decode(golden).unwrap(), entry);
    }
    // As the timeline was stored before it had storage types: the domain type's own JSON.
    for (entry, old) in every_event().iter().zip(GOLDEN_TIMELINE_UNVERSIONED.lines()) {
        assert!(!old.contains("\"schema\""), "{old}");
        assert_eq!(&TimelineEntry::decode(old).unwrap(), entry);
    }
    let v2 = GOLDEN_TIMELINE_V1.lines().next().unwrap().replacen("\"schema\":1", "\"schema\":2", 1);
    let err = TimelineEntry::decode(&v2).unwrap_err().to_string();
    assert!(err.contains("timeline entry: schema 2 is unknown"), "{err}");
}
