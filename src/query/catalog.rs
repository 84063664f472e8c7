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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::error::Error;

/// The catalog as compiled into the binary: (path under `queries/`, text). The unit test
/// `embedded_list_matches_folder` keeps this list equal to the folder.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("sessions.sql", include_str!("../../queries/sessions.sql")),
    (
        "rules/BG001_session.sql",
        include_str!("../../queries/rules/BG001_session.sql"),
    ),
    (
        "rules/BG002_after_ttl.sql",
        include_str!("../../queries/rules/BG002_after_ttl.sql"),
    ),
    (
        "rules/BG003_without_mfa.sql",
        include_str!("../../queries/rules/BG003_without_mfa.sql"),
    ),
    (
        "rules/BG004_console_login_without_mfa.sql",
        include_str!("../../queries/rules/BG004_console_login_without_mfa.sql"),
    ),
    (
        "rules/BG005_no_approval.sql",
        include_str!("../../queries/rules/BG005_no_approval.sql"),
    ),
    (
        "rules/BG006_password_not_rotated.sql",
        include_str!("../../queries/rules/BG006_password_not_rotated.sql"),
    ),
    (
        "rules/BG007_persistence.sql",
        include_str!("../../queries/rules/BG007_persistence.sql"),
    ),
    (
        "rules/BG008_audit_tampering.sql",
        include_str!("../../queries/rules/BG008_audit_tampering.sql"),
    ),
    (
        "rules/BG009_failed_attempt.sql",
        include_str!("../../queries/rules/BG009_failed_attempt.sql"),
    ),
    (
        "rules/BG010_mfa_removed.sql",
        include_str!("../../queries/rules/BG010_mfa_removed.sql"),
    ),
    (
        "rules/BG011_resource_access.sql",
        include_str!("../../queries/rules/BG011_resource_access.sql"),
    ),
    (
        "rules/BG012_long_term_key.sql",
        include_str!("../../queries/rules/BG012_long_term_key.sql"),
    ),
    (
        "rules/BG013_after_revocation.sql",
        include_str!("../../queries/rules/BG013_after_revocation.sql"),
    ),
    (
        "rules/BG014_production_access.sql",
        include_str!("../../queries/rules/BG014_production_access.sql"),
    ),
    (
        "rules/BG015_logging_blind_spot.sql",
        include_str!("../../queries/rules/BG015_logging_blind_spot.sql"),
    ),
    (
        "anomalies/AN001_new_principal.sql",
        include_str!("../../queries/anomalies/AN001_new_principal.sql"),
    ),
    (
        "anomalies/AN002_new_account.sql",
        include_str!("../../queries/anomalies/AN002_new_account.sql"),
    ),
    (
        "anomalies/AN003_new_hour_of_week.sql",
        include_str!("../../queries/anomalies/AN003_new_hour_of_week.sql"),
    ),
    (
        "anomalies/AN004_long_or_busy_session.sql",
        include_str!("../../queries/anomalies/AN004_long_or_busy_session.sql"),
    ),
    (
        "anomalies/AN005_new_origin.sql",
        include_str!("../../queries/anomalies/AN005_new_origin.sql"),
    ),
    (
        "anomalies/AN008_outside_approval.sql",
        include_str!("../../queries/anomalies/AN008_outside_approval.sql"),
    ),
    (
        "anomalies/AN009_failed_attempt_spike.sql",
        include_str!("../../queries/anomalies/AN009_failed_attempt_spike.sql"),
    ),
    (
        "investigate/access_key_activity.sql",
        include_str!("../../queries/investigate/access_key_activity.sql"),
    ),
    (
        "investigate/audit_tampering.sql",
        include_str!("../../queries/investigate/audit_tampering.sql"),
    ),
    (
        "investigate/breakglass_this_week.sql",
        include_str!("../../queries/investigate/breakglass_this_week.sql"),
    ),
    (
        "investigate/console_logins_without_mfa.sql",
        include_str!("../../queries/investigate/console_logins_without_mfa.sql"),
    ),
    (
        "investigate/denied_calls.sql",
        include_str!("../../queries/investigate/denied_calls.sql"),
    ),
    (
        "investigate/failed_signins.sql",
        include_str!("../../queries/investigate/failed_signins.sql"),
    ),
    (
        "investigate/findings_by_session.sql",
        include_str!("../../queries/investigate/findings_by_session.sql"),
    ),
    (
        "investigate/iam_changes.sql",
        include_str!("../../queries/investigate/iam_changes.sql"),
    ),
    (
        "investigate/kms_use_in_session.sql",
        include_str!("../../queries/investigate/kms_use_in_session.sql"),
    ),
    (
        "investigate/new_regions.sql",
        include_str!("../../queries/investigate/new_regions.sql"),
    ),
    (
        "investigate/new_source_ips.sql",
        include_str!("../../queries/investigate/new_source_ips.sql"),
    ),
    (
        "investigate/new_user_agents.sql",
        include_str!("../../queries/investigate/new_user_agents.sql"),
    ),
    (
        "investigate/principal_activity.sql",
        include_str!("../../queries/investigate/principal_activity.sql"),
    ),
    (
        "investigate/revocations.sql",
        include_str!("../../queries/investigate/revocations.sql"),
    ),
    (
        "investigate/root_activity.sql",
        include_str!("../../queries/investigate/root_activity.sql"),
    ),
    (
        "investigate/s3_access_in_session.sql",
        include_str!("../../queries/investigate/s3_access_in_session.sql"),
    ),
    (
        "investigate/session_actions.sql",
        include_str!("../../queries/investigate/session_actions.sql"),
    ),
    (
        "investigate/session_chain.sql",
        include_str!("../../queries/investigate/session_chain.sql"),
    ),
    (
        "investigate/session_timeline.sql",
        include_str!("../../queries/investigate/session_timeline.sql"),
    ),
    (
        "investigate/sessions_by_account.sql",
        include_str!("../../queries/investigate/sessions_by_account.sql"),
    ),
    (
        "investigate/trust_policy_changes.sql",
        include_str!("../../queries/investigate/trust_policy_changes.sql"),
    ),
];

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Text,
    Int,
    Timestamp,
    Bool,
}

