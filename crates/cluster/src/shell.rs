//! The server commands a learner types in a shell, parsed once into values
//! that every driver runs: the simulator, the browser cluster, and the
//! conformance harness (which runs the same lines on a real PostgreSQL
//! cluster, `tests/postgres/cluster.sh`, where the data directories are named
//! after the nodes):
//!
//! ```text
//! pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] [-l FILE] stop|start|restart|promote|reload|status
//! [PGPASSWORD=secret] pg_basebackup -h <host> -p <port> [-U user] -D <node> [-R] [-X stream] [-P] [-v] [-C] [-S slot]
//! touch <node>/standby.signal          rm [-f] <node>/standby.signal
//! echo "<line>" >> <node>/postgresql.auto.conf | postgresql.conf | pg_hba.conf
//! printf '%s\n' 'line' ... > <node>/<file>
//! cat <node>/<file>                    ls <node> | ls <node>/pg_wal | ls /archive
//! pgplay-net partition|heal|cut A B    pgplay-net delay A B MS    pgplay-net loss A B PERCENT
//! rm -rf <node>                        (a stopped server's whole data directory, to rebuild it)
//! ```
//!
//! A new data directory (`pg_basebackup -D`) is named by one word: the
//! data directories are siblings, one per node.
//!
//! Output and errors are pg_ctl's and pg_basebackup's own words. What a
//! command does to the cluster is [`crate::action`]'s.

use pgplay_node::shell::words;
use pgplay_node::StopMode;
use serde::{Deserialize, Serialize};

/// What `pg_ctl` is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PgCtlAction {
    Start,
    Stop,
    Restart,
    Promote,
    Reload,
    Status,
}

impl PgCtlAction {
    /// The word on pg_ctl's command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PgCtlAction::Start => "start",
            PgCtlAction::Stop => "stop",
            PgCtlAction::Restart => "restart",
            PgCtlAction::Promote => "promote",
            PgCtlAction::Reload => "reload",
            PgCtlAction::Status => "status",
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

/// `pg_ctl -m`'s word for a shutdown mode.
pub fn stop_mode_name(mode: StopMode) -> &'static str {
    match mode {
        StopMode::Smart => "smart",
        StopMode::Fast => "fast",
        StopMode::Immediate => "immediate",
    }
}

/// One command line, parsed. It crosses to the page's workers as it is
/// (serde), so a line is parsed once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShellCommand {
    PgCtl {
        node: String,
        action: PgCtlAction,
        /// `-m`: how `stop` (and `restart`) shut down; fast when not given.
        mode: Option<StopMode>,
        /// `-t SECS`: how long pg_ctl waits (read as pg_ctl's `atoi` reads it).
        timeout_secs: Option<u32>,
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
    /// driver keeps (see `pgplay_node::archive::ArchiveStore`).
    ListArchive {
        dir: String,
    },
    /// `pgplay-net partition|heal|cut|delay|loss A B [N]`: the playground's own
    /// network control between two nodes (there is no PostgreSQL command
    /// for it), so that a scenario can replay a link fault.
    Network {
        a: String,
        b: String,
        fault: NetworkFault,
    },
    /// `rm -rf NODE`: a stopped server's whole data directory goes (what a
    /// learner does before `pg_basebackup` makes the node again, as a
    /// standby of the new primary). `-f`: a missing directory is no error.
    RemoveDataDir {
        node: String,
        force: bool,
    },
}

/// What `pgplay-net` does to a link (see [`crate::link`] for the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkFault {
    /// Traffic is held until healed.
    Partition,
    /// Held traffic flows again, with no extra delay.
    Heal,
    /// Each message takes this many more milliseconds.
    Delay(u32),
    /// This percent of transmissions is lost (and sent again by TCP).
    Loss(u8),
    /// Every open connection between the two breaks now (both ends see it
    /// close); new ones may be made.
    Cut,
}

