//! wasm-bindgen-test in headless Chromium, on the page's main thread.
#![cfg(target_arch = "wasm32")]
mod common;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn streams_in_the_browser() {
    common::stream_through_the_wire();
}
