//! Scheduled reports (SPEC §10): the sessions of a window with their findings, a summary,
//! suppressions and the findings earlier runs already reported, rendered for people (Markdown) and
//! programs (JSON, CSV, OCSF) and as a self-contained HTML page with charts.
//!
//! The report is built from plain rows (the `sessions` and `findings` relations of the catalog)
//! by [`build`], a pure function: the same rows, suppressions, state and creation time give the
//! same report, byte for byte, which is what the golden tests and a reproducible job rely on.
//! Every finding carries a stable id ([`state::finding_id`]) derived from its rule, session and
//! event, never from its position, so ids survive re-ingests and compaction.

pub mod html;
pub mod render;
pub mod state;
pub mod suppress;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::query::catalog::{SEVERITIES, severity_rank};
use crate::query::window::Window;
pub use state::State;
pub use suppress::Suppression;

/// The version of the JSON document's shape; bumped on any change a consumer could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// One rule break, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub rule_id: String,
    pub severity: String,
    pub session_id: Option<String>,
    pub eventid: Option<String>,
    pub eventtime: Option<String>,
    pub account: Option<String>,
    /// The session's principal (what a `principal` suppression glob is matched against).
    pub principal: Option<String>,
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<Applied>,
    /// An expired suppression that would have hidden it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_suppression: Option<Applied>,
}

/// The suppression that applied to a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// The configuration file's name, for a suppression from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub line: usize,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Where a suppression is written: `line 5`, or `trailglass.toml line 5` for one from the
/// configuration file.
pub fn place(file: &Option<String>, line: usize) -> String {
    match file {
        Some(f) => format!("{f} line {line}"),
        None => format!("line {line}"),
    }
}

impl Applied {
    pub fn place(&self) -> String {
        place(&self.file, self.line)
    }

    fn of(s: &Suppression) -> Applied {
        Applied {
            file: s.file.clone(),
            line: s.line,
            reason: s.reason.clone(),
            expires: s.expires.map(rfc3339),
        }
    }
}

impl Finding {
    /// A finding from a row of the `findings` relation; `principals` maps session ids to ARNs.
    pub fn from_row(row: &Map<String, Value>, principals: &HashMap<String, String>) -> Finding {
        let s = |k: &str| match row.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
        };
        let rule_id = s("rule_id").unwrap_or_default();
        let session_id = s("session_id");
        let eventid = s("eventid");
        let events: Vec<&str> = eventid.as_deref().into_iter().collect();
        Finding {
            id: state::finding_id(&rule_id, session_id.as_deref(), &events),
            principal: session_id
                .as_ref()
                .and_then(|id| principals.get(id).cloned()),
            severity: s("severity").unwrap_or_default(),
            account: s("account"),
            eventtime: s("eventtime"),
            summary: s("summary"),
            rule_id,
            session_id,
            eventid,
            suppressed_by: None,
            expired_suppression: None,
        }
    }

    /// Apply the first active suppression that matches, else note an expired one that does.
    pub fn apply(&mut self, suppressions: &[Suppression], now: DateTime<Utc>) {
        let mut expired = None;
        for s in suppressions.iter().filter(|s| s.matches(self)) {
            if s.expired(now) {
                expired.get_or_insert(s);
            } else {
                self.suppressed_by = Some(Applied::of(s));
                return;
            }
        }
        self.expired_suppression = expired.map(Applied::of);
    }

    /// Why it is hidden, or that an expired suppression no longer hides it (empty otherwise).
    pub fn note(&self) -> String {
        match (&self.suppressed_by, &self.expired_suppression) {
            (Some(a), _) => format!("suppressed ({}): {}", a.place(), a.reason),
            (None, Some(a)) => format!(
                "suppression of {} expired {}: no longer hidden",
                a.place(),
                a.expires.as_deref().unwrap_or("")
            ),
            _ => String::new(),
        }
    }

    fn rank(&self) -> usize {
        severity_rank(&self.severity).unwrap_or(0)
    }
}

/// A session of the window: its row from `sessions`, and the ids of its findings in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SessionEntry {
    #[serde(flatten)]
    pub row: Map<String, Value>,
    pub findings: Vec<String>,
}

