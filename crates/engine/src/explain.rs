//! Plain words for WAL records: beside each pg_waldump line, one short
//! sentence a learner understands, such as `INSERT INTO streamtest (x) VALUES (1)`.
//!
//! A record names relations only by relfilenode (heap, storage, sequence
//! records) or OID (locks), and carries rows as encoded tuple images. The
//! catalog turns those into names, columns and SQL literals; when it does not
//! know a relation, the sentence says `relation 1663/5/16384` instead.
//!
//! Two ways in:
//! - [`explain`] for one record: it reads the catalog from the database each time.
//! - [`explain_with`] for many: build an [`ExplainCatalog`] once
//!   ([`ExplainCatalog::new`], rebuilt when [`ExplainCatalog::is_current`] says so)
//!   and pass it, or pass any [`Catalog`] the caller already holds.
//!
//! [`ExplainCatalog`] knows more than the committed catalog: catalog rows are
//! never vacuumed, so their older and uncommitted versions still name tables
//! that were dropped since, tables whose CREATE has not committed (or rolled
//! back), and the files a TRUNCATE replaced. Nothing here changes the database
//! or keeps anything between calls.

use std::collections::BTreeMap;

use pgplay_wal::{
    HeapRecord, Lsn, Record, RecordBody, RelFileLocator, SequenceRecord, StandbyRecord,
    StorageRecord, TransactionRecord, TupleImage, Xid, XlogRecord,
};

use crate::catalog::{
    locator, system_tables, Catalog, ColumnDef, RelKind, SequenceDef, TableDef, PG_ATTRDEF,
    PG_ATTRIBUTE, PG_CLASS, PG_CONSTRAINT, PG_DEPEND, PG_SEQUENCE, PUBLIC_NAMESPACE_OID,
};
use crate::database::Database;
use crate::heap::{ItemPointer, Storage};
use crate::mvcc::CommitLog;
use crate::tuple;
use crate::types::{DataType, Value};

/// Text literals longer than this many characters are cut, with `…`.
const MAX_LITERAL_CHARS: usize = 40;

/// A relation a record refers to, as a catalog knows it.
#[derive(Clone, Copy, Debug)]
pub enum KnownRelation<'a> {
    /// A table, user or catalog (`is_system()`).
    Table(&'a TableDef),
    Sequence(&'a SequenceDef),
}

impl KnownRelation<'_> {
    pub fn name(&self) -> &str {
        match self {
            KnownRelation::Table(table) => &table.name,
            KnownRelation::Sequence(sequence) => &sequence.name,
        }
    }

    pub fn oid(&self) -> u32 {
        match self {
            KnownRelation::Table(table) => table.oid,
            KnownRelation::Sequence(sequence) => sequence.oid,
        }
    }
}

/// Where [`explain_with`] looks relations up.
pub trait RelationNames {
    /// The relation stored in this file.
    fn by_locator(&self, locator: &RelFileLocator) -> Option<KnownRelation<'_>>;
    /// The relation with this OID (`pg_class.oid`).
    fn by_oid(&self, oid: u32) -> Option<KnownRelation<'_>>;
    /// The row at `at` of catalog relation `catalog`, decoded, if known: it
    /// tells what a catalog row deletion removed.
    fn catalog_row(&self, catalog: u32, at: ItemPointer) -> Option<Vec<Value>> {
        let _ = (catalog, at);
        None
    }
}

/// A catalog as one transaction sees it: it names what is visible to it.
impl RelationNames for Catalog {
    fn by_locator(&self, locator: &RelFileLocator) -> Option<KnownRelation<'_>> {
        self.tables
            .values()
            .find(|t| t.locator == *locator)
            .map(KnownRelation::Table)
            .or_else(|| {
                self.sequences
                    .values()
                    .find(|s| s.locator == *locator)
                    .map(KnownRelation::Sequence)
            })
    }

    fn by_oid(&self, oid: u32) -> Option<KnownRelation<'_>> {
        self.tables
            .values()
            .find(|t| t.oid == oid)
            .map(KnownRelation::Table)
            .or_else(|| {
                self.sequences
                    .values()
                    .find(|s| s.oid == oid)
                    .map(KnownRelation::Sequence)
            })
    }

    fn catalog_row(&self, catalog: u32, at: ItemPointer) -> Option<Vec<Value>> {
        self.rows_of(catalog)
            .iter()
            .find(|row| row.at == at)
            .map(|row| row.values.clone())
    }
}

/// The relations a database's WAL can mention, for [`explain_with`]: the
/// committed catalog first, then every relation older or uncommitted catalog
/// rows still describe. Build it once and reuse it for many records.
#[derive(Clone, Debug, Default)]
pub struct ExplainCatalog {
    tables: BTreeMap<RelFileLocator, TableDef>,
    sequences: BTreeMap<RelFileLocator, SequenceDef>,
    /// The file of each OID (the committed one when there are several).
    files: BTreeMap<u32, RelFileLocator>,
    /// Every version of every catalog row (tuple data), by catalog and place.
    catalog_rows: BTreeMap<(u32, ItemPointer), (u16, Vec<u8>)>,
    /// The database's WAL insert and replay positions when this was built.
    built_at: (Lsn, Lsn),
}

impl ExplainCatalog {
    /// Reads the catalog relations of `db` (read only; nothing is cached in `db`).
    pub fn new(db: &Database) -> ExplainCatalog {
        let mut catalog = ExplainCatalog::from_data(&db.data.storage, &db.data.clog);
        catalog.built_at = (db.wal.insert_lsn(), db.replayed_upto);
        catalog
    }

