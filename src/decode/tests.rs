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

/// The one-pass parse of `{"Records":[…]}` and the general path must agree on every object:
/// rows, `_raw`, and each reject's record, code and detail. The general path is reached with a
/// shape the one-pass parse refuses (a leading byte-order mark).
#[test]
fn one_pass_and_general_path_agree() {
    let bad_type = REC.replace(r#""eventName":"CreateUser""#, r#""eventName":7"#);
    let bad_time = REC.replace("2026-03-01T10:05:12Z", "yesterday");
    let deep = REC.replace(
        r#""responseElements":null"#,
        &format!(
            r#""responseElements":{}1{}"#,
            "[".repeat(200),
            "]".repeat(200)
        ),
    );
    let objects = [
        format!("{{\"Records\":[{REC},{bad_type},5,\"x\",{REC}]}}"),
        format!("{{\"Records\":[{bad_time},{deep},{REC}]}}\n"),
        " { \"Records\" : [ ] } ".to_string(),
        // Another key after the records: the general path's shape (ignored, as before).
        format!("{{\"Records\":[{REC}],\"Other\":1}}"),
        // Bad containers: good records first, then a syntax error, a cut, trailing bytes.
        // None of their records may be ingested.
        format!("{{\"Records\":[{REC},{REC},{{\"eventTime\":]}}"),
        format!("{{\"Records\":[{REC},{REC}"),
        format!("{{\"Records\":[{REC}]}} trailing"),
    ];
    for o in &objects {
        let fast = decode(o);
        let general = decode(&format!("\u{feff}{o}"));
        assert_eq!(fast.rows(), general.rows(), "{o}");
        let strip = |r: &Reject| (r.record, r.code, r.detail.clone(), r.raw.clone());
        assert_eq!(
            fast.rejects.iter().map(strip).collect::<Vec<_>>(),
            general.rejects.iter().map(strip).collect::<Vec<_>>(),
            "{o}"
        );
        for i in 0..fast.rows() {
            assert_eq!(raw_of(&fast, i), raw_of(&general, i), "{o}");
        }
    }
    assert_eq!(decode(&objects[0]).rows(), 2);
    assert_eq!(decode(&objects[0]).rejects.len(), 3);
    assert_eq!(decode(&objects[1]).rows(), 1);
    assert_eq!(decode(&objects[3]).rows(), 1);
    for o in &objects[4..] {
        let d = decode(o);
        assert_eq!((d.rows(), d.rejects.len()), (0, 1), "{o}: {:?}", d.rejects);
    }
}

/// Rows a bad container appended before its error are left out of the batch the decoder
/// finishes, and the objects around it keep theirs, in order.
#[test]
fn a_bad_container_among_good_objects_leaves_no_rows() {
    let mut d = Decoder::new(Limits::default());
    let good = format!("{{\"Records\":[{REC},{REC}]}}");
    let bad = format!("{{\"Records\":[{REC},{REC},{REC}],");
    let first = d.decode("a", good.as_bytes());
    let middle = d.decode("b", bad.as_bytes());
    let last = d.decode("c", good.as_bytes());
    assert_eq!((first.rows, middle.rows, last.rows), (2, 0, 2));
    assert_eq!(middle.rejects.len(), 1);
    let b = d.finish().expect("rows");
    let sources: Vec<&str> = b
        .column_by_name("_source")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or(""))
        .collect();
    assert_eq!(sources, ["a", "a", "c", "c"]);
}

/// Issue 17: an object past its time budget is rejected `timeout` whole (no rows), and the
/// decoder goes on with the next object.
#[test]
fn an_object_past_its_time_budget_is_rejected_whole() {
    let text = format!("{{\"Records\":[{REC},{REC}]}}");
    let mut d = Decoder::new(Limits {
        object_timeout: Some(std::time::Duration::ZERO),
        ..Limits::default()
    });
    let o = d.decode("slow", text.as_bytes());
    assert_eq!(o.rows, 0);
    assert_eq!(
        o.rejects
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>(),
        ["timeout"]
    );
    assert!(d.finish().is_none(), "no row of it is kept");
    let mut d = Decoder::new(Limits::default());
    assert_eq!(d.decode("fast", text.as_bytes()).rows, 2);
}

/// One damage to an object: a byte change, a cut, an insertion or a removal at an index.
#[derive(Debug, Clone)]
enum Damage {
    Set(proptest::sample::Index, u8),
    Cut(proptest::sample::Index),
    Insert(proptest::sample::Index, u8),
    Remove(proptest::sample::Index),
}

fn damage() -> impl proptest::strategy::Strategy<Value = Damage> {
    use proptest::prelude::*;
    use proptest::sample::Index;
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        any::<Index>().prop_map(Damage::Cut),
        (
            any::<Index>(),
            proptest::sample::select(b"{}[],:\"\\0a\n\xff".to_vec())
        )
            .prop_map(|(i, b)| Damage::Insert(i, b)),
        any::<Index>().prop_map(Damage::Remove),
    ]
}

proptest::proptest! {
    #![proptest_config(crate::proptest_config(2117, 3_000))]

    /// R21: the decoder over random damage to good objects (byte changes, cuts, insertions,
    /// gzip-wrapped or not; proptest, fixed seed). It never panics; a record is kept whole or
    /// rejected whole: every row's `_raw` is text of the decompressed object, byte for byte, and
    /// rows plus record rejects never exceed the records the container holds, or the object gives
    /// one object-level reject.
    #[test]
    fn r21_damaged_objects_never_panic_and_records_are_whole_or_rejected(
        damages in proptest::collection::vec(damage(), 1..=3),
        gz in proptest::bool::weighted(0.3),
        flip in proptest::option::weighted(0.5, (proptest::prelude::any::<proptest::sample::Index>(), 0u8..8)),
    ) {
        use std::io::Write;
        let good = format!("{{\"Records\":[{REC},{REC},{REC}]}}");
        let mut bytes = good.into_bytes();
        for dmg in &damages {
            if bytes.is_empty() {
                break;
            }
            let n = bytes.len();
            match dmg {
                Damage::Set(i, b) => bytes[i.index(n)] = *b,
                Damage::Cut(i) => bytes.truncate(i.index(n)),
                Damage::Insert(i, b) => bytes.insert(i.index(n), *b),
                Damage::Remove(i) => {
                    bytes.remove(i.index(n));
                }
            }
        }
        let input = if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).expect("compress");
            let mut z = e.finish().expect("compress");
            if let Some((i, bit)) = flip {
                let at = i.index(z.len());
                z[at] ^= 1 << bit;
            }
            z
        } else {
            bytes.clone()
        };
        let d = decode_object("k", &input, &Limits::default());
        let text = inflate(&input, &Limits::default())
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        let object_rejects = d.rejects.iter().filter(|r| r.record.is_none()).count();
        if object_rejects > 0 {
            proptest::prop_assert_eq!(d.rows(), 0, "a bad container gives no rows");
            proptest::prop_assert_eq!(d.rejects.len(), 1, "one reject for the object");
            return Ok(());
        }
        proptest::prop_assert!(d.rows() + d.rejects.len() <= 3, "{:?}", d.rejects);
        for i in 0..d.rows() {
            let raw = raw_of(&d, i);
            proptest::prop_assert!(text.contains(&raw), "row {} is not whole: {}", i, raw);
        }
    }
}
