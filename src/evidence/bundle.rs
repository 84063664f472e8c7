//! Writing a bundle: select the sessions, findings and records through the catalog, write every
//! file into a fresh staging directory beside `--out`, then move the finished bundle into place
//! (a rename, or a zip written beside and renamed). A failure at any point leaves no partial
//! bundle: the staging directory is removed when the writer is dropped unfinished.
//!
//! Records stream from the lake to a spool file in the staging directory and from there, in time
//! order, to `events.jsonl`: what is held in memory is one small index entry per record (its id,
//! time, and where its text is in the spool), never the records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimestampMicrosecondType};
use chrono::{DateTime, SecondsFormat, Utc};
use datafusion::common::{ParamValues, ScalarValue};
use futures::StreamExt;

use super::manifest::{
    self, EventsSummary, FileEntry, FileRef, LakeRead, Manifest, QueryUse, SignerRef,
};
use super::name;
use super::recipe;
use super::sign::Signer;
use super::timeline;
use crate::error::Error;
use crate::lake::{Lake, LakeLocation, Table};
use crate::query::catalog::{Analysis, register_batches, run_statement};

/// What a bundle is about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// One session (`evidence SESSION_ID`).
    Session(String),
    /// Every session that started in `[from, to]` (`evidence --from --to`).
    Period {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        account: Option<String>,
        principal: Option<String>,
    },
}

/// Everything that decides a bundle's bytes.
pub struct Plan {
    pub subject: Subject,
    pub out: PathBuf,
    pub force: bool,
    pub created: DateTime<Utc>,
    pub lake: LakeRead,
    /// The effective configuration (written as `config.toml`; its approvals give the
    /// approval windows of `timeline.html`).
    pub config: crate::config::Config,
    pub signer: Option<Signer>,
    /// `--encrypt`: the finished bundle is written as a zip sealed under this data key.
    pub encrypt: Option<super::crypt::DataKey>,
    /// `--public-keys`: CloudTrail's digest-signing keys (`list-public-keys` output); those that
    /// signed the digests covering the bundle's files are written to `digest-public-keys.json`.
    pub digest_keys: Option<crate::integrity::keys::KeySet>,
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub manifest_sha256: String,
    pub sessions: usize,
    pub records: u64,
    pub findings: usize,
    pub signer: Option<String>,
}

/// Whether `out` is a zip bundle (by its name).
pub fn is_zip(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Refuse an existing non-empty `out` unless `force` (checked before any work).
pub fn check_out(out: &Path, force: bool) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let empty_dir = meta.is_dir()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
    if !empty_dir && !force {
        return Err(Error::Usage(format!(
            "{} exists and is not empty; pass --force to replace it",
            out.display()
        ))
        .into());
    }
    if is_zip(out) && meta.is_dir() && !empty_dir {
        return Err(Error::Usage(format!(
            "{} is a directory; a .zip bundle replaces only a file",
            out.display()
        ))
        .into());
    }
    Ok(())
}

/// Versions of the lake's tables now (`events`, `objects`).
pub async fn table_versions(location: &LakeLocation) -> Result<BTreeMap<String, i64>> {
    let mut lake = Lake::open(location.clone()).await?;
    lake.load_index_tables().await?;
    let mut out = BTreeMap::new();
    for t in [Table::Events, Table::Objects] {
        if let Some(v) = lake.table(t)?.version() {
            out.insert(t.name().to_string(), i64::try_from(v)?);
        }
    }
    Ok(out)
}

/// The staging directory; removed on drop unless the bundle was moved into place.
struct Stage {
    dir: PathBuf,
    files: Vec<String>,
    done: bool,
}

impl Stage {
    fn new(out: &Path) -> Result<Stage> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = out
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Usage(format!("--out {} names no file", out.display())))?;
        // The staging name is ours: the user's name only as a hint, made plain.
        let hint: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))
            .map_err(|e| Error::Access(format!("{e:#}")))?;
        let dir = parent.join(format!(".{hint}.partial-{}", std::process::id()));
        if std::fs::symlink_metadata(&dir).is_ok() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove the stale {}", dir.display()))?;
        }
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))
            .map_err(|e| Error::Access(format!("{e:#}")))?;
        Ok(Stage {
            dir,
            files: Vec::new(),
            done: false,
        })
    }

    /// Create a bundle file: a fixed, plain name; never an existing file, never via a symlink.
    fn create(&mut self, n: &str) -> Result<BufWriter<File>> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = name::safe_join(&self.dir, n)?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        if n != SPOOL {
            self.files.push(n.to_string());
        }
        Ok(BufWriter::new(f))
    }

    fn write(&mut self, n: &str, bytes: &[u8]) -> Result<()> {
        let mut w = self.create(n)?;
        w.write_all(bytes)?;
        finish(w)
    }

    fn path(&self, n: &str) -> Result<PathBuf> {
        name::safe_join(&self.dir, n)
    }

    /// `STAGE.ext` beside the staging directory (the zip being written, the replaced bundle).
    fn sibling(&self, ext: &str) -> PathBuf {
        let mut s = self.dir.as_os_str().to_owned();
        s.push(".");
        s.push(ext);
        s.into()
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn finish(w: BufWriter<File>) -> Result<()> {
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(())
}

/// The record spool (removed before the manifest is made; never part of a bundle).
const SPOOL: &str = "events.spool";

/// A statement of the bundle's own, run with bound parameters and recorded in the manifest.
struct Statements<'a> {
    a: &'a Analysis,
    used: Vec<QueryUse>,
}

