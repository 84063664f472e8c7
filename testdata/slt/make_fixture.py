#!/usr/bin/env python3
"""Write the small, hand-planned organization trail the .slt files run on (tests/slt/).

Run from the repository root: python3 testdata/slt/make_fixture.py
Every id is fixed, so the output (testdata/slt/trail/…) is the same on every run.

Planted (2026-03-01, UTC):
  mgmt 111111111111, member 222222222222, production 333333333333
  10:00  dana (IAM user, MFA) assumes BreakGlassAdmin in 222 (cross-account: two copies)
         actions: DescribeInstances (delivered twice), CreateUser, S3 GetObject, KMS Decrypt,
         StopLogging, SSM StartSession, RunInstances at 11:05 (after TTL, after approval,
         after revocation)
  10:30  the role session assumes OrganizationAccountAccessRole in 333 (chained, depth 1):
         ListBuckets, PutRolePolicy
  10:50  automation puts AWSRevokeOlderSessions on BreakGlassAdmin in 222
  09:55  erik fails to assume BreakGlassAdmin (BG009)
  12:00  oscar signs in to Identity Center with PASSWORD only; 12:05 AssumeRoleWithSAML into
         AWSReservedSSO_BreakGlass_… in 222; actions carry another key (BG003 ×2)
  12:55  failed console login of breakglass-alpha (BG009)
  13:00  breakglass-alpha console login without MFA (BG004); ListUsers, DeactivateMFADevice of
         breakglass-bravo (BG010); password never rotated (BG006)
  14:00  root access key used in 222 (BG012)
  15:00  alice (not break-glass) signs in to production (BG014)
  noise: automation, a denied call, a trust-policy change; last event 2026-03-02T16:00
"""
import json
import os

M, B, P = "111111111111", "222222222222", "333333333333"
DAY = "2026-03-01"
records = {}  # (account, region) -> list
n = [0]


def eid():
    n[0] += 1
    return f"00000000-0000-4000-8000-{n[0]:012d}"


def t(hm, day=DAY):
    return f"{day}T{hm}Z"


def put(acct, rec, region="us-east-1", times=1):
    rec.setdefault("eventVersion", "1.08")
    rec.setdefault("awsRegion", region)
    rec.setdefault("sourceIPAddress", "198.51.100.7")
    rec.setdefault("userAgent", "aws-cli/2.15.30")
    rec.setdefault("requestParameters", None)
    rec.setdefault("responseElements", None)
    rec.setdefault("eventType", "AwsApiCall")
    rec.setdefault("managementEvent", True)
    rec.setdefault("eventCategory", "Management")
    rec["recipientAccountId"] = acct
    if "eventID" not in rec:
        rec["eventID"] = eid()
    for _ in range(times):
        records.setdefault((acct, region), []).append(rec)
    return rec["eventID"]


def user(acct, name, key=None, session=None, mfa=False):
    u = {"type": "IAMUser", "principalId": "AIDA" + name.upper().replace("-", "")[:12].ljust(12, "X"),
         "arn": f"arn:aws:iam::{acct}:user/{name}", "accountId": acct, "userName": name}
    if key is not None:
        u["accessKeyId"] = key
    if session:
        u["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": {"creationDate": session, "mfaAuthenticated": "true" if mfa else "false"}}
    return u


def role(acct, name, sess, key, created, mfa, path="", si=None):
    r = {"type": "AssumedRole", "principalId": f"AROA{name[:10].upper()}:{sess}",
         "arn": f"arn:aws:sts::{acct}:assumed-role/{name}/{sess}", "accountId": acct, "accessKeyId": key,
         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROA{name[:10].upper()}",
                                              "arn": f"arn:aws:iam::{acct}:role/{path}{name}", "accountId": acct,
                                              "userName": name},
                            "webIdFederationData": {},
                            "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"}}}
    if si:
        r["sessionContext"]["sourceIdentity"] = si
    return r


def assume(caller, caller_acct, target, role_name, sess, when, key, exp, serial=None, si=None, error=None):
    arn = f"arn:aws:iam::{target}:role/{role_name}"
    params = {"roleArn": arn, "roleSessionName": sess, "durationSeconds": 3600}
    if serial:
        params["serialNumber"] = serial
    if si:
        params["sourceIdentity"] = si
    resp = None
    if not error:
        resp = {"credentials": {"accessKeyId": key, "sessionToken": "FwoGZXIvYXdzEXAMPLE", "expiration": exp},
                "assumedRoleUser": {"assumedRoleId": f"AROA{role_name[:10].upper()}:{sess}",
                                    "arn": f"arn:aws:sts::{target}:assumed-role/{role_name}/{sess}"}}
        if si:
            resp["sourceIdentity"] = si
    rec = {"userIdentity": caller, "eventTime": when, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
           "requestParameters": params, "responseElements": resp, "readOnly": True,
           "resources": [{"accountId": target, "type": "AWS::IAM::Role", "ARN": arn}]}
    if error:
        rec["errorCode"] = "AccessDenied"
        rec["errorMessage"] = f"User is not authorized to perform: sts:AssumeRole on resource: {arn}"
    first = put(caller_acct, dict(rec))
    owner = None
    if caller_acct != target and not error:
        copy = dict(rec)
        copy["userIdentity"] = {"type": "AWSAccount", "principalId": caller.get("principalId"), "accountId": caller_acct}
        copy.pop("eventID", None)
        owner = put(target, copy)
    return first, owner


