//! Statistics for the district's monthly report: a pure computation over the incidents reported
//! in a date range (days in Asia/Shanghai, which is UTC+8 all year, no daylight saving).
//!
//! Definitions (documented in docs/architecture.md and the OpenAPI schema):
//! - times are measured from the report: claim (`claimed_at`), arrival (`arrived_at`),
//!   resolution (`resolved_at`);
//! - percentiles use the nearest-rank method on seconds: the p-th percentile of n sorted values
//!   is the value at rank ⌈p·n⌉;
//! - escalation rate = escalated / reported; 化解率 (mediation success) = mediated / resolved;
//!   on-time rate = resolved with neither deadline missed / resolved; average rating over the
//!   follow-up answers; agreement performance rate = performed at the latest follow-up /
//!   agreements with a follow-up, and 司法确认 = agreements a court confirmed (from the case
//!   files, [`Casework`]).

use crate::domain::category::Risk;
use crate::domain::incident::{Incident, Outcome, Status};
use jiff::civil::Date;
use jiff::{Timestamp, tz};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Most incidents one statistics request reads.
pub const MAX_INCIDENTS: usize = 200_000;

/// A distribution of durations, seconds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    /// How many incidents have this time.
    pub count: usize,
    /// Median (nearest rank), seconds.
    pub median_s: Option<i64>,
    /// 90th percentile (nearest rank), seconds.
    pub p90_s: Option<i64>,
}

impl Durations {
    fn of(mut seconds: Vec<i64>) -> Self {
        seconds.sort_unstable();
        Self { count: seconds.len(), median_s: nearest_rank(&seconds, 0.5), p90_s: nearest_rank(&seconds, 0.9) }
    }
}

/// The p-th percentile by nearest rank: the value at rank ⌈p·n⌉ (1-based) of sorted values.
#[must_use]
pub fn nearest_rank(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// One mediator's workload in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MediatorLoad {
    /// Mediator id.
    pub mediator_id: String,
    /// Name.
    pub name: String,
    /// Incidents they took (grabbed or were assigned).
    pub claimed: usize,
    /// Of those, closed.
    pub resolved: usize,
    /// Of those, mediated successfully.
    pub mediated: usize,
}

/// The figures for one area (at its level), over the incidents that lie in it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AreaFigures {
    /// Area code.
    pub code: String,
    /// Its level.
    pub level: crate::domain::area::AreaLevel,
    /// Reports in it.
    pub reports: usize,
    /// Of those, resolved.
    pub resolved: usize,
    /// Of those, mediated.
    pub mediated: usize,
    /// 化解率: mediated / resolved.
    pub mediation_success_rate: Option<f64>,
    /// Report → claim there.
    pub time_to_claim: Durations,
}

/// The figures for a date range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    /// First day (Asia/Shanghai), inclusive.
    pub from: String,
    /// Last day (Asia/Shanghai), inclusive.
    pub to: String,
    /// Reports filed in the range.
    pub total: usize,
    /// By current status.
    pub by_status: BTreeMap<String, usize>,
    /// By category.
    pub by_category: BTreeMap<String, usize>,
    /// By risk colour.
    pub by_risk: BTreeMap<String, usize>,
    /// By QR scene (`none` for reports without one).
    pub by_scene: BTreeMap<String, usize>,
    /// By the grid of the QR scene (`none` when unknown).
    pub by_grid: BTreeMap<String, usize>,
    /// Report → claim.
    pub time_to_claim: Durations,
    /// Report → arrival.
    pub time_to_arrive: Durations,
    /// Report → resolution.
    pub time_to_resolve: Durations,
    /// Escalated / reported.
    pub escalation_rate: Option<f64>,
    /// 化解率: mediated / resolved.
    pub mediation_success_rate: Option<f64>,
    /// Resolved without a missed deadline / resolved.
    pub on_time_rate: Option<f64>,
    /// Mean follow-up rating (1..=5).
    pub average_rating: Option<f64>,
    /// Follow-up answers.
    pub ratings: usize,
    /// Per mediator, most claimed first.
    pub mediators: Vec<MediatorLoad>,
    /// Per area at every level (district, streets, communities, grids), by level then code.
    pub by_area: Vec<AreaFigures>,
    /// Of the reports, cases whose mediation agreement took effect (case file).
    pub agreements: usize,
    /// Of those, with a performance follow-up recorded.
    pub agreements_followed_up: usize,
    /// Of those, performed at the latest follow-up.
    pub agreements_performed: usize,
    /// Agreement performance rate: performed / agreements with a follow-up.
    pub performance_rate: Option<f64>,
    /// 司法确认: agreements the court confirmed.
    pub judicially_confirmed: usize,
}

