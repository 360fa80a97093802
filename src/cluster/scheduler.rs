//! `logq scheduler`: Ballista's scheduler, with sessions that know logq's functions.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionConfig;

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
/// name.
fn session_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let mut state = default_session_builder(config)?;
    crate::query::register_functions(&mut state);
    Ok(state)
}