    /// Reads the catalog from relation files and a commit log (a server's or a base backup's).
    pub fn from_data(storage: &Storage, clog: &CommitLog) -> ExplainCatalog {
        let committed = Catalog::load(storage, clog, &Default::default()).unwrap_or_else(|_| {
            let mut bootstrap = Catalog::default();
            for table in system_tables() {
                bootstrap.tables.insert(table.name.clone(), table);
            }
            bootstrap
        });
        let mut catalog = ExplainCatalog::default();
        catalog.add_relations(&committed);
        catalog.add_history(storage);
        catalog
    }

    /// Only what `catalog` shows.
    pub fn from_catalog(catalog: &Catalog) -> ExplainCatalog {
        let mut out = ExplainCatalog::default();
        out.add_relations(catalog);
        for row in catalog.rows.values().flatten() {
            let values = &row.values;
            out.catalog_rows.insert(
                (row.catalog, row.at),
                (values.len() as u16, tuple::encode(values)),
            );
        }
        out
    }

    fn add_relations(&mut self, catalog: &Catalog) {
        for table in catalog.tables.values() {
            self.add_table(table.clone());
        }
        for sequence in catalog.sequences.values() {
            self.add_sequence(sequence.clone());
        }
    }

    /// For one built by [`ExplainCatalog::new`]: false once `db` has written,
    /// received or replayed WAL since, so names may have changed; build a new
    /// one then.
    pub fn is_current(&self, db: &Database) -> bool {
        self.built_at == (db.wal.insert_lsn(), db.replayed_upto)
    }

    fn add_table(&mut self, table: TableDef) {
        self.files.entry(table.oid).or_insert(table.locator);
        self.tables.entry(table.locator).or_insert(table);
    }

    fn add_sequence(&mut self, sequence: SequenceDef) {
        self.files.entry(sequence.oid).or_insert(sequence.locator);
        self.sequences.entry(sequence.locator).or_insert(sequence);
    }

    /// Adds relations known only from dead or uncommitted catalog rows.
    /// Later versions (in physical order) describe a relation better than
    /// earlier ones, so they are read newest first.
    fn add_history(&mut self, storage: &Storage) {
        let mut pg_class = Vec::new();
        let mut pg_attribute = Vec::new();
        for system in system_tables() {
            let Some(relation) = storage.relation(&system.locator) else {
                continue;
            };
            let layout = system.layout();
            for (at, tuple) in relation.tuples() {
                self.catalog_rows
                    .insert((system.oid, at), (tuple.natts, tuple.data.clone()));
                let decoded = match system.oid {
                    PG_CLASS => &mut pg_class,
                    PG_ATTRIBUTE => &mut pg_attribute,
                    _ => continue,
                };
                if let Ok(values) = layout.decode(tuple.natts, &tuple.data) {
                    decoded.push(values);
                }
            }
        }
        let mut columns: BTreeMap<u32, BTreeMap<i16, ColumnDef>> = BTreeMap::new();
        for values in pg_attribute.iter().rev() {
            let (Some(relid), Some(attnum)) = (oid_at(values, 0), int_at(values, 4)) else {
                continue;
            };
            let attnum = attnum as i16;
            let typmod = int_at(values, 3).unwrap_or(-1) as i32;
            let data_type = oid_at(values, 2)
                .and_then(|type_oid| DataType::from_oid(type_oid, typmod))
                .unwrap_or(DataType::Text);
            columns
                .entry(relid)
                .or_default()
                .entry(attnum)
                .or_insert_with(|| ColumnDef {
                    name: text_at(values, 1).unwrap_or_default().to_string(),
                    data_type,
                    not_null: values.get(5) == Some(&Value::Bool(true)),
                    default: None,
                    attnum,
                    missing: None,
                });
        }
        for values in pg_class.iter().rev() {
            let (Some(oid), Some(name), Some(relfilenode)) =
                (oid_at(values, 0), text_at(values, 1), oid_at(values, 4))
            else {
                continue;
            };
            let file = locator(relfilenode);
            if self.tables.contains_key(&file) || self.sequences.contains_key(&file) {
                continue;
            }
            match text_at(values, 3) {
                Some("r") => self.add_table(TableDef {
                    oid,
                    name: name.to_string(),
                    namespace: oid_at(values, 2).unwrap_or(PUBLIC_NAMESPACE_OID),
                    kind: RelKind::Table,
                    locator: file,
                    columns: columns
                        .get(&oid)
                        .map(|c| c.values().cloned().collect())
                        .unwrap_or_default(),
                    constraints: Vec::new(),
                    checks: Vec::new(),
                    dropped: Vec::new(),
                    indexes: Vec::new(),
                }),
                Some("S") => self.add_sequence(SequenceDef {
                    oid,
                    name: name.to_string(),
                    locator: file,
                    start: 1,
                    increment: 1,
                    min: 1,
                    max: i64::MAX,
                    owned_by: None,
                }),
                _ => {}
            }
        }
    }
}

impl RelationNames for ExplainCatalog {
    fn by_locator(&self, locator: &RelFileLocator) -> Option<KnownRelation<'_>> {
        self.tables
            .get(locator)
            .map(KnownRelation::Table)
            .or_else(|| self.sequences.get(locator).map(KnownRelation::Sequence))
    }

    fn by_oid(&self, oid: u32) -> Option<KnownRelation<'_>> {
        self.by_locator(self.files.get(&oid)?)
    }

    fn catalog_row(&self, catalog: u32, at: ItemPointer) -> Option<Vec<Value>> {
        let (natts, data) = self.catalog_rows.get(&(catalog, at))?;
        let definition = system_tables().into_iter().find(|t| t.oid == catalog)?;
        definition.layout().decode(*natts, data).ok()
    }
}

