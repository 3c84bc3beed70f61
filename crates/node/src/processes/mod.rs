//! The node's server processes, one module each, as PostgreSQL runs them:
//! [`walsender`] (one per standby that connects), [`walreceiver`] (a
//! standby's connection upstream), [`startup`] (replay of what arrives),
//! [`checkpointer`] (timed checkpoints and the removal of old WAL),
//! [`activity`] (the rows of the process views and the delivery of
//! signals) and [`basebackup`] (the server's half of `pg_basebackup`). The
//! archiver, the WAL writer and synchronous replication have their own
//! modules beside this one.
//!
//! What is left here is the postmaster's part: routing each replication
//! connection to its process ([`Node::handle_peer`]), closing them all, and
//! the node's one timer entry ([`Node::handle_timeout`] and
//! [`Node::poll_timeout`]), which lists every process's timer so a driver
//! needs to ask one place.

mod activity;
mod basebackup;
mod checkpointer;
mod recovery_conflict;
mod startup;
mod walreceiver;
mod walsender;

pub use basebackup::RecoveryConf;
pub(crate) use recovery_conflict::ConflictWait;
pub use walsender::SenderInfo;

use pgplay_engine::setting;
use pgplay_replication::receiver::Ids;
use pgplay_replication::{ConnId, Message};
use pgplay_wal::time::Timestamp;

use crate::{Node, Output, RunState};

/// What happens on one replication connection, as the driver tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// Our connection attempt reached the server.
    Connected,
    /// Nothing listens at that address, or the network is down.
    Refused,
    /// A client connected to us from this address and port.
    Accepted {
        client_addr: String,
        client_port: u16,
    },
    Message(Message),
    /// The other end closed the connection, or it broke.
    Closed,
}

struct NodeIds<'a> {
    id: u32,
    next_conn: &'a mut u32,
    next_pid: &'a mut i32,
}

impl Ids for NodeIds<'_> {
    fn conn(&mut self) -> ConnId {
        let conn = ConnId((u64::from(self.id) << 32) | u64::from(*self.next_conn));
        *self.next_conn += 1;
        conn
    }
    fn pid(&mut self) -> i32 {
        *self.next_pid += 1;
        *self.next_pid
    }
}

fn micros_from_ms(ms: i64) -> Timestamp {
    ms.saturating_mul(1000)
}

impl Node {
    pub(crate) fn close_all_connections(&mut self) {
        let conns: Vec<ConnId> = self
            .senders
            .keys()
            .chain(self.incoming.keys())
            .copied()
            .collect();
        self.senders.clear();
        self.incoming.clear();
        for conn in conns {
            self.emit(Output::Close { conn });
        }
        if let Some(receiver) = self.receiver.take() {
            if let Some(conn) = receiver.conn {
                self.emit(Output::Close { conn });
            }
        }
    }

    // ----- inputs ------------------------------------------------------------

    /// Something happened on replication connection `conn`.
    pub fn handle_peer(&mut self, now: Timestamp, conn: ConnId, event: PeerEvent) {
        if self.state != RunState::Running {
            if !matches!(event, PeerEvent::Closed | PeerEvent::Refused) {
                self.emit(Output::Close { conn });
            }
            return;
        }
        self.db.now = now;
        let ours = self.receiver.as_ref().and_then(|r| r.conn) == Some(conn);
        if ours {
            match event {
                PeerEvent::Connected => {
                    self.with_receiver(now, |r, v, _| r.handle_connected(now, v))
                }
                PeerEvent::Refused => self.with_receiver(now, |r, v, _| r.handle_refused(now, v)),
                PeerEvent::Closed => self.with_receiver(now, |r, v, _| r.handle_closed(now, v)),
                PeerEvent::Message(message) => {
                    self.with_receiver(now, |r, v, _| r.handle_message(now, message, v))
                }
                PeerEvent::Accepted { .. } => {}
            }
            return;
        }
        match event {
            PeerEvent::Accepted {
                client_addr,
                client_port,
            } => {
                self.incoming.insert(conn, (client_addr, client_port));
            }
            PeerEvent::Message(Message::Startup {
                user,
                application_name,
                password,
            }) => self.accept_startup(now, conn, &user, &application_name, password.as_deref()),
            PeerEvent::Message(message) => self.sender_message(now, conn, message),
            PeerEvent::Closed => {
                self.incoming.remove(&conn);
                self.senders.remove(&conn);
            }
            PeerEvent::Connected | PeerEvent::Refused => {}
        }
    }

    /// After any change: ship new WAL.
    pub(crate) fn pump(&mut self, now: Timestamp) {
        if self.state == RunState::Running {
            self.poll_senders(now);
            self.follow_slots();
            self.release_sync_waiters();
            self.run_archiver(now);
        }
    }

    /// Timers: the checkpointer, the autovacuum launcher, the WAL writer, walsender keepalives and
    /// timeouts, walreceiver retries, status updates and its timeout.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.state != RunState::Running {
            return;
        }
        self.db.now = now;
        if let Some(due) = self.next_checkpoint() {
            if now >= due {
                // The checkpointer's timed checkpoint (checkpoint_timeout).
                self.push_log("LOG:  checkpoint starting: time".into());
                self.db.checkpoint(false);
                self.push_log("LOG:  checkpoint complete".into());
            }
        }
        self.autovacuum_timeout(now);
        self.wal_writer_timeout(now);
        self.with_receiver(now, |r, v, ids| r.handle_timeout(now, v, ids));
        if self.replay_delayed_until.is_some_and(|at| now >= at) {
            self.replay_received(now);
        }
        self.poll_senders(now);
        self.run_archiver(now);
        self.recycle_wal();
        self.end_idle_sessions(now);
        self.end_lock_waits_due(now);
    }

    /// When the node next wants [`Node::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.state != RunState::Running {
            return None;
        }
        let timeout = micros_from_ms(self.setting_i64(setting!("wal_sender_timeout")));
        let senders = self
            .senders
            .values()
            .filter_map(|s| s.next_timeout(timeout));
        let receiver = self
            .receiver
            .as_ref()
            .and_then(|r| r.next_timeout(&walreceiver::standby_view(&self.db, &self.history)));
        senders
            .chain(receiver)
            .chain(self.next_checkpoint())
            .chain(self.autovacuum_due())
            .chain(self.wal_writer_due())
            .chain(self.archiver_timeout())
            .chain(self.replay_delayed_until)
            .chain(self.idle_timeout())
            .chain(self.lock_wait_timeout())
            .min()
    }
}
