//! Planted break-glass scenarios and the exact truth about them (sessions, findings, approvals).
//!
//! Scenarios are built once, in memory (they are few), as finished JSON records with the metadata
//! the answer key needs; the file writers only place them into files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::background::{Scratch, UA_BROWSER, console_login, idc_signin, saml_assume};
use super::json::{W, object};
use super::record::{
    Rec, RoleSession, Tls, aws_id, identity_aws_account, identity_role, identity_root,
};
use super::record::{identity_user, write_rec};
use super::rng::Rng;
use super::time;
use super::world::World;

pub const TTL: i64 = 3600;
pub const ROTATE_WITHIN: i64 = 86_400;
/// No planted action of a revoked session falls within this long after the revocation.
pub const REVOKE_QUIET: i64 = 600;

const UA_CLI_BG: &str =
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/sts.assume-role";
const UA_CLI_OPS: &str = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off";
const UA_BOTO_AUTOMATION: &str = "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-218.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 exec-env/AWS_Lambda_python3.11 Botocore/1.34.34";

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Role,
    IdentityCenter,
    User,
    Root,
    Chained,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::IdentityCenter => "identity_center",
            Kind::User => "user",
            Kind::Root => "root",
            Kind::Chained => "chained",
        }
    }
}

/// The scenario variants, planted in this order and then again (cycle 2, 3, …).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum V {
    RoleMfa,
    RoleNoMfa,
    RoleEntryMissing,
    RoleRevoked,
    IdcMfa,
    IdcNoMfa,
    UserConsoleMfa,
    UserConsoleNoMfa,
    UserKey,
    RootConsoleMfa,
    RootConsoleNoMfa,
    RootKey,
    AssumeRoot,
    Chained,
    ApprovalClosed,
}

pub const VARIANTS: [V; 15] = [
    V::RoleMfa,
    V::RoleNoMfa,
    V::RoleEntryMissing,
    V::RoleRevoked,
    V::IdcMfa,
    V::IdcNoMfa,
    V::UserConsoleMfa,
    V::UserConsoleNoMfa,
    V::UserKey,
    V::RootConsoleMfa,
    V::RootConsoleNoMfa,
    V::RootKey,
    V::AssumeRoot,
    V::Chained,
    V::ApprovalClosed,
];