/// What the case files add to the figures (counted by `casefile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Casework {
    /// Agreements in effect.
    pub agreements: usize,
    /// Of those, with a follow-up.
    pub followed_up: usize,
    /// Of those, performed at the latest follow-up.
    pub performed: usize,
    /// Confirmed by a court (司法确认).
    pub confirmed: usize,
}

impl Stats {
    /// Add the case files' figures.
    pub fn add_casework(&mut self, work: Casework) {
        self.agreements = work.agreements;
        self.agreements_followed_up = work.followed_up;
        self.agreements_performed = work.performed;
        self.performance_rate = ratio(work.performed, work.followed_up);
        self.judicially_confirmed = work.confirmed;
    }
}

/// Running counts for one area while computing.
#[derive(Default)]
struct AreaTally {
    reports: usize,
    resolved: usize,
    mediated: usize,
    claims: Vec<i64>,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn seconds(from: Timestamp, to: Option<Timestamp>) -> Option<i64> {
    to.map(|t| t.duration_since(from).as_secs())
}

/// China Standard Time.
fn shanghai() -> tz::TimeZone {
    tz::TimeZone::fixed(tz::offset(8))
}

/// The instants bounding days `from..=to` in Asia/Shanghai.
///
/// # Errors
/// Only for dates at the edge of the representable range.
pub fn day_bounds(from: Date, to: Date) -> Result<(Timestamp, Timestamp), jiff::Error> {
    let tz = shanghai();
    let start = from.to_zoned(tz.clone())?.timestamp();
    let end = to.tomorrow()?.to_zoned(tz)?.timestamp();
    Ok((start, end))
}

/// Today in Asia/Shanghai.
#[must_use]
pub fn today(now: Timestamp) -> Date {
    now.to_zoned(shanghai()).date()
}

/// Compute the figures for `incidents` (already limited to the range); `names` maps mediator
/// ids to names, `grids` scene ids to grid codes.
#[must_use]
pub fn compute(
    from: Date,
    to: Date,
    incidents: &[Incident],
    names: &BTreeMap<String, String>,
    grids: &BTreeMap<String, String>,
) -> Stats {
    let mut stats = Stats {
        from: from.to_string(),
        to: to.to_string(),
        total: incidents.len(),
        by_status: BTreeMap::new(),
        by_category: BTreeMap::new(),
        by_risk: BTreeMap::new(),
        by_scene: BTreeMap::new(),
        by_grid: BTreeMap::new(),
        time_to_claim: Durations::of(vec![]),
        time_to_arrive: Durations::of(vec![]),
        time_to_resolve: Durations::of(vec![]),
        escalation_rate: None,
        mediation_success_rate: None,
        on_time_rate: None,
        average_rating: None,
        ratings: 0,
        mediators: vec![],
        by_area: vec![],
        agreements: 0,
        agreements_followed_up: 0,
        agreements_performed: 0,
        performance_rate: None,
        judicially_confirmed: 0,
    };
    let mut areas: BTreeMap<(crate::domain::area::AreaLevel, String), AreaTally> = BTreeMap::new();
    let (mut claim, mut arrive, mut resolve) = (vec![], vec![], vec![]);
    let (mut escalated, mut resolved, mut mediated, mut on_time, mut rating_sum) = (0, 0, 0, 0, 0u64);
    let mut loads: BTreeMap<String, MediatorLoad> = BTreeMap::new();
    for i in incidents {
        *stats.by_status.entry(name(&i.status)).or_default() += 1;
        *stats.by_category.entry(name(&i.category)).or_default() += 1;
        *stats.by_risk.entry(name(&i.risk)).or_default() += 1;
        let scene = i.scene_id.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string);
        let grid = grids.get(&scene).cloned().unwrap_or_else(|| "none".to_owned());
        *stats.by_scene.entry(scene).or_default() += 1;
        *stats.by_grid.entry(grid).or_default() += 1;
        claim.extend(seconds(i.created_at, i.claimed_at));
        for level in crate::domain::area::AreaLevel::ALL {
            if let Some(code) = i.area.at(level) {
                let a = areas.entry((level, code.to_owned())).or_default();
                a.reports += 1;
                a.resolved += usize::from(i.status == Status::Resolved);
                a.mediated += usize::from(i.status == Status::Resolved && i.outcome == Some(Outcome::Mediated));
                a.claims.extend(seconds(i.created_at, i.claimed_at));
            }
        }
        arrive.extend(seconds(i.created_at, i.arrived_at));
        if i.escalated_at.is_some() {
            escalated += 1;
        }
        if i.status == Status::Resolved {
            resolved += 1;
            resolve.extend(seconds(i.created_at, i.resolved_at));
            mediated += usize::from(i.outcome == Some(Outcome::Mediated));
            on_time += usize::from(i.arrive_overdue_at.is_none() && i.resolve_overdue_at.is_none());
        }
        if let Some(f) = &i.feedback {
            stats.ratings += 1;
            rating_sum += u64::from(f.rating);
        }
        if let Some(m) = &i.claimed_by {
            let id = m.to_string();
            let load = loads.entry(id.clone()).or_insert_with(|| MediatorLoad {
                name: names.get(&id).cloned().unwrap_or_default(),
                mediator_id: id,
                claimed: 0,
                resolved: 0,
                mediated: 0,
            });
            load.claimed += 1;
            load.resolved += usize::from(i.status == Status::Resolved);
            load.mediated += usize::from(i.status == Status::Resolved && i.outcome == Some(Outcome::Mediated));
        }
    }
    stats.time_to_claim = Durations::of(claim);
    stats.time_to_arrive = Durations::of(arrive);
    stats.time_to_resolve = Durations::of(resolve);
    stats.escalation_rate = ratio(escalated, incidents.len());
    stats.mediation_success_rate = ratio(mediated, resolved);
    stats.on_time_rate = ratio(on_time, resolved);
    stats.average_rating = (stats.ratings > 0).then(|| rating_sum as f64 / stats.ratings as f64);
    let mut mediators: Vec<MediatorLoad> = loads.into_values().collect();
    mediators.sort_by(|a, b| b.claimed.cmp(&a.claimed).then_with(|| a.mediator_id.cmp(&b.mediator_id)));
    stats.mediators = mediators;
    stats.by_area = areas
        .into_iter()
        .map(|((level, code), t)| AreaFigures {
            code,
            level,
            reports: t.reports,
            resolved: t.resolved,
            mediated: t.mediated,
            mediation_success_rate: ratio(t.mediated, t.resolved),
            time_to_claim: Durations::of(t.claims),
        })
        .collect();
    stats
}

