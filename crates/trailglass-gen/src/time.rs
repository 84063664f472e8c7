//! Fast UTC formatting of unix seconds in the shapes CloudTrail uses.

use std::fmt::Write as _;

/// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub struct Parts {
    pub y: i64,
    pub mo: u32,
    pub d: u32,
    pub h: u32,
    pub mi: u32,
    pub s: u32,
}

pub fn parts(ts: i64) -> Parts {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, mo, d) = civil(days);
    Parts {
        y,
        mo,
        d,
        h: (secs / 3600) as u32,
        mi: ((secs / 60) % 60) as u32,
        s: (secs % 60) as u32,
    }
}

/// Day number (days since the epoch) of a timestamp.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(86_400)
}

/// `2026-03-01T10:00:00Z`
pub fn push_iso(out: &mut String, ts: i64) {
    let p = parts(ts);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    );
}

pub fn iso(ts: i64) -> String {
    let mut s = String::with_capacity(20);
    push_iso(&mut s, ts);
    s
}

/// `2026-03-01T10:00:00.000000Z` (the answer key's and `session_id`'s form).
pub fn iso_us(ts: i64) -> String {
    let p = parts(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `2026-03-01T10:00:00.000Z` (IAM's `aws:TokenIssueTime` in revocation policies).
pub fn iso_ms(ts: i64) -> String {
    let p = parts(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `20260301T1005Z` (log file names).
pub fn stamp_min(ts: i64) -> String {
    let p = parts(ts);
    format!("{:04}{:02}{:02}T{:02}{:02}Z", p.y, p.mo, p.d, p.h, p.mi)
}

/// `20260301T235959Z` (digest file names).
pub fn stamp_sec(ts: i64) -> String {
    let p = parts(ts);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `2026/03/01` (key folders).
pub fn date_path(ts: i64) -> String {
    let p = parts(ts);
    format!("{:04}/{:02}/{:02}", p.y, p.mo, p.d)
}

/// `2026-03-01`
pub fn date(ts: i64) -> String {
    let p = parts(ts);
    format!("{:04}-{:02}-{:02}", p.y, p.mo, p.d)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// STS/IAM human dates: `Mar 1, 2026, 11:00:00 AM` (comma after the year) or
/// `Mar 1, 2026 11:00:00 AM` (no comma), both seen in real records.
pub fn push_us_date(out: &mut String, ts: i64, comma: bool) {
    let p = parts(ts);
    let (h12, ampm) = match p.h {
        0 => (12, "AM"),
        1..=11 => (p.h, "AM"),
        12 => (12, "PM"),
        _ => (p.h - 12, "PM"),
    };
    let _ = write!(
        out,
        "{} {}, {}{} {}:{:02}:{:02} {}",
        MONTHS[(p.mo - 1) as usize],
        p.d,
        p.y,
        if comma { "," } else { "" },
        h12,
        p.mi,
        p.s,
        ampm
    );
}

pub fn us_date(ts: i64, comma: bool) -> String {
    let mut s = String::new();
    push_us_date(&mut s, ts, comma);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // 2026-03-01T10:00:00Z
        let ts = 1_772_359_200;
        assert_eq!(iso(ts), "2026-03-01T10:00:00Z");
        assert_eq!(iso_us(ts), "2026-03-01T10:00:00.000000Z");
        assert_eq!(stamp_min(ts + 330), "20260301T1005Z");
        assert_eq!(date_path(ts), "2026/03/01");
        assert_eq!(us_date(ts + 3600, true), "Mar 1, 2026, 11:00:00 AM");
        assert_eq!(us_date(ts + 3 * 3600, false), "Mar 1, 2026 1:00:00 PM");
        assert_eq!(us_date(ts - 10 * 3600, true), "Mar 1, 2026, 12:00:00 AM");
        assert_eq!(iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
    }
}
