//! Physical replication slots (`pg_replslot/` in a data directory).
//!
//! A slot is server state outside the WAL: it is not replicated, not copied
//! by a base backup and not undone by a crash. It remembers how far its
//! standby has flushed (`restart_lsn`) so that checkpoints keep every WAL
//! segment from there on, even while the standby is away. The SQL functions
//! create and drop slots here; the node marks a slot active while a
//! walsender streams through it and moves `restart_lsn` with the standby's
//! replies ([`Database::slot_acquired`], [`Database::slot_released`],
//! [`Database::slot_confirmed`]).

use pgplay_wal::Lsn;

use crate::database::{Database, SessionId};
use crate::error::{code, DbError, Result};
use crate::stats::{columns, View};
use crate::types::{DataType, Value};

/// PostgreSQL's `NAMEDATALEN - 1`: longer names are cut, as the `name` type does.
const NAME_LIMIT: usize = 63;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationSlot {
    pub name: String,
    /// Kept WAL from here on; `None` until reserved or first used.
    pub restart_lsn: Option<Lsn>,
    /// The walsender streaming through it.
    pub active_pid: Option<i32>,
    /// A temporary slot belongs to the session that made it and goes with it.
    pub temporary_owner: Option<SessionId>,
    /// Set when max_slot_wal_keep_size made a checkpoint remove WAL the slot
    /// needed (`wal_status = lost` until a standby streams through it again).
    pub invalidated: bool,
    /// The oldest xid its standby's `hot_standby_feedback` asks to keep
    /// (`pg_replication_slots.xmin`), which holds VACUUM back.
    pub xmin: Option<pgplay_wal::Xid>,
}

