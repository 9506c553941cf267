//! The limits every case-file input is held to and the checks that enforce them: lengths,
//! phones, resident ID numbers, signature images; masking and hashing for what lists show.

use sha2::{Digest, Sha256};

/// Most parties on one case.
pub const MAX_PARTIES: usize = 10;
/// Longest party name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Most record entries on one case.
pub const MAX_RECORD_ENTRIES: usize = 300;
/// Longest record entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 5000;
/// Longest agreement section (facts, points in dispute, responsibility), in characters.
pub const MAX_SECTION_CHARS: usize = 5000;
/// Most agreed terms.
pub const MAX_TERMS: usize = 30;
/// Longest agreed term, in characters.
pub const MAX_TERM_CHARS: usize = 1000;
/// Longest performance method or place, in characters.
pub const MAX_PERFORMANCE_CHARS: usize = 500;
/// Most agreement versions one case may go through.
pub const MAX_VERSIONS: usize = 50;
/// Largest signature or thumb-print image, in bytes (decoded).
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;
/// Largest signature image side, in pixels.
pub const MAX_IMAGE_SIDE_PX: u32 = 3000;
/// The layout the text hash covers: a new layout changes every hash.
pub const TEXT_LAYOUT: &str = "agreement-v1";

/// A field the case file refuses, in domain words (the HTTP edge makes it a 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct Invalid {
    /// Which field.
    pub field: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl Invalid {
    /// Field `field` is wrong because `why`.
    #[must_use]
    pub fn new(field: &'static str, why: impl Into<String>) -> Self {
        Self { field, why: why.into() }
    }
}

/// Characters of `text` within `min..=max`.
///
/// # Errors
/// [`Invalid`] naming `field`.
pub fn check_chars(field: &'static str, text: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = text.chars().count();
    if n < min || n > max {
        return Err(Invalid::new(field, format!("must be {min}..={max} characters (got {n})")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// A phone as parties give it: 5..=20 of digits, `+`, `-` and spaces, at least 5 digits.
///
/// # Errors
/// [`Invalid`] on `phone`.
pub fn parse_phone(raw: &str) -> Result<String, Invalid> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if s.len() > 20 || digits < 5 || !s.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
        return Err(Invalid::new("phone", "a phone number: 5..=20 digits, '+' or '-'"));
    }
    Ok(s)
}

/// A mainland resident ID number (18 characters, checksum verified; `x` is read as `X`).
///
/// # Errors
/// [`Invalid`] on `id_number`.
pub fn parse_id_number(raw: &str) -> Result<String, Invalid> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let s = raw.trim().to_ascii_uppercase();
    let bytes = s.as_bytes();
    let bad = || Invalid::new("id_number", "an 18-character resident ID number with a valid last digit");
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    if CHECK[(sum % 11) as usize] != bytes[17] {
        return Err(bad());
    }
    Ok(s)
}

/// `13812345678` → `138****5678`; short numbers keep only their last 4.
#[must_use]
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("****{tail}")
    }
}

/// An ID number with all but the first 6 and last 4 characters hidden.
#[must_use]
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// SHA-256 as lowercase hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What kind of image these bytes are, after checking size and (for PNG) dimensions.
///
/// # Errors
/// [`Invalid`] on `image`.
pub fn check_image(bytes: &[u8]) -> Result<ImageKind, Invalid> {
    if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
        return Err(Invalid::new("image", format!("1..={MAX_IMAGE_BYTES} bytes")));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageKind::Jpeg);
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().map_err(|_| Invalid::new("image", "must be a PNG or JPEG image"))?;
    let info = reader.info();
    if info.width == 0 || info.height == 0 || info.width > MAX_IMAGE_SIDE_PX || info.height > MAX_IMAGE_SIDE_PX {
        return Err(Invalid::new("image", format!("sides must be 1..={MAX_IMAGE_SIDE_PX} px")));
    }
    Ok(ImageKind::Png)
}

/// A signature image's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG (canvas signatures, seals).
    Png,
    /// JPEG (photographed thumb prints).
    Jpeg,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_numbers_are_checked_by_their_last_digit() {
        assert_eq!(parse_id_number("11010519491231002x").unwrap(), "11010519491231002X");
        assert!(parse_id_number("110105194912310021").is_err());
        assert!(parse_id_number("1101051949123100").is_err());
    }

    #[test]
    fn phones_and_id_numbers_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
    }
}
