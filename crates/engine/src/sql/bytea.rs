//! The `bytea` functions and operator: `length`/`octet_length`, `get_byte`/`set_byte`,
//! `substring`/`substr`, `encode`/`decode`, `md5`, `sha224`/`sha256`/`sha384`/`sha512` and
//! `||`. The catalog (`functions::through_catalog`) chose the bytea overload; here it is typed
//! and evaluated, with PostgreSQL's errors.

use md5::Digest as _;

use super::expr::{coerce, Expr};
use crate::error::{DbError, Result};
use crate::types::{bytea, DataType, Value};

/// Functions whose every overload pgplay implements here.
const OWN: &[&str] = &[
    "get_byte", "set_byte", "encode", "decode", "sha224", "sha256", "sha384", "sha512", "byteacat",
];

/// Functions shared with text, bound here when their first argument is a bytea.
const SHARED: &[&str] = &["length", "octet_length", "substr", "substring", "md5"];

/// Binds `name(args)` if it is a bytea function (None: not one).
pub fn bind_call(name: &str, args: &[Expr]) -> Option<Result<Expr>> {
    let first = args.first().map(Expr::data_type);
    let is_bytea = first == Some(DataType::Bytea);
    if !(OWN.contains(&name) || SHARED.contains(&name) && is_bytea) {
        return None;
    }
    let data_type = match name {
        "length" | "octet_length" | "get_byte" => DataType::Int4,
        "md5" | "encode" => DataType::Text,
        _ => DataType::Bytea,
    };
    let params: &[DataType] = match name {
        "get_byte" => &[DataType::Bytea, DataType::Int4],
        "set_byte" => &[DataType::Bytea, DataType::Int4, DataType::Int4],
        "encode" => &[DataType::Bytea, DataType::Text],
        "decode" => &[DataType::Text, DataType::Text],
        "substr" | "substring" => &[DataType::Bytea, DataType::Int4, DataType::Int4],
        _ => &[DataType::Bytea],
    };
    let bound = args
        .iter()
        .zip(params)
        .map(|(arg, param)| coerce(arg.clone(), param))
        .collect::<Result<Vec<_>>>();
    Some(bound.map(|args| Expr::Call {
        name: name.to_string(),
        args,
        data_type,
    }))
}

/// Evaluates a bytea function (None: `name` is not one, or not over a bytea).
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    let over_bytea = matches!(args.first(), Some(Value::Bytea(_)));
    if !(OWN.contains(&name) || SHARED.contains(&name) && over_bytea) {
        return None;
    }
    if args.iter().any(Value::is_null) {
        return Some(Ok(Value::Null));
    }
    Some(eval_strict(name, args))
}

fn eval_strict(name: &str, args: &[Value]) -> Result<Value> {
    let bytes = |i: usize| match args.get(i) {
        Some(Value::Bytea(b)) => b.as_slice(),
        _ => &[],
    };
    let int = |i: usize| args.get(i).and_then(Value::as_i64).unwrap_or(0);
    let text = |i: usize| args.get(i).and_then(Value::to_text).unwrap_or_default();
    Ok(match name {
        "length" | "octet_length" => Value::Int4(bytes(0).len() as i32),
        "get_byte" => Value::Int4(i32::from(bytes(0)[byte_index(bytes(0), int(1))?])),
        "set_byte" => {
            let mut out = bytes(0).to_vec();
            let at = byte_index(&out, int(1))?;
            out[at] = int(2) as u8;
            Value::Bytea(out)
        }
        "substr" | "substring" => Value::Bytea(substring(bytes(0), int(1), args.get(2))?),
        "encode" => Value::Text(bytea::encode(bytes(0), &text(1))?),
        "decode" => Value::Bytea(bytea::decode(&text(0), &text(1))?),
        "md5" => Value::Text(md5_hex(bytes(0))),
        "sha224" => Value::Bytea(sha2::Sha224::digest(bytes(0)).to_vec()),
        "sha256" => Value::Bytea(sha2::Sha256::digest(bytes(0)).to_vec()),
        "sha384" => Value::Bytea(sha2::Sha384::digest(bytes(0)).to_vec()),
        "byteacat" => concat(args),
        _ => Value::Bytea(sha2::Sha512::digest(bytes(0)).to_vec()),
    })
}

/// `md5()` of text or bytea: the digest in hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    bytea::hex_encode(&md5::Md5::digest(bytes))
}

/// `get_byte`/`set_byte`'s index, checked as PostgreSQL does (2202E).
fn byte_index(bytes: &[u8], index: i64) -> Result<usize> {
    usize::try_from(index)
        .ok()
        .filter(|&at| at < bytes.len())
        .ok_or_else(|| {
            DbError::new(
                "2202E",
                format!(
                    "index {index} out of valid range, 0..{}",
                    bytes.len() as i64 - 1
                ),
            )
        })
}

/// `bytea_substr`: 1-based `start`, an optional non-negative length.
fn substring(bytes: &[u8], start: i64, length: Option<&Value>) -> Result<Vec<u8>> {
    let length = length.and_then(Value::as_i64);
    if length.is_some_and(|l| l < 0) {
        return Err(DbError::new(
            "22011",
            "negative substring length not allowed",
        ));
    }
    let end = length.map_or(i64::MAX, |l| start.saturating_add(l));
    let from = (start.max(1) - 1).min(bytes.len() as i64) as usize;
    let to = (end.max(1) - 1).clamp(from as i64, bytes.len() as i64) as usize;
    Ok(bytes[from..to].to_vec())
}

/// `bytea || bytea` (an untyped literal on either side is a bytea).
pub fn bind_concat(left: &Expr, right: &Expr) -> Option<Result<Expr>> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let bytea_or_unknown = |t: &DataType| matches!(t, DataType::Bytea | DataType::Unknown);
    if !(bytea_or_unknown(&lt) && bytea_or_unknown(&rt)) || lt == rt && lt == DataType::Unknown {
        return None;
    }
    let bound = coerce(left.clone(), &DataType::Bytea).and_then(|left| {
        Ok(Expr::Call {
            name: "byteacat".into(),
            args: vec![left, coerce(right.clone(), &DataType::Bytea)?],
            data_type: DataType::Bytea,
        })
    });
    Some(bound)
}

/// `byteacat`.
pub fn concat(args: &[Value]) -> Value {
    match args {
        [Value::Bytea(a), Value::Bytea(b)] => Value::Bytea([a.as_slice(), b].concat()),
        _ => Value::Null,
    }
}
