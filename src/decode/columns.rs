//! Column builders for the `events` schema, filled record by record and finished into one batch.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, ListArray, NullBufferBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Fields};
use arrow::record_batch::RecordBatch;

use super::group::{Group, fields_of, ix, j, ls, make_struct, s};
use super::reason::Reason;
use super::record::{Failure, Record, SessionContext, UserIdentity};
use super::time::{date_of, parse_time};
use crate::schema;

// The string children of each struct column, by name; `finish` places them in schema order.
const TOP: [&str; 25] = [
    "eventversion",
    "eventsource",
    "eventname",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "errorcode",
    "errormessage",
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "requestid",
    "eventid",
    "eventtype",
    "apiversion",
    "recipientaccountid",
    "serviceeventdetails",
    "sharedeventid",
    "vpcendpointid",
    "vpcendpointaccountid",
    "eventcategory",
    "sessioncredentialfromconsole",
    "edgedevicedetails",
    "insightdetails",
    "_raw",
];
const UI: [&str; 8] = [
    "type",
    "principalid",
    "arn",
    "accountid",
    "invokedby",
    "accesskeyid",
    "username",
    "identitystorearn",
];
const OBO: [&str; 2] = ["userid", "identitystorearn"];
const SC: [&str; 3] = ["sourceidentity", "ec2roledelivery", "assumedroot"];
const ISSUER: [&str; 5] = ["type", "principalid", "arn", "accountid", "username"];
const WEBID: [&str; 2] = ["federatedprovider", "attributes"];
const RES: [&str; 3] = ["arn", "accountid", "type"];
const ADDENDUM: [&str; 4] = [
    "reason",
    "updatedfields",
    "originalrequestid",
    "originaleventid",
];
const TLS: [&str; 3] = ["tlsversion", "ciphersuite", "clientprovidedhostheader"];

pub struct Columns {
    len: usize,
    /// Row ranges appended and then taken back (an object whose container turned out bad).
    discarded: Vec<std::ops::Range<usize>>,
    top: [StringBuilder; 25],
    ui: Group<8>,
    ui_credentialid: StringBuilder,
    obo: Group<2>,
    sc: Group<3>,
    attr_valid: NullBufferBuilder,
    attr_mfa: StringBuilder,
    attr_created: TimestampMicrosecondBuilder,
    issuer: Group<5>,
    webid: Group<2>,
    eventtime: TimestampMicrosecondBuilder,
    res_offsets: Vec<i32>,
    res_valid: NullBufferBuilder,
    res: Group<3>,
    readonly: BooleanBuilder,
    managementevent: BooleanBuilder,
    addendum: Group<4>,
    tls: Group<3>,
    source: StringBuilder,
    record: Int64Builder,
}

impl Columns {
    pub fn with_capacity(cap: usize) -> Self {
        let mut top: [StringBuilder; 25] =
            std::array::from_fn(|_| StringBuilder::with_capacity(cap, cap * 16));
        top[ix!(TOP, "_raw")] = StringBuilder::with_capacity(cap, cap * 1536);
        Columns {
            len: 0,
            discarded: Vec::new(),
            top,
            ui: Group::new(cap, &UI),
            ui_credentialid: StringBuilder::new(),
            obo: Group::new(cap, &OBO),
            sc: Group::new(cap, &SC),
            attr_valid: NullBufferBuilder::new(cap),
            attr_mfa: StringBuilder::new(),
            attr_created: TimestampMicrosecondBuilder::with_capacity(cap),
            issuer: Group::new(cap, &ISSUER),
            webid: Group::new(cap, &WEBID),
            eventtime: TimestampMicrosecondBuilder::with_capacity(cap),
            res_offsets: vec![0],
            res_valid: NullBufferBuilder::new(cap),
            res: Group::new(cap, &RES),
            readonly: BooleanBuilder::with_capacity(cap),
            managementevent: BooleanBuilder::with_capacity(cap),
            addendum: Group::new(cap, &ADDENDUM),
            tls: Group::new(cap, &TLS),
            source: StringBuilder::with_capacity(cap, cap * 64),
            record: Int64Builder::with_capacity(cap),
        }
    }