def call(ident, acct, when, source, name, ro, params=None, resp=None, error=None, region="us-east-1", times=1,
         console=False, data=False):
    rec = {"userIdentity": ident, "eventTime": when, "eventSource": source, "eventName": name,
           "requestParameters": params, "responseElements": resp}
    if ro is not None:
        rec["readOnly"] = ro
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    if console:
        rec["sessionCredentialFromConsole"] = "true"
    if data:
        rec["managementEvent"] = False
        rec["eventCategory"] = "Data"
    return put(acct, rec, region, times)


# 1. role session with MFA, then a chained session
dana = user(M, "dana", key="AKIAFIXTUREDANA00001")
assume(user(M, "erik", key="AKIAFIXTUREERIK00001"), M, B, "BreakGlassAdmin", "erik", t("09:55:07"), None, None,
       error=True)
assume(dana, M, B, "BreakGlassAdmin", "dana", t("10:00:07"), "ASIAFIXTUREROLE00001", "Mar 1, 2026, 11:00:07 AM",
       serial=f"arn:aws:iam::{M}:mfa/dana", si="dana")
bg = role(B, "BreakGlassAdmin", "dana", "ASIAFIXTUREROLE00001", t("10:00:07"), True, si="dana")
call(bg, B, t("10:01:07"), "ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}}, times=2)
call(bg, B, t("10:05:07"), "iam.amazonaws.com", "CreateUser", False, {"userName": "tmp-admin"},
     {"user": {"userName": "tmp-admin", "arn": f"arn:aws:iam::{B}:user/tmp-admin"}})
call(bg, B, t("10:10:07"), "s3.amazonaws.com", "GetObject", True,
     {"bucketName": "anycompany-data", "key": "customers/2026.csv", "Host": "anycompany-data.s3.amazonaws.com"},
     region="eu-west-1", data=True)
call(bg, B, t("10:12:07"), "kms.amazonaws.com", "Decrypt", True,
     {"keyId": f"arn:aws:kms:eu-west-1:{B}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, region="eu-west-1")
call(bg, B, t("10:15:07"), "cloudtrail.amazonaws.com", "StopLogging", False,
     {"name": f"arn:aws:cloudtrail:us-east-1:{B}:trail/account-trail"})
call(bg, B, t("10:20:07"), "ssm.amazonaws.com", "StartSession", False, {"target": "i-0fixture000000001"},
     {"sessionId": "dana-0fixture"})
# chained: the role session assumes a role in production
assume(bg, B, P, "OrganizationAccountAccessRole", "dana", t("10:30:07"), "ASIAFIXTURECHAIN0001",
       "Mar 1, 2026, 11:30:07 AM", si="dana")
ch = role(P, "OrganizationAccountAccessRole", "dana", "ASIAFIXTURECHAIN0001", t("10:30:07"), False, si="dana")
call(ch, P, t("10:31:07"), "s3.amazonaws.com", "ListBuckets", True)
call(ch, P, t("10:35:07"), "iam.amazonaws.com", "PutRolePolicy", False,
     {"roleName": "app-deployer", "policyName": "inline-admin",
      "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"})
# revocation, then one more action of the revoked, expired, unapproved session
auto = role(B, "incident-response-automation", "revoke", "ASIAFIXTUREAUTO00001", t("10:49:00"), False,
            path="service-role/")
call(auto, B, t("10:50:07"), "iam.amazonaws.com", "PutRolePolicy", False,
     {"roleName": "BreakGlassAdmin", "policyName": "AWSRevokeOlderSessions",
      "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"*\"],\"Resource\":[\"*\"],\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":\"2026-03-01T10:50:07.000Z\"}}}]}"})
call(bg, B, t("11:05:07"), "ec2.amazonaws.com", "RunInstances", False, {"instanceType": "t3.micro"},
     region="eu-west-1")

# 2. Identity Center without MFA
call({"type": "Unknown", "principalId": M, "arn": "", "accountId": M, "accessKeyId": "", "userName": "oscar"},
     M, t("12:00:07"), "signin.amazonaws.com", "UserAuthentication", False, None, None)
records[(M, "us-east-1")][-1].update({
    "eventType": "AwsServiceEvent", "serviceEventDetails": {"UserAuthentication": "Success"},
    "additionalEventData": {"AuthWorkflowID": "fixture-flow", "UserName": "oscar",
                            "LoginTo": "https://d-9067fixture.awsapps.com/start/", "CredentialType": "PASSWORD"}})
sso_role = "AWSReservedSSO_BreakGlass_0123456789abcdef"
sso_path = "aws-reserved/sso.amazonaws.com/us-east-1/"
put(B, {"userIdentity": {"type": "SAMLUser", "principalId": "fixtureQualifier=:oscar", "userName": "oscar",
                         "identityProvider": "fixtureQualifier="},
        "eventTime": t("12:05:07"), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithSAML",
        "requestParameters": {"roleSessionName": "oscar", "roleArn": f"arn:aws:iam::{B}:role/{sso_path}{sso_role}",
                              "principalArn": f"arn:aws:iam::{B}:saml-provider/AWSSSO_fixture_DO_NOT_DELETE",
                              "durationSeconds": 43200},
        "responseElements": {"credentials": {"accessKeyId": "ASIAFIXTURESAML00001", "sessionToken": "x",
                                             "expiration": "Mar 2, 2026, 12:05:07 AM"},
                             "assumedRoleUser": {"assumedRoleId": "AROASSO:oscar",
                                                 "arn": f"arn:aws:sts::{B}:assumed-role/{sso_role}/oscar"}},
        "readOnly": True})
ic = role(B, sso_role, "oscar", "ASIAFIXTURESSOUSE001", t("12:05:07"), False, path=sso_path)
call(ic, B, t("12:06:07"), "ec2.amazonaws.com", "DescribeSecurityGroups", True)
call(ic, B, t("12:10:07"), "ec2.amazonaws.com", "TerminateInstances", False, {"instancesSet": {}},
     error=("Client.UnauthorizedOperation", "You are not authorized to perform this operation."))

# 3. break-glass user console login without MFA
def login(acct, ident, when, ok, mfa, ip="203.0.113.99"):
    rec = {"userIdentity": ident, "eventTime": when, "eventSource": "signin.amazonaws.com",
           "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn", "readOnly": False,
           "sourceIPAddress": ip, "userAgent": "Mozilla/5.0 (fixture)",
           "responseElements": {"ConsoleLogin": "Success" if ok else "Failure"},
           "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                                   "MFAUsed": "Yes" if mfa else "No"}}
    if not ok:
        rec["errorMessage"] = "Failed authentication"
    return put(acct, rec)


login(M, user(M, "breakglass-alpha"), t("12:55:07"), False, False)
login(M, user(M, "breakglass-alpha"), t("13:00:07"), True, False)
alpha = user(M, "breakglass-alpha", key="ASIAFIXTURECONSOLE01", session=t("13:00:07"), mfa=False)
call(alpha, M, t("13:02:07"), "iam.amazonaws.com", "ListUsers", True, console=True)
call(alpha, M, t("13:05:07"), "iam.amazonaws.com", "DeactivateMFADevice", False,
     {"userName": "breakglass-bravo", "serialNumber": f"arn:aws:iam::{M}:mfa/breakglass-bravo"}, console=True)

# 4. root access key
root = {"type": "Root", "principalId": B, "arn": f"arn:aws:iam::{B}:root", "accountId": B,
        "accessKeyId": "AKIAFIXTUREROOT00001"}
call(root, B, t("14:00:07"), "sts.amazonaws.com", "GetCallerIdentity", True)

# 5. production access by a person who is not break-glass
login(P, user(P, "alice"), t("15:00:07"), True, True, ip="198.51.100.10")

# noise: automation, a denied call, a trust-policy change, the last event a day later
svc = role(M, "ops-automation", "i-0fixture", "ASIAFIXTURESVC000001", t("09:00:00"), False)
call(svc, M, t("09:10:07"), "ec2.amazonaws.com", "DescribeInstances", True)
call(user(M, "erik", key="AKIAFIXTUREERIK00001"), M, t("09:20:07"), "organizations.amazonaws.com",
     "ListAccounts", True, error=("AccessDeniedException", "You don't have permissions to access this resource."))
call(user(M, "erik", key="AKIAFIXTUREERIK00001"), M, t("09:30:07"), "iam.amazonaws.com", "UpdateAssumeRolePolicy",
     False, {"roleName": "app-deployer",
             "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:root\"},\"Action\":\"sts:AssumeRole\"}]}"})
call(svc, M, t("16:00:07", "2026-03-02"), "ec2.amazonaws.com", "DescribeInstances", True)

here = os.path.dirname(os.path.abspath(__file__))
for (acct, region), recs in sorted(records.items()):
    recs.sort(key=lambda r: r["eventTime"])
    days = sorted({r["eventTime"][:10] for r in recs})
    for day in days:
        y, m, d = day.split("-")
        folder = os.path.join(here, "trail", "AWSLogs", acct, "CloudTrail", region, y, m, d)
        os.makedirs(folder, exist_ok=True)
        name = f"{acct}_CloudTrail_{region}_{y}{m}{d}T2359Z_fixture{acct[:9]}.json"
        body = [r for r in recs if r["eventTime"][:10] == day]
        with open(os.path.join(folder, name), "w") as f:
            json.dump({"Records": body}, f, indent=1, sort_keys=True)
            f.write("\n")
print(sum(len(v) for v in records.values()), "records")
