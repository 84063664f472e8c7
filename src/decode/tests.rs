use super::*;
use arrow::array::{Array, AsArray};

const REC: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:x","arn":"arn:aws:sts::111122223333:assumed-role/BreakGlass/x","accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/BreakGlass"},"attributes":{"creationDate":"20260301T100000Z","mfaAuthenticated":"true"}}},"eventTime":"2026-03-01T10:05:12Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","requestParameters":{"userName":"tmp\u0041"},"responseElements":null,"eventID":"e1","readOnly":false,"resources":[{"ARN":"arn:aws:iam::111122223333:user/tmpA","accountId":"111122223333","type":"AWS::IAM::User"}],"recipientAccountId":"111122223333"}"#;

fn decode(text: &str) -> Decoded {
    decode_object("k", text.as_bytes(), &Limits::default())
}

fn raw_of(d: &Decoded, i: usize) -> String {
    let b = d.batch.as_ref().expect("rows");
    b.column_by_name("_raw")
        .unwrap()
        .as_string::<i32>()
        .value(i)
        .to_string()
}

#[test]
fn shapes_all_give_the_same_record() {
    let shapes = [
        format!("{{\"Records\":[{REC}]}}"),
        format!("[{REC}]"),
        format!("{REC}\n"),
        format!("{REC}\n{REC}\n"),
        format!(
            "{{\"Events\":[{{\"CloudTrailEvent\":{}}}]}}",
            serde_json::to_string(REC).unwrap()
        ),
    ];
    for s in &shapes {
        let d = decode(s);
        assert!(d.rejects.is_empty(), "{s}: {:?}", d.rejects);
        assert!(d.rows() >= 1, "{s}");
        assert_eq!(raw_of(&d, 0), REC, "_raw is byte-identical for {s}");
    }
}

#[test]
fn typed_columns() {
    let d = decode(REC);
    let b = d.batch.unwrap();
    let ui = b.column_by_name("useridentity").unwrap().as_struct();
    let sc = ui.column_by_name("sessioncontext").unwrap().as_struct();
    let attrs = sc.column_by_name("attributes").unwrap().as_struct();
    assert_eq!(
        attrs
            .column_by_name("mfaauthenticated")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "true"
    );
    let created = attrs.column_by_name("creationdate").unwrap();
    assert!(!created.is_null(0));
    let rp = b
        .column_by_name("requestparameters")
        .unwrap()
        .as_string::<i32>()
        .value(0);
    assert_eq!(
        rp, r#"{"userName":"tmp\u0041"}"#,
        "JSON text kept as written"
    );
    assert!(b.column_by_name("responseelements").unwrap().is_null(0));
    assert_eq!(
        b.column_by_name("dt").unwrap().as_string::<i32>().value(0),
        "2026-03-01"
    );
    let res = b.column_by_name("resources").unwrap().as_list::<i32>();
    assert_eq!(res.value(0).len(), 1);
}

#[test]
fn string_booleans_and_json_booleans() {
    let t = REC
        .replace(r#""mfaAuthenticated":"true""#, r#""mfaAuthenticated":true"#)
        .replace(r#""readOnly":false"#, r#""readOnly":"false""#);
    let d = decode(&t);
    assert!(d.rejects.is_empty(), "{:?}", d.rejects);
}