    /// Rows appended since the last `finish`, discarded ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Leave the rows from `start` on out of the next batch. Builders cannot take rows back, so
    /// they are filtered out at `finish`; this is the rare path of a bad container.
    pub fn discard_from(&mut self, start: usize) {
        if start < self.len {
            self.discarded.push(start..self.len);
        }
    }

    pub fn push(
        &mut self,
        r: &Record,
        event_time: i64,
        creation: Option<i64>,
        source: &str,
        index: i64,
        raw: &str,
    ) {
        self.len += 1;
        let t = &mut self.top;
        s(&mut t[ix!(TOP, "eventversion")], &r.event_version);
        s(&mut t[ix!(TOP, "eventsource")], &r.event_source);
        s(&mut t[ix!(TOP, "eventname")], &r.event_name);
        s(&mut t[ix!(TOP, "awsregion")], &r.aws_region);
        s(&mut t[ix!(TOP, "sourceipaddress")], &r.source_ip_address);
        s(&mut t[ix!(TOP, "useragent")], &r.user_agent);
        s(&mut t[ix!(TOP, "errorcode")], &r.error_code);
        s(&mut t[ix!(TOP, "errormessage")], &r.error_message);
        j(&mut t[ix!(TOP, "requestparameters")], &r.request_parameters);
        j(&mut t[ix!(TOP, "responseelements")], &r.response_elements);
        j(
            &mut t[ix!(TOP, "additionaleventdata")],
            &r.additional_event_data,
        );
        s(&mut t[ix!(TOP, "requestid")], &r.request_id);
        s(&mut t[ix!(TOP, "eventid")], &r.event_id);
        s(&mut t[ix!(TOP, "eventtype")], &r.event_type);
        s(&mut t[ix!(TOP, "apiversion")], &r.api_version);
        s(
            &mut t[ix!(TOP, "recipientaccountid")],
            &r.recipient_account_id,
        );
        j(
            &mut t[ix!(TOP, "serviceeventdetails")],
            &r.service_event_details,
        );
        s(&mut t[ix!(TOP, "sharedeventid")], &r.shared_event_id);
        s(&mut t[ix!(TOP, "vpcendpointid")], &r.vpc_endpoint_id);
        s(
            &mut t[ix!(TOP, "vpcendpointaccountid")],
            &r.vpc_endpoint_account_id,
        );
        s(&mut t[ix!(TOP, "eventcategory")], &r.event_category);
        ls(
            &mut t[ix!(TOP, "sessioncredentialfromconsole")],
            &r.session_credential_from_console,
        );
        j(
            &mut t[ix!(TOP, "edgedevicedetails")],
            &r.edge_device_details,
        );
        j(&mut t[ix!(TOP, "insightdetails")], &r.insight_details);
        t[ix!(TOP, "_raw")].append_value(raw);

        self.eventtime.append_value(event_time);
        self.source.append_value(source);
        self.record.append_value(index);
        self.readonly
            .append_option(r.read_only.as_ref().map(|b| b.0));
        self.managementevent
            .append_option(r.management_event.as_ref().map(|b| b.0));

        self.push_identity(r.user_identity.as_ref(), creation);
        self.push_parts(r);
    }

