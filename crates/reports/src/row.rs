//! What a report row is made of. Each report declares its row as a type (`MrrRow`,
//! `AccountRow`, …) whose fields are its columns, documented where they are computed; the same
//! types give the API document its schemas (`utoipa`), so the document cannot drift from what
//! is sent. The report's JSON holds each row as that type serializes, with, in a report grouped
//! by `--by`, the group's value under the grouping's name (`"channel": "paid_search"`).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use tenure_core::Currency;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::ToSchema;

/// Named schemas an API document's components collect.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A report's row type as the API document describes it: a reference to its schema, which
/// (with the schemas it refers to) it adds to `schemas`.
pub type RowSchema = fn(&mut Schemas) -> RefOr<Schema>;

/// The [`RowSchema`] of a report whose rows are of type `A` or, with another parameter, `B`
/// (`attribution` and `attribution --compare`).
pub fn either_of<A: ToSchema, B: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(schema_of::<A>(schemas))
        .item(schema_of::<B>(schemas))
        .into()
}

/// The [`RowSchema`] of row type `T`.
pub fn schema_of<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// A count of accounts or customers: whole without `--model`, and credit-weighted (six
/// decimals) with it, written as an integer when it is whole.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Count(pub f64);

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9e15 {
            serializer.serialize_i64(v as i64)
        } else {
            match rate(Some(v)) {
                Some(rounded) => serializer.serialize_f64(rounded),
                None => serializer.serialize_none(),
            }
        }
    }
}

impl utoipa::PartialSchema for Count {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(
                "A count; whole, or credit-weighted with six decimals under --model",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Count {}

/// Money in minor units as major units (dollars, not cents), with the currency's minor digits.
pub(crate) fn money(minor: i64, currency: Currency) -> f64 {
    minor as f64 / 10f64.powi(currency.exponent() as i32)
}

/// A credit-weighted amount in minor units, rounded to a whole one, in major units.
pub(crate) fn money_f(minor: f64, currency: Currency) -> f64 {
    money(minor.round() as i64, currency)
}

/// A ratio with six decimals, or none when undefined (no denominator, not finite).
pub(crate) fn rate(value: Option<f64>) -> Option<f64> {
    match value {
        // `+ 0.0` turns -0.0 (an empty f64 sum is -0.0; so is a negated zero) into 0.0.
        Some(v) if v.is_finite() => Some((v * 1e6).round() / 1e6 + 0.0),
        _ => None,
    }
}

/// Typed rows of a report grouped by `by` (when it is), each with its group's value under the
/// grouping's name.
///
/// A grouping named as one of the row's own fields (`funnel --by stage`, a group trait called
/// `accounts`) leaves the row's field as it is: the row's figures are what the columns
/// describe, and it is what the reports wrote when they built their rows field by field.
pub(crate) fn grouped_rows<R: Serialize>(
    by: Option<&str>,
    rows: impl IntoIterator<Item = (String, R)>,
) -> Vec<Map<String, Value>> {
    rows.into_iter()
        .map(|(group, r)| {
            let mut row = object(&r);
            if let Some(by) = by {
                row.entry(by).or_insert(Value::String(group));
            }
            row
        })
        .collect()
}

/// Typed rows of a report that is not grouped.
pub(crate) fn to_rows<R: Serialize>(rows: impl IntoIterator<Item = R>) -> Vec<Map<String, Value>> {
    rows.into_iter().map(|r| object(&r)).collect()
}

/// A report's typed summary as the report holds it.
pub(crate) fn to_summary<S: Serialize>(summary: &S) -> Value {
    match serde_json::to_value(summary) {
        Ok(value) => value,
        // A summary type is a struct of plain fields and string-keyed maps, which always
        // serializes.
        Err(e) => unreachable!("a report summary serializes: {e}"),
    }
}

fn object<R: Serialize>(row: &R) -> Map<String, Value> {
    match serde_json::to_value(row) {
        Ok(Value::Object(map)) => map,
        // A row type is a struct of plain fields, which always serializes to an object.
        other => unreachable!("a report row serializes to an object, not {other:?}"),
    }
}

/// One tenth of a calibration table: its number (1 to 10, lowest predictions first), how many
/// predictions it holds, and their mean predicted and actual values.
pub(crate) struct Decile {
    pub decile: usize,
    pub count: usize,
    pub predicted: f64,
    pub actual: f64,
}

/// The non-empty tenths of `(predicted, actual)` pairs by predicted value, for a calibration
/// table.
pub(crate) fn deciles(pairs: &[(f64, f64)]) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&a, &b| pairs[a].0.total_cmp(&pairs[b].0));
    let n = order.len();
    (0..10)
        .map(|d| (d + 1, &order[d * n / 10..(d + 1) * n / 10]))
        .filter(|(_, bin)| !bin.is_empty())
        .map(|(decile, bin)| {
            let count = bin.len();
            let mean = |f: fn(&(f64, f64)) -> f64| {
                bin.iter().map(|&i| f(&pairs[i])).sum::<f64>() / count as f64
            };
            Decile {
                decile,
                count,
                predicted: mean(|p| p.0),
                actual: mean(|p| p.1),
            }
        })
        .collect()
}
