//! One CloudTrail record: a typed, borrowing parse (serde) into the column builders.
//!
//! Unknown fields are ignored here and kept in `_raw`. A field of the wrong JSON type rejects the
//! record, except for the fields CloudTrail itself writes inconsistently (string booleans), which
//! accept both forms.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;

use super::reason::Reason;

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug)]
pub struct Str<'a>(pub Cow<'a, str>);

struct StrVisitor {
    loose: bool,
}

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.loose {
            "a string or a boolean"
        } else {
            "a string"
        })
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if self.loose {
            Ok(Cow::Borrowed(if v { "true" } else { "false" }))
        } else {
            Err(E::invalid_type(de::Unexpected::Bool(v), &self))
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor { loose: false }).map(Str)
    }
}

/// A string that CloudTrail documents as `"true"`/`"false"` text but that some producers write as a
/// JSON boolean (`mfaAuthenticated`, `sessionCredentialFromConsole`, `assumedRoot`).
#[derive(Debug)]
pub struct LooseStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor { loose: true }).map(LooseStr)
    }
}

/// A JSON boolean (`readOnly`, `managementEvent`); the strings `"true"`/`"false"` are accepted too.
#[derive(Debug)]
pub struct LooseBool(pub bool);

impl<'de> Deserialize<'de> for LooseBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                if v.eq_ignore_ascii_case("true") {
                    Ok(true)
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(false)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V).map(LooseBool)
    }
}

type S<'a> = Option<Str<'a>>;
type J<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
pub struct Record<'a> {
    #[serde(rename = "eventVersion", borrow)]
    pub event_version: S<'a>,
    #[serde(rename = "userIdentity", borrow)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(rename = "eventTime", borrow)]
    pub event_time: S<'a>,
    #[serde(rename = "eventSource", borrow)]
    pub event_source: S<'a>,
    #[serde(rename = "eventName", borrow)]
    pub event_name: S<'a>,
    #[serde(rename = "awsRegion", borrow)]
    pub aws_region: S<'a>,
    #[serde(rename = "sourceIPAddress", borrow)]
    pub source_ip_address: S<'a>,
    #[serde(rename = "userAgent", borrow)]
    pub user_agent: S<'a>,
    #[serde(rename = "errorCode", borrow)]
    pub error_code: S<'a>,
    #[serde(rename = "errorMessage", borrow)]
    pub error_message: S<'a>,
    #[serde(rename = "requestParameters", borrow)]
    pub request_parameters: J<'a>,
    #[serde(rename = "responseElements", borrow)]
    pub response_elements: J<'a>,
    #[serde(rename = "additionalEventData", borrow)]
    pub additional_event_data: J<'a>,
    #[serde(rename = "requestID", borrow)]
    pub request_id: S<'a>,
    #[serde(rename = "eventID", borrow)]
    pub event_id: S<'a>,
    #[serde(rename = "resources", borrow)]
    pub resources: Option<Vec<Resource<'a>>>,
    #[serde(rename = "eventType", borrow)]
    pub event_type: S<'a>,
    #[serde(rename = "apiVersion", borrow)]
    pub api_version: S<'a>,
    #[serde(rename = "readOnly")]
    pub read_only: Option<LooseBool>,
    #[serde(rename = "recipientAccountId", borrow)]
    pub recipient_account_id: S<'a>,
    #[serde(rename = "serviceEventDetails", borrow)]
    pub service_event_details: J<'a>,
    #[serde(rename = "sharedEventID", borrow)]
    pub shared_event_id: S<'a>,
    #[serde(rename = "vpcEndpointId", borrow)]
    pub vpc_endpoint_id: S<'a>,
    #[serde(rename = "vpcEndpointAccountId", borrow)]
    pub vpc_endpoint_account_id: S<'a>,
    #[serde(rename = "eventCategory", borrow)]
    pub event_category: S<'a>,
    #[serde(rename = "addendum", borrow)]
    pub addendum: Option<Addendum<'a>>,
    #[serde(rename = "sessionCredentialFromConsole", borrow)]
    pub session_credential_from_console: Option<LooseStr<'a>>,
    #[serde(rename = "edgeDeviceDetails", borrow)]
    pub edge_device_details: J<'a>,
    #[serde(rename = "tlsDetails", borrow)]
    pub tls_details: Option<Tls<'a>>,
    #[serde(rename = "insightDetails", borrow)]
    pub insight_details: J<'a>,
    #[serde(rename = "managementEvent")]
    pub management_event: Option<LooseBool>,
}