impl NetworkFault {
    /// The command line that stands for this fault between `a` and `b`.
    pub fn command(self, a: &str, b: &str) -> String {
        match self {
            NetworkFault::Partition => format!("pgplay-net partition {a} {b}"),
            NetworkFault::Heal => format!("pgplay-net heal {a} {b}"),
            NetworkFault::Cut => format!("pgplay-net cut {a} {b}"),
            NetworkFault::Delay(ms) => format!("pgplay-net delay {a} {b} {ms}"),
            NetworkFault::Loss(percent) => format!("pgplay-net loss {a} {b} {percent}"),
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
            | ShellCommand::ListDataDir { node }
            | ShellCommand::RemoveDataDir { node, .. } => node,
            ShellCommand::ListArchive { .. } | ShellCommand::Network { .. } => "",
            ShellCommand::Cat { files } => files.first().map(|(n, _)| n.as_str()).unwrap_or(""),
        }
    }
}

/// `<node>/<file>` → (node, file).
fn node_file(path: &str) -> Result<(String, String), String> {
    path.trim_end_matches('/')
        .split_once('/')
        .map(|(n, f)| (n.to_string(), f.to_string()))
        .ok_or_else(|| format!("{path}: not a file in a data directory (NODE/FILE)"))
}

/// What a line outside the language is told.
pub const USAGE: &str = "pgplay runs pg_ctl, pg_basebackup, touch/rm NODE/standby.signal, rm -rf NODE, echo \"...\" >> NODE/FILE, cat NODE/FILE, ls NODE or NODE/pg_wal or an archive directory, and pgplay-net partition|heal|cut A B, delay A B MS or loss A B PERCENT";

/// Parses one command line. An empty line is `Err("")`, which callers print
/// as nothing.
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
        "printf" => parse_printf(args),
        "pgplay-net" => parse_network(args),
        "pg_basebackup" => parse_basebackup(args, password),
        "rm" if args.iter().any(|a| is_recursive(a)) => parse_remove(args),
        "touch" | "rm" => parse_signal_file(&program, args),
        "echo" => parse_echo(args),
        "cat" => Ok(ShellCommand::Cat {
            files: args
                .iter()
                .map(|a| node_file(a))
                .collect::<Result<_, _>>()?,
        }),
        "ls" => parse_ls(args),
        other => Err(format!("{other}: command not available here ({USAGE})")),
    }
}

