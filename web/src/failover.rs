//! The failover buttons the node cards offer, decided from the drawing of the
//! cluster (plain Rust, tested natively): while the primary is down and no
//! node accepts writes, each running standby is a candidate to promote (with
//! how much WAL it has, to choose the most advanced); after a promotion, a
//! node left behind on an older timeline (the old primary, stopped or still
//! writing) can rejoin as a standby of the new primary by the commands a DBA
//! runs: stop it, `rm -rf` its data directory, `pg_basebackup -R` from the
//! new primary, start it. The page runs those lines in the node's shell, so
//! the learner sees each one and what it printed.

use std::collections::BTreeMap;

use crate::drawing::{writers, Drawing};
use crate::protocol::NodeStatus;

/// A standby that could become the primary.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub name: String,
    /// How far its WAL goes (its flush position, as reported).
    pub flushed: String,
    /// `pg_ctl -D NAME promote`.
    pub command: String,
}

/// When `down` is a stopped primary and no node accepts writes: every
/// running standby, the one with the most WAL first.
pub fn promote_candidates(drawing: &Drawing, down: &str) -> Vec<Candidate> {
    let is_down_primary = drawing
        .nodes
        .iter()
        .any(|n| n.name == down && !n.running && n.was_primary);
    if !is_down_primary || !writers(drawing).is_empty() {
        return Vec::new();
    }
    let mut standbys: Vec<_> = drawing
        .nodes
        .iter()
        .filter(|n| n.running && n.role != "primary")
        .collect();
    standbys.sort_by_key(|n| (std::cmp::Reverse(n.flush), n.name.clone()));
    standbys
        .into_iter()
        .map(|n| Candidate {
            name: n.name.clone(),
            flushed: n
                .positions
                .iter()
                .find(|(k, _)| *k == "flush")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            command: format!("pg_ctl -D {} promote", n.name),
        })
        .collect()
}

/// How a node left on an older timeline becomes a standby of the new primary.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejoin {
    /// The new primary it will stream from.
    pub upstream: String,
    /// The commands, in order.
    pub lines: Vec<String>,
}

/// The running primary on the newest timeline, if one alone is on it.
fn newest_primary(nodes: &BTreeMap<String, NodeStatus>) -> Option<(&String, &NodeStatus)> {
    let primaries: Vec<_> = nodes
        .iter()
        .filter(|(_, s)| s.running && s.role == "primary")
        .collect();
    let newest = primaries.iter().map(|(_, s)| s.timeline).max()?;
    let mut on_newest = primaries.into_iter().filter(|(_, s)| s.timeline == newest);
    let first = on_newest.next()?;
    on_newest.next().is_none().then_some(first)
}

/// For `name`, a primary (or a stopped node) on an older timeline than the
/// newest running primary: the commands that rebuild it as that primary's
/// standby.
pub fn rejoin(nodes: &BTreeMap<String, NodeStatus>, name: &str) -> Option<Rejoin> {
    let (upstream, primary) = newest_primary(nodes)?;
    let node = nodes.get(name)?;
    let left_behind = upstream != name
        && node.timeline < primary.timeline
        && (node.role == "primary" || !node.running);
    if !left_behind {
        return None;
    }
    let mut lines = Vec::new();
    if node.running {
        lines.push(format!("pg_ctl -D {name} -m fast stop"));
    }
    lines.push(format!("rm -rf {name}"));
    lines.push(format!(
        "pg_basebackup -h 127.0.0.1 -p {} -D {name} -R",
        primary.port
    ));
    lines.push(format!("pg_ctl -D {name} start"));
    Some(Rejoin {
        upstream: upstream.clone(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drawing::{layout, remember, Faults, Memory};

    fn node(id: u32, role: &str, timeline: u32, flush: &str) -> NodeStatus {
        NodeStatus {
            id,
            port: 5431 + id as u16,
            role: role.into(),
            running: true,
            timeline,
            write: flush.into(),
            flush: flush.into(),
            replay: (role != "primary").then(|| flush.into()),
            receiver: (role != "primary").then(|| "streaming".into()),
            upstream: (role != "primary").then(|| ("127.0.0.1".into(), 5432)),
            senders: Vec::new(),
            transactions: Default::default(),
            memory_bytes: 0,
            memory: Default::default(),
        }
    }

    fn cluster() -> BTreeMap<String, NodeStatus> {
        BTreeMap::from([
            ("primary".to_string(), node(1, "primary", 1, "0/3000200")),
            ("standby1".to_string(), node(2, "standby", 1, "0/3000100")),
            ("standby2".to_string(), node(3, "standby", 1, "0/3000200")),
        ])
    }

    fn stop(nodes: &mut BTreeMap<String, NodeStatus>, name: &str) {
        let n = nodes.get_mut(name).unwrap();
        (n.running, n.role, n.receiver) = (false, "stopped".into(), None);
    }

    #[test]
    fn a_down_primary_offers_every_standby_the_most_advanced_first() {
        let mut nodes = cluster();
        let mut memory = Memory::new();
        remember(&mut memory, &nodes);
        assert!(promote_candidates(&layout(&nodes, &memory, &Faults::new()), "primary").is_empty());
        stop(&mut nodes, "primary");
        remember(&mut memory, &nodes);
        let drawing = layout(&nodes, &memory, &Faults::new());
        let names: Vec<_> = promote_candidates(&drawing, "primary")
            .into_iter()
            .map(|c| (c.name, c.flushed, c.command))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "standby2".into(),
                    "0/3000200".into(),
                    "pg_ctl -D standby2 promote".into()
                ),
                (
                    "standby1".into(),
                    "0/3000100".into(),
                    "pg_ctl -D standby1 promote".into()
                )
            ]
        );
        // A stopped standby is no primary that is down.
        assert!(promote_candidates(&drawing, "standby1").is_empty());
        // Once a standby is promoted, nothing more is offered.
        let s2 = nodes.get_mut("standby2").unwrap();
        (s2.role, s2.timeline, s2.upstream) = ("primary".into(), 2, None);
        let drawing = layout(&nodes, &memory, &Faults::new());
        assert!(promote_candidates(&drawing, "primary").is_empty());
    }

    #[test]
    fn the_old_primary_rejoins_the_new_one_by_its_commands() {
        let mut nodes = cluster();
        assert_eq!(rejoin(&nodes, "primary"), None);
        let s1 = nodes.get_mut("standby1").unwrap();
        (s1.role, s1.timeline, s1.upstream) = ("primary".into(), 2, None);
        // Still running: a split brain; it is stopped first.
        let running = rejoin(&nodes, "primary").unwrap();
        assert_eq!(running.upstream, "standby1");
        assert_eq!(
            running.lines,
            [
                "pg_ctl -D primary -m fast stop",
                "rm -rf primary",
                "pg_basebackup -h 127.0.0.1 -p 5433 -D primary -R",
                "pg_ctl -D primary start"
            ]
        );
        stop(&mut nodes, "primary");
        assert_eq!(rejoin(&nodes, "primary").unwrap().lines.len(), 3);
        // The new primary and a standby still streaming are not offered it.
        assert_eq!(rejoin(&nodes, "standby1"), None);
        assert_eq!(rejoin(&nodes, "standby2"), None);
    }
}
