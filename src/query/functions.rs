//! Functions logq adds to, or puts in front of, DataFusion's.
//!
//! `date_trunc` over a timestamp in UTC takes DataFusion's slow path (a time-zone lookup per
//! value) for hours and days, although in UTC every hour and day has the same length. Log
//! timestamps are all UTC, and bucketing them by hour or day is what dashboards do most, so
//! logq's `date_trunc` hands UTC timestamps to DataFusion's as zone-less ones (the same
//! instants, so the same truncation) and labels the result UTC again. Every other input goes
//! to DataFusion's `date_trunc` unchanged.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, make_array};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};

/// Registers logq's functions in `registry`, over DataFusion's of the same name.
pub fn register(registry: &mut dyn FunctionRegistry) {
    let inner = datafusion::functions::datetime::date_trunc();
    registry
        .register_udf(Arc::new(ScalarUDF::new_from_impl(UtcDateTrunc { inner })))
        .expect("date_trunc replaces DataFusion's in a fresh registry");
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct UtcDateTrunc {
    inner: Arc<ScalarUDF>,
}

/// Whether a time zone name means UTC.
fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "+00" | "Etc/UTC")
}

/// `data_type` with its time zone replaced by `tz`, if it is a UTC timestamp.
fn retag(data_type: &DataType, tz: Option<Arc<str>>) -> Option<DataType> {
    match data_type {
        DataType::Timestamp(unit, Some(zone)) if is_utc(zone) => {
            Some(DataType::Timestamp(*unit, tz))
        }
        DataType::Timestamp(unit, None) if tz.is_some() => Some(DataType::Timestamp(*unit, tz)),
        _ => None,
    }
}

/// The same values under another type of the same layout (a timestamp's zone is a label).
fn relabel(array: &ArrayRef, data_type: DataType) -> Result<ArrayRef> {
    let data = array.to_data().into_builder().data_type(data_type).build()?;
    Ok(make_array(data))
}

fn relabel_value(value: ColumnarValue, tz: Option<Arc<str>>) -> Result<ColumnarValue> {
    Ok(match value {
        ColumnarValue::Array(array) => match retag(array.data_type(), tz) {
            Some(data_type) => ColumnarValue::Array(relabel(&array, data_type)?),
            None => ColumnarValue::Array(array),
        },
        ColumnarValue::Scalar(scalar) => ColumnarValue::Scalar(match (scalar, tz) {
            (ScalarValue::TimestampSecond(v, _), tz) => ScalarValue::TimestampSecond(v, tz),
            (ScalarValue::TimestampMillisecond(v, _), tz) => {
                ScalarValue::TimestampMillisecond(v, tz)
            }
            (ScalarValue::TimestampMicrosecond(v, _), tz) => {
                ScalarValue::TimestampMicrosecond(v, tz)
            }
            (ScalarValue::TimestampNanosecond(v, _), tz) => ScalarValue::TimestampNanosecond(v, tz),
            (other, _) => other,
        }),
    })
}

impl ScalarUDFImpl for UtcDateTrunc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let utc = args.arg_fields.get(1).and_then(|f| retag(f.data_type(), None));
        let Some(naive) = utc else { return self.inner.invoke_with_args(args) };
        let DataType::Timestamp(_, zone) = args.arg_fields[1].data_type().clone() else {
            return self.inner.invoke_with_args(args);
        };
        let field = Field::new(args.arg_fields[1].name(), naive, true);
        args.arg_fields[1] = Arc::new(field);
        args.args[1] = relabel_value(args.args[1].clone(), None)?;
        if let Some(return_type) = retag(args.return_field.data_type(), None) {
            let field = args.return_field.as_ref().clone().with_data_type(return_type);
            args.return_field = Arc::new(field);
        }
        relabel_value(self.inner.invoke_with_args(args)?, zone)
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn utc_timestamps_truncate_as_datafusion_truncates_them() {
        let mut ctx = SessionContext::new();
        let values = "SELECT arrow_cast(column1, 'Timestamp(Microsecond, Some(\"UTC\"))') AS t \
                      FROM (VALUES ('2026-11-02T05:47:13.25Z'), ('2024-02-29T23:59:59.999999Z'), \
                      ('1969-12-31T23:30:00Z'), (NULL))";
        let query = format!(
            "SELECT arrow_typeof(date_trunc('hour', t)) AS ty, {} FROM ({values}) ORDER BY t",
            ["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
                .map(|g| format!("CAST(date_trunc('{g}', t) AS VARCHAR) AS {g}"))
                .join(", ")
        );
        let builtin = ctx.sql(&query).await.unwrap().collect().await.unwrap();
        super::register(&mut ctx);
        let ours = ctx.sql(&query).await.unwrap().collect().await.unwrap();
        assert_eq!(ours, builtin);
        let text = arrow::util::pretty::pretty_format_batches(&ours).unwrap().to_string();
        assert!(text.contains("Timestamp(µs, \"UTC\")"), "{text}");
        assert!(text.contains("2026-11-02T05:00:00Z"), "{text}");
    }
}
