//! Pure types of joint handling (联调联处): departments, the area they serve, call-ins (吹哨)
//! and what may happen to one. No I/O: every change is a function `(call-in, command, now) →
//! steps` here, and the service (`crate::departments`) turns the steps into one store write.

use crate::domain::area::AreaPath;
use crate::domain::category::Risk;
use crate::domain::ids::{CallInId, DepartmentId, IncidentId};
use crate::domain::timeline::ActorRole;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a department is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// 派出所.
    PoliceStation,
    /// 交警.
    TrafficPolice,
    /// 司法所.
    JusticeOffice,
    /// 劳动监察 (人社).
    LabourInspection,
    /// 劳动人事争议仲裁委.
    LabourArbitration,
    /// 住建/房管.
    Housing,
    /// 市场监管.
    MarketRegulation,
    /// 法院 (诉调对接, 司法确认).
    Court,
    /// 检察院 (12309).
    Procuratorate,
    /// 信访.
    Petitions,
    /// 妇联.
    WomensFederation,
    /// 卫健 / 医调委.
    Health,
    /// 行业调委会 (物业, 交通, 医疗…).
    IndustryMediation,
    /// 街道/乡镇.
    StreetOffice,
    /// 其他.
    Other,
}

impl DepartmentKind {
    /// The plain-Chinese label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::PoliceStation => "派出所",
            Self::TrafficPolice => "交警",
            Self::JusticeOffice => "司法所",
            Self::LabourInspection => "劳动监察",
            Self::LabourArbitration => "劳动仲裁",
            Self::Housing => "住建房管",
            Self::MarketRegulation => "市场监管",
            Self::Court => "法院",
            Self::Procuratorate => "检察院",
            Self::Petitions => "信访",
            Self::WomensFederation => "妇联",
            Self::Health => "卫健",
            Self::IndustryMediation => "行业调委会",
            Self::StreetOffice => "街道乡镇",
            Self::Other => "其他部门",
        }
    }
}

/// A department's public duty number: a landline (`0971-8123456`) or a mobile, 5..=20 of
/// digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DutyPhone(String);

/// A duty number that is not 5..=20 digits and dashes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("5-20 digits (dashes allowed)")]
pub struct InvalidDutyPhone;

impl DutyPhone {
    /// Parse, trimming spaces.
    ///
    /// # Errors
    /// [`InvalidDutyPhone`] unless 5..=20 characters of digits and `-`, at least 5 digits.
    pub fn parse(raw: &str) -> Result<Self, InvalidDutyPhone> {
        let s = raw.trim();
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        let valid = (5..=20).contains(&s.len()) && digits >= 5 && s.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if valid { Ok(Self(s.to_owned())) } else { Err(InvalidDutyPhone) }
    }

    /// The number.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DutyPhone {
    type Error = InvalidDutyPhone;
    fn try_from(s: String) -> Result<Self, InvalidDutyPhone> {
        Self::parse(&s)
    }
}

impl From<DutyPhone> for String {
    fn from(p: DutyPhone) -> String {
        p.0
    }
}

/// An organisation the command center can call in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    /// Id.
    pub id: DepartmentId,
    /// Name, e.g. 南滩派出所.
    pub name: String,
    /// What it is.
    pub kind: DepartmentKind,
    /// The area code it serves (None: the whole district).
    #[serde(default)]
    pub area: Option<String>,
    /// Its duty number.
    pub duty_phone: DutyPhone,
    /// When an admin created it.
    pub created_at: Timestamp,
}

impl Department {
    /// Whether it serves a place: a department of the whole district (no area) serves every
    /// place, one of an area serves the places in that area and below it.
    #[must_use]
    pub fn serves(&self, place: &AreaPath) -> bool {
        self.area.as_deref().is_none_or(|code| place.contains(code))
    }
}

/// How urgent a call-in is (the caller's choice; red incidents are at least as fast as
/// `urgent`, see `DepartmentSettings::windows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 一般.
    #[default]
    Normal,
    /// 紧急.
    Urgent,
}

/// Why a department is called in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// To assist (联调): the lead stays where it is.
    #[default]
    Assist,
    /// To take over the lead (移交): its acceptance and result come back (闭环).
    Handover,
}

/// A department's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    /// Came to the scene (到场).
    Arrived,
    /// Gave its opinion (出具意见).
    Opinion,
    /// Took the case over (接手); for a hand-over, its acceptance.
    TookOver,
    /// Declined, with a reason (退回).
    Declined,
}

