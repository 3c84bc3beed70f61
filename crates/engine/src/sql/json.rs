//! json and jsonb operators and functions: `->`, `->>`, `#>`, `#>>` on both types; `@>`, `<@`,
//! `?`, `?|`, `?&`, `||`, `-`, `#-` on jsonb; `to_json(b)`, `json(b)_build_object`/`_array`,
//! `jsonb_pretty`, `jsonb_set`, `jsonb_insert`, `jsonb_strip_nulls`, `json(b)_typeof`,
//! `json(b)_array_length`. The catalog (`functions::through_catalog`) chose the function; here
//! each is typed and evaluated. A `json` value is its text: each operator parses it again and
//! answers with the source text of the member it picks, as PostgreSQL does. The set-returning
//! ones (`json(b)_each`, `_array_elements`, `_object_keys`) are in `plan::srf`, the aggregates
//! (`json(b)_agg`, `json(b)_object_agg`) in `plan::aggregate`; both use the helpers here.

use sqlparser::ast::BinaryOperator;

use super::expr::{coerce, operator_error, AggFunc, Expr};
use crate::error::{code, DbError, Result};
use crate::types::json::{self, Jsonb, Kind, Node};
use crate::types::{DataType, Value};

/// The json functions pgplay implements (scalar ones; see the module doc for the others).
pub const FUNCTIONS: &[&str] = &[
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "jsonb_pretty",
    "jsonb_set",
    "jsonb_insert",
    "jsonb_strip_nulls",
    "json_typeof",
    "jsonb_typeof",
    "json_array_length",
    "jsonb_array_length",
];

/// Internal names of the operators, evaluated here too.
const OPERATORS: &[&str] = &[
    "json_field",
    "json_field_text",
    "json_path",
    "json_path_text",
    "jsonb_exists",
    "jsonb_exists_any",
    "jsonb_exists_all",
    "jsonb_contains",
    "jsonb_contained",
    "jsonb_concat",
    "jsonb_delete",
    "jsonb_delete_path",
];

/// The set-returning json functions (`plan::srf`).
pub const SET_RETURNING: &[&str] = &[
    "json_each",
    "jsonb_each",
    "json_each_text",
    "jsonb_each_text",
    "json_array_elements",
    "jsonb_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
];

pub fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

fn is_json(t: &DataType) -> bool {
    matches!(t, DataType::Json | DataType::Jsonb)
}

fn call(name: &str, args: Vec<Expr>, data_type: DataType) -> Result<Expr> {
    Ok(Expr::Call {
        name: name.to_string(),
        args,
        data_type,
    })
}

/// Whether `op` on these operand types is a json operator (or a comparison of `json`, which
/// has none).
pub fn is_json_operator(op: &BinaryOperator, lt: &DataType, rt: &DataType) -> bool {
    use BinaryOperator as B;
    let jsonb_pair = (*lt == DataType::Jsonb || *rt == DataType::Jsonb)
        && matches!(lt, DataType::Jsonb | DataType::Unknown)
        && matches!(rt, DataType::Jsonb | DataType::Unknown);
    match op {
        B::AtArrow | B::ArrowAt | B::StringConcat => jsonb_pair,
        B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow => is_json(lt),
        B::Question | B::QuestionPipe | B::QuestionAnd | B::HashMinus | B::Minus => {
            *lt == DataType::Jsonb
        }
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            *lt == DataType::Json || *rt == DataType::Json
        }
        _ => false,
    }
}

/// Binds a json operator ([`is_json_operator`] said it is one).
pub fn bind_operator(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    use BinaryOperator as B;
    let jsonb_pair = (lt == DataType::Jsonb || rt == DataType::Jsonb)
        && matches!(lt, DataType::Jsonb | DataType::Unknown)
        && matches!(rt, DataType::Jsonb | DataType::Unknown);
    let bound = match op {
        B::AtArrow | B::ArrowAt | B::StringConcat if jsonb_pair => {
            let name = match op {
                B::AtArrow => "jsonb_contains",
                B::ArrowAt => "jsonb_contained",
                _ => "jsonb_concat",
            };
            let result = if name == "jsonb_concat" {
                DataType::Jsonb
            } else {
                DataType::Bool
            };
            both_jsonb(left, right).and_then(|args| call(name, args, result))
        }
        B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow if is_json(&lt) => {
            bind_access(op, left, right)
        }
        B::Question | B::QuestionPipe | B::QuestionAnd | B::HashMinus | B::Minus
            if lt == DataType::Jsonb =>
        {
            bind_jsonb_key_operator(op, left, right)
        }
        _ => Err(operator_error(&op.to_string(), &lt, &rt)),
    };
    bound
}