impl SessionEntry {
    pub fn get(&self, key: &str) -> String {
        match self.row.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }
}

/// An expired suppression, and how many findings it no longer hides.
#[derive(Debug, Clone, Serialize)]
pub struct Expired {
    #[serde(flatten)]
    pub suppression: Suppression,
    pub matched: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub sessions: usize,
    pub sessions_by_kind: BTreeMap<String, usize>,
    pub sessions_by_account: BTreeMap<String, usize>,
    /// Findings that count: neither suppressed nor (with `--state`) reported before.
    pub findings: usize,
    pub findings_by_severity: BTreeMap<String, usize>,
    pub findings_by_rule: BTreeMap<String, usize>,
    pub suppressed: usize,
    /// With `--state`: findings in the window that an earlier run reported (left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_reported: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowDoc {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The whole report; its JSON form is the `--format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: String,
    pub created: String,
    pub window: WindowDoc,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<Value>,
    pub summary: Summary,
    pub sessions: Vec<SessionEntry>,
    /// The findings that count, in time order.
    pub findings: Vec<Finding>,
    /// Findings hidden by an active suppression, with its reason.
    pub suppressed: Vec<Finding>,
    pub expired_suppressions: Vec<Expired>,
}

/// What a report is built from.
pub struct Input {
    pub created: DateTime<Utc>,
    pub window: Window,
    /// `sessions` rows that start in the window, in start order.
    pub sessions: Vec<Map<String, Value>>,
    /// `findings` rows in the window.
    pub findings: Vec<Map<String, Value>>,
    /// Session id → principal ARN, for every session built (also those starting before the window).
    pub principals: HashMap<String, String>,
    pub suppressions: Vec<Suppression>,
    pub ingest: Option<Value>,
}