impl ParamType {
    fn parse(s: &str) -> Option<ParamType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "text" | "string" | "varchar" => ParamType::Text,
            "int" | "integer" | "bigint" => ParamType::Int,
            "timestamp" | "time" => ParamType::Timestamp,
            "bool" | "boolean" => ParamType::Bool,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::Text => "text",
            ParamType::Int => "int",
            ParamType::Timestamp => "timestamp",
            ParamType::Bool => "bool",
        }
    }

    fn null(self) -> ScalarValue {
        match self {
            ParamType::Text => ScalarValue::Utf8(None),
            ParamType::Int => ScalarValue::Int64(None),
            ParamType::Timestamp => ScalarValue::TimestampMicrosecond(None, Some("UTC".into())),
            ParamType::Bool => ScalarValue::Boolean(None),
        }
    }

    /// Turn a text value into a typed scalar (`null` is NULL for every type).
    pub fn value(self, raw: &str) -> std::result::Result<ScalarValue, String> {
        if raw.eq_ignore_ascii_case("null") {
            return Ok(self.null());
        }
        Ok(match self {
            ParamType::Text => ScalarValue::Utf8(Some(raw.to_string())),
            ParamType::Int => ScalarValue::Int64(Some(
                raw.trim()
                    .parse()
                    .map_err(|_| format!("{raw:?} is not an integer"))?,
            )),
            ParamType::Timestamp => {
                let t = crate::config::parse_time(raw).ok_or_else(|| {
                    format!("{raw:?} is not a time; use RFC 3339 like 2026-03-01T10:00:00Z or a date like 2026-03-01")
                })?;
                ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
            }
            ParamType::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => ScalarValue::Boolean(Some(true)),
                "false" | "no" | "0" => ScalarValue::Boolean(Some(false)),
                _ => return Err(format!("{raw:?} is not true or false")),
            },
        })
    }

    /// The Arrow type of a bound value.
    pub fn data_type(self) -> DataType {
        match self {
            ParamType::Text => DataType::Utf8,
            ParamType::Int => DataType::Int64,
            ParamType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ParamType::Bool => DataType::Boolean,
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    /// `None`: required. `Some("null")`: optional, NULL when not given.
    pub default: Option<String>,
    pub description: String,
}

/// What a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `sessions.sql`: builds `sessions` and `session_events`.
    Sessions,
    /// `rules/BG0xx_*.sql`: rows of `findings`.
    Rule,
    /// `anomalies/AN0xx_*.sql`: rows shaped like `findings`, each against a baseline of the
    /// sessions before the window's start (`$from`); `report` runs them.
    Anomaly,
    /// Everything else.
    Investigation,
}

