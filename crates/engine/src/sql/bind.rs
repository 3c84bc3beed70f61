//! From sqlparser's AST to bound [`Expr`]s: names, literals, operators,
//! functions and aggregates. Names not found in the query's own scope are looked up in the
//! enclosing queries' through the [`QueryContext`], which also plans subqueries.

use sqlparser::ast::{self as ast, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::expr::*;
use super::functions;
use crate::error::{code, DbError, Result};
use crate::sql::plan::{SubqueryExpr, SubqueryKind};
use crate::types::{castable, DataType, Value};

/// What a binder asks of the query around it: names of enclosing queries, subquery plans.
pub trait QueryContext {
    /// The column `table.name` of an enclosing query, if one has it.
    fn resolve_outer(&mut self, table: Option<&str>, name: &str) -> Option<Result<Expr>>;
    /// Plans `query` as a subquery of the query whose row is `scope`.
    fn plan_subquery(&mut self, query: &ast::Query, scope: &Scope) -> Result<PlannedSubquery>;
    /// The 1-based character position in the statement's text of a place sqlparser names.
    fn position(&self, location: sqlparser::tokenizer::Location) -> Option<usize>;
}

/// A subquery planned for use as an expression.
pub struct PlannedSubquery {
    pub id: usize,
    pub plan: crate::sql::plan::Plan,
    pub columns: Vec<DataType>,
    pub correlated: bool,
    /// Positions of the enclosing row the subquery reads.
    pub referenced: std::collections::BTreeSet<usize>,
}

/// Binding state: the input scope and, when aggregates are allowed, the calls found.
pub struct Binder<'a> {
    pub scope: &'a Scope,
    pub aggregates: Option<&'a mut Vec<AggCall>>,
    /// Set-returning functions found in a select list, when they are allowed.
    pub srfs: Option<&'a mut Vec<crate::sql::plan::srf::TableFunction>>,
    pub planner: Option<&'a mut dyn QueryContext>,
    /// Window function calls found in a select list or ORDER BY, when they are allowed.
    pub windows: Option<&'a mut Vec<crate::sql::plan::window::WindowCall>>,
    /// The query's `WINDOW name AS (...)` definitions, for `OVER name`.
    pub window_defs: &'a [ast::NamedWindowDefinition],
    /// Binding a window aggregate's arguments: aggregates there belong to the query
    /// (`sum(sum(x)) OVER ()`), they are not nested.
    window_args: bool,
    pub context: &'static str,
}

impl<'a> Binder<'a> {
    pub fn new(scope: &'a Scope) -> Binder<'a> {
        Binder {
            scope,
            aggregates: None,
            srfs: None,
            planner: None,
            windows: None,
            window_defs: &[],
            window_args: false,
            context: "",
        }
    }

    pub fn with_aggregates(scope: &'a Scope, aggregates: &'a mut Vec<AggCall>) -> Binder<'a> {
        Binder {
            aggregates: Some(aggregates),
            ..Binder::new(scope)
        }
    }

