//! WAL archiving: `archive_command` on the server that writes WAL and
//! `restore_command` on a standby, as PostgreSQL's archiver and startup
//! process run them.
//!
//! The archive is a directory outside every data directory, so it belongs
//! to the driver (the simulator, the browser page), not to a node: the node
//! says what the command would copy (`Output::ArchivePut`, `Output::ArchiveGet`)
//! and the driver answers with the command's outcome
//! ([`Node::archive_result`], [`Node::restore_result`]). The commands are
//! read as the shell would read the usual ones: `cp %p /dir/%f`, `test ! -f
//! /dir/%f && cp %p /dir/%f`, `cp /dir/%f "%p"`, `mkdir -p /dir && ...`, `true`,
//! `cd .`, `false`, `exit N`; anything else is a command the shell cannot find
//! (exit 127). Paths are taken as written: `../archive` from every data
//! directory is one archive, as the data directories are siblings.

use pgplay_engine::setting;
use std::collections::BTreeSet;

use pgplay_engine::stats::ArchiverRow;
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use crate::{Node, Output, RunState};

/// What the archiver keeps between attempts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Archiver {
    /// Complete segments waiting to be archived (`archive_status/*.ready`).
    pub ready: BTreeSet<u64>,
    /// The next segment to mark ready once it is complete.
    next: Option<u64>,
    /// The segment whose copy the driver is carrying out.
    in_flight: Option<u64>,
    failures: u32,
    retry_at: Timestamp,
    pub stats: ArchiverRow,
    /// A standby's restore_command: the segment asked for, and when to ask again.
    restoring: Option<u64>,
    restore_at: Timestamp,
}

/// Most segments waiting for the archiver; beyond that the oldest is given up
/// (PostgreSQL would fill the disk instead).
pub const MAX_READY: usize = 4096;

/// What a command does, as far as the archive is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyCommand {
    /// Copy a file: `from` and `to` are paths, `pg_wal/...` inside the data directory.
    Copy {
        from: String,
        to: String,
        /// `test ! -f TO && cp ...`: fail, copying nothing, when `to` exists.
        unless_exists: bool,
    },
    /// Succeeds without copying (`true`, `cd .`, `:`, `exit 0`).
    Succeed,
    /// Fails with this exit code, printing this on stderr.
    Fail { code: i32, stderr: Option<String> },
}

/// Reads an `archive_command` or `restore_command` with `%p` (the path in
/// the data directory) and `%f` (the file name) filled in.
pub fn read_command(command: &str, path: &str, file: &str) -> CopyCommand {
    let filled = command
        .replace("%p", path)
        .replace("%f", file)
        .replace("%r", file)
        .replace("%%", "%");
    let parts: Vec<&str> = filled.split("&&").map(str::trim).collect();
    let mut unless_exists = None;
    for (index, part) in parts.iter().enumerate() {
        let Ok(w) = crate::shell::words(part) else {
            return CopyCommand::Fail {
                code: 2,
                stderr: Some("sh: 1: Syntax error: Unterminated quoted string".into()),
            };
        };
        let last = index + 1 == parts.len();
        match w.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["test", "!", "-f", target] | ["[", "!", "-f", target, "]"] if !last => {
                unless_exists = Some(target.to_string());
            }
            ["cp", options @ .., from, to]
                if last && options.iter().all(|o| o.starts_with('-')) =>
            {
                return CopyCommand::Copy {
                    from: from.to_string(),
                    to: to.to_string(),
                    unless_exists: unless_exists.as_deref() == Some(*to),
                };
            }
            // Directories in the archive need no making: they exist once a file is in them.
            ["true" | "/bin/true" | ":"] | ["cd" | "echo" | "mkdir", ..] | ["exit", "0"]
                if last =>
            {
                return CopyCommand::Succeed
            }
            ["true" | "/bin/true" | ":"] | ["cd" | "echo" | "mkdir", ..] => {}
            ["false" | "/bin/false"] => {
                return CopyCommand::Fail {
                    code: 1,
                    stderr: None,
                }
            }
            ["exit", code] => {
                return CopyCommand::Fail {
                    code: code.parse().unwrap_or(2),
                    stderr: None,
                }
            }
            [name, ..] => {
                return CopyCommand::Fail {
                    code: 127,
                    stderr: Some(format!("sh: 1: {name}: not found")),
                }
            }
            [] => {}
        }
    }
    CopyCommand::Succeed
}

