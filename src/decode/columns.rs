//! Column builders for the `events` schema, filled record by record and finished into one batch.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, ListArray, NullBufferBuilder,
    StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Fields};
use arrow::record_batch::RecordBatch;
use serde_json::value::RawValue;

use super::record::{LooseStr, Record, Str};
use super::time::date_of;
use crate::schema;

fn s(b: &mut StringBuilder, v: &Option<Str>) {
    b.append_option(v.as_ref().map(|x| &*x.0));
}
fn ls(b: &mut StringBuilder, v: &Option<LooseStr>) {
    b.append_option(v.as_ref().map(|x| &*x.0));
}
fn j(b: &mut StringBuilder, v: &Option<&RawValue>) {
    b.append_option(v.map(|x| x.get()));
}

/// A struct column: validity plus string children (in schema order) and optional nested parts.
struct Group<const N: usize> {
    valid: NullBufferBuilder,
    f: [StringBuilder; N],
}

impl<const N: usize> Group<N> {
    fn new(cap: usize) -> Self {
        Group {
            valid: NullBufferBuilder::new(cap),
            f: std::array::from_fn(|_| StringBuilder::with_capacity(cap, cap * 16)),
        }
    }
    fn null(&mut self) {
        self.valid.append_null();
        for b in &mut self.f {
            b.append_null();
        }
    }
    fn children(&mut self) -> Vec<ArrayRef> {
        self.f
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect()
    }
}

fn fields_of(dt: &DataType) -> Fields {
    match dt {
        DataType::Struct(f) => f.clone(),
        _ => Fields::empty(),
    }
}

fn make_struct(fields: Fields, children: Vec<ArrayRef>, valid: &mut NullBufferBuilder) -> ArrayRef {
    Arc::new(StructArray::new(fields, children, valid.finish()))
}

