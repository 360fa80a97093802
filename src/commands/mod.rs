//! One file per subcommand; each turns parsed arguments into calls on the library and sorts
//! failures into the user's (exit 1) and the machine's (exit 2).

#[cfg(feature = "cluster")]
mod cluster;
mod dashboard;
mod ddl;
mod generate;
mod partition;
mod queries;
mod querying;
mod run;
mod sql;
mod status;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::output::render_error;

/// A failed command: what went wrong, whose fault it was, and what to try next.
pub struct Failure {
    pub user_error: bool,
    pub error: anyhow::Error,
    pub hint: Option<String>,
}

impl Failure {
    pub fn user(error: impl Into<anyhow::Error>) -> Self {
        Failure { user_error: true, error: error.into(), hint: None }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Failure { user_error: false, error: error.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when the user's input was wrong.
pub const EXIT_USER: u8 = 1;
/// Exit code for I/O and internal failures.
pub const EXIT_INTERNAL: u8 = 2;

/// Runs a parsed command line and returns the process exit code.
pub fn execute(cli: Cli) -> ExitCode {
    let quiet = cli.quiet;
    let result = match Config::load(cli.config.as_deref()) {
        Err(error) => Err(Failure::user(error)),
        Ok(config) => match cli.command {
            Command::Partition(args) => partition::run(args, &config, quiet),
            Command::Compact(args) => partition::compact(args, &config, quiet),
            Command::Status(args) => status::run(args, &config, quiet),
            Command::Sql(args) => sql::run(args, &config, quiet),
            Command::Queries(args) => queries::run(args),
            Command::Run(args) => run::run(args, &config, quiet),
            Command::Dashboard(args) => dashboard::run(args, &config, quiet),
            Command::Ddl(args) => ddl::run(args, &config),
            Command::Generate(args) => generate::run(args, quiet),
            #[cfg(feature = "cluster")]
            Command::Scheduler(args) => cluster::scheduler(args),
            #[cfg(feature = "cluster")]
            Command::Executor(args) => cluster::executor(args),
        },
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) if is_broken_pipe(&failure.error) => ExitCode::from(EXIT_OK),
        Err(failure) => {
            let error: &(dyn std::error::Error + 'static) = failure.error.as_ref();
            eprint!("{}", render_error(error, failure.hint.as_deref()));
            ExitCode::from(if failure.user_error { EXIT_USER } else { EXIT_INTERNAL })
        }
    }
}

/// The warehouse's state could not be read: a missing bucket or a denied request is the
/// user's to fix, the rest is the machine's.
pub(crate) fn warehouse_failure(error: crate::warehouse::WarehouseError) -> Failure {
    if error.is_user_error() { Failure::user(error) } else { Failure::internal(error) }
}

/// A reader of our stdout went away (`logq sql … | head`): not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
