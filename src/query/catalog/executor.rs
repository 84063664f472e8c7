//! Running one statement of the catalog, read-only, and keeping its result as a table.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::common::ParamValues;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

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
pub(super) fn owning_text(b: &RecordBatch) -> Result<RecordBatch> {
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
        .sql_with_options(sql, crate::query::read_only())
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
    crate::query::scan::record(ctx, &plan);
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
