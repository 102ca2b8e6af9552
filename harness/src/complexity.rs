//! Complexity of a run: the kMAC per pixel of every ONNX graph it uses — each learned
//! codec's encoder and decoder sides at each quality, each task model, each learned metric —
//! counted on the run's first image from profiled sessions ([`icmbench_models::complexity`])
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

/// A measurement of `count` on a `pixels`-pixel image, or of the error met.
fn measurement(name: &str, part: Part, quality: Option<f64>, identity: &str, count: Result<MacCount, String>, pixels: u64) -> Measurement {
    let (by_op, macs, kmac, error) = match count {
        Ok(c) => (c.by_op.clone(), c.total(), c.kmac_per_pixel(pixels), None),
        Err(e) => (Default::default(), 0, f64::NAN, Some(e)),
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
    }
}

/// Measures what `previous` lacks on `image` (`label`: dataset/image) and writes
/// `complexity.json` into `store`. Failures are recorded in the file and warned about;
/// they never fail the run.
pub fn measure(plan: &Plan, store: &Store, label: &str, image: &RgbImage) {
    let previous = ComplexityFile::read(store.dir()).filter(|f| f.image == label);
    let pixels = u64::from(image.width()) * u64::from(image.height());
    let opts = RuntimeOptions {
        device: icmbench_models::Device::Cpu,
        profile: true,
        ..plan.runtime
    };
    let mut out = Vec::new();
    let mut keep = |name: &str, part: Part, quality: Option<f64>, identity: &str| {
        let m = previous
            .as_ref()
            .and_then(|f| f.find(name, part, quality))
            .filter(|m| m.identity == identity && m.error.is_none())
            .cloned();
        if let Some(m) = &m {
            out.push(m.clone());
        }
        m.is_some()
    };
    let mut fresh = Vec::new();
    for c in &plan.codecs {
        let version = c.codec.version();
        for &q in &c.qualities {
            if keep(&c.id, Part::Encoder, Some(q), &version) && keep(&c.id, Part::Decoder, Some(q), &version) {
                continue;
            }
            let padded = pad_to_multiple(image, c.codec.size_multiple(), &plan.padding);
            let Some(result) = c.codec.complexity(&padded.image, q) else {
                break;
            };
            let (enc, dec) = match result {
                Ok(cx) => (Ok(cx.encoder), Ok(cx.decoder)),
                Err(e) => (Err(e.to_string()), Err(e.to_string())),
            };
            fresh.push(measurement(&c.id, Part::Encoder, Some(q), &version, enc, pixels));
            fresh.push(measurement(&c.id, Part::Decoder, Some(q), &version, dec, pixels));
        }
    }
    for t in &plan.tasks {
        match TaskStage::new(t, &opts) {
            Ok(stage) => {
                if !keep(&t.name, Part::Task, None, &stage.identity) {
                    fresh.push(measurement(
                        &t.name,
                        Part::Task,
                        None,
                        &stage.identity,
                        stage.macs_on(image),
                        pixels,
                    ));
                }
            }
            Err(e) => fresh.push(measurement(&t.name, Part::Task, None, "", Err(e.to_string()), pixels)),
        }
    }
    for name in &plan.metrics {
        if keep(name, Part::Metric, None, name) {
            continue;
        }
        let Ok(metric) = icmbench_metrics::by_name(name, &opts) else {
            continue;
        };
        let count = match metric.compute(image, image) {
            Ok(_) => metric.macs().map(|m| m.map_err(|e| e.to_string())),
            Err(e) => Some(Err(e.to_string())),
        };
        if let Some(count) = count {
            fresh.push(measurement(name, Part::Metric, None, name, count, pixels));
        }
    }
    out.extend(fresh);
    let file = ComplexityFile {
        method: METHOD.into(),
        image: label.to_string(),
        width: image.width(),
        height: image.height(),
        measurements: out,
    };
    if let Err(e) = file.write(store.dir()) {
        tracing::warn!("complexity not written: {e}");
    }
}
