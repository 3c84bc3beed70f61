//! DISTINCT, UNION, INTERSECT and EXCEPT hashed within `hash_mem` (`work_mem` times
//! `hash_mem_multiplier`), spilling as PostgreSQL 15's HashAggregate does (`nodeAgg.c`), so
//! their memory stays within the limit however many distinct rows there are:
//!
//! - **DISTINCT and UNION** ([`HashedDistinct`]) stream: a row whose key is in memory is a
//!   duplicate and dropped; a new key that fits is kept and its row handed out at once (so
//!   `LIMIT` still ends the input early). Once the memory is full, rows of keys not in memory
//!   go, encoded, to one of [`PARTITIONS`] partitions of the node's temporary file by the hash
//!   of their key; when the input ends, each partition is read back as the input of a new
//!   batch (whose own overflow is partitioned again, on other bits of the hash). A key in a
//!   partition was never handed out, since a key in memory never goes to a partition.
//! - **INTERSECT and EXCEPT** ([`HashedSetOp`]) count each key's rows on the left and the
//!   right, as PostgreSQL's HashSetOp does, and hand out a batch's rows when its input ends
//!   (the key, once or as many times as `ALL` says); keys that do not fit go to partitions
//!   with the side they came from, and run as later batches.
//!
//! PostgreSQL 15's HashSetOp does not spill: its planner picks a sorted SetOp instead when the
//! hash table would not fit. pgplay keeps hashing, in batches; the rows are the same, in
//! another order (as PostgreSQL's come in hash order, a query that needs one says ORDER BY).

use std::collections::{BTreeMap, BTreeSet};

use super::super::Executor;
use super::exec::{Row, Source};
use super::hashagg::{hash_key, BITS, MAX_DEPTH, PARTITIONS};
use super::sort::Run;
use super::SetOpKind;
use crate::error::Result;
use crate::types::{Key, Value};
use crate::workmem::{entry_bytes, NodeMemory};

/// The batches of a hashing node: the partitions the current batch writes, the batches
/// still to run, and the temporary file they take.
struct Spill {
    memory: NodeMemory,
    /// The current batch's partitions (empty until it spills) and its depth.
    partitions: Vec<Run>,
    depth: u32,
    /// Batches not yet run, deepest last (run first, so the file holds the fewest at once).
    pending: Vec<(Run, u32)>,
    file: u64,
    batches: u64,
}

impl Spill {
    fn new(memory: NodeMemory) -> Spill {
        let mut spill = Spill {
            memory,
            partitions: Vec::new(),
            depth: 0,
            pending: Vec::new(),
            file: 0,
            batches: 0,
        };
        spill.count_batch();
        spill
    }

    fn count_batch(&mut self) {
        self.batches += 1;
        self.memory.set_batches(self.batches);
    }

    /// Whether a new key of `bytes` goes to a partition rather than into memory: the batch is
    /// spilling already, or the key does not fit (and memory holds some; the deepest level
    /// keeps every key, as PostgreSQL's does).
    fn must_spill(&self, bytes: u64, empty: bool) -> bool {
        if empty || self.depth >= MAX_DEPTH {
            return false;
        }
        !self.partitions.is_empty() || !self.memory.fits(bytes)
    }

    /// Writes `row` to its key's partition.
    fn write(&mut self, key: &[Value], row: &[Value], ex: &mut Executor<'_>) -> Result<()> {
        if self.partitions.is_empty() {
            self.partitions = (0..PARTITIONS).map(|_| Run::default()).collect();
        }
        let partition = (hash_key(key) >> (self.depth * BITS)) as usize % PARTITIONS;
        self.file += self.partitions[partition].append(row);
        ex.charge_file(&mut self.memory, self.file)
    }

    /// The current batch ended: its partitions become batches to run.
    fn end_batch(&mut self) {
        for run in std::mem::take(&mut self.partitions).into_iter().rev() {
            if !run.is_empty() {
                self.pending.push((run, self.depth + 1));
            }
        }
    }

    /// Starts the next batch: its rows. None when there is none.
    fn next_batch(&mut self) -> Option<Run> {
        let (run, depth) = self.pending.pop()?;
        self.depth = depth;
        self.count_batch();
        Some(run)
    }

    /// The next row of a batch's run, freeing its blocks as they are read.
    fn read(&mut self, run: &mut Run) -> Result<Option<Row>> {
        let Some((row, freed)) = run.read()? else {
            return Ok(None);
        };
        self.file -= freed;
        Ok(Some(row))
    }
}

