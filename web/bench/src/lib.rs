//! The benchmark workload of `pgplay bench` (`pgplay_node::bench`), exported to JavaScript.
//!
//! `scripts/bench-wasm.mjs` loads the `wasm-bindgen --target nodejs` output of this crate and
//! times each call with `performance.now()`: the clock stays in the driver, as it does natively.
//! `scripts/bench.sh` builds it and runs both drivers. On targets other than wasm32 the crate is
//! empty.

#[cfg(target_arch = "wasm32")]
mod wasm {
    use pgplay_node::bench::{self, Bench};
    use wasm_bindgen::prelude::*;

    /// How many times the driver runs the scan (`pgplay_node::bench::SCANS`).
    #[wasm_bindgen]
    pub fn scans() -> u32 {
        bench::SCANS as u32
    }

    /// What a scan returned: `count(*)` and `sum(id)`.
    #[wasm_bindgen]
    #[derive(Clone, Copy)]
    pub struct Scan {
        pub count: f64,
        pub sum: f64,
    }

    impl From<bench::ScanResult> for Scan {
        fn from(result: bench::ScanResult) -> Scan {
            Scan {
                count: result.count as f64,
                sum: result.sum as f64,
            }
        }
    }

    /// What a scan should return after `insertRows(rows)`.
    #[wasm_bindgen(js_name = expectedScan)]
    pub fn expected_scan(rows: u32) -> Scan {
        bench::expected_scan(rows.into()).into()
    }

    /// A fresh server with the `bench` table (`new WasmBench()` in JavaScript).
    #[wasm_bindgen]
    pub struct WasmBench(Bench);

    #[wasm_bindgen]
    impl WasmBench {
        #[wasm_bindgen(constructor)]
        pub fn new() -> Result<WasmBench, JsError> {
            Bench::new().map(WasmBench).map_err(error)
        }

        /// Rows `0..rows`, one single-row autocommit INSERT each.
        #[wasm_bindgen(js_name = insertRows)]
        pub fn insert_rows(&mut self, rows: u32) -> Result<(), JsError> {
            self.0.insert_rows(rows.into()).map_err(error)
        }

        /// One run of the scan query.
        pub fn scan(&mut self) -> Result<Scan, JsError> {
            self.0.scan().map(Scan::from).map_err(error)
        }

        /// Bytes of WAL written.
        #[wasm_bindgen(js_name = walBytes)]
        pub fn wal_bytes(&self) -> f64 {
            self.0.wal_bytes() as f64
        }
    }

    fn error(error: impl std::fmt::Display) -> JsError {
        JsError::new(&error.to_string())
    }
}
