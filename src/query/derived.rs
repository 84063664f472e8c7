//! Derived answers: the all-history `sessions` and `findings` tables, stored in the lake after
//! each ingest so that the all-history verbs read two small Parquet files instead of every day
//! of `events` (SESSIONS.md, "All-history answers").
//!
//! Exactness rests on the key, not on bookkeeping: a derived answer is stored under a digest of
//! everything the answer is a function of — the `events` version it was computed at, the
//! effective configuration (`trailglass.toml` and its approvals, as loaded), the catalog's SQL
//! text and the binary's version — and a verb uses it only when the digest of *its* inputs is
//! the same. Any other state (a commit with no refresh after it, `--as-of`, another
//! configuration, an edited `TRAILGLASS_QUERIES`) finds no answer under its key and evaluates
//! from `events`. `identity_events` needs no place in the key: it is read only when it holds
//! exactly the batches of the `events` version read, and is otherwise replaced by a view over
//! `events` (`lake::read`), so the answer depends on `events` alone.
//!
//! Whole-lake dependencies (BG006's "newest event in the lake", a long-term key's first use) need
//! no special care: the stored answer is a whole-lake evaluation at exactly that version.

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::catalog::{Analysis, Catalog};
use crate::config::Config;
use crate::lake::{Lake, LakeLocation, Table};

/// Bump when the stored form or the meaning of an answer changes without the catalog's SQL
/// changing (e.g. a function the SQL calls): older answers then miss.
const FORMAT: &str = "trailglass-derived-1";

/// The folder of the lake the answers live in, beside the tables.
const DIR: &str = "derived";

/// Written last: an answer without it is incomplete and never read.
const COMPLETE: &str = "complete";

/// The folder an answer is stored in: the `events` version (so that a refresh removes only
/// older answers, never those of a newer one that finished first) and the digest of every input.
pub fn key(events_version: i64, tables: &str, config: &Config, catalog: &Catalog) -> String {
    format!(
        "v{events_version:020}-{}",
        digest(events_version, tables, config, catalog)
    )
}

fn version_of(folder: &str) -> Option<i64> {
    folder.strip_prefix('v')?.split('-').next()?.parse().ok()
}

fn digest(events_version: i64, tables: &str, config: &Config, catalog: &Catalog) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(FORMAT.as_bytes());
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(&events_version.to_le_bytes());
    field(tables.as_bytes());
    // Every field of the effective configuration, approvals included (all Vecs: the text is
    // stable across runs).
    field(format!("{config:?}").as_bytes());
    for q in &catalog.queries {
        field(q.path.as_bytes());
        field(q.text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The `events` version a verb without `--as-of` reads.
fn events_version(lake: &Lake) -> Result<i64> {
    let v = lake
        .table(Table::Events)?
        .version()
        .context("the events table has no version")?;
    i64::try_from(v).context("the events table's version")
}

fn store(location: &LakeLocation) -> Result<Arc<dyn ObjectStore>> {
    location.derived_store(DIR)
}

fn object(key: &str, name: &str) -> StorePath {
    StorePath::from(format!("{key}/{name}"))
}

/// What [`refresh`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The answer for this state was there already.
    Current,
    /// Evaluated and stored: (sessions, findings) rows.
    Stored(usize, usize),
}

/// Evaluate `sessions` and `findings` over the whole lake as loaded and store them under the
/// state's key; older answers are removed. A whole-lake evaluation in the catalog's memory pool,
/// as an all-history verb would run it.
pub async fn refresh(lake: &Lake, config: &Config, catalog: Catalog) -> Result<Refreshed> {
    let version = events_version(lake)?;
    let k = key(version, &read_versions(lake).await?, config, &catalog);
    if let Some(p) = lake.location.local_path() {
        std::fs::create_dir_all(p.join(DIR))
            .with_context(|| format!("cannot create {}", p.join(DIR).display()))?;
    }
    let store = store(&lake.location)?;
    if store.head(&object(&k, COMPLETE)).await.is_ok() {
        return Ok(Refreshed::Current);
    }
    let mut a = Analysis::open(lake, None, config, catalog).await?;
    a.findings().await?;
    let mut rows = [0usize; 2];
    for (i, table) in ["sessions", "findings"].into_iter().enumerate() {
        let df = a.ctx.table(table).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        rows[i] = batches.iter().map(RecordBatch::num_rows).sum();
        let bytes = to_parquet(&schema, &batches)?;
        store
            .put(&object(&k, &format!("{table}.parquet")), bytes.into())
            .await
            .with_context(|| format!("cannot store the derived {table} table"))?;
    }
    store
        .put(&object(&k, COMPLETE), Vec::<u8>::new().into())
        .await
        .context("cannot store the derived answers' marker")?;
    // Answers of older `events` versions are never read again (verbs read the newest version);
    // a reader that chose one a moment ago and loses its files evaluates from `events`.
    let stale: Vec<StorePath> = store
        .list(None)
        .map_ok(|m| m.location)
        .try_filter(|p| {
            let older = p
                .parts()
                .next()
                .and_then(|first| version_of(first.as_ref()))
                .is_some_and(|v| v < version);
            futures::future::ready(older)
        })
        .try_collect()
        .await
        .unwrap_or_default();
    for p in stale {
        let _ = store.delete(&p).await;
    }
    Ok(Refreshed::Stored(rows[0], rows[1]))
}

fn to_parquet(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema.clone(), None)?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(buf)
}

