#!/usr/bin/env python3
"""End-to-end ingest benchmark: trailglass vs DuckDB on the same generated trail, in one run.

    python3 scripts/bench_ingest.py [--size-gib 1] [--shapes small,large] [--keep] [--no-duckdb]

Generates (once, cached under bench-data/) a synthetic organization trail of SIZE GiB of uncompressed
JSON in each shape (small: ~5-minute objects per account and region, as a real org trail; large:
~150 big objects), then for each shape:
  * trailglass ingest into a fresh lake,
  * DuckDB read_json -> Hive-partitioned Parquet (installed from PyPI into bench-data/venv),
and prints MB/s of uncompressed JSON, records/s and peak RSS for both. Results are appended to
bench-data/results.csv. Timings vary with machine load: run on an idle machine.
"""
import argparse, csv, json, os, resource, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench-data")
BIN = os.path.join(ROOT, "target", "release", "trailglass")


def run_measured(cmd, **kw):
    """Run cmd; return (seconds, peak RSS bytes of the child, stdout)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, **kw)
    secs = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return secs, rss_kb * 1024, p.stdout


def ensure_binary():
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)


def ensure_trail(shape, gib):
    out = os.path.join(DATA, f"trail-{shape}-{gib}g")
    if not os.path.exists(os.path.join(out, "answer-key.json")):
        shutil.rmtree(out, ignore_errors=True)
        print(f"generating {gib} GiB, {shape} objects -> {out}", file=sys.stderr)
        # small: 6 accounts x 4 regions x 3 days per GiB of 5-minute files, about 20,700 objects per
        # GiB (the shape of docs/DESIGN.md "Stage costs"): a bigger trail has more days, not bigger objects
        extra = ["--accounts", "6", "--regions", "4", "--days", str(3 * gib)] if shape == "small" else []
        subprocess.run([BIN, "generate", "--out", out, "--size", f"{gib}GiB", "--shape", shape, "--seed", "20261126"] + extra,
                       check=True)
    return out


def ensure_duckdb():
    venv = os.path.join(DATA, "venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "duckdb"], check=True)
    return py


DUCK = r"""
import duckdb, sys
src, dst = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute("SET enable_progress_bar = false")
con.execute(f'''
COPY (
  SELECT r.*, strftime(CAST(r.eventTime AS TIMESTAMP), '%Y-%m-%d') AS dt
  FROM (SELECT unnest(Records) AS r FROM read_json('{src}/AWSLogs/*/*/CloudTrail/*/*/*/*/*.json.gz',
        format='auto', maximum_object_size=1073741824, union_by_name=true))
) TO '{dst}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)''')
print(con.execute(f"SELECT count(*) FROM read_parquet('{dst}/**/*.parquet')").fetchone()[0])
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gib", type=int, default=1)
    ap.add_argument("--shapes", default="small,large")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the lakes")
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    ensure_binary()
    rows = []
    for shape in a.shapes.split(","):
        trail = ensure_trail(shape, a.size_gib)
        key = json.load(open(os.path.join(trail, "answer-key.json")))
        lake = os.path.join(DATA, f"lake-{shape}")
        shutil.rmtree(lake, ignore_errors=True)
        secs, rss, out = run_measured([BIN, "--lake", lake, "ingest", os.path.join(trail, "trail"), "--json", "-q"])
        s = json.loads(out)
        mb = s["json_bytes"] / 1e6
        r = dict(tool="trailglass", shape=shape, gib=a.size_gib, objects=s["objects_ingested"], records=s["records"],
                 json_mb=round(mb, 1), seconds=round(secs, 2), mb_per_s=round(mb / secs, 1),
                 records_per_s=round(s["records"] / secs), peak_rss_mib=round(rss / 2**20))
        assert s["records"] == key["records"], f"ingested {s['records']} records, generator wrote {key['records']}"
        rows.append(r)
        print(r, flush=True)
        if not a.keep:
            shutil.rmtree(lake, ignore_errors=True)
        if not a.no_duckdb:
            py = ensure_duckdb()
            dst = os.path.join(DATA, f"duck-{shape}")
            shutil.rmtree(dst, ignore_errors=True)
            secs, rss, out = run_measured([py, "-c", DUCK, os.path.join(trail, "trail"), dst])
            n = int(out.strip().splitlines()[-1])
            r = dict(tool="duckdb", shape=shape, gib=a.size_gib, objects=s["objects_ingested"], records=n,
                     json_mb=round(mb, 1), seconds=round(secs, 2), mb_per_s=round(mb / secs, 1),
                     records_per_s=round(n / secs), peak_rss_mib=round(rss / 2**20))
            rows.append(r)
            print(r, flush=True)
            shutil.rmtree(dst, ignore_errors=True)
    res = os.path.join(DATA, "results.csv")
    new = not os.path.exists(res)
    with open(res, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["date"] + list(rows[0].keys()))
        if new:
            w.writeheader()
        for r in rows:
            w.writerow(dict(date=time.strftime("%Y-%m-%d %H:%M"), **r))
    print("\n| tool | shape | objects | records | JSON MB | s | MB/s | records/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['shape']} | {r['objects']} | {r['records']} | {r['json_mb']} | {r['seconds']} | {r['mb_per_s']} | {r['records_per_s']} | {r['peak_rss_mib']} |")


if __name__ == "__main__":
    main()