    /// A binder for an aggregate's argument: same scope and planner, no aggregates.
    fn inner(&mut self) -> Binder<'_> {
        let aggregates = match self.window_args {
            true => self.aggregates.as_deref_mut(),
            false => None,
        };
        Binder {
            scope: self.scope,
            aggregates,
            srfs: None,
            planner: self
                .planner
                .as_deref_mut()
                .map(|p| p as &mut dyn QueryContext),
            windows: None,
            window_defs: self.window_defs,
            window_args: false,
            context: self.context,
        }
    }

    /// Where `location` is in the statement's text, when the binder knows the text.
    fn position(&self, location: sqlparser::tokenizer::Location) -> Option<usize> {
        self.planner.as_deref().and_then(|p| p.position(location))
    }

    /// A column by name: this query's scope first, then the enclosing queries'.
    fn column(&mut self, table: Option<&str>, name: &str) -> Result<Expr> {
        match self.scope.resolve(table, name) {
            Ok(index) => Ok(Expr::Column(
                index,
                self.scope.columns[index].data_type.clone(),
            )),
            Err(error)
                if error.code == code::UNDEFINED_COLUMN || error.code == code::UNDEFINED_TABLE =>
            {
                let outer = match self.planner.as_deref_mut() {
                    Some(planner) => planner.resolve_outer(table, name),
                    None => None,
                };
                let whole_row = table.is_none()
                    && self
                        .scope
                        .columns
                        .iter()
                        .any(|c| c.table.as_deref() == Some(name));
                match outer {
                    Some(found) => found,
                    None if whole_row => Err(DbError::feature_not_supported(
                        "whole-row references are not supported by pgplay yet",
                    )),
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    fn bind_subquery(
        &mut self,
        query: &ast::Query,
        kind: SubqueryKind,
        lhs: Option<&ast::Expr>,
        op: &str,
    ) -> Result<Expr> {
        let lhs = lhs.map(|e| self.bind(e)).transpose()?;
        let scope = self.scope;
        if self.context == "check constraints" {
            return Err(DbError::feature_not_supported(
                "cannot use subquery in check constraint",
            ));
        }
        let Some(planner) = self.planner.as_deref_mut() else {
            return Err(DbError::feature_not_supported(
                "subqueries are not supported here by pgplay yet",
            ));
        };
        let planned = planner.plan_subquery(query, scope)?;
        let column_type = planned.columns.first().cloned().unwrap_or(DataType::Text);
        match (kind, planned.columns.len()) {
            (SubqueryKind::Array, n) if n != 1 => {
                return Err(DbError::syntax("subquery must return only one column"))
            }
            (SubqueryKind::Array, _) if matches!(column_type, DataType::Array(_)) => {
                return Err(DbError::feature_not_supported(
                    "multidimensional arrays are not supported by pgplay yet",
                ))
            }
            (SubqueryKind::Scalar, n) if n != 1 => {
                return Err(DbError::syntax("subquery must return only one column"))
            }
            (SubqueryKind::Any { .. }, n) if n > 1 => {
                return Err(DbError::syntax("subquery has too many columns"))
            }
            (SubqueryKind::Any { .. }, 0) => {
                return Err(DbError::syntax("subquery has too few columns"))
            }
            _ => {}
        }
        let (lhs, compare_type) = match lhs {
            Some(lhs) => {
                let target = unify(&lhs.data_type(), &column_type)
                    .ok_or_else(|| operator_error(op, &lhs.data_type(), &column_type))?;
                (Some(coerce(lhs, &target)?), target)
            }
            None => (None, column_type.clone()),
        };
        let outer = scope
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match planned.referenced.contains(&i) {
                true => Expr::Column(i, c.data_type.clone()),
                false => Expr::Const(Value::Null, c.data_type.clone()),
            })
            .collect();
        Ok(Expr::Subquery(Box::new(SubqueryExpr {
            id: planned.id,
            kind,
            lhs,
            plan: planned.plan,
            column_type,
            compare_type,
            correlated: planned.correlated,
            outer,
        })))
    }

    /// `x::type` and `CAST(x AS type)`: a literal is read as the type, anything else converted.
    fn bind_cast(&mut self, inner: &ast::Expr, data_type: &ast::DataType) -> Result<Expr> {
        let target = bind_type(data_type)?;
        if let ast::DataType::Timestamp(Some(precision), zone) = data_type {
            let plain = ast::DataType::Timestamp(None, *zone);
            let cast = self.bind_cast(inner, &plain)?;
            return super::datetime::bind_precision(cast, *precision);
        }
        if let (ast::Expr::Array(array), DataType::Array(_)) = (inner, &target) {
            if array.elem.is_empty() {
                let empty = crate::types::array::value(Vec::new())?;
                return Ok(Expr::Const(empty, target));
            }
        }
        let value = self.bind(inner)?;
        let source = value.data_type();
        if !castable(&source, &target) {
            return Err(crate::types::cannot_cast(&source, &target));
        }
        Ok(match value {
            Expr::Const(_, DataType::Unknown) if !matches!(target, DataType::Varchar(Some(_))) => {
                coerce(value, &target)?
            }
            other => Expr::Cast(Box::new(other), target),
        })
    }

    /// `x [NOT] BETWEEN a AND b` and `x [NOT] IN (list)`.
    fn bind_range_or_list(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match expr {
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
            _ => return Err(DbError::internal("not BETWEEN or IN")),
        })
    }

    /// `x IS [NOT] NULL | UNKNOWN | TRUE | FALSE`.
    fn bind_is(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match expr {
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
            _ => return Err(DbError::internal("not an IS test")),
        })
    }

    /// The forms a subquery takes in an expression: `(SELECT ...)`, EXISTS, IN, ANY/ALL.
    fn bind_subquery_form(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match expr {
            E::Subquery(query) => self.bind_subquery(query, SubqueryKind::Scalar, None, "=")?,
            E::Exists { subquery, negated } => {
                let exists = self.bind_subquery(subquery, SubqueryKind::Exists, None, "=")?;
                match negated {
                    true => Expr::Not(Box::new(exists)),
                    false => exists,
                }
            }
            E::In {
                expr,
                target: ast::InTarget::Subquery(query),
                negated,
                ..
            } => {
                let kind = SubqueryKind::Any {
                    cmp: Cmp::Eq,
                    all: false,
                };
                let any = self.bind_subquery(query, kind, Some(expr), "=")?;
                match negated {
                    true => Expr::Not(Box::new(any)),
                    false => any,
                }
            }
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.bind_quantified(left, compare_op, right, false)?,
            E::AllOp {
                left,
                compare_op,
                right,
            } => self.bind_quantified(left, compare_op, right, true)?,
            _ => return Err(DbError::internal("not a subquery form")),
        })
    }

    /// `x op ANY (SELECT ...)` and `x op ALL (SELECT ...)`.
    fn bind_quantified(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> Result<Expr> {
        let cmp = match op {
            ast::BinaryOperator::Eq => Cmp::Eq,
            ast::BinaryOperator::NotEq => Cmp::NotEq,
            ast::BinaryOperator::Lt => Cmp::Lt,
            ast::BinaryOperator::LtEq => Cmp::LtEq,
            ast::BinaryOperator::Gt => Cmp::Gt,
            ast::BinaryOperator::GtEq => Cmp::GtEq,
            other => {
                return Err(DbError::feature_not_supported(format!(
                    "operator {other} with ANY or ALL is not supported by pgplay yet"
                )))
            }
        };
        let symbol = op.to_string();
        match right {
            ast::Expr::Subquery(query) => {
                self.bind_subquery(query, SubqueryKind::Any { cmp, all }, Some(left), &symbol)
            }
            array => self.bind_array_quantified(left, cmp, &symbol, array, all),
        }
    }

    /// `x op ANY (array)`, `x op ALL (array)`: the array's elements compared with `x`.
    fn bind_array_quantified(
        &mut self,
        left: &ast::Expr,
        cmp: Cmp,
        symbol: &str,
        array: &ast::Expr,
        all: bool,
    ) -> Result<Expr> {
        let lhs = self.bind(left)?;
        let array = self.bind(array)?;
        let array = match array.data_type() {
            DataType::Unknown => {
                let element = match lhs.data_type() {
                    DataType::Unknown => DataType::Text,
                    other => other,
                };
                coerce(array, &element.array_of())?
            }
            _ => array,
        };
        let Some(element) = array.data_type().element().cloned() else {
            return Err(DbError::new(
                code::WRONG_OBJECT_TYPE,
                "op ANY/ALL (array) requires array on right side",
            ));
        };
        let lt = lhs.data_type();
        let target = unify(&lt, &element).ok_or_else(|| operator_error(symbol, &lt, &element))?;
        if target.without_modifier() != element.without_modifier() {
            // The array keeps its type: only the left side is converted (int = ANY(bigint[])).
            if !crate::types::castable(&element, &target) {
                return Err(operator_error(symbol, &lt, &element));
            }
        }
        let array = coerce(array, &target.array_of())?;
        Ok(Expr::ArrayCompare {
            cmp,
            all,
            lhs: Box::new(coerce(lhs, &target)?),
            array: Box::new(array),
        })
    }

    /// `ARRAY[...]`, and `a[i]`/`a[lo:hi]` on any expression.
    fn bind_array_syntax(&mut self, expr: &ast::Expr) -> Result<Expr> {
        match expr {
            ast::Expr::Array(array) => {
                let items = array
                    .elem
                    .iter()
                    .map(|e| self.bind(e))
                    .collect::<Result<Vec<_>>>()?;
                super::arrays::bind_constructor(items)
            }
            ast::Expr::CompoundFieldAccess { root, access_chain } => {
                let mut bound = self.bind(root)?;
                if access_chain.len() > 1 {
                    return Err(DbError::feature_not_supported(
                        "multidimensional arrays are not supported by pgplay yet",
                    ));
                }
                for access in access_chain {
                    bound = match access {
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let index = self.bind(index)?;
                            super::arrays::bind_subscript(bound, Some(index), None)?
                        }
                        ast::AccessExpr::Subscript(ast::Subscript::Slice {
                            lower_bound,
                            upper_bound,
                            stride: None,
                        }) => {
                            let lower = lower_bound.as_ref().map(|e| self.bind(e)).transpose()?;
                            let upper = upper_bound.as_ref().map(|e| self.bind(e)).transpose()?;
                            super::arrays::bind_subscript(bound, None, Some((lower, upper)))?
                        }
                        other => {
                            return Err(DbError::syntax(format!(
                                "syntax error at or near \"{other}\""
                            )))
                        }
                    };
                }
                Ok(bound)
            }
            _ => Err(DbError::internal("not array syntax")),
        }
    }

    pub fn bind(&mut self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        crate::stack::check()?;
        Ok(match expr {
            E::Identifier(ident) => self
                .column(None, &ident_name(ident))
                .map_err(|e| e.with_position(self.position(ident.span.start)))?,
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
                let start = parts.first().map(|p| p.span.start);
                self.column(Some(table), column)
                    .map_err(|e| e.with_position(start.and_then(|s| self.position(s))))?
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
            E::IsNull(_)
            | E::IsNotNull(_)
            | E::IsUnknown(_)
            | E::IsNotUnknown(_)
            | E::IsTrue(_)
            | E::IsNotTrue(_)
            | E::IsFalse(_)
            | E::IsNotFalse(_) => self.bind_is(expr)?,
            E::Between { .. }
            | E::In {
                target: ast::InTarget::List(_),
                ..
            } => self.bind_range_or_list(expr)?,
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
            } => self.bind_cast(inner, data_type)?,
            E::Function(function) => self.bind_function(function)?,
            E::Interval(interval) => bind_interval(interval)?,
            E::AtTimeZone {
                timestamp,
                time_zone,
            } => functions::bind_call(
                "timezone",
                vec![self.bind(time_zone)?, self.bind(timestamp)?],
            )
            .map_err(|mut error| {
                // AT TIME ZONE is syntax for pg_catalog.timezone(zone, value).
                if error.code == crate::error::code::UNDEFINED_FUNCTION {
                    error.message = error.message.replacen(
                        "function timezone(",
                        "function pg_catalog.timezone(",
                        1,
                    );
                }
                error
            })?,
            E::Extract { field, expr, .. } => {
                super::datetime::bind_extract(&field.to_string(), self.bind(expr)?)?
            }
            // sqlparser parses ceil(x) and floor(x) as syntax; in PostgreSQL they are functions.
            E::Ceil {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => functions::bind_call("ceil", vec![self.bind(inner)?])?,
            E::Floor {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => functions::bind_call("floor", vec![self.bind(inner)?])?,
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
            E::Subquery(_)
            | E::Exists { .. }
            | E::In {
                target: ast::InTarget::Subquery(_),
                ..
            }
            | E::AnyOp { .. }
            | E::AllOp { .. } => self.bind_subquery_form(expr)?,
            E::In { .. } => {
                return Err(DbError::feature_not_supported(
                    "this form of IN is not supported by pgplay yet",
                ))
            }
            E::Array(_) | E::CompoundFieldAccess { .. } => self.bind_array_syntax(expr)?,
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
        if let (FunctionArguments::Subquery(query), "array") = (&function.args, name.as_str()) {
            return self.bind_subquery(query, SubqueryKind::Array, None, "=");
        }
        let name = name.trim_start_matches("pg_catalog.").to_string();
        if name == "make_interval" {
            return super::datetime::bind_make_interval_args(&function.args, &mut |e| self.bind(e));
        }
        let (args, distinct, star) = function_args(function)?;
        let at = function
            .name
            .0
            .first()
            .and_then(|p| p.as_ident())
            .map(|i| i.span.start);
        let at = at.and_then(|s| self.position(s));
        let placed = |e: DbError| match e.code {
            code::UNDEFINED_FUNCTION
            | code::AMBIGUOUS_FUNCTION
            | code::WRONG_OBJECT_TYPE
            | code::FEATURE_NOT_SUPPORTED => e.with_position(at),
            _ => e,
        };
        let ordered_set = ordered_set_kind(&name);
        let any_ordered_set = ordered_set.is_some() || hypothetical_kind(&name).is_some();
        if any_ordered_set && function.over.is_some() && !function.within_group.is_empty() {
            return Err(DbError::feature_not_supported(format!(
                "OVER is not supported for ordered-set aggregate {name}"
            ))
            .with_position(at));
        }
        if let Some(window) = &function.over {
            if !call_order(function).is_empty() {
                return Err(DbError::feature_not_supported(
                    "aggregate ORDER BY is not implemented for window functions",
                ));
            }
            return self
                .bind_window(
                    &name,
                    window,
                    &args,
                    star,
                    distinct,
                    function.filter.as_deref(),
                )
                .map_err(placed);
        }
        refuse_function_extras(function)?;
        if name == "grouping" && !star {
            return self.bind_grouping(&args);
        }
        let within: Vec<ast::Expr> = function
            .within_group
            .iter()
            .map(|o| o.expr.clone())
            .collect();
        match ordered_set {
            Some(func) if !within.is_empty() => {
                return self
                    .bind_aggregate(
                        &name,
                        func,
                        &args,
                        distinct,
                        function.filter.as_deref(),
                        &function.within_group,
                    )
                    .map_err(placed);
            }
            // Without WITHIN GROUP (or with it on another function) PostgreSQL finds no
            // function taking those arguments.
            Some(_) => return Err(placed(self.wrong_arity(&name, &args))),
            None if !within.is_empty() && hypothetical_kind(&name).is_some() => {
                return self
                    .bind_hypothetical(
                        &name,
                        &args,
                        function.filter.as_deref(),
                        &function.within_group,
                    )
                    .map_err(placed);
            }
            None if !within.is_empty() => {
                let all: Vec<ast::Expr> = args.iter().cloned().chain(within).collect();
                return Err(placed(self.wrong_arity(&name, &all)));
            }
            None => {}
        }
        let order = call_order(function);
        if let Some(func) = aggregate_kind(&name, star) {
            return self
                .bind_aggregate(
                    &name,
                    func,
                    &args,
                    distinct,
                    function.filter.as_deref(),
                    order,
                )
                .map_err(placed);
        }
        if !order.is_empty() {
            return Err(DbError::new(
                code::WRONG_OBJECT_TYPE,
                format!("ORDER BY specified, but {name} is not an aggregate function"),
            ));
        }
        if function.filter.is_some() {
            return Err(DbError::new(
                code::WRONG_OBJECT_TYPE,
                format!("FILTER specified, but {name} is not an aggregate function"),
            ));
        }
        if star {
            return Err(DbError::syntax("syntax error at or near \"*\"".to_string()));
        }
        if let Some(row) = self.json_whole_row(&name, &args) {
            return Ok(row);
        }
        let bound = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>()?;
        if let Some(special) = bind_conditional(&name, &bound)? {
            return Ok(special);
        }
        if matches!(name.as_str(), "generate_series" | "unnest")
            || crate::sql::json::SET_RETURNING.contains(&name.as_str())
        {
            return self.bind_srf(&name, bound).map_err(placed);
        }
        functions::bind_call(&name, bound).map_err(placed)
    }

    /// `GROUPING(args)`: allowed where aggregates are; planning turns it into its value.
    fn bind_grouping(&mut self, args: &[ast::Expr]) -> Result<Expr> {
        if self.aggregates.is_none() {
            let context = if self.context.is_empty() {
                "WHERE"
            } else {
                self.context
            };
            return Err(DbError::new(
                code::GROUPING_ERROR,
                format!("grouping operations are not allowed in {context}"),
            ));
        }
        let args = args
            .iter()
            .map(|a| self.inner().bind(a))
            .collect::<Result<Vec<_>>>()?;
        crate::sql::plan::grouping::call(args)
    }

    /// `f(...) OVER (PARTITION BY ... ORDER BY ...)`: a call of the WindowAgg node.
    fn bind_window(
        &mut self,
        name: &str,
        window: &ast::WindowType,
        args: &[ast::Expr],
        star: bool,
        distinct: bool,
        filter: Option<&ast::Expr>,
    ) -> Result<Expr> {
        use crate::sql::plan::window::{WindowCall, WindowFunc};
        if self.windows.is_none() {
            let context = if self.context.is_empty() {
                "WHERE"
            } else {
                self.context
            };
            return Err(DbError::new(
                "42P20",
                format!("window functions are not allowed in {context}"),
            ));
        }
        if distinct {
            return Err(DbError::feature_not_supported(
                "DISTINCT is not implemented for window functions",
            ));
        }
        let spec = super::plan::window_spec::resolve(window, self.window_defs)?;
        let plain = matches!(
            name,
            "row_number"
                | "rank"
                | "dense_rank"
                | "percent_rank"
                | "cume_dist"
                | "ntile"
                | "lag"
                | "lead"
                | "first_value"
                | "last_value"
                | "nth_value"
        );
        if plain && filter.is_some() {
            return Err(DbError::feature_not_supported(
                "FILTER is not implemented for non-aggregate window functions",
            ));
        }
        let func = match (name, args.len()) {
            ("row_number", 0) => WindowFunc::RowNumber,
            ("rank", 0) => WindowFunc::Rank,
            ("dense_rank", 0) => WindowFunc::DenseRank,
            ("percent_rank", 0) => WindowFunc::PercentRank,
            ("cume_dist", 0) => WindowFunc::CumeDist,
            ("ntile" | "lag" | "lead" | "first_value" | "last_value" | "nth_value", 1..=3) => {
                self.positional_window(name, args)?
            }
            _ => match aggregate_kind(name, star) {
                Some(kind) => {
                    self.window_args = true;
                    let call = self.agg_call(name, kind, args, false, filter, &[]);
                    self.window_args = false;
                    WindowFunc::Aggregate(call?)
                }
                None => return Err(self.unknown_window_function(name, args)),
            },
        };
        let windows = self.windows.take();
        let bound = self.window_keys(&spec).map_err(|e| {
            window_in(
                e,
                "42P20",
                "window functions are not allowed in window definitions",
            )
        });
        self.windows = windows;
        let (partition, order, frame) = bound?;
        let data_type = match &func {
            WindowFunc::Aggregate(call) => call.data_type.clone(),
            WindowFunc::PercentRank | WindowFunc::CumeDist => DataType::Float8,
            WindowFunc::Ntile(_) => DataType::Int4,
            WindowFunc::Shift { value: e, .. }
            | WindowFunc::FirstValue(e)
            | WindowFunc::LastValue(e)
            | WindowFunc::NthValue(e, _) => e.data_type(),
            _ => DataType::Int8,
        };
        let windows = self.windows.as_mut().expect("checked above");
        windows.push(WindowCall {
            func,
            partition,
            order,
            frame,
            data_type: data_type.clone(),
        });
        Ok(Expr::Window(windows.len() - 1, data_type))
    }

    /// `f(...) OVER (...)` for an `f` pgplay has no window code for: PostgreSQL's catalog says
    /// whether it is missing (42883), not a window function (42809) or not implemented (0A000).
    fn unknown_window_function(&mut self, name: &str, args: &[ast::Expr]) -> DbError {
        use crate::pg_proc::{catalog, Kind, Resolution};
        let windows = self.windows.take();
        let bound = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>();
        self.windows = windows;
        let bound = match bound {
            Ok(bound) => bound,
            Err(e) => return e,
        };
        let inputs: Vec<u32> = bound
            .iter()
            .map(|a| functions::input_oid(&a.data_type()))
            .collect();
        match catalog().resolve(name, &inputs) {
            Resolution::Found(c) if c.proc.kind == Kind::Function => DbError::new(
                code::WRONG_OBJECT_TYPE,
                format!(
                    "OVER specified, but {name} is not a window function nor an aggregate function"
                ),
            ),
            Resolution::Found(_) => DbError::feature_not_supported(format!(
                "window function {name} is not supported by pgplay yet"
            )),
            Resolution::Ambiguous => functions::not_unique(name, &bound),
            Resolution::NotFound | Resolution::Coercion(_) => {
                functions::no_such_function(name, &bound)
            }
        }
    }

    /// ntile, lag, lead, first_value, last_value: their arguments, typed as PostgreSQL types them.
    fn positional_window(
        &mut self,
        name: &str,
        args: &[ast::Expr],
    ) -> Result<crate::sql::plan::window::WindowFunc> {
        use crate::sql::plan::window::WindowFunc;
        let windows = self.windows.take();
        let bound = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>();
        self.windows = windows;
        let mut bound =
            bound.map_err(|e| window_in(e, "42P20", "window function calls cannot be nested"))?;
        let types: Vec<String> = bound.iter().map(|a| a.data_type().base_name()).collect();
        let not_found = || {
            DbError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", types.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let value = bound.remove(0);
        let value = match value.data_type() {
            DataType::Unknown => coerce(value, &DataType::Text)?,
            _ => value,
        };
        Ok(match (name, bound.len()) {
            ("ntile", 0) => {
                WindowFunc::Ntile(coerce(value, &DataType::Int4).map_err(|_| not_found())?)
            }
            ("first_value", 0) => WindowFunc::FirstValue(value),
            ("last_value", 0) => WindowFunc::LastValue(value),
            ("nth_value", 1) => {
                let n = bound.remove(0);
                if !matches!(
                    n.data_type(),
                    DataType::Int2 | DataType::Int4 | DataType::Unknown
                ) {
                    return Err(not_found());
                }
                WindowFunc::NthValue(value, coerce(n, &DataType::Int4)?)
            }
            ("lag" | "lead", _) => {
                let offset = match bound.first() {
                    Some(o) if o.data_type().is_numeric() || o.data_type() == DataType::Unknown => {
                        coerce(o.clone(), &DataType::Int4)?
                    }
                    Some(_) => return Err(not_found()),
                    None => Expr::Const(Value::Int4(1), DataType::Int4),
                };
                let default = match bound.get(1) {
                    Some(d) => {
                        let t = value.data_type();
                        unify(&t, &d.data_type()).ok_or_else(not_found)?;
                        Some(coerce(d.clone(), &t)?)
                    }
                    None => None,
                };
                WindowFunc::Shift {
                    lead: name == "lead",
                    value,
                    offset,
                    default,
                }
            }
            _ => return Err(not_found()),
        })
    }

    /// A window's PARTITION BY and ORDER BY expressions and its frame.
    fn window_keys(
        &mut self,
        spec: &super::plan::window_spec::Spec,
    ) -> Result<(
        Vec<Expr>,
        Vec<(Expr, bool, bool)>,
        crate::sql::plan::frame::Frame,
    )> {
        let partition = spec
            .partition_by
            .iter()
            .map(|e| self.bind(e))
            .collect::<Result<Vec<_>>>()?;
        let mut order = Vec::new();
        for item in &spec.order_by {
            let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            let nulls_first = item.options.nulls_first.unwrap_or(descending);
            order.push((self.bind(&item.expr)?, descending, nulls_first));
        }
        let frame = super::plan::window_spec::bind_frame(spec, &order, &mut |e, units| {
            let mut inner = self.inner();
            inner.context = units;
            inner.bind(e)
        })?;
        Ok((partition, order, frame))
    }

    /// `row_to_json(t)`, `to_json(t)`, `to_jsonb(t)` of a table's whole row: its columns, by
    /// name (pgplay has no record values; these are the whole-row references it reads).
    fn json_whole_row(&mut self, name: &str, args: &[ast::Expr]) -> Option<Expr> {
        if !matches!(name, "row_to_json" | "to_json" | "to_jsonb") {
            return None;
        }
        let [ast::Expr::Identifier(table)] = args else {
            return None;
        };
        let table = ident_name(table);
        if self.scope.resolve(None, &table).is_ok() {
            return None;
        }
        let columns: Vec<(usize, String, DataType)> = self
            .scope
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.table.as_deref() == Some(table.as_str()))
            .map(|(i, c)| (i, c.name.clone(), c.data_type.clone()))
            .collect();
        if columns.is_empty() {
            return None;
        }
        Some(super::json::bind_whole_row(name, columns))
    }

    /// A set-returning function in a select list: its values come from a ProjectSet node.
    fn bind_srf(&mut self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        let call = crate::sql::plan::srf::bind(name, args)?;
        let data_type = call.data_type();
        let Some(srfs) = self.srfs.as_mut() else {
            let context = if self.context.is_empty() {
                "WHERE"
            } else {
                self.context
            };
            if matches!(context, "GROUP BY" | "ORDER BY") {
                return Err(DbError::feature_not_supported(format!(
                    "set-returning functions in {context} are not supported by pgplay yet"
                )));
            }
            return Err(DbError::feature_not_supported(format!(
                "set-returning functions are not allowed in {context}"
            )));
        };
        srfs.push(call);
        Ok(Expr::Srf(srfs.len() - 1, data_type))
    }

    fn bind_aggregate(
        &mut self,
        name: &str,
        func: AggFunc,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order: &[ast::OrderByExpr],
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
        let call = self.agg_call(name, func, args, distinct, filter, order)?;
        let data_type = call.data_type.clone();
        let aggregates = self.aggregates.as_mut().expect("checked above");
        let index = match aggregates.iter().position(|existing| *existing == call) {
            Some(index) => index,
            None => {
                aggregates.push(call);
                aggregates.len() - 1
            }
        };
        Ok(Expr::Aggregate(index, data_type))
    }

    /// An aggregate call: its argument, FILTER and result type, with PostgreSQL's errors.
    fn agg_call(
        &mut self,
        name: &str,
        func: AggFunc,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order: &[ast::OrderByExpr],
    ) -> Result<AggCall> {
        if ordered_set_kind(name).is_some() {
            return self.ordered_set_call(name, func, args, filter, order);
        }
        let (args, delimiter) = match (func, args) {
            (AggFunc::StringAgg, [value, delimiter]) => {
                let value = self.inner().bind(value)?;
                let delimiter = self.inner().bind(delimiter)?;
                let (vt, dt) = (value.data_type(), delimiter.data_type());
                let text = |t: &DataType| t.is_string() || *t == DataType::Unknown;
                if !text(&vt) || !text(&dt) {
                    return Err(DbError::new(code::UNDEFINED_FUNCTION, format!("function string_agg({}, {}) does not exist", vt.base_name(), dt.base_name()))
                        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
                }
                let value = coerce(value, &DataType::Text)?;
                let delimiter = coerce(delimiter, &DataType::Text)?;
                return self.finish_agg_call(
                    func,
                    Some(value),
                    Some(delimiter),
                    distinct,
                    filter,
                    order,
                    DataType::Text,
                );
            }
            (AggFunc::StringAgg, args) => return Err(self.wrong_arity(name, args)),
            (AggFunc::JsonObjectAgg(binary), [key, value]) => {
                let key = self.inner().bind(key)?;
                let value = self.inner().bind(value)?;
                let text = |e: Expr| match e.data_type() {
                    DataType::Unknown => coerce(e, &DataType::Text),
                    _ => Ok(e),
                };
                let result = if binary {
                    DataType::Jsonb
                } else {
                    DataType::Json
                };
                return self.finish_agg_call(
                    func,
                    Some(text(key)?),
                    Some(text(value)?),
                    distinct,
                    filter,
                    order,
                    result,
                );
            }
            (AggFunc::JsonObjectAgg(_), args) => return Err(self.wrong_arity(name, args)),
            other => (other.1, ()),
        };
        let () = delimiter;
        let arg = match (func, args) {
            (AggFunc::CountStar, []) => None,
            (_, [single]) => {
                let in_window = self.window_args;
                let bound = self.inner().bind(single).map_err(|e| {
                    if e.code == code::GROUPING_ERROR {
                        DbError::new(
                            code::GROUPING_ERROR,
                            "aggregate function calls cannot be nested",
                        )
                    } else if in_window {
                        window_in(e, "42P20", "window function calls cannot be nested")
                    } else {
                        window_in(
                            e,
                            code::GROUPING_ERROR,
                            "aggregate function calls cannot contain window function calls",
                        )
                    }
                })?;
                Some(bound)
            }
            (_, args) => return Err(self.wrong_arity(name, args)),
        };
        if arg.as_ref().is_some_and(|a| {
            let (mut outer, mut local) = (false, false);
            a.walk(&mut |e| match e {
                Expr::Outer(..) => outer = true,
                Expr::Column(..) => local = true,
                _ => {}
            });
            outer && !local
        }) {
            return Err(DbError::feature_not_supported(
                "aggregates over an enclosing query's columns are not supported by pgplay yet",
            ));
        }
        let arg_type = arg.as_ref().map(Expr::data_type);
        let data_type = match (func, &arg_type) {
            (AggFunc::CountStar | AggFunc::Count, _) => DataType::Int8,
            (AggFunc::ArrayAgg, Some(DataType::Array(_))) => return Err(DbError::feature_not_supported("array_agg over arrays (a multidimensional result) is not supported by pgplay yet")),
            (AggFunc::ArrayAgg, Some(t)) => t.without_modifier().array_of(),
            (AggFunc::JsonAgg(false), Some(_)) => DataType::Json,
            (AggFunc::JsonAgg(true), Some(_)) => DataType::Jsonb,
            (AggFunc::Sum, Some(DataType::Int2 | DataType::Int4)) => DataType::Int8,
            (AggFunc::Sum, Some(DataType::Int8 | DataType::Numeric { .. })) => DataType::NUMERIC,
            (AggFunc::Sum, Some(DataType::Float8)) => DataType::Float8,
            (AggFunc::Sum, Some(DataType::Float4)) => DataType::Float4,
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Interval)) => DataType::Interval,
            (AggFunc::Avg, Some(t)) if t.is_numeric() => if matches!(t, DataType::Float8 | DataType::Float4) { DataType::Float8 } else { DataType::NUMERIC },
            (AggFunc::Min | AggFunc::Max, Some(t)) if !matches!(t, DataType::Bool | DataType::Uuid | DataType::Bytea | DataType::Json | DataType::Jsonb) => if *t == DataType::Unknown { DataType::Text } else { t.clone() },
            (AggFunc::BoolAnd | AggFunc::BoolOr, Some(DataType::Bool)) => DataType::Bool,
            (AggFunc::BitAnd | AggFunc::BitOr, Some(t @ (DataType::Int2 | DataType::Int4 | DataType::Int8))) => t.clone(),
            (AggFunc::Variance { .. }, Some(DataType::Float8 | DataType::Float4)) => DataType::Float8,
            (AggFunc::Variance { .. }, Some(DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric { .. })) => DataType::NUMERIC,
            (_, Some(t)) => {
                return Err(DbError::new(code::UNDEFINED_FUNCTION, format!("function {name}({}) does not exist", t.base_name()))
                    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
            }
            (_, None) => DataType::Int8,
        };
        self.finish_agg_call(func, arg, None, distinct, filter, order, data_type)
    }

    /// `percentile_cont(fraction)`, `percentile_disc(fraction)` or `mode()` `WITHIN GROUP
    /// (ORDER BY value)`: the value is the call's argument and sort key, the fraction (float8)
    /// rides in `delimiter`.
    fn ordered_set_call(
        &mut self,
        name: &str,
        func: AggFunc,
        args: &[ast::Expr],
        filter: Option<&ast::Expr>,
        within: &[ast::OrderByExpr],
    ) -> Result<AggCall> {
        let direct = args
            .iter()
            .map(|a| self.inner().bind(a))
            .collect::<Result<Vec<_>>>()?;
        let sorted = within
            .iter()
            .map(|o| self.inner().bind(&o.expr))
            .collect::<Result<Vec<_>>>()?;
        let all: Vec<Expr> = direct.iter().chain(&sorted).cloned().collect();
        let missing = || functions::no_such_function(name, &all);
        let expected = usize::from(func != AggFunc::Mode);
        if direct.len() != expected || sorted.len() != 1 {
            return Err(missing());
        }
        let fraction = match direct.first() {
            Some(f) if f.data_type().is_numeric() => {
                Some(Expr::Cast(Box::new(f.clone()), DataType::Float8))
            }
            Some(f) if f.data_type() == DataType::Unknown => {
                Some(coerce(f.clone(), &DataType::Float8)?)
            }
            Some(_) => return Err(missing()),
            None => None,
        };
        let value = sorted[0].clone();
        let t = value.data_type();
        let (value, data_type) = match func {
            AggFunc::PercentileCont if t == DataType::Interval => (value, t),
            AggFunc::PercentileCont if t.is_numeric() => (
                Expr::Cast(Box::new(value), DataType::Float8),
                DataType::Float8,
            ),
            AggFunc::PercentileCont => return Err(missing()),
            _ if t == DataType::Unknown => (coerce(value, &DataType::Text)?, DataType::Text),
            _ => (value, t),
        };
        self.finish_agg_call(
            func,
            Some(value),
            fraction,
            false,
            filter,
            within,
            data_type,
        )
    }

    /// `rank(value) WITHIN GROUP (ORDER BY column)` and its kin: the hypothetical value and the
    /// column in their common type; the value rides in `delimiter`, the column is the sort key.
    fn bind_hypothetical(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        filter: Option<&ast::Expr>,
        within: &[ast::OrderByExpr],
    ) -> Result<Expr> {
        use crate::sql::expr::Hypothetical;
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
        let kind = hypothetical_kind(name).expect("checked by the caller");
        let direct = args
            .iter()
            .map(|a| self.inner().bind(a))
            .collect::<Result<Vec<_>>>()?;
        let sorted = within
            .iter()
            .map(|o| self.inner().bind(&o.expr))
            .collect::<Result<Vec<_>>>()?;
        if direct.len() != sorted.len() {
            let all: Vec<Expr> = direct.iter().chain(&sorted).cloned().collect();
            return Err(functions::no_such_function(name, &all).with_hint(format!(
                "To use the hypothetical-set aggregate {name}, the number of hypothetical direct arguments (here {}) must match the number of ordering columns (here {}).",
                direct.len(),
                sorted.len()
            )));
        }
        if direct.len() != 1 {
            return Err(DbError::feature_not_supported(format!(
                "hypothetical-set aggregate {name} over more than one column is not supported by pgplay yet"
            )));
        }
        let (value, column) = (direct[0].clone(), sorted[0].clone());
        let t = unify(&column.data_type(), &value.data_type()).ok_or_else(|| {
            DbError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "WITHIN GROUP types {} and {} cannot be matched",
                    column.data_type().base_name(),
                    value.data_type().base_name()
                ),
            )
        })?;
        let t = if t == DataType::Unknown {
            DataType::Text
        } else {
            t
        };
        let value = coerce(value, &t)?;
        let data_type = match kind {
            Hypothetical::Rank | Hypothetical::DenseRank => DataType::Int8,
            _ => DataType::Float8,
        };
        let mut call = self.finish_agg_call(
            AggFunc::Hypothetical(kind),
            None,
            Some(value),
            false,
            filter,
            within,
            data_type.clone(),
        )?;
        if let Some(key) = call.order.first_mut() {
            key.0 = coerce(key.0.clone(), &t)?;
        }
        let aggregates = self.aggregates.as_mut().expect("checked above");
        aggregates.push(call);
        Ok(Expr::Aggregate(aggregates.len() - 1, data_type))
    }

    /// An aggregate called with a number of arguments none of its forms takes: PostgreSQL's
    /// 42883 naming the argument types.
    fn wrong_arity(&mut self, name: &str, args: &[ast::Expr]) -> DbError {
        let bound = args
            .iter()
            .map(|a| self.inner().bind(a))
            .collect::<Result<Vec<_>>>();
        match bound {
            Ok(bound) => functions::no_such_function(name, &bound),
            Err(e) => e,
        }
    }

    /// An aggregate call with its FILTER and ORDER BY bound.
    #[allow(clippy::too_many_arguments)]
    fn finish_agg_call(
        &mut self,
        func: AggFunc,
        arg: Option<Expr>,
        delimiter: Option<Expr>,
        distinct: bool,
        filter: Option<&ast::Expr>,
        order: &[ast::OrderByExpr],
        data_type: DataType,
    ) -> Result<AggCall> {
        let filter = match filter {
            Some(filter) => {
                let mut inner = self.inner();
                inner.context = "FILTER";
                Some(coerce_bool(inner.bind(filter)?, "FILTER")?)
            }
            None => None,
        };
        let mut keys = Vec::new();
        for item in order {
            let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            let nulls_first = item.options.nulls_first.unwrap_or(descending);
            keys.push((self.inner().bind(&item.expr)?, descending, nulls_first));
        }
        Ok(AggCall {
            func,
            arg,
            distinct,
            filter,
            delimiter,
            order: keys,
            data_type,
        })
    }
}