/// A bound value as the manifest shows it.
fn show(v: &ScalarValue) -> String {
    match v {
        ScalarValue::TimestampMicrosecond(Some(t), _) => {
            DateTime::from_timestamp_micros(*t).map_or_else(|| t.to_string(), |d| rfc3339(&d))
        }
        v if v.is_null() => "null".into(),
        ScalarValue::Utf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The `dt` partition of `t` (the lake partitions `events` by the event's UTC day).
fn day(t: DateTime<Utc>) -> ScalarValue {
    ScalarValue::Utf8(Some(t.format("%Y-%m-%d").to_string()))
}

fn ts(t: DateTime<Utc>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
}

impl Statements<'_> {
    fn record(&mut self, purpose: &str, sql: &str, params: &[(&str, ScalarValue)]) -> ParamValues {
        self.used.push(QueryUse {
            purpose: purpose.into(),
            query: "bundle".into(),
            path: None,
            sql: sql.trim().to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), show(v)))
                .collect(),
        });
        ParamValues::Map(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone().into()))
                .collect(),
        )
    }

    /// Run a statement and stream its rows (never collected).
    async fn stream(
        &mut self,
        purpose: &str,
        sql: &str,
        params: &[(&str, ScalarValue)],
    ) -> Result<(
        arrow::datatypes::SchemaRef,
        datafusion::physical_plan::SendableRecordBatchStream,
    )> {
        let bound = self.record(purpose, sql, params);
        self.run_stream(sql, bound).await
    }

    /// Run a statement already recorded, with these bound values, streaming its rows.
    async fn run_stream(
        &self,
        sql: &str,
        bound: ParamValues,
    ) -> Result<(
        arrow::datatypes::SchemaRef,
        datafusion::physical_plan::SendableRecordBatchStream,
    )> {
        let df = self
            .a
            .ctx
            .sql_with_options(sql, crate::query::read_only())
            .await
            .map_err(flat)?
            .with_param_values(bound)
            .map_err(flat)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        Ok((schema, df.execute_stream().await.map_err(flat)?))
    }

    /// Run a statement with these bound values and hand `f` each row as JSON, one batch
    /// converted at a time.
    async fn each_row(
        &self,
        sql: &str,
        bound: &ParamValues,
        mut f: impl FnMut(&serde_json::Value) -> Result<()>,
    ) -> Result<()> {
        let (_, mut stream) = self.run_stream(sql, bound.clone()).await?;
        while let Some(b) = stream.next().await {
            for r in rows_json(&[b.map_err(flat)?])? {
                f(&r)?;
            }
        }
        Ok(())
    }

    async fn collect(
        &mut self,
        purpose: &str,
        sql: &str,
        params: &[(&str, ScalarValue)],
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let bound = self.record(purpose, sql, params);
        run_statement(&self.a.ctx, sql, &bound)
            .await
            .with_context(|| format!("the bundle's query for {purpose}"))
    }
}

/// DataFusion errors repeat their message through `source()`; keep it once.
fn flat(e: datafusion::error::DataFusionError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Rows as JSON objects (nulls kept, so every row has every column).
fn rows_json(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&buf)?)
}

fn pretty(v: &serde_json::Value) -> Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v)?;
    b.push(b'\n');
    Ok(b)
}

