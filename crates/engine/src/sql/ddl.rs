//! CREATE TABLE, DROP TABLE and TRUNCATE, written as rows in the catalog
//! relations plus Storage records, exactly the way data is written.

use pgplay_wal::{LockedRelation, RecordBody, SequenceRecord, StandbyRecord, StorageRecord};
use sqlparser::ast::{self as ast, ColumnOption};

use super::bind::{ident_name, object_name};
use super::check::{name_checks, WrittenCheck};
use super::expr::{bind_type, is_serial};
use super::{notice, Executor};
use crate::catalog::*;
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::types::Value;

impl Executor<'_> {
    /// A column's default (`pg_attrdef`: its own OID, the table, the column, the expression as
    /// SQL text), for CREATE TABLE, ADD COLUMN and SET DEFAULT alike.
    pub(super) fn insert_default_row(
        &mut self,
        table: u32,
        attnum: i16,
        expr: String,
    ) -> Result<()> {
        let def_oid = self.db.new_oid()?;
        self.insert_catalog_row(
            PG_ATTRDEF,
            vec![
                Value::Oid(def_oid),
                Value::Oid(table),
                Value::Int2(attnum),
                Value::Text(expr),
            ],
        )
    }

    pub(super) fn system_table(&self, oid: u32) -> TableDef {
        system_tables()
            .into_iter()
            .find(|t| t.oid == oid)
            .expect("bootstrap catalog")
    }

    pub(super) fn insert_catalog_row(&mut self, catalog: u32, values: Vec<Value>) -> Result<()> {
        let table = self.system_table(catalog);
        self.heap_insert(&table, &values)?;
        self.db.xact_mut(self.session).catalog_changed = true;
        Ok(())
    }

    pub(super) fn delete_catalog_row(&mut self, catalog: u32, at: ItemPointer) -> Result<()> {
        let table = self.system_table(catalog);
        self.heap_delete(&table, at)?;
        self.db.xact_mut(self.session).catalog_changed = true;
        Ok(())
    }

    pub(super) fn lock_relation(&mut self, oid: u32) -> Result<()> {
        let name = self
            .catalog
            .tables
            .values()
            .find(|t| t.oid == oid)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        self.lock_table(oid, &name, crate::lock::LockMode::AccessExclusive, false)?;
        self.log_lock(oid)
    }

    /// The Standby `LOCK` record of an `AccessExclusiveLock`, which a standby replays.
    pub(super) fn log_lock(&mut self, oid: u32) -> Result<()> {
        let xid = self.db.assign_xid(self.session)?;
        let lock = LockedRelation {
            xid,
            database: DATABASE_OID,
            relation: oid,
        };
        self.db
            .log(xid, RecordBody::Standby(StandbyRecord::Lock(vec![lock])))?;
        Ok(())
    }

    /// A new relation file. An unlogged relation's is an init fork, the one thing about it
    /// the WAL carries.
    pub(super) fn create_storage(&mut self, relfilenode: u32, unlogged: bool) -> Result<()> {
        let xid = self.db.assign_xid(self.session)?;
        let file = locator(relfilenode);
        let record = match unlogged {
            true => StorageRecord::CreateInit(file),
            false => StorageRecord::Create(file),
        };
        self.db.log(xid, RecordBody::Storage(record))?;
        self.db
            .xact_mut(self.session)
            .created_mut()
            .push(locator(relfilenode));
        Ok(())
    }

    pub(super) fn create_table(&mut self, create: &ast::CreateTable) -> Result<Outcome> {
        let name = object_name(&create.name);
        self.db.check_writable(self.session, "CREATE TABLE")?;
        // Accepting them as ordinary tables would be wrong where it shows: a temporary table is
        // the session's own and an unlogged one never reaches a standby.
        if create.temporary {
            return Err(DbError::feature_not_supported(
                "temporary tables are not supported by pgplay yet",
            ));
        }
        if self.catalog.relation_exists(&name) {
            if create.if_not_exists {
                self.notices.push(notice(format!(
                    "relation \"{name}\" already exists, skipping"
                )));
                return Ok(Outcome::Command {
                    tag: "CREATE TABLE".into(),
                });
            }
            return Err(DbError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        if let Some(query) = &create.query {
            if create.unlogged {
                return Err(DbError::feature_not_supported(
                    "CREATE UNLOGGED TABLE ... AS is not supported by pgplay yet",
                ));
            }
            return self.create_table_as(create, query);
        }
        let table_oid = self.db.new_oid()?;
        let mut spec = TableSpec::from_ast(&name, create)?;
        let taken = self.catalog.constraint_names();
        let checks = name_checks(&name, &spec.columns, &spec.checks, &taken)?;
        self.lock_relation(table_oid)?;
        self.create_storage(table_oid, create.unlogged)?;
        self.create_serial_sequences(&name, table_oid, &mut spec)?;
        self.insert_table_rows(table_oid, &name, &spec.columns, create.unlogged)?;
        let new_table = TableDef {
            oid: table_oid,
            name: name.clone(),
            namespace: PUBLIC_NAMESPACE_OID,
            kind: RelKind::Table,
            locator: locator(table_oid),
            columns: spec.columns.clone(),
            constraints: Vec::new(),
            checks: Vec::new(),
            dropped: Vec::new(),
            indexes: Vec::new(),
        };
        self.create_keys(&new_table, &spec.keys)?;
        for (check_name, expr) in checks {
            self.insert_check_row(table_oid, check_name, expr)?;
        }
        if !spec.foreign_keys.is_empty() {
            // Foreign keys last, on the table as created (it may reference itself).
            self.command_counter_increment()?;
            for fk in &spec.foreign_keys {
                let table = self.current_table(table_oid)?;
                self.add_foreign_key(&table, fk, false)?;
            }
        }
        Ok(Outcome::Command {
            tag: "CREATE TABLE".into(),
        })
    }

    /// A sequence for each serial column, which becomes its default.
    fn create_serial_sequences(
        &mut self,
        table: &str,
        table_oid: u32,
        spec: &mut TableSpec,
    ) -> Result<()> {
        for &index in &spec.serials {
            let column = &mut spec.columns[index];
            let sequence_name = format!("{table}_{}_seq", column.name);
            let bigint = column.data_type == crate::types::DataType::Int8;
            let unlogged = self.is_unlogged(&locator(table_oid));
            let owner = Some((table_oid, column.attnum));
            self.create_sequence(&sequence_name, owner, bigint, unlogged)?;
            column.default = Some(format!("nextval('{sequence_name}'::regclass)"));
        }
        Ok(())
    }

    /// The new table's `pg_class` row, and a `pg_attribute` row (with its
    /// `pg_attrdef` row for a default) per column.
    fn insert_table_rows(
        &mut self,
        table_oid: u32,
        name: &str,
        columns: &[ColumnDef],
        unlogged: bool,
    ) -> Result<()> {
        self.insert_catalog_row(
            PG_CLASS,
            vec![
                Value::Oid(table_oid),
                Value::Text(name.to_string()),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text("r".into()),
                Value::Oid(table_oid),
                Value::Int2(columns.len() as i16),
                persistence(unlogged),
            ],
        )?;
        for column in columns {
            self.insert_catalog_row(
                PG_ATTRIBUTE,
                vec![
                    Value::Oid(table_oid),
                    Value::Text(column.name.clone()),
                    Value::Oid(column.data_type.oid()),
                    Value::Int4(column.data_type.typmod()),
                    Value::Int2(column.attnum),
                    Value::Bool(column.not_null),
                    Value::Bool(column.default.is_some()),
                ],
            )?;
            if let Some(default) = &column.default {
                self.insert_default_row(table_oid, column.attnum, default.clone())?;
            }
        }
        Ok(())
    }

    /// The PRIMARY KEY and UNIQUE constraints of a new table: a `pg_constraint`
    /// row and an index each, named as PostgreSQL names them when the
    /// statement does not (`t_pkey`, `t_a_b_key`).
    fn create_keys(&mut self, table: &TableDef, keys: &[KeySpec]) -> Result<()> {
        let mut index_names: Vec<String> = Vec::new();
        for key in keys {
            let constraint_name = key.name.clone().unwrap_or_else(|| match key.kind {
                ConstraintKind::PrimaryKey => format!("{}_pkey", table.name),
                ConstraintKind::Unique => {
                    let cols: Vec<&str> = key
                        .columns
                        .iter()
                        .map(|i| table.columns[*i].name.as_str())
                        .collect();
                    format!("{}_{}_key", table.name, cols.join("_"))
                }
            });
            if self.catalog.relation_exists(&constraint_name)
                || index_names.contains(&constraint_name)
            {
                return Err(DbError::new(
                    code::DUPLICATE_TABLE,
                    format!("relation \"{constraint_name}\" already exists"),
                ));
            }
            index_names.push(constraint_name.clone());
            let constraint_oid = self.db.new_oid()?;
            let attnums: Vec<i64> = key
                .columns
                .iter()
                .map(|i| i64::from(table.columns[*i].attnum))
                .collect();
            let is_primary = key.kind == ConstraintKind::PrimaryKey;
            self.insert_catalog_row(
                PG_CONSTRAINT,
                vec![
                    Value::Oid(constraint_oid),
                    Value::Text(constraint_name.clone()),
                    Value::Oid(PUBLIC_NAMESPACE_OID),
                    Value::Text(if is_primary { "p" } else { "u" }.into()),
                    Value::Oid(table.oid),
                    Value::Text(format_int_array(&attnums)),
                    Value::Text(String::new()),
                ],
            )?;
            self.create_index_relation(
                table,
                &constraint_name,
                &key.columns,
                &vec![false; key.columns.len()],
                true,
                is_primary,
            )?;
        }
        Ok(())
    }

    /// A `pg_constraint` row for a CHECK constraint (`contype = 'c'`).
    pub(super) fn insert_check_row(
        &mut self,
        table_oid: u32,
        name: String,
        expr: String,
    ) -> Result<()> {
        let constraint_oid = self.db.new_oid()?;
        self.insert_catalog_row(
            PG_CONSTRAINT,
            vec![
                Value::Oid(constraint_oid),
                Value::Text(name),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text("c".into()),
                Value::Oid(table_oid),
                Value::Text("{}".into()),
                Value::Text(expr),
            ],
        )
    }

    /// `CREATE SEQUENCE name` (a bigint sequence, owned by no column).
    pub(super) fn create_standalone_sequence(
        &mut self,
        name: &ast::ObjectName,
        if_not_exists: bool,
        options: &[ast::SequenceOptions],
    ) -> Result<Outcome> {
        if !options.is_empty() {
            return Err(DbError::feature_not_supported(
                "CREATE SEQUENCE options are not supported by pgplay yet",
            ));
        }
        let name = crate::sql::bind::object_name(name);
        if if_not_exists && self.catalog.relation_exists(&name) {
            self.notices.push(super::notice(format!(
                "relation \"{name}\" already exists, skipping"
            )));
        } else {
            self.create_sequence(&name, None, true, false)?;
        }
        self.db.xact_mut(self.session).catalog_changed = true;
        Ok(Outcome::Command {
            tag: "CREATE SEQUENCE".into(),
        })
    }

    pub(super) fn create_sequence(
        &mut self,
        name: &str,
        owner: Option<(u32, i16)>,
        bigint: bool,
        unlogged: bool,
    ) -> Result<()> {
        if self.catalog.relation_exists(name) {
            return Err(DbError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let sequence_oid = self.db.new_oid()?;
        self.create_storage(sequence_oid, unlogged)?;
        let xid = self.db.assign_xid(self.session)?;
        let record = SequenceRecord::Log {
            relation: locator(sequence_oid),
            last_value: 1,
            log_cnt: 0,
            is_called: false,
        };
        self.db.log(xid, RecordBody::Sequence(record))?;
        let oid = |v: u32| Value::Oid(v);
        self.insert_catalog_row(
            PG_CLASS,
            vec![
                oid(sequence_oid),
                Value::Text(name.into()),
                oid(PUBLIC_NAMESPACE_OID),
                Value::Text("S".into()),
                oid(sequence_oid),
                Value::Int2(3),
                persistence(unlogged),
            ],
        )?;
        let (type_oid, max) = if bigint {
            (20, i64::MAX)
        } else {
            (23, i64::from(i32::MAX))
        };
        self.insert_catalog_row(
            PG_SEQUENCE,
            vec![
                oid(sequence_oid),
                oid(type_oid),
                Value::Int8(1),
                Value::Int8(1),
                Value::Int8(max),
                Value::Int8(1),
                Value::Int8(1),
                Value::Bool(false),
            ],
        )?;
        if let Some((owner, attnum)) = owner {
            self.insert_catalog_row(
                PG_DEPEND,
                vec![
                    oid(PG_CLASS),
                    oid(sequence_oid),
                    Value::Int4(0),
                    oid(PG_CLASS),
                    oid(owner),
                    Value::Int4(i32::from(attnum)),
                    Value::Text("a".into()),
                ],
            )?;
        }
        Ok(())
    }

    pub(super) fn drop(
        &mut self,
        object_type: &ast::ObjectType,
        if_exists: bool,
        names: &[ast::ObjectName],
        cascade: bool,
    ) -> Result<Outcome> {
        if !matches!(object_type, ast::ObjectType::Table) {
            return Err(DbError::feature_not_supported(format!(
                "DROP {object_type} is not supported by pgplay yet"
            )));
        }
        self.db.check_writable(self.session, "DROP TABLE")?;
        for name in names {
            let name = object_name(name);
            let Some(table) = self.catalog.table(&name).cloned() else {
                self.drop_target_missing(RelationKind::Table, &name, if_exists)?;
                continue;
            };
            if table.is_system() {
                return Err(DbError::new(
                    code::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied: \"{name}\" is a system catalog"),
                ));
            }
            self.lock_table(
                table.oid,
                &name,
                crate::lock::LockMode::AccessExclusive,
                false,
            )?;
            self.refuse_if_depended_on(table.oid, &format!("table {name}"), cascade)?;
            let dropping: Vec<u32> = names
                .iter()
                .filter_map(|n| self.catalog.table(&object_name(n)).map(|t| t.oid))
                .collect();
            self.drop_foreign_keys_referencing(&table, cascade, &dropping)?;
            self.lock_relation(table.oid)?;
            let owned: Vec<SequenceDef> = self
                .catalog
                .sequences
                .values()
                .filter(|s| s.owned_by.map(|(o, _)| o) == Some(table.oid))
                .cloned()
                .collect();
            let mut doomed = vec![table.oid];
            doomed.extend(owned.iter().map(|s| s.oid));
            doomed.extend(table.indexes.iter().map(|i| i.oid));
            self.delete_rows_of(&doomed)?;
            let dropped = self.db.xact_mut(self.session).dropped_mut();
            dropped.push(table.locator);
            dropped.extend(owned.iter().map(|s| s.locator));
            dropped.extend(table.indexes.iter().map(|i| i.locator));
        }
        Ok(Outcome::Command {
            tag: "DROP TABLE".into(),
        })
    }

    /// Deletes every catalog row that describes one of `oids`.
    pub(super) fn delete_rows_of(&mut self, oids: &[u32]) -> Result<()> {
        let refers = |catalog: u32, values: &[Value]| -> bool {
            let get = |i: usize| values.get(i).and_then(Value::as_i64).map(|v| v as u32);
            let key = match catalog {
                PG_CLASS | PG_SEQUENCE => get(0),
                PG_ATTRIBUTE => get(0),
                PG_ATTRDEF => get(1),
                PG_CONSTRAINT => get(4),
                PG_DEPEND => get(1),
                PG_INDEX => get(0),
                _ => None,
            };
            key.is_some_and(|k| oids.contains(&k))
        };
        let mut doomed = Vec::new();
        for (catalog, rows) in &self.catalog.rows {
            for row in rows {
                if refers(*catalog, &row.values) {
                    doomed.push((*catalog, row.at));
                }
            }
        }
        for (catalog, at) in doomed {
            self.delete_catalog_row(catalog, at)?;
        }
        Ok(())
    }

    pub(super) fn truncate(&mut self, truncate: &ast::Truncate) -> Result<Outcome> {
        self.db.check_writable(self.session, "TRUNCATE TABLE")?;
        let mut truncating: Vec<String> = truncate
            .table_names
            .iter()
            .map(|t| object_name(&t.name))
            .collect();
        if truncate.cascade == Some(ast::CascadeOption::Cascade) {
            truncating = self.truncate_cascade(truncating);
        }
        // Every table's lock first: a wait must come before the first write.
        for name in &truncating {
            if let Some(oid) = self.catalog.table(name).map(|t| t.oid) {
                self.lock_table(oid, name, crate::lock::LockMode::AccessExclusive, false)?;
            }
        }
        for name in truncating.clone() {
            let table = self
                .catalog
                .table(&name)
                .cloned()
                .ok_or_else(|| DbError::undefined_table(&name))?;
            if table.is_system() {
                return Err(DbError::new(
                    code::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied: \"{name}\" is a system catalog"),
                ));
            }
            self.refuse_truncate_referenced(&table, &truncating)?;
            self.lock_relation(table.oid)?;
            let new_relfilenode = self.db.new_oid()?;
            self.create_storage(new_relfilenode, self.is_unlogged(&table.locator))?;
            let row = self
                .catalog
                .rows_of(PG_CLASS)
                .iter()
                .find(|r| r.values[0] == Value::Oid(table.oid))
                .cloned()
                .ok_or_else(|| DbError::internal("pg_class row missing"))?;
            let mut new_values = row.values.clone();
            new_values[4] = Value::Oid(new_relfilenode);
            let pg_class = self.system_table(PG_CLASS);
            self.heap_update(&pg_class, row.at, &row.values, &new_values)?;
            let xact = self.db.xact_mut(self.session);
            xact.catalog_changed = true;
            xact.dropped_mut().push(table.locator);
            let emptied = TableDef {
                locator: locator(new_relfilenode),
                ..table.clone()
            };
            for index in &table.indexes {
                self.rebuild_index(&emptied, index)?;
            }
            if truncate.identity == Some(ast::TruncateIdentityOption::Restart) {
                self.restart_owned_sequences(table.oid)?;
            }
        }
        Ok(Outcome::Command {
            tag: "TRUNCATE TABLE".into(),
        })
    }

    /// RESTART IDENTITY: the table's serial sequences start over.
    fn restart_owned_sequences(&mut self, table_oid: u32) -> Result<()> {
        let owned: Vec<SequenceDef> = self
            .catalog
            .sequences
            .values()
            .filter(|s| s.owned_by.map(|(oid, _)| oid) == Some(table_oid))
            .cloned()
            .collect();
        let xid = self.db.assign_xid(self.session)?;
        for sequence in owned {
            let record = SequenceRecord::Log {
                relation: sequence.locator,
                last_value: sequence.start,
                log_cnt: 0,
                is_called: false,
            };
            self.db.log(xid, RecordBody::Sequence(record))?;
        }
        Ok(())
    }

    /// setval(): the next nextval() returns `value` + increment (or `value`
    /// itself when `is_called` is false).
    pub fn setval(&mut self, name: &str, value: i64, is_called: bool) -> Result<i64> {
        let sequence = self
            .catalog
            .sequences
            .get(name)
            .cloned()
            .ok_or_else(|| DbError::undefined_table(name))?;
        self.db.check_writable(self.session, "setval()")?;
        if value < 1 || value > sequence.max {
            return Err(DbError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!(
                    "setval: value {value} is out of bounds for sequence \"{name}\" (1..{})",
                    sequence.max
                ),
            ));
        }
        let xid = self.db.assign_xid(self.session)?;
        let record = SequenceRecord::Log {
            relation: sequence.locator,
            last_value: value,
            log_cnt: 0,
            is_called,
        };
        self.db.log(xid, RecordBody::Sequence(record))?;
        Ok(value)
    }

    /// nextval(): values are handed out from a logged-ahead range of 32, as PostgreSQL does.
    pub fn nextval(&mut self, name: &str) -> Result<i64> {
        let sequence = self
            .catalog
            .sequences
            .get(name)
            .cloned()
            .ok_or_else(|| DbError::undefined_table(name))?;
        self.db.check_writable(self.session, "nextval()")?;
        let state = self
            .db
            .data
            .storage
            .sequences
            .get(&sequence.locator)
            .cloned()
            .unwrap_or_default();
        let next = if state.is_called {
            state.last_value.checked_add(sequence.increment)
        } else {
            Some(state.last_value)
        };
        let next = next.filter(|n| *n <= sequence.max).ok_or_else(|| {
            DbError::new(
                code::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                format!(
                    "nextval: reached maximum value of sequence \"{name}\" ({})",
                    sequence.max
                ),
            )
        })?;
        let xid = self.db.assign_xid(self.session)?;
        if state.log_cnt == 0 {
            let logged = next + 32 * sequence.increment;
            let record = SequenceRecord::Log {
                relation: sequence.locator,
                last_value: logged,
                log_cnt: 0,
                is_called: true,
            };
            self.db.log(xid, RecordBody::Sequence(record))?;
        }
        let entry = self
            .db
            .data
            .storage
            .sequences
            .entry(sequence.locator)
            .or_default();
        entry.log_cnt = if state.log_cnt == 0 {
            32
        } else {
            state.log_cnt - 1
        };
        entry.last_value = next;
        entry.is_called = true;
        self.db
            .session_mut(self.session)
            .sequence_values
            .insert(name.to_string(), next);
        Ok(next)
    }
}