fn oid_at(values: &[Value], index: usize) -> Option<u32> {
    values.get(index)?.as_i64().map(|v| v as u32)
}

fn int_at(values: &[Value], index: usize) -> Option<i64> {
    values.get(index)?.as_i64()
}

fn text_at(values: &[Value], index: usize) -> Option<&str> {
    values.get(index)?.as_str()
}

/// ` with subtransactions 736, 737`: the savepoints' xids that end with a transaction.
fn with_subtransactions(subxacts: &[Xid]) -> String {
    match subxacts {
        [] => String::new(),
        [one] => format!(" with subtransaction {one}"),
        many => {
            let xids: Vec<String> = many.iter().map(Xid::to_string).collect();
            format!(" with subtransactions {}", xids.join(", "))
        }
    }
}

/// One record in plain words, with names from `db`'s catalog. For many
/// records, build an [`ExplainCatalog`] once and call [`explain_with`].
pub fn explain(db: &Database, record: &Record) -> String {
    explain_with(&ExplainCatalog::new(db), record)
}

/// One record in plain words, with names from `names` (an [`ExplainCatalog`]
/// or a [`Catalog`]).
pub fn explain_with<N: RelationNames + ?Sized>(names: &N, record: &Record) -> String {
    match &record.body {
        RecordBody::Xlog(xlog) => explain_xlog(xlog),
        RecordBody::Transaction(TransactionRecord::Commit {
            dropped, subxacts, ..
        }) => format!(
            "COMMIT of transaction {}{}{}",
            record.xid,
            with_subtransactions(subxacts),
            deleted_files(names, dropped)
        ),
        RecordBody::Transaction(TransactionRecord::Abort {
            dropped, subxacts, ..
        }) => format!(
            "ROLLBACK (abort) of transaction {}{}{}",
            record.xid,
            with_subtransactions(subxacts),
            deleted_files(names, dropped)
        ),
        RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts }) => format!(
            "transaction {top} reports its subtransactions {} to standbys",
            subxacts
                .iter()
                .map(Xid::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RecordBody::Storage(StorageRecord::Create(file)) => match names.by_locator(file) {
            Some(KnownRelation::Table(table)) if table.oid != file.relation => format!(
                "create a new, empty file for {} ({})",
                ident(&table.name),
                file.path()
            ),
            Some(KnownRelation::Table(table)) => format!(
                "create the file for new table {} ({})",
                ident(&table.name),
                file.path()
            ),
            Some(KnownRelation::Sequence(sequence)) => format!(
                "create the file for new sequence {} ({})",
                ident(&sequence.name),
                file.path()
            ),
            None => format!("create the file for a new relation ({})", file.path()),
        },
        RecordBody::Storage(StorageRecord::CreateInit(file)) => {
            let what = match names.by_locator(file) {
                Some(known) => format!("unlogged {}", ident(known.name())),
                None => "a new unlogged relation".to_string(),
            };
            format!(
                "create the init fork of {what} ({}_init): the only part of it the WAL carries; \
                 its rows are never logged, so a standby cannot read them and a crash empties it",
                file.path()
            )
        }
        RecordBody::Storage(StorageRecord::Truncate { relation, blocks }) => {
            let blocks = plural(*blocks as usize, "block");
            match names.by_locator(relation) {
                Some(known) => format!(
                    "truncate the file of {} to {blocks} ({})",
                    ident(known.name()),
                    relation.path()
                ),
                None => format!("truncate the file {} to {blocks}", relation.path()),
            }
        }
        RecordBody::Standby(StandbyRecord::RunningXacts {
            next_xid,
            xids,
            subxids,
            ..
        }) => {
            if xids.is_empty() {
                format!("snapshot of running transactions for standbys (next xid {next_xid})")
            } else {
                let running: Vec<String> = xids.iter().map(u32::to_string).collect();
                format!(
                    "snapshot of running transactions for standbys (next xid {next_xid}; running: {}{})",
                    running.join(", "),
                    with_subtransactions(subxids)
                )
            }
        }
        RecordBody::Standby(StandbyRecord::Lock(locks)) => {
            let relations: Vec<String> = locks
                .iter()
                .map(|lock| match names.by_oid(lock.relation) {
                    Some(known) => ident(known.name()),
                    None => format!("relation {}", lock.relation),
                })
                .collect();
            let lock = if relations.len() == 1 {
                "AccessExclusiveLock"
            } else {
                "AccessExclusiveLocks"
            };
            format!(
                "{lock} on {}, so standbys block readers",
                relations.join(", ")
            )
        }
        RecordBody::Heap(heap) => explain_heap(names, heap),
        RecordBody::Btree(record) => explain_btree(record),
        RecordBody::Heap2(record) => explain_heap2(names, record),
        RecordBody::Sequence(SequenceRecord::Log {
            relation,
            last_value,
            is_called,
            ..
        }) => {
            let name = match names.by_locator(relation) {
                Some(known) => format!("sequence {}", ident(known.name())),
                None => format!("sequence relation {relation}"),
            };
            if *is_called {
                format!("{name}: values up to {last_value} reserved")
            } else {
                format!("{name}: next value is {last_value}")
            }
        }
    }
}

