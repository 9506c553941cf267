//! The layout engine: pages of drawing operations, A4 with a binding margin, and line filling.
//!
//! Line filling: Chinese wraps between any two characters, except that closing punctuation
//! never starts a line (it hangs at the end of the previous one), and a date (`2026年12月09日`)
//! or a run of Latin letters and digits never breaks inside. Widths are the font's own
//! advances (its `hmtx`, read once with skrifa: krilla does not expose them), so a line ends
//! where the viewer draws it; a character the font lacks is estimated (CJK one em, ASCII about
//! half).

use crate::casefile::domain::Signature;
use jiff::Timestamp;
use krilla::text::Font;
use std::collections::HashMap;
use std::sync::Arc;

pub(in crate::casefile) const PAGE_W: f32 = 595.276;
pub(super) const PAGE_H: f32 = 841.89;
/// Wide left margin: the file is bound on the left.
pub(in crate::casefile) const LEFT: f32 = 78.0;
pub(in crate::casefile) const RIGHT: f32 = 57.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 70.0;
pub(in crate::casefile) const BODY: f32 = 12.0;
pub(in crate::casefile) const LEADING: f32 = 1.6;

#[derive(Debug, Clone)]
pub(in crate::casefile) enum Op {
    Text { x: f32, y: f32, size: f32, text: String },
    Image { x: f32, y: f32, w: f32, h: f32, bytes: Vec<u8> },
    Seal { cx: f32, cy: f32, r: f32, name: String },
    Rule { x1: f32, x2: f32, y: f32 },
}

pub(in crate::casefile) struct Layout {
    pub(super) pages: Vec<Vec<Op>>,
    pub(in crate::casefile) y: f32,
    pub(super) footer: String,
    pub(super) advances: Advances,
}

/// Each character's advance in ems, as the font draws it.
#[derive(Debug, Clone, Default)]
pub struct Advances(Arc<HashMap<char, f32>>);

impl Advances {
    /// The advances of face `index` of the font file `bytes`; none (estimates only) when it
    /// does not parse.
    #[must_use]
    pub fn of(bytes: &[u8], index: u32) -> Self {
        use skrifa::MetadataProvider;
        let Ok(font) = skrifa::FontRef::from_index(bytes, index) else { return Self::default() };
        let metrics = font.glyph_metrics(skrifa::instance::Size::new(1.0), skrifa::instance::LocationRef::default());
        let map = font
            .charmap()
            .mappings()
            .filter_map(|(cp, glyph)| Some((char::from_u32(cp)?, metrics.advance_width(glyph)?)))
            .collect();
        Self(Arc::new(map))
    }

    fn char_width(&self, c: char, size: f32) -> f32 {
        let em = self.0.get(&c).copied().unwrap_or(if c.is_ascii() { 0.52 } else { 1.0 });
        em * size
    }

    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }
}

/// A font with its advances: what the layout measures and the renderer draws.
#[derive(Debug, Clone)]
pub struct Typeface {
    /// For krilla.
    pub font: Font,
    /// For line filling.
    pub advances: Advances,
}

/// Never at the start of a line (clreq): closing punctuation, and the second half of ——/…….
fn no_line_start(c: char) -> bool {
    "，。、；：？！）》」』】〕”’·—…%,.;:?!)".contains(c)
}

/// Split a paragraph into the pieces a line may not break inside: a date (`2026年12月09日`,
/// `12月9日`), a run of ASCII letters and digits, else one character.
fn units(para: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in para.char_indices() {
        let joins = match prev {
            Some(p) if p.is_ascii_alphanumeric() => c.is_ascii_alphanumeric() || "年月日".contains(c),
            Some(p) if "年月".contains(p) => c.is_ascii_digit() && i > start + p.len_utf8(),
            _ => false,
        };
        if !joins && i > start {
            out.push(&para[start..i]);
            start = i;
        }
        prev = Some(c);
    }
    if start < para.len() {
        out.push(&para[start..]);
    }
    out
}

