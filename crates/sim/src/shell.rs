//! Server commands on the simulated cluster: parsed by
//! [`pgplay_node::shell`], routed here to the node they name, and
//! `pg_basebackup` carried out between two nodes.

use pgplay_node::shell::{self, NetworkFault, ShellCommand};
use pgplay_node::RecoveryConf;

use crate::Sim;

impl Sim {
    /// Runs one command line; Ok is what it prints, Err its error output.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        let command = match shell::parse(line) {
            Ok(command) => command,
            Err(error) if error.is_empty() => return Ok(String::new()),
            Err(error) => return Err(error),
        };
        if let ShellCommand::BaseBackup {
            host,
            port,
            user,
            password,
            node,
            write_recovery_conf,
            slot,
            create_slot,
        } = &command
        {
            let upstream = self.resolve_host(host, *port).ok_or_else(|| {
                format!(
                    "pg_basebackup: error: connection to server at \"{host}\", port {port} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
                )
            })?;
            let new_port = self.nodes().map(|n| n.port).max().unwrap_or(5431) + 1;
            self.base_backup(
                node,
                new_port,
                &upstream,
                user,
                password.as_deref(),
                RecoveryConf::from_flag(*write_recovery_conf),
                slot.as_deref().map(|s| (s, *create_slot)),
            )?;
            return Ok(String::new());
        }
        if let ShellCommand::ListArchive { dir } = &command {
            return self.archive.ls(dir);
        }
        if let ShellCommand::Network { a, b, fault } = &command {
            for name in [a, b] {
                if self.node(name).is_none() {
                    return Err(format!("pgplay-net: no node \"{name}\""));
                }
            }
            match fault {
                NetworkFault::Partition => self.partition(a, b),
                NetworkFault::Heal => {
                    self.heal(a, b);
                    self.set_link_delay(a, b, 0);
                }
                NetworkFault::Delay(ms) => self.set_link_delay(a, b, i64::from(*ms) * 1000),
            }
            return Ok(String::new());
        }
        let name = command.node().to_string();
        let now = self.now;
        let node = self.node_mut(&name).ok_or_else(|| match &command {
            ShellCommand::PgCtl { .. } => format!("pg_ctl: directory \"{name}\" does not exist"),
            _ => format!("{name}: No such file or directory"),
        })?;
        let result = node.run_local(now, &command);
        self.drain(&name);
        result
    }
}
