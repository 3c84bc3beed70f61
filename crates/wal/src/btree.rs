//! The Btree resource manager's records and the page images an index build
//! logs, as PostgreSQL 15's nbtree writes them.
//!
//! An index build writes each finished page whole (`XLOG FPI`, as
//! `_bt_blwritepage` does through `log_newpage`); after that every change is
//! one record naming the page and the offset: `INSERT_LEAF`, `INSERT_UPPER`
//! (a downlink after a split), `SPLIT_L`/`SPLIT_R` (which half the new item
//! went to) and `NEWROOT` (the first leaf of an empty index, or a root split).
//! Offsets are PostgreSQL's: on a page that is not the rightmost of its
//! level, offset 1 is the high key and data starts at 2. The records carry
//! keys as the engine encodes them; this crate never looks inside.

use crate::codec::{Reader, Writer};
use crate::record::RelFileLocator;
use crate::WalError;

/// `P_NONE`: no sibling (block 0 is the meta page, so never a sibling).
pub const P_NONE: u32 = 0;

/// An index tuple: the key and the heap tuple it points at. On an inner
/// page `child` is the downlink and `heap` the pivot's heap TID tiebreaker
/// (PostgreSQL 12's heap TID as a key column); the first data item of an
/// inner page has an empty key, minus infinity.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexTuple {
    pub key: Vec<u8>,
    pub heap_block: u32,
    pub heap_offset: u16,
    pub child: u32,
}

/// The meta page (block 0): where the root is, and (pgplay's addition, PostgreSQL
/// reads it from the catalog) the key columns' types, typmods and DESC flags, so redo
/// and readers can decode keys without the catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BtreeMeta {
    /// `P_NONE` while the index is empty.
    pub root: u32,
    pub level: u32,
    pub key_types: Vec<(u32, i32)>,
    pub descending: Vec<bool>,
}

/// A leaf (level 0) or inner page.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BtreePage {
    pub level: u32,
    pub prev: u32,
    pub next: u32,
    /// Every page but the rightmost of its level has one: the upper bound of its keys.
    pub high_key: Option<IndexTuple>,
    pub items: Vec<IndexTuple>,
}

impl BtreePage {
    /// PostgreSQL's offset number of the data item at `index`.
    pub fn offset_of(&self, index: usize) -> u16 {
        (index + 1 + usize::from(self.high_key.is_some())) as u16
    }

    /// The data item index of PostgreSQL's offset number `offset`.
    pub fn index_of(&self, offset: u16) -> Option<usize> {
        (offset as usize).checked_sub(1 + usize::from(self.high_key.is_some()))
    }
}

/// A whole page as an index build writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageImage {
    BtreeMeta(BtreeMeta),
    Btree(BtreePage),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BtreeRecord {
    InsertLeaf {
        relation: RelFileLocator,
        block: u32,
        offset: u16,
        tuple: IndexTuple,
    },
    /// A downlink to a split's new right page; `child` is the left page.
    InsertUpper {
        relation: RelFileLocator,
        block: u32,
        offset: u16,
        tuple: IndexTuple,
        child: u32,
    },
    /// `left` keeps the items before `first_right` (offsets of the page before the
    /// split); the new item goes in at `new_item_offset`, on the left for
    /// SPLIT_L. `sibling` is the old right neighbour, `child` (inner pages) the
    /// split child whose downlink this is.
    Split {
        relation: RelFileLocator,
        level: u32,
        left: u32,
        right: u32,
        sibling: u32,
        first_right: u16,
        new_item_offset: u16,
        new_item_left: bool,
        new_item: IndexTuple,
        child: u32,
    },
    /// A new root at `root`: the first leaf (`level` 0, no items) or an inner page
    /// with the two halves of the old root (`left_child`).
    NewRoot {
        relation: RelFileLocator,
        root: u32,
        level: u32,
        left_child: u32,
        items: Vec<IndexTuple>,
    },
    /// `XLOG_BTREE_VACUUM`: VACUUM's bulk delete removes the items at these
    /// offsets of a leaf page (they point at heap tuples VACUUM pruned).
    /// PostgreSQL's `nupdated` (posting lists) is always 0 here.
    Vacuum {
        relation: RelFileLocator,
        block: u32,
        deleted: Vec<u16>,
    },
    /// `XLOG_BTREE_DELETE`: simple deletion, items whose heap tuples are
    /// dead to every snapshot, removed from a leaf page outside VACUUM; a
    /// standby's snapshots older than `latest_removed_xid` conflict with it.
    Delete {
        relation: RelFileLocator,
        block: u32,
        latest_removed_xid: u32,
        deleted: Vec<u16>,
    },
}

