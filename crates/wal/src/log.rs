//! The WAL byte stream of one server, cut into pages and segments.
//!
//! Bytes are laid out as PostgreSQL lays them out: every 8 kB page starts with
//! a page header (40 bytes on a segment's first page, 24 elsewhere), records
//! start 8-byte aligned, a record that does not fit continues on the next page
//! after that page's header, and a record header is never split. So the LSNs a
//! learner sees move the way real ones do, and a standby can copy the stream
//! byte for byte.
//!
//! Two positions matter: `insert` (end of the last record written) and
//! `flushed` (what survives a crash). A crash truncates to `flushed`.
//! Segments are kept in memory, in chunks that removed segments hand on to new ones
//! (see `buffer`); removing old ones is the caller's choice
//! ([`WalLog::remove_segments_before`]).

use std::collections::BTreeMap;

use crate::buffer::{ChunkPool, SegmentBuffer};
use crate::record::{Record, RECORD_HEADER_SIZE};
use crate::segment::{SegmentSize, WAL_PAGE_SIZE};
use crate::{Lsn, TimeLineId, WalError};

const PAGE_MAGIC: u16 = 0xD110;
const SHORT_PAGE_HEADER: u64 = 24;
const LONG_PAGE_HEADER: u64 = 40;
/// Page header flag: the page starts with the tail of a record.
const FIRST_IS_CONTRECORD: u16 = 0x0001;
const LONG_HEADER: u16 = 0x0002;

/// Memory a log's segments take (see [`WalLog::footprint`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalFootprint {
    /// Segments held.
    pub segments: usize,
    /// Bytes written into them.
    pub written_bytes: usize,
    /// Bytes allocated for them.
    pub allocated_bytes: usize,
    /// Bytes of freed chunks kept for the next segments.
    pub pooled_bytes: usize,
}

/// A record read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRecord {
    pub lsn: Lsn,
    /// One past the record's last byte.
    pub end: Lsn,
    pub length: usize,
    pub record: Record,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WalLog {
    segment_size: SegmentSize,
    system_identifier: u64,
    /// Timeline written into new page headers.
    timeline: TimeLineId,
    /// Written bytes of each segment; a segment may be shorter than its size.
    segments: BTreeMap<u64, SegmentBuffer>,
    /// Chunks of removed segments, for the next ones.
    #[serde(skip)]
    pool: ChunkPool,
    /// Timeline of each segment's pages, for file names.
    segment_timelines: BTreeMap<u64, TimeLineId>,
    insert: Lsn,
    flushed: Lsn,
    last_record: Lsn,
    /// The lowest position the log was cut back to since [`WalLog::take_rewind`]
    /// last asked: bytes from there on may differ from a copy taken before.
    #[serde(skip)]
    rewound_to: Option<Lsn>,
}

/// Written bytes of one segment from `offset` on: how a copy of `pg_wal`
/// is brought up to date ([`WalLog::flushed_pieces`], [`WalLog::restore_pieces`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WalPiece {
    pub segno: u64,
    /// The timeline in the segment's file name.
    pub timeline: TimeLineId,
    pub offset: u64,
    #[serde(with = "crate::bytes")]
    pub bytes: Vec<u8>,
}

impl WalLog {
    /// An empty log whose first record will go at `start` (a segment start).
    pub fn new(
        segment_size: SegmentSize,
        system_identifier: u64,
        timeline: TimeLineId,
        start: Lsn,
    ) -> WalLog {
        assert_eq!(
            start.0 % segment_size.bytes(),
            0,
            "a log starts at a segment boundary"
        );
        WalLog {
            segment_size,
            system_identifier,
            timeline,
            segments: BTreeMap::new(),
            pool: ChunkPool::default(),
            segment_timelines: BTreeMap::new(),
            insert: start,
            flushed: start,
            last_record: Lsn::INVALID,
            rewound_to: None,
        }
    }

    /// An empty copy of a server's `pg_wal`, to be filled by
    /// [`WalLog::restore_pieces`]; its end is the copied flush position.
    pub fn empty_copy(
        segment_size: SegmentSize,
        system_identifier: u64,
        timeline: TimeLineId,
    ) -> WalLog {
        WalLog::new(segment_size, system_identifier, timeline, Lsn(0))
    }

