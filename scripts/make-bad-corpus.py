#!/usr/bin/env python3
"""Writes testdata/bad/: one file per kind of bad input (docs/CONTRACT.md §9), deterministically.

Each file's expected outcome is in testdata/bad/EXPECTED.json (rows ingested, reject reasons), which
tests/integration/bad_input.rs checks. Re-run after changing this script: python3 scripts/make-bad-corpus.py
"""
import gzip, io, json, os, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "bad")


def rec(i, **over):
    r = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
        "eventTime": "2026-03-01T10:%02d:00Z" % (i % 60),
        "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instancesSet": {}}, "responseElements": None,
        "requestID": "req-%d" % i, "eventID": "00000000-0000-4000-8000-%012d" % i,
        "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": "111122223333", "eventCategory": "Management",
    }
    r.update(over)
    return r


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def records(*rs) -> bytes:
    return json.dumps({"Records": list(rs)}).encode()


files, expected = {}, {}


def add(name, data, rows, reasons, note):
    files[name] = data
    expected[name] = {"rows": rows, "rejects": reasons, "note": note}


good = records(*[rec(i) for i in range(4)])
g = gz(good)
add("good.json.gz", g, 4, [], "a clean file beside the bad ones: all of it must be ingested")
add("truncated-half.json.gz", g[: len(g) // 2], 0, ["gzip_truncated"], "gzip cut at 50 %")
add("truncated-1byte.json.gz", g[:1], 0, ["gzip_truncated"], "gzip cut after 1 byte (no complete header)")
add("truncated-trailer.json.gz", g[:-8], 0, ["gzip_truncated"], "gzip without its 8-byte CRC/length trailer")
bad_crc = bytearray(g)
bad_crc[-8] ^= 0xFF
add("bad-crc.json.gz", bytes(bad_crc), 0, ["gzip_corrupt"], "CRC-32 of the member does not match")
add("trailing-garbage.json.gz", g + b"JUNK", 0, ["gzip_trailing_data"], "a good member followed by junk bytes")
add("multi-member.json.gz", gz(b'{"Records":[' + json.dumps(rec(10)).encode()) + gz(b"," + json.dumps(rec(11)).encode() + b"]}"),
    2, [], "two gzip members concatenated: one JSON text")
add("gzip-of-text.json.gz", gz(b"this is not JSON at all\n"), 0, ["json_syntax"], "gzip of non-JSON text")
add("not-cloudtrail.json", json.dumps({"foo": [1, 2, 3], "bar": "baz"}).encode(), 0, ["not_cloudtrail"], "JSON that is not CloudTrail")
add("records-not-array.json", b'{"Records":{}}', 0, ["not_cloudtrail"], "Records is an object, not an array")
add("trailer-after-json.json", good + b"TRAILER", 0, ["trailing_data"], "a good container followed by text (duckdb #23120)")
add("bad-eventtime.json", records(rec(20), rec(21, eventTime="yesterday"), rec(22)), 2, ["bad_event_time"], "one record's eventTime is not a time")
add("missing-eventtime.json", records(rec(23), {k: v for k, v in rec(24).items() if k != "eventTime"}), 1, ["bad_event_time"], "a record without eventTime cannot be partitioned")
add("missing-eventid.json", records({k: v for k, v in rec(25).items() if k != "eventID"}), 1, [], "a record without eventID is kept (documentation examples lack it)")
add("empty.json.gz", b"", 0, ["empty"], "a zero-byte object")
add("whitespace.json", b"  \n\n ", 0, ["empty"], "only white space")
add("unknown-fields.json", records(rec(30, brandNewField={"nested": [1, {"x": None}]}, eventContext={"requestContext": {}},
                                     userIdentity=dict(rec(30)["userIdentity"], inScopeOf={"issuerType": "AWS::Lambda::Function"}))),
    1, [], "unknown fields at every level are kept in _raw and are not an error")
add("invalid-utf8.json", records(rec(31)).replace(b"aws-cli/2.15.0", b"aws-cli/\xff\xfe"), 0, ["invalid_utf8"], "bytes that are not UTF-8")
deep = "[" * 10000 + "]" * 10000
add("deep-nesting.json", b'{"Records":[' + json.dumps(rec(40)).encode() + b"," +
    json.dumps(rec(41)).encode().replace(b'{"instancesSet": {}}', b'{"x": ' + deep.encode() + b"}") + b"]}",
    1, ["too_deep"], "JSON nested 10,000 deep inside one record; its sibling is ingested")
add("deep-container.json", b"[" * 10000 + b"]" * 10000, 0, ["too_deep"], "a container nested 10,000 deep")
add("wrong-type.json", records(rec(50), rec(51, eventName=42), rec(52, userIdentity="root"), rec(53)), 2,
    ["bad_record", "bad_record"], "wrong-typed fields reject their records only")
add("lines-mixed.jsonl", b"\n".join([json.dumps(rec(60)).encode(), b"{not json", json.dumps(rec(61)).encode(), b""]), 2,
    ["bad_record"], "JSON Lines are judged line by line")
big = rec(70, userAgent="A" * (50 * 1024 * 1024))
add("huge-line.json.gz", gz(json.dumps({"Records": [big, rec(71)]}).encode()), 2, [], "one 50 MB line holding a 50 MB record")
add("bomb.json.gz", gz(b'{"Records":[' + b" " * (200 * 1024 * 1024) + b"]}"), 0, ["too_large"],
    "200 MB of white space in a 200 KB gzip: rejected by the --max-object-size cap the test sets (64 MiB)")

os.makedirs(OUT, exist_ok=True)
for name, data in files.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
with open(os.path.join(OUT, "EXPECTED.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"wrote {len(files)} files to {os.path.normpath(OUT)}", file=sys.stderr)
