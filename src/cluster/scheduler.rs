//! `logq scheduler`: Ballista's scheduler, with sessions that know logq's functions.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use url::Url;

use crate::cli::SchedulerArgs;

/// Serves until the process is stopped.
pub async fn run(args: &SchedulerArgs) -> anyhow::Result<()> {
    let address: SocketAddr = format!("{}:{}", args.bind, args.port).parse()?;
    let timeout = args.executor_timeout.as_secs().max(1);
    let mut config = SchedulerConfig {
        bind_host: args.bind.clone(),
        bind_port: args.port,
        external_host: args.bind.clone(),
        executor_timeout_seconds: timeout,
        // Look for lost executors often enough that one is found within the timeout.
        expire_dead_executor_interval_seconds: timeout.div_ceil(3).max(1),
        no_executors_grace_period_seconds: timeout,
        task_max_failures: args.task_max_failures,
        ..SchedulerConfig::default()
    }
    .with_override_session_builder(Arc::new(session_state));
    config.scheduler_id = format!("logq-scheduler-{}", std::process::id());
    let cluster = BallistaCluster::new_from_config(&config).await?;
    eprintln!("logq scheduler listening on {address}");
    start_server(cluster, address, Arc::new(config)).await?;
    Ok(())
}

/// A session for one job: Ballista's, with logq's functions, which the plans it receives
/// name, and a store for every bucket they name.
fn session_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let state = default_session_builder(config)?;
    let registry: Arc<dyn ObjectStoreRegistry> = Arc::new(NamesOnly::default());
    let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
        .with_object_store_registry(registry)
        .build_arc()?;
    let mut state = SessionStateBuilder::new_from_existing(state).with_runtime_env(runtime).build();
    crate::query::register_functions(&mut state);
    Ok(state)
}

/// The scheduler decodes plans that name `s3://` buckets but reads none of their files,
/// and holds no credentials: each bucket is known by an empty store, so decoding finds one
/// and any read would find nothing.
#[derive(Debug, Default)]
struct NamesOnly {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for NamesOnly {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.known.get_store(url).or_else(|missing| {
            if url.scheme() != "s3" {
                return Err(missing);
            }
            let empty: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
            self.known.register_store(url, empty.clone());
            Ok(empty)
        })
    }
}
