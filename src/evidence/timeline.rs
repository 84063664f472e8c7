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

/// One session's section, from all its rows at once (the writer streams the same parts).
pub fn section(v: &SessionView, flagged: &HashMap<String, Vec<String>>) -> String {
    let times = span(v.rows.iter().filter_map(|r| parse_time(&r["eventtime"])));
    let mut h = section_head(v.session, v.approval, times, v.rows.len());
    for (i, r) in v.rows.iter().enumerate() {
        h.push_str(&mark(v.session, times, i, r, flagged));
    }
    h.push_str(AXIS_END);
    for r in v.rows {
        h.push_str(&row(r, flagged));
    }
    h.push_str(SECTION_END);
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

/// The earliest and latest of `times`.
pub fn span(times: impl Iterator<Item = DateTime<Utc>>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    })
}

/// The time axis: from the earliest of the rows, the start and the TTL deadline to the latest.
struct Axis {
    lo: DateTime<Utc>,
    span_ms: f64,
}

const W: f64 = 1000.0;
const LEFT: f64 = 20.0;
const RIGHT: f64 = 20.0;
const ROW_H: f64 = 16.0;

impl Axis {
    fn new(session: &Value, rows: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Option<Axis> {
        let ends = rows
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .chain(parse_time(&session["start"]))
            .chain(parse_time(&session["ttl_deadline"]));
        let (lo, hi) = span(ends)?;
        Some(Axis {
            lo,
            span_ms: ((hi - lo).num_milliseconds().max(1)) as f64,
        })
    }

    fn x(&self, t: DateTime<Utc>) -> f64 {
        LEFT + (t - self.lo).num_milliseconds() as f64 / self.span_ms * (W - LEFT - RIGHT)
    }
}

/// The session's facts and the start of its time axis (approval window, entry, TTL line).
/// `rows`: the span of its rows' times; `n`: how many rows follow.
pub fn section_head(
    s: &Value,
    approval_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    rows: Option<(DateTime<Utc>, DateTime<Utc>)>,
    n: usize,
) -> String {
    let mut h = String::new();
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
    let approval = match (&s["approval"], approval_window) {
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
    let height = 50.0 + ROW_H * n as f64;
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" role=\"img\" aria-label=\"timeline\">"
    );
    let Some(axis) = Axis::new(s, rows) else {
        return h;
    };
    let hi = axis.lo + chrono::Duration::milliseconds(axis.span_ms as i64);
    if let Some((nb, na)) = approval_window {
        let (a, b) = (axis.x(nb.clamp(axis.lo, hi)), axis.x(na.clamp(axis.lo, hi)));
        let _ = write!(
            h,
            "<rect class=\"appr\" x=\"{a:.1}\" y=\"0\" width=\"{:.1}\" height=\"{height}\"><title>approval window</title></rect>",
            (b - a).max(1.0)
        );
    }
    let _ = write!(
        h,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"20\" x2=\"{}\" y2=\"20\"/><text x=\"{LEFT}\" y=\"14\" font-size=\"11\">{}</text><text x=\"{}\" y=\"14\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        W - RIGHT,
        esc(&hms(&axis.lo)),
        W - RIGHT,
        esc(&hms(&hi))
    );
    for (t, id, label, color) in [
        (start, "entry", "entry (session start)", "#06c"),
        (ttl, "ttl", "TTL deadline", "#c00"),
    ] {
        let Some(t) = t else { continue };
        let x = axis.x(t);
        let class = if id == "ttl" { "ttl" } else { "axis" };
        let _ = write!(
            h,
            "<line class=\"{class}\" id=\"{id}\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{height}\"><title>{label} {}</title></line><text x=\"{:.1}\" y=\"34\" font-size=\"11\" fill=\"{color}\">{}</text>",
            esc(&hms(&t)),
            x + 3.0,
            if id == "ttl" { "TTL" } else { "entry" }
        );
    }
    h
}

/// Row `i`'s mark on the time axis (findings in red, with their rules).
pub fn mark(
    session: &Value,
    rows: Option<(DateTime<Utc>, DateTime<Utc>)>,
    i: usize,
    r: &Value,
    flagged: &HashMap<String, Vec<String>>,
) -> String {
    let (Some(axis), Some(t)) = (Axis::new(session, rows), parse_time(&r["eventtime"])) else {
        return String::new();
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
    let y = 45.0 + ROW_H * i as f64;
    let label = format!("{} {}", text(&r["eventname"]), hits);
    format!(
        "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\"><title>{} {}</title></circle><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
        axis.x(t),
        esc(&hms(&t)),
        esc(&label),
        axis.x(t) + 7.0,
        y + 3.0,
        esc(label.trim())
    )
}

/// Between the marks and the table.
pub const AXIS_END: &str = "</svg>\n<table><thead><tr><th>time</th><th>step</th><th>event</th><th>region</th><th>source IP</th><th>error</th><th>flags</th><th>findings</th><th>event id</th></tr></thead><tbody>\n";

/// The end of a session's section.
pub const SECTION_END: &str = "</tbody></table></section>\n";

/// One table row.
pub fn row(r: &Value, flagged: &HashMap<String, Vec<String>>) -> String {
    let eid = text(&r["eventid"]);
    let hits = flagged.get(&eid).map(|x| x.join(" ")).unwrap_or_default();
    format!(
        "<tr class=\"{}\" data-eventid=\"{}\"><td>{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
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
    )
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
