//! Submitting a planned query to a scheduler, waiting for it, and reading its result.
//!
//! A query goes as its physical plan: the plan this machine made, priced and keyed for
//! reuse, with the exact files each scan reads. The scheduler cuts it into stages at its
//! exchanges and the executors run them; the result is read from the executors that hold
//! the last stage's partitions, in partition order, over Arrow Flight.

use std::sync::Arc;
use std::time::Duration;

use ballista_core::client::BallistaClient;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use ballista_core::serde::protobuf::execute_query_params::Query;
use ballista_core::serde::protobuf::execute_query_result::Result as Submitted;
use ballista_core::serde::protobuf::get_job_status_result::FlightProxy;
use ballista_core::serde::protobuf::operator_metric::Metric;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    ExecuteQueryParams, GetJobMetricsParams, GetJobStatusParams, KeyValuePair, PartitionLocation,
    SuccessfulJob, job_status,
};
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::AsExecutionPlan;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::{StreamExt, TryStreamExt};
use tonic::transport::Channel;

/// The largest gRPC message either side accepts: Ballista's default.
const MAX_MESSAGE: usize = 16 << 20;
/// How long between two looks at a running job's status, at most.
const MAX_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0:?} is not a cluster address; give the scheduler as HOST:PORT")]
    Address(String),
    #[error("cannot reach the scheduler at {url}")]
    Unreachable { url: String, source: tonic::transport::Error },
    #[error("the scheduler at {url} answered with an error")]
    Rpc { url: String, source: Box<tonic::Status> },
    #[error("the scheduler refused the query: {0}")]
    Refused(String),
    #[error("the query failed on the cluster (job {job}): {message}")]
    Failed { job: String, message: String },
    #[error("this query cannot run on the cluster: {0}")]
    Unsupported(super::stages::Unsupported),
    #[error("cannot send the plan to the cluster")]
    Plan(#[source] DataFusionError),
    #[error("cannot read the result of job {job} from executor {executor}")]
    Fetch { job: String, executor: String, source: Box<ballista_core::error::BallistaError> },
}

/// A Ballista scheduler, and the session logq's queries run in there.
#[derive(Debug, Clone)]
pub struct Cluster {
    url: String,
    session_id: String,
}

/// A query the cluster has run, its result not yet read.
pub struct Job {
    pub id: String,
    pub result: SendableRecordBatchStream,
}