/// The kinds of relation `DROP TABLE`, `DROP VIEW` and `DROP INDEX` remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RelationKind {
    Table,
    View,
    Index,
    Sequence,
}

impl RelationKind {
    fn noun(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::Index => "index",
            RelationKind::Sequence => "sequence",
        }
    }

    fn article(self) -> &'static str {
        if self == RelationKind::Index {
            "an"
        } else {
            "a"
        }
    }

    /// What `name` is in the catalog, if it is a relation.
    fn of(catalog: &crate::catalog::Catalog, name: &str) -> Option<RelationKind> {
        if catalog.table(name).is_some() {
            Some(RelationKind::Table)
        } else if catalog.views.contains_key(name) {
            Some(RelationKind::View)
        } else if catalog.index(name).is_some() {
            Some(RelationKind::Index)
        } else if catalog.sequences.contains_key(name) {
            Some(RelationKind::Sequence)
        } else {
            None
        }
    }
}

impl Executor<'_> {
    /// PostgreSQL's answer when `DROP <wanted> [IF EXISTS] name` finds no
    /// `<wanted>` of that name: a relation of another kind is an error even
    /// with IF EXISTS (`"v" is not a table`, with the DROP that would remove
    /// it as a hint); a missing one is a NOTICE with IF EXISTS (`Ok`, the
    /// caller skips the name), else `does not exist` (42704 for an index,
    /// 42P01 for the others).
    pub(super) fn drop_target_missing(
        &mut self,
        wanted: RelationKind,
        name: &str,
        if_exists: bool,
    ) -> Result<()> {
        let noun = wanted.noun();
        if let Some(actual) = RelationKind::of(&self.catalog, name) {
            return Err(DbError::new(
                code::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not {} {noun}", wanted.article()),
            )
            .with_hint(format!(
                "Use DROP {} to remove {} {}.",
                actual.noun().to_uppercase(),
                actual.article(),
                actual.noun()
            )));
        }
        if if_exists {
            self.notices.push(notice(format!(
                "{noun} \"{name}\" does not exist, skipping"
            )));
            return Ok(());
        }
        let sqlstate = if wanted == RelationKind::Index {
            code::UNDEFINED_OBJECT
        } else {
            code::UNDEFINED_TABLE
        };
        Err(DbError::new(
            sqlstate,
            format!("{noun} \"{name}\" does not exist"),
        ))
    }
}

