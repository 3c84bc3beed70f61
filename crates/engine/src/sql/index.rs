//! B-tree indexes from SQL: `CREATE [UNIQUE] INDEX`, the indexes behind
//! PRIMARY KEY and UNIQUE, `DROP INDEX`, `REINDEX`, and the index work of
//! every new row version. An index is a `pg_class` row (relkind `i`) and a
//! `pg_index` row; its pages live in [`crate::btree`] and change only
//! through the WAL: the build writes each page whole (`XLOG FPI`), each new
//! row version then inserts one key (`INSERT_LEAF`, splits and new roots as
//! they come). A standby therefore gets the index by replaying, and uses it.

use pgplay_wal::btree::IndexTuple;
use pgplay_wal::{RecordBody, XlogRecord};
use sqlparser::ast;

use super::bind::{ident_name, object_name};
use super::ddl::RelationKind;
use super::{notice, Executor};
use crate::btree;
use crate::catalog::*;
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::mvcc::{live_now, XactStatus};
use crate::tuple;
use crate::types::Value;

/// PostgreSQL's `ChooseRelationName`: `base_suffix`, then `base_suffix1`, ...
pub(super) fn choose_name(catalog: &Catalog, base: &str, suffix: &str, taken: &[String]) -> String {
    let mut candidate = format!("{base}_{suffix}");
    let mut n = 0;
    while catalog.relation_exists(&candidate) || taken.contains(&candidate) {
        n += 1;
        candidate = format!("{base}_{suffix}{n}");
    }
    candidate
}

