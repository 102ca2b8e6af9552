//! Multiply-accumulates of ONNX graphs, counted from what ONNX Runtime ran: a session made
//! with [`crate::RuntimeOptions::profile`] records every node it executes with its
//! operator and the shapes of its inputs and outputs (its profile, a JSON list of trace
//! events), and [`macs_from_profile`] counts the MACs of the operators that do the work —
//! Conv, ConvTranspose, MatMul (attention included: with graph optimisation off it runs as
//! MatMul nodes) and Gemm — with [`node_macs`]. No bias adds, no element-wise operators:
//! the convention of CompressAI-Vision's and JPEG AI's kMAC/px tables.
//!
//! Profiled sessions run with graph optimisation off (ONNX Runtime's fused, channel-blocked
//! kernels pad channels and rename operators) and without pre-packing (a pre-packed
//! weight's shape is left out of the profile). The counts are of real runs: a context
//! model's per-position loop counts once per position, exactly as it ran.

use std::collections::BTreeMap;

use serde::Serialize;

/// MACs of one or more profiled runs, by operator type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MacCount {
    /// MACs per operator type (`Conv`, `ConvTranspose`, `MatMul`, `Gemm`).
    pub by_op: BTreeMap<String, u64>,
    /// Node executions seen, all operators.
    pub nodes: u64,
}

impl MacCount {
    /// All MACs.
    pub fn total(&self) -> u64 {
        self.by_op.values().sum()
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: &MacCount) {
        for (op, m) in &other.by_op {
            *self.by_op.entry(op.clone()).or_default() += m;
        }
        self.nodes += other.nodes;
    }

    /// Thousands of MACs per pixel of a `pixels`-pixel image.
    pub fn kmac_per_pixel(&self, pixels: u64) -> f64 {
        self.total() as f64 / pixels.max(1) as f64 / 1e3
    }
}

/// The MACs of one executed node from its operator and the shapes ONNX Runtime recorded
/// (inputs in order; absent optional inputs left out); `None` for operators that are not
/// counted or shapes that do not fit the operator.
///
/// - Conv: |Y| · Cin/group · kH · kW (= |Y| · ∏ W\[1..\]);
/// - ConvTranspose: |X| · Cout/group · kH · kW (each input value scattered over the kernel;
///   W is \[Cin, Cout/group, kH, kW\]);
/// - MatMul: |Y| · K, K the last dimension of A (broadcast batch dimensions included in |Y|);
/// - Gemm: |Y| · K, K = |A| / M.
pub fn node_macs(op: &str, inputs: &[Vec<u64>], outputs: &[Vec<u64>]) -> Option<u64> {
    let volume = |s: &Vec<u64>| s.iter().product::<u64>();
    let y = outputs.first().map(volume)?;
    match op {
        "Conv" => {
            let w = inputs.get(1).filter(|w| w.len() >= 3)?;
            Some(y * w[1..].iter().product::<u64>())
        }
        "ConvTranspose" => {
            let x = inputs.first().map(volume)?;
            let w = inputs.get(1).filter(|w| w.len() >= 3)?;
            Some(x * w[1..].iter().product::<u64>())
        }
        "MatMul" => Some(y * *inputs.first()?.last()?),
        "Gemm" => {
            let a = inputs.first()?;
            let m = *outputs.first()?.first()?;
            (m > 0).then(|| y * (volume(a) / m))
        }
        _ => None,
    }
}

