//! The SQL functions trailglass adds, all registered by [`register`] (SPEC §14: one place, so a
//! Ballista scheduler and executor can register the same set).
//!
//! - JSON extraction over the JSON text columns (`requestparameters`, `responseelements`, …): the
//!   maintained `datafusion-functions-json` crate — `json_get_str(col, 'credentials', 'accessKeyId')`,
//!   `json_get_int`, `json_get_json`, `json_contains`, and the `->`/`->>` operators.
//! - `arn_glob(value, pattern)`: case-insensitive ARN glob, `*` matching any run of characters,
//!   `/` and `:` included (SPEC §6 decisions). NULL when either side is NULL. `pattern` may also be
//!   a list of patterns (true when any matches), e.g. `arn_glob(arn, (SELECT array_agg(pattern)
//!   FROM bg_roles))`: one pass over `events` instead of a join per pattern.
//! - `sts_time(text)`: the human dates STS writes in `credentials.expiration`
//!   (`"Mar 1, 2026, 11:00:00 AM"`, with or without the comma) and ISO 8601 forms, as a UTC
//!   timestamp; NULL for anything else (a bad value never fails a query).

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDateTime, Utc};
use datafusion::common::{Result as DFResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Add every trailglass function to a session.
pub fn register(ctx: &mut SessionContext) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    ctx.register_udf(ScalarUDF::new_from_impl(ArnGlob::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(StsTime::new()));
    Ok(())
}

/// Does `value` match the glob `pattern`? ASCII case-insensitive; `*` matches any run (also empty).
pub fn glob_match(value: &str, pattern: &str) -> bool {
    let v = value.as_bytes();
    let p = pattern.as_bytes();
    let (mut vi, mut pi) = (0usize, 0usize);
    // Position of the last `*` seen and the value position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&v[vi]) {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Parse an STS/IAM time text: US style (`Mar 1, 2026, 11:00:00 AM`, `Sep 17, 2020 8:04:10 PM`) or
/// ISO 8601 (extended or basic).
pub fn parse_sts_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().replace(['\u{202f}', '\u{a0}'], " ");
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%b %d, %Y, %I:%M:%S %p",
        "%b %d, %Y %I:%M:%S %p",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y%m%dT%H%M%SZ",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

fn to_utf8(v: &ColumnarValue, rows: usize) -> DFResult<ArrayRef> {
    let arr = v.to_array(rows)?;
    Ok(match arr.data_type() {
        DataType::Utf8 => arr,
        _ => arrow::compute::cast(&arr, &DataType::Utf8)?,
    })
}

fn is_scalar(args: &ScalarFunctionArgs) -> bool {
    args.args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)))
}

/// The second argument of `arn_glob`, read without copying: one glob or a list of globs per row.
enum Patterns {
    One(ArrayRef),
    Many(ArrayRef),
}

impl Patterns {
    fn new(arr: ArrayRef) -> DFResult<Patterns> {
        Ok(match arr.data_type() {
            DataType::List(_) => Patterns::Many(arr),
            DataType::Utf8 => Patterns::One(arr),
            _ => Patterns::One(arrow::compute::cast(&arr, &DataType::Utf8)?),
        })
    }

    /// Does `v` match the pattern(s) of row `i`? NULL patterns give NULL.
    fn matches(&self, i: usize, v: &str) -> Option<bool> {
        match self {
            Patterns::One(a) => {
                let s = a.as_string::<i32>();
                (!s.is_null(i)).then(|| glob_match(v, s.value(i)))
            }
            Patterns::Many(a) => {
                if a.is_null(i) {
                    return None;
                }
                let list = a.as_list::<i32>();
                let offsets = list.value_offsets();
                let child = list.values().as_string_opt::<i32>()?;
                let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
                Some((from..to).any(|j| !child.is_null(j) && glob_match(v, child.value(j))))
            }
        }
    }
}

