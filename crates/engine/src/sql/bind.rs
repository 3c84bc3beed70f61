//! From sqlparser's AST to bound [`Expr`]s: names, literals, operators,
//! functions and aggregates.

use sqlparser::ast::{self as ast, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::expr::*;
use super::functions;
use crate::error::{code, DbError, Result};
use crate::types::{castable, DataType, Value};

/// Binding state: the input scope and, when aggregates are allowed, the calls found.
pub struct Binder<'a> {
    pub scope: &'a Scope,
    pub aggregates: Option<&'a mut Vec<AggCall>>,
    pub context: &'static str,
}

impl<'a> Binder<'a> {
    pub fn new(scope: &'a Scope) -> Binder<'a> {
        Binder {
            scope,
            aggregates: None,
            context: "",
        }
    }

    pub fn with_aggregates(scope: &'a Scope, aggregates: &'a mut Vec<AggCall>) -> Binder<'a> {
        Binder {
            scope,
            aggregates: Some(aggregates),
            context: "",
        }
    }

    pub fn bind(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        crate::stack::check()?;
        Ok(match expr {
            E::Identifier(ident) => {
                let name = ident_name(ident);
                let index = self.scope.resolve(None, &name)?;
                Expr::Column(index, self.scope.columns[index].data_type.clone())
            }
            E::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(ident_name).collect();
                let (table, column) = match names.as_slice() {
                    [table, column] => (table.as_str(), column.as_str()),
                    [_, table, column] => (table.as_str(), column.as_str()),
                    _ => {
                        return Err(DbError::feature_not_supported(format!(
                            "name {expr} is not supported by pgplay"
                        )))
                    }
                };
                let index = self.scope.resolve(Some(table), column)?;
                Expr::Column(index, self.scope.columns[index].data_type.clone())
            }
            E::Value(value) => bind_value(&value.value)?,
            E::TypedString(typed) => {
                let data_type = bind_type(&typed.data_type)?;
                let text = match &typed.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                coerce(
                    Expr::Const(Value::Text(text), DataType::Unknown),
                    &data_type,
                )?
            }
            E::Nested(inner) => self.bind(inner)?,
            E::BinaryOp { .. } => self.bind_operator_chain(expr)?,
            E::UnaryOp { op, expr } => {
                let operand = self.bind(expr)?;
                bind_unary(op, operand)?
            }
            E::IsNull(inner) => Expr::IsNull(Box::new(self.bind(inner)?), false),
            E::IsUnknown(inner) => Expr::IsNull(
                Box::new(coerce_bool(self.bind(inner)?, "IS UNKNOWN")?),
                false,
            ),
            E::IsNotUnknown(inner) => Expr::IsNull(
                Box::new(coerce_bool(self.bind(inner)?, "IS NOT UNKNOWN")?),
                true,
            ),
            E::IsNotNull(inner) => Expr::IsNull(Box::new(self.bind(inner)?), true),
            E::IsTrue(inner) => Expr::IsBool(
                Box::new(coerce_bool(self.bind(inner)?, "IS TRUE")?),
                true,
                false,
            ),
            E::IsNotTrue(inner) => Expr::IsBool(
                Box::new(coerce_bool(self.bind(inner)?, "IS TRUE")?),
                true,
                true,
            ),
            E::IsFalse(inner) => Expr::IsBool(
                Box::new(coerce_bool(self.bind(inner)?, "IS FALSE")?),
                false,
                false,
            ),
            E::IsNotFalse(inner) => Expr::IsBool(
                Box::new(coerce_bool(self.bind(inner)?, "IS FALSE")?),
                false,
                true,
            ),
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let value = self.bind(expr)?;
                let (low, high) = (self.bind(low)?, self.bind(high)?);
                let lower = bind_binary(&ast::BinaryOperator::GtEq, value.clone(), low)?;
                let upper = bind_binary(&ast::BinaryOperator::LtEq, value, high)?;
                let both = Expr::And(Box::new(lower), Box::new(upper));
                if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                }
            }
            E::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => {
                let value = self.bind(expr)?;
                let items = list
                    .iter()
                    .map(|e| self.bind(e))
                    .collect::<Result<Vec<_>>>()?;
                let mut target = value.data_type();
                for item in &items {
                    target = unify(&target, &item.data_type()).ok_or_else(|| {
                        operator_error("=", &value.data_type(), &item.data_type())
                    })?;
                }
                let list = items
                    .into_iter()
                    .map(|i| coerce(i, &target))
                    .collect::<Result<Vec<_>>>()?;
                Expr::InList {
                    expr: Box::new(coerce(value, &target)?),
                    list,
                    negated: *negated,
                }
            }
            E::Like {
                negated,
                expr,
                pattern,
                escape_char,
                ..
            } => self.bind_like(expr, pattern, *negated, escape_char.is_some(), false)?,
            E::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                ..
            } => self.bind_like(expr, pattern, *negated, escape_char.is_some(), true)?,
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.bind_case(operand.as_deref(), conditions, else_result.as_deref())?,
            E::Cast {
                expr: inner,
                data_type,
                ..
            } => {
                let target = bind_type(data_type)?;
                let value = self.bind(inner)?;
                let source = value.data_type();
                if !castable(&source, &target) {
                    return Err(crate::types::cannot_cast(&source, &target));
                }
                match value {
                    Expr::Const(_, DataType::Unknown)
                        if !matches!(target, DataType::Varchar(Some(_))) =>
                    {
                        coerce(value, &target)?
                    }
                    other => Expr::Cast(Box::new(other), target),
                }
            }
            E::Function(function) => self.bind_function(function)?,
            E::Interval(interval) => bind_interval(interval)?,
            E::Extract { field, expr, .. } => {
                super::datetime::bind_extract(&field.to_string(), self.bind(expr)?)?
            }
            E::Substring {
                expr,
                substring_from,
                substring_for,
                shorthand,
                ..
            } => {
                let mut args = vec![self.bind(expr)?];
                let start = match substring_from {
                    Some(from) => self.bind(from)?,
                    None => Expr::Const(Value::Int4(1), DataType::Int4),
                };
                let null = matches!(start, Expr::Const(Value::Null, _));
                if start.data_type().is_string() && !null {
                    return Err(DbError::feature_not_supported(
                        "substring with a regular expression is not supported by pgplay yet",
                    ));
                }
                args.push(start);
                if let Some(length) = substring_for {
                    args.push(self.bind(length)?);
                }
                functions::bind_call(if *shorthand { "substr" } else { "substring" }, args)?
            }
            E::Subquery(_) | E::In { .. } | E::Exists { .. } => {
                return Err(DbError::feature_not_supported(
                    "subqueries are not supported by pgplay yet",
                ))
            }
            other => {
                return Err(DbError::feature_not_supported(format!(
                    "expression {other} is not supported by pgplay"
                )))
            }
        })
    }

    /// `a + b + c ...` as sqlparser builds it: left-deep, as deep as the chain is long. The left
    /// spine is walked with a loop, so only the right operands (short, as a rule) recurse, and a
    /// chain of thousands of terms binds in constant stack, as in PostgreSQL.
    fn bind_operator_chain(&mut self, expr: &ast::Expr) -> Result<Expr> {
        let mut spine = Vec::new();
        let mut leftmost = expr;
        while let ast::Expr::BinaryOp { left, op, right } = leftmost {
            if spine.len() == crate::stack::MAX_OPERATOR_CHAIN {
                return Err(crate::stack::depth_exceeded());
            }
            spine.push((op, right.as_ref()));
            leftmost = left;
        }
        let mut bound = self.bind(leftmost)?;
        for (op, right) in spine.into_iter().rev() {
            let right = self.bind(right)?;
            bound = bind_binary(op, bound, right)?;
        }
        Ok(bound)
    }

    fn bind_like(
        &mut self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        negated: bool,
        escape: bool,
        case_insensitive: bool,
    ) -> Result<Expr> {
        if escape {
            return Err(DbError::feature_not_supported(
                "LIKE ... ESCAPE is not supported by pgplay",
            ));
        }
        let (value, pattern) = (self.bind(expr)?, self.bind(pattern)?);
        let (vt, pt) = (value.data_type(), pattern.data_type());
        if !vt.is_string() || !pt.is_string() {
            return Err(operator_error(
                if case_insensitive { "~~*" } else { "~~" },
                &vt,
                &pt,
            ));
        }
        Ok(Expr::Like {
            expr: Box::new(value),
            pattern: Box::new(pattern),
            negated,
            case_insensitive,
        })
    }

    fn bind_case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
    ) -> Result<Expr> {
        let operand = operand.map(|o| self.bind(o)).transpose()?;
        let mut whens = Vec::new();
        for case in conditions {
            let when = self.bind(&case.condition)?;
            let when = match &operand {
                Some(subject) => coerce(
                    when,
                    &unify(&subject.data_type(), &DataType::Unknown).unwrap_or(DataType::Text),
                )?,
                None => coerce_bool(when, "CASE")?,
            };
            whens.push((when, self.bind(&case.result)?));
        }
        let otherwise = else_result.map(|e| self.bind(e)).transpose()?;
        let mut result_type = otherwise
            .as_ref()
            .map(Expr::data_type)
            .unwrap_or(DataType::Unknown);
        for (_, then) in whens
            .iter()
            .rev()
            .filter(|(_, t)| t.data_type() != DataType::Unknown)
        {
            let t = then.data_type();
            result_type = unify(&result_type, &t).ok_or_else(|| {
                DbError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "CASE types {} and {} cannot be matched",
                        result_type.base_name(),
                        t.base_name()
                    ),
                )
            })?;
        }
        if result_type == DataType::Unknown {
            result_type = DataType::Text;
        }
        let whens = whens
            .into_iter()
            .map(|(w, t)| Ok((w, coerce(t, &result_type)?)))
            .collect::<Result<Vec<_>>>()?;
        let otherwise = otherwise
            .map(|o| coerce(o, &result_type))
            .transpose()?
            .map(Box::new);
        Ok(Expr::Case {
            operand: operand.map(Box::new),
            whens,
            otherwise,
            data_type: result_type,
        })
    }

    fn bind_function(&mut self, function: &ast::Function) -> Result<Expr> {
        let name = function.name.to_string().to_ascii_lowercase();
        let name = name.trim_start_matches("pg_catalog.").to_string();
        if name == "make_interval" {
            return super::datetime::bind_make_interval_args(&function.args, &mut |e| self.bind(e));
        }
        let (args, distinct, star) = match &function.args {
            FunctionArguments::None => (Vec::new(), false, false),
            FunctionArguments::List(list) => {
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                let mut star = false;
                let mut args = Vec::new();
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e.clone()),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                        _ => {
                            return Err(DbError::feature_not_supported(
                                "named function arguments are not supported by pgplay",
                            ))
                        }
                    }
                }
                (args, distinct, star)
            }
            FunctionArguments::Subquery(_) => {
                return Err(DbError::feature_not_supported(
                    "subqueries are not supported by pgplay yet",
                ))
            }
        };
        if let Some(func) = aggregate_kind(&name, star) {
            return self.bind_aggregate(&name, func, &args, distinct);
        }
        if star {
            return Err(DbError::syntax(format!("syntax error at or near \"*\"")));
        }
        let bound = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>()?;
        if name == "coalesce" {
            let mut t = DataType::Unknown;
            for arg in bound.iter().filter(|a| a.data_type() != DataType::Unknown) {
                t = unify(&t, &arg.data_type()).ok_or_else(|| {
                    DbError::new(
                        code::DATATYPE_MISMATCH,
                        format!(
                            "COALESCE types {} and {} cannot be matched",
                            t.base_name(),
                            arg.data_type().base_name()
                        ),
                    )
                })?;
            }
            let t = if t == DataType::Unknown {
                DataType::Text
            } else {
                t
            };
            let args = bound
                .into_iter()
                .map(|a| coerce(a, &t))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Expr::Coalesce(args, t));
        }
        if name == "nullif" && bound.len() == 2 {
            let t = unify(&bound[0].data_type(), &bound[1].data_type())
                .ok_or_else(|| operator_error("=", &bound[0].data_type(), &bound[1].data_type()))?;
            let (a, b) = (coerce(bound[0].clone(), &t)?, coerce(bound[1].clone(), &t)?);
            let equal = Expr::Compare(Cmp::Eq, Box::new(a.clone()), Box::new(b));
            return Ok(Expr::Case {
                operand: None,
                whens: vec![(equal, Expr::Const(Value::Null, t.clone()))],
                otherwise: Some(Box::new(a)),
                data_type: t,
            });
        }
        functions::bind_call(&name, bound)
    }

    fn bind_aggregate(
        &mut self,
        name: &str,
        func: AggFunc,
        args: &[ast::Expr],
        distinct: bool,
    ) -> Result<Expr> {
        if self.aggregates.is_none() {
            let context = if self.context.is_empty() {
                "WHERE"
            } else {
                self.context
            };
            return Err(DbError::new(
                code::GROUPING_ERROR,
                format!("aggregate functions are not allowed in {context}"),
            ));
        }
        let arg = match (func, args) {
            (AggFunc::CountStar, []) => None,
            (_, [single]) => {
                let mut inner = Binder::new(self.scope);
                let bound = inner.bind(single).map_err(|e| {
                    if e.code == code::GROUPING_ERROR {
                        DbError::new(
                            code::GROUPING_ERROR,
                            "aggregate function calls cannot be nested",
                        )
                    } else {
                        e
                    }
                })?;
                Some(bound)
            }
            _ => {
                return Err(DbError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("function {name} does not exist"),
                ))
            }
        };
        let arg_type = arg.as_ref().map(Expr::data_type);
        let data_type = match (func, &arg_type) {
            (AggFunc::CountStar | AggFunc::Count, _) => DataType::Int8,
            (AggFunc::Sum, Some(DataType::Int2 | DataType::Int4)) => DataType::Int8,
            (AggFunc::Sum, Some(DataType::Int8 | DataType::Numeric { .. })) => DataType::NUMERIC,
            (AggFunc::Sum, Some(DataType::Float8)) => DataType::Float8,
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Interval)) => DataType::Interval,
            (AggFunc::Avg, Some(t)) if t.is_numeric() => if *t == DataType::Float8 { DataType::Float8 } else { DataType::NUMERIC },
            (AggFunc::Min | AggFunc::Max, Some(t)) if *t != DataType::Bool => if *t == DataType::Unknown { DataType::Text } else { t.clone() },
            (_, Some(t)) => {
                return Err(DbError::new(code::UNDEFINED_FUNCTION, format!("function {name}({}) does not exist", t.base_name()))
                    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
            }
            (_, None) => DataType::Int8,
        };
        let aggregates = self.aggregates.as_mut().expect("checked above");
        let call = AggCall {
            func,
            arg,
            distinct,
            data_type: data_type.clone(),
        };
        let index = match aggregates.iter().position(|existing| *existing == call) {
            Some(index) => index,
            None => {
                aggregates.push(call);
                aggregates.len() - 1
            }
        };
        Ok(Expr::Aggregate(index, data_type))
    }
}

