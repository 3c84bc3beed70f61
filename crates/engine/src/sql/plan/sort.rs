//! The Sort node, as PostgreSQL's `tuplesort.c` runs it, so its memory stays within
//! `work_mem` however many rows it sorts:
//!
//! - **quicksort**: the input fits in `work_mem`; it is sorted in memory.
//! - **top-N heapsort**: under `LIMIT n [OFFSET m]` (the Limit tells its Sort the bound
//!   `n + m`, as `ExecSetTupleBound` does) the sort keeps only the best `n + m` rows in a
//!   heap, once it has seen more than twice that many (or its memory is full with more than
//!   that many). It never writes a temporary file for a small bound.
//! - **external merge**: past `work_mem`, the rows held are sorted and written as a *run* to
//!   the node's temporary file, and given back; at the end the runs are merged (several
//!   passes when there are more than the merge order), one row of each in memory.
//!
//! The temporary file's bytes are the runs, encoded ([`encode_row`]); they are counted as the
//! file's ([`NodeMemory::file_holds`]), not as memory. Like PostgreSQL's logical tapes, a
//! block read during a merge is freed, so the file grows only to the most it held at once.
//!
//! PostgreSQL's sorts are not stable; pgplay's are (rows with equal keys keep their input
//! order, in each method alike: the heap and the merge break ties by input position), so a
//! bounded sort gives exactly the first rows of the full sort.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::super::Executor;
use super::exec::{compare_rows, sort_rows, Row, Source};
use super::SortKey;
use crate::error::{DbError, Result};
use crate::types::{DataType, Value};
use crate::workmem::{row_bytes, NodeMemory};

/// Bytes of a temporary file's block: a run's rows are written in blocks of at least this,
/// and a block is freed once a merge has read all its rows.
const BLOCK: usize = 8192;

/// PostgreSQL's least merge order (`MINORDER`) and its most (`MAXORDER`).
const MIN_ORDER: usize = 6;
const MAX_ORDER: usize = 500;

/// The bound at which PostgreSQL gives up on a heap (`tuplesort_set_bound`: INT_MAX / 2).
const MAX_BOUND: u64 = (i32::MAX / 2) as u64;

/// A Sort node: reads its whole input at the first `next`, then yields it in order.
pub struct SortNode<'p> {
    input: Option<Box<dyn Source + 'p>>,
    sorter: Sorter<'p>,
}

impl<'p> SortNode<'p> {
    pub fn new(input: Box<dyn Source + 'p>, sorter: Sorter<'p>) -> SortNode<'p> {
        SortNode {
            input: Some(input),
            sorter,
        }
    }
}

impl Source for SortNode<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            while let Some(row) = input.next(ex)? {
                self.sorter.put(row, ex)?;
            }
            self.sorter.finish(ex)?;
        }
        self.sorter.next(ex)
    }
}

/// The sort's state: rows put in, then taken out in order.
pub struct Sorter<'k> {
    keys: &'k [SortKey],
    /// Only this many rows are wanted (LIMIT + OFFSET).
    bound: Option<usize>,
    memory: NodeMemory,
    /// Rows held in memory, in input order, not yet written.
    rows: Vec<Row>,
    /// Once bounded: the best `bound` rows, the worst on top.
    heap: Option<BinaryHeap<Ranked<'k>>>,
    /// Rows put in so far (the next row's input position), and their bytes.
    seen: u64,
    seen_bytes: u64,
    /// Runs written, in input order.
    runs: Vec<Run>,
    /// Bytes the temporary file holds now.
    file: u64,
    output: Output<'k>,
}

/// What `next` hands out.
enum Output<'k> {
    Loading,
    Memory(std::vec::IntoIter<Row>),
    Merge(Merge<'k>),
}

