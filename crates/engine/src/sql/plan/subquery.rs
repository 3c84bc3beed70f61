//! Subqueries used as expressions, evaluated for a row of the query around them. A
//! correlated one runs again for each row, with the enclosing row's values it reads pushed on
//! [`State::outer`](super::State); an uncorrelated one runs once per statement and its rows
//! (for `IN`, a set of its values) are kept.

use std::collections::BTreeSet;
use std::sync::Arc as Rc;

use super::super::expr::{compare_op, eval, Cmp, Row as EvalRow};
use super::super::Executor;
use super::exec::open;
use super::tuplestore::{Reader, TupleStore};
use super::{SubqueryExpr, SubqueryKind};
use crate::error::{code, DbError, Result};
use crate::types::{cast, compare, Key, Value};

impl Executor<'_> {
    /// A column of an enclosing query's row, `levels` queries out.
    pub fn outer_value(&self, levels: usize, index: usize) -> Value {
        let depth = self.query.outer.len();
        depth
            .checked_sub(levels)
            .and_then(|at| self.query.outer.get(at))
            .and_then(|row| row.get(index))
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn eval_subquery(&mut self, sub: &SubqueryExpr, row: &EvalRow<'_>) -> Result<Value> {
        let lhs = match &sub.lhs {
            Some(lhs) => Some(eval(lhs, row, self)?),
            None => None,
        };
        let is_in = sub.kind
            == SubqueryKind::Any {
                cmp: Cmp::Eq,
                all: false,
            };
        if is_in && !sub.correlated {
            return self.uncorrelated_in(sub, lhs.unwrap_or(Value::Null));
        }
        let limit = match sub.kind {
            SubqueryKind::Exists => Some(1),
            SubqueryKind::Scalar => Some(2),
            SubqueryKind::Any { .. } | SubqueryKind::Array => None,
        };
        let rows = self.subquery_rows(sub, row, limit)?;
        match sub.kind {
            SubqueryKind::Exists => Ok(Value::Bool(!rows.is_empty())),
            SubqueryKind::Scalar => match rows.len() {
                0 => Ok(Value::Null),
                1 => Ok(rows
                    .first()?
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or(Value::Null)),
                _ => Err(DbError::new(
                    code::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                )),
            },
            SubqueryKind::Any { cmp, all } => {
                quantified(sub, cmp, all, lhs.unwrap_or(Value::Null), &rows, self)
            }
            SubqueryKind::Array => {
                let mut values = Vec::with_capacity(rows.len());
                let mut reader = Reader::default();
                while let Some(row) = rows.read(&mut reader)? {
                    self.db.interrupts.check()?;
                    values.push(row.into_iter().next().unwrap_or(Value::Null));
                }
                crate::types::array::value(values)
            }
        }
    }

    /// The subquery's rows (at most `limit`), kept in a tuplestore (within `work_mem`, on
    /// its temporary file past it, as PostgreSQL's subplan keeps them); from the cache when
    /// it is not correlated.
    fn subquery_rows(
        &mut self,
        sub: &SubqueryExpr,
        row: &EvalRow<'_>,
        limit: Option<usize>,
    ) -> Result<Rc<TupleStore>> {
        if !sub.correlated {
            if let Some(rows) = self.query.cached.get(&sub.id) {
                return Ok(rows.clone());
            }
        }
        let outer = sub
            .outer
            .iter()
            .map(|e| eval(e, row, self))
            .collect::<Result<Vec<_>>>()?;
        self.query.outer.push(outer);
        let memory = self.node_memory(false, None);
        let rows = open(&sub.plan, self)
            .and_then(|mut source| TupleStore::fill(memory, source.as_mut(), limit, self));
        self.query.outer.pop();
        let rows = Rc::new(rows?);
        if !sub.correlated {
            self.query.cached.insert(sub.id, rows.clone());
        }
        Ok(rows)
    }

    /// `x IN (SELECT ...)` not correlated: the subquery's values as a set, built once, when
    /// it fits in hash_mem (PostgreSQL's hashed SubPlan); else its rows scanned for each row.
    fn uncorrelated_in(&mut self, sub: &SubqueryExpr, lhs: Value) -> Result<Value> {
        let set = match self.query.in_sets.get(&sub.id) {
            Some(set) => set.clone(),
            None => {
                let set = Rc::new(self.in_set(sub)?);
                self.query.in_sets.insert(sub.id, set.clone());
                set
            }
        };
        let Some((values, saw_null)) = set.as_ref() else {
            let rows = self.subquery_rows(sub, &EvalRow::plain(&[]), None)?;
            return quantified(sub, Cmp::Eq, false, lhs, &rows, self);
        };
        if values.is_empty() && !saw_null {
            return Ok(Value::Bool(false));
        }
        if lhs.is_null() {
            return Ok(Value::Null);
        }
        if values.contains(&Key(vec![lhs])) {
            Ok(Value::Bool(true))
        } else if *saw_null {
            Ok(Value::Null)
        } else {
            Ok(Value::Bool(false))
        }
    }

    /// The set of an uncorrelated IN's values and whether a NULL came; None when it does not
    /// fit in hash_mem.
    fn in_set(&mut self, sub: &SubqueryExpr) -> Result<Option<(BTreeSet<Key>, bool)>> {
        let rows = self.subquery_rows(sub, &EvalRow::plain(&[]), None)?;
        let mut values = BTreeSet::new();
        let mut saw_null = false;
        let mut memory = self.node_memory(true, None);
        let mut reader = Reader::default();
        while let Some(row) = rows.read(&mut reader)? {
            self.db.interrupts.check()?;
            let value = row.into_iter().next().unwrap_or(Value::Null);
            let value = cast(value, &sub.column_type, &sub.compare_type)?;
            if value.is_null() {
                saw_null = true;
                continue;
            }
            let key = Key(vec![value]);
            if values.contains(&key) {
                continue;
            }
            let bytes = crate::workmem::entry_bytes(&key.0, 0);
            if !memory.fits(bytes) {
                return Ok(None);
            }
            memory.hold(bytes)?;
            values.insert(key);
        }
        self.query.held.push(memory);
        Ok(Some((values, saw_null)))
    }
}

/// `lhs cmp ANY/ALL (rows)` with SQL's three-valued logic.
fn quantified(
    sub: &SubqueryExpr,
    cmp: Cmp,
    all: bool,
    lhs: Value,
    rows: &TupleStore,
    ex: &mut Executor<'_>,
) -> Result<Value> {
    let mut saw_null = false;
    let mut reader = Reader::default();
    while let Some(row) = rows.read(&mut reader)? {
        ex.db.interrupts.check()?;
        let value = row.into_iter().next().unwrap_or(Value::Null);
        let value = cast(value, &sub.column_type, &sub.compare_type)?;
        let result = if lhs.is_null() || value.is_null() {
            None
        } else {
            Some(compare_op(cmp, compare(&lhs, &value)))
        };
        match result {
            None => saw_null = true,
            Some(hit) if hit != all => return Ok(Value::Bool(hit)),
            Some(_) => {}
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    })
}
