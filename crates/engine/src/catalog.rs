//! The system catalog, stored the way PostgreSQL stores it: as rows in heap
//! relations (`pg_class`, `pg_attribute`, ...). DDL is therefore ordinary heap
//! inserts, updates and deletes; it is transactional through MVCC and reaches
//! standbys through the same WAL records as user data, with no special path.
//!
//! The catalogs' own shape is fixed in code (bootstrap), and only user objects
//! have rows. [`Catalog`] is the decoded, cached view the SQL layer reads.

use std::collections::BTreeMap;

use pgplay_wal::RelFileLocator;

use crate::error::Result;
use crate::heap::{ItemPointer, Storage};
use crate::mvcc::{live_now, CommitLog};
use crate::types::{DataType, Value};

pub const TABLESPACE_OID: u32 = 1663;
/// The `postgres` database's OID in PostgreSQL 15.
pub const DATABASE_OID: u32 = 5;
pub const PUBLIC_NAMESPACE_OID: u32 = 2200;
pub const CATALOG_NAMESPACE_OID: u32 = 11;
/// OIDs below this belong to the system.
pub const FIRST_NORMAL_OID: u32 = 16384;

pub const PG_CLASS: u32 = 1259;
pub const PG_ATTRIBUTE: u32 = 1249;
pub const PG_ATTRDEF: u32 = 2604;
pub const PG_CONSTRAINT: u32 = 2606;
pub const PG_SEQUENCE: u32 = 2224;
pub const PG_DEPEND: u32 = 2608;
/// One row per index: its table, key columns (`indkey`), DESC flags
/// (`indoption`, 1 per DESC column), and whether it is unique or the primary key.
pub const PG_INDEX: u32 = 2610;
/// A view's query (its `_RETURN` rule), as SQL text in `ev_action`.
pub const PG_REWRITE: u32 = 2618;
pub const PG_AUTHID: u32 = 1260;
/// The bootstrap superuser `postgres`, which every cluster has.
pub const BOOTSTRAP_SUPERUSER_OID: u32 = 10;

pub fn locator(relfilenode: u32) -> RelFileLocator {
    RelFileLocator {
        tablespace: TABLESPACE_OID,
        database: DATABASE_OID,
        relation: relfilenode,
    }
}