/// One catalog entry.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    /// Path under `queries/`.
    pub path: String,
    pub description: String,
    pub params: Vec<Param>,
    /// What must be built before it runs: `sessions`, `findings`.
    pub requires: Vec<String>,
    /// (step name, SQL); a one-statement file has one step named after the query.
    pub steps: Vec<(String, String)>,
    pub kind: Kind,
    pub text: String,
}

impl Query {
    /// Parse a catalog file.
    pub fn parse(path: &str, text: &str) -> Result<Query> {
        let mut name = None;
        let mut description = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let mut requires = Vec::new();
        // The header is the leading `-- key: value` lines; `--   text` (indented) continues the
        // previous key; anything else ends it.
        let mut in_header = true;
        let mut last_key = "";
        let mut steps: Vec<(String, String)> = Vec::new();
        let mut current: Option<(String, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let t = line.trim();
            let bad = |msg: &str| anyhow!("queries/{path}:{n}: {msg}");
            if in_header {
                if let Some(raw) = t.strip_prefix("--") {
                    let rest = raw.trim();
                    if let Some(v) = rest.strip_prefix("name:") {
                        name = Some(v.trim().to_string());
                        last_key = "name";
                        continue;
                    } else if let Some(v) = rest.strip_prefix("description:") {
                        description.push(v.trim().to_string());
                        last_key = "description";
                        continue;
                    } else if let Some(v) = rest.strip_prefix("param:") {
                        params.push(parse_param(v).map_err(|e| bad(&e))?);
                        last_key = "param";
                        continue;
                    } else if let Some(v) = rest.strip_prefix("requires:") {
                        requires.extend(
                            v.split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty()),
                        );
                        last_key = "requires";
                        continue;
                    } else if !rest.is_empty()
                        && (raw.starts_with("  ") || raw.starts_with('\t'))
                        && !rest.starts_with("step:")
                    {
                        match last_key {
                            "description" => description.push(rest.to_string()),
                            "param" => {
                                if let Some(p) = params.last_mut() {
                                    if !p.description.is_empty() {
                                        p.description.push(' ');
                                    }
                                    p.description.push_str(rest);
                                }
                            }
                            _ => return Err(bad("an indented header line continues nothing")),
                        }
                        continue;
                    }
                    in_header = false;
                } else if t.is_empty() {
                    continue;
                } else {
                    in_header = false;
                }
            }
            if let Some(step) = t.strip_prefix("-- step:") {
                if let Some(c) = current.take() {
                    steps.push(c);
                }
                current = Some((step.trim().to_string(), String::new()));
                continue;
            }
            let cur = current.get_or_insert_with(|| (String::new(), String::new()));
            cur.1.push_str(line);
            cur.1.push('\n');
        }
        if let Some(c) = current.take() {
            steps.push(c);
        }
        let name =
            name.ok_or_else(|| anyhow!("queries/{path}: the header has no `-- name:` line"))?;
        if description.is_empty() {
            bail!("queries/{path}: the header has no `-- description:` line");
        }
        for s in &mut steps {
            let sql = s.1.trim().trim_end_matches(';').trim().to_string();
            s.1 = sql;
            if s.0.is_empty() {
                s.0 = name.clone();
            }
        }
        // A step of comments only (the prose before the first `-- step:`) is not a statement.
        steps.retain(|s| {
            s.1.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        });
        if steps.is_empty() {
            bail!("queries/{path}: no SQL after the header");
        }
        let kind = if path == "sessions.sql" {
            Kind::Sessions
        } else if path.starts_with("rules/") {
            Kind::Rule
        } else if path.starts_with("anomalies/") {
            Kind::Anomaly
        } else {
            Kind::Investigation
        };
        Ok(Query {
            name,
            path: path.to_string(),
            description: description.join(" "),
            params,
            requires,
            steps,
            kind,
            text: text.to_string(),
        })
    }

    /// Bind `given` (name → text value) to the declared parameters: unknown names, missing required
    /// values and ill-typed values are usage errors that say what is expected.
    pub fn bind(&self, given: &[(String, String)]) -> Result<ParamValues> {
        let mut map: HashMap<String, ScalarValue> = HashMap::new();
        for (k, v) in given {
            let p = self.params.iter().find(|p| &p.name == k).ok_or_else(|| {
                Error::Usage(format!(
                    "query {} has no parameter {k:?}; it takes: {}",
                    self.name,
                    self.param_list()
                ))
            })?;
            let value = p.ty.value(v).map_err(|e| {
                Error::Usage(format!(
                    "--param {k}: {e} (query {} expects {} {})",
                    self.name,
                    p.ty.name(),
                    p.name
                ))
            })?;
            map.insert(k.clone(), value);
        }
        for p in &self.params {
            if map.contains_key(&p.name) {
                continue;
            }
            match &p.default {
                None => {
                    return Err(Error::Usage(format!(
                        "query {} needs --param {}=<{}> ({})",
                        self.name,
                        p.name,
                        p.ty.name(),
                        p.description
                    ))
                    .into());
                }
                Some(d) => {
                    let v = p.ty.value(d).map_err(|e| {
                        anyhow!("queries/{}: default of {}: {e}", self.path, p.name)
                    })?;
                    map.insert(p.name.clone(), v);
                }
            }
        }
        Ok(ParamValues::Map(
            map.into_iter().map(|(k, v)| (k, v.into())).collect(),
        ))
    }

    fn param_list(&self) -> String {
        if self.params.is_empty() {
            return "no parameters".into();
        }
        self.params
            .iter()
            .map(|p| format!("{} {}", p.name, p.ty.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The rule id (`BG001`) of a rule file.
    pub fn rule_id(&self) -> Option<&str> {
        if self.kind != Kind::Rule {
            return None;
        }
        Path::new(&self.path)
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.split('_').next())
    }
}

fn parse_param(v: &str) -> std::result::Result<Param, String> {
    const FORM: &str = "expected `-- param: NAME TYPE [= DEFAULT] DESCRIPTION` with TYPE text, int, timestamp or bool";
    let mut words = v.split_whitespace();
    let name = words.next().ok_or(FORM)?.to_string();
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("bad parameter name {name:?}; {FORM}"));
    }
    let ty = words
        .next()
        .and_then(ParamType::parse)
        .ok_or_else(|| format!("parameter {name}: {FORM}"))?;
    let rest: Vec<&str> = words.collect();
    let (default, desc) = if rest.first() == Some(&"=") {
        let d = rest
            .get(1)
            .ok_or_else(|| format!("parameter {name}: {FORM}"))?;
        (Some(d.to_string()), rest[2..].join(" "))
    } else {
        (None, rest.join(" "))
    };
    if let Some(d) = &default {
        ty.value(d)
            .map_err(|e| format!("parameter {name}: default {e}"))?;
    }
    Ok(Param {
        name,
        ty,
        default,
        description: desc,
    })
}

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

