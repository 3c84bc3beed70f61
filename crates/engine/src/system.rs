//! System functions that read or change server state: WAL positions,
//! recovery status, settings, sequences, time.

use pgplay_wal::time::Timestamp;

use crate::error::{code, DbError, Result};
use crate::sql::Executor;
use crate::types::{DataType, Value};

pub const VERSION: &str =
    "PostgreSQL 15.18 (pgplay 0.1.0) on wasm32 and x86_64, a simulation written in Rust, 64-bit";

fn recovery_in_progress(hint: &str) -> DbError {
    DbError::new(
        code::OBJECT_NOT_IN_PREREQUISITE_STATE,
        "recovery is in progress",
    )
    .with_hint(hint.to_string())
}

const WAL_CONTROL_HINT: &str = "WAL control functions cannot be executed during recovery.";

pub fn call(executor: &mut Executor<'_>, name: &str, args: &[Value]) -> Result<Value> {
    let db = &mut *executor.db;
    let timestamp = |t: Timestamp| Value::TimestampTz(t);
    Ok(match name {
        "pg_current_wal_lsn" | "pg_current_wal_insert_lsn" | "pg_current_wal_flush_lsn" => {
            if db.in_recovery {
                return Err(recovery_in_progress(WAL_CONTROL_HINT));
            }
            Value::PgLsn(match name {
                "pg_current_wal_flush_lsn" => db.wal.flush_lsn(),
                _ => db.wal.insert_lsn(),
            })
        }
        "pg_last_wal_receive_lsn" => match db.stats.last_received {
            Some(lsn) if db.in_recovery => Value::PgLsn(lsn),
            _ => Value::Null,
        },
        "pg_last_wal_replay_lsn" => {
            if db.in_recovery {
                Value::PgLsn(db.replayed_upto)
            } else {
                Value::Null
            }
        }
        "pg_last_xact_replay_timestamp" => db
            .last_replayed_commit
            .filter(|_| db.in_recovery)
            .map(timestamp)
            .unwrap_or(Value::Null),
        "pg_is_in_recovery" => Value::Bool(db.in_recovery),
        "pg_switch_wal" => {
            if db.in_recovery {
                return Err(recovery_in_progress(WAL_CONTROL_HINT));
            }
            switch_wal(executor)?
        }
        "pg_walfile_name" => {
            if db.in_recovery {
                return Err(recovery_in_progress(
                    "pg_walfile_name() cannot be executed during recovery.",
                ));
            }
            let Some(Value::PgLsn(lsn)) = args.first() else {
                return Ok(Value::Null);
            };
            let size = db.wal.segment_size();
            let segno = size.segment_of(pgplay_wal::Lsn(lsn.0.saturating_sub(1)));
            Value::Text(size.file_name(db.wal.timeline(), segno))
        }
        "pg_create_physical_replication_slot" | "pg_walfile_name_offset" => {
            Value::Text(record_text(&record_call(executor, name, args)?.1))
        }
        "pg_cancel_backend" | "pg_terminate_backend" => {
            let Some(pid) = args.first().and_then(Value::as_i64) else {
                return Ok(Value::Null);
            };
            let terminate = name == "pg_terminate_backend";
            Value::Bool(db.signal_backend(executor.session, pid as i32, terminate)?)
        }
        "pg_blocking_pids" => {
            let Some(pid) = args.first().and_then(Value::as_i64) else {
                return Ok(Value::Null);
            };
            let pids = db.blocking_pids(pid as i32).into_iter().map(Value::Int4);
            Value::Array(Box::new(crate::types::Array::new(pids.collect())))
        }
        "pg_drop_replication_slot" => {
            let name = args.first().and_then(Value::to_text).unwrap_or_default();
            db.drop_slot(&name)?;
            Value::Text(String::new())
        }
        "pg_reload_conf" => {
            // The node reads pg_hba.conf again after the statement.
            db.reload_requested = true;
            let lines = db.settings.reload();
            db.log_lines
                .push("LOG:  received SIGHUP, reloading configuration files".to_string());
            db.log_lines.extend(lines);
            Value::Bool(true)
        }
        "pg_promote" => {
            if !db.in_recovery {
                return Err(DbError::new(
                    code::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "recovery is not in progress",
                )
                .with_hint("Recovery control functions can only be executed during recovery."));
            }
            db.promote_requested = true;
            Value::Bool(true)
        }
        "pg_wal_replay_pause"
        | "pg_wal_replay_resume"
        | "pg_is_wal_replay_paused"
        | "pg_get_wal_replay_pause_state" => replay_control(db, name)?,
        // pgplay's statistics views count at once: there is nothing to flush (void).
        "pg_stat_force_next_flush" => Value::Text(String::new()),
        "pg_sleep" => {
            let seconds = args.first().and_then(Value::as_f64).unwrap_or(0.0);
            let micros = if seconds.is_nan() {
                0
            } else {
                (seconds * 1_000_000.0) as i64
            };
            // The driver lets the time pass; a sleep past statement_timeout ends there.
            db.interrupts.sleep(micros)?;
            // void, which is not NULL: `pg_sleep(0) IS NULL` is false.
            Value::Text(String::new())
        }
        "now"
        | "current_timestamp"
        | "statement_timestamp"
        | "transaction_timestamp"
        | "clock_timestamp" => timestamp(db.now),
        "localtimestamp" => match timestamp(db.now) {
            Value::TimestampTz(utc) => {
                Value::Timestamp(crate::types::zone::session_zone().to_local(utc))
            }
            other => other,
        },
        "pg_postmaster_start_time" => timestamp(db.now),
        "version" => Value::Text(VERSION.to_string()),
        "current_database" => Value::Text("postgres".into()),
        "current_user" | "session_user" => Value::Text("postgres".into()),
        "gen_random_uuid" => {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&db.random_bits().to_be_bytes());
            bytes[8..].copy_from_slice(&db.random_bits().to_be_bytes());
            Value::Uuid(crate::types::uuid::version4(bytes))
        }
        // 53 random bits as a double in [0, 1), as PostgreSQL's drandom() makes it.
        "random" => Value::Float8((db.random_bits() >> 11) as f64 / (1u64 << 53) as f64),
        "pg_backend_pid" => Value::Int4(crate::database::session_pid(executor.session)),
        "txid_current" | "pg_current_xact_id" => {
            if db.in_recovery {
                return Err(DbError::new(
                    code::READ_ONLY_SQL_TRANSACTION,
                    "cannot execute pg_current_xact_id() during recovery",
                ));
            }
            Value::Int8(i64::from(db.assign_top_xid(executor.session)))
        }
        "current_setting" => {
            let Some(name) = args.first().and_then(Value::as_str) else {
                return Ok(Value::Null);
            };
            let definition =
                crate::guc::definition(name).ok_or_else(|| crate::guc::unrecognized(name))?;
            Value::Text(crate::guc::display(
                definition,
                &db.setting(executor.session, definition.name),
            ))
        }
        "nextval" => {
            let name = sequence_name(args)?;
            Value::Int8(executor.nextval(&name)?)
        }
        "setval" => {
            let name = sequence_name(args)?;
            let value = args.get(1).and_then(Value::as_i64).unwrap_or(0);
            let is_called = !matches!(args.get(2), Some(Value::Bool(false)));
            Value::Int8(executor.setval(&name, value, is_called)?)
        }
        "currval" => {
            let name = sequence_name(args)?;
            let value = db
                .session(executor.session)
                .and_then(|s| s.sequence_values.get(&name).copied());
            Value::Int8(value.ok_or_else(|| {
                DbError::new(
                    code::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("currval of sequence \"{name}\" is not yet defined in this session"),
                )
            })?)
        }
        other => {
            return Err(DbError::feature_not_supported(format!(
                "{other}() is not supported by pgplay yet"
            )))
        }
    })
}