/// VACUUM's records, in a learner's words.
fn explain_heap2<N: RelationNames + ?Sized>(names: &N, record: &pgplay_wal::Heap2Record) -> String {
    use pgplay_wal::Heap2Record;
    let relation = record.relation();
    let table = match names.by_locator(&relation) {
        Some(known) => ident(known.name()),
        None => format!("relation {relation}"),
    };
    let block = record.block();
    let rows = |n: usize| {
        if n == 1 {
            "row version"
        } else {
            "row versions"
        }
    };
    match record {
        Heap2Record::Prune {
            latest_removed_xid,
            redirected,
            dead,
            unused,
            ..
        } => {
            let removed = redirected.len() + dead.len() + unused.len();
            let mut text = format!(
                "VACUUM removes {removed} dead {} from page {block} of {table}",
                rows(removed)
            );
            if *latest_removed_xid != 0 {
                text.push_str(&format!(
                    "; standby queries that might still see xid {latest_removed_xid}'s rows are cancelled"
                ));
            }
            text
        }
        Heap2Record::Vacuum { unused, .. } => format!(
            "VACUUM frees {} line pointers on page {block} of {table} for new rows",
            unused.len()
        ),
        Heap2Record::FreezePage { offsets, .. } => format!(
            "VACUUM freezes {} {} on page {block} of {table}",
            offsets.len(),
            rows(offsets.len())
        ),
        Heap2Record::Visible { flags, .. } => {
            let frozen = if flags & pgplay_wal::VM_ALL_FROZEN != 0 {
                " and all-frozen"
            } else {
                ""
            };
            format!("page {block} of {table} is all-visible{frozen}")
        }
    }
}

fn explain_xlog(record: &XlogRecord) -> String {
    match record {
        XlogRecord::CheckpointOnline(checkpoint) => format!(
            "checkpoint (online): crash recovery would start at {}",
            checkpoint.redo
        ),
        XlogRecord::CheckpointShutdown(checkpoint) => format!(
            "checkpoint (shutdown): crash recovery would start at {}",
            checkpoint.redo
        ),
        XlogRecord::Switch => "switch to a new WAL segment file".to_string(),
        XlogRecord::BackupEnd(start) => format!("end of a base backup started at {start}"),
        XlogRecord::NextOid(oid) => {
            format!("reserve OIDs for new objects; after a crash, numbering resumes at {oid}")
        }
        XlogRecord::EndOfRecovery { timeline, .. } => {
            format!("end of recovery: promoted, now on timeline {timeline}")
        }
        XlogRecord::Fpi {
            relation, block, ..
        } => format!(
            "whole page {block} of index {}, as the index build wrote it",
            relation.path()
        ),
    }
}

