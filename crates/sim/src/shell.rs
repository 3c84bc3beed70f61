//! Server commands on the simulated cluster: the simulator is a
//! [`pgplay_cluster::Host`], so a line takes the page's path
//! ([`pgplay_cluster::run_command`]: the same parser, checks and errors)
//! and each action is carried out here at once: a node's own command on it,
//! `pg_basebackup` between two nodes, a link fault on the network.

use pgplay_cluster::{run_local, BaseBackup, Host, NetworkFault, ShellCommand};

use crate::Sim;

impl Sim {
    /// Runs one command line; Ok is what it prints, Err its error output.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        pgplay_cluster::run_command(self, line)
    }
}

impl Host for Sim {
    type Answer = Result<String, String>;

    fn members(&self) -> Vec<(String, u16)> {
        self.nodes
            .iter()
            .map(|(name, node)| (name.clone(), node.port))
            .collect()
    }

    fn answer(&mut self, result: Result<String, String>) -> Self::Answer {
        result
    }

    fn base_backup(&mut self, copy: BaseBackup) -> Self::Answer {
        Sim::base_backup(self, &copy)?;
        Ok(String::new())
    }

    fn network(&mut self, a: &str, b: &str, fault: NetworkFault) {
        self.apply_network(a, b, fault);
    }

    fn list_archive(&self, dir: &str) -> Result<String, String> {
        self.archive.ls(dir)
    }

    fn run_on_node(&mut self, node: &str, _line: &str, command: ShellCommand) -> Self::Answer {
        let now = self.now;
        let target = self
            .nodes
            .get_mut(node)
            .ok_or_else(|| format!("{node}: No such file or directory"))?;
        let result = run_local(target, now, &command);
        self.drain(node);
        result
    }

    fn remove_data_directory(&mut self, node: &str) -> Self::Answer {
        Sim::remove_data_directory(self, node)?;
        Ok(String::new())
    }
}
