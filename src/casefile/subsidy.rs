//! The monthly 以案定补 report: per mediator and per committee, the cases closed in a date range
//! with their grades, agreements, performance and 司法确认, and the subsidy at the configured
//! rates; and the case-file figures the district statistics add (agreement performance rate,
//! 司法确认 count).
//!
//! Which cases count: incidents *resolved* (办结) on the days `from..=to` (Asia/Shanghai), held
//! by a mediator, within the operator's scope. They are found among the incidents reported from
//! `casefile.subsidy.look_back` before `from` (a case reported earlier and resolved in the range
//! is missed). Each case is paid once, in the month it was closed: its grade's rate when graded
//! (and, with `require_agreement`, when an agreement took effect), plus the bonus when the
//! court confirmed the agreement. An ungraded case is listed and paid nothing until graded.
//! The computation ([`case_line`], [`report`]) is pure; [`CaseFiles::subsidy_report`] reads.

use super::domain::{CaseFile, Performance};
use super::{CaseFileError, CaseFiles, Committee};
use crate::dispatch::Scope;
use crate::dispatch::stats::{CSV_BOM, Casework, MAX_INCIDENTS, csv_row, day_bounds};
use crate::domain::account::Role;
use crate::domain::grade::Grade;
use crate::domain::ids::IncidentId;
use crate::domain::incident::{Incident, Status};
use futures_util::StreamExt;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The longest report, in days between `from` and `to`.
pub const MAX_RANGE_DAYS: i32 = 366;
/// Case files read at once while reporting.
const CONCURRENT_READS: usize = 16;

/// `[casefile.subsidy]`: rates per case (whole yuan) and what counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubsidyRates {
    /// A simple case (简易).
    pub simple_yuan: u64,
    /// A general case (一般).
    pub general_yuan: u64,
    /// A major-difficult case (重大疑难).
    pub major_difficult_yuan: u64,
    /// On top, when the court confirmed the agreement (司法确认).
    pub confirmed_bonus_yuan: u64,
    /// Pay the grade's rate only for cases whose agreement took effect.
    pub require_agreement: bool,
    /// How far before `from` to look for cases resolved in the range.
    #[serde(with = "humantime_serde")]
    pub look_back: std::time::Duration,
}

impl Default for SubsidyRates {
    fn default() -> Self {
        Self {
            simple_yuan: 100,
            general_yuan: 300,
            major_difficult_yuan: 800,
            confirmed_bonus_yuan: 100,
            require_agreement: true,
            look_back: std::time::Duration::from_secs(92 * 24 * 3600),
        }
    }
}

impl SubsidyRates {
    /// The rate of one grade.
    #[must_use]
    pub fn of(&self, grade: Grade) -> u64 {
        match grade {
            Grade::Simple => self.simple_yuan,
            Grade::General => self.general_yuan,
            Grade::MajorDifficult => self.major_difficult_yuan,
        }
    }
}

/// Days `from..=to` (Asia/Shanghai), in order and at most [`MAX_RANGE_DAYS`] apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    from: Date,
    to: Date,
}

/// Why a range is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// `from` after `to`.
    #[error("`from` must not be after `to`")]
    Reversed,
    /// Longer than a year.
    #[error("the range must be at most 366 days")]
    TooLong,
}

impl ReportRange {
    /// Check a range.
    ///
    /// # Errors
    /// [`RangeError`].
    pub fn new(from: Date, to: Date) -> Result<Self, RangeError> {
        if from > to {
            return Err(RangeError::Reversed);
        }
        let days = to.since(from).map_err(|_| RangeError::TooLong)?.get_days();
        if days > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// First day.
    #[must_use]
    pub fn from(&self) -> Date {
        self.from
    }

    /// Last day (inclusive).
    #[must_use]
    pub fn to(&self) -> Date {
        self.to
    }
}

/// One case as the report counts it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CaseLine {
    /// The incident.
    pub incident_id: String,
    /// Who held it.
    pub mediator_id: String,
    /// Their name.
    pub mediator: String,
    /// The committee's name.
    pub committee: String,
    /// The configured committee's area code (none: the default committee).
    pub committee_area: Option<String>,
    /// When it was closed.
    #[schema(value_type = String, format = DateTime)]
    pub resolved_at: Timestamp,
    /// As decided (none: ungraded, not paid).
    pub grade: Option<Grade>,
    /// An agreement took effect.
    pub agreement: bool,
    /// Performed, at the latest follow-up.
    pub performed: bool,
    /// The court confirmed the agreement (司法确认).
    pub confirmed: bool,
    /// This case's subsidy, yuan.
    pub subsidy_yuan: u64,
}