/// One department called in to one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallIn {
    /// Id.
    pub id: CallInId,
    /// The incident.
    pub incident_id: IncidentId,
    /// The department.
    pub department_id: DepartmentId,
    /// Its name when called.
    pub department_name: String,
    /// Assist or hand-over.
    pub purpose: Purpose,
    /// How urgent.
    pub urgency: Urgency,
    /// The caller's note.
    pub note: String,
    /// Who called (account id; the nil id for an operations token).
    pub called_by: String,
    /// As whom.
    pub called_by_role: ActorRole,
    /// When.
    pub called_at: Timestamp,
    /// Acknowledge (报到) by then.
    pub ack_due: Timestamp,
    /// Respond by then.
    pub respond_due: Timestamp,
    /// When it acknowledged.
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    /// Its note on acknowledging.
    #[serde(default)]
    pub ack_note: Option<String>,
    /// When it responded.
    #[serde(default)]
    pub responded_at: Option<Timestamp>,
    /// Its answer.
    #[serde(default)]
    pub response: Option<ResponseKind>,
    /// Its note on responding (the reason, when declined).
    #[serde(default)]
    pub response_note: Option<String>,
    /// Reminded of the acknowledgement deadline.
    #[serde(default)]
    pub reminded_ack: bool,
    /// Reminded of the response deadline.
    #[serde(default)]
    pub reminded_respond: bool,
    /// The acknowledgement deadline passed unmet.
    #[serde(default)]
    pub ack_overdue: bool,
    /// The response deadline passed unmet.
    #[serde(default)]
    pub respond_overdue: bool,
    /// Supervision orders (督办), oldest first.
    #[serde(default)]
    pub supervised: Vec<String>,
    /// When a hand-over's final result came back (闭环).
    #[serde(default)]
    pub result_at: Option<Timestamp>,
    /// That result.
    #[serde(default)]
    pub result: Option<String>,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: u64,
}

/// Where a call-in stands, as queues show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallInState {
    /// Waiting for the department to acknowledge.
    Called,
    /// Acknowledged, no response yet.
    Acknowledged,
    /// Responded (an assist is done; a hand-over declined is done).
    Responded,
    /// A hand-over accepted, its result not yet recorded: the department leads.
    Leading,
    /// A hand-over whose result came back.
    Closed,
}

/// One thing that happened to a call-in (its timeline step; on the bus with the call-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Called in.
    CalledIn,
    /// Reminded that the acknowledgement is due.
    RemindedAck,
    /// Reminded that the response is due.
    RemindedRespond,
    /// Acknowledged.
    Acknowledged,
    /// Responded.
    Responded(ResponseKind),
    /// Acknowledgement overdue (催办).
    AckOverdue,
    /// Response overdue (催办).
    RespondOverdue,
    /// Put under supervision (督办).
    Supervised,
    /// A hand-over's result was recorded.
    Result,
}

impl Step {
    /// Stable wire name (the timeline's `step`).
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CalledIn => "called_in",
            Self::RemindedAck => "reminded_ack",
            Self::RemindedRespond => "reminded_respond",
            Self::Acknowledged => "acknowledged",
            Self::Responded(ResponseKind::TookOver) => "accepted",
            Self::Responded(_) => "responded",
            Self::AckOverdue => "ack_overdue",
            Self::RespondOverdue => "respond_overdue",
            Self::Supervised => "supervised",
            Self::Result => "result",
        }
    }

    /// An overdue mark: the command center is urged.
    #[must_use]
    pub fn urges(&self) -> bool {
        matches!(self, Self::AckOverdue | Self::RespondOverdue)
    }
}

/// Why a command does not apply to a call-in.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CallInError {
    /// Already acknowledged.
    #[error("this call-in was already acknowledged")]
    AlreadyAcknowledged,
    /// Already responded.
    #[error("this call-in was already answered")]
    AlreadyResponded,
    /// Declining needs a reason.
    #[error("declining needs a reason")]
    ReasonRequired,
    /// A result only comes back for a hand-over the department accepted.
    #[error("a result is recorded only for a hand-over the department accepted")]
    NotLeading,
    /// The result is in already.
    #[error("the result was already recorded")]
    AlreadyClosed,
}

/// The two deadlines of a call-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Acknowledge within.
    pub ack_within: SignedDuration,
    /// Respond within.
    pub respond_within: SignedDuration,
}

impl Windows {
    /// The tighter of two.
    #[must_use]
    pub fn min(self, other: Self) -> Self {
        Self {
            ack_within: self.ack_within.min(other.ack_within),
            respond_within: self.respond_within.min(other.respond_within),
        }
    }
}

