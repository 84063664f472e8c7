//! Decode throughput (gunzip + parse + Arrow) on the bundled sample trail, per MB of JSON text.
//!
//! Run: `cargo bench --bench decode` (a second full build in the bench profile: not part of CI).

use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailglass::decode::{Limits, decode_object};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("sample trail (testdata/sample/trail)") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.to_string_lossy().contains("/CloudTrail/") {
            out.push(p);
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut paths = Vec::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample/trail"),
        &mut paths,
    );
    let objects: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            (
                p.to_string_lossy().into_owned(),
                std::fs::read(p).expect("read"),
            )
        })
        .collect();
    let text: u64 = objects
        .iter()
        .map(|(_, b)| {
            let mut s = Vec::new();
            flate2::read::MultiGzDecoder::new(&b[..])
                .read_to_end(&mut s)
                .expect("gunzip");
            s.len() as u64
        })
        .sum();
    let limits = Limits::default();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(text));
    g.sample_size(20);
    g.bench_function("sample_trail", |b| {
        b.iter(|| {
            let mut rows = 0;
            for (k, bytes) in &objects {
                rows += decode_object(k, bytes, &limits).rows();
            }
            rows
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
