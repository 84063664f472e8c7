//! Background noise: the everyday activity of an organization, none of it break-glass.
//!
//! Every event is a pure function of (seed, account, region, window, index), so a file can
//! regenerate any event of another file (duplicate and late deliveries) without shared state.
//! Invariants the answer key relies on (see the decisions in `mod.rs`):
//! - no root identity, no `breakglass*` user, no `BreakGlass*` / `AWSReservedSSO_BreakGlass*` role;
//! - no human sign-in or `AssumeRole*` by a person in the production account;
//! - no CloudTrail writes, MFA-device changes, password/login-profile changes, IAM persistence
//!   writes, SSM sessions, EC2 Instance Connect or ECS Exec.

use std::fmt::Write as _;

use super::json::W;
use super::record::{Rec, RoleSession, Tls, identity_aws_account, identity_role, identity_saml};
use super::record::{identity_service, identity_unknown, identity_user, write_rec};
use super::rng::{Rng, hash_str};
use super::time;
use super::world::World;

pub const TAG_EVENT: u64 = 0xE7;
const TAG_SVC: u64 = 0x5C;
const TAG_HUMAN: u64 = 0x4A;
const TAG_EXTRA: u64 = 0xEE;

const SVC_BLOCK: i64 = 6 * 3600;
const HUMAN_BLOCK: i64 = 2 * 3600;

pub const FUNCS: [&str; 6] = [
    "orders-api",
    "payments-webhook",
    "image-resizer",
    "report-builder",
    "audit-forwarder",
    "session-cleanup",
];
pub const TABLES: [&str; 4] = ["orders", "customers", "carts", "inventory"];
const PARAMS: [&str; 5] = [
    "/app/orders/db-host",
    "/app/orders/feature-flags",
    "/app/payments/api-endpoint",
    "/shared/vpc-id",
    "/app/reports/bucket",
];
const SECRETS: [&str; 3] = [
    "prod/orders/db",
    "prod/payments/stripe",
    "shared/datadog-api-key",
];

const UA_LAMBDA: &str = "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-218.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.34";
const UA_SSM: &str = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.1611.0";
const UA_ECS: &str = "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 lang/js md/nodejs#20.11.1 api/s3#3.540.0";
const UA_TF: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64";
const UA_METRICS: &str = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/cloudwatch#1.36.1";
const UA_CLI: &str =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off";
const UA_CLI_MAC: &str = "aws-cli/2.13.25 Python/3.11.5 Darwin/23.3.0 exe/x86_64 prompt/off";
pub const UA_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

/// One file slot: an account/region stream and a delivery window.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub a: usize,
    pub r: usize,
    pub w: u32,
    pub start: i64,
    pub end: i64,
    /// Number of indexed background events born in this window.
    pub n: u32,
}

