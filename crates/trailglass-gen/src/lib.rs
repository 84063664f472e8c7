//! Deterministic synthetic organization trail with planted break-glass sessions and an exact
//! answer key (`trailglass generate`).
//!
//! The same [`GenConfig`] always gives byte-identical output, also when files are written in
//! parallel: every random choice comes from a stream derived from the seed and a stable path
//! (file slot, event index, scenario). Background files are generated one at a time and streamed
//! through SHA-256 and gzip, so memory stays flat at any size; only the few planted records are
//! held in memory.
//!
//! # Decisions (where SPEC §6/§7 leave room; the answer key follows exactly these)
//!
//! - **What `--sessions N` counts**: N planted *scenarios*, cycling through the 15 variants of
//!   [`planted::VARIANTS`] (role with/without MFA, role whose entry is before the window, revoked
//!   role, Identity Center with/without MFA, user console with/without MFA, user long-term key +
//!   `GetSessionToken` child, root console with/without MFA, root access key, `AssumeRoot`,
//!   chained depth 1 and 2, approval closing mid-session). A scenario can give several `sessions`
//!   rows (chained children); the answer key lists every row. Rule-only events (BG009, BG010
//!   outside sessions, BG014) are planted once per cycle of 15.
//! - **`entry_event_id`**: the successful issuing record whose `credentials.accessKeyId` is the
//!   session key (`AssumeRoleWithSAML` for Identity Center, `ConsoleLogin` for console sessions).
//!   A cross-account `AssumeRole` is logged twice (caller's copy and role owner's `AWSAccount`
//!   copy, same `sharedEventID`): the entry is the copy whose `recipientAccountId` is the
//!   session's account. The caller's copy is an action of the calling (parent) session, if any.
//!   `AssumeRoot` is logged once, in the calling management account: that record is the entry of
//!   the member account's root session. Long-term key sessions (`AKIA…`) have no entry event;
//!   their first use is their start and is counted as an action. Every session's `start` equals
//!   the `creationDate` its actions carry (entry time, or first use for long-term keys).
//! - **`actor`**: role, chained role and Identity Center sessions: the role session name (planted
//!   role sessions set `sourceIdentity` to the same value); IAM user sessions: the user name; root
//!   console and root key sessions: `"root"`; `AssumeRoot` sessions: the ARN of the caller of
//!   `AssumeRoot`. Planted Identity Center actions carry no `onBehalfOf`.
//! - **`principal_arn`**: the role ARN with its path (`…:role/aws-reserved/sso.amazonaws.com/
//!   us-east-1/AWSReservedSSO_BreakGlass_<hex>` for Identity Center), the user ARN, or
//!   `arn:aws:iam::<acct>:root`.
//! - **`mfa_at_entry`**: role sessions: `serialNumber` in the `AssumeRole` (= the actions'
//!   `mfaAuthenticated`); console sessions: `MFAUsed` is yes; Identity Center: the latest
//!   `UserAuthentication` decision of §6; long-term keys and `AssumeRoot`: false; chained: the
//!   root session's. `without_mfa`/BG003 for role, user and root sessions count actions whose
//!   `mfaAuthenticated` is not `"true"` (absent counts as not true); for Identity Center and
//!   chained sessions all actions or none, per that state. Chained role sessions' own records say
//!   `mfaAuthenticated: "false"` (the §6 decision overrides it).
//! - **Approvals**: `approvals.csv` `principal` is matched (case-insensitively, exact here) against
//!   the session's `principal_arn`; an approval covers a session when `not_before <= start <=
//!   not_after`; if several do, the one with the latest `not_before`. A chained session inherits
//!   its root session's approval (the file also lists the chained principals under the same ticket
//!   and window, so matching them directly gives the same answer). BG005: one per session row
//!   without approval, chained rows included.
//! - **BG013** (one row per offending distinct event): an action of a role / Identity Center /
//!   chained session on role R with `eventtime >` T of a later `AWSRevokeOlderSessions`
//!   `PutRolePolicy` on R, for sessions that started before T (planted: no action of the revoked
//!   session within 10 minutes after T, so propagation allowances do not matter); an action after
//!   the session's approval `not_after`; an action of a user/root session after a password change
//!   of that principal made after the session started (none is planted: rotations come after the
//!   session's end). An event that qualifies twice is one row.
//! - **BG006** (one per session) applies to user and root sessions that began with a
//!   `ConsoleLogin` (a password was used). It is raised when `end + rotate_within <=` the end of the
//!   generated window and no password change of that principal (`UpdateLoginProfile`,
//!   `ChangePassword` for users, sign-in `PasswordUpdated` for root) has `end < eventtime <= end +
//!   rotate_within`. Long-term-key and `AssumeRoot` sessions are planted in the last
//!   `rotate_within` of the window, so they are "rotation pending" under any reading.
//! - **BG014** (one per sign-in/assumption event): successful `ConsoleLogin` and `AssumeRole*`
//!   records in a production account whose caller is a person (`IAMUser`, `SAMLUser`, a human's
//!   role session) and where neither caller nor target is break-glass. Background traffic in the
//!   production account is automation only (service principals, service-assumed roles, an
//!   automation user that never signs in or assumes roles), and no planted break-glass entry event
//!   lands in the production account other than via root/long-term keys (no sign-in there).
//! - **BG009**: per attempt: failed `ConsoleLogin` of a break-glass user or root, and a failed
//!   `AssumeRole` of a break-glass role (same-account, so one record). **BG010**:
//!   `DeactivateMFADevice` / `DeleteVirtualMFADevice` whose `userName` / `serialNumber` names a
//!   break-glass user, inside or outside sessions. BG007/BG008/BG011 count *actions of a
//!   session* (events carrying its credentials), not events of other principals that happen in
//!   the same time span: the `AWSRevokeOlderSessions` `PutRolePolicy` of the incident-response
//!   automation (during the revoked session) and the administrator's `UpdateLoginProfile` password
//!   resets are not findings. Otherwise the background never uses those event names (no IAM
//!   write, CloudTrail write, MFA-device call, `StartSession`, `SendSSHPublicKey`,
//!   `ExecuteCommand`).
//! - **Boundaries**: planted times are whole minutes plus 7 s (or as listed), and no planted action
//!   is within 60 s of its TTL deadline (`eventtime > start + ttl` is the test).
//! - **Duplicates and late delivery**: some records (background and planted, including planted
//!   actions with findings and one entry event) are delivered twice, byte-identical, in the next
//!   file of their stream; some are delivered ~2 h late with `addendum.reason = DELIVERY_DELAY`
//!   (content then differs from an on-time copy, which never exists). `late_files` counts log files
//!   whose key date is after the UTC date of their oldest event.
//! - **Answer key extras** beyond the requested fields: per session `variant` (scenario name) and
//!   `end` (last action); top level `findings` (every expected finding: rule, session, event);
//!   `generator` also lists the accounts with their role and the log bytes written.
//! - **Anomaly story** (`--anomalies planted|steady`, with no scenarios): `planted::WINDOW_DAY`
//!   is the data. Each planted session has its own approval, from a minute before it to a minute
//!   after its last action, so only the session meant to raise AN008 has an uncovered use; the
//!   answer key's `anomalies` lists (rule, session, event) for every anomaly of the last day, the
//!   event being the session's entry (AN001–AN007), its first uncovered action (AN008) or the
//!   first failed attempt (AN009).
//! - **Digests**: one `CloudTrail-Digest` per account/region/day of delivery, chained to the
//!   previous day's; `hashValue`/`previousDigestHashValue` are the real SHA-256 of the
//!   uncompressed bytes; signatures are deterministic placeholders (no signing key exists, no
//!   signature sidecar is written).

