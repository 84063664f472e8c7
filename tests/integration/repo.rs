//! The repository stands on its own (issue 22): a clone with nothing beside it has every file its
//! tests and docs refer to. A full clone-and-test run in CI would cost a second cold build, so
//! this checks the tracked files instead: none refers to a folder beside the checkout, to an
//! absolute path of some machine, to a document the repository does not have, or links to a file
//! that is not in it; every real-data source carries its provenance and license.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::util::{bin, repo};

/// Every tracked file, relative to the repository root. Needs git: CI works on a clone.
fn tracked() -> Vec<String> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo())
        .output()
        .expect("run `git ls-files` (these checks need git and a git checkout)");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 file names")
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Files whose text is a record of the outside world (captured CloudTrail data), not ours: they
/// may quote any path. Their folders' READMEs and provenance notes are checked like the rest.
fn is_data(path: &str) -> bool {
    path.starts_with("testdata/") && !path.ends_with(".md")
}

/// Upper-case document names (`SPEC.md`, `PERF.md`) mentioned in `text`.
fn doc_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for (i, _) in text.match_indices(".md") {
        let after = text[i + 3..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |p| p + 1);
        let name = &text[start..i + 3];
        if name.len() > 3
            && name[..name.len() - 3]
                .chars()
                .all(|c| !c.is_ascii_lowercase())
        {
            names.push(name);
        }
    }
    names
}

/// Targets of Markdown links, `[text](target)`, without their `#anchor`.
fn link_targets(text: &str) -> Vec<&str> {
    text.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &text[i + 2..];
            let end = rest.find(')')?;
            let target = rest[..end].split('#').next().unwrap_or("").trim();
            (!target.is_empty()).then_some(target)
        })
        .collect()
}

