//! GROUP BY with `GROUPING SETS`, `ROLLUP`, `CUBE` and `()`: the clause expands (as
//! PostgreSQL's expand_grouping_sets does) into a list of sets, each a list of positions in
//! the query's distinct grouping keys. One Aggregate node groups the input by every set in one
//! pass; its rows carry all keys (NULL where a row's set leaves a key out), the aggregates, and
//! the set's number, which `GROUPING(...)` reads.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use sqlparser::ast;

use super::super::expr::{eval, AggCall, Cmp, Expr, Row as EvalRow};
use super::super::Executor;
use super::aggregate::{self, AggState};
use super::exec::{Row, Source};
use crate::error::{DbError, Result};
use crate::types::{DataType, Key, Value};
use crate::workmem::{entry_bytes, NodeMemory};

/// `GROUP BY DISTINCT`, which sqlparser does not read, becomes this first GROUP BY item (a
/// quoted identifier no query can write, as it holds a NUL) before parsing.
const DISTINCT_MARK: &str = "\u{0}distinct";

/// Rewrites `GROUP BY DISTINCT` in a statement's tokens into a marked first item.
pub fn mark_distinct(tokens: &mut Vec<sqlparser::tokenizer::TokenWithSpan>) {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Word};
    let words: Vec<usize> = (0..tokens.len())
        .filter(|i| !matches!(tokens[*i].token, Token::Whitespace(_)))
        .collect();
    let keyword = |i: usize, k: Keyword| matches!(&tokens[i].token, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut marks = Vec::new();
    for w in words.windows(3) {
        if keyword(w[0], Keyword::GROUP)
            && keyword(w[1], Keyword::BY)
            && keyword(w[2], Keyword::DISTINCT)
        {
            marks.push(w[2]);
        }
    }
    for at in marks.into_iter().rev() {
        let span = tokens[at].span;
        tokens[at].token = Token::Word(Word {
            value: DISTINCT_MARK.into(),
            quote_style: Some('"'),
            keyword: Keyword::NoKeyword,
        });
        tokens.insert(
            at + 1,
            sqlparser::tokenizer::TokenWithSpan {
                token: Token::Comma,
                span,
            },
        );
    }
}

/// The GROUP BY items without the DISTINCT mark, and whether it was there.
pub fn strip_distinct(group_by: &[ast::Expr]) -> (bool, &[ast::Expr]) {
    match group_by.first() {
        Some(ast::Expr::Identifier(ident)) if ident.value == DISTINCT_MARK => {
            (true, &group_by[1..])
        }
        _ => (false, group_by),
    }
}

/// Drops the sets that repeat an earlier one (as sets of keys), for `GROUP BY DISTINCT`.
pub fn distinct_sets(sets: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let mut seen = std::collections::BTreeSet::new();
    sets.into_iter()
        .filter(|set| {
            let mut key = set.clone();
            key.sort_unstable();
            seen.insert(key)
        })
        .collect()
}

/// PostgreSQL's bounds on what one GROUP BY may expand to.
const MAX_SETS: usize = 4096;
const MAX_CUBE: usize = 12;