/// The recovery control functions: pause and resume replay on a standby, and ask about it.
/// pgplay's startup process pauses at once, so "pause requested" is never seen.
pub fn replay_control(db: &mut crate::Database, name: &str) -> Result<Value> {
    if !db.in_recovery {
        return Err(DbError::new(
            code::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "recovery is not in progress",
        )
        .with_hint("Recovery control functions can only be executed during recovery."));
    }
    Ok(match name {
        "pg_wal_replay_pause" => {
            if !db.replay_paused {
                db.replay_paused = true;
                db.log_lines.push("LOG:  recovery has paused".into());
                db.log_lines
                    .push("HINT:  Execute pg_wal_replay_resume() to continue.".into());
            }
            Value::Text(String::new())
        }
        "pg_wal_replay_resume" => {
            if db.replay_paused {
                db.replay_paused = false;
                db.replay_resume_requested = true;
            }
            Value::Text(String::new())
        }
        "pg_is_wal_replay_paused" => Value::Bool(db.replay_paused),
        _ => Value::Text(
            if db.replay_paused {
                "paused"
            } else {
                "not paused"
            }
            .into(),
        ),
    })
}

fn sequence_name(args: &[Value]) -> Result<String> {
    let text = args.first().and_then(Value::as_str).unwrap_or_default();
    Ok(text.trim_matches('"').to_lowercase())
}