/// The archive directories, as the driver keeps them for every node: file
/// contents by path. Files keep their written bytes only (the rest of a
/// segment file is zeros).
#[derive(Clone, Debug, Default)]
pub struct ArchiveStore {
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

/// Most files the archive holds; a copy beyond that fails as on a full disk.
pub const ARCHIVE_CAPACITY: usize = 1024;

impl ArchiveStore {
    /// `cp` into the archive (after `test ! -f` with `unless_exists`).
    pub fn put(
        &mut self,
        path: &str,
        bytes: Vec<u8>,
        unless_exists: bool,
    ) -> Result<(), (i32, Option<String>)> {
        let exists = self.files.contains_key(path);
        if unless_exists && exists {
            return Err((1, None));
        }
        if !exists && self.files.len() >= ARCHIVE_CAPACITY {
            return Err((
                1,
                Some(format!(
                    "cp: error writing '{path}': No space left on device"
                )),
            ));
        }
        let mut bytes = bytes;
        while bytes.last() == Some(&0) {
            bytes.pop();
        }
        self.files.insert(path.to_string(), bytes);
        Ok(())
    }

    /// `cp` out of the archive: the file, or what `cp` prints when it is missing.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("cp: cannot stat '{path}': No such file or directory"))
    }

    /// `ls` of an archive directory: the names of the files in it.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let dir = dir.trim_end_matches('/');
        self.files
            .keys()
            .filter_map(|path| path.strip_prefix(dir)?.strip_prefix('/'))
            .filter(|name| !name.contains('/'))
            .map(str::to_string)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// What `ls DIR` prints for an archive directory.
    pub fn ls(&self, dir: &str) -> Result<String, String> {
        let names = self.list(dir);
        if names.is_empty() {
            return Err(format!(
                "ls: cannot access '{dir}': No such file or directory"
            ));
        }
        Ok(names.join("\n"))
    }
}

impl Node {
    fn archive_mode(&self) -> bool {
        self.db.settings.value_of(setting!("archive_mode")) != "off"
    }

    /// At start (`from_oldest`): with `archive_mode` on, segments already
    /// complete are archived too, as PostgreSQL finds them without a status
    /// file. At promotion, from the current segment on.
    pub(crate) fn start_archiver(&mut self, from_oldest: bool) {
        let stats = std::mem::take(&mut self.archiver.stats);
        self.archiver = Archiver {
            stats,
            ..Archiver::default()
        };
        if from_oldest && self.archive_mode() && !self.db.in_recovery {
            self.archiver.next = self.db.wal.segment_numbers().first().copied();
        }
    }

    /// Marks completed segments ready and starts the next copy when due.
    pub(crate) fn run_archiver(&mut self, now: Timestamp) {
        if self.state != RunState::Running {
            return;
        }
        self.restore_if_due(now);
        if !self.archive_mode() || self.db.in_recovery {
            return;
        }
        let size = self.db.wal.segment_size();
        let current = size.segment_of(self.db.wal.flush_lsn());
        let held = self.db.wal.segment_numbers();
        let mut next = self.archiver.next.unwrap_or(current);
        while next < current {
            if held.contains(&next) {
                if self.archiver.ready.len() >= MAX_READY {
                    self.archiver.ready.pop_first();
                }
                self.archiver.ready.insert(next);
            }
            next += 1;
        }
        self.archiver.next = Some(next);
        while self.archiver.in_flight.is_none() && now >= self.archiver.retry_at {
            let Some(segno) = self.archiver.ready.first().copied() else {
                break;
            };
            let Some((file, bytes)) = self.db.wal.segment_file(segno) else {
                self.archiver.ready.remove(&segno);
                continue;
            };
            let command = self.db.settings.get("archive_command");
            if command.is_empty() {
                self.push_log(
                    "WARNING:  archive_mode enabled, yet archiving is not configured".into(),
                );
                self.archiver.retry_at = now + 60_000_000;
                break;
            }
            match read_command(&command, &format!("pg_wal/{file}"), &file) {
                CopyCommand::Succeed => self.archived(now, segno),
                CopyCommand::Fail { code, stderr } => self.archive_failed(now, segno, code, stderr),
                CopyCommand::Copy {
                    from,
                    to,
                    unless_exists,
                } => {
                    if from != format!("pg_wal/{file}") {
                        self.archive_failed(
                            now,
                            segno,
                            1,
                            Some(format!(
                                "cp: cannot stat '{from}': No such file or directory"
                            )),
                        );
                        continue;
                    }
                    self.archiver.in_flight = Some(segno);
                    self.emit(Output::ArchivePut {
                        file,
                        path: to,
                        bytes,
                        unless_exists,
                    });
                }
            }
        }
    }