    /// The flushed bytes from `from` on, segment by segment: what a copy
    /// that holds everything before `from` lacks.
    pub fn flushed_pieces(&self, from: Lsn) -> Vec<WalPiece> {
        let first = self.segment_size.segment_of(from);
        self.segments
            .range(first..)
            .filter_map(|(segno, bytes)| {
                let start = self.segment_size.segment_start(*segno).0;
                let offset = from.0.saturating_sub(start);
                let end = (self.flushed.0.saturating_sub(start) as usize).min(bytes.len());
                let length = end.checked_sub(offset as usize).filter(|n| *n > 0)?;
                let mut piece = Vec::with_capacity(length);
                bytes.read_into(offset as usize, length, &mut piece);
                Some(WalPiece {
                    segno: *segno,
                    timeline: self.segment_timelines[segno],
                    offset,
                    bytes: piece,
                })
            })
            .collect()
    }

    /// Brings a copy up to date: each piece replaces its segment's bytes
    /// from its offset on; the log then ends, flushed, at `flushed`.
    pub fn restore_pieces(&mut self, pieces: Vec<WalPiece>, flushed: Lsn) {
        for piece in pieces {
            let segment = self.segments.entry(piece.segno).or_default();
            segment.truncate(piece.offset as usize, &mut self.pool);
            segment.write(piece.offset as usize, &piece.bytes, &mut self.pool);
            self.segment_timelines.insert(piece.segno, piece.timeline);
        }
        self.insert = flushed;
        self.flushed = flushed;
    }

    /// Keeps only the segments in `held` (the copied server recycled the others).
    pub fn keep_only_segments(&mut self, held: &[u64]) {
        let removed: Vec<u64> = self
            .segments
            .keys()
            .filter(|number| !held.contains(number))
            .copied()
            .collect();
        for number in removed {
            if let Some(segment) = self.segments.remove(&number) {
                segment.release(&mut self.pool);
            }
        }
        self.segment_timelines
            .retain(|number, _| held.contains(number));
    }

    /// Bytes held, all segments together.
    pub fn bytes_held(&self) -> usize {
        self.segments.values().map(SegmentBuffer::len).sum()
    }

    /// The lowest position the log was cut back to (a crash, a promotion,
    /// a standby's overwritten tail) since the last call, if it was.
    pub fn take_rewind(&mut self) -> Option<Lsn> {
        self.rewound_to.take()
    }

    pub fn segment_size(&self) -> SegmentSize {
        self.segment_size
    }
    pub fn system_identifier(&self) -> u64 {
        self.system_identifier
    }
    pub fn timeline(&self) -> TimeLineId {
        self.timeline
    }
    pub fn set_timeline(&mut self, timeline: TimeLineId) {
        self.timeline = timeline;
    }
    /// End of the last record written.
    pub fn insert_lsn(&self) -> Lsn {
        self.insert
    }
    /// Everything before this survives a crash.
    pub fn flush_lsn(&self) -> Lsn {
        self.flushed
    }
    /// Start of the last record written.
    pub fn last_record_lsn(&self) -> Lsn {
        self.last_record
    }

    /// Makes everything inserted so far durable, up to `upto`.
    pub fn flush(&mut self, upto: Lsn) {
        let target = upto.min(self.insert);
        self.flushed = self.flushed.max(target);
    }

    fn page_header_size(&self, page_start: Lsn) -> u64 {
        if page_start.0.is_multiple_of(self.segment_size.bytes()) {
            LONG_PAGE_HEADER
        } else {
            SHORT_PAGE_HEADER
        }
    }

    /// Where the log goes on after `record`, which ends at `end`: `end`
    /// itself, except after a SWITCH, which owns the rest of its segment.
    pub fn position_after(&self, record: &Record, end: Lsn) -> Lsn {
        let switch = matches!(
            record.body,
            crate::RecordBody::Xlog(crate::XlogRecord::Switch)
        );
        if switch && !end.0.is_multiple_of(self.segment_size.bytes()) {
            self.segment_size
                .segment_start(self.segment_size.segment_of(end) + 1)
        } else {
            end
        }
    }

    /// Where a record that may start at `position` really starts.
    pub fn next_record_start(&self, position: Lsn) -> Lsn {
        let mut start = position.align_up(8);
        let page_offset = start.0 % WAL_PAGE_SIZE;
        if page_offset != 0 && WAL_PAGE_SIZE - page_offset < RECORD_HEADER_SIZE as u64 {
            start = Lsn(start.0 + WAL_PAGE_SIZE - page_offset);
        }
        if start.0.is_multiple_of(WAL_PAGE_SIZE) {
            start = start.offset(self.page_header_size(start));
        }
        start
    }