/// One GROUP BY item as sets of expressions still to bind.
enum Item<'a> {
    Plain(&'a ast::Expr),
    Sets(Vec<Vec<&'a ast::Expr>>),
}

/// Whether a GROUP BY list needs grouping sets (anything but plain expressions).
pub fn has_sets(group_by: &[ast::Expr]) -> bool {
    group_by.iter().any(|e| {
        matches!(
            e,
            ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::GroupingSets(_)
        ) || matches!(e, ast::Expr::Tuple(items) if items.is_empty())
    })
}

/// The grouping keys (distinct) and the sets, each binding an expression with `bind`.
pub fn expand(
    group_by: &[ast::Expr],
    bind: &mut dyn FnMut(&ast::Expr) -> Result<Expr>,
) -> Result<(Vec<Expr>, Vec<Vec<usize>>)> {
    let mut keys: Vec<Expr> = Vec::new();
    let mut sets: Vec<Vec<usize>> = vec![Vec::new()];
    for item in group_by {
        let item = item_sets(item)?;
        let mut positions = |exprs: &[&ast::Expr], keys: &mut Vec<Expr>| -> Result<Vec<usize>> {
            let mut out = Vec::new();
            for e in exprs {
                let bound = bind(e)?;
                let index = match keys.iter().position(|k| *k == bound) {
                    Some(index) => index,
                    None => {
                        keys.push(bound);
                        keys.len() - 1
                    }
                };
                out.push(index);
            }
            Ok(out)
        };
        let alternatives: Vec<Vec<usize>> = match item {
            Item::Plain(e) => vec![positions(&[e], &mut keys)?],
            Item::Sets(list) => list
                .iter()
                .map(|set| positions(set, &mut keys))
                .collect::<Result<_>>()?,
        };
        if sets.len().saturating_mul(alternatives.len()) > MAX_SETS {
            return Err(DbError::new(
                "54001",
                format!("too many grouping sets present (maximum {MAX_SETS})"),
            ));
        }
        let mut product = Vec::with_capacity(sets.len() * alternatives.len());
        for set in &sets {
            for alternative in &alternatives {
                let mut joined = set.clone();
                for key in alternative {
                    if !joined.contains(key) {
                        joined.push(*key);
                    }
                }
                product.push(joined);
            }
        }
        sets = product;
    }
    Ok((keys, sets))
}

/// An item's alternatives: ROLLUP (a, b) is (a, b), (a), (); CUBE (a, b) every subset.
fn item_sets(item: &ast::Expr) -> Result<Item<'_>> {
    Ok(match item {
        ast::Expr::Rollup(list) => {
            let elements = elements(list);
            let sets = (0..=elements.len())
                .rev()
                .map(|n| elements[..n].concat())
                .collect();
            Item::Sets(sets)
        }
        ast::Expr::Cube(list) => {
            if list.len() > MAX_CUBE {
                return Err(DbError::new(
                    "54011",
                    format!("CUBE is limited to {MAX_CUBE} elements"),
                ));
            }
            let elements = elements(list);
            let n = elements.len();
            // PostgreSQL lists the full set first and the empty one last.
            let sets = (0..1usize << n)
                .rev()
                .map(|mask| {
                    (0..n)
                        .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                        .flat_map(|i| elements[i].iter().copied())
                        .collect()
                })
                .collect();
            Item::Sets(sets)
        }
        ast::Expr::GroupingSets(list) => Item::Sets(elements(list)),
        ast::Expr::Tuple(items) if items.is_empty() => Item::Sets(vec![Vec::new()]),
        other => Item::Plain(other),
    })
}

fn elements(list: &[Vec<ast::Expr>]) -> Vec<Vec<&ast::Expr>> {
    list.iter().map(|e| e.iter().collect()).collect()
}

/// A `GROUPING(args)` call as the binder leaves it.
pub fn call(args: Vec<Expr>) -> Result<Expr> {
    if args.len() >= 32 {
        return Err(DbError::new(
            "54023",
            "GROUPING must have fewer than 32 arguments",
        ));
    }
    Ok(Expr::Call {
        name: GROUPING.into(),
        args,
        data_type: DataType::Int4,
    })
}

const GROUPING: &str = "grouping()";

pub fn is_call(expr: &Expr) -> bool {
    matches!(expr, Expr::Call { name, .. } if name == GROUPING)
}

fn not_grouping_expression() -> DbError {
    DbError::new(
        "42803",
        "arguments to GROUPING must be grouping expressions of the associated query level",
    )
}

/// Every `GROUPING(args)` in `expr` names only grouping keys (PostgreSQL's 42803 otherwise).
pub fn check(expr: &Expr, keys: &[Expr]) -> Result<()> {
    let mut result = Ok(());
    expr.walk(&mut |e| {
        if let Expr::Call { args, .. } = e {
            if is_call(e) && args.iter().any(|a| !keys.contains(a)) {
                result = Err(not_grouping_expression());
            }
        }
    });
    result
}

