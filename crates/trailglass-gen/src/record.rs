//! One CloudTrail record, written in CloudTrail's field order, and the `userIdentity` shapes.

use super::json::W;
use super::time;

/// Everything one record can carry. Raw-JSON fields (`identity`, `params`, …) are already valid
/// JSON text; `None` leaves the field out.
pub struct Rec<'a> {
    pub version: &'a str,
    pub identity: Option<&'a str>,
    pub time: i64,
    pub source: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub ip: &'a str,
    pub ua: Option<&'a str>,
    pub error: Option<(&'a str, &'a str)>,
    /// `requestParameters` (raw JSON, `"null"` allowed).
    pub params: &'a str,
    pub response: &'a str,
    pub additional: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub event_id: &'a str,
    pub read_only: Option<bool>,
    pub resources: Option<&'a str>,
    pub event_type: &'a str,
    pub api_version: Option<&'a str>,
    pub management: bool,
    pub recipient: &'a str,
    pub shared_event_id: Option<&'a str>,
    pub vpce: Option<(&'a str, &'a str)>,
    pub category: &'a str,
    pub service_details: Option<&'a str>,
    pub addendum_delay: bool,
    pub tls: Option<Tls<'a>>,
    pub console: bool,
}

#[derive(Clone, Copy)]
pub struct Tls<'a> {
    pub v13: bool,
    pub host: &'a str,
}

impl<'a> Rec<'a> {
    /// A management API call with the most common defaults.
    pub fn call(source: &'a str, name: &'a str, region: &'a str, recipient: &'a str) -> Self {
        Rec {
            version: "1.08",
            identity: None,
            time: 0,
            source,
            name,
            region,
            ip: "AWS Internal",
            ua: None,
            error: None,
            params: "null",
            response: "null",
            additional: None,
            request_id: None,
            event_id: "",
            read_only: Some(true),
            resources: None,
            event_type: "AwsApiCall",
            api_version: None,
            management: true,
            recipient,
            shared_event_id: None,
            vpce: None,
            category: "Management",
            service_details: None,
            addendum_delay: false,
            tls: None,
            console: false,
        }
    }
}

/// Append the record as one compact JSON object to `w` (which may already hold other records).
pub fn write_rec(w: &mut W, r: &Rec) {
    w.begin();
    w.str("eventVersion", r.version);
    if let Some(id) = r.identity {
        w.raw("userIdentity", id);
    }
    w.str_with("eventTime", |s| time::push_iso(s, r.time));
    w.str("eventSource", r.source);
    w.str("eventName", r.name);
    w.str("awsRegion", r.region);
    w.str("sourceIPAddress", r.ip);
    if let Some(ua) = r.ua {
        w.str("userAgent", ua);
    }
    if let Some((code, msg)) = r.error {
        if !code.is_empty() {
            w.str("errorCode", code);
        }
        if !msg.is_empty() {
            w.str("errorMessage", msg);
        }
    }
    w.raw("requestParameters", r.params);
    w.raw("responseElements", r.response);
    if let Some(a) = r.additional {
        w.raw("additionalEventData", a);
    }
    if let Some(q) = r.request_id {
        w.str("requestID", q);
    }
    w.str("eventID", r.event_id);
    if let Some(ro) = r.read_only {
        w.bool("readOnly", ro);
    }
    if let Some(res) = r.resources {
        w.raw("resources", res);
    }
    w.str("eventType", r.event_type);
    if let Some(v) = r.api_version {
        w.str("apiVersion", v);
    }
    w.bool("managementEvent", r.management);
    w.str("recipientAccountId", r.recipient);
    if let Some(s) = r.shared_event_id {
        w.str("sharedEventID", s);
    }
    if let Some((id, acct)) = r.vpce {
        w.str("vpcEndpointId", id);
        w.str("vpcEndpointAccountId", acct);
    }
    if let Some(d) = r.service_details {
        w.raw("serviceEventDetails", d);
    }
    w.str("eventCategory", r.category);
    if r.addendum_delay {
        w.obj("addendum");
        w.str("reason", "DELIVERY_DELAY");
        w.end();
    }
    if let Some(t) = r.tls {
        w.obj("tlsDetails");
        if t.v13 {
            w.str("tlsVersion", "TLSv1.3");
            w.str("cipherSuite", "TLS_AES_128_GCM_SHA256");
        } else {
            w.str("tlsVersion", "TLSv1.2");
            w.str("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
        }
        w.str("clientProvidedHostHeader", t.host);
        w.end();
    }
    if r.console {
        w.str("sessionCredentialFromConsole", "true");
    }
    w.end();
}

/// `userIdentity` of a role session.
pub struct RoleSession<'a> {
    pub account: &'a str,
    pub role_name: &'a str,
    /// IAM path between `role/` and the name, with its trailing slash (`""` for none).
    pub role_path: &'a str,
    pub role_id: &'a str,
    pub session_name: &'a str,
    pub access_key: &'a str,
    pub created: i64,
    pub mfa: bool,
    pub source_identity: Option<&'a str>,
    pub invoked_by: Option<&'a str>,
    pub ec2_delivery: bool,
}