/// What a new call-in needs.
#[derive(Debug, Clone)]
pub struct NewCallIn<'a> {
    /// The incident.
    pub incident_id: &'a IncidentId,
    /// The incident's colour now.
    pub risk: Risk,
    /// The department.
    pub department: &'a Department,
    /// Assist or hand-over.
    pub purpose: Purpose,
    /// How urgent.
    pub urgency: Urgency,
    /// The caller's note.
    pub note: &'a str,
    /// The caller.
    pub called_by: String,
    /// As whom.
    pub called_by_role: ActorRole,
}

impl CallIn {
    /// A new call-in at `now` with deadlines `windows` from now.
    #[must_use]
    pub fn new(new: &NewCallIn<'_>, windows: Windows, now: Timestamp) -> Self {
        Self {
            id: CallInId::generate(),
            incident_id: new.incident_id.clone(),
            department_id: new.department.id.clone(),
            department_name: new.department.name.clone(),
            purpose: new.purpose,
            urgency: new.urgency,
            note: new.note.to_owned(),
            called_by: new.called_by.clone(),
            called_by_role: new.called_by_role,
            called_at: now,
            ack_due: now.saturating_add(windows.ack_within).unwrap_or(Timestamp::MAX),
            respond_due: now.saturating_add(windows.respond_within).unwrap_or(Timestamp::MAX),
            acknowledged_at: None,
            ack_note: None,
            responded_at: None,
            response: None,
            response_note: None,
            reminded_ack: false,
            reminded_respond: false,
            ack_overdue: false,
            respond_overdue: false,
            supervised: vec![],
            result_at: None,
            result: None,
            version: 1,
        }
    }

    /// Where it stands.
    #[must_use]
    pub fn state(&self) -> CallInState {
        match (self.acknowledged_at, self.response, self.purpose, self.result_at) {
            (_, _, Purpose::Handover, Some(_)) => CallInState::Closed,
            (_, Some(ResponseKind::TookOver), Purpose::Handover, None) => CallInState::Leading,
            (_, Some(_), ..) => CallInState::Responded,
            (Some(_), None, ..) => CallInState::Acknowledged,
            (None, None, ..) => CallInState::Called,
        }
    }