/// `GROUPING(args)` over the Aggregate's rows (its arguments already the key columns): a bit
/// per argument, set when the row's set leaves it out (the first argument the most
/// significant). `set_column` holds the set's number; without grouping sets every argument
/// is in the one set, so it is 0.
pub fn resolve(expr: Expr, sets: Option<&[Vec<usize>]>, set_column: usize) -> Result<Expr> {
    let Expr::Call { args, .. } = &expr else {
        return Ok(expr);
    };
    if !is_call(&expr) {
        return Ok(expr);
    }
    let positions: Vec<usize> = args
        .iter()
        .map(|a| match a {
            Expr::Column(p, _) => Ok(*p),
            _ => Err(not_grouping_expression()),
        })
        .collect::<Result<_>>()?;
    let mask = |set: &[usize]| -> i32 {
        positions
            .iter()
            .fold(0, |bits, p| (bits << 1) | i32::from(!set.contains(p)))
    };
    let Some(sets) = sets else {
        return Ok(Expr::Const(Value::Int4(0), DataType::Int4));
    };
    let whens = sets
        .iter()
        .enumerate()
        .map(|(i, set)| {
            let test = Expr::Compare(
                Cmp::Eq,
                Box::new(Expr::Column(set_column, DataType::Int4)),
                Box::new(Expr::Const(Value::Int4(i as i32), DataType::Int4)),
            );
            (test, Expr::Const(Value::Int4(mask(set)), DataType::Int4))
        })
        .collect();
    Ok(Expr::Case {
        operand: None,
        whens,
        otherwise: None,
        data_type: DataType::Int4,
    })
}

/// The Aggregate node over grouping sets: every set's groups (in key order, set after set),
/// each row all keys (NULL where its set leaves a key out), the aggregates and the set's
/// number. An empty set has its one group even without input rows.
pub fn run(
    mut input: Box<dyn Source + '_>,
    keys: &[Expr],
    sets: &[Vec<usize>],
    aggregates: &[AggCall],
    memory: &mut NodeMemory,
    ex: &mut Executor<'_>,
) -> Result<Vec<Row>> {
    let mut groups: Vec<BTreeMap<Key, Vec<AggState>>> = vec![BTreeMap::new(); sets.len()];
    let states_bytes = aggregates.len() * std::mem::size_of::<AggState>() + 24;
    while let Some(row) = input.next(ex)? {
        ex.db.interrupts.check()?;
        let values = keys
            .iter()
            .map(|k| eval(k, &EvalRow::plain(&row), ex))
            .collect::<Result<Vec<_>>>()?;
        for (set, groups) in sets.iter().zip(groups.iter_mut()) {
            let key: Vec<Value> = set.iter().map(|i| values[*i].clone()).collect();
            let mut bytes = 0;
            let states = match groups.entry(Key(key)) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    bytes += entry_bytes(&entry.key().0, states_bytes);
                    entry.insert(aggregates.iter().map(AggState::new).collect())
                }
            };
            for (call, state) in aggregates.iter().zip(states.iter_mut()) {
                bytes += aggregate::update(call, state, &row, ex)?;
            }
            ex.charge(memory, bytes)?;
        }
    }
    let mut rows = Vec::new();
    for (number, (set, mut groups)) in sets.iter().zip(groups).enumerate() {
        if set.is_empty() && groups.is_empty() {
            groups.insert(
                Key(Vec::new()),
                aggregates.iter().map(AggState::new).collect(),
            );
        }
        for (Key(key), states) in groups {
            ex.db.interrupts.check()?;
            let mut out = vec![Value::Null; keys.len()];
            for (position, value) in set.iter().zip(key) {
                out[*position] = value;
            }
            for (call, state) in aggregates.iter().zip(states) {
                out.push(aggregate::finish(call, state)?);
            }
            out.push(Value::Int4(number as i32));
            rows.push(out);
        }
    }
    Ok(rows)
}
