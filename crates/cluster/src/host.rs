//! What a driver does for the cluster ([`Host`]), and the one path every
//! command line takes through it ([`run_command`]): planned once here, each
//! action handed to the host. The simulator answers at once
//! (`Answer = Result<String, String>`); the page answers with a promise its
//! workers settle.

use crate::action::{plan, Action, BaseBackup, Members};
use crate::shell::{NetworkFault, ShellCommand};

/// A driver of the cluster: where the nodes live and how it reaches them.
pub trait Host {
    /// What the host hands back for a command line.
    type Answer;

    /// Each node's name and port.
    fn members(&self) -> Vec<(String, u16)>;

    /// Most nodes the host runs, if it is bounded.
    fn max_nodes(&self) -> Option<usize> {
        None
    }

    /// The answer to a command done at once: what it prints, or its error.
    fn answer(&mut self, result: Result<String, String>) -> Self::Answer;

    /// Copies a base backup from `copy.upstream` into a new, stopped node.
    fn base_backup(&mut self, copy: BaseBackup) -> Self::Answer;

    /// Applies a `pgplay-net` command to the link between `a` and `b`.
    fn network(&mut self, a: &str, b: &str, fault: NetworkFault);

    /// An archive directory's listing.
    fn list_archive(&self, dir: &str) -> Result<String, String>;

    /// Runs a node's own command where the node lives
    /// ([`crate::action::run_local`]); `line` is the command as typed.
    fn run_on_node(&mut self, node: &str, line: &str, command: ShellCommand) -> Self::Answer;

    /// `rm -rf NODE`: the node and its data directory go, if its server is
    /// stopped (else [`crate::action::still_running`]).
    fn remove_data_directory(&mut self, node: &str) -> Self::Answer;
}

/// Runs one command line on a host.
pub fn run_command<H: Host>(host: &mut H, line: &str) -> H::Answer {
    let nodes = host.members();
    let nodes: Vec<(&str, u16)> = nodes.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    let members = Members {
        nodes: &nodes,
        max_nodes: host.max_nodes(),
    };
    match plan(line, members) {
        Err(error) => host.answer(Err(error)),
        Ok(Action::Nothing) => host.answer(Ok(String::new())),
        Ok(Action::BaseBackup(copy)) => host.base_backup(copy),
        Ok(Action::Network { a, b, fault }) => {
            host.network(&a, &b, fault);
            host.answer(Ok(String::new()))
        }
        Ok(Action::ListArchive { dir }) => {
            let listing = host.list_archive(&dir);
            host.answer(listing)
        }
        Ok(Action::Local { node, command }) => host.run_on_node(&node, line, command),
        Ok(Action::RemoveDataDirectory { node }) => host.remove_data_directory(&node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host that records what it was asked.
    #[derive(Default)]
    struct Recorder {
        asked: Vec<String>,
    }

    impl Host for Recorder {
        type Answer = Result<String, String>;
        fn members(&self) -> Vec<(String, u16)> {
            vec![("primary".into(), 5432), ("standby1".into(), 5433)]
        }
        fn answer(&mut self, result: Result<String, String>) -> Self::Answer {
            result
        }
        fn base_backup(&mut self, copy: BaseBackup) -> Self::Answer {
            self.asked.push(format!(
                "copy {} to {}:{}",
                copy.upstream, copy.node, copy.port
            ));
            Ok(String::new())
        }
        fn network(&mut self, a: &str, b: &str, fault: NetworkFault) {
            self.asked.push(fault.command(a, b));
        }
        fn list_archive(&self, dir: &str) -> Result<String, String> {
            Err(format!("ls: cannot access '{dir}'"))
        }
        fn run_on_node(&mut self, node: &str, line: &str, _: ShellCommand) -> Self::Answer {
            self.asked.push(format!("{node}: {line}"));
            Ok("done".into())
        }
        fn remove_data_directory(&mut self, node: &str) -> Self::Answer {
            self.asked.push(format!("rm -rf {node}"));
            Ok(String::new())
        }
    }

    #[test]
    fn each_action_reaches_the_host() {
        let mut host = Recorder::default();
        assert_eq!(run_command(&mut host, "  "), Ok(String::new()));
        run_command(&mut host, "pg_basebackup -h standby1 -D s2 -R").unwrap();
        run_command(&mut host, "pgplay-net cut primary standby1").unwrap();
        assert_eq!(
            run_command(&mut host, "pg_ctl -D primary reload"),
            Ok("done".into())
        );
        assert!(run_command(&mut host, "ls /archive").is_err());
        assert!(run_command(&mut host, "pg_ctl -D s9 start").is_err());
        run_command(&mut host, "rm -rf primary/").unwrap();
        assert_eq!(run_command(&mut host, "rm -rf s9"), Ok(String::new()));
        assert!(run_command(&mut host, "rm -r s9")
            .unwrap_err()
            .contains("No such file"));
        assert_eq!(
            host.asked,
            [
                "copy standby1 to s2:5434",
                "pgplay-net cut primary standby1",
                "primary: pg_ctl -D primary reload",
                "rm -rf primary"
            ]
        );
    }
}