pub mod background;
pub mod json;
pub mod planted;
pub mod record;
pub mod rng;
pub mod sts;
pub mod time;
pub mod world;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use background::{Scratch, Slot};
use json::W;
use planted::{FindingTruth, Planter, SessionTruth};
use rng::Rng;
use world::World;

/// File layout of the generated trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// One file per account/region/5-minute window with events (a real org trail: a few KB each).
    Small,
    /// Few big files (~7 MB uncompressed each).
    Large,
}

#[derive(Clone, Debug)]
pub struct GenConfig {
    pub seed: u64,
    pub accounts: usize,
    pub regions: usize,
    pub days: u32,
    pub start: NaiveDate,
    /// Approximate number of records (background + planted).
    pub records: usize,
    /// Target uncompressed JSON bytes; when set, overrides `records`.
    pub size_bytes: Option<u64>,
    /// Planted scenarios (see the decisions above).
    pub sessions: usize,
    pub shape: Shape,
    /// `o-…`; derived from the seed when `None`.
    pub org_id: Option<String>,
    /// gzip level (1–9).
    pub gzip_level: u32,
    /// Share (0–1) of the background events that are `AssumeRole*` calls of services, Identity
    /// Center permission sets and automation (`sts::assume_event`). Real organization trails
    /// have AssumeRole among their top event names; 0 gives the older, STS-quiet traffic.
    pub assume_share: f64,
    /// Plant the anomaly story instead of scenarios (`planted::Anomalies`; `sessions` must be 0).
    pub anomalies: Option<planted::Anomalies>,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            accounts: 4,
            regions: 3,
            days: 2,
            start: NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid date"),
            records: 5_000,
            size_bytes: None,
            sessions: 15,
            shape: Shape::Small,
            org_id: None,
            gzip_level: 6,
            assume_share: 0.12,
            anomalies: None,
        }
    }
}

impl GenConfig {
    /// The committed sample (`testdata/sample`): every session kind, variant and rule once.
    pub fn sample() -> Self {
        GenConfig {
            seed: 20_260_301,
            records: 4_800,
            // The committed sample (and the outputs checked against it) predate the STS traffic.
            assume_share: 0.0,
            ..GenConfig::default()
        }
    }

    /// The benchmark trail: about 1 GiB of uncompressed JSON over a week.
    pub fn bench_1gib(shape: Shape) -> Self {
        GenConfig {
            seed: 7,
            days: 7,
            size_bytes: Some(1 << 30),
            sessions: 30,
            shape,
            gzip_level: 6,
            ..GenConfig::default()
        }
    }

