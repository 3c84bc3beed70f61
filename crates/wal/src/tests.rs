use super::*;
use proptest::prelude::*;

const REL: RelFileLocator = RelFileLocator {
    tablespace: 1663,
    database: 5,
    relation: 16384,
};

fn insert(xid: Xid, offset: u16, data_len: usize) -> Record {
    Record {
        xid,
        prev: Lsn::INVALID,
        body: RecordBody::Heap(HeapRecord::Insert {
            relation: REL,
            block: 0,
            offset,
            init_page: offset == 1,
            tuple: TupleImage {
                command_id: 0,
                natts: 1,
                data: vec![7; data_len],
            },
        }),
    }
}

fn new_log(segment_size: u64) -> WalLog {
    WalLog::new(
        SegmentSize::new(segment_size).unwrap(),
        7,
        TimeLineId(1),
        Lsn(0x100_0000),
    )
}

#[test]
fn first_record_follows_the_long_page_header() {
    let mut log = new_log(16 << 20);
    let (start, end) = log.insert(insert(730, 1, 4));
    assert_eq!(start, Lsn(0x100_0028));
    assert!(end > start);
    let read = log.read_record(start).unwrap();
    assert_eq!(read.end, end);
    assert_eq!(read.record.body, insert(730, 1, 4).body);
}

#[test]
fn prev_links_chain_records() {
    let mut log = new_log(16 << 20);
    let (first, _) = log.insert(insert(730, 1, 4));
    let (second, _) = log.insert(insert(730, 2, 4));
    assert_eq!(second.0 % 8, 0);
    assert_eq!(log.read_record(second).unwrap().record.prev, first);
}

#[test]
fn records_cross_pages_and_segments() {
    let mut log = new_log(64 * 1024);
    let mut starts = Vec::new();
    for index in 0..200u16 {
        starts.push(log.insert(insert(731, index + 1, 900)).0);
    }
    assert!(
        log.insert_lsn().0 > 0x100_0000 + 2 * 64 * 1024,
        "spans several segments"
    );
    let read: Vec<Lsn> = log
        .records_from(Lsn(0x100_0000))
        .map(|r| r.unwrap().lsn)
        .collect();
    assert_eq!(read, starts);
    assert_eq!(log.segment_files().len(), 3);
    assert_eq!(log.segment_files()[0], "000000010000000000000100");
}

#[test]
fn waldump_line_matches_postgres_shape() {
    let mut log = new_log(16 << 20);
    log.insert(insert(725, 1, 4));
    let (lsn, end) = log.insert(insert(726, 2, 4));
    let read = log.read_record(lsn).unwrap();
    let line = read.record.waldump_line(lsn, read.length);
    assert_eq!((end.0 - lsn.0) as usize, read.length);
    assert!(
        line.starts_with("rmgr: Heap        len (rec/tot):     "),
        "{line}"
    );
    assert!(
        line.contains(
            ", tx:        726, lsn: 0/01000060, prev 0/01000028, desc: INSERT off 2 flags 0x00"
        ),
        "{line}"
    );
    assert!(
        line.ends_with("blkref #0: rel 1663/5/16384 blk 0"),
        "{line}"
    );
}