/// A B-tree change: which page of which index file, and why.
fn explain_btree(record: &pgplay_wal::btree::BtreeRecord) -> String {
    use pgplay_wal::btree::BtreeRecord;
    let file = record.relation().path();
    match record {
        BtreeRecord::InsertLeaf { block, offset, .. } => {
            format!("index {file}: a key for a new row version, into leaf page {block} at item {offset}")
        }
        BtreeRecord::InsertUpper { block, child, .. } => format!(
            "index {file}: a downlink into page {block} for the new right half of page {child}"
        ),
        BtreeRecord::Split {
            left, right, level, ..
        } => format!(
            "index {file}: page {left} (level {level}) is full and splits; its upper half moves to new page {right}"
        ),
        BtreeRecord::NewRoot { root, level: 0, .. } => {
            format!("index {file}: its first page {root}, a leaf that is also the root")
        }
        BtreeRecord::NewRoot { root, level, .. } => {
            format!("index {file}: the root split, new root page {root} at level {level}")
        }
        BtreeRecord::Vacuum { block, deleted, .. } => format!(
            "index {file}: VACUUM removes {} pointing at removed row versions from leaf page {block}",
            plural(deleted.len(), "key")
        ),
        BtreeRecord::Delete { block, deleted, .. } => format!(
            "index {file}: {} of row versions dead to everyone removed from leaf page {block}",
            plural(deleted.len(), "key")
        ),
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `; file deleted: base/5/16384 (streamtest)`, or nothing.
fn deleted_files<N: RelationNames + ?Sized>(names: &N, files: &[RelFileLocator]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = files
        .iter()
        .map(|file| match names.by_locator(file) {
            Some(known) => format!("{} ({})", file.path(), ident(known.name())),
            None => file.path(),
        })
        .collect();
    let label = if files.len() == 1 {
        "file deleted"
    } else {
        "files deleted"
    };
    format!("; {label}: {}", listed.join(", "))
}

/// The row a tuple image holds, decoded for `table`'s columns; None when it
/// does not decode. A tuple may hold fewer attributes than the table has columns.
fn decode_row<'a>(table: &'a TableDef, image: &TupleImage) -> Option<Vec<(&'a ColumnDef, Value)>> {
    let count = (image.natts as usize).min(table.columns.len());
    let columns = &table.columns[..count];
    let types: Vec<DataType> = columns.iter().map(|c| c.data_type.clone()).collect();
    let values = tuple::decode(&image.data, &types).ok()?;
    Some(columns.iter().zip(values).collect())
}

fn explain_heap<N: RelationNames + ?Sized>(names: &N, record: &HeapRecord) -> String {
    match record {
        HeapRecord::Insert {
            relation,
            block,
            offset,
            tuple,
            ..
        } => {
            let at = pointer(*block, *offset);
            match names.by_locator(relation) {
                Some(KnownRelation::Table(table)) if table.is_system() => {
                    format!(
                        "catalog: add row to {}{}",
                        table.name,
                        new_catalog_row(names, table, tuple)
                    )
                }
                Some(known) => {
                    let name = ident(known.name());
                    let row = match known {
                        KnownRelation::Table(table) => decode_row(table, tuple),
                        KnownRelation::Sequence(_) => None,
                    };
                    match row {
                        Some(row) if !row.is_empty() => {
                            let columns: Vec<String> =
                                row.iter().map(|(c, _)| ident(&c.name)).collect();
                            let values: Vec<String> = row.iter().map(|(_, v)| literal(v)).collect();
                            format!(
                                "INSERT INTO {name} ({}) VALUES ({})",
                                columns.join(", "),
                                values.join(", ")
                            )
                        }
                        _ => format!("INSERT INTO {name}: new row {at}"),
                    }
                }
                None => format!("INSERT INTO relation {relation}: new row {at}"),
            }
        }
        HeapRecord::Update {
            relation,
            old_block,
            old_offset,
            new_block,
            new_offset,
            hot,
            tuple,
            ..
        } => {
            let old = pointer(*old_block, *old_offset);
            let new = pointer(*new_block, *new_offset);
            let hot = if *hot {
                "; HOT update: same page, no new index entries"
            } else {
                ""
            };
            match names.by_locator(relation) {
                Some(KnownRelation::Table(table)) if table.is_system() => format!(
                    "catalog: update row {old} of {}, now {new}{}{hot}",
                    table.name,
                    new_catalog_row(names, table, tuple)
                ),
                Some(known) => {
                    let name = ident(known.name());
                    let row = match known {
                        KnownRelation::Table(table) => decode_row(table, tuple),
                        KnownRelation::Sequence(_) => None,
                    };
                    let values = match row {
                        Some(row) if !row.is_empty() => {
                            let set: Vec<String> = row
                                .iter()
                                .map(|(c, v)| format!("{} = {}", ident(&c.name), literal(v)))
                                .collect();
                            format!(" ({})", set.join(", "))
                        }
                        _ => String::new(),
                    };
                    format!("UPDATE {name}: row {old} becomes {new}{values}{hot}")
                }
                None => format!("UPDATE relation {relation}: row {old} becomes {new}{hot}"),
            }
        }
        HeapRecord::Delete {
            relation,
            block,
            offset,
            ..
        } => {
            let at = pointer(*block, *offset);
            match names.by_locator(relation) {
                Some(KnownRelation::Table(table)) if table.is_system() => {
                    let old = names
                        .catalog_row(table.oid, at)
                        .map(|values| describe_catalog_row(names, table.oid, &values))
                        .unwrap_or_default();
                    format!("catalog: remove row {at} from {}{old}", table.name)
                }
                Some(known) => format!("DELETE FROM {} row {at}", ident(known.name())),
                None => format!("DELETE FROM relation {relation} row {at}"),
            }
        }
    }
}

fn pointer(block: u32, offset: u16) -> ItemPointer {
    ItemPointer { block, offset }
}

/// ` (streamtest.x integer)`: what a new catalog row describes, or nothing
/// when it does not decode.
fn new_catalog_row<N: RelationNames + ?Sized>(
    names: &N,
    catalog: &TableDef,
    image: &TupleImage,
) -> String {
    match catalog.layout().decode(image.natts, &image.data) {
        Ok(values) => describe_catalog_row(names, catalog.oid, &values),
        Err(_) => String::new(),
    }
}

/// ` (streamtest.x integer)`: what the catalog row `values` describes.
fn describe_catalog_row<N: RelationNames + ?Sized>(
    names: &N,
    catalog: u32,
    values: &[Value],
) -> String {
    let relation = |oid: Option<u32>| -> String {
        match oid {
            Some(oid) => names
                .by_oid(oid)
                .map(|known| ident(known.name()))
                .unwrap_or_else(|| format!("relation {oid}")),
            None => "?".to_string(),
        }
    };
    let column = |relid: Option<u32>, attnum: Option<i64>| -> String {
        let table = relid.and_then(|oid| names.by_oid(oid));
        let name = match (table, attnum) {
            (Some(KnownRelation::Table(table)), Some(attnum)) => table
                .columns
                .iter()
                .find(|c| i64::from(c.attnum) == attnum)
                .map(|c| ident(&c.name)),
            _ => None,
        };
        let name = name.unwrap_or_else(|| format!("column {}", attnum.unwrap_or(0)));
        format!("{}.{name}", relation(relid))
    };
    let text = |index: usize| text_at(values, index).unwrap_or("?").to_string();
    let described = match catalog {
        PG_CLASS => {
            let kind = match text_at(values, 3) {
                Some("S") => "sequence ",
                _ => "",
            };
            format!("{kind}{}", ident(&text(1)))
        }
        PG_ATTRIBUTE => {
            let type_name = oid_at(values, 2)
                .and_then(|type_oid| {
                    DataType::from_oid(type_oid, int_at(values, 3).unwrap_or(-1) as i32)
                })
                .map(|t| format!(" {}", t.name()))
                .unwrap_or_default();
            format!(
                "{}.{}{type_name}",
                relation(oid_at(values, 0)),
                ident(&text(1))
            )
        }
        PG_ATTRDEF => format!(
            "default of {}: {}",
            column(oid_at(values, 1), int_at(values, 2)),
            text(3)
        ),
        PG_CONSTRAINT => {
            let kind = match text_at(values, 3) {
                Some("p") => "primary key",
                Some("c") => "check constraint",
                _ => "unique constraint",
            };
            format!(
                "{kind} {} on {}",
                ident(&text(1)),
                relation(oid_at(values, 4))
            )
        }
        PG_SEQUENCE => relation(oid_at(values, 0)),
        PG_DEPEND => format!(
            "{} belongs to {}",
            relation(oid_at(values, 1)),
            column(oid_at(values, 4), int_at(values, 5))
        ),
        _ => return String::new(),
    };
    format!(" ({described})")
}

/// A name as SQL would need it written: bare when it is a plain lower-case
/// identifier, in double quotes otherwise.
fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A value as an SQL literal: numbers bare, NULL, booleans as `true`/`false`,
/// everything else quoted (long text cut short with `…`).
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Bool(true) => "true".to_string(),
        Value::Bool(false) => "false".to_string(),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Oid(_) | Value::Numeric(_) => {
            value.to_text().unwrap_or_default()
        }
        Value::Float8(v) if v.is_finite() => value.to_text().unwrap_or_default(),
        other => quote(&other.to_text().unwrap_or_default()),
    }
}