    fn validate(&self) -> Result<()> {
        if self.accounts == 0 {
            bail!("--accounts must be at least 1");
        }
        if self.sessions > 0 && self.accounts < 3 {
            bail!(
                "planted sessions need at least 3 accounts (management, production and a member)"
            );
        }
        if self.regions == 0 || self.regions > world::REGIONS.len() {
            bail!("--regions must be between 1 and {}", world::REGIONS.len());
        }
        if self.days == 0 || self.days > 366 {
            bail!("--days must be between 1 and 366");
        }
        if !(0.0..=0.9).contains(&self.assume_share) {
            bail!("--assume-share must be between 0 and 0.9");
        }
        if self.anomalies.is_some() {
            if self.sessions > 0 {
                bail!("--anomalies plants its own sessions; give --sessions 0");
            }
            if self.accounts < 3 || self.regions < 2 || self.days < Planter::ANOMALY_DAYS {
                bail!(
                    "--anomalies needs at least 3 accounts, 2 regions and {} days",
                    Planter::ANOMALY_DAYS
                );
            }
        }
        if !(1..=9).contains(&self.gzip_level) {
            bail!("gzip level must be between 1 and 9");
        }
        Ok(())
    }
}

/// The answer key written to `answer-key.json`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AnswerKey {
    pub generator: GeneratorInfo,
    /// Records written, duplicate deliveries included.
    pub records: u64,
    pub distinct_events: u64,
    pub duplicate_deliveries: u64,
    /// Log files whose key date is after the date of their oldest event.
    pub late_files: u64,
    pub objects: ObjectCounts,
    pub sessions: Vec<SessionTruth>,
    /// Expected findings per rule (BG001–BG014).
    pub rules: BTreeMap<String, u64>,
    /// Every expected finding: rule, session (if any) and event (if any).
    pub findings: Vec<FindingTruth>,
    /// With `--anomalies`: the report window (the last day) and every anomaly a report of it must
    /// raise (rule, session, event), no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_window: Option<[String; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<Vec<FindingTruth>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct ObjectCounts {
    pub logs: u64,
    pub digests: u64,
    pub insights: u64,
    pub config: u64,
    pub foreign: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AccountInfo {
    pub id: String,
    pub alias: String,
    pub role: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct GeneratorInfo {
    pub version: u32,
    pub seed: u64,
    pub accounts: usize,
    pub regions: Vec<String>,
    pub days: u32,
    pub start: String,
    pub end: String,
    pub records_target: usize,
    pub sessions: usize,
    pub shape: Shape,
    pub org_id: String,
    pub window_seconds: i64,
    pub gzip_level: u32,
    pub bucket: String,
    pub trail: String,
    pub management_account: String,
    pub production_account: String,
    pub account_list: Vec<AccountInfo>,
    pub ttl: String,
    pub rotate_within: String,
    /// Uncompressed bytes of all log files.
    pub log_bytes: u64,
    /// Compressed bytes of all log files.
    pub log_bytes_gz: u64,
}

const SMALL_WINDOW: i64 = 300;
const LARGE_FILE_BYTES: f64 = 7.0e6;
const TAG_SLOT: u64 = 0x510;

/// Hour-of-day activity profile (UTC).
const DIURNAL: [f64; 24] = [
    0.35, 0.3, 0.3, 0.3, 0.3, 0.35, 0.45, 0.6, 0.85, 1.0, 1.1, 1.15, 1.15, 1.15, 1.1, 1.05, 1.0,
    0.9, 0.75, 0.6, 0.5, 0.45, 0.4, 0.38,
];

/// How slots are cut and filled.
struct Layout {
    win: i64,
    nw: u32,
    regions: usize,
    counts: Vec<u32>,
    delay_k: i64,
    p_delay: f64,
    p_dup: f64,
    large: bool,
}

impl Layout {
    fn slot_index(&self, a: usize, r: usize, w: u32) -> usize {
        (a * self.regions + r) * self.nw as usize + w as usize
    }

    fn slot(&self, wd: &World, idx: usize) -> Slot {
        let nw = self.nw as usize;
        let stream = idx / nw;
        let w = (idx % nw) as u32;
        let start = wd.t0 + i64::from(w) * self.win;
        Slot {
            a: stream / self.regions,
            r: stream % self.regions,
            w,
            start,
            end: (start + self.win).min(wd.t_end),
            n: self.counts[idx],
        }
    }

    /// First index of the events of `idx` that are delivered late (none: `n`).
    fn delay_from(&self, wd: &World, idx: usize) -> u32 {
        let n = self.counts[idx];
        let w = (idx % self.nw as usize) as i64;
        if n == 0 || w + self.delay_k >= i64::from(self.nw) {
            return n;
        }
        let mut g = Rng::at(wd.seed, &[TAG_SLOT, 1, idx as u64]);
        if !g.chance(self.p_delay) {
            return n;
        }
        let moved = if self.large { n.min(20) } else { n.div_ceil(4) };
        n - moved
    }

    /// How many of the first events of `idx` are delivered again in the next file.
    fn dup_count(&self, wd: &World, idx: usize) -> u32 {
        let n = self.counts[idx];
        let w = (idx % self.nw as usize) as i64;
        if n == 0 || w + 1 >= i64::from(self.nw) || self.delay_from(wd, idx) < n {
            return 0;
        }
        let mut g = Rng::at(wd.seed, &[TAG_SLOT, 2, idx as u64]);
        if !g.chance(self.p_dup) {
            return 0;
        }
        let c = if self.large {
            1 + g.below(5) as u32
        } else {
            1 + g.below(3) as u32
        };
        c.min(n)
    }
}

/// One log file to write.
struct FileSpec {
    idx: usize,
    /// Range into the planted placement list.
    planted: std::ops::Range<usize>,
}

/// What a writer reports about one log file.
#[derive(Clone, Debug)]
struct FileMeta {
    a: usize,
    r: usize,
    key: String,
    delivered: i64,
    sha256: String,
    records: u64,
    dups: u64,
    raw_bytes: u64,
    gz_bytes: u64,
    oldest: i64,
    newest: i64,
}

fn mean_record_bytes(wd: &World, win: i64) -> f64 {
    let mut sc = Scratch::new();
    let n = 3000usize;
    let mut total = 0usize;
    let nw = ((wd.t_end - wd.t0) / win).max(1) as u64;
    for i in 0..n {
        let a = i % wd.accounts.len();
        let r = (i / wd.accounts.len()) % wd.regions.len();
        let w = ((i as u64).wrapping_mul(7919) % nw) as u32;
        let start = wd.t0 + i64::from(w) * win;
        let slot = Slot {
            a,
            r,
            w,
            start,
            end: start + win,
            n: 4,
        };
        background::own_event(wd, &slot, win, (i % 4) as u32, false, &mut sc);
        total += sc.rec.s.len() + 1;
    }
    total as f64 / n as f64
}

fn diurnal_weight(wd: &World, start: i64, end: i64) -> f64 {
    // Integrate the hourly profile over [start, end).
    let mut t = start;
    let mut acc = 0.0;
    while t < end {
        let next = ((t - wd.t0).div_euclid(3600) + 1) * 3600 + wd.t0;
        let stop = next.min(end);
        let hour = (t - wd.t0).div_euclid(3600).rem_euclid(24) as usize;
        acc += DIURNAL[hour] * (stop - t) as f64;
        t = stop;
    }
    acc / 3600.0
}

fn region_weight(r: usize) -> f64 {
    if r == 0 {
        1.6
    } else {
        (1.0 - 0.06 * r as f64).max(0.4)
    }
}

/// Generate the trail, config and answer key under `out`.
pub fn generate(cfg: &GenConfig, out: &Path) -> Result<AnswerKey> {
    cfg.validate()?;
    let wd = World::new(cfg);
    let streams = wd.accounts.len() * wd.regions.len();
    let span = wd.t_end - wd.t0;

    // Records target and window length.
    let mean = mean_record_bytes(&wd, SMALL_WINDOW);
    let records_target = match cfg.size_bytes {
        Some(b) => ((b as f64) / mean).ceil() as usize,
        None => cfg.records,
    };
    let win = match cfg.shape {
        Shape::Small => SMALL_WINDOW,
        Shape::Large => {
            let files = ((records_target as f64 * mean) / LARGE_FILE_BYTES)
                .ceil()
                .max(1.0);
            let per_stream = (files / streams as f64).ceil().max(1.0) as i64;
            let w = (span + per_stream - 1) / per_stream;
            ((w + 299) / 300 * 300).clamp(300, span.max(300))
        }
    };
    let nw = ((span + win - 1) / win) as u32;

    // Planted scenarios.
    let mut planter = Planter::new(&wd, win, nw);
    planter.plant(cfg.sessions);
    if let Some(a) = cfg.anomalies {
        planter.plant_anomalies(a);
    }

    // Background counts per slot.
    let total_slots = streams * nw as usize;
    let mut weights = vec![0f64; total_slots];
    let mut extras_total = 0usize;
    let mut layout = Layout {
        win,
        nw,
        regions: wd.regions.len(),
        counts: vec![0; total_slots],
        delay_k: Planter::delay_windows(win),
        p_delay: if cfg.shape == Shape::Large {
            0.3
        } else {
            0.004
        },
        p_dup: if cfg.shape == Shape::Large {
            0.4
        } else {
            0.008
        },
        large: cfg.shape == Shape::Large,
    };
    for (idx, wt) in weights.iter_mut().enumerate() {
        let s = layout.slot(&wd, idx);
        *wt = wd.accounts[s.a].weight * region_weight(s.r) * diurnal_weight(&wd, s.start, s.end);
        extras_total += background::extras_count(&wd, &s);
    }
    let target_bg = records_target.saturating_sub(planter.events.len() + extras_total) as f64;
    let sum_w: f64 = weights.iter().sum();
    let base = if sum_w > 0.0 { target_bg / sum_w } else { 0.0 };
    let burst = if cfg.shape == Shape::Small { 8.0 } else { 0.0 };
    for (idx, wt) in weights.iter().enumerate() {
        let mut g = Rng::at(wd.seed, &[TAG_SLOT, 0, idx as u64]);
        let lambda = base * wt;
        // Quiet streams are bursty: an account/region with little traffic has an empty window
        // most of the time and a handful of events in the others (fewer, fuller small files).
        layout.counts[idx] = if lambda < burst {
            if g.chance(lambda / burst) {
                g.count(burst)
            } else {
                0
            }
        } else {
            g.count(lambda)
        };
    }

    // Where planted records go: (slot, planted index, is the second copy).
    let mut placed: Vec<(usize, usize, bool)> = Vec::new();
    for (i, e) in planter.events.iter().enumerate() {
        let w = (e.t - wd.t0).div_euclid(win);
        if w < 0 || w >= i64::from(nw) {
            bail!(
                "planted event outside the generated window at {}",
                time::iso(e.t)
            );
        }
        let w = if e.delayed { w + layout.delay_k } else { w } as u32;
        placed.push((layout.slot_index(e.a, e.r, w), i, false));
        if e.dup {
            placed.push((layout.slot_index(e.a, e.r, w + 1), i, true));
        }
    }
    placed.sort();

    // Files: every slot that receives anything.
    let mut files: Vec<FileSpec> = Vec::new();
    let mut p = 0;
    for idx in 0..total_slots {
        let p0 = p;
        while p < placed.len() && placed[p].0 == idx {
            p += 1;
        }
        let s = layout.slot(&wd, idx);
        let w = i64::from(s.w);
        let incoming_delay = w >= layout.delay_k && {
            let src = idx - layout.delay_k as usize;
            layout.delay_from(&wd, src) < layout.counts[src]
        };
        let incoming_dup = w >= 1 && layout.dup_count(&wd, idx - 1) > 0;
        if layout.delay_from(&wd, idx) > 0
            || p > p0
            || incoming_delay
            || incoming_dup
            || background::extras_count(&wd, &s) > 0
        {
            files.push(FileSpec {
                idx,
                planted: p0..p,
            });
        }
    }

    // Output directory.
    let trail = out.join("trail");
    if trail.exists()
        && fs::read_dir(&trail)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        bail!(
            "{} already holds a trail; remove it first (or pass --force)",
            trail.display()
        );
    }
    fs::create_dir_all(&trail).with_context(|| format!("creating {}", trail.display()))?;

    let level = cfg.gzip_level;
    let metas: Vec<FileMeta> = files
        .par_iter()
        .map_init(
            || (Scratch::new(), Deflater::new(level)),
            |(sc, d), f| write_log_file(&wd, &layout, &planter, &placed, f, &trail, sc, d),
        )
        .collect::<Result<Vec<_>>>()?;

    // Digests, one per account/region/delivery day.
    let digests = write_digests(&wd, &metas, &trail, level)?;
    write_other_objects(&wd, &trail, level)?;

    // Answer key.
    let (sessions, rules, findings) = planter.truth();
    let records: u64 = metas.iter().map(|m| m.records).sum();
    let dups: u64 = metas.iter().map(|m| m.dups).sum();
    let late = metas
        .iter()
        .filter(|m| time::day_of(m.delivered) > time::day_of(m.oldest))
        .count() as u64;
    let key = AnswerKey {
        generator: GeneratorInfo {
            version: 1,
            seed: cfg.seed,
            accounts: wd.accounts.len(),
            regions: wd.regions.iter().map(|r| (*r).to_string()).collect(),
            days: cfg.days,
            start: time::iso(wd.t0),
            end: time::iso(wd.t_end),
            records_target,
            sessions: cfg.sessions,
            shape: cfg.shape,
            org_id: wd.org_id.clone(),
            window_seconds: win,
            gzip_level: level,
            bucket: wd.bucket.clone(),
            trail: wd.trail_name.to_string(),
            management_account: wd.acct(wd.mgmt).to_string(),
            production_account: wd.acct(wd.prod).to_string(),
            account_list: wd
                .accounts
                .iter()
                .map(|a| AccountInfo {
                    id: a.id.clone(),
                    alias: a.alias.clone(),
                    role: match a.kind {
                        world::AcctKind::Management => "management",
                        world::AcctKind::Production => "production",
                        world::AcctKind::Member => "member",
                    }
                    .into(),
                })
                .collect(),
            ttl: "1h".into(),
            rotate_within: "24h".into(),
            log_bytes: metas.iter().map(|m| m.raw_bytes).sum(),
            log_bytes_gz: metas.iter().map(|m| m.gz_bytes).sum(),
        },
        records,
        distinct_events: records - dups,
        duplicate_deliveries: dups,
        late_files: late,
        objects: ObjectCounts {
            logs: metas.len() as u64,
            digests,
            insights: 1,
            config: 1,
            foreign: 1,
        },
        sessions,
        rules,
        findings,
        anomaly_window: cfg.anomalies.map(|_| {
            let (from, to) = planter.anomaly_window();
            [time::iso(from), time::iso(to)]
        }),
        anomalies: cfg.anomalies.map(|_| planter.anomalies.clone()),
    };
    let mut text = serde_json::to_string_pretty(&key)?;
    text.push('\n');
    fs::write(out.join("answer-key.json"), text)?;
    fs::write(out.join("trailglass.toml"), config_toml(&wd))?;
    fs::write(out.join("approvals.csv"), planter.approvals_csv())?;
    Ok(key)
}