async fn read_table(
    store: &dyn ObjectStore,
    k: &str,
    table: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let bytes = store
        .get(&object(k, &format!("{table}.parquet")))
        .await?
        .bytes()
        .await?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let schema = reader.schema().clone();
    let batches = reader.build()?.collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// An analysis holding the stored all-history `sessions` and `findings` of the lake's current
/// state, or `None` when there is none for it (then the caller evaluates from `events`). Only
/// those two tables are built in it: for the all-history listing verbs, not for queries.
pub async fn open(lake: &Lake, config: &Config, catalog: &Catalog) -> Result<Option<Analysis>> {
    let k = key(
        events_version(lake)?,
        &read_versions(lake).await?,
        config,
        catalog,
    );
    let store = store(&lake.location)?;
    if store.head(&object(&k, COMPLETE)).await.is_err() {
        tracing::info!("no derived answers for this lake state; evaluating from events");
        return Ok(None);
    }
    let (sessions, findings) = match (
        read_table(store.as_ref(), &k, "sessions").await,
        read_table(store.as_ref(), &k, "findings").await,
    ) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(e), _) | (_, Err(e)) => {
            tracing::info!(error = %format!("{e:#}"), "derived answers unreadable; evaluating from events");
            return Ok(None);
        }
    };
    let ctx = super::ContextBuilder::new(lake)
        .catalog(config)
        .build()
        .await?;
    let mut a = Analysis::with_context(ctx, catalog.clone(), config);
    a.adopt_answers(sessions, findings)?;
    tracing::info!("answers from the derived tables");
    Ok(Some(a))
}

/// After an ingest or a compaction: bring the derived answers up to the lake's new state. A
/// failure is a warning, never a failed command: the verbs then evaluate from `events`.
pub fn after_commit(location: &LakeLocation, config: Option<&std::path::Path>) {
    let run = || -> Result<Refreshed> {
        let config = Config::load(config)?;
        let catalog = Catalog::load()?;
        let rt = crate::lake::runtime().build()?;
        rt.block_on(async {
            let lake = Lake::open(location.clone()).await?;
            refresh(&lake, &config, catalog).await
        })
    };
    match run() {
        Ok(r) => tracing::info!(?r, "derived answers"),
        Err(e) => eprintln!(
            "trailglass: warning: the derived answers were not updated ({e:#}); sessions and findings evaluate from events until the next ingest or compact"
        ),
    }
}

/// Tables besides `events` an answer is a function of: `sessions.integrity` reads `integrity`,
/// BG015 reads `digests`. Their current versions join the key, so a `validate-logs` run (which
/// commits `integrity` alone, leaving `events` where it was) makes the stored answer miss until
/// it refreshes them.
const READ_TABLES: [Table; 2] = [Table::Integrity, Table::Digests];

async fn read_versions(lake: &Lake) -> Result<String> {
    let mut out = String::new();
    for t in READ_TABLES {
        let v = lake.current_version(t).await?;
        out.push_str(&format!("{}={};", t.name(), v.unwrap_or(-1)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_the_version_and_every_input() {
        let c = Config::default();
        let cat = Catalog::embedded().unwrap();
        let k = key(7, "", &c, &cat);
        assert_eq!(version_of(&k), Some(7));
        assert_ne!(k, key(8, "", &c, &cat));
        let other = Config {
            ttl_seconds: c.ttl_seconds + 1,
            ..c.clone()
        };
        assert_ne!(k, key(7, "", &other, &cat));
        let mut edited = cat.clone();
        edited.queries[0].text.push_str("\n-- edited\n");
        assert_ne!(k, key(7, "", &c, &edited));
        assert_eq!(k, key(7, "", &c, &cat));
        assert_ne!(k, key(7, "integrity=1;", &c, &cat));
    }
}
