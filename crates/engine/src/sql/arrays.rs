//! Array functions and operators: `ARRAY[...]`, subscripts and slices, `array_length` and the
//! other array functions PostgreSQL 15 has over one-dimensional arrays, `||` on arrays and
//! `@>`/`<@`/`&&`. The catalog (`functions::through_catalog`) chose the function; here each
//! is typed (the polymorphic `anyarray`/`anycompatible` arguments resolved to a common
//! element type) and evaluated. The array functions pgplay does not have answer 0A000.

use super::expr::{coerce, operator_error, unify, Expr};
use super::functions::no_such_function;
use crate::error::{code, DbError, Result};
use crate::types::array::{self, Array};
use crate::types::{compare, DataType, Value};

/// The array functions pgplay implements.
pub const FUNCTIONS: &[&str] = &[
    "array_length",
    "array_lower",
    "array_upper",
    "array_ndims",
    "array_dims",
    "cardinality",
    "array_to_string",
    "string_to_array",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_position",
    "array_positions",
    "array_remove",
    "array_replace",
    "array_fill",
];

/// Internal names of the array operators, evaluated here too.
const OPERATORS: &[&str] = &[
    "array",
    "array_subscript",
    "array_slice",
    "arraycontains",
    "arraycontained",
    "arrayoverlap",
];

pub fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

pub fn is_array_call(name: &str) -> bool {
    FUNCTIONS.contains(&name) || OPERATORS.contains(&name)
}

fn call(name: &str, args: Vec<Expr>, data_type: DataType) -> Result<Expr> {
    Ok(Expr::Call {
        name: name.to_string(),
        args,
        data_type,
    })
}

/// 42804 for a polymorphic argument given as an untyped literal.
fn undetermined() -> DbError {
    DbError::new(
        code::DATATYPE_MISMATCH,
        "could not determine polymorphic type because input has type unknown",
    )
}

/// The element type of an `anyarray` argument.
fn element(arg: &Expr) -> Result<DataType> {
    match arg.data_type() {
        DataType::Array(element) => Ok(*element),
        DataType::Unknown => Err(undetermined()),
        _ => Err(DbError::internal("array function given a non-array")),
    }
}

/// `anycompatiblearray` and `anycompatible` arguments brought to one element type.
fn compatible(name: &str, args: Vec<Expr>, arrays: &[usize]) -> Result<(Vec<Expr>, DataType)> {
    let mut common = DataType::Unknown;
    for (i, arg) in args.iter().enumerate() {
        let t = match arg.data_type() {
            DataType::Array(e) if arrays.contains(&i) => *e,
            DataType::Unknown if arrays.contains(&i) => continue,
            other if arrays.contains(&i) => other,
            other => other,
        };
        common = unify(&common, &t).ok_or_else(|| no_such_function(name, &args))?;
    }
    if common == DataType::Unknown {
        return Err(undetermined());
    }
    let array_type = DataType::Array(Box::new(common.clone()));
    let args = args
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let target = if arrays.contains(&i) {
                &array_type
            } else {
                &common
            };
            coerce(a, target)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((args, common))
}

