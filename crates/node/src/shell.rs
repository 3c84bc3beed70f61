//! The server commands a learner types in a shell, parsed once and run by
//! any driver (the simulator, the browser cluster). The language is the
//! same on a real PostgreSQL cluster (`tests/postgres/cluster.sh`), where
//! the data directories are named after the nodes:
//!
//! ```text
//! pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] [-l FILE] stop|start|restart|promote|reload|status
//! [PGPASSWORD=secret] pg_basebackup -h <host> -p <port> [-U user] -D <node> [-R] [-X stream] [-P] [-v]
//! touch <node>/standby.signal          rm [-f] <node>/standby.signal
//! echo "<line>" >> <node>/postgresql.auto.conf | postgresql.conf | pg_hba.conf
//! cat <node>/<file>                    ls <node> | ls <node>/pg_wal
//! ```
//!
//! A new data directory (`pg_basebackup -D`) is named by one word: the
//! data directories are siblings, one per node.
//!
//! Output and errors are pg_ctl's and pg_basebackup's own words. A node's
//! own commands run with [`Node::run_local`]; `pg_basebackup` involves two
//! nodes and is the driver's to carry out.

use pgplay_wal::time::Timestamp;

use crate::{Node, StopMode};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgCtlAction {
    Start,
    Stop(StopMode),
    Restart,
    Promote,
    Reload,
    Status,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellCommand {
    PgCtl {
        node: String,
        action: PgCtlAction,
    },
    BaseBackup {
        host: String,
        port: u16,
        user: String,
        password: Option<String>,
        node: String,
        write_recovery_conf: bool,
        /// `-S NAME`: stream through this replication slot (with `-R`, the
        /// copy's `primary_slot_name`); `-C` creates it first.
        slot: Option<String>,
        create_slot: bool,
    },
    SignalFile {
        node: String,
        create: bool,
    },
    Append {
        node: String,
        file: String,
        line: String,
    },
    /// `printf '%s\n' 'line' ... > NODE/FILE`: the whole file, one argument
    /// a line (what the config editor's save stands for).
    WriteFile {
        node: String,
        file: String,
        text: String,
    },
    Cat {
        files: Vec<(String, String)>,
    },
    ListWal {
        node: String,
    },
    ListDataDir {
        node: String,
    },
    /// `ls /archive` or `ls ../archive`: an archive directory, which the
    /// driver keeps (see `archive::ArchiveStore`).
    ListArchive {
        dir: String,
    },
    /// `pgplay-net partition|heal|delay A B [MS]`: the playground's own
    /// network control between two nodes (there is no PostgreSQL command
    /// for it), so that a scenario can replay a link fault.
    Network {
        a: String,
        b: String,
        fault: NetworkFault,
    },
}

/// What `pgplay-net` does to a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFault {
    /// Traffic is held until healed.
    Partition,
    /// Held traffic flows again, with no extra delay.
    Heal,
    /// Each message takes this many more milliseconds.
    Delay(u32),
}

impl NetworkFault {
    /// The command line that stands for this fault between `a` and `b`.
    pub fn command(self, a: &str, b: &str) -> String {
        match self {
            NetworkFault::Partition => format!("pgplay-net partition {a} {b}"),
            NetworkFault::Heal => format!("pgplay-net heal {a} {b}"),
            NetworkFault::Delay(ms) => format!("pgplay-net delay {a} {b} {ms}"),
        }
    }
}

impl ShellCommand {
    /// The node (data directory) the command is about.
    pub fn node(&self) -> &str {
        match self {
            ShellCommand::PgCtl { node, .. }
            | ShellCommand::BaseBackup { node, .. }
            | ShellCommand::SignalFile { node, .. }
            | ShellCommand::Append { node, .. }
            | ShellCommand::WriteFile { node, .. }
            | ShellCommand::ListWal { node }
            | ShellCommand::ListDataDir { node } => node,
            ShellCommand::ListArchive { .. } | ShellCommand::Network { .. } => "",
            ShellCommand::Cat { files } => files.first().map(|(n, _)| n.as_str()).unwrap_or(""),
        }
    }
}