/// A window function where none may be, said as PostgreSQL says it for where it was found.
fn window_in(error: DbError, code: &'static str, message: &str) -> DbError {
    if error.code == "42P20"
        && error
            .message
            .starts_with("window functions are not allowed in")
    {
        DbError::new(code, message)
    } else {
        error
    }
}

/// What pgplay does not evaluate yet in a function call: OVER, ORDER BY inside the call.
fn refuse_function_extras(function: &ast::Function) -> Result<()> {
    if function.over.is_some() {
        return Err(DbError::feature_not_supported(
            "window functions are not supported by pgplay yet",
        ));
    }
    let other = matches!(&function.args, FunctionArguments::List(list)
        if list.clauses.iter().any(|c| !matches!(c,
            ast::FunctionArgumentClause::IgnoreOrRespectNulls(_) | ast::FunctionArgumentClause::OrderBy(_))));
    if other {
        return Err(DbError::feature_not_supported(
            "WITHIN GROUP and other clauses inside function calls are not supported by pgplay yet",
        ));
    }
    Ok(())
}

/// COALESCE and NULLIF, which PostgreSQL types by their arguments' common type.
fn bind_conditional(name: &str, bound: &[Expr]) -> Result<Option<Expr>> {
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
            .iter()
            .map(|a| coerce(a.clone(), &t))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Some(Expr::Coalesce(args, t)));
    }
    if name == "nullif" && bound.len() == 2 {
        let t = unify(&bound[0].data_type(), &bound[1].data_type())
            .ok_or_else(|| operator_error("=", &bound[0].data_type(), &bound[1].data_type()))?;
        let (a, b) = (coerce(bound[0].clone(), &t)?, coerce(bound[1].clone(), &t)?);
        let equal = Expr::Compare(Cmp::Eq, Box::new(a.clone()), Box::new(b));
        return Ok(Some(Expr::Case {
            operand: None,
            whens: vec![(equal, Expr::Const(Value::Null, t.clone()))],
            otherwise: Some(Box::new(a)),
            data_type: t,
        }));
    }
    Ok(None)
}