/// A text column as plain `Utf8` (the lake reads text as views).
fn text_col(b: &RecordBatch, col: &str) -> Result<StringArray> {
    let c = b
        .column_by_name(col)
        .ok_or_else(|| anyhow!("no column {col}"))?;
    Ok(arrow::compute::cast(c, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn opt(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The delivery time CloudTrail writes into a log file's name
/// (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz`); empty when the name has none.
pub fn delivery_stamp(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('_')
        .find(|t| {
            let b = t.as_bytes();
            b.len() == 14
                && b[8] == b'T'
                && b[13] == b'Z'
                && b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit)
        })
        .unwrap_or("")
}

/// Remove the whitespace between JSON tokens (outside strings); nothing else changes. Used for
/// records whose original text spans lines (hand-made copies), so `events.jsonl` stays one
/// record a line.
pub fn compact_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_str, mut esc) = (false, false);
    for c in raw.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// `tg_bundle_event(id)`: whether `id` is one of the bundle's event ids (those of the statement
/// "the event ids of the sessions"). A filter rather than a join: the scan applies it while
/// decoding, so only the bundle's records have their text decoded, and nothing is built from
/// the events side (a hash join may pick it as its build side and hold every record).
fn register_id_filter(ctx: &datafusion::prelude::SessionContext, ids: HashSet<String>) {
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    let ids = Arc::new(ids);
    let f = move |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
        let [arg] = args else {
            return Err(datafusion::error::DataFusionError::Plan(
                "tg_bundle_event takes one argument".into(),
            ));
        };
        let arr = arg.to_array(1)?;
        let arr = arrow::compute::cast(&arr, &DataType::Utf8)?;
        let ids = &ids;
        let out: arrow::array::BooleanArray = arr
            .as_string::<i32>()
            .iter()
            .map(|v| Some(v.is_some_and(|v| ids.contains(v))))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    };
    ctx.register_udf(create_udf(
        "tg_bundle_event",
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(f),
    ));
}

/// One chosen copy of a record, located in the spool.
struct Chosen {
    /// (delivery stamp, object key, record index): the smallest is the first delivered copy.
    order: (String, String, i64),
    time: i64,
    offset: u64,
    len: u64,
    compacted: bool,
}

/// Write every record of `ids` (event id → time) to `events.jsonl`.
async fn write_events(
    st: &mut Statements<'_>,
    stage: &mut Stage,
    ids: &[(String, i64)],
) -> Result<(
    EventsSummary,
    BTreeMap<String, i64>,
    Vec<(String, i64, i64)>,
)> {
    let mut summary = EventsSummary::default();
    let mut chosen: HashMap<String, Chosen> = HashMap::with_capacity(ids.len());
    let mut spool = stage.create(SPOOL)?;
    let mut spooled: u64 = 0;
    let mut copies: u64 = 0;
    if let (Some(lo), Some(hi)) = (
        ids.iter().map(|(_, t)| *t).min(),
        ids.iter().map(|(_, t)| *t).max(),
    ) {
        register_id_filter(&st.a.ctx, ids.iter().map(|(id, _)| id.clone()).collect());
        // The bounds only prune files; an entry event lies at its session's start, well inside.
        let one_day = 86_400_000_000i64;
        let from = DateTime::from_timestamp_micros(lo - one_day).unwrap_or_default();
        let to = DateTime::from_timestamp_micros(hi + one_day).unwrap_or_default();
        let sql =
            "SELECT coalesce(e.eventid, concat(e._source, '#', CAST(e._record AS VARCHAR))) AS id,
       e.eventtime, e._source, e._record, e._raw
FROM events e
WHERE e.dt >= $from_day AND e.dt <= $to_day AND e.eventtime >= $from AND e.eventtime <= $to
  AND tg_bundle_event(coalesce(e.eventid, concat(e._source, '#', CAST(e._record AS VARCHAR))))";
        let (_, mut stream) = st
            .stream(
                "events.jsonl (every delivered copy; the first delivered is written)",
                sql,
                &[
                    ("from", ts(from)),
                    ("to", ts(to)),
                    ("from_day", day(from)),
                    ("to_day", day(to)),
                ],
            )
            .await?;
        while let Some(b) = stream.next().await {
            let b = b.map_err(flat)?;
            let id_col = text_col(&b, "id")?;
            let source = text_col(&b, "_source")?;
            let raw = text_col(&b, "_raw")?;
            let time = arrow::compute::cast(
                b.column_by_name("eventtime")
                    .ok_or_else(|| anyhow!("no eventtime"))?,
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
            )?;
            let time = time.as_primitive::<TimestampMicrosecondType>();
            let rec = arrow::compute::cast(
                b.column_by_name("_record")
                    .ok_or_else(|| anyhow!("no _record"))?,
                &DataType::Int64,
            )?;
            let rec = rec.as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                copies += 1;
                let (Some(id), Some(src), Some(text)) =
                    (opt(&id_col, i), opt(&source, i), opt(&raw, i))
                else {
                    continue;
                };
                let order = (
                    delivery_stamp(src).to_string(),
                    src.to_string(),
                    rec.value(i),
                );
                if chosen.get(id).is_some_and(|c| c.order <= order) {
                    continue;
                }
                let multi_line = text.contains(['\n', '\r']);
                let bytes = if multi_line {
                    std::borrow::Cow::Owned(compact_json(text))
                } else {
                    std::borrow::Cow::Borrowed(text)
                };
                spool.write_all(bytes.as_bytes())?;
                let len = bytes.len() as u64;
                chosen.insert(
                    id.to_string(),
                    Chosen {
                        order,
                        time: if time.is_null(i) { 0 } else { time.value(i) },
                        offset: spooled,
                        len,
                        compacted: multi_line,
                    },
                );
                spooled += len;
            }
        }
    }
    finish(spool)?;
    let mut order: Vec<(&String, &Chosen)> = chosen.iter().collect();
    order.sort_by(|a, b| (a.1.time, a.0).cmp(&(b.1.time, b.0)));
    let mut sources: BTreeMap<String, i64> = BTreeMap::new();
    let mut input = File::open(stage.path(SPOOL)?)?;
    let mut out = stage.create("events.jsonl")?;
    let mut buf = Vec::new();
    let mut copies_written = Vec::with_capacity(order.len());
    for (id, c) in &order {
        copies_written.push((c.order.1.clone(), c.order.2, c.time));
        input.seek(SeekFrom::Start(c.offset))?;
        buf.resize(c.len as usize, 0);
        input.read_exact(&mut buf)?;
        out.write_all(&buf)?;
        out.write_all(b"\n")?;
        *sources.entry(c.order.1.clone()).or_default() += 1;
        if c.compacted {
            summary.compacted.push((*id).clone());
        }
    }
    finish(out)?;
    drop(input);
    std::fs::remove_file(stage.path(SPOOL)?)?;
    summary.compacted.sort();
    summary.records = order.len() as u64;
    summary.duplicate_copies = copies - summary.records;
    summary.source_objects = sources.len() as u64;
    Ok((summary, sources, copies_written))
}

/// Rows regrouped into batches of exactly `n` rows (the last may be shorter), so that the
/// Parquet writer's pages do not depend on how the query happened to split its output.
struct Rebatch {
    n: usize,
    held: Vec<RecordBatch>,
    rows: usize,
}