/// Splits a command line into words, honouring single and double quotes.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            // As sh: inside double quotes a backslash escapes ", \, $ and `.
            Some('"') if c == '\\' && matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                current.extend(chars.next());
            }
            Some(_) => current.push(c),
            None if c == '\\' => {
                current.extend(chars.next());
                in_word = true;
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unexpected EOF while looking for matching quote".into());
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// `<node>/<file>` → (node, file).
fn node_file(path: &str) -> Result<(String, String), String> {
    path.trim_end_matches('/')
        .split_once('/')
        .map(|(n, f)| (n.to_string(), f.to_string()))
        .ok_or_else(|| format!("{path}: not a file in a data directory (NODE/FILE)"))
}

const USAGE: &str = "pgplay runs pg_ctl, pg_basebackup, touch/rm NODE/standby.signal, echo \"...\" >> NODE/FILE, cat NODE/FILE, ls NODE or NODE/pg_wal or an archive directory, and pgplay-net partition|heal|delay A B [MS]";

/// Parses one command line. Empty lines are an error the caller may ignore.
pub fn parse(line: &str) -> Result<ShellCommand, String> {
    let mut words = words(line.trim())?;
    let mut password = None;
    while let Some(value) = words.first().and_then(|w| w.strip_prefix("PGPASSWORD=")) {
        password = Some(value.to_string());
        words.remove(0);
    }
    let Some(program) = words.first().cloned() else {
        return Err(String::new());
    };
    let args = &words[1..];
    match program.as_str() {
        "pg_ctl" => parse_pg_ctl(args),
        "printf" => {
            let usage = "use: printf '%s\\n' 'line' ... > NODE/FILE";
            let [format, lines @ .., redirect, path] = args else {
                return Err(usage.into());
            };
            if format != "%s\\n" || redirect != ">" {
                return Err(usage.into());
            }
            let (node, file) = node_file(path)?;
            Ok(ShellCommand::WriteFile {
                node,
                file,
                text: lines.iter().map(|l| format!("{l}\n")).collect(),
            })
        }
        "pgplay-net" => {
            let usage =
                "usage: pgplay-net partition|heal A B, or pgplay-net delay A B MILLISECONDS";
            let fault = match (args.first().map(String::as_str), args.get(3)) {
                (Some("partition"), None) => NetworkFault::Partition,
                (Some("heal"), None) => NetworkFault::Heal,
                (Some("delay"), Some(ms)) => {
                    NetworkFault::Delay(ms.trim_end_matches("ms").parse().map_err(|_| usage)?)
                }
                _ => return Err(usage.into()),
            };
            let (Some(a), Some(b)) = (args.get(1), args.get(2)) else {
                return Err(usage.into());
            };
            Ok(ShellCommand::Network {
                a: a.clone(),
                b: b.clone(),
                fault,
            })
        }
        "pg_basebackup" => parse_basebackup(args, password),
        "touch" | "rm" => {
            let path = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .ok_or("missing file operand")?;
            let (node, file) = node_file(path)?;
            if file != "standby.signal" {
                return Err(format!("{path}: pgplay models only standby.signal here"));
            }
            Ok(ShellCommand::SignalFile {
                node,
                create: program == "touch",
            })
        }
        "echo" => {
            let usage = "use: echo \"setting = 'value'\" >> NODE/postgresql.auto.conf";
            let [line, redirect, path] = args else {
                return Err(usage.into());
            };
            if redirect != ">>" {
                return Err(usage.into());
            }
            let (node, file) = node_file(path)?;
            Ok(ShellCommand::Append {
                node,
                file,
                line: line.clone(),
            })
        }
        "cat" => Ok(ShellCommand::Cat {
            files: args
                .iter()
                .map(|a| node_file(a))
                .collect::<Result<_, _>>()?,
        }),
        "ls" => {
            let path = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .ok_or("ls: pgplay lists only NODE, NODE/pg_wal and archive directories")?;
            let path = path.trim_end_matches('/');
            if path.starts_with('/') || path.starts_with('.') {
                return Ok(ShellCommand::ListArchive {
                    dir: path.to_string(),
                });
            }
            if !path.contains('/') {
                return Ok(ShellCommand::ListDataDir {
                    node: path.to_string(),
                });
            }
            let (node, dir) = node_file(path)?;
            if dir != "pg_wal" {
                return Err(format!(
                    "ls: pgplay lists only NODE and NODE/pg_wal, not {path}"
                ));
            }
            Ok(ShellCommand::ListWal { node })
        }
        other => Err(format!("{other}: command not available here ({USAGE})")),
    }
}

fn parse_pg_ctl(args: &[String]) -> Result<ShellCommand, String> {
    let (mut data_dir, mut mode, mut action) = (None, StopMode::Fast, None);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-D" | "--pgdata" => data_dir = iter.next().cloned(),
            "-m" | "--mode" => {
                mode = match iter.next().map(String::as_str) {
                    Some("s" | "smart") => StopMode::Smart,
                    Some("f" | "fast") => StopMode::Fast,
                    Some("i" | "immediate") => StopMode::Immediate,
                    other => {
                        return Err(format!(
                            "pg_ctl: unrecognized shutdown mode \"{}\"",
                            other.unwrap_or("")
                        ))
                    }
                }
            }
            "-w" | "-W" | "--wait" | "--no-wait" | "-s" => {}
            "-t" | "-l" | "-o" | "--timeout" | "--log" => {
                iter.next();
            }
            "start" | "stop" | "restart" | "promote" | "reload" | "status" => {
                action = Some(arg.clone())
            }
            other => {
                return Err(format!(
                    "pg_ctl: unrecognized operation mode \"{other}\"\nTry \"pg_ctl --help\" for more information."
                ))
            }
        }
    }
    let action = match action.as_deref() {
        Some("start") => PgCtlAction::Start,
        Some("stop") => PgCtlAction::Stop(mode),
        Some("restart") => PgCtlAction::Restart,
        Some("promote") => PgCtlAction::Promote,
        Some("reload") => PgCtlAction::Reload,
        Some(_) => PgCtlAction::Status,
        None => {
            return Err(
                "pg_ctl: no operation specified\nTry \"pg_ctl --help\" for more information."
                    .into(),
            )
        }
    };
    let node = data_dir.ok_or("pg_ctl: no database directory specified and environment variable PGDATA unset\nTry \"pg_ctl --help\" for more information.")?;
    Ok(ShellCommand::PgCtl {
        node: node.trim_end_matches('/').to_string(),
        action,
    })
}

