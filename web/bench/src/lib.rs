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

    /// The planner's queries' names, in order.
    #[wasm_bindgen(js_name = queryNames)]
    pub fn query_names() -> Vec<String> {
        bench::QUERIES.iter().map(|q| q.name.to_string()).collect()
    }

    /// How many runs of the planner's query `index` the driver times (it keeps the best).
    #[wasm_bindgen(js_name = queryRuns)]
    pub fn query_runs(index: u32) -> u32 {
        bench::QUERIES.get(index as usize).map_or(0, |q| q.runs())
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

        /// The set-up of the planner's query `index` (`pgplay_node::bench::QUERIES`).
        #[wasm_bindgen(js_name = prepareQuery)]
        pub fn prepare_query(&mut self, index: u32) -> Result<(), JsError> {
            self.0.prepare_query(index as usize).map_err(error)
        }

        /// Runs the planner's query `index` once and checks its answer.
        #[wasm_bindgen(js_name = runQuery)]
        pub fn run_query(&mut self, index: u32) -> Result<(), JsError> {
            self.0.run_query(index as usize).map_err(error)
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
