//! Assessment (考核) of departments over a period: how many call-ins, how many acknowledged
//! and answered by their deadlines, median times, hand-overs taken and closed, and the
//! residents' follow-up ratings (回访, 1–5) of the incidents each department led. Pure:
//! figures from call-ins and ratings already read.

use super::domain::{CallIn, Department, Purpose, ResponseKind};
use crate::dispatch::stats::nearest_rank;
use crate::domain::ids::IncidentId;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The residents' follow-up rating (1..=5) of each rated incident.
pub type Ratings = HashMap<IncidentId, u8>;

/// Whether the department led the incident through this call-in: a hand-over it took over.
#[must_use]
pub fn led(c: &CallIn) -> bool {
    c.purpose == Purpose::Handover && c.response == Some(ResponseKind::TookOver)
}

/// One department's figures in a period (call-ins made in it).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DepartmentFigures {
    /// Department id.
    pub department_id: String,
    /// Its name.
    pub name: String,
    /// Call-ins.
    pub call_ins: u64,
    /// Acknowledged by the deadline.
    pub acknowledged_on_time: u64,
    /// Answered by the deadline.
    pub responded_on_time: u64,
    /// Declined.
    pub declined: u64,
    /// Median seconds from call-in to acknowledgement (nearest rank), over those acknowledged.
    pub median_ack_s: Option<i64>,
    /// Median seconds from call-in to answer (nearest rank), over those answered.
    pub median_respond_s: Option<i64>,
    /// Hand-overs it took over.
    pub taken_over: u64,
    /// Of those, closed with a result.
    pub closed: u64,
    /// Still unanswered now.
    pub open: u64,
    /// Incidents it led (took over in a hand-over made in the period) that the resident
    /// rated at the follow-up visit.
    pub ratings: u64,
    /// The mean of those ratings (1..=5); absent without any.
    pub mean_rating: Option<f64>,
}

/// The figures of each department (every department, in the order given) for the call-ins
/// made in `[from, to)`; an incident it led twice is rated once.
#[must_use]
pub fn assess(
    departments: &[Department],
    call_ins: &[CallIn],
    ratings: &Ratings,
    from: Timestamp,
    to: Timestamp,
) -> Vec<DepartmentFigures> {
    departments
        .iter()
        .map(|d| {
            let mine: Vec<&CallIn> = call_ins
                .iter()
                .filter(|c| c.department_id == d.id && c.called_at >= from && c.called_at < to)
                .collect();
            let count = |f: &dyn Fn(&CallIn) -> bool| mine.iter().filter(|c| f(c)).count() as u64;
            let secs = |at: Option<Timestamp>, c: &CallIn| at.map(|t| t.duration_since(c.called_at).as_secs());
            let mut acks: Vec<i64> = mine.iter().filter_map(|c| secs(c.acknowledged_at, c)).collect();
            let mut answers: Vec<i64> = mine.iter().filter_map(|c| secs(c.responded_at, c)).collect();
            acks.sort_unstable();
            answers.sort_unstable();
            let mut rated: Vec<(&IncidentId, u8)> = mine
                .iter()
                .filter(|c| led(c))
                .filter_map(|c| Some((&c.incident_id, *ratings.get(&c.incident_id)?)))
                .collect();
            rated.sort_unstable();
            rated.dedup();
            let rating_sum: u64 = rated.iter().map(|(_, r)| u64::from(*r)).sum();
            DepartmentFigures {
                department_id: d.id.to_string(),
                name: d.name.clone(),
                call_ins: mine.len() as u64,
                acknowledged_on_time: count(&|c| c.acknowledged_at.is_some_and(|t| t <= c.ack_due)),
                responded_on_time: count(&|c| c.responded_at.is_some_and(|t| t <= c.respond_due)),
                declined: count(&|c| c.response == Some(ResponseKind::Declined)),
                median_ack_s: nearest_rank(&acks, 0.5),
                median_respond_s: nearest_rank(&answers, 0.5),
                taken_over: count(&led),
                closed: count(&|c| led(c) && c.result_at.is_some()),
                open: count(&|c| c.response.is_none()),
                ratings: rated.len() as u64,
                mean_rating: (!rated.is_empty()).then(|| rating_sum as f64 / rated.len() as f64),
            }
        })
        .collect()
}

/// The figures as CSV for Excel (UTF-8 with BOM, CRLF), one row per department.
#[must_use]
pub fn to_csv(figures: &[DepartmentFigures]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
    }
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut out = String::from("\u{feff}");
    out.push_str(
        "department_id,name,call_ins,acknowledged_on_time,responded_on_time,declined,median_ack_s,median_respond_s,taken_over,closed,open,ratings,mean_rating\r\n",
    );
    for f in figures {
        let row = [
            f.department_id.clone(),
            field(&f.name),
            f.call_ins.to_string(),
            f.acknowledged_on_time.to_string(),
            f.responded_on_time.to_string(),
            f.declined.to_string(),
            opt(f.median_ack_s),
            opt(f.median_respond_s),
            f.taken_over.to_string(),
            f.closed.to_string(),
            f.open.to_string(),
            f.ratings.to_string(),
            f.mean_rating.map(|m| format!("{m:.2}")).unwrap_or_default(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}