impl V {
    fn name(self) -> &'static str {
        match self {
            V::RoleMfa => "role_mfa",
            V::RoleNoMfa => "role_no_mfa_after_ttl",
            V::RoleEntryMissing => "role_entry_outside_window",
            V::RoleRevoked => "role_revoked",
            V::IdcMfa => "identity_center_mfa",
            V::IdcNoMfa => "identity_center_no_mfa",
            V::UserConsoleMfa => "user_console_mfa_rotated",
            V::UserConsoleNoMfa => "user_console_no_mfa_unrotated",
            V::UserKey => "user_long_term_key",
            V::RootConsoleMfa => "root_console_mfa_rotated",
            V::RootConsoleNoMfa => "root_console_no_mfa_unrotated",
            V::RootKey => "root_access_key",
            V::AssumeRoot => "root_assume_root",
            V::Chained => "chained",
            V::ApprovalClosed => "role_approval_closed",
        }
    }

    /// Seconds needed before and after the scenario's start.
    fn span(self) -> (i64, i64) {
        match self {
            V::IdcMfa => (2 * 3600 + 900, 5400),
            V::IdcNoMfa => (3 * 3600 + 900, 3600),
            V::UserConsoleMfa => (0, 3 * 3600 + 1800),
            V::RootConsoleMfa => (0, 4 * 3600 + 1800),
            V::RoleNoMfa | V::Chained => (0, 2 * 3600),
            _ => (0, 4500),
        }
    }

    fn place(self) -> Place {
        match self {
            // BG006 must be decidable: end + rotate_within inside the data.
            V::UserConsoleMfa | V::UserConsoleNoMfa | V::RootConsoleMfa | V::RootConsoleNoMfa => {
                Place::Early
            }
            // Long-term keys and AssumeRoot: keep `end + rotate_within` past the data, so the
            // "is BG006 about this kind of session?" question never changes a count.
            V::UserKey | V::RootKey | V::AssumeRoot => Place::Late,
            V::RoleEntryMissing => Place::Start,
            _ => Place::Any,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Place {
    Early,
    Late,
    Any,
    Start,
}

/// A finished planted record.
pub struct PEvent {
    pub t: i64,
    pub a: usize,
    pub r: usize,
    pub json: String,
    pub event_id: String,
    /// Also delivered a second time, in the next file of its stream.
    pub dup: bool,
    /// Delivered late (file `K` windows later), with `addendum.reason = DELIVERY_DELAY`.
    pub delayed: bool,
}

pub struct Act {
    pub event_id: String,
    pub t: i64,
    pub name: &'static str,
    pub read_only: Option<bool>,
    pub error: bool,
    /// `sessionContext.attributes.mfaAuthenticated == "true"`.
    pub mfa_true: bool,
    /// The IAM user an MFA-device call targets (BG010).
    pub mfa_target: Option<String>,
}

#[derive(Clone)]
enum Ident {
    Role {
        role: String,
        path: &'static str,
        role_id: String,
        session: String,
        created: i64,
        mfa: bool,
        si: Option<String>,
    },
    User {
        user: String,
        session: Option<(i64, bool)>,
    },
    Root {
        session: Option<(i64, bool)>,
        assumed_root: bool,
    },
}

pub struct Sess {
    pub kind: Kind,
    pub variant: &'static str,
    pub acct: usize,
    pub principal_arn: String,
    pub actor: String,
    pub key: String,
    pub start: i64,
    pub parent: Option<usize>,
    pub depth: u32,
    pub root: usize,
    pub mfa_at_entry: bool,
    pub entry_event_id: Option<String>,
    /// Started by a `ConsoleLogin` (the password was used: BG006 applies).
    pub console_entry: bool,
    pub acts: Vec<Act>,
    ident: Ident,
    ip: String,
    ua: &'static str,
    console: bool,
}

#[derive(Clone, Debug)]
pub struct Approval {
    pub ticket: String,
    pub principal: String,
    pub not_before: i64,
    pub not_after: i64,
    pub approver: &'static str,
}

/// One API call of a planted record.
struct Call {
    source: &'static str,
    name: &'static str,
    ro: Option<bool>,
    params: String,
    resp: String,
    error: Option<(&'static str, String)>,
    resources: Option<String>,
    additional: Option<String>,
    data: bool,
    api_version: Option<&'static str>,
    mfa_target: Option<String>,
    event_type: &'static str,
    service_details: Option<&'static str>,
    /// Preset ids (cross-account pairs share request and shared event ids).
    event_id: Option<String>,
    request_id: Option<String>,
    shared: Option<String>,
    tls_host: Option<String>,
}

impl Call {
    fn new(source: &'static str, name: &'static str, ro: Option<bool>) -> Self {
        Call {
            source,
            name,
            ro,
            params: "null".into(),
            resp: "null".into(),
            error: None,
            resources: None,
            additional: None,
            data: false,
            api_version: None,
            mfa_target: None,
            event_type: "AwsApiCall",
            service_details: None,
            event_id: None,
            request_id: None,
            shared: None,
            tls_host: None,
        }
    }
    fn params(mut self, p: String) -> Self {
        self.params = p;
        self
    }
    fn resp(mut self, r: String) -> Self {
        self.resp = r;
        self
    }
}

#[derive(Clone, Copy)]
enum K {
    Read,
    Write,
    Denied,
    /// A read whose record has no `readOnly` field.
    ReadNoRo,
    /// A write whose record has no `readOnly` field.
    WriteNoRo,
}

/// Delivery flags of a planted record.
#[derive(Clone, Copy, Default)]
struct Fl {
    dup: bool,
    delayed: bool,
}

const DUP: Fl = Fl {
    dup: true,
    delayed: false,
};
const LATE: Fl = Fl {
    dup: false,
    delayed: true,
};
const NONE: Fl = Fl {
    dup: false,
    delayed: false,
};

pub struct Planter<'w> {
    wd: &'w World,
    win: i64,
    nw: u32,
    pub events: Vec<PEvent>,
    pub sessions: Vec<Sess>,
    pub approvals: Vec<Approval>,
    /// (role ARN, time) of `AWSRevokeOlderSessions` policies.
    pub revocations: Vec<(String, i64)>,
    /// (principal ARN, time) of password changes of break-glass users and root.
    pub rotations: Vec<(String, i64)>,
    /// Findings outside sessions: (rule, event id).
    pub extra: Vec<(&'static str, String)>,
    /// The anomalies planted (`plant_anomalies`): rule, session, event.
    pub anomalies: Vec<FindingTruth>,
    sc: Scratch,
    w: W,
    g: Rng,
    ticket: u32,
}

pub fn session_id(account: &str, kind: Kind, key: &str, start: i64) -> String {
    let mut h = Sha256::new();
    h.update(format!("{account}|{}|{key}|{}", kind.as_str(), time::iso_us(start)).as_bytes());
    hex::encode(h.finalize())[..16].to_string()
}

fn suffix(k: usize) -> String {
    if k == 0 {
        String::new()
    } else {
        (k + 1).to_string()
    }
}

impl<'w> Planter<'w> {
    pub fn new(wd: &'w World, win: i64, nw: u32) -> Self {
        Planter {
            wd,
            win,
            nw,
            events: Vec::new(),
            sessions: Vec::new(),
            approvals: Vec::new(),
            revocations: Vec::new(),
            rotations: Vec::new(),
            extra: Vec::new(),
            anomalies: Vec::new(),
            sc: Scratch::new(),
            w: W::new(),
            g: Rng::at(wd.seed, &[0x91A7]),
            ticket: 1000,
        }
    }

    fn slot_of(&self, t: i64) -> i64 {
        (t - self.wd.t0).div_euclid(self.win)
    }

    /// Can `t` be delivered `k` windows later inside the generated range?
    fn fits(&self, t: i64, k: i64) -> bool {
        self.slot_of(t) + k < i64::from(self.nw)
    }

    pub fn delay_windows(win: i64) -> i64 {
        (7200 / win).max(1)
    }

    fn acct(&self, a: usize) -> String {
        self.wd.acct(a).to_string()
    }

    fn r1(&self) -> usize {
        usize::from(self.wd.regions.len() > 1)
    }

    // ------------------------------------------------------------------ emission

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        ident: &str,
        a: usize,
        r: usize,
        t: i64,
        ip: &str,
        ua: &str,
        console: bool,
        c: &Call,
        fl: Fl,
    ) -> String {
        let ev = c.event_id.clone().unwrap_or_else(|| self.g.uuid());
        let req = c.request_id.clone().unwrap_or_else(|| self.g.uuid());
        let acct = self.acct(a);
        let region = self.wd.regions[r];
        let host = c.tls_host.clone().unwrap_or_else(|| {
            let p = c.source.trim_end_matches(".amazonaws.com");
            match p {
                "iam" | "sts" | "organizations" => c.source.to_string(),
                "signin" => "signin.aws.amazon.com".to_string(),
                _ => format!("{p}.{region}.amazonaws.com"),
            }
        });
        let delayed = fl.delayed && self.fits(t, Self::delay_windows(self.win));
        let dup = fl.dup && !delayed && self.fits(t, 1);
        let version = match c.source {
            "iam.amazonaws.com" | "ec2.amazonaws.com" | "s3.amazonaws.com" => "1.10",
            "sts.amazonaws.com" | "signin.amazonaws.com" => "1.08",
            "cloudtrail.amazonaws.com" | "ssm.amazonaws.com" => "1.09",
            _ => "1.11",
        };
        let rec = Rec {
            version,
            identity: Some(ident),
            time: t,
            source: c.source,
            name: c.name,
            region,
            ip,
            ua: Some(ua),
            error: c.error.as_ref().map(|(a, b)| (*a, b.as_str())),
            params: &c.params,
            response: if c.error.is_some() && c.event_type == "AwsApiCall" {
                "null"
            } else {
                &c.resp
            },
            additional: c.additional.as_deref(),
            request_id: if c.event_type == "AwsConsoleSignIn" {
                None
            } else {
                Some(&req)
            },
            event_id: &ev,
            read_only: c.ro,
            resources: c.resources.as_deref(),
            event_type: c.event_type,
            api_version: c.api_version,
            management: !c.data,
            recipient: &acct,
            shared_event_id: c.shared.as_deref(),
            vpce: None,
            category: if c.data { "Data" } else { "Management" },
            service_details: c.service_details,
            addendum_delay: delayed,
            tls: Some(Tls {
                v13: true,
                host: &host,
            }),
            console,
        };
        self.w.clear();
        write_rec(&mut self.w, &rec);
        self.events.push(PEvent {
            t,
            a,
            r,
            json: self.w.s.clone(),
            event_id: ev.clone(),
            dup,
            delayed,
        });
        ev
    }

    fn ident_json(&self, s: usize) -> String {
        let ss = &self.sessions[s];
        let acct = self.wd.acct(ss.acct);
        let mut w = W::new();
        match &ss.ident {
            Ident::Role {
                role,
                path,
                role_id,
                session,
                created,
                mfa,
                si,
            } => identity_role(
                &mut w,
                &RoleSession {
                    account: acct,
                    role_name: role,
                    role_path: path,
                    role_id,
                    session_name: session,
                    access_key: &ss.key,
                    created: *created,
                    mfa: *mfa,
                    source_identity: si.as_deref(),
                    invoked_by: None,
                    ec2_delivery: false,
                },
            ),
            Ident::User { user, session } => identity_user(
                &mut w,
                acct,
                user,
                &self.wd.user_id(ss.acct, user),
                Some(&ss.key),
                *session,
            ),
            Ident::Root {
                session,
                assumed_root,
            } => identity_root(&mut w, acct, Some(&ss.key), *session, *assumed_root),
        }
        w.s
    }

    fn mfa_field(&self, s: usize) -> bool {
        match &self.sessions[s].ident {
            Ident::Role { mfa, .. } => *mfa,
            Ident::User { session, .. } | Ident::Root { session, .. } => {
                session.is_some_and(|x| x.1)
            }
        }
    }

    /// An action of session `s`.
    fn act(&mut self, s: usize, t: i64, r: usize, c: Call, fl: Fl) -> String {
        let ident = self.ident_json(s);
        let (a, ip, ua, console) = {
            let ss = &self.sessions[s];
            (ss.acct, ss.ip.clone(), ss.ua, ss.console)
        };
        let ev = self.emit(&ident, a, r, t, &ip, ua, console, &c, fl);
        let mfa_true = self.mfa_field(s);
        self.sessions[s].acts.push(Act {
            event_id: ev.clone(),
            t,
            name: c.name,
            read_only: c.ro,
            error: c.error.is_some(),
            mfa_true,
            mfa_target: c.mfa_target,
        });
        ev
    }

    fn plain_act(&mut self, s: usize, t: i64, r: usize, k: K, fl: Fl) -> String {
        let a = self.sessions[s].acct;
        let parn = self.caller_arn(s);
        let c = self.call(k, a, r, &parn);
        self.act(s, t, r, c, fl)
    }

    /// Actions at `start + offset` (seconds) for each (offset, region, kind).
    fn acts(&mut self, s: usize, start: i64, plan: &[(i64, usize, K)]) {
        for &(off, r, k) in plan {
            self.plain_act(s, start + off, r, k, NONE);
        }
    }

    fn caller_arn(&self, s: usize) -> String {
        let ss = &self.sessions[s];
        let acct = self.wd.acct(ss.acct);
        match &ss.ident {
            Ident::Role { role, session, .. } => {
                format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}")
            }
            Ident::User { user, .. } => format!("arn:aws:iam::{acct}:user/{user}"),
            Ident::Root { .. } => format!("arn:aws:iam::{acct}:root"),
        }
    }

    fn caller_principal_id(&self, s: usize) -> String {
        let ss = &self.sessions[s];
        match &ss.ident {
            Ident::Role {
                role_id, session, ..
            } => format!("{role_id}:{session}"),
            Ident::User { user, .. } => self.wd.user_id(ss.acct, user),
            Ident::Root { .. } => self.wd.acct(ss.acct).to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_session(
        &mut self,
        kind: Kind,
        variant: &'static str,
        acct: usize,
        principal_arn: String,
        actor: String,
        key: String,
        start: i64,
        parent: Option<usize>,
        mfa_at_entry: bool,
        ident: Ident,
        ip: String,
        ua: &'static str,
        console: bool,
    ) -> usize {
        let idx = self.sessions.len();
        let (depth, root) = match parent {
            Some(p) => (self.sessions[p].depth + 1, self.sessions[p].root),
            None => (0, idx),
        };
        self.sessions.push(Sess {
            kind,
            variant,
            acct,
            principal_arn,
            actor,
            key,
            start,
            parent,
            depth,
            root,
            mfa_at_entry,
            entry_event_id: None,
            console_entry: false,
            acts: Vec::new(),
            ident,
            ip,
            ua,
            console,
        });
        idx
    }

    fn temp_key(&mut self) -> String {
        aws_id("ASIA", &mut self.g, 16)
    }

    fn token(&mut self) -> String {
        let mut s = String::from("IQoJb3JpZ2luX2VjE");
        self.g.push_b64(&mut s, 283);
        s
    }

    fn approve(&mut self, principal: &str, nb: i64, na: i64) -> String {
        self.ticket += 1;
        let t = format!("CHG-{}", self.ticket);
        self.approvals.push(Approval {
            ticket: t.clone(),
            principal: principal.to_string(),
            not_before: nb,
            not_after: na,
            approver: "security-lead@anycompany.example",
        });
        t
    }

    fn approve_same(&mut self, ticket: &str, principal: &str, nb: i64, na: i64) {
        self.approvals.push(Approval {
            ticket: ticket.to_string(),
            principal: principal.to_string(),
            not_before: nb,
            not_after: na,
            approver: "security-lead@anycompany.example",
        });
    }

    // ------------------------------------------------------------------ palettes

    fn call(&mut self, k: K, a: usize, r: usize, caller_arn: &str) -> Call {
        let wd = self.wd;
        let acct = wd.acct(a).to_string();
        let region = wd.regions[r];
        let g = &mut self.g;
        match k {
            K::Read => {
                let global = r == 0;
                let n = if global { 12 } else { 7 };
                match g.below(n) {
                    0 => {
                        let inst = wd.res_id("i", a, r, g.below(6));
                        Call::new("ec2.amazonaws.com", "DescribeInstances", Some(true)).params(
                            object(|w| {
                                w.obj("instancesSet");
                                w.arr("items");
                                w.begin();
                                w.str("instanceId", &inst);
                                w.end();
                                w.end_arr();
                                w.end();
                                w.obj("filterSet");
                                w.end();
                            }),
                        )
                    }
                    1 => Call::new("ec2.amazonaws.com", "DescribeSecurityGroups", Some(true))
                        .params(object(|w| {
                            w.obj("securityGroupSet");
                            w.end();
                            w.obj("securityGroupIdSet");
                            w.end();
                            w.obj("filterSet");
                            w.end();
                        })),
                    2 => Call::new("cloudtrail.amazonaws.com", "DescribeTrails", Some(true))
                        .params(object(|w| {
                            w.arr("trailNameList");
                            w.end_arr();
                            w.bool("includeShadowTrails", true);
                        })),
                    3 => Call::new("logs.amazonaws.com", "DescribeLogGroups", Some(true)).params(
                        object(|w| {
                            w.str("logGroupNamePrefix", "/aws/");
                        }),
                    ),
                    4 => Call::new("guardduty.amazonaws.com", "ListDetectors", Some(true))
                        .params("{}".into()),
                    5 => Call::new("rds.amazonaws.com", "DescribeDBInstances", Some(true)).params(
                        object(|w| {
                            w.str("dBInstanceIdentifier", "orders-db");
                        }),
                    ),
                    6 => Call::new("monitoring.amazonaws.com", "DescribeAlarms", Some(true))
                        .params(object(|w| {
                            w.str("stateValue", "ALARM");
                        })),
                    7 => Call::new("sts.amazonaws.com", "GetCallerIdentity", Some(true)),
                    8 => Call::new("iam.amazonaws.com", "ListUsers", Some(true)),
                    9 => Call::new("iam.amazonaws.com", "ListRoles", Some(true)),
                    10 => Call::new("iam.amazonaws.com", "GetAccountSummary", Some(true)),
                    _ => {
                        let mut c = Call::new("s3.amazonaws.com", "ListBuckets", Some(true))
                            .params(r#"{"Host":"s3.amazonaws.com"}"#.into());
                        c.tls_host = Some("s3.amazonaws.com".into());
                        c
                    }
                }
            }
            K::Write => {
                let inst = wd.res_id("i", a, r, g.below(6));
                let req = g.uuid();
                match g.below(5) {
                    0 => Call::new("ec2.amazonaws.com", "StopInstances", Some(false))
                        .params(object(|w| {
                            w.obj("instancesSet");
                            w.arr("items");
                            w.begin();
                            w.str("instanceId", &inst);
                            w.end();
                            w.end_arr();
                            w.end();
                            w.bool("force", false);
                        }))
                        .resp(object(|w| {
                            w.str("requestId", &req);
                            w.obj("instancesSet");
                            w.arr("items");
                            w.begin();
                            w.str("instanceId", &inst);
                            w.obj("currentState");
                            w.num("code", 64);
                            w.str("name", "stopping");
                            w.end();
                            w.obj("previousState");
                            w.num("code", 16);
                            w.str("name", "running");
                            w.end();
                            w.end();
                            w.end_arr();
                            w.end();
                        })),
                    1 => Call::new("ec2.amazonaws.com", "RebootInstances", Some(false))
                        .params(object(|w| {
                            w.obj("instancesSet");
                            w.arr("items");
                            w.begin();
                            w.str("instanceId", &inst);
                            w.end();
                            w.end_arr();
                            w.end();
                        }))
                        .resp(object(|w| {
                            w.str("requestId", &req);
                            w.bool("_return", true);
                        })),
                    2 => {
                        let vol = wd.res_id("vol", a, r, g.below(6));
                        let snap = wd.res_id("snap", a, r, g.below(100_000));
                        Call::new("ec2.amazonaws.com", "CreateSnapshot", Some(false))
                            .params(object(|w| {
                                w.str("volumeId", &vol);
                                w.str("description", "incident forensics copy");
                            }))
                            .resp(object(|w| {
                                w.str("requestId", &req);
                                w.str("snapshotId", &snap);
                                w.str("volumeId", &vol);
                                w.str("status", "pending");
                                w.num("volumeSize", 100);
                                w.str("description", "incident forensics copy");
                                w.bool("encrypted", true);
                            }))
                    }
                    3 => Call::new(
                        "autoscaling.amazonaws.com",
                        "UpdateAutoScalingGroup",
                        Some(false),
                    )
                    .params(object(|w| {
                        w.str("autoScalingGroupName", "orders-asg");
                        w.num("minSize", 2);
                        w.num("desiredCapacity", 6);
                        w.num("maxSize", 12);
                    })),
                    _ => {
                        let f = super::background::FUNCS[g.idx(3)];
                        let mut c = Call::new(
                            "lambda.amazonaws.com",
                            "UpdateFunctionConfiguration20150331v2",
                            Some(false),
                        )
                        .params(object(|w| {
                            w.str("functionName", f);
                            w.num("reservedConcurrentExecutions", 0);
                            w.num("timeout", 60);
                        }));
                        c.resp = object(|w| {
                            w.str("functionName", f);
                            w.str(
                                "functionArn",
                                &format!("arn:aws:lambda:{region}:{acct}:function:{f}"),
                            );
                            w.str("runtime", "python3.11");
                            w.num("timeout", 60);
                            w.num("memorySize", 512);
                            w.str("state", "Active");
                            w.str("lastUpdateStatus", "InProgress");
                        });
                        c
                    }
                }
            }
            K::Denied => {
                if r == 0 && a != wd.mgmt && g.chance(0.5) {
                    let mut c =
                        Call::new("organizations.amazonaws.com", "ListAccounts", Some(true));
                    c.error = Some((
                        "AccessDeniedException",
                        format!(
                            "You don't have permissions to access this resource. User: {caller_arn} is not authorized to perform: organizations:ListAccounts"
                        ),
                    ));
                    c
                } else {
                    let inst = wd.res_id("i", a, r, g.below(6));
                    let mut c = Call::new("ec2.amazonaws.com", "TerminateInstances", Some(false))
                        .params(object(|w| {
                            w.obj("instancesSet");
                            w.arr("items");
                            w.begin();
                            w.str("instanceId", &inst);
                            w.end();
                            w.end_arr();
                            w.end();
                        }));
                    c.error = Some((
                        "Client.UnauthorizedOperation",
                        format!(
                            "You are not authorized to perform this operation. User: {caller_arn} is not authorized to perform: ec2:TerminateInstances on resource: arn:aws:ec2:{region}:{acct}:instance/{inst} with an explicit deny in a service control policy"
                        ),
                    ));
                    c
                }
            }
            K::ReadNoRo => Call::new("kms.amazonaws.com", "ListKeys", None)
                .params(object(|w| w.num("limit", 100))),
            K::WriteNoRo => {
                let mut c = Call::new("rds.amazonaws.com", "RebootDBInstance", None)
                    .params(object(|w| {
                        w.str("dBInstanceIdentifier", "orders-db");
                        w.bool("forceFailover", false);
                    }))
                    .resp(object(|w| {
                        w.str("dBInstanceIdentifier", "orders-db");
                        w.str("dBInstanceClass", "db.r6g.large");
                        w.str("engine", "postgres");
                        w.str("dBInstanceStatus", "rebooting");
                        w.str(
                            "dBInstanceArn",
                            &format!("arn:aws:rds:{region}:{acct}:db:orders-db"),
                        );
                    }));
                c.api_version = Some("2014-10-31");
                c
            }
        }
    }

    fn iam_user_call(&mut self, a: usize, name: &'static str, user: &str, t: i64) -> Call {
        let acct = self.acct(a);
        let created = time::us_date(t, true);
        match name {
            "CreateUser" => {
                let uid = aws_id("AIDA", &mut self.g, 17);
                Call::new("iam.amazonaws.com", "CreateUser", Some(false))
                    .params(object(|w| w.str("userName", user)))
                    .resp(object(|w| {
                        w.obj("user");
                        w.str("path", "/");
                        w.str("userName", user);
                        w.str("userId", &uid);
                        w.str("arn", &format!("arn:aws:iam::{acct}:user/{user}"));
                        w.str("createDate", &created);
                        w.end();
                    }))
            }
            "CreateLoginProfile" => {
                Call::new("iam.amazonaws.com", "CreateLoginProfile", Some(false))
                    .params(object(|w| {
                        w.str("userName", user);
                        w.bool("passwordResetRequired", false);
                    }))
                    .resp(object(|w| {
                        w.obj("loginProfile");
                        w.str("userName", user);
                        w.str("createDate", &created);
                        w.bool("passwordResetRequired", false);
                        w.end();
                    }))
            }
            "CreateAccessKey" => {
                let key = aws_id("AKIA", &mut self.g, 16);
                Call::new("iam.amazonaws.com", "CreateAccessKey", Some(false))
                    .params(object(|w| w.str("userName", user)))
                    .resp(object(|w| {
                        w.obj("accessKey");
                        w.str("userName", user);
                        w.str("accessKeyId", &key);
                        w.str("status", "Active");
                        w.str("createDate", &created);
                        w.end();
                    }))
            }
            _ => Call::new("iam.amazonaws.com", "AttachUserPolicy", Some(false)).params(object(
                |w| {
                    w.str("userName", user);
                    w.str("policyArn", "arn:aws:iam::aws:policy/AdministratorAccess");
                },
            )),
        }
    }

    fn put_role_policy(&mut self, role: &str, policy_name: &str, doc: &str) -> Call {
        Call::new("iam.amazonaws.com", "PutRolePolicy", Some(false)).params(object(|w| {
            w.str("roleName", role);
            w.str("policyName", policy_name);
            w.str("policyDocument", doc);
        }))
    }

    fn trail_call(&mut self, a: usize, name: &'static str) -> Call {
        let acct = self.acct(a);
        let trail = format!("arn:aws:cloudtrail:us-east-1:{acct}:trail/anycompany-account-trail");
        let c = Call::new("cloudtrail.amazonaws.com", name, Some(false));
        match name {
            "PutEventSelectors" => c
                .params(object(|w| {
                    w.str("trailName", "anycompany-account-trail");
                    w.arr("eventSelectors");
                    w.begin();
                    w.str("readWriteType", "ReadOnly");
                    w.bool("includeManagementEvents", true);
                    w.arr("dataResources");
                    w.end_arr();
                    w.arr("excludeManagementEventSources");
                    w.item("kms.amazonaws.com");
                    w.item("iam.amazonaws.com");
                    w.end_arr();
                    w.end();
                    w.end_arr();
                }))
                .resp(object(|w| {
                    w.str("trailARN", &trail);
                    w.arr("eventSelectors");
                    w.begin();
                    w.str("readWriteType", "ReadOnly");
                    w.bool("includeManagementEvents", true);
                    w.arr("dataResources");
                    w.end_arr();
                    w.arr("excludeManagementEventSources");
                    w.item("kms.amazonaws.com");
                    w.item("iam.amazonaws.com");
                    w.end_arr();
                    w.end();
                    w.end_arr();
                })),
            "UpdateTrail" => c
                .params(object(|w| {
                    w.str("name", "anycompany-account-trail");
                    w.bool("includeGlobalServiceEvents", false);
                    w.bool("isMultiRegionTrail", false);
                }))
                .resp(object(|w| {
                    w.str("name", "anycompany-account-trail");
                    w.str("s3BucketName", &format!("anycompany-trail-{acct}"));
                    w.bool("includeGlobalServiceEvents", false);
                    w.bool("isMultiRegionTrail", false);
                    w.str("trailARN", &trail);
                    w.bool("logFileValidationEnabled", true);
                    w.bool("isOrganizationTrail", false);
                })),
            _ => c.params(object(|w| w.str("name", &trail))),
        }
    }

    fn resource_access(&mut self, a: usize, r: usize, name: &'static str, who: &str) -> Call {
        let acct = self.acct(a);
        let region = self.wd.regions[r];
        let inst = self.wd.res_id("i", a, r, self.g.below(6));
        match name {
            "StartSession" => {
                let sid = format!("{who}-{}", self.g.hex(17));
                let cell = {
                    let mut s = String::new();
                    self.g.push_b64(&mut s, 96);
                    s
                };
                Call::new("ssm.amazonaws.com", "StartSession", Some(false))
                    .params(object(|w| w.str("target", &inst)))
                    .resp(object(|w| {
                        w.str("sessionId", &sid);
                        w.str(
                            "streamUrl",
                            &format!("wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe&cell-number={cell}"),
                        );
                        w.str("tokenValue", "Value hidden due to security reasons.");
                    }))
            }
            "SendSSHPublicKey" => {
                let req = self.g.uuid();
                let mut key = String::from("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI");
                self.g.push_b64(&mut key, 43);
                Call::new(
                    "ec2-instance-connect.amazonaws.com",
                    "SendSSHPublicKey",
                    Some(false),
                )
                .params(object(|w| {
                    w.str("instanceId", &inst);
                    w.str("instanceOSUser", "ec2-user");
                    w.str("sSHPublicKey", &key);
                }))
                .resp(object(|w| {
                    w.str("requestId", &req);
                    w.bool("success", true);
                }))
            }
            _ => {
                let task = self.g.hex(32);
                let sid = format!("ecs-execute-command-{}", self.g.hex(17));
                let cluster = format!("arn:aws:ecs:{region}:{acct}:cluster/anycompany-apps");
                let task_arn = format!("arn:aws:ecs:{region}:{acct}:task/anycompany-apps/{task}");
                let cont = self.g.uuid();
                Call::new("ecs.amazonaws.com", "ExecuteCommand", Some(false))
                    .params(object(|w| {
                        w.str("cluster", "anycompany-apps");
                        w.str("container", "app");
                        w.str("command", "/bin/sh");
                        w.bool("interactive", true);
                        w.str("task", &task_arn);
                    }))
                    .resp(object(|w| {
                        w.str("clusterArn", &cluster);
                        w.str("containerArn", &format!("arn:aws:ecs:{region}:{acct}:container/anycompany-apps/{task}/{cont}"));
                        w.str("containerName", "app");
                        w.bool("interactive", true);
                        w.obj("session");
                        w.str("sessionId", &sid);
                        w.str("streamUrl", &format!("wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe"));
                        w.str("tokenValue", "HIDDEN_DUE_TO_SECURITY_REASONS");
                        w.end();
                        w.str("taskArn", &task_arn);
                    }))
            }
        }
    }

    // ------------------------------------------------------------------ entries

    /// IAM user `user` of the management account (an on-call engineer, not break-glass).
    fn oncall_ident(&self, user: &str) -> String {
        let mut w = W::new();
        let m = self.wd.mgmt;
        identity_user(
            &mut w,
            self.wd.acct(m),
            user,
            &self.wd.user_id(m, user),
            Some(&self.wd.user_key(m, user)),
            None,
        );
        w.s
    }

    fn oncall_ip(user: &str) -> String {
        let n = 20 + (super::rng::hash_str(user) % 200);
        format!("198.51.100.{n}")
    }

    /// `AssumeRole` into `role` of `target`, by an on-call IAM user of management (`caller =
    /// Err(name)`) or by planted session `caller = Ok(idx)`. Returns (caller copy, owner copy).
    #[allow(clippy::too_many_arguments)]
    fn assume_role(
        &mut self,
        caller: Result<usize, &str>,
        target: usize,
        role: &str,
        session_name: &str,
        t: i64,
        key: &str,
        duration: i64,
        mfa: bool,
        source_identity: Option<&str>,
        fl: Fl,
    ) -> (String, Option<String>) {
        let wd = self.wd;
        let tacct = self.acct(target);
        let role_arn = format!("arn:aws:iam::{tacct}:role/{role}");
        let role_id = wd.role_id(target, role);
        let (caller_acct, caller_pid) = match caller {
            Ok(s) => (self.sessions[s].acct, self.caller_principal_id(s)),
            Err(u) => (wd.mgmt, wd.user_id(wd.mgmt, u)),
        };
        let serial = match caller {
            Err(u) if mfa => Some(format!("arn:aws:iam::{}:mfa/{u}", wd.acct(wd.mgmt))),
            _ => None,
        };
        let tok = self.token();
        let mut c = Call::new("sts.amazonaws.com", "AssumeRole", Some(true));
        c.params = object(|w| {
            w.str("roleArn", &role_arn);
            w.str("roleSessionName", session_name);
            w.num("durationSeconds", duration);
            if let Some(s) = &serial {
                w.str("serialNumber", s);
            }
            if let Some(si) = source_identity {
                w.str("sourceIdentity", si);
            }
        });
        c.resp = object(|w| {
            w.obj("credentials");
            w.str("accessKeyId", key);
            w.str("sessionToken", &tok);
            w.str("expiration", &time::us_date(t + duration, true));
            w.end();
            w.obj("assumedRoleUser");
            w.str("assumedRoleId", &format!("{role_id}:{session_name}"));
            w.str(
                "arn",
                &format!("arn:aws:sts::{tacct}:assumed-role/{role}/{session_name}"),
            );
            w.end();
            if let Some(si) = source_identity {
                w.str("sourceIdentity", si);
            }
        });
        c.resources = Some(format!(
            r#"[{{"accountId":"{tacct}","type":"AWS::IAM::Role","ARN":"{role_arn}"}}]"#
        ));
        let cross = caller_acct != target;
        let req = self.g.uuid();
        c.request_id = Some(req.clone());
        if cross {
            c.shared = Some(self.g.uuid());
        }
        let shared = c.shared.clone();
        let params = c.params.clone();
        let resp = c.resp.clone();
        let resources = c.resources.clone();
        let caller_ev = match caller {
            Ok(s) => self.act(s, t, 0, c, fl),
            Err(u) => {
                let ident = self.oncall_ident(u);
                let ip = Self::oncall_ip(u);
                self.emit(&ident, wd.mgmt, 0, t, &ip, UA_CLI_BG, false, &c, fl)
            }
        };
        let owner_ev = if cross {
            let mut w = W::new();
            identity_aws_account(&mut w, &caller_pid, wd.acct(caller_acct));
            let mut c2 = Call::new("sts.amazonaws.com", "AssumeRole", Some(true));
            c2.params = params;
            c2.resp = resp;
            c2.resources = resources;
            c2.request_id = Some(req);
            c2.shared = shared;
            let ip = match caller {
                Ok(s) => self.sessions[s].ip.clone(),
                Err(u) => Self::oncall_ip(u),
            };
            Some(self.emit(&w.s, target, 0, t, &ip, UA_CLI_BG, false, &c2, NONE))
        } else {
            None
        };
        (caller_ev, owner_ev)
    }

    /// Top-level role session through an on-call engineer's `AssumeRole`.
    #[allow(clippy::too_many_arguments)]
    fn role_session(
        &mut self,
        v: V,
        caller: &str,
        target: usize,
        role: &str,
        t: i64,
        duration: i64,
        mfa: bool,
        entry_fl: Fl,
    ) -> usize {
        let key = self.temp_key();
        let tacct = self.acct(target);
        let (c_ev, o_ev) = self.assume_role(
            Err(caller),
            target,
            role,
            caller,
            t,
            &key,
            duration,
            mfa,
            Some(caller),
            entry_fl,
        );
        let role_id = self.wd.role_id(target, role);
        let s = self.new_session(
            Kind::Role,
            v.name(),
            target,
            format!("arn:aws:iam::{tacct}:role/{role}"),
            caller.to_string(),
            key,
            t,
            None,
            mfa,
            Ident::Role {
                role: role.to_string(),
                path: "",
                role_id,
                session: caller.to_string(),
                created: t,
                mfa,
                si: Some(caller.to_string()),
            },
            Self::oncall_ip(caller),
            UA_CLI_OPS,
            false,
        );
        self.sessions[s].entry_event_id = Some(o_ev.unwrap_or(c_ev));
        s
    }

    /// Chained role session: session `parent` assumes `role` in `target`.
    fn chain(&mut self, v: V, parent: usize, target: usize, role: &str, t: i64) -> usize {
        let key = self.temp_key();
        let actor = self.sessions[parent].actor.clone();
        let (c_ev, o_ev) = self.assume_role(
            Ok(parent),
            target,
            role,
            &actor,
            t,
            &key,
            3600,
            false,
            Some(&actor),
            NONE,
        );
        let tacct = self.acct(target);
        let role_id = self.wd.role_id(target, role);
        let ip = self.sessions[parent].ip.clone();
        let s = self.new_session(
            Kind::Chained,
            v.name(),
            target,
            format!("arn:aws:iam::{tacct}:role/{role}"),
            actor.clone(),
            key,
            t,
            Some(parent),
            false,
            Ident::Role {
                role: role.to_string(),
                path: "",
                role_id,
                session: actor.clone(),
                created: t,
                mfa: false,
                si: Some(actor),
            },
            ip,
            UA_CLI_OPS,
            false,
        );
        let root = self.sessions[s].root;
        self.sessions[s].mfa_at_entry = self.sessions[root].mfa_at_entry;
        self.sessions[s].entry_event_id = Some(o_ev.unwrap_or(c_ev));
        s
    }

    /// Break-glass user or root `ConsoleLogin` (success or failure).
    #[allow(clippy::too_many_arguments)]
    fn bg_console_login(
        &mut self,
        a: usize,
        user: Option<&str>,
        t: i64,
        ok: bool,
        mfa: bool,
        yes_upper: bool,
        fl: Fl,
    ) -> String {
        let acct = self.acct(a);
        let mut w = W::new();
        match user {
            Some(u) => identity_user(&mut w, &acct, u, &self.wd.user_id(a, u), None, None),
            None => identity_root(&mut w, &acct, Some(""), None, false),
        }
        let mut c = Call::new("signin.amazonaws.com", "ConsoleLogin", Some(false));
        c.event_type = "AwsConsoleSignIn";
        c.resp = if ok {
            r#"{"ConsoleLogin":"Success"}"#.into()
        } else {
            r#"{"ConsoleLogin":"Failure"}"#.into()
        };
        if !ok {
            c.error = Some(("", "Failed authentication".into()));
        }
        let mfa_used = if ok && mfa {
            if yes_upper { "YES" } else { "Yes" }
        } else {
            "No"
        };
        let mfa_id = match user {
            Some(u) => format!("arn:aws:iam::{acct}:mfa/{u}"),
            None => format!("arn:aws:iam::{acct}:mfa/root-account-mfa-device"),
        };
        c.additional = Some(object(|w| {
            w.str("LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1");
            w.str("MobileVersion", "No");
            if ok && mfa {
                w.str("MFAIdentifier", &mfa_id);
            }
            w.str("MFAUsed", mfa_used);
        }));
        c.tls_host = Some("signin.aws.amazon.com".into());
        self.emit(&w.s, a, 0, t, "203.0.113.99", UA_BROWSER, false, &c, fl)
    }

    /// Console session after a successful break-glass sign-in.
    fn console_session(
        &mut self,
        v: V,
        a: usize,
        user: Option<&str>,
        t: i64,
        mfa: bool,
        fl: Fl,
    ) -> usize {
        let ev = self.bg_console_login(a, user, t, true, mfa, v == V::RootConsoleMfa, fl);
        let key = self.temp_key();
        let acct = self.acct(a);
        let (kind, arn, actor, ident) = match user {
            Some(u) => (
                Kind::User,
                format!("arn:aws:iam::{acct}:user/{u}"),
                u.to_string(),
                Ident::User {
                    user: u.to_string(),
                    session: Some((t, mfa)),
                },
            ),
            None => (
                Kind::Root,
                format!("arn:aws:iam::{acct}:root"),
                "root".to_string(),
                Ident::Root {
                    session: Some((t, mfa)),
                    assumed_root: false,
                },
            ),
        };
        let s = self.new_session(
            kind,
            v.name(),
            a,
            arn,
            actor,
            key,
            t,
            None,
            mfa,
            ident,
            "203.0.113.99".into(),
            UA_BROWSER,
            true,
        );
        self.sessions[s].entry_event_id = Some(ev);
        self.sessions[s].console_entry = true;
        s
    }

    fn end_of(&self, s: usize) -> i64 {
        self.sessions[s]
            .acts
            .iter()
            .map(|a| a.t)
            .max()
            .unwrap_or(self.sessions[s].start)
    }

    fn before_end(&self, t: i64) -> bool {
        t < self.wd.t_end - 600
    }

    // ------------------------------------------------------------------ scenarios

    pub fn plant(&mut self, sessions: usize) {
        let plan = schedule(self.wd, sessions);
        for (v, k, t) in plan {
            match v {
                None => self.rules_only(k, t),
                Some(v) => self.scenario(v, k, t),
            }
        }
    }

    fn mem(&self, k: usize, i: usize) -> usize {
        let m = self.wd.members();
        m[(k + i) % m.len()]
    }

    const CALLERS: [&'static str; 3] = ["dana", "erik", "fatima"];

    #[allow(clippy::too_many_lines)]
    fn scenario(&mut self, v: V, k: usize, t: i64) {
        let sfx = suffix(k);
        let r1 = self.r1();
        let m = |mm: i64| mm * 60;
        match v {
            V::RoleMfa => {
                let a = self.mem(k, 0);
                let role = format!("BreakGlassAdmin{sfx}");
                let s = self.role_session(v, Self::CALLERS[k % 3], a, &role, t, 3600, true, NONE);
                self.acts(
                    s,
                    t,
                    &[(m(1), 0, K::Read), (m(3), 0, K::Read), (m(5), r1, K::Read)],
                );
                let user = format!("tmp-admin{sfx}");
                for (i, name) in [
                    "CreateUser",
                    "CreateLoginProfile",
                    "CreateAccessKey",
                    "AttachUserPolicy",
                ]
                .iter()
                .enumerate()
                {
                    let tt = t + m(8) + i as i64 * 47;
                    let c = self.iam_user_call(a, name, &user, tt);
                    self.act(s, tt, 0, c, NONE);
                }
                self.acts(s, t, &[(m(15), r1, K::Write), (m(18), 0, K::Denied)]);
                self.plain_act(s, t + m(22), r1, K::Read, DUP);
                self.acts(s, t, &[(m(30), r1, K::ReadNoRo)]);
                self.plain_act(s, t + m(40), r1, K::Write, LATE);
                self.acts(s, t, &[(m(44), 0, K::Read)]);
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::RoleNoMfa => {
                let a = self.mem(k, 1);
                let role = format!("BreakGlassOps{sfx}");
                let s = self.role_session(
                    v,
                    Self::CALLERS[(k + 1) % 3],
                    a,
                    &role,
                    t,
                    7200,
                    false,
                    NONE,
                );
                self.acts(s, t, &[(m(2), 0, K::Read), (m(6), r1, K::Read)]);
                let c = self.trail_call(a, "PutEventSelectors");
                self.act(s, t + m(12), 0, c, NONE);
                let c = self.trail_call(a, "UpdateTrail");
                self.act(s, t + m(14), 0, c, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(20), r1, K::Write),
                        (m(35), 0, K::Denied),
                        (m(50), 0, K::Read),
                        (m(62), r1, K::Write),
                    ],
                );
                self.plain_act(s, t + m(70), 0, K::Read, LATE);
                self.acts(s, t, &[(m(78), r1, K::WriteNoRo)]);
            }
            V::RoleEntryMissing => {
                let a = self.mem(k, 2);
                let role = format!("BreakGlassReadOnly{sfx}");
                let key = self.temp_key();
                let acct = self.acct(a);
                let caller = Self::CALLERS[(k + 2) % 3];
                let role_id = self.wd.role_id(a, &role);
                let s = self.new_session(
                    Kind::Role,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:role/{role}"),
                    caller.to_string(),
                    key,
                    t,
                    None,
                    true,
                    Ident::Role {
                        role,
                        path: "",
                        role_id,
                        session: caller.into(),
                        created: t,
                        mfa: true,
                        si: Some(caller.into()),
                    },
                    Self::oncall_ip(caller),
                    UA_CLI_OPS,
                    false,
                );
                let t0 = self.wd.t0;
                let deadline = t + TTL;
                let offs = [2, 5, 9, 14, 25, 38, 45, 52, 61, 70];
                for (i, o) in offs.iter().enumerate() {
                    let tt = t0 + m(*o) + 13 * k as i64;
                    if (tt - deadline).abs() <= 60 || tt >= t + 7200 {
                        continue;
                    }
                    if i == 2 {
                        let c = self.resource_access(a, r1, "SendSSHPublicKey", caller);
                        self.act(s, tt, r1, c, NONE);
                    } else {
                        let kk = [K::Read, K::Write, K::Read, K::Read, K::Denied][i % 5];
                        self.plain_act(s, tt, if i % 2 == 0 { 0 } else { r1 }, kk, NONE);
                    }
                }
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::RoleRevoked => {
                let a = self.mem(k, 0);
                let role = format!("BreakGlassIR{sfx}");
                let s = self.role_session(v, Self::CALLERS[k % 3], a, &role, t, 3600, true, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(2), 0, K::Read),
                        (m(5), 0, K::Read),
                        (m(9), r1, K::Write),
                        (m(14), 0, K::Read),
                        (m(20), r1, K::Write),
                        (m(26), 0, K::Read),
                    ],
                );
                let tr = t + m(30);
                self.revoke(a, &role, tr);
                self.acts(
                    s,
                    t,
                    &[
                        (m(42), 0, K::Read),
                        (m(46), r1, K::Write),
                        (m(51), 0, K::Read),
                        (m(55), r1, K::Denied),
                    ],
                );
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::IdcMfa | V::IdcNoMfa => {
                let mfa = v == V::IdcMfa;
                let a = if mfa { self.mem(k, 1) } else { self.mem(k, 0) };
                let user = format!("{}{sfx}", if mfa { "oscar.diaz" } else { "priya.nair" });
                let ip = if mfa { "203.0.113.21" } else { "203.0.113.22" }.to_string();
                // An earlier sign-in with the other factor set, then the latest one before the session.
                let (early, late) = if mfa {
                    ("PASSWORD", "PASSWORD,TOTP")
                } else {
                    ("PASSWORD,TOTP", "PASSWORD")
                };
                let t_early = t - if mfa { 2 * 3600 } else { 3 * 3600 };
                self.idc_sign_in(&user, t_early, early, &ip);
                self.idc_sign_in(&user, t - 240 - 7, late, &ip);
                let role = self.wd.sso_role(a, "BreakGlass");
                let role_id = self.wd.role_id(a, &role);
                let k1 = self.temp_key();
                let mut g = Rng::at(self.wd.seed, &[0x5A1, k as u64, u64::from(mfa)]);
                saml_assume(
                    self.wd,
                    a,
                    &role,
                    &role_id,
                    &user,
                    t,
                    &k1,
                    &ip,
                    &mut g,
                    &mut self.sc,
                );
                let ev = {
                    let v: serde_json::Value =
                        serde_json::from_str(&self.sc.rec.s).expect("own JSON");
                    v["eventID"].as_str().unwrap_or_default().to_string()
                };
                self.events.push(PEvent {
                    t,
                    a,
                    r: 0,
                    json: self.sc.rec.s.clone(),
                    event_id: ev.clone(),
                    dup: false,
                    delayed: false,
                });
                // The later calls carry a different key than the SAML response (see CLOUDTRAIL.md 2.1).
                let k2 = self.temp_key();
                let acct = self.acct(a);
                let s = self.new_session(
                    Kind::IdentityCenter,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:role/{}{role}", World::SSO_PATH),
                    user.clone(),
                    k2,
                    t,
                    None,
                    mfa,
                    Ident::Role {
                        role,
                        path: World::SSO_PATH,
                        role_id,
                        session: user.clone(),
                        created: t,
                        mfa: false,
                        si: None,
                    },
                    ip,
                    UA_CLI_OPS,
                    false,
                );
                self.sessions[s].entry_event_id = Some(ev);
                if mfa {
                    self.acts(s, t, &[(m(1), 0, K::Read)]);
                    self.plain_act(s, t + m(4), r1, K::Read, DUP);
                    let c = self.resource_access(a, r1, "StartSession", &user);
                    self.act(s, t + m(8), r1, c, NONE);
                    self.acts(
                        s,
                        t,
                        &[
                            (m(15), r1, K::Write),
                            (m(25), 0, K::Read),
                            (m(40), 0, K::Read),
                            (m(55), r1, K::Write),
                            (m(63), 0, K::Read),
                            (m(71), r1, K::Write),
                            (m(78), 0, K::Read),
                        ],
                    );
                    let arn = self.sessions[s].principal_arn.clone();
                    self.approve(&arn, t - 1800, t + 4 * 3600);
                } else {
                    self.acts(s, t, &[(m(1), 0, K::Read), (m(5), r1, K::Read)]);
                    let c = self.resource_access(a, r1, "ExecuteCommand", &user);
                    self.act(s, t + m(9), r1, c, NONE);
                    self.acts(
                        s,
                        t,
                        &[
                            (m(16), 0, K::Read),
                            (m(24), 0, K::Denied),
                            (m(33), r1, K::Read),
                            (m(41), r1, K::Write),
                        ],
                    );
                }
            }
            V::UserConsoleMfa => {
                let a = self.wd.mgmt;
                let user = format!("breakglass-alpha{sfx}");
                let s = self.console_session(v, a, Some(&user), t, true, NONE);
                self.acts(s, t, &[(m(1), 0, K::Read), (m(3), 0, K::Read)]);
                let spare = format!("breakglass-delta{sfx}");
                let acct = self.acct(a);
                let mut c = Call::new("iam.amazonaws.com", "DeactivateMFADevice", Some(false))
                    .params(object(|w| {
                        w.str("userName", &spare);
                        w.str("serialNumber", &format!("arn:aws:iam::{acct}:mfa/{spare}"));
                    }));
                c.mfa_target = Some(format!("arn:aws:iam::{acct}:user/{spare}"));
                self.act(s, t + m(6), 0, c, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(9), r1, K::Write),
                        (m(14), r1, K::Read),
                        (m(20), 0, K::Denied),
                        (m(28), 0, K::Read),
                        (m(37), r1, K::Write),
                    ],
                );
                let end = self.end_of(s);
                let tr = end + 2 * 3600 + 17;
                if self.before_end(tr) {
                    self.rotate_user(a, &user, tr);
                }
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::UserConsoleNoMfa => {
                let a = self.wd.mgmt;
                let user = format!("breakglass-bravo{sfx}");
                let s = self.console_session(v, a, Some(&user), t, false, DUP);
                self.acts(s, t, &[(m(1), 0, K::Read)]);
                let c = self.trail_call(a, "DeleteTrail");
                self.act(s, t + m(4), 0, c, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(8), r1, K::Write),
                        (m(13), 0, K::Read),
                        (m(19), r1, K::Read),
                        (m(27), r1, K::Write),
                    ],
                );
                // Approved only after the session had started: not covering its start (BG005).
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t + 3600, t + 5 * 3600);
            }
            V::UserKey => {
                let a = self.wd.mgmt;
                let user = format!("breakglass-charlie{sfx}");
                let acct = self.acct(a);
                let key = self.wd.user_key(a, &user);
                let s = self.new_session(
                    Kind::User,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:user/{user}"),
                    user.clone(),
                    key,
                    t,
                    None,
                    false,
                    Ident::User {
                        user: user.clone(),
                        session: None,
                    },
                    "198.51.100.250".into(),
                    UA_CLI_OPS,
                    false,
                );
                self.act(
                    s,
                    t,
                    0,
                    Call::new("sts.amazonaws.com", "GetCallerIdentity", Some(true)),
                    NONE,
                );
                self.act(
                    s,
                    t + m(2),
                    0,
                    Call::new("iam.amazonaws.com", "ListUsers", Some(true)),
                    NONE,
                );
                self.acts(s, t, &[(m(4), r1, K::Read)]);
                // GetSessionToken with the long-term key: a child session.
                let tg = t + m(7);
                let k2 = self.temp_key();
                let tok = self.token();
                let mut c = Call::new("sts.amazonaws.com", "GetSessionToken", Some(true));
                c.params = object(|w| w.num("durationSeconds", 3600));
                c.resp = object(|w| {
                    w.obj("credentials");
                    w.str("accessKeyId", &k2);
                    w.str("sessionToken", &tok);
                    w.str("expiration", &time::us_date(tg + 3600, false));
                    w.end();
                });
                let ev = self.act(s, tg, 0, c, NONE);
                self.acts(s, t, &[(m(9), r1, K::Write), (m(15), 0, K::Read)]);
                let child = self.new_session(
                    Kind::Chained,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:user/{user}"),
                    user.clone(),
                    k2,
                    tg,
                    Some(s),
                    false,
                    Ident::User {
                        user: user.clone(),
                        session: Some((tg, false)),
                    },
                    "198.51.100.250".into(),
                    UA_CLI_OPS,
                    false,
                );
                self.sessions[child].entry_event_id = Some(ev);
                self.acts(
                    child,
                    t,
                    &[
                        (m(8), 0, K::Read),
                        (m(11), r1, K::Write),
                        (m(14), 0, K::Read),
                        (m(20), r1, K::Denied),
                        (m(26), r1, K::Read),
                        (m(34), 0, K::Write),
                    ],
                );
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::RootConsoleMfa | V::RootConsoleNoMfa => {
                let mfa = v == V::RootConsoleMfa;
                let a = if mfa { self.mem(k, 0) } else { self.wd.mgmt };
                let s = self.console_session(v, a, None, t, mfa, NONE);
                if mfa {
                    self.acts(
                        s,
                        t,
                        &[
                            (m(1), 0, K::Read),
                            (m(4), 0, K::Read),
                            (m(7), r1, K::Write),
                            (m(12), r1, K::Read),
                            (m(18), 0, K::Read),
                            (m(26), r1, K::Write),
                        ],
                    );
                    let end = self.end_of(s);
                    let tr = end + 3 * 3600 + 29;
                    if self.before_end(tr) {
                        self.root_password_updated(a, tr);
                    }
                } else {
                    self.acts(s, t, &[(m(1), 0, K::Read)]);
                    let c = self.trail_call(a, "StopLogging");
                    self.act(s, t + m(3), 0, c, NONE);
                    self.acts(
                        s,
                        t,
                        &[
                            (m(6), r1, K::Read),
                            (m(10), r1, K::Write),
                            (m(16), 0, K::Denied),
                            (m(22), 0, K::Read),
                        ],
                    );
                }
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::RootKey => {
                let a = self.wd.prod;
                let acct = self.acct(a);
                let key = self.wd.user_key(a, &format!("root{sfx}"));
                let s = self.new_session(
                    Kind::Root,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:root"),
                    "root".into(),
                    key,
                    t,
                    None,
                    false,
                    Ident::Root {
                        session: None,
                        assumed_root: false,
                    },
                    "192.0.2.200".into(),
                    UA_CLI_OPS,
                    false,
                );
                self.act(
                    s,
                    t,
                    0,
                    Call::new("sts.amazonaws.com", "GetCallerIdentity", Some(true)),
                    NONE,
                );
                self.plain_act(s, t + m(3), 0, K::Read, DUP);
                self.acts(
                    s,
                    t,
                    &[
                        (m(6), r1, K::Read),
                        (m(9), r1, K::Write),
                        (m(12), 0, K::Read),
                    ],
                );
            }
            V::AssumeRoot => {
                let a = self.mem(k, 1);
                let caller = Self::CALLERS[(k + 1) % 3];
                let acct = self.acct(a);
                let key = self.temp_key();
                let tok = self.token();
                let mut c = Call::new("sts.amazonaws.com", "AssumeRoot", Some(true));
                c.params = object(|w| {
                    w.str("targetPrincipal", &acct);
                    w.obj("taskPolicyArn");
                    w.str(
                        "arn",
                        "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
                    );
                    w.end();
                    w.num("durationSeconds", 900);
                });
                c.resp = object(|w| {
                    w.obj("credentials");
                    w.str("accessKeyId", &key);
                    w.str("sessionToken", &tok);
                    w.str("expiration", &time::us_date(t + 900, true));
                    w.end();
                });
                c.tls_host = Some("sts.us-east-1.amazonaws.com".into());
                let ident = self.oncall_ident(caller);
                let ip = Self::oncall_ip(caller);
                let mgmt = self.wd.mgmt;
                let ev = self.emit(&ident, mgmt, 0, t, &ip, UA_CLI_OPS, false, &c, NONE);
                let caller_arn = format!("arn:aws:iam::{}:user/{caller}", self.acct(mgmt));
                let s = self.new_session(
                    Kind::Root,
                    v.name(),
                    a,
                    format!("arn:aws:iam::{acct}:root"),
                    caller_arn,
                    key,
                    t,
                    None,
                    false,
                    Ident::Root {
                        session: Some((t, false)),
                        assumed_root: true,
                    },
                    ip,
                    UA_CLI_OPS,
                    false,
                );
                self.sessions[s].entry_event_id = Some(ev);
                let reads: [(&'static str, &'static str); 4] = [
                    ("iam.amazonaws.com", "GetAccountSummary"),
                    ("iam.amazonaws.com", "ListSigningCertificates"),
                    ("iam.amazonaws.com", "ListAccountAliases"),
                    ("sts.amazonaws.com", "GetCallerIdentity"),
                ];
                for (i, (src, name)) in reads.iter().enumerate() {
                    self.act(
                        s,
                        t + m(1 + 3 * i as i64),
                        0,
                        Call::new(src, name, Some(true)),
                        NONE,
                    );
                }
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + 4 * 3600);
            }
            V::Chained => {
                let a = self.mem(k, 0);
                let mb = self.wd.members();
                let b = if mb.len() > 1 {
                    self.mem(k, 1)
                } else {
                    self.wd.mgmt
                };
                let c_acct = if b == self.wd.mgmt { a } else { self.wd.mgmt };
                let role = format!("BreakGlassNetwork{sfx}");
                let s =
                    self.role_session(v, Self::CALLERS[(k + 1) % 3], a, &role, t, 3600, true, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(2), 0, K::Read),
                        (m(5), r1, K::Read),
                        (m(10), r1, K::Write),
                    ],
                );
                let d1 = self.chain(v, s, b, "OrganizationAccountAccessRole", t + m(20));
                self.acts(s, t, &[(m(28), 0, K::Read), (m(40), r1, K::Read)]);
                self.acts(d1, t, &[(m(22), 0, K::Read)]);
                let app = format!("app-deployer{sfx}");
                let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
                let c = self.put_role_policy(&app, "inline-admin", doc);
                self.act(d1, t + m(26), 0, c, DUP);
                let ext = "999988887777";
                let trust = format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ext}:root"}},"Action":"sts:AssumeRole"}}]}}"#
                );
                let c = Call::new("iam.amazonaws.com", "UpdateAssumeRolePolicy", Some(false))
                    .params(object(|w| {
                        w.str("roleName", &app);
                        w.str("policyDocument", &trust);
                    }));
                self.act(d1, t + m(29), 0, c, NONE);
                let d2 = self.chain(v, d1, c_acct, "OrganizationAccountAccessRole", t + m(31));
                self.acts(
                    d1,
                    t,
                    &[
                        (m(45), r1, K::Read),
                        (m(58), 0, K::Write),
                        (m(64), 0, K::Read),
                        (m(72), r1, K::Write),
                        (m(79), 0, K::Read),
                    ],
                );
                self.acts(
                    d2,
                    t,
                    &[
                        (m(33), 0, K::Read),
                        (m(37), r1, K::Read),
                        (m(48), r1, K::Write),
                        (m(57), 0, K::Read),
                        (m(62), r1, K::Write),
                        (m(69), 0, K::Read),
                        (m(85), 0, K::Read),
                    ],
                );
                let arns: Vec<String> = [s, d1, d2]
                    .iter()
                    .map(|&x| self.sessions[x].principal_arn.clone())
                    .collect();
                let ticket = self.approve(&arns[0], t - 1800, t + 4 * 3600);
                for arn in &arns[1..] {
                    self.approve_same(&ticket, arn, t - 1800, t + 4 * 3600);
                }
            }
            V::ApprovalClosed => {
                let a = self.wd.mgmt;
                let role = format!("BreakGlassDBA{sfx}");
                let s =
                    self.role_session(v, Self::CALLERS[(k + 2) % 3], a, &role, t, 3600, true, NONE);
                self.acts(
                    s,
                    t,
                    &[
                        (m(2), 0, K::Read),
                        (m(6), r1, K::Write),
                        (m(11), 0, K::Read),
                        (m(17), r1, K::Read),
                        (m(22), 0, K::Write),
                    ],
                );
                self.acts(
                    s,
                    t,
                    &[
                        (m(31), 0, K::Read),
                        (m(36), r1, K::Write),
                        (m(44), 0, K::Denied),
                        (m(52), 0, K::Read),
                    ],
                );
                let arn = self.sessions[s].principal_arn.clone();
                self.approve(&arn, t - 1800, t + m(25));
            }
        }
    }

    fn idc_sign_in(&mut self, user: &str, t: i64, cred: &str, ip: &str) {
        let mut g = Rng::at(self.wd.seed, &[0x1D5, super::rng::hash_str(user), t as u64]);
        idc_signin(self.wd, t, user, cred, ip, &mut g, &mut self.sc);
        let v: serde_json::Value = serde_json::from_str(&self.sc.rec.s).expect("own JSON");
        let ev = v["eventID"].as_str().unwrap_or_default().to_string();
        let mgmt = self.wd.mgmt;
        self.events.push(PEvent {
            t,
            a: mgmt,
            r: 0,
            json: self.sc.rec.s.clone(),
            event_id: ev,
            dup: false,
            delayed: false,
        });
    }

    /// `AWSRevokeOlderSessions` on `role` of account `a`, by the incident-response automation.
    fn revoke(&mut self, a: usize, role: &str, t: i64) {
        let acct = self.acct(a);
        let irole = "incident-response-automation";
        let key = self.temp_key();
        let mut w = W::new();
        identity_role(
            &mut w,
            &RoleSession {
                account: &acct,
                role_name: irole,
                role_path: "service-role/",
                role_id: &self.wd.role_id(a, irole),
                session_name: "revoke-breakglass-sessions",
                access_key: &key,
                created: t - 95,
                mfa: false,
                source_identity: None,
                invoked_by: None,
                ec2_delivery: false,
            },
        );
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{}"}}}}}}]}}"#,
            time::iso_ms(t)
        );
        let c = self.put_role_policy(role, "AWSRevokeOlderSessions", &doc);
        self.emit(
            &w.s,
            a,
            0,
            t,
            "54.210.17.4",
            UA_BOTO_AUTOMATION,
            false,
            &c,
            NONE,
        );
        self.revocations
            .push((format!("arn:aws:iam::{acct}:role/{role}"), t));
    }

    /// An administrator (not break-glass) resets a break-glass user's password.
    fn rotate_user(&mut self, a: usize, user: &str, t: i64) {
        let ident = self.oncall_ident("dana");
        let c =
            Call::new("iam.amazonaws.com", "UpdateLoginProfile", Some(false)).params(object(|w| {
                w.str("userName", user);
                w.bool("passwordResetRequired", false);
            }));
        let ip = Self::oncall_ip("dana");
        self.emit(&ident, a, 0, t, &ip, UA_CLI_OPS, false, &c, NONE);
        let acct = self.acct(a);
        self.rotations
            .push((format!("arn:aws:iam::{acct}:user/{user}"), t));
    }

    fn root_password_updated(&mut self, a: usize, t: i64) {
        let acct = self.acct(a);
        let mut w = W::new();
        identity_root(&mut w, &acct, Some(""), None, false);
        let mut c = Call::new("signin.amazonaws.com", "PasswordUpdated", Some(false));
        c.event_type = "AwsConsoleSignIn";
        c.resp = r#"{"PasswordUpdated":"Success"}"#.into();
        c.tls_host = Some("signin.aws.amazon.com".into());
        self.emit(&w.s, a, 0, t, "203.0.113.99", UA_BROWSER, false, &c, NONE);
        self.rotations
            .push((format!("arn:aws:iam::{acct}:root"), t));
    }

    /// A denied `AssumeRole` of break-glass role `role` in account `a` by the on-call user dana
    /// (same account as the role: one record). Returns its event id.
    fn denied_assume(&mut self, a: usize, role: &str, t: i64) -> String {
        let acct = self.acct(a);
        let role_arn = format!("arn:aws:iam::{acct}:role/{role}");
        let mut c = Call::new("sts.amazonaws.com", "AssumeRole", Some(true));
        c.params = object(|w| {
            w.str("roleArn", &role_arn);
            w.str("roleSessionName", "dana");
            w.num("durationSeconds", 3600);
        });
        c.error = Some((
            "AccessDenied",
            format!(
                "User: arn:aws:iam::{acct}:user/dana is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ),
        ));
        let ident = self.oncall_ident("dana");
        let ip = Self::oncall_ip("dana");
        self.emit(&ident, a, 0, t, &ip, UA_CLI_BG, false, &c, NONE)
    }

    /// Once per cycle: events that are findings without being break-glass sessions.
    fn rules_only(&mut self, k: usize, t: i64) {
        let sfx = suffix(k);
        let mgmt = self.wd.mgmt;
        let macct = self.acct(mgmt);
        // BG009: failed sign-ins and a denied assumption of a break-glass role.
        let bad_user = format!("breakglass-foxtrot{sfx}");
        let ev = self.bg_console_login(mgmt, Some(&bad_user), t, false, false, false, NONE);
        self.extra.push(("BG009", ev));
        let ev = self.bg_console_login(mgmt, None, t + 300, false, false, false, NONE);
        self.extra.push(("BG009", ev));
        let ev = self.denied_assume(mgmt, &format!("BreakGlassAdmin{sfx}"), t + 600);
        self.extra.push(("BG009", ev));
        let ident = self.oncall_ident("dana");
        let ip = Self::oncall_ip("dana");
        // BG010 outside any session: an admin deletes a break-glass user's virtual MFA device.
        let echo = format!("breakglass-echo{sfx}");
        let c = Call::new("iam.amazonaws.com", "DeleteVirtualMFADevice", Some(false)).params(
            object(|w| w.str("serialNumber", &format!("arn:aws:iam::{macct}:mfa/{echo}"))),
        );
        let ev = self.emit(&ident, mgmt, 0, t + 900, &ip, UA_CLI_OPS, false, &c, NONE);
        self.extra.push(("BG010", ev));
        // BG014: a person who is not break-glass signs in to production and assumes a role there.
        let prod = self.wd.prod;
        let pacct = self.acct(prod);
        let tl = t + 1800;
        let mut g = Rng::at(self.wd.seed, &[0xB14, k as u64]);
        console_login(self.wd, prod, "alice", tl, true, true, &mut g, &mut self.sc);
        let v: serde_json::Value = serde_json::from_str(&self.sc.rec.s).expect("own JSON");
        let ev = v["eventID"].as_str().unwrap_or_default().to_string();
        self.events.push(PEvent {
            t: tl,
            a: prod,
            r: 0,
            json: self.sc.rec.s.clone(),
            event_id: ev.clone(),
            dup: false,
            delayed: false,
        });
        self.extra.push(("BG014", ev));
        let ckey = self.temp_key();
        let mut w = W::new();
        identity_user(
            &mut w,
            &pacct,
            "alice",
            &self.wd.user_id(prod, "alice"),
            Some(&ckey),
            Some((tl, true)),
        );
        let alice_console = w.s;
        let r1 = self.r1();
        for (i, r) in [(1, 0), (2, r1)] {
            let c = self.call(
                K::Read,
                prod,
                r,
                &format!("arn:aws:iam::{pacct}:user/alice"),
            );
            self.emit(
                &alice_console,
                prod,
                r,
                tl + i * 60,
                "198.51.100.10",
                UA_BROWSER,
                true,
                &c,
                NONE,
            );
        }
        let key = self.temp_key();
        let tok = self.token();
        let admin_arn = format!("arn:aws:iam::{pacct}:role/Admin");
        let admin_id = self.wd.role_id(prod, "Admin");
        let ta = tl + 200;
        let mut c = Call::new("sts.amazonaws.com", "AssumeRole", Some(true));
        c.params = object(|w| {
            w.str("roleArn", &admin_arn);
            w.str("roleSessionName", "alice");
        });
        c.resp = object(|w| {
            w.obj("credentials");
            w.str("accessKeyId", &key);
            w.str("sessionToken", &tok);
            w.str("expiration", &time::us_date(ta + 3600, true));
            w.end();
            w.obj("assumedRoleUser");
            w.str("assumedRoleId", &format!("{admin_id}:alice"));
            w.str(
                "arn",
                &format!("arn:aws:sts::{pacct}:assumed-role/Admin/alice"),
            );
            w.end();
        });
        c.resources = Some(format!(
            r#"[{{"accountId":"{pacct}","type":"AWS::IAM::Role","ARN":"{admin_arn}"}}]"#
        ));
        let ev = self.emit(
            &alice_console,
            prod,
            0,
            ta,
            "198.51.100.10",
            UA_BROWSER,
            true,
            &c,
            NONE,
        );
        self.extra.push(("BG014", ev));
        let mut w = W::new();
        identity_role(
            &mut w,
            &RoleSession {
                account: &pacct,
                role_name: "Admin",
                role_path: "",
                role_id: &admin_id,
                session_name: "alice",
                access_key: &key,
                created: ta,
                mfa: true,
                source_identity: None,
                invoked_by: None,
                ec2_delivery: false,
            },
        );
        for (i, r) in [(2, r1), (5, 0)] {
            let c = self.call(
                K::Read,
                prod,
                r,
                &format!("arn:aws:sts::{pacct}:assumed-role/Admin/alice"),
            );
            self.emit(
                &w.s,
                prod,
                r,
                ta + i * 60,
                "198.51.100.10",
                UA_BROWSER,
                true,
                &c,
                NONE,
            );
        }
    }
}