/// `'it''s'`; `E'two\nlines'` when the text has control characters, so the
/// sentence stays on one line.
fn quote(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_LITERAL_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    if !cut.chars().any(char::is_control) {
        return format!("'{}'", cut.replace('\'', "''"));
    }
    let mut escaped = String::with_capacity(cut.len() + 8);
    for c in cut.chars() {
        match c {
            '\'' => escaped.push_str("''"),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", c as u32)),
            c => escaped.push(c),
        }
    }
    format!("E'{escaped}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::{InitOptions, SessionId};
    use crate::sql;
    use pgplay_wal::{Checkpoint, LockedRelation, TimeLineId, DEFAULT_SEGMENT_SIZE};

    fn new_db() -> (Database, SessionId) {
        let mut db = Database::initdb(InitOptions {
            system_identifier: 7_300_000_000_000_000_001,
            segment_size: DEFAULT_SEGMENT_SIZE,
            now: 0,
        });
        let session = db.open_session();
        (db, session)
    }

    fn run(db: &mut Database, session: SessionId, text: &str) {
        for result in sql::execute(db, session, text) {
            if let Err(error) = result.outcome {
                panic!("{text}: {error:?}");
            }
        }
    }

    /// Runs `text` and explains the records it wrote, with names as they are afterwards.
    fn explain_sql(db: &mut Database, session: SessionId, text: &str) -> Vec<String> {
        let start = db.wal.insert_lsn();
        run(db, session, text);
        explain_since(db, start)
    }

    fn explain_since(db: &Database, start: Lsn) -> Vec<String> {
        let names = ExplainCatalog::new(db);
        db.wal
            .records_from(start)
            .map(|read| explain_with(&names, &read.expect("readable record").record))
            .collect()
    }

    fn record(xid: u32, body: RecordBody) -> Record {
        Record {
            xid,
            prev: Lsn::INVALID,
            body,
        }
    }

    #[test]
    fn explains_a_table_life() {
        let (mut db, s) = new_db();
        let created = explain_sql(&mut db, s, "CREATE TABLE streamtest (x int, t text)");
        assert_eq!(
            created,
            vec![
                "reserve OIDs for new objects; after a crash, numbering resumes at 24576",
                "AccessExclusiveLock on streamtest, so standbys block readers",
                "create the file for new table streamtest (base/5/16384)",
                "catalog: add row to pg_class (streamtest)",
                "catalog: add row to pg_attribute (streamtest.x integer)",
                "catalog: add row to pg_attribute (streamtest.t text)",
                "COMMIT of transaction 730",
            ]
        );
        assert_eq!(
            explain_sql(&mut db, s, "INSERT INTO streamtest VALUES (1, 'a')"),
            vec![
                "INSERT INTO streamtest (x, t) VALUES (1, 'a')",
                "COMMIT of transaction 731",
            ]
        );
        assert_eq!(
            explain_sql(
                &mut db,
                s,
                "INSERT INTO streamtest VALUES (2, NULL), (-3, 'it''s')"
            ),
            vec![
                "INSERT INTO streamtest (x, t) VALUES (2, NULL)",
                "INSERT INTO streamtest (x, t) VALUES (-3, 'it''s')",
                "COMMIT of transaction 732",
            ]
        );
        assert_eq!(
            explain_sql(&mut db, s, "UPDATE streamtest SET x = 20 WHERE x = 2"),
            vec![
                "UPDATE streamtest: row (0,2) becomes (0,4) (x = 20, t = NULL); \
                 HOT update: same page, no new index entries",
                "COMMIT of transaction 733",
            ]
        );
        assert_eq!(
            explain_sql(
                &mut db,
                s,
                "BEGIN; DELETE FROM streamtest WHERE x = -3; ROLLBACK"
            ),
            vec![
                "DELETE FROM streamtest row (0,3)",
                "ROLLBACK (abort) of transaction 734",
            ]
        );
        assert_eq!(
            explain_sql(&mut db, s, "DELETE FROM streamtest WHERE x = 1"),
            vec![
                "DELETE FROM streamtest row (0,1)",
                "COMMIT of transaction 735",
            ]
        );
        let checkpoint_at = db.wal.next_record_start(db.wal.insert_lsn());
        assert_eq!(
            explain_sql(&mut db, s, "CHECKPOINT"),
            vec![
                "snapshot of running transactions for standbys (next xid 736)".to_string(),
                format!("checkpoint (online): crash recovery would start at {checkpoint_at}"),
            ]
        );
        assert_eq!(
            explain_sql(&mut db, s, "SELECT pg_switch_wal()"),
            vec!["switch to a new WAL segment file"]
        );
    }

    #[test]
    fn names_dropped_uncommitted_and_truncated_relations() {
        let (mut db, s) = new_db();
        let start = db.wal.insert_lsn();
        run(
            &mut db,
            s,
            "CREATE TABLE gone (id serial PRIMARY KEY, v text)",
        );
        run(&mut db, s, "INSERT INTO gone (v) VALUES ('x')");
        let before_drop = explain_since(&db, start);
        let drop = explain_sql(&mut db, s, "DROP TABLE gone");
        // The dropped table is still named, from the dead catalog rows.
        let after_drop = explain_since(&db, start);
        assert_eq!(after_drop[..before_drop.len()], before_drop[..]);
        assert_eq!(after_drop[before_drop.len()..], drop[..]);
        assert_eq!(
            before_drop,
            vec![
                "reserve OIDs for new objects; after a crash, numbering resumes at 24576",
                "AccessExclusiveLock on gone, so standbys block readers",
                "create the file for new table gone (base/5/16384)",
                "create the file for new sequence gone_id_seq (base/5/16385)",
                "sequence gone_id_seq: next value is 1",
                "catalog: add row to pg_class (sequence gone_id_seq)",
                "catalog: add row to pg_sequence (gone_id_seq)",
                "catalog: add row to pg_depend (gone_id_seq belongs to gone.id)",
                "catalog: add row to pg_class (gone)",
                "catalog: add row to pg_attribute (gone.id integer)",
                "catalog: add row to pg_attrdef (default of gone.id: nextval('gone_id_seq'::regclass))",
                "catalog: add row to pg_attribute (gone.v text)",
                "catalog: add row to pg_constraint (primary key gone_pkey on gone)",
                "create the file for a new relation (base/5/16388)",
                "AccessExclusiveLock on relation 16388, so standbys block readers",
                "catalog: add row to pg_class (gone_pkey)",
                "catalog: add row to pg_index",
                "whole page 0 of index base/5/16388, as the index build wrote it",
                "COMMIT of transaction 730",
                "sequence gone_id_seq: values up to 33 reserved",
                "INSERT INTO gone (id, v) VALUES (1, 'x')",
                "index base/5/16388: its first page 1, a leaf that is also the root",
                "index base/5/16388: a key for a new row version, into leaf page 1 at item 1",
                "COMMIT of transaction 731",
            ]
        );
        assert_eq!(
            drop,
            vec![
                "AccessExclusiveLock on gone, so standbys block readers",
                "catalog: remove row (0,1) from pg_attribute (gone.id integer)",
                "catalog: remove row (0,2) from pg_attribute (gone.v text)",
                "catalog: remove row (0,1) from pg_class (sequence gone_id_seq)",
                "catalog: remove row (0,2) from pg_class (gone)",
                "catalog: remove row (0,3) from pg_class (gone_pkey)",
                "catalog: remove row (0,1) from pg_sequence (gone_id_seq)",
                "catalog: remove row (0,1) from pg_attrdef (default of gone.id: nextval('gone_id_seq'::regclass))",
                "catalog: remove row (0,1) from pg_constraint (primary key gone_pkey on gone)",
                "catalog: remove row (0,1) from pg_depend (gone_id_seq belongs to gone.id)",
                "catalog: remove row (0,1) from pg_index",
                "COMMIT of transaction 732; files deleted: base/5/16384 (gone), base/5/16385 (gone_id_seq), base/5/16388",
            ]
        );

        // Not committed yet: names come from the transaction's own catalog rows.
        run(&mut db, s, "BEGIN");
        let open = explain_sql(
            &mut db,
            s,
            "CREATE TABLE pending (n int); INSERT INTO pending VALUES (7)",
        );
        assert_eq!(
            open[1],
            "create the file for new table pending (base/5/16389)"
        );
        assert_eq!(open.last().unwrap(), "INSERT INTO pending (n) VALUES (7)");
        assert_eq!(
            explain_sql(&mut db, s, "ROLLBACK"),
            vec!["ROLLBACK (abort) of transaction 733; file deleted: base/5/16389 (pending)"]
        );

        // TRUNCATE: a new file for the same table; the old one goes at commit.
        run(&mut db, s, "CREATE TABLE kept (n int)");
        let truncated = explain_sql(&mut db, s, "TRUNCATE kept");
        assert_eq!(
            truncated,
            vec![
                "AccessExclusiveLock on kept, so standbys block readers",
                "create a new, empty file for kept (base/5/16391)",
                "catalog: update row (0,5) of pg_class, now (0,6) (kept); \
                 HOT update: same page, no new index entries",
                "COMMIT of transaction 735; file deleted: base/5/16390 (kept)",
            ]
        );
    }

    #[test]
    fn falls_back_to_file_names_and_covers_every_record() {
        let names = Catalog::default();
        let file = locator(16384);
        let image = TupleImage {
            command_id: 0,
            natts: 1,
            data: tuple::encode(&[Value::Int4(1)]),
        };
        let checkpoint = Checkpoint {
            redo: Lsn(0x3016170),
            timeline: TimeLineId(1),
            prev_timeline: TimeLineId(1),
            full_page_writes: true,
            next_xid: 727,
            next_oid: 24576,
            oldest_xid: 716,
            oldest_active_xid: 727,
            time: 0,
        };
        let cases: Vec<(RecordBody, &str)> = vec![
            (
                RecordBody::Xlog(XlogRecord::CheckpointShutdown(checkpoint.clone())),
                "checkpoint (shutdown): crash recovery would start at 0/3016170",
            ),
            (
                RecordBody::Xlog(XlogRecord::CheckpointOnline(checkpoint)),
                "checkpoint (online): crash recovery would start at 0/3016170",
            ),
            (
                RecordBody::Xlog(XlogRecord::BackupEnd(Lsn(0x4000028))),
                "end of a base backup started at 0/4000028",
            ),
            (
                RecordBody::Xlog(XlogRecord::EndOfRecovery {
                    timeline: TimeLineId(2),
                    prev_timeline: TimeLineId(1),
                    time: 0,
                }),
                "end of recovery: promoted, now on timeline 2",
            ),
            (
                RecordBody::Transaction(TransactionRecord::Commit {
                    time: 0,
                    dropped: Vec::new(),
                    subxacts: Vec::new(),
                }),
                "COMMIT of transaction 726",
            ),
            (
                RecordBody::Transaction(TransactionRecord::Commit {
                    time: 0,
                    dropped: Vec::new(),
                    subxacts: vec![727, 729],
                }),
                "COMMIT of transaction 726 with subtransactions 727, 729",
            ),
            (
                RecordBody::Transaction(TransactionRecord::Abort {
                    time: 0,
                    dropped: vec![file],
                    subxacts: vec![727],
                }),
                "ROLLBACK (abort) of transaction 726 with subtransaction 727; file deleted: base/5/16384",
            ),
            (
                RecordBody::Transaction(TransactionRecord::Assignment {
                    top: 726,
                    subxacts: vec![727, 728],
                }),
                "transaction 726 reports its subtransactions 727, 728 to standbys",
            ),
            (
                RecordBody::Storage(StorageRecord::Create(file)),
                "create the file for a new relation (base/5/16384)",
            ),
            (
                RecordBody::Storage(StorageRecord::Truncate {
                    relation: file,
                    blocks: 1,
                }),
                "truncate the file base/5/16384 to 1 block",
            ),
            (
                RecordBody::Standby(StandbyRecord::RunningXacts {
                    next_xid: 729,
                    latest_completed_xid: 728,
                    oldest_running_xid: 726,
                    xids: vec![726, 728],
                    subxids: vec![727],
                }),
                "snapshot of running transactions for standbys (next xid 729; running: 726, 728 with subtransaction 727)",
            ),
            (
                RecordBody::Standby(StandbyRecord::Lock(vec![LockedRelation {
                    xid: 726,
                    database: 5,
                    relation: 16384,
                }])),
                "AccessExclusiveLock on relation 16384, so standbys block readers",
            ),
            (
                RecordBody::Heap(HeapRecord::Insert {
                    relation: file,
                    block: 0,
                    offset: 1,
                    init_page: true,
                    tuple: image.clone(),
                }),
                "INSERT INTO relation 1663/5/16384: new row (0,1)",
            ),
            (
                RecordBody::Heap(HeapRecord::Update {
                    relation: file,
                    old_block: 0,
                    old_offset: 1,
                    new_block: 1,
                    new_offset: 1,
                    init_page: true,
                    hot: false,
                    tuple: image,
                }),
                "UPDATE relation 1663/5/16384: row (0,1) becomes (1,1)",
            ),
            (
                RecordBody::Heap(HeapRecord::Delete {
                    relation: file,
                    block: 0,
                    offset: 2,
                    command_id: 0,
                }),
                "DELETE FROM relation 1663/5/16384 row (0,2)",
            ),
            (
                RecordBody::Sequence(SequenceRecord::Log {
                    relation: file,
                    last_value: 33,
                    log_cnt: 0,
                    is_called: true,
                }),
                "sequence relation 1663/5/16384: values up to 33 reserved",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(explain_with(&names, &record(726, body)), expected);
        }
    }

    #[test]
    fn a_plain_catalog_names_what_it_sees_and_garbage_does_not_panic() {
        let (mut db, s) = new_db();
        run(
            &mut db,
            s,
            "CREATE TABLE \"Odd\" (\"Big X\" float8, b bool, ts timestamp)",
        );
        let catalog = db.catalog(s).unwrap();
        let file = catalog.table("Odd").unwrap().locator;
        let insert = |data: Vec<u8>| {
            record(
                740,
                RecordBody::Heap(HeapRecord::Insert {
                    relation: file,
                    block: 0,
                    offset: 1,
                    init_page: false,
                    tuple: TupleImage {
                        command_id: 0,
                        natts: 3,
                        data,
                    },
                }),
            )
        };
        let row = tuple::encode(&[
            Value::Float8(f64::NAN),
            Value::Bool(true),
            Value::Timestamp(0),
        ]);
        assert_eq!(
            explain_with(&*catalog, &insert(row)),
            "INSERT INTO \"Odd\" (\"Big X\", b, ts) VALUES ('NaN', true, '2000-01-01 00:00:00')"
        );
        assert_eq!(
            explain_with(&*catalog, &insert(vec![0, 1, 2])),
            "INSERT INTO \"Odd\": new row (0,1)"
        );
        let long = Value::Text("é".repeat(50));
        assert_eq!(literal(&long), format!("'{}…'", "é".repeat(40)));
        let lines = Value::Text("a\\b\n'c'\u{7}".to_string());
        assert_eq!(literal(&lines), "E'a\\\\b\\n''c''\\u0007'");
        assert_eq!(literal(&Value::Int8(-5)), "-5");
        assert_eq!(
            explain(
                &db,
                &insert(tuple::encode(&[
                    Value::Float8(1.5),
                    Value::Null,
                    Value::Null
                ]))
            ),
            "INSERT INTO \"Odd\" (\"Big X\", b, ts) VALUES (1.5, NULL, NULL)"
        );
    }
}