impl Rebatch {
    fn push(
        &mut self,
        b: RecordBatch,
        out: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        self.rows += b.num_rows();
        self.held.push(b);
        while self.rows >= self.n {
            let all = arrow::compute::concat_batches(&self.held[0].schema(), &self.held)?;
            out(all.slice(0, self.n))?;
            let rest = all.slice(self.n, all.num_rows() - self.n);
            self.rows = rest.num_rows();
            self.held = vec![rest];
        }
        Ok(())
    }

    fn finish(self, out: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        if self.rows > 0 {
            out(arrow::compute::concat_batches(
                &self.held[0].schema(),
                &self.held,
            )?)?;
        }
        Ok(())
    }
}

/// Rows of `events.parquet` fetched per query: a chunk's rows are sorted in memory.
const PARQUET_CHUNK: usize = 8192;

/// `events.parquet`: the written copies with every column of the lake, in `events.jsonl`'s
/// order. Fetched a chunk of consecutive records at a time (each query pruned to the chunk's
/// time span), so no more than one chunk of records is ever held, whatever the session's size.
async fn write_parquet(
    st: &mut Statements<'_>,
    stage: &mut Stage,
    copies: &[(String, i64, i64)],
) -> Result<()> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let sql = "SELECT e.* FROM events e
JOIN tg_bundle_copies c ON e._source = c._source AND e._record = c._record
WHERE e.eventtime >= $from AND e.eventtime <= $to
ORDER BY e.eventtime, coalesce(e.eventid, concat(e._source, '#', CAST(e._record AS VARCHAR)))";
    let chunks: Vec<&[(String, i64, i64)]> = if copies.is_empty() {
        vec![copies]
    } else {
        copies.chunks(PARQUET_CHUNK).collect()
    };
    st.record(
        &format!(
            "events.parquet (run once per {PARQUET_CHUNK} records, in order, over tg_bundle_copies = the records of events.jsonl; from and to: each chunk's first and last eventtime)"
        ),
        sql,
        &[("chunks", ScalarValue::Int64(Some(chunks.len() as i64)))],
    );
    let schema = Arc::new(Schema::new(vec![
        Field::new("_source", DataType::Utf8, false),
        Field::new("_record", DataType::Int64, false),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(PARQUET_CHUNK))
        .build();
    let mut writer: Option<ArrowWriter<BufWriter<File>>> = None;
    for chunk in chunks {
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|c| c.0.as_str()),
                )),
                Arc::new(arrow::array::Int64Array::from_iter_values(
                    chunk.iter().map(|c| c.1),
                )),
            ],
        )?;
        register_batches(&st.a.ctx, "tg_bundle_copies", schema.clone(), vec![b])?;
        let micros = |m: Option<i64>| {
            ts(DateTime::from_timestamp_micros(m.unwrap_or(0)).unwrap_or_default())
        };
        let from = micros(chunk.iter().map(|c| c.2).min());
        let to = micros(chunk.iter().map(|c| c.2).max());
        let bound = ParamValues::Map(
            [("from", from), ("to", to)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
        );
        let (out_schema, mut stream) = st.run_stream(sql, bound).await?;
        if writer.is_none() {
            let file = stage.create("events.parquet")?;
            writer = Some(ArrowWriter::try_new(file, out_schema, Some(props.clone()))?);
        }
        let Some(w) = writer.as_mut() else {
            bail!("internal: no Parquet writer");
        };
        let mut re = Rebatch {
            n: PARQUET_CHUNK,
            held: Vec::new(),
            rows: 0,
        };
        let mut sink = |b: RecordBatch| -> Result<()> { Ok(w.write(&b)?) };
        while let Some(b) = stream.next().await {
            re.push(b.map_err(flat)?, &mut sink)?;
        }
        re.finish(&mut sink)?;
    }
    match writer {
        Some(w) => finish(w.into_inner()?),
        None => bail!("internal: events.parquet was not written"),
    }
}

/// Parents (nearest first) and children of every session, from the whole `sessions` table.
struct Chains {
    parent: HashMap<String, String>,
    children: HashMap<String, Vec<String>>,
}

impl Chains {
    fn of(rows: &[RecordBatch]) -> Result<Chains> {
        let mut parent = HashMap::new();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for b in rows {
            let id = text_col(b, "session_id")?;
            let p = text_col(b, "parent_session_id")?;
            for i in 0..b.num_rows() {
                if let (Some(id), Some(p)) = (opt(&id, i), opt(&p, i)) {
                    parent.insert(id.to_string(), p.to_string());
                    children
                        .entry(p.to_string())
                        .or_default()
                        .push(id.to_string());
                }
            }
        }
        for c in children.values_mut() {
            c.sort();
        }
        Ok(Chains { parent, children })
    }

    fn parents(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut cur = id;
        while let Some(p) = self.parent.get(cur) {
            if out.iter().any(|x| x == p) || p == id {
                break;
            }
            out.push(p.clone());
            cur = p;
        }
        out
    }
}

