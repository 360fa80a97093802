//! What a planned query will read, known before it reads any data page.
//!
//! A physical plan names, in each of its Parquet scans, the files that survived partition
//! pruning, the columns it projects or filters on, and the predicate it prunes with. That is
//! enough to price the scan from the files' footers alone: each footer lists its row groups
//! with min/max statistics and the byte range of every column chunk. The estimate keeps the
//! row groups the predicate cannot rule out, as the reader will, and adds up the chunks of
//! the columns the scan needs. The footers it reads are kept in the session's metadata cache,
//! so the query that follows does not fetch them again.
//!
//! The estimate is an upper bound on the data pages read for all but one kind of plan: a
//! recursive query runs its recursive part once per iteration, so it reads its tables an
//! unknown number of times ([`Estimate::repeats`]); the byte counter enforces the cap there.
//! The reader can read less than the estimate when row filters let it skip pages within a
//! kept row group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::parquet::{
    PagePruningAccessPlanFilter, ParquetAccessPlan, RowGroupAccess, RowGroupAccessPlanFilter,
};
use datafusion::datasource::physical_plan::{FileScanConfig, ParquetFileMetrics, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::recursive_query::RecursiveQueryExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::ParquetMetaData;

use crate::formats::PARTITION_COLUMN;

/// Footers read at once (each is one or two small reads).
const FOOTERS_IN_FLIGHT: usize = 16;

/// The Parquet scans of a physical plan.
#[derive(Debug, Default)]
pub struct ScanPlan {
    pub scans: Vec<Scan>,
    /// The plan runs part of itself repeatedly (a recursive query).
    pub repeats: bool,
}

/// One Parquet scan: a table's files that survived partition pruning, and what of them it
/// needs.
#[derive(Debug)]
pub struct Scan {
    pub table: String,
    store_url: ObjectStoreUrl,
    /// Each file once, with its partition (a large file may be split among partitions).
    pub files: Vec<(ObjectMeta, String)>,
    /// The file columns read: projected or filtered on.
    columns: BTreeSet<String>,
    predicate: Option<Arc<dyn PhysicalExpr>>,
    table_schema: SchemaRef,
}

impl ScanPlan {
    /// The scans of `plan`, wherever they sit in it (subqueries, joins, unions, the plan
    /// under `EXPLAIN ANALYZE`).
    pub fn of(plan: &Arc<dyn ExecutionPlan>) -> ScanPlan {
        let mut found = ScanPlan::default();
        let mut stack = vec![plan.clone()];
        while let Some(node) = stack.pop() {
            if node.is::<RecursiveQueryExec>() {
                found.repeats = true;
            }
            if let Some(scan) = Scan::of(node.as_ref()) {
                found.scans.push(scan);
            }
            stack.extend(node.children().into_iter().cloned());
        }
        found
    }

    /// Every file the plan reads, by path, with its size: what its answer depends on.
    pub fn input_files(&self) -> BTreeSet<(String, u64)> {
        self.scans
            .iter()
            .flat_map(|scan| &scan.files)
            .map(|(meta, _)| (meta.location.to_string(), meta.size))
            .collect()
    }

    /// Reads the footers of every file scanned and prices the scan.
    pub async fn estimate(&self, ctx: &SessionContext) -> Result<Estimate> {
        let mut files = Vec::new();
        for scan in &self.scans {
            let store = ctx.runtime_env().object_store(&scan.store_url)?;
            let cache = ctx.runtime_env().cache_manager.get_file_metadata_cache();
            let priced: Vec<FileEstimate> = futures::stream::iter(&scan.files)
                .map(|(meta, dt)| {
                    let (store, cache) = (store.clone(), cache.clone());
                    async move {
                        let metadata = DFParquetMetadata::new(store.as_ref(), meta)
                            .with_file_metadata_cache(Some(cache))
                            .fetch_metadata()
                            .await?;
                        scan.price(meta, dt, &metadata)
                    }
                })
                .buffered(FOOTERS_IN_FLIGHT)
                .try_collect()
                .await?;
            files.extend(priced);
        }
        Ok(Estimate { files, repeats: self.repeats })
    }
}

impl Scan {
    fn of(node: &dyn ExecutionPlan) -> Option<Scan> {
        let source = node.downcast_ref::<DataSourceExec>()?;
        let config = source.data_source().downcast_ref::<FileScanConfig>()?;
        // Only Parquet files have footers to price them by.
        config.file_source().downcast_ref::<ParquetSource>()?;
        let table_schema = config.file_source().table_schema().table_schema().clone();
        let file_schema = config.file_schema();
        let predicate = config.file_source().filter();

        let mut columns = BTreeSet::new();
        let mut note = |index: usize| {
            if let Some(field) = file_schema.fields().get(index) {
                columns.insert(field.name().clone());
            }
        };
        match config.file_source().projection() {
            Some(projection) => projection.column_indices().into_iter().for_each(&mut note),
            None => (0..file_schema.fields().len()).for_each(&mut note),
        }
        if let Some(predicate) = &predicate {
            collect_columns(predicate).iter().for_each(|c| note(c.index()));
        }

        let mut seen = BTreeSet::new();
        let mut files = Vec::new();
        for file in config.file_groups.iter().flat_map(|group| group.files()) {
            if seen.insert(file.object_meta.location.clone()) {
                let dt = file.partition_values.first().map(partition_text).unwrap_or_default();
                files.push((file.object_meta.clone(), dt));
            }
        }
        let table = files.first().map(|(meta, _)| table_of(meta)).unwrap_or_default();
        Some(Scan {
            table,
            store_url: config.object_store_url.clone(),
            files,
            columns,
            predicate,
            table_schema,
        })
    }

    /// The row groups (and, from the page index, the pages) of one file the predicate
    /// keeps, and the bytes of the needed column chunks in them: what the reader fetches.
    fn price(
        &self,
        meta: &ObjectMeta,
        dt: &str,
        metadata: &ParquetMetaData,
    ) -> Result<FileEstimate> {
        let groups = metadata.row_groups();
        let file = metadata.file_metadata();
        let mut access = ParquetAccessPlan::new_all(groups.len());
        if let Some(predicate) = &self.predicate {
            let file_schema =
                parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
                    .map_err(|e| DataFusionError::ParquetError(Box::new(e)))?;
            let metrics = ExecutionPlanMetricsSet::new();
            let metrics = ParquetFileMetrics::new(0, meta.location.as_ref(), &metrics);
            let pruning = PruningPredicateBuilder::new()
                .with_file_schema(self.table_schema.clone())
                .build(predicate.clone());
            if let Some(pruning) = pruning {
                let mut groups_kept = RowGroupAccessPlanFilter::new(access);
                groups_kept.prune_by_statistics(
                    &file_schema,
                    file.schema_descr(),
                    groups,
                    &pruning,
                    &metrics,
                );
                access = groups_kept.build();
            }
            if metadata.offset_index().is_some() {
                let pages = PagePruningAccessPlanFilter::new(predicate, self.table_schema.clone());
                access = pages.prune_plan_with_page_index(
                    access,
                    &file_schema,
                    file.schema_descr(),
                    metadata,
                    &metrics,
                );
            }
        }

        let mut columns: BTreeMap<String, u64> = BTreeMap::new();
        let mut kept = 0;
        for (index, group) in access.inner().iter().enumerate() {
            let selection = match group {
                RowGroupAccess::Skip => continue,
                RowGroupAccess::Scan => None,
                RowGroupAccess::Selection(selection) => Some(selection),
            };
            kept += 1;
            for (leaf, chunk) in groups[index].columns().iter().enumerate() {
                let root = chunk.column_descr().path().parts()[0].as_str();
                if !self.columns.contains(root) {
                    continue;
                }
                let (start, len) = chunk.byte_range();
                let pages = metadata.offset_index().and_then(|all| all.get(index)?.get(leaf));
                let bytes = match (selection, pages) {
                    (Some(selection), Some(pages)) => {
                        let locations = pages.page_locations();
                        // The dictionary page sits before the first data page.
                        let dictionary = locations
                            .first()
                            .map_or(0, |first| (first.offset as u64).saturating_sub(start));
                        let data: u64 = selection
                            .scan_ranges(locations)
                            .iter()
                            .map(|range| range.end - range.start)
                            .sum();
                        dictionary + data
                    }
                    _ => len,
                };
                *columns.entry(root.to_owned()).or_default() += bytes;
            }
        }
        Ok(FileEstimate {
            table: self.table.clone(),
            dt: dt.to_owned(),
            path: meta.location.to_string(),
            row_groups: groups.len(),
            row_groups_kept: kept,
            bytes: columns.values().sum(),
            columns,
        })
    }
}

/// The table a warehouse file belongs to: the folder above its `dt=` folder.
fn table_of(meta: &ObjectMeta) -> String {
    let parts: Vec<_> = meta.location.parts().collect();
    let prefix = format!("{PARTITION_COLUMN}=");
    parts
        .iter()
        .position(|p| p.as_ref().starts_with(&prefix))
        .and_then(|at| at.checked_sub(1))
        .map(|at| parts[at].as_ref().to_owned())
        .unwrap_or_default()
}

fn partition_text(value: &datafusion::common::ScalarValue) -> String {
    use datafusion::common::ScalarValue;
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => s.clone(),
        ScalarValue::Dictionary(_, inner) => partition_text(inner),
        other => other.to_string(),
    }
}