/// The bootstrap definition of each catalog relation we store.
pub fn system_tables() -> Vec<TableDef> {
    use DataType::*;
    let table = |oid: u32, name: &str, columns: &[(&str, DataType)]| TableDef {
        oid,
        name: name.to_string(),
        namespace: CATALOG_NAMESPACE_OID,
        kind: RelKind::Table,
        locator: locator(oid),
        columns: columns
            .iter()
            .enumerate()
            .map(|(index, (name, data_type))| ColumnDef {
                name: name.to_string(),
                data_type: data_type.clone(),
                not_null: true,
                default: None,
                attnum: index as i16 + 1,
                missing: None,
            })
            .collect(),
        constraints: Vec::new(),
        checks: Vec::new(),
        dropped: Vec::new(),
        indexes: Vec::new(),
    };
    let mut tables = vec![
        table(
            PG_CLASS,
            "pg_class",
            &[
                ("oid", Oid),
                ("relname", Name),
                ("relnamespace", Oid),
                ("relkind", Char),
                ("relfilenode", Oid),
                ("relnatts", Int2),
                ("relpersistence", Char),
            ],
        ),
        table(
            PG_ATTRIBUTE,
            "pg_attribute",
            &[
                ("attrelid", Oid),
                ("attname", Name),
                ("atttypid", Oid),
                ("atttypmod", Int4),
                ("attnum", Int2),
                ("attnotnull", Bool),
                ("atthasdef", Bool),
                ("atthasmissing", Bool),
                ("attisdropped", Bool),
                ("attmissingval", Text),
            ],
        ),
        table(
            PG_ATTRDEF,
            "pg_attrdef",
            &[
                ("oid", Oid),
                ("adrelid", Oid),
                ("adnum", Int2),
                ("adbin", Text),
            ],
        ),
        table(
            PG_CONSTRAINT,
            "pg_constraint",
            &[
                ("oid", Oid),
                ("conname", Name),
                ("connamespace", Oid),
                ("contype", Char),
                ("conrelid", Oid),
                ("conkey", Text),
                ("conbin", Text),
                ("confrelid", Oid),
                ("confkey", Text),
                ("confupdtype", Char),
                ("confdeltype", Char),
                ("confmatchtype", Char),
                ("convalidated", Bool),
            ],
        ),
        table(
            PG_REWRITE,
            "pg_rewrite",
            &[
                ("oid", Oid),
                ("rulename", Name),
                ("ev_class", Oid),
                ("ev_action", Text),
            ],
        ),
        table(
            PG_SEQUENCE,
            "pg_sequence",
            &[
                ("seqrelid", Oid),
                ("seqtypid", Oid),
                ("seqstart", Int8),
                ("seqincrement", Int8),
                ("seqmax", Int8),
                ("seqmin", Int8),
                ("seqcache", Int8),
                ("seqcycle", Bool),
            ],
        ),
        table(
            PG_AUTHID,
            "pg_authid",
            &[
                ("oid", Oid),
                ("rolname", Name),
                ("rolsuper", Bool),
                ("rolreplication", Bool),
                ("rolcanlogin", Bool),
                ("rolconnlimit", Int4),
                ("rolpassword", Text),
            ],
        ),
        table(
            PG_INDEX,
            "pg_index",
            &[
                ("indexrelid", Oid),
                ("indrelid", Oid),
                ("indnatts", Int2),
                ("indisunique", Bool),
                ("indisprimary", Bool),
                ("indkey", Text),
                ("indoption", Text),
            ],
        ),
        table(
            PG_DEPEND,
            "pg_depend",
            &[
                ("classid", Oid),
                ("objid", Oid),
                ("objsubid", Int4),
                ("refclassid", Oid),
                ("refobjid", Oid),
                ("refobjsubid", Int4),
                ("deptype", Char),
            ],
        ),
    ];
    // Columns added to a catalog after its first ones: a row that ends before them (every
    // row that does not need them, so ordinary DDL writes the same bytes as before) reads
    // them as these values, as PostgreSQL's `attmissingval` does for a user table.
    let later: [(u32, &[(&str, Value)]); 2] = [
        (
            PG_ATTRIBUTE,
            &[
                ("atthasmissing", Value::Bool(false)),
                ("attisdropped", Value::Bool(false)),
            ],
        ),
        (
            PG_CONSTRAINT,
            &[
                ("confrelid", Value::Oid(0)),
                ("confupdtype", Value::Text(" ".into())),
                ("confdeltype", Value::Text(" ".into())),
                ("confmatchtype", Value::Text(" ".into())),
                ("convalidated", Value::Bool(true)),
            ],
        ),
    ];
    for (oid, missing) in later {
        let table = tables.iter_mut().find(|t| t.oid == oid).expect("catalog");
        for (name, value) in missing {
            if let Some(column) = table.columns.iter_mut().find(|c| c.name == *name) {
                column.missing = Some(value.clone());
            }
        }
    }
    tables
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelKind {
    Table,
    Sequence,
    View,
}

impl RelKind {
    pub fn code(self) -> &'static str {
        match self {
            RelKind::Table => "r",
            RelKind::Sequence => "S",
            RelKind::View => "v",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub not_null: bool,
    /// The default expression as SQL text, e.g. `nextval('t_id_seq'::regclass)`.
    pub default: Option<String>,
    pub attnum: i16,
    /// `attmissingval`: what a row stored before the column was added reads (None: NULL).
    pub missing: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConstraintDef {
    pub oid: u32,
    pub name: String,
    pub kind: ConstraintKind,
    /// Column positions (0-based) in the table.
    pub columns: Vec<usize>,
}

/// A FOREIGN KEY constraint (`contype = 'f'`): `columns` of `table` reference
/// `ref_columns` of `ref_table` (0-based column positions). The actions are
/// PostgreSQL's codes: `a` NO ACTION, `r` RESTRICT, `c` CASCADE, `n` SET NULL,
/// `d` SET DEFAULT; `match_type` `s` SIMPLE or `f` FULL.
#[derive(Clone, Debug, PartialEq)]
pub struct ForeignKeyDef {
    pub oid: u32,
    pub name: String,
    pub table: u32,
    pub columns: Vec<usize>,
    pub ref_table: u32,
    pub ref_columns: Vec<usize>,
    pub on_update: char,
    pub on_delete: char,
    pub match_type: char,
    /// False after `ADD ... NOT VALID` until `VALIDATE CONSTRAINT`.
    pub validated: bool,
}

impl ForeignKeyDef {
    /// What `pg_get_constraintdef` prints, e.g.
    /// `FOREIGN KEY (p_id) REFERENCES p(id) ON DELETE CASCADE`.
    pub fn definition(&self, catalog: &Catalog) -> String {
        let names = |oid: u32, columns: &[usize]| -> (String, String) {
            match catalog.table_by_oid(oid) {
                Some(t) => (
                    t.name.clone(),
                    columns
                        .iter()
                        .filter_map(|i| t.columns.get(*i).map(|c| c.name.clone()))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                None => (String::new(), String::new()),
            }
        };
        let (_, own) = names(self.table, &self.columns);
        let (ref_table, referenced) = names(self.ref_table, &self.ref_columns);
        let mut out = format!("FOREIGN KEY ({own}) REFERENCES {ref_table}({referenced})");
        if self.match_type == 'f' {
            out.push_str(" MATCH FULL");
        }
        for (label, action) in [("UPDATE", self.on_update), ("DELETE", self.on_delete)] {
            let words = match action {
                'r' => "RESTRICT",
                'c' => "CASCADE",
                'n' => "SET NULL",
                'd' => "SET DEFAULT",
                _ => continue,
            };
            out.push_str(&format!(" ON {label} {words}"));
        }
        if !self.validated {
            out.push_str(" NOT VALID");
        }
        out
    }
}

/// A CHECK constraint (`contype = 'c'`): its expression is kept as SQL text
/// (`conbin`) and bound against the table's columns when a row is checked.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckDef {
    pub oid: u32,
    pub name: String,
    /// The expression as SQL text, e.g. `x > 0`.
    pub expr: String,
    /// False after `ADD ... NOT VALID` until `VALIDATE CONSTRAINT`.
    pub validated: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableDef {
    pub oid: u32,
    pub name: String,
    pub namespace: u32,
    pub kind: RelKind,
    pub locator: RelFileLocator,
    pub columns: Vec<ColumnDef>,
    pub constraints: Vec<ConstraintDef>,
    /// CHECK constraints in name order, the order PostgreSQL checks them in.
    pub checks: Vec<CheckDef>,
    /// Dropped columns (`attisdropped`): their attnum and the type their bytes have in
    /// tuples written before the drop, so those tuples keep their layout.
    pub dropped: Vec<(i16, DataType)>,
    /// B-tree indexes in OID order, the order PostgreSQL inserts into them and checks uniqueness.
    pub indexes: Vec<IndexDef>,
}

/// A B-tree index (`pg_class` relkind `i` and its `pg_index` row).
#[derive(Clone, Debug, PartialEq)]
pub struct IndexDef {
    pub oid: u32,
    pub name: String,
    pub locator: RelFileLocator,
    /// Column positions (0-based) in the table.
    pub columns: Vec<usize>,
    pub descending: Vec<bool>,
    pub unique: bool,
    pub primary: bool,
}

impl IndexDef {
    /// The meta page of this index while it holds no keys: its key types come from the
    /// table's columns.
    pub fn empty_meta(&self, table: &TableDef) -> pgplay_wal::btree::BtreeMeta {
        pgplay_wal::btree::BtreeMeta {
            root: pgplay_wal::btree::P_NONE,
            level: 0,
            key_types: self
                .columns
                .iter()
                .map(|i| {
                    let t = &table.columns[*i].data_type;
                    (t.oid(), t.typmod())
                })
                .collect(),
            descending: self.descending.clone(),
        }
    }
}

impl TableDef {
    pub fn column_types(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.data_type.clone()).collect()
    }
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    pub fn is_system(&self) -> bool {
        self.oid < FIRST_NORMAL_OID
    }
}

/// A role (`pg_authid`). `postgres` is built in; others come from CREATE ROLE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDef {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub replication: bool,
    pub login: bool,
    /// -1: no limit.
    pub connection_limit: i32,
    pub password: Option<String>,
}

impl RoleDef {
    pub fn bootstrap() -> RoleDef {
        RoleDef {
            oid: BOOTSTRAP_SUPERUSER_OID,
            name: "postgres".into(),
            superuser: true,
            replication: true,
            login: true,
            connection_limit: -1,
            password: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SequenceDef {
    pub oid: u32,
    pub name: String,
    pub locator: RelFileLocator,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    /// The table and column (attnum) a serial sequence belongs to.
    pub owned_by: Option<(u32, i16)>,
}

/// A view: its columns (names and types fixed when it was created) and its
/// query as SQL text, planned afresh each time the view is read.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewDef {
    pub oid: u32,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub query: String,
}

/// Where a catalog row lives, so DDL can delete or update it.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogRow {
    pub catalog: u32,
    pub at: ItemPointer,
    pub values: Vec<Value>,
}

/// The decoded catalog as one transaction sees it.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub tables: BTreeMap<String, TableDef>,
    pub sequences: BTreeMap<String, SequenceDef>,
    pub views: BTreeMap<String, ViewDef>,
    pub roles: BTreeMap<String, RoleDef>,
    /// Every live catalog row by catalog, for DDL.
    pub rows: BTreeMap<u32, Vec<CatalogRow>>,
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.get(name)
    }
    /// Whether `pg_class` says relation `oid` is unlogged (`relpersistence` `u`).
    pub fn is_unlogged(&self, oid: u32) -> bool {
        self.rows_of(PG_CLASS)
            .iter()
            .any(|row| row.values[0] == Value::Oid(oid) && row.values[6].as_str() == Some("u"))
    }
    pub fn table_by_oid(&self, oid: u32) -> Option<&TableDef> {
        self.tables.values().find(|t| t.oid == oid)
    }
    pub fn relation_exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self.sequences.contains_key(name)
            || self.views.contains_key(name)
            || self.constraint_named(name).is_some()
            || self.index(name).is_some()
    }
    /// An index by name, with its table.
    pub fn index(&self, name: &str) -> Option<(&TableDef, &IndexDef)> {
        self.tables
            .values()
            .find_map(|t| Some((t, t.indexes.iter().find(|i| i.name == name)?)))
    }
    pub fn constraint_named(&self, name: &str) -> Option<&ConstraintDef> {
        self.tables
            .values()
            .flat_map(|t| &t.constraints)
            .find(|c| c.name == name)
    }
    /// Every constraint name in the schema, which generated names avoid.
    pub fn constraint_names(&self) -> std::collections::BTreeSet<String> {
        self.tables
            .values()
            .flat_map(|t| {
                let keys = t.constraints.iter().map(|c| c.name.clone());
                keys.chain(t.checks.iter().map(|c| c.name.clone()))
            })
            .chain(self.foreign_keys().into_iter().map(|k| k.name))
            .collect()
    }
    /// Every FOREIGN KEY constraint, in OID order.
    pub fn foreign_keys(&self) -> Vec<ForeignKeyDef> {
        let oid = |v: &Value| v.as_i64().unwrap_or(0) as u32;
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let positions = |table: u32, attnums: &Value| -> Option<Vec<usize>> {
            let table = self.table_by_oid(table)?;
            parse_int_array(&text(attnums))
                .into_iter()
                .map(|a| table.columns.iter().position(|c| i64::from(c.attnum) == a))
                .collect()
        };
        let code = |v: &Value| text(v).chars().next().unwrap_or('a');
        let mut keys: Vec<ForeignKeyDef> = self
            .rows_of(PG_CONSTRAINT)
            .iter()
            .filter(|row| row.values[3].as_str() == Some("f"))
            .filter_map(|row| {
                let v = &row.values;
                Some(ForeignKeyDef {
                    oid: oid(&v[0]),
                    name: text(&v[1]),
                    table: oid(&v[4]),
                    columns: positions(oid(&v[4]), &v[5])?,
                    ref_table: oid(&v[7]),
                    ref_columns: positions(oid(&v[7]), &v[8])?,
                    on_update: code(&v[9]),
                    on_delete: code(&v[10]),
                    match_type: code(&v[11]),
                    validated: v[12] != Value::Bool(false),
                })
            })
            .collect();
        keys.sort_by_key(|k| k.oid);
        keys
    }

    /// Whether any foreign key exists (DML skips its checks otherwise).
    pub fn has_foreign_keys(&self) -> bool {
        self.rows_of(PG_CONSTRAINT)
            .iter()
            .any(|row| row.values[3].as_str() == Some("f"))
    }

    pub fn rows_of(&self, catalog: u32) -> &[CatalogRow] {
        self.rows.get(&catalog).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Reads the catalog relations, seeing committed rows and those of the
    /// `own` xids (a transaction and its live subtransactions).
    pub fn load(
        storage: &Storage,
        clog: &CommitLog,
        own: &std::collections::BTreeSet<u32>,
    ) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for system in system_tables() {
            let layout = system.layout();
            let mut rows = Vec::new();
            if let Some(relation) = storage.relation(&system.locator) {
                for (at, tuple) in relation.tuples() {
                    if live_now(tuple, clog, own) {
                        rows.push(CatalogRow {
                            catalog: system.oid,
                            at,
                            values: layout.decode(tuple.natts, &tuple.data)?,
                        });
                    }
                }
            }
            catalog.rows.insert(system.oid, rows);
            catalog.tables.insert(system.name.clone(), system);
        }
        catalog.build_user_objects();
        Ok(catalog)
    }

    fn build_user_objects(&mut self) {
        let oid = |v: &Value| v.as_i64().unwrap_or(0) as u32;
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let mut tables = BTreeMap::new();
        let mut sequences = BTreeMap::new();
        let mut views = BTreeMap::new();
        for row in self.rows_of(PG_CLASS) {
            let v = &row.values;
            let name = text(&v[1]);
            match text(&v[3]).as_str() {
                "r" => {
                    let def = TableDef {
                        oid: oid(&v[0]),
                        name: name.clone(),
                        namespace: oid(&v[2]),
                        kind: RelKind::Table,
                        locator: locator(oid(&v[4])),
                        columns: Vec::new(),
                        constraints: Vec::new(),
                        checks: Vec::new(),
                        dropped: Vec::new(),
                        indexes: Vec::new(),
                    };
                    tables.insert(def.oid, def);
                }
                "S" => {
                    let def = SequenceDef {
                        oid: oid(&v[0]),
                        name,
                        locator: locator(oid(&v[4])),
                        start: 1,
                        increment: 1,
                        min: 1,
                        max: i64::MAX,
                        owned_by: None,
                    };
                    sequences.insert(def.oid, def);
                }
                "v" => {
                    let def = ViewDef {
                        oid: oid(&v[0]),
                        name,
                        columns: Vec::new(),
                        query: String::new(),
                    };
                    views.insert(def.oid, def);
                }
                _ => {}
            }
        }
        let mut attributes: Vec<&CatalogRow> = self.rows_of(PG_ATTRIBUTE).iter().collect();
        attributes.sort_by_key(|row| (oid(&row.values[0]), row.values[4].as_i64()));
        for row in attributes {
            let v = &row.values;
            if v[8] == Value::Bool(true) {
                if let Some(table) = tables.get_mut(&oid(&v[0])) {
                    let data_type =
                        DataType::from_oid(oid(&v[2]), v[3].as_i64().unwrap_or(-1) as i32)
                            .unwrap_or(DataType::Text);
                    table
                        .dropped
                        .push((v[4].as_i64().unwrap_or(0) as i16, data_type));
                }
                continue;
            }
            let columns = match tables.get_mut(&oid(&v[0])) {
                Some(table) => Some(&mut table.columns),
                None => views.get_mut(&oid(&v[0])).map(|view| &mut view.columns),
            };
            if let Some(columns) = columns {
                let data_type = DataType::from_oid(oid(&v[2]), v[3].as_i64().unwrap_or(-1) as i32)
                    .unwrap_or(DataType::Text);
                let missing = (v[7] == Value::Bool(true))
                    .then(|| missing_value(&text(&v[9]), &data_type))
                    .flatten();
                columns.push(ColumnDef {
                    name: text(&v[1]),
                    data_type,
                    not_null: v[5] == Value::Bool(true),
                    default: None,
                    attnum: v[4].as_i64().unwrap_or(0) as i16,
                    missing,
                });
            }
        }
        for row in self.rows_of(PG_ATTRDEF) {
            let v = &row.values;
            if let Some(table) = tables.get_mut(&oid(&v[1])) {
                let attnum = v[2].as_i64().unwrap_or(0) as i16;
                if let Some(column) = table.columns.iter_mut().find(|c| c.attnum == attnum) {
                    column.default = Some(text(&v[3]));
                }
            }
        }
        let mut constraints: Vec<&CatalogRow> = self.rows_of(PG_CONSTRAINT).iter().collect();
        constraints.sort_by_key(|row| oid(&row.values[0]));
        for row in constraints {
            let v = &row.values;
            if let Some(table) = tables.get_mut(&oid(&v[4])) {
                if text(&v[3]) == "f" {
                    continue;
                }
                if text(&v[3]) == "c" {
                    table.checks.push(CheckDef {
                        oid: oid(&v[0]),
                        name: text(&v[1]),
                        expr: text(&v[6]),
                        validated: v[12] != Value::Bool(false),
                    });
                    continue;
                }
                let kind = if text(&v[3]) == "p" {
                    ConstraintKind::PrimaryKey
                } else {
                    ConstraintKind::Unique
                };
                let columns = parse_int_array(&text(&v[5]))
                    .into_iter()
                    .filter_map(|attnum| {
                        table.columns.iter().position(|c| c.attnum == attnum as i16)
                    })
                    .collect();
                table.constraints.push(ConstraintDef {
                    oid: oid(&v[0]),
                    name: text(&v[1]),
                    kind,
                    columns,
                });
            }
        }
        let index_names: BTreeMap<u32, (String, u32)> = self
            .rows_of(PG_CLASS)
            .iter()
            .filter(|row| text(&row.values[3]) == "i")
            .map(|row| {
                let v = &row.values;
                (oid(&v[0]), (text(&v[1]), oid(&v[4])))
            })
            .collect();
        for row in self.rows_of(PG_INDEX) {
            let v = &row.values;
            let (Some(table), Some((name, relfilenode))) =
                (tables.get_mut(&oid(&v[1])), index_names.get(&oid(&v[0])))
            else {
                continue;
            };
            let vector = |v: &Value| -> Vec<i64> {
                text(v)
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            };
            let columns = vector(&v[5])
                .into_iter()
                .filter_map(|attnum| table.columns.iter().position(|c| c.attnum == attnum as i16))
                .collect();
            table.indexes.push(IndexDef {
                oid: oid(&v[0]),
                name: name.clone(),
                locator: locator(*relfilenode),
                columns,
                descending: vector(&v[6]).iter().map(|o| o & 1 == 1).collect(),
                unique: v[3] == Value::Bool(true),
                primary: v[4] == Value::Bool(true),
            });
        }
        for table in tables.values_mut() {
            table.checks.sort_by(|a, b| a.name.cmp(&b.name));
            table.indexes.sort_by_key(|i| i.oid);
        }
        for row in self.rows_of(PG_REWRITE) {
            if let Some(view) = views.get_mut(&oid(&row.values[2])) {
                view.query = text(&row.values[3]);
            }
        }
        for row in self.rows_of(PG_SEQUENCE) {
            let v = &row.values;
            if let Some(sequence) = sequences.get_mut(&oid(&v[0])) {
                sequence.start = v[2].as_i64().unwrap_or(1);
                sequence.increment = v[3].as_i64().unwrap_or(1);
                sequence.max = v[4].as_i64().unwrap_or(i64::MAX);
                sequence.min = v[5].as_i64().unwrap_or(1);
            }
        }
        for row in self.rows_of(PG_DEPEND) {
            let v = &row.values;
            if let Some(sequence) = sequences.get_mut(&oid(&v[1])) {
                if text(&v[6]) == "a" {
                    sequence.owned_by = Some((oid(&v[4]), v[5].as_i64().unwrap_or(0) as i16));
                }
            }
        }
        let mut roles = BTreeMap::new();
        roles.insert("postgres".to_string(), RoleDef::bootstrap());
        for row in self.rows_of(PG_AUTHID) {
            let v = &row.values;
            let password = text(&v[6]);
            let role = RoleDef {
                oid: oid(&v[0]),
                name: text(&v[1]),
                superuser: v[2] == Value::Bool(true),
                replication: v[3] == Value::Bool(true),
                login: v[4] == Value::Bool(true),
                connection_limit: v[5].as_i64().unwrap_or(-1) as i32,
                password: (!password.is_empty()).then_some(password),
            };
            roles.insert(role.name.clone(), role);
        }
        self.roles = roles;
        for table in tables.into_values() {
            self.tables.insert(table.name.clone(), table);
        }
        for view in views.into_values() {
            self.views.insert(view.name.clone(), view);
        }
        for sequence in sequences.into_values() {
            self.sequences.insert(sequence.name.clone(), sequence);
        }
    }
}

/// `attmissingval` is shown as a one-element array (`{none}`); its value for `data_type`.
pub fn missing_value(text: &str, data_type: &DataType) -> Option<Value> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let inner = match inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
        None if inner == "NULL" => return None,
        None => inner.to_string(),
    };
    crate::types::parse_text(&inner, data_type).ok()
}

/// The text of `attmissingval` for a value, as PostgreSQL prints the array.
pub fn missing_text(value: &Value) -> Option<String> {
    let text = value.to_text()?;
    let plain = !text.is_empty()
        && !text.eq_ignore_ascii_case("null")
        && !text
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    Some(if plain {
        format!("{{{text}}}")
    } else {
        format!(
            "{{\"{}\"}}",
            text.replace('\\', "\\\\").replace('"', "\\\"")
        )
    })
}

/// `{1,2}` to `[1, 2]`.
pub fn parse_int_array(text: &str) -> Vec<i64> {
    text.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}

pub fn format_int_array(values: &[i64]) -> String {
    let parts: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("{{{}}}", parts.join(","))
}
