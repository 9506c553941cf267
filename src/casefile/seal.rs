//! Sealing parties' phones and ID numbers at rest: XChaCha20-Poly1305 with a random 192-bit
//! nonce per value, the incident and field bound in as associated data (a ciphertext copied
//! to another case or field does not open), and the key's id stored with each ciphertext.
//!
//! Rotation without downtime: `GD_CASEFILE__KEYS="k2=<base64 32 bytes>,k1=<…>"`. The first key
//! seals new values; every listed key opens old ones. Roll out the new list (new key first, old
//! still listed) to every instance, and old records stay readable; drop the old key only once
//! nothing sealed with it remains.

use super::domain::Sealed;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The key list is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("casefile.keys: {0}")]
pub struct BadKeys(String);

/// A sealed value does not open: unknown key id, or tampered/misplaced ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed field does not open ({0})")]
pub struct Unopenable(&'static str);

/// The keys. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    inner: Arc<Inner>,
}

struct Inner {
    current: String,
    keys: HashMap<String, XChaCha20Poly1305>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("current", &self.inner.current).finish_non_exhaustive()
    }
}

impl Sealer {
    /// Parse `kid=base64key,kid=base64key` (32-byte keys, standard or URL-safe base64); the
    /// first seals.
    ///
    /// # Errors
    /// [`BadKeys`] naming what is wrong (never the key).
    pub fn from_spec(spec: &str) -> Result<Self, BadKeys> {
        let mut current = None;
        let mut keys = HashMap::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (kid, b64) = item.split_once('=').ok_or_else(|| BadKeys("each key is kid=base64".into()))?;
            let kid = kid.trim();
            if kid.is_empty() || kid.len() > 16 || !kid.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(BadKeys("a key id is 1..=16 letters or digits".into()));
            }
            let b64 = b64.trim().trim_end_matches('=');
            let raw = B64
                .decode(b64.replace('+', "-").replace('/', "_"))
                .map_err(|_| BadKeys(format!("key {kid} is not base64")))?;
            if raw.len() != 32 {
                return Err(BadKeys(format!("key {kid} must be 32 bytes")));
            }
            if keys.insert(kid.to_owned(), XChaCha20Poly1305::new(Key::from_slice(&raw))).is_some() {
                return Err(BadKeys(format!("key {kid} is listed twice")));
            }
            current.get_or_insert_with(|| kid.to_owned());
        }
        let current = current.ok_or_else(|| BadKeys("no key".into()))?;
        Ok(Self { inner: Arc::new(Inner { current, keys }) })
    }

    /// A random key for this run only (nothing sealed with it opens after a restart).
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("the OS random source works");
        Self::from_spec(&format!("run={}", B64.encode(raw))).expect("a well-formed key")
    }

    /// The id of the key that seals.
    #[must_use]
    pub fn current_key_id(&self) -> &str {
        &self.inner.current
    }

    /// Seal `plain`, bound to `context` (incident and field).
    #[must_use]
    pub fn seal(&self, context: &str, plain: &str) -> Sealed {
        let cipher = &self.inner.keys[&self.inner.current];
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encrypts any length we store");
        Sealed(format!("{}.{}.{}", self.inner.current, B64.encode(nonce), B64.encode(ct)))
    }

    /// Open a sealed value with whichever listed key sealed it.
    ///
    /// # Errors
    /// [`Unopenable`] when the key is no longer listed or the ciphertext was altered or moved.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<String, Unopenable> {
        let mut parts = sealed.0.split('.');
        let (Some(kid), Some(nonce), Some(ct), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Unopenable("malformed"));
        };
        let cipher = self.inner.keys.get(kid).ok_or(Unopenable("its key is not configured"))?;
        let nonce = B64.decode(nonce).map_err(|_| Unopenable("malformed"))?;
        let ct = B64.decode(ct).map_err(|_| Unopenable("malformed"))?;
        if nonce.len() != 24 {
            return Err(Unopenable("malformed"));
        }
        let plain = cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: context.as_bytes() })
            .map_err(|_| Unopenable("altered or moved"))?;
        String::from_utf8(plain).map_err(|_| Unopenable("not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const K2: &str = "k2=HxwdHh8bGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE";

    #[test]
    fn a_value_sealed_under_the_old_key_opens_after_a_new_key_is_added() {
        let old = Sealer::from_spec(K1).unwrap();
        let sealed = old.seal("inc:phone", "13812345678");
        let rotated = Sealer::from_spec(&format!("{K2},{K1}")).unwrap();
        assert_eq!(rotated.open("inc:phone", &sealed).unwrap(), "13812345678");
        assert!(rotated.seal("x", "y").0.starts_with("k2."));
        assert!(Sealer::from_spec(K2).unwrap().open("inc:phone", &sealed).is_err());
    }

    #[test]
    fn a_sealed_value_does_not_open_in_another_place() {
        let s = Sealer::from_spec(K1).unwrap();
        let sealed = s.seal("a:phone", "13812345678");
        assert!(s.open("b:phone", &sealed).is_err());
        assert!(!sealed.0.contains("13812345678"));
    }

    #[test]
    fn malformed_key_lists_are_refused() {
        assert!(Sealer::from_spec("").is_err());
        assert!(Sealer::from_spec("k1=short").is_err());
        assert!(Sealer::from_spec(&format!("{K1},{K1}")).is_err());
    }
}
