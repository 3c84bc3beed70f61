//! What a command line does to the cluster, decided once for every driver.
//!
//! [`plan`] reads a line ([`crate::shell::parse`]) against the nodes there
//! are and returns an [`Action`], or the error a learner sees, in the words
//! of the tool they typed (pg_ctl's, pg_basebackup's, sh's). A driver then
//! carries the action out: a node's own command with [`run_local`] on that
//! node, a base backup by copying between two nodes, a link fault on its
//! network, an archive listing from the archive it keeps. The simulator
//! does each at once; the page by messages to its workers.

use pgplay_node::{Node, RecoveryConf, StopMode};
use pgplay_wal::time::Timestamp;

use crate::ports::next_server_port;
use crate::shell::{self, NetworkFault, PgCtlAction, ShellCommand};

/// `pg_basebackup` between two nodes, checked: the upstream answers and the
/// new data directory is free.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseBackup {
    /// The node the copy is taken from.
    pub upstream: String,
    /// The new node (its data directory).
    pub node: String,
    /// Where the new node will listen ([`crate::ports`]).
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub recovery_conf: RecoveryConf,
    /// `-S NAME` and whether `-C` creates it.
    pub slot: Option<(String, bool)>,
}

/// What a command line asks of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// An empty line: nothing done, nothing printed.
    Nothing,
    BaseBackup(BaseBackup),
    /// A `pgplay-net` command on the link between two nodes.
    Network {
        a: String,
        b: String,
        fault: NetworkFault,
    },
    /// `ls` of an archive directory, which the driver keeps.
    ListArchive {
        dir: String,
    },
    /// A command about one node alone, for [`run_local`] on it.
    Local {
        node: String,
        command: ShellCommand,
    },
    /// `rm -rf NODE` of a node there is: the driver removes it if its
    /// server is stopped ([`still_running`] otherwise).
    RemoveDataDirectory {
        node: String,
    },
}

/// What `rm -rf NODE` says while NODE's server runs. On a real machine rm
/// would pull the files from under the running server; pgplay asks for the
/// stop that rebuilding a node starts with.
pub fn still_running(node: &str) -> String {
    format!(
        "rm: cannot remove '{node}': its server is running; pgplay removes a data directory \
         only when its server is stopped (pg_ctl -D {node} stop)"
    )
}

/// The cluster a line is planned against.
#[derive(Clone, Copy, Debug)]
pub struct Members<'a> {
    /// Each node's name and port.
    pub nodes: &'a [(&'a str, u16)],
    /// Most nodes the driver runs (the page: one worker each), if bounded.
    pub max_nodes: Option<usize>,
}

impl Members<'_> {
    fn has(&self, name: &str) -> bool {
        self.nodes.iter().any(|(n, _)| *n == name)
    }

    /// The node `host:port` reaches ([`pgplay_node::resolve_host`]).
    pub fn resolve(&self, host: &str, port: u16) -> Option<String> {
        pgplay_node::resolve_host(host, port, self.nodes.iter().copied()).map(str::to_string)
    }
}

/// Reads one command line against the cluster's nodes.
pub fn plan(line: &str, members: Members<'_>) -> Result<Action, String> {
    let command = match shell::parse(line) {
        Ok(command) => command,
        Err(error) if error.is_empty() => return Ok(Action::Nothing),
        Err(error) => return Err(error),
    };
    match command {
        ShellCommand::BaseBackup { .. } => plan_base_backup(command, members),
        ShellCommand::ListArchive { dir } => Ok(Action::ListArchive { dir }),
        ShellCommand::Network { a, b, fault } => {
            for name in [&a, &b] {
                if !members.has(name) {
                    return Err(format!("pgplay-net: no node \"{name}\""));
                }
            }
            Ok(Action::Network { a, b, fault })
        }
        ShellCommand::RemoveDataDir { node, force } => match (members.has(&node), force) {
            (true, _) => Ok(Action::RemoveDataDirectory { node }),
            (false, true) => Ok(Action::Nothing),
            (false, false) => Err(format!(
                "rm: cannot remove '{node}': No such file or directory"
            )),
        },
        ShellCommand::Cat { files } if files.iter().any(|(n, _)| *n != files[0].0) => {
            Err("cat: pgplay reads the files of one data directory at a time".into())
        }
        command => {
            let node = command.node().to_string();
            if !members.has(&node) {
                return Err(match command {
                    ShellCommand::PgCtl { .. } => {
                        format!("pg_ctl: directory \"{node}\" does not exist")
                    }
                    _ => format!("{node}: No such file or directory"),
                });
            }
            Ok(Action::Local { node, command })
        }
    }
}

/// pg_basebackup connects first, then looks at its target directory (as
/// PostgreSQL 15's does); the page's limit on nodes comes last.
fn plan_base_backup(command: ShellCommand, members: Members<'_>) -> Result<Action, String> {
    let ShellCommand::BaseBackup {
        host,
        port,
        user,
        password,
        node,
        write_recovery_conf,
        slot,
        create_slot,
    } = command
    else {
        unreachable!("called with a base backup")
    };
    let upstream = members.resolve(&host, port).ok_or_else(|| {
        format!(
            "pg_basebackup: error: connection to server at \"{host}\", port {port} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
        )
    })?;
    if members.has(&node) {
        return Err(format!(
            "pg_basebackup: error: directory \"{node}\" exists but is not empty"
        ));
    }
    if let Some(max) = members.max_nodes.filter(|max| members.nodes.len() >= *max) {
        return Err(format!(
            "pg_basebackup: error: pgplay runs at most {max} nodes in a page (each is a Web \
             Worker with memory of its own); \"{node}\" was not created"
        ));
    }
    Ok(Action::BaseBackup(BaseBackup {
        upstream,
        port: next_server_port(members.nodes.iter().map(|(_, p)| *p)),
        node,
        user,
        password,
        recovery_conf: RecoveryConf::from_flag(write_recovery_conf),
        slot: slot.map(|s| (s, create_slot)),
    }))
}

