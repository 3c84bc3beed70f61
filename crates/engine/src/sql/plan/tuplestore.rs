//! A tuplestore, as PostgreSQL's `tuplestore.c`: rows kept for reading again (a materialized
//! CTE read by each of its references, a nested loop's inner side read once per outer row,
//! an uncorrelated subquery's rows read for each row of the query around it). Up to
//! `work_mem` they stay in memory; past it every row, those held and those to come, is
//! written to the node's temporary file in the sort's row format ([`super::sort::encode_row`])
//! and the memory given back, so the store holds at most `work_mem` however many rows it
//! keeps. Readers ([`Reader`]) each keep their own position and read from the start again
//! whenever they like; the file lives as long as the store.

use std::sync::Arc as Rc;

use super::super::Executor;
use super::exec::{Row, Source};
use super::sort::{decode_row, encode_row};
use crate::error::Result;
use crate::workmem::{row_bytes, NodeMemory};

/// Bytes of a block of the temporary file (as the sort's runs).
const BLOCK: usize = 8192;

/// Rows kept to be read again.
pub struct TupleStore {
    memory: NodeMemory,
    /// The rows while they fit in memory.
    rows: Vec<Row>,
    /// Once past `work_mem`: the rows, encoded, in blocks of the temporary file.
    blocks: Vec<Vec<u8>>,
    spilled: bool,
    file: u64,
    len: usize,
}

/// A reader's position: the row's index in memory, or its block and offset in the file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reader {
    index: usize,
    block: usize,
    at: usize,
}

impl Reader {
    /// The index of the row it reads next.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl TupleStore {
    pub fn new(memory: NodeMemory) -> TupleStore {
        TupleStore {
            memory,
            rows: Vec::new(),
            blocks: Vec::new(),
            spilled: false,
            file: 0,
            len: 0,
        }
    }

    /// Every row of `source`, kept.
    pub fn fill(
        memory: NodeMemory,
        source: &mut dyn Source,
        limit: Option<usize>,
        ex: &mut Executor<'_>,
    ) -> Result<TupleStore> {
        let mut store = TupleStore::new(memory);
        while limit.is_none_or(|l| store.len < l) {
            match source.next(ex)? {
                Some(row) => store.put(row, ex)?,
                None => break,
            }
        }
        Ok(store)
    }

    /// How many rows it keeps.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps one more row: in memory while it fits, else on the temporary file.
    pub fn put(&mut self, row: Row, ex: &mut Executor<'_>) -> Result<()> {
        ex.db.interrupts.check()?;
        self.len += 1;
        let bytes = row_bytes(&row);
        if !self.spilled && self.memory.fits(bytes) {
            self.memory.hold(bytes)?;
            self.rows.push(row);
            return Ok(());
        }
        if !self.spilled {
            self.spilled = true;
            for held in std::mem::take(&mut self.rows) {
                self.write(&held, ex)?;
                self.memory.release(row_bytes(&held));
            }
        }
        self.write(&row, ex)
    }

    /// Appends a row to the temporary file.
    fn write(&mut self, row: &[crate::types::Value], ex: &mut Executor<'_>) -> Result<()> {
        if self.blocks.last().is_none_or(|b| b.len() >= BLOCK) {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        let block = self.blocks.last_mut().expect("a block was pushed");
        let before = block.len();
        encode_row(row, block);
        self.file += (block.len() - before) as u64;
        ex.charge_file(&mut self.memory, self.file)
    }

    /// The row at `reader`, which moves past it; None at the end.
    pub fn read(&self, reader: &mut Reader) -> Result<Option<Row>> {
        if !self.spilled {
            let row = self.rows.get(reader.index).cloned();
            reader.index += usize::from(row.is_some());
            return Ok(row);
        }
        let Some(block) = self.blocks.get(reader.block) else {
            return Ok(None);
        };
        let (row, used) = decode_row(&block[reader.at..])?;
        reader.at += used;
        reader.index += 1;
        if reader.at >= block.len() {
            reader.block += 1;
            reader.at = 0;
        }
        Ok(Some(row))
    }

    /// The first row, if any.
    pub fn first(&self) -> Result<Option<Row>> {
        self.read(&mut Reader::default())
    }
}

/// A scan of a shared store from its start (a materialized CTE's reference).
pub struct StoreScan {
    store: Rc<TupleStore>,
    reader: Reader,
}

impl StoreScan {
    pub fn new(store: Rc<TupleStore>) -> StoreScan {
        StoreScan {
            store,
            reader: Reader::default(),
        }
    }
}

impl Source for StoreScan {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        ex.db.interrupts.check()?;
        self.store.read(&mut self.reader)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{db, lines as rows};

    fn peak(db: &mut crate::Database) -> u64 {
        crate::workmem::take_node_peak(&db.temp_space)
    }

    fn temp_files(db: &mut crate::Database) -> u64 {
        crate::workmem::totals(&db.temp_space).2
    }

    /// A materialized CTE of 30,000 rows read twice, a nested loop's inner side of 3,000 rows
    /// read for each of 40 outer rows, and an uncorrelated subquery's 30,000 rows, through
    /// 64 kB: each keeps its rows on its temporary file, its memory within work_mem.
    #[test]
    fn kept_rows_stay_within_work_mem() {
        let (mut db, session) = db();
        rows(&mut db, session, "CREATE TABLE t (x int, y text)");
        let fill = "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 30000) g";
        rows(&mut db, session, fill);
        rows(&mut db, session, "SET work_mem = '64kB'");
        peak(&mut db);
        let before = temp_files(&mut db);
        let sql = "WITH c AS MATERIALIZED (SELECT x, y FROM t) SELECT count(*), sum(a.x) FROM c a, (SELECT max(x) AS m FROM c) b WHERE a.x <= b.m";
        assert_eq!(rows(&mut db, session, sql), ["30000 450015000"]);
        let held = peak(&mut db);
        assert!(held <= 64 * 1024, "the CTE held {held} bytes");
        assert!(
            temp_files(&mut db) > before,
            "the CTE's rows are on its file"
        );

        let sql = "SELECT count(*), sum(a.x + b.x) FROM (SELECT x FROM t WHERE x <= 40) a JOIN (SELECT x, y FROM t WHERE x <= 3000) b ON a.x < b.x";
        assert_eq!(rows(&mut db, session, sql), ["119180 182486380"]);
        let sql = "SELECT count(*), count(a.x) FROM (SELECT x FROM t WHERE x <= 40) a RIGHT JOIN (SELECT x, y FROM t WHERE x <= 3000) b ON a.x > b.x + 38";
        assert_eq!(rows(&mut db, session, sql), ["3000 1"]);
        let held = peak(&mut db);
        assert!(held <= 64 * 1024, "the nested loop held {held} bytes");

        let sql = "SELECT count(*) FROM (SELECT x FROM t WHERE x <= 100 OFFSET 0) s WHERE x > ALL (SELECT x - 29950 FROM t)";
        assert_eq!(rows(&mut db, session, sql), ["50"]);
        let sql = "SELECT count(*) FROM (SELECT x FROM t WHERE x <= 200 OFFSET 0) s WHERE x IN (SELECT x * 2 FROM t)";
        assert_eq!(rows(&mut db, session, sql), ["100"]);
        let sql = "SELECT array_length(ARRAY(SELECT y FROM t), 1)";
        assert_eq!(rows(&mut db, session, sql), ["30000"]);
        let held = peak(&mut db);
        assert!(held <= 128 * 1024, "the subqueries held {held} bytes");
    }
}