/// Reusable buffers for one writer thread.
pub struct Scratch {
    pub rec: W,
    pub(super) id: W,
    pub(super) p: W,
    pub(super) resp: W,
    pub(super) add: W,
    pub(super) res: W,
    pub(super) err: String,
    pub(super) ev: String,
    pub(super) req: String,
    pub(super) shared: String,
    pub(super) tmp: String,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            rec: W::new(),
            id: W::new(),
            p: W::new(),
            resp: W::new(),
            add: W::new(),
            res: W::new(),
            err: String::new(),
            ev: String::new(),
            req: String::new(),
            shared: String::new(),
            tmp: String::new(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Actor {
    Lambda,
    Ec2,
    Config,
    Ecs,
    Terraform,
    Metrics,
    TrailService,
    Alice,
    Carol,
    Bob,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Api {
    Ec2DescribeInstances,
    Ec2DescribeSecurityGroups,
    Ec2DescribeVolumes,
    Ec2DescribeSubnets,
    Ec2DescribeVpcs,
    Ec2DescribeTags,
    Ec2DescribeNetworkInterfaces,
    Ec2DescribeImages,
    Ec2CreateTags,
    Ec2StopInstances,
    Ec2StartInstances,
    Ec2RunInstances,
    Ec2CreateNetworkInterface,
    S3ListBuckets,
    S3GetBucketAcl,
    S3GetBucketEncryption,
    S3GetBucketVersioning,
    S3GetBucketPolicy,
    S3GetBucketLocation,
    S3GetBucketTagging,
    S3GetObject,
    S3PutObject,
    S3HeadObject,
    S3ListObjects,
    S3TrailPut,
    S3TrailAcl,
    IamListRoles,
    IamGetRole,
    IamListAttachedRolePolicies,
    IamListRolePolicies,
    IamGetPolicy,
    IamGetPolicyVersion,
    IamListUsers,
    IamGetAccountSummary,
    StsGetCallerIdentity,
    KmsDecrypt,
    KmsGenerateDataKey,
    KmsDescribeKey,
    KmsGetKeyRotationStatus,
    LambdaGetFunction,
    LambdaListFunctions,
    LambdaListVersions,
    LambdaUpdateCode,
    LambdaUpdateConfig,
    CwGetMetricData,
    CwListMetrics,
    CwDescribeAlarms,
    CwPutMetricAlarm,
    LogsCreateLogStream,
    LogsDescribeLogGroups,
    LogsDescribeLogStreams,
    LogsFilterLogEvents,
    DdbDescribeTable,
    DdbListTables,
    DdbDescribeBackups,
    DdbGetItem,
    DdbPutItem,
    DdbQuery,
    DdbUpdateItem,
    SsmGetParameter,
    SsmGetParametersByPath,
    SsmUpdateInstanceInformation,
    SsmListInstanceAssociations,
    Ec2MessagesGetMessages,
    ConfigPutEvaluations,
    EcrGetAuthorizationToken,
    SecretsGetSecretValue,
    EcsDescribeServices,
    EcsListTasks,
    ElbDescribeTargetHealth,
    AsgDescribeGroups,
    CtDescribeTrails,
    CtGetTrailStatus,
    CtLookupEvents,
    OrgListAccounts,
}

use Api::*;

const LAMBDA_APIS: &[(Api, u32)] = &[
    (LogsCreateLogStream, 10),
    (DdbGetItem, 14),
    (DdbPutItem, 8),
    (DdbQuery, 10),
    (DdbUpdateItem, 4),
    (S3GetObject, 10),
    (S3PutObject, 6),
    (KmsDecrypt, 8),
    (KmsGenerateDataKey, 4),
    (SecretsGetSecretValue, 6),
    (SsmGetParameter, 6),
    (SsmGetParametersByPath, 2),
    (StsGetCallerIdentity, 2),
    (Ec2CreateNetworkInterface, 1),
    (Ec2DescribeNetworkInterfaces, 2),
];
const EC2_APIS: &[(Api, u32)] = &[
    (SsmUpdateInstanceInformation, 14),
    (Ec2MessagesGetMessages, 20),
    (SsmListInstanceAssociations, 6),
    (S3GetObject, 8),
    (S3HeadObject, 3),
    (Ec2DescribeTags, 4),
    (KmsDecrypt, 3),
    (StsGetCallerIdentity, 2),
    (SecretsGetSecretValue, 2),
    (LogsDescribeLogStreams, 2),
];
const CONFIG_APIS: &[(Api, u32)] = &[
    (Ec2DescribeInstances, 5),
    (Ec2DescribeSecurityGroups, 5),
    (Ec2DescribeVolumes, 4),
    (Ec2DescribeSubnets, 3),
    (Ec2DescribeVpcs, 3),
    (Ec2DescribeNetworkInterfaces, 3),
    (S3GetBucketAcl, 3),
    (S3GetBucketEncryption, 3),
    (S3GetBucketVersioning, 3),
    (S3GetBucketPolicy, 2),
    (LambdaGetFunction, 3),
    (LambdaListFunctions, 1),
    (DdbDescribeTable, 3),
    (KmsDescribeKey, 2),
    (KmsGetKeyRotationStatus, 2),
    (ConfigPutEvaluations, 6),
    (IamGetRole, 3),
    (IamListAttachedRolePolicies, 3),
    (IamListRolePolicies, 2),
    (IamGetPolicy, 2),
];
const ECS_APIS: &[(Api, u32)] = &[
    (S3GetObject, 8),
    (S3PutObject, 5),
    (DdbQuery, 6),
    (DdbGetItem, 6),
    (KmsGenerateDataKey, 4),
    (KmsDecrypt, 4),
    (SecretsGetSecretValue, 4),
    (EcrGetAuthorizationToken, 3),
    (StsGetCallerIdentity, 1),
];
const TF_APIS: &[(Api, u32)] = &[
    (Ec2DescribeInstances, 4),
    (Ec2DescribeSecurityGroups, 4),
    (Ec2DescribeSubnets, 3),
    (Ec2DescribeVpcs, 3),
    (Ec2DescribeImages, 2),
    (IamGetRole, 3),
    (IamListRolePolicies, 2),
    (IamListAttachedRolePolicies, 2),
    (IamGetPolicy, 2),
    (IamGetPolicyVersion, 2),
    (S3GetBucketAcl, 2),
    (S3GetBucketVersioning, 2),
    (S3GetBucketTagging, 2),
    (S3GetBucketPolicy, 2),
    (S3GetBucketLocation, 2),
    (S3GetBucketEncryption, 2),
    (LambdaGetFunction, 3),
    (LambdaListVersions, 2),
    (DdbDescribeTable, 2),
    (DdbDescribeBackups, 1),
    (KmsDescribeKey, 2),
    (LogsDescribeLogGroups, 2),
    (StsGetCallerIdentity, 3),
    (Ec2CreateTags, 1),
    (LambdaUpdateCode, 1),
    (LambdaUpdateConfig, 1),
    (CwPutMetricAlarm, 1),
];
const METRICS_APIS: &[(Api, u32)] = &[
    (CwGetMetricData, 12),
    (CwListMetrics, 4),
    (CwDescribeAlarms, 4),
    (Ec2DescribeInstances, 3),
    (AsgDescribeGroups, 2),
    (ElbDescribeTargetHealth, 2),
    (EcsDescribeServices, 2),
    (EcsListTasks, 1),
];
const TRAIL_APIS: &[(Api, u32)] = &[(S3TrailPut, 6), (S3TrailAcl, 4)];
const ADMIN_APIS: &[(Api, u32)] = &[
    (Ec2DescribeInstances, 6),
    (Ec2DescribeSecurityGroups, 3),
    (Ec2StopInstances, 1),
    (Ec2StartInstances, 1),
    (Ec2CreateTags, 1),
    (Ec2RunInstances, 1),
    (S3ListBuckets, 3),
    (S3ListObjects, 2),
    (S3GetObject, 1),
    (IamListRoles, 2),
    (IamGetRole, 1),
    (IamListUsers, 1),
    (IamGetAccountSummary, 1),
    (CtLookupEvents, 2),
    (CtDescribeTrails, 1),
    (CtGetTrailStatus, 1),
    (LogsFilterLogEvents, 2),
    (LogsDescribeLogGroups, 2),
    (LambdaListFunctions, 2),
    (LambdaGetFunction, 1),
    (DdbListTables, 1),
    (DdbDescribeTable, 1),
    (OrgListAccounts, 1),
    (CwDescribeAlarms, 1),
    (EcsListTasks, 1),
    (EcsDescribeServices, 1),
];
const BOB_APIS: &[(Api, u32)] = &[
    (S3ListObjects, 3),
    (S3GetObject, 2),
    (S3PutObject, 1),
    (DdbListTables, 2),
    (DdbQuery, 1),
    (Ec2DescribeInstances, 2),
    (StsGetCallerIdentity, 2),
    (LambdaListFunctions, 1),
    (LogsFilterLogEvents, 1),
];

fn pick_api(rng: &mut Rng, table: &[(Api, u32)]) -> Api {
    let total: u32 = table.iter().map(|x| x.1).sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for (api, wgt) in table {
        if x < *wgt {
            return *api;
        }
        x -= wgt;
    }
    table[0].0
}

/// A background role session (service or human).
struct Sess {
    role: String,
    path: &'static str,
    role_id: String,
    name: String,
    key: String,
    created: i64,
    mfa: bool,
    invoked_by: Option<&'static str>,
    ec2: bool,
    ip: String,
    ua: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Svc {
    Lambda,
    Ec2,
    Config,
    Ecs,
}

fn svc_kinds(r: usize) -> &'static [Svc] {
    if r < 2 {
        &[Svc::Lambda, Svc::Ec2, Svc::Config, Svc::Ecs]
    } else {
        &[Svc::Lambda, Svc::Ec2, Svc::Config]
    }
}

/// Creation time of a service session's credentials, and the stream to derive the rest from.
fn svc_created(wd: &World, a: usize, r: usize, svc: Svc, block: i64) -> (i64, Rng) {
    let mut g = Rng::at(
        wd.seed,
        &[TAG_SVC, a as u64, r as u64, svc as u64, block as u64],
    );
    (wd.t0 + block * SVC_BLOCK - 60 - g.range(0, 540), g)
}

fn svc_session(wd: &World, a: usize, r: usize, svc: Svc, block: i64) -> Sess {
    let (created, mut g) = svc_created(wd, a, r, svc, block);
    let key = super::record::aws_id("ASIA", &mut g, 16);
    let ip = format!(
        "{}.{}.{}.{}",
        [3, 18, 34, 52, 54][g.idx(5)],
        g.range(1, 254),
        g.range(1, 254),
        g.range(1, 254)
    );
    match svc {
        Svc::Lambda => {
            let f = FUNCS[g.idx(FUNCS.len())];
            let role = format!("{f}-role");
            Sess {
                role_id: wd.role_id(a, &role),
                role,
                path: "service-role/",
                name: f.to_string(),
                key,
                created,
                mfa: false,
                invoked_by: None,
                ec2: false,
                ip,
                ua: UA_LAMBDA,
            }
        }
        Svc::Ec2 => {
            let role = "anycompany-app-instance-role".to_string();
            Sess {
                role_id: wd.role_id(a, &role),
                role,
                path: "",
                name: instance(wd, a, r, g.below(6)),
                key,
                created,
                mfa: false,
                invoked_by: None,
                ec2: true,
                ip,
                ua: UA_SSM,
            }
        }
        Svc::Config => {
            let role = "AWSServiceRoleForConfig".to_string();
            Sess {
                role_id: wd.role_id(a, &role),
                role,
                path: "aws-service-role/config.amazonaws.com/",
                name: "AWSConfig-Describe".to_string(),
                key,
                created,
                mfa: false,
                invoked_by: Some("config.amazonaws.com"),
                ec2: false,
                ip: "config.amazonaws.com".to_string(),
                ua: "config.amazonaws.com",
            }
        }
        Svc::Ecs => {
            let role = "anycompany-ecs-task-role".to_string();
            Sess {
                role_id: wd.role_id(a, &role),
                role,
                path: "",
                name: g.hex(32),
                key,
                created,
                mfa: false,
                invoked_by: None,
                ec2: false,
                ip,
                ua: UA_ECS,
            }
        }
    }
}

fn svc_principal(svc: Svc) -> &'static str {
    match svc {
        Svc::Lambda => "lambda.amazonaws.com",
        Svc::Ec2 => "ec2.amazonaws.com",
        Svc::Config => "config.amazonaws.com",
        Svc::Ecs => "ecs-tasks.amazonaws.com",
    }
}

/// Is `t` inside a human working block (08–18 UTC), and which block.
fn human_block(wd: &World, t: i64) -> Option<i64> {
    let b = (t - wd.t0).div_euclid(HUMAN_BLOCK);
    let hour = (b * 2).rem_euclid(24);
    if (8..18).contains(&hour) {
        Some(b)
    } else {
        None
    }
}

/// Alice (IAM user in management) assumes `Admin` in `a` during `block`, with MFA.
/// When (and whether) person `who` (1 Alice, 2 Carol) starts a session in `a` during `block`.
fn human_created(wd: &World, who: u64, a: usize, block: i64) -> Option<(i64, Rng)> {
    if a == wd.prod && wd.accounts.len() > 1 {
        return None;
    }
    let mut g = Rng::at(wd.seed, &[TAG_HUMAN, who, a as u64, block as u64]);
    if !g.chance(if who == 1 { 0.55 } else { 0.45 }) {
        return None;
    }
    let off = if who == 1 {
        g.range(60, 300)
    } else {
        g.range(400, 900)
    };
    Some((wd.t0 + block * HUMAN_BLOCK + off, g))
}

fn alice_session(wd: &World, a: usize, block: i64) -> Option<Sess> {
    let (created, mut g) = human_created(wd, 1, a, block)?;
    Some(Sess {
        role: "Admin".to_string(),
        path: "",
        role_id: wd.role_id(a, "Admin"),
        name: "alice".to_string(),
        key: super::record::aws_id("ASIA", &mut g, 16),
        created,
        mfa: true,
        invoked_by: None,
        ec2: false,
        ip: format!("198.51.100.{}", 10 + (block.rem_euclid(7))),
        ua: UA_CLI,
    })
}

/// Carol signs in to Identity Center and uses the ReadOnly permission set in `a`.
fn carol_session(wd: &World, a: usize, block: i64) -> Option<Sess> {
    let (created, mut g) = human_created(wd, 2, a, block)?;
    let role = wd.sso_role(a, "ReadOnlyAccess");
    Some(Sess {
        role_id: wd.role_id(a, &role),
        role,
        path: World::SSO_PATH,
        name: "carol.smith".to_string(),
        key: super::record::aws_id("ASIA", &mut g, 16),
        created,
        mfa: false,
        invoked_by: None,
        ec2: false,
        ip: format!("203.0.113.{}", 40 + (block.rem_euclid(5))),
        ua: UA_BROWSER,
    })
}

fn instance(wd: &World, a: usize, r: usize, i: u64) -> String {
    wd.res_id("i", a, r, i)
}

fn token(rng: &mut Rng, out: &mut String) {
    out.push_str("IQoJb3JpZ2luX2VjE");
    rng.push_b64(out, 283);
}

fn version_for(source: &str) -> &'static str {
    match hash_str(source) % 4 {
        0 => "1.08",
        1 => "1.09",
        2 => "1.10",
        _ => "1.11",
    }
}

fn host(source: &str, region: &str, out: &mut String) {
    out.clear();
    let prefix = source.trim_end_matches(".amazonaws.com");
    match prefix {
        "iam" | "organizations" => {
            out.push_str(source);
        }
        _ => {
            let _ = write!(out, "{prefix}.{region}.amazonaws.com");
        }
    }
}

/// Write background event `j` of `slot` into `sc.rec` (cleared first).
pub fn own_event(
    wd: &World,
    slot: &Slot,
    win: i64,
    j: u32,
    delayed: bool,
    sc: &mut Scratch,
) -> i64 {
    let mut g = Rng::at(
        wd.seed,
        &[
            TAG_EVENT,
            slot.a as u64,
            slot.r as u64,
            u64::from(slot.w),
            u64::from(j),
        ],
    );
    let n = i64::from(slot.n.max(1));
    let span = (slot.end - slot.start).max(1).min(win);
    let t = slot.start + (i64::from(j) * span + g.range(0, span - 1)) / n;
    let a = slot.a;
    let r = slot.r;
    // No draw at all when the share is 0, so such trails stay byte-identical to older ones.
    if wd.assume_share > 0.0 && g.chance(wd.assume_share) {
        super::sts::assume_event(wd, a, r, t, delayed, &mut g, sc);
        return t;
    }
    let prod = a == wd.prod && wd.accounts.len() > 1;
    let hb = human_block(wd, t);
    let weights = [
        22,
        20,
        12,
        if r < 2 { 8 } else { 0 },
        if prod { 0 } else { 8 },
        8,
        if a == wd.mgmt { 3 } else { 0 },
        if hb.is_some() && !prod { 22 } else { 0 },
    ];
    let mut actor = match g.weighted(&weights) {
        0 => Actor::Lambda,
        1 => Actor::Ec2,
        2 => Actor::Config,
        3 => Actor::Ecs,
        4 => Actor::Terraform,
        5 => Actor::Metrics,
        6 => Actor::TrailService,
        _ => match g.weighted(&[45, 35, 20]) {
            0 => Actor::Alice,
            1 => Actor::Carol,
            _ => Actor::Bob,
        },
    };
    let mut human: Option<Sess> = None;
    if let (Some(b), Actor::Alice | Actor::Carol) = (hb, actor) {
        let s = if actor == Actor::Alice {
            alice_session(wd, a, b)
        } else {
            carol_session(wd, a, b)
        };
        match s {
            Some(s) if t >= s.created + 20 => human = Some(s),
            _ => actor = Actor::Bob,
        }
    }
    let region = wd.regions[r];
    let acct = wd.acct(a).to_string();

    // --- identity
    sc.id.clear();
    let (ip, ua): (String, &str);
    let mut invoked: Option<&str> = None;
    let mut vpce = false;
    let table: &[(Api, u32)];
    let principal_arn: String;
    match actor {
        Actor::Lambda | Actor::Ec2 | Actor::Config | Actor::Ecs => {
            let svc = match actor {
                Actor::Lambda => Svc::Lambda,
                Actor::Ec2 => Svc::Ec2,
                Actor::Config => Svc::Config,
                _ => Svc::Ecs,
            };
            let block = (t - wd.t0).div_euclid(SVC_BLOCK);
            let s = svc_session(wd, a, r, svc, block);
            identity_role(
                &mut sc.id,
                &RoleSession {
                    account: &acct,
                    role_name: &s.role,
                    role_path: s.path,
                    role_id: &s.role_id,
                    session_name: &s.name,
                    access_key: &s.key,
                    created: s.created,
                    mfa: false,
                    source_identity: None,
                    invoked_by: s.invoked_by,
                    ec2_delivery: s.ec2,
                },
            );
            invoked = s.invoked_by;
            principal_arn = format!("arn:aws:sts::{acct}:assumed-role/{}/{}", s.role, s.name);
            vpce = actor == Actor::Ec2 && g.chance(0.4);
            ip = if vpce {
                format!("10.0.{}.{}", g.range(0, 15), g.range(4, 250))
            } else {
                s.ip
            };
            ua = s.ua;
            table = match actor {
                Actor::Lambda => LAMBDA_APIS,
                Actor::Ec2 => EC2_APIS,
                Actor::Config => CONFIG_APIS,
                _ => ECS_APIS,
            };
        }
        Actor::Alice | Actor::Carol => {
            let s = human.expect("human session");
            identity_role(
                &mut sc.id,
                &RoleSession {
                    account: &acct,
                    role_name: &s.role,
                    role_path: s.path,
                    role_id: &s.role_id,
                    session_name: &s.name,
                    access_key: &s.key,
                    created: s.created,
                    mfa: s.mfa,
                    source_identity: if actor == Actor::Alice {
                        Some("alice")
                    } else {
                        None
                    },
                    invoked_by: None,
                    ec2_delivery: false,
                },
            );
            principal_arn = format!("arn:aws:sts::{acct}:assumed-role/{}/{}", s.role, s.name);
            ip = s.ip;
            ua = s.ua;
            table = ADMIN_APIS;
        }
        Actor::Terraform | Actor::Metrics | Actor::Bob => {
            let user = match actor {
                Actor::Terraform => "terraform-ci",
                Actor::Metrics => "metrics-exporter",
                _ => "bob",
            };
            identity_user(
                &mut sc.id,
                &acct,
                user,
                &wd.user_id(a, user),
                Some(&wd.user_key(a, user)),
                None,
            );
            principal_arn = format!("arn:aws:iam::{acct}:user/{user}");
            let (i, u, tb): (String, &str, &[(Api, u32)]) = match actor {
                Actor::Terraform => (
                    format!("3.91.{}.{}", a % 200, 10 + g.range(0, 3)),
                    UA_TF,
                    TF_APIS,
                ),
                Actor::Metrics => (format!("52.4.{}.{}", a % 200, 77), UA_METRICS, METRICS_APIS),
                _ => (format!("192.0.2.{}", 20 + (a % 30)), UA_CLI_MAC, BOB_APIS),
            };
            ip = i;
            ua = u;
            table = tb;
        }
        Actor::TrailService => {
            identity_service(&mut sc.id, "cloudtrail.amazonaws.com");
            principal_arn = String::new();
            ip = "cloudtrail.amazonaws.com".to_string();
            ua = "cloudtrail.amazonaws.com";
            invoked = Some("cloudtrail.amazonaws.com");
            table = TRAIL_APIS;
        }
    }
    let mut api = pick_api(&mut g, table);
    // Global services are called in us-east-1 only.
    if r != 0
        && matches!(
            api,
            IamListRoles
                | IamGetRole
                | IamListAttachedRolePolicies
                | IamListRolePolicies
                | IamGetPolicy
                | IamGetPolicyVersion
                | IamListUsers
                | IamGetAccountSummary
                | OrgListAccounts
                | S3ListBuckets
        )
    {
        api = Ec2DescribeInstances;
    }

    // --- body
    sc.p.clear();
    sc.resp.clear();
    sc.add.clear();
    sc.res.clear();
    sc.ev.clear();
    g.push_uuid(&mut sc.ev);
    sc.req.clear();
    let body = body(wd, a, r, t, api, &mut g, sc);
    if sc.req.is_empty() {
        g.push_uuid(&mut sc.req);
    }

    // --- errors
    sc.err.clear();
    let mut error: Option<(&str, &str)> = None;
    let p_err = match actor {
        Actor::Metrics => 0.06,
        Actor::Carol if !body.read_only => 1.0,
        Actor::Alice | Actor::Carol | Actor::Bob | Actor::Terraform => 0.02,
        Actor::TrailService => 0.0,
        _ => 0.004,
    };
    let org_denied = api == OrgListAccounts && a != wd.mgmt;
    if org_denied || g.chance(p_err) {
        let action = format!(
            "{}:{}",
            body.source.trim_end_matches(".amazonaws.com"),
            body.iam_action
        );
        let code: &'static str = if actor == Actor::Metrics && !org_denied {
            let _ = write!(sc.err, "Rate exceeded");
            "ThrottlingException"
        } else if body.source == "ec2.amazonaws.com" {
            let _ = write!(
                sc.err,
                "You are not authorized to perform this operation. User: {principal_arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
            );
            "Client.UnauthorizedOperation"
        } else {
            let _ = write!(
                sc.err,
                "User: {principal_arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
            );
            if body.source == "kms.amazonaws.com"
                || body.source == "dynamodb.amazonaws.com"
                || body.source == "lambda.amazonaws.com"
            {
                "AccessDeniedException"
            } else {
                "AccessDenied"
            }
        };
        error = Some((code, sc.err.as_str()));
    }