/// RFC 3339 in whole seconds, `Z` for UTC: the report's spelling of a time.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Build the report. With `state`, findings an earlier run reported are counted but left out.
pub fn build(input: Input, state: Option<&State>) -> Report {
    let now = input.created;
    let mut findings: Vec<Finding> = input
        .findings
        .iter()
        .map(|r| Finding::from_row(r, &input.principals))
        .collect();
    findings.sort_by(|a, b| {
        (&a.eventtime, &a.rule_id, &a.session_id, &a.eventid).cmp(&(
            &b.eventtime,
            &b.rule_id,
            &b.session_id,
            &b.eventid,
        ))
    });
    findings.dedup_by(|a, b| a.id == b.id);
    let before = findings.len();
    if let Some(st) = state {
        findings.retain(|f| !st.seen(&f.id));
    }
    let already_reported = state.map(|_| before - findings.len());
    for f in &mut findings {
        f.apply(&input.suppressions, now);
    }
    let (suppressed, open): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| f.suppressed_by.is_some());

    let mut by_session: HashMap<&str, Vec<String>> = HashMap::new();
    for f in open.iter().chain(&suppressed) {
        if let Some(s) = &f.session_id {
            by_session.entry(s).or_default().push(f.id.clone());
        }
    }
    let mut summary = Summary {
        findings: open.len(),
        suppressed: suppressed.len(),
        already_reported,
        ..Summary::default()
    };
    let sessions: Vec<SessionEntry> = input
        .sessions
        .into_iter()
        .map(|row| {
            let id = row
                .get("session_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let findings = by_session.get(id).cloned().unwrap_or_default();
            SessionEntry { row, findings }
        })
        .collect();
    summary.sessions = sessions.len();
    for s in &sessions {
        *summary.sessions_by_kind.entry(s.get("kind")).or_default() += 1;
        *summary
            .sessions_by_account
            .entry(s.get("account"))
            .or_default() += 1;
    }
    for f in &open {
        *summary
            .findings_by_severity
            .entry(f.severity.clone())
            .or_default() += 1;
        *summary
            .findings_by_rule
            .entry(f.rule_id.clone())
            .or_default() += 1;
    }
    let expired_suppressions = input
        .suppressions
        .iter()
        .filter(|s| s.expired(now))
        .map(|s| Expired {
            suppression: s.clone(),
            matched: open
                .iter()
                .filter(|f| {
                    f.expired_suppression
                        .as_ref()
                        .is_some_and(|a| a.line == s.line && a.file == s.file)
                })
                .count(),
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created: rfc3339(now),
        window: WindowDoc {
            from: input.window.from.map(rfc3339),
            to: input.window.to.map(rfc3339),
        },
        ingest: input.ingest,
        summary,
        sessions,
        findings: open,
        suppressed,
        expired_suppressions,
    }
}

impl Report {
    /// The most severe finding that counts (rank, see `SEVERITIES`).
    pub fn worst(&self) -> Option<usize> {
        worst(&self.findings)
    }

    /// The window in words, as the human formats state it.
    pub fn window_text(&self) -> String {
        match (&self.window.from, &self.window.to) {
            (None, None) => "the whole lake".to_string(),
            (f, t) => format!(
                "{} to {}",
                f.as_deref().unwrap_or("the beginning"),
                t.as_deref().unwrap_or("now")
            ),
        }
    }

    /// The ingest's summary line, with `--ingest`.
    pub fn ingest_text(&self) -> Option<String> {
        let ing = self.ingest.as_ref()?;
        let n = |k: &str| ing[k].as_u64().unwrap_or(0);
        Some(format!(
            "ingest: {} objects new ({} already ingested), {} records; rejected: {} objects, {} records; {} objects unreadable",
            n("objects_ingested"),
            n("objects_already_ingested"),
            n("records"),
            n("rejected_objects"),
            n("rejected_records"),
            ing["failed"].as_array().map_or(0, Vec::len)
        ))
    }
}

impl Summary {
    /// The summary's count tables: (heading, rows), severities most severe first.
    pub fn tables(&self) -> [(&'static str, Vec<(&str, usize)>); 4] {
        fn rows(m: &BTreeMap<String, usize>) -> Vec<(&str, usize)> {
            m.iter().map(|(k, v)| (k.as_str(), *v)).collect()
        }
        [
            ("session kind", rows(&self.sessions_by_kind)),
            ("account", rows(&self.sessions_by_account)),
            (
                "severity",
                SEVERITIES
                    .iter()
                    .rev()
                    .filter_map(|sev| self.findings_by_severity.get(*sev).map(|n| (*sev, *n)))
                    .collect(),
            ),
            ("rule", rows(&self.findings_by_rule)),
        ]
    }
}

/// Rows of record batches as JSON objects (Arrow's JSON writer: times as RFC 3339, nulls left
/// out).
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<Map<String, Value>>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    let mut out = Vec::new();
    for line in buf.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        out.push(serde_json::from_slice(line)?);
    }
    Ok(out)
}

/// Session id → principal ARN over the `sessions` relation of `ctx` (built already).
pub async fn principals(
    ctx: &datafusion::prelude::SessionContext,
) -> Result<HashMap<String, String>> {
    let batches = ctx
        .table("sessions")
        .await?
        .select_columns(&["session_id", "principal_arn"])?
        .collect()
        .await?;
    let mut out = HashMap::new();
    for r in rows(&batches)? {
        if let (Some(Value::String(id)), Some(Value::String(arn))) =
            (r.get("session_id"), r.get("principal_arn"))
        {
            out.insert(id.clone(), arn.clone());
        }
    }
    Ok(out)
}

/// The findings of `batches` (rows of `findings`) that count for an exit status: those no active
/// suppression hides at `now`. Shared by `findings --fail-on` and `report`.
pub fn counting(
    batches: &[RecordBatch],
    principals: &HashMap<String, String>,
    suppressions: &[Suppression],
    now: DateTime<Utc>,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for r in rows(batches)? {
        let mut f = Finding::from_row(&r, principals);
        f.apply(suppressions, now);
        if f.suppressed_by.is_none() {
            out.push(f);
        }
    }
    Ok(out)
}

/// The most severe of `findings` (rank, see `SEVERITIES`).
pub fn worst(findings: &[Finding]) -> Option<usize> {
    findings.iter().map(Finding::rank).max()
}
