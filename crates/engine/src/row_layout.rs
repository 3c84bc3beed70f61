//! How a table's rows sit in its tuples once its columns have changed.
//!
//! PostgreSQL never moves a column: `ADD COLUMN` appends an attribute (rows stored
//! before it have fewer attributes, `t_natts`, and read the column's `attmissingval`,
//! or NULL), and `DROP COLUMN` only marks the attribute `attisdropped`, so every
//! stored tuple keeps its layout and neither needs a rewrite. A [`RowLayout`] maps
//! the stored attributes (by attnum) to the columns the SQL layer sees, which are
//! the visible ones in attnum order.

use crate::catalog::TableDef;
use crate::error::Result;
use crate::tuple;
use crate::types::{DataType, Value};

/// The physical attributes of a table and where its visible columns are among them.
#[derive(Clone, Debug)]
pub struct RowLayout {
    /// The type of each attribute, attnum 1 first (a dropped one keeps its old type).
    types: Vec<DataType>,
    /// What each attribute reads as when a tuple ends before it.
    missing: Vec<Value>,
    /// For each visible column, its attribute's position; None when they are the same.
    visible: Option<Vec<usize>>,
    /// Catalog rows leave out trailing attributes equal to their missing value.
    trims: bool,
}

impl RowLayout {
    pub fn of(table: &TableDef) -> RowLayout {
        let natts = table.natts();
        let mut types = vec![DataType::Int4; natts];
        let mut missing = vec![Value::Null; natts];
        let mut visible = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            let at = (column.attnum.max(1) - 1) as usize;
            types[at] = column.data_type.clone();
            missing[at] = column.missing.clone().unwrap_or(Value::Null);
            visible.push(at);
        }
        for (attnum, data_type) in &table.dropped {
            types[(attnum.max(&1) - 1) as usize] = data_type.clone();
        }
        let identity = visible.iter().enumerate().all(|(i, at)| i == *at) && visible.len() == natts;
        RowLayout {
            types,
            missing,
            visible: (!identity).then_some(visible),
            trims: table.is_system(),
        }
    }

    /// The visible columns' values of a stored tuple of `natts` attributes.
    pub fn decode(&self, natts: u16, data: &[u8]) -> Result<Vec<Value>> {
        let stored = (natts as usize).min(self.types.len());
        let mut values = tuple::decode(data, &self.types[..stored])?;
        values.extend(self.missing[stored..].iter().cloned());
        Ok(match &self.visible {
            None => values,
            Some(visible) => visible.iter().map(|at| values[*at].clone()).collect(),
        })
    }

    /// The tuple (attribute count and data) for a row of visible `values`; dropped
    /// attributes are stored as NULL. A catalog row may give fewer values than its
    /// catalog has columns: the rest read as their missing values.
    pub fn encode(&self, values: &[Value]) -> (u16, Vec<u8>) {
        let mut physical: Vec<Value> = match &self.visible {
            None => values.to_vec(),
            Some(visible) => {
                let mut physical = vec![Value::Null; self.types.len()];
                for (value, at) in values.iter().zip(visible) {
                    physical[*at] = value.clone();
                }
                physical
            }
        };
        if self.trims {
            physical.truncate(self.types.len());
            while let Some(last) = physical.last() {
                let at = physical.len() - 1;
                let is_missing = match (last, &self.missing[at]) {
                    (Value::Null, Value::Null) => true,
                    (a, b) => a == b,
                };
                if !is_missing || at < self.first_added() {
                    break;
                }
                physical.pop();
            }
        }
        (physical.len() as u16, tuple::encode(&physical))
    }

    /// The first attribute a catalog gained later (one with a missing value that is not NULL
    /// or after such one); catalog rows are never trimmed below it.
    fn first_added(&self) -> usize {
        self.missing
            .iter()
            .position(|m| !m.is_null())
            .unwrap_or(self.types.len())
    }
}

impl TableDef {
    /// `relnatts`: every attribute, dropped ones included.
    pub fn natts(&self) -> usize {
        let visible = self.columns.iter().map(|c| c.attnum).max().unwrap_or(0);
        let dropped = self.dropped.iter().map(|(a, _)| *a).max().unwrap_or(0);
        visible.max(dropped).max(0) as usize
    }

    pub fn layout(&self) -> RowLayout {
        RowLayout::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{system_tables, ColumnDef, PG_ATTRIBUTE};

    fn column(name: &str, attnum: i16, data_type: DataType, missing: Option<Value>) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            data_type,
            not_null: false,
            default: None,
            attnum,
            missing,
        }
    }

    /// `t (a int, b text, c int DEFAULT 7)`: b dropped, c added later with a default.
    fn altered() -> TableDef {
        let mut table = system_tables().remove(0);
        table.oid = 16384;
        table.columns = vec![
            column("a", 1, DataType::Int4, None),
            column("c", 3, DataType::Int4, Some(Value::Int4(7))),
        ];
        table.dropped = vec![(2, DataType::Text)];
        table
    }

    #[test]
    fn old_tuples_keep_their_layout() {
        let table = altered();
        let layout = table.layout();
        // Written before the ALTERs: (a, b).
        let old = tuple::encode(&[Value::Int4(1), Value::Text("gone".into())]);
        assert_eq!(
            layout.decode(2, &old).unwrap(),
            vec![Value::Int4(1), Value::Int4(7)]
        );
        // Written after: every attribute, the dropped one NULL.
        let (natts, data) = layout.encode(&[Value::Int4(2), Value::Int4(3)]);
        assert_eq!(natts, 3);
        assert_eq!(
            tuple::decode(&data, &[DataType::Int4, DataType::Text, DataType::Int4]).unwrap(),
            vec![Value::Int4(2), Value::Null, Value::Int4(3)]
        );
        assert_eq!(
            layout.decode(natts, &data).unwrap(),
            vec![Value::Int4(2), Value::Int4(3)]
        );
    }

    #[test]
    fn catalog_rows_leave_out_the_columns_they_do_not_need() {
        let pg_attribute = system_tables()
            .into_iter()
            .find(|t| t.oid == PG_ATTRIBUTE)
            .unwrap();
        let layout = pg_attribute.layout();
        let plain = vec![
            Value::Oid(16384),
            Value::Text("x".into()),
            Value::Oid(23),
            Value::Int4(-1),
            Value::Int2(1),
            Value::Bool(false),
            Value::Bool(false),
        ];
        let mut full = plain.clone();
        full.extend([Value::Bool(false), Value::Bool(false), Value::Null]);
        // The same bytes as before the catalog had the new columns.
        assert_eq!(layout.encode(&full), (7, tuple::encode(&plain)));
        assert_eq!(layout.encode(&plain), (7, tuple::encode(&plain)));
        let (natts, data) = layout.encode(&full);
        assert_eq!(layout.decode(natts, &data).unwrap(), full);
        let mut dropped = full.clone();
        dropped[8] = Value::Bool(true);
        let (natts, data) = layout.encode(&dropped);
        assert_eq!(natts, 9);
        assert_eq!(layout.decode(natts, &data).unwrap(), dropped);
    }
}