impl BtreeRecord {
    pub fn info(&self) -> u8 {
        match self {
            BtreeRecord::InsertLeaf { .. } => 0x00,
            BtreeRecord::InsertUpper { .. } => 0x10,
            BtreeRecord::Split {
                new_item_left: true,
                ..
            } => 0x30,
            BtreeRecord::Split { .. } => 0x40,
            BtreeRecord::NewRoot { .. } => 0xA0,
            BtreeRecord::Delete { .. } => 0x70,
            BtreeRecord::Vacuum { .. } => 0xC0,
        }
    }

    pub fn relation(&self) -> &RelFileLocator {
        match self {
            BtreeRecord::InsertLeaf { relation, .. }
            | BtreeRecord::InsertUpper { relation, .. }
            | BtreeRecord::Split { relation, .. }
            | BtreeRecord::NewRoot { relation, .. }
            | BtreeRecord::Vacuum { relation, .. }
            | BtreeRecord::Delete { relation, .. } => relation,
        }
    }

    /// pg_waldump's `desc:`.
    pub fn describe(&self) -> String {
        match self {
            BtreeRecord::InsertLeaf { offset, .. } => format!("INSERT_LEAF off {offset}"),
            BtreeRecord::InsertUpper { offset, .. } => format!("INSERT_UPPER off {offset}"),
            BtreeRecord::Split {
                level,
                first_right,
                new_item_offset,
                new_item_left,
                ..
            } => format!(
                "{} level {level}, firstrightoff {first_right}, newitemoff {new_item_offset}, postingoff 0",
                if *new_item_left { "SPLIT_L" } else { "SPLIT_R" }
            ),
            BtreeRecord::NewRoot { level, .. } => format!("NEWROOT lev {level}"),
            BtreeRecord::Vacuum { deleted, .. } => {
                format!("VACUUM ndeleted {}; nupdated 0", deleted.len())
            }
            BtreeRecord::Delete {
                latest_removed_xid,
                deleted,
                ..
            } => format!(
                "DELETE latestRemovedXid {latest_removed_xid}; ndeleted {}; nupdated 0",
                deleted.len()
            ),
        }
    }

    /// Block references by their block id, as PostgreSQL numbers them.
    pub fn block_references(&self) -> Vec<(u8, u32)> {
        match self {
            BtreeRecord::InsertLeaf { block, .. } => vec![(0, *block)],
            BtreeRecord::InsertUpper { block, child, .. } => vec![(0, *block), (1, *child)],
            BtreeRecord::Split {
                left,
                right,
                sibling,
                child,
                level,
                ..
            } => {
                let mut refs = vec![(0, *left), (1, *right)];
                if *sibling != P_NONE {
                    refs.push((2, *sibling));
                }
                if *level > 0 {
                    refs.push((3, *child));
                }
                refs
            }
            BtreeRecord::NewRoot {
                root,
                level,
                left_child,
                ..
            } => {
                let mut refs = vec![(0, *root)];
                if *level > 0 {
                    refs.push((1, *left_child));
                }
                refs.push((2, 0));
                refs
            }
            BtreeRecord::Vacuum { block, .. } | BtreeRecord::Delete { block, .. } => {
                vec![(0, *block)]
            }
        }
    }
}

pub(crate) fn encode_index_tuple(tuple: &IndexTuple, out: &mut Writer) {
    out.bytes(&tuple.key);
    out.u32(tuple.heap_block);
    out.u16(tuple.heap_offset);
    out.u32(tuple.child);
}

pub(crate) fn decode_index_tuple(input: &mut Reader<'_>) -> Result<IndexTuple, WalError> {
    Ok(IndexTuple {
        key: input.bytes()?,
        heap_block: input.u32()?,
        heap_offset: input.u16()?,
        child: input.u32()?,
    })
}

pub(crate) fn encode_btree(record: &BtreeRecord, out: &mut Writer) {
    out.relation(record.relation());
    match record {
        BtreeRecord::InsertLeaf {
            block,
            offset,
            tuple,
            ..
        } => {
            out.u32(*block);
            out.u16(*offset);
            encode_index_tuple(tuple, out);
        }
        BtreeRecord::InsertUpper {
            block,
            offset,
            tuple,
            child,
            ..
        } => {
            out.u32(*block);
            out.u16(*offset);
            encode_index_tuple(tuple, out);
            out.u32(*child);
        }
        BtreeRecord::Split {
            level,
            left,
            right,
            sibling,
            first_right,
            new_item_offset,
            new_item_left: _,
            new_item,
            child,
            ..
        } => {
            out.u32(*level);
            out.u32(*left);
            out.u32(*right);
            out.u32(*sibling);
            out.u16(*first_right);
            out.u16(*new_item_offset);
            encode_index_tuple(new_item, out);
            out.u32(*child);
        }
        BtreeRecord::NewRoot {
            root,
            level,
            left_child,
            items,
            ..
        } => {
            out.u32(*root);
            out.u32(*level);
            out.u32(*left_child);
            out.u32(items.len() as u32);
            items.iter().for_each(|t| encode_index_tuple(t, out));
        }
        BtreeRecord::Vacuum { block, deleted, .. } => {
            out.u32(*block);
            encode_offsets(deleted, out);
        }
        BtreeRecord::Delete {
            block,
            latest_removed_xid,
            deleted,
            ..
        } => {
            out.u32(*block);
            out.u32(*latest_removed_xid);
            encode_offsets(deleted, out);
        }
    }
}

