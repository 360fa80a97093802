//! What `logq sql`, `logq run` and `logq dashboard` share: a warehouse opened for queries,
//! and one query answered under the byte-scan cap and result reuse.

use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::catalog::{self, CatalogError, Registered};
use crate::cli::{ClusterArg, GovernanceArgs, QueryOptions, WarehouseArg};
use crate::config::Config;
use crate::output::governance::{self, DryRun};
use crate::output::results::ResultError;
use crate::output::{ResultFormat, human_bytes, write_results};
use crate::query::reuse::Stored;
use crate::query::{self, Policy, ResultStore, Reuse, govern};
use crate::warehouse::{CapCrossed, Warehouse};

use super::Failure;

/// Results kept when `[query] cache_size` is not set.
const DEFAULT_CACHE_SIZE: u64 = 256 << 20;
/// How old a reused result may be when neither flag nor config says.
const DEFAULT_REUSE_MAX_AGE: Duration = Duration::from_secs(3600);
/// The largest result kept in memory to be stored.
const MAX_KEPT: usize = 64 << 20;

/// How many parts a query's scans are split into on a cluster when `[cluster] partitions`
/// does not say: two executors of four cores each.
const DEFAULT_CLUSTER_PARTITIONS: usize = 8;

/// A warehouse's tables registered for queries, and the rules they run under.
pub struct Querying {
    pub ctx: SessionContext,
    pub registered: Registered,
    pub policy: Policy,
    pub runtime: tokio::runtime::Runtime,
    /// Where queries run when not here.
    #[cfg(feature = "cluster")]
    cluster: Option<crate::cluster::Cluster>,
}

/// Where a query's rows go.
pub enum Sink {
    /// Printed on stdout as they come.
    Print(ResultFormat),
    /// Kept, for a dashboard.
    Keep,
}

/// What answering a query did.
pub struct Answered {
    pub schema: SchemaRef,
    /// The rows, for [`Sink::Keep`].
    pub batches: Vec<RecordBatch>,
    /// Bytes fetched from storage for it.
    pub fetched: u64,
    pub files: usize,
    /// The stored result that answered it, if one did.
    pub reused: Option<Stored>,
    /// The line for stderr.
    pub footer: String,
}

