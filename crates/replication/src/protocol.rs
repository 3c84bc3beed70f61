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
    /// CopyData `h`: hot_standby_feedback, the oldest xid a query on the
    /// standby (or its replay) may still need; 0 when feedback stops.
    HotStandbyFeedback {
        time: Timestamp,
        xmin: u32,
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
        #[serde(with = "bytes")]
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

pub use pgplay_wal::bytes;

impl Message {
    /// Takes `next` into this message when both are XLogData, `next` starts where this one ends
    /// and the payload stays within `max_bytes`: the one CopyData a walsender sends for everything
    /// flushed since its last send (PostgreSQL's `XLogSendPhysical` reads up to `MAX_SEND_SIZE` at
    /// once). The joined message carries `next`'s `wal_end` and `send_time`, as a later send
    /// would. Gives `next` back when it cannot be joined.
    pub fn absorb(&mut self, next: Message, max_bytes: usize) -> Result<(), Message> {
        let (
            Message::XLogData {
                start,
                wal_end,
                send_time,
                data,
            },
            Message::XLogData {
                start: next_start,
                wal_end: next_end,
                send_time: next_time,
                data: next_data,
            },
        ) = (&mut *self, &next)
        else {
            return Err(next);
        };
        let contiguous = start.offset(data.len() as u64) == *next_start;
        if !contiguous || data.len() + next_data.len() > max_bytes {
            return Err(next);
        }
        data.extend_from_slice(next_data);
        *wal_end = *next_end;
        *send_time = *next_time;
        Ok(())
    }

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
            Message::HotStandbyFeedback { xmin, .. } => format!("HotStandbyFeedback xmin {xmin}"),
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

#[cfg(test)]
mod absorb_tests {
    use super::*;

    fn xlog(start: u64, data: &[u8], time: Timestamp) -> Message {
        Message::XLogData {
            start: Lsn(start),
            wal_end: Lsn(start + data.len() as u64),
            send_time: time,
            data: data.to_vec(),
        }
    }

    #[test]
    fn contiguous_xlogdata_joins_into_one_message() {
        let mut first = xlog(0x100, &[1, 2, 3], 10);
        assert_eq!(first.absorb(xlog(0x103, &[4, 5], 20), 16), Ok(()));
        assert_eq!(
            first,
            Message::XLogData {
                start: Lsn(0x100),
                wal_end: Lsn(0x105),
                send_time: 20,
                data: vec![1, 2, 3, 4, 5],
            }
        );
    }

    #[test]
    fn xlogdata_bytes_encode_as_a_plain_vec_and_round_trip() {
        #[derive(serde::Serialize)]
        enum Plain {
            _Other,
            XLogData {
                start: Lsn,
                wal_end: Lsn,
                send_time: Timestamp,
                data: Vec<u8>,
            },
        }
        let data: Vec<u8> = (0..=255).chain(0..40).collect();
        let message = xlog(0x1000, &data, 7);
        let encoded = postcard::to_allocvec(&message).unwrap();
        let plain = postcard::to_allocvec(&Plain::XLogData {
            start: Lsn(0x1000),
            wal_end: Lsn(0x1000 + data.len() as u64),
            send_time: 7,
            data: data.clone(),
        })
        .unwrap();
        // Same bytes after the variant index as the derived encoding of a Vec<u8>.
        assert_eq!(encoded[1..], plain[1..]);
        assert_eq!(postcard::from_bytes::<Message>(&encoded).unwrap(), message);
    }

    #[test]
    fn a_gap_a_full_message_or_another_kind_stays_apart() {
        let mut first = xlog(0x100, &[1, 2, 3], 10);
        let gap = xlog(0x104, &[4], 20);
        assert_eq!(first.absorb(gap.clone(), 16), Err(gap));
        let too_big = xlog(0x103, &[4, 5], 20);
        assert_eq!(first.absorb(too_big.clone(), 4), Err(too_big));
        assert_eq!(
            first.absorb(Message::Terminate, 16),
            Err(Message::Terminate)
        );
        let mut keepalive = Message::Keepalive {
            wal_end: Lsn(0x100),
            send_time: 5,
            reply_requested: false,
        };
        let next = xlog(0x100, &[1], 20);
        assert_eq!(keepalive.absorb(next.clone(), 16), Err(next));
        assert_eq!(first, xlog(0x100, &[1, 2, 3], 10));
    }
}