/// `arn_glob` over one batch. With one pattern set for every row (the usual case), each distinct
/// value is matched once: a batch of events holds few distinct identities.
fn glob_rows<'a, S>(values: S, patterns: &Patterns, fixed: bool) -> BooleanArray
where
    S: arrow::array::StringArrayType<'a>,
{
    let mut seen: datafusion::common::HashMap<&str, Option<bool>> = Default::default();
    let mut last: Option<(&str, Option<bool>)> = None;
    (0..values.len())
        .map(|i| {
            if values.is_null(i) {
                return None;
            }
            let v = values.value(i);
            if !fixed {
                return patterns.matches(i, v);
            }
            // Neighbouring rows (sorted by account and time) often share their identity.
            if let Some((l, m)) = last
                && l == v
            {
                return m;
            }
            let m = *seen.entry(v).or_insert_with(|| patterns.matches(0, v));
            last = Some((v, m));
            m
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArnGlob {
    signature: Signature,
}

impl ArnGlob {
    fn new() -> Self {
        ArnGlob {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
    )
}

impl ScalarUDFImpl for ArnGlob {
    fn name(&self) -> &str {
        "arn_glob"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DFResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DFResult<Vec<DataType>> {
        let [_, pattern] = arg_types else {
            return Err(datafusion::error::DataFusionError::Plan(
                "arn_glob(value, pattern) takes two arguments: an ARN and a glob (or a list of globs)"
                    .into(),
            ));
        };
        let pattern = if is_list(pattern) {
            DataType::List(Arc::new(arrow::datatypes::Field::new(
                "item",
                DataType::Utf8,
                true,
            )))
        } else {
            DataType::Utf8
        };
        // Views (how Parquet text is read) are taken as they are: a cast would copy every value.
        let value = match &arg_types[0] {
            DataType::Utf8View => DataType::Utf8View,
            _ => DataType::Utf8,
        };
        Ok(vec![value, pattern])
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DFResult<ColumnarValue> {
        let scalar = is_scalar(&args);
        let rows = if scalar { 1 } else { args.number_rows };
        let (Some(value), Some(pattern)) = (args.args.first(), args.args.get(1)) else {
            return Err(datafusion::error::DataFusionError::Plan(
                "arn_glob(value, pattern) takes two arguments".into(),
            ));
        };
        let values = value.to_array(rows)?;
        // A scalar pattern (or list) is expanded to one row and read at index 0 for every row.
        let (patterns, fixed) = match pattern {
            ColumnarValue::Scalar(_) => (Patterns::new(pattern.to_array(1)?)?, true),
            ColumnarValue::Array(_) => (Patterns::new(pattern.to_array(rows)?)?, false),
        };
        let out = match values.data_type() {
            DataType::Utf8View => glob_rows(values.as_string_view(), &patterns, fixed),
            DataType::Utf8 => glob_rows(values.as_string::<i32>(), &patterns, fixed),
            _ => {
                let v = arrow::compute::cast(&values, &DataType::Utf8)?;
                glob_rows(v.as_string::<i32>(), &patterns, fixed)
            }
        };
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct StsTime {
    signature: Signature,
}

impl StsTime {
    fn new() -> Self {
        StsTime {
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for StsTime {
    fn name(&self) -> &str {
        "sts_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DFResult<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DFResult<ColumnarValue> {
        let scalar = is_scalar(&args);
        let rows = if scalar { 1 } else { args.number_rows };
        let Some(text) = args.args.first() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "sts_time(text) takes one argument".into(),
            ));
        };
        let text = to_utf8(text, rows)?;
        let text = text.as_string::<i32>();
        let out: TimestampMicrosecondArray = (0..rows)
            .map(|i| {
                if text.is_null(i) {
                    None
                } else {
                    parse_sts_time(text.value(i)).map(|t| t.timestamp_micros())
                }
            })
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC");
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "arn:aws:iam::111122223333:role/BreakGlass",
            "arn:aws:iam::*:role/breakglass*"
        ));
        assert!(glob_match(
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_0123",
            "arn:aws:iam::*:role/*/AWSReservedSSO_BreakGlass*"
        ));
        assert!(!glob_match(
            "arn:aws:iam::1:role/Admin",
            "arn:aws:iam::*:role/BreakGlass*"
        ));
        assert!(glob_match("abc", "*"));
        assert!(glob_match("", "*"));
        assert!(!glob_match("", "a"));
        assert!(glob_match("a:b/c", "a*c"));
        assert!(!glob_match("abd", "a*c"));
        assert!(glob_match("xaaab", "*a*b"));
    }

    #[tokio::test]
    async fn glob_over_a_pattern_list() {
        let mut ctx = SessionContext::new();
        register(&mut ctx).unwrap();
        let df = ctx
            .sql("SELECT arn_glob('arn:aws:iam::1:user/breakglass-a', make_array('arn:aws:iam::*:role/*', 'arn:aws:iam::*:user/BreakGlass*')) AS a, \
                  arn_glob('arn:aws:iam::1:user/x', make_array('arn:aws:iam::*:role/*')) AS b, \
                  arn_glob(NULL, 'x') AS c")
            .await
            .unwrap();
        let b = df.collect().await.unwrap();
        let row: Vec<String> = (0..3)
            .map(|i| arrow::util::display::array_value_to_string(b[0].column(i), 0).unwrap())
            .collect();
        assert_eq!(row, ["true", "false", ""]);
    }

    #[test]
    fn glob_rows_of_views_and_text_agree() {
        let values = [
            Some("arn:aws:iam::1:role/BreakGlassAdmin"),
            Some("arn:aws:iam::1:role/BreakGlassAdmin"),
            None,
            Some("arn:aws:iam::1:role/Admin"),
            Some("arn:aws:iam::1:role/BreakGlassAdmin"),
            Some(""),
        ];
        let patterns = Patterns::new(Arc::new(arrow::array::StringArray::from(vec![
            "arn:aws:iam::*:role/breakglass*",
        ])))
        .unwrap();
        let expect = BooleanArray::from(vec![
            Some(true),
            Some(true),
            None,
            Some(false),
            Some(true),
            Some(false),
        ]);
        let views = arrow::array::StringViewArray::from(values.to_vec());
        let text = arrow::array::StringArray::from(values.to_vec());
        assert_eq!(glob_rows(&views, &patterns, true), expect);
        assert_eq!(glob_rows(&text, &patterns, true), expect);
    }

    #[test]
    fn sts_times() {
        let t = |s| parse_sts_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("Mar 1, 2026, 11:00:00 AM").as_deref(),
            Some("2026-03-01T11:00:00+00:00")
        );
        assert_eq!(
            t("Sep 17, 2020 8:04:10 PM").as_deref(),
            Some("2020-09-17T20:04:10+00:00")
        );
        assert_eq!(
            t("Oct 2, 2019 11:12:29\u{202f}PM").as_deref(),
            Some("2019-10-02T23:12:29+00:00")
        );
        assert_eq!(
            t("2026-03-01T10:00:00Z").as_deref(),
            Some("2026-03-01T10:00:00+00:00")
        );
        assert_eq!(t("tomorrow"), None);
    }
}