    fn push_identity(&mut self, u: Option<&UserIdentity>, creation: Option<i64>) {
        match u {
            None => {
                self.ui.null();
                self.ui_credentialid.append_null();
                self.obo.null();
                self.push_session_context(None, None);
            }
            Some(u) => {
                self.ui.valid.append_non_null();
                let f = &mut self.ui.f;
                s(&mut f[ix!(UI, "type")], &u.kind);
                s(&mut f[ix!(UI, "principalid")], &u.principal_id);
                s(&mut f[ix!(UI, "arn")], &u.arn);
                s(&mut f[ix!(UI, "accountid")], &u.account_id);
                s(&mut f[ix!(UI, "invokedby")], &u.invoked_by);
                s(&mut f[ix!(UI, "accesskeyid")], &u.access_key_id);
                s(&mut f[ix!(UI, "username")], &u.user_name);
                s(&mut f[ix!(UI, "identitystorearn")], &u.identity_store_arn);
                s(&mut self.ui_credentialid, &u.credential_id);
                match &u.on_behalf_of {
                    None => self.obo.null(),
                    Some(o) => {
                        self.obo.valid.append_non_null();
                        s(&mut self.obo.f[ix!(OBO, "userid")], &o.user_id);
                        let store = &mut self.obo.f[ix!(OBO, "identitystorearn")];
                        s(store, &o.identity_store_arn);
                    }
                }
                self.push_session_context(u.session_context.as_ref(), creation);
            }
        }
    }

    fn push_session_context(&mut self, c: Option<&SessionContext>, creation: Option<i64>) {
        match c {
            None => {
                self.sc.null();
                self.attr_valid.append_null();
                self.attr_mfa.append_null();
                self.attr_created.append_null();
                self.issuer.null();
                self.webid.null();
            }
            Some(c) => {
                self.sc.valid.append_non_null();
                let f = &mut self.sc.f;
                s(&mut f[ix!(SC, "sourceidentity")], &c.source_identity);
                s(&mut f[ix!(SC, "ec2roledelivery")], &c.ec2_role_delivery);
                ls(&mut f[ix!(SC, "assumedroot")], &c.assumed_root);
                match &c.attributes {
                    None => {
                        self.attr_valid.append_null();
                        self.attr_mfa.append_null();
                        self.attr_created.append_null();
                    }
                    Some(a) => {
                        self.attr_valid.append_non_null();
                        ls(&mut self.attr_mfa, &a.mfa_authenticated);
                        self.attr_created.append_option(creation);
                    }
                }
                match &c.session_issuer {
                    None => self.issuer.null(),
                    Some(i) => {
                        self.issuer.valid.append_non_null();
                        let f = &mut self.issuer.f;
                        s(&mut f[ix!(ISSUER, "type")], &i.kind);
                        s(&mut f[ix!(ISSUER, "principalid")], &i.principal_id);
                        s(&mut f[ix!(ISSUER, "arn")], &i.arn);
                        s(&mut f[ix!(ISSUER, "accountid")], &i.account_id);
                        s(&mut f[ix!(ISSUER, "username")], &i.user_name);
                    }
                }
                match &c.web_id_federation_data {
                    None => self.webid.null(),
                    Some(w) => {
                        self.webid.valid.append_non_null();
                        let f = &mut self.webid.f;
                        s(
                            &mut f[ix!(WEBID, "federatedprovider")],
                            &w.federated_provider,
                        );
                        j(&mut f[ix!(WEBID, "attributes")], &w.attributes);
                    }
                }
            }
        }
    }

    /// `resources`, `addendum` and `tlsdetails`.
    fn push_parts(&mut self, r: &Record) {
        match &r.resources {
            None => self.res_valid.append_null(),
            Some(list) => {
                self.res_valid.append_non_null();
                for x in list {
                    self.res.valid.append_non_null();
                    let f = &mut self.res.f;
                    s(&mut f[ix!(RES, "arn")], &x.arn);
                    s(&mut f[ix!(RES, "accountid")], &x.account_id);
                    s(&mut f[ix!(RES, "type")], &x.kind);
                }
            }
        }
        let children = self.res.f[ix!(RES, "arn")].len() as i32;
        self.res_offsets.push(children);

        match &r.addendum {
            None => self.addendum.null(),
            Some(a) => {
                self.addendum.valid.append_non_null();
                let f = &mut self.addendum.f;
                s(&mut f[ix!(ADDENDUM, "reason")], &a.reason);
                s(&mut f[ix!(ADDENDUM, "updatedfields")], &a.updated_fields);
                s(
                    &mut f[ix!(ADDENDUM, "originalrequestid")],
                    &a.original_request_id,
                );
                s(
                    &mut f[ix!(ADDENDUM, "originaleventid")],
                    &a.original_event_id,
                );
            }
        }
        match &r.tls_details {
            None => self.tls.null(),
            Some(x) => {
                self.tls.valid.append_non_null();
                let f = &mut self.tls.f;
                s(&mut f[ix!(TLS, "tlsversion")], &x.tls_version);
                s(&mut f[ix!(TLS, "ciphersuite")], &x.cipher_suite);
                s(
                    &mut f[ix!(TLS, "clientprovidedhostheader")],
                    &x.client_provided_host_header,
                );
            }
        }
    }

