//! `trailglass queries`: the catalog of prebuilt SQL — name, description, parameters.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::Exit;
use crate::query::catalog::{Catalog, Kind};
use crate::query::{self, Format};

/// List the catalog of prebuilt queries (run one with `trailglass query NAME`).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass queries
  trailglass queries --sql session_actions        (print one query's SQL)
  trailglass query session_actions --param session_id=3f1c0d9a2b7e4c11")]
pub struct QueriesArgs {
    /// Print the SQL of one query instead of the list.
    #[arg(long, value_name = "NAME")]
    pub sql: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(args: &QueriesArgs) -> Result<Exit> {
    let catalog = Catalog::load()?;
    let mut out = std::io::stdout().lock();
    if let Some(name) = &args.sql {
        let q = catalog.find(name)?;
        write!(out, "{}", q.text)?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    let kind = |k: Kind| match k {
        Kind::Sessions => "sessions",
        Kind::Rule => "rule",
        Kind::Anomaly => "anomaly",
        Kind::Investigation => "investigation",
    };
    let qs = &catalog.queries;
    let params = |q: &crate::query::catalog::Query| {
        q.params
            .iter()
            .map(|p| match &p.default {
                None => format!("{} {}", p.name, p.ty.name()),
                Some(d) => format!("[{} {} = {d}]", p.name, p.ty.name()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("parameters", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                qs.iter().map(|q| q.name.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                qs.iter().map(|q| kind(q.kind)),
            )),
            Arc::new(StringArray::from_iter_values(qs.iter().map(params))),
            Arc::new(StringArray::from_iter_values(
                qs.iter().map(|q| q.description.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                qs.iter().map(|q| format!("queries/{}", q.path)),
            )),
        ],
    )?;
    query::write_batches(&mut out, &[batch], args.format)?;
    out.flush()?;
    Ok(Exit::Ok)
}
