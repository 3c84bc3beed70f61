//! Transaction statements: BEGIN with its modes, COMMIT, ROLLBACK, the
//! savepoint commands, SET TRANSACTION and SET SESSION CHARACTERISTICS. The
//! state they change lives in [`crate::xact`]; this is the SQL face of it,
//! with PostgreSQL's warnings and errors.

use sqlparser::ast::{self, Statement};

use super::{warning, Executor};
use crate::database::Outcome;
use crate::error::{code, Result};
use crate::xact::Isolation;

fn command(tag: &str) -> Outcome {
    Outcome::Command {
        tag: tag.to_string(),
    }
}

/// A savepoint's name as PostgreSQL keeps it: folded to lower case unless quoted.
fn savepoint_name(ident: &ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// Whether [`without_deferrable`] could change the text these tokens come from: only a
/// DEFERRABLE keyword can (most statements have none and need not be tokenized again).
pub fn names_deferrable(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> bool {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    tokens.iter().any(|t| {
        matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::DEFERRABLE)
    })
}

/// `[NOT] DEFERRABLE` in BEGIN, START TRANSACTION, SET TRANSACTION and SET
/// SESSION CHARACTERISTICS, which sqlparser does not read: it matters only
/// to SERIALIZABLE READ ONLY transactions under Serializable Snapshot
/// Isolation, which pgplay does not have, so it is accepted and dropped.
/// Returns the statements without it, or None when there is none.
pub fn without_deferrable(sql: &str) -> Option<String> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let keyword = |token: &Token| match token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.keyword),
        _ => None,
    };
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut first: Option<Keyword> = None;
    let mut second: Option<Keyword> = None;
    let mut changed = false;
    for token in tokens {
        let word = keyword(&token);
        if matches!(token, Token::SemiColon) {
            (first, second) = (None, None);
        } else if word.is_some() && first.is_none() {
            first = word;
        } else if word.is_some() && second.is_none() {
            second = word;
        }
        let in_modes = match first {
            Some(Keyword::BEGIN | Keyword::START) => true,
            Some(Keyword::SET) => matches!(second, Some(Keyword::TRANSACTION | Keyword::SESSION)),
            _ => false,
        };
        if in_modes && word == Some(Keyword::DEFERRABLE) {
            changed = true;
            // Drop a NOT before it, then the comma or blanks that led to it.
            while let Some(last) = out.last() {
                let is_not = keyword(last) == Some(Keyword::NOT);
                if is_not || matches!(last, Token::Whitespace(_) | Token::Comma) {
                    out.pop();
                    if is_not {
                        continue;
                    }
                } else {
                    break;
                }
            }
            continue;
        }
        out.push(token);
    }
    changed.then(|| out.iter().map(Token::to_string).collect())
}

/// Whether a statement takes a snapshot when it runs (PostgreSQL's
/// `analyze_requires_snapshot` and `PlannedStmtRequiresSnapshot`):
/// transaction control, SET, SHOW and CHECKPOINT do not, so an isolation
/// level may still be set after them.
pub fn takes_snapshot(statement: &Statement) -> bool {
    !matches!(
        statement,
        Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Set(_)
            | Statement::ShowVariable { .. }
            | Statement::Reset(_)
    )
}

