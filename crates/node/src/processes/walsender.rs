//! The walsender: PostgreSQL's process for one standby (or
//! `pg_basebackup`) connected for replication. Its protocol state machine is
//! `pgplay_replication::WalSender`; this module is the node's side of it:
//! admitting the connection (pg_hba.conf, the role, `max_wal_senders`),
//! refusing a slot that cannot be acquired, giving each walsender a view of
//! this node's WAL and carrying out what it returns, and keeping the
//! replication slots in step with the walsenders streaming through them.

use pgplay_replication::ConnId;
use pgplay_replication::{HbaVerdict, Message, SenderOutput, ServerError, SourceView, WalSender};
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use super::micros_from_ms;
use crate::{Node, Output};

/// One walsender's positions and replay lag (µs), for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderInfo {
    /// The id of the node whose walreceiver opened the connection.
    pub standby_id: u32,
    pub application_name: String,
    pub state: String,
    pub sent: Lsn,
    pub write: Lsn,
    pub flush: Lsn,
    pub replay: Lsn,
    pub replay_lag: Option<Timestamp>,
    /// `pg_stat_replication.sync_state`: async, potential, sync or quorum.
    pub sync_state: &'static str,
}

impl Node {
    /// What PostgreSQL checks before a replication connection gets a
    /// walsender: pg_hba.conf, the password, the role's LOGIN and
    /// REPLICATION attributes, its connection limit and `max_wal_senders`.
    /// Errors are what the client sees; FATAL ones are logged here too.
    pub(crate) fn authorize_replication(
        &mut self,
        client_addr: &str,
        user: &str,
        password: Option<&str>,
    ) -> Result<u32, ServerError> {
        let verdict = self.hba.check_replication(client_addr, user);
        let fatal = |code: &str, message: String| ServerError::fatal(code, message);
        match verdict {
            HbaVerdict::NoEntry => {
                return Err(fatal("28000", format!(
                    "no pg_hba.conf entry for replication connection from host \"{client_addr}\", user \"{user}\", no encryption"
                )))
            }
            HbaVerdict::Reject => {
                return Err(fatal("28000", format!(
                    "pg_hba.conf rejects replication connection for host \"{client_addr}\", user \"{user}\", no encryption"
                )))
            }
            _ => {}
        }
        let role = self
            .db
            .committed_catalog()
            .ok()
            .and_then(|c| c.roles.get(user).cloned());
        if verdict == HbaVerdict::Password {
            let Some(given) = password else {
                // libpq gives up before the server logs anything.
                return Err(ServerError {
                    severity: "fe_sendauth".into(),
                    code: "08004".into(),
                    message: "no password supplied".into(),
                    detail: None,
                });
            };
            if role.as_ref().and_then(|r| r.password.as_deref()) != Some(given) {
                return Err(fatal(
                    "28P01",
                    format!("password authentication failed for user \"{user}\""),
                ));
            }
        }
        let Some(role) = role else {
            return Err(fatal("28000", format!("role \"{user}\" does not exist")));
        };
        if !role.login {
            return Err(fatal(
                "28000",
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        if !role.replication && !role.superuser {
            return Err(fatal(
                "42501",
                "must be superuser or replication role to start walsender".to_string(),
            ));
        }
        // A role's CONNECTION LIMIT does not apply to replication connections: PostgreSQL 15
        // neither checks it for a walsender nor counts walsenders against it (a standby and a
        // pg_basebackup as a role WITH CONNECTION LIMIT 1 both get in); max_wal_senders
        // bounds them instead.
        let max = usize::try_from(self.setting_i64("max_wal_senders")).unwrap_or(0);
        if self.senders.len() >= max {
            return Err(fatal(
                "53300",
                format!(
                    "number of requested standby connections exceeds max_wal_senders (currently {max})"
                ),
            ));
        }
        Ok(role.oid)
    }

    /// A replication connection's startup packet: a walsender starts if
    /// [`Node::authorize_replication`] allows it.
    pub(super) fn accept_startup(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        user: &str,
        application_name: &str,
        password: Option<&str>,
    ) {
        let Some((client_addr, client_port)) = self.incoming.get(&conn).cloned() else {
            return;
        };
        if let Err(error) = self.authorize_replication(&client_addr, user, password) {
            if error.severity == "FATAL" {
                self.push_log(error.text());
            }
            self.emit(Output::Send {
                conn,
                message: Message::Error(error),
            });
            self.emit(Output::Close { conn });
            self.incoming.remove(&conn);
            return;
        }
        self.incoming.remove(&conn);
        let pid = self.new_pid();
        let sender = WalSender::new(
            conn,
            pid,
            user,
            application_name,
            &client_addr,
            client_port,
            now,
        );
        self.senders.insert(conn, sender);
        self.emit(Output::Send {
            conn,
            message: Message::Ready,
        });
    }

    pub(super) fn sender_message(&mut self, now: Timestamp, conn: ConnId, message: Message) {
        if let Message::StartReplication {
            start,
            timeline,
            slot: Some(slot),
        } = &message
        {
            if let Some((code, text)) = pgplay_engine::slots::acquire_error(&self.db, slot) {
                let statement = pgplay_replication::protocol::start_replication_text(
                    *start,
                    *timeline,
                    Some(slot),
                );
                self.push_log(format!("ERROR:  {text}\nSTATEMENT:  {statement}"));
                self.emit(Output::Send {
                    conn,
                    message: Message::Error(ServerError::error(code, text)),
                });
                return;
            }
        }
        let mut message = Some(message);
        let outputs = self.with_sender(conn, &mut |sender, view| match message.take() {
            Some(message) => sender.handle(now, message, view),
            None => Vec::new(),
        });
        self.apply_sender_outputs(conn, outputs);
        self.follow_slots();
        // A standby's reply may confirm commits waiting for it.
        self.release_sync_waiters();
    }

    /// Slots follow their walsenders: active while one streams through
    /// them, `restart_lsn` at what its standby flushed.
    pub(crate) fn follow_slots(&mut self) {
        let pids: Vec<i32> = self.senders.values().map(|s| s.pid).collect();
        let stale: Vec<i32> = self
            .db
            .slots
            .values()
            .filter_map(|s| s.active_pid)
            .filter(|pid| !pids.contains(pid))
            .collect();
        for pid in stale {
            self.db.slot_released(pid);
        }
        let using: Vec<(String, i32, Lsn)> = self
            .senders
            .values()
            .filter_map(|s| Some((s.slot.clone()?, s.pid, s.flush)))
            .collect();
        for (slot, pid, flush) in using {
            self.db.slot_acquired(&slot, pid);
            self.db.slot_confirmed(&slot, flush);
        }
        // hot_standby_feedback holds VACUUM back: through the slot's xmin
        // when the standby streams through one, else the walsender's own.
        self.db.feedback_xmins = self
            .senders
            .values()
            .filter(|s| s.slot.is_none())
            .filter_map(|s| Some((s.pid, s.feedback_xmin?)))
            .collect();
        let slot_xmins: Vec<(String, Option<u32>)> = self
            .senders
            .values()
            .filter_map(|s| Some((s.slot.clone()?, s.feedback_xmin)))
            .collect();
        for (slot, xmin) in slot_xmins {
            if let Some(slot) = self.db.slots.get_mut(&slot) {
                slot.xmin = xmin;
            }
        }
    }

    fn apply_sender_outputs(&mut self, conn: ConnId, outputs: Vec<SenderOutput>) {
        for output in outputs {
            match output {
                SenderOutput::Send(message) => self.emit(Output::Send { conn, message }),
                SenderOutput::Close => {
                    self.senders.remove(&conn);
                    self.emit(Output::Close { conn });
                }
                SenderOutput::Log(line) => self.push_log(line),
            }
        }
    }

    /// Runs `f` on every walsender with a view of this node's WAL, then
    /// carries out what it returns.
    fn each_sender(
        &mut self,
        mut f: impl FnMut(&mut WalSender, &SourceView<'_>) -> Vec<SenderOutput>,
    ) {
        let conns: Vec<ConnId> = self.senders.keys().copied().collect();
        for conn in conns {
            let outputs = self.with_sender(conn, &mut f);
            self.apply_sender_outputs(conn, outputs);
        }
    }

    /// Runs `f` on one walsender with a view of this node's WAL.
    fn with_sender(
        &mut self,
        conn: ConnId,
        f: &mut impl FnMut(&mut WalSender, &SourceView<'_>) -> Vec<SenderOutput>,
    ) -> Vec<SenderOutput> {
        let timeout = micros_from_ms(self.setting_i64("wal_sender_timeout"));
        let Some(sender) = self.senders.get_mut(&conn) else {
            return Vec::new();
        };
        let view = SourceView {
            wal: &self.db.wal,
            send_upto: self.db.wal.flush_lsn(),
            history: &self.history,
            history_files: &self.history_files,
            system_identifier: self.db.control.system_identifier,
            timeout,
        };
        f(sender, &view)
    }

    /// Every walsender sends what it can.
    pub(crate) fn poll_senders(&mut self, now: Timestamp) {
        self.each_sender(|sender, view| sender.poll(now, view));
    }

    /// A clean stop: each walsender ends its stream with CopyDone.
    pub(crate) fn shutdown_senders(&mut self) {
        self.each_sender(|sender, view| sender.shutdown(view));
    }

    /// Each walsender as the UI shows it.
    pub fn sender_positions(&self) -> Vec<SenderInfo> {
        self.senders
            .values()
            .zip(self.sync_states())
            .map(|(s, (_, sync))| SenderInfo {
                standby_id: s.conn.opener(),
                application_name: s.application_name.clone(),
                state: s.state.name().to_string(),
                sent: s.sent,
                write: s.write,
                flush: s.flush,
                replay: s.apply,
                replay_lag: s.lag.lags[2],
                sync_state: sync.name(),
            })
            .collect()
    }
}

/// The segments a walsender that has sent up to `sent` still has to read
/// for a standby that last answered when the WAL up to `answered` was
/// sendable: the one it is in the middle of, and each holding bytes of
/// `[sent, answered)`.
pub(super) fn segments_to_send(
    size: pgplay_wal::SegmentSize,
    sent: Lsn,
    answered: Lsn,
) -> impl Iterator<Item = u64> {
    let first = size.segment_of(sent);
    let reading = !sent.0.is_multiple_of(size.bytes());
    let last = (answered > sent).then(|| size.segment_of(Lsn(answered.0 - 1)));
    let end = match (last, reading) {
        (Some(last), _) => last + 1,
        (None, true) => first + 1,
        (None, false) => first,
    };
    first..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walsender_keeps_the_segments_it_still_has_to_send() {
        let size = pgplay_wal::SegmentSize::new(1 << 20).unwrap();
        let kept = |sent: u64, answered: u64| -> Vec<u64> {
            segments_to_send(size, Lsn(sent), Lsn(answered)).collect()
        };
        // In the middle of segment 3, nothing newer answered: segment 3.
        assert_eq!(kept(0x380000, 0x380000), [3]);
        // At the start of segment 3 with nothing to send: nothing is open.
        assert_eq!(kept(0x300000, 0x300000), Vec::<u64>::new());
        // Flushed up to the end of segment 5 when the standby answered.
        assert_eq!(kept(0x380000, 0x600000), [3, 4, 5]);
        assert_eq!(kept(0x300000, 0x600010), [3, 4, 5, 6]);
    }
}
