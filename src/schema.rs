//! The Arrow schemas of the lake's tables (SPEC §3).
//!
//! Names follow the CloudTrail table AWS documents for Athena, all lower case, so published Athena
//! investigation queries port with little change. These functions are the single source of truth:
//! decode builds batches against them and the lake creates its Delta tables from them.

use std::sync::{Arc, LazyLock};

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// `named`'s arrays in the order of `fields`, each found by its name. Builders name what they
/// built, so two columns of one type cannot trade places unnoticed (by position they could: every
/// text column is a Utf8). A missing, unknown or repeated name is an error.
pub fn by_name(
    fields: &Fields,
    mut named: Vec<(&str, ArrayRef)>,
) -> Result<Vec<ArrayRef>, ArrowError> {
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let i = named
            .iter()
            .position(|(n, _)| *n == f.name())
            .ok_or_else(|| ArrowError::SchemaError(format!("no column {} was built", f.name())))?;
        out.push(named.swap_remove(i).1);
    }
    if let Some((extra, _)) = named.first() {
        return Err(ArrowError::SchemaError(format!(
            "column {extra} is not in the schema"
        )));
    }
    Ok(out)
}

/// A batch of `schema` from named columns ([`by_name`]); types are checked as usual.
pub fn batch_by_name(
    schema: SchemaRef,
    named: Vec<(&str, ArrayRef)>,
) -> Result<RecordBatch, ArrowError> {
    let columns = by_name(schema.fields(), named)?;
    RecordBatch::try_new(schema, columns)
}

/// `Timestamp(Microsecond, "UTC")`, the Delta `timestamp` type.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn s(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn st(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

/// Fields of `useridentity.sessioncontext.sessionissuer`.
pub fn session_issuer_fields() -> Vec<Field> {
    vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("username"),
    ]
}

/// Fields of `useridentity`.
pub fn user_identity_fields() -> Vec<Field> {
    vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("invokedby"),
        s("accesskeyid"),
        s("username"),
        s("identitystorearn"),
        st("onbehalfof", vec![s("userid"), s("identitystorearn")]),
        st(
            "sessioncontext",
            vec![
                st(
                    "attributes",
                    vec![
                        s("mfaauthenticated"),
                        Field::new("creationdate", ts_type(), true),
                    ],
                ),
                st("sessionissuer", session_issuer_fields()),
                s("sourceidentity"),
                s("ec2roledelivery"),
                s("assumedroot"),
                st(
                    "webidfederationdata",
                    vec![s("federatedprovider"), s("attributes")],
                ),
            ],
        ),
        s("credentialid"),
    ]
}

/// Fields of one `resources` element.
pub fn resource_fields() -> Fields {
    Fields::from(vec![s("arn"), s("accountid"), s("type")])
}

static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        s("eventversion"),
        st("useridentity", user_identity_fields()),
        Field::new("eventtime", ts_type(), false),
        s("eventsource"),
        s("eventname"),
        s("awsregion"),
        s("sourceipaddress"),
        s("useragent"),
        s("errorcode"),
        s("errormessage"),
        s("requestparameters"),
        s("responseelements"),
        s("additionaleventdata"),
        s("requestid"),
        s("eventid"),
        Field::new(
            "resources",
            DataType::List(Arc::new(Field::new(
                "element",
                DataType::Struct(resource_fields()),
                true,
            ))),
            true,
        ),
        s("eventtype"),
        s("apiversion"),
        Field::new("readonly", DataType::Boolean, true),
        s("recipientaccountid"),
        s("serviceeventdetails"),
        s("sharedeventid"),
        s("vpcendpointid"),
        s("vpcendpointaccountid"),
        s("eventcategory"),
        st(
            "addendum",
            vec![
                s("reason"),
                s("updatedfields"),
                s("originalrequestid"),
                s("originaleventid"),
            ],
        ),
        s("sessioncredentialfromconsole"),
        s("edgedevicedetails"),
        st(
            "tlsdetails",
            vec![
                s("tlsversion"),
                s("ciphersuite"),
                s("clientprovidedhostheader"),
            ],
        ),
        s("insightdetails"),
        Field::new("managementevent", DataType::Boolean, true),
        Field::new("_source", DataType::Utf8, false),
        Field::new("_record", DataType::Int64, false),
        Field::new("_raw", DataType::Utf8, false),
        Field::new("dt", DataType::Utf8, false),
    ]))
});

