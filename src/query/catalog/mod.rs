//! The catalog of prebuilt SQL (`queries/**/*.sql`): sessions, rules and investigations.
//!
//! Every file starts with a comment header:
//!
//! ```sql
//! -- name: session_actions
//! -- description: Every action of one break-glass session, in time order.
//! -- param: session_id text            the session (see `trailglass sessions`)
//! -- param: from timestamp = null      only actions at or after this time
//! -- requires: sessions
//! ```
//!
//! A parameter is `name type [= default]` followed by its description; types are `text`, `int`,
//! `timestamp`, `bool`; no default means required, `= null` means optional. In the SQL a parameter
//! is the placeholder `$name`, bound with DataFusion's `with_param_values`: a value never becomes
//! SQL text, so `x' OR '1'='1` is only ever a string. `requires:` names what must be built first
//! (`sessions` — the tables of `queries/sessions.sql` — or `findings`).
//!
//! Besides its declared parameters, every query may use the configuration as bound values:
//! `$bg_role_patterns` and `$bg_user_patterns` (lists of ARN globs) and `$bg_root` (boolean), the
//! same values as the tables `bg_roles`, `bg_users` and `bg_policy` ([`IMPLICIT_PARAMS`]).
//!
//! A file may hold several statements, each after a `-- step: NAME` line. Each step's result is
//! registered as an in-memory table named `NAME`, so later steps (and other queries) read it; this
//! is how `sessions.sql` builds the small relations it needs once and how every rule then runs over
//! the same session-events relation instead of scanning `events` again.
//!
//! The files are compiled into the binary (the installed tool works outside the repository); set
//! `TRAILGLASS_QUERIES=DIR` to run an edited copy of the folder instead.

mod analysis;
mod embedded;
mod executor;
mod header;
mod scheduler;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use arrow::datatypes::{DataType, TimeUnit};

use crate::error::Error;

pub use analysis::{Analysis, IMPLICIT_PARAMS};
pub use embedded::EMBEDDED;
pub use executor::{register_batches, run_statement};
pub use header::{Kind, Param, ParamType, Query};
pub use scheduler::run_query;

/// The whole catalog, in path order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub queries: Vec<Query>,
    /// Where it came from (`None`: compiled in).
    pub origin: Option<PathBuf>,
}

impl Catalog {
    /// The catalog for a run: `TRAILGLASS_QUERIES=DIR` when set, else the compiled-in copy.
    pub fn load() -> Result<Catalog> {
        match std::env::var_os("TRAILGLASS_QUERIES") {
            Some(d) if !d.is_empty() => Catalog::from_dir(Path::new(&d)),
            _ => Catalog::embedded(),
        }
    }

    pub fn embedded() -> Result<Catalog> {
        let mut queries = EMBEDDED
            .iter()
            .map(|(p, t)| Query::parse(p, t))
            .collect::<Result<Vec<_>>>()?;
        queries.sort_by(|a, b| a.path.cmp(&b.path));
        Catalog::checked(queries, None)
    }

    /// Read every `*.sql` below `dir`.
    pub fn from_dir(dir: &Path) -> Result<Catalog> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let rd = std::fs::read_dir(&d).with_context(|| {
                format!(
                    "cannot read the query folder {} (TRAILGLASS_QUERIES)",
                    d.display()
                )
            })?;
            for e in rd {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "sql") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut queries = Vec::new();
        for f in files {
            let rel = f
                .strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            queries.push(Query::parse(&rel, &text)?);
        }
        Catalog::checked(queries, Some(dir.to_path_buf()))
    }

    fn checked(queries: Vec<Query>, origin: Option<PathBuf>) -> Result<Catalog> {
        let mut seen = BTreeMap::new();
        for q in &queries {
            if let Some(other) = seen.insert(q.name.clone(), q.path.clone()) {
                bail!(
                    "two catalog queries are named {}: {other} and {}",
                    q.name,
                    q.path
                );
            }
        }
        if !queries.iter().any(|q| q.kind == Kind::Sessions) {
            bail!("the query catalog has no sessions.sql");
        }
        Ok(Catalog { queries, origin })
    }

    pub fn get(&self, name: &str) -> Option<&Query> {
        self.queries.iter().find(|q| q.name == name)
    }

    /// Look a query up by name, or say which names exist.
    pub fn find(&self, name: &str) -> Result<&Query> {
        self.get(name).ok_or_else(|| {
            let names: Vec<&str> = self
                .queries
                .iter()
                .filter(|q| q.kind == Kind::Investigation)
                .map(|q| q.name.as_str())
                .collect();
            Error::Usage(format!(
                "no query named {name:?}; `trailglass queries` lists them: {}",
                names.join(", ")
            ))
            .into()
        })
    }

    pub fn sessions(&self) -> Result<&Query> {
        self.queries
            .iter()
            .find(|q| q.kind == Kind::Sessions)
            .ok_or_else(|| anyhow!("the query catalog has no sessions.sql"))
    }

    pub fn rules(&self) -> impl Iterator<Item = &Query> {
        self.queries.iter().filter(|q| q.kind == Kind::Rule)
    }

    pub fn anomalies(&self) -> impl Iterator<Item = &Query> {
        self.queries.iter().filter(|q| q.kind == Kind::Anomaly)
    }
}

/// Severities, least to most severe.
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The rank of a severity name (`info` 0 … `critical` 4).
pub fn severity_rank(s: &str) -> Option<usize> {
    SEVERITIES
        .iter()
        .position(|x| x.eq_ignore_ascii_case(s.trim()))
}

