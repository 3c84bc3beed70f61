//! Bound expressions: names resolved to column positions, every node typed,
//! and PostgreSQL's type errors raised at bind time. Evaluation is a plain
//! tree walk with SQL's three-valued logic.

use sqlparser::ast::{self as ast, BinaryOperator, UnaryOperator};

use crate::error::{code, DbError, Result};
use crate::types::{self, cast, compare, parse_text, DataType, Numeric, Value};

/// One column visible to an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeColumn {
    pub table: Option<String>,
    pub name: String,
    pub data_type: DataType,
    /// Reachable only qualified (`a.id` beside the merged `id` of `JOIN ... USING (id)`).
    pub hidden: bool,
    /// For a merged USING column, the side's column PostgreSQL names in errors (`a.id`).
    pub origin: Option<String>,
}

impl ScopeColumn {
    pub fn new(table: Option<String>, name: String, data_type: DataType) -> ScopeColumn {
        ScopeColumn {
            table,
            name,
            data_type,
            hidden: false,
            origin: None,
        }
    }
}

/// The columns an expression may reference, in row order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    /// What `*` expands to when it is not every visible column in row order (joins with USING).
    pub star: Option<Vec<usize>>,
    /// Tables in FROM under an alias: (table, alias), for PostgreSQL's error when the
    /// table's own name is used.
    pub aliased: Vec<(String, String)>,
    /// Positions holding the same value: a merged USING column and the side's column it is
    /// (not for FULL JOIN), so grouping by one groups by the other, as in PostgreSQL.
    pub equivalent: Vec<(usize, usize)>,
}

impl Scope {
    pub fn new(columns: Vec<ScopeColumn>) -> Scope {
        Scope {
            columns,
            star: None,
            aliased: Vec::new(),
            equivalent: Vec::new(),
        }
    }

    /// The column positions `*` stands for.
    pub fn star_columns(&self) -> Vec<usize> {
        match &self.star {
            Some(star) => star.clone(),
            None => (0..self.columns.len())
                .filter(|i| !self.columns[*i].hidden)
                .collect(),
        }
    }