/// Runs a command about one node alone (everything but pg_basebackup, the
/// archive and the network) on that node; Ok is what it prints.
pub fn run_local(
    node: &mut Node,
    now: Timestamp,
    command: &ShellCommand,
) -> Result<String, String> {
    match command {
        ShellCommand::PgCtl { action, mode, .. } => run_pg_ctl(node, now, *action, *mode),
        ShellCommand::SignalFile { create, .. } => {
            node.files.standby_signal = *create;
            Ok(String::new())
        }
        ShellCommand::Append { file, line, .. } => {
            node.append_config(file, line).map(|_| String::new())
        }
        ShellCommand::WriteFile { file, text, .. } => {
            node.write_file(file, text).map(|_| String::new())
        }
        ShellCommand::Cat { files } => {
            let mut out = String::new();
            for (name, file) in files {
                let text = node
                    .read_file(file)
                    .ok_or_else(|| format!("cat: {name}/{file}: No such file or directory"))?;
                out.push_str(&text);
            }
            Ok(out.trim_end_matches('\n').to_string())
        }
        ShellCommand::ListWal { .. } => Ok(node.pg_wal_listing().join("\n")),
        ShellCommand::ListDataDir { .. } => Ok(node.data_dir_listing().join("\n")),
        ShellCommand::ListArchive { .. } => {
            Err("the archive is outside the data directories; the cluster lists it".into())
        }
        ShellCommand::Network { .. } => {
            Err("the network is between the servers; the cluster changes it".into())
        }
        ShellCommand::BaseBackup { .. } => {
            Err("pg_basebackup involves two servers; the cluster runs it".into())
        }
        ShellCommand::RemoveDataDir { .. } => {
            Err("a data directory is removed by the cluster that holds it".into())
        }
    }
}

fn run_pg_ctl(
    node: &mut Node,
    now: Timestamp,
    action: PgCtlAction,
    mode: Option<StopMode>,
) -> Result<String, String> {
    match action {
        PgCtlAction::Start => node.start(now),
        PgCtlAction::Stop => node.stop(now, mode.unwrap_or(StopMode::Fast)),
        PgCtlAction::Restart => node.restart(now),
        PgCtlAction::Promote => node.pg_ctl_promote(now),
        PgCtlAction::Reload if node.is_running() => {
            node.reload(now);
            Ok("server signaled".into())
        }
        PgCtlAction::Reload => Err("pg_ctl: PID file does not exist\nIs server running?".into()),
        PgCtlAction::Status if node.is_running() => Ok("pg_ctl: server is running".into()),
        PgCtlAction::Status => Ok("pg_ctl: no server running".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: [(&str, u16); 2] = [("primary", 5432), ("standby1", 5433)];

    #[test]
    fn the_page_limit_on_nodes_comes_after_the_tools_own_checks() {
        let members = Members {
            nodes: &NODES,
            max_nodes: Some(2),
        };
        let line = "pg_basebackup -h 127.0.0.1 -p 5432 -D s2 -R";
        let refused = plan(line, members).unwrap_err();
        assert!(refused.contains("pgplay runs at most 2 nodes"), "{refused}");
        let unbounded = Members {
            max_nodes: None,
            ..members
        };
        let Ok(Action::BaseBackup(copy)) = plan(line, unbounded) else {
            panic!("a copy without a limit")
        };
        assert_eq!((copy.upstream.as_str(), copy.port), ("primary", 5434));
        let taken = plan("pg_basebackup -p 5432 -D standby1", members).unwrap_err();
        assert!(taken.contains("exists but is not empty"), "{taken}");
    }

    #[test]
    fn cat_reads_one_data_directory() {
        let members = Members {
            nodes: &NODES,
            max_nodes: None,
        };
        let error = plan(
            "cat primary/postgresql.conf standby1/postgresql.conf",
            members,
        );
        assert!(error.unwrap_err().contains("one data directory at a time"));
    }

    #[test]
    fn a_node_runs_its_own_commands() {
        let mut node = Node::initdb("primary", 7, None, 0);
        let status = |node: &mut Node| {
            let command = shell::parse("pg_ctl -D primary status").unwrap();
            run_local(node, 0, &command)
        };
        assert_eq!(status(&mut node).unwrap(), "pg_ctl: server is running");
        let stop = shell::parse("pg_ctl -D primary -m immediate stop").unwrap();
        run_local(&mut node, 0, &stop).unwrap();
        assert_eq!(status(&mut node).unwrap(), "pg_ctl: no server running");
        let touch = shell::parse("touch primary/standby.signal").unwrap();
        run_local(&mut node, 0, &touch).unwrap();
        assert!(node.files.standby_signal);
        let backup = shell::parse("pg_basebackup -D copy").unwrap();
        assert!(run_local(&mut node, 0, &backup).is_err());
    }
}