    /// The driver carried out an `archive_command` copy: `Ok`, or the exit
    /// code and what the command printed.
    pub fn archive_result(&mut self, now: Timestamp, result: Result<(), (i32, Option<String>)>) {
        let Some(segno) = self.archiver.in_flight.take() else {
            return;
        };
        match result {
            Ok(()) => self.archived(now, segno),
            Err((code, stderr)) => self.archive_failed(now, segno, code, stderr),
        }
        self.run_archiver(now);
    }

    fn archived(&mut self, now: Timestamp, segno: u64) {
        self.archiver.ready.remove(&segno);
        self.archiver.failures = 0;
        let name = self.db.wal.segment_file(segno).map(|(n, _)| n);
        let stats = &mut self.archiver.stats;
        stats.archived_count += 1;
        stats.last_archived_wal = name;
        stats.last_archived_time = Some(now);
    }

    fn archive_failed(&mut self, now: Timestamp, segno: u64, code: i32, stderr: Option<String>) {
        let name = self
            .db
            .wal
            .segment_file(segno)
            .map(|(n, _)| n)
            .unwrap_or_default();
        let stats = &mut self.archiver.stats;
        stats.failed_count += 1;
        stats.last_failed_wal = Some(name.clone());
        stats.last_failed_time = Some(now);
        if let Some(line) = stderr {
            self.push_log(line);
        }
        let command = self.db.settings.get("archive_command");
        self.push_log(format!(
            "LOG:  archive command failed with exit code {code}\nDETAIL:  The failed archive command was: {command}"
        ));
        self.archiver.failures += 1;
        if self.archiver.failures >= 3 {
            self.push_log(format!(
                "WARNING:  archiving write-ahead log file \"{name}\" failed too many times, will try again later"
            ));
            self.archiver.failures = 0;
            self.archiver.retry_at = now + 60_000_000;
        } else {
            self.archiver.retry_at = now + 1_000_000;
        }
    }

    /// Segments the archiver still needs: checkpoints keep them.
    pub(crate) fn unarchived_segments(&self) -> Vec<u64> {
        self.archiver.ready.iter().copied().collect()
    }

    /// When the archiver or the restore_command next has something to do.
    pub(crate) fn archiver_timeout(&self) -> Option<Timestamp> {
        let archive = (!self.archiver.ready.is_empty() && self.archiver.in_flight.is_none())
            .then_some(self.archiver.retry_at);
        let restore = self.wants_restore().then_some(self.archiver.restore_at);
        archive.into_iter().chain(restore).min()
    }

    /// `pg_stat_archiver`'s row, for the engine.
    pub(crate) fn archiver_stats(&self) -> ArchiverRow {
        self.archiver.stats.clone()
    }

    // ----- restore_command -------------------------------------------------

    /// A standby not streaming, with a restore_command, looks in the archive.
    fn wants_restore(&self) -> bool {
        self.db.in_recovery
            && self.archiver.restoring.is_none()
            && !self.is_streaming()
            && !self
                .db
                .settings
                .value_of(setting!("restore_command"))
                .is_empty()
    }