impl Executor<'_> {
    pub(super) fn create_index(&mut self, create: &ast::CreateIndex) -> Result<Outcome> {
        let done = Ok(Outcome::Command {
            tag: "CREATE INDEX".into(),
        });
        let table_name = object_name(&create.table_name);
        if let Some(using) = &create.using {
            let method = using.to_string().to_ascii_lowercase();
            if method != "btree" {
                return Err(DbError::feature_not_supported(format!(
                    "index access method \"{method}\" is not supported by pgplay yet"
                )));
            }
        }
        if create.predicate.is_some() || !create.include.is_empty() || !create.with.is_empty() {
            return Err(DbError::feature_not_supported(
                "partial indexes, INCLUDE and WITH options are not supported by pgplay yet",
            ));
        }
        if create.concurrently && self.in_transaction_block() {
            return Err(DbError::new(
                code::ACTIVE_SQL_TRANSACTION,
                "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
            ));
        }
        let table = match self.catalog.table(&table_name) {
            Some(table) => table.clone(),
            None => return Err(DbError::undefined_table(&table_name)),
        };
        if table.is_system() {
            return Err(DbError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{table_name}\" is a system catalog"),
            ));
        }
        let mut columns = Vec::new();
        let mut descending = Vec::new();
        for column in &create.columns {
            let name = match &column.column.expr {
                ast::Expr::Identifier(ident) => ident_name(ident),
                _ => {
                    return Err(DbError::feature_not_supported(
                        "indexes on expressions are not supported by pgplay yet",
                    ))
                }
            };
            if column.operator_class.is_some() || column.column.options.nulls_first.is_some() {
                return Err(DbError::feature_not_supported(
                    "operator classes and NULLS FIRST/LAST in indexes are not supported by pgplay yet",
                ));
            }
            let index = table.column_index(&name).ok_or_else(|| {
                DbError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{name}\" does not exist"),
                )
            })?;
            columns.push(index);
            descending.push(matches!(
                column.column.options.sort,
                Some(ast::OrderBySort::Desc)
            ));
        }
        let name = match &create.name {
            Some(name) => {
                let name = object_name(name);
                if self.catalog.relation_exists(&name) {
                    if create.if_not_exists {
                        self.notices.push(notice(format!(
                            "relation \"{name}\" already exists, skipping"
                        )));
                        return done;
                    }
                    return Err(DbError::new(
                        code::DUPLICATE_TABLE,
                        format!("relation \"{name}\" already exists"),
                    ));
                }
                name
            }
            None => {
                let names: Vec<&str> = columns
                    .iter()
                    .map(|i| table.columns[*i].name.as_str())
                    .collect();
                choose_name(
                    &self.catalog,
                    &format!("{}_{}", table.name, names.join("_")),
                    "idx",
                    &[],
                )
            }
        };
        self.lock_table(table.oid, &table.name, crate::lock::LockMode::Share, false)?;
        self.log_lock(table.oid)?;
        self.create_index_relation(&table, &name, &columns, &descending, create.unique, false)?;
        done
    }

    fn in_transaction_block(&self) -> bool {
        self.db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .is_some_and(|x| x.explicit)
    }

    /// The catalog rows and the built pages of a new index on `table`.
    pub(super) fn create_index_relation(
        &mut self,
        table: &TableDef,
        name: &str,
        columns: &[usize],
        descending: &[bool],
        unique: bool,
        primary: bool,
    ) -> Result<IndexDef> {
        let oid = self.db.new_oid()?;
        let index = IndexDef {
            oid,
            name: name.to_string(),
            locator: locator(oid),
            columns: columns.to_vec(),
            descending: descending.to_vec(),
            unique,
            primary,
        };
        let unlogged = self.is_unlogged(&table.locator);
        self.create_index_storage(oid, unlogged)?;
        self.lock_relation(oid)?;
        self.insert_catalog_row(
            PG_CLASS,
            vec![
                Value::Oid(oid),
                Value::Text(name.to_string()),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text("i".into()),
                Value::Oid(oid),
                Value::Int2(columns.len() as i16),
                super::ddl::persistence(unlogged),
            ],
        )?;
        let attnums: Vec<i64> = columns
            .iter()
            .map(|i| i64::from(table.columns[*i].attnum))
            .collect();
        let options: Vec<i64> = descending.iter().map(|d| i64::from(*d) * 3).collect();
        self.insert_catalog_row(
            PG_INDEX,
            vec![
                Value::Oid(oid),
                Value::Oid(table.oid),
                Value::Int2(columns.len() as i16),
                Value::Bool(unique),
                Value::Bool(primary),
                Value::Text(int2vector(&attnums)),
                Value::Text(int2vector(&options)),
            ],
        )?;
        self.build_index(table, &index)?;
        Ok(index)
    }

    fn create_index_storage(&mut self, relfilenode: u32, unlogged: bool) -> Result<()> {
        let xid = self.db.assign_xid(self.session)?;
        let file = locator(relfilenode);
        let record = match unlogged {
            true => pgplay_wal::StorageRecord::CreateInit(file),
            false => pgplay_wal::StorageRecord::Create(file),
        };
        self.db.log(xid, RecordBody::Storage(record))?;
        self.db
            .xact_mut(self.session)
            .created_mut()
            .push(locator(relfilenode));
        Ok(())
    }

    /// Reads the heap, sorts the keys and writes the pages whole. Every
    /// version whose inserter did not abort gets a key (readers check
    /// visibility in the heap); a unique index refuses two live versions
    /// with one key, as PostgreSQL's build does.
    fn build_index(&mut self, table: &TableDef, index: &IndexDef) -> Result<()> {
        let layout = table.layout();
        let own = self
            .db
            .own(self.session)
            .map(|o| o.xids)
            .unwrap_or_default();
        let mut entries: Vec<(crate::types::Key, IndexTuple, bool)> = Vec::new();
        if let Some(relation) = self.db.data.storage.relation(&table.locator) {
            for (at, tuple) in relation.tuples() {
                self.db.interrupts.check()?;
                if self.db.data.clog.status(tuple.xmin) == XactStatus::Aborted {
                    continue;
                }
                let values = layout.decode(tuple.natts, &tuple.data)?;
                let key: Vec<Value> = index.columns.iter().map(|i| values[*i].clone()).collect();
                let live = live_now(tuple, &self.db.data.clog, &own);
                entries.push((
                    crate::types::Key(key.clone()),
                    btree::tuple_for(tuple::encode(&key), at),
                    live,
                ));
            }
        }
        // DESC columns sort the other way: compare through the index's own order.
        let descending = index.descending.clone();
        entries.sort_by(|a, b| {
            for (i, (x, y)) in a.0 .0.iter().zip(&b.0 .0).enumerate() {
                let o = crate::types::compare(x, y);
                let o = if descending[i] { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            (a.1.heap_block, a.1.heap_offset).cmp(&(b.1.heap_block, b.1.heap_offset))
        });
        if index.unique {
            let live: Vec<&crate::types::Key> = entries
                .iter()
                .filter(|e| e.2 && !e.0 .0.iter().any(Value::is_null))
                .map(|e| &e.0)
                .collect();
            if let Some(pair) = live.windows(2).find(|w| w[0] == w[1]) {
                return Err(DbError::new(
                    code::UNIQUE_VIOLATION,
                    format!("could not create unique index \"{}\"", index.name),
                )
                .with_detail(format!(
                    "Key ({})=({}) is duplicated.",
                    key_names(table, index),
                    key_texts(&pair[0].0)
                )));
            }
        }
        let meta = index.empty_meta(table);
        let tuples = entries.into_iter().map(|e| e.1).collect();
        let xid = self.db.assign_xid(self.session)?;
        for (block, image) in btree::build_images(meta, tuples) {
            self.db.log(
                xid,
                RecordBody::Xlog(XlogRecord::Fpi {
                    relation: index.locator,
                    block,
                    image,
                }),
            )?;
        }
        Ok(())
    }

    /// Inserts the key of a new row version into each of the table's indexes.
    pub(super) fn index_insert(
        &mut self,
        table: &TableDef,
        values: &[Value],
        at: ItemPointer,
    ) -> Result<()> {
        if table.indexes.is_empty() {
            return Ok(());
        }
        let xid = self.db.assign_xid(self.session)?;
        for index in &table.indexes {
            let key: Vec<Value> = index.columns.iter().map(|i| values[*i].clone()).collect();
            let tuple = btree::tuple_for(tuple::encode(&key), at);
            let relation = index.locator;
            let current = || -> Result<&btree::BtreeIndex> {
                self.db.data.storage.indexes.get(&relation).ok_or_else(|| {
                    DbError::internal(format!("index \"{}\" has no pages", index.name))
                })
            };
            let (first, pending) = btree::begin_insert(current()?, relation, tuple)?;
            if let Some(record) = first {
                self.db.log(xid, RecordBody::Btree(record))?;
            }
            let mut pending = Some(pending);
            // A split per level at most, and a new root.
            for _ in 0..80 {
                let Some(step) = pending.take() else { break };
                let current = self
                    .db
                    .data
                    .storage
                    .indexes
                    .get(&relation)
                    .ok_or_else(|| DbError::internal("index has no pages"))?;
                if let Some(root) = btree::as_new_root(current, relation, &step) {
                    self.db.log(xid, RecordBody::Btree(root))?;
                    break;
                }
                let (record, next) = btree::next_insert_step(current, relation, step)?;
                self.db.log(xid, RecordBody::Btree(record))?;
                pending = next;
            }
        }
        Ok(())
    }

    /// Heap versions reached from an index entry: the one it names, then
    /// its heap-only successors on the same page.
    pub(super) fn hot_chain(&self, table: &TableDef, at: ItemPointer) -> Vec<ItemPointer> {
        // An index entry names the chain's root; once VACUUM pruned the chain,
        // the root redirects to the first member still there.
        let start = match self
            .db
            .data
            .storage
            .relation(&table.locator)
            .and_then(|relation| relation.redirect(at))
        {
            Some(offset) => ItemPointer {
                block: at.block,
                offset,
            },
            None => at,
        };
        let mut chain = vec![start];
        let mut current = start;
        while let Some(tuple) = self.stored_tuple(table, current) {
            if tuple.ctid == current || tuple.ctid.block != at.block || chain.len() > 512 {
                break;
            }
            current = tuple.ctid;
            chain.push(current);
        }
        chain
    }

    /// The heap versions an index names for `key` (equal on every key column).
    pub(super) fn index_lookup(&self, index: &IndexDef, key: &[Value]) -> Result<Vec<ItemPointer>> {
        match self.db.data.storage.indexes.get(&index.locator) {
            Some(pages) => btree::lookup(pages, key),
            None => Ok(Vec::new()),
        }
    }

    /// `DROP INDEX [IF EXISTS] name, ...`.
    pub(super) fn drop_indexes(
        &mut self,
        names: &[ast::ObjectName],
        if_exists: bool,
    ) -> Result<Outcome> {
        self.db.check_writable(self.session, "DROP INDEX")?;
        for name in names {
            let name = object_name(name);
            let Some((table, index)) = self.catalog.index(&name) else {
                self.drop_target_missing(RelationKind::Index, &name, if_exists)?;
                continue;
            };
            let (table, index) = (table.clone(), index.clone());
            if table.constraints.iter().any(|c| c.name == index.name) {
                return Err(DbError::new(
                    code::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop index {name} because constraint {name} on table {} requires it",
                        table.name
                    ),
                )
                .with_hint(format!(
                    "You can drop constraint {name} on table {} instead.",
                    table.name
                )));
            }
            self.lock_relation(table.oid)?;
            self.drop_index_relation(&index)?;
        }
        Ok(Outcome::Command {
            tag: "DROP INDEX".into(),
        })
    }

    /// Deletes an index's catalog rows; its file goes when the transaction commits.
    pub(super) fn drop_index_relation(&mut self, index: &IndexDef) -> Result<()> {
        self.lock_relation(index.oid)?;
        let mut doomed = Vec::new();
        for catalog in [PG_CLASS, PG_INDEX] {
            for row in self.catalog.rows_of(catalog) {
                if row.values[0] == Value::Oid(index.oid) {
                    doomed.push((catalog, row.at));
                }
            }
        }
        for (catalog, at) in doomed {
            self.delete_catalog_row(catalog, at)?;
        }
        self.db
            .xact_mut(self.session)
            .dropped_mut()
            .push(index.locator);
        Ok(())
    }

    /// Gives an index a new, empty file built afresh from the heap (TRUNCATE, REINDEX).
    pub(super) fn rebuild_index(&mut self, table: &TableDef, index: &IndexDef) -> Result<()> {
        let new_relfilenode = self.db.new_oid()?;
        self.create_index_storage(new_relfilenode, self.is_unlogged(&table.locator))?;
        let row = self
            .catalog
            .rows_of(PG_CLASS)
            .iter()
            .find(|r| r.values[0] == Value::Oid(index.oid))
            .cloned()
            .ok_or_else(|| DbError::internal("pg_class row of index missing"))?;
        let mut new_values = row.values.clone();
        new_values[4] = Value::Oid(new_relfilenode);
        let pg_class = system_tables()
            .into_iter()
            .find(|t| t.oid == PG_CLASS)
            .expect("bootstrap catalog");
        self.heap_update(&pg_class, row.at, &row.values, &new_values)?;
        let xact = self.db.xact_mut(self.session);
        xact.catalog_changed = true;
        xact.dropped_mut().push(index.locator);
        let rebuilt = IndexDef {
            locator: locator(new_relfilenode),
            ..index.clone()
        };
        self.build_index(table, &rebuilt)
    }

    /// `REINDEX INDEX name` / `REINDEX TABLE name`.
    pub(super) fn reindex(&mut self, kind: &str, name: &str) -> Result<Outcome> {
        self.db.check_writable(self.session, "REINDEX")?;
        let targets: Vec<(TableDef, IndexDef)> = match kind {
            "index" => match self.catalog.index(name) {
                Some((table, index)) => vec![(table.clone(), index.clone())],
                None => {
                    return Err(DbError::new(
                        code::UNDEFINED_TABLE,
                        format!("relation \"{name}\" does not exist"),
                    ))
                }
            },
            _ => match self.catalog.table(name) {
                Some(table) => table
                    .indexes
                    .iter()
                    .map(|i| (table.clone(), i.clone()))
                    .collect(),
                None => return Err(DbError::undefined_table(name)),
            },
        };
        for (table, index) in targets {
            self.lock_relation(table.oid)?;
            self.rebuild_index(&table, &index)?;
        }
        Ok(Outcome::Command {
            tag: "REINDEX".into(),
        })
    }
}

/// An `int2vector` as PostgreSQL prints it: `1 2`.
fn int2vector(values: &[i64]) -> String {
    let parts: Vec<String> = values.iter().map(i64::to_string).collect();
    parts.join(" ")
}

pub(super) fn key_names(table: &TableDef, index: &IndexDef) -> String {
    let names: Vec<&str> = index
        .columns
        .iter()
        .map(|i| table.columns[*i].name.as_str())
        .collect();
    names.join(", ")
}

pub(super) fn key_texts(key: &[Value]) -> String {
    let texts: Vec<String> = key
        .iter()
        .map(|v| v.to_text().unwrap_or_else(|| "null".into()))
        .collect();
    texts.join(", ")
}
