//! logq: AWS access logs as Hive-partitioned Parquet, queried with SQL.
//!
//! Data flows one way: [`storage`] reaches raw objects on disk or S3, [`formats`] decode
//! their records into Arrow batches, [`ingest`] writes them as partitioned Parquet and
//! commits each run through [`warehouse`] (snapshots, ledger, lock, recovery), [`catalog`]
//! registers the current snapshot's tables with DataFusion, [`query`] plans, prices, caps
//! and runs SQL over them (reusing stored results while their files are unchanged), here or,
//! with the `cluster` feature, on a Ballista cluster of logq processes ([`cluster`]),
//! [`library`] supplies the saved queries and their bound parameters, and [`output`] prints
//! (results, footers, the dashboard). [`config`], [`cli`] and [`commands`] wire these
//! together for the `logq` binary; [`synth`] writes synthetic raw logs for benchmarks.

pub mod catalog;
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod commands;
pub mod config;
pub mod formats;
pub mod ingest;
pub mod library;
pub mod output;
pub mod query;
pub mod storage;
pub mod synth;
pub mod warehouse;
