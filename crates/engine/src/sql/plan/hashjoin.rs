//! A hash join whose inner (right) side does not fit in `hash_mem`, run in batches as
//! PostgreSQL's `nodeHashjoin.c` runs it, so the join's memory stays within `hash_mem`:
//!
//! - The right rows are read while they fit. Past `hash_mem` they all go to the node's
//!   temporary file; their size then gives the number of batches (a power of two, each batch
//!   about two thirds of `hash_mem`), and they are split by the hash of their join key into
//!   one file per batch, batch 0's kept in memory.
//! - The left rows of batch 0 are joined as they come; the others are written to their
//!   batch's file. Each later batch then loads its right rows and joins its left rows.
//!
//! Rows whose key is NULL never join: they stay in batch 0 (a LEFT, RIGHT or FULL join still
//! emits them). Each batch is an ordinary [`JoinSource`], so outer joins emit their unmatched
//! rows batch by batch. The rows come out in another order than an unbatched join's (as in
//! PostgreSQL).

use std::sync::{Arc, Mutex};

use super::super::expr::Expr;
use super::super::Executor;
use super::exec::{bucket_bytes, hash_key, open, wrapper_key, JoinSource, Row, Source};
use super::sort::Run;
use super::Join;
use crate::error::Result;
use crate::types::Value;
use crate::workmem::{row_bytes, NodeMemory};

/// The most batches (PostgreSQL's are bounded by memory for their array; pgplay's too).
const MAX_BATCHES: u64 = 1 << 16;

/// Opens a hash join: in memory when its right side fits, else in batches.
pub fn open_join<'p>(join: &'p Join, ex: &mut Executor<'_>) -> Result<Box<dyn Source + 'p>> {
    let key = wrapper_key(&join.right);
    let mut memory = ex.node_memory(true, Some(key));
    let right_keys: Vec<&Expr> = join.hash_keys.iter().map(|(_, r)| r).collect();
    let mut right = open(&join.right, ex)?;
    let mut rows = Vec::new();
    let mut padded = vec![Value::Null; join.left_width];
    while let Some(row) = right.next(ex)? {
        ex.db.interrupts.check()?;
        padded.truncate(join.left_width);
        padded.extend(row.iter().cloned());
        let bytes =
            row_bytes(&row) + hash_key(&right_keys, &padded, ex)?.map_or(0, |k| bucket_bytes(&k));
        if !memory.fits(bytes) {
            let spill = Spill::start(rows, row, right, memory, ex)?;
            return Batched::start(join, spill, ex);
        }
        memory.hold(row_bytes(&row))?;
        rows.push(row);
    }
    drop(right);
    let left = open(&join.left, ex)?;
    Ok(Box::new(JoinSource::build(join, rows, memory, left, ex)?))
}

/// The join's temporary file: one run of right rows and one of left rows per batch.
struct Spill {
    /// Counts the file, and the batches for EXPLAIN ANALYZE.
    memory: NodeMemory,
    file: u64,
    batches: usize,
    right: Vec<Run>,
    left: Vec<Run>,
}

impl Spill {
    /// Writes every right row (those held, `row`, the rest of `right`) to the file, then
    /// splits them into batches by the size they took.
    fn start(
        held: Vec<Row>,
        row: Row,
        mut right: Box<dyn Source + '_>,
        mut memory: NodeMemory,
        ex: &mut Executor<'_>,
    ) -> Result<(Spill, Run)> {
        let mut all = Run::default();
        let mut file = 0;
        let mut total = 0;
        for row in held.into_iter().chain(std::iter::once(row)) {
            memory.release(row_bytes(&row));
            total += row_bytes(&row);
            file += all.append(&row);
            ex.charge_file(&mut memory, file)?;
        }
        while let Some(row) = right.next(ex)? {
            ex.db.interrupts.check()?;
            total += row_bytes(&row);
            file += all.append(&row);
            ex.charge_file(&mut memory, file)?;
        }
        let limit = memory.usage().limit.max(1);
        let batches = (total.saturating_mul(3) / 2)
            .div_ceil(limit)
            .clamp(2, MAX_BATCHES)
            .next_power_of_two() as usize;
        memory.set_batches(batches as u64);
        let spill = Spill {
            memory,
            file,
            batches,
            right: std::iter::repeat_with(Run::default).take(batches).collect(),
            left: std::iter::repeat_with(Run::default).take(batches).collect(),
        };
        Ok((spill, all))
    }

    /// The batch of a key (None: a NULL key, which stays in batch 0).
    fn batch_of(&self, key: Option<crate::types::Key>) -> usize {
        key.map_or(0, |k| {
            (super::hashagg::hash_key(&k.0) as usize) & (self.batches - 1)
        })
    }

    fn write(
        &mut self,
        left: bool,
        batch: usize,
        row: &[Value],
        ex: &mut Executor<'_>,
    ) -> Result<()> {
        let runs = if left {
            &mut self.left
        } else {
            &mut self.right
        };
        self.file += runs[batch].append(row);
        ex.charge_file(&mut self.memory, self.file)
    }

    /// Reads the next row of a batch's run, freeing its blocks as they are read.
    fn read(&mut self, left: bool, batch: usize) -> Result<Option<Row>> {
        let runs = if left {
            &mut self.left
        } else {
            &mut self.right
        };
        let Some((row, freed)) = runs[batch].read()? else {
            return Ok(None);
        };
        self.file -= freed;
        Ok(Some(row))
    }
}

type Shared = Arc<Mutex<Spill>>;

