//! What the cluster drawing shows, computed from what the nodes report.
//!
//! The page's picture of the cluster (`drawing_view`, an SVG) is only as good as this
//! plain-Rust model of it, so the model is kept apart and tested natively: where each node
//! sits (a primary at the root, each standby below the node it streams from, cascades
//! deeper), one link per replication connection with its lag, sync state and the faults the
//! learner set with `pgplay-net`, and the one-sentence status of the whole cluster ("primary
//! is down · standby2 has no upstream · 2 nodes accept writes: split brain").
//!
//! A stopped node reports neither its role nor its upstream, so [`Memory`] keeps what each
//! node last was while it ran: a crashed primary stays at the root and is called the primary.

use std::collections::{BTreeMap, BTreeSet};

use pgplay_cluster::shell::{self, NetworkFault, ShellCommand};

use crate::protocol::NodeStatus;
use crate::scenario::Action;

/// What a node last was while it ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Remembered {
    pub was_primary: bool,
    pub upstream: Option<String>,
}

/// What each node last was while it ran, by name.
pub type Memory = BTreeMap<String, Remembered>;

/// What `pgplay-net` last did to a link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkFault {
    /// Traffic is held until healed.
    pub cut: bool,
    /// Extra milliseconds per message (0: none).
    pub delay_ms: u32,
    /// Percent of transmissions lost and sent again (0: none).
    pub loss_percent: u8,
}

impl LinkFault {
    /// Slowed by a delay or by loss: data still flows, late.
    pub fn slowed(&self) -> bool {
        self.delay_ms > 0 || self.loss_percent > 0
    }
}

/// Link faults by node pair (the two names in order: a link is cut both ways).
pub type Faults = BTreeMap<(String, String), LinkFault>;

/// One node as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnNode {
    pub name: String,
    /// `primary`, `standby`, `cascading standby`, or `stopped`.
    pub role: String,
    /// Whether it was the primary when it last ran (a stopped node's role is `stopped`).
    pub was_primary: bool,
    pub running: bool,
    /// `running`, `stopped`, or its walreceiver's state (`streaming`, `waiting`, ...).
    pub state: String,
    pub timeline: u32,
    pub write: Option<u64>,
    pub flush: Option<u64>,
    pub replay: Option<u64>,
    /// The text of each position, as the node reported it.
    pub positions: Vec<(&'static str, String)>,
    /// Row: 0 for the roots, one more per hop from them.
    pub depth: usize,
    /// Column (leaves take whole columns, a parent sits over the middle of its children).
    pub column: f64,
}

/// One replication connection, from the node that sends WAL to the standby.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnLink {
    pub upstream: String,
    pub standby: String,
    /// Both ends run and the standby's walreceiver streams.
    pub streaming: bool,
    /// `pg_stat_replication.sync_state` of the walsender, when there is one.
    pub sync_state: Option<String>,
    pub lag_bytes: Option<u64>,
    pub lag_ms: Option<f64>,
    /// The walsender's `sent_lsn`: when it moves, WAL went down this link.
    pub sent: Option<u64>,
    pub fault: LinkFault,
}

/// The whole picture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drawing {
    pub nodes: Vec<DrawnNode>,
    pub links: Vec<DrawnLink>,
    /// Leaves side by side (at least 1).
    pub columns: usize,
    /// Rows (at least 1).
    pub rows: usize,
    /// The shared LSN axis: every position drawn lies in `lsn_min..=lsn_max`.
    pub lsn_min: u64,
    pub lsn_max: u64,
}

/// `16/B374D848` → its 64-bit value; text after the LSN (` (paused)`) is ignored.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let lsn = text.split_whitespace().next()?;
    let (high, low) = lsn.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    Some((high << 32) | (low & 0xFFFF_FFFF))
}

/// The node a standby's `primary_conninfo` names, by host name or port.
pub fn upstream_of(nodes: &BTreeMap<String, NodeStatus>, status: &NodeStatus) -> Option<String> {
    let (host, port) = status.upstream.as_ref()?;
    nodes
        .iter()
        .find(|(n, s)| *n == host || s.port == *port)
        .map(|(n, _)| n.clone())
}

