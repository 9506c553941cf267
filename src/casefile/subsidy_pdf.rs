//! The monthly subsidy report (以案定补) as an A4 PDF: the range, committee and rates, a table per
//! committee and per mediator with the total, and lines to sign for who drew it up and who
//! checked it. Laid out with `pdf/`'s pages and font (embedded and subset).

use super::pdf::{BODY, LEADING, LEFT, Layout, Op, PAGE_W, RIGHT, Typeface, draw, minute};
use super::subsidy::{SubsidyReport, Tally};
use super::{CaseFileError, CaseFiles};
use jiff::Timestamp;

/// Table text size: nine columns of figures fit an A4 page at 10 pt.
const TABLE: f32 = 10.0;
/// Column heads, smaller: 重大疑难 fits its column.
const HEAD: f32 = 9.0;
/// The name column's width; the nine figures share the rest (40 pt each).
const NAME_W: f32 = 100.0;

/// Column heads after the name.
const HEADS: [&str; 9] = ["案件", "简易", "一般", "重大疑难", "未定级", "协议", "履行", "确认", "补助(元)"];

fn date(iso: &str) -> String {
    iso.parse::<jiff::civil::Date>().map_or_else(|_| iso.to_owned(), |d| d.strftime("%Y年%m月%d日").to_string())
}

/// Cut `text` to fit `max_w` (names are short; a long one ends in …).
fn fit(l: &Layout, text: &str, size: f32, max_w: f32) -> String {
    let width = |t: &str| l.width(t, size);
    if width(text) <= max_w {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width(&out) + width("…") + width(&c.to_string()) > max_w {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn row(l: &mut Layout, cells: &[String], size: f32) {
    let h = TABLE * LEADING;
    l.ensure(h);
    l.y += TABLE;
    let col_w = (PAGE_W - LEFT - RIGHT - NAME_W) / HEADS.len() as f32;
    if let Some((name, figures)) = cells.split_first() {
        l.push(Op::Text { x: LEFT, y: l.y, size, text: fit(l, name, size, NAME_W - 4.0) });
        for (k, cell) in figures.iter().enumerate() {
            // Figures right-aligned in their column.
            let right = LEFT + NAME_W + col_w * (k as f32 + 1.0) - 2.0;
            let x = right - l.width(cell, size);
            l.push(Op::Text { x, y: l.y, size, text: cell.clone() });
        }
    }
    l.y += h - TABLE;
    l.push(Op::Rule { x1: LEFT, x2: PAGE_W - RIGHT, y: l.y - 3.0 });
}

fn figures(name: &str, t: &Tally) -> Vec<String> {
    let mut cells = vec![name.to_owned()];
    cells.extend(
        [t.cases, t.simple, t.general, t.major_difficult, t.ungraded, t.agreements, t.performed, t.confirmed]
            .map(|n| n.to_string()),
    );
    cells.push(t.subsidy_yuan.to_string());
    cells
}

fn table<'a>(l: &mut Layout, head: &str, rows: impl Iterator<Item = (&'a str, &'a Tally)>, total: &Tally) {
    l.space(6.0);
    let mut heads = vec![head.to_owned()];
    heads.extend(HEADS.map(str::to_owned));
    row(l, &heads, HEAD);
    for (name, t) in rows {
        row(l, &figures(name, t), TABLE);
    }
    row(l, &figures("合计", total), TABLE);
}

/// Lay out and render the report.
#[must_use]
pub fn render(r: &SubsidyReport, made_at: Timestamp, face: &Typeface) -> Vec<u8> {
    let mut l = Layout::new(format!("以案定补 {} 至 {}", r.from, r.to), face.advances.clone());
    l.title("人民调解以案定补个案补助统计表");
    l.para(&format!("统计期间：{}至{}（按办结日期）", date(&r.from), date(&r.to)), 0);
    l.para(&format!("调解委员会：{}", r.committee.as_deref().unwrap_or("全部")), 0);
    let rates = &r.rates;
    let rule =
        if rates.require_agreement { "达成协议的案件按难度计补" } else { "办结案件按难度计补" };
    l.para(
        &format!(
            "补助标准（元/件）：简易{}，一般{}，重大疑难{}；经司法确认另加{}。{}，未定级案件不计补助。",
            rates.simple_yuan, rates.general_yuan, rates.major_difficult_yuan, rates.confirmed_bonus_yuan, rule
        ),
        0,
    );
    l.heading("一、按调解委员会");
    let committees = r.committees.iter().map(|c| (c.committee.as_str(), &c.figures));
    table(&mut l, "调解委员会", committees, &r.total);
    l.heading("二、按调解员");
    let mediators = r
        .mediators
        .iter()
        .map(|m| (if m.name.is_empty() { m.mediator_id.as_str() } else { m.name.as_str() }, &m.figures));
    table(&mut l, "调解员", mediators, &r.total);
    l.space(10.0);
    l.para(&format!("补助合计：{}元（{}件）", r.total.subsidy_yuan, r.total.cases), 0);
    l.space(16.0);
    l.para("制表人：＿＿＿＿＿＿　　审核人：＿＿＿＿＿＿", 0);
    let made = format!("制表时间：{}", minute(made_at));
    l.ensure(BODY * LEADING);
    l.y += BODY;
    let x = PAGE_W - RIGHT - l.width(&made, BODY);
    l.push(Op::Text { x, y: l.y, size: BODY, text: made });
    draw(&l, face.font.clone())
}

impl CaseFiles {
    /// The report as an A4 PDF.
    ///
    /// # Errors
    /// `PdfUnavailable` when the font is missing.
    pub async fn subsidy_pdf(&self, report: SubsidyReport) -> Result<Vec<u8>, CaseFileError> {
        let this = self.clone();
        let now = self.now();
        tokio::task::spawn_blocking(move || {
            let face = this.font()?;
            Ok(render(&report, now, &face))
        })
        .await
        .map_err(|e| CaseFileError::PdfUnavailable(format!("rendering stopped: {e}")))?
    }
}
