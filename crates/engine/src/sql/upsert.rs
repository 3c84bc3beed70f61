//! `INSERT ... ON CONFLICT`: the arbiter constraints PostgreSQL infers from the conflict target,
//! and per proposed row either an insert, nothing, or an update of the conflicting row with
//! `EXCLUDED` bound to the proposed one. Updates go through the same heap update path (one WAL
//! record each) as UPDATE, so standbys replay them like any other change.

use std::collections::BTreeSet;

use sqlparser::ast;

use super::bind::{ident_name, object_name};
use super::dml::{assignment, target_column};
use super::expr::*;
use super::Executor;
use crate::catalog::{ConstraintDef, ConstraintKind, TableDef};
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::types::{apply_typmod, Value};

/// A resolved ON CONFLICT clause.
pub(super) struct OnConflict {
    /// Positions in `table.constraints` of the arbiters.
    arbiters: Vec<usize>,
    action: Action,
}

enum Action {
    Nothing,
    Update {
        /// Target column and its new value (None: DEFAULT), over the existing row then EXCLUDED.
        assignments: Vec<(usize, Option<Expr>)>,
        filter: Option<Expr>,
    },
}

/// What one proposed row became.
pub(super) enum Upserted {
    /// Inserted or updated: the row as it now is.
    Written(Vec<Value>),
    Skipped,
}

fn is_unique(constraint: &ConstraintDef) -> bool {
    matches!(
        constraint.kind,
        ConstraintKind::PrimaryKey | ConstraintKind::Unique
    )
}

impl Executor<'_> {
    /// Resolves the clause against `table`, whose scope (with the INSERT's alias) is `target`.
    pub(super) fn bind_on_conflict(
        &mut self,
        clause: &ast::OnConflict,
        table: &TableDef,
        target: &Scope,
    ) -> Result<OnConflict> {
        let arbiters = arbiters(clause, table)?;
        let action = match &clause.action {
            ast::OnConflictAction::DoNothing => Action::Nothing,
            ast::OnConflictAction::DoUpdate(update) => {
                self.bind_do_update(update, table, target)?
            }
        };
        Ok(OnConflict { arbiters, action })
    }

    fn bind_do_update(
        &mut self,
        update: &ast::DoUpdate,
        table: &TableDef,
        target: &Scope,
    ) -> Result<Action> {
        let mut scope = target.clone();
        let excluded = Self::table_scope(table, Some("excluded".into()));
        scope.columns.extend(excluded.columns);
        let mut assignments = Vec::new();
        for item in &update.assignments {
            let column =
                match &item.target {
                    ast::AssignmentTarget::ColumnName(name) => object_name(name),
                    _ => return Err(DbError::feature_not_supported(
                        "tuple assignment in ON CONFLICT DO UPDATE is not supported by pgplay yet",
                    )),
                };
            let index = target_column(table, &column)?;
            let def = &table.columns[index];
            let bound = if is_default(&item.value) {
                None
            } else {
                let bound = self.bind_in(&scope, &item.value, "UPDATE")?;
                Some(assignment(bound, &def.name, &def.data_type)?)
            };
            assignments.push((index, bound));
        }
        let filter = update
            .selection
            .as_ref()
            .map(|e| self.bind_in(&scope, e, "WHERE"))
            .transpose()?
            .map(|f| coerce_bool(f, "WHERE"))
            .transpose()?;
        Ok(Action::Update {
            assignments,
            filter,
        })
    }

    /// Inserts `row` unless it conflicts on an arbiter; then does the clause's action.
    /// `written` holds the row versions this command made, which it may not update again.
    pub(super) fn upsert_row(
        &mut self,
        table: &TableDef,
        clause: &OnConflict,
        row: Vec<Value>,
        written: &mut BTreeSet<ItemPointer>,
    ) -> Result<Upserted> {
        let mut existing = None;
        for position in &clause.arbiters {
            let constraint = &table.constraints[*position];
            if let Some(at) = self.find_conflict(table, constraint, &row, None)? {
                existing = Some(at);
                break;
            }
        }
        let Some(at) = existing else {
            self.check_unique(table, &row, None)?;
            let at = self.heap_insert(table, &row)?;
            self.foreign_keys_after_insert(table, &row)?;
            written.insert(at);
            return Ok(Upserted::Written(row));
        };
        self.refuse_uncommitted(table, at)?;
        match &clause.action {
            Action::Nothing => Ok(Upserted::Skipped),
            Action::Update {
                assignments,
                filter,
            } => {
                if written.contains(&at) {
                    return Err(DbError::new(
                        code::CARDINALITY_VIOLATION,
                        "ON CONFLICT DO UPDATE command cannot affect row a second time",
                    )
                    .with_hint(
                        "Ensure that no rows proposed for insertion within the same command have duplicate constrained values.",
                    ));
                }
                self.update_conflicting(table, at, row, assignments, filter.as_ref(), written)
            }
        }
    }

    fn update_conflicting(
        &mut self,
        table: &TableDef,
        at: ItemPointer,
        proposed: Vec<Value>,
        assignments: &[(usize, Option<Expr>)],
        filter: Option<&Expr>,
        written: &mut BTreeSet<ItemPointer>,
    ) -> Result<Upserted> {
        let mode = crate::sql::row_lock::assigned_mode(table, assignments.iter().map(|(i, _)| *i));
        if !self.lock_row(table, at, mode)? {
            return Err(DbError::feature_not_supported(
                "ON CONFLICT DO UPDATE of a row changed by a concurrent transaction is not supported by pgplay yet",
            ));
        }
        let old = self.tuple_values(table, at)?;
        let mut joined = old.clone();
        joined.extend(proposed);
        if let Some(filter) = filter {
            if truth(eval(filter, &Row::plain(&joined), self)?) != Some(true) {
                return Ok(Upserted::Skipped);
            }
        }
        let mut new = old.clone();
        for (index, expr) in assignments {
            let value = match expr {
                Some(e) => eval(e, &Row::plain(&joined), self)?,
                None => self.default_value(table, *index)?,
            };
            new[*index] = apply_typmod(value, &table.columns[*index].data_type)?;
        }
        self.check_row(table, &new)?;
        self.check_unique(table, &new, Some(at))?;
        let new_at = self.heap_update(table, at, &old, &new)?;
        self.foreign_keys_after_update(table, &old, &new)?;
        written.insert(new_at);
        Ok(Upserted::Written(new))
    }

    /// PostgreSQL waits for another open transaction inserting the conflicting row, then
    /// decides; so does pgplay ([`crate::lock`]).
    fn refuse_uncommitted(&mut self, table: &TableDef, at: ItemPointer) -> Result<()> {
        self.wait_for_uncommitted(table, at)
    }

    fn tuple_values(&self, table: &TableDef, at: ItemPointer) -> Result<Vec<Value>> {
        let tuple = self
            .stored_tuple(table, at)
            .ok_or_else(|| DbError::internal("conflicting row vanished"))?;
        table.layout().decode(tuple.natts, &tuple.data)
    }
}

