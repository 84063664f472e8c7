//! What counts as break-glass (SPEC §5): `trailglass.toml`, its `approvals.csv`, and the SQL tables
//! they become.
//!
//! Order of precedence: built-in defaults < the file (`--config PATH`, else `./trailglass.toml` when
//! present). Every value is checked here, so a mistake is reported with the file, the line and the
//! expected form rather than surfacing later as an empty result. The configuration reaches SQL only
//! as data — the in-memory tables `bg_roles`, `bg_users`, `bg_policy` and `approvals` — so a value
//! from a user never becomes SQL text.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{
    ArrayRef, BooleanArray, Int64Array, IntervalMonthDayNanoArray, ListBuilder, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Field, IntervalMonthDayNano, IntervalUnit, Schema, SchemaRef, TimeUnit,
};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::Error;

/// The default file looked for in the working directory.
pub const DEFAULT_FILE: &str = "trailglass.toml";

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from; `None` means the built-in defaults.
    pub source: Option<PathBuf>,
    /// ARN globs of break-glass roles.
    pub roles: Vec<String>,
    /// ARN globs of break-glass IAM users.
    pub users: Vec<String>,
    /// Every root session is break-glass.
    pub root: bool,
    /// Policy time-to-live of a session, in seconds, counted from its start.
    pub ttl_seconds: i64,
    /// A break-glass password must change this soon after the session ends, in seconds.
    pub rotate_within_seconds: i64,
    /// Where the approvals came from, if configured.
    pub approvals_file: Option<PathBuf>,
    /// The approvals (empty when none are configured).
    pub approvals: Vec<Approval>,
    /// Accounts where any non-break-glass human access is a finding (BG014).
    pub production_accounts: Vec<String>,
    /// How far before a window (`--since`, `--from`) the catalog still reads, in seconds: the
    /// longest a credential issued before the window can carry a session into it.
    pub lookback_seconds: i64,
}

/// One row of `approvals.csv`: a ticket allowing `principal` (an ARN glob or an actor name) to break
/// the glass between `not_before` and `not_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub ticket: String,
    pub principal: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub approver: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            roles: vec![
                "arn:aws:iam::*:role/BreakGlass*".into(),
                "arn:aws:iam::*:role/*/AWSReservedSSO_BreakGlass*".into(),
            ],
            users: vec!["arn:aws:iam::*:user/breakglass*".into()],
            root: true,
            ttl_seconds: 3600,
            rotate_within_seconds: 24 * 3600,
            approvals_file: None,
            approvals: Vec::new(),
            production_accounts: Vec::new(),
            lookback_seconds: DEFAULT_LOOKBACK,
        }
    }
}

/// `GetSessionToken`'s 36 h maximum, plus 12 h: an Identity Center sign-in (whose second factor
/// decides the session's MFA state) up to a default portal session before the assumption, and
/// role-chaining hops (1 h each) under a session.
pub const DEFAULT_LOOKBACK: i64 = 48 * 3600;

/// The file's shape. Unknown keys are errors: a misspelt `ttl` must not silently become the default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    breakglass: Option<FileBreakglass>,
    /// `[[suppression]]` tables: read and checked by `report::suppress` (they are not part of
    /// what break-glass is, so not of `Config` nor of the stored answers' key).
    #[serde(default, rename = "suppression")]
    _suppression: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBreakglass {
    roles: Option<Vec<Spanned<String>>>,
    users: Option<Vec<Spanned<String>>>,
    root: Option<bool>,
    ttl: Option<Spanned<String>>,
    rotate_within: Option<Spanned<String>>,
    lookback: Option<Spanned<String>>,
    approvals: Option<Spanned<String>>,
    production_accounts: Option<Vec<Spanned<String>>>,
}

/// The printable form (`trailglass config`).
#[derive(Debug, Serialize)]
struct PrintDoc<'a> {
    breakglass: PrintBreakglass<'a>,
}