/// Notes what every running node is now, for when it stops.
pub fn remember(memory: &mut Memory, nodes: &BTreeMap<String, NodeStatus>) {
    memory.retain(|name, _| nodes.contains_key(name));
    for (name, status) in nodes.iter().filter(|(_, s)| s.running) {
        let upstream = upstream_of(nodes, status);
        let was_primary = status.role == "primary";
        let remembered = memory.entry(name.clone()).or_default();
        remembered.was_primary = was_primary;
        // A standby between two connections keeps its place under its upstream.
        if upstream.is_some() || was_primary {
            remembered.upstream = upstream;
        }
    }
}

/// The link faults the learner's `pgplay-net` commands leave, in the order they ran.
pub fn faults<'a>(actions: impl IntoIterator<Item = &'a Action>) -> Faults {
    let mut faults = Faults::new();
    for action in actions {
        let Action::Shell(line) = action else {
            continue;
        };
        if !line.trim_start().starts_with("pgplay-net") {
            continue;
        }
        let Ok(ShellCommand::Network { a, b, fault }) = shell::parse(line) else {
            continue;
        };
        let entry = faults.entry(pair(&a, &b)).or_default();
        match fault {
            NetworkFault::Partition => entry.cut = true,
            NetworkFault::Heal => *entry = LinkFault::default(),
            NetworkFault::Delay(ms) => entry.delay_ms = ms,
            NetworkFault::Loss(percent) => entry.loss_percent = percent,
            // The connections break once; new ones are made as usual.
            NetworkFault::Cut => {}
        }
    }
    faults.retain(|_, f| *f != LinkFault::default());
    faults
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// What `pgplay-net` last did to the link between `a` and `b`.
pub fn fault_between(faults: &Faults, a: &str, b: &str) -> LinkFault {
    faults.get(&pair(a, b)).copied().unwrap_or_default()
}

/// The node each node hangs under: its upstream while it runs, the one it last had when stopped.
fn parents(nodes: &BTreeMap<String, NodeStatus>, memory: &Memory) -> BTreeMap<String, String> {
    nodes
        .iter()
        .filter_map(|(name, status)| {
            let upstream = if status.running {
                upstream_of(nodes, status)
            } else {
                memory.get(name).and_then(|r| r.upstream.clone())
            };
            upstream
                .filter(|u| u != name && nodes.contains_key(u))
                .map(|u| (name.clone(), u))
        })
        .collect()
}

/// Places every node: (depth, column) by name, and the number of columns used.
fn place(
    nodes: &BTreeMap<String, NodeStatus>,
    memory: &Memory,
    parents: &BTreeMap<String, String>,
) -> (BTreeMap<String, (usize, f64)>, usize) {
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, parent) in parents {
        children.entry(parent).or_default().push(child);
    }
    let is_primary = |n: &str| {
        let status = &nodes[n];
        status.role == "primary"
            || (!status.running && memory.get(n).is_some_and(|r| r.was_primary))
    };
    // Roots: nodes with no upstream, primaries first; then whatever a cycle left out.
    let mut roots: Vec<&str> = nodes
        .keys()
        .map(String::as_str)
        .filter(|n| !parents.contains_key(*n))
        .collect();
    roots.sort_by_key(|n| (!is_primary(n), *n));
    let mut placed = BTreeMap::new();
    let mut next_column = 0usize;
    let mut seen = BTreeSet::new();
    let mut order: Vec<&str> = roots;
    order.extend(nodes.keys().map(String::as_str));
    for root in order {
        if !seen.contains(root) {
            place_subtree(root, 0, &children, &mut seen, &mut next_column, &mut placed);
        }
    }
    (placed, next_column.max(1))
}

/// Places `node` and everything under it, depth first; returns its column.
fn place_subtree<'a>(
    node: &'a str,
    depth: usize,
    children: &BTreeMap<&'a str, Vec<&'a str>>,
    seen: &mut BTreeSet<&'a str>,
    next_column: &mut usize,
    placed: &mut BTreeMap<String, (usize, f64)>,
) -> f64 {
    seen.insert(node);
    let mut columns = Vec::new();
    for child in children.get(node).into_iter().flatten() {
        if !seen.contains(child) {
            columns.push(place_subtree(
                child,
                depth + 1,
                children,
                seen,
                next_column,
                placed,
            ));
        }
    }
    let column = if columns.is_empty() {
        *next_column += 1;
        (*next_column - 1) as f64
    } else {
        (columns[0] + columns[columns.len() - 1]) / 2.0
    };
    placed.insert(node.to_string(), (depth, column));
    column
}

