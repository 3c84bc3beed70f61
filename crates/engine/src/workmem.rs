//! `work_mem` and temporary files: the memory of the executor nodes that must see their whole
//! input (a Sort, a join's inner side, the rows DISTINCT, UNION, INTERSECT and EXCEPT keep, an
//! aggregate's groups and its `count(DISTINCT ...)` values, a window's partition, a
//! materialized CTE, an uncorrelated subquery's rows).
//!
//! As in PostgreSQL, each such node counts the bytes it holds ([`NodeMemory::charge`]). Up to
//! `work_mem` (a hashing node: `work_mem` times `hash_mem_multiplier`) they stay in memory; past it the node
//! spills to a temporary file `base/pgsql_tmp/pgsql_tmpPID.N`, N counting the session's files
//! as PostgreSQL's `tempFileCounter` does. pgplay has no disk, so the file is the bytes the node
//! keeps anyway, but it is counted as PostgreSQL counts files: `temp_file_limit` bounds what a
//! session holds in temporary files at once (`53400`), and when a file is deleted (the node
//! ends, or the statement fails) it is added to `pg_stat_database.temp_files` / `temp_bytes`
//! and, when at least `log_temp_files` kB, logged as `LOG:  temporary file: path "...", size N`
//! with the statement.
//!
//! The hard bound, whatever the settings: the node's temporary files live on a simulated disk
//! of [`DISK_CAPACITY`] bytes; a write past it is PostgreSQL's `could not write to file
//! "...": No space left on device` (`53100`). What the nodes hold in memory is bounded too, by
//! [`MEMORY_CAPACITY`] (`53200 out of memory`), which only a huge `work_mem` can reach. Every
//! structure those nodes grow is charged, so a query that would hold more ends in one of these
//! errors (or in `statement_timeout`), never by exhausting the process.
//!
//! Sizes are what pgplay's structures take (a row is a `Vec` of `Value`s with an allocation
//! header, text its bytes), close to PostgreSQL's own for small rows. The counters are shared
//! (`Arc<Mutex<_>>`) so a node gives its bytes back when dropped, however the statement ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::database::SessionId;
use crate::error::{code, DbError, Result};
use crate::types::Value;

/// The simulated disk's room for temporary files: 256 MB natively, 64 MB in a browser worker
/// (whose WebAssembly memory is 4 GB at most, shared by the whole node, and never shrinks).
pub const DISK_CAPACITY: u64 = if cfg!(target_arch = "wasm32") {
    64 << 20
} else {
    256 << 20
};

/// What the counted nodes may hold in memory at once, all statements of the node together.
pub const MEMORY_CAPACITY: u64 = DISK_CAPACITY;

/// A row's allocation: the `Vec` header where it is kept plus the allocator's header.
const ROW_OVERHEAD: u64 = 24 + 16;

/// Bytes one value takes.
pub fn value_bytes(value: &Value) -> u64 {
    let heap = match value {
        Value::Text(text) => text.len() as u64,
        // A numeric's digits live on the heap: up to 131,072 + 16,383 decimal digits.
        Value::Numeric(crate::types::Numeric::Finite { digits, .. }) => digits.bits().div_ceil(8),
        Value::Array(array) => {
            std::mem::size_of::<crate::types::Array>() as u64
                + array.items.iter().map(value_bytes).sum::<u64>()
        }
        Value::Json(text) => text.len() as u64,
        Value::Jsonb(value) => crate::types::json::size(value),
        _ => 0,
    };
    std::mem::size_of::<Value>() as u64 + heap
}

/// Bytes one row takes where a node keeps it.
pub fn row_bytes(row: &[Value]) -> u64 {
    ROW_OVERHEAD + row.iter().map(value_bytes).sum::<u64>()
}

/// A row kept as a key of a map or set (a tree node's share on top of the row).
pub fn entry_bytes(row: &[Value], value_size: usize) -> u64 {
    row_bytes(row) + 16 + value_size as u64
}

/// What a node used, for EXPLAIN ANALYZE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes held in memory at most (at most the node's limit).
    pub memory: u64,
    /// Bytes written to its temporary file (0: none).
    pub disk: u64,
    /// The node's limit in bytes (work_mem, or hash_mem for a hashing node).
    pub limit: u64,
    /// A bounded sort kept only its best rows in a heap (`top-N heapsort`).
    pub top_n: bool,
    /// The batches a hashing node ran (0: it does not count them).
    pub batches: u64,
}