/// Binds an array function the catalog chose (its arguments already of the declared types
/// where those are not polymorphic).
pub fn bind_call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    let arity = args.len();
    match (name, arity) {
        ("array_length" | "array_lower" | "array_upper", 2) => {
            element(&args[0])?;
            call(name, args, DataType::Int4)
        }
        ("array_ndims" | "cardinality", 1) => {
            element(&args[0])?;
            call(name, args, DataType::Int4)
        }
        ("array_dims", 1) => {
            element(&args[0])?;
            call(name, args, DataType::Text)
        }
        ("array_to_string", 2 | 3) => {
            element(&args[0])?;
            call(name, args, DataType::Text)
        }
        ("string_to_array", 2 | 3) => call(name, args, DataType::Text.array_of()),
        ("array_append" | "array_remove", 2) => {
            let (args, common) = compatible(name, args, &[0])?;
            call(name, args, common.array_of())
        }
        ("array_replace", 3) => {
            let (args, common) = compatible(name, args, &[0])?;
            call(name, args, common.array_of())
        }
        ("array_prepend", 2) => {
            let (args, common) = compatible(name, args, &[1])?;
            call(name, args, common.array_of())
        }
        ("array_cat", 2) => {
            let (args, common) = compatible(name, args, &[0, 1])?;
            call(name, args, common.array_of())
        }
        ("array_position", 2 | 3) => {
            let mut args = args;
            let start = (arity == 3).then(|| args.pop()).flatten();
            let (mut args, _) = compatible(name, args, &[0])?;
            args.extend(start);
            call(name, args, DataType::Int4)
        }
        ("array_fill", 2 | 3) => {
            let value_type = match args[0].data_type() {
                DataType::Unknown => return Err(undetermined()),
                DataType::Array(_) => return Err(multidimensional()),
                other => other,
            };
            call(name, args, value_type.array_of())
        }
        ("array_positions", 2) => {
            let (args, _) = compatible(name, args, &[0])?;
            call(name, args, DataType::Int4.array_of())
        }
        _ => Err(no_such_function(name, &args)),
    }
}

fn multidimensional() -> DbError {
    DbError::feature_not_supported("multidimensional arrays are not supported by pgplay yet")
}

/// `ARRAY[a, b, ...]`: the elements' common type, as for CASE and UNION.
pub fn bind_constructor(items: Vec<Expr>) -> Result<Expr> {
    let mut common = DataType::Unknown;
    for item in items.iter().filter(|i| i.data_type() != DataType::Unknown) {
        let t = item.data_type();
        if matches!(t, DataType::Array(_)) {
            return Err(multidimensional());
        }
        common = unify(&common, &t).ok_or_else(|| {
            DbError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "ARRAY types {} and {} cannot be matched",
                    common.base_name(),
                    t.base_name()
                ),
            )
        })?;
    }
    if common == DataType::Unknown {
        if items.is_empty() {
            return Err(
                DbError::new("42P18", "cannot determine type of empty array").with_hint(
                    "Explicitly cast to the desired type, for example ARRAY[]::integer[].",
                ),
            );
        }
        common = DataType::Text;
    }
    array::check_size(items.len())?;
    let items = items
        .into_iter()
        .map(|i| coerce(i, &common))
        .collect::<Result<Vec<_>>>()?;
    // Constant elements make a constant, as PostgreSQL folds it (an index scan can use it).
    let constants: Option<Vec<Value>> = items
        .iter()
        .map(|i| match i {
            Expr::Const(value, _) => Some(value.clone()),
            _ => None,
        })
        .collect();
    if let Some(values) = constants {
        return Ok(Expr::Const(array::value(values)?, common.array_of()));
    }
    call("array", items, common.array_of())
}

/// `a[i]` (an element) or `a[lo:hi]` (a slice; either bound may be left out).
pub fn bind_subscript(
    base: Expr,
    index: Option<Expr>,
    slice: Option<(Option<Expr>, Option<Expr>)>,
) -> Result<Expr> {
    let t = base.data_type();
    let DataType::Array(element) = t.clone() else {
        return Err(DbError::new(
            code::DATATYPE_MISMATCH,
            format!(
                "cannot subscript type {} because it does not support subscripting",
                t.base_name()
            ),
        ));
    };
    let subscript = |e: Expr| coerce(e, &DataType::Int4);
    match (index, slice) {
        (Some(index), _) => call("array_subscript", vec![base, subscript(index)?], *element),
        (None, Some((lower, upper))) => {
            // A left-out bound is the array's own: passed as a flag so NULL bounds stay NULL.
            let flag = |b: &Option<Expr>| Expr::Const(Value::Bool(b.is_some()), DataType::Bool);
            let (lower_given, upper_given) = (flag(&lower), flag(&upper));
            let bound = |b: Option<Expr>| match b {
                Some(b) => subscript(b),
                None => Ok(Expr::Const(Value::Int4(0), DataType::Int4)),
            };
            let args = vec![base, bound(lower)?, bound(upper)?, lower_given, upper_given];
            call("array_slice", args, t)
        }
        (None, None) => Err(DbError::internal("subscript without index")),
    }
}