pub fn identity_role(w: &mut W, r: &RoleSession) {
    w.begin();
    w.str("type", "AssumedRole");
    w.str_with("principalId", |s| {
        s.push_str(r.role_id);
        s.push(':');
        s.push_str(r.session_name);
    });
    w.str_with("arn", |s| {
        s.push_str("arn:aws:sts::");
        s.push_str(r.account);
        s.push_str(":assumed-role/");
        s.push_str(r.role_name);
        s.push('/');
        s.push_str(r.session_name);
    });
    w.str("accountId", r.account);
    w.str("accessKeyId", r.access_key);
    w.obj("sessionContext");
    w.obj("sessionIssuer");
    w.str("type", "Role");
    w.str("principalId", r.role_id);
    w.str_with("arn", |s| {
        s.push_str("arn:aws:iam::");
        s.push_str(r.account);
        s.push_str(":role/");
        s.push_str(r.role_path);
        s.push_str(r.role_name);
    });
    w.str("accountId", r.account);
    w.str("userName", r.role_name);
    w.end();
    w.obj("webIdFederationData");
    w.end();
    w.obj("attributes");
    w.str_with("creationDate", |s| time::push_iso(s, r.created));
    w.str("mfaAuthenticated", if r.mfa { "true" } else { "false" });
    w.end();
    if let Some(si) = r.source_identity {
        w.str("sourceIdentity", si);
    }
    if r.ec2_delivery {
        w.str("ec2RoleDelivery", "2.0");
    }
    w.end();
    if let Some(by) = r.invoked_by {
        w.str("invokedBy", by);
    }
    w.end();
}

/// `userIdentity` of an IAM user: long-term key (`session = None`), or a console /
/// GetSessionToken session (`session = Some((creationDate, mfa))`, empty `sessionIssuer`).
pub fn identity_user(
    w: &mut W,
    account: &str,
    user: &str,
    user_id: &str,
    key: Option<&str>,
    session: Option<(i64, bool)>,
) {
    w.begin();
    w.str("type", "IAMUser");
    w.str("principalId", user_id);
    w.str_with("arn", |s| {
        s.push_str("arn:aws:iam::");
        s.push_str(account);
        s.push_str(":user/");
        s.push_str(user);
    });
    w.str("accountId", account);
    if let Some(k) = key {
        w.str("accessKeyId", k);
    }
    w.str("userName", user);
    if let Some((created, mfa)) = session {
        w.obj("sessionContext");
        w.obj("sessionIssuer");
        w.end();
        w.obj("webIdFederationData");
        w.end();
        w.obj("attributes");
        w.str_with("creationDate", |s| time::push_iso(s, created));
        w.str("mfaAuthenticated", if mfa { "true" } else { "false" });
        w.end();
        w.end();
    }
    w.end();
}

/// `userIdentity` of the root user: `key` `Some("")` for sign-in events, an AKIA/ASIA key for
/// calls; `session` for console and AssumeRoot sessions; `assumed_root` marks `sts:AssumeRoot`.
pub fn identity_root(
    w: &mut W,
    account: &str,
    key: Option<&str>,
    session: Option<(i64, bool)>,
    assumed_root: bool,
) {
    w.begin();
    w.str("type", "Root");
    w.str("principalId", account);
    w.str_with("arn", |s| {
        s.push_str("arn:aws:iam::");
        s.push_str(account);
        s.push_str(":root");
    });
    w.str("accountId", account);
    if let Some(k) = key {
        w.str("accessKeyId", k);
    }
    if let Some((created, mfa)) = session {
        w.obj("sessionContext");
        if !assumed_root {
            w.obj("sessionIssuer");
            w.end();
            w.obj("webIdFederationData");
            w.end();
        }
        w.obj("attributes");
        w.str_with("creationDate", |s| time::push_iso(s, created));
        w.str("mfaAuthenticated", if mfa { "true" } else { "false" });
        w.end();
        if assumed_root {
            w.str("assumedRoot", "true");
        }
        w.end();
    }
    w.end();
}

pub fn identity_service(w: &mut W, invoked_by: &str) {
    w.begin();
    w.str("type", "AWSService");
    w.str("invokedBy", invoked_by);
    w.end();
}

/// The role owner's copy of a cross-account `AssumeRole`.
pub fn identity_aws_account(w: &mut W, principal_id: &str, account: &str) {
    w.begin();
    w.str("type", "AWSAccount");
    w.str("principalId", principal_id);
    w.str("accountId", account);
    w.end();
}

/// `AssumeRoleWithSAML` caller.
pub fn identity_saml(w: &mut W, qualifier: &str, user: &str) {
    w.begin();
    w.str("type", "SAMLUser");
    w.str_with("principalId", |s| {
        s.push_str(qualifier);
        s.push(':');
        s.push_str(user);
    });
    w.str("userName", user);
    w.str("identityProvider", qualifier);
    w.end();
}

/// Identity Center sign-in events (`CredentialChallenge`, `UserAuthentication`, …).
pub fn identity_unknown(w: &mut W, account: &str, user: &str) {
    w.begin();
    w.str("type", "Unknown");
    w.str("principalId", account);
    w.str("arn", "");
    w.str("accountId", account);
    w.str("accessKeyId", "");
    w.str("userName", user);
    w.end();
}

/// A short IAM-style id: `prefix` + 17 characters of `[A-Z2-7]` (principal ids) or 16 (keys).
pub fn aws_id(prefix: &str, rng: &mut super::rng::Rng, n: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + n);
    s.push_str(prefix);
    rng.push_upper(&mut s, n);
    s
}
