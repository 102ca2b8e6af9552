//! The summary of a finished run: one aggregated point per (dataset, codec, quality), with
//! each task's dataset-level metrics (mAP, mask mAP, face recall) computed from the stored
//! outputs (not in a shard: those come after `icmbench merge`), and the metric columns to
//! show.

use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, aggregate};

use super::RunOutcome;
use crate::config::Plan;
use crate::tasks::detection::{TaskKind, add_task_metrics, metric_names};

/// The per-point summary of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// One point per (dataset, codec, quality), in plan order.
    pub lines: Vec<Point>,
    /// The metric columns: the config's, then each task's metrics.
    pub metrics: Vec<String>,
    /// Why a task metric is missing (an unreadable ground truth, images without output).
    pub warnings: Vec<String>,
}

/// Aggregates a run's rows into its summary.
pub fn summarise(plan: &Plan, outcome: &RunOutcome) -> Result<Summary, ReportError> {
    let mut lines = aggregate(&outcome.rows)?;
    let mut metrics = plan.metrics.clone();
    // A shard holds part of each dataset: dataset-level metrics wait for `icmbench merge`.
    if outcome.shard.is_some() || plan.tasks.is_empty() {
        return Ok(Summary {
            lines,
            metrics,
            warnings: Vec::new(),
        });
    }
    let evaluations = add_task_metrics(&mut lines, &outcome.rows, &outcome.store);
    for t in &plan.tasks {
        let masks = t.kind == TaskKind::Detection && evaluations.records.get(&t.name).is_some_and(|r| r.masks);
        metrics.extend(metric_names(t.kind, t.ground_truth, masks, &t.name));
    }
    let warnings = evaluations.problems;
    Ok(Summary { lines, metrics, warnings })
}
