//! pgplay's own cost estimates for EXPLAIN, in PostgreSQL's units (a page read is 1, a row
//! 0.01, an operator 0.0025). They are rough, and only there so the plan reads as one.

use super::super::expr::Expr;
use super::super::Executor;
use super::{Plan, SetOpKind};
use crate::types::{DataType, Value};

pub struct Estimate {
    pub startup: f64,
    pub total: f64,
    pub rows: u64,
    pub width: u64,
}

const ROW: f64 = 0.01;
const OPERATOR: f64 = 0.0025;

pub fn estimate(plan: &Plan, ex: &Executor<'_>) -> Estimate {
    if crate::stack::check().is_err() {
        return Estimate {
            startup: 0.0,
            total: 0.0,
            rows: 1,
            width: 0,
        };
    }
    match plan {
        Plan::Result
        | Plan::SeqScan { .. }
        | Plan::IndexScan { .. }
        | Plan::Rows { .. }
        | Plan::Values { .. }
        | Plan::Function { .. }
        | Plan::CteScan { .. }
        | Plan::WorkTableScan { .. } => scan_estimate(plan, ex),
        Plan::Join(_)
        | Plan::Aggregate { .. }
        | Plan::Sort { .. }
        | Plan::SetOp { .. }
        | Plan::RecursiveUnion { .. } => combining_estimate(plan, ex),
        _ => node_estimate(plan, ex),
    }
}

/// A plan's leaves: what they read.
fn scan_estimate(plan: &Plan, ex: &Executor<'_>) -> Estimate {
    match plan {
        Plan::Result => Estimate {
            startup: 0.0,
            total: ROW,
            rows: 1,
            width: 0,
        },
        Plan::SeqScan { table, .. } => {
            let (pages, rows) = ex
                .db
                .data
                .storage
                .relation(&table.locator)
                .map(|r| {
                    (
                        r.pages.len(),
                        r.pages.iter().map(|p| p.tuple_count()).sum::<usize>(),
                    )
                })
                .unwrap_or((0, 0));
            let width = table.columns.iter().map(|c| width(&c.data_type)).sum();
            Estimate {
                startup: 0.0,
                total: pages as f64 + rows as f64 * ROW,
                rows: rows as u64,
                width,
            }
        }
        Plan::IndexScan { table, index, .. } => {
            let width = table.columns.iter().map(|c| width(&c.data_type)).sum();
            let rows = if index.unique { 1 } else { 10 };
            Estimate {
                startup: 0.29,
                total: 8.3 + rows as f64 * ROW,
                rows,
                width,
            }
        }
        Plan::Rows { rows, .. } => scan(rows.len() as u64, 64),
        Plan::Values { rows } => scan(
            rows.len() as u64,
            4 * rows.first().map(Vec::len).unwrap_or(0) as u64,
        ),
        Plan::Function { .. } => scan(1000, 4),
        _ => scan(1000, 32),
    }
}

/// A node over other nodes: from their estimates.
fn node_estimate(plan: &Plan, ex: &Executor<'_>) -> Estimate {
    let input = |p: &Plan| estimate(p, ex);
    match plan {
        Plan::Filter { input: i, .. } => {
            let e = input(i);
            Estimate {
                total: e.total + e.rows as f64 * OPERATOR,
                rows: (e.rows / 3).max(1),
                ..e
            }
        }
        Plan::Project { input: i, exprs } => Estimate {
            width: exprs.iter().map(|e| width(&e.data_type())).sum(),
            ..input(i)
        },
        Plan::ProjectSet { input: i, .. } => {
            let e = input(i);
            Estimate {
                total: e.total + e.rows as f64 * 10.0 * ROW,
                rows: e.rows * 10,
                ..e
            }
        }
        Plan::Limit {
            input: i, limit, ..
        } => {
            let e = input(i);
            let wanted = match limit {
                Some(Expr::Const(Value::Int4(n), _)) => (*n).max(0) as u64,
                Some(Expr::Const(Value::Int8(n), _)) => (*n).max(0) as u64,
                _ => e.rows,
            };
            let rows = wanted.min(e.rows);
            let share = if e.rows == 0 {
                1.0
            } else {
                rows as f64 / e.rows as f64
            };
            Estimate {
                total: e.startup + (e.total - e.startup) * share,
                rows,
                ..e
            }
        }
        Plan::Distinct { input: i, .. } => {
            let e = input(i);
            Estimate {
                total: e.total + e.rows as f64 * OPERATOR,
                rows: (e.rows / 2).max(1),
                ..e
            }
        }
        Plan::SubqueryScan { input: i, .. } | Plan::Window { input: i, .. } => input(i),
        _ => scan_estimate(plan, ex),
    }
}

/// A node that joins, groups, sorts or combines its inputs.
fn combining_estimate(plan: &Plan, ex: &Executor<'_>) -> Estimate {
    let input = |p: &Plan| estimate(p, ex);
    match plan {
        Plan::Join(join) => {
            let (l, r) = (input(&join.left), input(&join.right));
            let rows = if join.hash_keys.is_empty() {
                l.rows.saturating_mul(r.rows)
            } else {
                l.rows.max(r.rows)
            };
            let work = if join.hash_keys.is_empty() {
                rows as f64
            } else {
                (l.rows + r.rows) as f64
            };
            Estimate {
                startup: r.total,
                total: l.total + r.total + work * ROW,
                rows,
                width: l.width + r.width,
            }
        }
        Plan::Aggregate {
            input: i,
            keys,
            aggregates,
            ..
        } => {
            let e = input(i);
            let rows = if keys.is_empty() {
                1
            } else {
                (e.rows / 5).max(1)
            };
            let total = e.total + e.rows as f64 * OPERATOR * (1 + aggregates.len()) as f64;
            Estimate {
                startup: total,
                total: total + rows as f64 * ROW,
                rows,
                width: 8 * (keys.len() + aggregates.len()) as u64,
            }
        }
        Plan::Sort { input: i, .. } => {
            let e = input(i);
            let n = e.rows.max(2) as f64;
            let startup = e.total + 2.0 * OPERATOR * n * n.log2();
            Estimate {
                startup,
                total: startup + e.rows as f64 * ROW,
                ..e
            }
        }
        Plan::SetOp {
            op, left, right, ..
        } => {
            let (l, r) = (input(left), input(right));
            let rows = match op {
                SetOpKind::Union => l.rows + r.rows,
                _ => l.rows,
            };
            Estimate {
                startup: 0.0,
                total: l.total + r.total,
                rows,
                width: l.width,
            }
        }
        Plan::RecursiveUnion {
            base, recursive, ..
        } => {
            let (b, r) = (input(base), input(recursive));
            Estimate {
                startup: 0.0,
                total: b.total + 10.0 * r.total,
                rows: b.rows + 10 * r.rows,
                width: b.width,
            }
        }
        _ => scan_estimate(plan, ex),
    }
}

fn scan(rows: u64, width: u64) -> Estimate {
    Estimate {
        startup: 0.0,
        total: rows as f64 * ROW,
        rows,
        width,
    }
}

/// PostgreSQL's average width of a value of the type.
fn width(data_type: &DataType) -> u64 {
    match data_type {
        DataType::Bool | DataType::Char => 1,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Oid | DataType::Float4 => 4,
        DataType::Int8
        | DataType::Float8
        | DataType::Timestamp
        | DataType::TimestampTz
        | DataType::PgLsn
        | DataType::Time(_) => 8,
        DataType::Interval | DataType::Uuid => 16,
        DataType::Name => 64,
        _ => 32,
    }
}