/// Register batches as an in-memory table (replacing one of the same name).
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<()> {
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// A copy of `b` that owns only its own text, as plain `Utf8`/`Binary`. Parquet text is read as
/// views into whole decoded pages, so a result of a thousand rows of a scan would otherwise hold
/// hundreds of MB of pages (and a step's result lives as long as the session). Views are not
/// kept even when compacted: a later step's repartition or sort slices and regroups them without
/// copying, each piece still pointing into (and, for DataFusion's memory accounting, counting)
/// the whole buffers of its source batch. On a month of AssumeRole-heavy trail `tg_sts`' sort
/// of 80k rows was charged 3.3 GB that way and failed ("Not enough memory to continue external
/// sort"); plain strings are charged what they hold.
fn owning_text(b: &RecordBatch) -> Result<RecordBatch> {
    use arrow::datatypes::{Field, Fields, Schema};
    fn plain(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type()))))
                    .collect::<Fields>(),
            ),
            other => other.clone(),
        }
    }
    let schema = b.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain(f.data_type())))
        .collect();
    let cols = b
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        cols,
    )?)
}

/// Run one SQL statement of the catalog, read-only, with bound parameters.
pub async fn run_statement(
    ctx: &SessionContext,
    sql: &str,
    params: &ParamValues,
) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    // DataFusion errors repeat their message through `source()`; keep it once.
    let flat = |e: datafusion::error::DataFusionError| anyhow!("{e}");
    let df = ctx
        .sql_with_options(sql, super::read_only())
        .await
        .map_err(flat)?;
    let df = df.with_param_values(params.clone()).map_err(flat)?;
    let planned: arrow::datatypes::SchemaRef = Arc::new(df.schema().as_arrow().clone());
    // Compacted as they arrive, so the pages a batch points into are freed while the scan runs.
    let task = df.task_ctx();
    let plan = df.create_physical_plan().await.map_err(flat)?;
    let mut stream =
        datafusion::physical_plan::execute_stream(plan.clone(), Arc::new(task)).map_err(flat)?;
    let mut batches = Vec::new();
    while let Some(b) = futures::StreamExt::next(&mut stream).await {
        batches.push(owning_text(&b.map_err(flat)?)?);
    }
    super::scan::record(ctx, &plan);
    // `RUST_LOG=trailglass=trace`: where a step spent its time, operator by operator.
    tracing::trace!(
        plan = %datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true),
        "executed"
    );
    // The batches' own schema (nullability as executed) when there are any.
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => owning_text(&RecordBatch::new_empty(planned))?.schema(),
    };
    Ok((schema, batches))
}

