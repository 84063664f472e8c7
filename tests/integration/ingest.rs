//! Ingest guarantees on the bundled sample: exactly once, filters, layout, schema, pruning, safety.

use std::os::unix::fs::PermissionsExt;

use super::util::{Workdir, copy_tree, sample, walk};

#[test]
fn ingesting_twice_adds_nothing() {
    let w = Workdir::new();
    let first = w.ingest(&sample(), &[]);
    let n = w.count("SELECT count(*) FROM events");
    assert!(n > 1000, "sample has thousands of records: {first}");
    assert_eq!(first["records"], n);
    let objects = w.count("SELECT count(*) FROM objects");
    let second = w.ingest(&sample(), &[]);
    assert_eq!(second["objects_ingested"], 0, "{second}");
    assert_eq!(
        second["objects_already_ingested"],
        first["objects_ingested"]
    );
    assert_eq!(w.count("SELECT count(*) FROM events"), n);
    assert_eq!(w.count("SELECT count(*) FROM objects"), objects);
    assert_eq!(
        w.count("SELECT count(*) FROM (SELECT _source, _record FROM events GROUP BY 1, 2 HAVING count(*) > 1)"),
        0
    );
}

#[test]
fn a_changed_object_is_rejected_not_merged() {
    let w = Workdir::new();
    let src = w.path().join("trail");
    copy_tree(&sample(), &src);
    w.ingest(&src, &[]);
    let n = w.count("SELECT count(*) FROM events");
    let victim = walk(&src)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("/CloudTrail/")
                && p.to_string_lossy().ends_with(".json.gz")
        })
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.extend_from_slice(&bytes.clone());
    std::fs::write(&victim, bytes).unwrap();
    let s = w.ingest(&src, &[]);
    assert_eq!(s["changed_objects"], 1, "{s}");
    assert_eq!(w.count("SELECT count(*) FROM events"), n);
    assert_eq!(
        w.count("SELECT count(*) FROM rejects WHERE reason = 'changed_object'"),
        1
    );
    let again = w.ingest(&src, &[]);
    assert_eq!(again["changed_objects"], 0, "reported once: {again}");
}

#[test]
fn filters_prune_by_the_key_layout() {
    let w = Workdir::new();
    let all = Workdir::new();
    all.ingest(&sample(), &[]);
    let accounts = all.sql("SELECT DISTINCT key FROM objects ORDER BY key");
    let first_key = accounts[0]["key"].as_str().unwrap().to_string();
    let parts: Vec<&str> = first_key.split('/').collect();
    let at = parts.iter().position(|p| *p == "AWSLogs").unwrap();
    let off = if parts[at + 1].starts_with("o-") {
        2
    } else {
        1
    };
    let (account, region) = (parts[at + off], parts[at + off + 2]);
    let day = format!(
        "{}-{}-{}",
        parts[at + off + 3],
        parts[at + off + 4],
        parts[at + off + 5]
    );
    let s = w.ingest(
        &sample(),
        &[
            "--accounts",
            account,
            "--regions",
            region,
            "--from",
            &day,
            "--to",
            &day,
        ],
    );
    let keys = w.sql("SELECT key FROM objects");
    assert!(!keys.is_empty(), "{s}");
    let next = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .unwrap()
        .succ_opt()
        .unwrap();
    for k in &keys {
        let k = k["key"].as_str().unwrap();
        assert!(
            k.contains(&format!("/{account}/CloudTrail/{region}/")),
            "{k}"
        );
        assert!(
            k.contains(&day.replace('-', "/")) || k.contains(&next.format("%Y/%m/%d").to_string()),
            "{k} outside {day}..+1"
        );
    }
    let expected = all.count(&format!(
        "SELECT count(*) FROM objects WHERE key LIKE '%/{account}/CloudTrail/{region}/%' AND (key LIKE '%/{}/%' OR key LIKE '%/{}/%')",
        day.replace('-', "/"),
        next.format("%Y/%m/%d")
    ));
    assert_eq!(keys.len() as i64, expected);
}

