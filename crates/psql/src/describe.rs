//! `\d`, `\dt` and `\d NAME` output from plain descriptions (no catalog
//! access here: the caller gathers the facts), plus psql's name patterns.

use crate::result::Options;
use crate::table::{render_aligned, render_expanded, Table};
use crate::Expanded;

/// The kinds of relation `\d` lists, with psql's `Type` labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
    Index,
    Sequence,
    ForeignTable,
    PartitionedTable,
    PartitionedIndex,
}

impl RelationKind {
    /// The word psql shows in the `Type` column.
    pub fn label(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::Index => "index",
            RelationKind::Sequence => "sequence",
            RelationKind::ForeignTable => "foreign table",
            RelationKind::PartitionedTable => "partitioned table",
            RelationKind::PartitionedIndex => "partitioned index",
        }
    }
}

/// One row of `\d` / `\dt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSummary {
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    pub owner: String,
}

/// `List of relations` for `\d` / `\dt`; rows are sorted by schema and name
/// as psql does. The caller chooses which relations to pass (e.g. only
/// tables for `\dt`, only those matching `pattern`). With none, psql's
/// `Did not find any relation(s)...` message. Honours `\x`.
pub fn format_relation_list(
    rels: &[RelationSummary],
    pattern: Option<&str>,
    opts: &Options,
) -> String {
    if rels.is_empty() {
        return not_found(pattern);
    }
    let mut rels: Vec<&RelationSummary> = rels.iter().collect();
    rels.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    let table = Table {
        title: Some("List of relations".to_string()),
        headers: ["Schema", "Name", "Type", "Owner"]
            .map(String::from)
            .to_vec(),
        right_align: vec![false; 4],
        rows: rels
            .iter()
            .map(|r| {
                vec![
                    r.schema.clone(),
                    r.name.clone(),
                    r.kind.label().to_string(),
                    r.owner.clone(),
                ]
            })
            .collect(),
        footers: Vec::new(),
        default_footer: opts.footer,
    };
    match opts.expanded {
        Expanded::On => render_expanded(&table),
        _ => render_aligned(&table),
    }
}

/// One row of `\df`: what `pg_get_function_result` and `pg_get_function_arguments` print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub schema: String,
    pub name: String,
    pub result: String,
    pub arguments: String,
    /// `func`, `agg`, `window` or `proc`.
    pub kind: String,
}

/// `List of functions` for `\df`, sorted as psql's `ORDER BY 1, 2, 4` sorts it (schema, name,
/// arguments; byte order, the C collation). With no rows psql still prints the empty table.
pub fn format_function_list(funcs: &[FunctionSummary], opts: &Options) -> String {
    let mut funcs: Vec<&FunctionSummary> = funcs.iter().collect();
    funcs.sort_by(|a, b| {
        (&a.schema, &a.name, &a.arguments).cmp(&(&b.schema, &b.name, &b.arguments))
    });
    let table = Table {
        title: Some("List of functions".to_string()),
        headers: [
            "Schema",
            "Name",
            "Result data type",
            "Argument data types",
            "Type",
        ]
        .map(String::from)
        .to_vec(),
        right_align: vec![false; 5],
        rows: funcs
            .iter()
            .map(|f| {
                vec![
                    f.schema.clone(),
                    f.name.clone(),
                    f.result.clone(),
                    f.arguments.clone(),
                    f.kind.clone(),
                ]
            })
            .collect(),
        footers: Vec::new(),
        default_footer: opts.footer,
    };
    match opts.expanded {
        Expanded::On => render_expanded(&table),
        _ => render_aligned(&table),
    }
}

/// `Did not find any relation named "x".` or `Did not find any relations.`
pub fn not_found(pattern: Option<&str>) -> String {
    match pattern {
        Some(p) => format!("Did not find any relation named \"{p}\".\n"),
        None => "Did not find any relations.\n".to_string(),
    }
}

/// A column as `\d NAME` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDescription {
    pub name: String,
    /// As `format_type` spells it: `integer`, `character varying(10)`...
    pub type_name: String,
    /// Only a collation differing from the type's default is shown.
    pub collation: Option<String>,
    pub not_null: bool,
    /// Default expression, e.g. `nextval('t_id_seq'::regclass)`.
    pub default: Option<String>,
}

/// How an index is labelled under `Indexes:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    PrimaryKey,
    /// Backs a `UNIQUE` constraint.
    UniqueConstraint,
    /// `CREATE UNIQUE INDEX`.
    Unique,
    Plain,
}

/// An index of the described table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDescription {
    pub name: String,
    pub kind: IndexKind,
    /// Access method, e.g. `btree`.
    pub method: String,
    /// Key columns or expressions, e.g. `["b", "a"]`.
    pub columns: Vec<String>,
    /// Partial index predicate, e.g. `a > 0`.
    pub predicate: Option<String>,
}

/// A named constraint and its definition as `pg_get_constraintdef` prints it,
/// e.g. `CHECK (v > 0)` or `FOREIGN KEY (r) REFERENCES t(id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintDescription {
    pub name: String,
    pub definition: String,
}

/// A foreign key of another table pointing at the described one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencingConstraint {
    /// The referencing table as psql shows it (schema-qualified if not visible).
    pub table: String,
    pub constraint: ConstraintDescription,
}

/// Everything `\d NAME` shows for a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDescription {
    pub schema: String,
    pub name: String,
    /// An unlogged table's title says so (`Unlogged table "public.t"`).
    pub unlogged: bool,
    pub columns: Vec<ColumnDescription>,
    pub indexes: Vec<IndexDescription>,
    pub check_constraints: Vec<ConstraintDescription>,
    pub foreign_keys: Vec<ConstraintDescription>,
    pub referenced_by: Vec<ReferencingConstraint>,
}

