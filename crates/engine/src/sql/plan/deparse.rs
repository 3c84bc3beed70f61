//! Expressions of a plan written back as SQL the way PostgreSQL's EXPLAIN writes them
//! (`(x > 1)`, `((a.id = b.id) AND (b.n < 3))`, `'abc'::text`), over the names of the
//! columns each node reads.

use super::super::expr::{AggCall, AggFunc, Arith, Cmp, Expr};
use super::Plan;
use crate::types::{DataType, Value};

/// A column of a node's output, as EXPLAIN names it.
#[derive(Clone, Debug)]
pub struct Label {
    pub qualifier: Option<String>,
    pub text: String,
    /// A plain column (not an expression): no parentheses around it as a sort key.
    pub simple: bool,
}

impl Label {
    fn column(qualifier: &str, name: &str) -> Label {
        Label {
            qualifier: Some(qualifier.to_string()),
            text: name.to_string(),
            simple: true,
        }
    }

    fn computed(text: String, simple: bool) -> Label {
        Label {
            qualifier: None,
            text,
            simple,
        }
    }
}

/// How expressions are written: whether columns get their relation's name (a statement
/// over more than one relation), and the labels of the queries around a subplan.
pub struct Deparser {
    pub prefix: bool,
    pub outer: Vec<Vec<Label>>,
    /// Subplans met, numbered from 1, to print after the node that holds them.
    pub subplans: Vec<Plan>,
    /// Each CTE's name and column names.
    pub ctes: std::collections::BTreeMap<usize, (String, Vec<String>)>,
}

