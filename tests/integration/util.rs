//! Test harness: a temporary work directory with a lake, and helpers to run the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `trailglass` binary of this build. These tests compile into the library's test binary
/// (`target/PROFILE/deps/trailglass-HASH`), so the binary is two levels up; `cargo test` builds it
/// because of the `tests/binary.rs` target. It must not be older than this test binary: a test
/// run against a stale binary would test old code.
pub fn bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let me = std::env::current_exe().expect("the test binary's path");
        let bin = me
            .parent()
            .and_then(Path::parent)
            .expect("target/PROFILE/deps")
            .join("trailglass");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        match (modified(&bin), modified(&me)) {
            (Some(b), Some(t)) if b + std::time::Duration::from_secs(600) >= t => bin,
            (None, _) => panic!(
                "{} is missing: run the tests with `cargo test --profile ci` (not --lib), which builds it",
                bin.display()
            ),
            _ => panic!(
                "{} is older than the tests: run `cargo test --profile ci` (not --lib), which rebuilds it",
                bin.display()
            ),
        }
    })
    .clone()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real, public CloudTrail records committed under `testdata/realdata/` (its README says
/// where each source comes from). Missing data fails the test: a test never skips silently.
pub fn realdata() -> PathBuf {
    let p = repo().join("testdata/realdata");
    assert!(
        p.join("EVENTS.txt").is_file(),
        "real data not found at {}",
        p.display()
    );
    p
}

pub fn sample() -> PathBuf {
    repo().join("testdata/sample/trail")
}

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.arg("--lake").arg(self.lake()).env_remove("RUST_LOG");
        c
    }

    /// Run and return the output, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run trailglass")
    }

    /// Run and require exit status `code`.
    pub fn run_code(&self, args: &[&str], code: i32) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "trailglass {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `ingest --json`, requiring exit 0; returns the summary.
    pub fn ingest(&self, source: &Path, extra: &[&str]) -> Value {
        let mut args = vec![
            "ingest",
            source.to_str().expect("utf-8 path"),
            "--json",
            "-q",
        ];
        args.extend_from_slice(extra);
        let out = self.run_code(&args, 0);
        serde_json::from_slice(&out.stdout).expect("summary JSON")
    }

    /// Rows of a query as JSON objects.
    pub fn sql(&self, sql: &str) -> Vec<Value> {
        let out = self.run_code(&["sql", sql, "--format", "ndjson"], 0);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("ndjson row"))
            .collect()
    }

    /// A single integer answer.
    pub fn count(&self, sql: &str) -> i64 {
        let rows = self.sql(sql);
        let row = rows.first().and_then(|r| r.as_object()).expect("one row");
        row.values()
            .next()
            .and_then(Value::as_i64)
            .expect("an integer")
    }
}

/// Copy a tree (files only), keeping relative paths.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walk(from) {
        let rel = e.strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&e, &dest).expect("copy");
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Debian's chromium (scripts/test.sh installs it when missing); a missing browser fails the test.
pub fn chromium() -> std::path::PathBuf {
    let found = std::env::var_os("TRAILGLASS_CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(std::path::PathBuf::from)
                .find(|p| p.is_file())
        });
    found.expect("chromium not found: run scripts/test.sh (it installs Debian's chromium) or set TRAILGLASS_CHROMIUM")
}

/// Headless Chromium, offline (every host name unresolvable, no background traffic).
pub fn headless(profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Open `page` in headless Chromium and return its DOM after load; fails the test on any console
/// message (script errors, blocked loads, refused resources are all logged as CONSOLE lines).
pub fn dom_without_console_output(profile: &Path, page: &str) -> String {
    let out = headless(profile)
        .arg("--dump-dom")
        .arg(page)
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Refused to"))
        .collect();
    assert!(console.is_empty(), "console output: {console:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Render `page` to pixels (as the README's screenshot scripts do) under `dir`; fails unless a
/// real PNG of some substance comes out. Returns its bytes.
pub fn screenshot(dir: &Path, page: &str) -> Vec<u8> {
    let png = dir.join("shot.png");
    let shot = headless(&dir.join("profile-shot"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1100,900")
        .arg(page)
        .output()
        .expect("run chromium");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        bytes.len()
    );
    bytes
}
