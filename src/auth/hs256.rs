//! The only JWT algorithm we sign and accept, HS256, as `jsonwebtoken`'s crypto provider.
//!
//! `jsonwebtoken`'s `rust_crypto` feature brings every algorithm it supports, and with them
//! the `rsa` crate (RUSTSEC-2023-0071, timing side channel, no fixed release) and the ECDSA
//! and EdDSA stacks: code we never run, kept out of the build instead of argued about. This
//! provider does HMAC-SHA256 with RustCrypto's `hmac` and `sha2` (already ours) and refuses
//! every other algorithm; JWKs are not supported (we have none).

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with one secret, as signer and verifier.
struct Hs256(HmacSha256);

impl Hs256 {
    fn keyed(secret: &[u8]) -> Result<Self, Error> {
        HmacSha256::new_from_slice(secret).map(Self).map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))
    }

    fn tag(&self, message: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(message);
        mac
    }
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.tag(message).finalize().into_bytes().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        // `verify_slice` compares in constant time.
        self.tag(message).verify_slice(tag).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn only_hs256(algorithm: Algorithm) -> Result<(), Error> {
    if algorithm == Algorithm::HS256 { Ok(()) } else { Err(ErrorKind::InvalidAlgorithm.into()) }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key: &EncodingKey| {
        only_hs256(*algorithm)?;
        Ok(Box::new(Hs256::keyed(key.try_get_hmac_secret()?)?))
    },
    verifier_factory: |algorithm, key: &DecodingKey| {
        only_hs256(*algorithm)?;
        Ok(Box::new(Hs256::keyed(key.try_get_hmac_secret()?)?))
    },
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Make HS256-only the process's `jsonwebtoken` provider (idempotent; before any signing).
pub fn install() {
    // Fails only when already installed, which is this same provider.
    let _ = PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_hs256_and_refuses_everything_else() {
        install();
        let key = b"a-test-key-a-test-key-a-test-key";
        let claims = serde_json::json!({ "sub": "x", "exp": 4_102_444_800_u64 });
        let token =
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &EncodingKey::from_secret(key)).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &DecodingKey::from_secret(key), &validation);
        assert_eq!(decoded.unwrap().claims["sub"], "x");
        let wrong = jsonwebtoken::decode::<serde_json::Value>(&token, &DecodingKey::from_secret(b"other"), &validation);
        assert!(wrong.is_err());
        let hs512 = jsonwebtoken::Header::new(Algorithm::HS512);
        assert!(jsonwebtoken::encode(&hs512, &claims, &EncodingKey::from_secret(key)).is_err());
    }
}