/// A new data directory's name, as `pg_basebackup -D` or `initdb -D` get
/// it. PostgreSQL's tools take any path; pgplay's data directories are
/// siblings in one directory, each named by one word (the node's name), so
/// a path is refused in words that say so. The empty name and `.`/`..` get
/// the tools' own errors.
pub fn check_data_directory(program: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "{program}: error: could not create directory \"\": No such file or directory"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "{program}: error: directory \"{name}\" exists but is not empty"
        ));
    }
    let one_word = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if !one_word {
        return Err(format!(
            "{program}: error: pgplay's data directories are siblings named by one word (letters, digits, _ and -): \"{name}\" is not one"
        ));
    }
    Ok(())
}

fn parse_basebackup(args: &[String], password: Option<String>) -> Result<ShellCommand, String> {
    let (mut host, mut port, mut node, mut recovery) = (None, 5432u16, None, false);
    let (mut slot, mut create_slot) = (None, false);
    let mut user = "postgres".to_string();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-h" | "--host" => host = iter.next().cloned(),
            "-p" | "--port" => {
                port = iter
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("pg_basebackup: error: invalid port number")?
            }
            "-D" | "--pgdata" => node = iter.next().cloned(),
            "-R" | "--write-recovery-conf" => recovery = true,
            "-S" | "--slot" => {
                slot = Some(
                    iter.next()
                        .cloned()
                        .ok_or("pg_basebackup: error: option requires an argument -- 'S'")?,
                )
            }
            "-C" | "--create-slot" => create_slot = true,
            other if other.starts_with("--slot=") => slot = Some(other[7..].to_string()),
            "-U" | "--username" => {
                user = iter
                    .next()
                    .cloned()
                    .ok_or("pg_basebackup: error: option requires an argument -- 'U'")?
            }
            "-X" | "--wal-method" | "-c" | "--checkpoint" => {
                iter.next();
            }
            "-P" | "--progress" | "-v" | "--verbose" | "-w" | "--no-password" => {}
            other => {
                return Err(format!(
                    "pg_basebackup: error: unrecognized option \"{other}\"\npg_basebackup: hint: Try \"pg_basebackup --help\" for more information."
                ))
            }
        }
    }
    let node = node.ok_or("pg_basebackup: error: no target directory specified\npg_basebackup: hint: Try \"pg_basebackup --help\" for more information.")?;
    let node = node.trim_end_matches('/').to_string();
    check_data_directory("pg_basebackup", &node)?;
    if create_slot && slot.is_none() {
        return Err("pg_basebackup: error: --create-slot needs a slot to be specified using --slot\npg_basebackup: hint: Try \"pg_basebackup --help\" for more information.".into());
    }
    Ok(ShellCommand::BaseBackup {
        host: host.unwrap_or_else(|| "127.0.0.1".into()),
        port,
        user,
        password,
        node,
        write_recovery_conf: recovery,
        slot,
        create_slot,
    })
}