impl<'k> Sorter<'k> {
    /// `bound`: a Limit above wants only this many rows (None: all, as for WITH TIES).
    pub fn new(keys: &'k [SortKey], bound: Option<u64>, memory: NodeMemory) -> Sorter<'k> {
        Sorter {
            keys,
            bound: bound
                .filter(|b| (1..=MAX_BOUND).contains(b))
                .map(|b| b as usize),
            memory,
            rows: Vec::new(),
            heap: None,
            seen: 0,
            seen_bytes: 0,
            runs: Vec::new(),
            file: 0,
            output: Output::Loading,
        }
    }

    /// Takes one more input row.
    pub fn put(&mut self, row: Row, ex: &mut Executor<'_>) -> Result<()> {
        let bytes = row_bytes(&row);
        let position = self.seen;
        self.seen += 1;
        self.seen_bytes += bytes;
        if self.heap.is_some() {
            return self.offer(row, position, ex);
        }
        if !self.memory.fits(bytes) && !self.rows.is_empty() {
            match self.bound {
                Some(bound) if self.runs.is_empty() && self.rows.len() >= bound => {
                    self.make_heap(ex)?;
                    return self.offer(row, position, ex);
                }
                _ => self.write_run(ex)?,
            }
        }
        self.memory.hold(bytes)?;
        self.rows.push(row);
        if let Some(bound) = self.bound {
            if self.runs.is_empty() && self.rows.len() > bound.saturating_mul(2) {
                self.make_heap(ex)?;
            }
        }
        Ok(())
    }

    /// The input is all in: sorts what memory holds, or merges the runs down to one merge.
    pub fn finish(&mut self, ex: &mut Executor<'_>) -> Result<()> {
        if let Some(heap) = self.heap.take() {
            let rows: Vec<Row> = heap.into_sorted_vec().into_iter().map(|r| r.row).collect();
            self.output = Output::Memory(rows.into_iter());
            return Ok(());
        }
        if self.runs.is_empty() {
            let mut rows = std::mem::take(&mut self.rows);
            sort_rows(&mut rows, self.keys, ex)?;
            self.output = Output::Memory(rows.into_iter());
            return Ok(());
        }
        if !self.rows.is_empty() {
            self.write_run(ex)?;
        }
        let order = merge_order(
            self.memory.usage().limit,
            self.seen_bytes / self.seen.max(1),
        );
        while self.runs.len() > order {
            let inputs: Vec<Run> = self.runs.drain(..order).collect();
            let mut merge = Merge::new(inputs, self.keys, &mut self.memory, &mut self.file)?;
            let mut run = Run::default();
            while let Some(row) = merge.next(&mut self.memory, &mut self.file, ex)? {
                self.append(&mut run, &row, ex)?;
                self.memory.release(row_bytes(&row));
            }
            self.runs.insert(0, run);
        }
        let runs = std::mem::take(&mut self.runs);
        self.output = Output::Merge(Merge::new(
            runs,
            self.keys,
            &mut self.memory,
            &mut self.file,
        )?);
        Ok(())
    }

    /// The next row in order.
    pub fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        match &mut self.output {
            Output::Loading => Ok(None),
            Output::Memory(rows) => Ok(rows.next()),
            Output::Merge(merge) => {
                let row = merge.next(&mut self.memory, &mut self.file, ex)?;
                if let Some(row) = &row {
                    self.memory.release(row_bytes(row));
                }
                Ok(row)
            }
        }
    }

    /// Turns the rows held into the heap of the best `bound` of them.
    fn make_heap(&mut self, ex: &mut Executor<'_>) -> Result<()> {
        self.memory.set_top_n();
        self.heap = Some(BinaryHeap::new());
        let rows = std::mem::take(&mut self.rows);
        let held: u64 = rows.iter().map(|r| row_bytes(r)).sum();
        self.memory.release(held);
        for (position, row) in rows.into_iter().enumerate() {
            self.offer(row, position as u64, ex)?;
        }
        Ok(())
    }

    /// A row for the heap: kept if it is better than the worst kept, which then goes.
    fn offer(&mut self, row: Row, position: u64, ex: &mut Executor<'_>) -> Result<()> {
        ex.db.interrupts.check()?;
        let (Some(heap), Some(bound)) = (self.heap.as_mut(), self.bound) else {
            return Ok(());
        };
        let ranked = Ranked {
            row,
            position,
            keys: self.keys,
        };
        if heap.len() >= bound {
            match heap.peek() {
                Some(worst) if ranked < *worst => {}
                _ => return Ok(()),
            }
            if let Some(worst) = heap.pop() {
                self.memory.release(row_bytes(&worst.row));
            }
        }
        self.memory.hold(row_bytes(&ranked.row))?;
        heap.push(ranked);
        Ok(())
    }

    /// Sorts the rows held and writes them as a run to the temporary file, giving their
    /// memory back.
    fn write_run(&mut self, ex: &mut Executor<'_>) -> Result<()> {
        let mut rows = std::mem::take(&mut self.rows);
        sort_rows(&mut rows, self.keys, ex)?;
        let mut run = Run::default();
        for row in rows {
            self.append(&mut run, &row, ex)?;
            self.memory.release(row_bytes(&row));
        }
        self.runs.push(run);
        Ok(())
    }

    /// Writes one row at the end of `run`.
    fn append(&mut self, run: &mut Run, row: &[Value], ex: &mut Executor<'_>) -> Result<()> {
        let written = run.append(row);
        self.file += written;
        ex.charge_file(&mut self.memory, self.file)
    }
}