/// DISTINCT over whole rows, and UNION (the rows of its inputs, one after the other), each
/// row once, in the order its key first came (batch by batch past `hash_mem`).
pub struct HashedDistinct<'p> {
    inputs: Vec<Box<dyn Source + 'p>>,
    seen: BTreeSet<Key>,
    /// Bytes `seen` holds.
    held: u64,
    spill: Spill,
    /// The batch being read back from the file (None: the inputs).
    batch: Option<Run>,
}

impl<'p> HashedDistinct<'p> {
    pub fn new(inputs: Vec<Box<dyn Source + 'p>>, memory: NodeMemory) -> HashedDistinct<'p> {
        HashedDistinct {
            inputs,
            seen: BTreeSet::new(),
            held: 0,
            spill: Spill::new(memory),
            batch: None,
        }
    }

    /// The current batch's next row; at its end, the next batch's. None at the last's end.
    fn next_input(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            let row = match &mut self.batch {
                Some(run) => self.spill.read(run)?,
                None => match self.inputs.first_mut() {
                    Some(input) => match input.next(ex)? {
                        Some(row) => Some(row),
                        None => {
                            self.inputs.remove(0);
                            if !self.inputs.is_empty() {
                                continue;
                            }
                            None
                        }
                    },
                    None => None,
                },
            };
            if row.is_some() {
                return Ok(row);
            }
            self.spill.end_batch();
            self.seen.clear();
            self.spill.memory.release(std::mem::take(&mut self.held));
            match self.spill.next_batch() {
                Some(run) => self.batch = Some(run),
                None => return Ok(None),
            }
        }
    }
}

impl Source for HashedDistinct<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.next_input(ex)? {
            ex.db.interrupts.check()?;
            let key = Key(row);
            if self.seen.contains(&key) {
                continue;
            }
            let bytes = entry_bytes(&key.0, 0);
            if self.spill.must_spill(bytes, self.seen.is_empty()) {
                self.spill.write(&key.0, &key.0, ex)?;
                continue;
            }
            self.spill.memory.hold(bytes)?;
            self.held += bytes;
            let row = key.0.clone();
            self.seen.insert(key);
            return Ok(Some(row));
        }
        Ok(None)
    }
}

/// INTERSECT [ALL] and EXCEPT [ALL]: each key's rows counted on both sides, a batch's rows
/// handed out when its input ends.
pub struct HashedSetOp<'p> {
    /// The left input, then the right (taken as they are read).
    inputs: Vec<Box<dyn Source + 'p>>,
    intersect: bool,
    all: bool,
    /// The current batch's keys: rows on the left and on the right.
    groups: BTreeMap<Key, (u64, u64)>,
    held: u64,
    spill: Spill,
    /// The finished batch's rows being handed out: a key and how many times still.
    output: std::collections::btree_map::IntoIter<Key, (u64, u64)>,
    repeat: Option<(Row, u64)>,
}

/// What a key of the groups takes: the row and its two counts.
const COUNTS: usize = 16;

impl<'p> HashedSetOp<'p> {
    pub fn new(
        op: SetOpKind,
        all: bool,
        left: Box<dyn Source + 'p>,
        right: Box<dyn Source + 'p>,
        memory: NodeMemory,
    ) -> HashedSetOp<'p> {
        HashedSetOp {
            inputs: vec![left, right],
            intersect: op == SetOpKind::Intersect,
            all,
            groups: BTreeMap::new(),
            held: 0,
            spill: Spill::new(memory),
            output: BTreeMap::new().into_iter(),
            repeat: None,
        }
    }

    /// How many times a key with these counts comes out.
    fn copies(&self, (left, right): (u64, u64)) -> u64 {
        match (self.intersect, self.all) {
            (true, true) => left.min(right),
            (true, false) => u64::from(left > 0 && right > 0),
            (false, true) => left.saturating_sub(right),
            (false, false) => u64::from(left > 0 && right == 0),
        }
    }

    /// Counts one row of a side (`right`) into its key, or writes it to a partition with its
    /// side appended when the key is not in memory and does not fit.
    fn add(&mut self, mut row: Row, right: bool, ex: &mut Executor<'_>) -> Result<()> {
        ex.db.interrupts.check()?;
        let key = Key(row);
        if !self.groups.contains_key(&key) {
            let bytes = entry_bytes(&key.0, COUNTS);
            if self.spill.must_spill(bytes, self.groups.is_empty()) {
                row = key.0;
                let key = row.clone();
                row.push(Value::Bool(right));
                return self.spill.write(&key, &row, ex);
            }
            self.spill.memory.hold(bytes)?;
            self.held += bytes;
        }
        let counts = self.groups.entry(key).or_default();
        if right {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
        Ok(())
    }

    /// Runs the first batch over the inputs, or the next batch from its partition. False
    /// when there is none left.
    fn run_batch(&mut self, ex: &mut Executor<'_>) -> Result<bool> {
        self.groups.clear();
        self.spill.memory.release(std::mem::take(&mut self.held));
        if !self.inputs.is_empty() {
            let inputs = std::mem::take(&mut self.inputs);
            for (side, mut input) in inputs.into_iter().enumerate() {
                while let Some(row) = input.next(ex)? {
                    self.add(row, side == 1, ex)?;
                }
            }
        } else {
            let Some(mut run) = self.spill.next_batch() else {
                return Ok(false);
            };
            while let Some(mut row) = self.spill.read(&mut run)? {
                let right = matches!(row.pop(), Some(Value::Bool(true)));
                self.add(row, right, ex)?;
            }
        }
        self.spill.end_batch();
        self.output = std::mem::take(&mut self.groups).into_iter();
        Ok(true)
    }
}