/// Run every step of a query; each step's result is registered under its step name. Returns the
/// last step's result. Steps that do not read each other run at the same time (a step reads an
/// earlier one when its parsed statement references it as a table): `sessions` overlaps its scan
/// of `events` for break-glass identities with the chain of credential calls.
pub async fn run_query(
    ctx: &SessionContext,
    q: &Query,
    params: &ParamValues,
) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let many = q.steps.len() > 1;
    let reads = step_inputs(ctx, q);
    let run_step = |i: usize| {
        let (step, sql) = q.steps[i].clone();
        let (ctx, params) = (ctx.clone(), params.clone());
        async move {
            let started = std::time::Instant::now();
            // A task of its own, so steps that run at the same time plan and execute on every
            // worker thread, not interleaved on one.
            let span = tracing::info_span!("catalog step", query = %q.name, step = %step);
            let task = tokio::spawn(tracing::Instrument::instrument(
                async move { run_statement(&ctx, &sql, &params).await },
                span,
            ));
            let out = task
                .await
                .map_err(|e| anyhow!("a catalog step stopped: {e}"))?
                .with_context(|| {
                    if many {
                        format!("query {} (queries/{}), step {step}", q.name, q.path)
                    } else {
                        format!("query {} (queries/{})", q.name, q.path)
                    }
                })?;
            tracing::debug!(
                query = %q.name,
                step = %step,
                rows = out.1.iter().map(|b| b.num_rows()).sum::<usize>(),
                ms = started.elapsed().as_millis() as u64,
                "catalog step"
            );
            anyhow::Ok(out)
        }
    };
    let mut done = vec![false; q.steps.len()];
    let mut last = None;
    loop {
        let ready: Vec<usize> = (0..q.steps.len())
            .filter(|&i| !done[i] && reads[i].iter().all(|&j| done[j]))
            .collect();
        if ready.is_empty() {
            break;
        }
        let results = futures::future::try_join_all(ready.iter().map(|&i| run_step(i))).await?;
        for (i, (schema, batches)) in ready.into_iter().zip(results) {
            if many {
                register_batches(ctx, &q.steps[i].0, schema.clone(), batches.clone())?;
            }
            if i + 1 == q.steps.len() {
                last = Some((schema, batches));
            }
            done[i] = true;
        }
    }
    last.ok_or_else(|| anyhow!("query {} has no SQL", q.name))
}