/// Split `text` into lines at most `max_w` wide (closing punctuation may hang past it; a
/// piece wider than a whole line breaks between its characters).
fn wrap(advances: &Advances, text: &str, size: f32, max_w: f32) -> Vec<String> {
    let mut lines = vec![];
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        for unit in units(para) {
            let uw = advances.width(unit, size);
            let pieces: Vec<String> =
                if uw > max_w { unit.chars().map(String::from).collect() } else { vec![unit.to_owned()] };
            for piece in pieces {
                let pw = advances.width(&piece, size);
                let first = piece.chars().next().unwrap_or(' ');
                if w + pw > max_w && !line.is_empty() && !no_line_start(first) {
                    lines.push(std::mem::take(&mut line));
                    w = 0.0;
                }
                line.push_str(&piece);
                w += pw;
            }
        }
        lines.push(line);
    }
    lines
}

impl Layout {
    pub(in crate::casefile) fn new(footer: String, advances: Advances) -> Self {
        Self { pages: vec![vec![]], y: TOP, footer, advances }
    }

    pub(in crate::casefile) fn width(&self, text: &str, size: f32) -> f32 {
        self.advances.width(text, size)
    }

    pub(in crate::casefile) fn push(&mut self, op: Op) {
        match self.pages.last_mut() {
            Some(page) => page.push(op),
            None => self.pages.push(vec![op]),
        }
    }

    pub(super) fn new_page(&mut self) {
        self.pages.push(vec![]);
        self.y = TOP;
    }

    /// Room for `h` more points on this page, else a new page.
    pub(in crate::casefile) fn ensure(&mut self, h: f32) {
        if self.y + h > PAGE_H - BOTTOM {
            self.new_page();
        }
    }

    pub(in crate::casefile) fn title(&mut self, text: &str) {
        self.ensure(40.0);
        let size = 20.0;
        let x = (PAGE_W - self.width(text, size)) / 2.0;
        self.y += size;
        self.push(Op::Text { x, y: self.y, size, text: text.to_owned() });
        self.y += 18.0;
    }

    pub(super) fn right(&mut self, text: &str) {
        self.ensure(BODY * LEADING);
        self.y += BODY;
        let x = PAGE_W - RIGHT - self.width(text, BODY);
        self.push(Op::Text { x, y: self.y, size: BODY, text: text.to_owned() });
        self.y += BODY * (LEADING - 1.0);
    }

    /// A paragraph, wrapped, with a first-line indent of `indent` characters.
    pub(in crate::casefile) fn para(&mut self, text: &str, indent: usize) {
        let pad = "\u{3000}".repeat(indent);
        for line in wrap(&self.advances, &format!("{pad}{text}"), BODY, PAGE_W - LEFT - RIGHT) {
            self.ensure(BODY * LEADING);
            self.y += BODY;
            self.push(Op::Text { x: LEFT, y: self.y, size: BODY, text: line });
            self.y += BODY * (LEADING - 1.0);
        }
    }

    pub(in crate::casefile) fn heading(&mut self, text: &str) {
        self.ensure(BODY * LEADING * 3.0);
        self.y += 4.0;
        self.para(text, 0);
    }

    pub(in crate::casefile) fn space(&mut self, h: f32) {
        self.y += h;
    }

