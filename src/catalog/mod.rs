//! Registering a warehouse's tables in a DataFusion session.
//!
//! Each known table whose folder exists under the warehouse becomes a listing table over its
//! Parquet files, with the schema its format declares (so a table reads the same however
//! many files or partitions it has) and the Hive column `dt` taken from the
//! `dt=YYYY-MM-DD` folder names. A filter on `dt` therefore prunes whole folders before any
//! file is opened. Each file is declared sorted by `event_time`, as the partition job writes
//! it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};

use crate::formats::{self, EVENT_TIME_COLUMN, PARTITION_COLUMN};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("warehouse {0} does not exist")]
    NoWarehouse(PathBuf),
    #[error("warehouse {0} holds no tables")]
    Empty(PathBuf),
    #[error("cannot register table {table}")]
    Register { table: String, source: DataFusionError },
}

/// Registers every table found in `warehouse`; returns their names.
pub fn register_warehouse(
    ctx: &SessionContext,
    warehouse: &Path,
) -> Result<Vec<String>, CatalogError> {
    if !warehouse.is_dir() {
        return Err(CatalogError::NoWarehouse(warehouse.to_owned()));
    }
    let mut registered = Vec::new();
    for format in formats::known_tables() {
        let table = format.table();
        let folder = warehouse.join(table);
        if !folder.is_dir() {
            continue;
        }
        let err = |source| CatalogError::Register { table: table.to_owned(), source };
        // A trailing slash makes the URL a folder rather than a single file.
        let url = format!("{}/", std::path::absolute(&folder).unwrap_or(folder).display());
        let url = ListingTableUrl::parse(url).map_err(err)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(PARTITION_COLUMN.to_owned(), DataType::Utf8)])
            .with_file_sort_order(vec![vec![col(EVENT_TIME_COLUMN).sort(true, false)]]);
        let config =
            ListingTableConfig::new(url).with_listing_options(options).with_schema(format.schema());
        let provider = ListingTable::try_new(config).map_err(err)?;
        ctx.register_table(table, Arc::new(provider)).map_err(err)?;
        registered.push(table.to_owned());
    }
    if registered.is_empty() {
        return Err(CatalogError::Empty(warehouse.to_owned()));
    }
    Ok(registered)
}
