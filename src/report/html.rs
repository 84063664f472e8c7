//! `--format html`: the report as one self-contained page. Like the evidence bundle's timeline it
//! has no script, font, stylesheet or image from anywhere (a Content-Security-Policy that allows
//! only inline style says so to the browser): the charts are SVG drawn here, so the page opens
//! offline, looks the same in every browser, and has nothing that could log a console error.
//! Every text taken from the data is HTML-escaped (principals and summaries are
//! attacker-influenced).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{Finding, Report, SessionEntry};
use crate::evidence::timeline::{esc, parse_time};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1020px}
.counts{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}ul.summary li{margin:2px 0}
svg{background:#fafafa;border:1px solid #ddd;display:block;margin:.5em 0}
.bar{fill:#4a7fc1}.late{fill:#d33}.writes{fill:#e8a33d}.ttl{stroke:#c00;stroke-width:2;stroke-dasharray:4 2}
.axis{stroke:#999}.grid{stroke:#e4e4e4}.lbl{font-size:11px;fill:#333}
.sev-critical,.sev-high{color:#b00;font-weight:600}.sev-medium{color:#a60}
.legend rect{stroke:none}";

/// Chart geometry: a label column, then the plot.
const W: f64 = 980.0;
const LABEL: f64 = 150.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 20.0;
const TOP: f64 = 30.0;

fn hms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A session's times: start, end (last action, at least the start), TTL deadline.
struct Span {
    id: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    ttl: Option<DateTime<Utc>>,
}

fn span_of(s: &SessionEntry) -> Option<Span> {
    let start = parse_time(s.row.get("start")?)?;
    let end = s
        .row
        .get("end")
        .and_then(parse_time)
        .map_or(start, |e| e.max(start));
    Some(Span {
        id: s.get("session_id"),
        start,
        end,
        ttl: s.row.get("ttl_deadline").and_then(parse_time),
    })
}

/// Sessions on a time axis: a bar from start to last action (red past the TTL deadline), and the
/// TTL deadline as a dashed red line across its row.
fn timeline(sessions: &[SessionEntry]) -> String {
    let spans: Vec<Span> = sessions.iter().filter_map(span_of).collect();
    let (Some(lo), Some(hi)) = (
        spans.iter().map(|s| s.start).min(),
        spans
            .iter()
            .flat_map(|s| [Some(s.end), s.ttl])
            .flatten()
            .max(),
    ) else {
        return String::new();
    };
    let ms = ((hi - lo).num_milliseconds().max(1)) as f64;
    let x =
        |t: DateTime<Utc>| LABEL + (t - lo).num_milliseconds() as f64 / ms * (W - LABEL - RIGHT);
    let height = TOP + ROW * spans.len() as f64 + 10.0;
    let mut h = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-chart\" width=\"{W}\" height=\"{height}\" role=\"img\" aria-label=\"sessions on a timeline\">"
    );
    let _ = write!(
        h,
        "<line class=\"axis\" x1=\"{LABEL}\" y1=\"{TOP}\" x2=\"{}\" y2=\"{TOP}\"/><text class=\"lbl\" x=\"{LABEL}\" y=\"16\">{}</text><text class=\"lbl\" x=\"{}\" y=\"16\" text-anchor=\"end\">{}</text>",
        W - RIGHT,
        esc(&hms(lo)),
        W - RIGHT,
        esc(&hms(hi))
    );
    for (i, s) in spans.iter().enumerate() {
        let y = TOP + 4.0 + ROW * i as f64;
        let (x0, x1) = (x(s.start), x(s.end));
        let _ = write!(
            h,
            "<text class=\"lbl\" x=\"4\" y=\"{:.1}\">{}</text>",
            y + 12.0,
            esc(&s.id)
        );
        // At least 2 px, so a session of one action is still seen.
        let cut = s.ttl.filter(|t| *t < s.end).map_or(x1, |t| x(t).max(x0));
        let _ = write!(
            h,
            "<rect class=\"bar\" data-session=\"{}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\"><title>{} {} to {}</title></rect>",
            esc(&s.id),
            (cut - x0).max(2.0),
            esc(&s.id),
            esc(&hms(s.start)),
            esc(&hms(s.end))
        );
        if cut < x1 {
            let _ = write!(
                h,
                "<rect class=\"late\" x=\"{cut:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\"><title>after the TTL deadline</title></rect>",
                x1 - cut
            );
        }
        if let Some(t) = s.ttl {
            let xt = x(t);
            let _ = write!(
                h,
                "<line class=\"ttl\" data-ttl=\"{}\" x1=\"{xt:.1}\" y1=\"{:.1}\" x2=\"{xt:.1}\" y2=\"{:.1}\"><title>TTL deadline {}</title></line>",
                esc(&s.id),
                y - 3.0,
                y + 17.0,
                esc(&hms(t))
            );
        }
    }
    h.push_str("</svg>\n<p class=\"legend\">Blue: start to last action; red: actions after the TTL deadline; dashed red line: the TTL deadline.</p>\n");
    h
}

fn count(s: &SessionEntry, key: &str) -> u64 {
    s.row
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

/// Actions per session: a bar of its actions with its write actions over it.
fn actions(sessions: &[SessionEntry]) -> String {
    if sessions.is_empty() {
        return String::new();
    }
    let most = sessions
        .iter()
        .map(|s| count(s, "events"))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = W - LABEL - RIGHT - 60.0;
    let height = TOP + ROW * sessions.len() as f64 + 10.0;
    let mut h = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"actions-chart\" width=\"{W}\" height=\"{height}\" role=\"img\" aria-label=\"actions per session\">"
    );
    let _ = write!(
        h,
        "<text class=\"lbl\" x=\"{LABEL}\" y=\"16\">actions (writes in orange), most {most}</text>"
    );
    for (i, s) in sessions.iter().enumerate() {
        let y = TOP + 4.0 + ROW * i as f64;
        let (n, w) = (count(s, "events"), count(s, "writes"));
        let id = s.get("session_id");
        let wn = n as f64 / most * plot;
        let ww = w.min(n) as f64 / most * plot;
        let _ = write!(
            h,
            "<text class=\"lbl\" x=\"4\" y=\"{:.1}\">{}</text><rect class=\"bar\" data-session=\"{}\" x=\"{LABEL}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\"><title>{n} actions</title></rect><rect class=\"writes\" x=\"{LABEL}\" y=\"{y:.1}\" width=\"{ww:.1}\" height=\"14\"><title>{w} writes</title></rect><text class=\"lbl\" x=\"{:.1}\" y=\"{:.1}\">{n} / {w}</text>",
            y + 12.0,
            esc(&id),
            esc(&id),
            wn.max(1.0),
            LABEL + wn + 6.0,
            y + 12.0
        );
    }
    h.push_str("</svg>\n");
    h
}

fn table(h: &mut String, findings: &[&Finding], empty: &str) {
    if findings.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", esc(empty));
        return;
    }
    h.push_str("<table><thead><tr><th>severity</th><th>rule</th><th>session</th><th>event</th><th>time</th><th>summary</th><th>note</th></tr></thead><tbody>\n");
    for f in findings {
        let note = f.note();
        let o = |s: &Option<String>| esc(s.as_deref().unwrap_or(""));
        let _ = writeln!(
            h,
            "<tr data-finding=\"{}\"><td class=\"sev-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.id),
            esc(&f.severity),
            esc(&f.severity),
            esc(&f.rule_id),
            o(&f.session_id),
            o(&f.eventid),
            o(&f.eventtime),
            o(&f.summary),
            esc(&note)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn counts<'a>(h: &mut String, head: &str, rows: impl Iterator<Item = (&'a str, usize)>) {
    let _ = write!(
        h,
        "<table><thead><tr><th>{}</th><th>count</th></tr></thead><tbody>",
        esc(head)
    );
    for (k, n) in rows {
        let _ = write!(h, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(k));
    }
    h.push_str("</tbody></table>\n");
}

/// The whole page.
pub fn page(r: &Report) -> String {
    let mut h = String::new();
    let window = r.window_text();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>trailglass report</title><style>{STYLE}</style></head><body>\n<h1>trailglass report</h1>\n<p>Created {} by trailglass {}. Window: {}.</p>\n",
        esc(&r.created),
        esc(&r.tool_version),
        esc(&window)
    );
    let s = &r.summary;
    let (anomalies, rules): (Vec<&Finding>, Vec<&Finding>) =
        r.findings.iter().partition(|f| f.rule_id.starts_with("AN"));
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<ul class=\"summary\">");
    let _ = write!(
        h,
        "<li>{} break-glass session(s) in the window</li><li>{} finding(s) to look at ({} from rules, {} anomalies), {} suppressed</li>",
        s.sessions,
        s.findings,
        rules.len(),
        anomalies.len(),
        s.suppressed
    );
    if let Some(n) = s.already_reported {
        let _ = write!(
            h,
            "<li>{n} already reported by an earlier run (not repeated)</li>"
        );
    }
    if !r.expired_suppressions.is_empty() {
        let _ = write!(
            h,
            "<li>{} expired suppression(s) (see below)</li>",
            r.expired_suppressions.len()
        );
    }
    if let Some(line) = r.ingest_text() {
        let _ = write!(h, "<li>{}</li>", esc(&line));
    }
    h.push_str("</ul>\n<div class=\"counts\">");
    for (head, rows) in s.tables() {
        counts(&mut h, head, rows.into_iter());
    }
    h.push_str("</div>\n");

    h.push_str("<h2 id=\"sessions\">Sessions on a timeline</h2>\n");
    if r.sessions.is_empty() {
        h.push_str("<p id=\"no-sessions\">No break-glass session started in the window.</p>\n");
    } else {
        h.push_str(&timeline(&r.sessions));
        h.push_str("<h2 id=\"actions\">Actions per session</h2>\n");
        h.push_str(&actions(&r.sessions));
        h.push_str("<table><thead><tr><th>session</th><th>kind</th><th>principal</th><th>account</th><th>start</th><th>end</th><th>TTL deadline</th><th>actions</th><th>writes</th><th>errors</th><th>MFA at entry</th><th>approval</th><th>findings</th></tr></thead><tbody>\n");
        for sess in &r.sessions {
            let cells: Vec<String> = [
                "session_id",
                "kind",
                "principal_arn",
                "account",
                "start",
                "end",
                "ttl_deadline",
                "events",
                "writes",
                "errors",
                "mfa_at_entry",
                "approval",
            ]
            .iter()
            .map(|k| format!("<td>{}</td>", esc(&sess.get(k))))
            .collect();
            let _ = writeln!(
                h,
                "<tr>{}<td class=\"num\">{}</td></tr>",
                cells.concat(),
                sess.findings.len()
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("<h2 id=\"findings\">Findings</h2>\n");
    table(&mut h, &rules, "No rule finding to look at.");
    h.push_str("<h2 id=\"anomalies\">Anomalies</h2>\n");
    table(&mut h, &anomalies, "No anomaly.");
    h.push_str("<h2 id=\"suppressed\">Suppressed findings</h2>\n");
    let sup: Vec<&Finding> = r.suppressed.iter().collect();
    table(&mut h, &sup, "None.");
    if !r.expired_suppressions.is_empty() {
        h.push_str("<h2 id=\"expired\">Expired suppressions</h2>\n<ul>");
        for e in &r.expired_suppressions {
            let x = &e.suppression;
            let _ = write!(
                h,
                "<li>{}: \"{}\", expired {}; hides nothing now ({} finding(s) shown again)</li>",
                esc(&super::place(&x.file, x.line)),
                esc(&x.reason),
                esc(&x.expires.map(super::rfc3339).unwrap_or_default()),
                e.matched
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_and_nothing_external_is_referenced() {
        let mut row = serde_json::Map::new();
        for (k, v) in [
            ("session_id", "s<1>"),
            ("principal_arn", "<script>alert(1)</script>"),
            ("start", "2026-03-01T00:00:00Z"),
            ("end", "2026-03-01T02:00:00Z"),
            ("ttl_deadline", "2026-03-01T01:00:00Z"),
        ] {
            row.insert(k.into(), v.into());
        }
        row.insert("events".into(), 4.into());
        row.insert("writes".into(), 1.into());
        let input = super::super::Input {
            created: chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            window: Default::default(),
            sessions: vec![row],
            findings: Vec::new(),
            principals: Default::default(),
            suppressions: Vec::new(),
            ingest: None,
        };
        let page = page(&super::super::build(input, None));
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("class=\"late\""), "after-TTL part drawn");
        assert!(page.contains("data-ttl=\"s&lt;1&gt;\""));
        for external in ["http://", "https://", "src=", "@import", "url("] {
            let outside = page.replace("http://www.w3.org/2000/svg", "");
            assert!(!outside.contains(external), "{external} in the page");
        }
    }
}