fn config_toml(wd: &World) -> String {
    format!(
        "# Break-glass configuration the planted scenarios of this synthetic trail assume.\n\
         [breakglass]\n\
         roles = [\"arn:aws:iam::*:role/BreakGlass*\", \"arn:aws:iam::*:role/*/AWSReservedSSO_BreakGlass*\"]\n\
         users = [\"arn:aws:iam::*:user/breakglass*\"]\n\
         root = true\n\
         ttl = \"1h\"\n\
         rotate_within = \"24h\"\n\
         approvals = \"approvals.csv\"\n\
         production_accounts = [\"{}\"]\n",
        wd.acct(wd.prod)
    )
}

/// Write one log file: background events of the slot, late and duplicate deliveries aimed at it,
/// its planted records and the slot's extra (credential-issuing) events.
#[allow(clippy::too_many_arguments)]
fn write_log_file(
    wd: &World,
    layout: &Layout,
    planter: &Planter,
    placed: &[(usize, usize, bool)],
    f: &FileSpec,
    trail: &Path,
    sc: &mut Scratch,
    d: &mut Deflater,
) -> Result<FileMeta> {
    let slot = layout.slot(wd, f.idx);
    let acct = wd.acct(slot.a);
    let region = wd.regions[slot.r];
    let mut g = Rng::at(wd.seed, &[TAG_SLOT, 3, f.idx as u64]);
    let delivered = if layout.large {
        slot.end + 300 + g.range(0, 59)
    } else {
        slot.end + 60 * g.range(2, 11) + g.range(0, 59)
    };
    let unique = g.alnum(16);
    let key = format!(
        "AWSLogs/{}/{acct}/CloudTrail/{region}/{}/{acct}_CloudTrail_{region}_{}_{unique}.json.gz",
        wd.org_id,
        time::date_path(delivered),
        time::stamp_min(delivered)
    );
    let path = trail.join(&key);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = Sink::new(d, BufWriter::with_capacity(1 << 16, file))?;
    out.put(b"{\"Records\":[")?;
    let mut first = true;
    let mut meta = FileMeta {
        a: slot.a,
        r: slot.r,
        key,
        delivered,
        sha256: String::new(),
        records: 0,
        dups: 0,
        raw_bytes: 0,
        gz_bytes: 0,
        oldest: i64::MAX,
        newest: i64::MIN,
    };
    let mut record = |out: &mut Sink, text: &str, t: i64, dup: bool| -> Result<()> {
        if !first {
            out.put(b",")?;
        }
        first = false;
        out.put(text.as_bytes())?;
        meta.records += 1;
        meta.dups += u64::from(dup);
        meta.oldest = meta.oldest.min(t);
        meta.newest = meta.newest.max(t);
        Ok(())
    };

    // Planted records of this file, in time order, merged with the slot's own events.
    let mine = &placed[f.planted.clone()];
    let mut planted: Vec<(i64, usize, bool)> = mine
        .iter()
        .map(|&(_, i, c)| (planter.events[i].t, i, c))
        .collect();
    planted.sort();
    let mut extras: Vec<(i64, String)> = Vec::new();
    background::extras(wd, &slot, sc, &mut extras);
    extras.sort();
    let mut pi = 0;
    let mut xi = 0;
    let own_until = layout.delay_from(wd, f.idx);
    for j in 0..own_until {
        let t = background::own_event(wd, &slot, layout.win, j, false, sc);
        while pi < planted.len() && planted[pi].0 <= t {
            let e = &planter.events[planted[pi].1];
            record(&mut out, &e.json, e.t, planted[pi].2)?;
            pi += 1;
        }
        while xi < extras.len() && extras[xi].0 <= t {
            record(&mut out, &extras[xi].1, extras[xi].0, false)?;
            xi += 1;
        }
        let text = std::mem::take(&mut sc.rec.s);
        record(&mut out, &text, t, false)?;
        sc.rec.s = text;
    }
    for &(t, i, c) in &planted[pi..] {
        record(&mut out, &planter.events[i].json, t, c)?;
    }
    for (t, x) in &extras[xi..] {
        record(&mut out, x, *t, false)?;
    }
    // Late deliveries from `delay_k` windows back, with their addendum.
    let w = i64::from(slot.w);
    if w >= layout.delay_k {
        let src_idx = f.idx - layout.delay_k as usize;
        let src = layout.slot(wd, src_idx);
        for j in layout.delay_from(wd, src_idx)..src.n {
            let t = background::own_event(wd, &src, layout.win, j, true, sc);
            let text = std::mem::take(&mut sc.rec.s);
            record(&mut out, &text, t, false)?;
            sc.rec.s = text;
        }
    }
    // Second copies of the previous window's first events.
    if w >= 1 {
        let src_idx = f.idx - 1;
        let src = layout.slot(wd, src_idx);
        for j in 0..layout.dup_count(wd, src_idx) {
            let t = background::own_event(wd, &src, layout.win, j, false, sc);
            let text = std::mem::take(&mut sc.rec.s);
            record(&mut out, &text, t, true)?;
            sc.rec.s = text;
        }
    }
    out.put(b"]}")?;
    let (sha, raw, gz) = out.finish()?;
    meta.sha256 = sha;
    meta.raw_bytes = raw;
    meta.gz_bytes = gz;
    Ok(meta)
}

