//! `CREATE TABLE ... AS query [WITH [NO] DATA]` and `SELECT ... INTO table`: the query's
//! output names (or the given column names) and types become an ordinary `CREATE TABLE`, whose
//! catalog rows are WAL-logged as any DDL, and the rows go in through the heap insert path, so
//! standbys see both.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::bind::{ident_name, object_name};
use super::plan::planner::Planner;
use super::query::Rows;
use super::Executor;
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::types::{DataType, Value};

impl Executor<'_> {
    /// `CREATE TABLE name [(columns)] AS query [WITH [NO] DATA]`; the name is known to be free.
    pub(super) fn create_table_as(
        &mut self,
        create: &ast::CreateTable,
        query: &ast::Query,
    ) -> Result<Outcome> {
        if create.temporary || !create.constraints.is_empty() {
            return Err(DbError::feature_not_supported(
                "CREATE TEMP TABLE ... AS and constraints in CREATE TABLE ... AS are not supported by pgplay yet",
            ));
        }
        let names: Vec<String> = create.columns.iter().map(|c| ident_name(&c.name)).collect();
        let with_data = create.with_data.as_ref().is_none_or(|w| w.data);
        if !with_data {
            let planned = Planner::new(self).plan_statement(query)?;
            let columns = planned
                .scope
                .columns
                .into_iter()
                .map(|c| (c.name, c.data_type))
                .collect();
            self.create_from_columns(create, columns, &names)?;
            return Ok(Outcome::Command {
                tag: "CREATE TABLE AS".into(),
            });
        }
        let rows = self.run_query(query)?;
        let count = self.fill_new_table(create, rows, &names)?;
        Ok(Outcome::Command {
            tag: format!("SELECT {count}"),
        })
    }

    /// `SELECT ... INTO [TABLE] name FROM ...`: the query without INTO, into a new table.
    pub(super) fn select_into(&mut self, query: &ast::Query) -> Result<Outcome> {
        let mut plain = query.clone();
        let ast::SetExpr::Select(select) = plain.body.as_mut() else {
            return Err(DbError::internal("SELECT INTO without a SELECT"));
        };
        let into = select
            .into
            .take()
            .ok_or_else(|| DbError::internal("no INTO"))?;
        if into.temporary || into.unlogged {
            return Err(DbError::feature_not_supported(
                "SELECT ... INTO TEMP or UNLOGGED is not supported by pgplay yet",
            ));
        }
        let name = match into.targets.as_slice() {
            [ast::Expr::Identifier(ident)] => ident_name(ident),
            [ast::Expr::CompoundIdentifier(parts)] if parts.len() == 2 => ident_name(&parts[1]),
            _ => {
                return Err(DbError::feature_not_supported(
                    "this SELECT ... INTO target is not supported by pgplay yet",
                ))
            }
        };
        if self.catalog.relation_exists(&name) {
            return Err(DbError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let create = parse_create(&format!("CREATE TABLE {} (x int)", into.targets[0]))?;
        let rows = self.run_query(&plain)?;
        let count = self.fill_new_table(&create, rows, &[])?;
        Ok(Outcome::Command {
            tag: format!("SELECT {count}"),
        })
    }

    /// Creates the table for `rows`' columns and inserts the rows; returns how many.
    fn fill_new_table(
        &mut self,
        create: &ast::CreateTable,
        rows: Rows,
        names: &[String],
    ) -> Result<usize> {
        let name = self.create_from_columns(create, rows.columns, names)?;
        self.catalog = self.db.catalog(self.session)?;
        let table = self
            .catalog
            .table(&name)
            .cloned()
            .ok_or_else(|| DbError::internal("created table not in the catalog"))?;
        let count = rows.rows.len();
        for row in rows.rows {
            self.db.interrupts.check()?;
            self.heap_insert(&table, &row)?;
        }
        Ok(count)
    }

    /// Creates the table with `columns`, renamed by `names` from the left; returns its name.
    fn create_from_columns(
        &mut self,
        create: &ast::CreateTable,
        columns: Vec<(String, DataType)>,
        names: &[String],
    ) -> Result<String> {
        if names.len() > columns.len() {
            return Err(DbError::syntax("too many column names were specified"));
        }
        let mut definitions = Vec::new();
        for (i, (name, data_type)) in columns.into_iter().enumerate() {
            let name = names.get(i).cloned().unwrap_or(name);
            let data_type = match data_type {
                DataType::Unknown => DataType::Text,
                DataType::Char => return Err(DbError::feature_not_supported(
                    "a column of type \"char\" in CREATE TABLE AS is not supported by pgplay yet",
                )),
                other => other,
            };
            let quoted = Value::Text(name).to_text().unwrap_or_default();
            definitions.push(format!(
                "\"{}\" {}",
                quoted.replace('"', "\"\""),
                data_type.name()
            ));
        }
        let table_name = object_name(&create.name);
        let sql = format!("CREATE TABLE {} ({})", create.name, definitions.join(", "));
        let mut plain = parse_create(&sql)?;
        plain.if_not_exists = create.if_not_exists;
        self.create_table(&plain)?;
        Ok(table_name)
    }
}

/// Parses generated `CREATE TABLE` text (names and types pgplay printed itself).
fn parse_create(sql: &str) -> Result<ast::CreateTable> {
    let statement = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| DbError::internal(format!("generated CREATE TABLE did not parse: {e}")))?;
    match statement {
        ast::Statement::CreateTable(create) => Ok(create),
        _ => Err(DbError::internal("generated CREATE TABLE is not one")),
    }
}

/// `CREATE TABLE [IF NOT EXISTS] name (column, ...) AS query [WITH [NO] DATA]`, which sqlparser
/// does not read (it wants a type for every column): read here with sqlparser's own pieces.
/// None when `sql` is not exactly one such statement.
pub(super) fn parse_with_column_names(sql: &str) -> Option<ast::Statement> {
    use sqlparser::keywords::Keyword;
    use sqlparser::parser::IsOptional;
    use sqlparser::tokenizer::Token;
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(crate::stack::PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .ok()?;
    parser
        .expect_keywords(&[Keyword::CREATE, Keyword::TABLE])
        .ok()?;
    let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = parser.parse_object_name(false).ok()?;
    let columns = parser
        .parse_parenthesized_column_list(IsOptional::Mandatory, false)
        .ok()?;
    parser.expect_keyword(Keyword::AS).ok()?;
    let query = parser.parse_query().ok()?;
    let with_data = if parser.parse_keywords(&[Keyword::WITH, Keyword::DATA]) {
        Some(true)
    } else if parser.parse_keywords(&[Keyword::WITH, Keyword::NO, Keyword::DATA]) {
        Some(false)
    } else {
        None
    };
    while parser.consume_token(&Token::SemiColon) {}
    if parser.peek_token().token != Token::EOF {
        return None;
    }
    let mut create = parse_create(&format!("CREATE TABLE {name} AS SELECT 1")).ok()?;
    create.if_not_exists = if_not_exists;
    create.query = Some(query);
    create.with_data = with_data.map(|data| ast::WithData {
        data,
        statistics: None,
    });
    create.columns = columns
        .into_iter()
        .map(|name| ast::ColumnDef {
            name,
            data_type: ast::DataType::Unspecified,
            options: Vec::new(),
        })
        .collect();
    Some(ast::Statement::CreateTable(create))
}
