//! A nested loop join over a materialized inner side, as PostgreSQL runs a Nested Loop over
//! a Materialize: the right rows are read once into a [`TupleStore`] (in memory up to
//! `work_mem`, on its temporary file past it), then read from the start again for each left
//! row. A RIGHT or FULL join remembers which right rows matched in a bitmap (one bit a row)
//! and emits the others after the left rows ran out.

use super::super::expr::{eval, truth, Row as EvalRow};
use super::super::Executor;
use super::exec::{open, wrapper_key, Row, Source};
use super::tuplestore::{Reader, TupleStore};
use super::{Join, JoinKind};
use crate::error::Result;
use crate::types::Value;

pub struct NestedLoop<'p> {
    join: &'p Join,
    left: Box<dyn Source + 'p>,
    inner: TupleStore,
    /// RIGHT and FULL joins: the right rows matched so far, a bit each.
    matched: Option<Vec<u64>>,
    current: Option<Probe>,
    /// After the left rows: where the scan for unmatched right rows is.
    unmatched: Option<Reader>,
}

/// One left row being matched against the right rows.
struct Probe {
    left: Row,
    reader: Reader,
    matched: bool,
}

impl<'p> NestedLoop<'p> {
    /// Reads the right rows into the store, then opens the left input.
    pub fn open(join: &'p Join, ex: &mut Executor<'_>) -> Result<Box<dyn Source + 'p>> {
        let memory = ex.node_memory(false, Some(wrapper_key(&join.right)));
        let mut right = open(&join.right, ex)?;
        let inner = TupleStore::fill(memory, right.as_mut(), None, ex)?;
        drop(right);
        let keep_right = matches!(join.kind, JoinKind::Right | JoinKind::Full);
        let matched = keep_right.then(|| vec![0; inner.len().div_ceil(64)]);
        Ok(Box::new(NestedLoop {
            join,
            left: open(&join.left, ex)?,
            inner,
            matched,
            current: None,
            unmatched: None,
        }))
    }

    /// The next right row no left row matched (RIGHT and FULL joins).
    fn next_unmatched(&mut self) -> Result<Option<Row>> {
        let Some(matched) = &self.matched else {
            return Ok(None);
        };
        let reader = self.unmatched.get_or_insert_with(Reader::default);
        loop {
            let index = reader.index();
            let Some(right) = self.inner.read(reader)? else {
                return Ok(None);
            };
            if matched[index / 64] & (1 << (index % 64)) == 0 {
                let mut row = vec![Value::Null; self.join.left_width];
                row.extend(right);
                return Ok(Some(row));
            }
        }
    }
}

impl Source for NestedLoop<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        let keep_left = matches!(self.join.kind, JoinKind::Left | JoinKind::Full);
        loop {
            ex.db.interrupts.check()?;
            let Some(probe) = &mut self.current else {
                match self.left.next(ex)? {
                    Some(left) => {
                        self.current = Some(Probe {
                            left,
                            reader: Reader::default(),
                            matched: false,
                        })
                    }
                    None => return self.next_unmatched(),
                }
                continue;
            };
            let index = probe.reader.index();
            let Some(right) = self.inner.read(&mut probe.reader)? else {
                let probe = self.current.take().expect("probing");
                if keep_left && !probe.matched {
                    let mut row = probe.left;
                    row.extend(std::iter::repeat_n(Value::Null, self.join.right_width));
                    return Ok(Some(row));
                }
                continue;
            };
            let mut row = probe.left.clone();
            row.extend(right);
            let keep = match &self.join.filter {
                Some(filter) => truth(eval(filter, &EvalRow::plain(&row), ex)?) == Some(true),
                None => true,
            };
            if keep {
                probe.matched = true;
                if let Some(matched) = &mut self.matched {
                    matched[index / 64] |= 1 << (index % 64);
                }
                return Ok(Some(row));
            }
        }
    }
}