/// A raw-deflate compressor and buffers, reused for every file a thread writes (allocating a fresh
/// deflate state per small file costs more than compressing it).
pub(crate) struct Deflater {
    comp: Compress,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
}

const CHUNK: usize = 1 << 18;

impl Deflater {
    fn new(level: u32) -> Self {
        Deflater {
            comp: Compress::new(Compression::new(level), false),
            inbuf: Vec::with_capacity(CHUNK + 4096),
            outbuf: Vec::with_capacity(CHUNK),
        }
    }
}

/// gzip writer (RFC 1952: fixed header, raw deflate, CRC-32 and size trailer) that also hashes
/// and counts the uncompressed bytes.
struct Sink<'a> {
    d: &'a mut Deflater,
    file: BufWriter<File>,
    hash: Sha256,
    crc: Crc,
    raw: u64,
    gz: u64,
}

/// gzip header: no name, mtime 0, OS "unknown" (as flate2's `GzBuilder` writes it).
const GZ_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

impl<'a> Sink<'a> {
    fn new(d: &'a mut Deflater, mut file: BufWriter<File>) -> Result<Self> {
        d.comp.reset();
        d.inbuf.clear();
        file.write_all(&GZ_HEADER)?;
        Ok(Sink {
            d,
            file,
            hash: Sha256::new(),
            crc: Crc::new(),
            raw: 0,
            gz: GZ_HEADER.len() as u64,
        })
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.d.inbuf.extend_from_slice(b);
        if self.d.inbuf.len() >= CHUNK {
            self.drain(false)?;
        }
        Ok(())
    }

