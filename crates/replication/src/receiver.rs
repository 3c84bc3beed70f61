//! The walreceiver of a standby: connects to the upstream named by
//! `primary_conninfo`, checks the system identifier and timelines, streams
//! WAL and reports what it wrote, flushed and applied. When the connection
//! fails it waits `wal_retrieve_retry_interval` and tries again, as
//! PostgreSQL's startup process restarts its walreceiver.

use pgplay_wal::{Lsn, SegmentSize, TimeLineId};

use crate::conninfo::ConnInfo;
use crate::protocol::{ConnId, Message, ServerError};
use crate::timeline::TimelineHistory;
use crate::Timestamp;

/// What the standby's node shows its walreceiver.
pub struct StandbyView<'a> {
    pub system_identifier: u64,
    pub history: &'a TimelineHistory,
    /// End of the WAL written locally.
    pub flush: Lsn,
    /// End of the last record replayed.
    pub replay: Lsn,
    pub segment_size: SegmentSize,
    /// `wal_receiver_status_interval`, `wal_receiver_timeout` and
    /// `wal_retrieve_retry_interval` in microseconds.
    pub status_interval: Timestamp,
    pub receiver_timeout: Timestamp,
    pub retry_interval: Timestamp,
    /// `application_name` when primary_conninfo names none (`cluster_name` or `walreceiver`).
    pub default_application_name: &'a str,
    /// `primary_slot_name` (empty: stream without a slot).
    pub slot_name: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiverOutput {
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
    Send {
        conn: ConnId,
        message: Message,
    },
    Close {
        conn: ConnId,
    },
    Log(String),
    /// Write received WAL at `at` and flush it.
    Write {
        at: Lsn,
        data: Vec<u8>,
    },
    /// Keep a history file fetched from upstream.
    SaveHistory {
        history: TimelineHistory,
        content: String,
    },
    /// Recovery follows `timeline` from here on.
    NewTimeline {
        timeline: TimeLineId,
    },
}

/// `pg_stat_wal_receiver.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverStatus {
    Starting,
    Streaming,
    Waiting,
    Stopping,
    Stopped,
}

impl ReceiverStatus {
    pub fn name(self) -> &'static str {
        match self {
            ReceiverStatus::Starting => "starting",
            ReceiverStatus::Streaming => "streaming",
            ReceiverStatus::Waiting => "waiting",
            ReceiverStatus::Stopping => "stopping",
            ReceiverStatus::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Authenticating,
    /// IDENTIFY_SYSTEM sent; `restarted`: after a timeline's end, so the
    /// stream that follows is "restarted" in the log.
    Identifying {
        restarted: bool,
    },
    /// TIMELINE_HISTORY sent; `end_of_timeline`: the upstream ended our
    /// timeline's stream, and this history names the next one.
    FetchingHistory {
        end_of_timeline: bool,
    },
    StartingStream {
        restarted: bool,
    },
    Streaming,
    /// Disconnected; try again at this time.
    Waiting {
        retry_at: Timestamp,
    },
}

/// Ids for new connections and new walreceiver processes.
pub trait Ids {
    fn conn(&mut self) -> ConnId;
    fn pid(&mut self) -> i32;
}

#[derive(Clone, Debug)]
pub struct WalReceiver {
    pub conninfo: ConnInfo,
    pub pid: i32,
    pub conn: Option<ConnId>,
    phase: Phase,
    /// Timeline being streamed.
    pub timeline: TimeLineId,
    pub receive_start_lsn: Lsn,
    pub receive_start_tli: TimeLineId,
    pub written_lsn: Lsn,
    pub flushed_lsn: Lsn,
    pub last_msg_send_time: Option<Timestamp>,
    pub last_msg_receipt_time: Option<Timestamp>,
    pub latest_end_lsn: Lsn,
    pub latest_end_time: Option<Timestamp>,
    last_status: Option<[Lsn; 3]>,
    /// The xmin last sent as hot_standby_feedback (None: none sent, or
    /// feedback stopped and said so).
    last_feedback: Option<u32>,
    last_status_time: Timestamp,
    last_receive: Timestamp,
    /// When the last connection attempt began: PostgreSQL's startup process
    /// starts at most one walreceiver per `wal_retrieve_retry_interval`.
    last_attempt: Timestamp,
    /// The slot it streams through (`pg_stat_wal_receiver.slot_name`).
    pub slot_name: Option<String>,
    /// A status asking for a reply went out since the last message came in
    /// (PostgreSQL's `ping_sent`, at half of `wal_receiver_timeout`).
    ping_sent: bool,
}

impl WalReceiver {
    /// A walreceiver that connects at once.
    pub fn start(
        now: Timestamp,
        conninfo: ConnInfo,
        view: &StandbyView<'_>,
        ids: &mut dyn Ids,
    ) -> (WalReceiver, Vec<ReceiverOutput>) {
        let mut receiver = WalReceiver {
            conninfo,
            pid: 0,
            conn: None,
            phase: Phase::Waiting { retry_at: now },
            timeline: view.history.timeline,
            receive_start_lsn: Lsn::INVALID,
            receive_start_tli: TimeLineId(0),
            written_lsn: Lsn::INVALID,
            flushed_lsn: Lsn::INVALID,
            last_msg_send_time: None,
            last_msg_receipt_time: None,
            latest_end_lsn: Lsn::INVALID,
            latest_end_time: None,
            last_status: None,
            last_feedback: None,
            last_status_time: now,
            last_receive: now,
            last_attempt: Timestamp::MIN / 2,
            slot_name: None,
            ping_sent: false,
        };
        let out = receiver.connect(now, view, ids);
        (receiver, out)
    }

