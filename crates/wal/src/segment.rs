//! WAL segment files and their names.
//!
//! The WAL stream is cut into segments of a fixed size chosen at initdb time
//! (16 MB by default). A segment's file name is three groups of eight hex digits:
//! timeline, then the segment number split at 4 GB boundaries.

use crate::{Lsn, TimeLineId};

/// The size of one WAL page, `XLOG_BLCKSZ`.
pub const WAL_PAGE_SIZE: u64 = 8192;

/// A validated segment size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentSize(u64);

/// PostgreSQL's default, 16 MB.
pub const DEFAULT_SEGMENT_SIZE: SegmentSize = SegmentSize(16 * 1024 * 1024);

impl SegmentSize {
    /// PostgreSQL accepts powers of two from 1 MB to 1 GB. pgplay also accepts
    /// smaller powers of two down to 64 kB, so a lesson can watch segments roll.
    pub fn new(bytes: u64) -> Option<SegmentSize> {
        let in_range = (64 * 1024..=1024 * 1024 * 1024).contains(&bytes);
        (bytes.is_power_of_two() && in_range).then_some(SegmentSize(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The segment that holds the byte at `lsn`.
    pub fn segment_of(self, lsn: Lsn) -> u64 {
        lsn.0 / self.0
    }

    /// The first byte of segment `segno`.
    pub fn segment_start(self, segno: u64) -> Lsn {
        Lsn(segno * self.0)
    }

    fn segments_per_xlog_id(self) -> u64 {
        0x1_0000_0000 / self.0
    }

    /// `000000010000000000000003`.
    pub fn file_name(self, timeline: TimeLineId, segno: u64) -> String {
        let per_id = self.segments_per_xlog_id();
        format!(
            "{:08X}{:08X}{:08X}",
            timeline.0,
            segno / per_id,
            segno % per_id
        )
    }

    /// Inverse of [`SegmentSize::file_name`].
    pub fn parse_file_name(self, name: &str) -> Option<(TimeLineId, u64)> {
        if name.len() != 24 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let field = |range: std::ops::Range<usize>| u64::from_str_radix(&name[range], 16).ok();
        let timeline = field(0..8)? as u32;
        let (high, low) = (field(8..16)?, field(16..24)?);
        let per_id = self.segments_per_xlog_id();
        (low < per_id).then_some((TimeLineId(timeline), high * per_id + low))
    }
}

/// `00000002.history`.
pub fn history_file_name(timeline: TimeLineId) -> String {
    format!("{:08X}.history", timeline.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_segments_like_postgres() {
        let size = DEFAULT_SEGMENT_SIZE;
        let segno = size.segment_of(Lsn(0x3001324));
        assert_eq!(
            size.file_name(TimeLineId(1), segno),
            "000000010000000000000003"
        );
        let segno = size.segment_of("1/22000CE0".parse().unwrap());
        assert_eq!(
            size.file_name(TimeLineId(3), segno),
            "000000030000000100000022"
        );
        assert_eq!(
            size.parse_file_name("000000030000000100000022"),
            Some((TimeLineId(3), segno))
        );
        assert_eq!(history_file_name(TimeLineId(2)), "00000002.history");
    }

    #[test]
    fn only_powers_of_two_in_range() {
        assert!(SegmentSize::new(16 * 1024 * 1024).is_some());
        assert!(SegmentSize::new(64 * 1024).is_some());
        assert!(SegmentSize::new(3 * 1024 * 1024).is_none());
        assert!(SegmentSize::new(32 * 1024).is_none());
        assert!(SegmentSize::new(2048 * 1024 * 1024).is_none());
    }
}