/// How many runs one merge reads at once: PostgreSQL gives each input run 256 kB of buffers;
/// pgplay holds one row of each, so as many runs as half of `work_mem` holds rows of the
/// average size.
fn merge_order(limit: u64, row: u64) -> usize {
    let order = limit / 2 / row.max(64);
    (order.min(MAX_ORDER as u64) as usize).max(MIN_ORDER)
}

/// A row in the heap, ordered by the sort keys, then by input position (the later is worse).
struct Ranked<'k> {
    row: Row,
    position: u64,
    keys: &'k [SortKey],
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_rows(&self.row, &other.row, self.keys).then(self.position.cmp(&other.position))
    }
}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked<'_> {}

/// A sorted run in the temporary file: its rows encoded, in blocks.
#[derive(Default)]
pub(super) struct Run {
    blocks: VecDeque<Vec<u8>>,
    /// Where the next row to read starts in the first block.
    at: usize,
}

impl Run {
    pub(super) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Appends a row; returns the bytes written.
    pub(super) fn append(&mut self, row: &[Value]) -> u64 {
        if self.blocks.back().is_none_or(|b| b.len() >= BLOCK) {
            self.blocks.push_back(Vec::with_capacity(BLOCK));
        }
        let block = self.blocks.back_mut().expect("a block was pushed");
        let before = block.len();
        encode_row(row, block);
        (block.len() - before) as u64
    }

    /// Reads the next row; also returns the bytes of the blocks it finished (freed).
    pub(super) fn read(&mut self) -> Result<Option<(Row, u64)>> {
        let Some(block) = self.blocks.front() else {
            return Ok(None);
        };
        let (row, used) = decode_row(&block[self.at..])?;
        self.at += used;
        let mut freed = 0;
        if self.at >= block.len() {
            freed = block.len() as u64;
            self.blocks.pop_front();
            self.at = 0;
        }
        Ok(Some((row, freed)))
    }
}

/// A merge of runs: the next row of each in a heap, smallest on top.
struct Merge<'k> {
    runs: Vec<Run>,
    heads: BinaryHeap<Head<'k>>,
}

/// One run's next row; ordered so the heap's top is the smallest (ties: the earlier run).
struct Head<'k> {
    row: Row,
    run: usize,
    keys: &'k [SortKey],
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_rows(&other.row, &self.row, self.keys).then(other.run.cmp(&self.run))
    }
}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

impl<'k> Merge<'k> {
    fn new(
        runs: Vec<Run>,
        keys: &'k [SortKey],
        memory: &mut NodeMemory,
        file: &mut u64,
    ) -> Result<Merge<'k>> {
        let mut merge = Merge {
            runs,
            heads: BinaryHeap::new(),
        };
        for run in 0..merge.runs.len() {
            merge.refill(run, keys, memory, file)?;
        }
        Ok(merge)
    }

    /// Reads run `run`'s next row into the heap (held in memory until handed out).
    fn refill(
        &mut self,
        run: usize,
        keys: &'k [SortKey],
        memory: &mut NodeMemory,
        file: &mut u64,
    ) -> Result<()> {
        if let Some((row, freed)) = self.runs[run].read()? {
            *file -= freed;
            memory.hold(row_bytes(&row))?;
            self.heads.push(Head { row, run, keys });
        }
        Ok(())
    }

    /// The smallest row left (the caller gives its memory back).
    fn next(
        &mut self,
        memory: &mut NodeMemory,
        file: &mut u64,
        ex: &mut Executor<'_>,
    ) -> Result<Option<Row>> {
        ex.db.interrupts.check()?;
        let Some(head) = self.heads.pop() else {
            return Ok(None);
        };
        self.refill(head.run, head.keys, memory, file)?;
        Ok(Some(head.row))
    }
}

/// A row as written to a temporary file: its length (4 bytes), then each value's type tag
/// (0 for NULL) and bytes as a tuple stores them ([`crate::tuple`]).
pub fn encode_row(row: &[Value], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    for value in row {
        encode_tagged(value, out);
    }
    let length = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
}

/// The row at the start of `data`, and the bytes it took.
pub fn decode_row(data: &[u8]) -> Result<(Row, usize)> {
    let truncated = || DbError::internal("temporary file data is truncated");
    let length = data
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(truncated)? as usize;
    let mut rest = data.get(4..length).ok_or_else(truncated)?;
    let mut row = Vec::new();
    while !rest.is_empty() {
        let (value, tail) = decode_tagged(rest)?;
        row.push(value);
        rest = tail;
    }
    Ok((row, length))
}