/// pg_switch_wal(): a SWITCH record, then the next record starts a new segment.
fn switch_wal(executor: &mut Executor<'_>) -> Result<Value> {
    Ok(Value::PgLsn(executor.db.switch_wal()?))
}

/// A record-returning function: its columns and its one row.
pub fn record_call(
    executor: &mut Executor<'_>,
    name: &str,
    args: &[Value],
) -> Result<(Vec<(String, DataType)>, Vec<Value>)> {
    let db = &mut *executor.db;
    let flag = |i: usize| matches!(args.get(i), Some(Value::Bool(true)));
    let lsn_value = |lsn: Option<pgplay_wal::Lsn>| lsn.map(Value::PgLsn).unwrap_or(Value::Null);
    match name {
        "pg_create_physical_replication_slot" => {
            let slot = args.first().and_then(Value::to_text).unwrap_or_default();
            let (slot, lsn) = db.create_slot(executor.session, &slot, flag(1), flag(2))?;
            Ok((
                vec![
                    ("slot_name".into(), DataType::Name),
                    ("lsn".into(), DataType::PgLsn),
                ],
                vec![Value::Text(slot), lsn_value(lsn)],
            ))
        }
        "pg_walfile_name_offset" => {
            if db.in_recovery {
                return Err(recovery_in_progress(
                    "pg_walfile_name_offset() cannot be executed during recovery.",
                ));
            }
            let columns = vec![
                ("file_name".into(), DataType::Text),
                ("file_offset".into(), DataType::Int4),
            ];
            let Some(Value::PgLsn(lsn)) = args.first() else {
                return Ok((columns, vec![Value::Null, Value::Null]));
            };
            let size = db.wal.segment_size();
            let segno = size.segment_of(pgplay_wal::Lsn(lsn.0.saturating_sub(1)));
            let offset = (lsn.0 % size.bytes()) as i32;
            Ok((
                columns,
                vec![
                    Value::Text(size.file_name(db.wal.timeline(), segno)),
                    Value::Int4(offset),
                ],
            ))
        }
        _ => Err(DbError::internal(format!("{name} returns no record"))),
    }
}

/// A record as PostgreSQL prints it: `(a,b)`, NULL as nothing, values with
/// commas, parentheses, quotes, backslashes or spaces in double quotes.
pub fn record_text(values: &[Value]) -> String {
    let fields: Vec<String> = values
        .iter()
        .map(|v| match v.to_text() {
            None => String::new(),
            Some(text)
                if text.is_empty()
                    || text.chars().any(|c| {
                        matches!(c, ',' | '(' | ')' | '"' | '\\') || c.is_whitespace()
                    }) =>
            {
                format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\"\""))
            }
            Some(text) => text,
        })
        .collect();
    format!("({})", fields.join(","))
}