/// The columns every rule returns, in order.
pub fn findings_schema() -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{Field, Schema};
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("rule_id", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("eventid", DataType::Utf8, true),
        Field::new("eventtime", ts, true),
        Field::new("account", DataType::Utf8, true),
        Field::new("summary", DataType::Utf8, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::executor::owning_text;
    use super::scheduler::{step_inputs, tables_read};
    use super::*;
    use arrow::array::RecordBatch;
    use datafusion::common::{ParamValues, ScalarValue};
    use datafusion::prelude::SessionContext;

    #[test]
    fn compacted_results_own_only_their_text() {
        use arrow::array::{Array, AsArray, StringViewArray};
        // The copy is plain Utf8: later steps' repartitions and sorts copy what they move.
        // One kept row of a "page" of 10,000 long values, as a filter over a scan leaves it.
        let page: StringViewArray = (0..10_000).map(|i| Some(format!("{i:0>100}"))).collect();
        let kept = page.slice(42, 1);
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("v", DataType::Utf8View, true),
        ]));
        let b = RecordBatch::try_new(schema, vec![Arc::new(kept)]).unwrap();
        let c = owning_text(&b).unwrap();
        assert!(b.get_array_memory_size() > 500_000);
        assert!(c.get_array_memory_size() < 1_000);
        assert_eq!(
            c.column(0).as_string::<i32>().value(0),
            format!("{:0>100}", 42)
        );
        assert_eq!(c.num_rows(), 1);
        assert!(c.column(0).is_valid(0));
    }

    /// A step waits for the steps its statement reads as tables, and only those: a name in a
    /// comment, a string, a column alias or a CTE of its own is not a read.
    #[test]
    fn a_step_reads_the_steps_its_statement_references() {
        let text = "-- name: t\n-- description: d\n\
                    -- step: a\nSELECT 1 AS x;\n\
                    -- step: b\n-- not from a\nSELECT 2 AS a, 'a' AS s;\n\
                    -- step: c\nWITH b AS (SELECT 1) SELECT * FROM b;\n\
                    -- step: d\nSELECT * FROM a JOIN (SELECT * FROM B) x ON true;\n";
        let q = Query::parse("investigate/t.sql", text).expect("a query");
        let ctx = SessionContext::new();
        assert_eq!(step_inputs(&ctx, &q), [vec![], vec![], vec![], vec![0, 1]]);
        let broken = Query::parse(
            "investigate/u.sql",
            "-- name: u\n-- description: d\n-- step: a\nSELECT 1;\n-- step: b\nSELEC x;\n",
        )
        .expect("a query");
        assert_eq!(step_inputs(&ctx, &broken), [vec![], vec![0]]);
        // Every step of the catalog parses, so none falls back to waiting for all.
        for q in &Catalog::embedded().expect("the catalog").queries {
            for (step, sql) in &q.steps {
                assert!(tables_read(&ctx, sql).is_some(), "{} step {step}", q.path);
            }
        }
    }

    #[test]
    fn embedded_catalog_parses() {
        let c = Catalog::embedded().unwrap();
        assert_eq!(c.rules().count(), 15);
        let investigations = c
            .queries
            .iter()
            .filter(|q| q.kind == Kind::Investigation)
            .count();
        assert!(investigations >= 15, "{investigations}");
        for q in &c.queries {
            // Every placeholder used is declared, and every declared parameter is used.
            let used = placeholders(&q.text);
            for u in &used {
                assert!(
                    q.params.iter().any(|p| &p.name == u) || IMPLICIT_PARAMS.contains(&u.as_str()),
                    "{}: ${u} is not declared",
                    q.path
                );
            }
            for p in &q.params {
                assert!(used.contains(&p.name), "{}: {} is unused", q.path, p.name);
            }
        }
    }

    fn placeholders(sql: &str) -> Vec<String> {
        let mut out = Vec::new();
        let b = sql.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' {
                let s = i + 1;
                let mut e = s;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                    e += 1;
                }
                if e > s {
                    out.push(sql[s..e].to_string());
                }
                i = e;
            } else {
                i += 1;
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn embedded_list_matches_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let from_dir = Catalog::from_dir(&dir).unwrap();
        let mut a: Vec<&str> = from_dir.queries.iter().map(|q| q.path.as_str()).collect();
        let mut b: Vec<&str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
        a.sort();
        b.sort();
        assert_eq!(
            a, b,
            "src/query/catalog.rs EMBEDDED must list every file of queries/"
        );
    }

    #[test]
    fn header_and_binding() {
        let q = Query::parse(
            "investigate/x.sql",
            "-- name: x\n-- description: test\n-- param: id text   the id\n-- param: n int = 5 how many\nSELECT $id, $n\n",
        )
        .unwrap();
        assert_eq!(q.params.len(), 2);
        assert!(q.bind(&[]).is_err());
        let v = q.bind(&[("id".into(), "x' OR '1'='1".into())]).unwrap();
        let ParamValues::Map(m) = v else {
            panic!("map")
        };
        assert_eq!(
            m.get("id").map(|s| s.value.clone()),
            Some(ScalarValue::Utf8(Some("x' OR '1'='1".into())))
        );
        assert!(q.bind(&[("n".into(), "five".into())]).is_err());
        assert!(q.bind(&[("zzz".into(), "1".into())]).is_err());
    }
}