/// An array's tag: its lower bound and length follow, then each element tagged in turn (a
/// tuple's array bytes need the element type, which a temporary file does not keep).
const ARRAY_TAG: u8 = 14;

/// A value's tag, then its bytes.
fn encode_tagged(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(array) => {
            out.push(ARRAY_TAG);
            out.extend_from_slice(&array.lower.to_le_bytes());
            out.extend_from_slice(&(array.items.len() as u32).to_le_bytes());
            for item in &array.items {
                encode_tagged(item, out);
            }
        }
        other => {
            out.push(tag(other));
            crate::tuple::encode_value(other, out);
        }
    }
}

/// The tagged value at the start of `data`, and the bytes after it.
fn decode_tagged(data: &[u8]) -> Result<(Value, &[u8])> {
    let bad = || DbError::internal("bad value in a temporary file");
    let (&tag, rest) = data.split_first().ok_or_else(bad)?;
    if tag == ARRAY_TAG {
        let lower = rest.get(..4).ok_or_else(bad)?;
        let count = rest.get(4..8).ok_or_else(bad)?;
        let lower = i32::from_le_bytes(lower.try_into().map_err(|_| bad())?);
        let count = u32::from_le_bytes(count.try_into().map_err(|_| bad())?) as usize;
        // Each element takes at least its tag byte.
        let mut rest = &rest[8..];
        if count > rest.len() {
            return Err(bad());
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let (item, tail) = decode_tagged(rest)?;
            items.push(item);
            rest = tail;
        }
        let array = crate::types::Array { lower, items };
        return Ok((Value::Array(Box::new(array)), rest));
    }
    match tag_type(tag)? {
        None => Ok((Value::Null, rest)),
        Some(data_type) => crate::tuple::decode_one(rest, &data_type),
    }
}

/// A value's type tag in a temporary file.
fn tag(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int2(_) => 2,
        Value::Int4(_) => 3,
        Value::Int8(_) => 4,
        Value::Numeric(_) => 5,
        Value::Float8(_) => 6,
        Value::Text(_) => 7,
        Value::Oid(_) => 8,
        Value::Timestamp(_) => 9,
        Value::TimestampTz(_) => 10,
        Value::Interval(_) => 11,
        Value::Date(_) => 12,
        Value::PgLsn(_) => 13,
        Value::Array(_) => ARRAY_TAG,
        Value::Uuid(_) => 15,
        Value::Bytea(_) => 16,
        Value::Float4(_) => 17,
        Value::Time(_) => 18,
        Value::Json(_) => 19,
        Value::Jsonb(_) => 20,
    }
}

