//! Timeline history: where each ancestor timeline of the current one ended.
//! `00000002.history` holds one line per ancestor, tab-separated
//! (`1`, tab, `0/3000148`, tab, `no recovery target specified`).

use pgplay_wal::{history_file_name, Lsn, TimeLineId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub timeline: TimeLineId,
    /// The first byte that is not on `timeline` any more.
    pub switchpoint: Lsn,
    pub reason: String,
}

/// The history of one timeline: its ancestors, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineHistory {
    pub timeline: TimeLineId,
    pub ancestors: Vec<HistoryEntry>,
}

impl TimelineHistory {
    /// The first timeline, which has no history file.
    pub fn first() -> TimelineHistory {
        TimelineHistory {
            timeline: TimeLineId(1),
            ancestors: Vec::new(),
        }
    }

    /// A child of this history that leaves `self.timeline` at `switchpoint`.
    pub fn branch(&self, new_timeline: TimeLineId, switchpoint: Lsn) -> TimelineHistory {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(HistoryEntry {
            timeline: self.timeline,
            switchpoint,
            reason: "no recovery target specified".into(),
        });
        TimelineHistory {
            timeline: new_timeline,
            ancestors,
        }
    }

    pub fn file_name(&self) -> String {
        history_file_name(self.timeline)
    }

    pub fn to_text(&self) -> String {
        self.ancestors
            .iter()
            .map(|e| format!("{}\t{}\t{}\n", e.timeline.0, e.switchpoint, e.reason))
            .collect()
    }

    pub fn parse(timeline: TimeLineId, text: &str) -> Result<TimelineHistory, String> {
        let mut ancestors = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, '\t');
            let tli = fields
                .next()
                .and_then(|f| f.trim().parse::<u32>().ok())
                .ok_or_else(|| format!("syntax error in history file: {line}"))?;
            let switchpoint: Lsn = fields
                .next()
                .and_then(|f| f.trim().parse().ok())
                .ok_or_else(|| format!("syntax error in history file: {line}"))?;
            ancestors.push(HistoryEntry {
                timeline: TimeLineId(tli),
                switchpoint,
                reason: fields.next().unwrap_or("").to_string(),
            });
        }
        Ok(TimelineHistory {
            timeline,
            ancestors,
        })
    }

    /// Is `timeline` this one or one of its ancestors?
    pub fn contains(&self, timeline: TimeLineId) -> bool {
        timeline == self.timeline || self.ancestors.iter().any(|e| e.timeline == timeline)
    }

    /// Where `timeline` ends in this history (None for the current timeline).
    pub fn switchpoint(&self, timeline: TimeLineId) -> Option<Lsn> {
        self.ancestors
            .iter()
            .find(|e| e.timeline == timeline)
            .map(|e| e.switchpoint)
    }

    /// The timeline that follows `timeline` in this history.
    pub fn successor(&self, timeline: TimeLineId) -> Option<TimeLineId> {
        let index = self.ancestors.iter().position(|e| e.timeline == timeline)?;
        Some(
            self.ancestors
                .get(index + 1)
                .map(|e| e.timeline)
                .unwrap_or(self.timeline),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_round_trips_through_text() {
        let two = TimelineHistory::first().branch(TimeLineId(2), Lsn(0x3000148));
        assert_eq!(two.file_name(), "00000002.history");
        assert_eq!(
            two.to_text(),
            "1\t0/3000148\tno recovery target specified\n"
        );
        let three = two.branch(TimeLineId(3), Lsn(0x5000000));
        let parsed = TimelineHistory::parse(TimeLineId(3), &three.to_text()).unwrap();
        assert_eq!(parsed, three);
        assert_eq!(parsed.switchpoint(TimeLineId(1)), Some(Lsn(0x3000148)));
        assert_eq!(parsed.successor(TimeLineId(1)), Some(TimeLineId(2)));
        assert_eq!(parsed.successor(TimeLineId(2)), Some(TimeLineId(3)));
        assert!(parsed.contains(TimeLineId(2)));
        assert!(!parsed.contains(TimeLineId(4)));
    }
}