/// The `events` table: one row per delivered record, partitioned by `dt`.
pub fn events() -> SchemaRef {
    EVENTS.clone()
}

/// The services whose events `identity_events` holds: credential issuing (STS), sign-ins and IAM.
pub const IDENTITY_SOURCES: [&str; 3] = [
    "sts.amazonaws.com",
    "signin.amazonaws.com",
    "iam.amazonaws.com",
];

static IDENTITY_EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(
        EVENTS
            .fields()
            .iter()
            .filter(|f| f.name() != "_raw")
            .cloned()
            .collect::<Vec<_>>(),
    ))
});

/// The `identity_events` table: the `events` rows of [`IDENTITY_SOURCES`], every column but
/// `_raw`, partitioned by `dt`. An index ingest keeps so that session reconstruction reads the
/// few credential and sign-in calls without scanning every event (docs/DESIGN.md).
pub fn identity_events() -> SchemaRef {
    IDENTITY_EVENTS.clone()
}

/// The `objects` table: one row per ingested source object.
pub fn objects() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("bucket"),
        Field::new("key", DataType::Utf8, false),
        Field::new("etag", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new("last_modified", ts_type(), true),
        Field::new("sha256", DataType::Utf8, false),
        Field::new("records", DataType::Int64, false),
        Field::new("rejects", DataType::Int64, false),
        Field::new("batch", DataType::Int64, false),
        Field::new("ingested_at", ts_type(), false),
        // Of the uncompressed bytes, as CloudTrail's digests hash them (SPEC §12). Last, and
        // nullable: lakes written before it have no such column and read as null.
        Field::new("text_sha256", DataType::Utf8, true),
    ]))
}

/// The `rejects` table: one row per rejected object or record, with the reason.
pub fn rejects() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("bucket"),
        Field::new("key", DataType::Utf8, false),
        s("etag"),
        Field::new("record", DataType::Int64, true),
        Field::new("offset", DataType::Int64, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        s("raw"),
        Field::new("batch", DataType::Int64, false),
    ]))
}

/// The `digests` table: CloudTrail digest files with the signature captured beside them (SPEC §12).
pub fn digests() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("bucket"),
        Field::new("key", DataType::Utf8, false),
        Field::new("etag", DataType::Utf8, false),
        s("account"),
        s("region"),
        Field::new("digest_end_time", ts_type(), true),
        Field::new("body", DataType::Utf8, false),
        s("signature"),
        s("signature_algorithm"),
        Field::new(
            "log_files",
            DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
            true,
        ),
        Field::new("batch", DataType::Int64, false),
    ]))
}

/// The `integrity` table: one row per digest, log file and gap of a `validate-logs` run (SPEC §12).
pub fn integrity() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("batch", DataType::Int64, false),
        Field::new("validated_at", ts_type(), false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        s("account"),
        s("region"),
        Field::new("status", DataType::Utf8, false),
        s("detail"),
        s("fingerprint"),
        s("digest"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};

    #[test]
    fn columns_are_placed_by_name_and_every_name_is_checked() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, false),
            Field::new("b", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
        let int: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        // Given in another order, each lands in its own column.
        let b = batch_by_name(
            schema.clone(),
            vec![("n", int.clone()), ("b", text("B")), ("a", text("A"))],
        )
        .expect("a batch");
        assert_eq!(b.column(0).as_ref(), text("A").as_ref());
        assert_eq!(b.column(1).as_ref(), text("B").as_ref());
        let missing = batch_by_name(schema.clone(), vec![("a", text("A")), ("n", int.clone())]);
        assert!(missing.unwrap_err().to_string().contains("no column b"));
        let unknown = batch_by_name(
            schema.clone(),
            vec![
                ("a", text("A")),
                ("b", text("B")),
                ("n", int.clone()),
                ("c", text("C")),
            ],
        );
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("column c is not in the schema")
        );
        let twice = batch_by_name(schema, vec![("a", text("A")), ("a", text("B")), ("n", int)]);
        assert!(twice.is_err());
    }
}