impl Deparser {
    /// The labels of a node's output columns.
    pub fn labels(&mut self, plan: &Plan) -> Vec<Label> {
        match plan {
            Plan::Result => Vec::new(),
            Plan::SeqScan { table, alias } | Plan::IndexScan { table, alias, .. } => table
                .columns
                .iter()
                .map(|c| Label::column(alias, &c.name))
                .collect(),
            Plan::Rows { name, columns, .. } => {
                columns.iter().map(|c| Label::column(name, c)).collect()
            }
            Plan::Values { rows } => (0..rows.first().map(Vec::len).unwrap_or(0))
                .map(|i| Label::column("*VALUES*", &format!("column{}", i + 1)))
                .collect(),
            Plan::Function { alias, columns, .. } => {
                columns.iter().map(|c| Label::column(alias, c)).collect()
            }
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input, .. } => self.labels(input),
            Plan::SetOp { left, .. } => self.labels(left),
            Plan::RecursiveUnion { base, .. } => self.labels(base),
            Plan::Project { input, exprs } => {
                let inner = self.labels(input);
                exprs.iter().map(|e| self.expr_label(e, &inner)).collect()
            }
            Plan::ProjectSet { input, calls } => {
                let mut labels = self.labels(input);
                let inner = labels.clone();
                for call in calls {
                    let args: Vec<String> = match call {
                        super::srf::TableFunction::Series { args, .. } => {
                            args.iter().map(|a| self.expr(a, &inner)).collect()
                        }
                        super::srf::TableFunction::Scalar(e)
                        | super::srf::TableFunction::Unnest { arg: e, .. }
                        | super::srf::TableFunction::Json { arg: e, .. } => {
                            vec![self.expr(e, &inner)]
                        }
                    };
                    let name = match call {
                        super::srf::TableFunction::Unnest { .. } => "unnest",
                        super::srf::TableFunction::Json { name, .. } => name.as_str(),
                        _ => "generate_series",
                    };
                    labels.push(Label::computed(
                        format!("{name}({})", args.join(", ")),
                        false,
                    ));
                }
                labels
            }
            Plan::Window { input, calls } => {
                let mut labels = self.labels(input);
                for call in calls {
                    labels.push(Label::computed(format!("{} OVER (?)", call.name()), false));
                }
                labels
            }
            Plan::Join(join) => {
                let mut labels = self.labels(&join.left);
                labels.extend(self.labels(&join.right));
                labels
            }
            Plan::Aggregate {
                input,
                keys,
                aggregates,
                sets,
            } => {
                let inner = self.labels(input);
                let mut labels: Vec<Label> =
                    keys.iter().map(|k| self.expr_label(k, &inner)).collect();
                for call in aggregates {
                    labels.push(Label::computed(self.aggregate(call, &inner), false));
                }
                if sets.is_some() {
                    labels.push(Label::computed("GROUPING()".into(), false));
                }
                labels
            }
            Plan::SubqueryScan { alias, columns, .. } => {
                columns.iter().map(|c| Label::column(alias, c)).collect()
            }
            Plan::CteScan { id, name, .. } | Plan::WorkTableScan { id, name } => self
                .ctes
                .get(id)
                .map(|(_, columns)| columns.iter().map(|c| Label::column(name, c)).collect())
                .unwrap_or_default(),
        }
    }

    fn expr_label(&mut self, expr: &Expr, inner: &[Label]) -> Label {
        match expr {
            Expr::Column(i, _) => inner
                .get(*i)
                .cloned()
                .unwrap_or_else(|| Label::computed("?column?".into(), true)),
            other => Label::computed(self.expr(other, inner), false),
        }
    }

    pub fn aggregate(&mut self, call: &AggCall, inner: &[Label]) -> String {
        let name = match call.func {
            AggFunc::CountStar | AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::StringAgg => "string_agg",
            other => super::aggregate::name(other),
        };
        let arg = match &call.arg {
            None => "*".to_string(),
            Some(arg) => self.expr(arg, inner),
        };
        let distinct = if call.distinct { "DISTINCT " } else { "" };
        let mut text = format!("{name}({distinct}{arg})");
        if let Some(filter) = &call.filter {
            text += &format!(" FILTER (WHERE {})", self.expr(filter, inner));
        }
        text
    }

    /// A column reference: `name`, or `relation.name` when the statement has several.
    fn column(&self, label: &Label) -> String {
        match (&label.qualifier, self.prefix && label.simple) {
            (Some(q), true) => format!("{}.{}", quote(q), quote(&label.text)),
            _ if label.simple => quote(&label.text),
            _ => label.text.clone(),
        }
    }

    /// A sort or group key: an expression in parentheses, a column plain.
    pub fn key(&mut self, label: &Label) -> String {
        if label.simple {
            self.column(label)
        } else if label.text.starts_with('(') {
            format!("({})", label.text)
        } else {
            label.text.clone()
        }
    }

    pub fn key_of(&mut self, column: usize, labels: &[Label]) -> String {
        match labels.get(column) {
            Some(label) => self.key(&label.clone()),
            None => "?column?".into(),
        }
    }

    pub fn expr(&mut self, expr: &Expr, inner: &[Label]) -> String {
        if crate::stack::check().is_err() {
            return "...".into();
        }
        match expr {
            Expr::Column(i, _) => match inner.get(*i) {
                Some(label) => self.column(label),
                None => "?column?".into(),
            },
            Expr::Outer(levels, i, _) => {
                let depth = self.outer.len();
                let label = depth
                    .checked_sub(*levels)
                    .and_then(|at| self.outer.get(at))
                    .and_then(|labels| labels.get(*i))
                    .cloned();
                match label {
                    Some(Label {
                        qualifier: Some(q),
                        text,
                        simple: true,
                    }) => format!("{}.{}", quote(&q), quote(&text)),
                    Some(label) => self.column(&label),
                    None => "$0".into(),
                }
            }
            Expr::Const(value, t) => constant(value, t),
            Expr::Arith(op, a, b, _) => {
                let symbol = match op {
                    Arith::Add => "+",
                    Arith::Sub => "-",
                    Arith::Mul => "*",
                    Arith::Div => "/",
                    Arith::Mod => "%",
                };
                format!("({} {symbol} {})", self.expr(a, inner), self.expr(b, inner))
            }
            Expr::Compare(op, a, b) => format!(
                "({} {} {})",
                self.expr(a, inner),
                cmp_symbol(*op),
                self.expr(b, inner)
            ),
            Expr::And(..) | Expr::Or(..) => self.junction(expr, inner),
            _ => self.other(expr, inner),
        }
    }

    /// `(a AND b AND c)`: PostgreSQL flattens a chain of ANDs (or ORs).
    fn junction(&mut self, expr: &Expr, inner: &[Label]) -> String {
        let is_and = matches!(expr, Expr::And(..));
        let mut terms = Vec::new();
        let mut stack = vec![expr];
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(a, b) if is_and => stack.extend([b.as_ref(), a.as_ref()]),
                Expr::Or(a, b) if !is_and => stack.extend([b.as_ref(), a.as_ref()]),
                other => terms.push(self.expr(other, inner)),
            }
        }
        let word = if is_and { " AND " } else { " OR " };
        format!("({})", terms.join(word))
    }

    fn other(&mut self, expr: &Expr, inner: &[Label]) -> String {
        match expr {
            Expr::Negate(a, _) => format!("(- {})", self.expr(a, inner)),
            Expr::Not(a) => format!("(NOT {})", self.expr(a, inner)),
            Expr::IsNull(a, negated) => format!(
                "({} IS {}NULL)",
                self.expr(a, inner),
                if *negated { "NOT " } else { "" }
            ),
            Expr::IsBool(a, wanted, negated) => format!(
                "({} IS {}{})",
                self.expr(a, inner),
                if *negated { "NOT " } else { "" },
                if *wanted { "TRUE" } else { "FALSE" }
            ),
            Expr::Concat(a, b) => format!("({} || {})", self.expr(a, inner), self.expr(b, inner)),
            Expr::LsnDiff(a, b) => format!("({} - {})", self.expr(a, inner), self.expr(b, inner)),
            Expr::Cast(a, t) => format!("({})::{}", self.expr(a, inner), t.name()),
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let op = match (negated, case_insensitive) {
                    (false, false) => "~~",
                    (true, false) => "!~~",
                    (false, true) => "~~*",
                    (true, true) => "!~~*",
                };
                format!(
                    "({} {op} {})",
                    self.expr(expr, inner),
                    self.expr(pattern, inner)
                )
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|e| self.expr(e, inner)).collect();
                let op = if *negated { "<> ALL" } else { "= ANY" };
                format!(
                    "({} {op} (ARRAY[{}]))",
                    self.expr(expr, inner),
                    items.join(", ")
                )
            }
            Expr::ArrayCompare {
                cmp,
                all,
                lhs,
                array,
            } => format!(
                "({} {} {} ({}))",
                self.expr(lhs, inner),
                cmp_symbol(*cmp),
                if *all { "ALL" } else { "ANY" },
                self.expr(array, inner)
            ),
            Expr::Call { name, args, .. } if name == "array" => {
                let args: Vec<String> = args.iter().map(|e| self.expr(e, inner)).collect();
                format!("ARRAY[{}]", args.join(", "))
            }
            Expr::Call { name, args, .. } if name == "array_subscript" && args.len() == 2 => {
                format!(
                    "({})[{}]",
                    self.expr(&args[0], inner),
                    self.expr(&args[1], inner)
                )
            }
            Expr::Call { name, args, .. } if name == "array_slice" && args.len() == 5 => {
                let given = |i: usize| matches!(args[i], Expr::Const(Value::Bool(true), _));
                let lower = match given(3) {
                    true => self.expr(&args[1], inner),
                    false => String::new(),
                };
                let upper = match given(4) {
                    true => self.expr(&args[2], inner),
                    false => String::new(),
                };
                format!("({})[{lower}:{upper}]", self.expr(&args[0], inner))
            }
            Expr::Call { name, args, .. }
                if args.len() == 2
                    && matches!(
                        name.as_str(),
                        "arraycontains" | "arraycontained" | "arrayoverlap"
                    ) =>
            {
                let op = match name.as_str() {
                    "arraycontains" => "@>",
                    "arraycontained" => "<@",
                    _ => "&&",
                };
                format!(
                    "({} {op} {})",
                    self.expr(&args[0], inner),
                    self.expr(&args[1], inner)
                )
            }
            Expr::Case { .. } => "CASE ... END".into(),
            Expr::Coalesce(args, _) => {
                let args: Vec<String> = args.iter().map(|e| self.expr(e, inner)).collect();
                format!("COALESCE({})", args.join(", "))
            }
            Expr::Call { name, args, .. } => {
                let args: Vec<String> = args.iter().map(|e| self.expr(e, inner)).collect();
                // json functions carry their argument types after a NUL (`sql::json`).
                let name = name.split('\u{0}').next().unwrap_or(name);
                format!("{name}({})", args.join(", "))
            }
            Expr::Subquery(sub) => {
                self.subplans.push(sub.plan.clone());
                let plan = format!("(SubPlan {})", self.subplans.len());
                match &sub.lhs {
                    Some(lhs) => format!("({} = ANY {plan})", self.expr(lhs, inner)),
                    None => plan,
                }
            }
            Expr::Aggregate(..) | Expr::Srf(..) => "?column?".into(),
            _ => "?".into(),
        }
    }
}

fn cmp_symbol(op: Cmp) -> &'static str {
    match op {
        Cmp::Eq => "=",
        Cmp::NotEq => "<>",
        Cmp::Lt => "<",
        Cmp::LtEq => "<=",
        Cmp::Gt => ">",
        Cmp::GtEq => ">=",
    }
}

/// An identifier as PostgreSQL quotes it (only when it must).
fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain && !name.is_empty() {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A constant as ruleutils.c writes it: integers and numerics bare (when not negative),
/// anything else as a quoted literal with its type.
fn constant(value: &Value, t: &DataType) -> String {
    let text = value.to_text();
    match (value, text) {
        (Value::Null, _) => format!("NULL::{}", t.name()),
        (Value::Bool(b), _) => b.to_string(),
        (Value::Int4(v), Some(text)) if *v >= 0 => text,
        (Value::Numeric(v), Some(text)) if !v.is_special() && v.signum() >= 0 => text,
        (_, Some(text)) => format!("'{}'::{}", text.replace('\'', "''"), t.name()),
        (_, None) => "NULL".into(),
    }
}
