//! The case's difficulty grade (以案定补): a suggestion from the category, the number of parties
//! and the amount in dispute (pure: [`suggest`]), and the decision, which the holding mediator
//! or an operator makes. Each change is written to the case file's audit with the grade in the
//! same write, then to the incident's timeline (`case_graded`: who, from → to).

use super::domain::{Actor, AuditNote, CaseFile, Invalid, PartyRole};
use super::{CaseFileError, CaseFiles, Viewer};
use crate::domain::category::Category;
use crate::domain::grade::Grade;
use crate::domain::ids::IncidentId;
use crate::domain::incident::Event;
use crate::domain::timeline::{ActorRole, TimelineEntry};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The largest amount in dispute accepted, in yuan (a hundred billion: anything above is a typo).
pub const MAX_AMOUNT_YUAN: u64 = 100_000_000_000;

/// `[casefile.grading]`: when a case is suggested general or major-difficult.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradingRules {
    /// Parties (agents not counted) from which a case is at least general.
    pub general_parties: usize,
    /// Parties from which it is major-difficult (群体性).
    pub major_parties: usize,
    /// Amount in dispute (yuan) from which it is at least general.
    pub general_amount_yuan: u64,
    /// Amount in dispute (yuan) from which it is major-difficult.
    pub major_amount_yuan: u64,
    /// Categories that are at least general.
    pub general_categories: Vec<Category>,
    /// Categories that are major-difficult.
    pub major_categories: Vec<Category>,
}

impl Default for GradingRules {
    fn default() -> Self {
        Self {
            general_parties: 3,
            major_parties: 5,
            general_amount_yuan: 10_000,
            major_amount_yuan: 100_000,
            general_categories: vec![Category::Property, Category::Wages, Category::Land, Category::Traffic],
            major_categories: vec![],
        }
    }
}

impl GradingRules {
    /// Each major threshold at or above its general one.
    ///
    /// # Errors
    /// What is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if self.major_parties < self.general_parties || self.general_parties == 0 {
            return Err("major_parties must be at least general_parties, which must be at least 1".into());
        }
        if self.major_amount_yuan < self.general_amount_yuan {
            return Err("major_amount_yuan must be at least general_amount_yuan".into());
        }
        Ok(())
    }
}

/// What raised a suggestion above simple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The category.
    Category,
    /// The number of parties.
    Parties,
    /// The amount in dispute.
    Amount,
}

/// One rule that raised the suggestion, and to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    /// Which rule.
    pub why: Why,
    /// The grade it asks for.
    pub grade: Grade,
}

/// A suggested grade with the rules behind it (none: simple).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// The highest grade any rule asks for.
    pub grade: Grade,
    /// The rules that asked for more than simple.
    pub reasons: Vec<Reason>,
}

/// Suggest a grade: the highest any rule asks for (category, parties, amount), else simple.
#[must_use]
pub fn suggest(rules: &GradingRules, category: Category, parties: usize, amount_yuan: Option<u64>) -> Suggestion {
    let by_category = if rules.major_categories.contains(&category) {
        Some(Grade::MajorDifficult)
    } else {
        rules.general_categories.contains(&category).then_some(Grade::General)
    };
    let by_count = |n: u64, general: u64, major: u64| {
        if n >= major { Some(Grade::MajorDifficult) } else { (n >= general).then_some(Grade::General) }
    };
    let by_parties = by_count(parties as u64, rules.general_parties as u64, rules.major_parties as u64);
    let by_amount = amount_yuan.and_then(|a| by_count(a, rules.general_amount_yuan, rules.major_amount_yuan));
    let reasons: Vec<Reason> = [(Why::Category, by_category), (Why::Parties, by_parties), (Why::Amount, by_amount)]
        .into_iter()
        .filter_map(|(why, grade)| Some(Reason { why, grade: grade? }))
        .collect();
    let grade = reasons.iter().map(|r| r.grade).max().unwrap_or(Grade::Simple);
    Suggestion { grade, reasons }
}

/// The parties a grade counts: everyone but agents (an agent speaks for a party).
#[must_use]
pub fn counted_parties(case: &CaseFile) -> usize {
    case.parties.iter().filter(|p| p.role != PartyRole::Agent).count()
}

/// A grade as decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graded {
    /// The grade.
    pub grade: Grade,
    /// Who decided it.
    pub by: Actor,
    /// When.
    pub at: Timestamp,
    /// What was suggested then.
    pub suggested: Grade,
}

/// A case's grade, its suggestion and what the suggestion reads.
#[derive(Debug, Clone)]
pub struct GradeState {
    /// As decided, if anyone has.
    pub graded: Option<Graded>,
    /// As suggested now.
    pub suggestion: Suggestion,
    /// The incident's category.
    pub category: Category,
    /// Parties counted.
    pub parties: usize,
    /// Amount in dispute, yuan.
    pub amount_in_dispute_yuan: Option<u64>,
}

fn actor_role(viewer: &Viewer) -> ActorRole {
    match viewer {
        Viewer::Mediator(_) => ActorRole::Mediator,
        Viewer::Operator { role: "admin", .. } => ActorRole::Admin,
        Viewer::Operator { .. } => ActorRole::Operator,
    }
}