/// The priced scan of one file.
#[derive(Debug, Clone)]
pub struct FileEstimate {
    pub table: String,
    pub dt: String,
    pub path: String,
    pub row_groups: usize,
    pub row_groups_kept: usize,
    /// Bytes of the needed column chunks in the kept row groups.
    pub bytes: u64,
    pub columns: BTreeMap<String, u64>,
}

/// The priced scan of a whole plan.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    pub files: Vec<FileEstimate>,
    /// The plan reads some tables once per iteration of a recursive query: the estimate
    /// counts one pass.
    pub repeats: bool,
}

/// What one table contributes to an estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShare {
    pub table: String,
    pub partitions: usize,
    pub files: usize,
    pub row_groups: usize,
    pub row_groups_kept: usize,
    pub bytes: u64,
}

impl Estimate {
    /// Bytes of data pages the plan will read.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Tables by bytes, largest first.
    pub fn tables(&self) -> Vec<TableShare> {
        let mut tables: BTreeMap<&str, (BTreeSet<&str>, TableShare)> = BTreeMap::new();
        for file in &self.files {
            let (days, share) = tables.entry(&file.table).or_insert_with(|| {
                let share = TableShare {
                    table: file.table.clone(),
                    partitions: 0,
                    files: 0,
                    row_groups: 0,
                    row_groups_kept: 0,
                    bytes: 0,
                };
                (BTreeSet::new(), share)
            });
            days.insert(&file.dt);
            share.files += 1;
            share.row_groups += file.row_groups;
            share.row_groups_kept += file.row_groups_kept;
            share.bytes += file.bytes;
        }
        let mut shares: Vec<TableShare> = tables
            .into_values()
            .map(|(days, mut share)| {
                share.partitions = days.len();
                share
            })
            .collect();
        shares.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.table.cmp(&b.table)));
        shares
    }

    /// `(table, dt, bytes)` of each partition, largest first.
    pub fn partitions(&self) -> Vec<(String, String, u64)> {
        let mut days: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for file in &self.files {
            *days.entry((&file.table, &file.dt)).or_default() += file.bytes;
        }
        let mut days: Vec<_> =
            days.into_iter().map(|((t, d), b)| (t.to_owned(), d.to_owned(), b)).collect();
        days.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
        days
    }

    /// `(table.column, bytes)` of each column read, largest first.
    pub fn columns(&self) -> Vec<(String, u64)> {
        let mut columns: BTreeMap<String, u64> = BTreeMap::new();
        for file in &self.files {
            for (column, bytes) in &file.columns {
                *columns.entry(format!("{}.{column}", file.table)).or_default() += bytes;
            }
        }
        let mut columns: Vec<_> = columns.into_iter().collect();
        columns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        columns
    }
}