    /// Appends one record; returns where it starts and ends.
    pub fn insert(&mut self, mut record: Record) -> (Lsn, Lsn) {
        record.prev = self.last_record;
        let bytes = record.encode();
        let start = self.next_record_start(self.insert);
        self.write_stream(self.insert, start, &bytes);
        self.last_record = start;
        (start, self.insert)
    }

    /// Writes zero padding from `from` up to `start`, then `bytes` from
    /// `start`, adding page headers at every page boundary.
    fn write_stream(&mut self, from: Lsn, start: Lsn, bytes: &[u8]) {
        let mut position = from;
        while position < start {
            if position.0.is_multiple_of(WAL_PAGE_SIZE) {
                position = self.write_page_header(position, 0);
            } else {
                let fill = (start.0 - position.0).min(WAL_PAGE_SIZE - position.0 % WAL_PAGE_SIZE);
                self.put(position, &vec![0; fill as usize]);
                position = position.offset(fill);
            }
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            if position.0.is_multiple_of(WAL_PAGE_SIZE) {
                position = self.write_page_header(position, rest.len() as u32);
            }
            let room = (WAL_PAGE_SIZE - position.0 % WAL_PAGE_SIZE) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.put(position, now);
            position = position.offset(now.len() as u64);
            rest = later;
        }
        self.insert = position;
    }

    fn write_page_header(&mut self, page_start: Lsn, remaining: u32) -> Lsn {
        let long = self.page_header_size(page_start) == LONG_PAGE_HEADER;
        let mut info = if remaining > 0 {
            FIRST_IS_CONTRECORD
        } else {
            0
        };
        if long {
            info |= LONG_HEADER;
        }
        let mut header = Vec::with_capacity(LONG_PAGE_HEADER as usize);
        header.extend_from_slice(&PAGE_MAGIC.to_le_bytes());
        header.extend_from_slice(&info.to_le_bytes());
        header.extend_from_slice(&self.timeline.0.to_le_bytes());
        header.extend_from_slice(&page_start.0.to_le_bytes());
        header.extend_from_slice(&remaining.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        if long {
            header.extend_from_slice(&self.system_identifier.to_le_bytes());
            header.extend_from_slice(&(self.segment_size.bytes() as u32).to_le_bytes());
            header.extend_from_slice(&(WAL_PAGE_SIZE as u32).to_le_bytes());
        }
        let segno = self.segment_size.segment_of(page_start);
        self.segment_timelines.entry(segno).or_insert(self.timeline);
        self.put(page_start, &header);
        page_start.offset(header.len() as u64)
    }

    /// Stores bytes that lie within one segment.
    fn put(&mut self, at: Lsn, bytes: &[u8]) {
        let segno = self.segment_size.segment_of(at);
        let offset = (at.0 - self.segment_size.segment_start(segno).0) as usize;
        let segment = self.segments.entry(segno).or_default();
        segment.write(offset, bytes, &mut self.pool);
    }

    /// Bytes of the stream in `[from, to)`; bytes never written read as zero.
    pub fn read_raw(&self, from: Lsn, to: Lsn) -> Vec<u8> {
        let mut out = Vec::with_capacity((to.0.saturating_sub(from.0)) as usize);
        let mut position = from;
        while position < to {
            let segno = self.segment_size.segment_of(position);
            let segment_end = self.segment_size.segment_start(segno + 1);
            let chunk_end = to.min(segment_end);
            let offset = (position.0 - self.segment_size.segment_start(segno).0) as usize;
            let length = (chunk_end.0 - position.0) as usize;
            let available = self
                .segments
                .get(&segno)
                .map_or(0, |stored| stored.read_into(offset, length, &mut out));
            out.resize(out.len() + length - available, 0);
            position = chunk_end;
        }
        out
    }

    /// Reads `length` record bytes starting at `start`, skipping page headers.
    fn read_payload(&self, start: Lsn, length: usize) -> Result<(Vec<u8>, Lsn), WalError> {
        let mut out = Vec::with_capacity(length);
        let mut position = start;
        while out.len() < length {
            if position.0.is_multiple_of(WAL_PAGE_SIZE) {
                position = position.offset(self.page_header_size(position));
            }
            if position >= self.insert {
                return Err(WalError::EndOfLog(position));
            }
            let room = (WAL_PAGE_SIZE - position.0 % WAL_PAGE_SIZE) as usize;
            let take = room.min(length - out.len());
            out.extend_from_slice(&self.read_raw(position, position.offset(take as u64)));
            position = position.offset(take as u64);
        }
        Ok((out, position))
    }

    /// Reads the record that starts at `lsn`.
    pub fn read_record(&self, lsn: Lsn) -> Result<ReadRecord, WalError> {
        if !lsn.0.is_multiple_of(8) || lsn.0 % WAL_PAGE_SIZE < SHORT_PAGE_HEADER {
            return Err(WalError::InvalidRecord {
                at: lsn,
                reason: "invalid record offset".into(),
            });
        }
        if lsn.offset(RECORD_HEADER_SIZE as u64) > self.insert {
            return Err(WalError::EndOfLog(lsn));
        }
        let header = self.read_raw(lsn, lsn.offset(4));
        let length = Record::total_length(&header) as usize;
        if length < RECORD_HEADER_SIZE {
            return Err(WalError::InvalidRecord {
                at: lsn,
                reason: format!("invalid record length: wanted 24, got {length}"),
            });
        }
        let (bytes, end) = self.read_payload(lsn, length)?;
        let record = Record::decode(&bytes, lsn)?;
        Ok(ReadRecord {
            lsn,
            end,
            length,
            record,
        })
    }

    /// Every readable record from `from` (a record start) to the end of the log.
    pub fn records_from(&self, from: Lsn) -> RecordIter<'_> {
        RecordIter {
            log: self,
            next: from,
        }
    }