/// Transaction ends list their subtransactions as PostgreSQL 15's
/// pg_waldump prints them (from a real server: `COMMIT ...; subxacts: 728
/// 729`, `ABORT ...; rels: base/5/16390`); RUNNING_XACTS carries the
/// subtransactions for standbys but prints only the top-level xids.
#[test]
fn transaction_ends_carry_their_subtransactions() {
    let mut log = new_log(16 << 20);
    let time = 849_000_000_000_000; // 2026-11-26 09:20:00 UTC, PostgreSQL's epoch is 2000
    let records = [
        (
            725,
            RecordBody::Transaction(TransactionRecord::Commit {
                time,
                dropped: Vec::new(),
                subxacts: vec![728, 729],
            }),
            "COMMIT 2026-11-26 09:20:00.000000 UTC; subxacts: 728 729",
        ),
        (
            730,
            RecordBody::Transaction(TransactionRecord::Abort {
                time,
                dropped: vec![REL],
                subxacts: Vec::new(),
            }),
            "ABORT 2026-11-26 09:20:00.000000 UTC; rels: base/5/16384",
        ),
        (
            828,
            RecordBody::Transaction(TransactionRecord::Assignment {
                top: 764,
                subxacts: vec![765, 766, 828],
            }),
            "ASSIGNMENT xtop 764: subxacts: 765 766 828",
        ),
        (
            0,
            RecordBody::Standby(StandbyRecord::RunningXacts {
                next_xid: 760,
                latest_completed_xid: 756,
                oldest_running_xid: 757,
                xids: vec![757],
                subxids: vec![758, 759],
            }),
            "RUNNING_XACTS nextXid 760 latestCompletedXid 756 oldestRunningXid 757; 1 xacts: 757",
        ),
    ];
    let plain = Record {
        xid: 725,
        prev: Lsn::INVALID,
        body: RecordBody::Transaction(TransactionRecord::Commit {
            time,
            dropped: Vec::new(),
            subxacts: Vec::new(),
        }),
    };
    assert_eq!(
        plain.encode().len(),
        RECORD_HEADER_SIZE + 12,
        "without subtransactions a commit keeps its bytes (and every later LSN)"
    );
    for (xid, body, described) in records {
        let record = Record {
            xid,
            prev: Lsn::INVALID,
            body,
        };
        let (lsn, _) = log.insert(record.clone());
        let read = log.read_record(lsn).unwrap();
        assert_eq!(read.record.body, record.body);
        assert_eq!(read.record.describe(), described);
    }
}

#[test]
fn crash_keeps_only_flushed_records() {
    let mut log = new_log(16 << 20);
    log.insert(insert(730, 1, 10));
    let (_, flushed_end) = log.insert(insert(730, 2, 10));
    log.flush(flushed_end);
    log.insert(insert(731, 3, 10));
    log.lose_unflushed();
    let end = log.recover_end(Lsn(0x100_0000));
    assert_eq!(end, flushed_end);
    assert_eq!(log.records_from(Lsn(0x100_0000)).count(), 2);
    let (next, _) = log.insert(insert(732, 3, 10));
    assert_eq!(log.read_record(next).unwrap().record.xid, 732);
}

/// A copy brought up to date piece by piece holds the flushed log byte for
/// byte, across segments and after the original cut its tail back.
#[test]
fn a_copy_follows_the_flushed_log_in_pieces() {
    let mut log = new_log(64 * 1024);
    let mut copy = WalLog::empty_copy(log.segment_size(), 7, TimeLineId(1));
    let mut sent = Lsn(0x100_0000);
    let sync = |log: &mut WalLog, copy: &mut WalLog, sent: &mut Lsn| {
        let from = log.take_rewind().map_or(*sent, |r| r.min(*sent));
        copy.restore_pieces(log.flushed_pieces(from), log.flush_lsn());
        copy.keep_only_segments(&log.segment_numbers());
        *sent = log.flush_lsn();
    };
    for index in 0..150u16 {
        log.insert(insert(731, index + 1, 900));
        if index % 7 == 0 {
            log.flush(log.insert_lsn());
            sync(&mut log, &mut copy, &mut sent);
        }
    }
    log.insert(insert(732, 1, 900));
    sync(&mut log, &mut copy, &mut sent);
    assert!(
        copy.flush_lsn() < log.insert_lsn(),
        "unflushed bytes stay out"
    );
    let start = Lsn(0x100_0000);
    let flushed = log.flush_lsn();
    assert_eq!(copy.read_raw(start, flushed), log.read_raw(start, flushed));
    assert_eq!(copy.segment_files(), log.segment_files());
    // The original goes back (a new timeline from an earlier point) and on.
    let back = log.records_from(start).nth(40).unwrap().unwrap().end;
    log.begin_timeline(TimeLineId(2), back);
    log.insert(insert(733, 1, 900));
    log.flush(log.insert_lsn());
    log.remove_segments_before(log.segment_size().segment_of(back));
    sync(&mut log, &mut copy, &mut sent);
    let oldest = log.oldest_segment_start().unwrap();
    assert_eq!(copy.segment_files(), log.segment_files());
    assert_eq!(
        copy.read_raw(oldest, log.flush_lsn()),
        log.read_raw(oldest, log.flush_lsn())
    );
    assert_eq!(copy.flush_lsn(), log.flush_lsn());
    assert!(copy.bytes_held() < 3 * 64 * 1024);
}