fn both_jsonb(left: Expr, right: Expr) -> Result<Vec<Expr>> {
    Ok(vec![
        coerce(left, &DataType::Jsonb)?,
        coerce(right, &DataType::Jsonb)?,
    ])
}

/// `->`, `->>` (a key or an index) and `#>`, `#>>` (a path, `text[]`).
fn bind_access(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let symbol = op.to_string();
    let as_text = matches!(
        op,
        BinaryOperator::LongArrow | BinaryOperator::HashLongArrow
    );
    let result = if as_text { DataType::Text } else { lt.clone() };
    if matches!(
        op,
        BinaryOperator::HashArrow | BinaryOperator::HashLongArrow
    ) {
        let path = path_argument(right).map_err(|_| operator_error(&symbol, &lt, &rt))?;
        let name = if as_text {
            "json_path_text"
        } else {
            "json_path"
        };
        return call(name, vec![left, path], result);
    }
    let key = match &rt {
        DataType::Unknown => coerce(right, &DataType::Text)?,
        t if t.is_string() => coerce(right, &DataType::Text)?,
        DataType::Int2 | DataType::Int4 => coerce(right, &DataType::Int4)?,
        _ => return Err(operator_error(&symbol, &lt, &rt)),
    };
    let name = if as_text {
        "json_field_text"
    } else {
        "json_field"
    };
    call(name, vec![left, key], result)
}

/// A `text[]` operand (an untyped literal read as one).
fn path_argument(expr: Expr) -> Result<Expr> {
    let text_array = DataType::Text.array_of();
    match expr.data_type() {
        DataType::Unknown => coerce(expr, &text_array),
        DataType::Array(element) if element.is_string() => coerce(expr, &text_array),
        _ => Err(DbError::internal("not a path")),
    }
}

/// `?` (text), `?|` and `?&` (text[]), `-` (text, integer or text[]), `#-` (text[]).
fn bind_jsonb_key_operator(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let symbol = op.to_string();
    let wrong = || operator_error(&symbol, &lt, &rt);
    let text = |e: Expr| -> Result<Expr> {
        if rt == DataType::Unknown || rt.is_string() {
            coerce(e, &DataType::Text)
        } else {
            Err(wrong())
        }
    };
    use BinaryOperator as B;
    let (name, key, result) = match op {
        B::Question => ("jsonb_exists", text(right)?, DataType::Bool),
        B::QuestionPipe => (
            "jsonb_exists_any",
            path_argument(right).map_err(|_| wrong())?,
            DataType::Bool,
        ),
        B::QuestionAnd => (
            "jsonb_exists_all",
            path_argument(right).map_err(|_| wrong())?,
            DataType::Bool,
        ),
        B::HashMinus => (
            "jsonb_delete_path",
            path_argument(right).map_err(|_| wrong())?,
            DataType::Jsonb,
        ),
        _ => {
            let key = match &rt {
                DataType::Int2 | DataType::Int4 => coerce(right, &DataType::Int4)?,
                DataType::Array(_) => path_argument(right).map_err(|_| wrong())?,
                _ => text(right)?,
            };
            ("jsonb_delete", key, DataType::Jsonb)
        }
    };
    call(name, vec![left, key], result)
}

