//! The `inet`/`cidr` functions and operators: `host`, `masklen`, `family`, `network`,
//! `broadcast`, `netmask`, `hostmask`, `set_masklen`, `abbrev(inet)`, the connection address
//! functions, and `<<`, `<<=`, `>>`, `>>=`, `&&`. The catalog (`functions::through_catalog`)
//! chose the overload; here it is typed and evaluated, with PostgreSQL's errors.

use sqlparser::ast::BinaryOperator;

use super::expr::{coerce, operator_error, Expr};
use crate::error::{code, DbError, Result};
use crate::types::inet::{self, Containment, Inet};
use crate::types::{DataType, Value};

/// The functions implemented here: name, result type.
const FUNCTIONS: &[(&str, DataType)] = &[
    ("host", DataType::Text),
    ("masklen", DataType::Int4),
    ("family", DataType::Int4),
    ("network", DataType::Cidr),
    ("broadcast", DataType::Inet),
    ("netmask", DataType::Inet),
    ("hostmask", DataType::Inet),
    ("set_masklen", DataType::Inet),
    ("abbrev", DataType::Text),
    ("inet_client_addr", DataType::Inet),
    ("inet_server_addr", DataType::Inet),
    ("inet_client_port", DataType::Int4),
    ("inet_server_port", DataType::Int4),
];

/// The internal names the operators are evaluated by.
const OPERATORS: &[(&str, Containment)] = &[
    ("network_sub", Containment::Sub),
    ("network_subeq", Containment::SubEq),
    ("network_sup", Containment::Sup),
    ("network_supeq", Containment::SupEq),
    ("network_overlap", Containment::Overlap),
];

fn is_inet(t: &DataType) -> bool {
    matches!(t, DataType::Inet | DataType::Cidr)
}

/// The containment operator `op` is, if either operand is an address.
fn containment(op: &BinaryOperator, lt: &DataType, rt: &DataType) -> Option<Containment> {
    if !is_inet(lt) && !is_inet(rt) {
        return None;
    }
    match op {
        BinaryOperator::PGBitwiseShiftLeft => Some(Containment::Sub),
        BinaryOperator::PGBitwiseShiftRight => Some(Containment::Sup),
        BinaryOperator::PGOverlap => Some(Containment::Overlap),
        BinaryOperator::Custom(symbol) => Containment::from_symbol(symbol),
        _ => None,
    }
}

/// PostgreSQL's inet operators pgplay lacks: `inet + bigint`, `inet - inet`, `&`, `|`.
fn is_missing(op: &BinaryOperator, lt: &DataType, rt: &DataType) -> bool {
    use BinaryOperator as B;
    let fits = |t: &DataType| is_inet(t) || *t == DataType::Unknown;
    let number = |t: &DataType| t.is_numeric() || *t == DataType::Unknown;
    match op {
        B::Plus => is_inet(lt) && number(rt) || number(lt) && is_inet(rt),
        B::Minus => is_inet(lt) && (number(rt) || fits(rt)),
        B::BitwiseAnd | B::BitwiseOr => is_inet(lt) && fits(rt) || fits(lt) && is_inet(rt),
        _ => false,
    }
}

/// Whether `op` over these operand types is an inet operator.
pub fn is_operator(op: &BinaryOperator, lt: &DataType, rt: &DataType) -> bool {
    containment(op, lt, rt).is_some() || is_missing(op, lt, rt)
}

/// Binds an inet operator ([`is_operator`] said it is one): both sides become inet.
pub fn bind_operator(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    if is_missing(op, &lt, &rt) {
        return Err(DbError::feature_not_supported(format!(
            "operator {} {op} {} is not supported by pgplay yet",
            lt.base_name(),
            rt.base_name()
        )));
    }
    let fits = |t: &DataType| is_inet(t) || *t == DataType::Unknown;
    let which = containment(op, &lt, &rt);
    let (Some(which), true) = (which, fits(&lt) && fits(&rt)) else {
        return Err(operator_error(&op.to_string(), &lt, &rt));
    };
    let name = OPERATORS
        .iter()
        .find(|(_, c)| *c == which)
        .map_or("network_overlap", |(n, _)| n);
    Ok(Expr::Call {
        name: name.to_string(),
        args: vec![
            coerce(left, &DataType::Inet)?,
            coerce(right, &DataType::Inet)?,
        ],
        data_type: DataType::Bool,
    })
}

/// Binds `name(args)` if it is an inet function (None: not one).
pub fn bind_call(name: &str, args: &[Expr]) -> Option<Result<Expr>> {
    let (_, result) = FUNCTIONS.iter().find(|(n, _)| *n == name)?;
    let first = args.first().map(Expr::data_type);
    if !name.starts_with("inet_") && !first.as_ref().is_some_and(is_inet) {
        return None;
    }
    let result = match (name, &first) {
        ("set_masklen", Some(DataType::Cidr)) => DataType::Cidr,
        ("abbrev", Some(DataType::Cidr)) => {
            return Some(Err(DbError::feature_not_supported(
                "function abbrev(cidr) is not supported by pgplay yet",
            )))
        }
        _ => result.clone(),
    };
    Some(Ok(Expr::Call {
        name: name.to_string(),
        args: args.to_vec(),
        data_type: result,
    }))
}

/// Evaluates an inet function or operator (None: `name` is not one).
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    let own =
        FUNCTIONS.iter().any(|(n, _)| *n == name) || OPERATORS.iter().any(|(n, _)| *n == name);
    if !own {
        return None;
    }
    if name.starts_with("inet_") {
        // pgplay's sessions do not come over TCP: as PostgreSQL answers on a Unix socket.
        return Some(Ok(Value::Null));
    }
    let address = |i: usize| match args.get(i) {
        Some(Value::Inet(v) | Value::Cidr(v)) => Some(*v),
        _ => None,
    };
    if args.iter().any(Value::is_null) {
        return Some(Ok(Value::Null));
    }
    let Some(a) = address(0) else {
        return Some(Err(DbError::internal(format!("{name} without an address"))));
    };
    if let Some((_, which)) = OPERATORS.iter().find(|(n, _)| *n == name) {
        return Some(Ok(match address(1) {
            Some(b) => Value::Bool(which.holds(&a, &b)),
            None => Value::Null,
        }));
    }
    let is_cidr = matches!(args.first(), Some(Value::Cidr(_)));
    Some(eval_function(name, a, is_cidr, args.get(1)))
}

fn eval_function(name: &str, a: Inet, is_cidr: bool, second: Option<&Value>) -> Result<Value> {
    Ok(match name {
        "host" => Value::Text(inet::address_text(&a)),
        "masklen" => Value::Int4(i32::from(a.bits)),
        "family" => Value::Int4(if a.ipv6 { 6 } else { 4 }),
        "network" => Value::Cidr(inet::clear_host_bits(a)),
        "broadcast" => Value::Inet(inet::broadcast(a)),
        "netmask" => Value::Inet(inet::netmask(a)),
        "hostmask" => Value::Inet(inet::hostmask(a)),
        "abbrev" => Value::Text(inet::format(&a, false)),
        "set_masklen" => {
            let bits = second.and_then(Value::as_i64).unwrap_or(0);
            let out = inet::set_masklen(a, bits)?;
            if is_cidr {
                Value::Cidr(inet::clear_host_bits(out))
            } else {
                Value::Inet(out)
            }
        }
        other => {
            return Err(DbError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {other} is not an inet function"),
            ))
        }
    })
}
