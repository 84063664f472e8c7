#!/usr/bin/env python3
"""S3 ingest benchmark: the same objects ingested from moto's S3 (SSE-KMS bucket, on loopback) and
from a local directory, in one run.

    python3 scripts/bench_s3.py [--size-gib 1] [--shapes large,small] [--concurrency 16]

Uses the trails of scripts/bench_ingest.py (generated once under bench-data/), uploads each shape
into a KMS-encrypted bucket of a moto server started on a free loopback port (moto is installed into
.venv as scripts/test.sh does), then times `trailglass ingest s3://…` and `trailglass ingest DIR`
into fresh lakes, printing objects/s, MB/s of uncompressed JSON and peak RSS for both. Results are
appended to bench-data/results-s3.csv.
"""
import argparse, csv, json, os, socket, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ingest as bi  # noqa: E402

ROOT = bi.ROOT
VENV = os.path.join(ROOT, ".venv")

UPLOAD = r"""
import boto3, os, sys
from concurrent.futures import ThreadPoolExecutor
endpoint, bucket, trail = sys.argv[1], sys.argv[2], sys.argv[3]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="testing", aws_secret_access_key="testing")
kms = boto3.client("kms", **kw)
s3 = boto3.client("s3", **kw)
arn = kms.create_key()["KeyMetadata"]["Arn"]
s3.create_bucket(Bucket=bucket)
s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn},
     "BucketKeyEnabled": True}]})
files = [os.path.join(d, f) for d, _, fs in os.walk(trail) for f in fs]
def put(p):
    with open(p, "rb") as fh:
        s3.put_object(Bucket=bucket, Key=os.path.relpath(p, trail), Body=fh.read())
with ThreadPoolExecutor(16) as ex:
    list(ex.map(put, files))
print(len(files))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    exe = os.path.join(VENV, "bin", "moto_server")
    if not os.path.exists(exe):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "moto[server]==5.*"], check=True)
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto_server did not start")


def ingest(source, lake, extra, env):
    secs, rss, out = bi.run_measured([bi.BIN, "--lake", lake, "ingest", source, "--json", "-q"] + extra, env=env)
    return secs, rss, json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gib", type=int, default=1)
    ap.add_argument("--shapes", default="large,small")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    bi.ensure_binary()
    os.makedirs(bi.DATA, exist_ok=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    rows = []
    for shape in args.shapes.split(","):
        trail = os.path.join(bi.ensure_trail(shape, args.size_gib), "trail")
        moto, url = start_moto()
        try:
            t0 = time.time()
            n = subprocess.run([os.path.join(VENV, "bin", "python"), "-c", UPLOAD, url, "bench-trail", trail],
                               check=True, capture_output=True, text=True).stdout.strip()
            print(f"{shape}: uploaded {n} objects to moto in {time.time() - t0:.0f} s", file=sys.stderr)
            with tempfile.TemporaryDirectory(dir=bi.DATA) as tmp:
                for kind, source, extra in [
                    ("s3", "s3://bench-trail", ["--endpoint-url", url, "--concurrency", str(args.concurrency)]),
                    ("local", trail, []),
                ]:
                    secs, rss, s = ingest(source, os.path.join(tmp, kind), extra, env)
                    assert not s["failed"], s["failed"]
                    row = {
                        "date": time.strftime("%Y-%m-%d"), "shape": shape, "source": kind,
                        "objects": s["objects_ingested"], "records": s["records"],
                        "json_mb": round(s["json_bytes"] / 1e6, 1), "seconds": round(secs, 2),
                        "objects_per_s": round(s["objects_ingested"] / secs, 1),
                        "mb_per_s": round(s["json_bytes"] / 1e6 / secs, 1),
                        "peak_rss_mib": round(rss / 2**20),
                    }
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
        finally:
            moto.kill()
            moto.wait()
    print(f"{'shape':6} {'source':6} {'objects':>8} {'records':>9} {'MB JSON':>8} {'s':>7} {'obj/s':>7} {'MB/s':>6} {'RSS MiB':>8}")
    for r in rows:
        print(f"{r['shape']:6} {r['source']:6} {r['objects']:>8} {r['records']:>9} {r['json_mb']:>8} "
              f"{r['seconds']:>7} {r['objects_per_s']:>7} {r['mb_per_s']:>6} {r['peak_rss_mib']:>8}")
    path = os.path.join(bi.DATA, "results-s3.csv")
    new = not os.path.exists(path)
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