    /// Where the next WAL the standby needs starts.
    fn next_needed(&self) -> Lsn {
        self.db.wal.flush_lsn()
    }

    fn restore_if_due(&mut self, now: Timestamp) {
        if !self.wants_restore() || now < self.archiver.restore_at {
            return;
        }
        let size = self.db.wal.segment_size();
        let segno = size.segment_of(self.next_needed());
        let file = size.file_name(self.db.wal.timeline(), segno);
        let command = self.db.settings.get("restore_command");
        let retry = now
            + self
                .setting_i64(setting!("wal_retrieve_retry_interval"))
                .max(1)
                * 1000;
        match read_command(&command, "pg_wal/RECOVERYXLOG", &file) {
            CopyCommand::Copy { from, .. } => {
                self.archiver.restoring = Some(segno);
                self.emit(Output::ArchiveGet { file, path: from });
            }
            CopyCommand::Succeed => self.archiver.restore_at = retry,
            CopyCommand::Fail { stderr, .. } => {
                if let Some(line) = stderr {
                    self.push_log(line);
                }
                self.archiver.restore_at = retry;
            }
        }
    }

    /// The driver ran the restore_command's copy: the file's bytes, or what
    /// `cp` printed when it could not.
    pub fn restore_result(&mut self, now: Timestamp, result: Result<Vec<u8>, String>) {
        let Some(segno) = self.archiver.restoring.take() else {
            return;
        };
        let retry = now
            + self
                .setting_i64(setting!("wal_retrieve_retry_interval"))
                .max(1)
                * 1000;
        if self.state != RunState::Running || !self.db.in_recovery {
            return;
        }
        let size = self.db.wal.segment_size();
        let file = size.file_name(self.db.wal.timeline(), segno);
        let mut bytes = match result {
            Ok(bytes) => bytes,
            Err(stderr) => {
                self.push_log(stderr);
                self.archiver.restore_at = retry;
                return;
            }
        };
        // A segment file is full size; what was not written is zeros.
        bytes.resize(size.bytes() as usize, 0);
        let start = size.segment_start(segno);
        let from = self.next_needed();
        // Streaming may have moved on while the copy ran.
        let offset = from.0.checked_sub(start.0).map(|o| o as usize);
        let Some(offset) = offset.filter(|o| *o < bytes.len()) else {
            self.archiver.restore_at = retry;
            return;
        };
        let end = from.offset((bytes.len() - offset) as u64);
        if self.db.wal.write_received(from, &bytes[offset..]).is_err() {
            self.archiver.restore_at = retry;
            return;
        }
        self.db.wal.flush(end);
        self.push_log(format!("LOG:  restored log file \"{file}\" from archive"));
        self.replay_received(now);
        // The next segment may be there too.
        self.archiver.restore_at = now;
        self.run_archiver(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_commands() {
        let file = "000000010000000000000003";
        let p = "pg_wal/000000010000000000000003";
        assert_eq!(
            read_command("cp %p /archive/%f", p, file),
            CopyCommand::Copy {
                from: p.into(),
                to: format!("/archive/{file}"),
                unless_exists: false
            }
        );
        assert_eq!(
            read_command("test ! -f /mnt/a/%f && cp %p /mnt/a/%f", p, file),
            CopyCommand::Copy {
                from: p.into(),
                to: format!("/mnt/a/{file}"),
                unless_exists: true
            }
        );
        assert_eq!(
            read_command("cp '/archive/%f' \"%p\"", "pg_wal/RECOVERYXLOG", file),
            CopyCommand::Copy {
                from: format!("/archive/{file}"),
                to: "pg_wal/RECOVERYXLOG".into(),
                unless_exists: false
            }
        );
        assert_eq!(read_command("cd .", p, file), CopyCommand::Succeed);
        assert_eq!(
            read_command("false", p, file),
            CopyCommand::Fail {
                code: 1,
                stderr: None
            }
        );
        assert_eq!(
            read_command("rsync -a %p backup:/wal/%f", p, file),
            CopyCommand::Fail {
                code: 127,
                stderr: Some("sh: 1: rsync: not found".into())
            }
        );
    }
}
