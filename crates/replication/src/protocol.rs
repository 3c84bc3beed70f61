//! The messages of a replication connection, named after the frontend/backend
//! protocol's replication sub-protocol (`IDENTIFY_SYSTEM`, `START_REPLICATION`,
//! CopyData `w`/`k`/`r`). They travel as values; the browser encodes them with
//! postcard.

use pgplay_wal::{Lsn, TimeLineId};
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One connection between two nodes. The connecting side picks the id (its
/// node id in the high half keeps ids unique across a cluster) and both ends
/// use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnId(pub u64);

impl ConnId {
    /// The id of the node that opened the connection (its high half).
    pub fn opener(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// An `ErrorResponse`: severity, SQLSTATE, message and optional detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
}

impl ServerError {
    pub fn fatal(code: &str, message: impl Into<String>) -> ServerError {
        ServerError {
            severity: "FATAL".into(),
            code: code.into(),
            message: message.into(),
            detail: None,
        }
    }
    pub fn error(code: &str, message: impl Into<String>) -> ServerError {
        ServerError {
            severity: "ERROR".into(),
            code: code.into(),
            message: message.into(),
            detail: None,
        }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> ServerError {
        self.detail = Some(detail.into());
        self
    }
    /// As libpq prints it: `FATAL:  message` (plus `DETAIL:  ...` on a new line).
    pub fn text(&self) -> String {
        if self.severity == "fe_sendauth" {
            // libpq's own complaint, not a server message.
            return format!("fe_sendauth: {}", self.message);
        }
        let mut text = format!("{}:  {}", self.severity, self.message);
        if let Some(detail) = &self.detail {
            text.push_str(&format!("\nDETAIL:  {detail}"));
        }
        text
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    // ----- standby (frontend) to upstream --------------------------------
    /// The startup packet of a `replication=true` connection.
    Startup {
        user: String,
        application_name: String,
        password: Option<String>,
    },
    IdentifySystem,
    /// `TIMELINE_HISTORY tli`.
    TimelineHistory {
        timeline: TimeLineId,
    },
    /// `START_REPLICATION PHYSICAL start TIMELINE tli`.
    StartReplication {
        start: Lsn,
        timeline: TimeLineId,
        /// `SLOT name`: stream through this physical replication slot.
        slot: Option<String>,
    },
    /// CopyData `r`: what the standby has written, flushed and applied.
    StandbyStatus {
        write: Lsn,
        flush: Lsn,
        apply: Lsn,
        time: Timestamp,
        reply_requested: bool,
    },
    /// The standby ends the connection (`X`).
    Terminate,

    // ----- upstream (backend) to standby ----------------------------------
    /// AuthenticationOk and ReadyForQuery.
    Ready,
    Error(ServerError),
    /// The result row of `IDENTIFY_SYSTEM`.
    SystemIdentity {
        system_identifier: u64,
        timeline: TimeLineId,
        xlogpos: Lsn,
    },
    /// The result of `TIMELINE_HISTORY`: the history file's name and text.
    HistoryFile {
        timeline: TimeLineId,
        file_name: String,
        content: String,
    },
    /// CopyBothResponse: streaming starts.
    CopyBoth,
    /// CopyData `w`: WAL bytes starting at `start`.
    XLogData {
        start: Lsn,
        wal_end: Lsn,
        send_time: Timestamp,
        data: Vec<u8>,
    },
    /// CopyData `k`.
    Keepalive {
        wal_end: Lsn,
        send_time: Timestamp,
        reply_requested: bool,
    },
    /// CopyDone from a walsender that is shutting down after sending
    /// everything up to `end` (its shutdown checkpoint included).
    CopyDone {
        end: Lsn,
    },
    /// CopyDone plus the result set after streaming an old timeline to its end.
    EndOfTimeline {
        next_timeline: TimeLineId,
        switchpoint: Lsn,
    },
}

impl Message {
    /// A short line for the UI's message view and for traces.
    pub fn describe(&self) -> String {
        match self {
            Message::Startup {
                user,
                application_name,
                ..
            } => format!("StartupMessage user={user} replication=true application_name={application_name}"),
            Message::IdentifySystem => "IDENTIFY_SYSTEM".into(),
            Message::TimelineHistory { timeline } => format!("TIMELINE_HISTORY {}", timeline.0),
            Message::StartReplication {
                start,
                timeline,
                slot,
            } => start_replication_text(*start, *timeline, slot.as_deref()),
            Message::StandbyStatus {
                write, flush, apply, ..
            } => format!("StandbyStatusUpdate write {write} flush {flush} apply {apply}"),
            Message::Terminate => "Terminate".into(),
            Message::Ready => "AuthenticationOk, ReadyForQuery".into(),
            Message::Error(error) => format!("ErrorResponse {} {}", error.code, error.message),
            Message::SystemIdentity {
                system_identifier,
                timeline,
                xlogpos,
            } => format!("IDENTIFY_SYSTEM result: systemid {system_identifier} timeline {} xlogpos {xlogpos}", timeline.0),
            Message::HistoryFile { file_name, .. } => format!("TIMELINE_HISTORY result: {file_name}"),
            Message::CopyBoth => "CopyBothResponse".into(),
            Message::XLogData { start, data, .. } => format!(
                "XLogData {start}..{} ({} bytes)",
                start.offset(data.len() as u64),
                data.len()
            ),
            Message::Keepalive {
                wal_end,
                reply_requested,
                ..
            } => format!("PrimaryKeepalive wal_end {wal_end}{}", if *reply_requested { " reply requested" } else { "" }),
            Message::CopyDone { end } => format!("CopyDone: end of streaming at {end}"),
            Message::EndOfTimeline {
                next_timeline,
                switchpoint,
            } => format!("CopyDone: end of timeline, next timeline {} at {switchpoint}", next_timeline.0),
        }
    }
}

/// `START_REPLICATION [SLOT "name"] X/X TIMELINE n`, as PostgreSQL's log quotes it.
pub fn start_replication_text(start: Lsn, timeline: TimeLineId, slot: Option<&str>) -> String {
    match slot {
        Some(slot) => format!(
            "START_REPLICATION SLOT \"{slot}\" {start} TIMELINE {}",
            timeline.0
        ),
        None => format!("START_REPLICATION {start} TIMELINE {}", timeline.0),
    }
}