    host(body.source, region, &mut sc.tmp);
    let shared = body.shared;
    if shared {
        sc.shared.clear();
        g.push_uuid(&mut sc.shared);
    }
    let vpce_id = if vpce {
        Some(wd.res_id("vpce", a, r, 1))
    } else {
        None
    };
    let rec = Rec {
        version: version_for(body.source),
        identity: Some(&sc.id.s),
        time: t,
        source: body.source,
        name: body.name,
        region,
        ip: &ip,
        ua: Some(ua),
        error,
        params: if body.params { &sc.p.s } else { "null" },
        response: if body.response && error.is_none() {
            &sc.resp.s
        } else {
            "null"
        },
        additional: if body.additional {
            Some(&sc.add.s)
        } else {
            None
        },
        request_id: Some(&sc.req),
        event_id: &sc.ev,
        read_only: Some(body.read_only),
        resources: if body.resources {
            Some(&sc.res.s)
        } else {
            None
        },
        event_type: "AwsApiCall",
        api_version: body.api_version,
        management: !body.data,
        recipient: &acct,
        shared_event_id: if shared { Some(&sc.shared) } else { None },
        vpce: vpce_id.as_deref().map(|v| (v, acct.as_str())),
        category: if body.data { "Data" } else { "Management" },
        service_details: None,
        addendum_delay: delayed,
        tls: if invoked.is_some() {
            None
        } else {
            Some(Tls {
                v13: !matches!(actor, Actor::Ec2),
                host: &sc.tmp,
            })
        },
        console: actor == Actor::Carol,
    };
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
    t
}

struct Body {
    source: &'static str,
    name: &'static str,
    iam_action: &'static str,
    read_only: bool,
    data: bool,
    params: bool,
    response: bool,
    additional: bool,
    resources: bool,
    api_version: Option<&'static str>,
    shared: bool,
}

impl Body {
    fn new(source: &'static str, name: &'static str, read_only: bool) -> Self {
        Body {
            source,
            name,
            iam_action: name,
            read_only,
            data: false,
            params: true,
            response: false,
            additional: false,
            resources: false,
            api_version: None,
            shared: false,
        }
    }
}

fn s3_additional(w: &mut W, g: &mut Rng, bytes_in: i64, bytes_out: i64) {
    w.begin();
    w.str("SignatureVersion", "SigV4");
    w.str("CipherSuite", "TLS_AES_128_GCM_SHA256");
    w.num("bytesTransferredIn", bytes_in);
    w.str("AuthenticationMethod", "AuthHeader");
    w.str_with("x-amz-id-2", |s| g.push_b64(s, 76));
    w.num("bytesTransferredOut", bytes_out);
    w.end();
}

fn res1(w: &mut W, acct: &str, ty: &str, arn: &str) {
    w.open_arr();
    w.begin();
    w.str("accountId", acct);
    w.str("type", ty);
    w.str("ARN", arn);
    w.end();
    w.end_arr();
}

fn ec2_filter(w: &mut W, set: &str, name: &str, value: &str) {
    w.obj(set);
    w.end();
    w.obj("filterSet");
    w.arr("items");
    w.begin();
    w.str("name", name);
    w.obj("valueSet");
    w.arr("items");
    w.begin();
    w.str("value", value);
    w.end();
    w.end_arr();
    w.end();
    w.end();
    w.end_arr();
    w.end();
}

fn instance_state_change(w: &mut W, req: &str, id: &str, cur: (i64, &str), prev: (i64, &str)) {
    w.begin();
    w.str("requestId", req);
    w.obj("instancesSet");
    w.arr("items");
    w.begin();
    w.str("instanceId", id);
    w.obj("currentState");
    w.num("code", cur.0);
    w.str("name", cur.1);
    w.end();
    w.obj("previousState");
    w.num("code", prev.0);
    w.str("name", prev.1);
    w.end();
    w.end();
    w.end_arr();
    w.end();
    w.end();
}

fn lambda_config(w: &mut W, wd: &World, a: usize, region: &str, f: &str, t: i64, g: &mut Rng) {
    let acct = wd.acct(a);
    w.begin();
    w.str("functionName", f);
    w.str(
        "functionArn",
        &format!("arn:aws:lambda:{region}:{acct}:function:{f}"),
    );
    w.str("runtime", "python3.11");
    w.str(
        "role",
        &format!("arn:aws:iam::{acct}:role/service-role/{f}-role"),
    );
    w.str("handler", "app.handler");
    w.num("codeSize", 18_000 + g.range(0, 90_000));
    w.str("description", "");
    w.num("timeout", 30);
    w.num("memorySize", 512);
    let p = time::parts(t);
    w.str(
        "lastModified",
        &format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000+0000",
            p.y, p.mo, p.d, p.h, p.mi, p.s
        ),
    );
    w.str_with("codeSha256", |s| g.push_b64(s, 43));
    w.str("version", "$LATEST");
    w.obj("tracingConfig");
    w.str("mode", "PassThrough");
    w.end();
    w.str_with("revisionId", |s| g.push_uuid(s));
    w.str("state", "Active");
    w.str("lastUpdateStatus", "InProgress");
    w.str("lastUpdateStatusReason", "The function is being created.");
    w.str("lastUpdateStatusReasonCode", "Creating");
    w.str("packageType", "Zip");
    w.arr("architectures");
    w.item("x86_64");
    w.end_arr();
    w.obj("ephemeralStorage");
    w.num("size", 512);
    w.end();
    w.obj("snapStart");
    w.str("applyOn", "None");
    w.str("optimizationStatus", "Off");
    w.end();
    w.obj("loggingConfig");
    w.str("logFormat", "Text");
    w.str("logGroup", &format!("/aws/lambda/{f}"));
    w.end();
    w.end();
}

#[allow(clippy::too_many_lines)]
/// Where a background call happens: the world, account, region, time, and the bucket drawn for it.
#[derive(Clone, Copy)]
struct At<'a> {
    wd: &'a World,
    a: usize,
    r: usize,
    t: i64,
    bucket: &'a String,
}