/// `||` with an array on either side; None when neither side is an array.
pub fn bind_concat(left: Expr, right: Expr) -> Option<Result<Expr>> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let name = match (&lt, &rt) {
        (DataType::Array(_), DataType::Array(_) | DataType::Unknown) => "array_cat",
        (DataType::Unknown, DataType::Array(_)) => "array_cat",
        (DataType::Array(_), _) => "array_append",
        (_, DataType::Array(_)) => "array_prepend",
        _ => return None,
    };
    let bound = match name {
        "array_cat" => compatible(name, vec![left, right], &[0, 1]),
        "array_append" => compatible(name, vec![left, right], &[0]),
        _ => compatible(name, vec![left, right], &[1]),
    };
    Some(
        bound
            .map_err(|_| operator_error("||", &lt, &rt))
            .and_then(|(args, common)| call(name, args, common.array_of())),
    )
}

/// `@>`, `<@` and `&&`: both sides arrays of one element type.
pub fn bind_containment(symbol: &str, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let is_array = |t: &DataType| matches!(t, DataType::Array(_) | DataType::Unknown);
    if !is_array(&lt) || !is_array(&rt) || (lt == DataType::Unknown && rt == DataType::Unknown) {
        return Err(operator_error(symbol, &lt, &rt));
    }
    let target = unify(&lt, &rt).ok_or_else(|| operator_error(symbol, &lt, &rt))?;
    let name = match symbol {
        "@>" => "arraycontains",
        "<@" => "arraycontained",
        _ => "arrayoverlap",
    };
    call(
        name,
        vec![coerce(left, &target)?, coerce(right, &target)?],
        DataType::Bool,
    )
}

fn as_array(value: &Value) -> Option<&Array> {
    match value {
        Value::Array(array) => Some(array),
        _ => None,
    }
}

fn int_value(value: &Value) -> Option<i64> {
    value.as_i64()
}

/// Evaluates an array function or operator; None for other names.
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    if !is_array_call(name) {
        return None;
    }
    Some(eval_known(name, args))
}

fn eval_known(name: &str, args: &[Value]) -> Result<Value> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    match name {
        "array" => return array::value(args.to_vec()),
        "string_to_array" => return string_to_array(args),
        "array_append" | "array_prepend" | "array_cat" => return concatenate(name, args),
        "array_position" | "array_positions" => return position(name, args),
        "array_remove" | "array_replace" => return replace(name, args),
        "array_slice" => return slice(args),
        "array_fill" => return fill(args),
        _ => {}
    }
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let Some(a) = as_array(arg(0)) else {
        return Ok(Value::Null);
    };
    let dimension = || int_value(arg(1)) == Some(1) && !a.items.is_empty();
    Ok(match name {
        "array_subscript" => a.get(int_value(arg(1)).unwrap_or(0)),
        "array_length" if dimension() => Value::Int4(a.items.len() as i32),
        "array_lower" if dimension() => Value::Int4(a.lower),
        "array_upper" if dimension() => Value::Int4(a.upper() as i32),
        "array_length" | "array_lower" | "array_upper" => Value::Null,
        "array_ndims" if a.items.is_empty() => Value::Null,
        "array_ndims" => Value::Int4(1),
        "array_dims" if a.items.is_empty() => Value::Null,
        "array_dims" => Value::Text(format!("[{}:{}]", a.lower, a.upper())),
        "cardinality" => Value::Int4(a.items.len() as i32),
        "array_to_string" => array_to_string(a, arg(1), args.get(2)),
        "arraycontains" | "arraycontained" | "arrayoverlap" => {
            let Some(b) = as_array(arg(1)) else {
                return Ok(Value::Null);
            };
            Value::Bool(match name {
                "arraycontains" => contains(a, b),
                "arraycontained" => contains(b, a),
                _ => a.items.iter().any(|x| holds(b, x)),
            })
        }
        _ => {
            return Err(DbError::internal(format!(
                "array function {name} has no implementation"
            )))
        }
    })
}

