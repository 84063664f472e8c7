#!/usr/bin/env python3
"""validate-logs benchmark: digest chains and log-file hashes of ~10,000 log files, from the lake.

    python3 scripts/bench_validate.py BINARY [--files 10000] [--keep]

Generates (once, cached under bench-data/) a synthetic organization trail with `BINARY generate`
in the small shape (one log file per account, region and 5 minutes, dense enough that nearly every
slot has one) and its digests (one chain per account and region, each digest listing its log
files with the SHA-256 of their uncompressed bytes), ingests it into a fresh lake, then times
`validate-logs --no-refresh` reading the lake alone, and prints wall time and peak RSS.

The generator writes no signature beside its digests (their chain links carry placeholders), so
each digest reports `no_signature` and the run exits 1; every chain link and every log file's
hash is still checked, which is the work that grows with the files (an RSA-2048 verify per digest
is tens of microseconds, and digests number accounts x regions x days here).
`--no-refresh`: the stored sessions/findings refresh after recording is a whole-lake catalog
evaluation, measured by scripts/bench_sessions.py, not validation. Timings vary with machine load.
"""
import argparse, math, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench-data")
ACCOUNTS, REGIONS, SLOTS_PER_DAY = 4, 3, 288


def run_measured(cmd, ok=(0,)):
    """Run cmd; return (seconds, peak RSS bytes of the child, stdout)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    secs = time.time() - t0
    if p.returncode not in ok:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return secs, rss_kb * 1024, p.stdout


def count_logs(trail):
    logs = digests = 0
    for _, _, files in os.walk(trail):
        for f in files:
            if "_CloudTrail-Digest_" in f:
                digests += 1
            elif "_CloudTrail_" in f:
                logs += 1
    return logs, digests


def ensure_trail(binary, files):
    # About 98 % of the slots get a file at this density.
    days = max(1, math.ceil(files / (ACCOUNTS * REGIONS * SLOTS_PER_DAY * 0.98)))
    out = os.path.join(DATA, f"trail-validate-{files}")
    if not os.path.exists(os.path.join(out, "answer-key.json")):
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(DATA, exist_ok=True)
        records = days * ACCOUNTS * REGIONS * SLOTS_PER_DAY * 30
        subprocess.run(
            [binary, "generate", "--out", out, "--shape", "small", "--accounts", str(ACCOUNTS),
             "--regions", str(REGIONS), "--days", str(days), "--records", str(records),
             "--seed", "20261204", "--quiet"],
            check=True)
    return os.path.join(out, "trail")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="the trailglass binary to measure (e.g. target/release/trailglass)")
    ap.add_argument("--files", type=int, default=10000, help="about this many log files")
    ap.add_argument("--keep", action="store_true", help="keep the lake (printed) after the run")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary}: not an executable")
    trail = ensure_trail(binary, a.files)
    logs, digests = count_logs(trail)
    work = tempfile.mkdtemp(prefix="tg-bench-validate-")
    lake = os.path.join(work, "lake")
    try:
        secs, rss, _ = run_measured([binary, "--lake", lake, "ingest", trail, "-q", "--no-refresh"])
        print(f"ingest: {logs} log files, {digests} digests in {secs:.2f} s (not the measurement)")
        # Exit 1: the unsigned generated digests (see above); the summary says so.
        secs, rss, out = run_measured(
            [binary, "--lake", lake, "validate-logs", "--no-refresh"], ok=(0, 1))
        for line in out.splitlines():
            if line.startswith(("digests:", "log files:", "gaps:", "result:", "signatures:")):
                print("  " + line)
        print(f"validate-logs: {logs} log files, {digests} digests: wall {secs:.2f} s, "
              f"peak RSS {rss / 2**20:.0f} MiB")
    finally:
        if a.keep:
            print(f"lake kept at {lake}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