fn body(wd: &World, a: usize, r: usize, t: i64, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    // Drawn for every call, before the call's own draws: the output stays byte-identical.
    let bucket = &wd.accounts[a].buckets[g.idx(4)];
    let at = At {
        wd,
        a,
        r,
        t,
        bucket,
    };
    match api {
        Ec2DescribeInstances
        | Ec2DescribeSecurityGroups
        | Ec2DescribeVolumes
        | Ec2DescribeSubnets
        | Ec2DescribeVpcs
        | Ec2DescribeTags
        | Ec2DescribeNetworkInterfaces
        | Ec2DescribeImages => ec2_describe(&at, api, g, sc),
        Ec2CreateTags
        | Ec2StopInstances
        | Ec2StartInstances
        | Ec2RunInstances
        | Ec2CreateNetworkInterface => ec2_change(&at, api, g, sc),
        S3ListBuckets
        | S3GetObject
        | S3PutObject
        | S3HeadObject
        | S3TrailPut
        | S3GetBucketAcl
        | S3GetBucketEncryption
        | S3GetBucketVersioning
        | S3GetBucketPolicy
        | S3GetBucketLocation
        | S3GetBucketTagging
        | S3TrailAcl
        | S3ListObjects => s3(&at, api, g, sc),
        IamListRoles
        | IamListUsers
        | IamGetAccountSummary
        | IamGetRole
        | IamListAttachedRolePolicies
        | IamListRolePolicies
        | IamGetPolicy
        | IamGetPolicyVersion
        | StsGetCallerIdentity
        | KmsDecrypt
        | KmsGenerateDataKey
        | KmsDescribeKey
        | KmsGetKeyRotationStatus => iam_sts_kms(&at, api, g, sc),
        LambdaGetFunction
        | LambdaListVersions
        | LambdaListFunctions
        | LambdaUpdateCode
        | LambdaUpdateConfig
        | CwGetMetricData
        | CwListMetrics
        | CwDescribeAlarms
        | CwPutMetricAlarm
        | LogsCreateLogStream
        | LogsDescribeLogGroups
        | LogsDescribeLogStreams
        | LogsFilterLogEvents => lambda_monitoring(&at, api, g, sc),
        DdbDescribeTable
        | DdbDescribeBackups
        | DdbListTables
        | DdbGetItem
        | DdbPutItem
        | DdbQuery
        | DdbUpdateItem
        | SsmGetParameter
        | SsmGetParametersByPath
        | SsmUpdateInstanceInformation
        | SsmListInstanceAssociations
        | Ec2MessagesGetMessages => ddb_ssm(&at, api, g, sc),
        ConfigPutEvaluations
        | EcrGetAuthorizationToken
        | SecretsGetSecretValue
        | EcsDescribeServices
        | EcsListTasks
        | ElbDescribeTargetHealth
        | AsgDescribeGroups
        | CtDescribeTrails
        | CtGetTrailStatus
        | CtLookupEvents
        | OrgListAccounts => other(&at, api, g, sc),
    }
}

