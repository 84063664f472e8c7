#!/usr/bin/env python3
"""Evidence bundle benchmark (issue 19): one break-glass session of 100,000 actions.

    python3 scripts/bench_evidence.py [BINARY] [--actions 100000] [--runs 3]

BINARY (or --bin BINARY) is the trailglass to measure; the default is the release build.

The trail is the bundled sample (testdata/sample/trail) plus, for its role session with MFA
(e5c218bb58e4ea8a), ACTIONS more actions: copies of one of its read-only calls with new event ids
and times inside the session, in CloudTrail log files of 1,000 records under the same account
and region. It is written to bench-data/evidence-trail-N and ingested once into
bench-data/evidence-lake-N (both kept between runs). Then `trailglass evidence SESSION --out
DIR --force` is timed --runs times (best wall time and its peak RSS are reported; the machine is
shared) and the bundle's events.jsonl is checked to hold every action plus the entry.
Targets (issue 19): under 5 s and 500 MiB with the release binary (the default --bin).
"""
import argparse, gzip, json, os, shutil, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench-data")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ingest  # noqa: E402  (run_measured, ensure_binary)

SESSION = "e5c218bb58e4ea8a"
KEY = "ASIAXZYAOR24TS4LLNDR"


def sample_records():
    """Every (relative path, record) of the sample trail's log files."""
    base = os.path.join(ROOT, "testdata", "sample", "trail")
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".json.gz") and "/CloudTrail/" in os.path.join(d, f):
                with gzip.open(os.path.join(d, f)) as fh:
                    for r in json.load(fh)["Records"]:
                        yield os.path.relpath(os.path.join(d, f), base), r


def make_trail(out, actions):
    base = os.path.join(ROOT, "testdata", "sample", "trail")
    shutil.copytree(base, out)
    template = None
    for rel, r in sample_records():
        if r.get("userIdentity", {}).get("accessKeyId") == KEY and r.get("readOnly"):
            template, where = r, rel
            break
    if template is None:
        sys.exit("the sample has no read-only action of the benchmark session")
    acct = template["recipientAccountId"]
    region = template["awsRegion"]
    folder = os.path.join(out, os.path.dirname(where))
    # Inside the session: from its first action for 30 minutes, well before its TTL.
    t0 = 3 * 3600 + 6 * 60 + 30  # 03:06:30 on 2026-03-01
    per_file = 1000
    for f in range((actions + per_file - 1) // per_file):
        recs = []
        for i in range(f * per_file, min(actions, (f + 1) * per_file)):
            r = dict(template)
            ms = i * 1800 * 1000 // actions
            s = t0 + ms // 1000
            r["eventTime"] = "2026-03-01T%02d:%02d:%02d.%03dZ" % (s // 3600, s // 60 % 60, s % 60, ms % 1000)
            r["eventID"] = "bench000-0000-4000-8000-%012d" % i
            r["requestID"] = "bench-req-%08d" % i
            recs.append(r)
        stamp = "20260301T%02d%02dZ" % ((t0 // 3600), (t0 // 60 % 60) + f // 60)
        name = "%s_CloudTrail_%s_%s_bench%05d.json.gz" % (acct, region, stamp, f)
        with gzip.open(os.path.join(folder, name), "wt") as fh:
            json.dump({"Records": recs}, fh, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actions", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("binary", nargs="?", help="the trailglass binary (default: the release build)")
    ap.add_argument("--bin", default=bench_ingest.BIN)
    a = ap.parse_args()
    if a.binary:
        a.bin = os.path.abspath(a.binary)
    if a.bin == bench_ingest.BIN:
        bench_ingest.ensure_binary()
    trail = os.path.join(DATA, f"evidence-trail-{a.actions}")
    lake = os.path.join(DATA, f"evidence-lake-{a.actions}")
    config = os.path.join(ROOT, "testdata", "sample", "trailglass.toml")
    if not os.path.isdir(trail):
        os.makedirs(DATA, exist_ok=True)
        make_trail(trail, a.actions)
    if not os.path.isdir(lake):
        secs, rss, _ = bench_ingest.run_measured([a.bin, "--lake", lake, "ingest", trail, "-q"])
        print(f"ingest: {secs:.1f} s, peak RSS {rss / 2**20:.0f} MiB")
    out = os.path.join(DATA, f"evidence-bundle-{a.actions}")
    best = None
    for _ in range(a.runs):
        cmd = [a.bin, "--lake", lake, "--config", config, "evidence", SESSION, "--out", out,
               "--force", "--created", "2026-03-04T00:00:00Z", "-q"]
        secs, rss, _ = bench_ingest.run_measured(cmd)
        if best is None or secs < best[0]:
            best = (secs, rss)
    with open(os.path.join(out, "events.jsonl")) as fh:
        lines = sum(1 for _ in fh)
    # The sample session's own 13 actions and its entry, plus the added ones.
    if lines != a.actions + 14:
        sys.exit(f"events.jsonl has {lines} records, expected {a.actions + 14}")
    print(f"evidence, session of {a.actions + 13} actions: wall time {best[0]:.2f} s, "
          f"peak RSS {best[1] / 2**20:.0f} MiB ({a.bin}); "
          f"events.jsonl {os.path.getsize(os.path.join(out, 'events.jsonl')) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