/// The figures as CSV that Excel opens correctly: UTF-8 with a BOM, CRLF line ends, one
/// `section,key,value` row per figure.
#[must_use]
pub fn to_csv(stats: &Stats) -> String {
    let mut rows: Vec<[String; 3]> = vec![
        ["section".into(), "key".into(), "value".into()],
        ["range".into(), "from".into(), stats.from.clone()],
        ["range".into(), "to".into(), stats.to.clone()],
        ["total".into(), "reports".into(), stats.total.to_string()],
    ];
    for (section, map) in [
        ("status", &stats.by_status),
        ("category", &stats.by_category),
        ("risk", &stats.by_risk),
        ("scene", &stats.by_scene),
        ("grid", &stats.by_grid),
    ] {
        rows.extend(map.iter().map(|(k, v)| [section.into(), k.clone(), v.to_string()]));
    }
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (section, d) in [
        ("time_to_claim_s", &stats.time_to_claim),
        ("time_to_arrive_s", &stats.time_to_arrive),
        ("time_to_resolve_s", &stats.time_to_resolve),
    ] {
        rows.push([section.into(), "count".into(), d.count.to_string()]);
        rows.push([section.into(), "median".into(), opt(d.median_s)]);
        rows.push([section.into(), "p90".into(), opt(d.p90_s)]);
    }
    let rate = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    rows.push(["rate".into(), "escalation".into(), rate(stats.escalation_rate)]);
    rows.push(["rate".into(), "mediation_success".into(), rate(stats.mediation_success_rate)]);
    rows.push(["rate".into(), "on_time".into(), rate(stats.on_time_rate)]);
    rows.push(["rating".into(), "average".into(), rate(stats.average_rating)]);
    rows.push(["rating".into(), "count".into(), stats.ratings.to_string()]);
    rows.push(["casework".into(), "agreements".into(), stats.agreements.to_string()]);
    rows.push(["casework".into(), "agreements_followed_up".into(), stats.agreements_followed_up.to_string()]);
    rows.push(["casework".into(), "agreements_performed".into(), stats.agreements_performed.to_string()]);
    rows.push(["rate".into(), "performance".into(), rate(stats.performance_rate)]);
    rows.push(["casework".into(), "judicially_confirmed".into(), stats.judicially_confirmed.to_string()]);
    for m in &stats.mediators {
        let who = format!("{} {}", m.name, m.mediator_id);
        rows.push(["mediator_claimed".into(), who.clone(), m.claimed.to_string()]);
        rows.push(["mediator_resolved".into(), who.clone(), m.resolved.to_string()]);
        rows.push(["mediator_mediated".into(), who, m.mediated.to_string()]);
    }
    for a in &stats.by_area {
        let section = format!("area_{}", name(&a.level));
        rows.push([section.clone(), format!("{} reports", a.code), a.reports.to_string()]);
        rows.push([section.clone(), format!("{} mediation_success", a.code), rate(a.mediation_success_rate)]);
        rows.push([section, format!("{} time_to_claim_median_s", a.code), opt(a.time_to_claim.median_s)]);
    }
    let mut out = String::from(CSV_BOM);
    for row in rows {
        out.push_str(&csv_row(&row));
    }
    out
}

