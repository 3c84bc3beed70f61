//! The pgplay playground UI.
//!
//! Trunk builds this binary for `wasm32-unknown-unknown` from the repository's `index.html`
//! (`scripts/serve.sh` serves it), together with the node worker (`src/bin/pgplay-worker.rs`).
//! On start it launches the default cluster (primary, standby1, standby2, each in its own
//! worker) and publishes it as `window.pgplay` for embedding and for the end-to-end tests.
//! On any other target it compiles to a stub, so `cargo test --workspace` stays cheap.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod cluster_start;
#[cfg(target_arch = "wasm32")]
mod console_view;
#[cfg(target_arch = "wasm32")]
mod drawing_view;
#[cfg(target_arch = "wasm32")]
mod embed_view;
#[cfg(target_arch = "wasm32")]
mod lesson_view;
#[cfg(target_arch = "wasm32")]
mod link_view;
#[cfg(target_arch = "wasm32")]
mod scenario_view;
#[cfg(target_arch = "wasm32")]
mod shell_view;
#[cfg(target_arch = "wasm32")]
mod wal_view;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "pgplay-web runs in the browser: use scripts/serve.sh (Trunk) to build and serve it."
    );
}
