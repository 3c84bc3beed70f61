//! Streaming replication, the way PostgreSQL does it, as state machines that
//! never touch a socket or a clock.
//!
//! A standby's [`WalReceiver`] connects to its upstream (a primary, or another
//! standby when cascading), identifies the system, fetches timeline history
//! when the upstream is on a newer timeline, and asks for WAL from a position
//! on a timeline. On the upstream a [`WalSender`] per connection ships the WAL
//! bytes as they become durable (record-based shipping: it never waits for a
//! segment to fill), sends keepalives, and turns the standby's status replies
//! into the positions and lags of `pg_stat_replication`.
//!
//! Both sides are driven by their node (`pgplay-node`): it feeds them
//! [`Message`]s with the current time and carries out what they return.
//! Everything is a value, so the simulator and the browser workers drive the
//! very same code.

pub mod conninfo;
pub mod hba;
pub mod lag;
pub mod protocol;
pub mod receiver;
pub mod sender;
pub mod syncrep;
pub mod timeline;

pub use conninfo::ConnInfo;
pub use hba::{HbaFile, HbaVerdict};
pub use protocol::{ConnId, Message, ServerError};
pub use receiver::{ReceiverOutput, ReceiverStatus, StandbyView, WalReceiver};
pub use sender::{SenderOutput, SenderState, SourceView, WalSender};
pub use timeline::TimelineHistory;

/// Microseconds since 2000-01-01 00:00:00 UTC, as in the WAL crate.
pub type Timestamp = pgplay_wal::time::Timestamp;

/// Largest XLogData payload, as PostgreSQL's `MAX_SEND_SIZE` (16 WAL pages).
pub const MAX_SEND_SIZE: u64 = 16 * 8192;

/// Most WAL bytes a walsender has sent but the standby has not yet reported
/// written. It stands in for the TCP window: a slow standby stops the sender
/// from queueing more, and never holds back the other senders.
pub const MAX_IN_FLIGHT: u64 = 8 * MAX_SEND_SIZE;
