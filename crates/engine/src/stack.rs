//! Bounded recursion, the way PostgreSQL bounds it.
//!
//! A statement's expressions, subqueries and parenthesised terms nest as deep as the user types
//! them, and every layer that walks them (sqlparser, the binder, the evaluator, even `Drop`) is
//! recursive. PostgreSQL's answer is `check_stack_depth()`: remember where the stack was when the
//! statement started and, at the top of every recursive function, fail with `54001 stack depth
//! limit exceeded` once the stack has grown past `max_stack_depth` (2 MB by default). We do the
//! same with the address of a local variable, which works natively and on wasm32 (where it is the
//! shadow stack in linear memory). An error unwinds normally, so a node never dies of depth.
//!
//! Two layers cannot call [`check`]: sqlparser's recursive descent and the `Drop` of the syntax
//! tree it builds. sqlparser has its own recursion counter, set from [`PARSER_RECURSION_LIMIT`];
//! its left-associative operator chains (`1+1+...`) are built by a loop, so their depth is bounded
//! before parsing by [`nesting_estimate`], an upper bound computed from the tokens.

use std::cell::Cell;

use crate::error::{code, DbError, Result};

/// pgplay's `max_stack_depth`, which the error's hint names: PostgreSQL's default, 2 MB, natively.
/// In a browser the engine's own call stack (V8's, which no address can measure) is what runs out:
/// measured in a Chromium worker, a release build's expression evaluation overflows it at about
/// 3.5 MB of shadow stack, so there the setting is 1 MB, with room to spare.
pub const MAX_STACK_DEPTH_KB: usize = if WASM { 1024 } else { 2048 };

/// How much stack one statement may use beyond where it started. In a release build,
/// [`MAX_STACK_DEPTH_KB`]: drivers run statements on a stack with room to spare (the CLI's thread,
/// the worker's 16 MB wasm stack), as PostgreSQL requires of the platform. A debug build's frames
/// are about ten times larger: natively its budget is larger too, to let the same statements
/// through; on wasm32 it is smaller, as V8's stack does not grow with it.
pub const MAX_STACK_DEPTH_BYTES: usize = match (DEBUG_BUILD, WASM) {
    (true, false) => MAX_STACK_DEPTH_KB * 1024 * 8,
    (true, true) => MAX_STACK_DEPTH_KB * 1024 / 4,
    (false, _) => MAX_STACK_DEPTH_KB * 1024,
};

/// The longest chain of binary operators (`1+1+...`, `a AND b AND ...`) a statement may hold.
/// The binder walks chains with a loop, but the tree it builds is as deep as the chain, and the
/// functions that walk a bound tree (cloning, comparing, dropping it) recurse without a check.
/// PostgreSQL 15 adds 4,000 ones and stops at 5,000; V8 stops a browser worker at about 3,500.
pub const MAX_OPERATOR_CHAIN: usize = match (DEBUG_BUILD, WASM) {
    (false, false) => 4000,
    (false, true) => 2000,
    (true, _) => 200,
};

const DEBUG_BUILD: bool = cfg!(debug_assertions);
const WASM: bool = cfg!(target_arch = "wasm32");

/// How deep sqlparser may recurse (parentheses, subqueries, unary operators). It cannot check
/// the stack itself, so the limit is what fits: each level costs sqlparser about 5 kB of stack in
/// a release build (1000 levels: 5 MB), several times that in a debug build. PostgreSQL's grammar
/// stops at 10,000 levels, its stack earlier.
pub const PARSER_RECURSION_LIMIT: usize = match (DEBUG_BUILD, WASM) {
    (true, false) => 100,
    (true, true) => 25,
    (false, _) => 1000,
};

/// The deepest syntax tree a statement may build, as bounded by [`nesting_estimate`]: dropping a
/// tree costs about 100 bytes of stack per level natively; in a browser worker V8's stack ends
/// the drop of a tree about 3,500 deep.
pub const MAX_NESTING: usize = match (DEBUG_BUILD, WASM) {
    (_, false) => 10_000,
    (false, true) => 2_000,
    (true, true) => 500,
};

thread_local! {
    /// The stack address where the running statement started, 0 when none runs.
    static BASE: Cell<usize> = const { Cell::new(0) };
}

/// Marks where a statement's stack starts, for [`check`]; the outermost guard wins, so a
/// statement that runs another (a function body, a nested execute) shares its budget.
pub struct StackBase {
    outermost: bool,
}