/// Write the bundle `plan` describes, from the sessions and findings of `a`.
pub async fn write(a: &mut Analysis, plan: &Plan) -> Result<Written> {
    check_out(&plan.out, plan.force)?;
    // The catalog builds sessions and findings exactly as `trailglass sessions`/`findings` do.
    a.sessions().await?;
    a.findings().await?;
    let mut used: Vec<QueryUse> = Vec::new();
    let sessions_q = a.catalog.sessions()?.clone();
    for q in std::iter::once(&sessions_q).chain(a.catalog.rules()) {
        used.push(QueryUse {
            purpose: if q.kind == crate::query::catalog::Kind::Sessions {
                "sessions and session_events".into()
            } else {
                "findings".into()
            },
            query: q.name.clone(),
            path: Some(format!("queries/{}", q.path)),
            sql: q.text.clone(),
            params: BTreeMap::new(),
        });
    }

    let mut st = Statements {
        a: &*a,
        used: Vec::new(),
    };

    // 1. The sessions.
    let (sql, params, subject) = match &plan.subject {
        Subject::Session(id) => (
            "SELECT * FROM sessions WHERE session_id = $session_id".to_string(),
            vec![("session_id", ScalarValue::Utf8(Some(id.clone())))],
            serde_json::json!({ "session_id": id }),
        ),
        Subject::Period {
            from,
            to,
            account,
            principal,
        } => {
            let mut sql =
                "SELECT * FROM sessions WHERE start >= $from AND start <= $to".to_string();
            let mut params = vec![("from", ts(*from)), ("to", ts(*to))];
            if let Some(acct) = account {
                sql.push_str(" AND account = $account");
                params.push(("account", ScalarValue::Utf8(Some(acct.clone()))));
            }
            if let Some(p) = principal {
                sql.push_str(" AND arn_glob(principal_arn, $principal)");
                params.push(("principal", ScalarValue::Utf8(Some(p.clone()))));
            }
            sql.push_str(" ORDER BY start, session_id");
            (
                sql,
                params,
                serde_json::json!({ "period": {
                    "from": rfc3339(from), "to": rfc3339(to),
                    "account": account, "principal": principal,
                }}),
            )
        }
    };
    let target = match plan.subject {
        Subject::Session(_) => "session.json",
        Subject::Period { .. } => "sessions.json",
    };
    let (schema, selected) = st.collect(target, &sql, &params).await?;
    let n_sessions: usize = selected.iter().map(|b| b.num_rows()).sum();
    if let Subject::Session(id) = &plan.subject
        && n_sessions == 0
    {
        return Err(Error::Usage(format!(
            "no session {id:?}; `trailglass sessions` lists the session ids"
        ))
        .into());
    }
    let mut stage = Stage::new(&plan.out)?;
    register_batches(&a.ctx, "tg_bundle_sessions", schema, selected.clone())?;
    let (_, all) = st
        .collect(
            "the chain of parents and children",
            "SELECT session_id, parent_session_id FROM sessions",
            &[],
        )
        .await?;
    let chains = Chains::of(&all)?;
    let mut rows = rows_json(&selected)?;
    for r in &mut rows {
        let id = r["session_id"].as_str().unwrap_or_default().to_string();
        if let Some(o) = r.as_object_mut() {
            o.insert("parents".into(), serde_json::json!(chains.parents(&id)));
            o.insert(
                "children".into(),
                serde_json::json!(chains.children.get(&id).cloned().unwrap_or_default()),
            );
        }
    }
    let session_rows = rows.clone();
    let doc = match &plan.subject {
        Subject::Session(_) => rows.into_iter().next().unwrap_or_default(),
        Subject::Period { .. } => {
            let mut d = serde_json::json!({
                "subject": subject.clone(),
                "sessions": rows,
            });
            if n_sessions == 0 {
                d["note"] = "no break-glass session started in this period".into();
            }
            d
        }
    };
    stage.write(target, &pretty(&doc)?)?;

    // 2. The findings: those of the sessions, and for a period those of no session in it.
    let (fsql, fparams) = match &plan.subject {
        Subject::Session(_) => (
            "SELECT f.* FROM findings f
WHERE f.session_id IN (SELECT session_id FROM tg_bundle_sessions)
ORDER BY f.eventtime, f.rule_id, f.session_id, f.eventid"
                .to_string(),
            vec![],
        ),
        Subject::Period {
            from, to, account, ..
        } => {
            let mut s = "SELECT f.* FROM findings f
WHERE f.session_id IN (SELECT session_id FROM tg_bundle_sessions)
   OR (f.session_id IS NULL AND f.eventtime >= $from AND f.eventtime <= $to"
                .to_string();
            let mut p = vec![("from", ts(*from)), ("to", ts(*to))];
            if let Some(acct) = account {
                s.push_str(" AND f.account = $account");
                p.push(("account", ScalarValue::Utf8(Some(acct.clone()))));
            }
            s.push_str(")\nORDER BY f.eventtime, f.rule_id, f.session_id, f.eventid");
            (s, p)
        }
    };
    let (_, findings) = st.collect("findings.json", &fsql, &fparams).await?;
    let frows = rows_json(&findings)?;
    stage.write(
        "findings.json",
        &pretty(&serde_json::Value::Array(frows.clone()))?,
    )?;
    let mut flagged: HashMap<String, Vec<String>> = HashMap::new();
    for f in &frows {
        if let (Some(e), Some(r)) = (f["eventid"].as_str(), f["rule_id"].as_str()) {
            flagged
                .entry(e.to_string())
                .or_default()
                .push(r.to_string());
        }
    }

    // 3. The records.
    let (_, idb) = st
        .collect(
            "the event ids of the sessions",
            "SELECT eventid, min(eventtime) AS eventtime FROM (
  SELECT eventid, eventtime FROM session_events
  WHERE session_id IN (SELECT session_id FROM tg_bundle_sessions)
  UNION ALL
  SELECT entry_event_id, start FROM tg_bundle_sessions WHERE entry_event_id IS NOT NULL
) GROUP BY eventid",
            &[],
        )
        .await?;
    let mut ids = Vec::new();
    for b in &idb {
        let id = text_col(b, "eventid")?;
        let t = arrow::compute::cast(
            b.column(1),
            &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
        )?;
        let t = t.as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            if let Some(id) = opt(&id, i) {
                ids.push((id.to_string(), if t.is_null(i) { 0 } else { t.value(i) }));
            }
        }
    }
    let (events, sources, copies) = write_events(&mut st, &mut stage, &ids).await?;
    drop(ids);
    write_parquet(&mut st, &mut stage, &copies).await?;
    drop(copies);

    // 4. The source objects.
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("records", DataType::Int64, false),
    ]));
    let srcb = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(sources.keys())),
            Arc::new(arrow::array::Int64Array::from_iter_values(
                sources.values().copied(),
            )),
        ],
    )?;
    register_batches(&a.ctx, "tg_bundle_sources", schema, vec![srcb])?;
    // Digest validation (`validate-logs`, SPEC §12) as the lake's `integrity` table last
    // recorded it for each file; a lake that has no such table (made before it existed) has
    // nothing to say, and every file is `unknown`.
    let integrity = match run_statement(
        &a.ctx,
        "SELECT max(batch) AS run FROM integrity",
        &ParamValues::Map(Default::default()),
    )
    .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::info!(error = %format!("{e:#}"), "no integrity table: digest status unknown");
            false
        }
    };
    let sql = if integrity {
        "WITH latest AS (
  SELECT key, status, digest, batch, validated_at,
         row_number() OVER (PARTITION BY key ORDER BY batch DESC) AS n
  FROM integrity WHERE kind = 'log'
)
SELECT s.key, o.bucket, o.etag, o.size, o.sha256, s.records,
       coalesce(l.status, 'unknown') AS digest_status,
       l.batch AS validation_run, l.validated_at,
       l.digest AS digest_key, d.status AS digest_key_status,
       d.fingerprint AS digest_public_key_fingerprint
