//! Staff lists from Excel and back: CSV in UTF-8 (with or without a BOM) or GBK (what Excel
//! saves on Chinese Windows), one account per row under a header row, Chinese or English
//! column names; and the export in the same columns (UTF-8 with BOM, CRLF, like stats.csv).
//!
//! An import checks every row first (fields, repeated phones, phones already registered),
//! then writes the usable rows in ONE atomic store write (one Lua script on Redis), so a
//! failure never leaves half a file imported. Strict imports write nothing when any row is bad.

use super::{AccountError, Accounts, AuditActor, NewAccount};
use crate::domain::account::{Account, Role};
use crate::domain::audit::AuditAction;
use crate::domain::category::Category;
use serde::Serialize;
use std::collections::HashMap;

/// Most rows in one file.
pub(super) const MAX_IMPORT_ROWS: usize = 2_000;
/// Most rows that carry a password in one file (each costs an argon2 hash).
pub(super) const MAX_IMPORT_PASSWORDS: usize = 100;

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row as Excel numbers it (the header is row 1).
    pub row: usize,
    /// The column (its field name), when one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Accounts created.
    pub imported: usize,
    /// Rows left out, with why.
    pub rejected: Vec<RowError>,
}

/// The columns, by field name, with the header spellings accepted for each.
const COLUMNS: [(&str, &[&str]); 7] = [
    ("name", &["姓名", "name"]),
    ("phone", &["手机", "手机号", "电话", "phone"]),
    ("specialties", &["专长", "specialties"]),
    ("capacity", &["容量", "capacity"]),
    ("area", &["区域", "所属区域", "area"]),
    ("wechat_openid", &["微信openid", "openid", "wechat_openid"]),
    ("password", &["密码", "初始密码", "password"]),
];
/// Columns the export writes that an import reads past.
const EXPORT_ONLY: [&str; 6] = ["状态", "enabled", "创建时间", "created_at", "编号", "id"];

/// The file's text: UTF-8 (a BOM is dropped), else GBK/GB18030.
///
/// # Errors
/// `Invalid` when it is neither.
pub(super) fn decode(bytes: &[u8]) -> Result<String, AccountError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, malformed) = encoding_rs::GB18030.decode(bytes);
    if malformed {
        return Err(AccountError::invalid("file", "not UTF-8 or GBK text (save it from Excel as CSV)"));
    }
    Ok(text.into_owned())
}

/// Excel turns a cell starting with one of these into a formula: exported values get a `'`
/// in front, which an import takes off again.
fn is_formula_start(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@'])
}

fn cell_out(s: &str) -> String {
    if is_formula_start(s) { format!("'{s}") } else { s.to_owned() }
}

fn cell_in(s: &str) -> &str {
    let s = s.trim();
    match s.strip_prefix('\'') {
        Some(rest) if is_formula_start(rest) => rest,
        _ => s,
    }
}

/// Specialties as written in a cell: codes or Chinese labels, separated by `;`, `、`, `,`, `|`
/// or spaces.
fn parse_specialties(cell: &str) -> Result<Vec<Category>, String> {
    cell.split([';', '；', '、', ',', '，', '|', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            Category::ALL
                .into_iter()
                .find(|c| {
                    c.label_zh() == t
                        || serde_json::to_value(c).ok().and_then(|v| v.as_str().map(|s| s == t)) == Some(true)
                })
                .ok_or_else(|| format!("unknown specialty {t:?}"))
        })
        .collect()
}

/// One parsed row, or why not.
struct Row {
    number: usize,
    account: NewAccount,
}

