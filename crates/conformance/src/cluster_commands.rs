//! The server commands a cluster `.slt` file may run in `system ok` records.
//!
//! ```text
//! pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] stop|start|restart|promote|reload
//! touch <node>/standby.signal
//! rm <node>/standby.signal
//! echo "<setting> = '<value>'" >> <node>/postgresql.auto.conf
//! ```
//!
//! `<node>` is a node name, which is also the name of the node's data directory
//! (relative to the cluster's directory). Both pgplay's simulated cluster and the
//! real PostgreSQL cluster (`tests/postgres/cluster.sh`) run exactly these, so a
//! file that sticks to them runs on both; anything else is refused by
//! [`parse`] with a message naming the allowed commands.

use std::fmt;

/// What `pg_ctl` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgCtlAction {
    Stop,
    Start,
    Restart,
    Promote,
    Reload,
}

impl PgCtlAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PgCtlAction::Stop => "stop",
            PgCtlAction::Start => "start",
            PgCtlAction::Restart => "restart",
            PgCtlAction::Promote => "promote",
            PgCtlAction::Reload => "reload",
        }
    }

    /// Does the action stop or start the server (so sessions on it are gone)?
    pub fn stops_or_starts(self) -> bool {
        matches!(
            self,
            PgCtlAction::Stop | PgCtlAction::Start | PgCtlAction::Restart
        )
    }
}

/// `pg_ctl -m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    Smart,
    Fast,
    Immediate,
}

impl ShutdownMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownMode::Smart => "smart",
            ShutdownMode::Fast => "fast",
            ShutdownMode::Immediate => "immediate",
        }
    }
}

/// One parsed `system` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCommand {
    PgCtl {
        node: String,
        action: PgCtlAction,
        mode: Option<ShutdownMode>,
        /// `-w` was given (pg_ctl waits by default anyway).
        wait: bool,
        /// `-t SECS`
        timeout_secs: Option<u32>,
    },
    /// `touch <node>/standby.signal`
    TouchStandbySignal { node: String },
    /// `rm <node>/standby.signal`
    RmStandbySignal { node: String },
    /// `echo "<setting> = '<value>'" >> <node>/postgresql.auto.conf`
    AppendAutoConf {
        node: String,
        setting: String,
        value: String,
    },
}

impl ClusterCommand {
    /// The node whose data directory the command works on.
    pub fn node(&self) -> &str {
        match self {
            ClusterCommand::PgCtl { node, .. }
            | ClusterCommand::TouchStandbySignal { node }
            | ClusterCommand::RmStandbySignal { node }
            | ClusterCommand::AppendAutoConf { node, .. } => node,
        }
    }
}

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

/// One word of a command line and whether any of it was quoted.
struct Word {
    text: String,
    quoted: bool,
}

/// Splits a command line into words. Single and double quotes group (no
/// escapes inside); characters the shell would expand or treat as operators are
/// refused, except a lone unquoted `>>`.
fn words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        if matches!(c, '$' | '`' | '\\' | '\n' | '\r') {
            return Err(format!("{c:?} is not allowed"));
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.get_or_insert_with(new_word).text.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                current.get_or_insert_with(new_word).quoted = true;
            }
            None if c.is_whitespace() => {
                if let Some(w) = current.take() {
                    words.push(w);
                }
            }
            None if matches!(
                c,
                ';' | '&' | '|' | '<' | '(' | ')' | '*' | '?' | '[' | ']' | '~' | '#' | '{' | '}'
            ) =>
            {
                return Err(format!("unquoted {c:?} is not allowed"));
            }
            None => current.get_or_insert_with(new_word).text.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if let Some(w) = current.take() {
        words.push(w);
    }
    for w in &words {
        if !w.quoted && w.text.contains('>') && w.text != ">>" {
            return Err("the only redirection allowed is a separate `>>`".into());
        }
    }
    Ok(words)
}

fn new_word() -> Word {
    Word {
        text: String::new(),
        quoted: false,
    }
}

/// `<node>/<file>` with a known node.
fn node_file<'a>(path: &'a Word, file: &str, nodes: &[&str]) -> Result<&'a str, String> {
    let node = path
        .text
        .strip_suffix(file)
        .and_then(|p| p.strip_suffix('/'))
        .filter(|_| !path.quoted)
        .ok_or_else(|| format!("expected <node>/{file}, got {}", path.text))?;
    if nodes.contains(&node) {
        Ok(node)
    } else {
        Err(format!("unknown node {node:?}"))
    }
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

fn parse_pg_ctl(args: &[Word], nodes: &[&str]) -> Result<ClusterCommand, String> {
    let Some((action_word, options)) = args.split_last() else {
        return Err("pg_ctl needs an action".into());
    };
    let action = match action_word.text.as_str() {
        "stop" => PgCtlAction::Stop,
        "start" => PgCtlAction::Start,
        "restart" => PgCtlAction::Restart,
        "promote" => PgCtlAction::Promote,
        "reload" => PgCtlAction::Reload,
        other => return Err(format!("pg_ctl action must come last and be one of stop, start, restart, promote, reload, not {other:?}")),
    };
    let mut node = None;
    let mut mode = None;
    let mut wait = false;
    let mut timeout_secs = None;
    let mut it = options.iter();
    while let Some(opt) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .map(|w| w.text.as_str())
                .ok_or_else(|| format!("pg_ctl {} needs {what}", opt.text))
        };
        match opt.text.as_str() {
            "-D" => {
                let d = value("a node")?;
                if !nodes.contains(&d) {
                    return Err(format!("unknown node {d:?} after -D"));
                }
                node = Some(d.to_string());
            }
            "-m" => {
                mode = Some(match value("a mode")? {
                    "smart" => ShutdownMode::Smart,
                    "fast" => ShutdownMode::Fast,
                    "immediate" => ShutdownMode::Immediate,
                    m => {
                        return Err(format!(
                            "pg_ctl -m {m}: the mode must be smart, fast or immediate"
                        ))
                    }
                })
            }
            "-w" => wait = true,
            "-t" => {
                let t = value("seconds")?;
                timeout_secs = Some(
                    t.parse::<u32>()
                        .ok()
                        .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or_else(|| format!("pg_ctl -t {t}: not a number of seconds"))?,
                );
            }
            other => return Err(format!("pg_ctl option {other} is not allowed")),
        }
    }
    let node = node.ok_or("pg_ctl needs -D <node>")?;
    Ok(ClusterCommand::PgCtl {
        node,
        action,
        mode,
        wait,
        timeout_secs,
    })
}

