//! Subqueries used as expressions, evaluated for a row of the query around them. A
//! correlated one runs again for each row, with the enclosing row's values it reads pushed on
//! [`State::outer`](super::State); an uncorrelated one runs once per statement and its rows
//! (for `IN`, a set of its values) are kept.

use std::collections::BTreeSet;
use std::sync::Arc as Rc;

use super::super::expr::{compare_op, eval, Cmp, Row as EvalRow};
use super::super::Executor;
use super::exec::{open, Row};
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
                1 => Ok(rows[0].first().cloned().unwrap_or(Value::Null)),
                _ => Err(DbError::new(
                    code::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                )),
            },
            SubqueryKind::Any { cmp, all } => {
                quantified(sub, cmp, all, lhs.unwrap_or(Value::Null), &rows)
            }
            SubqueryKind::Array => crate::types::array::value(
                rows.iter()
                    .map(|r| r.first().cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
        }
    }

    /// The subquery's rows (at most `limit`), from the cache when it is not correlated.
    fn subquery_rows(
        &mut self,
        sub: &SubqueryExpr,
        row: &EvalRow<'_>,
        limit: Option<usize>,
    ) -> Result<Rc<Vec<Row>>> {
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
        let mut memory = self.node_memory(false, None);
        let rows = self.fetch(sub, limit, &mut memory);
        self.query.outer.pop();
        let rows = Rc::new(rows?);
        if !sub.correlated {
            self.query.cached.insert(sub.id, rows.clone());
            self.query.held.push(memory);
        }
        Ok(rows)
    }

    /// The rows, counted against `work_mem` as PostgreSQL's subplan keeps them.
    fn fetch(
        &mut self,
        sub: &SubqueryExpr,
        limit: Option<usize>,
        memory: &mut crate::workmem::NodeMemory,
    ) -> Result<Vec<Row>> {
        let mut source = open(&sub.plan, self)?;
        let mut rows = Vec::new();
        while limit.is_none_or(|l| rows.len() < l) {
            match source.next(self)? {
                Some(row) => {
                    self.charge(memory, crate::workmem::row_bytes(&row))?;
                    rows.push(row);
                }
                None => break,
            }
        }
        Ok(rows)
    }

    /// `x IN (SELECT ...)` not correlated: the subquery's values as a set, built once.
    fn uncorrelated_in(&mut self, sub: &SubqueryExpr, lhs: Value) -> Result<Value> {
        let set = match self.query.in_sets.get(&sub.id) {
            Some(set) => set.clone(),
            None => {
                let rows = self.subquery_rows(sub, &EvalRow::plain(&[]), None)?;
                let mut values = BTreeSet::new();
                let mut saw_null = false;
                let mut memory = self.node_memory(true, None);
                for row in rows.iter() {
                    self.db.interrupts.check()?;
                    let value = row.first().cloned().unwrap_or(Value::Null);
                    let value = cast(value, &sub.column_type, &sub.compare_type)?;
                    if value.is_null() {
                        saw_null = true;
                    } else {
                        let bytes = crate::workmem::entry_bytes(std::slice::from_ref(&value), 0);
                        if values.insert(Key(vec![value])) {
                            self.charge(&mut memory, bytes)?;
                        }
                    }
                }
                self.query.held.push(memory);
                let set = Rc::new((values, saw_null));
                self.query.in_sets.insert(sub.id, set.clone());
                set
            }
        };
        let (values, saw_null) = set.as_ref();
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
}

/// `lhs cmp ANY/ALL (rows)` with SQL's three-valued logic.
fn quantified(sub: &SubqueryExpr, cmp: Cmp, all: bool, lhs: Value, rows: &[Row]) -> Result<Value> {
    let mut saw_null = false;
    for row in rows {
        let value = row.first().cloned().unwrap_or(Value::Null);
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