pub struct Columns {
    len: usize,
    /// Row ranges appended and then taken back (an object whose container turned out bad).
    discarded: Vec<std::ops::Range<usize>>,
    top: [StringBuilder; 25],
    // useridentity: type principalid arn accountid invokedby accesskeyid username identitystorearn
    ui: Group<8>,
    ui_credentialid: StringBuilder,
    obo: Group<2>,
    sc: Group<3>, // sourceidentity ec2roledelivery assumedroot
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

// Indexes into `top`, the plain string columns, in the order `finish` places them.
const EVENTVERSION: usize = 0;
const EVENTSOURCE: usize = 1;
const EVENTNAME: usize = 2;
const AWSREGION: usize = 3;
const SOURCEIP: usize = 4;
const USERAGENT: usize = 5;
const ERRORCODE: usize = 6;
const ERRORMESSAGE: usize = 7;
const REQPARAMS: usize = 8;
const RESPELEMS: usize = 9;
const ADDLDATA: usize = 10;
const REQUESTID: usize = 11;
const EVENTID: usize = 12;
const EVENTTYPE: usize = 13;
const APIVERSION: usize = 14;
const RECIPIENT: usize = 15;
const SVCDETAILS: usize = 16;
const SHAREDEVENTID: usize = 17;
const VPCE: usize = 18;
const VPCEACCOUNT: usize = 19;
const CATEGORY: usize = 20;
const FROMCONSOLE: usize = 21;
const EDGE: usize = 22;
const INSIGHT: usize = 23;
const SOURCE_RAW: usize = 24; // `_raw`; `_source` and `dt` are built at the end

impl Columns {
    pub fn with_capacity(cap: usize) -> Self {
        let mut top: [StringBuilder; 25] =
            std::array::from_fn(|_| StringBuilder::with_capacity(cap, cap * 16));
        top[SOURCE_RAW] = StringBuilder::with_capacity(cap, cap * 1536);
        Columns {
            len: 0,
            discarded: Vec::new(),
            top,
            ui: Group::new(cap),
            ui_credentialid: StringBuilder::new(),
            obo: Group::new(cap),
            sc: Group::new(cap),
            attr_valid: NullBufferBuilder::new(cap),
            attr_mfa: StringBuilder::new(),
            attr_created: TimestampMicrosecondBuilder::with_capacity(cap),
            issuer: Group::new(cap),
            webid: Group::new(cap),
            eventtime: TimestampMicrosecondBuilder::with_capacity(cap),
            res_offsets: vec![0],
            res_valid: NullBufferBuilder::new(cap),
            res: Group::new(cap),
            readonly: BooleanBuilder::with_capacity(cap),
            managementevent: BooleanBuilder::with_capacity(cap),
            addendum: Group::new(cap),
            tls: Group::new(cap),
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
        s(&mut t[EVENTVERSION], &r.event_version);
        s(&mut t[EVENTSOURCE], &r.event_source);
        s(&mut t[EVENTNAME], &r.event_name);
        s(&mut t[AWSREGION], &r.aws_region);
        s(&mut t[SOURCEIP], &r.source_ip_address);
        s(&mut t[USERAGENT], &r.user_agent);
        s(&mut t[ERRORCODE], &r.error_code);
        s(&mut t[ERRORMESSAGE], &r.error_message);
        j(&mut t[REQPARAMS], &r.request_parameters);
        j(&mut t[RESPELEMS], &r.response_elements);
        j(&mut t[ADDLDATA], &r.additional_event_data);
        s(&mut t[REQUESTID], &r.request_id);
        s(&mut t[EVENTID], &r.event_id);
        s(&mut t[EVENTTYPE], &r.event_type);
        s(&mut t[APIVERSION], &r.api_version);
        s(&mut t[RECIPIENT], &r.recipient_account_id);
        j(&mut t[SVCDETAILS], &r.service_event_details);
        s(&mut t[SHAREDEVENTID], &r.shared_event_id);
        s(&mut t[VPCE], &r.vpc_endpoint_id);
        s(&mut t[VPCEACCOUNT], &r.vpc_endpoint_account_id);
        s(&mut t[CATEGORY], &r.event_category);
        ls(&mut t[FROMCONSOLE], &r.session_credential_from_console);
        j(&mut t[EDGE], &r.edge_device_details);
        j(&mut t[INSIGHT], &r.insight_details);
        t[SOURCE_RAW].append_value(raw);

        self.eventtime.append_value(event_time);
        self.source.append_value(source);
        self.record.append_value(index);
        self.readonly
            .append_option(r.read_only.as_ref().map(|b| b.0));
        self.managementevent
            .append_option(r.management_event.as_ref().map(|b| b.0));

        match &r.user_identity {
            None => {
                self.ui.null();
                self.ui_credentialid.append_null();
                self.obo.null();
                self.sc.null();
                self.attr_valid.append_null();
                self.attr_mfa.append_null();
                self.attr_created.append_null();
                self.issuer.null();
                self.webid.null();
            }
            Some(u) => {
                self.ui.valid.append_non_null();
                let f = &mut self.ui.f;
                s(&mut f[0], &u.kind);
                s(&mut f[1], &u.principal_id);
                s(&mut f[2], &u.arn);
                s(&mut f[3], &u.account_id);
                s(&mut f[4], &u.invoked_by);
                s(&mut f[5], &u.access_key_id);
                s(&mut f[6], &u.user_name);
                s(&mut f[7], &u.identity_store_arn);
                s(&mut self.ui_credentialid, &u.credential_id);
                match &u.on_behalf_of {
                    None => self.obo.null(),
                    Some(o) => {
                        self.obo.valid.append_non_null();
                        s(&mut self.obo.f[0], &o.user_id);
                        s(&mut self.obo.f[1], &o.identity_store_arn);
                    }
                }
                match &u.session_context {
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
                        s(&mut self.sc.f[0], &c.source_identity);
                        s(&mut self.sc.f[1], &c.ec2_role_delivery);
                        ls(&mut self.sc.f[2], &c.assumed_root);
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
                                s(&mut f[0], &i.kind);
                                s(&mut f[1], &i.principal_id);
                                s(&mut f[2], &i.arn);
                                s(&mut f[3], &i.account_id);
                                s(&mut f[4], &i.user_name);
                            }
                        }
                        match &c.web_id_federation_data {
                            None => self.webid.null(),
                            Some(w) => {
                                self.webid.valid.append_non_null();
                                s(&mut self.webid.f[0], &w.federated_provider);
                                j(&mut self.webid.f[1], &w.attributes);
                            }
                        }
                    }
                }
            }
        }

        match &r.resources {
            None => self.res_valid.append_null(),
            Some(list) => {
                self.res_valid.append_non_null();
                for x in list {
                    self.res.valid.append_non_null();
                    s(&mut self.res.f[0], &x.arn);
                    s(&mut self.res.f[1], &x.account_id);
                    s(&mut self.res.f[2], &x.kind);
                }
            }
        }
        let children = self.res.f[0].len() as i32;
        self.res_offsets.push(children);