impl Cluster {
    /// The scheduler at `address` (`host:port`, or `df://host:port` as Ballista writes it).
    pub fn new(address: &str) -> Result<Cluster, ClusterError> {
        let bare = address.trim().trim_start_matches("df://").trim_start_matches("http://");
        let (host, port) =
            bare.rsplit_once(':').ok_or_else(|| ClusterError::Address(address.to_owned()))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(ClusterError::Address(address.to_owned()));
        }
        let session_id = format!(
            "logq-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        Ok(Cluster { url: format!("http://{host}:{port}"), session_id })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn scheduler(&self) -> Result<SchedulerGrpcClient<Channel>, ClusterError> {
        let unreachable = |source| ClusterError::Unreachable { url: self.url.clone(), source };
        let config = GrpcClientConfig::default();
        let endpoint =
            create_grpc_client_endpoint(self.url.clone(), Some(&config)).map_err(unreachable)?;
        let channel = endpoint.connect().await.map_err(unreachable)?;
        Ok(SchedulerGrpcClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE))
    }

    fn rpc(&self, status: tonic::Status) -> ClusterError {
        ClusterError::Rpc { url: self.url.clone(), source: Box::new(status) }
    }

    /// Runs `plan` with `config`'s settings and waits until the cluster has its result.
    pub async fn run(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &SessionConfig,
    ) -> Result<Job, ClusterError> {
        super::stages::check(&plan).map_err(ClusterError::Unsupported)?;
        let codec = BallistaPhysicalExtensionCodec::default();
        let node = PhysicalPlanNode::try_from_physical_plan(plan.clone(), &codec)
            .map_err(ClusterError::Plan)?;
        let mut encoded = Vec::new();
        node.try_encode(&mut encoded).map_err(ClusterError::Plan)?;
        let settings = config
            .options()
            .entries()
            .into_iter()
            .map(|entry| KeyValuePair { key: entry.key, value: entry.value })
            .collect();
        let mut request = tonic::Request::new(ExecuteQueryParams {
            session_id: self.session_id.clone(),
            settings,
            operation_id: format!("{}-{}", self.session_id, next_operation()),
            query: Some(Query::PhysicalPlan(encoded)),
        });
        ballista_core::version::insert_version_header(request.metadata_mut());

        let mut scheduler = self.scheduler().await?;
        let submitted = scheduler.execute_query(request).await.map_err(|e| self.rpc(e))?;
        let job = match submitted.into_inner().result {
            Some(Submitted::Success(success)) => success.job_id,
            Some(Submitted::Failure(failure)) => {
                return Err(ClusterError::Refused(format!("{:?}", failure.failure)));
            }
            None => return Err(ClusterError::Refused("no answer".to_owned())),
        };
        tracing::debug!(%job, scheduler = %self.url, "submitted");

        let mut wait = Duration::from_millis(2);
        let (locations, proxy) = loop {
            let status = scheduler
                .get_job_status(GetJobStatusParams { job_id: job.clone() })
                .await
                .map_err(|e| self.rpc(e))?
                .into_inner();
            match status.status.and_then(|s| s.status) {
                Some(job_status::Status::Successful(SuccessfulJob {
                    partition_location, ..
                })) => break (partition_location, status.flight_proxy),
                Some(job_status::Status::Failed(failed)) => {
                    return Err(ClusterError::Failed { job, message: failed.error });
                }
                None | Some(job_status::Status::Queued(_) | job_status::Status::Running(_)) => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_POLL);
                }
            }
        };
        tracing::debug!(%job, partitions = locations.len(), "finished");

        let schema = plan.schema();
        let fetches = locations.into_iter().map({
            let (job, url) = (job.clone(), self.url.clone());
            move |location| {
                let partition = fetch(location, job.clone(), url.clone(), proxy.clone());
                futures::stream::once(partition).try_flatten()
            }
        });
        let batches = futures::stream::iter(fetches).flatten();
        Ok(Job { id: job, result: Box::pin(RecordBatchStreamAdapter::new(schema, batches)) })
    }

    /// The bytes the executors' scans read for `job`, from the metrics its stages reported.
    /// Footers the executors read are not among them.
    pub async fn bytes_scanned(&self, job: &str) -> Result<u64, ClusterError> {
        let mut scheduler = self.scheduler().await?;
        let metrics = scheduler
            .get_job_metrics(GetJobMetricsParams { job_id: job.to_owned() })
            .await
            .map_err(|e| self.rpc(e))?
            .into_inner();
        let bytes = metrics
            .stages
            .iter()
            .flat_map(|stage| &stage.operators)
            .flat_map(|operator| &operator.metrics)
            .filter_map(|metric| match &metric.metric {
                Some(Metric::Count(count)) if count.name == "bytes_scanned" => Some(count.value),
                _ => None,
            })
            .sum();
        Ok(bytes)
    }
}

fn next_operation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One partition of a job's result, from the executor that holds it (or the proxy the
/// scheduler names).
async fn fetch(
    location: PartitionLocation,
    job: String,
    scheduler_url: String,
    proxy: Option<FlightProxy>,
) -> Result<SendableRecordBatchStream, DataFusionError> {
    let layout = location.layout();
    let missing = |what: &str| {
        DataFusionError::Internal(format!("job {job}: a result partition without {what}"))
    };
    let executor = location.executor_meta.ok_or_else(|| missing("an executor"))?;
    let partition = location.partition_id.ok_or_else(|| missing("an id"))?;
    let (host, port) = match proxy {
        Some(FlightProxy::External(address)) => split_address(&address),
        Some(FlightProxy::Local(true)) => {
            split_address(scheduler_url.trim_start_matches("http://"))
        }
        Some(FlightProxy::Local(false)) | None => {
            Some((executor.host.clone(), executor.port as u16))
        }
    }
    .ok_or_else(|| missing("a reachable address"))?;
    let fail = |source| {
        DataFusionError::External(Box::new(ClusterError::Fetch {
            job: job.clone(),
            executor: format!("{} at {}:{}", executor.id, executor.host, executor.port),
            source: Box::new(source),
        }))
    };
    let config = GrpcClientConfig::default();
    let mut client = BallistaClient::try_new(
        &host,
        port,
        MAX_MESSAGE,
        false,
        None,
        config.io_retries_times,
        config.io_retry_wait_time_ms,
        0,
        0,
    )
    .await
    .map_err(fail)?;
    client
        .fetch_partition_proxied(
            &executor.id,
            &partition.into(),
            location.file_id,
            layout,
            &executor.host,
            executor.port as u16,
            true,
        )
        .await
        .map_err(fail)
}

fn split_address(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_and_port() {
        assert_eq!(Cluster::new("127.0.0.1:50050").unwrap().url(), "http://127.0.0.1:50050");
        assert_eq!(Cluster::new("df://sched:7000").unwrap().url(), "http://sched:7000");
        for bad in ["", "sched", "sched:port", ":50050"] {
            assert!(matches!(Cluster::new(bad), Err(ClusterError::Address(_))), "{bad:?}");
        }
    }
}