/// Binds a json function the catalog chose.
pub fn bind_call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    let result = match name {
        "to_json" | "json_build_object" | "json_build_array" => DataType::Json,
        "to_jsonb" | "jsonb_build_object" | "jsonb_build_array" | "jsonb_set" | "jsonb_insert"
        | "jsonb_strip_nulls" => DataType::Jsonb,
        "json_array_length" | "jsonb_array_length" => DataType::Int4,
        _ => DataType::Text,
    };
    if matches!(name, "to_json" | "to_jsonb")
        && args.first().map(Expr::data_type) == Some(DataType::Unknown)
    {
        return Err(DbError::new(
            code::DATATYPE_MISMATCH,
            "could not determine polymorphic type because input has type unknown",
        ));
    }
    if name.ends_with("build_object") && args.len() % 2 == 1 {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "argument list must have even number of elements",
        )
        .with_hint(format!(
            "The arguments of {name}() must consist of alternating keys and values."
        )));
    }
    let args = args
        .into_iter()
        .map(|a| {
            if a.data_type() == DataType::Unknown {
                coerce(a, &DataType::Text)
            } else {
                Ok(a)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let types = args.iter().map(Expr::data_type).collect();
    Ok(Expr::Call {
        name: format!("{name}\u{0}{}", encode_types(&types)),
        args,
        data_type: result,
    })
}

/// The argument types ride along in the call's name (after a NUL), since `to_json` must know
/// a value's type to convert it (a text `1` is a string, an integer `1` a number).
fn encode_types(types: &Vec<DataType>) -> String {
    types
        .iter()
        .map(|t| t.oid().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_types(encoded: &str) -> Vec<DataType> {
    encoded
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .ok()
                .and_then(|oid| DataType::from_oid(oid, -1))
                .unwrap_or(DataType::Text)
        })
        .collect()
}

/// `row_to_json(t)` and friends over a whole row: the columns are the arguments, their names
/// and types ride in the call's name.
pub fn bind_whole_row(name: &str, columns: Vec<(usize, String, DataType)>) -> Expr {
    let types: Vec<DataType> = columns.iter().map(|(_, _, t)| t.clone()).collect();
    let names: Vec<String> = columns.iter().map(|(_, n, _)| n.clone()).collect();
    let data_type = if name == "to_jsonb" {
        DataType::Jsonb
    } else {
        DataType::Json
    };
    Expr::Call {
        name: format!(
            "json_row\u{0}{}\u{0}{}\u{0}{}",
            data_type.oid(),
            encode_types(&types),
            names.join("\u{1}")
        ),
        args: columns
            .into_iter()
            .map(|(i, _, t)| Expr::Column(i, t))
            .collect(),
        data_type,
    }
}

/// A whole row as json (`{"id":1,"s":"x"}`, no spaces, as `row_to_json`) or jsonb.
fn whole_row(spec: &str, args: &[Value]) -> Result<Value> {
    let mut parts = spec.split('\u{0}');
    let binary = parts.next() == Some("3802");
    let types = decode_types(parts.next().unwrap_or(""));
    let names: Vec<&str> = parts.next().unwrap_or("").split('\u{1}').collect();
    let mut text = Vec::new();
    let mut pairs = Vec::new();
    for ((value, data_type), name) in args.iter().zip(&types).zip(&names) {
        if binary {
            pairs.push((name.to_string(), to_jsonb(value, data_type)?));
        } else {
            let mut part = String::new();
            json::escape(name, &mut part);
            part.push(':');
            part.push_str(&to_json_text(value, data_type));
            text.push(part);
        }
    }
    Ok(if binary {
        jsonb(Jsonb::Object(json::normalise(pairs)))
    } else {
        Value::Json(format!("{{{}}}", text.join(",")))
    })
}

/// Evaluates a json function or operator; None for other names.
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    if let Some(spec) = name.strip_prefix("json_row\u{0}") {
        return Some(whole_row(spec, args));
    }
    if let Some((base, types)) = name.split_once('\u{0}') {
        if is_function(base) {
            return Some(eval_function(base, args, &decode_types(types)));
        }
    }
    if !OPERATORS.contains(&name) {
        return None;
    }
    if args.iter().any(Value::is_null) {
        return Some(Ok(Value::Null));
    }
    Some(eval_operator(name, &args[0], &args[1]))
}

/// A json or jsonb value as jsonb (json reparsed).
pub fn as_jsonb(value: &Value) -> Result<Jsonb> {
    match value {
        Value::Jsonb(v) => Ok(v.as_ref().clone()),
        Value::Json(text) => json::parse_jsonb(text),
        _ => Err(DbError::internal("not a json value")),
    }
}

fn jsonb(value: Jsonb) -> Value {
    Value::Jsonb(Box::new(value))
}

fn text_items(value: &Value) -> Vec<Option<String>> {
    match value {
        Value::Array(array) => array.items.iter().map(Value::to_text).collect(),
        _ => Vec::new(),
    }
}

fn eval_operator(name: &str, target: &Value, key: &Value) -> Result<Value> {
    match name {
        "json_field" | "json_field_text" => {
            let text = name == "json_field_text";
            match target {
                Value::Json(source) => {
                    let node = json::parse(source)?;
                    Ok(node_result(step(&node, key), text))
                }
                Value::Jsonb(value) => Ok(jsonb_result(jsonb_step(value, key), text)),
                _ => Ok(Value::Null),
            }
        }
        "json_path" | "json_path_text" => {
            let text = name == "json_path_text";
            let path = text_items(key);
            match target {
                Value::Json(source) => {
                    let node = json::parse(source)?;
                    let mut at = Some(&node);
                    for part in &path {
                        let Some(part) = part else {
                            return Ok(Value::Null);
                        };
                        at = at.and_then(|n| step(n, &Value::Text(part.clone())));
                    }
                    Ok(node_result(at, text))
                }
                Value::Jsonb(value) => {
                    let mut at = Some(value.as_ref());
                    for part in &path {
                        let Some(part) = part else {
                            return Ok(Value::Null);
                        };
                        at = at.and_then(|v| jsonb_step(v, &Value::Text(part.clone())));
                    }
                    Ok(jsonb_result(at, text))
                }
                _ => Ok(Value::Null),
            }
        }
        _ => eval_jsonb_operator(name, &as_jsonb(target)?, key),
    }
}

fn eval_jsonb_operator(name: &str, target: &Jsonb, key: &Value) -> Result<Value> {
    Ok(match name {
        "jsonb_exists" => Value::Bool(exists(target, &key.to_text().unwrap_or_default())),
        "jsonb_exists_any" | "jsonb_exists_all" => {
            let keys: Vec<String> = text_items(key).into_iter().flatten().collect();
            let hit = |k: &String| exists(target, k);
            Value::Bool(if name == "jsonb_exists_any" {
                keys.iter().any(hit)
            } else {
                keys.iter().all(hit)
            })
        }
        "jsonb_contains" => Value::Bool(json::contains(target, &as_jsonb(key)?)),
        "jsonb_contained" => Value::Bool(json::contains(&as_jsonb(key)?, target)),
        "jsonb_concat" => jsonb(concat(target.clone(), as_jsonb(key)?)),
        "jsonb_delete" => jsonb(delete(target.clone(), key)?),
        "jsonb_delete_path" => {
            let path: Vec<Option<String>> = text_items(key);
            jsonb(delete_path(target.clone(), &path)?)
        }
        _ => return Err(DbError::internal("json operator")),
    })
}

/// `?`: a key of an object, or a string element of an array (or the string itself).
fn exists(value: &Jsonb, key: &str) -> bool {
    match value {
        Jsonb::Object(pairs) => json::lookup(pairs, key).is_some(),
        Jsonb::Array(items) => items
            .iter()
            .any(|i| matches!(i, Jsonb::String(s) if s == key)),
        Jsonb::String(s) => s == key,
        _ => false,
    }
}

/// An array index as PostgreSQL reads it: negative counts from the end.
fn index(len: usize, i: i64) -> Option<usize> {
    let at = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&at).then_some(at as usize)
}

