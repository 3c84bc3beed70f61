//! The statistics views a node fills in for its engine: `pg_stat_replication`
//! (one row per walsender) and `pg_stat_wal_receiver` (the walreceiver, if
//! any). The engine only shows them; the replication code owns the values.

use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use crate::types::{DataType, Value};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalSenderRow {
    pub pid: i32,
    pub usesysid: u32,
    pub usename: String,
    pub application_name: String,
    pub client_addr: String,
    pub client_port: i32,
    pub backend_start: Timestamp,
    pub state: String,
    pub sent_lsn: Option<Lsn>,
    pub write_lsn: Option<Lsn>,
    pub flush_lsn: Option<Lsn>,
    pub replay_lsn: Option<Lsn>,
    /// Microseconds.
    pub write_lag: Option<i64>,
    pub flush_lag: Option<i64>,
    pub replay_lag: Option<i64>,
    pub sync_priority: i32,
    pub sync_state: String,
    pub reply_time: Option<Timestamp>,
    /// The standby's hot_standby_feedback xmin (walsenders without a slot).
    pub backend_xmin: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalReceiverRow {
    pub pid: i32,
    pub status: String,
    pub receive_start_lsn: Lsn,
    pub receive_start_tli: i32,
    pub written_lsn: Option<Lsn>,
    pub flushed_lsn: Option<Lsn>,
    pub received_tli: i32,
    pub last_msg_send_time: Option<Timestamp>,
    pub last_msg_receipt_time: Option<Timestamp>,
    pub latest_end_lsn: Option<Lsn>,
    pub latest_end_time: Option<Timestamp>,
    pub slot_name: Option<String>,
    pub sender_host: String,
    pub sender_port: i32,
    pub conninfo: String,
}

/// A server process other than a client backend, as the node reports it
/// for `pg_stat_activity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessRow {
    pub pid: i32,
    pub backend_type: &'static str,
    pub usename: Option<String>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub backend_start: Timestamp,
    pub state: Option<&'static str>,
    pub wait_event: &'static str,
    pub query: String,
}

/// `pg_stat_archiver`: what the archiver has done since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiverRow {
    pub archived_count: i64,
    pub last_archived_wal: Option<String>,
    pub last_archived_time: Option<Timestamp>,
    pub failed_count: i64,
    pub last_failed_wal: Option<String>,
    pub last_failed_time: Option<Timestamp>,
    pub stats_reset: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationStats {
    /// Background processes, walsenders, the walreceiver.
    pub processes: Vec<ProcessRow>,
    /// Client sessions waiting for synchronous standbys (wait_event SyncRep).
    pub sync_waiting: std::collections::BTreeSet<u32>,
    pub archiver: ArchiverRow,
    pub senders: Vec<WalSenderRow>,
    pub receiver: Option<WalReceiverRow>,
    /// `pg_last_wal_receive_lsn()`: WAL received and flushed by streaming.
    pub last_received: Option<Lsn>,
}

/// A view's columns and rows.
pub type View = (Vec<(String, DataType)>, Vec<Vec<Value>>);

fn lsn(value: Option<Lsn>) -> Value {
    value.map(Value::PgLsn).unwrap_or(Value::Null)
}
pub(crate) fn time(value: Option<Timestamp>) -> Value {
    value.map(Value::TimestampTz).unwrap_or(Value::Null)
}
fn interval(value: Option<i64>) -> Value {
    value
        .map(|micros| Value::Interval(crate::types::Interval::from_micros(micros)))
        .unwrap_or(Value::Null)
}
pub(crate) fn columns(spec: &[(&str, DataType)]) -> Vec<(String, DataType)> {
    spec.iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect()
}

