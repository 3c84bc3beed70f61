//! B-tree indexes as pages, in the spirit of PostgreSQL's nbtree: a meta page
//! (block 0) naming the root, leaf pages (level 0) of index tuples pointing at
//! heap tuples, inner pages of downlinks, each page but the rightmost of its
//! level bounded by a high key, siblings linked both ways. Pages keep
//! PostgreSQL's space accounting (24-byte page header, 16-byte special space,
//! 4-byte line pointers, MAXALIGNed 8-byte-header index tuples), so a page of
//! int4 keys holds 407 items and splits where PostgreSQL's would.
//!
//! As for the heap, every change goes through [`crate::redo`]: this module
//! computes, on the primary, the next record an insertion needs
//! ([`next_insert_step`]), and applies records ([`redo`], [`redo_fpi`]) on
//! the primary, a standby and in crash recovery alike. Items are ordered by
//! key, then heap TID (PostgreSQL 12's heapkeyspace), so equal WAL gives
//! equal pages. Readers ([`Cursor`]) decode keys with the types the meta
//! page records.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use pgplay_wal::btree::{BtreeMeta, BtreePage, BtreeRecord, IndexTuple, PageImage, P_NONE};
use pgplay_wal::{Lsn, RelFileLocator};

use crate::error::{DbError, Result};
use crate::heap::{ItemPointer, PAGE_SIZE};
use crate::types::{compare, DataType, Value};

const PAGE_HEADER_SIZE: usize = 24;
/// `BTPageOpaqueData`.
const SPECIAL_SIZE: usize = 16;
const LINE_POINTER_SIZE: usize = 4;
const INDEX_TUPLE_HEADER: usize = 8;
/// Usable bytes on an index page.
const USABLE: usize = PAGE_SIZE - PAGE_HEADER_SIZE - SPECIAL_SIZE;
/// `BTREE_DEFAULT_FILLFACTOR` and `BTREE_NONLEAF_FILLFACTOR`: how full a
/// rightmost page's left half stays when it splits (ascending inserts) and
/// how full an index build fills pages.
const LEAF_FILLFACTOR: usize = 90;
const NONLEAF_FILLFACTOR: usize = 70;

/// Bytes an index tuple takes on a page, line pointer included.
pub fn item_size(tuple: &IndexTuple) -> usize {
    let payload = tuple.key.len().saturating_sub(1);
    LINE_POINTER_SIZE + ((INDEX_TUPLE_HEADER + payload + 7) & !7)
}

fn used(page: &BtreePage) -> usize {
    page.items.iter().map(item_size).sum::<usize>() + page.high_key.as_ref().map_or(0, item_size)
}

/// A page and the LSN of the last record applied to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexPage {
    pub lsn: Lsn,
    pub page: BtreePage,
}

/// One index relation: its meta page and its pages by block number (block 0,
/// the meta page, is `meta`; `pages[0]` is unused).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BtreeIndex {
    pub meta: BtreeMeta,
    pub meta_lsn: Lsn,
    pub pages: Vec<IndexPage>,
}

/// Every index of a server, by relfilenode.
pub type Indexes = BTreeMap<RelFileLocator, BtreeIndex>;

impl BtreeIndex {
    pub fn types(&self) -> Vec<DataType> {
        self.meta
            .key_types
            .iter()
            .map(|(oid, typmod)| DataType::from_oid(*oid, *typmod).unwrap_or(DataType::Text))
            .collect()
    }

    /// Blocks, the meta page included, as `pg_relation_size` counts them.
    pub fn blocks(&self) -> usize {
        self.pages.len().max(1)
    }

    fn page(&self, block: u32) -> Result<&BtreePage> {
        self.pages
            .get(block as usize)
            .filter(|_| block != 0)
            .map(|p| &p.page)
            .ok_or_else(|| DbError::internal(format!("index block {block} out of range")))
    }
}

/// Orders keys as the index does: column by column, NULLs last (first when
/// DESC), then by heap TID.
pub struct Comparator {
    types: Vec<DataType>,
    descending: Vec<bool>,
}

