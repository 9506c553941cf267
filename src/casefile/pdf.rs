//! A4 PDFs of the case file: the agreement (人民调解协议书), the record (调解笔录) and the whole
//! file (卷宗), in Chinese, with the signature images and the committee's seal, the font
//! embedded and subset (krilla). Layout first (pure: pages of drawing operations), then one
//! rendering pass, so page footers know the page count.
//!
//! Line filling: Chinese wraps between any two characters, except that closing punctuation
//! never starts a line (it hangs at the end of the previous one), and a date (`2026年12月09日`)
//! or a run of Latin letters and digits never breaks inside. Widths are the font's own
//! advances (its `hmtx`, read once with skrifa: krilla does not expose them), so a line ends
//! where the viewer draws it; a character the font lacks is estimated (CJK one em, ASCII about
//! half).

use super::domain::{AgreementVersion, CaseFile, FollowUpAction, Performance, Signature, Signer};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use jiff::Timestamp;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use std::collections::HashMap;
use std::sync::Arc;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The current (latest) agreement version, with its own signatures.
    Agreement,
    /// The mediation record.
    Record,
    /// The whole case file.
    CaseFile,
}

/// Everything a document shows.
#[derive(Debug, Clone)]
pub struct Input {
    /// The incident.
    pub incident: Incident,
    /// Its case file.
    pub case: CaseFile,
    /// Signature images by SHA-256.
    pub images: HashMap<String, Vec<u8>>,
    /// The committee's name.
    pub committee: String,
    /// The committee's seal (PNG), else a drawn one.
    pub seal: Option<Vec<u8>>,
    /// The holding mediator's name.
    pub mediator: String,
    /// The incident's timeline (the file's last section).
    pub timeline: Vec<TimelineEntry>,
}

pub(super) const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
/// Wide left margin: the file is bound on the left.
pub(super) const LEFT: f32 = 78.0;
pub(super) const RIGHT: f32 = 57.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 70.0;
pub(super) const BODY: f32 = 12.0;
pub(super) const LEADING: f32 = 1.6;

#[derive(Debug, Clone)]
pub(super) enum Op {
    Text { x: f32, y: f32, size: f32, text: String },
    Image { x: f32, y: f32, w: f32, h: f32, bytes: Vec<u8> },
    Seal { cx: f32, cy: f32, r: f32, name: String },
    Rule { x1: f32, x2: f32, y: f32 },
}

pub(super) struct Layout {
    pages: Vec<Vec<Op>>,
    pub(super) y: f32,
    footer: String,
    advances: Advances,
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

    fn width(&self, text: &str, size: f32) -> f32 {
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
    pub(super) fn new(footer: String, advances: Advances) -> Self {
        Self { pages: vec![vec![]], y: TOP, footer, advances }
    }

    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        self.advances.width(text, size)
    }

    pub(super) fn push(&mut self, op: Op) {
        match self.pages.last_mut() {
            Some(page) => page.push(op),
            None => self.pages.push(vec![op]),
        }
    }

    fn new_page(&mut self) {
        self.pages.push(vec![]);
        self.y = TOP;
    }

    /// Room for `h` more points on this page, else a new page.
    pub(super) fn ensure(&mut self, h: f32) {
        if self.y + h > PAGE_H - BOTTOM {
            self.new_page();
        }
    }

    pub(super) fn title(&mut self, text: &str) {
        self.ensure(40.0);
        let size = 20.0;
        let x = (PAGE_W - self.width(text, size)) / 2.0;
        self.y += size;
        self.push(Op::Text { x, y: self.y, size, text: text.to_owned() });
        self.y += 18.0;
    }

    fn right(&mut self, text: &str) {
        self.ensure(BODY * LEADING);
        self.y += BODY;
        let x = PAGE_W - RIGHT - self.width(text, BODY);
        self.push(Op::Text { x, y: self.y, size: BODY, text: text.to_owned() });
        self.y += BODY * (LEADING - 1.0);
    }