    pub fn resolve(&self, table: Option<&str>, name: &str) -> Result<usize> {
        let matches: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.name == name
                    && match table {
                        None => !c.hidden,
                        Some(t) => c.table.as_deref() == Some(t),
                    }
            })
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [index] => Ok(*index),
            [] => {
                let shown = match table {
                    Some(table) => {
                        if let Some((_, alias)) = self.aliased.iter().find(|(t, _)| t == table) {
                            return Err(DbError::new(
                                code::UNDEFINED_TABLE,
                                format!(
                                    "invalid reference to FROM-clause entry for table \"{table}\""
                                ),
                            )
                            .with_hint(format!(
                                "Perhaps you meant to reference the table alias \"{alias}\"."
                            )));
                        }
                        if !self
                            .columns
                            .iter()
                            .any(|c| c.table.as_deref() == Some(table))
                        {
                            return Err(DbError::new(
                                code::UNDEFINED_TABLE,
                                format!("missing FROM-clause entry for table \"{table}\""),
                            ));
                        }
                        format!("{table}.{name}")
                    }
                    None => format!("\"{name}\""),
                };
                let error = DbError::undefined_column(&shown);
                Err(match crate::sql::functions::renamed_column(name) {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                })
            }
            _ => Err(DbError::new(
                code::AMBIGUOUS_COLUMN,
                format!("column reference \"{name}\" is ambiguous"),
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    StringAgg,
    ArrayAgg,
    BoolAnd,
    BoolOr,
    BitAnd,
    BitOr,
    /// stddev_samp/stddev_pop, var_samp/var_pop: (square root, sample).
    Variance {
        root: bool,
        sample: bool,
    },
    /// Ordered-set aggregates: the WITHIN GROUP value is `arg` (and `order`), the fraction
    /// `delimiter`.
    PercentileCont,
    PercentileDisc,
    Mode,
    /// Hypothetical-set aggregates: where the direct argument (in `delimiter`) would rank among
    /// the WITHIN GROUP values (in `order`; NULLs count).
    Hypothetical(Hypothetical),
    /// `json_agg` (false) and `jsonb_agg` (true).
    JsonAgg(bool),
    /// `json_object_agg` and `jsonb_object_agg`: the key is the argument, the value rides in
    /// `delimiter`.
    JsonObjectAgg(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypothetical {
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub distinct: bool,
    /// `FILTER (WHERE ...)`: only rows where it is true count.
    pub filter: Option<Expr>,
    /// string_agg's delimiter.
    pub delimiter: Option<Expr>,
    /// `ORDER BY` inside the call: (expression, descending, nulls first).
    pub order: Vec<(Expr, bool, bool)>,
    pub data_type: DataType,
}

/// A typed expression over a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Const(Value, DataType),
    Column(usize, DataType),
    /// The i-th aggregate call a binder found; planning turns it into a column of the
    /// Aggregate node's output.
    Aggregate(usize, DataType),
    Arith(Arith, Box<Expr>, Box<Expr>, DataType),
    Negate(Box<Expr>, DataType),
    Compare(Cmp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    IsNull(Box<Expr>, bool),
    IsBool(Box<Expr>, bool, bool),
    Concat(Box<Expr>, Box<Expr>),
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x op ANY (array)` and `x op ALL (array)`.
    ArrayCompare {
        cmp: Cmp,
        all: bool,
        lhs: Box<Expr>,
        array: Box<Expr>,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
        data_type: DataType,
    },
    Coalesce(Vec<Expr>, DataType),
    Cast(Box<Expr>, DataType),
    Call {
        name: String,
        args: Vec<Expr>,
        data_type: DataType,
    },
    LsnDiff(Box<Expr>, Box<Expr>),
    /// A column of an enclosing query's row: (levels up, position).
    Outer(usize, usize, DataType),
    /// A subquery used as an expression (scalar, EXISTS, IN, ANY/ALL).
    Subquery(Box<crate::sql::plan::SubqueryExpr>),
    /// The i-th set-returning function's value in a select list (before planning places it).
    Srf(usize, DataType),
    /// The i-th window function's value (before planning places it).
    Window(usize, DataType),
}

impl Expr {
    pub fn data_type(&self) -> DataType {
        match self {
            Expr::Const(_, t)
            | Expr::Column(_, t)
            | Expr::Aggregate(_, t)
            | Expr::Arith(_, _, _, t)
            | Expr::Negate(_, t)
            | Expr::Cast(_, t)
            | Expr::Coalesce(_, t)
            | Expr::Outer(_, _, t)
            | Expr::Srf(_, t)
            | Expr::Window(_, t) => t.clone(),
            Expr::Subquery(sub) => sub.data_type(),
            Expr::Case { data_type, .. } | Expr::Call { data_type, .. } => data_type.clone(),
            Expr::Compare(..)
            | Expr::And(..)
            | Expr::Or(..)
            | Expr::Not(_)
            | Expr::IsNull(..)
            | Expr::IsBool(..)
            | Expr::Like { .. }
            | Expr::InList { .. }
            | Expr::ArrayCompare { .. } => DataType::Bool,
            Expr::Concat(..) => DataType::Text,
            Expr::LsnDiff(..) => DataType::NUMERIC,
        }
    }

    /// Whether the expression references input columns (outside aggregates).
    pub fn references_columns(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Column(..)));
        found
    }

    pub fn walk(&self, visit: &mut dyn FnMut(&Expr)) {
        visit(self);
        let children: Vec<&Expr> = match self {
            Expr::Arith(_, a, b, _)
            | Expr::Compare(_, a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Concat(a, b)
            | Expr::LsnDiff(a, b) => {
                vec![a, b]
            }
            Expr::Negate(a, _)
            | Expr::Not(a)
            | Expr::IsNull(a, _)
            | Expr::IsBool(a, _, _)
            | Expr::Cast(a, _) => vec![a],
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::ArrayCompare { lhs, array, .. } => vec![lhs, array],
            Expr::InList { expr, list, .. } => std::iter::once(expr.as_ref()).chain(list).collect(),
            Expr::Case {
                operand,
                whens,
                otherwise,
                ..
            } => {
                let mut all: Vec<&Expr> = operand.iter().map(|b| b.as_ref()).collect();
                whens.iter().for_each(|(w, t)| all.extend([w, t]));
                all.extend(otherwise.iter().map(|b| b.as_ref()));
                all
            }
            Expr::Coalesce(args, _) | Expr::Call { args, .. } => args.iter().collect(),
            Expr::Subquery(sub) => sub.lhs.iter().chain(&sub.outer).collect(),
            _ => vec![],
        };
        children.into_iter().for_each(|c| c.walk(visit));
    }
}

/// System functions are evaluated by the server through this, and so are subqueries and the
/// enclosing queries' rows they read.
pub trait Host {
    fn call(&mut self, name: &str, args: &[Value]) -> Result<Value>;

    fn subquery(&mut self, sub: &crate::sql::plan::SubqueryExpr, row: &Row<'_>) -> Result<Value> {
        let _ = (sub, row);
        Err(DbError::feature_not_supported(
            "subqueries are not supported by pgplay here",
        ))
    }

    fn outer(&mut self, levels: usize, index: usize) -> Result<Value> {
        let _ = (levels, index);
        Ok(Value::Null)
    }
}

/// A host for contexts where no system function may run (defaults at bind time).
pub struct NoHost;
impl Host for NoHost {
    fn call(&mut self, name: &str, _: &[Value]) -> Result<Value> {
        Err(DbError::feature_not_supported(format!(
            "{name}() cannot be called here"
        )))
    }
}

/// The row an expression is evaluated over.
pub struct Row<'a> {
    pub values: &'a [Value],
}

impl<'a> Row<'a> {
    pub fn plain(values: &'a [Value]) -> Row<'a> {
        Row { values }
    }
}

pub fn eval(expr: &Expr, row: &Row<'_>, host: &mut dyn Host) -> Result<Value> {
    crate::stack::check()?;
    Ok(match expr {
        Expr::Const(value, _) => value.clone(),
        Expr::Column(index, _) => row.values.get(*index).cloned().unwrap_or(Value::Null),
        Expr::Aggregate(..) => Value::Null,
        Expr::Arith(op, a, b, t) => {
            let (a, b) = (eval(a, row, host)?, eval(b, row, host)?);
            arith(*op, &a, &b, t)?
        }
        Expr::Negate(a, t) => {
            let value = eval(a, row, host)?;
            // Floats negate their sign bit: -(0::real) is -0.
            match value {
                Value::Float8(f) => return Ok(Value::Float8(-f)),
                Value::Float4(f) => return Ok(Value::Float4(-f)),
                _ => {}
            }
            arith(
                Arith::Sub,
                &cast(Value::Int4(0), &DataType::Int4, t)?,
                &value,
                t,
            )?
        }
        Expr::Compare(op, a, b) => {
            let (a, b) = (eval(a, row, host)?, eval(b, row, host)?);
            if a.is_null() || b.is_null() {
                Value::Null
            } else {
                Value::Bool(compare_op(*op, compare(&a, &b)))
            }
        }
        Expr::And(a, b) => match (truth(eval(a, row, host)?), truth(eval(b, row, host)?)) {
            (Some(false), _) | (_, Some(false)) => Value::Bool(false),
            (Some(true), Some(true)) => Value::Bool(true),
            _ => Value::Null,
        },
        Expr::Or(a, b) => match (truth(eval(a, row, host)?), truth(eval(b, row, host)?)) {
            (Some(true), _) | (_, Some(true)) => Value::Bool(true),
            (Some(false), Some(false)) => Value::Bool(false),
            _ => Value::Null,
        },
        Expr::Not(a) => match truth(eval(a, row, host)?) {
            Some(v) => Value::Bool(!v),
            None => Value::Null,
        },
        Expr::IsNull(a, negated) => Value::Bool(eval(a, row, host)?.is_null() != *negated),
        Expr::IsBool(a, wanted, negated) => {
            Value::Bool((truth(eval(a, row, host)?) == Some(*wanted)) != *negated)
        }
        Expr::Concat(a, b) => {
            let (a, b) = (eval(a, row, host)?, eval(b, row, host)?);
            match (a.to_text(), b.to_text()) {
                (Some(a), Some(b)) => Value::Text(a + &b),
                _ => Value::Null,
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let (value, pattern) = (eval(expr, row, host)?, eval(pattern, row, host)?);
            match (value.to_text(), pattern.to_text()) {
                (Some(value), Some(pattern)) => {
                    Value::Bool(like(&value, &pattern, *case_insensitive)? != *negated)
                }
                _ => Value::Null,
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let value = eval(expr, row, host)?;
            if value.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for item in list {
                let item = eval(item, row, host)?;
                if item.is_null() {
                    saw_null = true;
                } else if compare(&value, &item).is_eq() {
                    return Ok(Value::Bool(!negated));
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Bool(*negated)
            }
        }
        Expr::Case {
            operand,
            whens,
            otherwise,
            data_type,
        } => {
            let subject = operand.as_ref().map(|o| eval(o, row, host)).transpose()?;
            for (when, then) in whens {
                let hit = match &subject {
                    Some(subject) => {
                        let candidate = eval(when, row, host)?;
                        !subject.is_null()
                            && !candidate.is_null()
                            && compare(subject, &candidate).is_eq()
                    }
                    None => truth(eval(when, row, host)?) == Some(true),
                };
                if hit {
                    let value = eval(then, row, host)?;
                    return cast(value, &then.data_type(), data_type);
                }
            }
            match otherwise {
                Some(e) => cast(eval(e, row, host)?, &e.data_type(), data_type)?,
                None => Value::Null,
            }
        }
        Expr::Coalesce(args, data_type) => {
            for arg in args {
                let value = eval(arg, row, host)?;
                if !value.is_null() {
                    return cast(value, &arg.data_type(), data_type);
                }
            }
            Value::Null
        }
        Expr::Cast(a, to) => {
            let value = eval(a, row, host)?;
            cast(value, &a.data_type(), to)?
        }
        Expr::Call { name, args, .. } => {
            let values = args
                .iter()
                .map(|a| eval(a, row, host))
                .collect::<Result<Vec<_>>>()?;
            crate::sql::functions::call(name, &values, host)?
        }
        Expr::Outer(levels, index, _) => host.outer(*levels, *index)?,
        Expr::Subquery(sub) => host.subquery(sub, row)?,
        Expr::Srf(..) | Expr::Window(..) => Value::Null,
        Expr::ArrayCompare {
            cmp,
            all,
            lhs,
            array,
        } => {
            let (lhs, array) = (eval(lhs, row, host)?, eval(array, row, host)?);
            quantified(*cmp, *all, &lhs, &array)
        }
        Expr::LsnDiff(a, b) => match (eval(a, row, host)?, eval(b, row, host)?) {
            (Value::PgLsn(a), Value::PgLsn(b)) => {
                Value::Numeric(Numeric::from_i128(a.0 as i128 - b.0 as i128))
            }
            _ => Value::Null,
        },
    })
}

/// `lhs op ANY/ALL (array)` with three-valued logic: over an empty array ANY is false and ALL
/// true, even for a NULL `lhs`.
fn quantified(cmp: Cmp, all: bool, lhs: &Value, array: &Value) -> Value {
    let Value::Array(array) = array else {
        return Value::Null;
    };
    let mut unknown = false;
    for item in &array.items {
        if lhs.is_null() || item.is_null() {
            unknown = true;
            continue;
        }
        if compare_op(cmp, compare(lhs, item)) != all {
            return Value::Bool(!all);
        }
    }
    if unknown {
        Value::Null
    } else {
        Value::Bool(all)
    }
}

pub fn truth(value: Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

/// Whether `ordering` (of the left operand to the right) satisfies `op`.
pub fn compare_op(op: Cmp, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Cmp::Eq => ordering == Equal,
        Cmp::NotEq => ordering != Equal,
        Cmp::Lt => ordering == Less,
        Cmp::LtEq => ordering != Greater,
        Cmp::Gt => ordering == Greater,
        Cmp::GtEq => ordering != Less,
    }
}

/// SQL LIKE with `%` and `_` and backslash escapes.
pub fn like(value: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    let (value, pattern) = if case_insensitive {
        (value.to_lowercase(), pattern.to_lowercase())
    } else {
        (value.to_string(), pattern.to_string())
    };
    let value: Vec<char> = value.chars().collect();
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Some(chars.next().ok_or_else(|| {
                DbError::new("22025", "LIKE pattern must not end with escape character")
            })?),
            '%' => None,
            '_' => Some('\u{0}'),
            other => Some(other),
        });
    }
    Ok(like_match(&value, &tokens))
}

fn like_match(value: &[char], tokens: &[Option<char>]) -> bool {
    // Dynamic programming over (value position, token position); bounded by their product.
    let mut reachable = vec![false; value.len() + 1];
    reachable[0] = true;
    for token in tokens {
        let mut next = vec![false; value.len() + 1];
        for position in 0..=value.len() {
            if !reachable[position] {
                continue;
            }
            match token {
                None => next[position..].iter_mut().for_each(|r| *r = true),
                Some('\u{0}') if position < value.len() => next[position + 1] = true,
                Some(c) if position < value.len() && value[position] == *c => {
                    next[position + 1] = true
                }
                _ => {}
            }
        }
        reachable = next;
    }
    reachable[value.len()]
}

fn overflow(data_type: &DataType) -> DbError {
    DbError::out_of_range(&data_type.base_name())
}

/// Arithmetic on two values already promoted to `result` type's family.
pub fn arith(op: Arith, a: &Value, b: &Value, result: &DataType) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    match result {
        DataType::Int2 | DataType::Int4 | DataType::Int8 => {
            let (x, y) = (
                a.as_i64().unwrap_or(0) as i128,
                b.as_i64().unwrap_or(0) as i128,
            );
            let wide = match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                Arith::Div | Arith::Mod if y == 0 => return Err(DbError::division_by_zero()),
                Arith::Div => x / y,
                Arith::Mod => x % y,
            };
            Ok(match result {
                DataType::Int2 => Value::Int2(i16::try_from(wide).map_err(|_| overflow(result))?),
                DataType::Int4 => Value::Int4(i32::try_from(wide).map_err(|_| overflow(result))?),
                _ => Value::Int8(i64::try_from(wide).map_err(|_| overflow(result))?),
            })
        }
        DataType::Float8 => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            let value = match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                Arith::Div | Arith::Mod if y == 0.0 => return Err(DbError::division_by_zero()),
                Arith::Div => x / y,
                Arith::Mod => x % y,
            };
            Ok(Value::Float8(value))
        }
        DataType::Float4 => float4_arith(op, a, b),
        _ => {
            let (x, y) = (
                a.as_numeric().unwrap_or_else(Numeric::zero),
                b.as_numeric().unwrap_or_else(Numeric::zero),
            );
            let value = match op {
                Arith::Add => x.add(&y)?,
                Arith::Sub => x.sub(&y)?,
                Arith::Mul => x.mul(&y)?,
                Arith::Div => x.div(&y)?,
                Arith::Mod => x.rem(&y)?,
            };
            Ok(Value::Numeric(value))
        }
    }
}

/// `float4pl` and its siblings: computed exactly in double, then rounded to real, with
/// PostgreSQL's overflow and underflow checks.
fn float4_arith(op: Arith, a: &Value, b: &Value) -> Result<Value> {
    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
    let value = match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div | Arith::Mod if y == 0.0 => return Err(DbError::division_by_zero()),
        Arith::Div => x / y,
        Arith::Mod => x % y,
    };
    let narrow = value as f32;
    let range = |what: &str| {
        DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value out of range: {what}"),
        )
    };
    if narrow.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(range("overflow"));
    }
    if narrow == 0.0
        && matches!(op, Arith::Mul | Arith::Div)
        && x != 0.0
        && y.is_finite()
        && y != 0.0
    {
        return Err(range("underflow"));
    }
    Ok(Value::Float4(narrow))
}

/// The common type of two operands for arithmetic or comparison, if any.
pub fn unify(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    match (a, b) {
        (Unknown, Unknown) => Some(Text),
        (Unknown, other) | (other, Unknown) => Some(other.without_modifier()),
        // real with another number is double precision, as PostgreSQL resolves its operators.
        (Float4, Float4) => Some(Float4),
        (Float4, _) | (_, Float4) if a.is_numeric() && b.is_numeric() => Some(Float8),
        _ if a.is_numeric() && b.is_numeric() => Some(
            if a.numeric_rank() >= b.numeric_rank() {
                a
            } else {
                b
            }
            .without_modifier(),
        ),
        _ if a.is_string() && b.is_string() => Some(Text),
        (Timestamp | TimestampTz, Timestamp | TimestampTz) => {
            Some(if a == b { a.clone() } else { TimestampTz })
        }
        (Date, Timestamp | TimestampTz) => Some(b.clone()),
        (Time(_), Time(_)) => Some(Time(None)),
        (Timestamp | TimestampTz, Date) => Some(a.clone()),
        (Array(x), Array(y)) if x.without_modifier() == y.without_modifier() => {
            Some(a.without_modifier())
        }
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

/// Coerces an expression to `target`, folding unknown literals with the type's input function.
pub fn coerce(expr: Expr, target: &DataType) -> Result<Expr> {
    let source = expr.data_type();
    if source == *target {
        return Ok(expr);
    }
    if let Expr::Const(value, DataType::Unknown) = &expr {
        let parsed = match value {
            Value::Null => Value::Null,
            other => parse_text(&other.to_text().unwrap_or_default(), target)?,
        };
        return Ok(Expr::Const(parsed, target.clone()));
    }
    Ok(Expr::Cast(Box::new(expr), target.clone()))
}

pub fn operator_error(op: &str, a: &DataType, b: &DataType) -> DbError {
    DbError::new(code::UNDEFINED_FUNCTION, format!("operator does not exist: {} {op} {}", a.base_name(), b.base_name()))
        .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// Binds a binary operator to typed operands.
pub fn bind_binary(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    if super::json::is_json_operator(op, &left.data_type(), &right.data_type()) {
        return super::json::bind_operator(op, left, right);
    }
    let (lt, rt) = (left.data_type(), right.data_type());
    let symbol = op.to_string();
    match op {
        BinaryOperator::And | BinaryOperator::Or => {
            let left = coerce_bool(left, "AND/OR")?;
            let right = coerce_bool(right, "AND/OR")?;
            Ok(if matches!(op, BinaryOperator::And) {
                Expr::And(Box::new(left), Box::new(right))
            } else {
                Expr::Or(Box::new(left), Box::new(right))
            })
        }
        BinaryOperator::StringConcat => {
            if let Some(bound) = super::bytea::bind_concat(&left, &right) {
                return bound;
            }
            if let Some(bound) = super::arrays::bind_concat(left.clone(), right.clone()) {
                return bound;
            }
            if !lt.is_string() && !rt.is_string() {
                return Err(operator_error("||", &lt, &rt));
            }
            Ok(Expr::Concat(Box::new(left), Box::new(right)))
        }
        BinaryOperator::Plus
        | BinaryOperator::Minus
        | BinaryOperator::Multiply
        | BinaryOperator::Divide
        | BinaryOperator::Modulo => {
            let arith_op = match op {
                BinaryOperator::Plus => Arith::Add,
                BinaryOperator::Minus => Arith::Sub,
                BinaryOperator::Multiply => Arith::Mul,
                BinaryOperator::Divide => Arith::Div,
                _ => Arith::Mod,
            };
            if arith_op == Arith::Sub
                && lt == DataType::PgLsn
                && matches!(rt, DataType::PgLsn | DataType::Unknown)
            {
                let right = coerce(right, &DataType::PgLsn)?;
                return Ok(Expr::LsnDiff(Box::new(left), Box::new(right)));
            }
            if lt == DataType::PgLsn
                && matches!(arith_op, Arith::Add | Arith::Sub)
                && (rt.is_numeric() || rt == DataType::Unknown)
            {
                let name = if arith_op == Arith::Add {
                    "pg_lsn_pli"
                } else {
                    "pg_lsn_mii"
                };
                let right = coerce(right, &DataType::NUMERIC)?;
                return Ok(Expr::Call {
                    name: name.into(),
                    args: vec![left, right],
                    data_type: DataType::PgLsn,
                });
            }
            let (left, right) = match super::datetime::bind_arith(arith_op, left, right) {
                Ok(bound) => return bound,
                Err(operands) => operands,
            };
            let numeric_or_unknown = |t: &DataType| t.is_numeric() || *t == DataType::Unknown;
            if !(numeric_or_unknown(&lt) && numeric_or_unknown(&rt))
                || (lt == DataType::Unknown && rt == DataType::Unknown)
            {
                return Err(operator_error(&symbol, &lt, &rt));
            }
            let target = unify(&lt, &rt).ok_or_else(|| operator_error(&symbol, &lt, &rt))?;
            let target = if target == DataType::Oid {
                DataType::Int8
            } else {
                target
            };
            Ok(Expr::Arith(
                arith_op,
                Box::new(coerce(left, &target)?),
                Box::new(coerce(right, &target)?),
                target,
            ))
        }
        BinaryOperator::Eq
        | BinaryOperator::NotEq
        | BinaryOperator::Lt
        | BinaryOperator::LtEq
        | BinaryOperator::Gt
        | BinaryOperator::GtEq => {
            let cmp = match op {
                BinaryOperator::Eq => Cmp::Eq,
                BinaryOperator::NotEq => Cmp::NotEq,
                BinaryOperator::Lt => Cmp::Lt,
                BinaryOperator::LtEq => Cmp::LtEq,
                BinaryOperator::Gt => Cmp::Gt,
                _ => Cmp::GtEq,
            };
            let target = unify(&lt, &rt).ok_or_else(|| operator_error(&symbol, &lt, &rt))?;
            Ok(Expr::Compare(
                cmp,
                Box::new(coerce(left, &target)?),
                Box::new(coerce(right, &target)?),
            ))
        }
        BinaryOperator::PGExp => {
            // numeric ^ numeric when either side is numeric and neither float8; else float8
            // (integers go to double precision, the preferred numeric type).
            let numeric_or_unknown = |t: &DataType| t.is_numeric() || *t == DataType::Unknown;
            if !(numeric_or_unknown(&lt) && numeric_or_unknown(&rt)) {
                return Err(operator_error(&symbol, &lt, &rt));
            }
            let is_numeric = |t: &DataType| matches!(t, DataType::Numeric { .. });
            let target = if (is_numeric(&lt) || is_numeric(&rt))
                && lt != DataType::Float8
                && rt != DataType::Float8
            {
                DataType::NUMERIC
            } else {
                DataType::Float8
            };
            Ok(Expr::Call {
                name: "power".into(),
                args: vec![coerce(left, &target)?, coerce(right, &target)?],
                data_type: target,
            })
        }
        BinaryOperator::AtArrow | BinaryOperator::ArrowAt | BinaryOperator::PGOverlap => {
            super::arrays::bind_containment(&symbol, left, right)
        }
        other => Err(DbError::feature_not_supported(format!(
            "operator {other} is not supported by pgplay yet"
        ))),
    }
}

pub fn coerce_bool(expr: Expr, context: &str) -> Result<Expr> {
    match expr.data_type() {
        DataType::Bool => Ok(expr),
        DataType::Unknown => coerce(expr, &DataType::Bool),
        other => Err(DbError::new(
            code::DATATYPE_MISMATCH,
            format!(
                "argument of {context} must be type boolean, not type {}",
                other.base_name()
            ),
        )),
    }
}

pub fn bind_unary(op: &UnaryOperator, operand: Expr) -> Result<Expr> {
    match op {
        UnaryOperator::Not => Ok(Expr::Not(Box::new(coerce_bool(operand, "NOT")?))),
        UnaryOperator::Minus => {
            if let Expr::Const(value, t) = &operand {
                if t.is_numeric() {
                    return Ok(Expr::Const(
                        arith(
                            Arith::Sub,
                            &cast(Value::Int4(0), &DataType::Int4, t)?,
                            value,
                            t,
                        )?,
                        t.clone(),
                    ));
                }
            }
            let operand = match super::datetime::bind_negate(operand) {
                Ok(bound) => return bound,
                Err(operand) => operand,
            };
            let t = operand.data_type();
            if !t.is_numeric() {
                return Err(DbError::new(code::UNDEFINED_FUNCTION, format!("operator does not exist: - {}", t.base_name()))
                    .with_hint("No operator matches the given name and argument type. You might need to add an explicit type cast."));
            }
            Ok(Expr::Negate(Box::new(operand), t))
        }
        UnaryOperator::Plus => Ok(operand),
        other => Err(DbError::feature_not_supported(format!(
            "operator {other} is not supported by pgplay yet"
        ))),
    }
}

/// A numeric literal: integer if it fits, else bigint, else numeric.
pub fn number_literal(text: &str) -> Result<Expr> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(v) = text.parse::<i32>() {
            return Ok(Expr::Const(Value::Int4(v), DataType::Int4));
        }
        if let Ok(v) = text.parse::<i64>() {
            return Ok(Expr::Const(Value::Int8(v), DataType::Int8));
        }
    }
    let number = types::Numeric::parse(text)?;
    Ok(Expr::Const(Value::Numeric(number), DataType::NUMERIC))
}

/// Maps sqlparser's type names to ours.
pub fn bind_type(data_type: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    let length = |len: &Option<ast::CharacterLength>| match len {
        Some(ast::CharacterLength::IntegerLength { length, .. }) => Some(*length as u32),
        _ => None,
    };
    Ok(match data_type {
        T::Int(_) | T::Integer(_) | T::Int4(_) => DataType::Int4,
        T::BigInt(_) | T::Int8(_) => DataType::Int8,
        T::SmallInt(_) | T::Int2(_) => DataType::Int2,
        T::Text | T::String(_) => DataType::Text,
        T::Varchar(len) | T::CharacterVarying(len) => DataType::Varchar(length(len)),
        T::Boolean | T::Bool => DataType::Bool,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => match info {
            ast::ExactNumberInfo::None => DataType::NUMERIC,
            ast::ExactNumberInfo::Precision(p) => numeric_typmod(*p, 0)?,
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => numeric_typmod(*p, *s)?,
        },
        T::DoublePrecision | T::Float8 | T::Double(_) => DataType::Float8,
        T::Real | T::Float4 => DataType::Float4,
        T::Float(info) => float_typmod(info)?,
        T::Time(precision, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
            DataType::Time(precision.map(|p| p.min(6) as u32))
        }
        T::Time(..) => return Err(timetz_unsupported()),
        T::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => {
            DataType::TimestampTz
        }
        T::Timestamp(_, _) => DataType::Timestamp,
        T::Interval { .. } => DataType::Interval,
        T::Date => DataType::Date,
        T::Uuid => DataType::Uuid,
        T::Bytea => DataType::Bytea,
        T::Regclass => DataType::Text,
        // `integer[]`, `integer[][]`, `integer[3]`, `integer ARRAY`: one array type, as in
        // PostgreSQL, which ignores the declared sizes and dimensions.
        T::Array(
            ast::ArrayElemTypeDef::SquareBracket(element, _)
            | ast::ArrayElemTypeDef::Qualified(element, _),
        ) => bind_type(element)?.array_of(),
        T::Custom(name, _) => match name.to_string().to_ascii_lowercase().as_str() {
            "pg_lsn" => DataType::PgLsn,
            "timestamptz" => DataType::TimestampTz,
            "oid" | "regclass" => DataType::Oid,
            "name" => DataType::Name,
            "serial" | "serial4" => DataType::Int4,
            "bigserial" | "serial8" => DataType::Int8,
            "smallserial" | "serial2" => DataType::Int2,
            "int" | "int4" => DataType::Int4,
            "float8" => DataType::Float8,
            "float4" => DataType::Float4,
            "timetz" => return Err(timetz_unsupported()),
            "uuid" => DataType::Uuid,
            "bytea" => DataType::Bytea,
            "json" => DataType::Json,
            "jsonb" => DataType::Jsonb,
            other => {
                return Err(DbError::new(
                    code::UNDEFINED_OBJECT,
                    format!("type \"{other}\" does not exist"),
                ))
            }
        },
        T::JSON => DataType::Json,
        T::JSONB => DataType::Jsonb,
        other => {
            return Err(DbError::feature_not_supported(format!(
                "type {other} is not supported by pgplay"
            )))
        }
    })
}

/// `float` and `float(p)`: real up to 24 bits, double precision up to 53 (PostgreSQL's grammar).
fn float_typmod(info: &ast::ExactNumberInfo) -> Result<DataType> {
    let bits = match info {
        ast::ExactNumberInfo::None => return Ok(DataType::Float8),
        ast::ExactNumberInfo::Precision(p) | ast::ExactNumberInfo::PrecisionAndScale(p, _) => *p,
    };
    match bits {
        0 => Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "precision for type float must be at least 1 bit",
        )),
        1..=24 => Ok(DataType::Float4),
        25..=53 => Ok(DataType::Float8),
        _ => Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "precision for type float must be less than 54 bits",
        )),
    }
}

/// `time with time zone` (timetz), which pgplay does not have.
pub fn timetz_unsupported() -> DbError {
    DbError::feature_not_supported("type time with time zone is not supported by pgplay yet")
}

/// `numeric(p, s)` with PostgreSQL 15's bounds (`numerictypmodin`).
fn numeric_typmod(precision: u64, scale: i64) -> Result<DataType> {
    if !(1..=1000).contains(&precision) {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("NUMERIC precision {precision} must be between 1 and 1000"),
        ));
    }
    if !(-1000..=1000).contains(&scale) {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("NUMERIC scale {scale} must be between -1000 and 1000"),
        ));
    }
    Ok(DataType::Numeric {
        precision_scale: Some((precision as u32, scale as i32)),
    })
}

/// Whether a column type name is a serial pseudo-type.
pub fn is_serial(data_type: &ast::DataType) -> bool {
    matches!(data_type, ast::DataType::Custom(name, _)
        if matches!(name.to_string().to_ascii_lowercase().as_str(), "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"))
}