/// Whether `sql` names the table `name` (as a whole identifier, any case).
/// For each step, the earlier steps it reads.
fn step_inputs(ctx: &SessionContext, q: &Query) -> Vec<Vec<usize>> {
    q.steps
        .iter()
        .enumerate()
        .map(|(i, (_, sql))| {
            let tables = tables_read(ctx, sql);
            (0..i)
                .filter(|&j| {
                    let step = q.steps[j].0.to_ascii_lowercase();
                    // A statement that does not parse fails when it runs; until then it waits
                    // for every earlier step, the order its text gives.
                    tables.as_ref().is_none_or(|t| t.contains(&step))
                })
                .collect()
        })
        .collect()
}

/// The tables a statement reads, lower case, from its parse tree (a step named in a comment, a
/// string or a column alias is not read). `None` when it does not parse.
fn tables_read(ctx: &SessionContext, sql: &str) -> Option<Vec<String>> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect).ok()?;
    let refs = state.resolve_table_references(&statement).ok()?;
    Some(
        refs.iter()
            .map(|r| r.table().to_ascii_lowercase())
            .collect(),
    )
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

/// Parameters every catalog query may use without declaring them: the configuration's pattern
/// lists and root switch as bound values (the same values as the `bg_roles`, `bg_users` and
/// `bg_policy` tables). They let a step test a row against every pattern with one function call
/// (`arn_glob(arn, $bg_role_patterns)`) instead of a join per row.
pub const IMPLICIT_PARAMS: [&str; 3] = ["bg_role_patterns", "bg_user_patterns", "bg_root"];

fn implicit_params(config: &crate::config::Config) -> HashMap<String, ScalarValue> {
    let list = |pats: &[String]| {
        let items: Vec<ScalarValue> = pats
            .iter()
            .map(|p| ScalarValue::Utf8(Some(p.clone())))
            .collect();
        ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8))
    };
    HashMap::from([
        ("bg_role_patterns".to_string(), list(&config.roles)),
        ("bg_user_patterns".to_string(), list(&config.users)),
        (
            "bg_root".to_string(),
            ScalarValue::Boolean(Some(config.root)),
        ),
    ])
}

/// A catalog bound to one DataFusion session: knows what has been built already.
pub struct Analysis {
    pub ctx: SessionContext,
    pub catalog: Catalog,
    implicit: HashMap<String, ScalarValue>,
    built_sessions: bool,
    built_findings: bool,
}

impl Analysis {
    /// A session over the lake with trailglass's functions and the configuration tables.
    pub async fn open(
        lake: &crate::lake::Lake,
        as_of: Option<i64>,
        config: &crate::config::Config,
        catalog: Catalog,
    ) -> Result<Analysis> {
        Analysis::open_window(
            lake,
            as_of,
            config,
            catalog,
            &super::window::Window::default(),
        )
        .await
    }

