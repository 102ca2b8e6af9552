//! Task metrics of bootstrap resamples: every dataset-level task metric (mAP, mask mAP,
//! face recall, face similarity) of one dataset's points recomputed from the stored outputs
//! with each image counted as often as a resample drew it (COCOeval on the ground truth
//! with repeated images, [`icmbench_metrics::coco::repeated_ground_truth`]).

use std::collections::BTreeMap;
use std::path::Path;

use icmbench_metrics::catalogue;
use icmbench_metrics::coco::{COCO, Instance, IouType, repeated_ground_truth, repeated_id, summary};
use icmbench_reports::store::{ResultRow, TaskOutput};

use super::detection::{
    GroundTruthFile, TaskKind, ground_truth_path, instances_of, point_columns, task_groups, task_record, weighted_similarity,
};

/// One task's outputs at one point, with what its evaluation needs.
struct Group<'a> {
    codec: String,
    quality: f64,
    task: String,
    kind: TaskKind,
    faces: Option<f64>,
    members: Vec<(&'a ResultRow, &'a TaskOutput)>,
    /// Index of its ground truth.
    gt: usize,
}

/// The task metrics of one dataset, ready to be recomputed for any resample.
pub struct TaskResampler<'a> {
    groups: Vec<Group<'a>>,
    gts: Vec<GroundTruthFile>,
    /// Image name → index in the resample's weights.
    index: BTreeMap<String, usize>,
}

/// A recomputed task metric: (codec, quality, metric column, value).
pub type Column = (String, f64, String, f64);

impl<'a> TaskResampler<'a> {
    /// The points of `dataset` whose every image has the task's output (as the report
    /// evaluates them), with their ground truths from `output`; `images` are the resample's
    /// units, in the order of its weights.
    pub fn new(rows: &'a [ResultRow], output: &Path, dataset: &str, images: &[String]) -> Self {
        let (counts, grouped) = task_groups(rows);
        let mut gts: Vec<GroundTruthFile> = Vec::new();
        let mut gt_of: BTreeMap<String, Option<usize>> = BTreeMap::new();
        let mut groups = Vec::new();
        // Each task's record read once, whatever the number of its points.
        let mut records = BTreeMap::new();
        for ((task, ds, codec, q), members) in grouped {
            let complete = members.len() == counts.get(&(ds.clone(), codec.clone(), q)).copied().unwrap_or(0);
            if ds != dataset || !complete || members.iter().any(|(_, o)| o.error.is_some()) {
                continue;
            }
            let gt = *gt_of.entry(task.clone()).or_insert_with(|| {
                let file = GroundTruthFile::read(&ground_truth_path(output, &task, dataset)).ok()?;
                gts.push(file);
                Some(gts.len() - 1)
            });
            let Some(gt) = gt else { continue };
            let record = records.entry(task.clone()).or_insert_with(|| task_record(output, &task)).clone();
            let kind = record.as_ref().map_or(TaskKind::Detection, |r| r.kind);
            groups.push(Group {
                codec,
                quality: f64::from_bits(q),
                faces: record.filter(|r| r.kind == TaskKind::Faces).map(|r| r.threshold),
                task,
                kind,
                members,
                gt,
            });
        }
        Self {
            groups,
            gts,
            index: images.iter().enumerate().map(|(i, s)| (s.clone(), i)).collect(),
        }
    }

    /// Every task metric of the dataset's points with image `i` counted `weights[i]` times
    /// (images the weights do not cover count once). Metrics without a value (no object in
    /// the resampled ground truth) are left out.
    pub fn columns(&self, weights: &[u32]) -> Vec<Column> {
        let weight_of_name = |name: &str| self.index.get(name).map_or(1, |&i| weights[i]);
        // Each ground truth's image weights and repeated images, once per resample (its
        // points share them).
        let by_id: Vec<BTreeMap<u64, u32>> = self
            .gts
            .iter()
            .map(|gt| gt.ids.iter().map(|(name, &id)| (id, weight_of_name(name))).collect())
            .collect();
        let repeated: Vec<COCO> = self
            .gts
            .iter()
            .zip(&by_id)
            .map(|(gt, w)| repeated_ground_truth(&gt.coco, &|id| w.get(&id).copied().unwrap_or(1)))
            .collect();
        let mut out = Vec::new();
        for g in &self.groups {
            let gt = &self.gts[g.gt];
            let weight = |id: u64| by_id[g.gt].get(&id).copied().unwrap_or(1);
            let (base, with_masks) = instances_of(&g.members, gt, g.faces, |_| {});
            let instances: Vec<Instance> = base
                .iter()
                .flat_map(|i| {
                    (0..weight(i.image_id)).map(move |c| Instance {
                        image_id: repeated_id(i.image_id, c),
                        ..*i
                    })
                })
                .collect();
            let mut kinds = vec![(IouType::Bbox, "bbox")];
            if with_masks && g.faces.is_none() {
                kinds.push((IouType::Segm, "segm"));
            }
            for (iou, name) in kinds {
                let Ok(a) = summary(&repeated[g.gt], &instances, iou, &g.task) else {
                    continue;
                };
                for (metric, v) in point_columns(&a, name, gt.kind, g.kind, &g.task) {
                    if v >= 0.0 {
                        out.push((g.codec.clone(), g.quality, metric, v));
                    }
                }
            }
            if g.kind == TaskKind::Faces
                && let Some(v) = weighted_similarity(&g.members, &|r| f64::from(weight_of_name(&r.image)))
            {
                let metric = catalogue::for_task(catalogue::FACE_SIMILARITY.name, &g.task);
                out.push((g.codec.clone(), g.quality, metric, v));
            }
        }
        out
    }
}