FROM tg_bundle_sources s
LEFT JOIN objects o ON o.key = s.key
LEFT JOIN latest l ON l.key = s.key AND l.n = 1
LEFT JOIN integrity d ON d.kind = 'digest' AND d.key = l.digest AND d.batch = l.batch
ORDER BY s.key, o.etag"
    } else {
        "SELECT s.key, o.bucket, o.etag, o.size, o.sha256, s.records, 'unknown' AS digest_status
FROM tg_bundle_sources s LEFT JOIN objects o ON o.key = s.key
ORDER BY s.key, o.etag"
    };
    let (_, objs) = st.collect("sources.json", sql, &[]).await?;
    let mut srows = rows_json(&objs)?;
    let mut fingerprints = std::collections::BTreeSet::new();
    for r in &mut srows {
        if let Some(o) = r.as_object_mut() {
            // The digest that lists the file, with its own verdict and the key that signed it.
            let key = o.remove("digest_key");
            let status = o.remove("digest_key_status");
            let fp = o.remove("digest_public_key_fingerprint");
            let digests = match key {
                Some(serde_json::Value::String(k)) => {
                    if let Some(f) = fp.as_ref().and_then(|f| f.as_str()) {
                        fingerprints.insert(f.to_string());
                    }
                    serde_json::json!([{ "key": k, "status": status, "public_key_fingerprint": fp }])
                }
                _ => serde_json::json!([]),
            };
            o.insert("digests".into(), digests);
        }
    }
    stage.write("sources.json", &pretty(&serde_json::Value::Array(srows))?)?;
    if let Some(keys) = &plan.digest_keys
        && !fingerprints.is_empty()
    {
        stage.write(
            "digest-public-keys.json",
            &digest_keys(keys, &fingerprints)?,
        )?;
    }

    // 5. The timeline: the catalog's session_timeline for each session, findings marked.
    let ids: Vec<String> = selected
        .iter()
        .map(|b| text_col(b, "session_id"))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .flat_map(|c| c.iter().flatten().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let tq = a.catalog.find("session_timeline")?.clone();
    let mut csv = stage.create("timeline.csv")?;
    csv.write_all(
        b"session_id,eventtime,step,eventsource,eventname,awsregion,sourceipaddress,errorcode,flags,findings,eventid\n",
    )?;
    let mut html = stage.create("timeline.html")?;
    let title = match &plan.subject {
        Subject::Session(id) => format!("Break-glass session {id}"),
        Subject::Period { .. } => "Break-glass sessions of a period".to_string(),
    };
    let note = format!(
        "Exported {} from the lake's events table version {} ({}). Actions are marks on the time \
         axis (findings in red, with their rules), the TTL deadline is the dashed red line, the \
         approval window is shaded green.",
        plan.created.to_rfc3339_opts(SecondsFormat::Secs, true),
        plan.lake
            .table_versions
            .get("events")
            .map_or_else(|| "unknown".to_string(), i64::to_string),
        match &plan.subject {
            Subject::Session(_) => "one session".to_string(),
            Subject::Period { from, to, .. } => {
                format!("sessions that started {} to {}", rfc3339(from), rfc3339(to))
            }
        }
    );
    html.write_all(timeline::head(&title, &note).as_bytes())?;
    if ids.is_empty() {
        html.write_all(timeline::NO_SESSIONS.as_bytes())?;
    }
    let mut timeline_params = BTreeMap::new();
    // Run as the catalog would (`requires: sessions`, built above), but streamed: the rows are
    // read three times (time span, marks on the axis, then the table and timeline.csv), never
    // held.
    let [(_, tsql)] = tq.steps.as_slice() else {
        bail!(
            "queries/{}: session_timeline must be one statement",
            tq.path
        );
    };
    for (n, id) in ids.iter().enumerate() {
        let bound = tq.bind(&[("session_id".into(), id.clone())])?;
        timeline_params.insert(format!("session_id[{n}]"), id.clone());
        let srow = session_rows
            .iter()
            .find(|r| r["session_id"].as_str() == Some(id.as_str()))
            .cloned()
            .unwrap_or_default();
        let mut times = None;
        let mut n = 0;
        st.each_row(tsql, &bound, |r| {
            n += 1;
            let t = timeline::parse_time(&r["eventtime"]);
            times = timeline::span(times.into_iter().flat_map(|(x, y)| [x, y]).chain(t));
            Ok(())
        })
        .await?;
        html.write_all(
            timeline::section_head(&srow, approval_window(&plan.config, &srow), times, n)
                .as_bytes(),
        )?;
        let mut i = 0;
        st.each_row(tsql, &bound, |r| {
            html.write_all(timeline::mark(&srow, times, i, r, &flagged).as_bytes())?;
            i += 1;
            Ok(())
        })
        .await?;
        html.write_all(timeline::AXIS_END.as_bytes())?;
        st.each_row(tsql, &bound, |r| {
            html.write_all(timeline::row(r, &flagged).as_bytes())?;
            let eid = r["eventid"].as_str().unwrap_or_default();
            let rules = flagged.get(eid).map(|v| v.join(" ")).unwrap_or_default();
            let mut fields = vec![id.clone()];
            for c in [
                "eventtime",
                "step",
                "eventsource",
                "eventname",
                "awsregion",
                "sourceipaddress",
                "errorcode",
                "flags",
            ] {
                fields.push(match &r[c] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                });
            }
            fields.push(rules);
            fields.push(eid.to_string());
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            csv.write_all(line.join(",").as_bytes())?;
            csv.write_all(b"\n")?;
            Ok(())
        })
        .await?;
        html.write_all(timeline::SECTION_END.as_bytes())?;
    }
    finish(csv)?;
    html.write_all(timeline::TAIL.as_bytes())?;
    finish(html)?;
    let mut bundle_sql = std::mem::take(&mut st.used);
    drop(st);
    let mut used_all = used;
    used_all.append(&mut bundle_sql);
    used_all.push(QueryUse {
        purpose: "timeline.csv and timeline.html (once per session)".into(),
        query: tq.name.clone(),
        path: Some(format!("queries/{}", tq.path)),
        sql: tq.text.clone(),
        params: timeline_params,
    });

    // 6. Configuration, recipe, key; then the manifest over all of them.
    let config_toml = plan.config.to_toml()?;
    stage.write("config.toml", config_toml.as_bytes())?;
    let mut queries_json = serde_json::to_vec_pretty(&used_all)?;
    queries_json.push(b'\n');
    stage.write("queries.json", &queries_json)?;
    let public = plan.signer.as_ref().map(Signer::public);
    let fingerprint = public.as_ref().map(|k| k.fingerprint());
    let algorithm = public.as_ref().map(|k| k.algorithm()).transpose()?;
    stage.write(
        "VERIFY.txt",
        recipe::verify_txt(fingerprint.as_deref().zip(algorithm)).as_bytes(),
    )?;
    if let Some(k) = &public {
        stage.write("manifest.pub", k.to_pem().as_bytes())?;
    }
    let mut files = Vec::new();
    let mut names = stage.files.clone();
    names.sort();
    for n in &names {
        let (size, sha256) = manifest::hash_file(&stage.path(n)?)?;
        files.push(FileEntry {
            name: n.clone(),
            size,
            sha256,
        });
    }
    let sums = manifest::sha256sums(&files);
    stage.write("SHA256SUMS", sums.as_bytes())?;
    let m = Manifest {
        format: manifest::FORMAT,
        format_version: manifest::FORMAT_VERSION,
        trailglass_version: env!("CARGO_PKG_VERSION"),
        created: plan.created.to_rfc3339_opts(SecondsFormat::Secs, true),
        subject,
        lake: plan.lake.clone(),
        config: FileRef {
            file: "config.toml".into(),
            sha256: manifest::sha256_hex(config_toml.as_bytes()),
        },
        queries: FileRef {
            file: "queries.json".into(),
            sha256: manifest::sha256_hex(&queries_json),
        },
        events: events.clone(),
        signer: public.as_ref().zip(algorithm).map(|(k, alg)| SignerRef {
            algorithm: alg.into(),
            public_key_sha256: k.fingerprint(),
        }),
        sha256sums: manifest::sha256_hex(sums.as_bytes()),
        files,
    };
    let bytes = m.to_bytes()?;
    stage.write("manifest.json", &bytes)?;
    if let Some(k) = &plan.signer {
        stage.write("manifest.sig", &k.sign(&bytes).await?)?;
    }

    let n_findings = frows.len();
    place(&mut stage, &plan.out, plan.encrypt.as_ref())?;
    Ok(Written {
        path: plan.out.clone(),
        manifest_sha256: manifest::sha256_hex(&bytes),
        sessions: n_sessions,
        records: events.records,
        findings: n_findings,
        signer: fingerprint,
    })
}