/// What starts a CSV file Excel reads as UTF-8.
pub const CSV_BOM: &str = "\u{feff}";

/// One CSV line ending in CRLF, each field quoted when it holds a comma, quote or line break.
#[must_use]
pub fn csv_row<S: AsRef<str>>(fields: &[S]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            let s = f.as_ref();
            if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

/// Red first, then newer first: the order every list shows incidents in.
pub fn urgent_first(a: &Incident, b: &Incident) -> std::cmp::Ordering {
    let rank = |i: &Incident| match i.risk {
        Risk::Red => 0,
        Risk::Yellow => 1,
        Risk::Blue => 2,
    };
    rank(a).cmp(&rank(b)).then_with(|| b.created_at.cmp(&a.created_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 0.5), None);
        assert_eq!(nearest_rank(&[7], 0.9), Some(7));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(5));
        assert_eq!(nearest_rank(&v, 0.9), Some(9));
        assert_eq!(nearest_rank(&[1, 2, 3], 0.5), Some(2));
    }

    #[test]
    fn shanghai_days_start_at_midnight_utc_plus_8() {
        let d = Date::constant(2026, 11, 1);
        let (start, end) = day_bounds(d, d).unwrap();
        assert_eq!(start.to_string(), "2026-10-31T16:00:00Z");
        assert_eq!(end.to_string(), "2026-11-01T16:00:00Z");
    }

    #[test]
    fn csv_has_a_bom_crlf_and_quotes_commas() {
        let (day, none) = (Date::constant(2026, 11, 1), BTreeMap::new());
        let mut s = compute(day, day, &[], &none, &none);
        s.mediators.push(MediatorLoad {
            mediator_id: "m".into(),
            name: "张,三".into(),
            claimed: 1,
            resolved: 0,
            mediated: 0,
        });
        let csv = to_csv(&s);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("\r\n"));
        assert!(csv.contains("\"张,三 m\""));
    }
}