    pub fn status(&self) -> ReceiverStatus {
        match self.phase {
            Phase::Streaming => ReceiverStatus::Streaming,
            Phase::Waiting { .. } => ReceiverStatus::Waiting,
            _ => ReceiverStatus::Starting,
        }
    }

    /// Is there a walreceiver process right now (`pg_stat_wal_receiver` has a row)?
    pub fn is_running(&self) -> bool {
        !matches!(self.phase, Phase::Waiting { .. })
    }

    pub fn is_streaming(&self) -> bool {
        self.phase == Phase::Streaming
    }

    fn connect(
        &mut self,
        now: Timestamp,
        view: &StandbyView<'_>,
        ids: &mut dyn Ids,
    ) -> Vec<ReceiverOutput> {
        let conn = ids.conn();
        self.pid = ids.pid();
        self.conn = Some(conn);
        self.phase = Phase::Connecting;
        self.last_attempt = now;
        self.last_receive = now;
        self.ping_sent = false;
        self.last_status = None;
        self.timeline = view.history.timeline;
        vec![ReceiverOutput::Connect {
            conn,
            host: self.conninfo.host.clone(),
            port: self.conninfo.port,
        }]
    }

    fn server_text(&self) -> String {
        format!(
            "connection to server at \"{}\", port {} failed",
            self.conninfo.host, self.conninfo.port
        )
    }

    /// Ends this attempt: log `lines`, close, and retry later.
    fn fail(
        &mut self,
        now: Timestamp,
        view: &StandbyView<'_>,
        lines: Vec<String>,
    ) -> Vec<ReceiverOutput> {
        let mut out: Vec<ReceiverOutput> = lines.into_iter().map(ReceiverOutput::Log).collect();
        if let Some(conn) = self.conn.take() {
            out.push(ReceiverOutput::Close { conn });
        }
        // A stream that ran for a while is retried at once; a connection
        // that failed soon after it was tried waits out the interval.
        self.phase = Phase::Waiting {
            retry_at: now.max(self.last_attempt + view.retry_interval),
        };
        out
    }

    /// The network could not reach the upstream.
    pub fn handle_refused(
        &mut self,
        now: Timestamp,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        self.conn = None;
        let line = format!(
            "FATAL:  could not connect to the primary server: {}: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
            self.server_text()
        );
        self.fail(now, view, vec![line])
    }

    /// The connection is up: send the startup packet.
    pub fn handle_connected(
        &mut self,
        now: Timestamp,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        self.phase = Phase::Authenticating;
        self.last_receive = now;
        self.ping_sent = false;
        let application_name = self
            .conninfo
            .application_name
            .clone()
            .unwrap_or_else(|| view.default_application_name.to_string());
        self.send(Message::Startup {
            user: self.conninfo.user.clone(),
            application_name,
            password: self.conninfo.password.clone(),
        })
    }

    /// The upstream closed the connection or it broke.
    pub fn handle_closed(&mut self, now: Timestamp, view: &StandbyView<'_>) -> Vec<ReceiverOutput> {
        self.conn = None;
        let line = match self.phase {
            Phase::Streaming | Phase::StartingStream { .. } => "FATAL:  could not receive data from WAL stream: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.".to_string(),
            Phase::Waiting { .. } => return Vec::new(),
            _ => format!(
                "FATAL:  could not connect to the primary server: {}: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.",
                self.server_text()
            ),
        };
        self.fail(now, view, vec![line])
    }

