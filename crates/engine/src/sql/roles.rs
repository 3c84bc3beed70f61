//! CREATE ROLE / CREATE USER / DROP ROLE: rows of `pg_authid`, WAL-logged
//! like any catalog change, so standbys know the replication user too.

use sqlparser::ast;

use crate::catalog::{RoleDef, PG_AUTHID};
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::sql::{notice, Executor};
use crate::types::Value;

fn literal(expr: &ast::Expr) -> String {
    let text = expr.to_string();
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .map(|t| t.replace("''", "'"))
        .unwrap_or(text)
}

/// The first option of `create` that pgplay's roles do not keep (they keep SUPERUSER,
/// REPLICATION, LOGIN, CONNECTION LIMIT and PASSWORD), unless it only asks for the default
/// (`NOCREATEDB`, `INHERIT`): refused rather than dropped in silence.
fn unkept_role_option(create: &ast::CreateRole) -> Option<&'static str> {
    let memberships = [
        (&create.in_role, "IN ROLE"),
        (&create.in_group, "IN GROUP"),
        (&create.role, "ROLE"),
        (&create.user, "USER"),
        (&create.admin, "ADMIN"),
    ];
    let flags = [
        (create.create_db == Some(true), "CREATEDB"),
        (create.create_role == Some(true), "CREATEROLE"),
        (create.inherit == Some(false), "NOINHERIT"),
        (create.bypassrls == Some(true), "BYPASSRLS"),
        (create.valid_until.is_some(), "VALID UNTIL"),
        (create.authorization_owner.is_some(), "AUTHORIZATION"),
    ];
    flags
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, option)| option)
        .or_else(|| {
            memberships
                .into_iter()
                .find(|(names, _)| !names.is_empty())
                .map(|(_, option)| option)
        })
}

impl Executor<'_> {
    pub(super) fn create_role(&mut self, create: &ast::CreateRole) -> Result<Outcome> {
        if let Some(option) = unkept_role_option(create) {
            return Err(DbError::feature_not_supported(format!(
                "CREATE ROLE ... {option} is not supported by pgplay yet"
            )));
        }
        for name in &create.names {
            let name = crate::sql::bind::object_name(name);
            if self.catalog.roles.contains_key(&name) {
                if create.if_not_exists {
                    self.notices
                        .push(notice(format!("role \"{name}\" already exists, skipping")));
                    continue;
                }
                return Err(DbError::new(
                    code::DUPLICATE_OBJECT,
                    format!("role \"{name}\" already exists"),
                ));
            }
            let connection_limit = match &create.connection_limit {
                Some(expr) => literal(expr)
                    .parse::<i32>()
                    .map_err(|_| DbError::syntax(format!("syntax error at or near \"{expr}\"")))?,
                None => -1,
            };
            let password = match &create.password {
                Some(ast::Password::Password(expr)) => literal(expr),
                _ => String::new(),
            };
            let role = RoleDef {
                oid: self.db.new_oid()?,
                name,
                superuser: create.superuser.unwrap_or(false),
                replication: create.replication.unwrap_or(false),
                login: create.login.unwrap_or(false),
                connection_limit,
                password: (!password.is_empty()).then_some(password),
            };
            self.insert_catalog_row(
                PG_AUTHID,
                vec![
                    Value::Oid(role.oid),
                    Value::Text(role.name.clone()),
                    Value::Bool(role.superuser),
                    Value::Bool(role.replication),
                    Value::Bool(role.login),
                    Value::Int4(role.connection_limit),
                    Value::Text(role.password.clone().unwrap_or_default()),
                ],
            )?;
        }
        Ok(Outcome::Command {
            tag: "CREATE ROLE".into(),
        })
    }

    pub(super) fn drop_role(
        &mut self,
        names: &[ast::ObjectName],
        if_exists: bool,
    ) -> Result<Outcome> {
        for name in names {
            let name = crate::sql::bind::object_name(name);
            if name == "postgres" {
                return Err(DbError::new(
                    code::OBJECT_IN_USE,
                    "current user cannot be dropped",
                ));
            }
            let row = self
                .catalog
                .rows_of(PG_AUTHID)
                .iter()
                .find(|r| r.values[1].as_str() == Some(name.as_str()))
                .map(|r| r.at);
            match row {
                Some(at) => self.delete_catalog_row(PG_AUTHID, at)?,
                None if if_exists => self
                    .notices
                    .push(notice(format!("role \"{name}\" does not exist, skipping"))),
                None => {
                    return Err(DbError::new(
                        code::UNDEFINED_OBJECT,
                        format!("role \"{name}\" does not exist"),
                    ))
                }
            }
        }
        Ok(Outcome::Command {
            tag: "DROP ROLE".into(),
        })
    }
}
