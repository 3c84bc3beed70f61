//! Index scans: when the WHERE clause of a one-table scan compares a B-tree
//! index's leading column with a constant, the planner may read the index
//! instead of every page. pgplay keeps no statistics, so the rule is simple
//! and says where PostgreSQL's would land for a fresh table: equality on a
//! one-column unique index (primary key) is an index scan; equality on
//! another index is one once the table has [`LARGE_TABLE_PAGES`] pages; a
//! range is one only when `enable_seqscan` is off. `enable_indexscan = off`
//! keeps the sequential scan (unless both are off, as PostgreSQL's disable
//! cost does). The quals used become the scan's `Index Cond:`, the others its
//! `Filter:`; the scan rechecks its quals on each row, as a version reached
//! along a heap-only chain may carry another key.

use std::collections::BTreeSet;

use super::super::expr::{eval, truth, Cmp, Expr, Row as EvalRow};
use super::super::Executor;
use super::exec::{Row, Source};
use super::Plan;
use crate::btree::{Comparator, Cursor};
use crate::catalog::{IndexDef, TableDef};
use crate::error::Result;
use crate::heap::ItemPointer;
use crate::types::{compare, Value};

/// A table this large (in heap pages) makes equality on any index worth it.
pub const LARGE_TABLE_PAGES: usize = 10;

/// The qual `column op constant` (or `constant op column`) on `column`, as (op, constant).
fn qual_on(expr: &Expr, column: usize) -> Option<(Cmp, Value)> {
    let Expr::Compare(op, left, right) = expr else {
        return None;
    };
    let constant = |e: &Expr| match e {
        Expr::Const(value, _) => Some(value.clone()),
        _ => None,
    };
    let flip = |op: &Cmp| match op {
        Cmp::Lt => Cmp::Gt,
        Cmp::LtEq => Cmp::GtEq,
        Cmp::Gt => Cmp::Lt,
        Cmp::GtEq => Cmp::LtEq,
        other => *other,
    };
    if *op == Cmp::NotEq {
        return None;
    }
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c, _), other) if *c == column => Some((*op, constant(other)?)),
        (other, Expr::Column(c, _)) if *c == column => Some((flip(op), constant(other)?)),
        _ => None,
    }
}

fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::And(left, right) => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        other => out.push(other),
    }
}

pub fn and_all(mut exprs: Vec<Expr>) -> Option<Expr> {
    let first = if exprs.is_empty() {
        return None;
    } else {
        exprs.remove(0)
    };
    Some(
        exprs
            .into_iter()
            .fold(first, |acc, e| Expr::And(Box::new(acc), Box::new(e))),
    )
}

/// `Filter` over a sequential scan, or an index scan (with a `Filter` for the rest) when the
/// rule in the module doc says so.
pub fn choose(ex: &Executor<'_>, table: TableDef, alias: String, predicate: Expr) -> Plan {
    let seq = |table: TableDef, alias: String, predicate: Expr| Plan::Filter {
        input: Box::new(Plan::SeqScan { table, alias }),
        predicate,
    };
    let setting = |name: &str| ex.db.setting(ex.session, name) != "off";
    let (seqscan, indexscan) = (setting("enable_seqscan"), setting("enable_indexscan"));
    if !indexscan && seqscan {
        return seq(table, alias, predicate);
    }
    let mut parts = Vec::new();
    conjuncts(predicate.clone(), &mut parts);
    let pages = ex
        .db
        .data
        .storage
        .relation(&table.locator)
        .map_or(0, |r| r.pages.len());
    // (rank, index, quals' positions): lower rank is better.
    let mut best: Option<(u8, &IndexDef, Vec<usize>)> = None;
    for index in &table.indexes {
        if index.descending.first() != Some(&false) {
            continue;
        }
        let column = index.columns[0];
        let used: Vec<usize> = parts
            .iter()
            .enumerate()
            .filter(|(_, e)| qual_on(e, column).is_some())
            .map(|(i, _)| i)
            .collect();
        if used.is_empty() {
            continue;
        }
        let equality = used
            .iter()
            .any(|i| matches!(qual_on(&parts[*i], column), Some((Cmp::Eq, _))));
        let rank = if equality && index.unique && index.columns.len() == 1 {
            0
        } else if equality && pages >= LARGE_TABLE_PAGES {
            1
        } else if !seqscan {
            2
        } else {
            continue;
        };
        if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
            best = Some((rank, index, used));
        }
    }
    let Some((_, index, used)) = best else {
        return seq(table, alias, predicate);
    };
    let index = index.clone();
    let mut quals = Vec::new();
    let mut rest = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if used.contains(&i) {
            quals.push(part);
        } else {
            rest.push(part);
        }
    }
    let scan = Plan::IndexScan {
        table,
        alias,
        index,
        quals,
    };
    match and_all(rest) {
        Some(predicate) => Plan::Filter {
            input: Box::new(scan),
            predicate,
        },
        None => scan,
    }
}

