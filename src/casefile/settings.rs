//! `[casefile]`: the committees (names and seals by area), the PDF font, the mediation and
//! reminder deadlines, the party links' lifetime, the keys (from the environment only), and
//! the grading and subsidy rules.

use super::{grade, subsidy};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

/// `[casefile]`.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseFileSettings {
    /// The committee's name when no `committees` entry matches the incident's area.
    #[serde(default = "default_committee")]
    pub committee: String,
    /// Committees by area code (most specific match wins): name and seal image.
    #[serde(default)]
    pub committees: Vec<Committee>,
    /// The CJK font the PDFs embed (an OpenType/TrueType file or collection).
    #[serde(default = "default_font_path")]
    pub font_path: PathBuf,
    /// The face in a collection (Noto CJK `.ttc`: 2 is Simplified Chinese).
    #[serde(default = "default_font_face")]
    pub font_face: u32,
    /// The mediation deadline from the claim (一般在一个月内); extended by as much again on
    /// every party's recorded consent.
    #[serde(with = "humantime_serde", default = "default_mediation_deadline")]
    pub mediation_deadline: std::time::Duration,
    /// When to remind of 司法确认 after the agreement takes effect (inside its 30 days).
    #[serde(with = "humantime_serde", default = "default_confirmation_remind_after")]
    pub confirmation_remind_after: std::time::Duration,
    /// After a follow-up that urged performance, when the follow-up comes due again.
    #[serde(with = "humantime_serde", default = "default_urge_recheck_after")]
    pub urge_recheck_after: std::time::Duration,
    /// How long a party's own link to their copy (`/p/…`) works; re-issuing starts it again.
    #[serde(with = "humantime_serde", default = "default_party_link_valid_for")]
    pub party_link_valid_for: std::time::Duration,
    /// `GD_CASEFILE__KEYS` (`kid=base64,…`, first seals), from the environment only.
    #[serde(skip)]
    pub keys: Option<SecretString>,
    /// `[casefile.grading]`: when a case is suggested general or major-difficult.
    #[serde(default)]
    pub grading: grade::GradingRules,
    /// `[casefile.subsidy]`: the 以案定补 rates and what the monthly report counts.
    #[serde(default)]
    pub subsidy: subsidy::SubsidyRates,
}

/// One mediation committee (人民调解委员会).
#[derive(Debug, Clone, Deserialize)]
pub struct Committee {
    /// An area code (district, street, community or grid) whose incidents it handles.
    pub area: String,
    /// Its name on documents.
    pub name: String,
    /// Its seal, a PNG (transparent background), or none: a drawn seal with its name.
    #[serde(default)]
    pub seal_png: Option<PathBuf>,
}

fn default_committee() -> String {
    "人民调解委员会".into()
}

fn default_font_path() -> PathBuf {
    PathBuf::from("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
}

fn default_font_face() -> u32 {
    2
}

fn default_mediation_deadline() -> std::time::Duration {
    std::time::Duration::from_secs(30 * 24 * 3600)
}

fn default_confirmation_remind_after() -> std::time::Duration {
    std::time::Duration::from_secs(7 * 24 * 3600)
}

fn default_party_link_valid_for() -> std::time::Duration {
    std::time::Duration::from_secs(90 * 24 * 3600)
}

fn default_urge_recheck_after() -> std::time::Duration {
    std::time::Duration::from_secs(7 * 24 * 3600)
}

impl Default for CaseFileSettings {
    fn default() -> Self {
        Self {
            committee: default_committee(),
            committees: vec![],
            font_path: default_font_path(),
            font_face: default_font_face(),
            mediation_deadline: default_mediation_deadline(),
            confirmation_remind_after: default_confirmation_remind_after(),
            urge_recheck_after: default_urge_recheck_after(),
            party_link_valid_for: default_party_link_valid_for(),
            keys: None,
            grading: grade::GradingRules::default(),
            subsidy: subsidy::SubsidyRates::default(),
        }
    }
}
