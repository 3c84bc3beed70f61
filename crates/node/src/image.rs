//! A stopped server's data directory as bytes: what `pg_basebackup` sends
//! from one browser worker to another (postcard-encoded). It carries the
//! data as of the backup's checkpoint, the WAL from its redo pointer on,
//! pg_control, the configuration files and the timeline history files.

use std::collections::BTreeMap;

use pgplay_engine::guc::Settings;
use pgplay_engine::redo::DataState;
use pgplay_engine::{BaseBackup, ControlFile, Database};
use pgplay_wal::time::Timestamp;
use pgplay_wal::{TimeLineId, WalLog};
use serde::{Deserialize, Serialize};

use crate::{ConfigFiles, Node, RunState};

#[derive(Deserialize)]
struct NodeImage {
    name: String,
    files: ConfigFiles,
    auto_conf: pgplay_engine::guc::AutoConf,
    history_files: BTreeMap<TimeLineId, String>,
    data: DataState,
    wal: WalLog,
    control: ControlFile,
}

/// [`NodeImage`] borrowed from a node, so writing an image does not copy the node's data and WAL
/// first (in a worker, that copy would raise its WebAssembly memory for good). Same fields, same
/// order, so the same bytes.
#[derive(Serialize)]
struct NodeImageRef<'a> {
    name: &'a str,
    files: &'a ConfigFiles,
    auto_conf: &'a pgplay_engine::guc::AutoConf,
    history_files: &'a BTreeMap<TimeLineId, String>,
    data: &'a DataState,
    wal: &'a WalLog,
    control: &'a ControlFile,
}

impl Node {
    /// The data directory of this stopped node (a fresh base backup) as bytes.
    pub fn to_image(&self) -> Vec<u8> {
        let image = NodeImageRef {
            name: &self.name,
            files: &self.files,
            auto_conf: &self.db.settings.auto,
            history_files: &self.history_files,
            data: &self.db.data,
            wal: &self.db.wal,
            control: &self.db.control,
        };
        postcard::to_allocvec(&image).expect("in-memory encoding cannot fail")
    }

    /// A stopped node from [`Node::to_image`]'s bytes; `start` it next.
    pub fn from_image(bytes: &[u8], now: Timestamp) -> Result<Node, String> {
        let image: NodeImage = postcard::from_bytes(bytes)
            .map_err(|e| format!("pg_basebackup: error: could not read the backup: {e}"))?;
        let mut settings = Settings::new();
        settings.auto = image.auto_conf;
        let end = image.wal.flush_lsn();
        let checkpoint = image.control.checkpoint;
        let mut db = Database::from_backup(
            BaseBackup {
                data: image.data,
                wal: image.wal,
                control: image.control,
                settings,
                end,
                checkpoint,
            },
            now,
        );
        db.in_recovery = true;
        let mut node = Node::with_database(&image.name, 0, 5432, db, image.files);
        node.history_files = image.history_files;
        node.history = node.current_history();
        node.state = RunState::Stopped;
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_backup_survives_the_trip_through_bytes() {
        let mut primary = Node::initdb("primary", 42, None, 0);
        let mut psql = primary.connect();
        primary.psql_line(0, &mut psql, "CREATE TABLE t (x int);");
        primary.psql_line(0, &mut psql, "INSERT INTO t VALUES (1), (2);");
        let copy = primary
            .base_backup(
                1,
                "standby1",
                "postgres",
                None,
                crate::RecoveryConf::WrittenNamed,
            )
            .unwrap();
        let bytes = copy.to_image();
        let mut standby = Node::from_image(&bytes, 2).unwrap();
        assert_eq!(standby.name, "standby1");
        assert!(standby.files.standby_signal);
        standby.start(3).unwrap();
        let mut psql = standby.connect();
        assert_eq!(
            standby.psql_line(3, &mut psql, "SELECT count(*) FROM t;"),
            " count \n-------\n     2\n(1 row)\n\n"
        );
        assert!(standby
            .psql_line(3, &mut psql, "INSERT INTO t VALUES (3);")
            .contains("cannot execute INSERT in a read-only transaction"));
        assert!(Node::from_image(&bytes[..10], 0).is_err());
    }
}