    /// Still waiting for the department (not yet responded).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.response.is_none()
    }

    /// Acknowledge at `now`.
    ///
    /// # Errors
    /// [`CallInError::AlreadyAcknowledged`], [`CallInError::AlreadyResponded`].
    pub fn acknowledge(&mut self, note: Option<String>, now: Timestamp) -> Result<Vec<Step>, CallInError> {
        if self.response.is_some() {
            return Err(CallInError::AlreadyResponded);
        }
        if self.acknowledged_at.is_some() {
            return Err(CallInError::AlreadyAcknowledged);
        }
        self.acknowledged_at = Some(now);
        self.ack_note = note;
        Ok(vec![Step::Acknowledged])
    }

    /// Respond at `now` (acknowledging first when it had not).
    ///
    /// # Errors
    /// [`CallInError::AlreadyResponded`]; [`CallInError::ReasonRequired`] to decline without
    /// a note.
    pub fn respond(
        &mut self,
        kind: ResponseKind,
        note: Option<String>,
        now: Timestamp,
    ) -> Result<Vec<Step>, CallInError> {
        if self.response.is_some() {
            return Err(CallInError::AlreadyResponded);
        }
        if kind == ResponseKind::Declined && note.is_none() {
            return Err(CallInError::ReasonRequired);
        }
        let mut steps = vec![];
        if self.acknowledged_at.is_none() {
            self.acknowledged_at = Some(now);
            steps.push(Step::Acknowledged);
        }
        self.responded_at = Some(now);
        self.response = Some(kind);
        self.response_note = note;
        steps.push(Step::Responded(kind));
        Ok(steps)
    }

    /// Record a hand-over's final result (闭环).
    ///
    /// # Errors
    /// [`CallInError::NotLeading`] unless an accepted hand-over; [`CallInError::AlreadyClosed`].
    pub fn record_result(&mut self, result: String, now: Timestamp) -> Result<Vec<Step>, CallInError> {
        match self.state() {
            CallInState::Leading => {
                self.result_at = Some(now);
                self.result = Some(result);
                Ok(vec![Step::Result])
            }
            CallInState::Closed => Err(CallInError::AlreadyClosed),
            _ => Err(CallInError::NotLeading),
        }
    }

    /// Put under supervision (督办) with an order.
    pub fn supervise(&mut self, order: String) -> Vec<Step> {
        self.supervised.push(order);
        vec![Step::Supervised]
    }

    /// A deadline fell due: `ack` (else the response's), `overdue` (else its reminder). Empty
    /// when stale: already met, or already marked.
    pub fn deadline(&mut self, ack: bool, overdue: bool) -> Vec<Step> {
        let met = if ack { self.acknowledged_at.is_some() || self.response.is_some() } else { self.response.is_some() };
        if met {
            return vec![];
        }
        let (flag, step) = match (ack, overdue) {
            (true, false) => (&mut self.reminded_ack, Step::RemindedAck),
            (true, true) => (&mut self.ack_overdue, Step::AckOverdue),
            (false, false) => (&mut self.reminded_respond, Step::RemindedRespond),
            (false, true) => (&mut self.respond_overdue, Step::RespondOverdue),
        };
        if *flag {
            return vec![];
        }
        *flag = true;
        vec![step]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_in_department(area: Option<String>) -> Department {
        Department {
            id: DepartmentId::generate(),
            name: "南滩派出所".into(),
            kind: DepartmentKind::PoliceStation,
            area,
            duty_phone: DutyPhone::parse("0971-8123456").unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn call_in(purpose: Purpose) -> CallIn {
        let department = call_in_department(None);
        let incident_id = IncidentId::generate();
        let new = NewCallIn {
            incident_id: &incident_id,
            risk: Risk::Yellow,
            department: &department,
            purpose,
            urgency: Urgency::Normal,
            note: "请派员到场",
            called_by: "op".into(),
            called_by_role: ActorRole::Operator,
        };
        let w = Windows { ack_within: SignedDuration::from_mins(10), respond_within: SignedDuration::from_hours(2) };
        CallIn::new(&new, w, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_deadline_fires_once_and_never_after_it_was_met() {
        let mut c = call_in(Purpose::Assist);
        assert_eq!(c.deadline(true, false), vec![Step::RemindedAck]);
        assert_eq!(c.deadline(true, false), vec![]);
        assert_eq!(c.deadline(true, true), vec![Step::AckOverdue]);
        assert_eq!(c.deadline(true, true), vec![], "urged once");
        c.acknowledge(None, Timestamp::UNIX_EPOCH).unwrap();
        c.respond(ResponseKind::Arrived, None, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(c.deadline(false, true), vec![], "met: nothing to urge");
    }

    #[test]
    fn a_hand_over_leads_until_its_result_comes_back() {
        let mut c = call_in(Purpose::Handover);
        assert_eq!(c.record_result("x".into(), Timestamp::UNIX_EPOCH), Err(CallInError::NotLeading));
        assert_eq!(
            c.respond(ResponseKind::TookOver, None, Timestamp::UNIX_EPOCH).unwrap(),
            vec![Step::Acknowledged, Step::Responded(ResponseKind::TookOver)]
        );
        assert_eq!(c.state(), CallInState::Leading);
        c.record_result("已支付欠薪".into(), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(c.state(), CallInState::Closed);
        assert_eq!(c.record_result("again".into(), Timestamp::UNIX_EPOCH), Err(CallInError::AlreadyClosed));
    }

    #[test]
    fn declining_needs_a_reason_and_answers_are_final() {
        let mut c = call_in(Purpose::Assist);
        assert_eq!(c.respond(ResponseKind::Declined, None, Timestamp::UNIX_EPOCH), Err(CallInError::ReasonRequired));
        c.respond(ResponseKind::Declined, Some("不属本所辖区".into()), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(c.acknowledge(None, Timestamp::UNIX_EPOCH), Err(CallInError::AlreadyResponded));
        assert_eq!(c.state(), CallInState::Responded);
    }

    #[test]
    fn a_department_serves_its_area_and_below_it_and_one_without_an_area_serves_everywhere() {
        let street = AreaPath::default().with(crate::domain::area::AreaLevel::District, "D".into());
        let street = street.with(crate::domain::area::AreaLevel::Street, "S1".into());
        let elsewhere = AreaPath::default().with(crate::domain::area::AreaLevel::District, "E".into());
        let mut d = call_in_department(None);
        assert!(d.serves(&street) && d.serves(&elsewhere) && d.serves(&AreaPath::default()));
        d.area = Some("D".into());
        assert!(d.serves(&street), "a district-wide department covers its streets");
        assert!(!d.serves(&elsewhere) && !d.serves(&AreaPath::default()));
        d.area = Some("S2".into());
        assert!(!d.serves(&street), "a street's department does not cover its neighbour");
    }

    #[test]
    fn duty_phones_are_digits_and_dashes() {
        assert!(DutyPhone::parse("0971-8123456").is_ok());
        assert!(DutyPhone::parse("110").is_err());
        assert!(DutyPhone::parse("0971 812<script>").is_err());
    }
}