/// (variant or `None` for the per-cycle rule events, cycle, start time), in time order.
fn schedule(wd: &World, n: usize) -> Vec<(Option<V>, usize, i64)> {
    if n == 0 {
        return Vec::new();
    }
    let cycles = n.div_ceil(VARIANTS.len());
    let mut items: Vec<(Option<V>, usize)> = Vec::new();
    for i in 0..n {
        items.push((Some(VARIANTS[i % VARIANTS.len()]), i / VARIANTS.len()));
    }
    for k in 0..cycles {
        items.push((None, k));
    }
    let (t0, t_end) = (wd.t0, wd.t_end);
    let bounds = |place: Place, pre: i64, post: i64| -> (i64, i64) {
        let any = (t0 + pre + 1800, t_end - post - 900);
        match place {
            Place::Early => {
                let b = (
                    t0 + pre + 1800,
                    t_end - ROTATE_WITHIN - 4 * 3600 - post.min(3 * 3600),
                );
                if b.1 > b.0 {
                    b
                } else {
                    // No room for a decidable rotation: start late enough that BG006 stays pending.
                    (t0.max(t_end - ROTATE_WITHIN) + pre + 600, any.1)
                }
            }
            Place::Late => {
                let b = ((t0 + pre + 1800).max(t_end - ROTATE_WITHIN + 600), any.1);
                if b.1 > b.0 { b } else { any }
            }
            _ => any,
        }
    };
    // Group by placement, spread each group evenly over its range.
    let mut groups: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
    for (i, (v, _)) in items.iter().enumerate() {
        let p = match v {
            Some(v) => v.place(),
            None => Place::Any,
        };
        let key = match p {
            Place::Early => 0,
            Place::Late => 1,
            Place::Any => 2,
            Place::Start => 3,
        };
        groups.entry(key).or_default().push(i);
    }
    let mut out: Vec<(Option<V>, usize, i64)> = Vec::new();
    let mut g = Rng::at(wd.seed, &[0x5C4ED]);
    for (key, idxs) in groups {
        let cnt = idxs.len() as i64;
        for (pos, &i) in idxs.iter().enumerate() {
            let (v, k) = items[i];
            let (pre, post) = v.map_or((0, 3600), V::span);
            let t = if key == 3 {
                t0 - 1200 - 420 * (k as i64 % 4)
            } else {
                let place = v.map_or(Place::Any, V::place);
                let (lo, hi) = bounds(place, pre, post);
                let (lo, hi) = if hi > lo {
                    (lo, hi)
                } else {
                    (t0 + pre, (t0 + pre + 1).max(hi))
                };
                let step = (hi - lo) / cnt.max(1);
                let jitter = if step > 10 {
                    g.range(-step / 5, step / 5)
                } else {
                    0
                };
                let base = lo + step * pos as i64 + step / 2 + jitter;
                // Whole minutes plus an odd second: never on a boundary of another planted time.
                base - base.rem_euclid(60) + 7
            };
            out.push((v, k, t));
        }
    }
    out.sort_by_key(|x| x.2);
    out
}