#[test]
fn corrupted_record_is_detected() {
    let mut log = new_log(16 << 20);
    let (start, end) = log.insert(insert(730, 1, 10));
    let mut copy = new_log(16 << 20);
    let mut bytes = log.read_raw(Lsn(0x100_0000), end);
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    copy.write_received(Lsn(0x100_0000), &bytes).unwrap();
    let error = copy.read_record(start).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
}

#[test]
fn switch_moves_to_next_segment() {
    let mut log = new_log(64 * 1024);
    log.insert(insert(730, 1, 10));
    let (switch, _) = log.insert(Record {
        xid: 0,
        prev: Lsn::INVALID,
        body: RecordBody::Xlog(XlogRecord::Switch),
    });
    log.skip_to_next_segment();
    let (after, _) = log.insert(insert(731, 2, 10));
    assert_eq!(after, Lsn(0x101_0028));
    let read: Vec<Lsn> = log
        .records_from(Lsn(0x100_0000))
        .map(|r| r.unwrap().lsn)
        .collect();
    assert_eq!(read[1], switch);
    assert_eq!(read[2], after);
}

#[test]
fn standby_copy_is_byte_identical() {
    let mut primary = new_log(64 * 1024);
    let mut standby = new_log(64 * 1024);
    let mut sent = Lsn(0x100_0000);
    for index in 0..100u16 {
        primary.insert(insert(740, index + 1, 300));
        let end = primary.insert_lsn();
        standby
            .write_received(sent, &primary.read_raw(sent, end))
            .unwrap();
        sent = end;
    }
    assert_eq!(
        standby.read_raw(Lsn(0x100_0000), sent),
        primary.read_raw(Lsn(0x100_0000), sent)
    );
    assert_eq!(standby.records_from(Lsn(0x100_0000)).count(), 100);
    assert!(
        standby.write_received(sent.offset(8), &[1]).is_err(),
        "a gap is refused"
    );
    let again = primary.read_raw(Lsn(0x100_0000), sent);
    standby.write_received(Lsn(0x100_0000), &again).unwrap();
    assert_eq!(
        standby.insert_lsn(),
        sent,
        "receiving the same bytes again changes nothing"
    );
    standby
        .write_received(Lsn(0x100_0000), &again[..100])
        .unwrap();
    assert_eq!(
        standby.insert_lsn(),
        sent,
        "a shorter identical resend keeps what follows"
    );
    standby.write_received(Lsn(0x100_0008), &[0xAB]).unwrap();
    assert_eq!(
        standby.insert_lsn(),
        Lsn(0x100_0009),
        "different bytes replace everything after them"
    );
}

proptest! {
    #[test]
    fn any_sequence_of_records_reads_back(sizes in proptest::collection::vec(0usize..3000, 1..60)) {
        let mut log = new_log(64 * 1024);
        let mut written = Vec::new();
        for (index, size) in sizes.iter().enumerate() {
            let record = insert(800 + index as u32, index as u16 + 1, *size);
            let (lsn, _) = log.insert(record.clone());
            written.push((lsn, record.body));
        }
        let read: Vec<(Lsn, RecordBody)> = log.records_from(Lsn(0x100_0000)).map(|r| { let r = r.unwrap(); (r.lsn, r.record.body) }).collect();
        prop_assert_eq!(read, written);
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Record::decode(&bytes, Lsn(0x28));
    }
}

#[test]
fn recovery_after_a_switch_ends_at_the_next_segment() {
    let mut log = new_log(64 * 1024);
    log.insert(insert(740, 1, 100));
    log.insert(Record {
        xid: 0,
        prev: Lsn::INVALID,
        body: RecordBody::Xlog(XlogRecord::Switch),
    });
    log.skip_to_next_segment();
    let next_segment = log.insert_lsn();
    assert_eq!(next_segment.0 % (64 * 1024), 0);
    log.flush(next_segment);
    log.lose_unflushed();
    let end = log.recover_end(Lsn(0x100_0000));
    assert_eq!(
        end, next_segment,
        "new records must not reuse the switched-out space"
    );
    assert_eq!(log.insert_lsn(), next_segment);
}