/// The type a tag stands for (None: NULL).
fn tag_type(tag: u8) -> Result<Option<DataType>> {
    Ok(Some(match tag {
        0 => return Ok(None),
        1 => DataType::Bool,
        2 => DataType::Int2,
        3 => DataType::Int4,
        4 => DataType::Int8,
        5 => DataType::NUMERIC,
        6 => DataType::Float8,
        7 => DataType::Text,
        8 => DataType::Oid,
        9 => DataType::Timestamp,
        10 => DataType::TimestampTz,
        11 => DataType::Interval,
        12 => DataType::Date,
        13 => DataType::PgLsn,
        15 => DataType::Uuid,
        16 => DataType::Bytea,
        17 => DataType::Float4,
        18 => DataType::Time(None),
        19 => DataType::Json,
        20 => DataType::Jsonb,
        _ => return Err(DbError::internal("bad value in a temporary file")),
    }))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::test_support::{db, rows, run};
    use crate::{Database, SessionId};

    fn ints(db: &mut Database, session: SessionId, sql: &str) -> Vec<Vec<i64>> {
        rows(db, session, sql)
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.unwrap().parse().unwrap()).collect())
            .collect()
    }

    fn plan(db: &mut Database, session: SessionId, sql: &str) -> Vec<String> {
        let sql = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}");
        rows(db, session, &sql)
            .into_iter()
            .filter_map(|r| r[0].clone())
            .map(|l| l.trim_start().to_string())
            .collect()
    }

    fn temp_files(db: &mut Database) -> u64 {
        crate::workmem::totals(&db.temp_space).2
    }

    /// 20,000 rows of text through 64 kB: the sort's memory never goes past work_mem, its runs
    /// are on the temporary file, and a top-N sort holds a handful of rows and no file.
    #[test]
    fn a_big_sort_stays_within_work_mem() {
        let (mut db, session) = db();
        run(&mut db, session, "CREATE TABLE a (k int, v text)").unwrap();
        let fill = "INSERT INTO a SELECT g, ((g * 7919) % 20011) || ' and some more text' FROM generate_series(1, 20000) g";
        run(&mut db, session, fill).unwrap();
        run(&mut db, session, "SET work_mem = '64kB'").unwrap();
        crate::workmem::take_node_peak(&db.temp_space);
        let sql = "SELECT k, v FROM a ORDER BY v DESC OFFSET 19999";
        let last = rows(&mut db, session, sql);
        let first = rows(&mut db, session, "SELECT k, v FROM a ORDER BY v LIMIT 1");
        assert_eq!(last, first);
        let peak = crate::workmem::take_node_peak(&db.temp_space);
        assert!(peak <= 64 * 1024, "{peak} bytes held");
        assert!(temp_files(&mut db) > 500 * 1024, "the runs are on the file");
        let lines = plan(&mut db, session, "SELECT k FROM a ORDER BY v");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Sort Method: external merge  Disk: ")),
            "{lines:?}"
        );

        let before = crate::workmem::totals(&db.temp_space).2;
        run(&mut db, session, "SET temp_file_limit = 0").unwrap();
        crate::workmem::take_node_peak(&db.temp_space);
        let sql = "SELECT k FROM a ORDER BY v LIMIT 10 OFFSET 5";
        assert_eq!(rows(&mut db, session, sql).len(), 10);
        let peak = crate::workmem::take_node_peak(&db.temp_space);
        assert!(peak < 16 * 1024, "{peak} bytes held for 15 rows");
        assert_eq!(crate::workmem::totals(&db.temp_space).2, before);
        let lines = plan(&mut db, session, sql);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Sort Method: top-N heapsort  Memory: ")),
            "{lines:?}"
        );
        // Fewer than twice the bound's rows: sorted in memory.
        let lines = plan(
            &mut db,
            session,
            "SELECT k FROM a WHERE k <= 25 ORDER BY v LIMIT 20",
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Sort Method: quicksort  Memory: ")),
            "{lines:?}"
        );
    }

    #[test]
    fn rows_round_trip_through_a_temporary_file() {
        use crate::types::{Interval, Numeric, Value};
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int2(-3),
            Value::Int4(7),
            Value::Int8(1 << 40),
            Value::Numeric(Numeric::from_scaled(-12345, 3)),
            Value::Float8(0.5),
            Value::Text("x".repeat(300)),
            Value::Oid(42),
            Value::Timestamp(1),
            Value::TimestampTz(-1),
            Value::Interval(Interval {
                micros: 5,
                days: 6,
                months: 7,
            }),
            Value::Date(-9),
            Value::PgLsn(pgplay_wal::Lsn(99)),
        ];
        let mut bytes = Vec::new();
        super::encode_row(&row, &mut bytes);
        super::encode_row(&[], &mut bytes);
        let (back, used) = super::decode_row(&bytes).unwrap();
        assert_eq!(back, row);
        assert_eq!(super::decode_row(&bytes[used..]).unwrap(), (vec![], 4));
        assert!(super::decode_row(&bytes[..used - 1]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        /// Quicksort, external merge (one pass or several) and top-N heapsort give the same
        /// rows in the same order, ties in input order.
        #[test]
        fn every_sort_method_agrees(
            n in 0usize..9000,
            spread in 1i64..40,
            step in 1i64..1000,
            limit in 1usize..300,
        ) {
            let (mut db, session) = db();
            run(&mut db, session, "CREATE TABLE p (k int, id int)").unwrap();
            let fill = format!(
                "INSERT INTO p SELECT (g * {step}) % {spread}, g FROM generate_series(1, {n}) g"
            );
            run(&mut db, session, &fill).unwrap();
            let all = ints(&mut db, session, "SELECT k, id FROM p ORDER BY k");
            let mut expected = all.clone();
            expected.sort();
            prop_assert_eq!(&all, &expected);
            run(&mut db, session, "SET work_mem = '64kB'").unwrap();
            crate::workmem::take_node_peak(&db.temp_space);
            let spilled = ints(&mut db, session, "SELECT k, id FROM p ORDER BY k");
            prop_assert_eq!(&spilled, &expected);
            let sql = format!("SELECT k, id FROM p ORDER BY k LIMIT {limit} OFFSET 3");
            let top = ints(&mut db, session, &sql);
            let want: Vec<Vec<i64>> = expected.iter().skip(3).take(limit).cloned().collect();
            prop_assert_eq!(top, want);
            let peak = crate::workmem::take_node_peak(&db.temp_space);
            prop_assert!(peak <= 64 * 1024, "{} bytes held", peak);
        }
    }
}