impl StackBase {
    #[inline(never)]
    pub fn enter() -> StackBase {
        let outermost = BASE.with(|base| {
            if base.get() != 0 {
                return false;
            }
            base.set(stack_address());
            true
        });
        StackBase { outermost }
    }
}

impl Drop for StackBase {
    fn drop(&mut self) {
        if self.outermost {
            BASE.with(|base| base.set(0));
        }
    }
}

#[inline(always)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// PostgreSQL's `check_stack_depth()`: an error once the running statement's stack has grown
/// past [`MAX_STACK_DEPTH_BYTES`]. Call it at the top of every recursive function.
#[inline]
pub fn check() -> Result<()> {
    let base = BASE.with(Cell::get);
    if base != 0 && base.saturating_sub(stack_address()) > MAX_STACK_DEPTH_BYTES {
        return Err(depth_exceeded());
    }
    Ok(())
}

/// `ERROR:  stack depth limit exceeded` (54001) with PostgreSQL's hint.
pub fn depth_exceeded() -> DbError {
    DbError::new(code::STATEMENT_TOO_COMPLEX, "stack depth limit exceeded").with_hint(format!(
        "Increase the configuration parameter \"max_stack_depth\" (currently {MAX_STACK_DEPTH_KB}kB), after \
         ensuring the platform's stack depth limit is adequate."
    ))
}

/// An upper bound on how deep the syntax tree of `sql` can nest, computed without recursion.
///
/// Every level of a tree needs a token of its own: an operator or keyword in the same
/// comma-separated list item, or an opening bracket. Literals and names never add a level, so
/// they are not counted; commas start a new list item at the depth of the enclosing bracket.
/// Statements too short to hold [`MAX_NESTING`] tokens are not scanned at all.
pub fn nesting_estimate(sql: &str) -> usize {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    if sql.len() < MAX_NESTING {
        return 0;
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return 0;
    };
    // (depth at the bracket, depth reached in the current list item)
    let mut open: Vec<usize> = Vec::new();
    let (mut base, mut current, mut deepest) = (0usize, 0usize, 0usize);
    for token in tokens {
        match token {
            Token::Whitespace(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::DollarQuotedString(_)
            | Token::Placeholder(_)
            | Token::SemiColon => {}
            Token::Word(word) if word.keyword == sqlparser::keywords::Keyword::NoKeyword => {}
            Token::Comma => current = base,
            Token::LParen | Token::LBracket | Token::LBrace => {
                open.push(base);
                base = current + 1;
                current = base;
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                current = base;
                base = open.pop().unwrap_or(0);
            }
            _ => current += 1,
        }
        deepest = deepest.max(current);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_passes_without_a_statement_and_near_the_base() {
        assert!(check().is_ok());
        let _base = StackBase::enter();
        assert!(check().is_ok());
    }

    fn recurse(levels: usize) -> Result<usize> {
        check()?;
        let padding = std::hint::black_box([0u8; 512]);
        if levels == 0 {
            return Ok(padding[0] as usize);
        }
        Ok(recurse(levels - 1)? + padding[1] as usize)
    }

    #[test]
    fn deep_recursion_ends_in_54001_not_a_crash() {
        std::thread::Builder::new()
            .stack_size(MAX_STACK_DEPTH_BYTES * 4)
            .spawn(|| {
                let _base = StackBase::enter();
                assert!(recurse(100).is_ok());
                let error = recurse(100_000).unwrap_err();
                assert_eq!(error.code, "54001");
                assert_eq!(error.message, "stack depth limit exceeded");
                // The guard is released: the next statement starts afresh.
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(check().is_ok());
    }

    #[test]
    fn nesting_estimate_bounds_chains_and_brackets_but_not_lists() {
        let chain = format!("SELECT {};", vec!["1"; 6000].join("+"));
        assert_eq!(nesting_estimate(&chain), 1 + 5999, "SELECT and each +");
        let parens = format!("SELECT {}1{};", "(".repeat(6000), ")".repeat(6000));
        assert_eq!(nesting_estimate(&parens), 6000 + 1);
        let values: Vec<String> = (0..5000).map(|i| format!("({i}, 'x')")).collect();
        let insert = format!("INSERT INTO t VALUES {};", values.join(", "));
        assert!(
            nesting_estimate(&insert) < 10,
            "{}",
            nesting_estimate(&insert)
        );
        assert_eq!(
            nesting_estimate("SELECT 1 + 1"),
            0,
            "short statements are not scanned"
        );
    }
}
