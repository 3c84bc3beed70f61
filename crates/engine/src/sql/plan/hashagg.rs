//! HashAggregate (grouping), as PostgreSQL 15's `nodeAgg.c` spills it, so its memory stays
//! within `hash_mem` (`work_mem` times `hash_mem_multiplier`) however many groups there are:
//! groups already in memory are updated whatever their number, but once the memory is full a
//! row of a group not yet there is written, encoded, to one of [`PARTITIONS`] partitions of
//! the node's temporary file, chosen by the hash of its group key. When the input ends the
//! groups in memory are finished and handed out, then each partition is read back as the
//! input of a new batch (whose own overflow is partitioned again, on other bits of the hash).
//! EXPLAIN ANALYZE's `Batches:` counts them.
//!
//! Groups come out ordered by key within a batch (pgplay's groups are a B-tree), batch after
//! batch; PostgreSQL's come in hash order, so a query that needs an order says ORDER BY.

use std::collections::BTreeMap;

use super::super::expr::{eval, AggCall, Expr, Row as EvalRow};
use super::super::Executor;
use super::aggregate::{self, AggState};
use super::exec::{Row, Source};
use super::sort::Run;
use crate::error::Result;
use crate::types::{Key, Value};
use crate::workmem::{entry_bytes, NodeMemory};

/// How many partitions a batch's overflow is split into (PostgreSQL chooses 4 to 256 from its
/// estimates; pgplay has none worth the name).
const PARTITIONS: usize = 32;

/// Bits of the key's hash one level of partitions uses; past the hash's bits a batch keeps all
/// its groups in memory, as PostgreSQL does at its deepest level.
const BITS: u32 = 5;
const MAX_DEPTH: u32 = 64 / BITS;

/// A HashAggregate: groups `input` by `keys`, one output row per group: the keys, then the
/// aggregates' values.
pub struct HashAggregate<'p> {
    input: Option<Box<dyn Source + 'p>>,
    keys: &'p [Expr],
    aggregates: &'p [AggCall],
    memory: NodeMemory,
    /// Batches not yet run: their rows, and their depth (which bits of the hash they split on).
    pending: Vec<(Run, u32)>,
    /// The finished groups of the batch being handed out, and the bytes they hold.
    output: std::vec::IntoIter<Row>,
    held: u64,
    /// Bytes the temporary file holds now.
    file: u64,
    batches: u64,
}

/// One batch's groups in memory, and where the rows of the groups that did not fit go.
struct Batch {
    groups: BTreeMap<Key, Vec<AggState>>,
    held: u64,
    depth: u32,
    spill: Vec<Run>,
}

impl<'p> HashAggregate<'p> {
    pub fn new(
        input: Box<dyn Source + 'p>,
        keys: &'p [Expr],
        aggregates: &'p [AggCall],
        memory: NodeMemory,
    ) -> HashAggregate<'p> {
        HashAggregate {
            input: Some(input),
            keys,
            aggregates,
            memory,
            pending: Vec::new(),
            output: Vec::new().into_iter(),
            held: 0,
            file: 0,
            batches: 0,
        }
    }

    /// Runs one batch: every row of `rows` into its group or a partition; then its groups.
    fn run_batch(
        &mut self,
        mut rows: impl FnMut(&mut Self, &mut Executor<'_>) -> Result<Option<Row>>,
        depth: u32,
        ex: &mut Executor<'_>,
    ) -> Result<()> {
        self.batches += 1;
        self.memory.set_batches(self.batches);
        let mut batch = Batch {
            groups: BTreeMap::new(),
            held: 0,
            depth,
            spill: Vec::new(),
        };
        while let Some(row) = rows(self, ex)? {
            ex.db.interrupts.check()?;
            self.add(&mut batch, row, ex)?;
        }
        let mut finished = Vec::with_capacity(batch.groups.len());
        for (Key(mut key), states) in batch.groups {
            ex.db.interrupts.check()?;
            for (call, state) in self.aggregates.iter().zip(states) {
                key.push(aggregate::finish(call, state)?);
            }
            finished.push(key);
        }
        self.held = batch.held;
        self.output = finished.into_iter();
        // Deeper batches first, so the file holds the fewest at once.
        for run in batch.spill.into_iter().rev() {
            if !run.is_empty() {
                self.pending.push((run, depth + 1));
            }
        }
        Ok(())
    }

    /// One row into its group (a new group only if it fits, else the row to a partition).
    fn add(&mut self, batch: &mut Batch, row: Row, ex: &mut Executor<'_>) -> Result<()> {
        let key = self
            .keys
            .iter()
            .map(|k| eval(k, &EvalRow::plain(&row), ex))
            .collect::<Result<Vec<_>>>()?;
        let key = Key(key);
        let mut bytes = 0;
        if !batch.groups.contains_key(&key) {
            let states_bytes = self.aggregates.len() * std::mem::size_of::<AggState>() + 24;
            let new = entry_bytes(&key.0, states_bytes);
            if !self.memory.fits(new) && !batch.groups.is_empty() && batch.depth < MAX_DEPTH {
                return self.spill(batch, &key, &row, ex);
            }
            bytes += new;
            let states = self.aggregates.iter().map(AggState::new).collect();
            batch.groups.insert(key.clone(), states);
        }
        let states = batch.groups.get_mut(&key).expect("the group is there");
        for (call, state) in self.aggregates.iter().zip(states.iter_mut()) {
            bytes += aggregate::update(call, state, &row, ex)?;
        }
        batch.held += bytes;
        self.memory.hold(bytes)
    }

    /// Writes a row of a group not in memory to its partition.
    fn spill(
        &mut self,
        batch: &mut Batch,
        key: &Key,
        row: &[Value],
        ex: &mut Executor<'_>,
    ) -> Result<()> {
        if batch.spill.is_empty() {
            batch.spill = (0..PARTITIONS).map(|_| Run::default()).collect();
        }
        let partition = (hash_key(&key.0) >> (batch.depth * BITS)) as usize % PARTITIONS;
        self.file += batch.spill[partition].append(row);
        ex.charge_file(&mut self.memory, self.file)
    }
}

