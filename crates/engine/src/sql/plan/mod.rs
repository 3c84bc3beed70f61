//! pgplay's own query plans. The planner ([`planner`]) turns sqlparser's syntax tree into a
//! tree of [`Plan`] nodes, resolving every name through the [`Binder`](super::bind::Binder) so
//! errors stay PostgreSQL's; the executor ([`exec`]) runs the tree as pull iterators, one row
//! at a time, so `LIMIT` stops a join early and an aggregate never holds the product it
//! counts. Subqueries used as expressions are plans inside [`Expr`]s ([`SubqueryExpr`]);
//! the rows of the queries around them are a stack in [`State`].

pub mod aggregate;
mod deparse;
mod estimate;
pub mod exec;
pub mod explain;
pub mod frame;
pub mod grouping;
pub mod hashagg;
mod hashjoin;
mod hashsetop;
pub mod index;
mod nestloop;
pub mod planner;
mod select;
mod setop;
pub mod sort;
pub mod srf;
pub mod subquery;
pub mod tuplestore;
pub mod window;
pub mod window_spec;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc as Rc;

use super::expr::{AggCall, Cmp, Expr};
use crate::catalog::TableDef;
use crate::types::{DataType, Key, Value};

/// One node of a query plan. Every node yields rows (vectors of values) in a fixed order.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// No FROM: one row without columns.
    Result,
    /// A table's rows visible to the statement's snapshot, in physical order.
    SeqScan {
        table: TableDef,
        alias: String,
    },
    /// The rows an index's entries lead to, in index order, that satisfy `quals`
    /// (comparisons of its leading column with constants; [`index`]).
    IndexScan {
        table: TableDef,
        alias: String,
        index: crate::catalog::IndexDef,
        quals: Vec<Expr>,
    },
    /// Rows pgplay computes when it plans (its system views, record-returning functions).
    Rows {
        name: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    /// `VALUES (...), (...)`.
    Values {
        rows: Vec<Vec<Expr>>,
    },
    /// A function in FROM: a set-returning one, or a scalar one giving one row.
    Function {
        call: srf::TableFunction,
        ordinality: bool,
        /// The name the FROM item goes by, and its columns' names.
        alias: String,
        columns: Vec<String>,
    },
    Filter {
        input: Box<Plan>,
        predicate: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    /// Set-returning functions of a select list: each input row, followed by the functions'
    /// values, as many rows as the longest function returns.
    ProjectSet {
        input: Box<Plan>,
        calls: Vec<srf::TableFunction>,
    },
    Join(Box<Join>),
    /// Window functions: each input row followed by each call's value, in window order.
    Window {
        input: Box<Plan>,
        calls: Vec<window::WindowCall>,
    },
    /// Groups by `keys`; each output row is the keys followed by the aggregates' values.
    Aggregate {
        input: Box<Plan>,
        keys: Vec<Expr>,
        aggregates: Vec<AggCall>,
        /// GROUPING SETS/ROLLUP/CUBE: the positions in `keys` of each set; the rows then end
        /// with the number of their set ([`grouping`]).
        sets: Option<Vec<Vec<usize>>>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    /// OFFSET, then LIMIT; with `ties`, rows equal to the last one on those sort keys follow.
    Limit {
        input: Box<Plan>,
        limit: Option<Expr>,
        offset: Option<Expr>,
        ties: Option<Vec<SortKey>>,
    },
    /// DISTINCT over whole rows; DISTINCT ON keeps the first row of each run of equal `on`
    /// columns (its input is sorted on them).
    Distinct {
        input: Box<Plan>,
        on: Option<Vec<usize>>,
    },
    SetOp {
        op: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// A subquery in FROM (only a name for EXPLAIN: its rows pass unchanged).
    SubqueryScan {
        input: Box<Plan>,
        alias: String,
        columns: Vec<String>,
    },
    /// The rows of a common table expression: computed once when it is materialised, else
    /// its plan run at the reference as rows are asked for (inlined, as PostgreSQL inlines a
    /// CTE named once), so `LIMIT` ends even an endless recursive one.
    CteScan {
        id: usize,
        name: String,
        plan: Rc<Plan>,
    },
    /// The working table of a recursive CTE's current iteration.
    WorkTableScan {
        id: usize,
        name: String,
    },
    /// `WITH RECURSIVE`: the base rows, then the recursive term's over the last rows, to a
    /// fixed point (`distinct`: UNION rather than UNION ALL).
    RecursiveUnion {
        id: usize,
        base: Box<Plan>,
        recursive: Box<Plan>,
        distinct: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// A join of two inputs. With `hash_keys` it is a hash join (the right input hashed on the
/// right expressions, probed with the left ones); without, a nested loop over the right rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub left: Plan,
    pub right: Plan,
    pub left_width: usize,
    pub right_width: usize,
    /// (left expression over the left row, right expression over the joined row).
    pub hash_keys: Vec<(Expr, Expr)>,
    /// The rest of the condition, over the joined row.
    pub filter: Option<Expr>,
    /// LATERAL: the right input reads the left row (these values of it, pushed as the
    /// enclosing row), so it runs again for each left row.
    pub lateral: Option<Vec<Expr>>,
}

/// A sort key: a column of the input, direction, and where NULLs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: its one value, NULL without rows, 21000 with more than one.
    Scalar,
    Exists,
    /// `lhs op ANY (SELECT ...)` (IN is `= ANY`), or ALL.
    Any {
        cmp: Cmp,
        all: bool,
    },
    /// `ARRAY(SELECT ...)`: its first column's values as an array.
    Array,
}

/// A subquery used as an expression.
#[derive(Clone, Debug)]
pub struct SubqueryExpr {
    /// Unique in its statement: the key of its cached rows when it is not correlated.
    pub id: usize,
    pub kind: SubqueryKind,
    pub lhs: Option<Expr>,
    pub plan: Plan,
    /// The type of the subquery's first column, and the type both sides compare as.
    pub column_type: DataType,
    pub compare_type: DataType,
    /// Whether it reads the rows of the queries around it (then it runs again for each row).
    pub correlated: bool,
    /// The enclosing row's values it reads, by position (NULL for those it does not).
    pub outer: Vec<Expr>,
}

/// Equal when they compute the same (the same subquery bound twice, as a GROUP BY position and
/// its select-list item are), whatever their ids.
impl PartialEq for SubqueryExpr {
    fn eq(&self, other: &SubqueryExpr) -> bool {
        self.kind == other.kind
            && self.lhs == other.lhs
            && self.plan == other.plan
            && self.column_type == other.column_type
            && self.compare_type == other.compare_type
            && self.correlated == other.correlated
            && self.outer == other.outer
    }
}

impl SubqueryExpr {
    pub fn data_type(&self) -> DataType {
        match self.kind {
            SubqueryKind::Scalar => self.column_type.clone(),
            SubqueryKind::Array => self.column_type.array_of(),
            _ => DataType::Bool,
        }
    }
}

/// The values of an uncorrelated `IN (subquery)` kept in memory: the non-NULL ones, and whether
/// a NULL came.
pub type InSet = (BTreeSet<Key>, bool);

/// A statement's query state: the rows of the queries around a running subquery (innermost
/// last), the results of uncorrelated subqueries computed once, the working tables of
/// recursive CTEs, the CTE plans (for EXPLAIN).
#[derive(Default)]
pub struct State {
    pub outer: Vec<Vec<Value>>,
    pub next_id: usize,
    pub cached: BTreeMap<usize, Rc<tuplestore::TupleStore>>,
    /// For `x IN (uncorrelated subquery)`: the set of non-NULL values and whether a NULL came
    /// (None: it did not fit in hash_mem, so the subquery's rows are scanned for each row, as
    /// PostgreSQL's plain, unhashed SubPlan does).
    pub in_sets: BTreeMap<usize, Rc<Option<InSet>>>,
    pub ctes: BTreeMap<usize, Rc<Plan>>,
    /// The CTEs computed once (see [`planner`]), and their rows once computed.
    pub cte_materialized: BTreeSet<usize>,
    pub cte_rows: BTreeMap<usize, Rc<tuplestore::TupleStore>>,
    pub work_tables: BTreeMap<usize, Rc<Vec<Vec<Value>>>>,
    /// Each CTE's name and column names (for EXPLAIN).
    pub cte_names: BTreeMap<usize, (String, Vec<String>)>,
    /// EXPLAIN ANALYZE: rows and loops of each plan node (by address) while the plan runs.
    pub instrument: Option<BTreeMap<usize, (u64, u64)>>,
    /// What the statement keeps to its end (materialized CTEs, uncorrelated subqueries'
    /// rows), counted against `work_mem` ([`crate::workmem`]).
    pub held: Vec<crate::workmem::NodeMemory>,
    /// `SELECT ... FOR UPDATE/SHARE`: the rows to lock ([`crate::sql::row_lock`]), the
    /// address of the row a table scan yielded last, and the locks taken so far.
    pub row_lock: Option<crate::sql::row_lock::RowLockRequest>,
    pub last_tid: Option<crate::heap::ItemPointer>,
    pub pending_row_locks: Vec<(
        u32,
        crate::heap::ItemPointer,
        crate::sql::row_lock::RowLockMode,
    )>,
}

impl State {
    pub fn new_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }
}

#[cfg(test)]
mod tests;
