//! The webhook's cryptography, exactly as WeChat does it: SHA-1 signatures over the sorted
//! parts (compared in constant time), and safe mode's AES-256-CBC with IV = key[..16] and
//! PKCS#7 padding to **32-byte** blocks (not the cipher's 16), over
//! `random(16) ‖ be32(len) ‖ xml ‖ appid`.
//!
//! Pure functions over bytes and strings; no I/O. The padding is stripped by hand because a
//! stock PKCS#7 unpadder refuses pads of 17..=32 bytes, which is about half of all messages.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// WeChat's PKCS#7 block size (the AES block is 16; WeChat pads to 32).
const PAD_BLOCK: usize = 32;
/// Length of the random prefix of every plaintext.
const RANDOM_PREFIX: usize = 16;
/// Largest ciphertext accepted, base64 characters (the body limit is smaller anyway).
const MAX_CIPHERTEXT_CHARS: usize = 1 << 20;

/// Why safe-mode data was refused. Every case is the sender's fault (a 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The EncodingAESKey is not 43 base64 characters decoding to 32 bytes.
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9] decoding to 32 bytes")]
    BadKey,
    /// `Encrypt` is not base64, or not whole AES blocks, or too large.
    #[error("ciphertext is not valid base64 of whole AES blocks")]
    BadCiphertext,
    /// The padding is not 1..=32 equal bytes (tampered or wrong key).
    #[error("bad padding")]
    BadPadding,
    /// The framing (length prefix) does not fit the plaintext, or the XML is not UTF-8.
    #[error("bad framing")]
    BadFraming,
    /// The AppID inside the plaintext is not ours.
    #[error("appid mismatch")]
    AppIdMismatch,
}

/// `hex(sha1(concat(sort(parts))))`: the URL `signature` (token, timestamp, nonce) and, with
/// the `Encrypt` value added, `msg_signature`. Sorted by bytes, joined with no separator.
#[must_use]
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut sha = Sha1::new();
    for part in sorted {
        sha.update(part.as_bytes());
    }
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Does `given` equal the signature of `parts`? Constant time in the content; exact bytes
/// (uppercase or padded hex is a mismatch, as it is for WeChat's own samples).
#[must_use]
pub fn signature_matches(parts: &[&str], given: &str) -> bool {
    let expected = signature(parts);
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Real EncodingAESKeys may carry non-zero trailing bits in their last character; strict
/// decoders refuse them (binarywang/WxJava#1454), WeChat's own samples accept them.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The AES key of a 43-character EncodingAESKey: `base64(key + "=")`, 32 bytes.
///
/// # Errors
/// [`CryptoError::BadKey`] for anything but 43 alphanumeric characters decoding to 32 bytes.
pub fn aes_key(encoding_aes_key: &str) -> Result<[u8; 32], CryptoError> {
    if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(CryptoError::BadKey);
    }
    let bytes = LENIENT.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// Safe-mode encryption for one Official Account (its key and AppID).
#[derive(Clone)]
pub struct MsgCrypt {
    key: [u8; 32],
    appid: String,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt").field("appid", &self.appid).finish_non_exhaustive()
    }
}

