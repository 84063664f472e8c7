//! Running a query's steps in order of what they read: each step starts when the earlier steps
//! its statement references are done.

use anyhow::{Context, Result, anyhow};
use arrow::array::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::prelude::SessionContext;

use super::Query;
use super::executor::{register_batches, run_statement};

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
pub(super) fn step_inputs(ctx: &SessionContext, q: &Query) -> Vec<Vec<usize>> {
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
pub(super) fn tables_read(ctx: &SessionContext, sql: &str) -> Option<Vec<String>> {
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
