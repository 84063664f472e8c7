//! Suppressions: known findings an operator has accepted, each with a reason and an optional
//! expiry (`--suppressions FILE`, a TOML file of `[[suppression]]` tables).
//!
//! ```toml
//! [[suppression]]
//! rule = "BG005"                                   # any of rule, session, principal (an ARN
//! principal = "arn:aws:iam::*:role/BreakGlass*"    # glob), account, event; all given must match
//! reason = "drill CHG-1042, approved by the CISO"  # required
//! expires = "2026-06-30"                           # optional; from then on it hides nothing
//! ```
//!
//! The same tables may also stand in `trailglass.toml` (the `--config` file, else
//! `./trailglass.toml`): `report` and `findings` use those and the `--suppressions` file's, and a
//! suppression from the configuration is named by its file and line.
//!
//! A suppression hides a finding from the exit code but never from the report: the finding is
//! listed with its reason in a section of its own. An expired one hides nothing, and the report
//! names it, so a forgotten exception cannot silence a finding for ever.

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::Finding;
use crate::error::Error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    suppression: Vec<Spanned<RawEntry>>,
}

/// `trailglass.toml`: its `[breakglass]` table is the configuration's (checked there).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigDoc {
    #[serde(default)]
    suppression: Vec<Spanned<RawEntry>>,
    #[serde(default, rename = "breakglass")]
    _breakglass: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: Option<String>,
    session: Option<String>,
    principal: Option<String>,
    account: Option<String>,
    event: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
}

/// One suppression, as written (the line of its `[[suppression]]` header names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppression {
    /// The configuration file's name when it comes from there (else the `--suppressions` file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl Suppression {
    /// Does it describe `f` (ignoring its expiry)? Every criterion given must hold.
    pub fn matches(&self, f: &Finding) -> bool {
        let eq = |want: &Option<String>, got: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| got.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(w)))
        };
        self.rule
            .as_ref()
            .is_none_or(|r| r.eq_ignore_ascii_case(&f.rule_id))
            && eq(&self.session, &f.session_id)
            && eq(&self.account, &f.account)
            && eq(&self.event, &f.eventid)
            && self.principal.as_ref().is_none_or(|p| {
                f.principal
                    .as_deref()
                    .is_some_and(|a| crate::query::udf::glob_match(a, p))
            })
    }

    /// Has it expired at `now`?
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// Read a suppressions file; any defect is a usage error (exit 2) naming the file and line.
pub fn load(path: &Path) -> Result<Vec<Suppression>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the suppressions file {}: {e}",
            path.display()
        ))
    })?;
    parse(&text, path)
}

/// The suppressions of a scheduled run: the `[[suppression]]` tables of the configuration file
/// (`config`, else `./trailglass.toml` when there is one), then those of the `--suppressions`
/// file. Any defect in either is a usage error (exit 2) naming the file and line.
pub fn load_all(config: Option<&Path>, file: Option<&Path>) -> Result<Vec<Suppression>> {
    let default = Path::new(crate::config::DEFAULT_FILE);
    let config = config.or_else(|| default.is_file().then_some(default));
    let mut out = Vec::new();
    if let Some(path) = config {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the configuration {}: {e}",
                path.display()
            ))
        })?;
        let doc: ConfigDoc = toml::from_str(&text).map_err(|e| syntax(path, &text, &e))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        out.extend(entries(&text, path, doc.suppression, Some(name))?);
    }
    if let Some(path) = file {
        out.extend(load(path)?);
    }
    Ok(out)
}

const HINT: &str = "expected form:\n  [[suppression]]\n  rule = \"BG005\"            # and/or session, principal (glob), account, event\n  reason = \"why it is accepted\"\n  expires = \"2026-06-30\"     # optional";

fn syntax(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    crate::config::located(
        path,
        text,
        e.span(),
        &format!("{}\n{HINT}", e.message().trim()),
    )
    .into()
}

/// Parse suppressions text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Suppression>> {
    let doc: FileDoc = toml::from_str(text).map_err(|e| syntax(path, text, &e))?;
    entries(text, path, doc.suppression, None)
}

/// Check the `[[suppression]]` tables of `text`.
fn entries(
    text: &str,
    path: &Path,
    raw: Vec<Spanned<RawEntry>>,
    file: Option<String>,
) -> Result<Vec<Suppression>> {
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let span = entry.span();
        let bad = |msg: &str| crate::config::located(path, text, Some(span.clone()), msg);
        let line = text
            .get(..span.start.min(text.len()))
            .unwrap_or(text)
            .matches('\n')
            .count()
            + 1;
        let e = entry.into_inner();
        let reason = match e.reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => {
                return Err(
                    bad("this suppression has no `reason`; every suppression needs one").into(),
                );
            }
        };
        if [&e.rule, &e.session, &e.principal, &e.account, &e.event]
            .iter()
            .all(|c| c.is_none())
        {
            return Err(bad(
                "this suppression names nothing to match; give at least one of rule, session, principal, account, event",
            )
            .into());
        }
        let expires = match &e.expires {
            None => None,
            Some(s) => Some(crate::config::parse_time(s).ok_or_else(|| {
                bad(&format!(
                    "expires {s:?} is not a time; use RFC 3339 like 2026-06-30T00:00:00Z or a date like 2026-06-30"
                ))
            })?),
        };
        out.push(Suppression {
            file: file.clone(),
            line,
            rule: e.rule,
            session: e.session,
            principal: e.principal,
            account: e.account,
            event: e.event,
            reason,
            expires,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_errors() {
        let p = Path::new("s.toml");
        let ok = "[[suppression]]\nrule = \"bg005\"\nreason = \"drill\"\n\n[[suppression]]\nprincipal = \"arn:*:role/BreakGlass*\"\nreason = \"x\"\nexpires = \"2026-01-01\"\n";
        let s = parse(ok, p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].line, 5);
        assert!(s[1].expires.is_some());
        let no_reason = "[[suppression]]\nrule = \"BG005\"\n\n[[suppression]]\nrule = \"BG001\"\n";
        let e = parse(no_reason, p).unwrap_err().to_string();
        assert!(e.starts_with("s.toml:1:"), "{e}");
        let unknown = "[[suppression]]\nrule = \"BG005\"\nreason = \"r\"\nwhy = 1\n";
        let e = parse(unknown, p).unwrap_err().to_string();
        assert!(e.starts_with("s.toml:4:"), "{e}");
        let bad_time = "[[suppression]]\nrule = \"BG005\"\nreason = \"r\"\nexpires = \"soon\"\n";
        assert!(parse(bad_time, p).unwrap_err().to_string().contains("soon"));
    }
}
