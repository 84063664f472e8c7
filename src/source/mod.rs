//! Sources of CloudTrail objects: the seam between where objects live (a local directory or an S3
//! bucket) and decode. A source lists objects within a [`Filter`], pruning by the key layout before
//! it looks deeper, and hands out their bytes.
//!
//! Key layout (CLOUDTRAIL.md §1.6):
//! `[prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE` for logs,
//! `CloudTrail-Digest/` for digests, `CloudTrail-Insight/` for insights.

mod dir;
mod s3;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::NaiveDate;
use rayon::prelude::*;

pub use dir::DirSource;
pub use s3::{S3Options, S3Source};

/// What an object is, judged from its key alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A CloudTrail log file (decoded whatever its extension says).
    Log,
    /// A digest file (`CloudTrail-Digest/`).
    Digest,
    /// A digest's signature sidecar in a local copy (`….metadata.json` or `….sig`, SPEC §12).
    DigestSidecar,
    /// Skipped and counted: insights, Config, and anything else.
    Skip(&'static str),
}

/// What the key layout says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kind: Kind,
    pub org: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub date: Option<NaiveDate>,
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Classify a key (a path relative to the bucket root, `/`-separated).
pub fn classify(key: &str) -> KeyInfo {
    let parts: Vec<&str> = key.split('/').collect();
    let mut info = KeyInfo {
        kind: Kind::Skip("foreign"),
        org: None,
        account: None,
        region: None,
        date: None,
    };
    let file = parts.last().copied().unwrap_or_default();
    if file == "ConfigWritabilityCheckFile" {
        info.kind = Kind::Skip("config");
        return info;
    }
    // The last AWSLogs component: a prefix may itself contain "AWSLogs".
    let Some(at) = parts.iter().rposition(|p| *p == "AWSLogs") else {
        return info;
    };
    let mut rest = &parts[at + 1..];
    if let Some(o) = rest.first().filter(|p| p.starts_with("o-")) {
        info.org = Some(o.to_string());
        rest = &rest[1..];
    }
    let Some(account) = rest.first().filter(|a| is_account(a)) else {
        return info;
    };
    info.account = Some(account.to_string());
    let service = rest.get(1).copied().unwrap_or_default();
    info.region = rest.get(2).map(|r| r.to_string());
    info.date = match (rest.get(3), rest.get(4), rest.get(5)) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(
            y.parse().unwrap_or(-1),
            m.parse().unwrap_or(0),
            d.parse().unwrap_or(0),
        ),
        _ => None,
    };
    let in_day_folder = rest.len() == 7 && info.date.is_some();
    info.kind = match service {
        "CloudTrail" if in_day_folder => Kind::Log,
        "CloudTrail-Digest" if in_day_folder => {
            if file.ends_with(".metadata.json") || file.ends_with(".sig") {
                Kind::DigestSidecar
            } else {
                Kind::Digest
            }
        }
        "CloudTrail-Insight" => Kind::Skip("insight"),
        "Config" => Kind::Skip("config"),
        _ => Kind::Skip("foreign"),
    };
    info
}

/// Which objects a run wants (`--accounts`, `--regions`, `--from`, `--to`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub from: Option<NaiveDate>,
    /// Inclusive; objects dated `to + 1 day` are included too (late deliveries, SPEC §4).
    pub to: Option<NaiveDate>,
    /// Incremental runs: per (account, region), the first day worth listing again (the newest
    /// ingested day minus the look-back window). A source whose listing is cheap may ignore it.
    pub resume: HashMap<(String, String), NaiveDate>,
}

impl Filter {
    pub fn account(&self, a: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|x| x == a)
    }
    pub fn region(&self, r: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|x| x == r)
    }
    fn last_day(&self) -> Option<NaiveDate> {
        self.to.and_then(|t| t.succ_opt())
    }
    pub fn date(&self, d: NaiveDate) -> bool {
        self.from.is_none_or(|f| d >= f) && self.last_day().is_none_or(|t| d <= t)
    }
    /// Can any day of this year (and month) pass? Used to prune folders before listing them.
    pub fn year_month(&self, y: i32, m: Option<u32>) -> bool {
        let (lo, hi) = match m {
            Some(m) => match (
                NaiveDate::from_ymd_opt(y, m, 1),
                NaiveDate::from_ymd_opt(y + (m == 12) as i32, m % 12 + 1, 1),
            ) {
                (Some(a), Some(b)) => (a, b.pred_opt().unwrap_or(b)),
                _ => return true,
            },
            None => match (
                NaiveDate::from_ymd_opt(y, 1, 1),
                NaiveDate::from_ymd_opt(y, 12, 31),
            ) {
                (Some(a), Some(b)) => (a, b),
                _ => return true,
            },
        };
        self.from.is_none_or(|f| hi >= f) && self.last_day().is_none_or(|t| lo <= t)
    }
    /// Does an object with this key pass the filter?
    pub fn key(&self, info: &KeyInfo) -> bool {
        info.account.as_deref().is_none_or(|a| self.account(a))
            && info.region.as_deref().is_none_or(|r| self.region(r))
            && info.date.is_none_or(|d| self.date(d))
    }
}