impl Querying {
    pub fn open(
        warehouse: &WarehouseArg,
        cluster: &ClusterArg,
        governance: &GovernanceArgs,
        config: &Config,
    ) -> Result<Querying, Failure> {
        let address = match cluster.cluster.as_deref().or(config.cluster.address.as_deref()) {
            Some("local") | None => None,
            Some(address) => Some(address),
        };
        #[cfg(not(feature = "cluster"))]
        if let Some(address) = address {
            return Err(Failure::user(anyhow::anyhow!(
                "cannot run on the cluster at {address}: this logq was built without cluster mode"
            ))
            .with_hint("build it with `cargo build --release --features cluster`"));
        }
        #[cfg(feature = "cluster")]
        let cluster =
            address.map(crate::cluster::Cluster::new).transpose().map_err(Failure::user)?;
        let location = warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
        let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
        let ctx = match address {
            // Planned here for as many tasks as the cluster runs at once.
            Some(_) => query::session_for(
                config.cluster.partitions.unwrap_or(DEFAULT_CLUSTER_PARTITIONS),
                query::Runs::OnCluster,
            ),
            None => query::session(),
        };
        let order = match address {
            Some(_) => catalog::FileOrder::Unstated,
            None => catalog::FileOrder::EventTime,
        };
        let registered =
            catalog::register_warehouse(&ctx, &warehouse, order).map_err(catalog_failure)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Failure::internal)?;
        Ok(Querying {
            ctx,
            registered,
            policy: policy(governance, config),
            runtime,
            #[cfg(feature = "cluster")]
            cluster,
        })
    }

    /// Starts `prepared` here, or submits it to the cluster and waits for the cluster to
    /// finish it; the stream then reads the result.
    async fn start(
        &self,
        prepared: &query::Prepared,
        names: &[String],
    ) -> Result<(SendableRecordBatchStream, Option<String>), Failure> {
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            let config = self.ctx.state().config().clone();
            let job = cluster
                .run(prepared.physical.clone(), &config)
                .await
                .map_err(|e| cluster_failure(e, cluster))?;
            return Ok((job.result, Some(job.id)));
        }
        let stream = prepared.execute(&self.ctx).map_err(|e| query_failure(e, names))?;
        Ok((stream, None))
    }

    /// What the cluster's executors read for `job`, or `None` (with a warning) if the
    /// scheduler cannot say.
    async fn scanned_on_cluster(&self, job: &str) -> Option<u64> {
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            return match cluster.bytes_scanned(job).await {
                Ok(bytes) => Some(bytes),
                Err(error) => {
                    tracing::warn!(%job, %error, "no scan metrics from the cluster");
                    None
                }
            };
        }
        let _ = job;
        None
    }

    /// Answers `sql` with `params` bound: from a stored result if one may, else priced,
    /// checked against the cap, run and stored. With `dry_run`, prints what it would do
    /// instead (in `format`).
    pub async fn answer(
        &self,
        sql: &str,
        params: &[(String, ScalarValue)],
        sink: Sink,
        dry_run: bool,
    ) -> Result<Option<Answered>, Failure> {
        let started = Instant::now();
        let names = self.registered.names();
        let fetched = &self.registered.fetched;
        let bytes_before = fetched.bytes();
        let requests_before = fetched.requests();
        let prepared =
            query::prepare(&self.ctx, sql, params).await.map_err(|e| query_failure(e, &names))?;
        let reuse = Reuse::find(&prepared, &self.registered.id, &self.policy, !dry_run);

        if let Reuse::Hit(hit) = reuse {
            let (rows, batches) = deliver(hit.batches, hit.schema.clone(), &sink, &names).await?;
            let footer = governance::reused_footer(rows, started.elapsed(), &hit.stored);
            return Ok(Some(Answered {
                schema: hit.schema,
                batches,
                fetched: 0,
                files: 0,
                reused: Some(hit.stored),
                footer,
            }));
        }

        let cap = self.policy.max_bytes_scanned;
        // The footers the estimate reads count against the cap too: a query over so many
        // files that their footers alone would cross it is refused while they are read.
        fetched.cap_reads(if dry_run { None } else { cap });
        let estimate = prepared.scans.estimate(&self.ctx).await.map_err(|error| {
            fetched.cap_reads(None);
            match cap_crossed(&error) {
                Some(crossed) => footers_over_cap(crossed, prepared.scans.input_files().len()),
                None => query_failure(error, &names),
            }
        })?;
        let footers = fetched.bytes() - bytes_before;
        if dry_run {
            let report = DryRun {
                estimate: &estimate,
                footers,
                cap,
                reuse: &reuse,
                tables: &self.registered.tables,
            };
            let text = match sink {
                Sink::Print(ResultFormat::Json | ResultFormat::Ndjson) => {
                    report.json().to_string() + "\n"
                }
                _ => report.text(),
            };
            std::io::stdout().write_all(text.as_bytes()).map_err(Failure::internal)?;
            return Ok(None);
        }
        govern::check_cap(&estimate, footers, cap, &self.registered.tables).map_err(|refused| {
            fetched.cap_reads(None);
            let hint = refused.hint();
            Failure::user(*refused).with_hint(hint)
        })?;

        let (stream, job) = self.start(&prepared, &names).await?;
        let schema = stream.schema();
        let key = reuse.key().cloned();
        let kept = Arc::new(Mutex::new(Some(Vec::new())));
        let keep = key.is_some() || matches!(sink, Sink::Keep);
        let stream = if keep { keep_batches(stream, kept.clone()) } else { stream };
        let rows = match sink {
            Sink::Print(format) => print(stream, format, &names).await,
            Sink::Keep => drain(stream, &names).await,
        };
        // The cap is this query's; the next one (on a dashboard) gets its own.
        fetched.cap_reads(None);
        let rows = rows?;
        let batches = kept.lock().expect("no panics holding the kept batches").take();
        if matches!(sink, Sink::Keep) && batches.is_none() {
            return Err(Failure::user(anyhow::anyhow!(
                "its result is over {}, more than a dashboard panel holds",
                human_bytes(MAX_KEPT as u64)
            ))
            .with_hint("aggregate the rows or add a LIMIT"));
        }
        let mut bytes = fetched.bytes() - bytes_before;
        // Every file the plan names is read, if only its footer (by the estimate, or from
        // the footer cache when an earlier panel of a dashboard read it).
        let files = prepared.scans.input_files().len();
        let on_cluster = match &job {
            Some(job) => {
                // Here only footers were read; the executors read the rest.
                let scanned = self.scanned_on_cluster(job).await;
                bytes += scanned.unwrap_or(0);
                Some((job.as_str(), scanned.is_some()))
            }
            None => None,
        };
        if let (Some(key), Some(batches)) = (&key, &batches) {
            let stored = Stored {
                created_ms: chrono::Utc::now().timestamp_millis(),
                sql: sql.to_owned(),
                rows,
                bytes_scanned: bytes,
                files: prepared.scans.input_files().len(),
            };
            self.policy.store.put(key, &stored, &schema, batches);
        }
        let estimated = Some((estimate.bytes() + footers, estimate.repeats));
        let requests = fetched.requests() - requests_before;
        let footer = match on_cluster {
            Some((job, measured)) => governance::cluster_footer(
                rows,
                started.elapsed(),
                bytes,
                footers,
                files,
                estimated,
                job,
                measured,
            ),
            None => governance::footer(rows, started.elapsed(), bytes, requests, files, estimated),
        };
        Ok(Some(Answered {
            schema,
            batches: if matches!(sink, Sink::Keep) {
                batches.unwrap_or_default()
            } else {
                Vec::new()
            },
            fetched: bytes,
            files,
            reused: None,
            footer,
        }))
    }
}