/// The node's shared counters.
#[derive(Debug)]
pub struct Space {
    memory: u64,
    disk: u64,
    /// The bounds: [`MEMORY_CAPACITY`] and [`DISK_CAPACITY`] unless a test sets smaller.
    memory_capacity: u64,
    disk_capacity: u64,
    /// The most the disk held at once.
    disk_peak: u64,
    /// The most one node held in memory at once (the nodes that never spill aside).
    node_peak: u64,
    by_session: BTreeMap<SessionId, u64>,
    /// Temporary files deleted and not yet reported: session, path, size.
    closed: Vec<(SessionId, String, u64)>,
    /// EXPLAIN ANALYZE's reports, by plan node address, while `reporting`.
    reports: BTreeMap<usize, Usage>,
    reporting: bool,
}

impl Default for Space {
    fn default() -> Space {
        Space {
            memory: 0,
            disk: 0,
            memory_capacity: MEMORY_CAPACITY,
            disk_capacity: DISK_CAPACITY,
            disk_peak: 0,
            node_peak: 0,
            by_session: BTreeMap::new(),
            closed: Vec::new(),
            reports: BTreeMap::new(),
            reporting: false,
        }
    }
}

pub type Shared = Arc<Mutex<Space>>;

/// Smaller bounds (tests show what happens at them without filling 256 MB).
pub fn set_capacity(space: &Shared, memory: u64, disk: u64) {
    let mut space = lock(space);
    space.memory_capacity = memory;
    space.disk_capacity = disk;
}

/// Bytes held now in memory and on the simulated disk, and the most the disk held.
pub fn totals(space: &Shared) -> (u64, u64, u64) {
    let space = lock(space);
    (space.memory, space.disk, space.disk_peak)
}

/// The most one node that may spill held in memory at once, since the last call.
pub fn take_node_peak(space: &Shared) -> u64 {
    std::mem::take(&mut lock(space).node_peak)
}

fn lock(space: &Shared) -> std::sync::MutexGuard<'_, Space> {
    space.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts or ends EXPLAIN ANALYZE's collection of node usage; ending returns it.
pub fn reports(space: &Shared, on: bool) -> BTreeMap<usize, Usage> {
    let mut space = lock(space);
    space.reporting = on;
    std::mem::take(&mut space.reports)
}

/// The temporary files deleted since the last call: (session, path, size).
pub fn take_closed(space: &Shared) -> Vec<(SessionId, String, u64)> {
    std::mem::take(&mut lock(space).closed)
}

/// The settings a node reads when it starts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub session: SessionId,
    pub pid: i32,
    /// Bytes: work_mem.
    pub work_mem: u64,
    /// Bytes: what a hashing node may hold, work_mem times hash_mem_multiplier.
    pub hash_mem: u64,
    /// kB, or None for -1.
    pub temp_file_limit: Option<u64>,
}

/// One node's bytes.
#[derive(Debug)]
pub struct NodeMemory {
    space: Shared,
    limits: Limits,
    limit: u64,
    /// Bytes held in memory, and in the temporary file.
    memory: u64,
    on_disk: u64,
    peak_memory: u64,
    /// The temporary file's path once spilled.
    file: Option<String>,
    key: Option<usize>,
    top_n: bool,
    batches: u64,
}

impl NodeMemory {
    /// `hash`: the node hashes its input (a hash join's inner side, DISTINCT, UNION,
    /// INTERSECT/EXCEPT, grouping), so it may hold `hash_mem_multiplier` times `work_mem`.
    /// `key`: the plan node, for EXPLAIN ANALYZE.
    pub fn new(space: &Shared, limits: Limits, hash: bool, key: Option<usize>) -> NodeMemory {
        let limit = if hash {
            limits.hash_mem
        } else {
            limits.work_mem
        };
        NodeMemory {
            space: space.clone(),
            limits,
            limit,
            memory: 0,
            on_disk: 0,
            peak_memory: 0,
            file: None,
            key,
            top_n: false,
            batches: 0,
        }
    }

    /// For what is not a work_mem node (a statement's result): held in memory whatever its
    /// size, bounded only by the node's memory.
    pub fn never_spill(&mut self) {
        self.limit = u64::MAX;
    }

    /// Bytes held in all.
    pub fn held(&self) -> u64 {
        self.memory + self.on_disk
    }

    /// Whether the node went past its limit to a temporary file.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Counts `bytes` more; past the limit the node spills, and the temporary file grows.
    /// `next_file` numbers the session's next temporary file. A write that does not fit
    /// (temp_file_limit, the disk) is not made: the counters stay as they were.
    pub fn charge(&mut self, bytes: u64, next_file: impl FnOnce() -> u32) -> Result<()> {
        if self.file.is_none() && self.fits(bytes) {
            return self.hold(bytes);
        }
        // What the node held in memory moves to its temporary file with the new bytes.
        let written = self.memory + bytes;
        self.grow_file(written, next_file)?;
        let mut space = lock(&self.space);
        space.memory -= self.memory;
        self.memory = 0;
        Ok(())
    }