/// One step into a json node: a key of an object (the last of equal keys) or an element.
fn step<'n, 'a>(node: &'n Node<'a>, key: &Value) -> Option<&'n Node<'a>> {
    match (&node.kind, key) {
        (Kind::Object(members), Value::Text(k)) => members
            .iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v),
        (Kind::Array(items), Value::Text(k)) => {
            let i: i64 = k.trim().parse().ok()?;
            index(items.len(), i).map(|i| &items[i])
        }
        (Kind::Array(items), other) => index(items.len(), other.as_i64()?).map(|i| &items[i]),
        _ => None,
    }
}

fn jsonb_step<'v>(value: &'v Jsonb, key: &Value) -> Option<&'v Jsonb> {
    match (value, key) {
        (Jsonb::Object(pairs), Value::Text(k)) => json::lookup(pairs, k),
        (Jsonb::Array(items), Value::Text(k)) => {
            let i: i64 = k.trim().parse().ok()?;
            index(items.len(), i).map(|i| &items[i])
        }
        (Jsonb::Array(items), other) => index(items.len(), other.as_i64()?).map(|i| &items[i]),
        _ => None,
    }
}

fn node_result(node: Option<&Node<'_>>, text: bool) -> Value {
    match node {
        None => Value::Null,
        Some(node) if text => match &node.kind {
            Kind::Null => Value::Null,
            Kind::String(s) => Value::Text(s.clone()),
            _ => Value::Text(node.text.to_string()),
        },
        Some(node) => Value::Json(node.text.to_string()),
    }
}

fn jsonb_result(value: Option<&Jsonb>, text: bool) -> Value {
    match value {
        None => Value::Null,
        Some(v) if text => json::as_text(v).map_or(Value::Null, Value::Text),
        Some(v) => jsonb(v.clone()),
    }
}

/// `||`: objects merged (the right side's keys win), arrays joined, a scalar or object
/// wrapped as a one-element array.
fn concat(left: Jsonb, right: Jsonb) -> Jsonb {
    match (left, right) {
        (Jsonb::Object(mut a), Jsonb::Object(b)) => {
            a.extend(b);
            Jsonb::Object(json::normalise(a))
        }
        (Jsonb::Array(mut a), Jsonb::Array(b)) => {
            a.extend(b);
            Jsonb::Array(a)
        }
        (Jsonb::Array(mut a), other) => {
            a.push(other);
            Jsonb::Array(a)
        }
        (other, Jsonb::Array(mut b)) => {
            b.insert(0, other);
            Jsonb::Array(b)
        }
        (a, b) => Jsonb::Array(vec![a, b]),
    }
}

fn scalar_error(what: &str) -> DbError {
    DbError::new(code::INVALID_PARAMETER_VALUE, format!("cannot {what}"))
}