/// Parse the text into rows (numbered as Excel numbers them) and per-row errors.
fn parse_rows(text: &str) -> Result<(Vec<Row>, Vec<RowError>), AccountError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| AccountError::invalid("file", format!("unreadable header row: {e}")))?;
    let mut column_of: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if h.is_empty() || EXPORT_ONLY.contains(&h.as_str()) {
            continue;
        }
        let Some((field, _)) = COLUMNS.iter().find(|(_, names)| names.contains(&h.as_str())) else {
            return Err(AccountError::invalid("file", format!("unknown column {h:?} in the header row")));
        };
        column_of.insert(field, i);
    }
    for required in ["name", "phone"] {
        if !column_of.contains_key(required) {
            return Err(AccountError::invalid("file", format!("the header row has no {required} column")));
        }
    }
    let (mut rows, mut errors) = (vec![], vec![]);
    // The line a row starts on is the row number Excel shows (blank lines count there), from
    // the row's byte offset: lines before it counted once, as the reader moves on.
    let (mut counted_to, mut line) = (0usize, 1usize);
    for (i, record) in reader.records().enumerate() {
        let at = match &record {
            Ok(r) => r.position().map(csv::Position::byte),
            Err(e) => e.position().map(csv::Position::byte),
        };
        let number = match at.and_then(|b| usize::try_from(b).ok()).filter(|&b| b >= counted_to && b <= text.len()) {
            Some(mut b) => {
                // A record's position is where the reader started it, before any blank lines.
                while matches!(text.as_bytes().get(b), Some(b'\r' | b'\n')) {
                    b += 1;
                }
                line += text.as_bytes()[counted_to..b].iter().filter(|&&c| c == b'\n').count();
                counted_to = b;
                line
            }
            None => i + 2,
        };
        if rows.len() + errors.len() >= MAX_IMPORT_ROWS {
            return Err(AccountError::invalid("file", format!("at most {MAX_IMPORT_ROWS} rows per file")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError { row: number, field: None, reason: format!("unreadable row: {e}") });
                continue;
            }
        };
        let get = |field: &str| column_of.get(field).and_then(|&c| record.get(c)).map(cell_in).unwrap_or_default();
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let bad = |field: &str, reason: String| RowError { row: number, field: Some(field.to_owned()), reason };
        let specialties = match parse_specialties(get("specialties")) {
            Ok(s) => s,
            Err(reason) => {
                errors.push(bad("specialties", reason));
                continue;
            }
        };
        let capacity = match get("capacity") {
            "" => None,
            c => match c.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(bad("capacity", format!("{c:?} is not a whole number")));
                    continue;
                }
            },
        };
        let some = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        let account = NewAccount {
            name: get("name").to_owned(),
            phone: get("phone").to_owned(),
            password: some(get("password")),
            specialties,
            capacity,
            area: some(get("area")),
            wechat_openid: some(get("wechat_openid")),
        };
        rows.push(Row { number, account });
    }
    Ok((rows, errors))
}

impl Accounts {
    /// Import accounts of `role` from a CSV file. Every row is checked before anything is
    /// written; the usable rows are then written in one atomic store write. With `strict`,
    /// any bad row means nothing is written.
    ///
    /// # Errors
    /// `Invalid` for a file that is not a usable CSV at all; `ImportRefused` (with the report)
    /// when strict and a row is bad, or when no row is usable; `Hashing`; `Store`.
    pub async fn import(
        &self,
        by: &AuditActor,
        role: Role,
        file: &[u8],
        strict: bool,
    ) -> Result<ImportReport, AccountError> {
        let text = decode(file)?;
        let (rows, mut rejected) = parse_rows(&text)?;
        let mut ready: Vec<(usize, Account, Option<String>)> = vec![];
        let mut first_row_of_phone: HashMap<String, usize> = HashMap::new();
        for row in rows {
            match self.validate_new(role, &row.account) {
                Ok(account) => {
                    if let Some(first) = first_row_of_phone.insert(account.phone.full().to_owned(), row.number) {
                        rejected.push(RowError {
                            row: row.number,
                            field: Some("phone".into()),
                            reason: format!("the same phone as row {first}"),
                        });
                        continue;
                    }
                    ready.push((row.number, account, row.account.password));
                }
                Err(AccountError::Invalid { field, reason }) => {
                    rejected.push(RowError { row: row.number, field: Some(field), reason });
                }
                Err(e) => return Err(e),
            }
        }
        let passwords = ready.iter().filter(|(_, _, p)| p.is_some()).count();
        if passwords > MAX_IMPORT_PASSWORDS {
            return Err(AccountError::invalid(
                "file",
                format!(
                    "at most {MAX_IMPORT_PASSWORDS} rows with a password per file (set the others' passwords afterwards)"
                ),
            ));
        }
        let store = &self.directory;
        loop {
            rejected.sort_by_key(|e| e.row);
            if ready.is_empty() || (strict && !rejected.is_empty()) {
                return Err(AccountError::ImportRefused(ImportReport { imported: 0, rejected }));
            }
            for (_, account, password) in &mut ready {
                if let Some(p) = password.take() {
                    account.password_hash = self.hash_password(p).await?;
                }
            }
            let accounts: Vec<Account> = ready.iter().map(|(_, a, _)| a.clone()).collect();
            let detail = Some(format!("{} {}s", accounts.len(), role.as_str()));
            let note =
                by.entry_about(AuditAction::AccountsImported, role.as_str(), "-", "CSV", self.dispatcher.now(), detail);
            let clashing = store.insert_accounts(&accounts, &[note]).await?;
            if clashing.is_empty() {
                tracing::info!(
                    role = role.as_str(),
                    imported = accounts.len(),
                    rejected = rejected.len(),
                    "accounts imported"
                );
                return Ok(ImportReport { imported: accounts.len(), rejected });
            }
            // Phones registered meanwhile (or before): report those rows and write the rest.
            for i in clashing.into_iter().rev() {
                if i < ready.len() {
                    let (row, _, _) = ready.remove(i);
                    rejected.push(RowError {
                        row,
                        field: Some("phone".into()),
                        reason: "an account with this phone already exists".into(),
                    });
                }
            }
        }
    }

