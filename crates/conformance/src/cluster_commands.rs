//! The server commands a cluster `.slt` file may run in `system ok` records.
//!
//! ```text
//! pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] stop|start|restart|promote|reload
//! touch <node>/standby.signal
//! rm <node>/standby.signal
//! echo "<setting> = '<value>'" >> <node>/postgresql.auto.conf
//! ```
//!
//! A line is read by pgplay's own parser ([`pgplay_cluster::shell`], which the
//! simulator and the page use), so it means here what it means there; this
//! module only narrows the language to what a real PostgreSQL cluster
//! (`tests/postgres/cluster.sh`) runs alike, and keeps the line safe to hand
//! to a shell: no expansions, no operators but `>>`. `<node>` is a node name,
//! which is also the name of the node's data directory (relative to the
//! cluster's directory). Anything else is refused by [`parse`] with a message
//! naming the allowed commands.

use std::fmt;

pub use pgplay_cluster::shell::{stop_mode_name, PgCtlAction, ShellCommand};

/// The commands allowed, for error messages.
pub const ALLOWED: &str = "cluster files may only run: \
pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] stop|start|restart|promote|reload; \
touch <node>/standby.signal; rm <node>/standby.signal; \
echo \"<setting> = '<value>'\" >> <node>/postgresql.auto.conf";

/// A command outside the language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAClusterCommand {
    pub command: String,
    pub reason: String,
    pub nodes: Vec<String>,
}

impl fmt::Display for NotAClusterCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a cluster command ({}): {}; {} (<node>: {})",
            self.reason,
            self.command.trim(),
            ALLOWED,
            self.nodes.join(", ")
        )
    }
}

impl std::error::Error for NotAClusterCommand {}

/// Refuses what a shell would expand or treat as an operator (the line is
/// run by bash as written), except a lone unquoted `>>`; the command name's
/// word must not be quoted.
fn check_shell_safe(line: &str) -> Result<(), String> {
    let (mut quote, mut in_word, mut word_quoted) = (None::<char>, false, false);
    let (mut word, mut first_word) = (String::new(), true);
    let mut end_word = |word: &mut String, quoted: bool| -> Result<(), String> {
        if first_word && quoted {
            return Err("quoted command name".into());
        }
        first_word = false;
        if !quoted && word.contains('>') && word != ">>" {
            return Err("the only redirection allowed is a separate `>>`".into());
        }
        word.clear();
        Ok(())
    };
    for c in line.chars() {
        if matches!(c, '$' | '`' | '\\' | '\n' | '\r') {
            return Err(format!("{c:?} is not allowed"));
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
                word_quoted = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    end_word(&mut word, word_quoted)?;
                }
                in_word = false;
                word_quoted = false;
            }
            None if ";&|<()*?[]~#{}".contains(c) => {
                return Err(format!("unquoted {c:?} is not allowed"));
            }
            None => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        end_word(&mut word, word_quoted)?;
    }
    Ok(())
}