/// A PRIMARY KEY or UNIQUE constraint of CREATE TABLE: its name if given, and
/// the positions of its columns.
struct KeySpec {
    kind: ConstraintKind,
    name: Option<String>,
    columns: Vec<usize>,
}

/// What CREATE TABLE's column definitions and table constraints say, checked
/// as PostgreSQL checks them before it creates anything.
struct TableSpec {
    columns: Vec<ColumnDef>,
    /// Positions of the `serial`/`bigserial` columns.
    serials: Vec<usize>,
    keys: Vec<KeySpec>,
    checks: Vec<WrittenCheck>,
    foreign_keys: Vec<ast::ForeignKeyConstraint>,
}

impl TableSpec {
    fn from_ast(table: &str, create: &ast::CreateTable) -> Result<TableSpec> {
        let mut spec = TableSpec {
            columns: Vec::new(),
            serials: Vec::new(),
            keys: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
        };
        for (index, column) in create.columns.iter().enumerate() {
            spec.add_column(index, column)?;
        }
        for constraint in &create.constraints {
            spec.add_constraint(constraint)?;
        }
        let primary_keys = spec
            .keys
            .iter()
            .filter(|k| k.kind == ConstraintKind::PrimaryKey)
            .count();
        if primary_keys > 1 {
            return Err(DbError::new(
                code::INVALID_TABLE_DEFINITION,
                format!("multiple primary keys for table \"{table}\" are not allowed"),
            ));
        }
        Ok(spec)
    }

