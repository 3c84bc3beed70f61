//! The node worker's entry point, built by Trunk as a second wasm target
//! (`pgplay-worker.js`, `pgplay-worker_bg.wasm`, `pgplay-worker_loader.js`).

#[cfg(target_arch = "wasm32")]
fn main() {
    pgplay_web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("pgplay-worker runs in a browser Web Worker, started by the playground page.");
}