/// The rows of a statistics view, or None if `name` is not one.
pub fn view(stats: &ReplicationStats, name: &str) -> Option<View> {
    use DataType::*;
    match name {
        "pg_stat_archiver" | "pg_catalog.pg_stat_archiver" => {
            let a = &stats.archiver;
            let text = |v: &Option<String>| v.clone().map(Value::Text).unwrap_or(Value::Null);
            Some((
                columns(&[
                    ("archived_count", Int8),
                    ("last_archived_wal", Text),
                    ("last_archived_time", TimestampTz),
                    ("failed_count", Int8),
                    ("last_failed_wal", Text),
                    ("last_failed_time", TimestampTz),
                    ("stats_reset", TimestampTz),
                ]),
                vec![vec![
                    Value::Int8(a.archived_count),
                    text(&a.last_archived_wal),
                    time(a.last_archived_time),
                    Value::Int8(a.failed_count),
                    text(&a.last_failed_wal),
                    time(a.last_failed_time),
                    Value::TimestampTz(a.stats_reset),
                ]],
            ))
        }
        "pg_stat_replication" | "pg_catalog.pg_stat_replication" => Some((
            columns(&[
                ("pid", Int4),
                ("usesysid", Oid),
                ("usename", Name),
                ("application_name", Text),
                ("client_addr", Text),
                ("client_hostname", Text),
                ("client_port", Int4),
                ("backend_start", TimestampTz),
                ("backend_xmin", Text),
                ("state", Text),
                ("sent_lsn", PgLsn),
                ("write_lsn", PgLsn),
                ("flush_lsn", PgLsn),
                ("replay_lsn", PgLsn),
                ("write_lag", Interval),
                ("flush_lag", Interval),
                ("replay_lag", Interval),
                ("sync_priority", Int4),
                ("sync_state", Text),
                ("reply_time", TimestampTz),
            ]),
            stats
                .senders
                .iter()
                .map(|s| {
                    vec![
                        Value::Int4(s.pid),
                        Value::Oid(s.usesysid),
                        Value::Text(s.usename.clone()),
                        Value::Text(s.application_name.clone()),
                        Value::Text(s.client_addr.clone()),
                        Value::Null,
                        Value::Int4(s.client_port),
                        Value::TimestampTz(s.backend_start),
                        s.backend_xmin
                            .map(|xid| Value::Text(xid.to_string()))
                            .unwrap_or(Value::Null),
                        Value::Text(s.state.clone()),
                        lsn(s.sent_lsn),
                        lsn(s.write_lsn),
                        lsn(s.flush_lsn),
                        lsn(s.replay_lsn),
                        interval(s.write_lag),
                        interval(s.flush_lag),
                        interval(s.replay_lag),
                        Value::Int4(s.sync_priority),
                        Value::Text(s.sync_state.clone()),
                        time(s.reply_time),
                    ]
                })
                .collect(),
        )),
        "pg_stat_wal_receiver" | "pg_catalog.pg_stat_wal_receiver" => Some((
            columns(&[
                ("pid", Int4),
                ("status", Text),
                ("receive_start_lsn", PgLsn),
                ("receive_start_tli", Int4),
                ("written_lsn", PgLsn),
                ("flushed_lsn", PgLsn),
                ("received_tli", Int4),
                ("last_msg_send_time", TimestampTz),
                ("last_msg_receipt_time", TimestampTz),
                ("latest_end_lsn", PgLsn),
                ("latest_end_time", TimestampTz),
                ("slot_name", Text),
                ("sender_host", Text),
                ("sender_port", Int4),
                ("conninfo", Text),
            ]),
            stats
                .receiver
                .iter()
                .map(|r| {
                    vec![
                        Value::Int4(r.pid),
                        Value::Text(r.status.clone()),
                        Value::PgLsn(r.receive_start_lsn),
                        Value::Int4(r.receive_start_tli),
                        lsn(r.written_lsn),
                        lsn(r.flushed_lsn),
                        Value::Int4(r.received_tli),
                        time(r.last_msg_send_time),
                        time(r.last_msg_receipt_time),
                        lsn(r.latest_end_lsn),
                        time(r.latest_end_time),
                        r.slot_name.clone().map(Value::Text).unwrap_or(Value::Null),
                        Value::Text(r.sender_host.clone()),
                        Value::Int4(r.sender_port),
                        Value::Text(r.conninfo.clone()),
                    ]
                })
                .collect(),
        )),
        _ => None,
    }
}
