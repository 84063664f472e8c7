//! A catalog file's comment header (name, description, parameters, requires, steps) and the
//! binding of parameter values to its placeholders.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{ParamValues, ScalarValue};

use crate::error::Error;

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Text,
    Int,
    Timestamp,
    Bool,
}

impl ParamType {
    pub(super) fn parse(s: &str) -> Option<ParamType> {
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
