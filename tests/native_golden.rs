//! The native half of the native == wasm proof: the golden hash is what this build computes.
#![cfg(not(target_arch = "wasm32"))]

mod common;

#[test]
fn native_build_reproduces_the_golden_hash() {
    let hash = common::golden::compute_golden_hash();
    assert_eq!(hash, common::golden::GOLDEN_HASH, "golden hash is {hash:#x}");
}