/// Why a walsender may not stream through a slot, in PostgreSQL's words:
/// (SQLSTATE, message).
pub fn acquire_error(db: &Database, name: &str) -> Option<(&'static str, String)> {
    match db.slots.get(name) {
        None => Some((
            code::UNDEFINED_OBJECT,
            format!("replication slot \"{name}\" does not exist"),
        )),
        Some(ReplicationSlot {
            active_pid: Some(pid),
            ..
        }) => Some((
            code::OBJECT_IN_USE,
            format!("replication slot \"{name}\" is active for PID {pid}"),
        )),
        Some(_) => None,
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(DbError::new(
            "42602",
            format!("replication slot name \"{name}\" is too short"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(DbError::new(
            "42602",
            format!("replication slot name \"{name}\" contains invalid character"),
        )
        .with_hint(
            "Replication slot names may only contain lower case letters, numbers, and the underscore character.",
        ));
    }
    Ok(())
}

impl Database {
    /// `pg_create_physical_replication_slot(name, immediately_reserve, temporary)`:
    /// the slot's name and, when reserved, the LSN it keeps WAL from (the
    /// last checkpoint's redo pointer).
    pub fn create_slot(
        &mut self,
        session: SessionId,
        name: &str,
        reserve: bool,
        temporary: bool,
    ) -> Result<(String, Option<Lsn>)> {
        let name: String = name.chars().take(NAME_LIMIT).collect();
        let limit = self.settings.get("max_replication_slots");
        if limit == "0" {
            return Err(DbError::new(
                code::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "replication slots can only be used if max_replication_slots > 0",
            ));
        }
        check_name(&name)?;
        if self.slots.contains_key(&name) {
            return Err(DbError::new(
                code::DUPLICATE_OBJECT,
                format!("replication slot \"{name}\" already exists"),
            ));
        }
        if self.slots.len() >= limit.parse().unwrap_or(10) {
            return Err(DbError::new("53400", "all replication slots are in use")
                .with_hint("Free one or increase max_replication_slots."));
        }
        let restart_lsn = reserve.then_some(self.control.redo);
        self.slots.insert(
            name.clone(),
            ReplicationSlot {
                name: name.clone(),
                restart_lsn,
                active_pid: None,
                temporary_owner: temporary.then_some(session),
                invalidated: false,
                xmin: None,
            },
        );
        Ok((name, restart_lsn))
    }

    /// `pg_drop_replication_slot(name)`.
    pub fn drop_slot(&mut self, name: &str) -> Result<()> {
        match acquire_error(self, name) {
            Some((code, message)) => Err(DbError::new(code, message)),
            None => {
                self.slots.remove(name);
                Ok(())
            }
        }
    }

    /// A walsender streams through the slot now.
    pub fn slot_acquired(&mut self, name: &str, pid: i32) {
        if let Some(slot) = self.slots.get_mut(name) {
            slot.active_pid = Some(pid);
        }
    }

    /// The walsender with this pid has gone: its slot is free again.
    pub fn slot_released(&mut self, pid: i32) {
        for slot in self.slots.values_mut() {
            if slot.active_pid == Some(pid) {
                slot.active_pid = None;
            }
        }
    }

    /// The standby reported this flush position through the slot.
    pub fn slot_confirmed(&mut self, name: &str, flush: Lsn) {
        if let Some(slot) = self.slots.get_mut(name) {
            if flush != Lsn::INVALID && slot.restart_lsn != Some(flush) {
                slot.restart_lsn = Some(flush);
                slot.invalidated = false;
            }
        }
    }

    /// The oldest WAL any slot still needs.
    pub fn slots_restart_lsn(&self) -> Option<Lsn> {
        self.slots.values().filter_map(|s| s.restart_lsn).min()
    }

    /// `max_slot_wal_keep_size` in whole segments, or `None` when unlimited (-1).
    pub fn slot_keep_segments(&self) -> Option<u64> {
        let mb: i64 = self
            .settings
            .get("max_slot_wal_keep_size")
            .parse()
            .unwrap_or(-1);
        (mb >= 0).then(|| (mb as u64 * 1024 * 1024) / self.wal.segment_size().bytes())
    }

    /// A checkpoint removes WAL before `keep_from`: slots whose
    /// `restart_lsn` lies before it are invalidated, with PostgreSQL 15's
    /// log line. Returns the walsender pids to terminate.
    pub fn invalidate_slots_before(&mut self, keep_from: Lsn) -> Vec<(String, Option<i32>)> {
        let mut gone = Vec::new();
        for slot in self.slots.values_mut() {
            let Some(restart) = slot.restart_lsn.filter(|r| *r < keep_from) else {
                continue;
            };
            self.log_lines.push(format!(
                "LOG:  invalidating slot \"{}\" because its restart_lsn {restart} exceeds max_slot_wal_keep_size",
                slot.name
            ));
            slot.restart_lsn = None;
            slot.invalidated = true;
            gone.push((slot.name.clone(), slot.active_pid));
        }
        gone
    }

    /// A server (re)start: temporary slots are gone, no slot is active.
    pub fn reset_slots_at_start(&mut self) {
        self.slots.retain(|_, s| s.temporary_owner.is_none());
        for slot in self.slots.values_mut() {
            slot.active_pid = None;
        }
    }

    /// The rows of `pg_replication_slots` (PostgreSQL 15's 15 columns).
    pub fn slots_view(&self) -> View {
        use DataType::*;
        let columns = columns(&[
            ("slot_name", Name),
            ("plugin", Name),
            ("slot_type", Text),
            ("datoid", Oid),
            ("database", Name),
            ("temporary", Bool),
            ("active", Bool),
            ("active_pid", Int4),
            ("xmin", Text),
            ("catalog_xmin", Text),
            ("restart_lsn", PgLsn),
            ("confirmed_flush_lsn", PgLsn),
            ("wal_status", Text),
            ("safe_wal_size", Int8),
            ("two_phase", Bool),
        ]);
        let max_wal_bytes = self
            .settings
            .get("max_wal_size")
            .parse::<u64>()
            .unwrap_or(1024)
            * 1024
            * 1024;
        let current = if self.in_recovery {
            self.replayed_upto
        } else {
            self.wal.insert_lsn()
        };
        let size = self.wal.segment_size();
        let keep = self.slot_keep_segments();
        let current_segment = size.segment_of(current);
        let rows = self
            .slots
            .values()
            .map(|s| {
                // PostgreSQL's GetWALAvailability, by segments.
                let max_wal_segments = max_wal_bytes / size.bytes() + 1;
                let wal_status = match (s.restart_lsn, s.invalidated) {
                    (None, true) => Value::Text("lost".into()),
                    (None, false) => Value::Null,
                    // Past max_slot_wal_keep_size: the next checkpoint removes it.
                    (Some(lsn), _)
                        if keep.is_some_and(|k| {
                            size.segment_of(lsn) < current_segment.saturating_sub(k)
                        }) =>
                    {
                        Value::Text("unreserved".into())
                    }
                    (Some(lsn), _)
                        if size.segment_of(lsn)
                            >= current_segment.saturating_sub(max_wal_segments) =>
                    {
                        Value::Text("reserved".into())
                    }
                    (Some(_), _) => Value::Text("extended".into()),
                };
                // Bytes that may still be written before the slot is at risk.
                let safe_wal_size = match keep {
                    Some(k) if !s.invalidated => {
                        let restart = s.restart_lsn.unwrap_or(Lsn(0));
                        let fail = size.segment_start(size.segment_of(restart) + k + 1);
                        Value::Int8(fail.0 as i64 - current.0 as i64)
                    }
                    _ => Value::Null,
                };
                vec![
                    Value::Text(s.name.clone()),
                    Value::Null,
                    Value::Text("physical".into()),
                    Value::Null,
                    Value::Null,
                    Value::Bool(s.temporary_owner.is_some()),
                    Value::Bool(s.active_pid.is_some()),
                    s.active_pid.map(Value::Int4).unwrap_or(Value::Null),
                    s.xmin
                        .map(|xid| Value::Text(xid.to_string()))
                        .unwrap_or(Value::Null),
                    Value::Null,
                    s.restart_lsn.map(Value::PgLsn).unwrap_or(Value::Null),
                    Value::Null,
                    wal_status,
                    safe_wal_size,
                    Value::Bool(false),
                ]
            })
            .collect();
        (columns, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::InitOptions;

    fn db() -> Database {
        Database::initdb(InitOptions {
            system_identifier: 1,
            segment_size: pgplay_wal::DEFAULT_SEGMENT_SIZE,
            now: 0,
        })
    }

    #[test]
    fn create_acquire_confirm_release_drop() {
        let mut db = db();
        let session = db.open_session();
        assert_eq!(
            db.create_slot(session, "s1", false, false).unwrap(),
            ("s1".to_string(), None)
        );
        let error = db.create_slot(session, "s1", false, false).unwrap_err();
        assert_eq!(error.code, code::DUPLICATE_OBJECT);
        db.slot_acquired("s1", 4242);
        assert_eq!(
            acquire_error(&db, "s1").unwrap().1,
            "replication slot \"s1\" is active for PID 4242"
        );
        assert!(db.drop_slot("s1").is_err());
        db.slot_confirmed("s1", Lsn(0x3000100));
        assert_eq!(db.slots_restart_lsn(), Some(Lsn(0x3000100)));
        db.slot_released(4242);
        db.drop_slot("s1").unwrap();
        assert_eq!(db.slots_restart_lsn(), None);
    }

    #[test]
    fn names_are_checked_and_cut_like_postgres() {
        let mut db = db();
        let session = db.open_session();
        let long = "a".repeat(70);
        assert_eq!(
            db.create_slot(session, &long, false, false)
                .unwrap()
                .0
                .len(),
            63
        );
        let bad = db
            .create_slot(session, "Bad-Name", false, false)
            .unwrap_err();
        assert_eq!(bad.code, "42602");
        assert!(bad.hint.is_some());
        db.settings
            .alter_system("max_replication_slots", Some("1"))
            .unwrap();
        // A restart-only setting: ALTER SYSTEM does not change it until then.
        assert_eq!(db.settings.get("max_replication_slots"), "10");
    }

    #[test]
    fn temporary_slots_end_with_a_restart() {
        let mut db = db();
        let session = db.open_session();
        db.create_slot(session, "temp", true, true).unwrap();
        db.create_slot(session, "kept", false, false).unwrap();
        db.slot_acquired("kept", 7);
        db.reset_slots_at_start();
        assert_eq!(db.slots.keys().collect::<Vec<_>>(), ["kept"]);
        assert_eq!(db.slots["kept"].active_pid, None);
    }
}