/// `-`: a key (or string elements of an array), an element by index, or several keys.
fn delete(value: Jsonb, key: &Value) -> Result<Jsonb> {
    let is_scalar = !matches!(value, Jsonb::Array(_) | Jsonb::Object(_));
    if is_scalar {
        return Err(scalar_error("delete from scalar"));
    }
    let keys: Vec<String> = match key {
        Value::Array(_) => text_items(key).into_iter().flatten().collect(),
        Value::Text(k) => vec![k.clone()],
        other => {
            let i = other.as_i64().unwrap_or(0);
            return match value {
                Jsonb::Array(mut items) => {
                    if let Some(at) = index(items.len(), i) {
                        items.remove(at);
                    }
                    Ok(Jsonb::Array(items))
                }
                _ => Err(scalar_error("delete from object using integer index")),
            };
        }
    };
    Ok(match value {
        Jsonb::Object(pairs) => Jsonb::Object(
            pairs
                .into_iter()
                .filter(|(k, _)| !keys.contains(k))
                .collect(),
        ),
        Jsonb::Array(items) => Jsonb::Array(
            items
                .into_iter()
                .filter(|i| !matches!(i, Jsonb::String(s) if keys.contains(s)))
                .collect(),
        ),
        other => other,
    })
}

/// `#-`: the member at a path removed.
fn delete_path(value: Jsonb, path: &[Option<String>]) -> Result<Jsonb> {
    if !matches!(value, Jsonb::Array(_) | Jsonb::Object(_)) {
        return Err(scalar_error("delete path in scalar"));
    }
    let mut value = value;
    if let Some((last, parents)) = path.split_last() {
        if let Some(parent) = walk_mut(&mut value, parents)? {
            remove_member(parent, last.as_deref().unwrap_or(""), parents.len() + 1)?;
        }
    }
    Ok(value)
}

fn path_index(part: &str, position: usize) -> Result<i64> {
    part.trim().parse().map_err(|_| {
        DbError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("path element at position {position} is not an integer: \"{part}\""),
        )
    })
}

