//! The walsender: one per replication connection on the upstream. It answers
//! `IDENTIFY_SYSTEM`, `TIMELINE_HISTORY` and `START_REPLICATION`, then ships
//! WAL as soon as it is durable upstream, in chunks of at most
//! [`MAX_SEND_SIZE`] and never more than [`MAX_IN_FLIGHT`] bytes ahead of what
//! the standby reported written. A standby's status replies become the
//! positions and lags shown in `pg_stat_replication`.

use std::collections::BTreeMap;

use pgplay_wal::{history_file_name, Lsn, TimeLineId, WalLog};

use crate::lag::LagTracker;
use crate::protocol::{ConnId, Message, ServerError};
use crate::timeline::TimelineHistory;
use crate::{Timestamp, MAX_IN_FLIGHT, MAX_SEND_SIZE};

/// What the upstream node shows a walsender.
pub struct SourceView<'a> {
    pub wal: &'a WalLog,
    /// WAL that may be sent: flushed WAL on a primary, received WAL on a
    /// cascading standby.
    pub send_upto: Lsn,
    pub history: &'a TimelineHistory,
    pub history_files: &'a BTreeMap<TimeLineId, String>,
    pub system_identifier: u64,
    /// `wal_sender_timeout` in microseconds (0: never).
    pub timeout: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderState {
    Startup,
    Catchup,
    Streaming,
    Stopping,
}