    /// Every account of `role` as CSV for Excel: UTF-8 with BOM, CRLF, the import's columns.
    ///
    /// # Errors
    /// `Store`.
    pub async fn export(&self, role: Role) -> Result<Vec<u8>, AccountError> {
        let accounts = self.directory.list_accounts(role).await?;
        let mut out = b"\xEF\xBB\xBF".to_vec();
        {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
            let header = ["姓名", "手机", "专长", "容量", "区域", "微信openid", "状态", "创建时间", "编号"];
            let io = |e: csv::Error| AccountError::invalid("export", e);
            w.write_record(header).map_err(io)?;
            for a in &accounts {
                let specialties: Vec<&str> = a.specialties.iter().map(|c| c.label_zh()).collect();
                w.write_record([
                    cell_out(&a.name),
                    a.phone.full().to_owned(),
                    specialties.join("、"),
                    a.capacity.to_string(),
                    cell_out(a.area.as_deref().unwrap_or_default()),
                    a.wechat_openid.clone().unwrap_or_default(),
                    if a.enabled { "启用" } else { "停用" }.to_owned(),
                    a.created_at.to_string(),
                    a.id.to_string(),
                ])
                .map_err(io)?;
            }
            w.flush().map_err(|e| AccountError::invalid("export", e))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_bom_and_gbk_decode_to_the_same_text() {
        let text = "姓名,手机\r\n王调解,13800000001\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode(text.as_bytes()).unwrap(), text);
        assert_eq!(decode(&[b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()).unwrap(), text);
        assert_eq!(decode(&gbk).unwrap(), text);
        assert!(decode(b"\xFF\xFF\xFF").is_err());
    }

    #[test]
    fn rows_are_numbered_as_excel_numbers_them_and_bad_cells_named() {
        let text =
            "姓名,手机,专长,容量\n王,13800000001,邻里纠纷、family,2\n李,13800000002,cooking,\n\n赵,13800000003,,x\n";
        let (rows, errors) = parse_rows(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].number, 2);
        assert_eq!(rows[0].account.specialties, [Category::Neighbor, Category::Family]);
        assert_eq!(
            errors.iter().map(|e| (e.row, e.field.as_deref())).collect::<Vec<_>>(),
            [(3, Some("specialties")), (5, Some("capacity"))]
        );
        assert!(parse_rows("名字,手机\n").is_err(), "an unknown column is named, not ignored");
    }

    #[test]
    fn formulas_are_defused_on_export_and_restored_on_import() {
        assert_eq!(cell_out("=1+1"), "'=1+1");
        assert_eq!(cell_in("'=1+1"), "=1+1");
        assert_eq!(cell_in("'王"), "'王");
    }
}
