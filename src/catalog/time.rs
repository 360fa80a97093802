//! Filters on `event_time` prune `dt` partitions by themselves.
//!
//! Each row's `dt` is the UTC day of its `event_time`, so a bound on `event_time` is a bound
//! on `dt`: `event_time >= '2026-11-02 05:00'` keeps only `dt >= '2026-11-02'`. A table is
//! wrapped so that its scan receives, besides the query's own filters, the `dt` bounds they
//! imply; the listing table then skips whole partitions before opening a file, as it does for
//! a filter on `dt` written by hand. The derived bounds only ever keep more days than the
//! query needs (the query's own filters still apply), so answers do not change.
//!
//! Recognised, with either side the literal (after DataFusion has folded constants, so
//! `now() - interval '1 day'` is a literal by then): comparisons and `BETWEEN` on
//! `event_time`, on a cast of it to a timestamp or a date, and on `date_trunc` of it to a
//! second, minute, hour or day.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{Constraints, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{col, lit};

use crate::formats::{EVENT_TIME_COLUMN, PARTITION_COLUMN};

const DAY_MICROS: i64 = 86_400_000_000;

/// A table whose scans also get the `dt` bounds its `event_time` filters imply.
#[derive(Debug)]
pub struct DayPruned {
    inner: Arc<dyn TableProvider>,
}

impl DayPruned {
    pub fn new(inner: Arc<dyn TableProvider>) -> Self {
        DayPruned { inner }
    }
}

#[async_trait]
impl TableProvider for DayPruned {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let filters = with_day_bounds(filters);
        self.inner.scan(state, projection, &filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        let filters = with_day_bounds(args.filters().unwrap_or(&[]));
        self.inner.scan_with_args(state, args.with_filters(Some(&filters))).await
    }
}

/// `filters` and the `dt` bounds they imply.
pub fn with_day_bounds(filters: &[Expr]) -> Vec<Expr> {
    let mut all = filters.to_vec();
    for filter in filters {
        for conjunct in split_conjunction(filter) {
            all.extend(day_bounds(conjunct));
        }
    }
    all
}

/// A lower or upper bound on `event_time`, in microseconds, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    AtLeast(i64),
    AtMost(i64),
}