fn drawn_node(
    name: &str,
    status: &NodeStatus,
    memory: &Memory,
    (depth, column): (usize, f64),
) -> DrawnNode {
    let state = match (status.running, &status.receiver) {
        (false, _) => "stopped".to_string(),
        (true, Some(receiver)) => receiver.clone(),
        (true, None) => "running".to_string(),
    };
    let mut positions = vec![
        ("write", status.write.clone()),
        ("flush", status.flush.clone()),
    ];
    if let Some(replay) = &status.replay {
        positions.push(("replay", replay.clone()));
    }
    DrawnNode {
        name: name.to_string(),
        role: status.role.clone(),
        was_primary: status.role == "primary"
            || (!status.running && memory.get(name).is_some_and(|r| r.was_primary)),
        running: status.running,
        state,
        timeline: status.timeline,
        write: parse_lsn(&status.write),
        flush: parse_lsn(&status.flush),
        replay: status.replay.as_deref().and_then(parse_lsn),
        positions,
        depth,
        column,
    }
}

/// The picture of the cluster: nodes placed by topology, a link per replication connection.
pub fn layout(nodes: &BTreeMap<String, NodeStatus>, memory: &Memory, faults: &Faults) -> Drawing {
    let parents = parents(nodes, memory);
    let (placed, columns) = place(nodes, memory, &parents);
    let drawn: Vec<DrawnNode> = nodes
        .iter()
        .map(|(name, status)| drawn_node(name, status, memory, placed[name]))
        .collect();
    let links = parents
        .iter()
        .map(|(standby, upstream)| {
            let (s, u) = (&nodes[standby], &nodes[upstream]);
            let sender = u.sender_to(s).filter(|_| u.running && s.running);
            DrawnLink {
                upstream: upstream.clone(),
                standby: standby.clone(),
                streaming: s.running && u.running && s.receiver.as_deref() == Some("streaming"),
                sync_state: sender.map(|x| x.sync_state.clone()),
                lag_bytes: sender.map(|x| x.lag_bytes),
                lag_ms: sender.and_then(|x| x.replay_lag_ms),
                sent: sender.and_then(|x| parse_lsn(&x.sent)),
                fault: fault_between(faults, upstream, standby),
            }
        })
        .collect();
    let positions = drawn
        .iter()
        .flat_map(|n| [n.write, n.flush, n.replay])
        .flatten();
    let (lsn_min, lsn_max) = positions.fold((u64::MAX, 0), |(lo, hi), p| (lo.min(p), hi.max(p)));
    Drawing {
        rows: drawn.iter().map(|n| n.depth + 1).max().unwrap_or(1),
        nodes: drawn,
        links,
        columns,
        lsn_min: lsn_min.min(lsn_max),
        lsn_max,
    }
}

/// The running nodes that accept writes (more than one is a split brain).
pub fn writers(drawing: &Drawing) -> Vec<&str> {
    drawing
        .nodes
        .iter()
        .filter(|n| n.running && n.role == "primary")
        .map(|n| n.name.as_str())
        .collect()
}

/// "primary is down" for a stopped primary named primary, "standby1 is down" otherwise.
fn down(node: &DrawnNode) -> String {
    match (node.was_primary, node.name.as_str()) {
        (true, "primary") => "primary is down".to_string(),
        (true, name) => format!("primary {name} is down"),
        (false, name) => format!("{name} is down"),
    }
}

/// What is wrong with one link, if anything.
fn link_trouble(drawing: &Drawing, link: &DrawnLink) -> Option<String> {
    let node = |n: &str| drawing.nodes.iter().find(|d| d.name == n);
    let standby = node(&link.standby)?;
    if !standby.running {
        return None;
    }
    let (up, down) = (&link.upstream, &link.standby);
    if link.fault.cut {
        return Some(format!("link {up} → {down} is cut"));
    }
    if !node(up).is_some_and(|u| u.running) {
        return Some(format!("{down} has no upstream"));
    }
    if link.fault.delay_ms > 0 {
        return Some(format!(
            "link {up} → {down} is slowed by {} ms",
            link.fault.delay_ms
        ));
    }
    if link.fault.loss_percent > 0 {
        return Some(format!(
            "link {up} → {down} loses {}% of its packets",
            link.fault.loss_percent
        ));
    }
    (!link.streaming).then(|| format!("{down} is {} for {up}", standby.state))
}

