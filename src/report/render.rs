//! The report's formats: Markdown for a ticket or a pull request, JSON (one document with a
//! schema version), CSV (one row per finding, suppressed ones included and marked), OCSF, and
//! HTML (`html.rs`).

use std::fmt::Write as _;

use anyhow::Result;

use super::{Finding, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
    Csv,
    /// OCSF Detection Finding (class 2004) objects, one per finding, as a JSON array.
    Ocsf,
    /// One self-contained page with charts (no script, nothing loaded from anywhere).
    Html,
}

/// Render `report` in `format`.
pub fn render(report: &Report, format: ReportFormat) -> Result<String> {
    Ok(match format {
        ReportFormat::Md => markdown(report),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(report)?;
            s.push('\n');
            s
        }
        ReportFormat::Csv => csv(report),
        ReportFormat::Html => super::html::page(report),
        ReportFormat::Ocsf => {
            let items: Vec<serde_json::Value> = report
                .findings
                .iter()
                .chain(&report.suppressed)
                .map(|f| ocsf(report, f))
                .collect();
            let mut s = serde_json::to_string_pretty(&items)?;
            s.push('\n');
            s
        }
    })
}

/// A Markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn findings_table(out: &mut String, findings: &[&Finding], with_session: bool) {
    if with_session {
        out.push_str("| severity | rule | session | event | time | summary | note |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
    } else {
        out.push_str("| severity | rule | event | time | summary | note |\n");
        out.push_str("|---|---|---|---|---|---|\n");
    }
    for f in findings {
        let note = f.note();
        let mut row = format!("| {} | {} |", cell(&f.severity), cell(&f.rule_id));
        if with_session {
            let _ = write!(row, " {} |", cell(opt(&f.session_id)));
        }
        let _ = writeln!(
            row,
            " {} | {} | {} | {} |",
            cell(opt(&f.eventid)),
            cell(opt(&f.eventtime)),
            cell(opt(&f.summary)),
            cell(&note)
        );
        out.push_str(&row);
    }
}

fn counts<'a>(out: &mut String, head: &str, rows: impl Iterator<Item = (&'a str, usize)>) {
    let _ = writeln!(out, "| {head} | count |\n|---|---:|");
    for (k, n) in rows {
        let _ = writeln!(out, "| {} | {n} |", cell(k));
    }
    out.push('\n');
}

fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let window = r.window_text();
    let _ = writeln!(out, "# trailglass report\n");
    let _ = writeln!(
        out,
        "Created {} by trailglass {}. Window: {window}.\n",
        r.created, r.tool_version
    );
    let s = &r.summary;
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "- {} break-glass session{} in the window",
        s.sessions,
        if s.sessions == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "- {} finding{} to look at, {} suppressed",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        s.suppressed
    );
    if let Some(n) = s.already_reported {
        let _ = writeln!(
            out,
            "- {n} already reported by an earlier run (not repeated)"
        );
    }
    if !r.expired_suppressions.is_empty() {
        let _ = writeln!(
            out,
            "- {} expired suppression{} (see below)",
            r.expired_suppressions.len(),
            if r.expired_suppressions.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    if let Some(line) = r.ingest_text() {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
    for (head, rows) in s.tables() {
        counts(&mut out, head, rows.into_iter());
    }

    let all: Vec<&Finding> = r.findings.iter().chain(&r.suppressed).collect();
    let _ = writeln!(out, "## Sessions\n");
    if r.sessions.is_empty() {
        out.push_str("No break-glass session started in the window.\n\n");
    }
    for sess in &r.sessions {
        let _ = writeln!(
            out,
            "### {} ({})\n",
            cell(&sess.get("session_id")),
            cell(&sess.get("kind"))
        );
        let _ = writeln!(
            out,
            "- principal: `{}`\n- account: {}\n- from {} to {}\n- {} events, {} writes, {} errors\n- MFA at entry: {}; approval: {}\n",
            sess.get("principal_arn"),
            cell(&sess.get("account")),
            cell(&sess.get("start")),
            cell(&sess.get("end")),
            cell(&sess.get("events")),
            cell(&sess.get("writes")),
            cell(&sess.get("errors")),
            cell(&sess.get("mfa_at_entry")),
            cell(&sess.get("approval")),
        );
        let mine: Vec<&Finding> = all
            .iter()
            .copied()
            .filter(|f| sess.findings.contains(&f.id))
            .collect();
        if mine.is_empty() {
            out.push_str("No findings.\n\n");
        } else {
            findings_table(&mut out, &mine, false);
            out.push('\n');
        }
    }
    let listed: std::collections::HashSet<&str> = r
        .sessions
        .iter()
        .flat_map(|s| s.findings.iter().map(String::as_str))
        .collect();
    let others: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| !listed.contains(f.id.as_str()))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "## Findings outside these sessions\n\nFindings of no session (failed attempts, changes to break-glass credentials) or of a session that started before the window.\n"
        );
        findings_table(&mut out, &others, true);
        out.push('\n');
    }
    let _ = writeln!(out, "## Suppressed findings\n");
    if r.suppressed.is_empty() {
        out.push_str("None.\n\n");
    } else {
        let sup: Vec<&Finding> = r.suppressed.iter().collect();
        findings_table(&mut out, &sup, true);
        out.push('\n');
    }
    if !r.expired_suppressions.is_empty() {
        let _ = writeln!(out, "## Expired suppressions\n");
        for e in &r.expired_suppressions {
            let x = &e.suppression;
            let _ = writeln!(
                out,
                "- {}: \"{}\", expired {}; hides nothing now ({} finding{} shown again)",
                super::place(&x.file, x.line),
                cell(&x.reason),
                x.expires.map(super::rfc3339).unwrap_or_default(),
                e.matched,
                if e.matched == 1 { "" } else { "s" }
            );
        }
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 11] = [
    "id",
    "rule_id",
    "severity",
    "session_id",
    "eventid",
    "eventtime",
    "account",
    "principal",
    "summary",
    "status",
    "note",
];