/// Whether `array` holds `value` (NULL matches nothing, as in PostgreSQL's containment).
fn holds(array: &Array, value: &Value) -> bool {
    !value.is_null()
        && array
            .items
            .iter()
            .any(|item| !item.is_null() && compare(item, value).is_eq())
}

fn contains(outer: &Array, inner: &Array) -> bool {
    inner.items.iter().all(|x| holds(outer, x))
}

fn array_to_string(a: &Array, delimiter: &Value, null: Option<&Value>) -> Value {
    let delimiter = delimiter.to_text().unwrap_or_default();
    let null = null.and_then(Value::to_text);
    let mut parts = Vec::new();
    for item in &a.items {
        match (item.to_text(), &null) {
            (Some(text), _) => parts.push(text),
            (None, Some(null)) => parts.push(null.clone()),
            (None, None) => {}
        }
    }
    Value::Text(parts.join(&delimiter))
}

/// `string_to_array(text, delimiter [, null string])`: a NULL delimiter splits into
/// characters, an empty one keeps the whole string.
fn string_to_array(args: &[Value]) -> Result<Value> {
    let Some(text) = args.first().and_then(Value::to_text) else {
        return Ok(Value::Null);
    };
    if text.is_empty() {
        return array::value(Vec::new());
    }
    let delimiter = args.get(1).and_then(Value::to_text);
    let null = args.get(2).and_then(Value::to_text);
    let count = match delimiter.as_deref() {
        None => text.chars().count(),
        Some("") => 1,
        Some(d) => text.matches(d).count() + 1,
    };
    array::check_size(count)?;
    let parts: Vec<String> = match delimiter.as_deref() {
        None => text.chars().map(String::from).collect(),
        Some("") => vec![text],
        Some(d) => text.split(d).map(String::from).collect(),
    };
    let items = parts
        .into_iter()
        .map(|p| match &null {
            Some(n) if *n == p => Value::Null,
            _ => Value::Text(p),
        })
        .collect();
    array::value(items)
}

/// `array_append`, `array_prepend`, `array_cat` (and `||`): a NULL array is an empty one.
fn concatenate(name: &str, args: &[Value]) -> Result<Value> {
    let (first, second) = (&args[0], &args[1]);
    let result = match name {
        "array_append" => {
            let mut a = as_array(first).cloned().unwrap_or(Array::new(Vec::new()));
            array::check_size(a.items.len() + 1)?;
            a.items.push(second.clone());
            a
        }
        "array_prepend" => {
            let b = as_array(second).cloned().unwrap_or(Array::new(Vec::new()));
            array::check_size(b.items.len() + 1)?;
            let mut items = Vec::with_capacity(b.items.len() + 1);
            items.push(first.clone());
            items.extend(b.items);
            // The result keeps the input's lower bound, as PostgreSQL readjusts it.
            let lower = if items.len() == 1 { 1 } else { b.lower };
            Array { lower, items }
        }
        _ => match (as_array(first), as_array(second)) {
            (None, None) => return Ok(Value::Null),
            (Some(a), None) => a.clone(),
            (None, Some(b)) => b.clone(),
            (Some(a), Some(b)) => {
                array::check_size(a.items.len() + b.items.len())?;
                let mut joined = a.clone();
                joined.items.extend(b.items.iter().cloned());
                if a.items.is_empty() {
                    joined.lower = b.lower;
                }
                joined
            }
        },
    };
    Ok(Value::Array(Box::new(result)))
}