// ---------------------------------------------------------------------- anomalies

/// The anomaly story of `trailglass generate --anomalies`: a routine break-glass role used the
/// same way every day, then a last day (the report window) with one instance of each anomaly kind
/// of `queries/anomalies/` (`planted`), or only the routine (`steady`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Anomalies {
    Planted,
    Steady,
}

/// The routine role and its habit: every day at 10:00, 30 minutes, 6 actions of which 3 writes,
/// in the first region, from the on-call user's address and CLI.
const ROUTINE_ROLE: &str = "BreakGlassOps";
const ROUTINE: Habit = Habit {
    at: 10 * 3600,
    minutes: 30,
    actions: 6,
    writes: 3,
};

/// One session's shape: start (seconds after midnight UTC), length, actions, writes.
#[derive(Clone, Copy)]
struct Habit {
    at: i64,
    minutes: i64,
    actions: usize,
    writes: usize,
}

/// How a planted session departs from the routine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Twist {
    /// Nothing: the routine session of the window's day.
    None,
    /// The routine role in an account that never had a break-glass session.
    NewAccount,
    /// Actions from another region, network and user agent.
    NewOrigin,
    /// The approval closes a quarter of an hour into the session.
    ApprovalCut,
    /// Several failed assumptions of the routine role (no session).
    FailedAttempts(usize),
}