fn parse_printf(args: &[String]) -> Result<ShellCommand, String> {
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

fn parse_network(args: &[String]) -> Result<ShellCommand, String> {
    let usage = "usage: pgplay-net partition|heal|cut A B, pgplay-net delay A B MILLISECONDS, or pgplay-net loss A B PERCENT";
    let fault = match (args.first().map(String::as_str), args.get(3)) {
        (Some("partition"), None) => NetworkFault::Partition,
        (Some("heal"), None) => NetworkFault::Heal,
        (Some("cut"), None) => NetworkFault::Cut,
        (Some("delay"), Some(ms)) => {
            NetworkFault::Delay(ms.trim_end_matches("ms").parse().map_err(|_| usage)?)
        }
        (Some("loss"), Some(percent)) => NetworkFault::Loss(
            percent
                .trim_end_matches('%')
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or(usage)?,
        ),
        _ => return Err(usage.into()),
    };
    let (Some(a), Some(b), None) = (args.get(1), args.get(2), args.get(4)) else {
        return Err(usage.into());
    };
    Ok(ShellCommand::Network {
        a: a.clone(),
        b: b.clone(),
        fault,
    })
}

fn parse_signal_file(program: &str, args: &[String]) -> Result<ShellCommand, String> {
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

/// `-r`, `-R`, `-rf`, `-fr`, `--recursive`: rm removes directories.
fn is_recursive(arg: &str) -> bool {
    arg == "--recursive"
        || (arg.starts_with('-') && !arg.starts_with("--") && arg.contains(['r', 'R']))
}

/// `rm -rf NODE`: one data directory, whole (pgplay's data directories are
/// siblings named by one word; a file or directory inside one is not removed).
fn parse_remove(args: &[String]) -> Result<ShellCommand, String> {
    let force = args
        .iter()
        .any(|a| a == "--force" || (a.starts_with('-') && !a.starts_with("--") && a.contains('f')));
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let [path] = paths[..] else {
        return Err(if paths.is_empty() {
            "rm: missing operand".into()
        } else {
            "rm: pgplay removes one data directory at a time (rm -rf NODE)".into()
        });
    };
    let node = path.trim_end_matches('/');
    if node.contains('/') || node.is_empty() || node == "." || node == ".." {
        return Err(format!(
            "rm: pgplay removes only a whole data directory (rm -rf NODE), not \"{path}\""
        ));
    }
    Ok(ShellCommand::RemoveDataDir {
        node: node.to_string(),
        force,
    })
}

fn parse_echo(args: &[String]) -> Result<ShellCommand, String> {
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

fn parse_ls(args: &[String]) -> Result<ShellCommand, String> {
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

const PG_CTL_HINT: &str = "Try \"pg_ctl --help\" for more information.";

/// pg_ctl's `atoi`: the leading digits, 0 without any.
fn atoi(text: &str) -> u32 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        0
    } else {
        digits.parse().unwrap_or(u32::MAX)
    }
}

fn parse_stop_mode(word: Option<&str>) -> Result<StopMode, String> {
    match word {
        Some("s" | "smart") => Ok(StopMode::Smart),
        Some("f" | "fast") => Ok(StopMode::Fast),
        Some("i" | "immediate") => Ok(StopMode::Immediate),
        other => Err(format!(
            "pg_ctl: unrecognized shutdown mode \"{}\"\n{PG_CTL_HINT}",
            other.unwrap_or("")
        )),
    }
}

fn parse_pg_ctl(args: &[String]) -> Result<ShellCommand, String> {
    let (mut data_dir, mut mode, mut action, mut timeout_secs) = (None, None, None, None);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-D" | "--pgdata" => data_dir = iter.next().cloned(),
            "-m" | "--mode" => mode = Some(parse_stop_mode(iter.next().map(String::as_str))?),
            "-t" | "--timeout" => timeout_secs = Some(iter.next().map_or(0, |t| atoi(t))),
            "-w" | "-W" | "--wait" | "--no-wait" | "-s" => {}
            "-l" | "-o" | "--log" => {
                iter.next();
            }
            "start" => action = Some(PgCtlAction::Start),
            "stop" => action = Some(PgCtlAction::Stop),
            "restart" => action = Some(PgCtlAction::Restart),
            "promote" => action = Some(PgCtlAction::Promote),
            "reload" => action = Some(PgCtlAction::Reload),
            "status" => action = Some(PgCtlAction::Status),
            other => {
                return Err(format!(
                    "pg_ctl: unrecognized operation mode \"{other}\"\n{PG_CTL_HINT}"
                ))
            }
        }
    }
    let action = action.ok_or(format!("pg_ctl: no operation specified\n{PG_CTL_HINT}"))?;
    let node = data_dir.ok_or(format!("pg_ctl: no database directory specified and environment variable PGDATA unset\n{PG_CTL_HINT}"))?;
    Ok(ShellCommand::PgCtl {
        node: node.trim_end_matches('/').to_string(),
        action,
        mode,
        timeout_secs,
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

const BASEBACKUP_HINT: &str =
    "pg_basebackup: hint: Try \"pg_basebackup --help\" for more information.";

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
                    "pg_basebackup: error: unrecognized option \"{other}\"\n{BASEBACKUP_HINT}"
                ))
            }
        }
    }
    let node = node.ok_or(format!(
        "pg_basebackup: error: no target directory specified\n{BASEBACKUP_HINT}"
    ))?;
    let node = node.trim_end_matches('/').to_string();
    check_data_directory("pg_basebackup", &node)?;
    if create_slot && slot.is_none() {
        return Err(format!("pg_basebackup: error: --create-slot needs a slot to be specified using --slot\n{BASEBACKUP_HINT}"));
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

/// The `printf` command that writes `text` to `NODE/FILE`, each line single-quoted
/// as sh needs (a `'` inside becomes `'\''`).
pub fn write_file_command(node: &str, file: &str, text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| format!("'{}'", l.replace('\'', r"'\''")))
        .collect();
    format!("printf '%s\\n' {} > {node}/{file}", lines.join(" "))
}