/// `<setting> = '<value>'`: the setting name and the value.
fn setting_line(s: &str) -> Option<(String, String)> {
    let (name, rest) = s.split_once(" = ")?;
    let ok_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let value = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    if !ok_name || value.contains('\'') {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

/// Is the parsed command one a real cluster runs as pgplay does?
fn check_allowed(command: &ShellCommand, program: &str, nodes: &[&str]) -> Result<(), String> {
    let node = command.node();
    let known = || {
        if nodes.contains(&node) {
            Ok(())
        } else {
            Err(format!("unknown node {node:?}"))
        }
    };
    match command {
        ShellCommand::PgCtl {
            action: PgCtlAction::Status,
            ..
        } => Err(
            "pg_ctl's action must be one of stop, start, restart, promote, reload, not status"
                .into(),
        ),
        ShellCommand::PgCtl { .. } | ShellCommand::SignalFile { .. } => known(),
        ShellCommand::Append { file, line, .. } => {
            if file != "postgresql.auto.conf" {
                return Err(format!(
                    "expected <node>/postgresql.auto.conf, got {node}/{file}"
                ));
            }
            if setting_line(line).is_none() {
                return Err(format!(
                    "echo must print \"<setting> = '<value>'\", not {line:?}"
                ));
            }
            known()
        }
        _ => Err(format!("{program} is not allowed")),
    }
}

/// Parses a `system` command; `nodes` are the node names (= data directories).
pub fn parse(command: &str, nodes: &[&str]) -> Result<ShellCommand, NotAClusterCommand> {
    parse_inner(command, nodes).map_err(|reason| NotAClusterCommand {
        command: command.to_string(),
        reason,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
    })
}

fn parse_inner(command: &str, nodes: &[&str]) -> Result<ShellCommand, String> {
    check_shell_safe(command)?;
    let program = command.split_whitespace().next().ok_or("empty command")?;
    let parsed = pgplay_cluster::shell::parse(command).map_err(|error| error.replace('\n', " "))?;
    check_allowed(&parsed, program, nodes)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgplay_node::StopMode;

    const NODES: &[&str] = &["primary", "standby1", "standby2"];

    fn ok(cmd: &str) -> ShellCommand {
        parse(cmd, NODES).unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    fn err(cmd: &str) -> String {
        match parse(cmd, NODES) {
            Ok(c) => panic!("{cmd} parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn pg_ctl() {
        assert_eq!(
            ok("pg_ctl -D primary -m fast -w stop"),
            ShellCommand::PgCtl {
                node: "primary".into(),
                action: PgCtlAction::Stop,
                mode: Some(StopMode::Fast),
                timeout_secs: None,
            }
        );
        assert_eq!(
            ok("  pg_ctl -w -t 30 -D standby2 restart "),
            ShellCommand::PgCtl {
                node: "standby2".into(),
                action: PgCtlAction::Restart,
                mode: None,
                timeout_secs: Some(30),
            }
        );
        for a in ["start", "promote", "reload"] {
            ok(&format!("pg_ctl -D standby1 {a}"));
        }
        // pg_ctl's own words, from the parser the simulator and the page use.
        assert!(err("pg_ctl -D nosuch stop").contains("unknown node \"nosuch\""));
        assert!(err("pg_ctl -D primary -m sideways stop")
            .contains("pg_ctl: unrecognized shutdown mode \"sideways\""));
        assert!(err("pg_ctl -m fast stop").contains("no database directory specified"));
        assert!(err("pg_ctl -D primary stop; rm -rf /").contains("';'"));
        assert!(err("pg_ctl -D primary status").contains("not status"));
        assert!(err("pg_ctl -D primary > x stop").contains("`>>`"));
    }

    #[test]
    fn files() {
        assert_eq!(
            ok("touch primary/standby.signal"),
            ShellCommand::SignalFile {
                node: "primary".into(),
                create: true,
            }
        );
        assert_eq!(
            ok("rm standby1/standby.signal"),
            ShellCommand::SignalFile {
                node: "standby1".into(),
                create: false,
            }
        );
        assert_eq!(
            ok("echo \"primary_conninfo = 'host=127.0.0.1 port=55433 user=postgres application_name=primary'\" >> primary/postgresql.auto.conf"),
            ShellCommand::Append {
                node: "primary".into(),
                file: "postgresql.auto.conf".into(),
                line: "primary_conninfo = 'host=127.0.0.1 port=55433 user=postgres application_name=primary'".into(),
            }
        );
        assert!(err("touch primary/recovery.signal").contains("standby.signal"));
        assert!(err("touch other/standby.signal").contains("unknown node"));
        assert!(err("echo \"port = '1'\" > primary/postgresql.auto.conf").contains(">>"));
        assert!(
            err("echo \"port = '1'\" >> primary/postgresql.conf").contains("postgresql.auto.conf")
        );
        assert!(err("echo \"port = 1\" >> primary/postgresql.auto.conf").contains("<setting>"));
        assert!(err("echo \"x = '$HOME'\" >> primary/postgresql.auto.conf").contains("'$'"));
        assert!(err("'touch' primary/standby.signal").contains("quoted command name"));
    }

    #[test]
    fn others_name_the_language() {
        let e = err("psql -c 'select 1'");
        assert!(e.contains("psql: command not available here"), "{e}");
        assert!(e.contains(ALLOWED), "{e}");
        assert!(e.contains("primary, standby1, standby2"), "{e}");
        assert!(err("cat primary/postgresql.conf").contains("cat is not allowed"));
        assert!(err("pgplay-net partition primary standby1").contains("not allowed"));
        assert!(err("").contains("empty"));
    }
}
