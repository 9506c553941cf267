//! Assessment (考核) of departments over a period: how many call-ins, how many acknowledged
//! and answered by their deadlines, median times, hand-overs taken and closed. Pure: figures
//! from call-ins already read.

use super::domain::{CallIn, Department, Purpose, ResponseKind};
use crate::dispatch::stats::nearest_rank;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// One department's figures in a period (call-ins made in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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
}

/// The figures of each department (every department, in the order given) for the call-ins
/// made in `[from, to)`.
#[must_use]
pub fn assess(
    departments: &[Department],
    call_ins: &[CallIn],
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
            let taken = |c: &CallIn| c.purpose == Purpose::Handover && c.response == Some(ResponseKind::TookOver);
            DepartmentFigures {
                department_id: d.id.to_string(),
                name: d.name.clone(),
                call_ins: mine.len() as u64,
                acknowledged_on_time: count(&|c| c.acknowledged_at.is_some_and(|t| t <= c.ack_due)),
                responded_on_time: count(&|c| c.responded_at.is_some_and(|t| t <= c.respond_due)),
                declined: count(&|c| c.response == Some(ResponseKind::Declined)),
                median_ack_s: nearest_rank(&acks, 0.5),
                median_respond_s: nearest_rank(&answers, 0.5),
                taken_over: count(&taken),
                closed: count(&|c| taken(c) && c.result_at.is_some()),
                open: count(&|c| c.response.is_none()),
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
        "department_id,name,call_ins,acknowledged_on_time,responded_on_time,declined,median_ack_s,median_respond_s,taken_over,closed,open\r\n",
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
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}
