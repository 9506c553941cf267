//! Every command against every state, as one table: what is accepted (and which events it
//! records, `-` for nothing to do) and what is refused (and why, `!reason`).

use super::tests::{accept, assign, deadlines, filing, incident, now, report};
use super::*;
use crate::domain::area::{AreaLevel, AreaPath};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;

/// The columns, in order.
const STATES: [&str; 7] = ["absent", "dispatching", "escalated", "claimed", "on_site", "resolved", "cancelled"];

/// An incident in each state of [`STATES`] (`None`: not filed), offered to `a` and `b`; `a`
/// holds it once claimed.
fn states(a: &AccountId, b: &AccountId) -> [Option<Incident>; 7] {
    let run = |i: &Incident, c: Command| decide(Some(i), &c, now()).unwrap().incident;
    let dispatching = incident(&[a, b]);
    let escalated = run(&dispatching, Command::Escalate);
    let claimed = run(&dispatching, accept(a));
    let on_site = run(&claimed, Command::Arrive { mediator: a.clone() });
    let resolved = run(&on_site, Command::Resolve { mediator: a.clone(), outcome: Outcome::Mediated, note: None });
    let cancelled = run(&dispatching, Command::Cancel);
    [None, Some(dispatching), Some(escalated), Some(claimed), Some(on_site), Some(resolved), Some(cancelled)]
}