fn remove_member(parent: &mut Jsonb, key: &str, position: usize) -> Result<()> {
    match parent {
        Jsonb::Object(pairs) => pairs.retain(|(k, _)| k != key),
        Jsonb::Array(items) => {
            if let Some(at) = index(items.len(), path_index(key, position)?) {
                items.remove(at);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The container at `path` inside `value`, if every step exists.
fn walk_mut<'v>(value: &'v mut Jsonb, path: &[Option<String>]) -> Result<Option<&'v mut Jsonb>> {
    let mut at = value;
    for (i, part) in path.iter().enumerate() {
        let Some(part) = part else {
            return Err(null_path(i + 1));
        };
        at = match at {
            Jsonb::Object(pairs) => {
                match pairs
                    .binary_search_by(|(k, _)| json::key_order(k, part))
                    .ok()
                {
                    Some(found) => &mut pairs[found].1,
                    None => return Ok(None),
                }
            }
            Jsonb::Array(items) => {
                let len = items.len();
                match index(len, path_index(part, i + 1)?) {
                    Some(found) => &mut items[found],
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
    }
    Ok(Some(at))
}

fn null_path(position: usize) -> DbError {
    DbError::new(
        code::NULL_VALUE_NOT_ALLOWED,
        format!("path element at position {position} is null"),
    )
}

fn eval_function(name: &str, args: &[Value], types: &[DataType]) -> Result<Value> {
    let arg_type = |i: usize| types.get(i).cloned().unwrap_or(DataType::Text);
    match name {
        "json_build_object" | "jsonb_build_object" => return build_object(name, args, types),
        "json_build_array" => {
            let items: Vec<String> = args
                .iter()
                .zip(types)
                .map(|(v, t)| to_json_text(v, t))
                .collect();
            return Ok(Value::Json(format!("[{}]", items.join(", "))));
        }
        "jsonb_build_array" => {
            let items = args
                .iter()
                .zip(types)
                .map(|(v, t)| to_jsonb(v, t))
                .collect::<Result<Vec<_>>>()?;
            return Ok(jsonb(Jsonb::Array(items)));
        }
        _ => {}
    }
    if args.first().is_none_or(Value::is_null) {
        return Ok(Value::Null);
    }
    let first = &args[0];
    Ok(match name {
        "to_json" => Value::Json(to_json_text(first, &arg_type(0))),
        "to_jsonb" => jsonb(to_jsonb(first, &arg_type(0))?),
        "jsonb_pretty" => Value::Text(json::pretty(&as_jsonb(first)?)),
        "jsonb_strip_nulls" => jsonb(strip_nulls(as_jsonb(first)?)),
        "json_typeof" | "jsonb_typeof" => Value::Text(json::type_name(&as_jsonb(first)?).into()),
        "json_array_length" | "jsonb_array_length" => match as_jsonb(first)? {
            Jsonb::Array(items) => Value::Int4(items.len() as i32),
            Jsonb::Object(_) if name == "json_array_length" => {
                return Err(scalar_error("get array length of a non-array"))
            }
            Jsonb::Object(_) => return Err(scalar_error("get array length of a non-array")),
            _ => return Err(scalar_error("get array length of a scalar")),
        },
        "jsonb_set" | "jsonb_insert" => {
            if args.iter().take(3).any(Value::is_null) {
                return Ok(Value::Null);
            }
            let flag = args.get(3).map(|v| matches!(v, Value::Bool(true)));
            let path = text_items(&args[1]);
            let new = as_jsonb(&args[2])?;
            let target = as_jsonb(first)?;
            jsonb(if name == "jsonb_set" {
                set_path(target, &path, new, flag.unwrap_or(true))?
            } else {
                insert_path(target, &path, new, flag.unwrap_or(false))?
            })
        }
        _ => return Err(DbError::internal("json function")),
    })
}

/// `json_build_object`: `{"a" : 1, "b" : 2}`; `jsonb_build_object` normalised.
fn build_object(name: &str, args: &[Value], types: &[DataType]) -> Result<Value> {
    let mut json_parts = Vec::new();
    let mut pairs = Vec::new();
    for (i, pair) in args.chunks(2).enumerate() {
        let Some(key) = pair[0].to_text() else {
            return Err(DbError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("argument {}: key must not be null", 2 * i + 1),
            ));
        };
        let value_type = types.get(2 * i + 1).cloned().unwrap_or(DataType::Text);
        if name == "json_build_object" {
            let mut part = String::new();
            json::escape(&key, &mut part);
            part.push_str(" : ");
            part.push_str(&to_json_text(&pair[1], &value_type));
            json_parts.push(part);
        } else {
            pairs.push((key, to_jsonb(&pair[1], &value_type)?));
        }
    }
    Ok(if name == "json_build_object" {
        Value::Json(format!("{{{}}}", json_parts.join(", ")))
    } else {
        jsonb(Jsonb::Object(json::normalise(pairs)))
    })
}

/// `to_json`'s text for a value of `data_type` (`datum_to_json`).
pub fn to_json_text(value: &Value, data_type: &DataType) -> String {
    let mut out = String::new();
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Oid(_) => {
            out.push_str(&value.to_text().unwrap_or_default())
        }
        Value::Numeric(_) | Value::Float8(_) => {
            let text = value.to_text().unwrap_or_default();
            if text.chars().any(|c| c.is_ascii_alphabetic() && c != 'e') {
                json::escape(&text, &mut out);
            } else {
                out.push_str(&text);
            }
        }
        Value::Json(text) => out.push_str(text),
        Value::Jsonb(v) => out.push_str(&json::format(v)),
        Value::Array(array) => {
            let element = data_type.element().cloned().unwrap_or(DataType::Text);
            let items: Vec<String> = array
                .items
                .iter()
                .map(|i| to_json_text(i, &element))
                .collect();
            out.push_str(&format!("[{}]", items.join(",")));
        }
        Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_) => {
            json::escape(&iso_datetime(value), &mut out)
        }
        other => json::escape(&other.to_text().unwrap_or_default(), &mut out),
    }
    out
}

/// Timestamps as JSON writes them: ISO 8601 with a `T` and, for timestamptz, `+00:00`.
fn iso_datetime(value: &Value) -> String {
    let text = value.to_text().unwrap_or_default();
    if matches!(text.as_str(), "infinity" | "-infinity") {
        return text;
    }
    let mut iso = text.replacen(' ', "T", 1);
    if let Value::TimestampTz(_) = value {
        // `+01` → `+01:00`; `+05:30` stays.
        if let Some(at) = iso.rfind(['+', '-']) {
            if iso.len() - at == 3 {
                iso.push_str(":00");
            }
        }
    }
    iso
}

/// `to_jsonb`.
pub fn to_jsonb(value: &Value, data_type: &DataType) -> Result<Jsonb> {
    Ok(match value {
        Value::Null => Jsonb::Null,
        Value::Bool(b) => Jsonb::Bool(*b),
        Value::Json(text) => json::parse_jsonb(text)?,
        Value::Jsonb(v) => v.as_ref().clone(),
        Value::Array(array) => {
            let element = data_type.element().cloned().unwrap_or(DataType::Text);
            Jsonb::Array(
                array
                    .items
                    .iter()
                    .map(|i| to_jsonb(i, &element))
                    .collect::<Result<_>>()?,
            )
        }
        Value::Text(s) => Jsonb::String(s.clone()),
        other => json::parse_jsonb(&to_json_text(other, data_type))?,
    })
}

fn strip_nulls(value: Jsonb) -> Jsonb {
    match value {
        Jsonb::Object(pairs) => Jsonb::Object(
            pairs
                .into_iter()
                .filter(|(_, v)| *v != Jsonb::Null)
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Jsonb::Array(items) => Jsonb::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// `jsonb_set`: the member at `path` replaced, or added when `create`.
fn set_path(mut target: Jsonb, path: &[Option<String>], new: Jsonb, create: bool) -> Result<Jsonb> {
    if !matches!(target, Jsonb::Array(_) | Jsonb::Object(_)) {
        return Err(scalar_error("set path in scalar"));
    }
    let Some((last, parents)) = path.split_last() else {
        return Ok(target);
    };
    let Some(last) = last else {
        return Err(null_path(path.len()));
    };
    let Some(parent) = walk_mut(&mut target, parents)? else {
        return Ok(target);
    };
    match parent {
        Jsonb::Object(pairs) => match pairs.binary_search_by(|(k, _)| json::key_order(k, last)) {
            Ok(found) => pairs[found].1 = new,
            Err(at) if create => pairs.insert(at, (last.clone(), new)),
            Err(_) => {}
        },
        Jsonb::Array(items) => {
            let i = path_index(last, path.len())?;
            let len = items.len() as i64;
            match index(items.len(), i) {
                Some(at) => items[at] = new,
                None if create => {
                    if i < 0 && -i > len {
                        items.insert(0, new);
                    } else {
                        items.push(new);
                    }
                }
                None => {}
            }
        }
        _ => {}
    }
    Ok(target)
}

/// `jsonb_insert(target, path, new [, insert_after])`.
pub fn insert_path(
    mut target: Jsonb,
    path: &[Option<String>],
    new: Jsonb,
    after: bool,
) -> Result<Jsonb> {
    if !matches!(target, Jsonb::Array(_) | Jsonb::Object(_)) {
        return Err(scalar_error("set path in scalar"));
    }
    let Some((last, parents)) = path.split_last() else {
        return Ok(target);
    };
    let Some(last) = last else {
        return Err(null_path(path.len()));
    };
    let Some(parent) = walk_mut(&mut target, parents)? else {
        return Ok(target);
    };
    match parent {
        Jsonb::Object(pairs) => match pairs.binary_search_by(|(k, _)| json::key_order(k, last)) {
            Ok(_) => {
                return Err(scalar_error("replace existing key")
                    .with_hint("Try using the function jsonb_set to replace key value."))
            }
            Err(at) => pairs.insert(at, (last.clone(), new)),
        },
        Jsonb::Array(items) => {
            let i = path_index(last, path.len())?;
            let len = items.len() as i64;
            let at = if i < 0 { len + i } else { i };
            let at = if after { at + 1 } else { at };
            let at = at.clamp(0, len) as usize;
            items.insert(at, new);
        }
        _ => {}
    }
    Ok(target)
}

/// PostgreSQL's record output of a `(key,value)` pair (`record_out`): values quoted when
/// empty or holding a comma, quote, backslash, parenthesis or space.
pub fn record_text(fields: &[Option<String>]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| match f {
            None => String::new(),
            Some(s) => {
                let needs = s.is_empty()
                    || s.chars()
                        .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_whitespace());
                if needs {
                    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\"\""))
                } else {
                    s.clone()
                }
            }
        })
        .collect();
    format!("({})", quoted.join(","))
}

/// The rows of a set-returning json function over `value`: one or two columns each.
pub fn set_rows(name: &str, value: &Value) -> Result<Vec<Vec<Value>>> {
    let text_values = name.ends_with("_text");
    let json_type = matches!(value, Value::Json(_));
    let base = name.trim_end_matches("_text");
    let fail = |what: &str| DbError::new(code::INVALID_PARAMETER_VALUE, format!("cannot {what}"));
    if json_type {
        let Value::Json(source) = value else {
            return Ok(Vec::new());
        };
        let node = json::parse(source)?;
        let member = |n: &Node<'_>| -> Value {
            if text_values {
                node_result(Some(n), true)
            } else {
                Value::Json(n.text.to_string())
            }
        };
        return match (base, &node.kind) {
            ("json_each", Kind::Object(members)) => Ok(members
                .iter()
                .map(|(k, v)| vec![Value::Text(k.clone()), member(v)])
                .collect()),
            ("json_each", Kind::Array(_)) => Err(fail("deconstruct an array as an object")),
            ("json_each", _) => Err(fail("deconstruct a scalar")),
            ("json_array_elements", Kind::Array(items)) => {
                Ok(items.iter().map(|v| vec![member(v)]).collect())
            }
            ("json_array_elements", Kind::Object(_)) => {
                Err(fail("call json_array_elements on a non-array"))
            }
            ("json_array_elements", _) => Err(fail("call json_array_elements on a scalar")),
            ("json_object_keys", Kind::Object(members)) => Ok(members
                .iter()
                .map(|(k, _)| vec![Value::Text(k.clone())])
                .collect()),
            ("json_object_keys", Kind::Array(_)) => Err(fail("call json_object_keys on an array")),
            _ => Err(fail("call json_object_keys on a scalar")),
        };
    }
    let value = as_jsonb(value)?;
    let member = |v: &Jsonb| -> Value {
        if text_values {
            jsonb_result(Some(v), true)
        } else {
            jsonb(v.clone())
        }
    };
    match (base, &value) {
        ("jsonb_each", Jsonb::Object(pairs)) => Ok(pairs
            .iter()
            .map(|(k, v)| vec![Value::Text(k.clone()), member(v)])
            .collect()),
        ("jsonb_each", _) => Err(fail("call jsonb_each on a non-object")),
        ("jsonb_array_elements", Jsonb::Array(items)) => {
            Ok(items.iter().map(|v| vec![member(v)]).collect())
        }
        ("jsonb_array_elements", Jsonb::Object(_)) => Err(fail("extract elements from an object")),
        ("jsonb_array_elements", _) => Err(fail("extract elements from a scalar")),
        ("jsonb_object_keys", Jsonb::Object(pairs)) => Ok(pairs
            .iter()
            .map(|(k, _)| vec![Value::Text(k.clone())])
            .collect()),
        ("jsonb_object_keys", Jsonb::Array(_)) => Err(fail("call jsonb_object_keys on an array")),
        _ => Err(fail("call jsonb_object_keys on a scalar")),
    }
}