/// `array_position(a, x [, start])` and `array_positions(a, x)`: NULL is found as NULL.
fn position(name: &str, args: &[Value]) -> Result<Value> {
    let Some(a) = as_array(&args[0]) else {
        return Ok(Value::Null);
    };
    let wanted = &args[1];
    let start = match args.get(2) {
        Some(Value::Null) => {
            return Err(DbError::new("22004", "initial position must not be null"))
        }
        Some(v) => int_value(v).unwrap_or(1),
        None => i64::from(a.lower),
    };
    let same = |item: &Value| match (item.is_null(), wanted.is_null()) {
        (true, true) => true,
        (false, false) => compare(item, wanted).is_eq(),
        _ => false,
    };
    let mut found = Vec::new();
    for (offset, item) in a.items.iter().enumerate() {
        let subscript = i64::from(a.lower) + offset as i64;
        if subscript >= start && same(item) {
            if name == "array_position" {
                return Ok(Value::Int4(subscript as i32));
            }
            found.push(Value::Int4(subscript as i32));
        }
    }
    if name == "array_position" {
        return Ok(Value::Null);
    }
    array::value(found)
}

/// `array_remove(a, x)` and `array_replace(a, x, y)`: NULL compares equal to NULL here.
fn replace(name: &str, args: &[Value]) -> Result<Value> {
    let Some(a) = as_array(&args[0]) else {
        return Ok(Value::Null);
    };
    let wanted = &args[1];
    let same = |item: &Value| match (item.is_null(), wanted.is_null()) {
        (true, true) => true,
        (false, false) => compare(item, wanted).is_eq(),
        _ => false,
    };
    let items: Vec<Value> = match name {
        "array_remove" => a.items.iter().filter(|i| !same(i)).cloned().collect(),
        _ => a
            .items
            .iter()
            .map(|i| if same(i) { args[2].clone() } else { i.clone() })
            .collect(),
    };
    let lower = if items.is_empty() { 1 } else { a.lower };
    Ok(Value::Array(Box::new(Array { lower, items })))
}

/// `a[lo:hi]`: args are the array, the bounds, and whether each bound was written.
fn slice(args: &[Value]) -> Result<Value> {
    let given = |i: usize| matches!(args.get(i), Some(Value::Bool(true)));
    let bound = |i: usize, flag: usize| -> Option<Option<i64>> {
        if !given(flag) {
            return Some(None);
        }
        args.get(i).and_then(int_value).map(Some)
    };
    let (Some(a), Some(lower), Some(upper)) = (as_array(&args[0]), bound(1, 3), bound(2, 4)) else {
        return Ok(Value::Null);
    };
    Ok(Value::Array(Box::new(a.slice(lower, upper))))
}

/// `array_fill(value, dimensions [, lower bounds])`, one dimension.
fn fill(args: &[Value]) -> Result<Value> {
    let null_error = || DbError::new("22004", "dimension array or low bound array cannot be null");
    let dims = as_array(&args[1]).ok_or_else(null_error)?;
    let lower = match args.get(2) {
        Some(Value::Null) => return Err(null_error()),
        Some(v) => as_array(v).map(|a| a.items.clone()),
        None => None,
    };
    if dims.items.len() > 1 || lower.as_ref().is_some_and(|l| l.len() > 1) {
        return Err(multidimensional());
    }
    let Some(length) = dims.items.first() else {
        return array::value(Vec::new());
    };
    let length = int_value(length)
        .ok_or_else(|| DbError::new("22004", "dimension values cannot be null"))?;
    let lower = match lower.as_ref().and_then(|l| l.first()) {
        Some(v) => {
            int_value(v).ok_or_else(|| DbError::new("22004", "dimension values cannot be null"))?
        }
        None => 1,
    };
    // A negative length is PostgreSQL's size error too.
    let count = usize::try_from(length).unwrap_or(usize::MAX);
    array::check_size(count)?;
    if count == 0 {
        return array::value(Vec::new());
    }
    Ok(Value::Array(Box::new(Array {
        lower: lower as i32,
        items: vec![args[0].clone(); count],
    })))
}
