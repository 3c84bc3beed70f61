//! A window's definition as written: `OVER (...)`, `OVER name` and `OVER (name ...)` resolved
//! against the query's `WINDOW name AS (...)` clause with PostgreSQL's copy rules, and its
//! frame clause checked and bound. sqlparser does not read `EXCLUDE ...` after a frame, so
//! [`mark_exclusions`] takes those words out of the token stream before parsing and leaves
//! them on the window's name (a quoted identifier no query can write, as it holds a NUL),
//! where [`resolve`] finds them again.

use sqlparser::ast::{self, NamedWindowExpr, WindowFrameBound, WindowFrameUnits, WindowType};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

use super::super::bind::ident_name;
use super::super::expr::Expr;
use super::frame::{self, Bound, Exclude, Frame, Units};
use crate::error::{DbError, Result};
use crate::types::{DataType, Value};

const MARK: char = '\u{0}';

/// A window definition with any named window it copies merged in.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub partition_by: Vec<ast::Expr>,
    pub order_by: Vec<ast::OrderByExpr>,
    pub frame: Option<ast::WindowFrame>,
    pub exclude: Option<Exclude>,
}

/// The window name and exclusion a (possibly marked) window name holds.
fn split_name(ident: &ast::Ident) -> (Option<String>, Option<Exclude>) {
    match ident.value.split_once(MARK) {
        Some((name, exclude)) => (
            (!name.is_empty()).then(|| name.to_string()),
            Exclude::from_words(exclude),
        ),
        None => (Some(ident_name(ident)), None),
    }
}

fn missing(name: &str) -> DbError {
    DbError::new("42704", format!("window \"{name}\" does not exist"))
}

/// The definition an OVER clause means.
pub fn resolve(window: &WindowType, defs: &[ast::NamedWindowDefinition]) -> Result<Spec> {
    match window {
        WindowType::NamedWindow(ident) => named(&ident_name(ident), defs),
        WindowType::WindowSpec(spec) => resolve_spec(spec, defs),
    }
}

/// `WINDOW name AS (...)`, looked up among the definitions before it (as PostgreSQL does).
fn named(name: &str, defs: &[ast::NamedWindowDefinition]) -> Result<Spec> {
    crate::stack::check()?;
    let index = defs
        .iter()
        .position(|d| ident_name(&d.0) == name)
        .ok_or_else(|| missing(name))?;
    match &defs[index].1 {
        NamedWindowExpr::WindowSpec(spec) => resolve_spec(spec, &defs[..index]),
        NamedWindowExpr::NamedWindow(other) => Err(DbError::syntax(format!(
            "syntax error at or near \"{}\"",
            other.value
        ))),
    }
}

fn resolve_spec(spec: &ast::WindowSpec, defs: &[ast::NamedWindowDefinition]) -> Result<Spec> {
    let (name, exclude) = match &spec.window_name {
        Some(ident) => split_name(ident),
        None => (None, None),
    };
    let own = Spec {
        partition_by: spec.partition_by.clone(),
        order_by: spec.order_by.clone(),
        frame: spec.window_frame.clone(),
        exclude,
    };
    let Some(name) = name else {
        return Ok(own);
    };
    let base = named(&name, defs)?;
    let override_error = |clause: &str| {
        DbError::new(
            "42P20",
            format!("cannot override {clause} clause of window \"{name}\""),
        )
    };
    if !own.partition_by.is_empty() {
        return Err(override_error("PARTITION BY"));
    }
    if !own.order_by.is_empty() && !base.order_by.is_empty() {
        return Err(override_error("ORDER BY"));
    }
    if base.frame.is_some() {
        let error = DbError::new(
            "42P20",
            format!("cannot copy window \"{name}\" because it has a frame clause"),
        );
        let bare = own.order_by.is_empty() && own.frame.is_none() && own.exclude.is_none();
        return Err(if bare {
            error.with_hint("Omit the parentheses in this OVER clause.")
        } else {
            error
        });
    }
    Ok(Spec {
        partition_by: base.partition_by,
        order_by: if own.order_by.is_empty() {
            base.order_by
        } else {
            own.order_by
        },
        frame: own.frame,
        exclude: own.exclude,
    })
}

