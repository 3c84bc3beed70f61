//! One model of a link's faults, applied by the simulator's network and by
//! the browser's workers alike, so that what the simulator's tests prove
//! about a fault holds in the page.
//!
//! A link joins two nodes; its [`LinkFault`] says what the network does to
//! every connection between them:
//!
//! - **delay**: each message takes `delay_ms` more;
//! - **loss**: a share of TCP segments is lost. TCP does not lose a message:
//!   it sends it again after a retransmission timeout (200 ms, Linux's
//!   `TCP_RTO_MIN`, doubling each time), and what follows waits behind it
//!   (in order, as on one TCP connection). After [`MAX_RETRANSMISSIONS`]
//!   the connection breaks (Linux's `tcp_retries2`);
//! - **partition** (hold): messages wait, in order, until the link heals. A
//!   connection holds at most [`HELD_CAPACITY`] of them; one more and the
//!   connection breaks, as a TCP connection gives up on a peer that stops
//!   acknowledging. Both ends see it close, and the server log says why
//!   ([`broken_log_line`]): never a silent drop;
//! - **cut**: the connections break now (`pgplay-net cut`).
//!
//! The model is values and decisions only; the driver owns the clock, the
//! queues' timers and the connections themselves.

use std::collections::{BTreeMap, VecDeque};

use pgplay_wal::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::shell::NetworkFault;

/// Most messages one connection holds while its link is partitioned; one
/// more and the connection breaks.
pub const HELD_CAPACITY: usize = 4096;
/// The first retransmission timeout (Linux's `TCP_RTO_MIN`), in ms.
pub const RETRANSMISSION_TIMEOUT_MS: u32 = 200;
/// Retransmissions of one segment before the connection breaks (Linux's
/// `tcp_retries2`).
pub const MAX_RETRANSMISSIONS: u32 = 15;

/// What the network does to a link's connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFault {
    /// Extra one-way delay of each message.
    pub delay_ms: u32,
    /// Partitioned: messages are held (in order, bounded) until healed.
    pub partitioned: bool,
    /// Percent of transmissions lost (0 to 100), each sent again after a
    /// retransmission timeout.
    pub loss_percent: u8,
}

impl LinkFault {
    /// The link after a `pgplay-net` command: heal clears every fault; cut
    /// leaves the faults as they are (it breaks the connections there are).
    pub fn apply(self, fault: NetworkFault) -> LinkFault {
        match fault {
            NetworkFault::Partition => LinkFault {
                partitioned: true,
                ..self
            },
            NetworkFault::Heal => LinkFault::default(),
            NetworkFault::Delay(ms) => LinkFault {
                delay_ms: ms,
                ..self
            },
            NetworkFault::Loss(percent) => LinkFault {
                loss_percent: percent.min(100),
                ..self
            },
            NetworkFault::Cut => self,
        }
    }

    /// Whether a message leaves now (`Some` extra delay, ms) or the
    /// connection breaks (`None`: every retransmission was lost). `draw`
    /// gives numbers in `0..100`, one per transmission: the simulator's
    /// seeded generator, the browser's `Math.random`.
    pub fn transmission_delay_ms(self, mut draw: impl FnMut() -> u32) -> Option<u32> {
        let mut extra = self.delay_ms;
        if self.loss_percent == 0 {
            return Some(extra);
        }
        let mut timeout = RETRANSMISSION_TIMEOUT_MS;
        for _ in 0..=MAX_RETRANSMISSIONS {
            if draw() >= u32::from(self.loss_percent) {
                return Some(extra);
            }
            extra = extra.saturating_add(timeout);
            timeout = timeout.saturating_mul(2).min(120_000);
        }
        None
    }
}

/// The faults of every link, by unordered pair of nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkFaults {
    links: BTreeMap<(String, String), LinkFault>,
}

/// The unordered pair `a`–`b`, as links are keyed.
pub fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

impl LinkFaults {
    pub fn get(&self, a: &str, b: &str) -> LinkFault {
        self.links.get(&pair(a, b)).copied().unwrap_or_default()
    }

    pub fn set(&mut self, a: &str, b: &str, fault: LinkFault) {
        if fault == LinkFault::default() {
            self.links.remove(&pair(a, b));
        } else {
            self.links.insert(pair(a, b), fault);
        }
    }

    /// Applies a `pgplay-net` command to the link; its faults now.
    pub fn apply(&mut self, a: &str, b: &str, fault: NetworkFault) -> LinkFault {
        let now = self.get(a, b).apply(fault);
        self.set(a, b, now);
        now
    }

    pub fn is_partitioned(&self, a: &str, b: &str) -> bool {
        self.get(a, b).partitioned
    }

    /// The links with any fault, in order.
    pub fn faulty(&self) -> impl Iterator<Item = (&(String, String), &LinkFault)> {
        self.links.iter()
    }
}

/// What becomes of a message offered to a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer<T> {
    /// It goes, this many ms later than the network's own latency.
    Send { frame: T, delay_ms: u32 },
    /// The link is partitioned: it waits in the connection's buffer.
    Held,
    /// The connection breaks (its buffer was full, or every retransmission
    /// was lost); the buffer is emptied. Both ends must see it close.
    Break(BreakReason),
}

/// Why the network broke a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakReason {
    /// The partition held [`HELD_CAPACITY`] messages on it.
    HeldFull,
    /// [`MAX_RETRANSMISSIONS`] retransmissions of one message were lost.
    Retransmissions,
    /// `pgplay-net cut`.
    Cut,
}