fn is_default(expr: &ast::Expr) -> bool {
    matches!(expr, ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default") && i.quote_style.is_none())
}

/// The unique constraints the conflict target names or infers, as PostgreSQL chooses them.
fn arbiters(clause: &ast::OnConflict, table: &TableDef) -> Result<Vec<usize>> {
    let do_update = matches!(clause.action, ast::OnConflictAction::DoUpdate(_));
    let uniques = table
        .constraints
        .iter()
        .enumerate()
        .filter(|(_, c)| is_unique(c));
    match &clause.conflict_target {
        None if do_update => Err(DbError::syntax(
            "ON CONFLICT DO UPDATE requires inference specification or constraint name",
        )
        .with_hint("For example, ON CONFLICT (column_name).")),
        None => Ok(uniques.map(|(i, _)| i).collect()),
        Some(ast::ConflictTarget::OnConstraint(name)) => {
            let name = object_name(name);
            uniques
                .filter(|(_, c)| c.name == name)
                .map(|(i, _)| i)
                .next()
                .map(|i| vec![i])
                .ok_or_else(|| {
                    DbError::new(
                        code::UNDEFINED_OBJECT,
                        format!(
                            "constraint \"{name}\" for table \"{}\" does not exist",
                            table.name
                        ),
                    )
                })
        }
        Some(ast::ConflictTarget::Columns { predicate: Some(_), .. }) => {
            Err(DbError::feature_not_supported(
                "ON CONFLICT with an index predicate (partial unique indexes) is not supported by pgplay yet",
            ))
        }
        Some(ast::ConflictTarget::Columns { columns, .. }) => {
            let mut wanted = BTreeSet::new();
            for column in columns {
                let name = ident_name(column);
                let index = table.column_index(&name).ok_or_else(|| {
                    DbError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{name}\" does not exist"),
                    )
                })?;
                wanted.insert(index);
            }
            let found: Vec<usize> = uniques
                .filter(|(_, c)| c.columns.iter().copied().collect::<BTreeSet<_>>() == wanted)
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() {
                return Err(DbError::new(
                    code::INVALID_COLUMN_REFERENCE,
                    "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                ));
            }
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, InitOptions, Outcome, SessionId};

    fn run(db: &mut Database, session: SessionId, sql: &str) -> crate::Result<Outcome> {
        let mut results = crate::sql::execute(db, session, sql);
        results.pop().expect("a result").outcome
    }

    fn tag(db: &mut Database, session: SessionId, sql: &str) -> String {
        match run(db, session, sql) {
            Ok(Outcome::Command { tag }) => tag,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn a_key_another_open_transaction_inserts_waits_until_it_ends() {
        let mut db = Database::initdb(InitOptions {
            system_identifier: 1,
            segment_size: pgplay_wal::DEFAULT_SEGMENT_SIZE,
            now: 0,
        });
        let (writer, other) = (db.open_session(), db.open_session());
        tag(
            &mut db,
            writer,
            "CREATE TABLE kv (k int PRIMARY KEY, v text)",
        );
        let cases = [
            ("DO NOTHING", "COMMIT", "INSERT 0 0"),
            ("(k) DO UPDATE SET v = EXCLUDED.v", "COMMIT", "INSERT 0 1"),
            ("DO NOTHING", "ROLLBACK", "INSERT 0 1"),
        ];
        for (k, (action, end, expected)) in cases.into_iter().enumerate() {
            tag(&mut db, writer, "BEGIN");
            tag(
                &mut db,
                writer,
                &format!("INSERT INTO kv VALUES ({k}, 'open')"),
            );
            let sql = format!("INSERT INTO kv VALUES ({k}, 'late') ON CONFLICT {action}");
            assert!(
                crate::sql::execute(&mut db, other, &sql).is_empty(),
                "{sql}"
            );
            assert!(crate::sql::is_lock_waiting(&db, other));
            assert!(
                crate::sql::resume(&mut db, other).is_none(),
                "still in progress"
            );
            tag(&mut db, writer, end);
            let mut results = crate::sql::resume(&mut db, other).expect("the inserter ended");
            match results.pop().map(|r| r.outcome) {
                Some(Ok(Outcome::Command { tag })) => assert_eq!(tag, expected, "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
            assert!(!crate::sql::is_lock_waiting(&db, other));
        }
    }
}
