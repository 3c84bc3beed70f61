//! pgplay's conformance harness.
//!
//! * [`conventions`]: how `.slt` files write values, errors and column types; shared
//!   with pgplay's own sqllogictest runner so both sides judge a file identically.
//! * [`PostgresDb`] (feature `server`, on by default): a [`sqllogictest::DB`] over the
//!   synchronous `postgres` client, talking to a real PostgreSQL server.
//! * [`run_files`] (feature `server`): runs `.slt` files, each in a fresh database.
//! * [`run_cluster_files`] (feature `server`): runs `.slt` files on a cluster of named
//!   nodes, `connection <node>` choosing the node of a record; `system ok` records run
//!   the server commands of [`cluster_commands`] (pg_ctl, standby.signal,
//!   postgresql.auto.conf) on the nodes' data directories ([`ClusterHost`]).
//! * [`cluster_commands`]: that command language, parsed; pgplay interprets the same.
//! * [`isolation`]: PostgreSQL's isolation-tester spec format (several sessions, steps that
//!   wait), run as PostgreSQL 15's `isolationtester` runs it, over any [`isolation::Backend`].

pub mod cluster_commands;
pub mod conventions;
pub mod isolation;

pub use conventions::{format_error, format_value, PgColumnType, LABEL_PGPLAY, LABEL_POSTGRES};

#[cfg(feature = "server")]
mod server;

#[cfg(feature = "server")]
pub use server::{
    run_cluster_files, run_file_in_database, run_file_on_cluster, run_files, ClusterHost,
    ClusterNode, FileFailure, NodeSession, PgError, PostgresDb, Summary,
};
