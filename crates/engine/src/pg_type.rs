//! The `pg_type` view: a row for each type pgplay implements and for its array type, as
//! PostgreSQL 15's catalog has them. Names, categories and preferred flags come from the
//! generated function catalog (`pg_proc`), which took them from a real server; the storage
//! columns (length, by-value, alignment, storage, collation) are PostgreSQL's, listed here.
//! Why: clients and lessons look types up by oid (`pg_typeof(x)::oid`, a row description's
//! type oids), and the oids must be the ones a real server answers.

use crate::pg_proc;
use crate::types::{DataType as T, Value as V, ARRAY_OIDS};

/// `pg_catalog`'s OID.
const PG_CATALOG_NAMESPACE: u32 = 11;
/// The bootstrap superuser.
const BOOTSTRAP_SUPERUSER: u32 = 10;
/// `default` collation, which collatable types have.
const DEFAULT_COLLATION: u32 = 100;
/// `C` collation, which `name` has.
const C_COLLATION: u32 = 950;

/// How PostgreSQL stores a base type: (oid, typlen, typbyval, typalign, typstorage).
const STORAGE: &[(u32, i16, bool, u8, u8)] = &[
    (16, 1, true, b'c', b'p'),
    (17, -1, false, b'i', b'x'),
    (18, 1, true, b'c', b'p'),
    (19, 64, false, b'c', b'p'),
    (20, 8, true, b'd', b'p'),
    (21, 2, true, b's', b'p'),
    (23, 4, true, b'i', b'p'),
    (25, -1, false, b'i', b'x'),
    (26, 4, true, b'i', b'p'),
    (114, -1, false, b'i', b'x'),
    (650, -1, false, b'i', b'm'),
    (700, 4, true, b'i', b'p'),
    (701, 8, true, b'd', b'p'),
    (869, -1, false, b'i', b'm'),
    (1043, -1, false, b'i', b'x'),
    (1082, 4, true, b'i', b'p'),
    (1083, 8, true, b'd', b'p'),
    (1114, 8, true, b'd', b'p'),
    (1184, 8, true, b'd', b'p'),
    (1186, 16, false, b'd', b'p'),
    (1700, -1, false, b'i', b'm'),
    (2950, 16, false, b'c', b'p'),
    (3220, 8, true, b'd', b'p'),
    (3802, -1, false, b'i', b'x'),
];

/// One row's values that differ between types.
struct Row {
    oid: u32,
    len: i16,
    by_value: bool,
    element: u32,
    array: u32,
    align: u8,
    storage: u8,
    collation: u32,
}

fn collation(oid: u32) -> u32 {
    match oid {
        25 | 1043 => DEFAULT_COLLATION,
        19 => C_COLLATION,
        _ => 0,
    }
}

/// The base types' rows and their arrays', by oid.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for &(oid, len, by_value, align, storage) in STORAGE {
        let array = ARRAY_OIDS
            .iter()
            .find(|(e, _)| *e == oid)
            .map_or(0, |p| p.1);
        rows.push(Row {
            oid,
            len,
            by_value,
            // `name` is a fixed array of `"char"`, so it has an element type.
            element: if oid == 19 { 18 } else { 0 },
            array,
            align,
            storage,
            collation: collation(oid),
        });
        if array != 0 {
            rows.push(Row {
                oid: array,
                len: -1,
                by_value: false,
                element: oid,
                array: 0,
                align: if align == b'd' { b'd' } else { b'i' },
                storage: b'x',
                collation: collation(oid),
            });
        }
    }
    rows.sort_by_key(|r| r.oid);
    rows
}

/// The `pg_type` view: its columns and rows.
pub fn view() -> (Vec<(String, T)>, Vec<Vec<V>>) {
    let columns = [
        ("oid", T::Oid),
        ("typname", T::Name),
        ("typnamespace", T::Oid),
        ("typowner", T::Oid),
        ("typlen", T::Int2),
        ("typbyval", T::Bool),
        ("typtype", T::Char),
        ("typcategory", T::Char),
        ("typispreferred", T::Bool),
        ("typisdefined", T::Bool),
        ("typdelim", T::Char),
        ("typrelid", T::Oid),
        ("typelem", T::Oid),
        ("typarray", T::Oid),
        ("typalign", T::Char),
        ("typstorage", T::Char),
        ("typnotnull", T::Bool),
        ("typbasetype", T::Oid),
        ("typtypmod", T::Int4),
        ("typndims", T::Int4),
        ("typcollation", T::Oid),
    ];
    let catalog = pg_proc::catalog();
    let letter = |c: u8| V::Text((c as char).to_string());
    let rows = rows()
        .into_iter()
        .filter_map(|row| {
            let known = catalog.type_by_oid(row.oid)?;
            Some(vec![
                V::Oid(row.oid),
                V::Text(known.name.to_string()),
                V::Oid(PG_CATALOG_NAMESPACE),
                V::Oid(BOOTSTRAP_SUPERUSER),
                V::Int2(row.len),
                V::Bool(row.by_value),
                letter(b'b'),
                letter(known.category),
                V::Bool(known.preferred),
                V::Bool(true),
                letter(b','),
                V::Oid(0),
                V::Oid(row.element),
                V::Oid(row.array),
                letter(row.align),
                letter(row.storage),
                V::Bool(false),
                V::Oid(0),
                V::Int4(-1),
                V::Int4(0),
                V::Oid(row.collation),
            ])
        })
        .collect();
    (
        columns
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
        rows,
    )
}

#[cfg(test)]
mod tests {
    /// Every type pgplay has is in the view, with its array type.
    #[test]
    fn every_known_type_has_a_row_and_an_array() {
        let (_, rows) = super::view();
        assert_eq!(rows.len(), super::STORAGE.len() * 2);
        for (element, array) in crate::types::ARRAY_OIDS {
            let has = |oid: u32| rows.iter().any(|r| r[0] == crate::types::Value::Oid(oid));
            assert!(has(*element) && has(*array), "{element}");
        }
    }
}