/// The request and response of an EC2 read.
fn ec2_describe(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, .. } = *at;
    let p = &mut sc.p;
    match api {
        Ec2DescribeInstances => {
            let mut b = Body::new("ec2.amazonaws.com", "DescribeInstances", true);
            p.begin();
            if g.chance(0.5) {
                ec2_filter(
                    p,
                    "instancesSet",
                    "tag:Environment",
                    if a == wd.prod { "prod" } else { "dev" },
                );
            } else {
                p.obj("instancesSet");
                p.arr("items");
                p.begin();
                p.str("instanceId", &instance(wd, a, r, g.below(6)));
                p.end();
                p.end_arr();
                p.end();
                p.obj("filterSet");
                p.end();
            }
            p.end();
            b.response = false;
            b
        }
        Ec2DescribeSecurityGroups => {
            p.begin();
            p.obj("securityGroupSet");
            p.end();
            p.obj("securityGroupIdSet");
            p.arr("items");
            p.begin();
            p.str("groupId", &wd.res_id("sg", a, r, g.below(5)));
            p.end();
            p.end_arr();
            p.end();
            p.obj("filterSet");
            p.end();
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeSecurityGroups", true)
        }
        Ec2DescribeVolumes => {
            p.begin();
            ec2_filter(
                p,
                "volumeSet",
                "attachment.instance-id",
                &instance(wd, a, r, g.below(6)),
            );
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeVolumes", true)
        }
        Ec2DescribeSubnets => {
            p.begin();
            ec2_filter(p, "subnetSet", "vpc-id", &wd.res_id("vpc", a, r, 0));
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeSubnets", true)
        }
        Ec2DescribeVpcs => {
            p.begin();
            p.obj("vpcSet");
            p.arr("items");
            p.begin();
            p.str("vpcId", &wd.res_id("vpc", a, r, 0));
            p.end();
            p.end_arr();
            p.end();
            p.obj("filterSet");
            p.end();
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeVpcs", true)
        }
        Ec2DescribeTags => {
            p.begin();
            p.obj("filterSet");
            p.arr("items");
            p.begin();
            p.str("name", "resource-id");
            p.obj("valueSet");
            p.arr("items");
            p.begin();
            p.str("value", &instance(wd, a, r, g.below(6)));
            p.end();
            p.end_arr();
            p.end();
            p.end();
            p.end_arr();
            p.end();
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeTags", true)
        }
        Ec2DescribeNetworkInterfaces => {
            p.begin();
            ec2_filter(
                p,
                "networkInterfaceIdSet",
                "subnet-id",
                &wd.res_id("subnet", a, r, g.below(3)),
            );
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeNetworkInterfaces", true)
        }
        Ec2DescribeImages => {
            p.begin();
            p.obj("executableBySet");
            p.end();
            p.obj("imagesSet");
            p.arr("items");
            p.begin();
            p.str("imageId", &wd.res_id("ami", a, r, g.below(3)));
            p.end();
            p.end_arr();
            p.end();
            p.obj("ownersSet");
            p.end();
            p.bool("includeDeprecated", false);
            p.obj("filterSet");
            p.end();
            p.end();
            Body::new("ec2.amazonaws.com", "DescribeImages", true)
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of an EC2 change.
fn ec2_change(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, t, .. } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let resp = &mut sc.resp;
    match api {
        Ec2CreateTags => {
            let mut b = Body::new("ec2.amazonaws.com", "CreateTags", false);
            p.begin();
            p.obj("resourcesSet");
            p.arr("items");
            p.begin();
            p.str("resourceId", &instance(wd, a, r, g.below(6)));
            p.end();
            p.end_arr();
            p.end();
            p.obj("tagSet");
            p.arr("items");
            p.begin();
            p.str(
                "key",
                g.pick_str(&["Owner", "CostCenter", "Service", "Patch-Group"]),
            );
            p.str(
                "value",
                g.pick_str(&["platform", "1234", "orders", "weekly"]),
            );
            p.end();
            p.end_arr();
            p.end();
            p.end();
            resp.begin();
            g.push_uuid(&mut sc.req);
            resp.str("requestId", &sc.req);
            resp.bool("_return", true);
            resp.end();
            b.response = true;
            b
        }
        Ec2StopInstances | Ec2StartInstances => {
            let stop = api == Ec2StopInstances;
            let mut b = Body::new(
                "ec2.amazonaws.com",
                if stop {
                    "StopInstances"
                } else {
                    "StartInstances"
                },
                false,
            );
            let id = instance(wd, a, r, g.below(6));
            p.begin();
            p.obj("instancesSet");
            p.arr("items");
            p.begin();
            p.str("instanceId", &id);
            p.end();
            p.end_arr();
            p.end();
            if stop {
                p.bool("force", false);
            }
            p.end();
            g.push_uuid(&mut sc.req);
            if stop {
                instance_state_change(resp, &sc.req, &id, (64, "stopping"), (16, "running"));
            } else {
                instance_state_change(resp, &sc.req, &id, (0, "pending"), (80, "stopped"));
            }
            b.response = true;
            b
        }
        Ec2RunInstances => {
            let mut b = Body::new("ec2.amazonaws.com", "RunInstances", false);
            let ami = wd.res_id("ami", a, r, 0);
            let subnet = wd.res_id("subnet", a, r, g.below(3));
            let sg = wd.res_id("sg", a, r, 0);
            let id = instance(wd, a, r, 100 + g.below(1000));
            let ip4 = format!("10.0.{}.{}", g.range(0, 15), g.range(4, 250));
            p.begin();
            p.obj("instancesSet");
            p.arr("items");
            p.begin();
            p.str("imageId", &ami);
            p.num("minCount", 1);
            p.num("maxCount", 1);
            p.end();
            p.end_arr();
            p.end();
            p.str("instanceType", "t3.medium");
            p.obj("blockDeviceMapping");
            p.end();
            p.bool("monitoring", false);
            p.str("subnetId", &subnet);
            p.bool("disableApiTermination", false);
            p.bool("clientToken", false);
            p.obj("iamInstanceProfile");
            p.str("name", "anycompany-app-instance-profile");
            p.end();
            p.obj("metadataOptions");
            p.str("httpTokens", "required");
            p.num("httpPutResponseHopLimit", 2);
            p.str("httpEndpoint", "enabled");
            p.end();
            p.end();
            g.push_uuid(&mut sc.req);
            resp.begin();
            resp.str("requestId", &sc.req);
            resp.str_with("reservationId", |s| {
                s.push_str("r-0");
                g.push_hex(s, 16);
            });
            resp.str("ownerId", acct);
            resp.obj("groupSet");
            resp.end();
            resp.obj("instancesSet");
            resp.arr("items");
            resp.begin();
            resp.str("instanceId", &id);
            resp.str("imageId", &ami);
            resp.obj("instanceState");
            resp.num("code", 0);
            resp.str("name", "pending");
            resp.end();
            resp.str(
                "privateDnsName",
                &format!("ip-{}.ec2.internal", ip4.replace('.', "-")),
            );
            resp.num("amiLaunchIndex", 0);
            resp.obj("productCodes");
            resp.end();
            resp.str("instanceType", "t3.medium");
            resp.num("launchTime", t * 1000);
            resp.obj("placement");
            resp.str("availabilityZone", &format!("{region}a"));
            resp.str("tenancy", "default");
            resp.end();
            resp.obj("monitoring");
            resp.str("state", "disabled");
            resp.end();
            resp.str("subnetId", &subnet);
            resp.str("vpcId", &wd.res_id("vpc", a, r, 0));
            resp.str("privateIpAddress", &ip4);
            resp.obj("stateReason");
            resp.str("code", "pending");
            resp.str("message", "pending");
            resp.end();
            resp.str("architecture", "x86_64");
            resp.str("rootDeviceType", "ebs");
            resp.str("rootDeviceName", "/dev/xvda");
            resp.obj("blockDeviceMapping");
            resp.end();
            resp.str("virtualizationType", "hvm");
            resp.str_with("clientToken", |s| g.push_uuid(s));
            resp.obj("groupSet");
            resp.arr("items");
            resp.begin();
            resp.str("groupId", &sg);
            resp.str("groupName", "app-default");
            resp.end();
            resp.end_arr();
            resp.end();
            resp.bool("sourceDestCheck", true);
            resp.str("hypervisor", "xen");
            resp.obj("networkInterfaceSet");
            resp.arr("items");
            resp.begin();
            resp.str("networkInterfaceId", &wd.res_id("eni", a, r, g.below(1000)));
            resp.str("subnetId", &subnet);
            resp.str("vpcId", &wd.res_id("vpc", a, r, 0));
            resp.str("ownerId", acct);
            resp.str("status", "in-use");
            resp.str_with("macAddress", |s| {
                for i in 0..6 {
                    if i > 0 {
                        s.push(':');
                    }
                    g.push_hex(s, 2);
                }
            });
            resp.str("privateIpAddress", &ip4);
            resp.bool("sourceDestCheck", true);
            resp.str("interfaceType", "interface");
            resp.end();
            resp.end_arr();
            resp.end();
            resp.obj("iamInstanceProfile");
            resp.str(
                "arn",
                &format!("arn:aws:iam::{acct}:instance-profile/anycompany-app-instance-profile"),
            );
            resp.str(
                "id",
                &wd.stable_id("AIPA", "anycompany-app-instance-profile", a, 17),
            );
            resp.end();
            resp.bool("ebsOptimized", false);
            resp.obj("enaSupport");
            resp.end();
            resp.obj("cpuOptions");
            resp.num("coreCount", 1);
            resp.num("threadsPerCore", 2);
            resp.end();
            resp.obj("capacityReservationSpecification");
            resp.str("capacityReservationPreference", "open");
            resp.end();
            resp.obj("enclaveOptions");
            resp.bool("enabled", false);
            resp.end();
            resp.obj("metadataOptions");
            resp.str("state", "pending");
            resp.str("httpTokens", "required");
            resp.num("httpPutResponseHopLimit", 2);
            resp.str("httpEndpoint", "enabled");
            resp.str("httpProtocolIpv4", "enabled");
            resp.str("httpProtocolIpv6", "disabled");
            resp.str("instanceMetadataTags", "disabled");
            resp.end();
            resp.obj("privateDnsNameOptions");
            resp.str("hostnameType", "ip-name");
            resp.bool("enableResourceNameDnsARecord", false);
            resp.bool("enableResourceNameDnsAAAARecord", false);
            resp.end();
            resp.end();
            resp.end_arr();
            resp.end();
            resp.str("requesterId", "940372691376");
            resp.end();
            b.response = true;
            b
        }
        Ec2CreateNetworkInterface => {
            let mut b = Body::new("ec2.amazonaws.com", "CreateNetworkInterface", false);
            let subnet = wd.res_id("subnet", a, r, g.below(3));
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("subnetId", &subnet);
            p.str_with("description", |s| {
                s.push_str("AWS Lambda VPC ENI-");
                s.push_str(f);
                s.push('-');
                g.push_uuid(s);
            });
            p.obj("groupSet");
            p.arr("items");
            p.begin();
            p.str("groupId", &wd.res_id("sg", a, r, 1));
            p.end();
            p.end_arr();
            p.end();
            p.obj("privateIpAddressesSet");
            p.end();
            p.end();
            g.push_uuid(&mut sc.req);
            resp.begin();
            resp.str("requestId", &sc.req);
            resp.obj("networkInterface");
            resp.str("networkInterfaceId", &wd.res_id("eni", a, r, g.below(1000)));
            resp.str("subnetId", &subnet);
            resp.str("vpcId", &wd.res_id("vpc", a, r, 0));
            resp.str("availabilityZone", &format!("{region}b"));
            resp.str("ownerId", acct);
            resp.str("requesterId", "AROAJ7HUDPQZMF3XNPQJA:lambda-eni");
            resp.bool("requesterManaged", true);
            resp.str("status", "pending");
            resp.str(
                "privateIpAddress",
                &format!("10.0.{}.{}", g.range(16, 31), g.range(4, 250)),
            );
            resp.bool("sourceDestCheck", true);
            resp.str("interfaceType", "lambda");
            resp.end();
            resp.end();
            b.response = true;
            b
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of a S3 call.
fn s3(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At {
        wd,
        a,
        r,
        t,
        bucket,
    } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let resp = &mut sc.resp;
    let add = &mut sc.add;
    let res = &mut sc.res;
    match api {
        S3ListBuckets => {
            let mut b = Body::new("s3.amazonaws.com", "ListBuckets", true);
            p.begin();
            p.str("Host", "s3.amazonaws.com");
            p.end();
            let out_bytes = 4_000 + g.range(0, 2_000);
            s3_additional(add, g, 0, out_bytes);
            b.additional = true;
            b
        }
        S3GetBucketAcl
        | S3GetBucketEncryption
        | S3GetBucketVersioning
        | S3GetBucketPolicy
        | S3GetBucketLocation
        | S3GetBucketTagging
        | S3TrailAcl => {
            let (name, sub) = match api {
                S3GetBucketAcl | S3TrailAcl => ("GetBucketAcl", "acl"),
                S3GetBucketEncryption => ("GetBucketEncryption", "encryption"),
                S3GetBucketVersioning => ("GetBucketVersioning", "versioning"),
                S3GetBucketPolicy => ("GetBucketPolicy", "policy"),
                S3GetBucketLocation => ("GetBucketLocation", "location"),
                _ => ("GetBucketTagging", "tagging"),
            };
            let mut b = Body::new("s3.amazonaws.com", name, true);
            let bk: &str = if api == S3TrailAcl {
                &wd.bucket
            } else {
                bucket
            };
            p.begin();
            p.str("bucketName", bk);
            p.str("Host", &format!("{bk}.s3.amazonaws.com"));
            p.str(sub, "");
            p.end();
            let out_bytes = 300 + g.range(0, 600);
            s3_additional(add, g, 0, out_bytes);
            b.additional = true;
            res1(res, acct, "AWS::S3::Bucket", &format!("arn:aws:s3:::{bk}"));
            b.resources = true;
            if api == S3TrailAcl {
                b.shared = true;
            }
            b
        }
        S3GetObject | S3PutObject | S3HeadObject | S3TrailPut => {
            let (name, ro) = match api {
                S3GetObject => ("GetObject", true),
                S3HeadObject => ("HeadObject", true),
                _ => ("PutObject", false),
            };
            let mut b = Body::new("s3.amazonaws.com", name, ro);
            b.data = true;
            let (bk, key): (&str, String) = if api == S3TrailPut {
                let src = g.idx(wd.accounts.len());
                let p2 = time::parts(t);
                let mut k = format!(
                    "AWSLogs/{}/{}/CloudTrail/{region}/{:04}/{:02}/{:02}/{}_CloudTrail_{region}_{}_",
                    wd.org_id,
                    wd.acct(src),
                    p2.y,
                    p2.mo,
                    p2.d,
                    wd.acct(src),
                    time::stamp_min(t)
                );
                k.push_str(&g.alnum(16));
                k.push_str(".json.gz");
                (&wd.bucket, k)
            } else {
                let mut k = String::new();
                let _ = write!(
                    k,
                    "{}/{}/{}.json",
                    g.pick_str(&["orders", "exports", "uploads", "reports", "tmp"]),
                    time::date_path(t),
                    g.hex(12)
                );
                (bucket.as_str(), k)
            };
            p.begin();
            p.str("bucketName", bk);
            p.str("Host", &format!("{bk}.s3.{region}.amazonaws.com"));
            p.str("key", &key);
            if api == S3TrailPut {
                p.str("x-amz-acl", "bucket-owner-full-control");
                p.str("x-amz-server-side-encryption", "AES256");
            }
            p.end();
            if api != S3GetObject && api != S3HeadObject {
                resp.begin();
                resp.str("x-amz-server-side-encryption", "aws:kms");
                if api != S3TrailPut {
                    resp.str(
                        "x-amz-server-side-encryption-aws-kms-key-id",
                        &format!("arn:aws:kms:{region}:{acct}:key/{}", wd.kms_key(a, r, 0)),
                    );
                    resp.str("x-amz-server-side-encryption-bucket-key-enabled", "true");
                }
                resp.end();
                b.response = true;
            }
            let size = 200 + g.range(0, 60_000);
            if ro {
                s3_additional(add, g, 0, if api == S3HeadObject { 0 } else { size });
            } else {
                s3_additional(add, g, size, 0);
            }
            b.additional = true;
            res.open_arr();
            res.begin();
            res.str("type", "AWS::S3::Object");
            res.str("ARN", &format!("arn:aws:s3:::{bk}/{key}"));
            res.end();
            res.begin();
            res.str("accountId", acct);
            res.str("type", "AWS::S3::Bucket");
            res.str("ARN", &format!("arn:aws:s3:::{bk}"));
            res.end();
            res.end_arr();
            b.resources = true;
            if api == S3TrailPut {
                b.shared = true;
            }
            b
        }
        S3ListObjects => {
            let mut b = Body::new("s3.amazonaws.com", "ListObjects", true);
            b.data = true;
            p.begin();
            p.str("list-type", "2");
            p.str("bucketName", bucket);
            p.str("encoding-type", "url");
            p.str(
                "prefix",
                g.pick_str(&["orders/", "exports/", "reports/2026/", ""]),
            );
            p.str("delimiter", "/");
            p.str("Host", &format!("{bucket}.s3.{region}.amazonaws.com"));
            p.end();
            let out_bytes = 800 + g.range(0, 20_000);
            s3_additional(add, g, 0, out_bytes);
            b.additional = true;
            res1(
                res,
                acct,
                "AWS::S3::Bucket",
                &format!("arn:aws:s3:::{bucket}"),
            );
            b.resources = true;
            b.iam_action = "ListBucket";
            b
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of an IAM, STS and KMS call.
fn iam_sts_kms(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, .. } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let res = &mut sc.res;
    match api {
        IamListRoles | IamListUsers | IamGetAccountSummary => {
            let name = match api {
                IamListRoles => "ListRoles",
                IamListUsers => "ListUsers",
                _ => "GetAccountSummary",
            };
            let mut b = Body::new("iam.amazonaws.com", name, true);
            b.params = false;
            b
        }
        IamGetRole | IamListAttachedRolePolicies | IamListRolePolicies => {
            let name = match api {
                IamGetRole => "GetRole",
                IamListAttachedRolePolicies => "ListAttachedRolePolicies",
                _ => "ListRolePolicies",
            };
            p.begin();
            p.str(
                "roleName",
                g.pick_str(&[
                    "anycompany-app-instance-role",
                    "orders-api-role",
                    "anycompany-ecs-task-role",
                    "Admin",
                    "terraform-deployer",
                ]),
            );
            p.end();
            Body::new("iam.amazonaws.com", name, true)
        }
        IamGetPolicy | IamGetPolicyVersion => {
            p.begin();
            let arn = g.pick_str(&[
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            ]);
            p.str("policyArn", arn);
            if api == IamGetPolicyVersion {
                p.str("versionId", &format!("v{}", g.range(1, 9)));
            }
            p.end();
            Body::new(
                "iam.amazonaws.com",
                if api == IamGetPolicy {
                    "GetPolicy"
                } else {
                    "GetPolicyVersion"
                },
                true,
            )
        }
        StsGetCallerIdentity => {
            let mut b = Body::new("sts.amazonaws.com", "GetCallerIdentity", true);
            b.params = false;
            b
        }
        KmsDecrypt | KmsGenerateDataKey => {
            let key = wd.kms_key(a, r, g.below(2));
            let karn = format!("arn:aws:kms:{region}:{acct}:key/{key}");
            p.begin();
            if api == KmsGenerateDataKey {
                p.str("keyId", &karn);
                p.str("keySpec", "AES_256");
            } else {
                p.str("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
            }
            p.obj("encryptionContext");
            let f = FUNCS[g.idx(FUNCS.len())];
            p.str(
                "aws:lambda:FunctionArn",
                &format!("arn:aws:lambda:{region}:{acct}:function:{f}"),
            );
            p.end();
            p.end();
            res1(res, acct, "AWS::KMS::Key", &karn);
            let mut b = Body::new(
                "kms.amazonaws.com",
                if api == KmsDecrypt {
                    "Decrypt"
                } else {
                    "GenerateDataKey"
                },
                true,
            );
            b.resources = true;
            b
        }
        KmsDescribeKey | KmsGetKeyRotationStatus => {
            let key = wd.kms_key(a, r, g.below(2));
            let karn = format!("arn:aws:kms:{region}:{acct}:key/{key}");
            p.begin();
            p.str("keyId", &karn);
            p.end();
            res1(res, acct, "AWS::KMS::Key", &karn);
            let mut b = Body::new(
                "kms.amazonaws.com",
                if api == KmsDescribeKey {
                    "DescribeKey"
                } else {
                    "GetKeyRotationStatus"
                },
                true,
            );
            b.resources = true;
            b
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of a Lambda, CloudWatch and CloudWatch Logs call.
fn lambda_monitoring(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, t, .. } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let resp = &mut sc.resp;
    match api {
        LambdaGetFunction | LambdaListVersions => {
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("functionName", f);
            p.end();
            let mut b = Body::new(
                "lambda.amazonaws.com",
                if api == LambdaGetFunction {
                    "GetFunction20150331v2"
                } else {
                    "ListVersionsByFunction20150331"
                },
                true,
            );
            b.iam_action = if api == LambdaGetFunction {
                "GetFunction"
            } else {
                "ListVersionsByFunction"
            };
            b
        }
        LambdaListFunctions => {
            let mut b = Body::new("lambda.amazonaws.com", "ListFunctions20150331", true);
            b.params = false;
            b.iam_action = "ListFunctions";
            b
        }
        LambdaUpdateCode | LambdaUpdateConfig => {
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("functionName", f);
            if api == LambdaUpdateCode {
                p.bool("publish", false);
                p.str("s3Bucket", &wd.accounts[a].buckets[1]);
                p.str("s3Key", &format!("lambda/{f}/{}.zip", g.hex(40)));
                p.bool("dryRun", false);
            } else {
                p.num("timeout", 30);
                p.num("memorySize", 512);
            }
            p.end();
            lambda_config(resp, wd, a, region, f, t, g);
            let mut b = Body::new(
                "lambda.amazonaws.com",
                if api == LambdaUpdateCode {
                    "UpdateFunctionCode20150331v2"
                } else {
                    "UpdateFunctionConfiguration20150331v2"
                },
                false,
            );
            b.iam_action = if api == LambdaUpdateCode {
                "UpdateFunctionCode"
            } else {
                "UpdateFunctionConfiguration"
            };
            b.response = true;
            b
        }
        CwGetMetricData => {
            p.begin();
            p.arr("metricDataQueries");
            for i in 0..(1 + g.below(3)) {
                p.begin();
                p.str("id", &format!("m{i}"));
                p.obj("metricStat");
                p.obj("metric");
                p.str("namespace", "AWS/EC2");
                p.str(
                    "metricName",
                    g.pick_str(&[
                        "CPUUtilization",
                        "NetworkIn",
                        "NetworkOut",
                        "StatusCheckFailed",
                    ]),
                );
                p.arr("dimensions");
                p.begin();
                p.str("name", "InstanceId");
                p.str("value", &instance(wd, a, r, g.below(6)));
                p.end();
                p.end_arr();
                p.end();
                p.num("period", 300);
                p.str("stat", "Average");
                p.end();
                p.bool("returnData", true);
                p.end();
            }
            p.end_arr();
            p.str("startTime", &time::us_date(t - 3600, true));
            p.str("endTime", &time::us_date(t, true));
            p.end();
            Body::new("monitoring.amazonaws.com", "GetMetricData", true)
        }
        CwListMetrics => {
            p.begin();
            p.str(
                "namespace",
                g.pick_str(&[
                    "AWS/Lambda",
                    "AWS/EC2",
                    "AWS/DynamoDB",
                    "AWS/ApplicationELB",
                ]),
            );
            p.end();
            Body::new("monitoring.amazonaws.com", "ListMetrics", true)
        }
        CwDescribeAlarms => {
            p.begin();
            p.num("maxRecords", 100);
            p.arr("alarmTypes");
            p.item("CompositeAlarm");
            p.item("MetricAlarm");
            p.end_arr();
            p.end();
            Body::new("monitoring.amazonaws.com", "DescribeAlarms", true)
        }
        CwPutMetricAlarm => {
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("alarmName", &format!("{f}-errors"));
            p.bool("actionsEnabled", true);
            p.arr("alarmActions");
            p.item(&format!("arn:aws:sns:{region}:{acct}:ops-alerts"));
            p.end_arr();
            p.str("metricName", "Errors");
            p.str("namespace", "AWS/Lambda");
            p.str("statistic", "Sum");
            p.arr("dimensions");
            p.begin();
            p.str("name", "FunctionName");
            p.str("value", f);
            p.end();
            p.end_arr();
            p.num("period", 300);
            p.num("evaluationPeriods", 1);
            p.raw("threshold", "1.0");
            p.str("comparisonOperator", "GreaterThanOrEqualToThreshold");
            p.str("treatMissingData", "notBreaching");
            p.end();
            Body::new("monitoring.amazonaws.com", "PutMetricAlarm", false)
        }
        LogsCreateLogStream => {
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("logGroupName", &format!("/aws/lambda/{f}"));
            p.str_with("logStreamName", |s| {
                s.push_str(&time::date_path(t));
                s.push_str("/[$LATEST]");
                g.push_hex(s, 32);
            });
            p.end();
            Body::new("logs.amazonaws.com", "CreateLogStream", false)
        }
        LogsDescribeLogGroups => {
            p.begin();
            p.str(
                "logGroupNamePrefix",
                g.pick_str(&["/aws/lambda/", "/aws/ecs/", "/anycompany/"]),
            );
            p.end();
            Body::new("logs.amazonaws.com", "DescribeLogGroups", true)
        }
        LogsDescribeLogStreams | LogsFilterLogEvents => {
            let f = FUNCS[g.idx(FUNCS.len())];
            p.begin();
            p.str("logGroupName", &format!("/aws/lambda/{f}"));
            if api == LogsDescribeLogStreams {
                p.str("orderBy", "LastEventTime");
                p.bool("descending", true);
                p.num("limit", 5);
            } else {
                p.num("startTime", (t - 3600) * 1000);
                p.num("endTime", t * 1000);
                p.str(
                    "filterPattern",
                    g.pick_str(&["ERROR", "\"Task timed out\"", "?ERROR ?WARN"]),
                );
                p.bool("interleaved", true);
            }
            p.end();
            Body::new(
                "logs.amazonaws.com",
                if api == LogsDescribeLogStreams {
                    "DescribeLogStreams"
                } else {
                    "FilterLogEvents"
                },
                true,
            )
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of a DynamoDB and Systems Manager call.
fn ddb_ssm(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, .. } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let res = &mut sc.res;
    match api {
        DdbDescribeTable | DdbDescribeBackups => {
            let tb = TABLES[g.idx(TABLES.len())];
            p.begin();
            p.str("tableName", tb);
            p.end();
            res1(
                res,
                acct,
                "AWS::DynamoDB::Table",
                &format!("arn:aws:dynamodb:{region}:{acct}:table/{tb}"),
            );
            let mut b = Body::new(
                "dynamodb.amazonaws.com",
                if api == DdbDescribeTable {
                    "DescribeTable"
                } else {
                    "DescribeContinuousBackups"
                },
                true,
            );
            b.api_version = Some("2012-08-10");
            b.resources = true;
            b
        }
        DdbListTables => {
            p.begin();
            p.end();
            let mut b = Body::new("dynamodb.amazonaws.com", "ListTables", true);
            b.api_version = Some("2012-08-10");
            b
        }
        DdbGetItem | DdbPutItem | DdbQuery | DdbUpdateItem => {
            let tb = TABLES[g.idx(TABLES.len())];
            let (name, ro) = match api {
                DdbGetItem => ("GetItem", true),
                DdbQuery => ("Query", true),
                DdbPutItem => ("PutItem", false),
                _ => ("UpdateItem", false),
            };
            p.begin();
            p.str("tableName", tb);
            match api {
                DdbQuery => {
                    p.str("keyConditionExpression", "pk = :pk");
                    p.obj("expressionAttributeValues");
                    p.str(":pk", "HIDDEN_DUE_TO_SECURITY_REASONS");
                    p.end();
                    p.num("limit", 50);
                }
                _ => {
                    p.obj("key");
                    p.str_with("pk", |s| {
                        s.push_str(&tb.to_uppercase());
                        s.push('#');
                        g.push_hex(s, 12);
                    });
                    p.end();
                    if api == DdbGetItem {
                        p.bool("consistentRead", false);
                    } else if api == DdbUpdateItem {
                        p.str("updateExpression", "SET #s = :s, updatedAt = :u");
                        p.str("conditionExpression", "attribute_exists(pk)");
                    }
                }
            }
            p.end();
            res1(
                res,
                acct,
                "AWS::DynamoDB::Table",
                &format!("arn:aws:dynamodb:{region}:{acct}:table/{tb}"),
            );
            let mut b = Body::new("dynamodb.amazonaws.com", name, ro);
            b.api_version = Some("2012-08-10");
            b.resources = true;
            b.data = true;
            b
        }
        SsmGetParameter | SsmGetParametersByPath => {
            let pn = PARAMS[g.idx(PARAMS.len())];
            p.begin();
            if api == SsmGetParameter {
                p.str("name", pn);
                p.bool("withDecryption", true);
            } else {
                p.str("path", &pn[..pn.rfind('/').unwrap_or(0) + 1]);
                p.bool("recursive", true);
                p.bool("withDecryption", true);
            }
            p.end();
            Body::new(
                "ssm.amazonaws.com",
                if api == SsmGetParameter {
                    "GetParameter"
                } else {
                    "GetParametersByPath"
                },
                true,
            )
        }
        SsmUpdateInstanceInformation => {
            let i = g.below(6);
            let ip4 = format!("10.0.{}.{}", i, 10 + i * 7);
            p.begin();
            p.str("instanceId", &instance(wd, a, r, i));
            p.str("agentVersion", "3.3.1611.0");
            p.str("agentStatus", "Active");
            p.str("platformType", "Linux");
            p.str("platformName", "Amazon Linux");
            p.str("platformVersion", "2023");
            p.str("iPAddress", "HIDDEN_DUE_TO_SECURITY_REASONS");
            p.str(
                "computerName",
                &format!("ip-{}.ec2.internal", ip4.replace('.', "-")),
            );
            p.str("agentName", "amazon-ssm-agent");
            p.str(
                "availabilityZone",
                &format!("{region}{}", ["a", "b", "c"][(i % 3) as usize]),
            );
            p.str("availabilityZoneId", &format!("az{}", 1 + i % 3));
            p.str("sSMConnectionChannel", "ssmmessages");
            p.end();
            Body::new("ssm.amazonaws.com", "UpdateInstanceInformation", false)
        }
        SsmListInstanceAssociations => {
            p.begin();
            p.str("instanceId", &instance(wd, a, r, g.below(6)));
            p.num("maxResults", 50);
            p.end();
            Body::new("ssm.amazonaws.com", "ListInstanceAssociations", true)
        }
        Ec2MessagesGetMessages => {
            p.begin();
            p.str("destination", &instance(wd, a, r, g.below(6)));
            p.str_with("messagesRequestId", |s| g.push_uuid(s));
            p.num("visibilityTimeoutInSeconds", 10);
            p.end();
            let mut b = Body::new("ec2messages.amazonaws.com", "GetMessages", true);
            b.iam_action = "GetMessages";
            b
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// The request and response of a Config, ECR, Secrets Manager, ECS, ELB, Auto Scaling, CloudTrail and Organizations call.
fn other(at: &At, api: Api, g: &mut Rng, sc: &mut Scratch) -> Body {
    let At { wd, a, r, t, .. } = *at;
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let p = &mut sc.p;
    let resp = &mut sc.resp;
    match api {
        ConfigPutEvaluations => {
            p.begin();
            p.arr("evaluations");
            p.begin();
            p.str("complianceResourceType", "AWS::EC2::Instance");
            p.str("complianceResourceId", &instance(wd, a, r, g.below(6)));
            p.str(
                "complianceType",
                g.pick_str(&["COMPLIANT", "COMPLIANT", "NON_COMPLIANT"]),
            );
            p.str("orderingTimestamp", &time::us_date(t - 60, false));
            p.end();
            p.end_arr();
            p.str_with("resultToken", |s| g.push_b64(s, 180));
            p.bool("testMode", false);
            p.end();
            resp.begin();
            resp.arr("failedEvaluations");
            resp.end_arr();
            resp.end();
            let mut b = Body::new("config.amazonaws.com", "PutEvaluations", false);
            b.response = true;
            b
        }
        EcrGetAuthorizationToken => {
            p.begin();
            p.arr("registryIds");
            p.item(acct);
            p.end_arr();
            p.end();
            Body::new("ecr.amazonaws.com", "GetAuthorizationToken", true)
        }
        SecretsGetSecretValue => {
            p.begin();
            p.str_with("secretId", |s| {
                s.push_str("arn:aws:secretsmanager:");
                s.push_str(region);
                s.push(':');
                s.push_str(acct);
                s.push_str(":secret:");
                s.push_str(SECRETS[g.idx(SECRETS.len())]);
                s.push('-');
                g.push_b64(s, 6);
            });
            p.end();
            Body::new("secretsmanager.amazonaws.com", "GetSecretValue", true)
        }
        EcsDescribeServices | EcsListTasks => {
            p.begin();
            p.str("cluster", "anycompany-apps");
            if api == EcsDescribeServices {
                p.arr("services");
                p.item("orders-api");
                p.item("payments");
                p.end_arr();
            } else {
                p.str("serviceName", "orders-api");
                p.str("desiredStatus", "RUNNING");
            }
            p.end();
            Body::new(
                "ecs.amazonaws.com",
                if api == EcsDescribeServices {
                    "DescribeServices"
                } else {
                    "ListTasks"
                },
                true,
            )
        }
        ElbDescribeTargetHealth => {
            p.begin();
            p.str_with("targetGroupArn", |s| {
                s.push_str("arn:aws:elasticloadbalancing:");
                s.push_str(region);
                s.push(':');
                s.push_str(acct);
                s.push_str(":targetgroup/orders-api/");
                s.push_str(&wd.res_id("tg", a, r, 0)[4..]);
            });
            p.end();
            Body::new(
                "elasticloadbalancing.amazonaws.com",
                "DescribeTargetHealth",
                true,
            )
        }
        AsgDescribeGroups => {
            p.begin();
            p.arr("autoScalingGroupNames");
            p.item("orders-asg");
            p.end_arr();
            p.end();
            Body::new(
                "autoscaling.amazonaws.com",
                "DescribeAutoScalingGroups",
                true,
            )
        }
        CtDescribeTrails => {
            p.begin();
            p.arr("trailNameList");
            p.end_arr();
            p.bool("includeShadowTrails", true);
            p.end();
            Body::new("cloudtrail.amazonaws.com", "DescribeTrails", true)
        }
        CtGetTrailStatus => {
            p.begin();
            p.str(
                "name",
                &format!(
                    "arn:aws:cloudtrail:us-east-1:{}:trail/{}",
                    wd.acct(wd.mgmt),
                    wd.trail_name
                ),
            );
            p.end();
            Body::new("cloudtrail.amazonaws.com", "GetTrailStatus", true)
        }
        CtLookupEvents => {
            p.begin();
            p.arr("lookupAttributes");
            p.begin();
            p.str("attributeKey", "EventName");
            p.str(
                "attributeValue",
                g.pick_str(&[
                    "RunInstances",
                    "DeleteBucket",
                    "AuthorizeSecurityGroupIngress",
                ]),
            );
            p.end();
            p.end_arr();
            p.num("maxResults", 50);
            p.end();
            Body::new("cloudtrail.amazonaws.com", "LookupEvents", true)
        }
        OrgListAccounts => {
            let mut b = Body::new("organizations.amazonaws.com", "ListAccounts", true);
            b.params = false;
            b
        }
        _ => unreachable!("body() dispatches only this group's calls here"),
    }
}

/// Extra background events of a slot that are not indexed: credential-issuing events of the
/// background sessions (service `AssumeRole`s, Alice's `AssumeRole`s, Carol's Identity Center
/// sign-ins) and Alice's daily console sign-in. Appended to `out` as (time, JSON).
pub fn extras(wd: &World, slot: &Slot, sc: &mut Scratch, out: &mut Vec<(i64, String)>) {
    let a = slot.a;
    let r = slot.r;
    let (ws, we) = (slot.start, slot.end);
    let inside = |t: i64| t >= ws && t < we && t >= wd.t0 && t < wd.t_end;
    // Service credentials.
    for &svc in svc_kinds(r) {
        let b0 = (ws - wd.t0).div_euclid(SVC_BLOCK);
        let b1 = (we - wd.t0 + 600).div_euclid(SVC_BLOCK);
        for b in b0..=b1 {
            let s = svc_session(wd, a, r, svc, b);
            if inside(s.created) {
                let mut g = Rng::at(
                    wd.seed,
                    &[TAG_EXTRA, 1, a as u64, r as u64, svc as u64, b as u64],
                );
                service_assume(wd, a, r, svc, &s, &mut g, sc);
                out.push((s.created, sc.rec.s.clone()));
            }
        }
    }
    if r != 0 {
        return;
    }
    let hb0 = (ws - wd.t0).div_euclid(HUMAN_BLOCK);
    let hb1 = (we - wd.t0).div_euclid(HUMAN_BLOCK);
    for b in hb0..=hb1 {
        let hour = (b * 2).rem_euclid(24);
        if !(8..18).contains(&hour) {
            continue;
        }
        // Alice's AssumeRole: caller copy in management, role owner's copy in the target.
        for m in 0..wd.accounts.len() {
            if let Some(s) = alice_session(wd, m, b)
                && inside(s.created)
            {
                if a == wd.mgmt {
                    alice_assume(wd, m, b, &s, true, sc);
                    out.push((s.created, sc.rec.s.clone()));
                }
                if a == m && m != wd.mgmt {
                    alice_assume(wd, m, b, &s, false, sc);
                    out.push((s.created, sc.rec.s.clone()));
                }
            }
        }
        // Carol: one sign-in per block in management, a SAML assumption per account.
        let mut first: Option<i64> = None;
        for m in 0..wd.accounts.len() {
            if let Some(s) = carol_session(wd, m, b) {
                first = Some(first.map_or(s.created, |f: i64| f.min(s.created)));
                if a == m && inside(s.created) {
                    carol_saml(wd, m, b, &s, sc);
                    out.push((s.created, sc.rec.s.clone()));
                }
            }
        }
        if let Some(f) = first
            && a == wd.mgmt
        {
            let ts = f - 40;
            if inside(ts) {
                let mut g = Rng::at(wd.seed, &[TAG_EXTRA, 3, b as u64]);
                let ip = format!("203.0.113.{}", 40 + (b.rem_euclid(5)));
                idc_signin(wd, ts, "carol.smith", "PASSWORD,TOTP", &ip, &mut g, sc);
                out.push((ts, sc.rec.s.clone()));
            }
        }
    }
    // Alice's daily console sign-in to management (a failed attempt first on some days).
    if a == wd.mgmt {
        let d0 = (ws - wd.t0).div_euclid(86_400);
        let d1 = (we - wd.t0).div_euclid(86_400);
        for d in d0..=d1 {
            let mut g = Rng::at(wd.seed, &[TAG_EXTRA, 4, d as u64]);
            let ts = wd.t0 + d * 86_400 + 8 * 3600 + g.range(0, 900);
            let fail = g.chance(0.3);
            if fail && inside(ts - 45) {
                console_login(wd, a, "alice", ts - 45, false, true, &mut g, sc);
                out.push((ts - 45, sc.rec.s.clone()));
            }
            if inside(ts) {
                console_login(wd, a, "alice", ts, true, true, &mut g, sc);
                out.push((ts, sc.rec.s.clone()));
            }
        }
    }
}

fn service_assume(
    wd: &World,
    a: usize,
    r: usize,
    svc: Svc,
    s: &Sess,
    g: &mut Rng,
    sc: &mut Scratch,
) {
    let acct = wd.acct(a);
    let region = wd.regions[r];
    let by = svc_principal(svc);
    sc.id.clear();
    identity_service(&mut sc.id, by);
    let role_arn = format!("arn:aws:iam::{acct}:role/{}{}", s.path, s.role);
    sc.p.clear();
    sc.p.begin();
    sc.p.str("roleArn", &role_arn);
    sc.p.str("roleSessionName", &s.name);
    if svc == Svc::Ec2 {
        sc.p.num("durationSeconds", 21_600);
    }
    sc.p.end();
    sc.resp.clear();
    sc.resp.begin();
    sc.resp.obj("credentials");
    sc.resp.str("accessKeyId", &s.key);
    sc.resp.str_with("sessionToken", |o| token(g, o));
    sc.resp.str_with("expiration", |o| {
        time::push_us_date(o, s.created + 21_600, true)
    });
    sc.resp.end();
    sc.resp.obj("assumedRoleUser");
    sc.resp
        .str("assumedRoleId", &format!("{}:{}", s.role_id, s.name));
    sc.resp.str(
        "arn",
        &format!("arn:aws:sts::{acct}:assumed-role/{}/{}", s.role, s.name),
    );
    sc.resp.end();
    sc.resp.end();
    sc.res.clear();
    res1(&mut sc.res, acct, "AWS::IAM::Role", &role_arn);
    let ev = g.uuid();
    let req = g.uuid();
    let shared = g.uuid();
    let mut rec = Rec::call("sts.amazonaws.com", "AssumeRole", region, acct);
    rec.identity = Some(&sc.id.s);
    rec.time = s.created;
    rec.ip = by;
    rec.ua = Some(by);
    rec.params = &sc.p.s;
    rec.response = &sc.resp.s;
    rec.request_id = Some(&req);
    rec.event_id = &ev;
    rec.resources = Some(&sc.res.s);
    rec.shared_event_id = Some(&shared);
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

fn alice_assume(wd: &World, m: usize, b: i64, s: &Sess, caller_copy: bool, sc: &mut Scratch) {
    let mut g = Rng::at(wd.seed, &[TAG_EXTRA, 2, m as u64, b as u64]);
    let ev_caller = g.uuid();
    let ev_owner = g.uuid();
    let req = g.uuid();
    let shared = g.uuid();
    let mgmt = wd.acct(wd.mgmt);
    let target = wd.acct(m);
    let alice_id = wd.user_id(wd.mgmt, "alice");
    sc.id.clear();
    if caller_copy {
        identity_user(
            &mut sc.id,
            mgmt,
            "alice",
            &alice_id,
            Some(&wd.user_key(wd.mgmt, "alice")),
            None,
        );
    } else {
        identity_aws_account(&mut sc.id, &alice_id, mgmt);
    }
    let role_arn = format!("arn:aws:iam::{target}:role/Admin");
    sc.p.clear();
    sc.p.begin();
    sc.p.str("roleArn", &role_arn);
    sc.p.str("roleSessionName", "alice");
    sc.p.num("durationSeconds", 3600);
    sc.p.str("serialNumber", &format!("arn:aws:iam::{mgmt}:mfa/alice"));
    sc.p.str("sourceIdentity", "alice");
    sc.p.end();
    sc.resp.clear();
    sc.resp.begin();
    sc.resp.obj("credentials");
    sc.resp.str("accessKeyId", &s.key);
    sc.resp.str_with("sessionToken", |o| token(&mut g, o));
    sc.resp.str_with("expiration", |o| {
        time::push_us_date(o, s.created + 3600, true)
    });
    sc.resp.end();
    sc.resp.obj("assumedRoleUser");
    sc.resp
        .str("assumedRoleId", &format!("{}:alice", s.role_id));
    sc.resp.str(
        "arn",
        &format!("arn:aws:sts::{target}:assumed-role/Admin/alice"),
    );
    sc.resp.end();
    sc.resp.str("sourceIdentity", "alice");
    sc.resp.end();
    sc.res.clear();
    res1(&mut sc.res, target, "AWS::IAM::Role", &role_arn);
    let recipient = if caller_copy { mgmt } else { target };
    let mut rec = Rec::call("sts.amazonaws.com", "AssumeRole", "us-east-1", recipient);
    rec.version = "1.08";
    rec.identity = Some(&sc.id.s);
    rec.time = s.created;
    rec.ip = &s.ip;
    rec.ua = Some(UA_CLI);
    rec.params = &sc.p.s;
    rec.response = &sc.resp.s;
    rec.request_id = Some(&req);
    rec.event_id = if caller_copy { &ev_caller } else { &ev_owner };
    rec.resources = Some(&sc.res.s);
    rec.shared_event_id = if m == wd.mgmt { None } else { Some(&shared) };
    rec.tls = Some(Tls {
        v13: true,
        host: "sts.amazonaws.com",
    });
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

fn carol_saml(wd: &World, m: usize, b: i64, s: &Sess, sc: &mut Scratch) {
    let mut g = Rng::at(wd.seed, &[TAG_EXTRA, 5, m as u64, b as u64]);
    saml_assume(
        wd,
        m,
        &s.role,
        &s.role_id,
        "carol.smith",
        s.created,
        &s.key,
        &s.ip,
        &mut g,
        sc,
    );
}

/// An `AssumeRoleWithSAML` from the Identity Center portal into permission-set role `role`.
#[allow(clippy::too_many_arguments)]
pub fn saml_assume(
    wd: &World,
    m: usize,
    role: &str,
    role_id: &str,
    user: &str,
    ts: i64,
    key: &str,
    ip: &str,
    g: &mut Rng,
    sc: &mut Scratch,
) {
    let target = wd.acct(m);
    sc.id.clear();
    identity_saml(&mut sc.id, &wd.saml_qualifier, user);
    let role_arn = format!("arn:aws:iam::{target}:role/{}{role}", World::SSO_PATH);
    let provider = wd.saml_provider_arn(m);
    sc.p.clear();
    sc.p.begin();
    sc.p.str_with("sAMLAssertionID", |o| {
        o.push('_');
        g.push_uuid(o);
    });
    sc.p.str("roleSessionName", user);
    sc.p.str("roleArn", &role_arn);
    sc.p.str("principalArn", &provider);
    sc.p.num("durationSeconds", 43_200);
    sc.p.end();
    sc.resp.clear();
    sc.resp.begin();
    sc.resp.obj("credentials");
    sc.resp.str("accessKeyId", key);
    sc.resp.str_with("sessionToken", |o| token(g, o));
    sc.resp
        .str_with("expiration", |o| time::push_us_date(o, ts + 43_200, true));
    sc.resp.end();
    sc.resp.obj("assumedRoleUser");
    sc.resp.str("assumedRoleId", &format!("{role_id}:{user}"));
    sc.resp.str(
        "arn",
        &format!("arn:aws:sts::{target}:assumed-role/{role}/{user}"),
    );
    sc.resp.end();
    sc.resp.str("subject", user);
    sc.resp.str("subjectType", "persistent");
    sc.resp.str_with("issuer", |o| {
        o.push_str("https://portal.sso.us-east-1.amazonaws.com/saml/assertion/");
        g.push_b64(o, 40);
    });
    sc.resp
        .str("audience", "https://signin.aws.amazon.com/saml");
    sc.resp.str("nameQualifier", &wd.saml_qualifier);
    sc.resp.end();
    sc.res.clear();
    sc.res.open_arr();
    sc.res.begin();
    sc.res.str("accountId", target);
    sc.res.str("type", "AWS::IAM::Role");
    sc.res.str("ARN", &role_arn);
    sc.res.end();
    sc.res.begin();
    sc.res.str("accountId", target);
    sc.res.str("type", "AWS::IAM::SAMLProvider");
    sc.res.str("ARN", &provider);
    sc.res.end();
    sc.res.end_arr();
    let ev = g.uuid();
    let req = g.uuid();
    let mut rec = Rec::call(
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        "us-east-1",
        target,
    );
    rec.version = "1.08";
    rec.identity = Some(&sc.id.s);
    rec.time = ts;
    rec.ip = ip;
    rec.ua = Some(UA_BROWSER);
    rec.params = &sc.p.s;
    rec.response = &sc.resp.s;
    rec.request_id = Some(&req);
    rec.event_id = &ev;
    rec.resources = Some(&sc.res.s);
    rec.tls = Some(Tls {
        v13: true,
        host: "sts.amazonaws.com",
    });
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

/// An Identity Center `UserAuthentication` sign-in event (management account, us-east-1).
pub fn idc_signin(
    wd: &World,
    ts: i64,
    user: &str,
    cred: &str,
    ip: &str,
    g: &mut Rng,
    sc: &mut Scratch,
) {
    let mgmt = wd.acct(wd.mgmt);
    sc.id.clear();
    identity_unknown(&mut sc.id, mgmt, user);
    sc.add.clear();
    sc.add.begin();
    sc.add.str_with("AuthWorkflowID", |o| g.push_uuid(o));
    sc.add.str("UserName", user);
    sc.add.str(
        "LoginTo",
        &format!("https://{}.awsapps.com/start/", wd.idc_store),
    );
    sc.add.str("CredentialType", cred);
    sc.add.end();
    let ev = g.uuid();
    let req = g.uuid();
    let mut rec = Rec::call(
        "signin.amazonaws.com",
        "UserAuthentication",
        "us-east-1",
        mgmt,
    );
    rec.identity = Some(&sc.id.s);
    rec.time = ts;
    rec.ip = ip;
    rec.ua = Some(UA_BROWSER);
    rec.additional = Some(&sc.add.s);
    rec.request_id = Some(&req);
    rec.event_id = &ev;
    rec.read_only = Some(false);
    rec.event_type = "AwsServiceEvent";
    rec.service_details = Some(r#"{"UserAuthentication":"Success"}"#);
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

/// A `ConsoleLogin` of IAM user `user` in account `a` (success or failure).
#[allow(clippy::too_many_arguments)]
pub fn console_login(
    wd: &World,
    a: usize,
    user: &str,
    ts: i64,
    ok: bool,
    mfa: bool,
    g: &mut Rng,
    sc: &mut Scratch,
) {
    let acct = wd.acct(a);
    sc.id.clear();
    identity_user(&mut sc.id, acct, user, &wd.user_id(a, user), None, None);
    sc.add.clear();
    sc.add.begin();
    sc.add.str("LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1");
    sc.add.str("MobileVersion", "No");
    if ok && mfa {
        sc.add
            .str("MFAIdentifier", &format!("arn:aws:iam::{acct}:mfa/{user}"));
    }
    sc.add.str("MFAUsed", if ok && mfa { "Yes" } else { "No" });
    sc.add.end();
    let ev = g.uuid();
    let mut rec = Rec::call("signin.amazonaws.com", "ConsoleLogin", "us-east-1", acct);
    rec.identity = Some(&sc.id.s);
    rec.time = ts;
    rec.ip = if user == "alice" {
        "198.51.100.10"
    } else {
        "198.51.100.77"
    };
    rec.ua = Some(UA_BROWSER);
    if !ok {
        rec.error = Some(("", "Failed authentication"));
    }
    rec.response = if ok {
        r#"{"ConsoleLogin":"Success"}"#
    } else {
        r#"{"ConsoleLogin":"Failure"}"#
    };
    rec.additional = Some(&sc.add.s);
    rec.event_id = &ev;
    rec.read_only = Some(false);
    rec.event_type = "AwsConsoleSignIn";
    rec.tls = Some(Tls {
        v13: true,
        host: "signin.aws.amazon.com",
    });
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

/// How many events [`extras`] writes for `slot`, without building them.
pub fn extras_count(wd: &World, slot: &Slot) -> usize {
    let a = slot.a;
    let r = slot.r;
    let (ws, we) = (slot.start, slot.end);
    let inside = |t: i64| t >= ws && t < we && t >= wd.t0 && t < wd.t_end;
    let mut n = 0;
    for &svc in svc_kinds(r) {
        let b0 = (ws - wd.t0).div_euclid(SVC_BLOCK);
        let b1 = (we - wd.t0 + 600).div_euclid(SVC_BLOCK);
        for b in b0..=b1 {
            if inside(svc_created(wd, a, r, svc, b).0) {
                n += 1;
            }
        }
    }
    if r != 0 {
        return n;
    }
    let hb0 = (ws - wd.t0).div_euclid(HUMAN_BLOCK);
    let hb1 = (we - wd.t0).div_euclid(HUMAN_BLOCK);
    for b in hb0..=hb1 {
        let hour = (b * 2).rem_euclid(24);
        if !(8..18).contains(&hour) {
            continue;
        }
        let mut first: Option<i64> = None;
        for m in 0..wd.accounts.len() {
            if let Some((c, _)) = human_created(wd, 1, m, b)
                && inside(c)
            {
                if a == wd.mgmt {
                    n += 1;
                }
                if a == m && m != wd.mgmt {
                    n += 1;
                }
            }
            if let Some((c, _)) = human_created(wd, 2, m, b) {
                first = Some(first.map_or(c, |f: i64| f.min(c)));
                if a == m && inside(c) {
                    n += 1;
                }
            }
        }
        if let Some(f) = first
            && a == wd.mgmt
            && inside(f - 40)
        {
            n += 1;
        }
    }
    if a == wd.mgmt {
        let d0 = (ws - wd.t0).div_euclid(86_400);
        let d1 = (we - wd.t0).div_euclid(86_400);
        for d in d0..=d1 {
            let mut g = Rng::at(wd.seed, &[TAG_EXTRA, 4, d as u64]);
            let ts = wd.t0 + d * 86_400 + 8 * 3600 + g.range(0, 900);
            if g.chance(0.3) && inside(ts - 45) {
                n += 1;
            }
            if inside(ts) {
                n += 1;
            }
        }
    }
    n
}