impl Source for HashedSetOp<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            if let Some((row, left)) = &mut self.repeat {
                if *left > 0 {
                    *left -= 1;
                    return Ok(Some(row.clone()));
                }
                self.repeat = None;
            }
            if let Some((Key(row), counts)) = self.output.next() {
                ex.db.interrupts.check()?;
                self.repeat = Some((row, self.copies(counts)));
                continue;
            }
            if !self.run_batch(ex)? {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{db, lines as rows};

    fn peak(db: &mut crate::Database) -> u64 {
        crate::workmem::take_node_peak(&db.temp_space)
    }

    /// 50,000 distinct rows through 64 kB (hash_mem 128 kB): DISTINCT and UNION hand each
    /// row out once, in batches, their memory within hash_mem.
    #[test]
    fn distinct_and_union_stay_within_hash_mem() {
        let (mut db, session) = db();
        rows(&mut db, session, "CREATE TABLE t (x int)");
        let fill = "INSERT INTO t SELECT g FROM generate_series(1, 100000) g";
        rows(&mut db, session, fill);
        rows(&mut db, session, "SET work_mem = '64kB'");
        peak(&mut db);
        let sql = "SELECT count(*), sum(k) FROM (SELECT DISTINCT x % 50000 AS k FROM t) s";
        assert_eq!(rows(&mut db, session, sql), ["50000 1249975000"]);
        let held = peak(&mut db);
        assert!(held <= 128 * 1024, "DISTINCT held {held} bytes");
        let sql = "SELECT count(*), sum(k) FROM (SELECT x % 30000 AS k FROM t UNION SELECT x + 20000 FROM t) s";
        assert_eq!(rows(&mut db, session, sql), ["120001 7200060000"]);
        let held = peak(&mut db);
        assert!(held <= 128 * 1024, "UNION held {held} bytes");
        let plan = rows(
            &mut db,
            session,
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT DISTINCT x % 50000 FROM t",
        );
        let line = plan
            .iter()
            .map(|l| l.trim_start())
            .find(|l| l.starts_with("Batches: "))
            .expect("a Batches line");
        assert!(!line.starts_with("Batches: 1 "), "{line}");
        assert!(line.contains("  Disk Usage: "), "{line}");
    }

    /// INTERSECT and EXCEPT, ALL or not, over 60,000 keys through 64 kB.
    #[test]
    fn intersect_and_except_stay_within_hash_mem() {
        let (mut db, session) = db();
        rows(&mut db, session, "CREATE TABLE a (x int)");
        rows(&mut db, session, "CREATE TABLE b (x int)");
        let fill = "INSERT INTO a SELECT g % 60000 FROM generate_series(1, 90000) g";
        rows(&mut db, session, fill);
        let fill = "INSERT INTO b SELECT g * 2 FROM generate_series(1, 40000) g";
        rows(&mut db, session, fill);
        rows(&mut db, session, "SET work_mem = '64kB'");
        peak(&mut db);
        let cases = [
            ("INTERSECT", "29999 899970000"),
            ("INTERSECT ALL", "29999 899970000"),
            ("EXCEPT", "30001 900000000"),
            ("EXCEPT ALL", "60001 1350015000"),
        ];
        for (op, want) in cases {
            let sql = format!(
                "SELECT count(*), sum(x::int8) FROM (SELECT x FROM a {op} SELECT x FROM b) s"
            );
            assert_eq!(rows(&mut db, session, &sql), [want], "{op}");
            let held = peak(&mut db);
            assert!(held <= 128 * 1024, "{op} held {held} bytes");
        }
    }
}