    fn add_column(&mut self, index: usize, column: &ast::ColumnDef) -> Result<()> {
        let column_name = ident_name(&column.name);
        if self.columns.iter().any(|c| c.name == column_name) {
            return Err(DbError::new(
                code::DUPLICATE_COLUMN,
                format!("column \"{column_name}\" specified more than once"),
            ));
        }
        let mut def = ColumnDef {
            name: column_name,
            data_type: bind_type(&column.data_type)?,
            not_null: false,
            default: None,
            attnum: index as i16 + 1,
            missing: None,
        };
        if is_serial(&column.data_type) {
            def.not_null = true;
            self.serials.push(index);
        }
        for option in &column.options {
            let name = option.name.as_ref().map(ident_name);
            match &option.option {
                ColumnOption::NotNull => def.not_null = true,
                ColumnOption::Null => {}
                ColumnOption::Default(expr) => def.default = Some(expr.to_string()),
                ColumnOption::PrimaryKey(_) => {
                    def.not_null = true;
                    self.keys.push(KeySpec {
                        kind: ConstraintKind::PrimaryKey,
                        name,
                        columns: vec![index],
                    });
                }
                ColumnOption::Unique(_) => self.keys.push(KeySpec {
                    kind: ConstraintKind::Unique,
                    name,
                    columns: vec![index],
                }),
                ColumnOption::Check(check) => self
                    .checks
                    .push(WrittenCheck::from_ast(option.name.as_ref(), check)?),
                ColumnOption::ForeignKey(fk) => {
                    let mut fk = fk.clone();
                    fk.name = option.name.clone().or(fk.name);
                    fk.columns = vec![column.name.clone()];
                    self.foreign_keys.push(fk);
                }
                other => {
                    return Err(DbError::feature_not_supported(format!(
                        "column option {other} is not supported by pgplay yet"
                    )))
                }
            }
        }
        self.columns.push(def);
        Ok(())
    }

