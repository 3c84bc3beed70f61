//! Encoding a row of values into a tuple's data bytes, and back.
//!
//! Layout: one flag byte (1 when a null bitmap follows), the bitmap, then each
//! non-null attribute: fixed-width integers little endian, strings with a
//! one-byte length when short and four bytes otherwise (like a varlena).

use pgplay_wal::Lsn;

use crate::error::{DbError, Result};
use crate::types::{DataType, Numeric, Value};

pub fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * values.len() + 1);
    let has_nulls = values.iter().any(Value::is_null);
    out.push(u8::from(has_nulls));
    if has_nulls {
        let mut bitmap = vec![0u8; values.len().div_ceil(8)];
        for (index, value) in values.iter().enumerate() {
            if !value.is_null() {
                bitmap[index / 8] |= 1 << (index % 8);
            }
        }
        out.extend_from_slice(&bitmap);
    }
    values
        .iter()
        .for_each(|value| encode_value(value, &mut out));
    out
}

fn encode_varlena(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.len() < 127 {
        out.push(bytes.len() as u8);
    } else {
        out.push(0xFF);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(bytes);
}

/// One non-null value's bytes (a NULL writes none).
pub(crate) fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => {}
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::Int2(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Int4(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Int8(v) | Value::Timestamp(v) | Value::TimestampTz(v) => {
            out.extend_from_slice(&v.to_le_bytes())
        }
        Value::Interval(v) => {
            out.extend_from_slice(&v.micros.to_le_bytes());
            out.extend_from_slice(&v.days.to_le_bytes());
            out.extend_from_slice(&v.months.to_le_bytes());
        }
        Value::Oid(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Date(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Float8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::PgLsn(v) => out.extend_from_slice(&v.0.to_le_bytes()),
        Value::Numeric(v) => encode_varlena(&v.encode(), out),
        Value::Text(v) => encode_varlena(v.as_bytes(), out),
        // An array: its lower bound, then its elements as a row of its own (null bitmap first).
        Value::Array(v) => {
            let mut bytes = v.lower.to_le_bytes().to_vec();
            bytes.extend_from_slice(&(v.items.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&encode(&v.items));
            encode_varlena(&bytes, out)
        }
        // uuid: its 16 bytes as they are, as PostgreSQL stores `pg_uuid_t`.
        Value::Uuid(v) => out.extend_from_slice(v),
        Value::Bytea(v) => encode_varlena(v, out),
        Value::Float4(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Time(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Json(v) => encode_varlena(v.as_bytes(), out),
        // jsonb is kept as its normalised text and read back by jsonb's parser.
        Value::Jsonb(v) => encode_varlena(crate::types::json::format(v).as_bytes(), out),
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < count {
            return Err(DbError::internal("tuple data is truncated"));
        }
        let (head, tail) = self.bytes.split_at(count);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("exact length"))
    }
    fn varlena(&mut self) -> Result<&'a [u8]> {
        let first = self.take(1)?[0];
        let length = if first == 0xFF {
            u32::from_le_bytes(self.array()?) as usize
        } else {
            first as usize
        };
        self.take(length)
    }
}

/// Decodes a tuple written by [`encode`] for columns of `types`. Columns the
/// tuple lacks (added later) read as NULL.
pub fn decode(data: &[u8], types: &[DataType]) -> Result<Vec<Value>> {
    let mut cursor = Cursor { bytes: data };
    let has_nulls = cursor.take(1)?[0] == 1;
    let bitmap = if has_nulls {
        cursor.take(types.len().div_ceil(8))?.to_vec()
    } else {
        Vec::new()
    };
    let mut values = Vec::with_capacity(types.len());
    for (index, data_type) in types.iter().enumerate() {
        let present = !has_nulls
            || bitmap
                .get(index / 8)
                .is_some_and(|byte| byte & (1 << (index % 8)) != 0);
        if !present {
            values.push(Value::Null);
            continue;
        }
        values.push(decode_value(&mut cursor, data_type)?);
    }
    Ok(values)
}

/// One value of `data_type` written by [`encode_value`] at the start of `data`, and the bytes
/// after it.
pub(crate) fn decode_one<'a>(data: &'a [u8], data_type: &DataType) -> Result<(Value, &'a [u8])> {
    let mut cursor = Cursor { bytes: data };
    let value = decode_value(&mut cursor, data_type)?;
    Ok((value, cursor.bytes))
}

fn decode_value(cursor: &mut Cursor<'_>, data_type: &DataType) -> Result<Value> {
    Ok(match data_type {
        DataType::Bool => Value::Bool(cursor.take(1)?[0] != 0),
        DataType::Int2 => Value::Int2(i16::from_le_bytes(cursor.array()?)),
        DataType::Int4 => Value::Int4(i32::from_le_bytes(cursor.array()?)),
        DataType::Oid => Value::Oid(u32::from_le_bytes(cursor.array()?)),
        DataType::Date => Value::Date(i32::from_le_bytes(cursor.array()?)),
        DataType::Int8 => Value::Int8(i64::from_le_bytes(cursor.array()?)),
        DataType::Timestamp => Value::Timestamp(i64::from_le_bytes(cursor.array()?)),
        DataType::TimestampTz => Value::TimestampTz(i64::from_le_bytes(cursor.array()?)),
        DataType::Interval => Value::Interval(crate::types::Interval {
            micros: i64::from_le_bytes(cursor.array()?),
            days: i32::from_le_bytes(cursor.array()?),
            months: i32::from_le_bytes(cursor.array()?),
        }),
        DataType::Float8 => Value::Float8(f64::from_le_bytes(cursor.array()?)),
        DataType::PgLsn => Value::PgLsn(Lsn(u64::from_le_bytes(cursor.array()?))),
        DataType::Numeric { .. } => {
            let bytes = cursor.varlena()?;
            Value::Numeric(
                Numeric::decode(bytes).ok_or_else(|| DbError::internal("bad numeric datum"))?,
            )
        }
        DataType::Text
        | DataType::Varchar(_)
        | DataType::Name
        | DataType::Char
        | DataType::Unknown => Value::Text(String::from_utf8_lossy(cursor.varlena()?).into_owned()),
        DataType::Array(element) => decode_array(cursor.varlena()?, element)?,
        DataType::Uuid => Value::Uuid(cursor.array()?),
        DataType::Bytea => Value::Bytea(cursor.varlena()?.to_vec()),
        DataType::Float4 => Value::Float4(f32::from_le_bytes(cursor.array()?)),
        DataType::Time(_) => Value::Time(i64::from_le_bytes(cursor.array()?)),
        DataType::Json => Value::Json(String::from_utf8_lossy(cursor.varlena()?).into_owned()),
        DataType::Jsonb => {
            let text = String::from_utf8_lossy(cursor.varlena()?).into_owned();
            let value = crate::types::json::parse_jsonb(&text)
                .map_err(|_| DbError::internal("bad jsonb datum"))?;
            Value::Jsonb(Box::new(value))
        }
    })
}

fn decode_array(bytes: &[u8], element: &DataType) -> Result<Value> {
    let mut cursor = Cursor { bytes };
    let lower = i32::from_le_bytes(cursor.array()?);
    let count = u32::from_le_bytes(cursor.array()?) as usize;
    // Each element takes at least one bit of the bitmap or a byte, so a count beyond that is
    // a damaged tuple, not an allocation to attempt.
    if count > crate::types::array::MAX_ITEMS || count > cursor.bytes.len() * 8 {
        return Err(DbError::internal("bad array datum"));
    }
    let types = vec![element.clone(); count];
    let items = decode(cursor.bytes, &types)?;
    Ok(Value::Array(Box::new(crate::types::Array { lower, items })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_with_nulls() {
        let types = [
            DataType::Int4,
            DataType::Text,
            DataType::NUMERIC,
            DataType::Bool,
        ];
        let values = vec![
            Value::Int4(7),
            Value::Null,
            Value::Numeric(Numeric::from_scaled(1234, 2)),
            Value::Bool(true),
        ];
        assert_eq!(decode(&encode(&values), &types).unwrap(), values);
        let long = vec![
            Value::Int4(1),
            Value::Text("x".repeat(500)),
            Value::Null,
            Value::Null,
        ];
        assert_eq!(decode(&encode(&long), &types).unwrap(), long);
        let arrays = vec![Value::Array(Box::new(crate::types::Array {
            lower: 0,
            items: vec![Value::Text("a".into()), Value::Null],
        }))];
        let array_type = [DataType::Array(Box::new(DataType::Text))];
        assert_eq!(decode(&encode(&arrays), &array_type).unwrap(), arrays);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &[DataType::Int4, DataType::Text, DataType::NUMERIC]);
            let _ = decode(&bytes, &[DataType::Array(Box::new(DataType::Text))]);
        }
    }
}