    /// A paragraph, wrapped, with a first-line indent of `indent` characters.
    pub(super) fn para(&mut self, text: &str, indent: usize) {
        let pad = "\u{3000}".repeat(indent);
        for line in wrap(&self.advances, &format!("{pad}{text}"), BODY, PAGE_W - LEFT - RIGHT) {
            self.ensure(BODY * LEADING);
            self.y += BODY;
            self.push(Op::Text { x: LEFT, y: self.y, size: BODY, text: line });
            self.y += BODY * (LEADING - 1.0);
        }
    }

    pub(super) fn heading(&mut self, text: &str) {
        self.ensure(BODY * LEADING * 3.0);
        self.y += 4.0;
        self.para(text, 0);
    }

    pub(super) fn space(&mut self, h: f32) {
        self.y += h;
    }

    /// A signature line: the label, then the image (or a blank to sign on paper) and the date.
    fn signature_line(&mut self, label: &str, signature: Option<&Signature>, images: &HashMap<String, Vec<u8>>) {
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

    fn seal(&mut self, committee: &str, seal: Option<&Vec<u8>>, date: &str) {
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

fn shanghai(t: Timestamp) -> jiff::Zoned {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

/// `2026年12月06日` in Asia/Shanghai.
pub(super) fn day(t: Timestamp) -> String {
    shanghai(t).strftime("%Y年%m月%d日").to_string()
}

pub(super) fn minute(t: Timestamp) -> String {
    shanghai(t).strftime("%Y年%m月%d日 %H:%M").to_string()
}

/// The case number printed on every document: the year and the incident id's tail.
fn case_number(incident: &Incident) -> String {
    let id = incident.id.to_string();
    let tail: String =
        id.chars().rev().filter(char::is_ascii_alphanumeric).take(6).collect::<Vec<_>>().into_iter().rev().collect();
    format!("（{}）调字第{}号", shanghai(incident.created_at).year(), tail.to_uppercase())
}

const CHINESE_NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn numeral(i: usize) -> String {
    match i {
        1..=10 => CHINESE_NUMERALS[i - 1].to_owned(),
        11..=19 => format!("十{}", CHINESE_NUMERALS[i - 11]),
        20..=99 => {
            let unit = if i.is_multiple_of(10) { String::new() } else { CHINESE_NUMERALS[i % 10 - 1].to_owned() };
            format!("{}十{unit}", CHINESE_NUMERALS[i / 10 - 1])
        }
        _ => i.to_string(),
    }
}

fn party_particulars(input: &Input, party_id: &str) -> String {
    let Some(p) = input.case.parties.iter().find(|p| p.id == party_id) else { return String::new() };
    let mut s = format!("{}：{}", p.role.label(), p.name);
    if let Some(phone) = &p.phone_masked {
        s.push_str(&format!("，联系方式：{phone}"));
    }
    if let Some(id) = &p.id_number_masked {
        s.push_str(&format!("，身份证号：{id}"));
    }
    if let Some(a) = &p.address {
        s.push_str(&format!("，住址：{a}"));
    }
    s.push('。');
    s
}

fn agreement(l: &mut Layout, input: &Input, v: &AgreementVersion) {
    let d = &v.draft;
    l.title("人民调解协议书");
    l.right(&format!("编号：{}", case_number(&input.incident)));
    l.right(&format!("第{}版", v.number));
    l.space(6.0);
    l.heading("当事人基本情况：");
    for p in &v.parties {
        l.para(&party_particulars(input, &p.party_id), 2);
    }
    l.heading("纠纷主要事实、争议事项：");
    l.para(&d.facts, 2);
    if !d.issues.is_empty() {
        l.para(&format!("争议事项：{}", d.issues), 2);
    }
    if !d.responsibility.is_empty() {
        l.heading("各方责任：");
        l.para(&d.responsibility, 2);
    }
    l.heading("经调解，各方当事人自愿达成如下协议：");
    for (i, t) in d.terms.iter().enumerate() {
        l.para(&format!("{}、{t}", numeral(i + 1)), 2);
    }
    l.heading("履行方式、地点、期限：");
    let due = d.performance_due.map(|x| x.strftime("%Y年%m月%d日").to_string()).unwrap_or_else(|| "____".into());
    l.para(&format!("履行方式：{}；履行地点：{}；履行期限：{due}前。", d.performance_method, d.performance_place), 2);
    l.space(4.0);
    l.para("本协议自各方当事人签名（盖章或按指印）、人民调解员签名并加盖人民调解委员会印章之日起生效。", 2);
    l.para(&format!("本协议一式{}份，当事人各执一份，人民调解委员会留存一份。", v.parties.len() + 1), 2);
    l.space(10.0);
    for p in &v.parties {
        let signer = Signer::Party { party_id: p.party_id.clone() };
        let s = v.signatures.iter().find(|s| s.signer == signer);
        let label = format!("{}（签名、盖章或按指印）{}：", p.role.label(), p.name);
        l.signature_line(&label, s, &input.images);
    }
    let mediator = v.signatures.iter().find(|s| s.signer == Signer::Mediator);
    l.signature_line(&format!("人民调解员（签名）{}：", input.mediator), mediator, &input.images);
    let date = v.effective_at.map_or_else(|| "年    月    日".into(), day);
    let seal = v.effective_at.map(|_| input.seal.as_ref());
    match seal {
        Some(seal) => l.seal(&input.committee, seal, &date),
        None => {
            l.space(10.0);
            l.right(&input.committee);
            l.right(&date);
        }
    }
}

fn record(l: &mut Layout, input: &Input) {
    let c = &input.case;
    let i = &input.incident;
    l.title("人民调解笔录");
    l.right(&format!("编号：{}", case_number(i)));
    let span = match (c.record.first(), c.record.last()) {
        (Some(a), Some(b)) => format!("{} 至 {}", minute(a.at), minute(b.at)),
        _ => "（尚无记录）".into(),
    };
    l.para(&format!("时间：{span}"), 0);
    let place = i.address.clone().or(i.place_name.clone()).unwrap_or_else(|| "____".into());
    l.para(&format!("地点：{place}"), 0);
    l.para(&format!("事由：{}", i.category.label_zh()), 0);
    l.para(&format!("调解员：{}        记录人：{}", input.mediator, input.mediator), 0);
    let names: Vec<String> = c.parties.iter().map(|p| format!("{}{}", p.role.label(), p.name)).collect();
    l.para(&format!("当事人：{}", names.join("、")), 0);
    l.space(4.0);
    l.para(
        "调解员：依照《中华人民共和国人民调解法》，人民调解委员会调解民间纠纷不收取任何费用。当事人在调解活动中享有自愿参加、自主表达意愿、自愿达成协议等权利，并负有如实陈述纠纷事实、遵守调解现场秩序、尊重对方当事人的义务。",
        2,
    );
    let mut session = 0;
    for e in &c.record {
        if e.session != session {
            session = e.session;
            l.heading(&format!("第{}次调解", numeral(session as usize)));
        }
        l.para(&format!("{}  {}", shanghai(e.at).strftime("%H:%M"), e.text), 2);
    }
    l.space(10.0);
    l.para("以上笔录已向当事人宣读（或由当事人阅看），确认无误。", 2);
    for p in &c.parties {
        let signer = Signer::Party { party_id: p.id.clone() };
        let s = c.record_signatures.iter().find(|s| s.signer == signer);
        l.signature_line(&format!("{}（签名）{}：", p.role.label(), p.name), s, &input.images);
    }
    let s = c.record_signatures.iter().find(|s| s.signer == Signer::Mediator);
    l.signature_line(&format!("调解员（签名）{}：", input.mediator), s, &input.images);
}

fn case_file(l: &mut Layout, input: &Input) {
    let i = &input.incident;
    l.space(120.0);
    l.title("人民调解卷宗");
    l.space(40.0);
    l.para(&format!("卷号：{}", case_number(i)), 6);
    l.para(&format!("案由：{}", i.category.label_zh()), 6);
    l.para(&format!("调解组织：{}", input.committee), 6);
    l.para(&format!("人民调解员：{}", input.mediator), 6);
    l.para(&format!("受理日期：{}", day(i.created_at)), 6);
    let closed = i.resolved_at.map_or_else(|| "（未结）".into(), day);
    l.para(&format!("结案日期：{closed}"), 6);
    l.para("保管期限：长期", 6);
    l.new_page();
    l.title("卷内目录");
    for (n, what) in ["受理登记", "调解笔录", "调解协议书", "回访记录", "办理过程"].iter().enumerate()
    {
        l.para(&format!("{}、{what}", numeral(n + 1)), 2);
    }
    l.new_page();
    l.title("受理登记");
    l.para(&format!("受理时间：{}", minute(i.created_at)), 0);
    l.para(&format!("纠纷类型：{}", i.category.label_zh()), 0);
    let place = i.address.clone().or(i.place_name.clone()).unwrap_or_else(|| "____".into());
    l.para(&format!("地点：{place}"), 0);
    l.para(&format!("反映情况：{}", i.description), 0);
    for p in &input.case.parties {
        l.para(&party_particulars(input, &p.id), 0);
    }
    l.new_page();
    record(l, input);
    if let Some(v) = input.case.in_effect().or(input.case.current()) {
        l.new_page();
        agreement(l, input, v);
    }
    l.new_page();
    l.title("回访记录");
    match &i.feedback {
        Some(f) => {
            let verdict = if f.resolved { "已解决" } else { "未解决" };
            l.para(
                &format!(
                    "{}  当事人评价：{}分，{verdict}。{}",
                    minute(f.at),
                    f.rating,
                    f.comment.clone().unwrap_or_default()
                ),
                0,
            );
        }
        None => l.para("（尚未回访）", 0),
    }
    for f in &input.case.follow_ups {
        let found = match f.performance {
            Performance::Performed => "已履行",
            Performance::Partly => "部分履行",
            Performance::NotPerformed => "未履行",
        };
        let action = match f.action {
            FollowUpAction::None => "",
            FollowUpAction::Urged => "，已督促履行",
            FollowUpAction::AdvisedToSue => "，已告知可向人民法院起诉",
        };
        l.para(&format!("{}  履行情况：{found}{action}。{}", minute(f.at), f.note), 0);
    }
    if let Some(c) = &input.case.confirmation {
        let result = match c.result.as_deref() {
            Some("confirmed") => "，已确认",
            Some("rejected") => "，已驳回",
            _ => "",
        };
        l.heading("司法确认");
        l.para(&format!("{}向{}申请司法确认{result}。", c.applied_on.strftime("%Y年%m月%d日"), c.court), 2);
    }
    l.heading("办理过程");
    for e in &input.timeline {
        let event = serde_json::to_value(&e.event)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_owned)))
            .unwrap_or_default();
        l.para(&format!("{}  {event}", minute(e.at)), 0);
    }
}

/// Lay out and render one document.
#[must_use]
pub fn render(which: Which, input: &Input, face: &Typeface) -> Vec<u8> {
    let version = input.case.current();
    let footer = match (which, version) {
        (Which::Agreement, Some(v)) => {
            let hash = v.text_sha256();
            format!("文本摘要 SHA-256 {}…  第{}版", &hash[..12], v.number)
        }
        _ => case_number(&input.incident),
    };
    let mut l = Layout::new(footer, face.advances.clone());
    match which {
        Which::Agreement => {
            if let Some(v) = version {
                agreement(&mut l, input, v);
            }
        }
        Which::Record => record(&mut l, input),
        Which::CaseFile => case_file(&mut l, input),
    }
    draw(&l, face.font.clone())
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

pub(super) fn draw(l: &Layout, font: Font) -> Vec<u8> {
    let mut doc = Document::new();
    let total = l.pages.len();
    for (n, ops) in l.pages.iter().enumerate() {
        let Some(settings) = PageSettings::from_wh(PAGE_W, PAGE_H) else { continue };
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        surface.set_fill(Some(fill(0, 0, 0)));
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => {
                    surface.draw_text(Point::from_xy(*x, *y), font.clone(), *size, text, false, TextDirection::Auto);
                }
                Op::Image { x, y, w, h, bytes } => {
                    let data: krilla::Data = Arc::new(bytes.clone()).into();
                    let image = if bytes.starts_with(&[0xFF, 0xD8]) {
                        Image::from_jpeg(data, true)
                    } else {
                        Image::from_png(data, true)
                    };
                    if let (Ok(image), Some(size)) = (image, Size::from_wh(*w, *h)) {
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        surface.draw_image(image, size);
                        surface.pop();
                    }
                }
                Op::Rule { x1, x2, y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y);
                    pb.line_to(*x2, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke { width: 0.6, ..Default::default() }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(0, 0, 0)));
                    }
                }
                Op::Seal { cx, cy, r, name } => draw_seal(&mut surface, (&font, &l.advances), *cx, *cy, *r, name),
            }
        }
        let foot = format!("{}    第{}页 共{}页", l.footer, n + 1, total);
        let x = (PAGE_W - l.width(&foot, 9.0)) / 2.0;
        surface.set_fill(Some(fill(90, 90, 90)));
        surface.draw_text(Point::from_xy(x, PAGE_H - 36.0), font.clone(), 9.0, &foot, false, TextDirection::Auto);
        surface.finish();
        page.finish();
    }
    // Rendering only fails on a broken font or image, which were checked when accepted.
    doc.finish().unwrap_or_default()
}

