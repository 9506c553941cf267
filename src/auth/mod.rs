//! Credentials: JWT issue/verify (HS256, pinned), argon2 passwords, resident tracking tokens.
//! Shared by the HTTP extractors and the `token` command; knows nothing about HTTP.

pub mod hs256;

use crate::domain::account::Role;
use base64::Engine;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Why a token was refused (clients only ever see "invalid token").
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bad signature, algorithm, claims or expiry.
    #[error("invalid token")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// A claim we require has a value we do not know.
    #[error("invalid token: unknown role")]
    UnknownRole,
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Account id (or an operations name for admin tokens minted by the CLI).
    pub sub: String,
    /// `mediator`, `operator` or `admin`.
    pub role: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expires at, seconds.
    pub exp: i64,
    /// Issuer, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The account's token generation when issued by a login (absent: generation 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tgen: Option<u64>,
}

/// A verified principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The `sub`.
    pub sub: String,
    /// The role.
    pub role: Role,
    /// The last moment the token is accepted: its `exp` plus the leeway for clock skew. Open
    /// sockets close then (4401).
    pub valid_until: Timestamp,
    /// The token generation it was issued under (0 when the token names none).
    pub generation: u64,
}

/// Clock skew tolerated on `exp` and `nbf`, seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Signing and verifying keys with the validation rules pinned. Cheap to clone (shared): the
/// app state holding it is cloned for every request.
#[derive(Clone)]
pub struct JwtKeys(std::sync::Arc<KeysInner>);

struct KeysInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.0.issuer)
            .field("audience", &self.0.audience)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from an HMAC secret (the caller has checked it is at least 32 bytes).
    #[must_use]
    pub fn hmac(secret: &SecretString, issuer: &str, audience: &str) -> Self {
        hs256::install();
        let bytes = secret.expose_secret().as_bytes();
        let issuer = Some(issuer.to_owned()).filter(|s| !s.is_empty());
        let audience = Some(audience.to_owned()).filter(|s| !s.is_empty());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub", "iat"];
        if let Some(iss) = &issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Self(std::sync::Arc::new(KeysInner {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer,
            audience,
        }))
    }

    /// Sign a token for `sub` as `role`, valid for `ttl` from `now`.
    ///
    /// # Errors
    /// Only if signing itself fails (it does not for HMAC).
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<(String, Timestamp), AuthError> {
        self.issue_generation(sub, role, None, ttl, now)
    }

    /// Sign a session token for an account: it carries the account's token generation, so
    /// bumping that generation revokes it.
    ///
    /// # Errors
    /// Only if signing itself fails (it does not for HMAC).
    pub fn issue_for(
        &self,
        account: &crate::domain::account::Account,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<(String, Timestamp), AuthError> {
        let generation = Some(account.token_generation).filter(|g| *g > 0);
        self.issue_generation(&account.id.to_string(), account.role, generation, ttl, now)
    }

    fn issue_generation(
        &self,
        sub: &str,
        role: Role,
        tgen: Option<u64>,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<(String, Timestamp), AuthError> {
        let ttl_s = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let exp = now.as_second().saturating_add(ttl_s);
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.as_str().to_owned(),
            iat: now.as_second(),
            exp,
            iss: self.0.issuer.clone(),
            aud: self.0.audience.clone(),
            tgen,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
            .map_err(AuthError::Invalid)?;
        Ok((token, Timestamp::from_second(exp).unwrap_or(Timestamp::MAX)))
    }

    /// Verify a bearer token.
    ///
    /// # Errors
    /// [`AuthError`] for anything but a valid, unexpired HS256 token with our claims.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation).map_err(AuthError::Invalid)?;
        let role = Role::parse(&data.claims.role).ok_or(AuthError::UnknownRole)?;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
        let valid_until = Timestamp::from_second(data.claims.exp.saturating_add(leeway)).unwrap_or(Timestamp::MAX);
        Ok(Principal { sub: data.claims.sub, role, valid_until, generation: data.claims.tgen.unwrap_or(0) })
    }
}

/// 32 random bytes, URL-safe base64: for generated signing keys and tracking tokens (256 bits).
///
/// # Panics
/// If the operating system has no randomness to give (nothing can run safely then).
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 hex of a secret value, for storing lookups without storing the secret.
#[must_use]
pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest password accepted (argon2's cost grows with it; keep it bounded).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hash a password with argon2id (CPU-heavy: call from a blocking task).
///
/// # Errors
/// Only if the hasher rejects its parameters (it does not with defaults).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// The stored hash of an account nobody can log in to yet (imported without a password): an
/// argon2id hash of a random string nobody knows, so checking it costs what a real check costs.
pub const NO_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bm9wYXNzd29yZHNhbHQ$Vb3hzlR1xwB9D0bkbL3VXEJN1F5Ax6DQzu1E8pKUJGo";

/// Check a password against a stored argon2 PHC string, in constant time.
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::hmac(&SecretString::from("0123456789abcdef0123456789abcdef"), "grid-dispatch", "grid-dispatch")
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let k = keys();
        let now = Timestamp::now();
        let (token, exp) = k.issue("op-1", Role::Operator, Duration::from_secs(60), now).unwrap();
        let valid_until = exp + jiff::SignedDuration::from_secs(30);
        assert_eq!(
            k.verify(&token).unwrap(),
            Principal { sub: "op-1".into(), role: Role::Operator, valid_until, generation: 0 }
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"sub":"op-1","role":"admin","iat":1,"exp":9999999999,"iss":"grid-dispatch","aud":"grid-dispatch"}"#,
        );
        assert!(k.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let k = keys();
        let (old, _) =
            k.issue("m", Role::Mediator, Duration::from_secs(1), Timestamp::from_second(1_000_000).unwrap()).unwrap();
        assert!(k.verify(&old).is_err());
        let other =
            JwtKeys::hmac(&SecretString::from("another-secret-another-secret-xx"), "grid-dispatch", "grid-dispatch");
        let (foreign, _) = other.issue("m", Role::Mediator, Duration::from_secs(60), Timestamp::now()).unwrap();
        assert!(k.verify(&foreign).is_err());
        let wrong_aud =
            JwtKeys::hmac(&SecretString::from("0123456789abcdef0123456789abcdef"), "grid-dispatch", "other");
        let (t, _) = wrong_aud.issue("m", Role::Mediator, Duration::from_secs(60), Timestamp::now()).unwrap();
        assert!(k.verify(&t).is_err());
    }

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a phc string"));
        assert!(argon2::password_hash::PasswordHash::new(NO_PASSWORD_HASH).is_ok(), "checked at full cost");
        assert!(!verify_password("", NO_PASSWORD_HASH));
    }
}