/// A log that keeps writing and removes its old segments, as checkpoints do, reuses the
/// memory of the removed ones: what it has allocated stops growing after the first removal,
/// and a segment costs what was written into it, not a buffer grown by doubling.
#[test]
fn removed_segments_memory_is_reused_by_new_ones() {
    let size = 1 << 20;
    let mut log = new_log(size);
    let mut peak_after_first_removal = None;
    for round in 0..12u32 {
        let segno = log.segment_size().segment_of(log.insert_lsn());
        while log.segment_size().segment_of(log.insert_lsn()) == segno {
            log.insert(insert(730 + round, 1, 300));
        }
        log.flush(log.insert_lsn());
        // A checkpoint keeps the current segment and the one before.
        log.remove_segments_before(segno);
        let held = log.footprint();
        assert!(held.segments <= 2, "{held:?}");
        assert!(
            held.allocated_bytes <= 2 * size as usize,
            "no more than two segments' worth: {held:?}"
        );
        let total = held.allocated_bytes + held.pooled_bytes;
        // Round 0 removes nothing; round 1 removes the first segment.
        match peak_after_first_removal {
            None if round == 1 => peak_after_first_removal = Some(total),
            None => {}
            Some(peak) => assert!(total <= peak, "round {round}: {held:?}, was {peak}"),
        }
    }
    let last = log.read_record(log.last_record_lsn()).unwrap();
    assert_eq!(last.record.body, insert(741, 1, 300).body);
}

fn heap2(body: Heap2Record) -> Record {
    Record {
        xid: 0,
        prev: Lsn(0x152_86A8),
        body: RecordBody::Heap2(body),
    }
}

#[test]
fn heap2_records_round_trip_and_print_as_pg_waldump_15() {
    let cases = [
        (
            heap2(Heap2Record::Prune {
                relation: REL,
                block: 0,
                latest_removed_xid: 733,
                redirected: vec![(5, 11)],
                dead: vec![1, 2, 3],
                unused: vec![],
            }),
            "desc: PRUNE latestRemovedXid 733 nredirected 1 ndead 3, blkref #0: rel 1663/5/16384 blk 0",
        ),
        (
            heap2(Heap2Record::Vacuum {
                relation: REL,
                block: 0,
                unused: vec![1, 2, 3],
            }),
            "desc: VACUUM nunused 3, blkref #0: rel 1663/5/16384 blk 0",
        ),
        (
            heap2(Heap2Record::FreezePage {
                relation: REL,
                block: 0,
                cutoff_xid: 735,
                offsets: (1..=8).collect(),
            }),
            "desc: FREEZE_PAGE cutoff xid 735 ntuples 8, blkref #0: rel 1663/5/16384 blk 0",
        ),
        (
            heap2(Heap2Record::Visible {
                relation: REL,
                block: 0,
                cutoff_xid: 734,
                flags: VM_ALL_VISIBLE | VM_ALL_FROZEN,
            }),
            "desc: VISIBLE cutoff xid 734 flags 0x03, blkref #0: rel 1663/5/16384 fork vm blk 0, blkref #1: rel 1663/5/16384 blk 0",
        ),
    ];
    for (record, desc) in cases {
        let bytes = record.encode();
        assert_eq!(bytes[17], 9, "Heap2's resource manager id");
        assert_eq!(Record::decode(&bytes, Lsn(0x152_86D0)).unwrap(), record);
        let line = record.waldump_line(Lsn(0x152_86D0), bytes.len());
        assert!(line.starts_with("rmgr: Heap2       len"), "{line}");
        assert!(line.ends_with(desc), "{line}");
    }
}