impl SenderState {
    pub fn name(self) -> &'static str {
        match self {
            SenderState::Startup => "startup",
            SenderState::Catchup => "catchup",
            SenderState::Streaming => "streaming",
            SenderState::Stopping => "stopping",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderOutput {
    Send(Message),
    /// The walsender exits and the connection closes.
    Close,
    Log(String),
}

#[derive(Clone, Copy, Debug)]
struct Stream {
    timeline: TimeLineId,
    /// Set when streaming an ancestor timeline: where it ends.
    end: Option<Lsn>,
    /// Where the standby asked to start, for the `STATEMENT:` line of errors.
    start: Lsn,
}

#[derive(Clone, Debug)]
pub struct WalSender {
    pub conn: ConnId,
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub client_addr: String,
    pub client_port: u16,
    pub backend_start: Timestamp,
    pub state: SenderState,
    stream: Option<Stream>,
    pub sent: Lsn,
    pub write: Lsn,
    pub flush: Lsn,
    pub apply: Lsn,
    pub reply_time: Option<Timestamp>,
    pub lag: LagTracker,
    /// The physical replication slot it streams through, if any.
    pub slot: Option<String>,
    /// The xmin of the standby's last hot_standby_feedback, if any.
    pub feedback_xmin: Option<u32>,
    /// Start of the window of bytes in flight: the stream start or the
    /// standby's write position, whichever is later.
    acked: Lsn,
    last_reply: Timestamp,
    /// What could be sent when the standby last answered: WAL flushed
    /// before a live standby's answer is WAL it is draining.
    answered_upto: Lsn,
    waiting_for_ping: bool,
}

impl WalSender {
    pub fn new(
        conn: ConnId,
        pid: i32,
        user: &str,
        application_name: &str,
        client_addr: &str,
        client_port: u16,
        now: Timestamp,
    ) -> WalSender {
        WalSender {
            conn,
            pid,
            user: user.into(),
            application_name: application_name.into(),
            client_addr: client_addr.into(),
            client_port,
            backend_start: now,
            state: SenderState::Startup,
            stream: None,
            sent: Lsn::INVALID,
            write: Lsn::INVALID,
            flush: Lsn::INVALID,
            apply: Lsn::INVALID,
            reply_time: None,
            slot: None,
            feedback_xmin: None,
            lag: LagTracker::default(),
            acked: Lsn::INVALID,
            last_reply: now,
            answered_upto: Lsn::INVALID,
            waiting_for_ping: false,
        }
    }

    /// Is WAL being streamed on this connection (it counts for `pg_stat_replication`)?
    pub fn is_streaming(&self) -> bool {
        self.stream.is_some() || self.state != SenderState::Startup
    }

    /// While it streams: where it reads WAL next, and up to where the WAL
    /// was sendable when its standby last answered (`Node::recycle_wal`
    /// keeps the segments between, see there why).
    pub fn still_to_send(&self) -> Option<(Lsn, Lsn)> {
        self.stream
            .map(|_| (self.sent, self.answered_upto.max(self.sent)))
    }

    pub fn handle(
        &mut self,
        now: Timestamp,
        message: Message,
        view: &SourceView<'_>,
    ) -> Vec<SenderOutput> {
        let mut out = Vec::new();
        match message {
            Message::IdentifySystem => out.push(SenderOutput::Send(Message::SystemIdentity {
                system_identifier: view.system_identifier,
                timeline: view.history.timeline,
                xlogpos: view.send_upto,
            })),
            Message::TimelineHistory { timeline } => match view.history_files.get(&timeline) {
                Some(content) => out.push(SenderOutput::Send(Message::HistoryFile {
                    timeline,
                    file_name: history_file_name(timeline),
                    content: content.clone(),
                })),
                None => out.push(SenderOutput::Send(Message::Error(ServerError::error(
                    "58P01",
                    format!(
                        "could not open file \"pg_wal/{}\": No such file or directory",
                        history_file_name(timeline)
                    ),
                )))),
            },
            Message::StartReplication {
                start,
                timeline,
                slot,
            } => match self.start_replication(start, timeline, view) {
                Ok(()) => {
                    self.slot = slot;
                    out.push(SenderOutput::Send(Message::CopyBoth));
                    out.extend(self.poll(now, view));
                }
                Err(error) => out.push(SenderOutput::Send(Message::Error(error))),
            },
            Message::StandbyStatus {
                write,
                flush,
                apply,
                time,
                reply_requested,
            } => {
                self.write = write;
                self.flush = flush;
                self.apply = apply;
                self.reply_time = Some(time);
                self.acked = self.acked.max(write);
                self.last_reply = now;
                self.answered_upto = view.send_upto;
                self.waiting_for_ping = false;
                let caught_up = write >= self.sent && flush >= self.sent && apply >= self.sent;
                self.lag.reply([write, flush, apply], now, caught_up);
                if reply_requested {
                    out.push(SenderOutput::Send(self.keepalive(now, view, false)));
                }
                out.extend(self.poll(now, view));
            }
            Message::HotStandbyFeedback { xmin, .. } => {
                self.feedback_xmin = (xmin != 0).then_some(xmin);
                self.last_reply = now;
            }
            Message::Terminate => {
                self.state = SenderState::Stopping;
                out.push(SenderOutput::Close);
            }
            other => out.push(SenderOutput::Send(Message::Error(ServerError::fatal(
                "08P01",
                format!("invalid replication message: {}", other.describe()),
            )))),
        }
        out
    }

    fn start_replication(
        &mut self,
        start: Lsn,
        timeline: TimeLineId,
        view: &SourceView<'_>,
    ) -> Result<(), ServerError> {
        let history = view.history;
        let end = if timeline == history.timeline {
            None
        } else if let Some(switchpoint) = history.switchpoint(timeline) {
            if start > switchpoint {
                return Err(ServerError::error(
                    "58P01",
                    format!(
                        "requested starting point {start} on timeline {} is not in this server's history",
                        timeline.0
                    ),
                )
                .with_detail(format!(
                    "This server's history forked from timeline {} at {switchpoint}.",
                    timeline.0
                )));
            }
            Some(switchpoint)
        } else {
            return Err(ServerError::error(
                "58P01",
                format!(
                    "requested timeline {} is not in this server's history",
                    timeline.0
                ),
            ));
        };
        if end.is_none() && start > view.send_upto {
            return Err(ServerError::error(
                "58P01",
                format!(
                    "requested starting point {start} is ahead of the WAL flush position of this server {}",
                    view.send_upto
                ),
            ));
        }
        self.stream = Some(Stream {
            timeline,
            end,
            start,
        });
        self.sent = start;
        self.acked = start;
        self.state = SenderState::Catchup;
        Ok(())
    }

    /// As in PostgreSQL, START_REPLICATION succeeds and the walsender fails
    /// on reading WAL that a checkpoint already removed.
    fn removed_segment(&self, stream: &Stream, view: &SourceView<'_>) -> Option<ServerError> {
        let size = view.wal.segment_size();
        let segno = size.segment_of(self.sent);
        let needed = self.sent < view.send_upto.min(view.wal.insert_lsn());
        (needed && !view.wal.has_segment(segno)).then(|| {
            ServerError::error(
                "58P01",
                format!(
                    "requested WAL segment {} has already been removed",
                    size.file_name(stream.timeline, segno)
                ),
            )
        })
    }

    /// The replication command this walsender runs, as PostgreSQL's log
    /// quotes it in `STATEMENT:` lines.
    pub fn statement(&self) -> Option<String> {
        self.stream.map(|s| {
            crate::protocol::start_replication_text(s.start, s.timeline, self.slot.as_deref())
        })
    }

    /// An ERROR ends a walsender: logged with the command it was running,
    /// sent to the standby, connection closed.
    fn fail(&mut self, stream: Stream, error: ServerError) -> Vec<SenderOutput> {
        self.stream = None;
        self.state = SenderState::Stopping;
        vec![
            SenderOutput::Log(format!(
                "ERROR:  {}\nSTATEMENT:  {}",
                error.message,
                crate::protocol::start_replication_text(
                    stream.start,
                    stream.timeline,
                    self.slot.as_deref()
                )
            )),
            SenderOutput::Send(Message::Error(error)),
            SenderOutput::Close,
        ]
    }

    fn keepalive(&self, now: Timestamp, view: &SourceView<'_>, reply: bool) -> Message {
        Message::Keepalive {
            wal_end: view.send_upto,
            send_time: now,
            reply_requested: reply,
        }
    }

    /// Sends what can be sent now; keepalives and the timeout too.
    pub fn poll(&mut self, now: Timestamp, view: &SourceView<'_>) -> Vec<SenderOutput> {
        let mut out = Vec::new();
        if view.timeout > 0 && now >= self.last_reply + view.timeout && self.stream.is_some() {
            out.push(SenderOutput::Log(
                "LOG:  terminating walsender process due to replication timeout".into(),
            ));
            self.state = SenderState::Stopping;
            out.push(SenderOutput::Close);
            return out;
        }
        let Some(mut stream) = self.stream else {
            return out;
        };
        if stream.end.is_none() {
            // A cascading walsender whose server was promoted (or followed
            // a new timeline): the timeline it streams is now historic and
            // ends at the switchpoint, as PostgreSQL's XLogSendPhysical
            // finds out ("becameHistoric").
            stream.end = view.history.switchpoint(stream.timeline);
            self.stream = Some(stream);
        }
        if let Some(error) = self.removed_segment(&stream, view) {
            return self.fail(stream, error);
        }
        let upto = stream
            .end
            .unwrap_or(view.send_upto)
            .min(view.wal.insert_lsn());
        while self.sent < upto {
            let window_end = Lsn(self.acked.0 + MAX_IN_FLIGHT);
            let chunk_end = upto.min(Lsn(self.sent.0 + MAX_SEND_SIZE)).min(window_end);
            if chunk_end <= self.sent {
                break;
            }
            out.push(SenderOutput::Send(Message::XLogData {
                start: self.sent,
                wal_end: upto,
                send_time: now,
                data: view.wal.read_raw(self.sent, chunk_end),
            }));
            self.lag.sent(chunk_end, now);
            self.sent = chunk_end;
        }
        if let Some(end) = stream.end {
            if self.sent >= end {
                let next_timeline = view
                    .history
                    .successor(stream.timeline)
                    .unwrap_or(view.history.timeline);
                out.push(SenderOutput::Send(Message::EndOfTimeline {
                    next_timeline,
                    switchpoint: end,
                }));
                self.stream = None;
                self.state = SenderState::Startup;
                return out;
            }
        }
        if self.state == SenderState::Catchup && self.sent >= view.send_upto {
            self.state = SenderState::Streaming;
        }
        if view.timeout > 0 && !self.waiting_for_ping && now >= self.last_reply + view.timeout / 2 {
            out.push(SenderOutput::Send(self.keepalive(now, view, true)));
            self.waiting_for_ping = true;
        }
        out
    }

    /// The upstream shuts down: after the WAL already sent (the caller
    /// polled first), say where streaming ended.
    pub fn shutdown(&mut self, view: &SourceView<'_>) -> Vec<SenderOutput> {
        self.state = SenderState::Stopping;
        if self.stream.is_none() {
            return vec![SenderOutput::Close];
        }
        vec![
            SenderOutput::Send(Message::CopyDone {
                end: self.sent.min(view.send_upto),
            }),
            SenderOutput::Close,
        ]
    }

    /// When [`WalSender::poll`] next has something to do on its own.
    pub fn next_timeout(&self, timeout: Timestamp) -> Option<Timestamp> {
        if timeout <= 0 || self.stream.is_none() {
            return None;
        }
        Some(if self.waiting_for_ping {
            self.last_reply + timeout
        } else {
            self.last_reply + timeout / 2
        })
    }
}
