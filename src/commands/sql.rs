//! `logq sql`: one read-only query over the warehouse, priced, capped and reused.

use crate::cli::SqlArgs;
use crate::config::Config;

use super::Failure;
use super::querying::print_answer;

pub fn run(args: SqlArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    print_answer(&args.options, config, &args.sql, &[], quiet)
}