    fn send(&self, message: Message) -> Vec<ReceiverOutput> {
        match self.conn {
            Some(conn) => vec![ReceiverOutput::Send { conn, message }],
            None => Vec::new(),
        }
    }

    fn start_streaming(&mut self, view: &StandbyView<'_>, restarted: bool) -> Vec<ReceiverOutput> {
        // Like PostgreSQL, ask from the start of the segment holding the next
        // record: the standby may hold a torn record at its end.
        let position = view
            .replay
            .min(view.flush)
            .max(view.segment_size.segment_start(1));
        let segno = view.segment_size.segment_of(position);
        let start = view.segment_size.segment_start(segno);
        self.receive_start_lsn = start;
        self.receive_start_tli = self.timeline;
        self.last_feedback = None;
        self.phase = Phase::StartingStream { restarted };
        self.slot_name = (!view.slot_name.is_empty()).then(|| view.slot_name.to_string());
        self.send(Message::StartReplication {
            start,
            timeline: self.timeline,
            slot: self.slot_name.clone(),
        })
    }

    pub fn handle_message(
        &mut self,
        now: Timestamp,
        message: Message,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        self.last_receive = now;
        self.ping_sent = false;
        match (self.phase.clone(), message) {
            (Phase::Authenticating, Message::Ready) => {
                self.phase = Phase::Identifying { restarted: false };
                self.send(Message::IdentifySystem)
            }
            (Phase::Authenticating, Message::Error(error)) => {
                let line = format!(
                    "FATAL:  could not connect to the primary server: {}: {}",
                    self.server_text(),
                    error.text()
                );
                self.fail(now, view, vec![line])
            }
            (
                Phase::Identifying { restarted },
                Message::SystemIdentity {
                    system_identifier,
                    timeline,
                    ..
                },
            ) => self.identified(now, system_identifier, timeline, restarted, view),
            (
                Phase::FetchingHistory { end_of_timeline },
                Message::HistoryFile {
                    timeline, content, ..
                },
            ) => self.history_fetched(now, timeline, content, end_of_timeline, view),
            (Phase::StartingStream { restarted }, Message::CopyBoth) => {
                self.phase = Phase::Streaming;
                let verb = if restarted {
                    "restarted WAL streaming"
                } else {
                    "started streaming WAL from primary"
                };
                let mut out = vec![ReceiverOutput::Log(format!(
                    "LOG:  {verb} at {} on timeline {}",
                    self.receive_start_lsn, self.timeline.0
                ))];
                // As PostgreSQL's walreceiver: what is replayed locally counts
                // as written and flushed, and a first reply says so at once.
                self.written_lsn = self.written_lsn.max(view.replay);
                self.flushed_lsn = self.flushed_lsn.max(view.replay);
                out.extend(self.report(now, view.replay, true));
                out
            }
            (Phase::StartingStream { .. }, Message::Error(error)) => {
                let line = format!("FATAL:  could not start WAL streaming: {}", error.text());
                self.fail(now, view, vec![line])
            }
            (
                Phase::Streaming,
                Message::XLogData {
                    start,
                    wal_end,
                    send_time,
                    data,
                },
            ) => {
                self.note_upstream(now, send_time, wal_end);
                let end = start.offset(data.len() as u64);
                self.written_lsn = end;
                self.flushed_lsn = end;
                vec![ReceiverOutput::Write { at: start, data }]
            }
            (
                Phase::Streaming,
                Message::Keepalive {
                    wal_end,
                    send_time,
                    reply_requested,
                },
            ) => {
                self.note_upstream(now, send_time, wal_end);
                if reply_requested {
                    self.report(now, view.replay, true)
                } else {
                    Vec::new()
                }
            }
            (
                Phase::Streaming,
                Message::EndOfTimeline {
                    next_timeline,
                    switchpoint,
                },
            ) => self.end_of_timeline(next_timeline, switchpoint, view),
            (Phase::Streaming, Message::CopyDone { end }) => {
                let lines = vec![
                    format!(
                        "LOG:  replication terminated by primary server\nDETAIL:  End of WAL reached on timeline {} at {end}.",
                        self.timeline.0
                    ),
                    "FATAL:  could not send end-of-streaming message to primary: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\nno COPY in progress".to_string(),
                ];
                self.fail(now, view, lines)
            }
            (_, Message::Error(error)) => {
                let line = format!(
                    "FATAL:  could not receive data from WAL stream: {}",
                    error.text()
                );
                self.fail(now, view, vec![line])
            }
            (_, other) => {
                let line = format!(
                    "FATAL:  unexpected message from the primary server: {}",
                    other.describe()
                );
                self.fail(now, view, vec![line])
            }
        }
    }

