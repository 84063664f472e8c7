//! sqllogictest files (`tests/slt/*.slt`) over the small planned fixture of
//! `testdata/slt/make_fixture.py`, with its `trailglass.toml` and `approvals.csv`.
//!
//! A record's SQL is either plain read-only SQL (the tables `events`, `sessions`, `session_events`,
//! `findings`, `bg_*`, `approvals` and the `tg_*` steps are all there), or
//! `CATALOG name [param=value …]`, which runs that catalog query with bound parameters (values with
//! spaces go in single quotes). Every catalog query must appear in some `.slt` file.
//!
//! The files use the sqllogictest format (a subset: `query <types> [rowsort]` … `----` … results,
//! `statement ok` / `statement error`, `#` comments), run by the small runner below rather than the
//! `sqllogictest` crate, whose dev-dependency would turn on extra features of shared crates and
//! make `cargo test` rebuild the whole DataFusion tree (see Cargo.toml).
//! Results are compared row by row after collapsing whitespace. Regenerate the expected results
//! after a deliberate change, then review the diff:
//! `TRAILGLASS_SLT_COMPLETE=1 cargo test --profile ci slt_catalog`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::lake::{Lake, LakeLocation};
use crate::query::catalog::{Analysis, Catalog};
use arrow::array::Array;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::util::{Workdir, repo};

struct TrailDb {
    rt: Arc<tokio::runtime::Runtime>,
    analysis: Analysis,
}

/// Split `CATALOG name a=b c='x y'` into the name and its parameters.
fn catalog_call(sql: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest = sql.trim().strip_prefix("CATALOG ")?;
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // SQL-style quoting: '' inside quotes is one quote.
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                cur.push('\'');
                chars.next();
            }
            '\'' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut it = words.into_iter();
    let name = it.next()?;
    let params = it
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    Some((name, params))
}

impl TrailDb {
    async fn query(
        &mut self,
        sql: &str,
    ) -> anyhow::Result<(arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>)> {
        match catalog_call(sql) {
            Some((name, params)) => self.analysis.run(&name, &params).await,
            None => {
                self.analysis.findings().await?;
                let mut r = crate::query::run_sql(&self.analysis.ctx, sql).await?;
                let batches = r.pop().unwrap_or_default();
                let schema = batches
                    .first()
                    .map(|b| b.schema())
                    .unwrap_or_else(|| Arc::new(arrow::datatypes::Schema::empty()));
                Ok((schema, batches))
            }
        }
    }
}