fn csv(r: &Report) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for f in r.findings.iter().chain(&r.suppressed) {
        let (status, note) = match (&f.suppressed_by, &f.expired_suppression) {
            (Some(a), _) => ("suppressed", a.reason.clone()),
            (None, Some(a)) => ("open", format!("suppression expired: {}", a.reason)),
            _ => ("open", String::new()),
        };
        let cols = [
            f.id.as_str(),
            &f.rule_id,
            &f.severity,
            opt(&f.session_id),
            opt(&f.eventid),
            opt(&f.eventtime),
            opt(&f.account),
            opt(&f.principal),
            opt(&f.summary),
            status,
            &note,
        ];
        out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// OCSF `severity_id` of a trailglass severity (1 Informational … 5 Critical; 0 Unknown).
pub fn ocsf_severity(s: &str) -> (u8, &'static str) {
    match crate::query::catalog::severity_rank(s) {
        Some(0) => (1, "Informational"),
        Some(1) => (2, "Low"),
        Some(2) => (3, "Medium"),
        Some(3) => (4, "High"),
        Some(4) => (5, "Critical"),
        _ => (0, "Unknown"),
    }
}

/// One finding as an OCSF 1.3 Detection Finding (class 2004, category 2 Findings, activity 1
/// Create). `finding_info.uid` is the report's stable id, so a SIEM deduplicates re-sent
/// findings; a suppressed finding is sent with status 3 (Suppressed) and its reason.
fn ocsf(r: &Report, f: &Finding) -> serde_json::Value {
    use serde_json::json;
    let (severity_id, severity) = ocsf_severity(&f.severity);
    let time = f
        .eventtime
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .or_else(|| chrono::DateTime::parse_from_rfc3339(&r.created).ok())
        .map_or(0, |t| t.timestamp_millis());
    let mut resources = Vec::new();
    if let Some(a) = &f.account {
        resources.push(json!({"type": "AWS::::Account", "uid": a, "name": a}));
    }
    if let Some(p) = &f.principal {
        resources.push(json!({"type": "AWS::IAM::Principal", "uid": p, "name": p}));
    }
    let mut evidences = Vec::new();
    if let Some(e) = &f.eventid {
        evidences.push(json!({"data": {"cloudtrail_event_id": e}}));
    }
    // Rules are fixed conditions; anomalies (AN…) depart from a statistical baseline.
    let analytic = if f.rule_id.starts_with("AN") {
        (3, "Statistical")
    } else {
        (1, "Rule")
    };
    let (status_id, status, detail) = match &f.suppressed_by {
        Some(a) => (3, "Suppressed", Some(a.reason.clone())),
        None => (1, "New", None),
    };
    let mut obj = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "time": time,
        "message": f.summary.clone().unwrap_or_default(),
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "trailglass", "vendor_name": "trailglass", "version": r.tool_version},
            "uid": f.id,
        },
        "finding_info": {
            "uid": f.id,
            "title": format!("{} {}", f.rule_id, f.summary.as_deref().unwrap_or("")).trim().to_string(),
            "analytic": {"uid": f.rule_id, "name": f.rule_id, "type_id": analytic.0, "type": analytic.1},
            "types": ["break-glass"],
        },
        "cloud": {"provider": "AWS", "account": {"uid": f.account}},
        "resources": resources,
        "evidences": evidences,
        "unmapped": {"session_id": f.session_id},
    });
    if let (Some(d), Some(o)) = (detail, obj.as_object_mut()) {
        o.insert("status_detail".into(), serde_json::Value::String(d));
    }
    obj
}