    /// Whether `bytes` more fit in the node's memory (a sort writes out a run when not).
    pub fn fits(&self, bytes: u64) -> bool {
        self.memory.saturating_add(bytes) <= self.limit
    }

    /// Holds `bytes` more in memory, whatever the node's limit (a node that spills asks
    /// [`NodeMemory::fits`] first); bounded only by the node's memory (53200).
    pub fn hold(&mut self, bytes: u64) -> Result<()> {
        let mut space = lock(&self.space);
        self.memory += bytes;
        space.memory += bytes;
        self.peak_memory = self.peak_memory.max(self.memory);
        if self.limit != u64::MAX {
            space.node_peak = space.node_peak.max(self.memory);
        }
        if space.memory > space.memory_capacity {
            return Err(
                DbError::new(code::OUT_OF_MEMORY, "out of memory").with_detail(format!(
                    "Failed on request of size {bytes} in memory context \"ExecutorState\"."
                )),
            );
        }
        Ok(())
    }

    /// Gives back `bytes` held in memory.
    pub fn release(&mut self, bytes: u64) {
        let bytes = bytes.min(self.memory);
        self.memory -= bytes;
        lock(&self.space).memory -= bytes;
    }

    /// The node's temporary file now holds `size` bytes. As PostgreSQL's logical tapes
    /// reuse the blocks already read, the file only grows past the most it held before;
    /// growing it is what `temp_file_limit` and the disk bound.
    pub fn file_holds(&mut self, size: u64, next_file: impl FnOnce() -> u32) -> Result<()> {
        if self.file.is_some() && size <= self.on_disk {
            return Ok(());
        }
        self.grow_file(size.saturating_sub(self.on_disk), next_file)
    }

    /// A bounded sort switched to its heap of the best rows.
    pub fn set_top_n(&mut self) {
        self.top_n = true;
    }

    /// A hashing node ran this many batches.
    pub fn set_batches(&mut self, batches: u64) {
        self.batches = batches;
    }

    /// The temporary file grows by `written` bytes (created first if the node has none).
    fn grow_file(&mut self, written: u64, next_file: impl FnOnce() -> u32) -> Result<()> {
        let mut space = lock(&self.space);
        let path = match &self.file {
            Some(path) => path.clone(),
            None => {
                let path = format!(
                    "base/pgsql_tmp/pgsql_tmp{}.{}",
                    self.limits.pid,
                    next_file()
                );
                self.file = Some(path.clone());
                path
            }
        };
        let session_bytes = space
            .by_session
            .get(&self.limits.session)
            .copied()
            .unwrap_or(0)
            + written;
        if let Some(limit) = self.limits.temp_file_limit {
            if session_bytes > limit.saturating_mul(1024) {
                return Err(DbError::new(
                    code::CONFIGURATION_LIMIT_EXCEEDED,
                    format!("temporary file size exceeds temp_file_limit ({limit}kB)"),
                ));
            }
        }
        if space.disk + written > space.disk_capacity {
            return Err(DbError::new(
                code::DISK_FULL,
                format!("could not write to file \"{path}\": No space left on device"),
            ));
        }
        self.on_disk += written;
        space.disk += written;
        space.disk_peak = space.disk_peak.max(space.disk);
        space.by_session.insert(self.limits.session, session_bytes);
        Ok(())
    }

    /// What the node used so far.
    pub fn usage(&self) -> Usage {
        Usage {
            memory: self.peak_memory,
            disk: self.on_disk,
            limit: self.limit,
            top_n: self.top_n,
            batches: self.batches,
        }
    }
}

impl Drop for NodeMemory {
    fn drop(&mut self) {
        let usage = self.usage();
        let mut space = lock(&self.space);
        space.memory -= self.memory;
        if let Some(path) = self.file.take() {
            space.disk -= self.on_disk;
            if let Some(bytes) = space.by_session.get_mut(&self.limits.session) {
                *bytes -= self.on_disk;
                if *bytes == 0 {
                    space.by_session.remove(&self.limits.session);
                }
            }
            space.closed.push((self.limits.session, path, self.on_disk));
        }
        if let (true, Some(key)) = (space.reporting, self.key) {
            let report = space.reports.entry(key).or_default();
            report.memory = report.memory.max(usage.memory);
            report.disk = report.disk.max(usage.disk);
            report.limit = usage.limit;
            report.top_n |= usage.top_n;
            report.batches = report.batches.max(usage.batches);
        }
    }
}
