//! `timeline.html`: one self-contained page per bundle. No script, no font, no stylesheet or
//! image from anywhere: inline CSS and inline SVG drawn here, so the page opens offline, shows
//! the same thing in every browser, and has nothing that could log a console error. Every text
//! taken from the data is HTML-escaped (principals and event names are attacker-influenced).

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// One session's part of the page.
pub struct SessionView<'a> {
    /// The `sessions` row (with `parents`/`children` added).
    pub session: &'a Value,
    /// `session_timeline` rows: the entry, then every action.
    pub rows: &'a [Value],
    /// The approval window, when the session's approval is known.
    pub approval: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A time as the JSON of a batch writes it (RFC 3339, or without a zone meaning UTC).
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hms(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
tr.finding td{background:#fde2e2}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dt{font-weight:600}svg{background:#fafafa;border:1px solid #ddd}
.ttl{stroke:#c00;stroke-width:2;stroke-dasharray:6 3}.entry{fill:#06c}.action{fill:#333}
.hit{fill:#d00}.appr{fill:#cfe8cf}.axis{stroke:#999}";

/// The start of the page, up to the first session.
pub fn head(title: &str, subject: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n",
        esc(title),
        esc(title),
        esc(subject)
    )
}

/// What a page without sessions says.
pub const NO_SESSIONS: &str =
    "<p id=\"no-sessions\">No break-glass session started in this period.</p>\n";

/// The end of the page.
pub const TAIL: &str = "</body></html>\n";

/// One session's section.
pub fn section(v: &SessionView, flagged: &HashMap<String, Vec<String>>) -> String {
    let mut h = String::new();
    session(&mut h, v, flagged);
    h
}

/// A whole page (the writer streams the same parts session by session).
pub fn page(
    title: &str,
    subject: &str,
    sessions: &[SessionView],
    flagged: &HashMap<String, Vec<String>>,
) -> String {
    let mut h = head(title, subject);
    if sessions.is_empty() {
        h.push_str(NO_SESSIONS);
    }
    for s in sessions {
        h.push_str(&section(s, flagged));
    }
    h.push_str(TAIL);
    h
}

fn session(h: &mut String, v: &SessionView, flagged: &HashMap<String, Vec<String>>) {
    let s = v.session;
    let id = text(&s["session_id"]);
    let start = parse_time(&s["start"]);
    let ttl = parse_time(&s["ttl_deadline"]);
    let end = parse_time(&s["end"]);
    let _ = write!(
        h,
        "<section id=\"session-{}\"><h2>Session {}</h2><dl>",
        esc(&id),
        esc(&id)
    );
    let mfa = match s["mfa_at_entry"].as_bool() {
        Some(true) => "MFA at entry: yes".to_string(),
        Some(false) => "MFA at entry: NO".to_string(),
        None => "MFA at entry: unknown".to_string(),
    };
    let approval = match (&s["approval"], v.approval) {
        (Value::Null, _) => "none".to_string(),
        (a, Some((nb, na))) => format!("{} ({} to {})", text(a), hms(&nb), hms(&na)),
        (a, None) => text(a),
    };
    for (k, val) in [
        ("Kind", text(&s["kind"])),
        ("Account", text(&s["account"])),
        ("Principal", text(&s["principal_arn"])),
        ("Actor", text(&s["actor"])),
        ("Start", start.as_ref().map(hms).unwrap_or_default()),
        ("TTL deadline", ttl.as_ref().map(hms).unwrap_or_default()),
        (
            "End (last action)",
            end.as_ref().map(hms).unwrap_or_default(),
        ),
        ("MFA", mfa),
        ("Approval", approval),
        ("Actions", text(&s["events"])),
        ("Parent session", text(&s["parent_session_id"])),
    ] {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&val));
    }
    h.push_str("</dl>\n");
    axis(h, v, start, ttl, flagged);
    h.push_str(
        "<table><thead><tr><th>time</th><th>step</th><th>event</th><th>region</th><th>source IP</th><th>error</th><th>flags</th><th>findings</th><th>event id</th></tr></thead><tbody>\n",
    );
    for r in v.rows {
        let eid = text(&r["eventid"]);
        let hits = flagged.get(&eid).map(|x| x.join(" ")).unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr class=\"{}\" data-eventid=\"{}\"><td>{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if hits.is_empty() {
                text(&r["step"])
            } else {
                "finding".into()
            },
            esc(&eid),
            esc(&parse_time(&r["eventtime"])
                .as_ref()
                .map(hms)
                .unwrap_or_default()),
            esc(&text(&r["step"])),
            esc(&text(&r["eventsource"])),
            esc(&text(&r["eventname"])),
            esc(&text(&r["awsregion"])),
            esc(&text(&r["sourceipaddress"])),
            esc(&text(&r["errorcode"])),
            esc(&text(&r["flags"])),
            esc(&hits),
            esc(&eid)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// The time axis: the approval window shaded, the entry and each action as a mark (findings in
/// red, their rule ids beside), the TTL deadline as a dashed line.
fn axis(
    h: &mut String,
    v: &SessionView,
    start: Option<DateTime<Utc>>,
    ttl: Option<DateTime<Utc>>,
    flagged: &HashMap<String, Vec<String>>,
) {
    let times: Vec<DateTime<Utc>> = v
        .rows
        .iter()
        .filter_map(|r| parse_time(&r["eventtime"]))
        .chain(start)
        .chain(ttl)
        .collect();
    let (Some(lo), Some(hi)) = (times.iter().min().copied(), times.iter().max().copied()) else {
        return;
    };
    let span = ((hi - lo).num_milliseconds().max(1)) as f64;
    let (w, left, right) = (1000.0, 20.0, 20.0);
    let x =
        |t: DateTime<Utc>| left + (t - lo).num_milliseconds() as f64 / span * (w - left - right);
    let row_h = 16.0;
    let height = 50.0 + row_h * v.rows.len() as f64;
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"timeline\">"
    );
    if let Some((nb, na)) = v.approval {
        let (a, b) = (x(nb.clamp(lo, hi)), x(na.clamp(lo, hi)));
        let _ = write!(
            h,
            "<rect class=\"appr\" x=\"{a:.1}\" y=\"0\" width=\"{:.1}\" height=\"{height}\"><title>approval window</title></rect>",
            (b - a).max(1.0)
        );
    }
    let _ = write!(
        h,
        "<line class=\"axis\" x1=\"{left}\" y1=\"20\" x2=\"{}\" y2=\"20\"/><text x=\"{left}\" y=\"14\" font-size=\"11\">{}</text><text x=\"{}\" y=\"14\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        w - right,
        esc(&hms(&lo)),
        w - right,
        esc(&hms(&hi))
    );
    if let Some(t) = start {
        let sx = x(t);
        let _ = write!(
            h,
            "<line class=\"axis\" id=\"entry\" x1=\"{sx:.1}\" y1=\"0\" x2=\"{sx:.1}\" y2=\"{height}\"><title>entry (session start) {}</title></line><text x=\"{:.1}\" y=\"34\" font-size=\"11\" fill=\"#06c\">entry</text>",
            esc(&hms(&t)),
            sx + 3.0
        );
    }
    if let Some(t) = ttl {
        let tx = x(t);
        let _ = write!(
            h,
            "<line class=\"ttl\" id=\"ttl\" x1=\"{tx:.1}\" y1=\"0\" x2=\"{tx:.1}\" y2=\"{height}\"><title>TTL deadline {}</title></line><text x=\"{:.1}\" y=\"34\" font-size=\"11\" fill=\"#c00\">TTL</text>",
            esc(&hms(&t)),
            tx + 3.0
        );
    }
    for (i, r) in v.rows.iter().enumerate() {
        let Some(t) = parse_time(&r["eventtime"]) else {
            continue;
        };
        let eid = text(&r["eventid"]);
        let hits = flagged.get(&eid).map(|x| x.join(" ")).unwrap_or_default();
        let class = if !hits.is_empty() {
            "hit"
        } else if text(&r["step"]) == "entry" {
            "entry"
        } else {
            "action"
        };
        let y = 45.0 + row_h * i as f64;
        let label = format!("{} {}", text(&r["eventname"]), hits);
        let _ = write!(
            h,
            "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\"><title>{} {}</title></circle><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
            x(t),
            esc(&hms(&t)),
            esc(&label),
            x(t) + 7.0,
            y + 3.0,
            esc(label.trim())
        );
    }
    h.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_and_nothing_external_is_referenced() {
        let s = serde_json::json!({
            "session_id": "s<1>", "kind": "role", "principal_arn": "<script>alert(1)</script>",
            "start": "2026-03-01T00:00:00Z", "ttl_deadline": "2026-03-01T01:00:00Z",
            "end": "2026-03-01T02:00:00Z", "mfa_at_entry": false, "approval": null,
        });
        let rows = vec![serde_json::json!({
            "eventtime": "2026-03-01T01:30:00Z", "step": "action", "eventsource": "iam",
            "eventname": "\"><img src=x>", "eventid": "e1",
        })];
        let flagged = HashMap::from([("e1".to_string(), vec!["BG002".to_string()])]);
        let p = page(
            "t",
            "s",
            &[SessionView {
                session: &s,
                rows: &rows,
                approval: None,
            }],
            &flagged,
        );
        assert!(!p.contains("<script"));
        assert!(!p.contains("<img"));
        assert!(p.contains("&lt;script&gt;"));
        assert!(p.contains("id=\"ttl\""));
        assert!(p.contains("BG002"));
        for external in ["http://", "https://", " src=\"", "@import", "url("] {
            let outside_svg_ns = p.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!outside_svg_ns.contains(external), "{external}");
        }
    }
}
