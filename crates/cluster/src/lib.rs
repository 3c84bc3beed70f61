//! The cluster layer: what the simulator (`pgplay-sim`) and the browser
//! (`web/`) share about running several servers, so that the two drivers
//! cannot drift apart and what the simulator's tests prove holds in the page.
//!
//! - [`shell`]: the command language (`pg_ctl`, `pg_basebackup`, file edits,
//!   `pgplay-net`), parsed once; the conformance harness reads the same lines
//!   for the real PostgreSQL cluster;
//! - [`action`]: what a line does to the cluster, checked against its nodes,
//!   with the tools' own errors, and a node's own commands run on it;
//! - [`host`]: what a driver does for the cluster (the trait the simulator
//!   and the page implement) and the one path a command line takes through it;
//! - [`preset`]: the clusters a learner starts from;
//! - [`ports`]: which port a new server and a client connection get;
//! - [`transcript`]: a scenario both hosts run and must print alike;
//! - [`link`]: the model of a link's faults (delay, loss, partition with a
//!   bounded buffer that breaks the connection when full, cut).
//!
//! Sans-IO like the crates below it: values and decisions, no clock, no
//! randomness (a driver passes its draws in), no IO. It sits above
//! `pgplay-node` and below the drivers; no crate below imports it.

pub mod action;
pub mod host;
pub mod link;
pub mod ports;
pub mod preset;
pub mod shell;
pub mod transcript;

pub use action::{plan, run_local, still_running, Action, BaseBackup, Members};
pub use host::{run_command, Host};
pub use link::{LinkFault, LinkFaults};
pub use preset::Preset;
pub use shell::{NetworkFault, ShellCommand};
