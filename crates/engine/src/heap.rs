//! Heap relations: pages of tuples at (block, offset), changed only by redo.
//!
//! A page here is a struct, not 8 kB of bytes, but it keeps PostgreSQL's space
//! accounting (24-byte page header, 4-byte line pointers, MAXALIGNed tuples
//! with a 23-byte header), so blocks fill and tuples get the same offsets a
//! real server would give them. Every change to a page goes through
//! [`crate::redo`], on the primary as on a standby, so equal WAL means equal pages.

use std::collections::BTreeMap;

use pgplay_wal::{Lsn, RelFileLocator, Xid};

pub const PAGE_SIZE: usize = 8192;
const PAGE_HEADER_SIZE: usize = 24;
const LINE_POINTER_SIZE: usize = 4;
const TUPLE_HEADER_SIZE: usize = 23;

fn maxalign(length: usize) -> usize {
    (length + 7) & !7
}

/// A tuple's address.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ItemPointer {
    pub block: u32,
    /// 1-based, as in PostgreSQL.
    pub offset: u16,
}

impl std::fmt::Display for ItemPointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({},{})", self.block, self.offset)
    }
}

/// One tuple version with its MVCC header.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeapTuple {
    pub xmin: Xid,
    /// 0 while no transaction has deleted or updated this version.
    pub xmax: Xid,
    pub cmin: u32,
    pub cmax: u32,
    /// Points at itself, or at the newer version after an update.
    pub ctid: ItemPointer,
    pub natts: u16,
    pub data: Vec<u8>,
    /// PostgreSQL's HEAP_HOT_UPDATED: replaced by a heap-only version on the
    /// same page (`ctid`), reached only through this one.
    #[serde(default)]
    pub hot_updated: bool,
    /// PostgreSQL's HEAP_ONLY_TUPLE: a HOT update's new version, which no
    /// index points at; VACUUM may only remove it through its chain's root.
    #[serde(default)]
    pub heap_only: bool,
    /// xmin frozen by VACUUM FREEZE: visible to every snapshot, so the
    /// commit log need not remember the xid.
    #[serde(default)]
    pub frozen: bool,
}

/// A line pointer (PostgreSQL's `ItemIdData`): a tuple, or what pruning
/// left in its place. Its offset stays taken until VACUUM marks it unused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinePointer {
    Normal(HeapTuple),
    /// A pruned HOT chain's root, pointing at the chain's first live member.
    Redirect(u16),
    /// A removed tuple whose index entries may still point here.
    Dead,
    /// Free for a new tuple.
    Unused,
}

impl LinePointer {
    pub fn tuple(&self) -> Option<&HeapTuple> {
        match self {
            LinePointer::Normal(tuple) => Some(tuple),
            _ => None,
        }
    }

    fn stored_size(&self) -> usize {
        self.tuple().map_or(0, HeapTuple::stored_size)
    }
}

impl HeapTuple {
    /// Bytes the tuple takes on a page, line pointer excluded.
    pub fn stored_size(&self) -> usize {
        let bitmap = if self.data.first() == Some(&1) {
            self.natts.div_ceil(8) as usize
        } else {
            0
        };
        maxalign(TUPLE_HEADER_SIZE + bitmap) + maxalign(self.data.len().saturating_sub(1))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Page {
    /// LSN of the last record applied to this page.
    pub lsn: Lsn,
    /// Line pointers; index 0 is offset 1.
    pub items: Vec<LinePointer>,
    /// PD_ALL_VISIBLE and the visibility map's bits for this page, set by
    /// VACUUM (a VISIBLE record), cleared by any change to the page.
    #[serde(default)]
    pub all_visible: bool,
    #[serde(default)]
    pub all_frozen: bool,
}

impl Page {
    fn used_bytes(&self) -> usize {
        PAGE_HEADER_SIZE
            + self
                .items
                .iter()
                .map(|item| LINE_POINTER_SIZE + item.stored_size())
                .sum::<usize>()
    }

    pub fn free_space(&self) -> usize {
        PAGE_SIZE.saturating_sub(self.used_bytes())
    }

    pub fn fits(&self, tuple: &HeapTuple) -> bool {
        let pointer = if self.first_unused().is_some() {
            0
        } else {
            LINE_POINTER_SIZE
        };
        self.free_space() >= pointer + tuple.stored_size()
    }

    fn first_unused(&self) -> Option<u16> {
        self.items
            .iter()
            .position(|item| *item == LinePointer::Unused)
            .map(|index| index as u16 + 1)
    }

    /// Where a new tuple goes on this page: the first unused line pointer,
    /// as PostgreSQL's PageAddItem takes it, else a new one at the end.
    pub fn next_offset(&self) -> u16 {
        self.first_unused().unwrap_or(self.items.len() as u16 + 1)
    }

    pub fn get(&self, offset: u16) -> Option<&HeapTuple> {
        self.items.get(offset.checked_sub(1)? as usize)?.tuple()
    }

    pub fn get_mut(&mut self, offset: u16) -> Option<&mut HeapTuple> {
        match self.items.get_mut(offset.checked_sub(1)? as usize)? {
            LinePointer::Normal(tuple) => Some(tuple),
            _ => None,
        }
    }

    /// Tuples on the page (line pointers that hold one).
    pub fn tuple_count(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.tuple().is_some())
            .count()
    }

    /// Every tuple on the page with its offset.
    pub fn tuples(&self) -> impl Iterator<Item = (u16, &HeapTuple)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| Some((index as u16 + 1, item.tuple()?)))
    }
}

