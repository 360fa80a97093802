//! logq: AWS access logs as Hive-partitioned Parquet, queried with SQL.
//!
//! Data flows one way: [`formats`] decode raw log lines into Arrow batches, [`ingest`]
//! writes them into the warehouse as partitioned Parquet, [`catalog`] registers the
//! warehouse's tables with DataFusion, [`query`] runs SQL over them, and [`output`] prints.
//! [`cli`] and [`commands`] wire these together for the `logq` binary; [`synth`] writes
//! synthetic raw logs for benchmarks.

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod formats;
pub mod ingest;
pub mod output;
pub mod query;
pub mod storage;
pub mod synth;
pub mod warehouse;
