//! Server commands on the simulated cluster: planned by
//! [`pgplay_cluster::plan`] (the same parser, checks and errors as the
//! page's), then carried out here at once: a node's own command on it,
//! `pg_basebackup` between two nodes, a link fault on the network.

use pgplay_cluster::{plan, run_local, Action, Members};

use crate::Sim;

impl Sim {
    /// Runs one command line; Ok is what it prints, Err its error output.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        let nodes: Vec<(String, u16)> = self
            .nodes
            .iter()
            .map(|(name, node)| (name.clone(), node.port))
            .collect();
        let nodes: Vec<(&str, u16)> = nodes.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        let members = Members {
            nodes: &nodes,
            max_nodes: None,
        };
        match plan(line, members)? {
            Action::Nothing => Ok(String::new()),
            Action::BaseBackup(copy) => {
                let slot = copy.slot.as_ref().map(|(s, create)| (s.as_str(), *create));
                let password = copy.password.as_deref();
                self.base_backup(
                    &copy.node,
                    copy.port,
                    &copy.upstream,
                    &copy.user,
                    password,
                    copy.recovery_conf,
                    slot,
                )?;
                Ok(String::new())
            }
            Action::ListArchive { dir } => self.archive.ls(&dir),
            Action::Network { a, b, fault } => {
                self.apply_network(&a, &b, fault);
                Ok(String::new())
            }
            Action::Local { node, command } => {
                let now = self.now;
                let target = self
                    .nodes
                    .get_mut(&node)
                    .ok_or_else(|| format!("{node}: No such file or directory"))?;
                let result = run_local(target, now, &command);
                self.drain(&node);
                result
            }
        }
    }
}