/// Reads the index between the bounds its quals set, then each heap version an entry
/// leads to that the snapshot sees, once.
pub struct IndexScan<'p> {
    table: &'p TableDef,
    index: &'p IndexDef,
    quals: &'p [Expr],
    found: Option<std::vec::IntoIter<ItemPointer>>,
}

impl<'p> IndexScan<'p> {
    pub fn new(table: &'p TableDef, index: &'p IndexDef, quals: &'p [Expr]) -> IndexScan<'p> {
        IndexScan {
            table,
            index,
            quals,
            found: None,
        }
    }

    /// The heap TIDs of the index entries within the quals' bounds, in index order.
    fn entries(&self, ex: &mut Executor<'_>) -> Result<Vec<ItemPointer>> {
        let column = self.index.columns[0];
        let mut lower: Option<(Value, bool)> = None;
        let mut upper: Option<(Value, bool)> = None;
        for qual in self.quals {
            let Some((op, value)) = qual_on(qual, column) else {
                continue;
            };
            if value.is_null() {
                return Ok(Vec::new());
            }
            let tighter_lower = |current: &Option<(Value, bool)>, v: &Value, inclusive: bool| {
                current.as_ref().is_none_or(|(c, ci)| {
                    compare(v, c).is_gt() || (compare(v, c).is_eq() && *ci && !inclusive)
                })
            };
            let tighter_upper = |current: &Option<(Value, bool)>, v: &Value, inclusive: bool| {
                current.as_ref().is_none_or(|(c, ci)| {
                    compare(v, c).is_lt() || (compare(v, c).is_eq() && *ci && !inclusive)
                })
            };
            let (low, high) = match op {
                Cmp::Eq => (Some(true), Some(true)),
                Cmp::Gt => (Some(false), None),
                Cmp::GtEq => (Some(true), None),
                Cmp::Lt => (None, Some(false)),
                Cmp::LtEq => (None, Some(true)),
                Cmp::NotEq => (None, None),
            };
            if let Some(inclusive) = low {
                if tighter_lower(&lower, &value, inclusive) {
                    lower = Some((value.clone(), inclusive));
                }
            }
            if let Some(inclusive) = high {
                if tighter_upper(&upper, &value, inclusive) {
                    upper = Some((value, inclusive));
                }
            }
        }
        let Some(pages) = ex.db.data.storage.indexes.get(&self.index.locator) else {
            return Ok(Vec::new());
        };
        let start: Vec<Value> = lower.iter().map(|(v, _)| v.clone()).collect();
        let Some(mut cursor) = Cursor::seek(pages, &start)? else {
            return Ok(Vec::new());
        };
        let cmp = Comparator::new(pages);
        let mut found = Vec::new();
        while let Some(tuple) = cursor.next(pages)? {
            ex.db.interrupts.check()?;
            let key = cmp.decode(tuple)?;
            let Some(first) = key.first() else { continue };
            // NULLs sort last and match no comparison.
            if first.is_null() {
                break;
            }
            if let Some((low, inclusive)) = &lower {
                if compare(first, low).is_lt() || (!inclusive && compare(first, low).is_eq()) {
                    continue;
                }
            }
            if let Some((high, inclusive)) = &upper {
                if compare(first, high).is_gt() || (!inclusive && compare(first, high).is_eq()) {
                    break;
                }
            }
            found.push(ItemPointer {
                block: tuple.heap_block,
                offset: tuple.heap_offset,
            });
        }
        // Each heap version an entry reaches, once (a heap-only chain's entries meet).
        let mut seen = BTreeSet::new();
        let mut visible = Vec::new();
        for entry in found {
            for at in ex.hot_chain(self.table, entry) {
                if !seen.insert(at) {
                    continue;
                }
                let Some(tuple) = ex.stored_tuple(self.table, at) else {
                    continue;
                };
                if ex.snapshot.sees(tuple, &ex.db.data.clog) {
                    visible.push(at);
                }
            }
        }
        Ok(visible)
    }
}

impl Source for IndexScan<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        if self.found.is_none() {
            self.found = Some(self.entries(ex)?.into_iter());
        }
        let layout = self.table.layout();
        while let Some(at) = self.found.as_mut().and_then(Iterator::next) {
            ex.db.interrupts.check()?;
            let Some(tuple) = ex.stored_tuple(self.table, at) else {
                continue;
            };
            let row = layout.decode(tuple.natts, &tuple.data)?;
            let mut keep = true;
            for qual in self.quals {
                if truth(eval(qual, &EvalRow::plain(&row), ex)?) != Some(true) {
                    keep = false;
                    break;
                }
            }
            if keep {
                ex.query.last_tid = Some(at);
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}
