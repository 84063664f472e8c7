//! Why an object or a record was not ingested: the `reason` column of `rejects`. The strings are
//! stable (users query them, scheduled jobs count them) and documented in docs/CONTRACT.md §9; a
//! test checks that every one is listed there.

/// A reject's reason. `detail` beside it says the cause in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The object has no bytes.
    Empty,
    /// The gzip stream is damaged (bad header, CRC or length, or a member that does not progress).
    GzipCorrupt,
    /// The gzip stream ends before its last member does.
    GzipTruncated,
    /// Bytes after the last gzip member that are not gzip.
    GzipTrailingData,
    /// The object decompresses to more than `--max-object-size` (a gzip bomb, say).
    TooLarge,
    /// The text is not UTF-8.
    InvalidUtf8,
    /// The text is not JSON.
    JsonSyntax,
    /// The JSON ends early.
    JsonTruncated,
    /// Something follows the JSON document.
    TrailingData,
    /// JSON, but no CloudTrail container or record.
    NotCloudtrail,
    /// The object or record nests deeper than `--max-depth`.
    TooDeep,
    /// A known field of the wrong type, or a `creationDate` that is not a time.
    BadRecord,
    /// A record's `eventTime` is missing or not a time.
    BadEventTime,
    /// Reading the object took longer than `--object-timeout`.
    Timeout,
    /// The object was ingested before with other content (CloudTrail never rewrites a log file).
    ChangedObject,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::Empty,
        Reason::GzipCorrupt,
        Reason::GzipTruncated,
        Reason::GzipTrailingData,
        Reason::TooLarge,
        Reason::InvalidUtf8,
        Reason::JsonSyntax,
        Reason::JsonTruncated,
        Reason::TrailingData,
        Reason::NotCloudtrail,
        Reason::TooDeep,
        Reason::BadRecord,
        Reason::BadEventTime,
        Reason::Timeout,
        Reason::ChangedObject,
    ];

    /// The string stored in `rejects.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::GzipCorrupt => "gzip_corrupt",
            Reason::GzipTruncated => "gzip_truncated",
            Reason::GzipTrailingData => "gzip_trailing_data",
            Reason::TooLarge => "too_large",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::JsonSyntax => "json_syntax",
            Reason::JsonTruncated => "json_truncated",
            Reason::TrailingData => "trailing_data",
            Reason::NotCloudtrail => "not_cloudtrail",
            Reason::TooDeep => "too_deep",
            Reason::BadRecord => "bad_record",
            Reason::BadEventTime => "bad_event_time",
            Reason::Timeout => "timeout",
            Reason::ChangedObject => "changed_object",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;
    use std::collections::BTreeSet;

    /// The contract lists exactly the reasons the code writes.
    #[test]
    fn every_reason_is_documented_in_the_contract() {
        let contract = include_str!("../../docs/CONTRACT.md");
        let start = contract
            .find("**Reject reasons**")
            .expect("the contract lists the reject reasons");
        let rest = &contract[start..];
        let para = &rest[..rest[2..].find("\n- **").map_or(rest.len(), |i| i + 2)];
        let listed: BTreeSet<&str> = para
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .filter(|w| *w != "detail")
            .collect();
        let ours: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(listed, ours);
    }
}