/// A red round seal: ring, star, and the committee's name across it.
fn draw_seal(
    surface: &mut krilla::surface::Surface<'_>,
    (font, advances): (&Font, &Advances),
    cx: f32,
    cy: f32,
    r: f32,
    name: &str,
) {
    let red = rgb::Color::new(200, 16, 16);
    let mut ring = PathBuilder::new();
    let steps = 72;
    for k in 0..=steps {
        let a = k as f32 / steps as f32 * std::f32::consts::TAU;
        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
        if k == 0 { ring.move_to(x, y) } else { ring.line_to(x, y) }
    }
    let mut star = PathBuilder::new();
    for k in 0..10 {
        let a = -std::f32::consts::FRAC_PI_2 + k as f32 * std::f32::consts::PI / 5.0;
        let rr = if k % 2 == 0 { r * 0.28 } else { r * 0.11 };
        let (x, y) = (cx + rr * a.cos(), cy - r * 0.12 + rr * a.sin());
        if k == 0 { star.move_to(x, y) } else { star.line_to(x, y) }
    }
    star.close();
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke { paint: red.into(), width: 2.5, ..Default::default() }));
    if let Some(p) = ring.finish() {
        surface.draw_path(&p);
    }
    surface.set_stroke(None);
    surface.set_fill(Some(Fill { paint: red.into(), opacity: NormalizedF32::ONE, rule: Default::default() }));
    if let Some(p) = star.finish() {
        surface.draw_path(&p);
    }
    let size = (1.5 * r / name.chars().count().max(1) as f32).min(11.0);
    let x = cx - advances.width(name, size) / 2.0;
    surface.draw_text(Point::from_xy(x, cy + r * 0.55), font.clone(), size, name, false, TextDirection::Auto);
    surface.set_fill(Some(fill(0, 0, 0)));
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

    #[test]
    fn numerals_read_as_in_documents() {
        assert_eq!(numeral(1), "一");
        assert_eq!(numeral(12), "十二");
        assert_eq!(numeral(20), "二十");
        assert_eq!(numeral(23), "二十三");
    }

    #[test]
    fn party_roles_have_their_paper_names() {
        assert_eq!(crate::casefile::domain::PartyRole::Respondent.label(), "被申请人");
    }
}