/// Counts and money over some cases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tally {
    /// Cases closed.
    pub cases: usize,
    /// Graded simple.
    pub simple: usize,
    /// Graded general.
    pub general: usize,
    /// Graded major-difficult.
    pub major_difficult: usize,
    /// Not graded yet.
    pub ungraded: usize,
    /// With an agreement in effect.
    pub agreements: usize,
    /// Performed.
    pub performed: usize,
    /// 司法确认 confirmed.
    pub confirmed: usize,
    /// Subsidy, yuan.
    pub subsidy_yuan: u64,
}

impl Tally {
    fn add(&mut self, l: &CaseLine) {
        self.cases += 1;
        match l.grade {
            Some(Grade::Simple) => self.simple += 1,
            Some(Grade::General) => self.general += 1,
            Some(Grade::MajorDifficult) => self.major_difficult += 1,
            None => self.ungraded += 1,
        }
        self.agreements += usize::from(l.agreement);
        self.performed += usize::from(l.performed);
        self.confirmed += usize::from(l.confirmed);
        self.subsidy_yuan += l.subsidy_yuan;
    }
}

/// One mediator's line.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MediatorRow {
    /// Account id.
    pub mediator_id: String,
    /// Name.
    pub name: String,
    /// Their cases.
    pub figures: Tally,
}

/// One committee's line.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommitteeRow {
    /// Its name.
    pub committee: String,
    /// Its area code (none: the default committee).
    pub area: Option<String>,
    /// Its cases.
    pub figures: Tally,
}

/// The rates the report applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RatesView {
    /// 简易, yuan per case.
    pub simple_yuan: u64,
    /// 一般.
    pub general_yuan: u64,
    /// 重大疑难.
    pub major_difficult_yuan: u64,
    /// 司法确认 bonus.
    pub confirmed_bonus_yuan: u64,
    /// Rates paid only for cases with an agreement in effect.
    pub require_agreement: bool,
}

/// The monthly subsidy report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SubsidyReport {
    /// First day (Asia/Shanghai).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// The committee filtered on (its name), if any.
    pub committee: Option<String>,
    /// Always `CNY` (amounts are whole yuan).
    pub currency: String,
    /// The rates applied.
    pub rates: RatesView,
    /// Per committee, by name.
    pub committees: Vec<CommitteeRow>,
    /// Per mediator, most subsidy first.
    pub mediators: Vec<MediatorRow>,
    /// Every case counted.
    pub total: Tally,
    /// The cases, oldest closing first.
    pub cases: Vec<CaseLine>,
}

/// The subsidy of one case: its grade's rate (when graded, and when an agreement took effect
/// if the rates require one), plus the 司法确认 bonus.
#[must_use]
pub fn subsidy_of(grade: Option<Grade>, agreement: bool, confirmed: bool, rates: &SubsidyRates) -> u64 {
    let base = grade.filter(|_| agreement || !rates.require_agreement).map_or(0, |g| rates.of(g));
    base + if confirmed { rates.confirmed_bonus_yuan } else { 0 }
}

/// Whether the agreement was performed, at the latest follow-up.
fn performed(case: &CaseFile) -> bool {
    case.follow_ups.last().is_some_and(|f| f.performance == Performance::Performed)
}

/// Whether the court confirmed the agreement.
fn confirmed(case: &CaseFile) -> bool {
    case.confirmation.as_ref().is_some_and(|c| c.result.as_deref() == Some("confirmed"))
}

/// The line of a resolved, held incident (none otherwise).
#[must_use]
pub fn case_line(
    incident: &Incident,
    case: &CaseFile,
    mediator: &str,
    committee: (String, Option<String>),
    rates: &SubsidyRates,
) -> Option<CaseLine> {
    let resolved_at = incident.resolved_at.filter(|_| incident.status == Status::Resolved)?;
    let holder = incident.claimed_by.as_ref()?;
    let grade = case.grade.as_ref().map(|g| g.grade);
    let (agreement, confirmed) = (case.in_effect().is_some(), confirmed(case));
    Some(CaseLine {
        incident_id: incident.id.to_string(),
        mediator_id: holder.to_string(),
        mediator: mediator.to_owned(),
        committee: committee.0,
        committee_area: committee.1,
        resolved_at,
        grade,
        agreement,
        performed: performed(case),
        confirmed,
        subsidy_yuan: subsidy_of(grade, agreement, confirmed, rates),
    })
}

