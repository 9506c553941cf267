//! TURN credentials in the TURN REST API's shared-secret scheme (coturn's `use-auth-secret`):
//! the username is `<expiry unix seconds>:<user>`, the password base64(HMAC-SHA1(secret,
//! username)). coturn recomputes the password from the same secret and refuses the username
//! once its time has passed (401), so nothing is stored and nothing has to be revoked.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// One minted credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    /// `<expiry unix seconds>:<user>`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub password: String,
}

/// Mint a credential for `user`, valid until `expires_unix` (seconds since the epoch).
#[must_use]
pub fn credential(secret: &[u8], user: &str, expires_unix: i64) -> TurnCredential {
    let username = format!("{expires_unix}:{user}");
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(username.as_bytes());
    TurnCredential { username, password: STANDARD.encode(mac.finalize().into_bytes()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against `printf %s '1700000000:p1' | openssl dgst -sha1 -hmac s3cret -binary | base64`.
    #[test]
    fn the_password_is_base64_of_hmac_sha1_of_the_username() {
        let c = credential(b"s3cret", "p1", 1_700_000_000);
        assert_eq!(c.username, "1700000000:p1");
        assert_eq!(c.password, "qgMGazZqfg3Xj1eyXcWMv9x2jo4=");
    }
}
