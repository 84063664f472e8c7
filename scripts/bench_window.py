#!/usr/bin/env python3
"""Windows benchmark (issue 18): answers cost the window, not the lake's age.

    python3 scripts/bench_window.py [--days 60] [--records-per-day 20000] [--runs 5]

Needs the release binary (target/release/trailglass; built with `cargo build --release` if
missing). Generates, under bench-data/ (kept between runs, regenerated when the flags change):
  * a DAYS-day organization trail (6 accounts, 3 regions, the generator's AssumeRole-heavy
    background, one planted scenario per two days) ending yesterday (UTC), so `--since 24h`
    means the last day of data; and a 2-day trail of the same density ending yesterday;
  * a 0.3 GiB and a 1 GiB trail (small objects) for ingest throughput.
Then, best of --runs wall times (the machine is shared; best-of is the least noisy):
  * `sessions --since 24h` and `findings --since 24h` on the DAYS-day lake and on the 2-day lake
    (target: under 0.3 s, and within 1.5x of the 2-day lake);
  * all-history `sessions` and `findings` on the DAYS-day lake (target: under 1 s);
  * ingest of the 0.3 GiB and the 1 GiB trail into fresh lakes, MB/s of JSON (target: 0.3 GiB at
    no less than 85 % of 1 GiB, measured in the same run).
The all-history answers are checked against the generator's answer key (session and finding
counts), the windowed ones against the whole lake restricted to the window (session ids), and
`-v`'s scan figures (files, bytes, partitions) are printed for each windowed verb.
"""
import argparse, datetime, json, os, re, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench-data")
BIN = os.path.join(ROOT, "target", "release", "trailglass")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def ensure_binary():
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)


def generate(name, days, records=None, extra=()):
    """A trail ending yesterday (UTC); regenerated when its flags change."""
    start = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=days)
    out = os.path.join(DATA, name)
    flags = ["--accounts", "6", "--regions", "3", "--days", str(days),
             "--sessions", str(max(15, days // 2)), "--start", start.isoformat(), "--seed", "18"]
    if records is not None:
        flags += ["--records", str(records)]
    flags += list(extra)
    stamp = os.path.join(out, "flags.json")
    if os.path.exists(stamp) and json.load(open(stamp)) == flags:
        return out
    shutil.rmtree(out, ignore_errors=True)
    print(f"generating {name}: {' '.join(flags)}", file=sys.stderr)
    subprocess.run([BIN, "generate", "--out", out] + flags, check=True, stdout=subprocess.DEVNULL)
    json.dump(flags, open(stamp, "w"))
    return out


def ingest(trail_dir, lake, fresh=False):
    """Ingest (once, unless fresh); returns (seconds, JSON bytes)."""
    if fresh:
        shutil.rmtree(lake, ignore_errors=True)
    elif os.path.exists(os.path.join(lake, "events")):
        return None
    p = subprocess.run([BIN, "--lake", lake, "ingest", os.path.join(trail_dir, "trail"), "--json", "-q"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"ingest {trail_dir} failed:\n{p.stderr}")
    s = json.loads(p.stdout)
    return s["seconds"], s["json_bytes"]


def timed(cmd, runs):
    best, out, err = None, None, None
    for _ in range(runs):
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.time() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
        out, err = p.stdout, p.stderr
        best = dt if best is None else min(best, dt)
    return best, out, err


def rows(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def figures(stderr):
    for line in ANSI.sub("", stderr).splitlines():
        if "read from the lake" in line:
            f = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
            return f"files={f.get('files')} bytes={f.get('bytes')} partitions={f.get('partitions')}"
    return "no scan figures"


def verb(lake, config, args, runs, verbose=False):
    cmd = [BIN, "--lake", lake, "--config", config] + (["-v"] if verbose else ["-q"]) + args
    return timed(cmd + ["--format", "ndjson"], runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--records-per-day", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-ingest", action="store_true", help="skip the ingest throughput part")
    ap.add_argument("--bin", help="another trailglass binary (figures are for the release build)")
    ap.add_argument("--data", help="another folder for the trails and lakes (default bench-data/)")
    a = ap.parse_args()
    global BIN, DATA
    if a.data:
        DATA = a.data
    if a.bin:
        BIN = a.bin
    else:
        ensure_binary()
    os.makedirs(DATA, exist_ok=True)

    long = generate(f"window-{a.days}d", a.days, a.days * a.records_per_day)
    short = generate("window-2d", 2, 2 * a.records_per_day)
    long_lake = os.path.join(DATA, f"lake-window-{a.days}d")
    short_lake = os.path.join(DATA, "lake-window-2d")
    ingest(long, long_lake)
    ingest(short, short_lake)
    cfg_long = os.path.join(long, "trailglass.toml")
    cfg_short = os.path.join(short, "trailglass.toml")
    key = json.load(open(os.path.join(long, "answer-key.json")))

    print(f"{'':34} {'seconds':>8}  rows  scan")
    results = {}
    for v in ("sessions", "findings"):
        secs, out, _ = verb(long_lake, cfg_long, [v], a.runs)
        want = len(key["sessions"]) if v == "sessions" else len(key["findings"])
        got = len(rows(out))
        results[(v, "all")] = secs
        print(f"{v + ' (all, ' + str(a.days) + ' days)':34} {secs:8.3f}  {got:4}  key {want}"
              + ("" if got == want else "  MISMATCH"))
        full = rows(out)
        for name, lake, cfg in ((f"{a.days}d", long_lake, cfg_long), ("2d", short_lake, cfg_short)):
            secs, out, err = verb(lake, cfg, [v, "--since", "24h"], a.runs, verbose=True)
            results[(v, name)] = secs
            print(f"{v + ' --since 24h (' + name + ' lake)':34} {secs:8.3f}  {len(rows(out)):4}  {figures(err)}")
            if name == f"{a.days}d":
                since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=24)
                field = "start" if v == "sessions" else "eventtime"
                want = sorted(json.dumps(r, sort_keys=True) for r in full
                              if datetime.datetime.fromisoformat(r[field].replace("Z", "+00:00")) >= since)
                got = sorted(json.dumps(r, sort_keys=True) for r in rows(out))
                if want != got:
                    print(f"  MISMATCH: windowed {v} differ from the whole lake's ({len(got)} vs {len(want)})")
    for v in ("sessions", "findings"):
        w, s, full = results[(v, f"{a.days}d")], results[(v, "2d")], results[(v, "all")]
        print(f"{v}: --since 24h {w:.3f} s (target < 0.3), {w / s:.2f}x the 2-day lake (target <= 1.5), "
              f"all history {full:.3f} s (target < 1)")

    if not a.no_ingest:
        tp = {}
        for gib in ("0.3", "1"):
            trail = generate(f"window-ingest-{gib}g", 3, None, ["--size", f"{gib}GiB"])
            best = None
            for _ in range(max(1, a.runs // 2)):
                secs, nbytes = ingest(trail, os.path.join(DATA, f"lake-window-ingest-{gib}g"), fresh=True)
                mbs = nbytes / secs / 1e6
                best = mbs if best is None else max(best, mbs)
            tp[gib] = best
            print(f"ingest {gib} GiB: {best:.0f} MB/s (best of {max(1, a.runs // 2)})")
        print(f"ingest 0.3 GiB at {100 * tp['0.3'] / tp['1']:.0f} % of 1 GiB (target >= 85 %)")


if __name__ == "__main__":
    main()
