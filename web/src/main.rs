//! The pgplay playground UI.
//!
//! Trunk builds this binary for `wasm32-unknown-unknown` from the repository's `index.html`
//! (`scripts/serve.sh` serves it). On any other target it compiles to a stub that explains how
//! to run it, so that `cargo test --workspace` on the host stays cheap and green.

#[cfg(target_arch = "wasm32")]
mod app;

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