impl TrailDb {
    /// Run one record's SQL; rows as text cells (`NULL`, `(empty)` for an empty string).
    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        let rt = self.rt.clone();
        let (_, batches) = rt.block_on(self.query(sql)).map_err(|e| format!("{e:#}"))?;
        let opts = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &batches {
            let fmts = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            for i in 0..b.num_rows() {
                rows.push(
                    fmts.iter()
                        .zip(b.columns())
                        .map(|(f, c)| {
                            let s = f.value(i).to_string();
                            if s.is_empty() && !c.is_null(i) {
                                "(empty)".to_string()
                            } else {
                                s
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(rows)
    }
}

/// One record of an .slt file.
enum Record {
    /// Comment and blank lines, kept as they are.
    Text(Vec<String>),
    Query {
        header: String,
        sql: Vec<String>,
        expected: Vec<String>,
        line: usize,
    },
    Statement {
        header: String,
        sql: Vec<String>,
        line: usize,
    },
}

fn parse_slt(text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim();
        if t.starts_with("query") || t.starts_with("statement") {
            let header = t.to_string();
            let line = i + 1;
            i += 1;
            let mut sql = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() && lines[i].trim() != "----" {
                sql.push(lines[i].to_string());
                i += 1;
            }
            if header.starts_with("query") {
                let mut expected = Vec::new();
                if i < lines.len() && lines[i].trim() == "----" {
                    i += 1;
                    while i < lines.len() && !lines[i].trim().is_empty() {
                        expected.push(lines[i].to_string());
                        i += 1;
                    }
                }
                out.push(Record::Query {
                    header,
                    sql,
                    expected,
                    line,
                });
            } else {
                out.push(Record::Statement { header, sql, line });
            }
        } else {
            let mut text = vec![l.to_string()];
            i += 1;
            while i < lines.len() {
                let t = lines[i].trim();
                if t.starts_with("query") || t.starts_with("statement") {
                    break;
                }
                text.push(lines[i].to_string());
                i += 1;
            }
            out.push(Record::Text(text));
        }
    }
    out
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Run one file; with `complete`, rewrite its expected results. Returns the failures.
fn run_slt(db: &mut TrailDb, file: &Path, complete: bool) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("read slt");
    let mut records = parse_slt(&text);
    let mut failures = Vec::new();
    for r in &mut records {
        match r {
            Record::Text(_) => {}
            Record::Statement { header, sql, line } => {
                let res = db.rows(&sql.join("\n"));
                let want_error = header.contains("error");
                if res.is_err() != want_error {
                    failures.push(format!(
                        "{}:{line}: {header}, got {}",
                        file.display(),
                        match res {
                            Ok(_) => "success".to_string(),
                            Err(e) => format!("error {e}"),
                        }
                    ));
                }
            }
            Record::Query {
                header,
                sql,
                expected,
                line,
            } => match db.rows(&sql.join("\n")) {
                Err(e) => failures.push(format!("{}:{line}: error {e}", file.display())),
                Ok(rows) => {
                    let mut got: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
                    if header.split_whitespace().any(|w| w == "rowsort") {
                        got.sort();
                    }
                    if complete {
                        *expected = got;
                    } else {
                        let a: Vec<String> = got.iter().map(|s| norm(s)).collect();
                        let b: Vec<String> = expected.iter().map(|s| norm(s)).collect();
                        if a != b {
                            failures.push(format!(
                                "{}:{line}: results differ\n--- expected\n{}\n--- got\n{}",
                                file.display(),
                                b.join("\n"),
                                a.join("\n")
                            ));
                        }
                    }
                }
            },
        }
    }
    if complete {
        let mut out = String::new();
        for r in &records {
            match r {
                Record::Text(t) => {
                    for l in t {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                Record::Statement { header, sql, .. } => {
                    out.push_str(header);
                    out.push('\n');
                    for l in sql {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                Record::Query {
                    header,
                    sql,
                    expected,
                    ..
                } => {
                    out.push_str(header);
                    out.push('\n');
                    for l in sql {
                        out.push_str(l);
                        out.push('\n');
                    }
                    out.push_str("----\n");
                    for l in expected {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
            }
        }
        std::fs::write(file, out).expect("write slt");
    }
    failures
}

fn slt_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/slt"))
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    v.sort();
    v
}

#[test]
fn slt_files_cover_every_catalog_query() {
    let catalog = Catalog::load().expect("catalog");
    let mut text = String::new();
    for f in slt_files() {
        text.push_str(&std::fs::read_to_string(f).expect("read slt"));
    }
    let used: BTreeSet<String> = text
        .lines()
        .filter_map(|l| catalog_call(l).map(|(n, _)| n))
        .collect();
    let missing: Vec<&str> = catalog
        .queries
        .iter()
        .map(|q| q.name.as_str())
        .filter(|n| !used.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "catalog queries without an .slt record: {missing:?}"
    );
}

#[test]
fn slt_catalog_on_fixture() {
    let w = Workdir::new();
    let fixture = repo().join("testdata/slt");
    w.ingest(&fixture.join("trail"), &[]);
    let rt = Arc::new(tokio::runtime::Runtime::new().expect("runtime"));
    let config = Config::from_file(&fixture.join("trailglass.toml")).expect("fixture config");
    let location = LakeLocation::parse(w.lake().to_str().expect("utf-8")).expect("lake");
    let lake = rt.block_on(Lake::open(location)).expect("open lake");
    let complete = std::env::var_os("TRAILGLASS_SLT_COMPLETE").is_some();
    let mut failures = Vec::new();
    for file in slt_files() {
        let analysis = rt
            .block_on(Analysis::open(
                &lake,
                None,
                &config,
                Catalog::load().expect("catalog"),
            ))
            .expect("analysis");
        let mut db = TrailDb {
            rt: rt.clone(),
            analysis,
        };
        failures.extend(run_slt(&mut db, &file, complete));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
