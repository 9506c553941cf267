//! Staff accounts (mediators, operators, admins) and what is known about a mediator on duty.

use super::category::Category;
use super::ids::AccountId;
use super::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A people's mediator in the field: receives offers, accepts, goes there.
    Mediator,
    /// A command-center operator: watches, assigns, supervises.
    Operator,
    /// Manages accounts and scenes.
    Admin,
    /// Works for a department called in to incidents (issue #21): sees only its call-ins.
    Department,
}

impl Role {
    /// The role's wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mediator => "mediator",
            Self::Operator => "operator",
            Self::Admin => "admin",
            Self::Department => "department",
        }
    }

    /// Parse a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mediator" => Some(Self::Mediator),
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            "department" => Some(Self::Department),
            _ => None,
        }
    }
}

/// A staff account as stored. `password_hash` is an argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Stable id (the JWT `sub`).
    pub id: AccountId,
    /// What this account may do.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Mainland mobile number; unique across accounts; the login name.
    pub phone: Phone,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in and their tokens stop working.
    pub enabled: bool,
    /// Dispute kinds a mediator is good at (empty for other roles).
    #[serde(default)]
    pub specialties: Vec<Category>,
    /// How many open incidents a mediator may hold at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Home grid or community code (free text until areas exist).
    #[serde(default)]
    pub area: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
    /// Optimistic-concurrency version, bumped by every update.
    #[serde(default)]
    pub version: u64,
    /// The WeChat openid offers are notified to (issue #3), bound by an admin.
    #[serde(default)]
    pub wechat_openid: Option<String>,
    /// Tokens carry the generation they were issued under; only the current one is accepted.
    /// Revoking every token of the account bumps it (so do disabling it and a new password).
    #[serde(default)]
    pub token_generation: u64,
}

fn default_capacity() -> u32 {
    3
}

/// A WeChat openid that is not 1..=64 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("1..=64 of [A-Za-z0-9_-]")]
pub struct InvalidOpenid;

/// A WeChat openid as an admin binds it: trimmed; empty means none.
///
/// # Errors
/// [`InvalidOpenid`] unless 1..=64 characters of `[A-Za-z0-9_-]`.
pub fn check_openid(raw: &str) -> Result<Option<String>, InvalidOpenid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let valid = raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if valid { Ok(Some(raw.to_owned())) } else { Err(InvalidOpenid) }
}

/// A mainland China mobile number, validated and normalised to 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// A phone number that is not an 11-digit mainland mobile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("phone must be an 11-digit mainland mobile number")]
pub struct InvalidPhone;

impl Phone {
    /// Parse, accepting `+86`/`86` prefixes, spaces and dashes.
    ///
    /// # Errors
    /// [`InvalidPhone`] for anything but an 11-digit number starting with 1.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        if raw.len() > 32 {
            return Err(InvalidPhone);
        }
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
        let digits = if digits.len() == 13 { digits.strip_prefix("86").unwrap_or(digits) } else { digits };
        let valid = digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit());
        if valid { Ok(Self(digits.to_owned())) } else { Err(InvalidPhone) }
    }

    /// The full number. Only for the people allowed to call it.
    #[must_use]
    pub fn full(&self) -> &str {
        &self.0
    }

    /// `138****5678`: what lists, logs and big screens show.
    #[must_use]
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl TryFrom<String> for Phone {
    type Error = InvalidPhone;
    fn try_from(s: String) -> Result<Self, InvalidPhone> {
        Self::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

/// A mediator's last known whereabouts and duty state, as kept for matching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Where (WGS-84).
    pub point: GeoPoint,
    /// When the phone says it was there (clamped to server time).
    pub at: Timestamp,
    /// Reported accuracy radius, metres.
    #[serde(default)]
    pub accuracy_m: Option<f32>,
}

/// Duty and position of one mediator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    /// The mediator.
    pub mediator_id: AccountId,
    /// On duty: willing to receive offers.
    pub on_duty: bool,
    /// Last position, if any was ever sent.
    pub fix: Option<Fix>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_and_masked() {
        let p = Phone::parse("+86 138-0013-5678").unwrap();
        assert_eq!(p.full(), "13800135678");
        assert_eq!(p.masked(), "138****5678");
        assert_eq!(Phone::parse("8613800135678").unwrap().full(), "13800135678");
        for bad in ["", "12345", "23800135678", "1380013567a", "138001356789"] {
            assert_eq!(Phone::parse(bad), Err(InvalidPhone), "{bad}");
        }
    }
}
