//! Complexity of a run: the kMAC per pixel of every ONNX graph it uses — each learned
//! codec's encoder and decoder sides at each quality, each task model, each learned metric,
//! each low-level dataset's restorer — counted on the run's first image (a restorer on its
//! dataset's first degraded image) from profiled sessions ([`icmbench_models::complexity`])
//! and kept in the output folder's `complexity.json`. A measurement whose identity (codec
//! version, task identity, metric name) is unchanged is reused, not measured again.

use icmbench_codecs::padding::pad_to_multiple;
use icmbench_models::RuntimeOptions;
use icmbench_models::complexity::MacCount;
use icmbench_reports::complexity::{ComplexityFile, METHOD, Measurement, Part};
use icmbench_reports::store::Store;
use image::RgbImage;

use crate::config::Plan;
use crate::tasks::detection::TaskStage;
use crate::tasks::restoration::LowLevel;

/// A measurement of `count` on a `pixels`-pixel image, or of the error met.
fn measurement(name: &str, part: Part, quality: Option<f64>, identity: &str, count: Result<MacCount, String>, pixels: u64) -> Measurement {
    let (by_op, macs, kmac, error) = match count {
        Ok(c) => (c.by_op.clone(), c.total(), c.kmac_per_pixel(pixels), None),
        // 0, not NaN: JSON has no NaN (the error says why there is no count).
        Err(e) => (Default::default(), 0, 0.0, Some(e)),
    };
    if let Some(e) = &error {
        tracing::warn!("complexity of {name}: {e}");
    }
    Measurement {
        name: name.to_string(),
        part,
        quality,
        identity: identity.to_string(),
        by_op,
        macs,
        kmac_per_pixel: kmac,
        error,
        image: None,
    }
}

/// A dataset's first readable image: (dataset, `dataset/image` label, the image as the run
/// codes it: for a low-level dataset, the degraded input).
pub type FirstImage = (String, String, RgbImage);

/// What a run's measurement has so far: the earlier file's measurements, the new ones, and
/// the profiling runtime.
struct Measurer {
    previous: Option<ComplexityFile>,
    out: Vec<Measurement>,
    opts: RuntimeOptions,
    /// Pixels of the first image.
    pixels: u64,
}

impl Measurer {
    /// The earlier measurement of (name, part, quality) if its identity is unchanged and it
    /// has a count.
    fn earlier(&self, name: &str, part: Part, quality: Option<f64>, identity: &str) -> Option<Measurement> {
        self.previous
            .as_ref()
            .and_then(|f| f.find(name, part, quality))
            .filter(|m| m.identity == identity && m.error.is_none())
            .cloned()
    }

    /// Keeps the earlier measurement if there is one; says whether it did.
    fn reuse(&mut self, name: &str, part: Part, quality: Option<f64>, identity: &str) -> bool {
        let m = self.earlier(name, part, quality, identity);
        let found = m.is_some();
        self.out.extend(m);
        found
    }

    /// Each learned codec's encoder and decoder sides at each quality.
    fn codecs(&mut self, plan: &Plan, image: &RgbImage) {
        for c in &plan.codecs {
            let version = c.codec.version();
            for &q in &c.qualities {
                let enc = self.earlier(&c.id, Part::Encoder, Some(q), &version);
                let dec = self.earlier(&c.id, Part::Decoder, Some(q), &version);
                if let (Some(enc), Some(dec)) = (enc, dec) {
                    self.out.extend([enc, dec]);
                    continue;
                }
                let padded = pad_to_multiple(image, c.codec.size_multiple(), &plan.padding);
                // A codec that runs no graph (JPEG, WebP...): nothing at any quality.
                let Some(result) = c.codec.complexity(&padded.image, q) else {
                    break;
                };
                let (enc, dec) = match result {
                    Ok(cx) => (Ok(cx.encoder), Ok(cx.decoder)),
                    Err(e) => (Err(e.to_string()), Err(e.to_string())),
                };
                self.out
                    .push(measurement(&c.id, Part::Encoder, Some(q), &version, enc, self.pixels));
                self.out
                    .push(measurement(&c.id, Part::Decoder, Some(q), &version, dec, self.pixels));
            }
        }
    }

    /// Each task model, once on the image.
    fn tasks(&mut self, plan: &Plan, image: &RgbImage) {
        for t in &plan.tasks {
            let m = match TaskStage::new(t, &self.opts) {
                Ok(stage) if self.reuse(&t.name, Part::Task, None, &stage.identity) => continue,
                Ok(stage) => measurement(&t.name, Part::Task, None, &stage.identity, stage.macs_on(image), self.pixels),
                Err(e) => measurement(&t.name, Part::Task, None, "", Err(e.to_string()), self.pixels),
            };
            self.out.push(m);
        }
    }