/// The pages of one relation file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    pub pages: Vec<Page>,
}

impl Relation {
    /// Where a new tuple goes: the last page if it fits, else a new page.
    /// Returns (block, offset, whether the page is new).
    pub fn placement(&self, tuple: &HeapTuple) -> (u32, u16, bool) {
        match self.pages.last() {
            Some(page) if page.fits(tuple) => {
                ((self.pages.len() - 1) as u32, page.next_offset(), false)
            }
            _ => (self.pages.len() as u32, 1, true),
        }
    }

    pub fn tuple(&self, pointer: ItemPointer) -> Option<&HeapTuple> {
        self.pages.get(pointer.block as usize)?.get(pointer.offset)
    }

    /// Where a pruned HOT chain's root now leads: the offset of its first
    /// surviving member, if the line pointer at `pointer` is a redirect.
    pub fn redirect(&self, pointer: ItemPointer) -> Option<u16> {
        let page = self.pages.get(pointer.block as usize)?;
        match page.items.get(pointer.offset.checked_sub(1)? as usize)? {
            LinePointer::Redirect(to) => Some(*to),
            _ => None,
        }
    }

    /// Every tuple version with its address, in physical order.
    pub fn tuples(&self) -> impl Iterator<Item = (ItemPointer, &HeapTuple)> {
        self.pages.iter().enumerate().flat_map(|(block, page)| {
            page.tuples().map(move |(offset, tuple)| {
                (
                    ItemPointer {
                        block: block as u32,
                        offset,
                    },
                    tuple,
                )
            })
        })
    }
}

/// Sequence state, kept in the sequence's own relation file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SequenceState {
    pub last_value: i64,
    pub log_cnt: i64,
    pub is_called: bool,
    pub lsn: Lsn,
}

/// All relation files of one server, by relfilenode.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Storage {
    pub relations: BTreeMap<RelFileLocator, Relation>,
    pub sequences: BTreeMap<RelFileLocator, SequenceState>,
    /// B-tree index relations ([`crate::btree`]).
    #[serde(default)]
    pub indexes: crate::btree::Indexes,
    /// Relations with an init fork: unlogged tables, their indexes and sequences. Their
    /// changes are not written to the WAL; a crash, a base backup and the end of recovery
    /// leave them empty.
    #[serde(default)]
    pub unlogged: std::collections::BTreeSet<RelFileLocator>,
    /// The last of the LSNs unlogged pages are stamped with (PostgreSQL's fake LSNs for
    /// unlogged relations): each change gets a higher one, so none is taken for a repeat.
    #[serde(default)]
    pub unlogged_lsn: Lsn,
}

impl Storage {
    pub fn relation(&self, locator: &RelFileLocator) -> Option<&Relation> {
        self.relations.get(locator)
    }

    /// Where a new tuple version goes: `preferred` block (an updated tuple's
    /// own page, for a HOT update) if it fits, else as [`Relation::placement`].
    pub fn placement(
        &self,
        locator: &RelFileLocator,
        tuple: &HeapTuple,
        preferred: Option<u32>,
    ) -> (u32, u16, bool) {
        let Some(relation) = self.relations.get(locator) else {
            return (0, 1, true);
        };
        let preferred_page =
            preferred.and_then(|block| Some((block, relation.pages.get(block as usize)?)));
        match preferred_page {
            Some((block, page)) if page.fits(tuple) => (block, page.next_offset(), false),
            _ => relation.placement(tuple),
        }
    }
}
