//! Credential-issuing background traffic: the `AssumeRole*` calls of services, Identity Center
//! permission sets and automation that make `AssumeRole` one of the most frequent event names of
//! a real organization trail (a Lambda cold start, an ECS task, a CI job, a Config recorder or a
//! partner integration each assume a role, many times an hour).
//!
//! A share of the indexed background events ([`GenConfig::assume_share`](super::GenConfig)) is
//! drawn from here instead of an API call, so the volume follows the trail's size and every
//! record stays a pure function of (seed, slot, index): duplicates and late copies regenerate it.
//!
//! Invariants the answer key relies on (none of this is break-glass, and none of it is BG014):
//! - no role, user or permission set named `BreakGlass*` / `breakglass*`, no root;
//! - no person (IAM user, SAML user, Identity Center role session) assumes a role in the
//!   production account: Identity Center traffic goes to the other accounts only; production
//!   sees services, CI deploy roles (callers of type `AssumedRole` of a CI role) and a partner
//!   (`AWSAccount` callers);
//! - the issued credentials are never used by a break-glass identity, so nothing here is an edge
//!   of a break-glass chain.

use super::background::Scratch;
use super::json::W;
use super::record::{Rec, RoleSession, Tls, aws_id, identity_aws_account, identity_role};
use super::record::{identity_saml, identity_service, write_rec};
use super::rng::Rng;
use super::time;
use super::world::World;

/// Services that assume roles: (principal, role name, role path, session name style).
const SERVICES: [(&str, &str, &str, Name); 10] = [
    (
        "lambda.amazonaws.com",
        "orders-api-role",
        "service-role/",
        Name::Fixed("orders-api"),
    ),
    (
        "lambda.amazonaws.com",
        "image-resizer-role",
        "service-role/",
        Name::Fixed("image-resizer"),
    ),
    (
        "ecs-tasks.amazonaws.com",
        "anycompany-ecs-task-role",
        "",
        Name::Hex,
    ),
    (
        "ec2.amazonaws.com",
        "anycompany-app-instance-role",
        "",
        Name::Instance,
    ),
    (
        "config.amazonaws.com",
        "AWSServiceRoleForConfig",
        "aws-service-role/config.amazonaws.com/",
        Name::Fixed("AWSConfig-Describe"),
    ),
    (
        "logs.amazonaws.com",
        "anycompany-logs-delivery-role",
        "",
        Name::Hex,
    ),
    (
        "events.amazonaws.com",
        "anycompany-eventbridge-invoke-role",
        "service-role/",
        Name::Hex,
    ),
    (
        "states.amazonaws.com",
        "StepFunctions-orders-pipeline-role",
        "service-role/",
        Name::Hex,
    ),
    (
        "ssm.amazonaws.com",
        "AWSServiceRoleForAmazonSSM",
        "aws-service-role/ssm.amazonaws.com/",
        Name::Fixed("SSM"),
    ),
    (
        "backup.amazonaws.com",
        "AWSBackupDefaultServiceRole",
        "service-role/",
        Name::Fixed("AWSBackup-AWSBackupDefaultServiceRole"),
    ),
];

#[derive(Clone, Copy)]
enum Name {
    Fixed(&'static str),
    Hex,
    Instance,
}

/// Identity Center permission sets people use every day (never a break-glass one).
const PERMISSION_SETS: [&str; 4] = [
    "ReadOnlyAccess",
    "ViewOnlyAccess",
    "PowerUserAccess",
    "AdministratorAccess",
];
const SSO_USERS: [&str; 5] = [
    "dave.jones",
    "erin.lee",
    "frank.moore",
    "grace.kim",
    "heidi.wu",
];
const CI_ROLE: &str = "github-actions-ci";
const DEPLOY_ROLE: &str = "anycompany-deploy";
const PARTNER_ROLE: &str = "DatadogIntegrationRole";
/// A partner's AWS account outside the organization (documentation range of ids).
const PARTNER_ACCOUNT: &str = "464622532012";
const UA_GHA: &str = "aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0-1017-azure lang/js md/nodejs#20.11.1 api/sts#3.540.0 configure-aws-credentials-for-github-actions";
const UA_SSO: &str = "aws-internal/3 aws-sdk-java/1.12.680 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10+8-LTS java/17.0.10 vendor/Amazon.com_Inc. cfg/retry-mode/standard";
const UA_PARTNER: &str = "Boto3/1.34.40 md/Botocore#1.34.40 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.40";

/// Who issues the credentials.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Sso,
    WebIdentity,
    Chained,
    Partner,
}