/// The cluster in one sentence, troubles first, parts joined by " · ".
pub fn status_sentence(drawing: &Drawing) -> String {
    if drawing.nodes.is_empty() {
        return "Starting the primary and its standbys…".to_string();
    }
    let mut parts: Vec<String> = drawing
        .nodes
        .iter()
        .filter(|n| !n.running)
        .map(down)
        .collect();
    let linked: BTreeSet<&str> = drawing.links.iter().map(|l| l.standby.as_str()).collect();
    for node in &drawing.nodes {
        if node.running && node.role != "primary" && !linked.contains(node.name.as_str()) {
            parts.push(format!("{} has no upstream", node.name));
        }
    }
    parts.extend(
        drawing
            .links
            .iter()
            .filter_map(|l| link_trouble(drawing, l)),
    );
    let writers = writers(drawing);
    match writers.len() {
        0 if !drawing.nodes.iter().any(|n| !n.running && n.was_primary) => {
            parts.push("no node accepts writes".to_string())
        }
        0 | 1 => {}
        n => parts.push(format!("{n} nodes accept writes: split brain")),
    }
    if !parts.is_empty() {
        return parts.join(" · ");
    }
    if drawing.links.is_empty() {
        let primary = writers.first().copied().unwrap_or("primary");
        return format!("{primary} accepts writes; it has no standbys.");
    }
    "Streaming: every standby receives WAL from its upstream.".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SenderStatus;

    fn node(id: u32, role: &str, upstream: Option<u16>) -> NodeStatus {
        NodeStatus {
            id,
            port: 5431 + id as u16,
            role: role.into(),
            running: true,
            timeline: 1,
            write: "0/3000100".into(),
            flush: "0/3000100".into(),
            replay: (role != "primary").then(|| "0/3000100".into()),
            receiver: upstream.map(|_| "streaming".into()),
            upstream: upstream.map(|port| ("127.0.0.1".into(), port)),
            senders: Vec::new(),
            transactions: Default::default(),
            memory_bytes: 0,
            memory: Default::default(),
        }
    }

    fn sender(standby_id: u32, sync_state: &str) -> SenderStatus {
        SenderStatus {
            standby_id,
            application_name: format!("standby{}", standby_id - 1),
            state: "streaming".into(),
            sent: "0/3000100".into(),
            write: "0/3000100".into(),
            flush: "0/3000100".into(),
            replay: "0/3000000".into(),
            lag_bytes: 256,
            replay_lag_ms: Some(1.5),
            sync_state: sync_state.into(),
        }
    }

    /// primary (port 5432), standby1 (5433) and standby2 (5434) streaming from `standby2_from`.
    fn cluster(standby2_from: u16) -> BTreeMap<String, NodeStatus> {
        let mut primary = node(1, "primary", None);
        primary.senders.push(sender(2, "sync"));
        let mut standby1 = node(2, "standby", Some(5432));
        let standby2 = node(3, "standby", Some(standby2_from));
        if standby2_from == 5432 {
            primary.senders.push(sender(3, "async"));
        } else {
            standby1.role = "cascading standby".into();
            standby1.senders.push(sender(3, "async"));
        }
        BTreeMap::from([
            ("primary".to_string(), primary),
            ("standby1".to_string(), standby1),
            ("standby2".to_string(), standby2),
        ])
    }

    fn drawn(nodes: &BTreeMap<String, NodeStatus>, memory: &Memory, faults: &Faults) -> Drawing {
        layout(nodes, memory, faults)
    }

    fn at<'a>(drawing: &'a Drawing, name: &str) -> &'a DrawnNode {
        drawing.nodes.iter().find(|n| n.name == name).unwrap()
    }

    #[test]
    fn lsns_parse_with_their_high_half() {
        assert_eq!(parse_lsn("0/3000100"), Some(0x300_0100));
        assert_eq!(parse_lsn("16/B374D848 (paused)"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("nonsense"), None);
    }

    #[test]
    fn standbys_of_the_primary_sit_side_by_side_below_it() {
        let d = drawn(&cluster(5432), &Memory::new(), &Faults::new());
        assert_eq!((d.rows, d.columns), (2, 2));
        assert_eq!(
            (at(&d, "primary").depth, at(&d, "primary").column),
            (0, 0.5)
        );
        assert_eq!(
            (at(&d, "standby1").depth, at(&d, "standby1").column),
            (1, 0.0)
        );
        assert_eq!(
            (at(&d, "standby2").depth, at(&d, "standby2").column),
            (1, 1.0)
        );
        assert_eq!(d.links.len(), 2);
        assert_eq!(d.links[0].sync_state.as_deref(), Some("sync"));
        assert_eq!(d.links[0].lag_bytes, Some(256));
        assert_eq!(
            status_sentence(&d),
            "Streaming: every standby receives WAL from its upstream."
        );
    }

    #[test]
    fn a_cascading_standby_sits_below_its_upstream_standby() {
        let d = drawn(&cluster(5433), &Memory::new(), &Faults::new());
        assert_eq!((d.rows, d.columns), (3, 1));
        assert_eq!(at(&d, "standby2").depth, 2);
        let link = d.links.iter().find(|l| l.standby == "standby2").unwrap();
        assert_eq!(link.upstream, "standby1");
        assert_eq!(link.sync_state.as_deref(), Some("async"));
    }

    #[test]
    fn a_crashed_primary_stays_at_the_root_and_its_standbys_have_no_upstream() {
        let mut nodes = cluster(5433);
        let mut memory = Memory::new();
        remember(&mut memory, &nodes);
        let primary = nodes.get_mut("primary").unwrap();
        (primary.running, primary.role) = (false, "stopped".into());
        let standby1 = nodes.get_mut("standby1").unwrap();
        standby1.receiver = Some("waiting".into());
        remember(&mut memory, &nodes);
        let d = drawn(&nodes, &memory, &Faults::new());
        assert_eq!(at(&d, "primary").depth, 0);
        assert!(at(&d, "primary").was_primary);
        assert_eq!(at(&d, "standby2").depth, 2);
        assert_eq!(
            status_sentence(&d),
            "primary is down · standby1 has no upstream"
        );
    }

    #[test]
    fn a_lossy_link_is_said_and_a_one_off_cut_leaves_no_fault() {
        let nodes = cluster(5432);
        let actions = vec![
            Action::Shell("pgplay-net loss primary standby2 30".into()),
            Action::Shell("pgplay-net cut primary standby1".into()),
        ];
        let d = drawn(&nodes, &Memory::new(), &faults(&actions));
        assert_eq!(
            status_sentence(&d),
            "link primary → standby2 loses 30% of its packets"
        );
        assert!(d.links.iter().all(|l| !l.fault.cut));
    }

    #[test]
    fn a_cut_link_is_drawn_cut_and_said_until_healed() {
        let nodes = cluster(5432);
        let mut actions = vec![
            Action::Shell("pgplay-net partition primary standby1".into()),
            Action::Shell("pgplay-net delay standby2 primary 200".into()),
            Action::Sql {
                node: "primary".into(),
                text: "SELECT 1;".into(),
            },
        ];
        let d = drawn(&nodes, &Memory::new(), &faults(&actions));
        assert!(d
            .links
            .iter()
            .any(|l| l.standby == "standby1" && l.fault.cut));
        assert_eq!(
            status_sentence(&d),
            "link primary → standby1 is cut · link primary → standby2 is slowed by 200 ms"
        );
        actions.push(Action::Shell("pgplay-net heal primary standby1".into()));
        actions.push(Action::Shell("pgplay-net delay primary standby2 0".into()));
        let d = drawn(&nodes, &Memory::new(), &faults(&actions));
        assert!(d.links.iter().all(|l| l.fault == LinkFault::default()));
        assert!(status_sentence(&d).starts_with("Streaming"));
    }

    #[test]
    fn a_promoted_standby_beside_a_live_primary_is_a_split_brain() {
        let mut nodes = cluster(5432);
        let standby1 = nodes.get_mut("standby1").unwrap();
        (standby1.role, standby1.timeline) = ("primary".into(), 2);
        (standby1.upstream, standby1.receiver, standby1.replay) = (None, None, None);
        nodes.get_mut("primary").unwrap().senders.remove(0);
        let d = drawn(&nodes, &Memory::new(), &Faults::new());
        assert_eq!(writers(&d), ["primary", "standby1"]);
        assert_eq!(status_sentence(&d), "2 nodes accept writes: split brain");
        // Both primaries are roots, standby2 under the old one.
        assert_eq!(at(&d, "standby1").depth, 0);
        assert_eq!(at(&d, "standby2").depth, 1);
        assert_eq!(at(&d, "standby1").timeline, 2);
    }

    #[test]
    fn the_lsn_axis_spans_every_position() {
        let mut nodes = cluster(5432);
        nodes.get_mut("standby2").unwrap().replay = Some("0/2FFFF00".into());
        let d = drawn(&nodes, &Memory::new(), &Faults::new());
        assert_eq!((d.lsn_min, d.lsn_max), (0x2FF_FF00, 0x300_0100));
    }
}