/// Answers one query (`logq sql`, `logq run`) on stdout, and its footer on stderr.
pub fn print_answer(
    options: &QueryOptions,
    config: &Config,
    sql: &str,
    params: &[(String, ScalarValue)],
    quiet: bool,
) -> Result<(), Failure> {
    let querying =
        Querying::open(&options.warehouse, &options.cluster, &options.governance, config)?;
    let sink = Sink::Print(options.format);
    let answered =
        querying.runtime.block_on(querying.answer(sql, params, sink, options.dry_run))?;
    if let (Some(answered), false) = (answered, quiet) {
        eprintln!("{}", answered.footer);
    }
    Ok(())
}

/// The cap and reuse settings: flags over the config over the defaults.
fn policy(args: &GovernanceArgs, config: &Config) -> Policy {
    let defaults = &config.query;
    let max_bytes_scanned = match args.max_bytes_scanned {
        Some(cap) => cap.0,
        None => defaults.max_bytes_scanned,
    };
    let reuse_max_age = (!args.no_reuse)
        .then(|| args.reuse_max_age.or(defaults.reuse_max_age).unwrap_or(DEFAULT_REUSE_MAX_AGE));
    let dir = defaults
        .cache_dir
        .clone()
        .map(|d| d.join("results"))
        .unwrap_or_else(ResultStore::default_dir);
    let store = ResultStore::new(dir, defaults.cache_size.unwrap_or(DEFAULT_CACHE_SIZE));
    Policy { max_bytes_scanned, reuse_max_age, store }
}