/// Write one credential-issuing call of account `a`, region `r` at `t` into `sc.rec`.
#[allow(clippy::too_many_arguments)]
pub fn assume_event(
    wd: &World,
    a: usize,
    r: usize,
    t: i64,
    delayed: bool,
    g: &mut Rng,
    sc: &mut Scratch,
) {
    let prod = a == wd.prod && wd.accounts.len() > 1;
    let kind = match g.weighted(&[55, if prod { 0 } else { 12 }, 10, 15, 8]) {
        0 => Kind::Service,
        1 => Kind::Sso,
        2 => Kind::WebIdentity,
        3 => Kind::Chained,
        _ => Kind::Partner,
    };
    let acct = wd.acct(a).to_string();
    let region = wd.regions[r];
    // The account that owns the role: a deploy role may be in another account of the
    // organization (the CI role's copy of a cross-account call).
    let target = if kind == Kind::Chained && wd.accounts.len() > 1 && g.chance(0.6) {
        g.idx(wd.accounts.len())
    } else {
        a
    };
    let target_id = wd.acct(target).to_string();
    let (role, path, session, duration): (String, &str, String, i64) = match kind {
        Kind::Service => {
            let (_, role, path, name) = SERVICES[g.idx(SERVICES.len())];
            let session = match name {
                Name::Fixed(s) => s.to_string(),
                Name::Hex => g.hex(32),
                Name::Instance => wd.res_id("i", a, r, g.below(6)),
            };
            (role.to_string(), path, session, 3600 * (1 + g.range(0, 5)))
        }
        Kind::Sso => {
            let set = PERMISSION_SETS[g.idx(PERMISSION_SETS.len())];
            let user = SSO_USERS[g.idx(SSO_USERS.len())];
            (
                wd.sso_role(a, set),
                World::SSO_PATH,
                user.to_string(),
                43_200,
            )
        }
        Kind::WebIdentity => (CI_ROLE.to_string(), "", "GitHubActions".to_string(), 3600),
        Kind::Chained => (
            DEPLOY_ROLE.to_string(),
            "",
            format!("deploy-{}", g.range(1000, 99_999)),
            3600,
        ),
        Kind::Partner => (PARTNER_ROLE.to_string(), "", g.hex(16), 3600),
    };
    let role_arn = format!("arn:aws:iam::{target_id}:role/{path}{role}");
    let role_id = wd.role_id(target, &role);
    let key = aws_id("ASIA", g, 16);

    // --- caller
    sc.id.clear();
    let (name, ip, ua, invoked): (&str, String, &str, Option<&str>) = match kind {
        Kind::Service => {
            let by = SERVICES
                .iter()
                .find(|s| s.1 == role)
                .map_or("lambda.amazonaws.com", |s| s.0);
            identity_service(&mut sc.id, by);
            ("AssumeRole", by.to_string(), by, Some(by))
        }
        Kind::Sso => {
            identity_saml(&mut sc.id, &wd.saml_qualifier, &session);
            let ip = format!("198.51.100.{}", 100 + g.range(0, 50));
            ("AssumeRoleWithSAML", ip, UA_SSO, None)
        }
        Kind::WebIdentity => {
            web_identity(&mut sc.id, &acct);
            let ip = runner_ip(g);
            ("AssumeRoleWithWebIdentity", ip, UA_GHA, None)
        }
        Kind::Chained => {
            // The CI job's own credentials (issued minutes earlier by AssumeRoleWithWebIdentity).
            let created = t - g.range(30, 900);
            let ci_key = aws_id("ASIA", g, 16);
            let ci_name = "GitHubActions";
            identity_role(
                &mut sc.id,
                &RoleSession {
                    account: &acct,
                    role_name: CI_ROLE,
                    role_path: "",
                    role_id: &wd.role_id(a, CI_ROLE),
                    session_name: ci_name,
                    access_key: &ci_key,
                    created,
                    mfa: false,
                    source_identity: None,
                    invoked_by: None,
                    ec2_delivery: false,
                },
            );
            let ip = runner_ip(g);
            ("AssumeRole", ip, UA_GHA, None)
        }
        Kind::Partner => {
            let pid = format!("{}:{}", aws_id("AROA", g, 17), g.hex(8));
            identity_aws_account(&mut sc.id, &pid, PARTNER_ACCOUNT);
            let ip = format!("3.233.{}.{}", g.range(1, 250), g.range(1, 250));
            ("AssumeRole", ip, UA_PARTNER, None)
        }
    };

    // --- request and response
    sc.p.clear();
    sc.p.begin();
    sc.p.str("roleArn", &role_arn);
    sc.p.str("roleSessionName", &session);
    match kind {
        Kind::Sso => {
            sc.p.str("principalArn", &wd.saml_provider_arn(a));
            sc.p.str_with("sAMLAssertionID", |o| {
                o.push('_');
                g.push_uuid(o);
            });
        }
        Kind::WebIdentity => {
            sc.p.str(
                "providerArn",
                &format!("arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"),
            );
        }
        Kind::Partner => sc.p.str("externalId", &wd.stable_hex("partner", a, 32)),
        _ => {}
    }
    sc.p.num("durationSeconds", duration);
    sc.p.end();
    // A few calls are refused (a CI job whose trust policy does not cover its branch, a partner
    // whose external id was rotated): failures of ordinary roles, which no rule reports.
    let failed =
        matches!(kind, Kind::Chained | Kind::Partner | Kind::WebIdentity) && g.chance(0.01);
    sc.resp.clear();
    sc.resp.begin();
    sc.resp.obj("credentials");
    sc.resp.str("accessKeyId", &key);
    sc.resp.str_with("sessionToken", |o| {
        o.push_str("IQoJb3JpZ2luX2VjE");
        g.push_b64(o, 283);
    });
    sc.resp
        .str_with("expiration", |o| time::push_us_date(o, t + duration, true));
    sc.resp.end();
    sc.resp.obj("assumedRoleUser");
    sc.resp
        .str("assumedRoleId", &format!("{role_id}:{session}"));
    sc.resp.str(
        "arn",
        &format!("arn:aws:sts::{target_id}:assumed-role/{role}/{session}"),
    );
    sc.resp.end();
    if kind == Kind::WebIdentity {
        sc.resp.str(
            "subjectFromWebIdentityToken",
            "repo:anycompany/platform:ref:refs/heads/main",
        );
        sc.resp
            .str("provider", "token.actions.githubusercontent.com");
        sc.resp.str("audience", "sts.amazonaws.com");
    }
    sc.resp.end();
    sc.res.clear();
    sc.res.open_arr();
    sc.res.begin();
    sc.res.str("accountId", &target_id);
    sc.res.str("type", "AWS::IAM::Role");
    sc.res.str("ARN", &role_arn);
    sc.res.end();
    sc.res.end_arr();
    sc.ev.clear();
    g.push_uuid(&mut sc.ev);
    sc.req.clear();
    g.push_uuid(&mut sc.req);
    sc.shared.clear();
    g.push_uuid(&mut sc.shared);
    sc.err.clear();
    if failed {
        let caller = match kind {
            Kind::Chained => format!("arn:aws:sts::{acct}:assumed-role/{CI_ROLE}/GitHubActions"),
            Kind::Partner => format!("arn:aws:iam::{PARTNER_ACCOUNT}:root"),
            _ => "arn:aws:sts::anonymous".to_string(),
        };
        sc.err.push_str(&format!(
            "User: {caller} is not authorized to perform: sts:{name} on resource: {role_arn}"
        ));
    }
    sc.tmp.clear();
    sc.tmp.push_str("sts.");
    sc.tmp.push_str(region);
    sc.tmp.push_str(".amazonaws.com");
    let cross = target != a || kind == Kind::Partner;
    let rec = Rec {
        identity: Some(&sc.id.s),
        time: t,
        ip: &ip,
        ua: Some(ua),
        error: failed.then_some(("AccessDenied", sc.err.as_str())),
        params: &sc.p.s,
        response: if failed { "null" } else { &sc.resp.s },
        request_id: Some(&sc.req),
        event_id: &sc.ev,
        resources: Some(&sc.res.s),
        shared_event_id: (cross || invoked.is_some()).then_some(sc.shared.as_str()),
        addendum_delay: delayed,
        tls: invoked.is_none().then_some(Tls {
            v13: true,
            host: &sc.tmp,
        }),
        ..Rec::call("sts.amazonaws.com", name, region, &acct)
    };
    sc.rec.clear();
    write_rec(&mut sc.rec, &rec);
}

/// `userIdentity` of a GitHub Actions OIDC token exchanged in `acct`.
fn web_identity(w: &mut W, acct: &str) {
    let provider = format!("arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com");
    w.begin();
    w.str("type", "WebIdentityUser");
    w.str(
        "principalId",
        &format!("{provider}:sts.amazonaws.com:repo:anycompany/platform:ref:refs/heads/main"),
    );
    w.str("userName", "repo:anycompany/platform:ref:refs/heads/main");
    w.str("identityProvider", &provider);
    w.end();
}

/// A hosted CI runner's address (GitHub's runners are in Azure's 20.0.0.0/8).
fn runner_ip(g: &mut Rng) -> String {
    format!(
        "20.{}.{}.{}",
        g.range(1, 250),
        g.range(1, 250),
        g.range(1, 250)
    )
}