    /// The segment file name holding `lsn`, on the timeline of its pages.
    pub fn file_name_of(&self, lsn: Lsn) -> String {
        let segno = self.segment_size.segment_of(lsn);
        let timeline = self
            .segment_timelines
            .get(&segno)
            .copied()
            .unwrap_or(self.timeline);
        self.segment_size.file_name(timeline, segno)
    }

    /// Names of the segment files present, as `pg_wal/` would list them.
    pub fn segment_files(&self) -> Vec<String> {
        self.segments
            .keys()
            .map(|segno| {
                self.segment_size
                    .file_name(self.segment_timelines[segno], *segno)
            })
            .collect()
    }

    /// A segment file as it would be copied: its name and its written bytes
    /// (the rest of the file is zeros, so copies keep only this part).
    pub fn segment_file(&self, segno: u64) -> Option<(String, Vec<u8>)> {
        let bytes = self.segments.get(&segno)?;
        let name = self
            .segment_size
            .file_name(self.segment_timelines[&segno], segno);
        Some((name, bytes.to_vec()))
    }

    /// The segment numbers held, oldest first.
    pub fn segment_numbers(&self) -> Vec<u64> {
        self.segments.keys().copied().collect()
    }

    /// Start of the oldest segment still held.
    pub fn oldest_segment_start(&self) -> Option<Lsn> {
        self.segments
            .keys()
            .next()
            .map(|segno| self.segment_size.segment_start(*segno))
    }

    /// Whether segment `segno` is still in `pg_wal` (not yet removed, or
    /// not yet begun).
    pub fn has_segment(&self, segno: u64) -> bool {
        self.segments.contains_key(&segno)
    }

    /// Forgets segments wholly before `segno` (checkpoint recycling).
    pub fn remove_segments_before(&mut self, segno: u64) {
        self.remove_segments_before_except(segno, &[]);
    }

    /// Forgets segments wholly before `segno`, except those in `open`.
    pub fn remove_segments_before_except(&mut self, segno: u64, open: &[u64]) {
        let gone = |number: &u64| *number < segno && !open.contains(number);
        self.release_segments(gone);
        self.segment_timelines.retain(|number, _| !gone(number));
    }

    /// Removes the segments `gone` picks, their chunks kept for reuse.
    fn release_segments(&mut self, gone: impl Fn(&u64) -> bool) {
        let numbers: Vec<u64> = self.segments.keys().copied().filter(|n| gone(n)).collect();
        for number in numbers {
            if let Some(segment) = self.segments.remove(&number) {
                segment.release(&mut self.pool);
            }
        }
    }