/// Parses a `system` command; `nodes` are the node names (= data directories).
pub fn parse(command: &str, nodes: &[&str]) -> Result<ClusterCommand, NotAClusterCommand> {
    parse_inner(command, nodes).map_err(|reason| NotAClusterCommand {
        command: command.to_string(),
        reason,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
    })
}

fn parse_inner(command: &str, nodes: &[&str]) -> Result<ClusterCommand, String> {
    let words = words(command)?;
    let Some((program, args)) = words.split_first() else {
        return Err("empty command".into());
    };
    if program.quoted {
        return Err("quoted command name".into());
    }
    match (program.text.as_str(), args) {
        ("pg_ctl", args) => parse_pg_ctl(args, nodes),
        ("touch", [path]) => Ok(ClusterCommand::TouchStandbySignal {
            node: node_file(path, "standby.signal", nodes)?.to_string(),
        }),
        ("rm", [path]) => Ok(ClusterCommand::RmStandbySignal {
            node: node_file(path, "standby.signal", nodes)?.to_string(),
        }),
        ("echo", [line, redirect, path]) if redirect.text == ">>" && !redirect.quoted => {
            let (setting, value) = setting_line(&line.text).ok_or_else(|| {
                format!(
                    "echo must print \"<setting> = '<value>'\", not {:?}",
                    line.text
                )
            })?;
            Ok(ClusterCommand::AppendAutoConf {
                node: node_file(path, "postgresql.auto.conf", nodes)?.to_string(),
                setting,
                value,
            })
        }
        ("touch" | "rm" | "echo", _) => Err(format!("wrong arguments to {}", program.text)),
        (other, _) => Err(format!("{other} is not allowed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &[&str] = &["primary", "standby1", "standby2"];

    fn ok(cmd: &str) -> ClusterCommand {
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
            ClusterCommand::PgCtl {
                node: "primary".into(),
                action: PgCtlAction::Stop,
                mode: Some(ShutdownMode::Fast),
                wait: true,
                timeout_secs: None,
            }
        );
        assert_eq!(
            ok("  pg_ctl -w -t 30 -D standby2 restart "),
            ClusterCommand::PgCtl {
                node: "standby2".into(),
                action: PgCtlAction::Restart,
                mode: None,
                wait: true,
                timeout_secs: Some(30),
            }
        );
        for a in ["start", "promote", "reload"] {
            ok(&format!("pg_ctl -D standby1 {a}"));
        }
        assert!(err("pg_ctl -D primary -l x.log start").contains("option -l"));
        assert!(err("pg_ctl -D nosuch stop").contains("unknown node"));
        assert!(err("pg_ctl -D primary -m f stop").contains("smart, fast or immediate"));
        assert!(err("pg_ctl stop -D primary").contains("must come last"));
        assert!(err("pg_ctl -m fast stop").contains("-D <node>"));
        assert!(err("pg_ctl -D primary -t x stop").contains("seconds"));
        assert!(err("pg_ctl -D primary stop; rm -rf /").contains("';'"));
        assert!(err("pg_ctl -D primary status").contains("must come last"));
    }

    #[test]
    fn files() {
        assert_eq!(
            ok("touch primary/standby.signal"),
            ClusterCommand::TouchStandbySignal {
                node: "primary".into()
            }
        );
        assert_eq!(
            ok("rm standby1/standby.signal"),
            ClusterCommand::RmStandbySignal {
                node: "standby1".into()
            }
        );
        assert_eq!(
            ok("echo \"primary_conninfo = 'host=127.0.0.1 port=55433 user=postgres application_name=primary'\" >> primary/postgresql.auto.conf"),
            ClusterCommand::AppendAutoConf {
                node: "primary".into(),
                setting: "primary_conninfo".into(),
                value: "host=127.0.0.1 port=55433 user=postgres application_name=primary".into(),
            }
        );
        assert!(err("rm -f primary/standby.signal").contains("wrong arguments"));
        assert!(err("touch primary/recovery.signal").contains("standby.signal"));
        assert!(err("touch other/standby.signal").contains("unknown node"));
        assert!(err("echo \"port = '1'\" > primary/postgresql.auto.conf").contains(">>"));
        assert!(
            err("echo \"port = '1'\" >> primary/postgresql.conf").contains("postgresql.auto.conf")
        );
        assert!(err("echo \"port = 1\" >> primary/postgresql.auto.conf").contains("<setting>"));
        assert!(err("echo \"x = '$HOME'\" >> primary/postgresql.auto.conf").contains("'$'"));
    }

    #[test]
    fn others_name_the_language() {
        let e = err("psql -c 'select 1'");
        assert!(e.contains("psql is not allowed"), "{e}");
        assert!(e.contains(ALLOWED), "{e}");
        assert!(e.contains("primary, standby1, standby2"), "{e}");
        assert!(err("").contains("empty"));
    }
}