    /// A signature line: the label, then the image (or a blank to sign on paper) and the date.
    pub(super) fn signature_line(
        &mut self,
        label: &str,
        signature: Option<&Signature>,
        images: &HashMap<String, Vec<u8>>,
    ) {
        let h = 44.0;
        self.ensure(h + 8.0);
        let base = self.y + h - 10.0;
        self.push(Op::Text { x: LEFT, y: base, size: BODY, text: label.to_owned() });
        let x = LEFT + self.width(label, BODY) + 6.0;
        match signature.and_then(|s| Some((s, images.get(&s.image_sha256)?))) {
            Some((s, bytes)) => {
                let (w, h_img) = image_box(bytes, 140.0, h - 4.0);
                self.push(Op::Image { x, y: self.y + 2.0, w, h: h_img, bytes: bytes.clone() });
                let date = day(s.at);
                let date_x = PAGE_W - RIGHT - self.width(&date, BODY);
                self.push(Op::Text { x: date_x, y: base, size: BODY, text: date });
            }
            None => {
                self.push(Op::Rule { x1: x, x2: x + 140.0, y: base + 2.0 });
                let blank = "年    月    日";
                self.push(Op::Text {
                    x: PAGE_W - RIGHT - self.width(blank, BODY),
                    y: base,
                    size: BODY,
                    text: blank.into(),
                });
            }
        }
        self.y += h;
    }

    pub(super) fn seal(&mut self, committee: &str, seal: Option<&Vec<u8>>, date: &str) {
        self.ensure(110.0);
        let right = PAGE_W - RIGHT;
        let name_y = self.y + 40.0;
        let name_x = right - self.width(committee, BODY) - 10.0;
        self.push(Op::Text { x: name_x, y: name_y, size: BODY, text: committee.to_owned() });
        let date_x = right - self.width(date, BODY) - 30.0;
        self.push(Op::Text { x: date_x, y: name_y + 24.0, size: BODY, text: date.to_owned() });
        // The seal sits over the committee's name and the date, as stamped on paper.
        let (cx, cy, r) = (right - 80.0, name_y + 6.0, 42.0);
        match seal {
            Some(bytes) => self.push(Op::Image { x: cx - r, y: cy - r, w: 2.0 * r, h: 2.0 * r, bytes: bytes.clone() }),
            None => self.push(Op::Seal { cx, cy, r, name: committee.to_owned() }),
        }
        self.y += 100.0;
    }
}

/// Fit an image into `max_w` × `max_h`, keeping its proportions (PNG header read; JPEG: box).
fn image_box(bytes: &[u8], max_w: f32, max_h: f32) -> (f32, f32) {
    let dims = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()
        .map(|r| (r.info().width as f32, r.info().height as f32));
    match dims {
        Some((w, h)) if w > 0.0 && h > 0.0 => {
            let k = (max_w / w).min(max_h / h);
            (w * k, h * k)
        }
        _ => (max_h, max_h),
    }
}

pub(super) fn shanghai(t: Timestamp) -> jiff::Zoned {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

/// `2026年12月06日` in Asia/Shanghai.
pub(in crate::casefile) fn day(t: Timestamp) -> String {
    shanghai(t).strftime("%Y年%m月%d日").to_string()
}

pub(in crate::casefile) fn minute(t: Timestamp) -> String {
    shanghai(t).strftime("%Y年%m月%d日 %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        let text = "甲乙丙丁，戊己庚辛。壬癸";
        for max in [24.0, 36.0, 48.0, 60.0] {
            for line in wrap(&Advances::default(), text, 12.0, max).iter().skip(1) {
                assert!(!line.starts_with(no_line_start), "{line:?} at {max}");
            }
        }
    }

    #[test]
    fn a_date_never_breaks_across_lines_wherever_the_line_ends() {
        let date = "2026年12月09日";
        let text = "履行方式：当面付清现金；履行地点：南关街社区调解室；履行期限：2026年12月09日前。";
        for max in (90..=400).map(|w| w as f32) {
            let lines = wrap(&Advances::default(), text, 12.0, max);
            assert_eq!(lines.concat(), text, "nothing lost at {max}");
            assert!(lines.iter().any(|l| l.contains(date)), "{lines:?} at {max}");
        }
        assert_eq!(units("共3年2月12日，计500元"), ["共", "3年2月12日", "，", "计", "500", "元"]);
    }
}