    fn note_upstream(&mut self, now: Timestamp, send_time: Timestamp, wal_end: Lsn) {
        self.last_msg_send_time = Some(send_time);
        self.last_msg_receipt_time = Some(now);
        if wal_end > self.latest_end_lsn {
            self.latest_end_lsn = wal_end;
            self.latest_end_time = Some(send_time);
        }
    }

    fn identified(
        &mut self,
        now: Timestamp,
        system_identifier: u64,
        upstream_timeline: TimeLineId,
        restarted: bool,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        if system_identifier != view.system_identifier {
            let line = format!(
                "FATAL:  database system identifier differs between the primary and standby\nDETAIL:  The primary's identifier is {system_identifier}, the standby's identifier is {}.",
                view.system_identifier
            );
            return self.fail(now, view, vec![line]);
        }
        if upstream_timeline < self.timeline {
            let line = format!(
                "FATAL:  highest timeline {} of the primary is behind recovery timeline {}",
                upstream_timeline.0, self.timeline.0
            );
            return self.fail(now, view, vec![line]);
        }
        if upstream_timeline > self.timeline {
            return self.fetch_history(upstream_timeline, false);
        }
        self.start_streaming(view, restarted)
    }

    fn fetch_history(
        &mut self,
        timeline: TimeLineId,
        end_of_timeline: bool,
    ) -> Vec<ReceiverOutput> {
        self.phase = Phase::FetchingHistory { end_of_timeline };
        let mut out = vec![ReceiverOutput::Log(format!(
            "LOG:  fetching timeline history file for timeline {} from primary server",
            timeline.0
        ))];
        out.extend(self.send(Message::TimelineHistory { timeline }));
        out
    }

    /// The upstream ended our timeline's stream at `switchpoint` (it was
    /// promoted, or it follows a promotion). As PostgreSQL's walreceiver:
    /// leave COPY mode, fetch the next timeline's history file unless it is
    /// known here, let recovery take that timeline as its target, then run
    /// IDENTIFY_SYSTEM again and stream the new timeline from the start of the
    /// switchpoint's segment.
    fn end_of_timeline(
        &mut self,
        next_timeline: TimeLineId,
        switchpoint: Lsn,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        let mut out = vec![ReceiverOutput::Log(format!(
            "LOG:  replication terminated by primary server\nDETAIL:  End of WAL reached on timeline {} at {switchpoint}.",
            self.timeline.0
        ))];
        if view.history.timeline < next_timeline {
            out.extend(self.fetch_history(next_timeline, true));
        } else {
            out.extend(self.follow_timeline(next_timeline));
        }
        out
    }

    /// Recovery's target becomes `timeline`, whose history is known; the
    /// stream restarts on it after a new IDENTIFY_SYSTEM.
    fn follow_timeline(&mut self, timeline: TimeLineId) -> Vec<ReceiverOutput> {
        let mut out = vec![
            ReceiverOutput::NewTimeline { timeline },
            ReceiverOutput::Log(format!("LOG:  new target timeline is {}", timeline.0)),
        ];
        self.timeline = timeline;
        self.phase = Phase::Identifying { restarted: true };
        out.extend(self.send(Message::IdentifySystem));
        out
    }

    fn history_fetched(
        &mut self,
        now: Timestamp,
        timeline: TimeLineId,
        content: String,
        end_of_timeline: bool,
        view: &StandbyView<'_>,
    ) -> Vec<ReceiverOutput> {
        let history = match TimelineHistory::parse(timeline, &content) {
            Ok(history) => history,
            Err(error) => return self.fail(now, view, vec![format!("FATAL:  {error}")]),
        };
        let mine = self.timeline;
        let mut out = vec![ReceiverOutput::SaveHistory {
            history: history.clone(),
            content,
        }];
        let Some(switchpoint) = history.switchpoint(mine) else {
            out.extend(self.fail(
                now,
                view,
                vec![format!(
                    "LOG:  new timeline {} is not a child of database system timeline {}",
                    timeline.0, mine.0
                )],
            ));
            return out;
        };
        if view.replay > switchpoint {
            out.extend(self.fail(
                now,
                view,
                vec![format!(
                    "LOG:  new timeline {} forked off current database system timeline {} before current recovery point {}",
                    timeline.0,
                    mine.0,
                    view.replay
                )],
            ));
            return out;
        }
        if end_of_timeline {
            out.extend(self.follow_timeline(timeline));
        } else {
            out.extend(self.start_streaming(view, false));
        }
        out
    }