/// Passes `stream` through, keeping a copy of its batches in `kept` while they stay under
/// [`MAX_KEPT`]; past it, or on an error, `kept` becomes `None`.
fn keep_batches(
    stream: SendableRecordBatchStream,
    kept: Arc<Mutex<Option<Vec<RecordBatch>>>>,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let mut size = 0usize;
    let stream = stream.inspect(move |batch| {
        let mut kept = kept.lock().expect("no panics holding the kept batches");
        match batch {
            Ok(batch) if kept.is_some() => {
                size += batch.get_array_memory_size();
                match kept.as_mut() {
                    Some(batches) if size <= MAX_KEPT => batches.push(batch.clone()),
                    _ => *kept = None,
                }
            }
            Ok(_) => {}
            Err(_) => *kept = None,
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// A stored result to `sink`: printed, or handed back.
async fn deliver(
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
    sink: &Sink,
    names: &[String],
) -> Result<(u64, Vec<RecordBatch>), Failure> {
    match sink {
        Sink::Keep => Ok((batches.iter().map(|b| b.num_rows() as u64).sum(), batches)),
        Sink::Print(format) => {
            let stream = futures::stream::iter(batches.into_iter().map(Ok));
            let stream = Box::pin(RecordBatchStreamAdapter::new(schema, stream));
            Ok((print(stream, *format, names).await?, Vec::new()))
        }
    }
}

/// Writes a query's stream to stdout; returns the rows written.
async fn print(
    stream: SendableRecordBatchStream,
    format: ResultFormat,
    names: &[String],
) -> Result<u64, Failure> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let rows = write_results(stream, format, &mut out).await.map_err(|e| match e {
        ResultError::Query(e) => stream_failure(e, names),
        other => Failure::internal(other),
    })?;
    out.flush().map_err(Failure::internal)?;
    Ok(rows)
}

/// Runs a stream to its end; returns its rows.
async fn drain(mut stream: SendableRecordBatchStream, names: &[String]) -> Result<u64, Failure> {
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.map_err(|e| stream_failure(e, names))?.num_rows() as u64;
    }
    Ok(rows)
}

/// A failure while the query ran: the cap crossed, or any other.
fn stream_failure(error: DataFusionError, names: &[String]) -> Failure {
    let Some(crossed) = cap_crossed(&error) else { return query_failure(error, names) };
    Failure::user(anyhow::anyhow!(
        "query stopped at the byte-scan cap of {}: it had fetched {} and its next read ({}) \
         would have crossed the cap",
        human_bytes(crossed.cap),
        human_bytes(crossed.fetched),
        human_bytes(crossed.wanted)
    ))
    .with_hint(
        "it read more than estimated before it ran, as a recursive query does (it reads its \
         tables once per iteration); bound the recursion or raise --max-bytes-scanned",
    )
}

/// A query whose files' footers alone would take it past the cap.
fn footers_over_cap(crossed: &CapCrossed, files: usize) -> Failure {
    Failure::user(anyhow::anyhow!(
        "query refused before reading any data: the footers of the {files} files it would \
         read come to more than the byte-scan cap of {} by themselves ({} read when the next \
         footer, of {}, would have crossed it)",
        human_bytes(crossed.cap),
        human_bytes(crossed.fetched),
        human_bytes(crossed.wanted)
    ))
    .with_hint(
        "a filter on event_time or dt reads fewer days and files; or raise --max-bytes-scanned \
         SIZE (or [query] max_bytes_scanned in logq.toml)",
    )
}

/// The cap the store refused a read with, somewhere in a query's error.
fn cap_crossed(error: &DataFusionError) -> Option<&CapCrossed> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(crossed) = e.downcast_ref::<CapCrossed>() {
            return Some(crossed);
        }
        cause = e.source();
    }
    None
}

/// The cluster could not run a query: unreachable, refused, or failed there.
#[cfg(feature = "cluster")]
fn cluster_failure(
    error: crate::cluster::ClusterError,
    cluster: &crate::cluster::Cluster,
) -> Failure {
    use crate::cluster::ClusterError;
    let hint = match &error {
        ClusterError::Unreachable { .. } => Some(format!(
            "start a scheduler (logq scheduler) and executors (logq executor) first, or run \
             here with --cluster local; tried {}",
            cluster.url()
        )),
        ClusterError::Failed { .. } => Some(
            "nothing was printed and no result was stored; if an executor was lost, its tasks \
             were tried again elsewhere up to `logq scheduler --task-max-failures` times, and \
             running the query again may succeed; the executors' logs say more"
                .to_owned(),
        ),
        ClusterError::Unsupported(unsupported) => Some(unsupported.hint.to_owned()),
        _ => None,
    };
    let failure = match error {
        ClusterError::Address(_) | ClusterError::Unsupported(_) => Failure::user(error),
        _ => Failure::internal(error),
    };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}

fn catalog_failure(error: CatalogError) -> Failure {
    match error {
        CatalogError::NoWarehouse(_) | CatalogError::Empty(_) => Failure::user(error).with_hint(
            "partition some logs first (logq partition --format cloudfront --source DIR), or \
             point --warehouse / LOGQ_WAREHOUSE at an existing warehouse",
        ),
        CatalogError::State(error) => super::warehouse_failure(error),
        CatalogError::Register { .. } => Failure::internal(error),
    }
}

fn query_failure(error: DataFusionError, tables: &[String]) -> Failure {
    let user = query::is_user_error(&error);
    let message = error.to_string();
    let hint = if message.contains("not found") && message.contains("table") {
        Some(format!("tables in this warehouse: {}", tables.join(", ")))
    } else if ["not allowed", "not supported", "Unsupported"].iter().any(|m| message.contains(m)) {
        Some(
            "logq sql runs queries only (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE) over the \
             warehouse's tables"
                .to_owned(),
        )
    } else {
        None
    };
    let failure = if user { Failure::user(error) } else { Failure::internal(error) };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}