#[test]
fn events_columns_have_the_spec_names_and_types() {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    let cols = w.sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position",
    );
    let got: Vec<(String, String)> = cols
        .iter()
        .map(|c| {
            (
                c["column_name"].as_str().unwrap().into(),
                c["data_type"].as_str().unwrap().into(),
            )
        })
        .collect();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "eventversion",
        "useridentity",
        "eventtime",
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
        "resources",
        "eventtype",
        "apiversion",
        "readonly",
        "recipientaccountid",
        "serviceeventdetails",
        "sharedeventid",
        "vpcendpointid",
        "vpcendpointaccountid",
        "eventcategory",
        "addendum",
        "sessioncredentialfromconsole",
        "edgedevicedetails",
        "tlsdetails",
        "insightdetails",
        "managementevent",
        "_source",
        "_record",
        "_raw",
        "dt",
    ] {
        assert!(names.contains(&want), "missing column {want}: {names:?}");
    }
    let ty = |n: &str| {
        got.iter()
            .find(|(c, _)| c == n)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    assert!(
        ty("eventtime").starts_with("Timestamp(µs") || ty("eventtime").contains("Microsecond"),
        "{}",
        ty("eventtime")
    );
    assert!(ty("eventtime").contains("UTC"), "{}", ty("eventtime"));
    assert_eq!(ty("readonly"), "Boolean");
    assert_eq!(ty("managementevent"), "Boolean");
    // Strings are text; DataFusion reads them as string views, a physical encoding of the same type.
    assert!(
        ["Utf8", "Utf8View"].contains(&ty("eventname").as_str()),
        "{}",
        ty("eventname")
    );
    assert!(
        ty("useridentity").contains("sessioncontext")
            && ty("useridentity").contains("creationdate")
    );
    assert!(ty("resources").starts_with("List"));
    // Nested fields are addressable as Athena queries write them.
    w.sql("SELECT useridentity.sessioncontext.attributes.mfaauthenticated, useridentity.sessioncontext.attributes.creationdate FROM events LIMIT 1");
}

#[test]
fn a_dt_filter_reads_one_partition() {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    let days = w.sql("SELECT dt, count(*) AS n FROM events GROUP BY dt ORDER BY n DESC");
    assert!(days.len() >= 2, "the sample spans days: {days:?}");
    let day = days[0]["dt"].as_str().unwrap();
    let plan = w.sql(&format!(
        "EXPLAIN SELECT eventid, _raw FROM events WHERE dt = '{day}'"
    ));
    let text: String = plan
        .iter()
        .map(|r| r["plan"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        text.contains(&format!("dt={day}")),
        "plan names the partition: {text}"
    );
    for other in days.iter().skip(1) {
        let o = other["dt"].as_str().unwrap();
        assert!(
            !text.contains(&format!("dt={o}")),
            "plan must not read dt={o}: {text}"
        );
    }
}

#[test]
fn the_lake_is_owner_only() {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    for p in walk(&w.lake()) {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", p.display());
    }
    let mode = std::fs::metadata(w.lake().join("events"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_second_writer_is_refused_while_the_lock_is_held() {
    use std::os::fd::AsRawFd;
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(w.lake().join("_trailglass.lock"))
        .unwrap();
    // SAFETY: flock on our own descriptor.
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = w.run_code(&["ingest", sample().to_str().unwrap(), "-q"], 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another ingest"), "{err}");
    drop(f);
    w.ingest(&sample(), &[]);
}

#[test]
fn digests_without_new_logs_get_batches_of_their_own() {
    let w = Workdir::new();
    let src = w.path().join("trail");
    copy_tree(&sample(), &src);
    let digest_dir = w.path().join("digests-aside");
    let digests: Vec<_> = walk(&src)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/CloudTrail-Digest/"))
        .collect();
    let n = digests
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .count();
    assert!(n > 1, "the sample has digests");
    for (i, p) in digests.iter().enumerate() {
        std::fs::create_dir_all(&digest_dir).unwrap();
        std::fs::rename(p, digest_dir.join(i.to_string())).unwrap();
    }
    let logs_only = w.ingest(&src, &[]);
    assert_eq!(logs_only["digests"], 0, "{logs_only}");
    let events = w.count("SELECT count(*) FROM events");
    for (i, p) in digests.iter().enumerate() {
        std::fs::rename(digest_dir.join(i.to_string()), p).unwrap();
    }
    // Every log is known now: the digests alone make the batch.
    let s = w.ingest(&src, &[]);
    assert_eq!(s["objects_ingested"], 0, "{s}");
    assert_eq!(s["digests"], n, "{s}");
    assert_eq!(s["batches"].as_array().map(Vec::len), Some(1), "{s}");
    assert_eq!(w.count("SELECT count(*) FROM events"), events);
    assert_eq!(w.count("SELECT count(DISTINCT key) FROM digests"), n as i64);
    assert_eq!(w.count("SELECT count(*) FROM digests"), n as i64);
    let again = w.ingest(&src, &[]);
    assert_eq!(again["digests"], 0, "{again}");
    assert_eq!(
        again["batches"].as_array().map(Vec::len),
        Some(0),
        "{again}"
    );
}
