//! Registering a warehouse's tables in a DataFusion session, as of its current snapshot.
//!
//! Each table of the snapshot becomes a listing table over its folder, with the schema its
//! format declares (so a table reads the same however many files or partitions it has) and
//! the Hive column `dt`, a date, taken from the `dt=YYYY-MM-DD` folder names. A filter on `dt`
//! therefore prunes whole folders before any file is opened, and so does a filter on
//! `event_time` ([`time`]). Each file is declared sorted by
//! `event_time`, as the partition job writes it. Listing goes through a
//! [`SnapshotStore`], so a query reads exactly the snapshot's files: never those of a job
//! still running or killed, and still those a compaction replaced after the query began.

mod time;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

use crate::formats::{EVENT_TIME_COLUMN, FormatName, PARTITION_COLUMN};
use crate::warehouse::{Fetched, Root, Snapshot, SnapshotStore, Warehouse, WarehouseError};

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

/// A registered table and how many partitions it has.
#[derive(Debug, Clone)]
pub struct TableSize {
    pub name: String,
    pub partitions: usize,
}

/// `schema` with its string columns read as string views: a dictionary-encoded column then
/// decodes into views of its dictionary instead of a copy of every value, which is most of
/// the cost of scanning the low-cardinality strings logs are full of.
fn with_string_views(schema: &arrow::datatypes::SchemaRef) -> arrow::datatypes::SchemaRef {
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                field.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The tables registered from a warehouse, and what queries fetch from it.
#[derive(Debug)]
pub struct Registered {
    pub tables: Vec<TableSize>,
    pub fetched: Arc<Fetched>,
    /// The warehouse's location as stored results are keyed on it.
    pub id: String,
    /// The snapshot the tables are registered as of.
    pub snapshot: Snapshot,
}

impl Registered {
    pub fn names(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.name.clone()).collect()
    }
}

/// What the tables tell the planner about the order of rows in their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrder {
    /// Each file is sorted by `event_time`, so plans may rely on it (a time series needs no
    /// sort, only a merge).
    EventTime,
    /// Nothing is said. For Ballista: its shuffles do not keep the order a local
    /// repartition would, and a plan that counted on it would be answered wrongly.
    Unstated,
}

/// Whether `provider` is one of the warehouse's tables, as [`register_warehouse`] registers
/// them (not a table function or an `information_schema` view, whose rows come from
/// elsewhere).
pub fn is_warehouse_table(provider: &dyn datafusion::catalog::TableProvider) -> bool {
    provider.downcast_ref::<time::DayPruned>().is_some()
}

/// Registers every table of `warehouse`'s current snapshot.
pub fn register_warehouse(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    order: FileOrder,
) -> Result<Registered, CatalogError> {
    let name = || PathBuf::from(warehouse.location().to_string());
    if !warehouse.exists() {
        return Err(CatalogError::NoWarehouse(name()));
    }
    let bad_path = |e: object_store::path::Error| CatalogError::Register {
        table: String::new(),
        source: DataFusionError::External(Box::new(e)),
    };
    // The store, the URL DataFusion knows it by, and the warehouse's URL and path in it.
    let (inner, store_url, base_url, root_path, snapshot): (Arc<dyn ObjectStore>, _, String, _, _) =
        match warehouse.root() {
            Root::Local(root) => {
                let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                let snapshot = Warehouse::new(&root).snapshot()?;
                let path =
                    object_store::path::Path::from_filesystem_path(&root).map_err(bad_path)?;
                let url = format!("{}", root.display());
                (
                    Arc::new(LocalFileSystem::new()),
                    ObjectStoreUrl::local_filesystem(),
                    url,
                    path,
                    snapshot,
                )
            }
            Root::S3 { bucket, prefix } => {
                let store_url = ObjectStoreUrl::parse(format!("s3://{}", bucket.name))
                    .map_err(|source| CatalogError::Register { table: String::new(), source })?;
                let url = warehouse.location().to_string();
                let path = object_store::path::Path::from(prefix.as_str());
                (bucket.store.clone(), store_url, url, path, warehouse.snapshot()?)
            }
        };
    let store = Arc::new(SnapshotStore::new(inner, root_path, &snapshot, warehouse.is_remote()));
    let fetched = store.fetched();
    ctx.register_object_store(store_url.as_ref(), store);

    let mut registered = Vec::new();
    for (table, state) in &snapshot.tables {
        let Some(format) = FormatName::parse(&state.format) else {
            tracing::warn!(%table, format = %state.format, "table of an unknown format; not registered");
            continue;
        };
        let err = |source| CatalogError::Register { table: table.to_owned(), source };
        // A trailing slash makes the URL a folder rather than a single file.
        let url = format!("{}/{table}/", base_url.trim_end_matches('/'));
        let url = ListingTableUrl::parse(url).map_err(err)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(PARTITION_COLUMN.to_owned(), DataType::Date32)]);
        let options = match order {
            FileOrder::EventTime => {
                options.with_file_sort_order(vec![vec![col(EVENT_TIME_COLUMN).sort(true, false)]])
            }
            FileOrder::Unstated => options,
        };
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(with_string_views(&format.format().schema()));
        let provider = ListingTable::try_new(config).map_err(err)?;
        let provider = time::DayPruned::new(Arc::new(provider));
        ctx.register_table(table.as_str(), Arc::new(provider)).map_err(err)?;
        let partitions = state.files.iter().map(|f| &f.dt).collect::<BTreeSet<_>>().len();
        registered.push(TableSize { name: table.to_owned(), partitions });
    }
    if registered.is_empty() {
        return Err(CatalogError::Empty(name()));
    }
    Ok(Registered { tables: registered, fetched, id: base_url, snapshot })
}
