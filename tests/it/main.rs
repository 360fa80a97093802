//! End-to-end tests: each drives the real `logq` binary on the bundled fixtures, the
//! third-party corpus or generated logs, and compares exact answers with those the
//! independent oracle (`fixtures/oracle.py`) computed into `fixtures/expected.json`.

#[cfg(feature = "cluster")]
mod cluster;
mod corpus;
mod formats;
mod governance;
mod job;
mod library;
mod partition;
mod s3;
mod sql;
mod support;