/// The window's day, as data: (anomaly ids it must raise, shape, twist). Times are whole minutes
/// plus 7 s like every planted time.
/// The window's day, as data: (anomaly ids it must raise, shape, twist). The routine role's
/// sessions all start in its usual hour and their approvals (each session's own, from a minute
/// before it to a minute after its last action) never cover the uses of the `ApprovalCut`
/// session after its cut. Times are whole minutes plus 7 s like every planted time.
const WINDOW_DAY: [(&[&str], Habit, Twist); 7] = [
    (
        &[],
        Habit {
            at: 10 * 3600 + 3000,
            ..ROUTINE
        },
        Twist::None,
    ),
    (
        &["AN001", "AN002"],
        Habit {
            at: 14 * 3600,
            minutes: 20,
            actions: 4,
            writes: 1,
        },
        Twist::NewAccount,
    ),
    (
        &["AN003"],
        Habit {
            at: 3 * 3600,
            ..ROUTINE
        },
        Twist::None,
    ),
    (
        &["AN004"],
        Habit {
            at: 10 * 3600 + 2700,
            minutes: 240,
            actions: 30,
            writes: 20,
        },
        Twist::None,
    ),
    (
        &["AN005", "AN006", "AN007"],
        Habit {
            at: 10 * 3600 + 2100,
            minutes: 10,
            actions: 3,
            writes: 1,
        },
        Twist::NewOrigin,
    ),
    (&["AN008"], ROUTINE, Twist::ApprovalCut),
    (
        &["AN009"],
        Habit {
            at: 16 * 3600,
            ..ROUTINE
        },
        Twist::FailedAttempts(5),
    ),
];