impl Executor<'_> {
    fn in_block(&self) -> bool {
        self.db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .is_some_and(|x| x.explicit)
    }

    /// BEGIN, COMMIT, ROLLBACK [TO SAVEPOINT], SAVEPOINT, RELEASE.
    pub(super) fn transaction_statement(&mut self, statement: &Statement) -> Result<Outcome> {
        match statement {
            Statement::StartTransaction { modes, begin, .. } => {
                let tag = if *begin { "BEGIN" } else { "START TRANSACTION" };
                self.begin(modes, tag)
            }
            Statement::Commit { chain: true, .. } => self.end_and_chain("COMMIT"),
            Statement::Commit { .. } => self.commit_statement(),
            Statement::Rollback {
                chain: true,
                savepoint: None,
            } => self.end_and_chain("ROLLBACK"),
            Statement::Rollback {
                savepoint: None, ..
            } => self.rollback_statement(),
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => {
                self.db
                    .rollback_to_savepoint(self.session, &savepoint_name(name))?;
                Ok(command("ROLLBACK"))
            }
            Statement::Savepoint { name } => {
                self.db.savepoint(self.session, &savepoint_name(name))?;
                Ok(command("SAVEPOINT"))
            }
            Statement::ReleaseSavepoint { name } => {
                self.db
                    .release_savepoint(self.session, &savepoint_name(name))?;
                Ok(command("RELEASE"))
            }
            _ => unreachable!("not a transaction statement"),
        }
    }

    /// BEGIN or START TRANSACTION (`tag`, the command tag PostgreSQL answers).
    fn begin(&mut self, modes: &[ast::TransactionMode], tag: &str) -> Result<Outcome> {
        if self.in_block() {
            self.notices.push(warning(
                code::ACTIVE_SQL_TRANSACTION,
                "there is already a transaction in progress",
            ));
            return Ok(command(tag));
        }
        // A refused mode means the BEGIN failed: no block is left open,
        // as in PostgreSQL (the error aborts the transaction it started).
        self.apply_modes(modes)?;
        self.db.xact_mut(self.session).explicit = true;
        Ok(command(tag))
    }

    /// Isolation level and access mode, as BEGIN and SET TRANSACTION give them.
    fn apply_modes(&mut self, modes: &[ast::TransactionMode]) -> Result<()> {
        for mode in modes {
            match mode {
                ast::TransactionMode::IsolationLevel(level) => {
                    let level = Isolation::from_ast(level)?;
                    self.db.set_isolation(self.session, level)?;
                }
                ast::TransactionMode::AccessMode(access) => {
                    let read_only = *access == ast::TransactionAccessMode::ReadOnly;
                    self.db.set_read_only(self.session, read_only)?;
                }
            }
        }
        Ok(())
    }

    fn commit_statement(&mut self) -> Result<Outcome> {
        let failed = match self.db.session(self.session).and_then(|s| s.xact.as_ref()) {
            None => {
                self.notices.push(warning(
                    code::NO_ACTIVE_SQL_TRANSACTION,
                    "there is no transaction in progress",
                ));
                return Ok(command("COMMIT"));
            }
            Some(xact) => xact.failed,
        };
        if failed {
            self.db.abort(self.session);
            return Ok(command("ROLLBACK"));
        }
        self.db.commit(self.session)?;
        Ok(command("COMMIT"))
    }

    /// `COMMIT AND CHAIN` / `ROLLBACK AND CHAIN`: the block ends and a new
    /// one starts at once with the same isolation level and access mode.
    fn end_and_chain(&mut self, command_name: &str) -> Result<Outcome> {
        let Some(xact) = self
            .db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .filter(|x| x.explicit)
        else {
            return Err(crate::error::DbError::new(
                code::NO_ACTIVE_SQL_TRANSACTION,
                format!("{command_name} AND CHAIN can only be used in transaction blocks"),
            ));
        };
        let (isolation, read_only) = (xact.isolation, xact.read_only);
        let outcome = if command_name == "COMMIT" {
            self.commit_statement()?
        } else {
            self.rollback_statement()?
        };
        let xact = self.db.xact_mut(self.session);
        xact.explicit = true;
        xact.isolation = isolation;
        xact.read_only = read_only;
        Ok(outcome)
    }

    fn rollback_statement(&mut self) -> Result<Outcome> {
        if self
            .db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .is_none()
        {
            self.notices.push(warning(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "there is no transaction in progress",
            ));
        }
        self.db.abort(self.session);
        Ok(command("ROLLBACK"))
    }

    /// `SET TRANSACTION ...`: this transaction's modes (outside a block,
    /// PostgreSQL's warning, and the implicit transaction ends at once).
    pub(super) fn set_transaction(&mut self, modes: &[ast::TransactionMode]) -> Result<Outcome> {
        if !self.in_block() {
            self.notices.push(warning(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION can only be used in transaction blocks",
            ));
        }
        self.apply_modes(modes)?;
        Ok(command("SET"))
    }

    /// `SET SESSION CHARACTERISTICS AS TRANSACTION ...`: the session's
    /// `default_transaction_isolation` and `default_transaction_read_only`.
    pub(super) fn set_session_characteristics(
        &mut self,
        modes: &[ast::TransactionMode],
    ) -> Result<Outcome> {
        for mode in modes {
            let (name, value) = match mode {
                ast::TransactionMode::IsolationLevel(level) => (
                    "default_transaction_isolation",
                    Isolation::from_ast(level)?.name(),
                ),
                ast::TransactionMode::AccessMode(access) => (
                    "default_transaction_read_only",
                    if *access == ast::TransactionAccessMode::ReadOnly {
                        "on"
                    } else {
                        "off"
                    },
                ),
            };
            let (canonical, value) = crate::guc::check_session_set(name, value)?;
            self.remember_settings(canonical, false);
            self.db
                .session_mut(self.session)
                .settings
                .insert(canonical, value);
        }
        Ok(command("SET"))
    }

    /// `RESET transaction_isolation`: in a block, READ COMMITTED (its reset value, taken
    /// without SET TRANSACTION's checks, as PostgreSQL's RESET skips them); outside one,
    /// PostgreSQL's warning.
    pub(super) fn reset_transaction_isolation(&mut self) {
        if self.in_block() {
            self.db.xact_mut(self.session).isolation = Isolation::ReadCommitted;
        } else {
            self.notices.push(warning(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "RESET TRANSACTION can only be used in transaction blocks",
            ));
        }
    }

    /// `SET transaction_isolation` / `SET transaction_read_only`: the same
    /// as SET TRANSACTION, for this transaction only. None for other names.
    pub(super) fn set_transaction_setting(
        &mut self,
        name: &str,
        value: &str,
    ) -> Option<Result<Outcome>> {
        let result = match name {
            "transaction_isolation" => {
                crate::guc::check_session_set(name, value).and_then(|(_, value)| {
                    self.db
                        .set_isolation(self.session, Isolation::from_setting(&value))
                })
            }
            "transaction_read_only" => crate::guc::check_session_set(name, value)
                .and_then(|(_, value)| self.db.set_read_only(self.session, value == "on")),
            _ => return None,
        };
        Some(result.map(|()| command("SET")))
    }
}
