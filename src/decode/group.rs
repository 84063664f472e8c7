//! The parts the `events` column builders are made of: struct columns whose string children are
//! named, compile-time lookups of a column's builder by its name, and the appenders of a parsed
//! field. Kept apart from `columns.rs`, which says which record field goes to which column.

use std::sync::Arc;

use arrow::array::{ArrayRef, NullBufferBuilder, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Fields};
use serde_json::value::RawValue;

use super::record::{LooseStr, Str};
use crate::schema;

pub(super) fn s(b: &mut StringBuilder, v: &Option<Str>) {
    b.append_option(v.as_ref().map(|x| &*x.0));
}
pub(super) fn ls(b: &mut StringBuilder, v: &Option<LooseStr>) {
    b.append_option(v.as_ref().map(|x| &*x.0));
}
pub(super) fn j(b: &mut StringBuilder, v: &Option<&RawValue>) {
    b.append_option(v.map(|x| x.get()));
}

/// The position of `name` in `names`, at compile time (through [`ix!`]): builders are indexed
/// by column name, so a row's value goes to the column of that name whatever the order.
pub(super) const fn at(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such column")
}

/// `ix!(NAMES, "arn")`: the builder index of column `arn`, a constant.
macro_rules! ix {
    ($names:expr, $name:literal) => {
        const { $crate::decode::group::at(&$names, $name) }
    };
}
pub(super) use ix;

/// A struct column: validity plus string children (named by `names`) and optional nested parts.
pub(super) struct Group<const N: usize> {
    names: &'static [&'static str; N],
    pub(super) valid: NullBufferBuilder,
    pub(super) f: [StringBuilder; N],
}

impl<const N: usize> Group<N> {
    pub(super) fn new(cap: usize, names: &'static [&'static str; N]) -> Self {
        Group {
            names,
            valid: NullBufferBuilder::new(cap),
            f: std::array::from_fn(|_| StringBuilder::with_capacity(cap, cap * 16)),
        }
    }
    pub(super) fn null(&mut self) {
        self.valid.append_null();
        for b in &mut self.f {
            b.append_null();
        }
    }
    pub(super) fn children(&mut self) -> Vec<(&'static str, ArrayRef)> {
        self.names
            .iter()
            .copied()
            .zip(self.f.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef))
            .collect()
    }
}

pub(super) fn fields_of(dt: &DataType) -> Fields {
    match dt {
        DataType::Struct(f) => f.clone(),
        _ => Fields::empty(),
    }
}

pub(super) fn make_struct(
    fields: Fields,
    children: Vec<(&str, ArrayRef)>,
    valid: &mut NullBufferBuilder,
) -> ArrayRef {
    match schema::by_name(&fields, children) {
        Ok(c) => Arc::new(StructArray::new(fields, c, valid.finish())),
        // The builders are named after the schema's columns; a mismatch is a bug in this file.
        Err(e) => unreachable!("a struct column does not match its schema: {e}"),
    }
}
