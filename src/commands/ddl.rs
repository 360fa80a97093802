//! `logq ddl --dialect athena`: CREATE EXTERNAL TABLE statements for other engines.

use std::io::Write;

use arrow::datatypes::{DataType, Field};

use crate::cli::{DdlArgs, Dialect};
use crate::config::Config;
use crate::formats::{FormatName, PARTITION_COLUMN};
use crate::warehouse::Warehouse;

use super::Failure;

pub fn run(args: DdlArgs, config: &Config) -> Result<(), Failure> {
    let location = args.warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
    let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
    if !warehouse.exists() {
        return Err(Failure::user(anyhow::anyhow!("warehouse {location} does not exist")));
    }
    if !warehouse.is_remote() {
        tracing::warn!(
            "{location} is on the local disk: Athena reads S3 only, so copy the warehouse to S3 \
             and print the DDL for it there (logq ddl --warehouse s3://bucket/prefix)"
        );
    }
    let snapshot = warehouse.snapshot().map_err(super::warehouse_failure)?;
    let base = location.to_string().trim_end_matches('/').to_owned();
    let Dialect::Athena = args.dialect;
    let mut out = format!("CREATE DATABASE IF NOT EXISTS `{}`;\n", args.database);
    for (table, state) in &snapshot.tables {
        let Some(format) = FormatName::parse(&state.format) else { continue };
        let first_day = state.files.iter().map(|f| f.dt.as_str()).min().unwrap_or("2000-01-01");
        out += &athena_table(
            &args.database,
            table,
            &format.format().schema().fields,
            &base,
            first_day,
        );
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(Failure::internal)
}

/// One table: Parquet at `<base>/<table>/`, partitions found by projection on `dt` (every
/// day from the first one through today), so no crawler or `MSCK REPAIR` is needed.
fn athena_table(
    database: &str,
    table: &str,
    fields: &arrow::datatypes::Fields,
    base: &str,
    first_day: &str,
) -> String {
    let columns: Vec<String> =
        fields.iter().map(|f| format!("  `{}` {}", f.name(), hive_type(f))).collect();
    let location = format!("{base}/{table}/");
    format!(
        "\nCREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (\n{}\n)\n\
         PARTITIONED BY (`{PARTITION_COLUMN}` string)\n\
         STORED AS PARQUET\n\
         LOCATION '{location}'\n\
         TBLPROPERTIES (\n\
         \x20 'parquet.compression' = 'ZSTD',\n\
         \x20 'projection.enabled' = 'true',\n\
         \x20 'projection.{PARTITION_COLUMN}.type' = 'date',\n\
         \x20 'projection.{PARTITION_COLUMN}.format' = 'yyyy-MM-dd',\n\
         \x20 'projection.{PARTITION_COLUMN}.range' = '{first_day},NOW',\n\
         \x20 'projection.{PARTITION_COLUMN}.interval' = '1',\n\
         \x20 'projection.{PARTITION_COLUMN}.interval.unit' = 'DAYS',\n\
         \x20 'storage.location.template' = '{location}{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/'\n\
         );\n",
        columns.join(",\n")
    )
}

/// The Hive type Athena reads an Arrow column's Parquet as.
fn hive_type(field: &Field) -> String {
    match field.data_type() {
        DataType::Boolean => "boolean".to_owned(),
        DataType::Int8 => "tinyint".to_owned(),
        DataType::Int16 => "smallint".to_owned(),
        DataType::Int32 | DataType::UInt16 => "int".to_owned(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".to_owned(),
        DataType::Float32 => "float".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Timestamp(..) => "timestamp".to_owned(),
        DataType::Date32 | DataType::Date64 => "date".to_owned(),
        DataType::List(item) | DataType::LargeList(item) => format!("array<{}>", hive_type(item)),
        DataType::Struct(fields) => {
            let inner: Vec<String> =
                fields.iter().map(|f| format!("`{}`:{}", f.name(), hive_type(f))).collect();
            format!("struct<{}>", inner.join(","))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", hive_type(&kv[0]), hive_type(&kv[1]))
            }
            _ => "map<string,string>".to_owned(),
        },
        _ => "string".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_maps_to_athena_types_with_projection_on_dt() {
        for name in FormatName::ALL {
            let schema = name.format().schema();
            let ddl = athena_table("logq", name.name(), &schema.fields, "s3://wh/p", "2026-11-01");
            assert_eq!(ddl.matches("\n  `").count(), schema.fields.len(), "{ddl}");
            assert!(ddl.contains("LOCATION 's3://wh/p/"), "{ddl}");
            assert!(ddl.contains("'storage.location.template' = 's3://wh/p/"), "{ddl}");
            assert!(ddl.contains("/dt=${dt}/'"), "{ddl}");
            assert!(ddl.contains("'projection.dt.range' = '2026-11-01,NOW'"), "{ddl}");
            assert!(!ddl.contains("Utf8") && !ddl.contains("Int64"), "{ddl}");
        }
        let waf = athena_table(
            "logq",
            "waf",
            &FormatName::Waf.format().schema().fields,
            "s3://b",
            "2026-11-01",
        );
        assert!(waf.contains("`labels` array<string>"), "{waf}");
        assert!(waf.contains("`extra_fields` map<string,string>"), "{waf}");
        assert!(waf.contains("`event_time` timestamp"), "{waf}");
    }
}