const ORIGIN_IP: &str = "203.0.113.50";
const ORIGIN_UA: &str = "curl/8.5.0";

impl Planter<'_> {
    /// The days of history `plant_anomalies` needs before the window's day: AN003's hour of the
    /// week must have been seen on every weekday, and AN009 needs 7 earlier 24-hour periods.
    pub const ANOMALY_DAYS: u32 = 9;

    /// The report window of the anomaly story: the last generated day.
    pub fn anomaly_window(&self) -> (i64, i64) {
        (self.wd.t_end - 86_400, self.wd.t_end)
    }

    /// Plant the anomaly story (see [`Anomalies`]); the planted anomalies go to `anomalies`.
    pub fn plant_anomalies(&mut self, what: Anomalies) {
        let (home, elsewhere) = (self.wd.members()[0], self.wd.mgmt);
        let (day0, window) = (self.wd.t0, self.anomaly_window().0);
        let mut d = day0;
        while d < window {
            self.anomaly_session(home, d, ROUTINE, Twist::None);
            d += 86_400;
        }
        for (rules, shape, twist) in WINDOW_DAY {
            if what == Anomalies::Steady && !rules.is_empty() {
                continue;
            }
            let (s, first) = match twist {
                Twist::FailedAttempts(n) => {
                    let t = window + shape.at + 7;
                    let first = self.denied_assume(home, ROUTINE_ROLE, t);
                    self.extra.push(("BG009", first.clone()));
                    for i in 1..n as i64 {
                        let ev = self.denied_assume(home, ROUTINE_ROLE, t + 60 * i);
                        self.extra.push(("BG009", ev));
                    }
                    (None, Some(first))
                }
                Twist::NewAccount => (
                    Some(self.anomaly_session(elsewhere, window, shape, twist)),
                    None,
                ),
                _ => {
                    let s = self.anomaly_session(home, window, shape, twist);
                    let first = (twist == Twist::ApprovalCut).then(|| {
                        let cut = self.sessions[s].start + 900;
                        self.sessions[s]
                            .acts
                            .iter()
                            .find(|a| a.t > cut)
                            .map(|a| a.event_id.clone())
                    });
                    (Some(s), first.flatten())
                }
            };
            for rule in rules {
                let (session_id, eventid) = match s {
                    Some(s) => {
                        let ss = &self.sessions[s];
                        let id = session_id(self.wd.acct(ss.acct), ss.kind, &ss.key, ss.start);
                        (
                            Some(id),
                            first.clone().or_else(|| ss.entry_event_id.clone()),
                        )
                    }
                    None => (None, first.clone()),
                };
                self.anomalies.push(FindingTruth {
                    rule_id: (*rule).to_string(),
                    session_id,
                    eventid,
                });
            }
        }
        self.anomalies.sort();
    }

    /// A role session of the routine role in account `a` on the day starting at `day`, shaped
    /// `shape`, with an approval covering it (cut short for [`Twist::ApprovalCut`]).
    fn anomaly_session(&mut self, a: usize, day: i64, shape: Habit, twist: Twist) -> usize {
        let t = day + shape.at + 7;
        let s = self.role_session(V::RoleMfa, "dana", a, ROUTINE_ROLE, t, 43_200, true, NONE);
        self.sessions[s].variant = if day + 86_400 > self.anomaly_window().0 {
            "anomaly_window"
        } else {
            "anomaly_routine"
        };
        let mut region = 0;
        if twist == Twist::NewOrigin {
            self.sessions[s].ip = ORIGIN_IP.to_string();
            self.sessions[s].ua = ORIGIN_UA;
            region = self.wd.regions.len() - 1;
        }
        let n = shape.actions.max(1) as i64;
        let plan: Vec<(i64, usize, K)> = (0..n)
            .map(|i| {
                let off = 60 + (shape.minutes * 60 - 60) * i / (n - 1).max(1);
                let k = if (i as usize) < shape.writes {
                    K::Write
                } else {
                    K::Read
                };
                (off, region, k)
            })
            .collect();
        self.acts(s, t, &plan);
        let end = self.end_of(s);
        let until = if twist == Twist::ApprovalCut {
            t + 900
        } else {
            end + 60
        };
        let arn = self.sessions[s].principal_arn.clone();
        self.approve(&arn, t - 60, until);
        s
    }
}