impl Source for HashAggregate<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            self.run_batch(|_, ex| input.next(ex), 0, ex)?;
        }
        loop {
            if let Some(row) = self.output.next() {
                return Ok(Some(row));
            }
            self.memory.release(std::mem::take(&mut self.held));
            let Some((mut run, depth)) = self.pending.pop() else {
                return Ok(None);
            };
            self.run_batch(
                |this, _| {
                    let Some((row, freed)) = run.read()? else {
                        return Ok(None);
                    };
                    this.file -= freed;
                    Ok(Some(row))
                },
                depth,
                ex,
            )?;
        }
    }
}

/// A hash of a group key that equal keys share (as `types::compare` judges them equal:
/// numerics at any scale, intervals of the same span). FNV-1a, so it is the same on every run.
fn float_bits(f: f64) -> u64 {
    if f == 0.0 {
        0
    } else if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        f.to_bits()
    }
}

pub(super) fn hash_key(key: &[Value]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for value in key {
        match value {
            Value::Null => feed(&[0]),
            Value::Numeric(n) => feed(&n.trim_scale().encode()),
            Value::Interval(i) => feed(&i.span().to_le_bytes()),
            // Equal floats hash alike: -0 as 0, every NaN as one.
            Value::Float8(f) => feed(&float_bits(*f).to_le_bytes()),
            Value::Float4(f) => feed(&float_bits(f64::from(*f)).to_le_bytes()),
            Value::Text(t) => feed(t.as_bytes()),
            other => match other.as_i64() {
                Some(i) => feed(&i.to_le_bytes()),
                None => {
                    let mut bytes = Vec::new();
                    crate::tuple::encode_value(other, &mut bytes);
                    feed(&bytes);
                }
            },
        }
        feed(&[0xff]);
    }
    hash
}

#[cfg(test)]
mod tests {
    use crate::test_support::{db, lines as rows};

    /// 20,000 groups through 64 kB (hash_mem 128 kB): several batches, every group once, and
    /// the node's memory within hash_mem.
    #[test]
    fn many_groups_run_in_batches_within_hash_mem() {
        let (mut db, session) = db();
        rows(&mut db, session, "CREATE TABLE t (x int)");
        rows(
            &mut db,
            session,
            "INSERT INTO t SELECT g FROM generate_series(1, 60000) g",
        );
        rows(&mut db, session, "SET work_mem = '64kB'");
        crate::workmem::take_node_peak(&db.temp_space);
        let sql = "SELECT count(*), sum(n), min(n), max(n) FROM (SELECT x % 20000, count(*) AS n FROM t GROUP BY 1) s";
        assert_eq!(rows(&mut db, session, sql), ["20000 60000 3 3"]);
        let peak = crate::workmem::take_node_peak(&db.temp_space);
        assert!(peak <= 128 * 1024, "{peak} bytes held");
        let plan = rows(
            &mut db,
            session,
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT x % 20000, count(*) FROM t GROUP BY 1",
        );
        let line = plan
            .iter()
            .map(|l| l.trim_start())
            .find(|l| l.starts_with("Batches: "))
            .expect("a Batches line");
        let batches: u64 = line["Batches: ".len()..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert!(batches > 8, "{line}");
        assert!(line.contains("  Disk Usage: "), "{line}");
        // Fewer groups: one batch, no file.
        let plan = rows(
            &mut db,
            session,
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT x % 20, count(*) FROM t GROUP BY 1",
        );
        assert!(
            plan.iter()
                .any(|l| l.trim_start().starts_with("Batches: 1  Memory Usage: ")),
            "{plan:?}"
        );
        // hash_mem_multiplier 1000: hash_mem 64 MB, one batch for all 20,000 groups.
        rows(&mut db, session, "SET hash_mem_multiplier = 1000");
        let plan = rows(
            &mut db,
            session,
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT x % 20000, count(*) FROM t GROUP BY 1",
        );
        assert!(
            plan.iter()
                .any(|l| l.trim_start().starts_with("Batches: 1  Memory Usage: ")),
            "{plan:?}"
        );
    }
}