impl Node {
    /// Runs a command about this node alone (everything but pg_basebackup).
    pub fn run_local(&mut self, now: Timestamp, command: &ShellCommand) -> Result<String, String> {
        match command {
            ShellCommand::PgCtl { action, .. } => match action {
                PgCtlAction::Start => self.start(now),
                PgCtlAction::Stop(mode) => self.stop(now, *mode),
                PgCtlAction::Restart => self.restart(now),
                PgCtlAction::Promote => self.pg_ctl_promote(now),
                PgCtlAction::Reload if self.is_running() => {
                    self.reload(now);
                    Ok("server signaled".into())
                }
                PgCtlAction::Reload => {
                    Err("pg_ctl: PID file does not exist\nIs server running?".into())
                }
                PgCtlAction::Status if self.is_running() => Ok("pg_ctl: server is running".into()),
                PgCtlAction::Status => Ok("pg_ctl: no server running".into()),
            },
            ShellCommand::SignalFile { create, .. } => {
                self.files.standby_signal = *create;
                Ok(String::new())
            }
            ShellCommand::Append { file, line, .. } => {
                self.append_config(file, line).map(|_| String::new())
            }
            ShellCommand::WriteFile { file, text, .. } => {
                self.write_file(file, text).map(|_| String::new())
            }
            ShellCommand::Cat { files } => {
                let mut out = String::new();
                for (node, file) in files {
                    let text = self
                        .read_file(file)
                        .ok_or_else(|| format!("cat: {node}/{file}: No such file or directory"))?;
                    out.push_str(&text);
                }
                Ok(out.trim_end_matches('\n').to_string())
            }
            ShellCommand::ListWal { .. } => Ok(self.pg_wal_listing().join("\n")),
            ShellCommand::ListDataDir { .. } => Ok(self.data_dir_listing().join("\n")),
            ShellCommand::ListArchive { .. } => {
                Err("the archive is outside the data directories; the cluster lists it".into())
            }
            ShellCommand::Network { .. } => {
                Err("the network is between the servers; the cluster changes it".into())
            }
            ShellCommand::BaseBackup { .. } => {
                Err("pg_basebackup involves two servers; the cluster runs it".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_words() {
        assert_eq!(
            words(r#"echo "primary_conninfo = 'host=a port=1'" >> standby1/postgresql.auto.conf"#)
                .unwrap(),
            vec![
                "echo",
                "primary_conninfo = 'host=a port=1'",
                ">>",
                "standby1/postgresql.auto.conf"
            ]
        );
        assert!(words("echo 'open").is_err());
        assert_eq!(
            words(r#"echo "a = 'cp x \"%p\"'" b\ c"#).unwrap(),
            vec!["echo", "a = 'cp x \"%p\"'", "b c"]
        );
    }

    #[test]
    fn parses_the_command_language() {
        assert_eq!(
            parse("pg_ctl -D standby1/ -m immediate -w stop").unwrap(),
            ShellCommand::PgCtl {
                node: "standby1".into(),
                action: PgCtlAction::Stop(StopMode::Immediate)
            }
        );
        assert_eq!(
            parse("PGPASSWORD=x pg_basebackup -h 127.0.0.1 -p 5433 -U rep -D s3 -R -X stream")
                .unwrap(),
            ShellCommand::BaseBackup {
                host: "127.0.0.1".into(),
                port: 5433,
                user: "rep".into(),
                password: Some("x".into()),
                node: "s3".into(),
                write_recovery_conf: true,
                slot: None,
                create_slot: false,
            }
        );
        assert_eq!(
            parse("pg_basebackup -h 127.0.0.1 -D s3 -R -C -S s3_slot").unwrap(),
            ShellCommand::BaseBackup {
                host: "127.0.0.1".into(),
                port: 5432,
                user: "postgres".into(),
                password: None,
                node: "s3".into(),
                write_recovery_conf: true,
                slot: Some("s3_slot".into()),
                create_slot: true,
            }
        );
        assert_eq!(
            parse("pgplay-net delay primary standby1 200").unwrap(),
            ShellCommand::Network {
                a: "primary".into(),
                b: "standby1".into(),
                fault: NetworkFault::Delay(200)
            }
        );
        assert!(parse("pgplay-net cut primary")
            .unwrap_err()
            .starts_with("usage"));
        let text =
            "# the editor's text\nhost replication rep 127.0.0.1/32 md5\nlocal all all 'trust'\n";
        let command = write_file_command("primary", "pg_hba.conf", text);
        assert_eq!(
            parse(&command).unwrap(),
            ShellCommand::WriteFile {
                node: "primary".into(),
                file: "pg_hba.conf".into(),
                text: text.into()
            }
        );
        for (dir, error) in [
            (
                "\"\"",
                "could not create directory \"\": No such file or directory",
            ),
            ("a/b", "\"a/b\" is not one"),
            ("../x", "\"../x\" is not one"),
            ("..", "directory \"..\" exists but is not empty"),
            ("'s 3'", "\"s 3\" is not one"),
        ] {
            let refused = parse(&format!("pg_basebackup -h 127.0.0.1 -D {dir} -R")).unwrap_err();
            assert!(refused.starts_with("pg_basebackup: error: "), "{refused}");
            assert!(refused.contains(error), "{dir}: {refused}");
        }
        assert!(parse("pg_basebackup -D s3 -C")
            .unwrap_err()
            .starts_with("pg_basebackup: error: --create-slot needs a slot"));
        assert!(parse("rm -rf primary/base")
            .unwrap_err()
            .contains("pgplay models only standby.signal"));
        assert!(parse("psql -c 'select 1'")
            .unwrap_err()
            .contains("command not available"));
        assert!(parse("pg_ctl -D x frobnicate")
            .unwrap_err()
            .contains("unrecognized operation mode"));
    }
}

/// The `printf` command that writes `text` to `NODE/FILE`, each line single-quoted
/// as sh needs (a `'` inside becomes `'\''`).
pub fn write_file_command(node: &str, file: &str, text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| format!("'{}'", l.replace('\'', r"'\''")))
        .collect();
    format!("printf '%s\\n' {} > {node}/{file}", lines.join(" "))
}