// ---------------------------------------------------------------------- truth

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SessionTruth {
    pub session_id: String,
    pub kind: String,
    pub variant: String,
    pub account: String,
    pub principal_arn: String,
    pub actor: String,
    pub access_key_id: String,
    pub start: String,
    pub end: String,
    pub ttl_deadline: String,
    pub events: u64,
    pub writes: u64,
    pub errors: u64,
    pub after_ttl: u64,
    pub without_mfa: u64,
    pub mfa_at_entry: bool,
    pub approval: Option<String>,
    pub parent_session_id: Option<String>,
    pub depth: u32,
    pub entry_event_id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindingTruth {
    pub rule_id: String,
    pub session_id: Option<String>,
    pub eventid: Option<String>,
}

pub fn is_write(name: &str, read_only: Option<bool>) -> bool {
    match read_only {
        Some(ro) => !ro,
        None => !["Get", "List", "Describe", "Head", "Lookup"]
            .iter()
            .any(|p| name.starts_with(p)),
    }
}

pub const PERSISTENCE: &[&str] = &[
    "CreateAccessKey",
    "UpdateAccessKey",
    "CreateUser",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "AddUserToGroup",
];
pub const TAMPERING: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "PutInsightSelectors",
    "DeleteEventDataStore",
    "UpdateEventDataStore",
    "StopEventDataStoreIngestion",
];
pub const RESOURCE_ACCESS: &[&str] = &[
    "StartSession",
    "SendSSHPublicKey",
    "SendSerialConsoleSSHPublicKey",
    "ExecuteCommand",
];