/// Every definition of a WINDOW clause resolved (PostgreSQL checks them all, used or not),
/// for its expressions to be checked against GROUP BY.
pub fn all_definitions(defs: &[ast::NamedWindowDefinition]) -> Result<Vec<Spec>> {
    defs.iter()
        .map(|d| named(&ident_name(&d.0), defs))
        .collect()
}

/// `WINDOW w AS (...), w AS (...)`: PostgreSQL's 42P20.
pub fn check_definitions(defs: &[ast::NamedWindowDefinition]) -> Result<()> {
    for (i, def) in defs.iter().enumerate() {
        let name = ident_name(&def.0);
        if defs[..i].iter().any(|d| ident_name(&d.0) == name) {
            return Err(DbError::new(
                "42P20",
                format!("window \"{name}\" is already defined"),
            ));
        }
    }
    Ok(())
}

/// The frame of a resolved definition (PostgreSQL's default without one), its offsets bound
/// by `bind` (given the clause name for its errors) and typed for the window's ORDER BY.
pub fn bind_frame(
    spec: &Spec,
    order: &[(Expr, bool, bool)],
    bind: &mut dyn FnMut(&ast::Expr, &'static str) -> Result<Expr>,
) -> Result<Frame> {
    let Some(written) = &spec.frame else {
        return Ok(Frame::default_frame());
    };
    let (units, clause) = match written.units {
        WindowFrameUnits::Rows => (Units::Rows, "window ROWS"),
        WindowFrameUnits::Range => (Units::Range, "window RANGE"),
        WindowFrameUnits::Groups => (Units::Groups, "window GROUPS"),
    };
    // gram.y checks the bounds' shapes first, then the window's ORDER BY is checked, and only
    // then are the offsets bound and typed.
    let end = written
        .end_bound
        .clone()
        .unwrap_or(WindowFrameBound::CurrentRow);
    frame::check_bounds(
        &shape(&written.start_bound),
        &shape(&end),
        written.end_bound.is_some(),
    )?;
    let has_offset = [&written.start_bound, &end].iter().any(|b| {
        matches!(
            b,
            WindowFrameBound::Preceding(Some(_)) | WindowFrameBound::Following(Some(_))
        )
    });
    frame::check_order(units, has_offset, order)?;
    let mut frame = Frame {
        units,
        start: offset_bound(&written.start_bound, clause, bind)?,
        end: offset_bound(&end, clause, bind)?,
        exclude: spec.exclude.unwrap_or(Exclude::NoOthers),
    };
    frame::type_offsets(&mut frame, order)?;
    Ok(frame)
}

/// A bound's kind, its offset not bound yet.
fn shape(bound: &WindowFrameBound) -> Bound {
    let placeholder = || Expr::Const(Value::Null, DataType::Unknown);
    match bound {
        WindowFrameBound::CurrentRow => Bound::CurrentRow,
        WindowFrameBound::Preceding(None) => Bound::UnboundedPreceding,
        WindowFrameBound::Following(None) => Bound::UnboundedFollowing,
        WindowFrameBound::Preceding(Some(_)) => Bound::Preceding(placeholder()),
        WindowFrameBound::Following(Some(_)) => Bound::Following(placeholder()),
    }
}

/// A bound with its offset bound: a constant expression (PostgreSQL's 42P10 otherwise).
fn offset_bound(
    bound: &WindowFrameBound,
    clause: &'static str,
    bind: &mut dyn FnMut(&ast::Expr, &'static str) -> Result<Expr>,
) -> Result<Bound> {
    let mut offset = |e: &ast::Expr| -> Result<Expr> {
        // sqlparser reads a quoted offset as an INTERVAL; PostgreSQL types it by the frame.
        let e = match e {
            ast::Expr::Interval(interval)
                if interval.leading_field.is_none()
                    && matches!(interval.value.as_ref(), ast::Expr::Value(_)) =>
            {
                interval.value.as_ref()
            }
            other => other,
        };
        let bound = bind(e, clause)?;
        // An enclosing query's columns are constants here, as in PostgreSQL.
        let mut reads_row = false;
        bound.walk(&mut |e| {
            if matches!(e, Expr::Column(..)) {
                reads_row = true;
            }
        });
        if reads_row {
            return Err(DbError::new(
                "42P10",
                format!(
                    "argument of {} must not contain variables",
                    &clause["window ".len()..]
                ),
            ));
        }
        Ok(bound)
    };
    Ok(match bound {
        WindowFrameBound::Preceding(Some(e)) => Bound::Preceding(offset(e)?),
        WindowFrameBound::Following(Some(e)) => Bound::Following(offset(e)?),
        other => shape(other),
    })
}

/// Takes each `EXCLUDE CURRENT ROW | GROUP | TIES | NO OTHERS` out of a statement's tokens and
/// marks the window it ends (see the module's doc).
pub fn mark_exclusions(tokens: &mut Vec<TokenWithSpan>) {
    let mut at = 0;
    while at < tokens.len() {
        if !is_keyword(&tokens[at].token, Keyword::EXCLUDE) {
            at += 1;
            continue;
        }
        let Some((words, end)) = exclusion_words(tokens, at + 1) else {
            at += 1;
            continue;
        };
        let Some(open) = opening_paren(tokens, at) else {
            at += 1;
            continue;
        };
        tokens.drain(at..end);
        mark_window(tokens, open, &words);
    }
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.keyword == keyword && w.quote_style.is_none())
}

/// The words of an exclusion starting at `from` (skipping whitespace) and the position after.
fn exclusion_words(tokens: &[TokenWithSpan], from: usize) -> Option<(String, usize)> {
    let mut words = Vec::new();
    let mut at = from;
    while at < tokens.len() && words.len() < 2 {
        match &tokens[at].token {
            Token::Whitespace(_) => {}
            Token::Word(w) if w.quote_style.is_none() => {
                words.push(w.value.to_ascii_lowercase());
                let text = words.join(" ");
                if matches!(text.as_str(), "group" | "ties") {
                    return Some((text, at + 1));
                }
                if matches!(text.as_str(), "current row" | "no others") {
                    return Some((text, at + 1));
                }
            }
            _ => return None,
        }
        at += 1;
    }
    None
}

/// The unclosed `(` before `at`: where the window specification starts.
fn opening_paren(tokens: &[TokenWithSpan], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (0..at).rev() {
        match tokens[i].token {
            Token::RParen => depth += 1,
            Token::LParen if depth == 0 => return Some(i),
            Token::LParen => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Leaves `words` on the name of the window whose `(` is at `open`, adding a name if none.
fn mark_window(tokens: &mut Vec<TokenWithSpan>, open: usize, words: &str) {
    let first =
        (open + 1..tokens.len()).find(|i| !matches!(tokens[*i].token, Token::Whitespace(_)));
    if let Some(i) = first {
        if let Token::Word(w) = &tokens[i].token {
            let clause = matches!(
                w.keyword,
                Keyword::PARTITION
                    | Keyword::ORDER
                    | Keyword::ROWS
                    | Keyword::RANGE
                    | Keyword::GROUPS
            );
            if !clause || w.quote_style.is_some() {
                let name = if w.quote_style.is_some() {
                    w.value.clone()
                } else {
                    w.value.to_lowercase()
                };
                tokens[i].token = marked(format!("{name}{MARK}{words}"));
                return;
            }
        }
    }
    let span = tokens[open].span;
    tokens.insert(
        open + 1,
        TokenWithSpan {
            token: marked(format!("{MARK}{words}")),
            span,
        },
    );
}

fn marked(value: String) -> Token {
    Token::Word(Word {
        value,
        quote_style: Some('"'),
        keyword: Keyword::NoKeyword,
    })
}
