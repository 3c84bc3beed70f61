//! pgplay in the browser. One dedicated Web Worker per node runs a
//! `pgplay_node::Node` ([`worker`]); replication connections are
//! MessageChannels whose ports live in the two workers; the page drives the
//! workers through [`cluster::Cluster`] (also exported to JavaScript as
//! `PgplayCluster`). [`protocol`] is what they say to each other.
//!
//! This crate is the only one that touches wasm-bindgen, web-sys or the
//! DOM. Off wasm32 only the protocol, the lessons and scenarios build (and are tested
//! natively).

pub mod drawing;
pub mod embed;
pub mod failover;
pub mod lessons;
pub mod protocol;
pub mod psql_input;
pub mod scenario;

#[cfg(target_arch = "wasm32")]
pub mod cluster;
#[cfg(target_arch = "wasm32")]
pub mod worker;