    /// The `useridentity` struct column of the rows pushed so far.
    fn finish_identity(&mut self, ui_fields: Fields) -> ArrayRef {
        let sub = |fields: &Fields, name: &str| -> Fields {
            fields
                .find(name)
                .map(|(_, f)| fields_of(f.data_type()))
                .unwrap_or_else(Fields::empty)
        };
        let sc_fields = sub(&ui_fields, "sessioncontext");

        let attributes = make_struct(
            sub(&sc_fields, "attributes"),
            vec![
                ("mfaauthenticated", Arc::new(self.attr_mfa.finish())),
                (
                    "creationdate",
                    Arc::new(self.attr_created.finish().with_timezone("UTC")),
                ),
            ],
            &mut self.attr_valid,
        );
        let issuer_children = self.issuer.children();
        let issuer = make_struct(
            sub(&sc_fields, "sessionissuer"),
            issuer_children,
            &mut self.issuer.valid,
        );
        let webid_children = self.webid.children();
        let webid = make_struct(
            sub(&sc_fields, "webidfederationdata"),
            webid_children,
            &mut self.webid.valid,
        );
        let mut sc_children = self.sc.children();
        sc_children.extend([
            ("attributes", attributes),
            ("sessionissuer", issuer),
            ("webidfederationdata", webid),
        ]);
        let sessioncontext = make_struct(sc_fields, sc_children, &mut self.sc.valid);
        let obo_children = self.obo.children();
        let onbehalfof = make_struct(
            sub(&ui_fields, "onbehalfof"),
            obo_children,
            &mut self.obo.valid,
        );
        let mut ui_children = self.ui.children();
        ui_children.extend([
            ("onbehalfof", onbehalfof),
            ("sessioncontext", sessioncontext),
            (
                "credentialid",
                Arc::new(self.ui_credentialid.finish()) as ArrayRef,
            ),
        ]);
        make_struct(ui_fields, ui_children, &mut self.ui.valid)
    }