impl CaseFiles {
    fn state_of(&self, category: Category, case: &CaseFile) -> GradeState {
        let parties = counted_parties(case);
        GradeState {
            graded: case.grade.clone(),
            suggestion: suggest(&self.inner.settings.grading, category, parties, case.amount_in_dispute_yuan),
            category,
            parties,
            amount_in_dispute_yuan: case.amount_in_dispute_yuan,
        }
    }

    /// The grade of a case `viewer` may see (its holder, or an operator in scope), with the
    /// suggestion.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn grading(&self, viewer: &Viewer, id: &IncidentId) -> Result<GradeState, CaseFileError> {
        let (incident, case) = self.case_file(viewer, id).await?;
        Ok(self.state_of(incident.category, &case))
    }

    /// The holder or an operator decides the grade. A change is audited in the case file (in
    /// the same write) and on the incident's timeline; deciding the grade it already has
    /// changes nothing.
    ///
    /// # Errors
    /// `NotFound`; `Store`; `Contended`.
    pub async fn set_grade(&self, viewer: &Viewer, id: &IncidentId, grade: Grade) -> Result<GradeState, CaseFileError> {
        let incident = self.visible(viewer, id).await?;
        let actor = viewer.actor();
        let now = self.now();
        let rules = &self.inner.settings.grading;
        let (from, case) = self
            .update(id, incident.claimed_at, |case| {
                let from = case.grade.as_ref().map(|g| g.grade);
                if from != Some(grade) {
                    let suggested =
                        suggest(rules, incident.category, counted_parties(case), case.amount_in_dispute_yuan).grade;
                    case.grade = Some(Graded { grade, by: actor.clone(), at: now, suggested });
                    let was = from.map_or("未定级", Grade::label);
                    let action = format!("grade {was} → {}", grade.label());
                    case.audit.push(AuditNote { at: now, actor: actor.clone(), action });
                }
                Ok((from, case.clone()))
            })
            .await?;
        if from != Some(grade) {
            tracing::info!(incident_id = %id, role = %actor.role, grade = grade.as_str(), "case graded");
            let entry = TimelineEntry {
                at: now,
                actor_role: actor_role(viewer),
                actor_id: Some(actor.id.clone()),
                event: Event::CaseGraded { from, to: grade },
            };
            // The grade and its audit note are written; a lost timeline line is logged.
            if let Err(e) = self.inner.incidents.append_timeline(id, &[entry]).await {
                tracing::warn!(incident_id = %id, error = %e, "could not add the grade to the timeline");
            }
        }
        Ok(self.state_of(incident.category, &case))
    }

    /// The holder or an operator records the amount in dispute (whole yuan; none clears it).
    ///
    /// # Errors
    /// `NotFound`; `Invalid` above [`MAX_AMOUNT_YUAN`]; `Store`; `Contended`.
    pub async fn set_amount(
        &self,
        viewer: &Viewer,
        id: &IncidentId,
        amount_yuan: Option<u64>,
    ) -> Result<GradeState, CaseFileError> {
        if amount_yuan.is_some_and(|a| a > MAX_AMOUNT_YUAN) {
            return Err(Invalid::new("amount_in_dispute_yuan", format!("0..={MAX_AMOUNT_YUAN} yuan")).into());
        }
        let incident = self.visible(viewer, id).await?;
        let case = self
            .update(id, incident.claimed_at, |case| {
                case.amount_in_dispute_yuan = amount_yuan;
                Ok(case.clone())
            })
            .await?;
        Ok(self.state_of(incident.category, &case))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(s: &Suggestion) -> Vec<(Why, Grade)> {
        s.reasons.iter().map(|r| (r.why, r.grade)).collect()
    }

    #[test]
    fn a_two_party_neighbour_case_without_money_is_simple() {
        let s = suggest(&GradingRules::default(), Category::Neighbor, 2, None);
        assert_eq!((s.grade, s.reasons.len()), (Grade::Simple, 0));
        assert_eq!(suggest(&GradingRules::default(), Category::Family, 2, Some(9_999)).grade, Grade::Simple);
    }

    #[test]
    fn the_highest_rule_wins_and_every_rule_that_raised_it_is_named() {
        let rules = GradingRules::default();
        let s = suggest(&rules, Category::Wages, 3, Some(10_000));
        assert_eq!(s.grade, Grade::General);
        assert_eq!(
            reasons(&s),
            vec![(Why::Category, Grade::General), (Why::Parties, Grade::General), (Why::Amount, Grade::General)]
        );
        let s = suggest(&rules, Category::Neighbor, 5, Some(500));
        assert_eq!((s.grade, reasons(&s)), (Grade::MajorDifficult, vec![(Why::Parties, Grade::MajorDifficult)]));
        let s = suggest(&rules, Category::Traffic, 2, Some(100_000));
        assert_eq!(s.grade, Grade::MajorDifficult);
        assert_eq!(reasons(&s), vec![(Why::Category, Grade::General), (Why::Amount, Grade::MajorDifficult)]);
    }

    #[test]
    fn a_major_category_is_major_difficult_whatever_else() {
        let rules = GradingRules { major_categories: vec![Category::Land], ..GradingRules::default() };
        assert_eq!(suggest(&rules, Category::Land, 1, None).grade, Grade::MajorDifficult);
    }
}