    /// [`Analysis::open`] for a window: `events` and `identity_events` are read only over the
    /// window widened by the configuration's look-back (`window::Window::scan_range`), so the
    /// sessions that start in the window are whole and nothing older is opened.
    pub async fn open_window(
        lake: &crate::lake::Lake,
        as_of: Option<i64>,
        config: &crate::config::Config,
        catalog: Catalog,
        window: &super::window::Window,
    ) -> Result<Analysis> {
        let ctx = super::context_range(lake, as_of, window.scan_range(config)).await?;
        {
            // Late materialization: the selective predicates (event source and name, and the
            // dynamic filters a hash join pushes into its probe side) are applied while decoding,
            // so the wide JSON and identity columns are decoded only for the rows that match.
            let state = ctx.state_ref();
            let mut st = state.write();
            let opts = st.config_mut().options_mut();
            opts.execution.parquet.pushdown_filters = true;
            opts.execution.parquet.reorder_filters = true;
            // The lake's files have no bloom filters (every filtered column is sorted or
            // dictionary encoded); looking for them costs a read per row group.
            opts.execution.parquet.bloom_filter_on_read = false;
        }
        config.register(&ctx)?;
        Ok(Analysis::with_context(ctx, catalog, config))
    }

    /// Use a prepared context (it must have `events`, the functions and `config`'s tables).
    pub fn with_context(
        ctx: SessionContext,
        catalog: Catalog,
        config: &crate::config::Config,
    ) -> Analysis {
        Analysis {
            ctx,
            catalog,
            implicit: implicit_params(config),
            built_sessions: false,
            built_findings: false,
        }
    }

    /// Take stored `sessions` and `findings` as built (`derived::open`). Only those two tables
    /// exist then, so this serves the all-history listing verbs, never a query that reads the
    /// intermediate tables.
    pub(crate) fn adopt_answers(
        &mut self,
        sessions: (arrow::datatypes::SchemaRef, Vec<RecordBatch>),
        findings: (arrow::datatypes::SchemaRef, Vec<RecordBatch>),
    ) -> Result<()> {
        register_batches(&self.ctx, "sessions", sessions.0, sessions.1)?;
        register_batches(&self.ctx, "findings", findings.0, findings.1)?;
        self.built_sessions = true;
        self.built_findings = true;
        Ok(())
    }

    /// Bind a query's parameters, plus the implicit configuration parameters.
    fn bind(&self, q: &Query, params: &[(String, String)]) -> Result<ParamValues> {
        let ParamValues::Map(mut map) = q.bind(params)? else {
            bail!("query {}: named parameters expected", q.name);
        };
        for (k, v) in &self.implicit {
            map.entry(k.clone()).or_insert_with(|| v.clone().into());
        }
        Ok(ParamValues::Map(map))
    }

    /// Build `sessions`, `session_events` and the intermediate tables (once).
    pub async fn sessions(&mut self) -> Result<()> {
        if self.built_sessions {
            return Ok(());
        }
        let q = self.catalog.sessions()?.clone();
        let params = self.bind(&q, &[])?;
        run_query(&self.ctx, &q, &params).await?;
        self.built_sessions = true;
        Ok(())
    }

