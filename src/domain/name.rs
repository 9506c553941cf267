//! Display names people give to mediators, operators, scenes and areas: one rule for all of them.
//!
//! A name is shown on every page, in WeChat messages and in CSV exports. It is plain text: no
//! control characters (line breaks, escapes, bidirectional overrides that reorder what a screen
//! shows) and no angle brackets, so it can never read as markup anywhere it lands. Pages render
//! it as text regardless (defence in depth); free text such as descriptions and notes may
//! legitimately hold `<` and is not subject to this rule.

/// Why a display name was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvalidName {
    /// Nothing but white space.
    #[error("must not be empty")]
    Empty,
    /// Longer than the configured maximum.
    #[error("at most {max_chars} characters")]
    TooLong {
        /// The limit (`limits.name_max_chars`).
        max_chars: usize,
    },
    /// A control or bidirectional-formatting character.
    #[error("must not contain control characters (line breaks, tabs, escapes, direction overrides)")]
    ControlCharacter,
    /// An ASCII `<` or `>` (full-width `＜＞` are fine: they are never markup).
    #[error("must not contain < or >")]
    AngleBracket,
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): invisible,
/// they reorder the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name, trimmed, if it is a valid display name of at most `max_chars` characters.
///
/// # Errors
/// [`InvalidName`] saying which rule the name breaks.
pub fn display_name(raw: &str, max_chars: usize) -> Result<String, InvalidName> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(InvalidName::TooLong { max_chars });
    }
    if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(InvalidName::ControlCharacter);
    }
    if name.contains(['<', '>']) {
        return Err(InvalidName::AngleBracket);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{InvalidName, display_name};

    #[test]
    fn names_are_trimmed_plain_text_within_the_limit() {
        let cases: &[(&str, Result<&str, InvalidName>)] = &[
            ("  幸福小区3号楼 ", Ok("幸福小区3号楼")),
            ("王调解 & 李调解 \"老王\" 's", Ok("王调解 & 李调解 \"老王\" 's")),
            ("全角＜括号＞", Ok("全角＜括号＞")),
            (" \t ", Err(InvalidName::Empty)),
            ("一二三四五", Err(InvalidName::TooLong { max_chars: 4 })),
            ("<meta http-equiv=refresh content=0>", Err(InvalidName::AngleBracket)),
            ("王>李", Err(InvalidName::AngleBracket)),
            ("王\n李", Err(InvalidName::ControlCharacter)),
            ("王\u{0}李", Err(InvalidName::ControlCharacter)),
            ("王\u{1b}[31m", Err(InvalidName::ControlCharacter)),
            ("王\u{7f}", Err(InvalidName::ControlCharacter)),
            ("王\u{85}李", Err(InvalidName::ControlCharacter)),
            ("\u{202E}解调王", Err(InvalidName::ControlCharacter)),
            ("王\u{2066}李", Err(InvalidName::ControlCharacter)),
        ];
        let max = |raw: &str| if raw.starts_with('一') { 4 } else { 64 };
        for (raw, want) in cases {
            assert_eq!(display_name(raw, max(raw)), want.clone().map(str::to_owned), "{raw:?}");
        }
    }
}