/// What a command did, in the table's words.
fn outcome(result: &Result<Transition, TransitionError>) -> String {
    match result {
        Ok(t) if t.events.is_empty() => "-".into(),
        Ok(t) => t
            .events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap()["type"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("+"),
        Err(e) => format!(
            "!{}",
            match e {
                TransitionError::AlreadyClaimed => "already_claimed",
                TransitionError::NotOffered => "not_offered",
                TransitionError::NotYours => "not_yours",
                TransitionError::WrongState(_) => "wrong_state",
                TransitionError::AlreadyAnswered => "already_answered",
                TransitionError::NoSuchLevel => "no_such_level",
                TransitionError::NotFiled => "not_filed",
            }
        ),
    }
}

#[test]
fn every_command_in_every_state_is_accepted_or_refused_as_the_table_says() {
    let (a, b, stranger, op) =
        (AccountId::generate(), AccountId::generate(), AccountId::generate(), AccountId::generate());
    let states = states(&a, &b);
    let file = |risk, offered: &[&AccountId]| Command::File(Box::new(filing(report(risk), offered)));
    let later = now().checked_add(SignedDuration::from_secs(1)).unwrap();
    let moved = AreaPath::default().with(AreaLevel::District, "630104".into());
    let transfer = Command::Transfer { area: moved, to: "630104".into(), note: "划错了".into() };
    let feedback = |resolved| Command::GiveFeedback { rating: 4, comment: None, resolved };
    let resolve = |m: &AccountId| Command::Resolve { mediator: m.clone(), outcome: Outcome::Mediated, note: None };
    let x = "!wrong_state";
    #[rustfmt::skip]
    let table: Vec<(&str, Command, [&str; 7])> = vec![
        //                                                 absent         dispatching                 escalated                   claimed             on_site             resolved            cancelled
        ("file a blue report near someone", file(Risk::Blue, &[&a]),
                                                          ["reported+offered", x,                     x,                          x,                  x,                  x,                  x]),
        ("file a red report with nobody near", file(Risk::Red, &[]),
                                                          ["reported+alerted", x,                     x,                          x,                  x,                  x,                  x]),
        ("accept by the one who holds it", accept(&a),    ["!not_filed", "claimed",                   "claimed",                  "-",                "-",                "-",                x]),
        ("accept by another offered", accept(&b),         ["!not_filed", "claimed",                   "claimed",                  "!already_claimed", "!already_claimed", "!already_claimed", x]),
        ("accept by one never offered", accept(&stranger),["!not_filed", "!not_offered",              "!not_offered",             "!not_offered",     "!not_offered",     "!not_offered",     x]),
        ("decline", Command::Decline { mediator: a.clone() },
                                                          ["!not_filed", "declined",                  "declined",                 x,                  x,                  x,                  x]),
        ("decline by one never offered", Command::Decline { mediator: stranger.clone() },
                                                          ["!not_filed", "!not_offered",              "!not_offered",             x,                  x,                  x,                  x]),
        ("escalate", Command::Escalate,                   ["!not_filed", "escalated+ladder_moved",    "-",                        "-",                "-",                "-",                "-"]),
        ("assign", assign(&op, &stranger),                ["!not_filed", "assigned",                  "assigned",                 "!already_claimed", "!already_claimed", "!already_claimed", x]),
        ("offer the next wave", Command::Offer { offers: vec![Offer::new(stranger.clone(), 900.0, now())], expire_before: None },
                                                          ["!not_filed", "offered",                   "offered",                  "-",                "-",                "-",                "-"]),
        ("offer the next wave, lapsing older offers", Command::Offer { offers: vec![Offer::new(stranger.clone(), 900.0, later)], expire_before: Some(later) },
                                                          ["!not_filed", "offers_expired+offered",    "offers_expired+offered",   "-",                "-",                "-",                "-"]),
        ("remind of arriving", Command::Remind(Deadline::Arrive),
                                                          ["!not_filed", "-",                         "-",                        "reminded",         "-",                "-",                "-"]),
        ("remind of resolving", Command::Remind(Deadline::Resolve),
                                                          ["!not_filed", "-",                         "-",                        "reminded",         "reminded",         "-",                "-"]),
        ("arrival deadline passed", Command::MarkOverdue(Deadline::Arrive),
                                                          ["!not_filed", "-",                         "-",                        "overdue",          "-",                "-",                "-"]),
        ("resolution deadline passed", Command::MarkOverdue(Deadline::Resolve),
                                                          ["!not_filed", "-",                         "-",                        "overdue",          "overdue",          "-",                "-"]),
        ("supervise", Command::Supervise { operator: op.clone(), note: "今天必须到场".into() },
                                                          ["!not_filed", "supervised",                "supervised",               "supervised",       "supervised",       "supervised",       x]),
        ("raise to red", Command::SetRisk { risk: Risk::Red, deadlines: deadlines() },     ["!not_filed", "risk_changed+alerted",      "risk_changed+alerted",     "risk_changed+alerted", "risk_changed+alerted", "risk_changed", "risk_changed"]),
        ("set the colour it has", Command::SetRisk { risk: Risk::Blue, deadlines: deadlines() },
                                                          ["!not_filed", "-",                         "-",                        "-",                "-",                "-",                "-"]),
        ("correct the category", Command::SetCategory(Category::Wages),
                                                          ["!not_filed", "category_changed",          "category_changed",         "category_changed", "category_changed", "category_changed", "category_changed"]),
        ("set the category it has", Command::SetCategory(Category::Neighbor),
                                                          ["!not_filed", "-",                         "-",                        "-",                "-",                "-",                "-"]),
        ("feedback: resolved", feedback(true),            ["!not_filed", x,                           x,                          x,                  x,                  "feedback_given",   x]),
        ("feedback: not resolved", feedback(false),       ["!not_filed", x,                           x,                          x,                  x,                  "feedback_given+reopened", x]),
        ("arrive by the holder", Command::Arrive { mediator: a.clone() },
                                                          ["!not_filed", "!not_yours",                "!not_yours",               "arrived",          "-",                x,                  "!not_yours"]),
        ("arrive by someone else", Command::Arrive { mediator: b.clone() },
                                                          ["!not_filed", "!not_yours",                "!not_yours",               "!not_yours",       "!not_yours",       "!not_yours",       "!not_yours"]),
        ("resolve by the holder", resolve(&a),            ["!not_filed", "!not_yours",                "!not_yours",               "resolved",         "resolved",         x,                  "!not_yours"]),
        ("resolve by someone else", resolve(&b),          ["!not_filed", "!not_yours",                "!not_yours",               "!not_yours",       "!not_yours",       "!not_yours",       "!not_yours"]),
        ("cancel", Command::Cancel,                       ["!not_filed", "cancelled",                 "cancelled",                x,                  x,                  x,                  "-"]),
        ("climb the ladder", Command::Climb,              ["!not_filed", "-",                         "ladder_moved",             "-",                "-",                "-",                "-"]),
        ("hand up", Command::HandOver { up: true, note: "请区里协调".into() },
                                                          ["!not_filed", "!no_such_level",            "ladder_moved",             "!no_such_level",   "!no_such_level",   x,                  x]),
        ("hand down", Command::HandOver { up: false, note: "街道先处理".into() },
                                                          ["!not_filed", "ladder_moved",              "!no_such_level",           "ladder_moved",     "ladder_moved",     x,                  x]),
        ("transfer", transfer,                            ["!not_filed", "transferred",               "transferred",              "transferred",      "transferred",      x,                  x]),
    ];

    let mut wrong = vec![];
    for (what, command, expected) in &table {
        for ((state, incident), want) in STATES.iter().zip(&states).zip(expected) {
            let result = decide(incident.as_ref(), command, now());
            let got = outcome(&result);
            if got != *want {
                wrong.push(format!("{what} when {state}: expected {want}, got {got}"));
            }
            if let (Ok(t), Some(before)) = (&result, incident) {
                // A change bumps the version by one; nothing to do leaves the incident as it was.
                if t.incident == *before {
                    assert!(t.events.is_empty(), "{what} when {state}: events without a change");
                } else {
                    assert_eq!(t.incident.version, before.version + 1, "{what} when {state}");
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} cells differ:\n{}", wrong.len(), table.len() * STATES.len(), wrong.join("\n"));
    let covered: std::collections::BTreeSet<&str> = table.iter().map(|(_, c, _)| kind(c)).collect();
    assert_eq!(covered.into_iter().collect::<Vec<_>>(), {
        let mut all = KINDS.to_vec();
        all.sort_unstable();
        all
    });
}

/// Every kind of command (the match makes a new one fail to compile here until it is added).
const KINDS: [&str; 18] = [
    "file",
    "accept",
    "decline",
    "escalate",
    "assign",
    "offer",
    "remind",
    "mark_overdue",
    "supervise",
    "set_risk",
    "set_category",
    "give_feedback",
    "arrive",
    "resolve",
    "cancel",
    "climb",
    "hand_over",
    "transfer",
];

fn kind(command: &Command) -> &'static str {
    match command {
        Command::File(_) => "file",
        Command::Accept { .. } => "accept",
        Command::Decline { .. } => "decline",
        Command::Escalate => "escalate",
        Command::Assign { .. } => "assign",
        Command::Offer { .. } => "offer",
        Command::Remind(_) => "remind",
        Command::MarkOverdue(_) => "mark_overdue",
        Command::Supervise { .. } => "supervise",
        Command::SetRisk { .. } => "set_risk",
        Command::SetCategory(_) => "set_category",
        Command::GiveFeedback { .. } => "give_feedback",
        Command::Arrive { .. } => "arrive",
        Command::Resolve { .. } => "resolve",
        Command::Cancel => "cancel",
        Command::Climb => "climb",
        Command::HandOver { .. } => "hand_over",
        Command::Transfer { .. } => "transfer",
    }
}
