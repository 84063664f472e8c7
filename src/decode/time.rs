//! CloudTrail times → microseconds since the Unix epoch (UTC).
//!
//! `eventTime` is `YYYY-MM-DDThh:mm:ssZ`; `creationDate` comes in that extended form and in the
//! basic form `YYYYMMDDThhmmssZ` (CLOUDTRAIL.md §1.5). Anything else RFC 3339 is accepted too.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

fn civil(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    let dt = NaiveDate::from_ymd_opt(y as i32, mo, d)?.and_hms_opt(h, mi, s)?;
    Some(dt.and_utc().timestamp_micros())
}

/// Parse a CloudTrail time; `None` when it is not a time.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // Fast path: the 20-byte form every eventTime uses.
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        return civil(
            digits(&b[0..4])?,
            digits(&b[5..7])?,
            digits(&b[8..10])?,
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        );
    }
    // Basic ISO 8601: 20131102T010628Z.
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        return civil(
            digits(&b[0..4])?,
            digits(&b[4..6])?,
            digits(&b[6..8])?,
            digits(&b[9..11])?,
            digits(&b[11..13])?,
            digits(&b[13..15])?,
        );
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    // Some tools drop the zone designator; CloudTrail times are UTC.
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

/// `YYYY-MM-DD` of a time, the `dt` partition value.
pub fn date_of(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid".to_string())
}

/// RFC 3339 with microseconds, UTC (`2026-03-01T10:00:00.000000Z`): the form session ids hash.
pub fn format_micros_rfc3339(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = parse_time("2020-09-17T19:04:10Z").unwrap();
        assert_eq!(parse_time("20200917T190410Z"), Some(a));
        assert_eq!(parse_time("2020-09-17T19:04:10.000Z"), Some(a));
        assert_eq!(parse_time("2020-09-17T19:04:10+00:00"), Some(a));
        assert_eq!(parse_time("2020-09-17T19:04:10"), Some(a));
        assert_eq!(date_of(a), "2020-09-17");
        assert_eq!(format_micros_rfc3339(a), "2020-09-17T19:04:10.000000Z");
        for bad in [
            "",
            "yesterday",
            "2020-13-17T19:04:10Z",
            "2020-02-30T00:00:00Z",
            "9999999999",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}

/// R21: property tests (proptest, with a fixed seed so every run tries the same inputs).
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    proptest! {
        #![proptest_config(crate::proptest_config(21, 20_000))]

        /// Every valid civil time, in the CloudTrail form and the basic ISO form, parses to
        /// chrono's answer and formats back; every form with a field out of range is None, never a
        /// panic.
        #[test]
        fn r21_times_parse_to_chronos_answer_and_never_panic(
            (y, mo, d) in (1970i64..=2200, 0i64..=13, 0i64..=32),
            (h, mi, s) in (0i64..=24, 0i64..=60, 0i64..=60),
            (at, byte, cut) in (any::<Index>(), 0u8..128, any::<Index>()),
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            let basic = format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z");
            let want = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)
                .and_then(|t| t.and_hms_opt(h as u32, mi as u32, s as u32))
                .map(|t| t.and_utc().timestamp_micros());
            prop_assert_eq!(parse_time(&text), want, "{}", text);
            prop_assert_eq!(parse_time(&basic), want, "{}", basic);
            if let Some(m) = want {
                let round = format_micros_rfc3339(m);
                prop_assert_eq!(parse_time(&round), Some(m), "{}", round);
                prop_assert_eq!(date_of(m), &text[..10]);
            }
            // Any cut or byte change of a time is a time or None, never a panic.
            let mut b = text.clone().into_bytes();
            let at = at.index(b.len());
            b[at] = byte;
            let cut = cut.index(b.len() + 1);
            let _ = parse_time(&String::from_utf8_lossy(&b[..cut]));
        }
    }
}