/// The server log line a broken connection leaves on each end's node.
pub fn broken_log_line(peer: &str, reason: BreakReason) -> String {
    let why = match reason {
        BreakReason::HeldFull => format!(
            "the partition held {HELD_CAPACITY} messages on it, the most pgplay buffers, and \
             a TCP connection gives up on a peer that stops acknowledging"
        ),
        BreakReason::Retransmissions => format!(
            "a message was lost {} times in a row (tcp_retries2)",
            MAX_RETRANSMISSIONS + 1
        ),
        BreakReason::Cut => "pgplay-net cut".to_string(),
    };
    format!("LOG:  pgplay: the network broke the connection with \"{peer}\": {why}")
}

/// One connection's messages held by a partition, in order, bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held<T> {
    frames: VecDeque<T>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held {
            frames: VecDeque::new(),
        }
    }
}

impl<T> Held<T> {
    /// Decides what becomes of `frame` on a link with `fault`. While
    /// anything is held, what follows waits behind it even if the link is
    /// healed in between (the driver releases the held frames first).
    pub fn offer(&mut self, fault: LinkFault, frame: T, draw: impl FnMut() -> u32) -> Offer<T> {
        if fault.partitioned || !self.frames.is_empty() {
            if self.frames.len() >= HELD_CAPACITY {
                self.frames.clear();
                return Offer::Break(BreakReason::HeldFull);
            }
            self.frames.push_back(frame);
            return Offer::Held;
        }
        match fault.transmission_delay_ms(draw) {
            Some(delay_ms) => Offer::Send { frame, delay_ms },
            None => Offer::Break(BreakReason::Retransmissions),
        }
    }

    /// The held frames, in order, once the link is no longer partitioned
    /// (none while it is).
    pub fn release(&mut self, fault: LinkFault) -> Vec<T> {
        if fault.partitioned {
            return Vec::new();
        }
        self.frames.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// The due times of one direction of one connection, kept in order: a
/// message never overtakes the one sent before it (TCP's order, and the
/// head-of-line wait behind a retransmission).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InOrder {
    last_due: Timestamp,
}

impl InOrder {
    /// When a message sent at `now` that takes `after` arrives.
    pub fn due(&mut self, now: Timestamp, after: Timestamp) -> Timestamp {
        let due = now.saturating_add(after.max(0)).max(self.last_due);
        self.last_due = due;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never_lost() -> u32 {
        99
    }

    #[test]
    fn commands_change_the_link_as_the_shell_says() {
        let mut faults = LinkFaults::default();
        faults.apply("primary", "standby1", NetworkFault::Delay(200));
        let held = faults.apply("standby1", "primary", NetworkFault::Partition);
        assert_eq!(
            held,
            LinkFault {
                delay_ms: 200,
                partitioned: true,
                loss_percent: 0
            }
        );
        assert!(faults.is_partitioned("primary", "standby1"));
        assert_eq!(faults.apply("primary", "standby1", NetworkFault::Cut), held);
        faults.apply("primary", "standby1", NetworkFault::Heal);
        assert_eq!(
            faults.faulty().count(),
            0,
            "a healed link has no fault left"
        );
    }

    #[test]
    fn a_partition_holds_in_order_then_breaks_when_full() {
        let partitioned = LinkFault {
            partitioned: true,
            ..LinkFault::default()
        };
        let mut held = Held::default();
        for frame in 0..HELD_CAPACITY {
            assert_eq!(held.offer(partitioned, frame, never_lost), Offer::Held);
        }
        assert_eq!(
            held.offer(partitioned, HELD_CAPACITY, never_lost),
            Offer::Break(BreakReason::HeldFull)
        );
        assert!(held.is_empty(), "a broken connection holds nothing");
        held.offer(partitioned, 1, never_lost);
        held.offer(partitioned, 2, never_lost);
        assert!(held.release(partitioned).is_empty());
        let healed = LinkFault::default();
        assert_eq!(held.release(healed), vec![1, 2]);
        assert_eq!(
            held.offer(healed, 3, never_lost),
            Offer::Send {
                frame: 3,
                delay_ms: 0
            }
        );
    }

    #[test]
    fn a_lost_message_is_sent_again_until_tcp_gives_up() {
        let lossy = LinkFault {
            delay_ms: 10,
            loss_percent: 50,
            ..LinkFault::default()
        };
        let mut draws = [10, 70].into_iter();
        // Lost once (10 < 50), then through: one retransmission timeout later.
        assert_eq!(
            lossy.transmission_delay_ms(|| draws.next().unwrap()),
            Some(10 + RETRANSMISSION_TIMEOUT_MS)
        );
        let mut draws = [10, 20, 70].into_iter();
        assert_eq!(
            lossy.transmission_delay_ms(|| draws.next().unwrap()),
            Some(10 + 3 * RETRANSMISSION_TIMEOUT_MS),
            "the timeout doubles"
        );
        let all_lost = LinkFault {
            loss_percent: 100,
            ..LinkFault::default()
        };
        let mut held = Held::default();
        assert_eq!(
            held.offer(all_lost, (), never_lost),
            Offer::Break(BreakReason::Retransmissions)
        );
        assert!(broken_log_line("standby1", BreakReason::HeldFull).contains("\"standby1\""));
    }

    #[test]
    fn a_connection_keeps_its_order_behind_a_slow_message() {
        let mut order = InOrder::default();
        assert_eq!(order.due(100, 500), 600);
        assert_eq!(
            order.due(200, 10),
            600,
            "waits behind the retransmitted one"
        );
        assert_eq!(order.due(700, 10), 710);
    }
}
