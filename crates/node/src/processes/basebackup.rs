//! The server's half of `pg_basebackup`: the checks a walsender connection
//! would pass, a checkpoint, a copy of the data directory as a new stopped
//! node, optionally with a replication slot (`-S`, `-C`) and the standby
//! configuration (`-R`).

use pgplay_engine::{BaseBackup, Database};
use pgplay_wal::time::Timestamp;

use crate::{ConfigFiles, Node, RunState};

impl Node {
    /// `pg_basebackup ... -S SLOT [-C]` (`slot`: the name and whether `-C` is given): the
    /// slot is created (`-C`) or must exist, holds WAL from the backup on, and with `-R` the
    /// copy streams through it (`primary_slot_name`). Errors are pg_basebackup's.
    pub fn base_backup_with_slot(
        &mut self,
        now: Timestamp,
        name: &str,
        user: &str,
        password: Option<&str>,
        recovery_conf: RecoveryConf,
        slot: Option<(&str, bool)>,
    ) -> Result<Node, String> {
        let Some((slot, create_slot)) = slot else {
            return self.base_backup(now, name, user, password, recovery_conf);
        };
        if self.state == RunState::Running && create_slot {
            if let Err(error) = self.db.create_slot(0, slot, true, false) {
                return Err(format!(
                    "pg_basebackup: error: could not send replication command \"CREATE_REPLICATION_SLOT \"{slot}\" PHYSICAL ( RESERVE_WAL)\": ERROR:  {}\npg_basebackup: removing data directory \"{name}\"",
                    error.message
                ));
            }
        }
        if self.state == RunState::Running && !self.db.slots.contains_key(slot) {
            return Err(format!(
                "pg_basebackup: error: could not send replication command \"START_REPLICATION\": ERROR:  replication slot \"{slot}\" does not exist\npg_basebackup: error: background process terminated unexpectedly\npg_basebackup: removing data directory \"{name}\""
            ));
        }
        let mut copy = self.base_backup(now, name, user, password, recovery_conf)?;
        // The backup's WAL streamed through the slot: it holds WAL from there.
        let redo = copy.db.control.redo;
        if self
            .db
            .slots
            .get(slot)
            .is_some_and(|s| s.restart_lsn.is_none())
        {
            self.db.slot_confirmed(slot, redo);
        }
        if recovery_conf != RecoveryConf::None {
            let _ = copy
                .db
                .settings
                .alter_system("primary_slot_name", Some(slot));
        }
        Ok(copy)
    }

    /// `pg_basebackup -h <this node> -D <name> [-R] -X stream` run from
    /// `client_addr`: checks what a walsender connection would check, takes
    /// a checkpoint and copies the data directory into a new, stopped node.
    /// With `-R` ([`RecoveryConf`]), the copy gets `standby.signal` and a
    /// `primary_conninfo` pointing here.
    pub fn base_backup(
        &mut self,
        now: Timestamp,
        name: &str,
        user: &str,
        password: Option<&str>,
        recovery_conf: RecoveryConf,
    ) -> Result<Node, String> {
        let port = self.port;
        let failed = move |message: String| {
            format!(
                "pg_basebackup: error: connection to server at \"127.0.0.1\", port {port} failed: {message}"
            )
        };
        if self.state != RunState::Running {
            return Err(failed("Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?".into()));
        }
        let address = self.address.clone();
        if let Err(error) = self.authorize_replication(&address, user, password) {
            if error.severity == "FATAL" {
                self.push_log(error.text());
            }
            return Err(failed(error.text()));
        }
        self.db.now = now;
        if !self.db.in_recovery {
            self.push_log("LOG:  checkpoint starting: force wait".into());
        }
        let backup: BaseBackup = self.db.base_backup();
        // The backup's checkpoint removes old WAL as it ends, as any checkpoint does.
        self.recycle_wal();
        self.pump(now);
        let mut db = Database::from_backup(backup, now);
        db.in_recovery = true;
        let mut files = ConfigFiles {
            postgresql_conf: self.files.postgresql_conf.clone(),
            pg_hba_conf: self.files.pg_hba_conf.clone(),
            standby_signal: false,
        };
        if recovery_conf != RecoveryConf::None {
            files.standby_signal = true;
            // libpq looks for a password file only when it was given no password, and then
            // pg_basebackup -R writes its path too.
            let password = match password {
                Some(p) => format!("password={} ", conn_str_value(p)),
                None => "passfile='/var/lib/postgresql/.pgpass' ".to_string(),
            };
            let application_name = match recovery_conf {
                RecoveryConf::WrittenNamed => format!("application_name={name} "),
                _ => String::new(),
            };
            let conninfo = format!(
                "user={} {password}channel_binding=prefer host={} port={} {application_name}sslmode=prefer sslcompression=0 sslsni=1 ssl_min_protocol_version=TLSv1.2 gssencmode=prefer krbsrvname=postgres target_session_attrs=any",
                conn_str_value(user), self.address, self.port
            );
            let _ = db
                .settings
                .alter_system("primary_conninfo", Some(&conninfo));
        }
        let mut node = Node::with_database(name, 0, self.port, db, files);
        node.history_files = self.history_files.clone();
        node.history = self.history.clone();
        node.state = RunState::Stopped;
        Ok(node)
    }
}

/// What `pg_basebackup` writes so that the copy starts as a standby.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryConf {
    /// No `-R`: a plain copy.
    None,
    /// `-R` as PostgreSQL 15 writes it: `standby.signal` and a
    /// `primary_conninfo` without `application_name`, so the standby
    /// reports as `cluster_name`, or else `walreceiver`.
    Written,
    /// `-R` plus `application_name=<the copy's name>` in `primary_conninfo`,
    /// as pgplay's presets (and the real-server test harness) set standbys up.
    WrittenNamed,
}

impl RecoveryConf {
    /// `-R` given or not, for a learner's `pg_basebackup`.
    pub fn from_flag(write_recovery_conf: bool) -> RecoveryConf {
        if write_recovery_conf {
            RecoveryConf::Written
        } else {
            RecoveryConf::None
        }
    }
}

/// A conninfo value as pg_basebackup -R writes it (libpq's `appendConnStrVal`): bare when it is
/// only ASCII letters, digits, `_` and `.`, otherwise quoted with `'` and `\` escaped.
fn conn_str_value(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if bare {
        return value.to_string();
    }
    let mut quoted = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}