#[derive(Debug, Serialize)]
struct PrintBreakglass<'a> {
    roles: &'a [String],
    users: &'a [String],
    root: bool,
    ttl: String,
    rotate_within: String,
    lookback: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    approvals: Option<String>,
    production_accounts: &'a [String],
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    // A span is on a character boundary; should it not be, count up to the whole text.
    let upto = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = upto.matches('\n').count() + 1;
    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(crate) fn located(path: &Path, text: &str, span: Option<Range<usize>>, msg: &str) -> Error {
    match span {
        Some(r) => {
            let (line, col) = line_col(text, r.start);
            let src = text.lines().nth(line - 1).unwrap_or("").trim_end();
            Error::Usage(format!(
                "{}:{line}:{col}: {msg}\n  {line} | {src}",
                path.display()
            ))
        }
        None => Error::Usage(format!("{}: {msg}", path.display())),
    }
}

/// Parse a duration such as `1h`, `90m`, `2h30m`, `1d`, `45s`.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mut unit = String::from(c);
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let mult = match unit.as_str() {
            "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hr" | "hrs" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
        any = true;
    }
    if !num.is_empty() || !any || total <= 0 {
        return None;
    }
    Some(total)
}

/// Format seconds the way the file writes them (`1h`, `90m`, `1d2h`).
pub fn format_duration(mut secs: i64) -> String {
    let mut out = String::new();
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= n {
            let _ = write!(out, "{}{unit}", secs / n);
            secs %= n;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

fn check_glob(path: &Path, text: &str, key: &str, v: &Spanned<String>) -> Result<String> {
    let s = v.get_ref().trim();
    if s.len() < 5 || !s.to_ascii_lowercase().starts_with("arn:") {
        return Err(located(
            path,
            text,
            Some(v.span()),
            &format!(
                "[breakglass] {key}: {s:?} is not an ARN glob; expected a form like \"arn:aws:iam::*:{}\" (`*` matches any run, account included)",
                if key == "users" { "user/breakglass*" } else { "role/BreakGlass*" }
            ),
        )
        .into());
    }
    Ok(s.to_string())
}

impl Config {
    /// The configuration for a run: `--config PATH` (must exist), else `./trailglass.toml` when
    /// present, else the built-in defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        match explicit {
            Some(p) => Config::from_file(p),
            None => {
                let p = Path::new(DEFAULT_FILE);
                if p.is_file() {
                    Config::from_file(p)
                } else {
                    Ok(Config::default())
                }
            }
        }
    }

    /// Read and check a `trailglass.toml` (and the approvals file it names).
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the configuration {}: {e}; pass --config PATH to a trailglass.toml, or remove --config to use the built-in defaults",
                path.display()
            ))
        })?;
        Config::parse(&text, path)
    }

    /// Parse configuration text; `path` names it in errors and anchors a relative approvals path.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let doc: FileDoc = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_string();
            let hint = "expected form:\n  [breakglass]\n  roles = [\"arn:aws:iam::*:role/BreakGlass*\"]\n  users = [\"arn:aws:iam::*:user/breakglass*\"]\n  root = true\n  ttl = \"1h\"\n  rotate_within = \"24h\"\n  lookback = \"48h\"\n  approvals = \"approvals.csv\"\n  production_accounts = [\"111122223333\"]";
            located(path, text, e.span(), &format!("{msg}\n{hint}"))
        })?;
        let mut cfg = Config {
            source: Some(path.to_path_buf()),
            ..Config::default()
        };
        let Some(bg) = doc.breakglass else {
            return Ok(cfg);
        };
        if let Some(roles) = &bg.roles {
            cfg.roles = roles
                .iter()
                .map(|r| check_glob(path, text, "roles", r))
                .collect::<Result<_>>()?;
        }
        if let Some(users) = &bg.users {
            cfg.users = users
                .iter()
                .map(|r| check_glob(path, text, "users", r))
                .collect::<Result<_>>()?;
        }
        if let Some(root) = bg.root {
            cfg.root = root;
        }
        for (key, value, slot) in [
            ("ttl", &bg.ttl, &mut cfg.ttl_seconds),
            (
                "rotate_within",
                &bg.rotate_within,
                &mut cfg.rotate_within_seconds,
            ),
            ("lookback", &bg.lookback, &mut cfg.lookback_seconds),
        ] {
            if let Some(v) = value {
                *slot = parse_duration(v.get_ref()).ok_or_else(|| {
                    located(
                        path,
                        text,
                        Some(v.span()),
                        &format!(
                            "[breakglass] {key} = {:?} is not a duration; expected a positive number with a unit, like \"1h\", \"90m\", \"2h30m\", \"1d\"",
                            v.get_ref()
                        ),
                    )
                })?;
            }
        }
        if let Some(accts) = &bg.production_accounts {
            let mut out = Vec::new();
            for a in accts {
                let s = a.get_ref().trim();
                if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(located(
                        path,
                        text,
                        Some(a.span()),
                        &format!(
                            "[breakglass] production_accounts: {s:?} is not an AWS account id; expected 12 digits, like \"111122223333\""
                        ),
                    )
                    .into());
                }
                out.push(s.to_string());
            }
            cfg.production_accounts = out;
        }
        if let Some(a) = &bg.approvals {
            let rel = Path::new(a.get_ref().trim());
            let file = if rel.is_absolute() {
                rel.to_path_buf()
            } else {
                path.parent().unwrap_or(Path::new(".")).join(rel)
            };
            let body = std::fs::read_to_string(&file).map_err(|e| {
                located(
                    path,
                    text,
                    Some(a.span()),
                    &format!(
                        "[breakglass] approvals: cannot read {}: {e}; expected the path of a CSV file (ticket,principal,not_before,not_after,approver), relative to this file",
                        file.display()
                    ),
                )
            })?;
            cfg.approvals = parse_approvals(&body, &file)?;
            cfg.approvals_file = Some(file);
        }
        Ok(cfg)
    }

    /// The effective configuration as TOML, with its origin in a comment.
    pub fn to_toml(&self) -> Result<String> {
        let doc = PrintDoc {
            breakglass: PrintBreakglass {
                roles: &self.roles,
                users: &self.users,
                root: self.root,
                ttl: format_duration(self.ttl_seconds),
                rotate_within: format_duration(self.rotate_within_seconds),
                lookback: format_duration(self.lookback_seconds),
                approvals: self
                    .approvals_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
                production_accounts: &self.production_accounts,
            },
        };
        let mut out = match &self.source {
            Some(p) => format!("# effective configuration, from {}\n", p.display()),
            None => "# effective configuration: built-in defaults (no trailglass.toml found)\n"
                .to_string(),
        };
        out.push_str(&toml::to_string_pretty(&doc).context("cannot print the configuration")?);
        if self.approvals_file.is_some() {
            let _ = writeln!(out, "\n# {} approvals:", self.approvals.len());
            for a in &self.approvals {
                let _ = writeln!(
                    out,
                    "#   {} {} {} .. {} approved by {}",
                    a.ticket,
                    a.principal,
                    a.not_before
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.not_after
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.approver
                );
            }
        }
        Ok(out)
    }

    /// A short digest-friendly JSON form (for reports and evidence manifests).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source.as_ref().map(|p| p.display().to_string()),
            "breakglass": {
                "roles": self.roles,
                "users": self.users,
                "root": self.root,
                "ttl": format_duration(self.ttl_seconds),
                "ttl_seconds": self.ttl_seconds,
                "rotate_within": format_duration(self.rotate_within_seconds),
                "rotate_within_seconds": self.rotate_within_seconds,
                "approvals": self.approvals_file.as_ref().map(|p| p.display().to_string()),
                "production_accounts": self.production_accounts,
            },
            "approvals": self.approvals.iter().map(|a| serde_json::json!({
                "ticket": a.ticket, "principal": a.principal,
                "not_before": a.not_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "not_after": a.not_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "approver": a.approver,
            })).collect::<Vec<_>>(),
        })
    }

    /// The configuration as record batches: (table name, batch).
    pub fn tables(&self) -> Result<Vec<(&'static str, RecordBatch)>> {
        let pattern_batch = |pats: &[String]| -> Result<RecordBatch> {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "pattern",
                DataType::Utf8,
                false,
            )]));
            let col: ArrayRef = Arc::new(StringArray::from_iter_values(pats.iter()));
            Ok(RecordBatch::try_new(schema, vec![col])?)
        };
        let interval = |secs: i64| {
            IntervalMonthDayNanoArray::from(vec![IntervalMonthDayNano::new(
                0,
                0,
                secs.saturating_mul(1_000_000_000),
            )])
        };
        let mut prod = ListBuilder::new(StringBuilder::new());
        for a in &self.production_accounts {
            prod.values().append_value(a);
        }
        prod.append(true);
        let policy = RecordBatch::try_new(
            policy_schema(),
            vec![
                Arc::new(BooleanArray::from(vec![self.root])),
                Arc::new(interval(self.ttl_seconds)),
                Arc::new(Int64Array::from(vec![self.ttl_seconds])),
                Arc::new(interval(self.rotate_within_seconds)),
                Arc::new(Int64Array::from(vec![self.rotate_within_seconds])),
                Arc::new(BooleanArray::from(vec![self.approvals_file.is_some()])),
                Arc::new(prod.finish()),
            ],
        )?;
        let ts = |v: Vec<i64>| TimestampMicrosecondArray::from(v).with_timezone("UTC");
        let approvals = RecordBatch::try_new(
            approvals_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    self.approvals.iter().map(|a| &a.ticket),
                )),
                Arc::new(StringArray::from_iter_values(
                    self.approvals.iter().map(|a| &a.principal),
                )),
                Arc::new(ts(self
                    .approvals
                    .iter()
                    .map(|a| a.not_before.timestamp_micros())
                    .collect())),
                Arc::new(ts(self
                    .approvals
                    .iter()
                    .map(|a| a.not_after.timestamp_micros())
                    .collect())),
                Arc::new(StringArray::from_iter_values(
                    self.approvals.iter().map(|a| &a.approver),
                )),
            ],
        )?;
        Ok(vec![
            ("bg_roles", pattern_batch(&self.roles)?),
            ("bg_users", pattern_batch(&self.users)?),
            ("bg_policy", policy),
            ("approvals", approvals),
        ])
    }

    /// Register `bg_roles`, `bg_users`, `bg_policy` and `approvals` on a session (replacing any).
    pub fn register(&self, ctx: &SessionContext) -> Result<()> {
        for (name, batch) in self.tables()? {
            let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
            ctx.deregister_table(name)?;
            ctx.register_table(name, Arc::new(table))?;
        }
        Ok(())
    }
}

