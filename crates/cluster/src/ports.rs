//! Port allocation, one rule for every driver: the first server listens on
//! 5432 and each new one (a `pg_basebackup` copy, a preset's standby) on one
//! more than the highest port in use, as a learner numbers servers on one
//! machine; a client's end of a connection gets the next ephemeral port,
//! which `pg_stat_replication.client_port` shows.

/// Where the first server listens (PostgreSQL's default port).
pub const FIRST_SERVER_PORT: u16 = 5432;

/// The lowest port a client's end of a connection gets.
pub const FIRST_CLIENT_PORT: u16 = 40_000;

/// The port of a new server, given the ports of the servers there are.
pub fn next_server_port(ports: impl IntoIterator<Item = u16>) -> u16 {
    ports
        .into_iter()
        .max()
        .map_or(FIRST_SERVER_PORT, |highest| highest.saturating_add(1))
}

/// The client ports connections get, in turn, from [`FIRST_CLIENT_PORT`] up, wrapping round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientPorts {
    last: u16,
}

impl Default for ClientPorts {
    fn default() -> Self {
        ClientPorts {
            last: FIRST_CLIENT_PORT,
        }
    }
}

impl ClientPorts {
    /// The port the next connection's client end gets.
    pub fn next_port(&mut self) -> u16 {
        self.last = self.last.wrapping_add(1).max(FIRST_CLIENT_PORT);
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_count_up_from_5432() {
        assert_eq!(next_server_port([]), 5432);
        assert_eq!(next_server_port([5432]), 5433);
        assert_eq!(next_server_port([5432, 5440, 5433]), 5441);
        assert_eq!(next_server_port([65535]), 65535);
    }

    #[test]
    fn client_ports_count_up_and_wrap() {
        let mut ports = ClientPorts::default();
        assert_eq!(ports.next_port(), 40_001);
        assert_eq!(ports.next_port(), 40_002);
        let mut ports = ClientPorts { last: 65_535 };
        assert_eq!(ports.next_port(), 40_000);
    }
}
