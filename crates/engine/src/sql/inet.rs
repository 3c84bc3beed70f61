//! The `inet`/`cidr` functions and operators: `host`, `masklen`, `family`, `network`,
//! `broadcast`, `netmask`, `hostmask`, `set_masklen`, `abbrev(inet)`, the connection address
//! functions, `<<`, `<<=`, `>>`, `>>=`, `&&`, and `+`, `-`, `&`, `|`, `~`. The catalog (`functions::through_catalog`)
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
    ("inet_merge", DataType::Cidr),
    ("inet_same_family", DataType::Bool),
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

/// The arithmetic and bitwise operators: internal name, result type (None: not one).
fn arithmetic(
    op: &BinaryOperator,
    lt: &DataType,
    rt: &DataType,
) -> Option<(&'static str, DataType)> {
    use BinaryOperator as B;
    let integer = |t: &DataType| matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8);
    let number = |t: &DataType| integer(t) || *t == DataType::Unknown;
    let address = |t: &DataType| is_inet(t) || *t == DataType::Unknown;
    Some(match op {
        B::Plus if is_inet(lt) && number(rt) => ("inetpl", DataType::Inet),
        B::Plus if number(lt) && is_inet(rt) => ("int8pl_inet", DataType::Inet),
        B::Minus if is_inet(lt) && address(rt) => ("inetmi", DataType::Int8),
        B::Minus if is_inet(lt) && integer(rt) => ("inetmi_int8", DataType::Inet),
        B::BitwiseAnd if address(lt) && address(rt) => ("inetand", DataType::Inet),
        B::BitwiseOr if address(lt) && address(rt) => ("inetor", DataType::Inet),
        _ => return None,
    })
}

/// Whether `op` over these operand types is an inet operator (or, with an address on one
/// side and no fitting other, PostgreSQL's 42883).
pub fn is_operator(op: &BinaryOperator, lt: &DataType, rt: &DataType) -> bool {
    use BinaryOperator as B;
    let arithmetic_op = matches!(op, B::Plus | B::Minus | B::BitwiseAnd | B::BitwiseOr);
    containment(op, lt, rt).is_some() || arithmetic_op && (is_inet(lt) || is_inet(rt))
}

/// Binds an inet operator ([`is_operator`] said it is one).
pub fn bind_operator(op: &BinaryOperator, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    if let Some((name, result)) = arithmetic(op, &lt, &rt) {
        let target = |t: &DataType| {
            if is_inet(t) || *t == DataType::Unknown && name != "inetpl" && name != "int8pl_inet" {
                DataType::Inet
            } else {
                DataType::Int8
            }
        };
        let (lt_target, rt_target) = (target(&lt), target(&rt));
        return Ok(Expr::Call {
            name: name.to_string(),
            args: vec![coerce(left, &lt_target)?, coerce(right, &rt_target)?],
            data_type: result,
        });
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

/// `~ inet` (None: the operand is not an address).
pub fn bind_not(operand: Expr) -> Option<Result<Expr>> {
    is_inet(&operand.data_type()).then(|| {
        Ok(Expr::Call {
            name: "inetnot".into(),
            args: vec![coerce(operand, &DataType::Inet)?],
            data_type: DataType::Inet,
        })
    })
}

/// The internal names of the arithmetic and bitwise operators.
const ARITHMETIC: &[&str] = &[
    "inetpl",
    "int8pl_inet",
    "inetmi",
    "inetmi_int8",
    "inetand",
    "inetor",
    "inetnot",
];

/// Binds `name(args)` if it is an inet function (None: not one).
pub fn bind_call(name: &str, args: &[Expr]) -> Option<Result<Expr>> {
    let (_, result) = FUNCTIONS.iter().find(|(n, _)| *n == name)?;
    let first = args.first().map(Expr::data_type);
    let connection = name.ends_with("_addr") || name.ends_with("_port");
    if !connection && !first.as_ref().is_some_and(is_inet) {
        return None;
    }
    let result = match (name, &first) {
        ("set_masklen", Some(DataType::Cidr)) => DataType::Cidr,
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
    let own = FUNCTIONS.iter().any(|(n, _)| *n == name)
        || OPERATORS.iter().any(|(n, _)| *n == name)
        || ARITHMETIC.contains(&name);
    if !own {
        return None;
    }
    if matches!(
        name,
        "inet_client_addr" | "inet_server_addr" | "inet_client_port" | "inet_server_port"
    ) {
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
    if ARITHMETIC.contains(&name) {
        return Some(eval_arithmetic(name, args));
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

fn eval_arithmetic(name: &str, args: &[Value]) -> Result<Value> {
    let address = |i: usize| match args.get(i) {
        Some(Value::Inet(v) | Value::Cidr(v)) => Ok(*v),
        _ => Err(DbError::internal(format!("{name} without an address"))),
    };
    let int = |i: usize| args.get(i).and_then(Value::as_i64).map_or(0, i128::from);
    Ok(match name {
        "inetpl" => Value::Inet(inet::plus(address(0)?, int(1))?),
        "int8pl_inet" => Value::Inet(inet::plus(address(1)?, int(0))?),
        "inetmi_int8" => Value::Inet(inet::plus(address(0)?, -int(1))?),
        "inetmi" => Value::Int8(inet::minus(&address(0)?, &address(1)?)?),
        "inetand" | "inetor" => {
            Value::Inet(inet::bitwise(address(0)?, &address(1)?, name == "inetor")?)
        }
        _ => Value::Inet(inet::not(address(0)?)),
    })
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
        "abbrev" if is_cidr => Value::Text(inet::abbrev_cidr(&a)),
        "abbrev" => Value::Text(inet::format(&a, false)),
        "inet_merge" | "inet_same_family" => {
            let Some(Value::Inet(b) | Value::Cidr(b)) = second else {
                return Err(DbError::internal(format!(
                    "{name} without a second address"
                )));
            };
            if name == "inet_merge" {
                Value::Cidr(inet::merge(&a, b)?)
            } else {
                Value::Bool(a.ipv6 == b.ipv6)
            }
        }
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