/// `base/target` with `.` and `..` resolved lexically; None when it climbs above the root.
fn resolve(base: &Path, target: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in base.join(target).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[test]
fn no_tracked_file_refers_to_anything_outside_the_repository() {
    let files = tracked();
    let basenames: BTreeSet<&str> = files
        .iter()
        .map(|f| f.rsplit('/').next().unwrap_or(f))
        .collect();
    let all: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    // Spelled in pieces so that this file does not match itself.
    let beside = ["..", "shared"].join("/");
    // `file:///…` is a literal path; `file://{dir}` built at run time is not.
    let machine_paths = ["/work/", "/home/", "/Users/", "/root/", "file:///"];
    let mut problems = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(repo().join(f)) else {
            continue; // binary (gzip fixtures)
        };
        if text.contains(&beside) {
            problems.push(format!("{f}: refers to {beside}"));
        }
        // Data quotes the outside world; this file names what it looks for.
        if is_data(f) || f == "tests/integration/repo.rs" {
            continue;
        }
        for p in machine_paths {
            if text.contains(p) {
                problems.push(format!("{f}: names a machine's absolute path ({p}…)"));
            }
        }
        for name in doc_names(&text) {
            if !basenames.contains(name) {
                problems.push(format!(
                    "{f}: names {name}, which the repository does not have"
                ));
            }
        }
        if f.ends_with(".md") {
            let dir = Path::new(f).parent().unwrap_or(Path::new(""));
            for target in link_targets(&text) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let inside = resolve(dir, target).filter(|p| {
                    let p = p.to_string_lossy();
                    all.contains(p.as_ref())
                        || files.iter().any(|t| t.starts_with(&format!("{p}/")))
                });
                if inside.is_none() {
                    problems.push(format!(
                        "{f}: links to {target}, which is not a file of the repository"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_real_data_source_has_its_provenance_and_license() {
    let root = repo().join("testdata/realdata");
    let mut sources = 0;
    for e in std::fs::read_dir(&root).expect("testdata/realdata") {
        let e = e.expect("entry");
        if !e.file_type().expect("type").is_dir() {
            continue;
        }
        sources += 1;
        let dir = e.path();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("source folder")
            .map(|x| x.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n == "PROVENANCE.md"),
            "{} has no PROVENANCE.md",
            dir.display()
        );
        assert!(
            names.iter().any(|n| n.starts_with("LICENSE")),
            "{} has no license file",
            dir.display()
        );
        let provenance = std::fs::read_to_string(dir.join("PROVENANCE.md")).expect("provenance");
        assert!(
            provenance.contains("License"),
            "{}: PROVENANCE.md does not name the license",
            dir.display()
        );
        assert!(
            !provenance
                .lines()
                .any(|l| l.contains("License:") && l.contains("Elastic")),
            "{}: the Elastic License 2.0 does not allow redistribution with this project",
            dir.display()
        );
    }
    assert!(sources >= 7, "{sources} source folders");
}

/// The annotated example configuration the README shows is one `trailglass config` accepts, with
/// every approval of its `approvals.csv`.
#[test]
fn the_example_configuration_is_accepted_by_config() {
    let examples = repo().join("examples");
    let out = std::process::Command::new(bin())
        .arg("--config")
        .arg(examples.join("trailglass.toml"))
        .args(["config", "--json"])
        .env_remove("TRAILGLASS_CONFIG")
        .output()
        .expect("run trailglass config");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let bg = &v["breakglass"];
    assert_eq!(bg["roles"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(bg["users"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(bg["root"], true);
    assert_eq!(bg["ttl_seconds"], 3600);
    assert_eq!(bg["rotate_within_seconds"], 86_400);
    assert_eq!(
        bg["production_accounts"],
        serde_json::json!(["111122223333", "444455556666"])
    );
    let csv = std::fs::read_to_string(examples.join("approvals.csv")).expect("approvals.csv");
    let rows = csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("ticket,"))
        .count();
    let approvals = v["approvals"].as_array().expect("approvals");
    assert_eq!(approvals.len(), rows, "{v}");
    assert!(rows >= 3, "{rows}");
    assert!(
        approvals
            .iter()
            .any(|a| a["approver"] == "Doe, Jane (CISO)"),
        "a quoted field keeps its comma: {v}"
    );
}

#[test]
fn scanners_find_what_they_look_for() {
    assert_eq!(
        doc_names("see SPEC.md, `docs/DESIGN.md` and CLOUDTRAIL.md §1.5; readme.md, x.mdx"),
        ["SPEC.md", "DESIGN.md", "CLOUDTRAIL.md"]
    );
    assert_eq!(
        link_targets("[a](docs/DESIGN.md#x) and [b](https://example.com) [c](../x)"),
        ["docs/DESIGN.md", "https://example.com", "../x"]
    );
    assert_eq!(
        resolve(Path::new("docs"), "../README.md"),
        Some(PathBuf::from("README.md"))
    );
    assert_eq!(resolve(Path::new("docs"), "../../x"), None);
    assert_eq!(resolve(Path::new(""), "/etc/passwd"), None);
}

/// docs/DESIGN.md's source-tree map names every source file and no file that is gone, so that a
/// reader can find the code for any verb or stage from it.
#[test]
fn the_design_map_lists_every_source_file() {
    let design = std::fs::read_to_string(repo().join("docs/DESIGN.md")).unwrap();
    let is_source = |f: &str| {
        (f.starts_with("src/") || f.starts_with("crates/"))
            && f.ends_with(".rs")
            && f.contains("src/")
    };
    let mapped: BTreeSet<&str> = design
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|f| is_source(f))
        .collect();
    let files = tracked();
    let sources: BTreeSet<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| is_source(f))
        .collect();
    let unmapped: Vec<_> = sources.difference(&mapped).collect();
    let gone: Vec<_> = mapped.difference(&sources).collect();
    assert!(
        unmapped.is_empty() && gone.is_empty(),
        "docs/DESIGN.md, Source tree: add {unmapped:?}, remove {gone:?}"
    );
}