/// The shapes of an event's `input_type_shape` / `output_type_shape`: a list of
/// single-key objects `{"float": [1, 3, 64, 96]}`.
fn shapes(v: Option<&serde_json::Value>) -> Vec<Vec<u64>> {
    v.and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|o| o.as_object()?.values().next()?.as_array().cloned())
                .map(|dims| dims.iter().map(|d| d.as_u64().unwrap_or(0)).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// Counts the MACs of every node event (`"cat": "Node"`, name ending `_kernel_time`) of an
/// ONNX Runtime profile.
pub fn macs_from_profile(text: &str) -> Result<MacCount, String> {
    let events: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("not an ONNX Runtime profile (a JSON list of events): {e}"))?;
    let mut count = MacCount::default();
    for e in &events {
        let is_node = e.get("cat").and_then(|c| c.as_str()) == Some("Node")
            && e.get("name").and_then(|n| n.as_str()).is_some_and(|n| n.ends_with("_kernel_time"));
        if !is_node {
            continue;
        }
        count.nodes += 1;
        let args = e.get("args");
        let Some(op) = args.and_then(|a| a.get("op_name")).and_then(|o| o.as_str()) else {
            continue;
        };
        let inputs = shapes(args.and_then(|a| a.get("input_type_shape")));
        let outputs = shapes(args.and_then(|a| a.get("output_type_shape")));
        if let Some(m) = node_macs(op, &inputs, &outputs) {
            *count.by_op.entry(op.to_string()).or_default() += m;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand counts of single nodes, and a profile as ONNX Runtime 1.31 writes it (events
    /// copied from a real profile, trimmed).
    #[test]
    fn counts_nodes_by_hand() {
        // Conv 3→32, 5×5, output 1×32×32×48: 49152 outputs × 75.
        assert_eq!(
            node_macs("Conv", &[vec![1, 3, 64, 96], vec![32, 3, 5, 5], vec![32]], &[vec![1, 32, 32, 48]]),
            Some(3_686_400)
        );
        // ConvTranspose 48→32, 5×5, stride 2 on a 4×6 latent: 1152 inputs × 800.
        assert_eq!(
            node_macs(
                "ConvTranspose",
                &[vec![1, 48, 4, 6], vec![48, 32, 5, 5], vec![32]],
                &[vec![1, 32, 8, 12]]
            ),
            Some(921_600)
        );
        // A weight left out (pre-packed): not counted rather than miscounted from the bias.
        assert_eq!(
            node_macs("ConvTranspose", &[vec![1, 48, 4, 6], vec![32]], &[vec![1, 32, 8, 12]]),
            None
        );
        assert_eq!(
            node_macs("MatMul", &[vec![2, 24, 64, 1], vec![2, 24, 1, 64]], &[vec![2, 24, 64, 64]]),
            Some(196_608)
        );
        assert_eq!(node_macs("Gemm", &[vec![4, 16], vec![16, 8]], &[vec![4, 8]]), Some(512));
        assert_eq!(node_macs("Relu", &[vec![1, 8]], &[vec![1, 8]]), None);
        let profile = r#"[
{"cat" : "Session","pid" :1,"tid" :1,"dur" :10,"ts" :1,"ph" : "X","name" :"model_run","args" : {}},
{"cat" : "Node","pid" :1,"tid" :1,"dur" :389,"ts" :30966,"ph" : "X","name" :"/0/Conv_kernel_time","args" : {"input_type_shape" : [{"float":[1,3,64,96]},{"float":[32,3,5,5]},{"float":[32]}],"provider" : "CPUExecutionProvider","op_name" : "Conv","output_type_shape" : [{"float":[1,32,32,48]}]}},
{"cat" : "Node","pid" :1,"tid" :1,"dur" :176,"ts" :33271,"ph" : "X","name" :"MatMul_75_kernel_time","args" : {"output_type_shape" : [{"float":[2,24,64,64]}],"input_type_shape" : [{"float":[2,24,64,1]},{"float":[2,24,1,64]}],"op_name" : "MatMul"}},
{"cat" : "Node","pid" :1,"tid" :1,"dur" :3,"ts" :33300,"ph" : "X","name" :"Relu_3_kernel_time","args" : {"output_type_shape" : [{"float":[1,8]}],"input_type_shape" : [{"float":[1,8]}],"op_name" : "Relu"}}
]"#;
        let c = macs_from_profile(profile).unwrap();
        assert_eq!(c.by_op.get("Conv"), Some(&3_686_400));
        assert_eq!(c.by_op.get("MatMul"), Some(&196_608));
        assert_eq!((c.total(), c.nodes), (3_686_400 + 196_608, 3));
        assert!((c.kmac_per_pixel(6144) - (3_686_400.0 + 196_608.0) / 6144.0 / 1e3).abs() < 1e-12);
        assert!(macs_from_profile("{}").unwrap_err().contains("not an ONNX Runtime profile"));
    }
}