        match &r.addendum {
            None => self.addendum.null(),
            Some(a) => {
                self.addendum.valid.append_non_null();
                let f = &mut self.addendum.f;
                s(&mut f[0], &a.reason);
                s(&mut f[1], &a.updated_fields);
                s(&mut f[2], &a.original_request_id);
                s(&mut f[3], &a.original_event_id);
            }
        }
        match &r.tls_details {
            None => self.tls.null(),
            Some(x) => {
                self.tls.valid.append_non_null();
                let f = &mut self.tls.f;
                s(&mut f[0], &x.tls_version);
                s(&mut f[1], &x.cipher_suite);
                s(&mut f[2], &x.client_provided_host_header);
            }
        }
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
        let ui_fields = fields_of(&field("useridentity"));
        let sc_fields = fields_of(ui_fields[9].data_type());
        let attr_fields = fields_of(sc_fields[0].data_type());
        let issuer_fields = fields_of(sc_fields[1].data_type());
        let webid_fields = fields_of(sc_fields[5].data_type());
        let obo_fields = fields_of(ui_fields[8].data_type());

        let attributes = make_struct(
            attr_fields,
            vec![
                Arc::new(self.attr_mfa.finish()),
                Arc::new(self.attr_created.finish().with_timezone("UTC")),
            ],
            &mut self.attr_valid,
        );
        let issuer_children = self.issuer.children();
        let issuer = make_struct(issuer_fields, issuer_children, &mut self.issuer.valid);
        let webid_children = self.webid.children();
        let webid = make_struct(webid_fields, webid_children, &mut self.webid.valid);
        let [sourceidentity, ec2roledelivery, assumedroot]: [ArrayRef; 3] = self
            .sc
            .children()
            .try_into()
            .unwrap_or_else(|_| unreachable!("three children"));
        let sessioncontext = make_struct(
            sc_fields,
            vec![
                attributes,
                issuer,
                sourceidentity,
                ec2roledelivery,
                assumedroot,
                webid,
            ],
            &mut self.sc.valid,
        );
        let obo_children = self.obo.children();
        let onbehalfof = make_struct(obo_fields, obo_children, &mut self.obo.valid);
        let mut ui_children = self.ui.children();
        ui_children.push(onbehalfof);
        ui_children.push(sessioncontext);
        ui_children.push(Arc::new(self.ui_credentialid.finish()));
        let useridentity = make_struct(ui_fields, ui_children, &mut self.ui.valid);

        let res_children = self.res.children();
        let res_struct = StructArray::new(
            schema::resource_fields(),
            res_children,
            self.res.valid.finish(),
        );
        let res_field = match field("resources") {
            DataType::List(f) => f,
            _ => unreachable!("resources is a list"),
        };
        let resources: ArrayRef = Arc::new(ListArray::new(
            res_field,
            OffsetBuffer::new(std::mem::take(&mut self.res_offsets).into()),
            Arc::new(res_struct),
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
        let mut t: Vec<ArrayRef> = self
            .top
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let mut take = |i: usize| {
            std::mem::replace(
                &mut t[i],
                Arc::new(arrow::array::new_null_array(&DataType::Utf8, 0)),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            take(EVENTVERSION),
            useridentity,
            Arc::new(eventtime),
            take(EVENTSOURCE),
            take(EVENTNAME),
            take(AWSREGION),
            take(SOURCEIP),
            take(USERAGENT),
            take(ERRORCODE),
            take(ERRORMESSAGE),
            take(REQPARAMS),
            take(RESPELEMS),
            take(ADDLDATA),
            take(REQUESTID),
            take(EVENTID),
            resources,
            take(EVENTTYPE),
            take(APIVERSION),
            Arc::new(self.readonly.finish()),
            take(RECIPIENT),
            take(SVCDETAILS),
            take(SHAREDEVENTID),
            take(VPCE),
            take(VPCEACCOUNT),
            take(CATEGORY),
            addendum,
            take(FROMCONSOLE),
            take(EDGE),
            tls,
            take(INSIGHT),
            Arc::new(self.managementevent.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.record.finish()),
            take(SOURCE_RAW),
            Arc::new(dt.finish()),
        ];
        self.len = 0;
        debug_assert!(columns.iter().all(|c| c.len() == n));
        let batch = match RecordBatch::try_new(schema, columns) {
            Ok(b) => b,
            // The builders above are filled in lock step; a mismatch is a bug in this file, not input.
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
