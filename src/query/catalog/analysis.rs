//! A catalog bound to one DataFusion session over the lake: sessions, findings and anomalies are
//! built once, on demand, and every other query reads them.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::prelude::SessionContext;

use super::executor::{register_batches, run_statement};
use super::scheduler::run_query;
use super::{Catalog, Kind, Query, findings_schema};

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
            &crate::query::window::Window::default(),
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
        window: &crate::query::window::Window,
    ) -> Result<Analysis> {
        let ctx = crate::query::ContextBuilder::new(lake)
            .as_of(as_of)
            .range(window.scan_range(config))
            .catalog(config)
            .build()
            .await?;
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
