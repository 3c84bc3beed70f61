//! wasm-bindgen-test in Node: the core streams over the wire encoding.
#![cfg(target_arch = "wasm32")]
mod common;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn streams_in_node() {
    common::stream_through_the_wire();
}

#[wasm_bindgen_test]
fn deep_statements_fail_politely_in_node() {
    common::deep_statements_fail_politely();
}