/// `\d NAME` for a table: `Table "schema.name"`, the column table and the
/// `Indexes:` / `Check constraints:` / `Foreign-key constraints:` /
/// `Referenced by:` footers. Indexes are listed primary key first, then by
/// name; check and foreign-key constraints by name. Always aligned, like psql.
pub fn format_table_description(t: &TableDescription) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let table = Table {
        title: Some(format!(
            "{} \"{}.{}\"",
            if t.unlogged {
                "Unlogged table"
            } else {
                "Table"
            },
            t.schema,
            t.name
        )),
        headers: ["Column", "Type", "Collation", "Nullable", "Default"]
            .map(String::from)
            .to_vec(),
        right_align: vec![false; 5],
        rows: t
            .columns
            .iter()
            .map(|c| {
                let nullable = if c.not_null { "not null" } else { "" };
                vec![
                    c.name.clone(),
                    c.type_name.clone(),
                    opt(&c.collation),
                    nullable.to_string(),
                    opt(&c.default),
                ]
            })
            .collect(),
        footers: table_footers(t),
        default_footer: false,
    };
    render_aligned(&table)
}

fn table_footers(t: &TableDescription) -> Vec<String> {
    let mut footers = Vec::new();
    let mut indexes: Vec<&IndexDescription> = t.indexes.iter().collect();
    indexes.sort_by(|a, b| {
        (a.kind != IndexKind::PrimaryKey, &a.name).cmp(&(b.kind != IndexKind::PrimaryKey, &b.name))
    });
    push_section(
        &mut footers,
        "Indexes:",
        indexes.iter().map(|i| index_line(i)).collect(),
    );
    let named = |list: &[ConstraintDescription]| {
        let mut v: Vec<&ConstraintDescription> = list.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.iter()
            .map(|c| format!("    \"{}\" {}", c.name, c.definition))
            .collect()
    };
    push_section(
        &mut footers,
        "Check constraints:",
        named(&t.check_constraints),
    );
    push_section(
        &mut footers,
        "Foreign-key constraints:",
        named(&t.foreign_keys),
    );
    let refs = t
        .referenced_by
        .iter()
        .map(|r| {
            format!(
                "    TABLE \"{}\" CONSTRAINT \"{}\" {}",
                r.table, r.constraint.name, r.constraint.definition
            )
        })
        .collect();
    push_section(&mut footers, "Referenced by:", refs);
    footers
}

fn push_section(footers: &mut Vec<String>, heading: &str, lines: Vec<String>) {
    if !lines.is_empty() {
        footers.push(heading.to_string());
        footers.extend(lines);
    }
}

/// e.g. `    "t_pkey" PRIMARY KEY, btree (id)`.
fn index_line(i: &IndexDescription) -> String {
    let kind = match i.kind {
        IndexKind::PrimaryKey => " PRIMARY KEY,",
        IndexKind::UniqueConstraint => " UNIQUE CONSTRAINT,",
        IndexKind::Unique => " UNIQUE,",
        IndexKind::Plain => "",
    };
    let mut line = format!(
        "    \"{}\"{kind} {} ({})",
        i.name,
        i.method,
        i.columns.join(", ")
    );
    if let Some(p) = &i.predicate {
        line.push_str(" WHERE ");
        line.push_str(p);
    }
    line
}

/// A `\d` pattern piece: literal character, `?` or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glob {
    Char(char),
    One,
    Any,
}

/// A psql name pattern such as `t*`, `public.t`, `"MyTable"`: unquoted
/// letters are folded to lower case, `*` and `?` are wildcards, an unquoted
/// `.` separates schema from name. (psql also accepts regular-expression
/// characters; this crate treats them literally.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    schema: Option<Vec<Glob>>,
    name: Vec<Glob>,
}

impl NamePattern {
    pub fn parse(pattern: &str) -> Self {
        let mut parts: Vec<Vec<Glob>> = vec![Vec::new()];
        let mut quoted = false;
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let Some(cur) = parts.last_mut() else { break };
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push(Glob::Char('"'));
                }
                '"' => quoted = !quoted,
                _ if quoted => cur.push(Glob::Char(c)),
                '.' => parts.push(Vec::new()),
                '*' => cur.push(Glob::Any),
                '?' => cur.push(Glob::One),
                _ => cur.push(Glob::Char(c.to_ascii_lowercase())),
            }
        }
        let name = parts.pop().unwrap_or_default();
        NamePattern {
            schema: parts.pop(),
            name,
        }
    }

    /// Whether the pattern names a schema (`schema.name`); without one, psql
    /// only considers relations visible in the search path.
    pub fn has_schema(&self) -> bool {
        self.schema.is_some()
    }

    /// Does the relation `schema.name` match?
    pub fn matches(&self, schema: &str, name: &str) -> bool {
        let schema_ok = self
            .schema
            .as_ref()
            .is_none_or(|s| glob_match(s, &chars(schema)));
        schema_ok && glob_match(&self.name, &chars(name))
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Whole-string wildcard match (iterative, with `*` backtracking).
fn glob_match(pat: &[Glob], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Glob::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Glob::One) => (p, t) = (p + 1, t + 1),
            Some(Glob::Char(c)) if *c == text[t] => (p, t) = (p + 1, t + 1),
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    (p, t) = (sp + 1, st + 1);
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|g| *g == Glob::Any)
}