/// The keys named by `fingerprints`, as `list-public-keys` output (what `validate-logs
/// --public-keys` reads, so the check can be repeated from the bundle); a key missing from the
/// file is an error, never a silently shorter list.
fn digest_keys(
    keys: &crate::integrity::keys::KeySet,
    fingerprints: &std::collections::BTreeSet<String>,
) -> Result<Vec<u8>> {
    use base64::Engine;
    let mut list = Vec::new();
    for fp in fingerprints {
        let k = keys.find(fp, None, 0.0).ok_or_else(|| {
            Error::Usage(format!(
                "--public-keys has no key with fingerprint {fp}, which signed digests covering this bundle's files"
            ))
        })?;
        list.push(serde_json::json!({
            "Fingerprint": k.fingerprint,
            "Value": base64::engine::general_purpose::STANDARD.encode(&k.der),
            "ValidityStartTime": k.valid_from,
            "ValidityEndTime": k.valid_to,
        }));
    }
    pretty(&serde_json::json!({ "PublicKeyList": list }))
}

/// The window of the approval a session row names: the row of `approvals.csv` with its ticket
/// and principal, else the first with its ticket (chained sessions inherit their root's).
fn approval_window(
    config: &crate::config::Config,
    session: &serde_json::Value,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let ticket = session["approval"].as_str()?;
    let principal = session["principal_arn"].as_str().unwrap_or_default();
    let of_ticket = || config.approvals.iter().filter(|a| a.ticket == ticket);
    of_ticket()
        .find(|a| a.principal.eq_ignore_ascii_case(principal))
        .or_else(|| of_ticket().next())
        .map(|a| (a.not_before, a.not_after))
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Move the finished staging directory to `out` (as a zip when `out` ends in `.zip`), replacing
/// what `--force` allowed to replace only once the new bundle is complete.
fn place(stage: &mut Stage, out: &Path, encrypt: Option<&super::crypt::DataKey>) -> Result<()> {
    let new = if is_zip(out) || encrypt.is_some() {
        let mut names: Vec<&str> = name::FILES
            .iter()
            .copied()
            .filter(|n| stage.dir.join(n).is_file())
            .collect();
        // Any file not in the fixed order would be a bug in this writer: never silently dropped.
        let extra = std::fs::read_dir(&stage.dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| !names.contains(&n.as_str()));
        if let Some(x) = extra {
            bail!("internal: {x} has no place in a zip bundle");
        }
        names.dedup();
        let entries: Vec<(String, PathBuf)> = names
            .iter()
            .map(|n| Ok((n.to_string(), stage.path(n)?)))
            .collect::<Result<_>>()?;
        let zip_path = stage.sibling("zip");
        let mut f = BufWriter::new(
            File::create(&zip_path)
                .with_context(|| format!("cannot create {}", zip_path.display()))?,
        );
        let written = super::zip::write(&mut f, &entries);
        let written = written.and_then(|_| finish(f));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&zip_path);
            return Err(e);
        }
        match encrypt {
            None => zip_path,
            Some(key) => {
                let enc_path = stage.sibling("enc");
                let sealed = File::create(&enc_path)
                    .with_context(|| format!("cannot create {}", enc_path.display()))
                    .and_then(|f| {
                        let mut w = BufWriter::new(f);
                        super::crypt::encrypt(&zip_path, &mut w, key)?;
                        finish(w)
                    });
                let _ = std::fs::remove_file(&zip_path);
                if let Err(e) = sealed {
                    let _ = std::fs::remove_file(&enc_path);
                    return Err(e);
                }
                enc_path
            }
        }
    } else {
        stage.dir.clone()
    };
    let old = if std::fs::symlink_metadata(out).is_ok() {
        let aside = stage.sibling("old");
        std::fs::rename(out, &aside)
            .with_context(|| format!("cannot move the old {} aside", out.display()))?;
        Some(aside)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&new, out) {
        if let Some(o) = &old {
            let _ = std::fs::rename(o, out);
        }
        if new != stage.dir {
            let _ = std::fs::remove_file(&new);
        }
        return Err(e).with_context(|| format!("cannot move the bundle to {}", out.display()));
    }
    if let Some(o) = old {
        let removed = if std::fs::symlink_metadata(&o)?.is_dir() {
            std::fs::remove_dir_all(&o)
        } else {
            std::fs::remove_file(&o)
        };
        removed.with_context(|| format!("cannot remove the replaced bundle {}", o.display()))?;
    }
    if new == stage.dir {
        stage.done = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_stamps_come_from_cloudtrail_names() {
        assert_eq!(
            delivery_stamp(
                "AWSLogs/o-x/111122223333/CloudTrail/us-east-1/2026/03/01/111122223333_CloudTrail_us-east-1_20260301T0005Z_abcDEF123.json.gz"
            ),
            "20260301T0005Z"
        );
        assert_eq!(delivery_stamp("hand/made.json"), "");
    }

    #[test]
    fn compaction_removes_only_whitespace_between_tokens() {
        let raw = "{\n  \"a\": \"x y\\\" \\n\",\n  \"b\": [1, 2]\n}";
        assert_eq!(compact_json(raw), "{\"a\":\"x y\\\" \\n\",\"b\":[1,2]}");
        let v1: serde_json::Value = serde_json::from_str(raw).unwrap();
        let v2: serde_json::Value = serde_json::from_str(&compact_json(raw)).unwrap();
        assert_eq!(v1, v2);
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
