//! Result formats: an aligned table for people, CSV / JSON / NDJSON for programs.

use std::io::Write;

use anyhow::Result;
use arrow::record_batch::RecordBatch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
}

/// Write batches in `format`. An empty result still prints its header (table, csv) or `[]` (json).
pub fn write_batches(out: &mut dyn Write, batches: &[RecordBatch], format: Format) -> Result<()> {
    match format {
        Format::Table => {
            let text = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{text}")?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            drop(w);
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}
