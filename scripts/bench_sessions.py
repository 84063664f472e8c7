#!/usr/bin/env python3
"""Sessions and findings benchmark: trailglass vs DuckDB over the same lake, in one run (issue 4).

    python3 scripts/bench_sessions.py [--size-gib 1] [--shape small] [--runs 3]

Uses the generated trail of scripts/bench_ingest.py (bench-data/trail-SHAPE-Ng, generated if
missing), ingests it once into bench-data/lake-sessions-SHAPE (kept between runs), then times:
  * trailglass sessions  (every session kind, chaining, counts; output discarded)
  * trailglass findings  (sessions + all 14 rules)
  * DuckDB: an equivalent, simpler role-session aggregation over the same Parquet files of the
    Delta table (break-glass role sessions grouped by access key, distinct events, TTL counts).
Each is run --runs times; the best wall time is reported (the machine is shared; best-of is the
least noisy). The answer key's session count is checked against `sessions`.
"""
import argparse, json, os, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench-data")
BIN = os.path.join(ROOT, "target", "release", "trailglass")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ingest  # noqa: E402  (ensure_binary, ensure_trail, ensure_duckdb)

DUCK = r"""
import duckdb, sys, time
lake = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads TO 2")
q = f'''
SELECT useridentity.accesskeyid AS key,
       min(useridentity.sessioncontext.attributes.creationdate) AS start,
       count(DISTINCT eventid) AS events,
       count(DISTINCT CASE WHEN eventtime > useridentity.sessioncontext.attributes.creationdate + INTERVAL 1 HOUR
                           THEN eventid END) AS after_ttl
FROM read_parquet('{lake}/events/**/*.parquet', hive_partitioning = true)
WHERE useridentity.type = 'AssumedRole'
  AND regexp_matches(useridentity.sessioncontext.sessionissuer.arn, '(?i):role/(.*/)?(breakglass|awsreservedsso_breakglass)')
GROUP BY 1
'''
best = None
for _ in range(int(sys.argv[2])):
    t0 = time.time()
    n = len(con.execute(q).fetchall())
    dt = time.time() - t0
    best = dt if best is None else min(best, dt)
print(n, best)
"""


def timed(cmd, runs):
    best = None
    out = None
    for _ in range(runs):
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.time() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
        out = p.stdout
        best = dt if best is None else min(best, dt)
    return best, out


def both_verbs(lake, config, runs):
    """Best time and row count of `sessions` and of `findings` on one lake."""
    out = []
    for verb in ("sessions", "findings"):
        secs, text = timed([BIN, "--lake", lake, "--config", config, "-q", verb, "--format", "ndjson"], runs)
        out.append((secs, len([l for l in text.splitlines() if l.strip()])))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gib", type=int, default=1)
    ap.add_argument("--shape", default="small")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--compact", action="store_true",
                    help="also time both verbs on a compacted copy of the lake (trailglass compact)")
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    bench_ingest.ensure_binary()
    trail = bench_ingest.ensure_trail(a.shape, a.size_gib)
    key = json.load(open(os.path.join(trail, "answer-key.json")))
    lake = os.path.join(DATA, f"lake-sessions-{a.shape}-{a.size_gib}g")
    if not os.path.exists(os.path.join(lake, "events")):
        shutil.rmtree(lake, ignore_errors=True)
        subprocess.run([BIN, "--lake", lake, "ingest", os.path.join(trail, "trail"), "-q"], check=True)
    config = os.path.join(trail, "trailglass.toml")
    (s_secs, n_sessions), (f_secs, n_findings) = both_verbs(lake, config, a.runs)
    print(f"trailglass sessions: {s_secs:.2f} s ({n_sessions} sessions; answer key {len(key['sessions'])})")
    print(f"trailglass findings: {f_secs:.2f} s ({n_findings} findings; answer key {sum(key['rules'].values())})")
    if a.compact:
        compacted = lake + "-compacted"
        if not os.path.exists(os.path.join(compacted, "events")):
            shutil.rmtree(compacted, ignore_errors=True)
            shutil.copytree(lake, compacted)
            t0 = time.time()
            subprocess.run([BIN, "--lake", compacted, "compact"], check=True)
            print(f"trailglass compact: {time.time() - t0:.2f} s")
        (cs_secs, cs_n), (cf_secs, cf_n) = both_verbs(compacted, config, a.runs)
        print(f"trailglass sessions, compacted lake: {cs_secs:.2f} s ({cs_n} sessions)")
        print(f"trailglass findings, compacted lake: {cf_secs:.2f} s ({cf_n} findings)")
    if not a.no_duckdb:
        py = bench_ingest.ensure_duckdb()
        t0 = time.time()
        p = subprocess.run([py, "-c", DUCK, lake, str(a.runs)], capture_output=True, text=True, check=True)
        n, best = p.stdout.split()
        print(f"duckdb role-session aggregation: {float(best):.2f} s query ({n} role sessions); "
              f"{time.time() - t0:.2f} s for {a.runs} runs incl. start-up")
        print(f"ratio sessions/duckdb: {s_secs / float(best):.1f}x, findings/duckdb: {f_secs / float(best):.1f}x")
        if a.compact:
            print(f"ratio on the compacted lake: sessions {cs_secs / float(best):.1f}x, "
                  f"findings {cf_secs / float(best):.1f}x")


if __name__ == "__main__":
    main()