fn policy_schema() -> SchemaRef {
    let interval = DataType::Interval(IntervalUnit::MonthDayNano);
    Arc::new(Schema::new(vec![
        Field::new("root", DataType::Boolean, false),
        Field::new("ttl", interval.clone(), false),
        Field::new("ttl_seconds", DataType::Int64, false),
        Field::new("rotate_within", interval, false),
        Field::new("rotate_within_seconds", DataType::Int64, false),
        Field::new("approvals_configured", DataType::Boolean, false),
        Field::new(
            "production_accounts",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
    ]))
}

fn approvals_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("ticket", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new("not_before", ts.clone(), false),
        Field::new("not_after", ts, false),
        Field::new("approver", DataType::Utf8, false),
    ]))
}

/// Split one CSV line (RFC 4180 quoting; no embedded newlines).
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur).trim().to_string());
            at_start = true;
        } else {
            if !c.is_whitespace() {
                at_start = false;
            }
            cur.push(c);
        }
    }
    if quoted {
        return None;
    }
    out.push(cur.trim().to_string());
    Some(out)
}

/// A time in an approvals file: RFC 3339, or `YYYY-MM-DD[T ]HH:MM[:SS]` (UTC), or a date (midnight UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Parse `approvals.csv`: `ticket,principal,not_before,not_after,approver`, an optional header line,
/// `#` comments and blank lines allowed.
pub fn parse_approvals(text: &str, path: &Path) -> Result<Vec<Approval>> {
    const FORM: &str = "expected: ticket,principal,not_before,not_after,approver — e.g. INC-1234,arn:aws:iam::*:role/BreakGlass*,2026-03-01T09:00:00Z,2026-03-01T13:00:00Z,alice";
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |msg: String| Error::Usage(format!("{}:{n}: {msg}\n  {FORM}", path.display()));
        let f = csv_fields(line).ok_or_else(|| err("unterminated quoted field".into()))?;
        if out.is_empty() && f.first().is_some_and(|h| h.eq_ignore_ascii_case("ticket")) {
            continue;
        }
        if f.len() != 5 {
            return Err(err(format!("{} fields where 5 are needed", f.len())).into());
        }
        if f[0].is_empty() {
            return Err(err("the ticket is empty".into()).into());
        }
        if f[1].is_empty() {
            return Err(err("the principal is empty".into()).into());
        }
        let nb = parse_time(&f[2]).ok_or_else(|| {
            err(format!(
                "not_before {:?} is not a time (RFC 3339, like 2026-03-01T09:00:00Z)",
                f[2]
            ))
        })?;
        let na = parse_time(&f[3]).ok_or_else(|| {
            err(format!(
                "not_after {:?} is not a time (RFC 3339, like 2026-03-01T13:00:00Z)",
                f[3]
            ))
        })?;
        if na < nb {
            return Err(err(format!("not_after {} is before not_before {}", f[3], f[2])).into());
        }
        out.push(Approval {
            ticket: f[0].clone(),
            principal: f[1].clone(),
            not_before: nb,
            not_after: na,
            approver: f[4].clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("t/trailglass.toml"))
    }

    #[test]
    fn defaults_when_empty() {
        let c = parse("").unwrap();
        assert_eq!(c.roles, Config::default().roles);
        assert_eq!(c.ttl_seconds, 3600);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("2h30m"), Some(9000));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(format_duration(9000), "2h30m");
    }

    #[test]
    fn bad_line_names_file_line_and_form() {
        let e = parse("[breakglass]\nroot = true\nttl = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t/trailglass.toml:3"), "{e}");
        assert!(e.contains("\"1h\""), "{e}");
        let e = parse("[breakglass]\nrots = []\n").unwrap_err().to_string();
        assert!(e.contains(":2"), "{e}");
        let e = parse("[breakglass]\nroot = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2"), "{e}");
        let e = parse("[breakglass]\nroles = [\"BreakGlass\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2") && e.contains("arn:aws:iam::*"), "{e}");
        let e = parse("[breakglass]\nproduction_accounts = [\"12\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("12 digits"), "{e}");
    }

    #[test]
    fn approvals_csv() {
        let a = parse_approvals(
            "ticket,principal,not_before,not_after,approver\nINC-1,\"arn:aws:iam::*:role/BreakGlass*\",2026-03-01T09:00:00Z,2026-03-01 13:00,alice\n",
            Path::new("a.csv"),
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].principal, "arn:aws:iam::*:role/BreakGlass*");
        let e = parse_approvals("INC-1,p,2026-03-01,never,bob\n", Path::new("a.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.csv:1") && e.contains("not_after"), "{e}");
        let e = parse_approvals("INC-1,p\n", Path::new("a.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 fields"), "{e}");
    }
}
