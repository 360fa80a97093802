//! Cluster mode (`--features cluster`): the same queries, run on an Apache DataFusion
//! Ballista cluster whose scheduler and executors are this program too.
//!
//! The query is planned here exactly as it is for a local run: registered from the
//! warehouse's snapshot, pruned, priced against the byte-scan cap, looked up among stored
//! results. Only then is its physical plan, which names every file each scan reads, sent to
//! the scheduler ([`client`]). So the cluster reads exactly the snapshot's files, the cap is
//! checked before anything is submitted, and a result is keyed on the same files as it
//! would be locally. The scheduler ([`scheduler`]) cuts the plan into stages and reads
//! nothing; the executors ([`executor`]) run the stages, with logq's functions and an object
//! store for every bucket a plan names.
//!
//! A plan made for one process can count on things a cluster does not keep: the order of
//! rows through a repartition (so cluster sessions do not declare the files' `event_time`
//! order, [`crate::catalog::FileOrder`]), dynamic filters shared between a join's sides
//! (turned off for cluster sessions), and a collected join side shared by all of a join's
//! partitions, which some joins need and which Ballista does not give them: those plans are
//! refused ([`stages`]).

mod client;
mod executor;
mod scheduler;
mod stages;

pub use client::{Cluster, ClusterError, Job};
pub use executor::run as run_executor;
pub use scheduler::run as run_scheduler;