    /// Build `findings`: every rule over the session relations, one table (once).
    pub async fn findings(&mut self) -> Result<()> {
        if self.built_findings {
            return Ok(());
        }
        self.sessions().await?;
        let schema = findings_schema();
        let mut all = Vec::new();
        let rules: Vec<Query> = self.catalog.rules().cloned().collect();
        let params = rules
            .iter()
            .map(|q| self.bind(q, &[]))
            .collect::<Result<Vec<_>>>()?;
        let multi_step = tokio::sync::Mutex::new(());
        let multi_step = &multi_step;
        // The rules read only the session tables, never each other: they run at the same time,
        // except a rule of several steps, whose step tables another such rule could also name.
        let results = futures::future::try_join_all(rules.iter().zip(&params).map(|(q, p)| {
            let ctx = &self.ctx;
            async move {
                if q.steps.len() > 1 {
                    let _one_at_a_time = multi_step.lock().await;
                    run_query(ctx, q, p).await
                } else {
                    run_query(ctx, q, p).await
                }
            }
        }))
        .await?;
        for (q, (_, batches)) in rules.iter().zip(results) {
            for b in batches {
                all.push(conform(&b, &schema).with_context(|| {
                    format!(
                        "rule {} (queries/{}) must return rule_id, severity, session_id, eventid, eventtime, account, summary",
                        q.name, q.path
                    )
                })?);
            }
        }
        register_batches(&self.ctx, "tg_findings", schema, all)?;
        let (schema, sorted) = run_statement(
            &self.ctx,
            "SELECT * FROM tg_findings ORDER BY eventtime, rule_id, session_id, eventid",
            &ParamValues::Map(HashMap::new()),
        )
        .await?;
        register_batches(&self.ctx, "findings", schema, sorted)?;
        self.built_findings = true;
        Ok(())
    }

    /// Every anomaly query for the window `from`..`to`, against the sessions before `from`: rows
    /// of the findings schema. The context must hold the history before `from` (open it without
    /// a window start), or every baseline is empty and nothing is found.
    pub async fn anomalies(
        &mut self,
        from: chrono::DateTime<chrono::Utc>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<RecordBatch>> {
        self.sessions().await?;
        let schema = findings_schema();
        let t = |v: chrono::DateTime<chrono::Utc>| v.to_rfc3339();
        let given = vec![
            ("from".to_string(), t(from)),
            ("to".to_string(), to.map_or_else(|| "null".to_string(), t)),
        ];
        let mut out = Vec::new();
        let queries: Vec<Query> = self.catalog.anomalies().cloned().collect();
        for q in queries {
            if q.requires.iter().any(|r| r == "findings") {
                self.findings().await?;
            }
            let params = self.bind(&q, &given)?;
            let (_, batches) = run_query(&self.ctx, &q, &params).await?;
            for b in batches {
                out.push(conform(&b, &schema).with_context(|| {
                    format!(
                        "anomaly {} (queries/{}) must return rule_id, severity, session_id, eventid, eventtime, account, summary",
                        q.name, q.path
                    )
                })?);
            }
        }
        Ok(out)
    }

    /// Build what a query needs, then run it with `params`.
    pub async fn run(
        &mut self,
        name: &str,
        params: &[(String, String)],
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let q = self.catalog.find(name)?.clone();
        let bound = self.bind(&q, params)?;
        match q.kind {
            Kind::Sessions => {
                self.sessions().await?;
                return run_statement(&self.ctx, "SELECT * FROM sessions", &bound).await;
            }
            Kind::Rule | Kind::Anomaly => self.sessions().await?,
            Kind::Investigation => {}
        }
        for r in &q.requires {
            match r.as_str() {
                "sessions" => self.sessions().await?,
                "findings" => self.findings().await?,
                other => bail!("queries/{}: unknown `requires: {other}`", q.path),
            }
        }
        run_query(&self.ctx, &q, &bound).await
    }
}

/// Cast a rule's result to the findings schema (by position, names checked).
fn conform(b: &RecordBatch, schema: &arrow::datatypes::SchemaRef) -> Result<RecordBatch> {
    if b.num_columns() != schema.fields().len() {
        bail!("{} columns instead of 7", b.num_columns());
    }
    let mut cols = Vec::with_capacity(b.num_columns());
    for (i, f) in schema.fields().iter().enumerate() {
        let got = b.schema().field(i).name().clone();
        if &got != f.name() {
            bail!("column {} is {got:?}, expected {:?}", i + 1, f.name());
        }
        cols.push(arrow::compute::cast(b.column(i), f.data_type())?);
    }
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