fn lock(spill: &Shared) -> std::sync::MutexGuard<'_, Spill> {
    spill.lock().unwrap_or_else(|e| e.into_inner())
}

/// A hash join in batches: the current batch's join, and the batches after it.
struct Batched<'p> {
    join: &'p Join,
    spill: Shared,
    batch: usize,
    current: Box<dyn Source + 'p>,
}

impl<'p> Batched<'p> {
    /// Splits the right rows written into their batches (batch 0's into memory) and starts
    /// batch 0, whose left input diverts the other batches' rows to their files.
    fn start(
        join: &'p Join,
        (mut spill, mut all): (Spill, Run),
        ex: &mut Executor<'_>,
    ) -> Result<Box<dyn Source + 'p>> {
        let right_keys: Vec<&Expr> = join.hash_keys.iter().map(|(_, r)| r).collect();
        let mut memory = ex.node_memory(true, Some(wrapper_key(&join.right)));
        let mut rows = Vec::new();
        let mut padded = vec![Value::Null; join.left_width];
        while let Some((row, freed)) = all.read()? {
            ex.db.interrupts.check()?;
            spill.file -= freed;
            padded.truncate(join.left_width);
            padded.extend(row.iter().cloned());
            let batch = spill.batch_of(hash_key(&right_keys, &padded, ex)?);
            if batch == 0 {
                memory.hold(row_bytes(&row))?;
                rows.push(row);
            } else {
                spill.write(false, batch, &row, ex)?;
            }
        }
        let spill = Arc::new(Mutex::new(spill));
        let left = Box::new(Divert {
            left: open(&join.left, ex)?,
            keys: join.hash_keys.iter().map(|(l, _)| l).collect(),
            spill: spill.clone(),
        });
        let current = Box::new(JoinSource::build(join, rows, memory, left, ex)?);
        Ok(Box::new(Batched {
            join,
            spill,
            batch: 0,
            current,
        }))
    }

    /// Starts the next batch: its right rows into memory, its left rows read from its file.
    /// False when there is none.
    fn next_batch(&mut self, ex: &mut Executor<'_>) -> Result<bool> {
        let batches = lock(&self.spill).batches;
        self.batch += 1;
        if self.batch >= batches {
            return Ok(false);
        }
        let mut memory = ex.node_memory(true, Some(wrapper_key(&self.join.right)));
        let mut rows = Vec::new();
        while let Some(row) = lock(&self.spill).read(false, self.batch)? {
            ex.db.interrupts.check()?;
            memory.hold(row_bytes(&row))?;
            rows.push(row);
        }
        let left = Box::new(BatchLeft {
            spill: self.spill.clone(),
            batch: self.batch,
        });
        self.current = Box::new(JoinSource::build(self.join, rows, memory, left, ex)?);
        Ok(true)
    }
}

impl Source for Batched<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(row) = self.current.next(ex)? {
                return Ok(Some(row));
            }
            if !self.next_batch(ex)? {
                return Ok(None);
            }
        }
    }
}

/// Batch 0's left input: the left rows of batch 0 (and those with a NULL key) pass; the
/// others go to their batch's file.
struct Divert<'p> {
    left: Box<dyn Source + 'p>,
    keys: Vec<&'p Expr>,
    spill: Shared,
}

impl Source for Divert<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.left.next(ex)? {
            ex.db.interrupts.check()?;
            let key = hash_key(&self.keys, &row, ex)?;
            let mut spill = lock(&self.spill);
            let batch = spill.batch_of(key);
            if batch == 0 {
                return Ok(Some(row));
            }
            spill.write(true, batch, &row, ex)?;
        }
        Ok(None)
    }
}

/// A later batch's left input: its file.
struct BatchLeft {
    spill: Shared,
    batch: usize,
}

impl Source for BatchLeft {
    fn next(&mut self, _: &mut Executor<'_>) -> Result<Option<Row>> {
        lock(&self.spill).read(true, self.batch)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{db, lines as rows};

    /// A join of 40,000 rows on each side through 64 kB (hash_mem 128 kB): in batches, each
    /// pair once, and the join's memory within hash_mem.
    #[test]
    fn a_big_inner_side_is_joined_in_batches_within_hash_mem() {
        let (mut db, session) = db();
        rows(&mut db, session, "CREATE TABLE t (x int)");
        rows(
            &mut db,
            session,
            "INSERT INTO t SELECT g FROM generate_series(1, 40000) g",
        );
        rows(&mut db, session, "SET work_mem = '64kB'");
        crate::workmem::take_node_peak(&db.temp_space);
        let sql = "SELECT count(*), sum(a.x - b.x) FROM t a JOIN t b ON a.x = b.x";
        assert_eq!(rows(&mut db, session, sql), ["40000 0"]);
        let sql = "SELECT count(*), count(b.x) FROM t a LEFT JOIN t b ON a.x = b.x + 20000";
        assert_eq!(rows(&mut db, session, sql), ["40000 20000"]);
        let peak = crate::workmem::take_node_peak(&db.temp_space);
        assert!(peak <= 128 * 1024, "{peak} bytes held");
        let plan = rows(
            &mut db,
            session,
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM t a JOIN t b ON a.x = b.x",
        );
        let line = plan
            .iter()
            .map(|l| l.trim_start())
            .find(|l| l.starts_with("Buckets: "))
            .expect("a Buckets line");
        let batches: u64 = line
            .split("Batches: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert!(batches >= 8, "{line}");
    }
}