impl MsgCrypt {
    /// From the EncodingAESKey and the AppID checked inside every plaintext.
    ///
    /// # Errors
    /// [`CryptoError::BadKey`].
    pub fn new(encoding_aes_key: &str, appid: &str) -> Result<Self, CryptoError> {
        Ok(Self { key: aes_key(encoding_aes_key)?, appid: appid.to_owned() })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Decrypt an `Encrypt` value to the inner XML, checking padding, framing and AppID.
    ///
    /// # Errors
    /// [`CryptoError`] naming what was wrong; nothing about the plaintext leaks in it.
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, CryptoError> {
        if encrypt_b64.len() > MAX_CIPHERTEXT_CHARS {
            return Err(CryptoError::BadCiphertext);
        }
        let mut buf = STANDARD.decode(encrypt_b64.trim()).map_err(|_| CryptoError::BadCiphertext)?;
        if buf.is_empty() || buf.len() % PAD_BLOCK != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadCiphertext)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let (content, padding) = plain.split_at(plain.len() - pad);
        if padding.iter().any(|&b| usize::from(b) != pad) {
            return Err(CryptoError::BadPadding);
        }
        let framed = content.get(RANDOM_PREFIX..).ok_or(CryptoError::BadFraming)?;
        let len_bytes: [u8; 4] = framed.get(..4).and_then(|b| b.try_into().ok()).ok_or(CryptoError::BadFraming)?;
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| CryptoError::BadFraming)?;
        let rest = &framed[4..];
        if len > rest.len() {
            return Err(CryptoError::BadFraming);
        }
        let (xml, appid) = rest.split_at(len);
        if appid != self.appid.as_bytes() {
            return Err(CryptoError::AppIdMismatch);
        }
        String::from_utf8(xml.to_vec()).map_err(|_| CryptoError::BadFraming)
    }

    /// Encrypt a reply (with our AppID) under a fresh random prefix.
    ///
    /// # Panics
    /// If the OS has no randomness to give.
    #[must_use]
    pub fn encrypt(&self, xml: &str) -> String {
        let mut random = [0u8; RANDOM_PREFIX];
        getrandom::fill(&mut random).expect("the OS random source works");
        self.encrypt_with(xml, random)
    }

    /// Encrypt with a given random prefix (deterministic, for tests).
    #[must_use]
    pub fn encrypt_with(&self, xml: &str, random: [u8; RANDOM_PREFIX]) -> String {
        let len = u32::try_from(xml.len()).unwrap_or(u32::MAX);
        let mut buf = Vec::with_capacity(RANDOM_PREFIX + 4 + xml.len() + self.appid.len() + PAD_BLOCK);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(xml.as_bytes());
        buf.extend_from_slice(self.appid.as_bytes());
        let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
        // 1..=32, so this fits a byte.
        buf.resize(buf.len() + pad, u8::try_from(pad).unwrap_or(32));
        let n = buf.len();
        let cipher = cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, n)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        general_purpose::STANDARD.encode(cipher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Tencent's WXBizMsgCrypt sample vector (reproduced by many ports).
    const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const SAMPLE_APPID: &str = "wx2c2769f8efd9abc2";
    const SAMPLE_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    #[test]
    fn the_official_url_signature_example_matches() {
        // developers.weixin.qq.com message_push: Token AAAAA.
        let parts = ["AAAAA", "1714036504", "1514711492"];
        assert_eq!(signature(&parts), "f464b24fc39322e44b38aa78f5edd27bd1441696");
        assert!(signature_matches(&parts, "f464b24fc39322e44b38aa78f5edd27bd1441696"));
        assert!(signature_matches(&["1514711492", "AAAAA", "1714036504"], "f464b24fc39322e44b38aa78f5edd27bd1441696"));
    }

    #[test]
    fn near_miss_signatures_are_refused() {
        let parts = ["AAAAA", "1714036504", "1514711492"];
        for bad in [
            "F464B24FC39322E44B38AA78F5EDD27BD1441696",
            " f464b24fc39322e44b38aa78f5edd27bd1441696",
            "f464b24fc39322e44b38aa78f5edd27bd144169",
            "f464b24fc39322e44b38aa78f5edd27bd1441697",
            "",
        ] {
            assert!(!signature_matches(&parts, bad), "{bad:?}");
        }
        // Unsorted concatenation is a different signature.
        let mut sha = Sha1::new();
        sha.update(b"AAAAA17140365041514711492");
        let unsorted: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!signature_matches(&parts, &unsorted));
    }

    #[test]
    fn the_official_safe_mode_sample_verifies_and_decrypts() {
        let parts = ["spamtest", "1409735669", "1320562132", SAMPLE_ENCRYPT];
        assert!(signature_matches(&parts, "5d197aaffba7e9b25a30732f161a50dee96bd5fa"));
        let crypt = MsgCrypt::new(SAMPLE_KEY, SAMPLE_APPID).unwrap();
        let xml = crypt.decrypt(SAMPLE_ENCRYPT).unwrap();
        assert!(xml.contains("<Content><![CDATA[abcdteT]]></Content>"), "{xml}");
        assert!(xml.contains("6054768590064713728"), "{xml}");
        let other = MsgCrypt::new(SAMPLE_KEY, "wx0000000000000000").unwrap();
        assert_eq!(other.decrypt(SAMPLE_ENCRYPT), Err(CryptoError::AppIdMismatch));
    }

    #[test]
    fn keys_with_trailing_bits_decode_and_bad_keys_do_not() {
        // 43 chars carry 258 bits; the last 2 bits are dropped. A strict decoder refuses a
        // final character whose dropped bits are set (…G has them set: G = 000110).
        assert_eq!(aes_key(SAMPLE_KEY).unwrap().len(), 32);
        let zero_bits = format!("{}E", &SAMPLE_KEY[..42]); // E = 000100: dropped bits 00
        assert!(STANDARD.decode(format!("{SAMPLE_KEY}=")).is_err(), "the sample key has trailing bits");
        assert_eq!(aes_key(SAMPLE_KEY).unwrap(), aes_key(&zero_bits).unwrap());
        for bad in ["", "short", &"a".repeat(44), &format!("{}+", &SAMPLE_KEY[..42])] {
            assert_eq!(aes_key(bad), Err(CryptoError::BadKey), "{bad}");
        }
    }

    #[test]
    fn tampered_or_malformed_ciphertexts_are_refused() {
        let crypt = MsgCrypt::new(SAMPLE_KEY, SAMPLE_APPID).unwrap();
        assert_eq!(crypt.decrypt("not base64!"), Err(CryptoError::BadCiphertext));
        assert_eq!(crypt.decrypt(&STANDARD.encode([0u8; 20])), Err(CryptoError::BadCiphertext));
        assert_eq!(crypt.decrypt(""), Err(CryptoError::BadCiphertext));
        let mut raw = STANDARD.decode(SAMPLE_ENCRYPT).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 0x55; // garbles the last block: padding check fails
        assert!(crypt.decrypt(&STANDARD.encode(&raw)).is_err());
        let mut raw = STANDARD.decode(SAMPLE_ENCRYPT).unwrap();
        raw[20] ^= 1; // CBC: flips a bit of the next block's plaintext (the framing)
        assert!(crypt.decrypt(&STANDARD.encode(&raw)).is_err());
    }

    #[test]
    fn encrypt_is_deterministic_for_a_given_prefix() {
        let crypt = MsgCrypt::new(SAMPLE_KEY, SAMPLE_APPID).unwrap();
        let a = crypt.encrypt_with("<xml/>", [7; 16]);
        assert_eq!(a, crypt.encrypt_with("<xml/>", [7; 16]));
        assert_ne!(a, crypt.encrypt_with("<xml/>", [8; 16]));
        assert_eq!(STANDARD.decode(&a).unwrap().len() % 32, 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn encrypt_then_decrypt_round_trips_with_every_pad_length(len in 0usize..200, fill in any::<u8>()) {
            let crypt = MsgCrypt::new(SAMPLE_KEY, SAMPLE_APPID).unwrap();
            let xml: String = std::iter::repeat_n(char::from(b'a' + fill % 26), len).collect();
            let cipher = crypt.encrypt(&xml);
            prop_assert_eq!(crypt.decrypt(&cipher).unwrap(), xml);
        }

        #[test]
        fn every_padding_length_from_1_to_32_occurs_and_round_trips(pad in 1usize..=32) {
            // 16 + 4 + appid (18) = 38 bytes of framing; choose the XML length for this pad.
            let crypt = MsgCrypt::new(SAMPLE_KEY, SAMPLE_APPID).unwrap();
            let framing = 16 + 4 + SAMPLE_APPID.len();
            let len = (64 - pad + 64 - framing) % 32 + 32;
            let xml = "x".repeat(len);
            prop_assert_eq!((framing + len + pad) % 32, 0);
            let raw = STANDARD.decode(crypt.encrypt(&xml)).unwrap();
            prop_assert_eq!(raw.len(), framing + len + pad);
            prop_assert_eq!(crypt.decrypt(&STANDARD.encode(raw)).unwrap(), xml);
        }
    }
}