fn day_bounds(expr: &Expr) -> Vec<Expr> {
    let bounds = match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            match (time_of(left), literal_micros(right), time_of(right), literal_micros(left)) {
                (Some(time), Some(value), ..) => time.bounds(*op, value),
                (_, _, Some(time), Some(value)) => match op.swap() {
                    Some(op) => time.bounds(op, value),
                    None => Vec::new(),
                },
                _ => Vec::new(),
            }
        }
        Expr::Between(Between { expr, negated: false, low, high }) => {
            match (time_of(expr), literal_micros(low), literal_micros(high)) {
                (Some(time), Some(low), Some(high)) => {
                    let mut bounds = time.bounds(Operator::GtEq, low);
                    bounds.extend(time.bounds(Operator::LtEq, high));
                    bounds
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    bounds
        .into_iter()
        .filter_map(|bound| match bound {
            Bound::AtLeast(micros) => Some(col(PARTITION_COLUMN).gt_eq(lit(day(micros)?))),
            Bound::AtMost(micros) => Some(col(PARTITION_COLUMN).lt_eq(lit(day(micros)?))),
        })
        .collect()
}

/// `event_time` seen through a cast or a truncation: the width of the steps it moves in.
#[derive(Debug, Clone, Copy)]
struct TimeOf {
    /// 1 for `event_time` itself; a day for a date; the unit of a `date_trunc`.
    step_micros: i64,
}

impl TimeOf {
    /// The bounds on `event_time` that `self <op> value` implies. A truncated time `t'`
    /// satisfies `t' <= t < t' + step`; times are whole microseconds.
    fn bounds(self, op: Operator, value: i64) -> Vec<Bound> {
        let last = |value: i64| value.saturating_add(self.step_micros - 1);
        match op {
            Operator::GtEq => vec![Bound::AtLeast(value)],
            Operator::Gt => vec![Bound::AtLeast(value.saturating_add(1))],
            Operator::LtEq => vec![Bound::AtMost(last(value))],
            Operator::Lt => vec![Bound::AtMost(last(value.saturating_sub(1)))],
            Operator::Eq => vec![Bound::AtLeast(value), Bound::AtMost(last(value))],
            _ => Vec::new(),
        }
    }
}

fn time_of(expr: &Expr) -> Option<TimeOf> {
    match expr {
        Expr::Column(column) if column.name == EVENT_TIME_COLUMN => Some(TimeOf { step_micros: 1 }),
        Expr::Cast(cast) => cast_of(&cast.expr, cast.field.data_type()),
        Expr::TryCast(cast) => cast_of(&cast.expr, cast.field.data_type()),
        Expr::ScalarFunction(function) if function.name() == "date_trunc" => {
            let [unit, time] = function.args.as_slice() else { return None };
            let Expr::Literal(ScalarValue::Utf8(Some(unit)), _) = unit else { return None };
            let step_micros = match unit.to_ascii_lowercase().as_str() {
                "second" => 1_000_000,
                "minute" => 60_000_000,
                "hour" => 3_600_000_000,
                "day" => DAY_MICROS,
                _ => return None,
            };
            let inner = time_of(time)?;
            (inner.step_micros == 1).then_some(TimeOf { step_micros })
        }
        _ => None,
    }
}

/// A cast keeps a time's instant only between UTC and zone-less timestamps: `event_time` is
/// UTC, and Arrow reads a zone-less time cast to a zone as that zone's wall clock, which
/// moves it (and a date or a truncation taken in another zone has other day boundaries).
fn cast_of(expr: &Expr, to: &DataType) -> Option<TimeOf> {
    let inner = time_of(expr)?;
    match to {
        DataType::Timestamp(_, zone) if zone.as_deref().is_none_or(is_utc) => Some(inner),
        DataType::Date32 | DataType::Date64 if inner.step_micros == 1 => {
            Some(TimeOf { step_micros: DAY_MICROS })
        }
        _ => None,
    }
}

fn is_utc(zone: &str) -> bool {
    matches!(zone, "UTC" | "utc" | "Z" | "+00:00" | "+0000" | "Etc/UTC")
}

/// A timestamp or date literal in microseconds since the epoch (UTC).
fn literal_micros(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else { return None };
    match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        ScalarValue::Date32(Some(days)) => i64::from(*days).checked_mul(DAY_MICROS),
        ScalarValue::Date64(Some(ms)) => ms.checked_mul(1_000),
        _ => None,
    }
}

/// The `dt` value (a date) of a time.
fn day(micros: i64) -> Option<ScalarValue> {
    let days = i32::try_from(micros.div_euclid(DAY_MICROS)).ok()?;
    Some(ScalarValue::Date32(Some(days)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{cast, expr::Cast};

    fn at(text: &str) -> Expr {
        let micros = chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros();
        lit(ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into())))
    }

    fn derived(filter: Expr) -> Vec<String> {
        with_day_bounds(&[filter]).iter().skip(1).map(ToString::to_string).collect()
    }

    #[test]
    fn comparisons_on_event_time_bound_the_days() {
        let t = || col(EVENT_TIME_COLUMN);
        assert_eq!(
            derived(t().gt_eq(at("2026-11-02T05:00:00Z"))),
            ["dt >= Date32(\"2026-11-02\")"]
        );
        assert_eq!(derived(at("2026-11-02T05:00:00Z").gt(t())), ["dt <= Date32(\"2026-11-02\")"]);
        assert_eq!(
            derived(t().between(at("2026-11-01T23:00:00Z"), at("2026-11-03T00:00:00Z"))),
            ["dt >= Date32(\"2026-11-01\")", "dt <= Date32(\"2026-11-03\")"]
        );
        let both = t().gt(at("2026-11-01T00:00:00Z")).and(t().lt(at("2026-11-03T00:00:00Z")));
        assert_eq!(derived(both), ["dt >= Date32(\"2026-11-01\")", "dt <= Date32(\"2026-11-02\")"]);
        // An `OR` or a comparison with a column bounds nothing.
        assert!(derived(t().gt(at("2026-11-01T00:00:00Z")).or(t().is_null())).is_empty());
        assert!(derived(t().gt(col("other"))).is_empty());
    }

    #[test]
    fn dates_and_truncations_of_event_time_bound_the_days_they_cover() {
        let date = Expr::Cast(Cast::new(Box::new(col(EVENT_TIME_COLUMN)), DataType::Date32));
        let nov2 = lit(ScalarValue::Date32(Some(20_759)));
        assert_eq!(day(20_759 * DAY_MICROS), Some(ScalarValue::Date32(Some(20_759))));
        assert_eq!(day(20_759 * DAY_MICROS - 1), Some(ScalarValue::Date32(Some(20_758))));
        assert_eq!(
            derived(date.clone().eq(nov2.clone())),
            ["dt >= Date32(\"2026-11-02\")", "dt <= Date32(\"2026-11-02\")"]
        );
        assert_eq!(derived(date.lt(nov2)), ["dt <= Date32(\"2026-11-02\")"]);
        let hour = datafusion::functions::datetime::expr_fn::date_trunc(
            lit("hour"),
            cast(
                col(EVENT_TIME_COLUMN),
                DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
            ),
        );
        assert_eq!(
            derived(hour.lt_eq(at("2026-11-02T23:00:00Z"))),
            ["dt <= Date32(\"2026-11-02\")"]
        );
    }

    #[test]
    fn times_moved_into_another_zone_bound_nothing() {
        use arrow::datatypes::TimeUnit::Microsecond;
        let zoned = |zone: &str| {
            let naive = cast(col(EVENT_TIME_COLUMN), DataType::Timestamp(Microsecond, None));
            cast(naive, DataType::Timestamp(Microsecond, Some(zone.into())))
        };
        // Its New York date starts five hours after the UTC one: no UTC day bound holds.
        let ny_date = cast(zoned("America/New_York"), DataType::Date32);
        assert!(derived(ny_date.eq(lit(ScalarValue::Date32(Some(20_759))))).is_empty());
        assert!(derived(zoned("+05:00").gt_eq(at("2026-11-02T05:00:00Z"))).is_empty());
        assert_eq!(
            derived(zoned("UTC").gt_eq(at("2026-11-02T05:00:00Z"))),
            ["dt >= Date32(\"2026-11-02\")"]
        );
    }
}
