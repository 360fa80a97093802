//! `logq scheduler` and `logq executor`: the processes of a cluster.

use crate::cli::{ExecutorArgs, SchedulerArgs};

use super::Failure;

pub fn scheduler(args: SchedulerArgs) -> Result<(), Failure> {
    serve(crate::cluster::run_scheduler(&args))
}

pub fn executor(args: ExecutorArgs) -> Result<(), Failure> {
    serve(crate::cluster::run_executor(&args))
}

/// Runs a server to its end. Ballista's plans recurse deeply, so its threads get large
/// stacks, as Ballista's own binaries give them.
fn serve(server: impl std::future::Future<Output = anyhow::Result<()>>) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build()
        .map_err(Failure::internal)?;
    runtime.block_on(server).map_err(Failure::internal)
}