    /// What the log's segments cost in memory.
    pub fn footprint(&self) -> WalFootprint {
        WalFootprint {
            segments: self.segments.len(),
            written_bytes: self.segments.values().map(SegmentBuffer::len).sum(),
            allocated_bytes: self.segments.values().map(SegmentBuffer::allocated).sum(),
            pooled_bytes: self.pool.len() * crate::buffer::CHUNK_BYTES,
        }
    }

    /// `pg_switch_wal()`'s second half: the rest of the current segment is
    /// left unused and the next record goes into the next segment.
    pub fn skip_to_next_segment(&mut self) {
        let segno = self.segment_size.segment_of(self.insert);
        if self.insert.0.is_multiple_of(self.segment_size.bytes()) {
            return;
        }
        self.insert = self.segment_size.segment_start(segno + 1);
    }

    /// Crash: everything after the flush position is lost. The caller then
    /// finds the real end of the log by reading records (see [`WalLog::recover_end`]).
    pub fn lose_unflushed(&mut self) {
        let flushed = self.flushed;
        self.truncate(flushed);
    }

    /// Promotion: the log ends at `end` (the end of the last record
    /// replayed) and what follows is written on `timeline`. The segment
    /// holding `end` is now named after the new timeline.
    pub fn begin_timeline(&mut self, timeline: TimeLineId, end: Lsn) {
        self.truncate(end);
        self.flushed = end;
        self.timeline = timeline;
        let segno = self.segment_size.segment_of(end);
        self.segment_timelines.insert(segno, timeline);
    }

    fn truncate(&mut self, at: Lsn) {
        self.rewound_to = Some(self.rewound_to.map_or(at, |r| r.min(at)));
        let segno = self.segment_size.segment_of(at);
        self.release_segments(|number| *number > segno);
        self.segment_timelines.retain(|number, _| *number <= segno);
        if let Some(segment) = self.segments.get_mut(&segno) {
            let offset = (at.0 - self.segment_size.segment_start(segno).0) as usize;
            segment.truncate(offset, &mut self.pool);
        }
        self.insert = at;
        self.flushed = self.flushed.min(at);
    }

    /// After a crash or a restart: read records from `from` until the first
    /// that is missing or broken, and make the log end there.
    pub fn recover_end(&mut self, from: Lsn) -> Lsn {
        let mut last = self.last_record;
        let mut end = from;
        for read in self.records_from(from) {
            match read {
                Ok(read) => {
                    last = read.lsn;
                    end = self.position_after(&read.record, read.end);
                }
                Err(_) => break,
            }
        }
        self.truncate(end.max(self.insert.min(end)));
        self.last_record = last;
        self.flushed = end;
        end
    }

    /// A standby's side of streaming: store bytes received from upstream at
    /// `at`, which must be the current end of the log.
    /// Bytes before the end are overwritten (a walreceiver restarts from a
    /// segment start and receives again what it already has); bytes beyond
    /// the end would leave a hole and are refused.
    pub fn write_received(&mut self, at: Lsn, bytes: &[u8]) -> Result<(), WalError> {
        if at > self.insert {
            return Err(WalError::Gap {
                expected: self.insert,
                got: at,
            });
        }
        let end = at.offset(bytes.len() as u64);
        if end <= self.insert && self.read_raw(at, end) == bytes {
            return Ok(());
        }
        if at < self.insert {
            self.truncate(at);
        }
        let mut position = at;
        let mut rest = bytes;
        while !rest.is_empty() {
            let segno = self.segment_size.segment_of(position);
            let room = (self.segment_size.segment_start(segno + 1).0 - position.0) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.segment_timelines.entry(segno).or_insert(self.timeline);
            self.put(position, now);
            position = position.offset(now.len() as u64);
            rest = later;
        }
        self.insert = position;
        Ok(())
    }

    /// A standby learns the start of each record as it replays.
    pub fn set_last_record(&mut self, lsn: Lsn) {
        self.last_record = lsn;
    }
}

pub struct RecordIter<'a> {
    log: &'a WalLog,
    next: Lsn,
}

impl Iterator for RecordIter<'_> {
    type Item = Result<ReadRecord, WalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.log.insert {
            return None;
        }
        let start = self.log.next_record_start(self.next);
        if start >= self.log.insert {
            return None;
        }
        let result = self.log.read_record(start);
        match &result {
            Ok(read) => self.next = self.log.position_after(&read.record, read.end),
            Err(_) => self.next = self.log.insert,
        }
        Some(result)
    }
}