/// The columns of a set-returning json function: `key`/`value`, `value`, or the function's
/// own name.
pub fn set_columns(name: &str, arg: &DataType) -> Vec<(String, DataType)> {
    let value_type = if name.ends_with("_text") {
        DataType::Text
    } else {
        arg.clone()
    };
    if name.contains("_each") {
        vec![("key".into(), DataType::Text), ("value".into(), value_type)]
    } else if name.contains("array_elements") {
        vec![("value".into(), value_type)]
    } else {
        vec![(name.to_string(), DataType::Text)]
    }
}

/// One row into `json(b)_agg` / `json(b)_object_agg`'s state: json's text so far (without its
/// closing bracket) or the jsonb value; an object's members are normalised at the end.
pub fn aggregate_step(
    func: AggFunc,
    state: Value,
    value: &Value,
    value_type: &DataType,
    member: Option<&Value>,
    member_type: &DataType,
) -> Result<Value> {
    match func {
        AggFunc::JsonAgg(false) => {
            let item = to_json_text(value, value_type);
            Ok(Value::Text(match state {
                Value::Text(so_far) => format!("{so_far}, {item}"),
                _ => format!("[{item}"),
            }))
        }
        AggFunc::JsonAgg(true) => {
            let item = to_jsonb(value, value_type)?;
            Ok(match state {
                Value::Jsonb(mut array) => {
                    if let Jsonb::Array(items) = array.as_mut() {
                        items.push(item);
                    }
                    Value::Jsonb(array)
                }
                _ => jsonb(Jsonb::Array(vec![item])),
            })
        }
        AggFunc::JsonObjectAgg(binary) => {
            let Some(key) = value.to_text() else {
                return Err(DbError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "field name must not be null",
                ));
            };
            let member = member.unwrap_or(&Value::Null);
            if binary {
                let item = to_jsonb(member, member_type)?;
                return Ok(match state {
                    Value::Jsonb(mut object) => {
                        if let Jsonb::Object(pairs) = object.as_mut() {
                            pairs.push((key, item));
                        }
                        Value::Jsonb(object)
                    }
                    _ => jsonb(Jsonb::Object(vec![(key, item)])),
                });
            }
            let mut pair = String::new();
            json::escape(&key, &mut pair);
            pair.push_str(" : ");
            pair.push_str(&to_json_text(member, member_type));
            Ok(Value::Text(match state {
                Value::Text(so_far) => format!("{so_far}, {pair}"),
                _ => format!("{{ {pair}"),
            }))
        }
        _ => Err(DbError::internal("not a json aggregate")),
    }
}

/// The aggregate's result from its state (NULL over no rows).
pub fn aggregate_finish(func: AggFunc, state: Value) -> Value {
    match (func, state) {
        (AggFunc::JsonAgg(false), Value::Text(text)) => Value::Json(text + "]"),
        (AggFunc::JsonObjectAgg(false), Value::Text(text)) => Value::Json(text + " }"),
        (AggFunc::JsonObjectAgg(true), Value::Jsonb(object)) => match *object {
            Jsonb::Object(pairs) => jsonb(Jsonb::Object(json::normalise(pairs))),
            other => jsonb(other),
        },
        (_, other) => other,
    }
}
