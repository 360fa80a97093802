//! `logq run NAME`: one saved query, its parameters bound as values.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::library::{self, Library, LibraryError};

use super::Failure;
use super::querying::print_answer;

pub fn run(args: RunArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let library = Library::load(args.queries.dir.as_deref()).map_err(library_failure)?;
    let query = library.get(&args.name).map_err(library_failure)?;
    let given = library::parse_param_arguments(&args.params).map_err(library_failure)?;
    let params = query.bind(&given, chrono::Utc::now()).map_err(library_failure)?;
    print_answer(&args.options, config, &query.text, &params, quiet)
}

/// Every library error is the user's: a bad name, parameter or query file.
pub(super) fn library_failure(error: LibraryError) -> Failure {
    let hint = match &error {
        LibraryError::Unknown(_) => Some("logq queries list shows the saved queries"),
        LibraryError::UnknownParam { .. } | LibraryError::BadValue { .. } => {
            Some("logq queries show NAME lists its parameters")
        }
        _ => None,
    };
    let failure = match &error {
        LibraryError::Read { .. } => Failure::internal(error),
        _ => Failure::user(error),
    };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}