/// A call's arguments, whether it says DISTINCT, and whether it is `f(*)`.
fn function_args(function: &ast::Function) -> Result<(Vec<ast::Expr>, bool, bool)> {
    Ok(match &function.args {
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
    })
}

/// `ORDER BY` inside a call's parentheses.
fn call_order(function: &ast::Function) -> &[ast::OrderByExpr] {
    match &function.args {
        FunctionArguments::List(list) => list
            .clauses
            .iter()
            .find_map(|c| match c {
                ast::FunctionArgumentClause::OrderBy(order) => Some(order.as_slice()),
                _ => None,
            })
            .unwrap_or(&[]),
        _ => &[],
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
        "string_agg" => AggFunc::StringAgg,
        "array_agg" => AggFunc::ArrayAgg,
        "json_agg" => AggFunc::JsonAgg(false),
        "jsonb_agg" => AggFunc::JsonAgg(true),
        "json_object_agg" => AggFunc::JsonObjectAgg(false),
        "jsonb_object_agg" => AggFunc::JsonObjectAgg(true),
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "bit_and" => AggFunc::BitAnd,
        "bit_or" => AggFunc::BitOr,
        "stddev" | "stddev_samp" => AggFunc::Variance {
            root: true,
            sample: true,
        },
        "stddev_pop" => AggFunc::Variance {
            root: true,
            sample: false,
        },
        "variance" | "var_samp" => AggFunc::Variance {
            root: false,
            sample: true,
        },
        "var_pop" => AggFunc::Variance {
            root: false,
            sample: false,
        },
        _ => return None,
    })
}

/// The hypothetical-set aggregates, called `f(value) WITHIN GROUP (ORDER BY column)`.
fn hypothetical_kind(name: &str) -> Option<crate::sql::expr::Hypothetical> {
    use crate::sql::expr::Hypothetical;
    Some(match name {
        "rank" => Hypothetical::Rank,
        "dense_rank" => Hypothetical::DenseRank,
        "percent_rank" => Hypothetical::PercentRank,
        "cume_dist" => Hypothetical::CumeDist,
        _ => return None,
    })
}

/// The ordered-set aggregates, called `f(fraction) WITHIN GROUP (ORDER BY value)`.
fn ordered_set_kind(name: &str) -> Option<AggFunc> {
    Some(match name {
        "percentile_cont" => AggFunc::PercentileCont,
        "percentile_disc" => AggFunc::PercentileDisc,
        "mode" => AggFunc::Mode,
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
