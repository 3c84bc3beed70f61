//! `write_lag`, `flush_lag` and `replay_lag` of `pg_stat_replication`, measured
//! as PostgreSQL's walsender measures them: remember when each WAL position
//! was sent, and when the standby reports a position as written, flushed or
//! applied, the lag is the time since the newest sample it covers.

use std::collections::VecDeque;

use pgplay_wal::Lsn;

use crate::Timestamp;

/// Samples kept per connection (PostgreSQL keeps 8192).
pub const LAG_SAMPLES: usize = 8192;

#[derive(Clone, Debug, Default)]
pub struct LagTracker {
    /// (position sent, time sent), oldest first; one cursor per kind.
    samples: VecDeque<(Lsn, Timestamp)>,
    /// Next sample each of write, flush, apply still waits for.
    consumed: [usize; 3],
    /// How many samples were dropped from the front, for cursor arithmetic.
    dropped: usize,
    pub lags: [Option<Timestamp>; 3],
}

impl LagTracker {
    /// The sender sent WAL up to `lsn` at `now`.
    pub fn sent(&mut self, lsn: Lsn, now: Timestamp) {
        if self.samples.back().is_some_and(|(last, _)| *last >= lsn) {
            return;
        }
        if self.samples.len() == LAG_SAMPLES {
            self.samples.pop_front();
            self.dropped += 1;
        }
        self.samples.push_back((lsn, now));
    }

    /// A status reply: positions written, flushed, applied. Returns true if
    /// any sample was consumed.
    pub fn reply(&mut self, positions: [Lsn; 3], now: Timestamp, caught_up: bool) -> bool {
        let mut any = false;
        for (kind, position) in positions.iter().enumerate() {
            let mut newest = None;
            loop {
                let index = self.consumed[kind].max(self.dropped) - self.dropped;
                match self.samples.get(index) {
                    Some((lsn, time)) if lsn <= position => {
                        newest = Some(*time);
                        self.consumed[kind] = self.dropped + index + 1;
                    }
                    _ => break,
                }
            }
            if let Some(sent_at) = newest {
                self.lags[kind] = Some(now - sent_at);
                any = true;
            }
        }
        // Samples every cursor has passed are no longer needed.
        let done = self.consumed.iter().min().copied().unwrap_or(0);
        while self.dropped < done {
            self.samples.pop_front();
            self.dropped += 1;
        }
        if !any && caught_up {
            // An idle, caught-up standby shows no lag at all.
            self.lags = [None; 3];
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_time_since_the_sample_a_reply_covers() {
        let mut lag = LagTracker::default();
        lag.sent(Lsn(100), 1_000);
        lag.sent(Lsn(200), 2_000);
        assert!(lag.reply([Lsn(200), Lsn(100), Lsn(0)], 2_500, false));
        assert_eq!(lag.lags, [Some(500), Some(1_500), None]);
        assert!(lag.reply([Lsn(200), Lsn(200), Lsn(200)], 3_000, true));
        assert_eq!(lag.lags, [Some(500), Some(1_000), Some(1_000)]);
        // Nothing new and caught up: the lags clear.
        assert!(!lag.reply([Lsn(200), Lsn(200), Lsn(200)], 13_000, true));
        assert_eq!(lag.lags, [None, None, None]);
    }

    #[test]
    fn samples_stay_bounded() {
        let mut lag = LagTracker::default();
        for i in 0..(LAG_SAMPLES as u64 * 2) {
            lag.sent(Lsn(i + 1), i as i64);
        }
        assert!(lag.samples.len() <= LAG_SAMPLES);
        assert!(lag.reply([Lsn(u64::MAX); 3], 1 << 40, true));
        assert!(lag.samples.is_empty());
    }
}