    /// Sends a status update when a position moved, when the upstream asked,
    /// or when `wal_receiver_status_interval` has passed.
    pub fn report(&mut self, now: Timestamp, apply: Lsn, force: bool) -> Vec<ReceiverOutput> {
        if self.phase != Phase::Streaming {
            return Vec::new();
        }
        let positions = [self.written_lsn, self.flushed_lsn, apply];
        if !force && self.last_status == Some(positions) {
            return Vec::new();
        }
        self.last_status = Some(positions);
        self.last_status_time = now;
        self.send(Message::StandbyStatus {
            write: positions[0],
            flush: positions[1],
            apply: positions[2],
            time: now,
            reply_requested: false,
        })
    }

    /// hot_standby_feedback: sends `xmin` (None when the setting is off)
    /// when it changed since the last one sent, as PostgreSQL's
    /// `XLogWalRcvSendHSFeedback` does; turning it off sends 0 once.
    pub fn feedback(&mut self, now: Timestamp, xmin: Option<u32>) -> Vec<ReceiverOutput> {
        if self.phase != Phase::Streaming || self.last_feedback == xmin {
            return Vec::new();
        }
        let sent_before = self.last_feedback.is_some();
        self.last_feedback = xmin;
        match xmin {
            Some(xmin) => self.send(Message::HotStandbyFeedback { time: now, xmin }),
            None if sent_before => self.send(Message::HotStandbyFeedback { time: now, xmin: 0 }),
            None => Vec::new(),
        }
    }

    /// Time-driven work: retries, periodic status, the receive timeout.
    pub fn handle_timeout(
        &mut self,
        now: Timestamp,
        view: &StandbyView<'_>,
        ids: &mut dyn Ids,
    ) -> Vec<ReceiverOutput> {
        match self.phase {
            Phase::Waiting { retry_at } if now >= retry_at => self.connect(now, view, ids),
            Phase::Waiting { .. } => Vec::new(),
            _ if view.receiver_timeout > 0 && now >= self.last_receive + view.receiver_timeout => {
                self.fail(
                    now,
                    view,
                    vec!["FATAL:  terminating walreceiver due to timeout".into()],
                )
            }
            // Quiet for half the timeout: ask the upstream to answer, so an
            // idle but healthy connection is not taken for a dead one.
            Phase::Streaming if self.ping_due(view).is_some_and(|at| now >= at) => {
                self.ping_sent = true;
                self.last_status_time = now;
                self.send(Message::StandbyStatus {
                    write: self.written_lsn,
                    flush: self.flushed_lsn,
                    apply: view.replay,
                    time: now,
                    reply_requested: true,
                })
            }
            Phase::Streaming
                if view.status_interval > 0
                    && now >= self.last_status_time + view.status_interval =>
            {
                self.report(now, view.replay, true)
            }
            _ => Vec::new(),
        }
    }

    /// When to ask the upstream for a reply, if not asked already.
    fn ping_due(&self, view: &StandbyView<'_>) -> Option<Timestamp> {
        (self.phase == Phase::Streaming && view.receiver_timeout > 0 && !self.ping_sent)
            .then(|| self.last_receive + view.receiver_timeout / 2)
    }

    /// When [`WalReceiver::handle_timeout`] next has something to do.
    pub fn next_timeout(&self, view: &StandbyView<'_>) -> Option<Timestamp> {
        match self.phase {
            Phase::Waiting { retry_at } => Some(retry_at),
            _ => {
                let mut next = None::<Timestamp>;
                if view.receiver_timeout > 0 {
                    next = Some(self.last_receive + view.receiver_timeout);
                }
                if self.phase == Phase::Streaming && view.status_interval > 0 {
                    let status = self.last_status_time + view.status_interval;
                    next = Some(next.map_or(status, |n| n.min(status)));
                }
                if let Some(ping) = self.ping_due(view) {
                    next = Some(next.map_or(ping, |n| n.min(ping)));
                }
                next
            }
        }
    }

    /// Stops for good (promotion, shutdown, a new primary_conninfo).
    pub fn stop(&mut self) -> Vec<ReceiverOutput> {
        let mut out = Vec::new();
        if let Some(conn) = self.conn.take() {
            out.push(ReceiverOutput::Log(
                "FATAL:  terminating walreceiver process due to administrator command".into(),
            ));
            out.push(ReceiverOutput::Send {
                conn,
                message: Message::Terminate,
            });
            out.push(ReceiverOutput::Close { conn });
        }
        self.phase = Phase::Waiting {
            retry_at: Timestamp::MAX,
        };
        out
    }
}

/// Formats a server error as the walreceiver logs it.
pub fn error_text(error: &ServerError) -> String {
    error.text()
}
