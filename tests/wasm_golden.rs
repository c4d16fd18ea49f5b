//! The browser half of the native == wasm proof: run in headless Chromium by
//! `wasm-bindgen-test-runner`, the same fixed input must give the hash the native test asserts.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn browser_build_reproduces_the_golden_hash() {
    assert_eq!(common::golden::compute_golden_hash(), common::golden::GOLDEN_HASH);
}

#[wasm_bindgen_test]
fn browser_build_draws_a_gamma_with_the_right_moments() {
    let values = common::draw(r#"{"type": "gamma", "mean": 1.0, "std": 0.5, "shared_within": false}"#, 20_000, 7);
    let (mean, std) = common::mean_std(&values);
    assert!((mean - 1.0).abs() < 0.02 && (std - 0.5).abs() < 0.02, "mean {mean} std {std}");
}
