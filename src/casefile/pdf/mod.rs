//! A4 PDFs of the case file: the agreement (人民调解协议书), the record (调解笔录) and the whole
//! file (卷宗), in Chinese, with the signature images and the committee's seal, the font
//! embedded and subset (krilla). Layout first (pure: pages of drawing operations), then one
//! rendering pass, so page footers know the page count.
//!
//! The layout engine with its line filling (`layout.rs`), what each document says
//! (`documents.rs`), the rendering pass (`draw.rs`); the monthly report (`subsidy_pdf.rs`)
//! lays out with the same engine.

mod documents;
mod draw;
mod layout;

pub(super) use draw::draw;
pub use layout::{Advances, Typeface};
pub(super) use layout::{BODY, LEADING, LEFT, Layout, Op, PAGE_W, RIGHT, minute};

use super::domain::CaseFile;
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use documents::{agreement, case_file, case_number, record};
use std::collections::HashMap;

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