/// Sum the lines per mediator, per committee and in total.
#[must_use]
pub fn report(
    range: ReportRange,
    committee: Option<String>,
    mut cases: Vec<CaseLine>,
    rates: &SubsidyRates,
) -> SubsidyReport {
    cases.sort_by(|a, b| a.resolved_at.cmp(&b.resolved_at).then_with(|| a.incident_id.cmp(&b.incident_id)));
    let mut total = Tally::default();
    let mut mediators: BTreeMap<String, MediatorRow> = BTreeMap::new();
    let mut committees: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    for l in &cases {
        total.add(l);
        mediators
            .entry(l.mediator_id.clone())
            .or_insert_with(|| MediatorRow {
                mediator_id: l.mediator_id.clone(),
                name: l.mediator.clone(),
                figures: Tally::default(),
            })
            .figures
            .add(l);
        committees.entry((l.committee.clone(), l.committee_area.clone())).or_default().add(l);
    }
    let mut mediators: Vec<MediatorRow> = mediators.into_values().collect();
    mediators.sort_by(|a, b| {
        b.figures.subsidy_yuan.cmp(&a.figures.subsidy_yuan).then_with(|| a.mediator_id.cmp(&b.mediator_id))
    });
    SubsidyReport {
        from: range.from.to_string(),
        to: range.to.to_string(),
        committee,
        currency: "CNY".into(),
        rates: RatesView {
            simple_yuan: rates.simple_yuan,
            general_yuan: rates.general_yuan,
            major_difficult_yuan: rates.major_difficult_yuan,
            confirmed_bonus_yuan: rates.confirmed_bonus_yuan,
            require_agreement: rates.require_agreement,
        },
        committees: committees
            .into_iter()
            .map(|((committee, area), figures)| CommitteeRow { committee, area, figures })
            .collect(),
        mediators,
        total,
        cases,
    }
}

fn tally_fields(t: &Tally) -> Vec<String> {
    let counts = [t.cases, t.simple, t.general, t.major_difficult, t.ungraded, t.agreements, t.performed, t.confirmed];
    counts.iter().map(ToString::to_string).chain([t.subsidy_yuan.to_string()]).collect()
}

/// The report as CSV that Excel opens (UTF-8 with BOM, CRLF): one line per committee, per
/// mediator and the total, then one per case.
#[must_use]
pub fn to_csv(r: &SubsidyReport) -> String {
    let mut out = String::from(CSV_BOM);
    out.push_str(&csv_row(&[
        "类别 kind",
        "名称 name",
        "编号 id",
        "案件 cases",
        "简易 simple",
        "一般 general",
        "重大疑难 major_difficult",
        "未定级 ungraded",
        "达成协议 agreements",
        "已履行 performed",
        "司法确认 confirmed",
        "补助(元) subsidy_yuan",
    ]));
    let line = |kind: &str, name: &str, id: &str, t: &Tally| {
        let mut fields = vec![kind.to_owned(), name.to_owned(), id.to_owned()];
        fields.extend(tally_fields(t));
        csv_row(fields.as_slice())
    };
    for c in &r.committees {
        out.push_str(&line("committee", &c.committee, c.area.as_deref().unwrap_or(""), &c.figures));
    }
    for m in &r.mediators {
        out.push_str(&line("mediator", &m.name, &m.mediator_id, &m.figures));
    }
    out.push_str(&line("total", "合计", "", &r.total));
    for c in &r.cases {
        let mut one = Tally::default();
        one.add(c);
        out.push_str(&line("case", &c.mediator, &c.incident_id, &one));
    }
    out
}

impl CaseFiles {
    /// The configured committee of `area`, if any.
    #[must_use]
    pub fn committee(&self, area: &str) -> Option<&Committee> {
        self.inner.settings.committees.iter().find(|c| c.area == area)
    }

    /// The configured committee handling `incident` (its most specific area), if any.
    pub(super) fn committee_of(&self, incident: &Incident) -> Option<&Committee> {
        let a = &incident.area;
        [&a.grid, &a.community, &a.street, &a.district].into_iter().flatten().find_map(|code| self.committee(code))
    }

