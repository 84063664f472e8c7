//! The synthetic organization: accounts, regions, principals and stable ids derived from the seed.

use super::GenConfig;
use super::record::aws_id;
use super::rng::{Rng, hash_str};

pub const REGIONS: [&str; 16] = [
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "us-east-2",
    "eu-west-2",
    "ca-central-1",
    "sa-east-1",
    "ap-south-1",
    "eu-north-1",
    "ap-southeast-1",
    "us-west-1",
    "eu-west-3",
    "ap-northeast-2",
];

const ALIASES: [&str; 8] = [
    "management",
    "prod",
    "security",
    "dev",
    "staging",
    "analytics",
    "shared",
    "sandbox",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcctKind {
    Management,
    Production,
    Member,
}

#[derive(Clone, Debug)]
pub struct Acct {
    pub id: String,
    pub alias: String,
    pub kind: AcctKind,
    /// Relative activity.
    pub weight: f64,
    pub buckets: Vec<String>,
}

pub struct World {
    pub seed: u64,
    pub org_id: String,
    pub accounts: Vec<Acct>,
    pub regions: Vec<&'static str>,
    pub t0: i64,
    pub t_end: i64,
    pub bucket: String,
    pub trail_name: &'static str,
    pub idc_store: String,
    pub saml_qualifier: String,
    pub mgmt: usize,
    pub prod: usize,
    /// Share of the indexed background events that are credential-issuing STS calls.
    pub assume_share: f64,
}

pub const TAG_ID: u64 = 0x1D;

impl World {
    pub fn new(cfg: &GenConfig) -> World {
        let seed = cfg.seed;
        let mut r = Rng::at(seed, &[0xACC7]);
        let mut accounts: Vec<Acct> = Vec::with_capacity(cfg.accounts);
        let mut used = std::collections::BTreeSet::new();
        for i in 0..cfg.accounts {
            let id = loop {
                let n = 100_000_000_000 + r.below(899_999_999_999);
                if used.insert(n) {
                    break format!("{n:012}");
                }
            };
            let kind = match i {
                0 => AcctKind::Management,
                1 => AcctKind::Production,
                _ => AcctKind::Member,
            };
            let alias = match ALIASES.get(i) {
                Some(a) => format!("anycompany-{a}"),
                None => format!("anycompany-sandbox{}", i - ALIASES.len() + 2),
            };
            let weight = match kind {
                AcctKind::Management => 1.0,
                AcctKind::Production => 1.5,
                AcctKind::Member => 0.6 + r.f64() * 0.6,
            };
            let short = alias.trim_start_matches("anycompany-").to_string();
            let buckets = ["data", "artifacts", "backups", "reports"]
                .iter()
                .map(|p| format!("anycompany-{short}-{p}-{id}"))
                .collect();
            accounts.push(Acct {
                id,
                alias,
                kind,
                weight,
                buckets,
            });
        }
        let org_id = match &cfg.org_id {
            Some(o) if o.starts_with("o-") => o.clone(),
            Some(o) => format!("o-{o}"),
            None => {
                let mut g = Rng::at(seed, &[0x0E6]);
                let s: String = g.alnum(10).to_lowercase();
                format!("o-{s}")
            }
        };
        let mgmt_id = accounts.first().map(|a| a.id.clone()).unwrap_or_default();
        let mut g = Rng::at(seed, &[0x1DC]);
        let idc_store = format!("d-9067{}", g.hex(6));
        let mut q = String::new();
        g.push_b64(&mut q, 27);
        q.push('=');
        let t0 = cfg
            .start
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp();
        World {
            seed,
            org_id,
            regions: REGIONS[..cfg.regions.min(REGIONS.len())].to_vec(),
            t0,
            t_end: t0 + i64::from(cfg.days) * 86_400,
            bucket: format!("aws-cloudtrail-logs-{mgmt_id}-org"),
            trail_name: "org-trail",
            idc_store,
            saml_qualifier: q,
            mgmt: 0,
            prod: 1.min(accounts.len().saturating_sub(1)),
            accounts,
            assume_share: cfg.assume_share,
        }
    }

    pub fn acct(&self, i: usize) -> &str {
        &self.accounts[i].id
    }

    /// Accounts where people work day to day (everything but production).
    pub fn nonprod(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.accounts.len()).filter(|&i| i != self.prod || self.accounts.len() == 1)
    }

    /// Member accounts other than management and production.
    pub fn members(&self) -> Vec<usize> {
        (0..self.accounts.len())
            .filter(|&i| i != self.mgmt && i != self.prod)
            .collect()
    }

    /// A stable id for a named principal/key: `prefix` + `n` base32 characters.
    pub fn stable_id(&self, prefix: &str, tag: &str, acct: usize, n: usize) -> String {
        let mut r = Rng::at(
            self.seed,
            &[TAG_ID, hash_str(prefix), hash_str(tag), acct as u64],
        );
        aws_id(prefix, &mut r, n)
    }

    pub fn user_id(&self, acct: usize, user: &str) -> String {
        self.stable_id("AIDA", user, acct, 17)
    }

    pub fn role_id(&self, acct: usize, role: &str) -> String {
        self.stable_id("AROA", role, acct, 17)
    }

    /// The long-term access key of a user (`"root"` for the root user's key).
    pub fn user_key(&self, acct: usize, user: &str) -> String {
        self.stable_id("AKIA", user, acct, 16)
    }

    /// 16 lower-case hex digits, stable per tag and account (permission-set role suffixes).
    pub fn stable_hex(&self, tag: &str, acct: usize, n: usize) -> String {
        let mut r = Rng::at(
            self.seed,
            &[TAG_ID, hash_str("hex"), hash_str(tag), acct as u64],
        );
        r.hex(n)
    }

    /// `AWSReservedSSO_<set>_<16 hex>` in `acct`.
    pub fn sso_role(&self, acct: usize, set: &str) -> String {
        format!("AWSReservedSSO_{set}_{}", self.stable_hex(set, acct, 16))
    }

    pub const SSO_PATH: &'static str = "aws-reserved/sso.amazonaws.com/us-east-1/";

    pub fn saml_provider_arn(&self, acct: usize) -> String {
        format!(
            "arn:aws:iam::{}:saml-provider/AWSSSO_{}_DO_NOT_DELETE",
            self.acct(acct),
            self.stable_hex("saml", acct, 16)
        )
    }

    /// The identity store ARN of the organization's Identity Center instance.
    pub fn identity_store_arn(&self) -> String {
        format!(
            "arn:aws:identitystore::{}:identitystore/{}",
            self.acct(self.mgmt),
            self.idc_store
        )
    }

    /// EC2-style resource id: `prefix-0` + 16 hex.
    pub fn res_id(&self, prefix: &str, acct: usize, region: usize, i: u64) -> String {
        let mut r = Rng::at(
            self.seed,
            &[0x5E5, hash_str(prefix), acct as u64, region as u64, i],
        );
        let mut s = String::with_capacity(prefix.len() + 18);
        s.push_str(prefix);
        s.push_str("-0");
        r.push_hex(&mut s, 16);
        s
    }

    pub fn kms_key(&self, acct: usize, region: usize, i: u64) -> String {
        Rng::at(self.seed, &[0x6B5, acct as u64, region as u64, i]).uuid()
    }
}