impl Comparator {
    pub fn new(index: &BtreeIndex) -> Comparator {
        Comparator {
            types: index.types(),
            descending: index.meta.descending.clone(),
        }
    }

    pub fn decode(&self, tuple: &IndexTuple) -> Result<Vec<Value>> {
        if tuple.key.is_empty() {
            return Ok(Vec::new());
        }
        crate::tuple::decode(&tuple.key, &self.types)
    }

    /// Compares the first `values.len()` key columns of `key` with `values`.
    fn compare_prefix(&self, key: &[Value], values: &[Value]) -> Ordering {
        for (index, (a, b)) in key.iter().zip(values).enumerate() {
            let ordering = compare(a, b);
            let ordering = if self.descending.get(index) == Some(&true) {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }

    /// The full order: keys, then heap TIDs. An empty key (an inner page's
    /// first item) is minus infinity.
    fn compare_tuples(
        &self,
        a: &IndexTuple,
        a_key: &[Value],
        b_key: &[Value],
        b: &IndexTuple,
    ) -> Ordering {
        if a.key.is_empty() {
            return Ordering::Less;
        }
        self.compare_prefix(a_key, b_key)
            .then((a.heap_block, a.heap_offset).cmp(&(b.heap_block, b.heap_offset)))
    }
}

pub fn tuple_for(key: Vec<u8>, at: ItemPointer) -> IndexTuple {
    IndexTuple {
        key,
        heap_block: at.block,
        heap_offset: at.offset,
        child: 0,
    }
}

/// What an index build writes: each page whole, leaves first, the meta page last.
pub fn build_images(meta: BtreeMeta, mut entries: Vec<IndexTuple>) -> Vec<(u32, PageImage)> {
    let mut images = Vec::new();
    let mut meta = meta;
    if entries.is_empty() {
        meta.root = P_NONE;
        meta.level = 0;
        images.push((0, PageImage::BtreeMeta(meta)));
        return images;
    }
    let mut next_block = 1u32;
    let mut level = 0u32;
    loop {
        let fill = if level == 0 {
            LEAF_FILLFACTOR
        } else {
            NONLEAF_FILLFACTOR
        };
        // `_bt_buildadd`: a page is full when less than (100 - fillfactor)% of it would stay free.
        let reserve = PAGE_SIZE * (100 - fill) / 100;
        // Pages of this level: consecutive runs of entries.
        let mut runs: Vec<Vec<IndexTuple>> = vec![Vec::new()];
        let mut size = 0;
        for entry in entries {
            let s = item_size(&entry);
            let current = runs.last_mut().expect("one run");
            if !current.is_empty() && USABLE.saturating_sub(size + s) < reserve {
                runs.push(Vec::new());
                size = 0;
            }
            size += s;
            runs.last_mut().expect("one run").push(entry);
        }
        let first = next_block;
        let count = runs.len() as u32;
        let mut uplinks = Vec::new();
        for (i, mut items) in runs.iter().cloned().enumerate() {
            let block = first + i as u32;
            let high_key = runs.get(i + 1).map(|next| pivot(&next[0]));
            if level > 0 && i > 0 {
                minus_infinity(&mut items[0]);
            }
            let mut downlink = pivot(&runs[i][0]);
            downlink.child = block;
            if i == 0 {
                minus_infinity(&mut downlink);
            }
            uplinks.push(downlink);
            images.push((
                block,
                PageImage::Btree(BtreePage {
                    level,
                    prev: if i == 0 { P_NONE } else { block - 1 },
                    next: if i + 1 == runs.len() {
                        P_NONE
                    } else {
                        block + 1
                    },
                    high_key,
                    items,
                }),
            ));
        }
        next_block += count;
        if count == 1 {
            meta.root = first;
            meta.level = level;
            break;
        }
        entries = uplinks;
        level += 1;
    }
    images.push((0, PageImage::BtreeMeta(meta)));
    images
}

/// The separator a page boundary gets: the first right item's key and heap TID.
fn pivot(tuple: &IndexTuple) -> IndexTuple {
    IndexTuple {
        child: 0,
        ..tuple.clone()
    }
}

fn minus_infinity(tuple: &mut IndexTuple) {
    tuple.key.clear();
    tuple.heap_block = 0;
    tuple.heap_offset = 0;
}

/// An insertion in progress: a tuple to put at `level`, after (for an inner
/// level) the split of `child`.
#[derive(Clone, Debug)]
pub struct Pending {
    pub level: u32,
    pub tuple: IndexTuple,
    pub child: u32,
    /// Blocks from the root down to the leaf, found when the insertion began.
    pub path: Vec<u32>,
}

/// Starts inserting `tuple`: the NEWROOT an empty index needs first, or none.
pub fn begin_insert(
    index: &BtreeIndex,
    relation: RelFileLocator,
    tuple: IndexTuple,
) -> Result<(Option<BtreeRecord>, Pending)> {
    // An empty index (PostgreSQL's build leaves only the meta page) gets its first leaf,
    // which is also the root, before the first key.
    let first_root = (index.meta.root == P_NONE).then(|| BtreeRecord::NewRoot {
        relation,
        root: index.pages.len().max(1) as u32,
        level: 0,
        left_child: P_NONE,
        items: Vec::new(),
    });
    let pending = Pending {
        level: 0,
        tuple,
        child: 0,
        path: Vec::new(),
    };
    Ok((first_root, pending))
}

/// The next record of an insertion, and what remains to do after it.
pub fn next_insert_step(
    index: &BtreeIndex,
    relation: RelFileLocator,
    mut pending: Pending,
) -> Result<(BtreeRecord, Option<Pending>)> {
    let cmp = Comparator::new(index);
    let new_key = cmp.decode(&pending.tuple)?;
    if pending.path.is_empty() {
        pending.path = descend(index, &cmp, &pending.tuple, &new_key)?;
    }
    let depth = pending.path.len();
    let at = depth
        .checked_sub(1 + pending.level as usize)
        .ok_or_else(|| DbError::internal("btree path too short"))?;
    let block = pending.path[at];
    let page = index.page(block)?;
    let position = partition(&page.items, |item| {
        let key = cmp.decode(item)?;
        Ok(cmp.compare_tuples(item, &key, &new_key, &pending.tuple) == Ordering::Greater)
    })?;
    let offset = page.offset_of(position);
    if used(page) + item_size(&pending.tuple) <= USABLE {
        let record = if pending.level == 0 {
            BtreeRecord::InsertLeaf {
                relation,
                block,
                offset,
                tuple: pending.tuple,
            }
        } else {
            BtreeRecord::InsertUpper {
                relation,
                block,
                offset,
                tuple: pending.tuple,
                child: pending.child,
            }
        };
        return Ok((record, None));
    }
    // Split: the items with the new one, cut where the left half is full enough.
    let mut combined = page.items.clone();
    combined.insert(position, pending.tuple.clone());
    let total: usize = combined.iter().map(item_size).sum();
    let rightmost = page.next == P_NONE;
    let target = if rightmost {
        let fill = if page.level == 0 {
            LEAF_FILLFACTOR
        } else {
            NONLEAF_FILLFACTOR
        };
        USABLE * fill / 100
    } else {
        total / 2
    };
    let mut left_size = 0;
    let mut k = combined.len() - 1;
    for (i, item) in combined.iter().enumerate() {
        left_size += item_size(item);
        let high = combined.get(i + 1).map_or(0, item_size);
        if left_size + high >= target {
            k = i + 1;
            break;
        }
    }
    let k = k.clamp(1, combined.len() - 1);
    let new_item_left = position < k;
    let first_right = if new_item_left {
        page.offset_of(k - 1)
    } else {
        page.offset_of(k)
    };
    let right = index.pages.len() as u32;
    let record = BtreeRecord::Split {
        relation,
        level: page.level,
        left: block,
        right,
        sibling: page.next,
        first_right,
        new_item_offset: offset,
        new_item_left,
        new_item: pending.tuple.clone(),
        child: pending.child,
    };
    let mut downlink = pivot(&combined[k]);
    downlink.child = right;
    if at == 0 {
        // The root split: a NEWROOT above both halves comes next (no path: see `as_new_root`).
        return Ok((
            record,
            Some(Pending {
                level: page.level + 1,
                tuple: downlink,
                child: block,
                path: Vec::new(),
            }),
        ));
    }
    Ok((
        record,
        Some(Pending {
            level: pending.level + 1,
            tuple: downlink,
            child: block,
            path: pending.path,
        }),
    ))
}

/// A pending step that is a root split's NEWROOT (no path, the left child set).
pub fn as_new_root(
    index: &BtreeIndex,
    relation: RelFileLocator,
    pending: &Pending,
) -> Option<BtreeRecord> {
    if !pending.path.is_empty() || pending.level == 0 {
        return None;
    }
    let mut first = IndexTuple {
        child: pending.child,
        ..IndexTuple::default()
    };
    minus_infinity(&mut first);
    Some(BtreeRecord::NewRoot {
        relation,
        root: index.pages.len() as u32,
        level: pending.level,
        left_child: pending.child,
        items: vec![first, pending.tuple.clone()],
    })
}

/// Blocks from the root to the leaf where `tuple` belongs.
fn descend(
    index: &BtreeIndex,
    cmp: &Comparator,
    tuple: &IndexTuple,
    key: &[Value],
) -> Result<Vec<u32>> {
    let mut path = Vec::new();
    let mut block = index.meta.root;
    for _ in 0..64 {
        path.push(block);
        let page = index.page(block)?;
        if page.level == 0 {
            return Ok(path);
        }
        if page.items.is_empty() {
            return Err(DbError::internal("empty inner btree page"));
        }
        // The last item not above the tuple (the first, minus infinity, never is).
        let after = 1 + partition(&page.items[1..], |item| {
            let item_key = cmp.decode(item)?;
            Ok(cmp.compare_tuples(item, &item_key, key, tuple) == Ordering::Greater)
        })?;
        block = page.items[after - 1].child;
    }
    Err(DbError::internal("btree deeper than 64 levels"))
}

/// The first position where `above` holds, `above` being false then true along `items`
/// (a binary search, as `_bt_binsrch` does).
fn partition(
    items: &[IndexTuple],
    mut above: impl FnMut(&IndexTuple) -> Result<bool>,
) -> Result<usize> {
    let (mut low, mut high) = (0, items.len());
    while low < high {
        let middle = (low + high) / 2;
        if above(&items[middle])? {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(low)
}

/// A page image from an index build.
pub fn redo_fpi(
    indexes: &mut Indexes,
    lsn: Lsn,
    relation: RelFileLocator,
    block: u32,
    image: &PageImage,
) {
    let index = indexes.entry(relation).or_default();
    match image {
        PageImage::BtreeMeta(meta) => {
            index.meta = meta.clone();
            index.meta_lsn = lsn;
        }
        PageImage::Btree(page) => {
            let at = block as usize;
            if index.pages.len() <= at {
                index.pages.resize(at + 1, IndexPage::default());
            }
            index.pages[at] = IndexPage {
                lsn,
                page: page.clone(),
            };
        }
    }
}

fn page_mut(index: &mut BtreeIndex, block: u32) -> Result<&mut IndexPage> {
    if block == 0 {
        return Err(DbError::internal("btree record names the meta page"));
    }
    index.pages.get_mut(block as usize).ok_or_else(|| {
        DbError::internal(format!(
            "WAL contains references to invalid pages: btree blk {block}"
        ))
    })
}

/// Applies one Btree record.
pub fn redo(indexes: &mut Indexes, lsn: Lsn, record: &BtreeRecord) -> Result<()> {
    let index = indexes.get_mut(record.relation()).ok_or_else(|| {
        DbError::internal(format!(
            "WAL contains references to invalid pages: rel {}",
            record.relation()
        ))
    })?;
    match record {
        BtreeRecord::InsertLeaf {
            block,
            offset,
            tuple,
            ..
        }
        | BtreeRecord::InsertUpper {
            block,
            offset,
            tuple,
            ..
        } => {
            let page = page_mut(index, *block)?;
            if page.lsn >= lsn {
                return Ok(());
            }
            let at = page
                .page
                .index_of(*offset)
                .filter(|at| *at <= page.page.items.len())
                .ok_or_else(|| DbError::internal(format!("invalid btree offset {offset}")))?;
            page.page.items.insert(at, tuple.clone());
            page.lsn = lsn;
        }
        BtreeRecord::Split {
            level,
            left,
            right,
            sibling,
            first_right,
            new_item_offset,
            new_item_left,
            new_item,
            ..
        } => {
            let left_page = page_mut(index, *left)?;
            if left_page.lsn >= lsn {
                return Ok(());
            }
            let old = left_page.page.clone();
            let position = old
                .index_of(*new_item_offset)
                .filter(|at| *at <= old.items.len())
                .ok_or_else(|| DbError::internal("invalid btree split offset"))?;
            let mut combined = old.items.clone();
            combined.insert(position, new_item.clone());
            let k = old
                .index_of(*first_right)
                .map(|i| i + usize::from(*new_item_left))
                .filter(|k| *k >= 1 && *k < combined.len())
                .ok_or_else(|| DbError::internal("invalid btree split point"))?;
            let mut right_items = combined.split_off(k);
            let high = pivot(&right_items[0]);
            if *level > 0 {
                minus_infinity(&mut right_items[0]);
            }
            left_page.page.items = combined;
            left_page.page.high_key = Some(high);
            left_page.page.next = *right;
            left_page.lsn = lsn;
            let right_page = IndexPage {
                lsn,
                page: BtreePage {
                    level: *level,
                    prev: *left,
                    next: *sibling,
                    high_key: old.high_key.clone(),
                    items: right_items,
                },
            };
            let at = *right as usize;
            if index.pages.len() <= at {
                index.pages.resize(at + 1, IndexPage::default());
            }
            index.pages[at] = right_page;
            if *sibling != P_NONE {
                let sibling_page = page_mut(index, *sibling)?;
                if sibling_page.lsn < lsn {
                    sibling_page.page.prev = *right;
                    sibling_page.lsn = lsn;
                }
            }
        }
        BtreeRecord::NewRoot {
            root, level, items, ..
        } => {
            if index.meta_lsn >= lsn {
                return Ok(());
            }
            let at = *root as usize;
            if index.pages.len() <= at {
                index.pages.resize(at + 1, IndexPage::default());
            }
            index.pages[at] = IndexPage {
                lsn,
                page: BtreePage {
                    level: *level,
                    prev: P_NONE,
                    next: P_NONE,
                    high_key: None,
                    items: items.clone(),
                },
            };
            index.meta.root = *root;
            index.meta.level = *level;
            index.meta_lsn = lsn;
        }
        BtreeRecord::Vacuum { block, deleted, .. } | BtreeRecord::Delete { block, deleted, .. } => {
            let page = page_mut(index, *block)?;
            if page.lsn >= lsn {
                return Ok(());
            }
            if page.page.level != 0 {
                return Err(DbError::internal(format!(
                    "btree deletion on inner page {block}"
                )));
            }
            let mut remove = Vec::with_capacity(deleted.len());
            for offset in deleted {
                let at = page
                    .page
                    .index_of(*offset)
                    .filter(|at| *at < page.page.items.len())
                    .ok_or_else(|| DbError::internal(format!("invalid btree offset {offset}")))?;
                remove.push(at);
            }
            remove.sort_unstable();
            remove.dedup();
            for at in remove.into_iter().rev() {
                page.page.items.remove(at);
            }
            page.lsn = lsn;
        }
    }
    Ok(())
}

/// VACUUM's bulk delete of one index (PostgreSQL's `btbulkdelete`): each
/// leaf page, in block order as `btvacuumscan` reads them, with the offsets
/// of its items whose heap TID `dead` holds. One `XLOG_BTREE_VACUUM` record
/// per page that has any. Items keep their place in the key order, so
/// removing them needs no change to inner pages; an emptied leaf page stays
/// (pgplay does not delete pages).
pub fn bulk_delete(
    index: &BtreeIndex,
    relation: RelFileLocator,
    dead: &std::collections::BTreeSet<(u32, u16)>,
) -> Vec<BtreeRecord> {
    let mut records = Vec::new();
    for (block, page) in index.pages.iter().enumerate().skip(1) {
        if page.page.level != 0 {
            continue;
        }
        let deleted: Vec<u16> = page
            .page
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| dead.contains(&(item.heap_block, item.heap_offset)))
            .map(|(at, _)| page.page.offset_of(at))
            .collect();
        if !deleted.is_empty() {
            records.push(BtreeRecord::Vacuum {
                relation,
                block: block as u32,
                deleted,
            });
        }
    }
    records
}

/// A forward walk over the leaf items from a starting point.
pub struct Cursor {
    pub block: u32,
    pub item: usize,
}

impl Cursor {
    /// At the first leaf item whose leading columns are `>= lower` (all items when `lower` is empty).
    pub fn seek(index: &BtreeIndex, lower: &[Value]) -> Result<Option<Cursor>> {
        if index.meta.root == P_NONE {
            return Ok(None);
        }
        let cmp = Comparator::new(index);
        let mut block = index.meta.root;
        for _ in 0..64 {
            let page = index.page(block)?;
            if page.level == 0 {
                let item = partition(&page.items, |tuple| {
                    Ok(cmp.compare_prefix(&cmp.decode(tuple)?, lower) != Ordering::Less)
                })?;
                return Ok(Some(Cursor { block, item }));
            }
            if page.items.is_empty() {
                return Err(DbError::internal("empty inner btree page"));
            }
            // The last child whose separator is below `lower`: equal keys may start there.
            let after = 1 + partition(&page.items[1..], |tuple| {
                Ok(cmp.compare_prefix(&cmp.decode(tuple)?, lower) != Ordering::Less)
            })?;
            block = page.items[after - 1].child;
        }
        Err(DbError::internal("btree deeper than 64 levels"))
    }

    /// The next leaf item, moving right across pages.
    pub fn next<'i>(&mut self, index: &'i BtreeIndex) -> Result<Option<&'i IndexTuple>> {
        loop {
            let page = index.page(self.block)?;
            if let Some(tuple) = page.items.get(self.item) {
                self.item += 1;
                return Ok(Some(tuple));
            }
            if page.next == P_NONE {
                return Ok(None);
            }
            self.block = page.next;
            self.item = 0;
        }
    }
}

/// Heap TIDs of the items whose key columns equal `key`.
pub fn lookup(index: &BtreeIndex, key: &[Value]) -> Result<Vec<ItemPointer>> {
    let Some(mut cursor) = Cursor::seek(index, key)? else {
        return Ok(Vec::new());
    };
    let cmp = Comparator::new(index);
    let mut found = Vec::new();
    while let Some(tuple) = cursor.next(index)? {
        let values = cmp.decode(tuple)?;
        if cmp.compare_prefix(&values, key) != Ordering::Equal {
            break;
        }
        found.push(ItemPointer {
            block: tuple.heap_block,
            offset: tuple.heap_offset,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DataType;

    fn relation() -> RelFileLocator {
        RelFileLocator {
            tablespace: 1663,
            database: 5,
            relation: 16400,
        }
    }

    fn empty_index() -> Indexes {
        let mut indexes = Indexes::new();
        let meta = BtreeMeta {
            root: P_NONE,
            level: 0,
            key_types: vec![(DataType::Int4.oid(), -1)],
            descending: vec![false],
        };
        for (block, image) in build_images(meta, Vec::new()) {
            redo_fpi(&mut indexes, Lsn(1), relation(), block, &image);
        }
        indexes
    }

    /// Inserts as the executor does, applying each record with redo; returns the records.
    fn insert(
        indexes: &mut Indexes,
        lsn: &mut u64,
        value: i32,
        at: ItemPointer,
    ) -> Vec<BtreeRecord> {
        let tuple = tuple_for(crate::tuple::encode(&[Value::Int4(value)]), at);
        let mut records = Vec::new();
        let (first, pending) = begin_insert(&indexes[&relation()], relation(), tuple).unwrap();
        let mut apply = |indexes: &mut Indexes, record: BtreeRecord| {
            *lsn += 1;
            redo(indexes, Lsn(*lsn), &record).unwrap();
            records.push(record);
        };
        if let Some(record) = first {
            apply(indexes, record);
        }
        let mut pending = Some(pending);
        while let Some(step) = pending.take() {
            if let Some(root) = as_new_root(&indexes[&relation()], relation(), &step) {
                apply(indexes, root);
                break;
            }
            let (record, next) = next_insert_step(&indexes[&relation()], relation(), step).unwrap();
            apply(indexes, record);
            pending = next;
        }
        records
    }

    fn all(index: &BtreeIndex) -> Vec<i32> {
        let cmp = Comparator::new(index);
        let mut cursor = Cursor::seek(index, &[]).unwrap().unwrap();
        let mut out = Vec::new();
        while let Some(t) = cursor.next(index).unwrap() {
            match cmp.decode(t).unwrap()[0] {
                Value::Int4(v) => out.push(v),
                _ => panic!(),
            }
        }
        out
    }

    #[test]
    fn ascending_inserts_split_like_postgres() {
        let mut indexes = empty_index();
        let mut lsn = 10;
        let mut described = Vec::new();
        for i in 1..=1000 {
            let at = ItemPointer {
                block: (i / 200) as u32,
                offset: (i % 200 + 1) as u16,
            };
            for record in insert(&mut indexes, &mut lsn, i, at) {
                if !matches!(record, BtreeRecord::InsertLeaf { .. }) {
                    described.push(record.describe());
                }
            }
        }
        // PostgreSQL 15 for 1..1000 into an int4 primary key.
        assert_eq!(
            described,
            vec![
                "NEWROOT lev 0",
                "SPLIT_R level 0, firstrightoff 367, newitemoff 408, postingoff 0",
                "NEWROOT lev 1",
                "SPLIT_R level 0, firstrightoff 367, newitemoff 408, postingoff 0",
                "INSERT_UPPER off 3",
            ]
        );
        let index = &indexes[&relation()];
        assert_eq!(all(index), (1..=1000).collect::<Vec<_>>());
        assert_eq!(index.meta.level, 1);
        assert_eq!(lookup(index, &[Value::Int4(700)]).unwrap().len(), 1);
        assert!(lookup(index, &[Value::Int4(1001)]).unwrap().is_empty());
    }

    #[test]
    fn random_inserts_stay_ordered_and_replay_equal() {
        let mut primary = empty_index();
        let mut lsn = 10;
        let mut log = Vec::new();
        let mut x: u32 = 12345;
        let mut values = Vec::new();
        for i in 0..5000u32 {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            let v = (x >> 8) as i32 % 3000;
            values.push(v);
            let at = ItemPointer {
                block: i / 100,
                offset: (i % 100 + 1) as u16,
            };
            let start = lsn;
            let records = insert(&mut primary, &mut lsn, v, at);
            for (n, r) in records.into_iter().enumerate() {
                log.push((start + 1 + n as u64, r));
            }
        }
        values.sort();
        assert_eq!(all(&primary[&relation()]), values);
        assert!(primary[&relation()].meta.level >= 1);
        // A standby replaying the same records (twice: redo is idempotent) gets the same pages.
        let mut standby = empty_index();
        for _ in 0..2 {
            for (lsn, record) in &log {
                redo(&mut standby, Lsn(*lsn), record).unwrap();
            }
        }
        assert_eq!(standby, primary);
        // Every page but the rightmost has a high key above its items.
        let index = &primary[&relation()];
        let cmp = Comparator::new(index);
        for page in &index.pages[1..] {
            if let (Some(high), Some(last)) = (&page.page.high_key, page.page.items.last()) {
                if page.page.level == 0 {
                    let (h, l) = (cmp.decode(high).unwrap(), cmp.decode(last).unwrap());
                    assert_ne!(cmp.compare_tuples(last, &l, &h, high), Ordering::Greater);
                }
            }
        }
    }

    #[test]
    fn build_fills_leaves_to_ninety_percent() {
        let entries: Vec<IndexTuple> = (1..=1000)
            .map(|i| {
                tuple_for(
                    crate::tuple::encode(&[Value::Int4(i)]),
                    ItemPointer {
                        block: 0,
                        offset: 1,
                    },
                )
            })
            .collect();
        let meta = BtreeMeta {
            root: P_NONE,
            level: 0,
            key_types: vec![(DataType::Int4.oid(), -1)],
            descending: vec![false],
        };
        let images = build_images(meta, entries);
        let mut indexes = Indexes::new();
        for (block, image) in &images {
            redo_fpi(&mut indexes, Lsn(1), relation(), *block, image);
        }
        let index = &indexes[&relation()];
        assert_eq!(all(index), (1..=1000).collect::<Vec<_>>());
        assert_eq!(index.pages[1].page.items.len(), 366);
        assert_eq!(index.meta.level, 1);
        assert_eq!(lookup(index, &[Value::Int4(367)]).unwrap().len(), 1);
    }

    #[test]
    fn bulk_delete_and_its_redo_remove_the_dead_tids_on_primary_and_standby() {
        let mut primary = empty_index();
        let mut lsn = 10;
        let mut log = Vec::new();
        let at = |i: i32| ItemPointer {
            block: (i / 100) as u32,
            offset: (i % 100 + 1) as u16,
        };
        for i in 0..1000 {
            let start = lsn;
            for (n, record) in insert(&mut primary, &mut lsn, i, at(i))
                .into_iter()
                .enumerate()
            {
                log.push((start + 1 + n as u64, record));
            }
        }
        // Every third row's version is dead.
        let dead: std::collections::BTreeSet<(u32, u16)> = (0..1000)
            .filter(|i| i % 3 == 0)
            .map(|i| (at(i).block, at(i).offset))
            .collect();
        let records = bulk_delete(&primary[&relation()], relation(), &dead);
        // One record per leaf page (three leaves), in block order.
        assert_eq!(records.len(), 3);
        assert!(records[0].describe().starts_with("VACUUM ndeleted "));
        let deleted: usize = records
            .iter()
            .map(|r| match r {
                BtreeRecord::Vacuum { deleted, .. } => deleted.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(deleted, 334);
        for record in records {
            lsn += 1;
            redo(&mut primary, Lsn(lsn), &record).unwrap();
            log.push((lsn, record));
        }
        let index = &primary[&relation()];
        assert_eq!(
            all(index),
            (0..1000).filter(|i| i % 3 != 0).collect::<Vec<_>>()
        );
        assert!(lookup(index, &[Value::Int4(300)]).unwrap().is_empty());
        assert_eq!(lookup(index, &[Value::Int4(301)]).unwrap(), vec![at(301)]);
        // Nothing left to delete.
        assert!(bulk_delete(index, relation(), &dead).is_empty());
        // A standby replaying the log, twice, gets the same pages.
        let mut standby = empty_index();
        for _ in 0..2 {
            for (lsn, record) in &log {
                redo(&mut standby, Lsn(*lsn), record).unwrap();
            }
        }
        assert_eq!(standby, primary);
        // A deletion naming an offset past the page's items is an error, not a panic.
        let bad = BtreeRecord::Vacuum {
            relation: relation(),
            block: 1,
            deleted: vec![4000],
        };
        assert!(redo(&mut standby, Lsn(lsn + 1), &bad).is_err());
    }
}
