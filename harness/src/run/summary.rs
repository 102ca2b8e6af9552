//! The summary of a finished run: one aggregated point per (dataset, codec, quality), with
//! the dataset-level task metrics (mAP) computed from the stored detections (not in a shard:
//! those come after `icmbench merge`), and the metric columns to show.

use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, aggregate};

use super::RunOutcome;
use crate::config::Plan;
use crate::tasks::detection::{add_task_metrics, metric_names};

/// The per-point summary of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// One point per (dataset, codec, quality), in plan order.
    pub lines: Vec<Point>,
    /// The metric columns: the config's, then the task's mAP metrics.
    pub metrics: Vec<String>,
    /// Why a task metric is missing (an unreadable ground truth, rows without detections).
    pub warnings: Vec<String>,
}

/// Aggregates a run's rows into its summary.
pub fn summarise(plan: &Plan, outcome: &RunOutcome) -> Result<Summary, ReportError> {
    let mut lines = aggregate(&outcome.rows)?;
    let mut metrics = plan.metrics.clone();
    // A shard holds part of each dataset: dataset-level metrics wait for `icmbench merge`.
    let warnings = match (&plan.task, outcome.shard) {
        (Some(t), None) => {
            metrics.extend(metric_names(t.ground_truth).map(String::from));
            add_task_metrics(&mut lines, &outcome.rows, &outcome.store)
        }
        _ => Vec::new(),
    };
    Ok(Summary { lines, metrics, warnings })
}