#[derive(Deserialize)]
pub struct UserIdentity<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: S<'a>,
    #[serde(rename = "principalId", borrow)]
    pub principal_id: S<'a>,
    #[serde(borrow)]
    pub arn: S<'a>,
    #[serde(rename = "accountId", borrow)]
    pub account_id: S<'a>,
    #[serde(rename = "invokedBy", borrow)]
    pub invoked_by: S<'a>,
    #[serde(rename = "accessKeyId", borrow)]
    pub access_key_id: S<'a>,
    #[serde(rename = "userName", borrow)]
    pub user_name: S<'a>,
    #[serde(rename = "identityStoreArn", borrow)]
    pub identity_store_arn: S<'a>,
    #[serde(rename = "onBehalfOf", borrow)]
    pub on_behalf_of: Option<OnBehalfOf<'a>>,
    #[serde(rename = "sessionContext", borrow)]
    pub session_context: Option<SessionContext<'a>>,
    #[serde(rename = "credentialId", borrow)]
    pub credential_id: S<'a>,
}

#[derive(Deserialize)]
pub struct OnBehalfOf<'a> {
    #[serde(rename = "userId", borrow)]
    pub user_id: S<'a>,
    #[serde(rename = "identityStoreArn", borrow)]
    pub identity_store_arn: S<'a>,
}

#[derive(Deserialize)]
pub struct SessionContext<'a> {
    #[serde(borrow)]
    pub attributes: Option<Attributes<'a>>,
    #[serde(rename = "sessionIssuer", borrow)]
    pub session_issuer: Option<SessionIssuer<'a>>,
    #[serde(rename = "sourceIdentity", borrow)]
    pub source_identity: S<'a>,
    #[serde(rename = "ec2RoleDelivery", borrow)]
    pub ec2_role_delivery: S<'a>,
    #[serde(rename = "assumedRoot", borrow)]
    pub assumed_root: Option<LooseStr<'a>>,
    #[serde(rename = "webIdFederationData", borrow)]
    pub web_id_federation_data: Option<WebId<'a>>,
}

#[derive(Deserialize)]
pub struct Attributes<'a> {
    #[serde(rename = "mfaAuthenticated", borrow)]
    pub mfa_authenticated: Option<LooseStr<'a>>,
    #[serde(rename = "creationDate", borrow)]
    pub creation_date: S<'a>,
}

#[derive(Deserialize)]
pub struct SessionIssuer<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: S<'a>,
    #[serde(rename = "principalId", borrow)]
    pub principal_id: S<'a>,
    #[serde(borrow)]
    pub arn: S<'a>,
    #[serde(rename = "accountId", borrow)]
    pub account_id: S<'a>,
    #[serde(rename = "userName", borrow)]
    pub user_name: S<'a>,
}

#[derive(Deserialize)]
pub struct WebId<'a> {
    #[serde(rename = "federatedProvider", borrow)]
    pub federated_provider: S<'a>,
    #[serde(borrow)]
    pub attributes: J<'a>,
}

#[derive(Deserialize)]
pub struct Resource<'a> {
    #[serde(rename = "ARN", alias = "arn", borrow)]
    pub arn: S<'a>,
    #[serde(rename = "accountId", borrow)]
    pub account_id: S<'a>,
    #[serde(rename = "type", borrow)]
    pub kind: S<'a>,
}

#[derive(Deserialize)]
pub struct Addendum<'a> {
    #[serde(borrow)]
    pub reason: S<'a>,
    #[serde(rename = "updatedFields", borrow)]
    pub updated_fields: S<'a>,
    #[serde(rename = "originalRequestID", borrow)]
    pub original_request_id: S<'a>,
    #[serde(rename = "originalEventID", borrow)]
    pub original_event_id: S<'a>,
}

#[derive(Deserialize)]
pub struct Tls<'a> {
    #[serde(rename = "tlsVersion", borrow)]
    pub tls_version: S<'a>,
    #[serde(rename = "cipherSuite", borrow)]
    pub cipher_suite: S<'a>,
    #[serde(rename = "clientProvidedHostHeader", borrow)]
    pub client_provided_host_header: S<'a>,
}

pub type Failure = (Reason, String);

/// How many `{` and `[` bytes `b` holds. `{` and `[` differ only in bit 0x20; summing 64-byte
/// blocks into a byte counter lets the compiler vectorise the loop (a plain filter-count was a
/// tenth of decoding).
fn openings(b: &[u8]) -> usize {
    b.chunks(64)
        .map(|c| c.iter().fold(0u8, |n, &x| n + u8::from((x | 0x20) == b'{')) as usize)
        .sum()
}

/// Reject text nested deeper than `max` (serde's own limit does not cover the JSON kept as text).
pub fn check_depth(text: &str, max: usize) -> Result<(), Failure> {
    let b = text.as_bytes();
    // Cheap pre-check: nesting cannot exceed the number of opening brackets.
    if openings(b) <= max {
        return Ok(());
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err((
                        Reason::TooDeep,
                        format!("JSON nested deeper than {max} levels (--max-depth)"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