fn aggregate_kind(name: &str, star: bool) -> Option<AggFunc> {
    Some(match name {
        "count" if star => AggFunc::CountStar,
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        _ => return None,
    })
}

pub fn ident_name(ident: &ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

pub fn object_name(name: &ast::ObjectName) -> String {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(ident_name)
        .unwrap_or_else(|| name.to_string())
}

fn bind_value(value: &ast::Value) -> Result<Expr> {
    Ok(match value {
        ast::Value::Number(text, _) => number_literal(text)?,
        ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => {
            Expr::Const(Value::Text(s.clone()), DataType::Unknown)
        }
        ast::Value::DollarQuotedString(s) => {
            Expr::Const(Value::Text(s.value.clone()), DataType::Unknown)
        }
        ast::Value::Boolean(b) => Expr::Const(Value::Bool(*b), DataType::Bool),
        ast::Value::Null => Expr::Const(Value::Null, DataType::Unknown),
        other => {
            return Err(DbError::feature_not_supported(format!(
                "literal {other} is not supported by pgplay"
            )))
        }
    })
}

/// `INTERVAL '1 day'` and `INTERVAL '3' HOUR`.
fn bind_interval(interval: &ast::Interval) -> Result<Expr> {
    let text = match interval.value.as_ref() {
        ast::Expr::Value(value) => match &value.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => {
            return Err(DbError::feature_not_supported(format!(
                "interval expression {other} is not supported by pgplay"
            )))
        }
    };
    if interval.last_field.is_some() || interval.fractional_seconds_precision.is_some() {
        return Err(DbError::feature_not_supported(
            "interval field ranges (DAY TO SECOND) are not supported by pgplay yet",
        ));
    }
    let unit = interval
        .leading_field
        .as_ref()
        .map(|f| f.to_string().to_lowercase());
    super::datetime::bind_interval_literal(&text, unit.as_deref())
}