    /// Each metric that runs a graph (LPIPS, MUSIQ), once on (image, image).
    fn metrics(&mut self, plan: &Plan, image: &RgbImage) {
        for name in &plan.metrics {
            if self.reuse(name, Part::Metric, None, name) {
                continue;
            }
            let Ok(metric) = icmbench_metrics::by_name(name, &self.opts) else {
                continue;
            };
            let computed = metric.compute(image, image);
            // Metrics that run no graph (PSNR, NIQE...) have nothing to count, whatever
            // their result on this image.
            let Some(count) = metric.macs() else { continue };
            let count = computed.map_err(|e| e.to_string()).and_then(|_| count.map_err(|e| e.to_string()));
            self.out.push(measurement(name, Part::Metric, None, name, count, self.pixels));
        }
    }

    /// Each low-level dataset's restorer, on that dataset's first image. A restorer that an
    /// earlier dataset measured on an image of the same size is not loaded again: its
    /// count is copied (a MAXIM session takes about a minute to create).
    fn restorers(&mut self, plan: &Plan, firsts: &[FirstImage]) {
        let mut counted: std::collections::HashMap<String, Measurement> = std::collections::HashMap::new();
        for (dataset, label, img) in firsts {
            let Some(config) = plan.datasets.iter().find(|d| d.name == *dataset).and_then(|d| d.restorer.as_ref()) else {
                continue;
            };
            let name = format!("restorer@{dataset}");
            let key = format!("{config:?} {:?}", img.dimensions());
            if let Some(m) = counted.get(&key) {
                if !self.reuse(&name, Part::Restorer, None, &m.identity) {
                    self.out.push(Measurement { name, ..m.clone() });
                }
                continue;
            }
            let pixels = u64::from(img.width()) * u64::from(img.height());
            let ll = match LowLevel::new(Some(config), &self.opts) {
                Ok(ll) => ll,
                Err(e) => {
                    self.out.push(measurement(&name, Part::Restorer, None, "", Err(e), pixels));
                    continue;
                }
            };
            if self.reuse(&name, Part::Restorer, None, &ll.identity) {
                continue;
            }
            let Some(r) = &ll.restorer else { continue };
            let count = r
                .restore(img, ll.tile, ll.overlap)
                .and_then(|_| r.macs())
                .map_err(|e| e.to_string());
            let mut m = measurement(&name, Part::Restorer, None, &ll.identity, count, pixels);
            m.image = Some(format!("{label} ({}×{})", img.width(), img.height()));
            counted.insert(key, m.clone());
            self.out.push(m);
        }
    }
}

/// Measures what the output folder's `complexity.json` lacks — codecs, tasks and metrics
/// on the first dataset's first image, each low-level dataset's restorer on its own first
/// image (`firsts`: one per dataset) — and writes the file into `store`. Failures are
/// recorded in the file and warned about; they never fail the run.
pub fn measure(plan: &Plan, store: &Store, firsts: &[FirstImage]) {
    let Some((_, label, image)) = firsts.first() else { return };
    let mut m = Measurer {
        previous: ComplexityFile::read(store.dir()).filter(|f| f.image == *label),
        out: Vec::new(),
        opts: RuntimeOptions {
            device: icmbench_models::Device::Cpu,
            profile: true,
            ..plan.runtime
        },
        pixels: u64::from(image.width()) * u64::from(image.height()),
    };
    m.codecs(plan, image);
    m.tasks(plan, image);
    m.metrics(plan, image);
    m.restorers(plan, firsts);
    let file = ComplexityFile {
        method: METHOD.into(),
        image: label.clone(),
        width: image.width(),
        height: image.height(),
        measurements: m.out,
    };
    if let Err(e) = file.write(store.dir()) {
        tracing::warn!("complexity not written: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed measurement is written so that it can be read back (JSON has no NaN).
    #[test]
    fn failed_measurements_round_trip() {
        let m = measurement("lpips-alex", Part::Metric, None, "lpips-alex", Err("too small".into()), 100);
        let file = ComplexityFile {
            method: METHOD.into(),
            image: "d/a.png".into(),
            width: 10,
            height: 10,
            measurements: vec![m.clone()],
        };
        let back: ComplexityFile = serde_json::from_str(&serde_json::to_string(&file).unwrap()).unwrap();
        assert_eq!(back.measurements, vec![m]);
        assert_eq!(back.measurements[0].error.as_deref(), Some("too small"));
    }
}