    fn drain(&mut self, finish: bool) -> Result<()> {
        let Deflater {
            comp,
            inbuf,
            outbuf,
        } = &mut *self.d;
        self.hash.update(&inbuf[..]);
        self.crc.update(&inbuf[..]);
        self.raw += inbuf.len() as u64;
        let flush = if finish {
            FlushCompress::Finish
        } else {
            FlushCompress::None
        };
        let mut input = &inbuf[..];
        loop {
            outbuf.clear();
            let before = comp.total_in();
            let status = comp.compress_vec(input, outbuf, flush)?;
            input = &input[(comp.total_in() - before) as usize..];
            self.file.write_all(outbuf)?;
            self.gz += outbuf.len() as u64;
            let done = if finish {
                status == Status::StreamEnd
            } else {
                input.is_empty()
            };
            if done {
                break;
            }
        }
        inbuf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<(String, u64, u64)> {
        self.drain(true)?;
        self.file.write_all(&self.crc.sum().to_le_bytes())?;
        self.file.write_all(&(self.crc.amount()).to_le_bytes())?;
        self.file.flush()?;
        Ok((hex::encode(self.hash.finalize()), self.raw, self.gz + 8))
    }
}

fn write_gz(path: &Path, body: &[u8], level: u32) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut gz = GzEncoder::new(BufWriter::new(file), Compression::new(level));
    gz.write_all(body)?;
    gz.finish()?.flush()?;
    Ok(())
}

