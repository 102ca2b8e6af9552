//! Parity of `vifp` (VIF in the pixel domain) with piq 0.8.0's `vif_p` run in float64, on
//! pyiqa's five calibration pairs and the SR pair of tests/fixtures/basicsr/. The values,
//! the pairs' sha256 and the recipe: tests/fixtures/vifp_reference.json, made by
//! scripts/make-vif-fixture.py.

mod common;
use common::json;

use icmbench_metrics::by_name;

/// Within 1e-9 relative: the same float64 statistics, summed in another order (piq's 2-D
/// window against icmbench's separable one).
#[test]
fn vifp_matches_piq_in_float64() {
    let fx = json("tests/fixtures/vifp_reference.json");
    let m = by_name("vifp", &Default::default()).unwrap();
    let pairs = fx["pairs"].as_object().expect("pairs");
    assert_eq!(pairs.len(), 6);
    for (pair, spec) in pairs {
        let want = fx["values"]["vifp"][pair].as_f64().expect("value");
        let (r, d) = common::pair(spec);
        let got = m.compute(&r, &d).unwrap();
        eprintln!(
            "vifp {pair}: icmbench {got:.12}, piq {want:.12}, relative {:.1e}",
            (got - want) / want
        );
        assert!(((got - want) / want).abs() <= 1e-9, "vifp {pair}: got {got}, piq {want}");
    }
}

/// VIF is not symmetric: swapping the images changes the score, and the reference scored
/// against itself is 1.
#[test]
fn vifp_is_ordered_and_one_on_identical_images() {
    let fx = json("tests/fixtures/vifp_reference.json");
    let spec = &fx["pairs"]["I08"];
    let m = by_name("vifp", &Default::default()).unwrap();
    let (r, d) = common::pair(spec);
    assert!((m.compute(&r, &d).unwrap() - m.compute(&d, &r).unwrap()).abs() > 1e-3);
    assert!((m.compute(&r, &r).unwrap() - 1.0).abs() < 1e-6);
}
