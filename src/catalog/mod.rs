//! Registering a warehouse's tables in a DataFusion session, as of its current snapshot.
//!
//! Each table of the snapshot becomes a listing table over its folder, with the schema its
//! format declares (so a table reads the same however many files or partitions it has) and
//! the Hive column `dt` taken from the `dt=YYYY-MM-DD` folder names. A filter on `dt`
//! therefore prunes whole folders before any file is opened. Each file is declared sorted by
//! `event_time`, as the partition job writes it. Listing goes through a
//! [`SnapshotStore`], so a query reads exactly the snapshot's files: never those of a job
//! still running or killed, and still those a compaction replaced after the query began.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::local::LocalFileSystem;

use crate::formats::{EVENT_TIME_COLUMN, FormatName, PARTITION_COLUMN};
use crate::warehouse::{SnapshotStore, Warehouse, WarehouseError};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("warehouse {0} does not exist")]
    NoWarehouse(PathBuf),
    #[error("warehouse {0} holds no tables")]
    Empty(PathBuf),
    #[error("cannot register table {table}")]
    Register { table: String, source: DataFusionError },
    #[error("cannot read the warehouse's state")]
    State(#[from] WarehouseError),
}

/// Registers every table of `warehouse`'s current snapshot; returns their names.
pub fn register_warehouse(
    ctx: &SessionContext,
    warehouse: &Path,
) -> Result<Vec<String>, CatalogError> {
    if !warehouse.is_dir() {
        return Err(CatalogError::NoWarehouse(warehouse.to_owned()));
    }
    let root = std::fs::canonicalize(warehouse).unwrap_or_else(|_| warehouse.to_owned());
    let snapshot = Warehouse::new(&root).snapshot()?;
    let root_path = object_store::path::Path::from_filesystem_path(&root).map_err(|e| {
        CatalogError::Register {
            table: String::new(),
            source: DataFusionError::External(Box::new(e)),
        }
    })?;
    let store = SnapshotStore::new(Arc::new(LocalFileSystem::new()), root_path, &snapshot);
    ctx.register_object_store(ObjectStoreUrl::local_filesystem().as_ref(), Arc::new(store));

    let mut registered = Vec::new();
    for (table, state) in &snapshot.tables {
        let Some(format) = FormatName::parse(&state.format) else {
            tracing::warn!(%table, format = %state.format, "table of an unknown format; not registered");
            continue;
        };
        let err = |source| CatalogError::Register { table: table.to_owned(), source };
        // A trailing slash makes the URL a folder rather than a single file.
        let url = format!("{}/", root.join(table).display());
        let url = ListingTableUrl::parse(url).map_err(err)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(PARTITION_COLUMN.to_owned(), DataType::Utf8)])
            .with_file_sort_order(vec![vec![col(EVENT_TIME_COLUMN).sort(true, false)]]);
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(format.format().schema());
        let provider = ListingTable::try_new(config).map_err(err)?;
        ctx.register_table(table.as_str(), Arc::new(provider)).map_err(err)?;
        registered.push(table.to_owned());
    }
    if registered.is_empty() {
        return Err(CatalogError::Empty(warehouse.to_owned()));
    }
    Ok(registered)
}