#[test]
fn btree_records_round_trip_and_print_as_pg_waldump() {
    use crate::btree::{BtreeMeta, BtreeRecord, IndexTuple, PageImage};
    let relation = RelFileLocator {
        tablespace: 1663,
        database: 5,
        relation: 16395,
    };
    let tuple = IndexTuple {
        key: vec![0, 1, 0, 0, 0],
        heap_block: 2,
        heap_offset: 7,
        child: 0,
    };
    let bodies = vec![
        (
            RecordBody::Xlog(XlogRecord::Fpi {
                relation,
                block: 0,
                image: PageImage::BtreeMeta(BtreeMeta {
                    root: 0,
                    level: 0,
                    key_types: vec![(23, -1)],
                    descending: vec![false],
                }),
            }),
            "rmgr: XLOG", "desc: FPI , blkref #0: rel 1663/5/16395 blk 0 FPW",
        ),
        (
            RecordBody::Btree(BtreeRecord::NewRoot {
                relation,
                root: 1,
                level: 0,
                left_child: 0,
                items: Vec::new(),
            }),
            "rmgr: Btree",
            "desc: NEWROOT lev 0, blkref #0: rel 1663/5/16395 blk 1, blkref #2: rel 1663/5/16395 blk 0",
        ),
        (
            RecordBody::Btree(BtreeRecord::InsertLeaf {
                relation,
                block: 1,
                offset: 1,
                tuple: tuple.clone(),
            }),
            "rmgr: Btree",
            "desc: INSERT_LEAF off 1, blkref #0: rel 1663/5/16395 blk 1",
        ),
        (
            RecordBody::Btree(BtreeRecord::Split {
                relation,
                level: 0,
                left: 1,
                right: 2,
                sibling: 0,
                first_right: 367,
                new_item_offset: 408,
                new_item_left: false,
                new_item: tuple.clone(),
                child: 0,
            }),
            "rmgr: Btree",
            "desc: SPLIT_R level 0, firstrightoff 367, newitemoff 408, postingoff 0, blkref #0: rel 1663/5/16395 blk 1, blkref #1: rel 1663/5/16395 blk 2",
        ),
        (
            RecordBody::Btree(BtreeRecord::InsertUpper {
                relation,
                block: 3,
                offset: 3,
                tuple: IndexTuple { child: 4, ..tuple },
                child: 2,
            }),
            "rmgr: Btree",
            "desc: INSERT_UPPER off 3, blkref #0: rel 1663/5/16395 blk 3, blkref #1: rel 1663/5/16395 blk 2",
        ),
        (
            RecordBody::Btree(BtreeRecord::Vacuum {
                relation,
                block: 1,
                deleted: vec![1, 2, 5, 9],
            }),
            "rmgr: Btree",
            "desc: VACUUM ndeleted 4; nupdated 0, blkref #0: rel 1663/5/16395 blk 1",
        ),
        (
            RecordBody::Btree(BtreeRecord::Delete {
                relation,
                block: 2,
                latest_removed_xid: 733,
                deleted: vec![3],
            }),
            "rmgr: Btree",
            "desc: DELETE latestRemovedXid 733; ndeleted 1; nupdated 0, blkref #0: rel 1663/5/16395 blk 2",
        ),
    ];
    let mut log = new_log(16 << 20);
    for (body, rmgr, desc) in bodies {
        let record = Record {
            xid: 730,
            prev: Lsn::INVALID,
            body,
        };
        let (lsn, _) = log.insert(record.clone());
        let read = log.read_record(lsn).unwrap();
        assert_eq!(read.record.body, record.body);
        let line = read.record.waldump_line(lsn, read.length);
        assert!(line.starts_with(rmgr), "{line}");
        assert!(line.ends_with(desc), "{line}");
    }
}

/// An unlogged relation's init fork, as PostgreSQL 15's pg_waldump prints its creation
/// (`desc: CREATE base/5/16384_init`). It carries its fork number, which pgplay's CREATE of a
/// main fork leaves out, so a plain CREATE still reads back as the main fork.
#[test]
fn init_fork_creation_round_trips_apart_from_the_main_fork() {
    let rel = RelFileLocator {
        tablespace: 1663,
        database: 5,
        relation: 16384,
    };
    for (body, desc) in [
        (
            StorageRecord::CreateInit(rel),
            "desc: CREATE base/5/16384_init",
        ),
        (StorageRecord::Create(rel), "desc: CREATE base/5/16384"),
    ] {
        let record = Record {
            xid: 724,
            prev: Lsn(0x150_D370),
            body: RecordBody::Storage(body),
        };
        let bytes = record.encode();
        assert_eq!(Record::decode(&bytes, Lsn(0x150_D3A0)).unwrap(), record);
        let line = record.waldump_line(Lsn(0x150_D3A0), bytes.len());
        assert!(line.ends_with(desc), "{line}");
        assert_eq!(record.body.data_relation(), None);
    }
}