fn encode_offsets(offsets: &[u16], out: &mut Writer) {
    out.u32(offsets.len() as u32);
    offsets.iter().for_each(|o| out.u16(*o));
}

fn decode_offsets(input: &mut Reader<'_>) -> Result<Vec<u16>, WalError> {
    let count = input.u32()? as usize;
    (0..count.min(8192)).map(|_| input.u16()).collect()
}

pub(crate) fn decode_btree(info: u8, input: &mut Reader<'_>) -> Result<BtreeRecord, WalError> {
    let relation = input.relation()?;
    Ok(match info {
        0x00 => BtreeRecord::InsertLeaf {
            relation,
            block: input.u32()?,
            offset: input.u16()?,
            tuple: decode_index_tuple(input)?,
        },
        0x10 => BtreeRecord::InsertUpper {
            relation,
            block: input.u32()?,
            offset: input.u16()?,
            tuple: decode_index_tuple(input)?,
            child: input.u32()?,
        },
        0x30 | 0x40 => BtreeRecord::Split {
            relation,
            level: input.u32()?,
            left: input.u32()?,
            right: input.u32()?,
            sibling: input.u32()?,
            first_right: input.u16()?,
            new_item_offset: input.u16()?,
            new_item_left: info == 0x30,
            new_item: decode_index_tuple(input)?,
            child: input.u32()?,
        },
        0xA0 => {
            let root = input.u32()?;
            let level = input.u32()?;
            let left_child = input.u32()?;
            let count = input.u32()? as usize;
            let items = (0..count.min(1024))
                .map(|_| decode_index_tuple(input))
                .collect::<Result<Vec<_>, _>>()?;
            BtreeRecord::NewRoot {
                relation,
                root,
                level,
                left_child,
                items,
            }
        }
        0xC0 => BtreeRecord::Vacuum {
            relation,
            block: input.u32()?,
            deleted: decode_offsets(input)?,
        },
        0x70 => BtreeRecord::Delete {
            relation,
            block: input.u32()?,
            latest_removed_xid: input.u32()?,
            deleted: decode_offsets(input)?,
        },
        _ => return Err(WalError::Truncated),
    })
}

pub(crate) fn encode_page_image(image: &PageImage, out: &mut Writer) {
    match image {
        PageImage::BtreeMeta(meta) => {
            out.u8(0);
            out.u32(meta.root);
            out.u32(meta.level);
            out.u32(meta.key_types.len() as u32);
            for ((oid, typmod), desc) in meta.key_types.iter().zip(&meta.descending) {
                out.u32(*oid);
                out.u32(*typmod as u32);
                out.bool(*desc);
            }
        }
        PageImage::Btree(page) => {
            out.u8(1);
            out.u32(page.level);
            out.u32(page.prev);
            out.u32(page.next);
            out.bool(page.high_key.is_some());
            if let Some(high) = &page.high_key {
                encode_index_tuple(high, out);
            }
            out.u32(page.items.len() as u32);
            page.items.iter().for_each(|t| encode_index_tuple(t, out));
        }
    }
}

pub(crate) fn decode_page_image(input: &mut Reader<'_>) -> Result<PageImage, WalError> {
    Ok(match input.u8()? {
        0 => {
            let root = input.u32()?;
            let level = input.u32()?;
            let count = input.u32()? as usize;
            let mut meta = BtreeMeta {
                root,
                level,
                ..BtreeMeta::default()
            };
            for _ in 0..count.min(32) {
                meta.key_types.push((input.u32()?, input.u32()? as i32));
                meta.descending.push(input.bool()?);
            }
            PageImage::BtreeMeta(meta)
        }
        1 => {
            let level = input.u32()?;
            let prev = input.u32()?;
            let next = input.u32()?;
            let high_key = if input.bool()? {
                Some(decode_index_tuple(input)?)
            } else {
                None
            };
            let count = input.u32()? as usize;
            let items = (0..count.min(8192))
                .map(|_| decode_index_tuple(input))
                .collect::<Result<Vec<_>, _>>()?;
            PageImage::Btree(BtreePage {
                level,
                prev,
                next,
                high_key,
                items,
            })
        }
        _ => return Err(WalError::Truncated),
    })
}