fn placeholder_signature(seed: u64, key: &str) -> String {
    let mut s = String::with_capacity(512);
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    let d = hex::encode(h.finalize());
    for _ in 0..8 {
        s.push_str(&d);
    }
    s
}

fn write_digests(wd: &World, metas: &[FileMeta], trail: &Path, level: u32) -> Result<u64> {
    let mut by: BTreeMap<(usize, usize, i64), Vec<&FileMeta>> = BTreeMap::new();
    let mut last_day = time::day_of(wd.t_end - 1);
    for m in metas {
        let d = time::day_of(m.delivered);
        last_day = last_day.max(d);
        by.entry((m.a, m.r, d)).or_default().push(m);
    }
    let fingerprint = Rng::at(wd.seed, &[0xD16]).hex(32);
    let mut n = 0;
    for a in 0..wd.accounts.len() {
        let acct = wd.acct(a);
        for (r, region) in wd.regions.iter().enumerate() {
            let mut prev: Option<(String, String, String)> = None; // key, sha256, signature
            for day in time::day_of(wd.t0)..=last_day {
                let start = day * 86_400;
                let end = start + 86_399;
                let key = format!(
                    "AWSLogs/{}/{acct}/CloudTrail-Digest/{region}/{}/{acct}_CloudTrail-Digest_{region}_{}_us-east-1_{}.json.gz",
                    wd.org_id,
                    time::date_path(start),
                    wd.trail_name,
                    time::stamp_sec(end)
                );
                let mut files: Vec<&FileMeta> = by.get(&(a, r, day)).cloned().unwrap_or_default();
                files.sort_by(|x, y| (x.delivered, &x.key).cmp(&(y.delivered, &y.key)));
                let newest = files.iter().map(|m| m.newest).max();
                let oldest = files.iter().map(|m| m.oldest).min();
                let mut w = W::new();
                w.begin();
                w.str("awsAccountId", acct);
                w.str("digestStartTime", &time::iso(start));
                w.str("digestEndTime", &time::iso(end));
                w.str("digestS3Bucket", &wd.bucket);
                w.str("digestS3Object", &key);
                w.str("digestPublicKeyFingerprint", &fingerprint);
                w.str("digestSignatureAlgorithm", "SHA256withRSA");
                w.opt_str("newestEventTime", newest.map(time::iso).as_deref());
                w.opt_str("oldestEventTime", oldest.map(time::iso).as_deref());
                match &prev {
                    Some((pk, ph, ps)) => {
                        w.str("previousDigestS3Bucket", &wd.bucket);
                        w.str("previousDigestS3Object", pk);
                        w.str("previousDigestHashValue", ph);
                        w.str("previousDigestHashAlgorithm", "SHA-256");
                        w.str("previousDigestSignature", ps);
                    }
                    None => {
                        for k in [
                            "previousDigestS3Bucket",
                            "previousDigestS3Object",
                            "previousDigestHashValue",
                            "previousDigestHashAlgorithm",
                            "previousDigestSignature",
                        ] {
                            w.null(k);
                        }
                    }
                }
                w.arr("logFiles");
                for m in &files {
                    w.begin();
                    w.str("s3Bucket", &wd.bucket);
                    w.str("s3Object", &m.key);
                    w.str("hashValue", &m.sha256);
                    w.str("hashAlgorithm", "SHA-256");
                    w.str("newestEventTime", &time::iso(m.newest));
                    w.str("oldestEventTime", &time::iso(m.oldest));
                    w.end();
                }
                w.end_arr();
                w.end();
                write_gz(&trail.join(&key), w.s.as_bytes(), level)?;
                n += 1;
                let sha = hex::encode(Sha256::digest(w.s.as_bytes()));
                let sig = placeholder_signature(wd.seed, &key);
                prev = Some((key, sha, sig));
            }
        }
    }
    Ok(n)
}