    /// The case files of `ids`, in order, read a few at a time (owned values throughout: the
    /// future stays `Send` for any handler).
    async fn load_all(&self, ids: Vec<IncidentId>) -> Result<Vec<CaseFile>, CaseFileError> {
        let store = self.inner.store.clone();
        let mut reads = futures_util::stream::iter(ids.into_iter().map(move |id| {
            let store = store.clone();
            async move { store.load(&id).await }
        }))
        .buffered(CONCURRENT_READS);
        let mut out = vec![];
        while let Some(read) = reads.next().await {
            out.push(read?.case);
        }
        Ok(out)
    }

    /// The monthly subsidy report for the days of `range` in `scope`, optionally of one
    /// configured committee (its area code; check it with [`Self::committee`]).
    ///
    /// # Errors
    /// `Store`.
    pub async fn subsidy_report(
        &self,
        scope: &Scope,
        range: ReportRange,
        committee: Option<&str>,
    ) -> Result<SubsidyReport, CaseFileError> {
        let rates = &self.inner.settings.subsidy;
        let (start, end) =
            day_bounds(range.from, range.to).map_err(|e| super::domain::Invalid::new("to", e.to_string()))?;
        let since =
            start.checked_sub(jiff::SignedDuration::try_from(rates.look_back).unwrap_or_default()).unwrap_or(start);
        let mut incidents = self.inner.incidents.list_incidents(since, end, MAX_INCIDENTS).await?;
        incidents.retain(|i| {
            let closed_in_range = i.resolved_at.is_some_and(|t| start <= t && t < end);
            let of_committee = committee.is_none_or(|area| self.committee_of(i).is_some_and(|c| c.area == area));
            i.status == Status::Resolved && i.claimed_by.is_some() && closed_in_range && of_committee && scope.sees(i)
        });
        let names: BTreeMap<String, String> = self
            .inner
            .directory
            .list_accounts(Role::Mediator)
            .await?
            .into_iter()
            .map(|a| (a.id.to_string(), a.name))
            .collect();
        let cases = self.load_all(incidents.iter().map(|i| i.id.clone()).collect()).await?;
        let lines = incidents
            .iter()
            .zip(cases)
            .filter_map(|(i, case)| {
                let holder = i.claimed_by.as_ref().map(ToString::to_string).unwrap_or_default();
                let name = names.get(&holder).map_or("", String::as_str);
                let c = self.committee_of(i);
                let committee = c.map_or_else(
                    || (self.inner.settings.committee.clone(), None),
                    |c| (c.name.clone(), Some(c.area.clone())),
                );
                case_line(i, &case, name, committee, rates)
            })
            .collect();
        let name = committee.and_then(|a| self.committee(a)).map(|c| c.name.clone());
        Ok(report(range, name, lines, rates))
    }

    /// Case-file figures over `incidents` (the district statistics): agreements in effect,
    /// how many have a follow-up and were performed at the latest, and 司法确认 confirmed.
    ///
    /// # Errors
    /// `Store`.
    pub async fn casework(&self, incidents: &[Incident]) -> Result<Casework, CaseFileError> {
        let mut work = Casework::default();
        let held = incidents.iter().filter(|i| i.claimed_by.is_some()).map(|i| i.id.clone()).collect();
        for case in self.load_all(held).await? {
            if case.in_effect().is_none() {
                continue;
            }
            work.agreements += 1;
            work.followed_up += usize::from(!case.follow_ups.is_empty());
            work.performed += usize::from(performed(&case));
            work.confirmed += usize::from(confirmed(&case));
        }
        Ok(work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_in_order_and_at_most_a_year() {
        let d = |m, day| Date::constant(2026, m, day);
        assert_eq!(ReportRange::new(d(12, 2), d(12, 1)), Err(RangeError::Reversed));
        assert!(ReportRange::new(d(1, 1), d(12, 31)).is_ok());
        assert_eq!(ReportRange::new(Date::constant(2025, 1, 1), d(1, 3)), Err(RangeError::TooLong));
    }

    #[test]
    fn ungraded_cases_and_cases_without_an_agreement_earn_only_the_confirmation_bonus() {
        let rates = SubsidyRates::default();
        assert_eq!(subsidy_of(Some(Grade::General), true, false, &rates), 300);
        assert_eq!(subsidy_of(Some(Grade::MajorDifficult), true, true, &rates), 900);
        assert_eq!(subsidy_of(Some(Grade::Simple), false, false, &rates), 0);
        assert_eq!(subsidy_of(None, true, true, &rates), 100);
        let any = SubsidyRates { require_agreement: false, ..SubsidyRates::default() };
        assert_eq!(subsidy_of(Some(Grade::Simple), false, false, &any), 100);
    }
}