    /// Build the batch of the rows pushed so far and start anew.
    pub fn finish(&mut self) -> RecordBatch {
        let schema = schema::events();
        let field = |name: &str| -> DataType {
            schema
                .field_with_name(name)
                .map(|f| f.data_type().clone())
                .unwrap_or(DataType::Null)
        };
        let useridentity = self.finish_identity(fields_of(&field("useridentity")));

        let res_children = self.res.children();
        let res_struct = make_struct(schema::resource_fields(), res_children, &mut self.res.valid);
        let res_field = match field("resources") {
            DataType::List(f) => f,
            _ => unreachable!("resources is a list"),
        };
        let resources: ArrayRef = Arc::new(ListArray::new(
            res_field,
            OffsetBuffer::new(std::mem::take(&mut self.res_offsets).into()),
            res_struct,
            self.res_valid.finish(),
        ));
        self.res_offsets.push(0);

        let addendum_children = self.addendum.children();
        let addendum = make_struct(
            fields_of(&field("addendum")),
            addendum_children,
            &mut self.addendum.valid,
        );
        let tls_children = self.tls.children();
        let tls = make_struct(
            fields_of(&field("tlsdetails")),
            tls_children,
            &mut self.tls.valid,
        );

        let eventtime = self.eventtime.finish().with_timezone("UTC");
        // Rows of one object mostly share a day: format each day once.
        let mut dt = StringBuilder::with_capacity(eventtime.len(), eventtime.len() * 10);
        let mut last: Option<(i64, String)> = None;
        for t in eventtime.values().iter() {
            let day = t.div_euclid(86_400_000_000);
            match &last {
                Some((d, s)) if *d == day => dt.append_value(s),
                _ => {
                    let s = date_of(*t);
                    dt.append_value(&s);
                    last = Some((day, s));
                }
            }
        }
        let n = self.len;
        let mut columns: Vec<(&str, ArrayRef)> = TOP
            .iter()
            .copied()
            .zip(
                self.top
                    .iter_mut()
                    .map(|b| Arc::new(b.finish()) as ArrayRef),
            )
            .collect();
        columns.extend([
            ("useridentity", useridentity),
            ("eventtime", Arc::new(eventtime) as ArrayRef),
            ("resources", resources),
            ("readonly", Arc::new(self.readonly.finish())),
            ("addendum", addendum),
            ("tlsdetails", tls),
            ("managementevent", Arc::new(self.managementevent.finish())),
            ("_source", Arc::new(self.source.finish())),
            ("_record", Arc::new(self.record.finish())),
            ("dt", Arc::new(dt.finish())),
        ]);
        self.len = 0;
        debug_assert!(columns.iter().all(|(_, c)| c.len() == n));
        let batch = match schema::batch_by_name(schema, columns) {
            Ok(b) => b,
            // The builders are filled in lock step and named after the schema's columns; a
            // mismatch is a bug in this file, not input.
            Err(e) => unreachable!("events batch does not match its schema: {e}"),
        };
        let discarded = std::mem::take(&mut self.discarded);
        if discarded.is_empty() {
            return batch;
        }
        let mut keep = vec![true; n];
        for r in discarded {
            keep[r].fill(false);
        }
        match arrow::compute::filter_record_batch(&batch, &keep.into()) {
            Ok(b) => b,
            Err(e) => unreachable!("a mask of the batch's own length: {e}"),
        }
    }
}

/// Parse one record and append it to `cols`; nothing is appended when it fails.
pub fn append(cols: &mut Columns, text: &str, source: &str, index: i64) -> Result<(), Failure> {
    let rec: Record = serde_json::from_str(text).map_err(|e| {
        let code = if e.is_data() {
            Reason::BadRecord
        } else {
            Reason::JsonSyntax
        };
        (code, format!("record {index}: {e}"))
    })?;
    push(cols, &rec, text, source, index)
}

/// Append a parsed record whose text is `text`, after checking its times; nothing is appended
/// when they are not times.
pub fn push(
    cols: &mut Columns,
    rec: &Record,
    text: &str,
    source: &str,
    index: i64,
) -> Result<(), Failure> {
    let event_time = match &rec.event_time {
        None => {
            return Err((
                Reason::BadEventTime,
                format!("record {index}: no eventTime"),
            ));
        }
        Some(t) => parse_time(&t.0).ok_or_else(|| {
            (
                Reason::BadEventTime,
                format!("record {index}: eventTime {:?} is not a time", t.0),
            )
        })?,
    };
    let creation = match rec
        .user_identity
        .as_ref()
        .and_then(|u| u.session_context.as_ref())
        .and_then(|s| s.attributes.as_ref())
        .and_then(|a| a.creation_date.as_ref())
    {
        None => None,
        Some(c) if c.0.is_empty() => None,
        Some(c) => Some(parse_time(&c.0).ok_or_else(|| {
            (
                Reason::BadRecord,
                format!(
                    "record {index}: userIdentity.sessionContext.attributes.creationDate {:?} is not a time",
                    c.0
                ),
            )
        })?),
    };
    cols.push(rec, event_time, creation, source, index, text);
    Ok(())
}