impl Planter<'_> {
    fn approval_of(&self, s: usize) -> Option<&Approval> {
        let ss = &self.sessions[s];
        self.approvals
            .iter()
            .filter(|a| {
                a.principal.eq_ignore_ascii_case(&ss.principal_arn)
                    && a.not_before <= ss.start
                    && ss.start <= a.not_after
            })
            .max_by_key(|a| a.not_before)
    }

    /// The approval that counts for `s`: a chained session inherits its root session's.
    pub fn effective_approval(&self, s: usize) -> Option<&Approval> {
        self.approval_of(self.sessions[s].root)
    }

    /// Sanity: for chained sessions the own-principal reading gives the same ticket.
    pub fn chained_approvals_agree(&self) -> bool {
        (0..self.sessions.len()).all(|s| {
            self.approval_of(s).map(|a| &a.ticket) == self.effective_approval(s).map(|a| &a.ticket)
        })
    }

    /// The answer key's sessions, rule counts and findings.
    pub fn truth(&self) -> (Vec<SessionTruth>, BTreeMap<String, u64>, Vec<FindingTruth>) {
        let wd = self.wd;
        let ids: Vec<String> = self
            .sessions
            .iter()
            .map(|s| session_id(wd.acct(s.acct), s.kind, &s.key, s.start))
            .collect();
        let mut findings: Vec<FindingTruth> = Vec::new();
        let mut f = |rule: &str, sid: Option<&String>, ev: Option<&String>| {
            findings.push(FindingTruth {
                rule_id: rule.into(),
                session_id: sid.cloned(),
                eventid: ev.cloned(),
            });
        };
        let mut out = Vec::new();
        for (i, s) in self.sessions.iter().enumerate() {
            let root = &self.sessions[s.root];
            let deadline = root.start + TTL;
            let sid = &ids[i];
            let mfa_state = match s.kind {
                Kind::Chained => Some(root.mfa_at_entry),
                Kind::IdentityCenter => Some(s.mfa_at_entry),
                _ => None,
            };
            let approval = self.effective_approval(i);
            let end = s.acts.iter().map(|a| a.t).max().unwrap_or(s.start);
            let (mut writes, mut errors, mut after, mut nomfa) = (0, 0, 0, 0);
            f("BG001", Some(sid), None);
            for a in &s.acts {
                let ev = Some(&a.event_id);
                if is_write(a.name, a.read_only) {
                    writes += 1;
                }
                if a.error {
                    errors += 1;
                }
                if a.t > deadline {
                    after += 1;
                    f("BG002", Some(sid), ev);
                }
                let without = match mfa_state {
                    Some(m) => !m,
                    None => !a.mfa_true,
                };
                if without {
                    nomfa += 1;
                    f("BG003", Some(sid), ev);
                }
                if PERSISTENCE.contains(&a.name) {
                    f("BG007", Some(sid), ev);
                }
                if TAMPERING.contains(&a.name) {
                    f("BG008", Some(sid), ev);
                }
                if a.mfa_target
                    .as_deref()
                    .is_some_and(|u| u.contains(":user/breakglass"))
                {
                    f("BG010", Some(sid), ev);
                }
                if RESOURCE_ACCESS.contains(&a.name) {
                    f("BG011", Some(sid), ev);
                }
                if s.key.starts_with("AKIA") {
                    f("BG012", Some(sid), ev);
                }
                let revoked = matches!(s.kind, Kind::Role | Kind::IdentityCenter | Kind::Chained)
                    && self.revocations.iter().any(|(arn, tr)| {
                        arn.eq_ignore_ascii_case(&s.principal_arn) && s.start < *tr && a.t > *tr
                    });
                let rotated_away = matches!(s.kind, Kind::User | Kind::Root)
                    && self.rotations.iter().any(|(arn, tr)| {
                        arn.eq_ignore_ascii_case(&s.principal_arn) && s.start < *tr && a.t > *tr
                    });
                let closed = approval.is_some_and(|ap| a.t > ap.not_after);
                if revoked || rotated_away || closed {
                    f("BG013", Some(sid), ev);
                }
            }
            if s.console_entry && !s.mfa_at_entry && matches!(s.kind, Kind::User | Kind::Root) {
                f("BG004", Some(sid), s.entry_event_id.as_ref());
            }
            if approval.is_none() {
                f("BG005", Some(sid), None);
            }
            if s.console_entry
                && matches!(s.kind, Kind::User | Kind::Root)
                && end + ROTATE_WITHIN <= wd.t_end
            {
                let rotated = self.rotations.iter().any(|(arn, tr)| {
                    arn.eq_ignore_ascii_case(&s.principal_arn)
                        && *tr > end
                        && *tr <= end + ROTATE_WITHIN
                });
                if !rotated {
                    f("BG006", Some(sid), None);
                }
            }
            out.push(SessionTruth {
                session_id: sid.clone(),
                kind: s.kind.as_str().into(),
                variant: s.variant.into(),
                account: wd.acct(s.acct).into(),
                principal_arn: s.principal_arn.clone(),
                actor: s.actor.clone(),
                access_key_id: s.key.clone(),
                start: time::iso_us(s.start),
                end: time::iso_us(end),
                ttl_deadline: time::iso_us(deadline),
                events: s.acts.len() as u64,
                writes,
                errors,
                after_ttl: after,
                without_mfa: nomfa,
                mfa_at_entry: match s.kind {
                    Kind::Chained => root.mfa_at_entry,
                    _ => s.mfa_at_entry,
                },
                approval: approval.map(|a| a.ticket.clone()),
                parent_session_id: s.parent.map(|p| ids[p].clone()),
                depth: s.depth,
                entry_event_id: s.entry_event_id.clone(),
            });
        }
        for (rule, ev) in &self.extra {
            f(rule, None, Some(ev));
        }
        let mut rules: BTreeMap<String, u64> = (1..=14).map(|i| (format!("BG{i:03}"), 0)).collect();
        for x in &findings {
            *rules.entry(x.rule_id.clone()).or_default() += 1;
        }
        out.sort_by(|a, b| (&a.start, &a.session_id).cmp(&(&b.start, &b.session_id)));
        findings.sort();
        (out, rules, findings)
    }

    /// `approvals.csv` text.
    pub fn approvals_csv(&self) -> String {
        let mut s = String::from("ticket,principal,not_before,not_after,approver\n");
        let mut rows = self.approvals.clone();
        rows.sort_by(|a, b| {
            (a.not_before, &a.ticket, &a.principal).cmp(&(b.not_before, &b.ticket, &b.principal))
        });
        for a in rows {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                a.ticket,
                a.principal,
                time::iso(a.not_before),
                time::iso(a.not_after),
                a.approver
            );
        }
        s
    }
}