fn write_other_objects(wd: &World, trail: &Path, level: u32) -> Result<()> {
    let mgmt = wd.acct(wd.mgmt);
    // One CloudTrail Insights file (a start/end pair).
    let t = wd.t0 + 14 * 3600;
    let mut g = Rng::at(wd.seed, &[0x1A5]);
    let shared = g.uuid();
    let key = format!(
        "AWSLogs/{}/{mgmt}/CloudTrail-Insight/us-east-1/{}/{mgmt}_CloudTrail-Insight_us-east-1_{}_{}.json.gz",
        wd.org_id,
        time::date_path(t + 1800),
        time::stamp_min(t + 1800),
        g.alnum(16)
    );
    let mut w = W::new();
    w.begin();
    w.arr("Records");
    for (state, ts) in [("Start", t), ("End", t + 1200)] {
        w.begin();
        w.str("eventVersion", "1.08");
        w.str("eventTime", &time::iso(ts));
        w.str("awsRegion", "us-east-1");
        w.str_with("eventID", |s| g.push_uuid(s));
        w.str("eventType", "AwsCloudTrailInsight");
        w.str("recipientAccountId", mgmt);
        w.str("sharedEventID", &shared);
        w.obj("insightDetails");
        w.str("state", state);
        w.str("eventSource", "ssm.amazonaws.com");
        w.str("eventName", "UpdateInstanceInformation");
        w.str("insightType", "ApiCallRateInsight");
        w.obj("insightContext");
        w.obj("statistics");
        w.obj("baseline");
        w.raw("average", "0.0853");
        w.end();
        w.obj("insight");
        w.raw("average", "4.2");
        w.end();
        if state == "End" {
            w.num("insightDuration", 20);
            w.num("baselineDuration", 10_080);
        }
        w.end();
        w.end();
        w.end();
        w.str("eventCategory", "Insight");
        w.end();
    }
    w.end_arr();
    w.end();
    write_gz(&trail.join(&key), w.s.as_bytes(), level)?;
    // AWS Config's zero-byte writability probe.
    let cfg = trail.join(format!("AWSLogs/{mgmt}/Config/ConfigWritabilityCheckFile"));
    fs::create_dir_all(cfg.parent().expect("has parent"))?;
    fs::write(&cfg, b"")?;
    // A foreign object in the same bucket.
    let elb = trail.join(format!("AWSLogs/{mgmt}/ELBAccessLogTestFile"));
    fs::write(
        &elb,
        format!(
            "Enable AccessLog for ELB: anycompany-alb at {}\n",
            time::iso(wd.t0)
        ),
    )?;
    Ok(())
}

/// Remove what [`generate`] writes under `out` (for `--force`).
pub fn clean(out: &Path) -> Result<()> {
    let trail: PathBuf = out.join("trail");
    if trail.exists() {
        fs::remove_dir_all(&trail).with_context(|| format!("removing {}", trail.display()))?;
    }
    for f in ["answer-key.json", "trailglass.toml", "approvals.csv"] {
        let p = out.join(f);
        if p.exists() {
            fs::remove_file(&p)?;
        }
    }
    Ok(())
}