    fn add_constraint(&mut self, constraint: &ast::TableConstraint) -> Result<()> {
        let (kind, name, key_columns) = match constraint {
            ast::TableConstraint::PrimaryKey(pk) => (
                ConstraintKind::PrimaryKey,
                pk.name.as_ref().map(ident_name),
                &pk.columns,
            ),
            ast::TableConstraint::Unique(unique) => (
                ConstraintKind::Unique,
                unique.name.as_ref().map(ident_name),
                &unique.columns,
            ),
            ast::TableConstraint::Check(check) => {
                self.checks.push(WrittenCheck::from_ast(None, check)?);
                return Ok(());
            }
            ast::TableConstraint::ForeignKey(fk) => {
                self.foreign_keys.push(fk.clone());
                return Ok(());
            }
            other => {
                return Err(DbError::feature_not_supported(format!(
                    "constraint {other} is not supported by pgplay yet"
                )))
            }
        };
        let mut columns = Vec::new();
        for column in key_columns {
            let column_name = match &column.column.expr {
                ast::Expr::Identifier(ident) => ident_name(ident),
                other => other.to_string(),
            };
            let index = self
                .columns
                .iter()
                .position(|c| c.name == column_name)
                .ok_or_else(|| {
                    DbError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{column_name}\" named in key does not exist"),
                    )
                })?;
            if kind == ConstraintKind::PrimaryKey {
                self.columns[index].not_null = true;
            }
            columns.push(index);
        }
        self.keys.push(KeySpec {
            kind,
            name,
            columns,
        });
        Ok(())
    }
}

/// `pg_class.relpersistence`: `u` for an unlogged relation, `p` for a permanent one.
pub(super) fn persistence(unlogged: bool) -> Value {
    Value::Text(if unlogged { "u" } else { "p" }.into())
}