/// One object of a source.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub key: String,
    pub size: u64,
    /// Microseconds since the epoch.
    pub last_modified: Option<i64>,
    /// The store's entity tag when it has one (S3); local files get theirs from their content.
    pub etag: Option<String>,
}

/// A digest object with the signature captured beside it.
#[derive(Debug, Clone)]
pub struct DigestRef {
    pub object: ObjectRef,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    pub logs: Vec<ObjectRef>,
    pub digests: Vec<DigestRef>,
    /// Skipped objects by reason, with their keys.
    pub skipped: BTreeMap<&'static str, Vec<String>>,
    /// Folders or prefixes listed (to show that filters pruned the listing).
    pub listed_prefixes: Vec<String>,
}

/// What a source found out before the run touched the lake.
#[derive(Debug, Default)]
pub struct Preflight {
    /// The KMS key the objects are encrypted under, when the source can tell.
    pub kms_key: Option<String>,
    /// Problems that do not stop the run (a read-only role may lack `GetBucketEncryption`).
    pub warnings: Vec<String>,
}

/// Reading one object took longer than its budget (`--object-timeout`). The object is rejected
/// `timeout` for this run and left out of `objects`, so the next run tries it again.
#[derive(Debug, thiserror::Error)]
#[error("reading {key} took longer than the {budget:?} budget (--object-timeout)")]
pub struct TimedOut {
    pub key: String,
    pub budget: std::time::Duration,
}

/// An object's bytes and the store's user metadata (`x-amz-meta-*`, without the prefix).
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub metadata: HashMap<String, String>,
}

/// The seam between a store and decode. Methods are called from many threads at once.
pub trait Source: Send + Sync {
    /// The bucket name recorded in `objects` (a local copy is named after its bucket, SPEC §12).
    fn bucket(&self) -> Option<String>;
    fn describe(&self) -> String;
    /// Check, before anything is written, that the run can list and read; an error stops it.
    fn preflight(&self, _filter: &Filter) -> Result<Preflight> {
        Ok(Preflight::default())
    }
    fn list(&self, filter: &Filter) -> Result<Listing>;
    fn get(&self, object: &ObjectRef) -> Result<Fetched>;
    /// Whether reads go over the network (and are worth overlapping with decoding).
    fn remote(&self) -> bool {
        false
    }
    /// Read several objects; in the caller's order. A remote store overlaps the requests.
    fn get_many(&self, objects: &[ObjectRef]) -> Vec<Result<Fetched>> {
        objects.par_iter().map(|o| self.get(o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_keys() {
        let k =
            classify("AWSLogs/o-1234abcde/222222222222/CloudTrail/us-east-1/2025/03/06/x.json.gz");
        assert_eq!(k.kind, Kind::Log);
        assert_eq!(k.org.as_deref(), Some("o-1234abcde"));
        assert_eq!(k.account.as_deref(), Some("222222222222"));
        assert_eq!(k.region.as_deref(), Some("us-east-1"));
        assert_eq!(k.date, NaiveDate::from_ymd_opt(2025, 3, 6));
        let k =
            classify("pfx/AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2025/03/06/d.json.gz");
        assert_eq!(k.kind, Kind::Digest);
        assert_eq!(
            classify("AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2025/03/06/d.json.gz.sig")
                .kind,
            Kind::DigestSidecar
        );
        assert_eq!(
            classify("AWSLogs/111111111111/CloudTrail-Insight/eu-west-1/2025/03/06/i.json.gz").kind,
            Kind::Skip("insight")
        );
        assert_eq!(
            classify("AWSLogs/111111111111/Config/ConfigWritabilityCheckFile").kind,
            Kind::Skip("config")
        );
        assert_eq!(classify("README.md").kind, Kind::Skip("foreign"));
        assert_eq!(
            classify("AWSLogs/111111111111/CloudTrail/us-east-1/2025/03/x.json.gz").kind,
            Kind::Skip("foreign")
        );
    }

    #[test]
    fn filter_dates_include_the_day_after() {
        let f = Filter {
            from: NaiveDate::from_ymd_opt(2025, 3, 1),
            to: NaiveDate::from_ymd_opt(2025, 3, 6),
            ..Default::default()
        };
        assert!(f.date(NaiveDate::from_ymd_opt(2025, 3, 7).unwrap()));
        assert!(!f.date(NaiveDate::from_ymd_opt(2025, 3, 8).unwrap()));
        assert!(!f.date(NaiveDate::from_ymd_opt(2025, 2, 28).unwrap()));
        assert!(f.year_month(2025, Some(3)));
        assert!(!f.year_month(2025, Some(4)));
        assert!(!f.year_month(2024, None));
    }
}
