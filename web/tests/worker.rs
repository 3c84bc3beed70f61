//! wasm-bindgen-test inside a dedicated Web Worker, where the node workers run.
#![cfg(target_arch = "wasm32")]
mod common;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn streams_in_a_dedicated_worker() {
    assert!(js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok());
    common::stream_through_the_wire();
}

#[wasm_bindgen_test]
fn deep_statements_fail_politely_in_a_dedicated_worker() {
    common::deep_statements_fail_politely();
}
