//! Which plans made for one process a Ballista cluster answers correctly.
//!
//! A recursive query cannot be sent at all: Ballista 55 has no encoding for its operator.
//!
//! A join that collects its left side once and streams its right side in partitions (a
//! nested loop join, or DataFusion's null-aware hash join for `NOT IN (subquery)`) shares,
//! within one process, which left rows any partition matched, so the left rows that must
//! come out unmatched (LEFT, FULL, semi, anti and mark joins) are emitted once, by the
//! last partition. Ballista 55 runs each part of the right side as its own task with its own
//! copy of the left side, so each task emits them again: seen here as a `NOT IN` count of
//! 17 where the answer is 8, and a non-equi LEFT JOIN with rows it should not have. Making
//! the right side one partition does not help: the scheduler still splits the task by the
//! files under it. Such a plan is therefore refused, with the ways round it, rather than
//! answered wrongly. Joins whose rows each come from one right-side row (INNER, RIGHT and
//! the right semi, anti and mark joins), and equi-joins, which Ballista shuffles by key,
//! run as they are.

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{HashJoinExec, NestedLoopJoinExec};
use datafusion::physical_plan::recursive_query::RecursiveQueryExec;

/// Why a plan cannot go to the cluster, and what the user can do instead.
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub struct Unsupported {
    pub why: String,
    pub hint: &'static str,
}

/// Fails with what makes `plan` unsafe to cut into Ballista's stages, if anything does.
pub fn check(plan: &Arc<dyn ExecutionPlan>) -> Result<(), Unsupported> {
    let mut found = None;
    let _ = plan.apply(|node| {
        found = unsupported(node.as_ref());
        Ok(if found.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    found.map_or(Ok(()), Err)
}

fn unsupported(node: &dyn ExecutionPlan) -> Option<Unsupported> {
    let wrong_join = |join: String| Unsupported {
        why: format!(
            "it has {join}, which Ballista 55 answers wrongly when it splits the join across tasks"
        ),
        hint: "write NOT IN (subquery) as NOT EXISTS (subquery) or an outer join on a \
               non-equality condition as an equi-join where you can, or run it here with \
               --cluster local",
    };
    if node.downcast_ref::<RecursiveQueryExec>().is_some() {
        Some(Unsupported {
            why: "it is recursive (WITH RECURSIVE), which Ballista 55 cannot send to its \
                  executors"
                .to_owned(),
            hint: "run it here with --cluster local",
        })
    } else if let Some(join) = node.downcast_ref::<HashJoinExec>()
        && join.null_aware
    {
        Some(wrong_join("a NOT IN (subquery)".to_owned()))
    } else if let Some(join) = node.downcast_ref::<NestedLoopJoinExec>()
        && !rows_come_from_the_right(*join.join_type())
    {
        Some(wrong_join(format!("a {} join on a condition other than equality", join.join_type())))
    } else {
        None
    }
}

/// Whether every row a join emits is made from one row of its right side, so that tasks
/// that each join a part of the right side emit each row once.
fn rows_come_from_the_right(join: JoinType) -> bool {
    matches!(
        join,
        JoinType::Inner
            | JoinType::Right
            | JoinType::RightSemi
            | JoinType::RightAnti
            | JoinType::RightMark
    )
}
