//! Redo of VACUUM's records (PostgreSQL's Heap2 resource manager): pruning,
//! freeing line pointers, freezing, and the all-visible bits. The primary
//! applies them right after logging them, a standby when it replays them:
//! the same code, so the pages stay equal. What a standby must do *before*
//! replaying one (cancel the queries that still need the rows, see
//! [`conflict_horizon`]) is the node's business, not redo's.

use pgplay_wal::{Heap2Record, Lsn, Record, RecordBody, Xid, VM_ALL_FROZEN, VM_ALL_VISIBLE};

use super::{missing_page, DataState};
use crate::error::{DbError, Result};
use crate::heap::{LinePointer, Page};

/// The xid a record's replay conflicts with on a hot standby: snapshots
/// whose xmin is at or below it might still need what it removes (or, for
/// FREEZE_PAGE and VISIBLE, might not see what it declares visible to all),
/// as PostgreSQL's `ResolveRecoveryConflictWithSnapshot` judges.
pub fn conflict_horizon(record: &Record) -> Option<Xid> {
    match &record.body {
        RecordBody::Heap2(heap2) => Some(heap2.snapshot_conflict_horizon()).filter(|xid| *xid != 0),
        RecordBody::Btree(pgplay_wal::btree::BtreeRecord::Delete {
            latest_removed_xid, ..
        }) => Some(*latest_removed_xid).filter(|xid| *xid != 0),
        _ => None,
    }
}

fn item_mut(page: &mut Page, offset: u16) -> Result<&mut LinePointer> {
    page.items
        .get_mut((offset as usize).wrapping_sub(1))
        .ok_or_else(|| DbError::internal(format!("invalid line pointer {offset} in WAL record")))
}

/// PostgreSQL's `PageTruncateLinePointerArray`: unused line pointers at the
/// end go, but one always stays.
fn truncate_line_pointers(page: &mut Page) {
    while page.items.len() > 1 && page.items.last() == Some(&LinePointer::Unused) {
        page.items.pop();
    }
}

pub(super) fn apply(state: &mut DataState, lsn: Lsn, record: &Heap2Record) -> Result<()> {
    let locator = record.relation();
    let block = record.block();
    let page = state
        .storage
        .relations
        .get_mut(&locator)
        .and_then(|relation| relation.pages.get_mut(block as usize))
        .ok_or_else(|| missing_page(&locator, block))?;
    if page.lsn >= lsn {
        return Ok(());
    }
    match record {
        Heap2Record::Prune {
            redirected,
            dead,
            unused,
            ..
        } => {
            for (from, to) in redirected {
                *item_mut(page, *from)? = LinePointer::Redirect(*to);
            }
            for offset in dead {
                *item_mut(page, *offset)? = LinePointer::Dead;
            }
            for offset in unused {
                *item_mut(page, *offset)? = LinePointer::Unused;
            }
            page.all_visible = false;
            page.all_frozen = false;
        }
        Heap2Record::Vacuum { unused, .. } => {
            for offset in unused {
                *item_mut(page, *offset)? = LinePointer::Unused;
            }
            truncate_line_pointers(page);
        }
        Heap2Record::FreezePage { offsets, .. } => {
            for offset in offsets {
                match item_mut(page, *offset)? {
                    LinePointer::Normal(tuple) => tuple.frozen = true,
                    _ => return Err(DbError::internal("FREEZE_PAGE names no tuple")),
                }
            }
        }
        Heap2Record::Visible { flags, .. } => {
            page.all_visible |= flags & VM_ALL_VISIBLE != 0;
            page.all_frozen |= flags & VM_ALL_FROZEN != 0;
        }
    }
    page.lsn = lsn;
    Ok(())
}

#[cfg(test)]
mod tests {
    use pgplay_wal::{RelFileLocator, TupleImage};

    use super::*;
    use crate::heap::HeapTuple;

    const REL: RelFileLocator = RelFileLocator {
        tablespace: 1663,
        database: 5,
        relation: 16384,
    };

    fn tuple(xmin: Xid, xmax: Xid) -> LinePointer {
        LinePointer::Normal(HeapTuple {
            xmin,
            xmax,
            cmin: 0,
            cmax: 0,
            ctid: crate::heap::ItemPointer {
                block: 0,
                offset: 1,
            },
            natts: 0,
            data: vec![0],
            hot_updated: false,
            lock_bits: 0,
            heap_only: false,
            frozen: false,
        })
    }

    /// A page of five tuples at LSN 0/100.
    fn state() -> DataState {
        let mut state = DataState::default();
        let page = Page {
            lsn: Lsn(0x100),
            items: (1..=5).map(|i| tuple(730 + i, 0)).collect(),
            ..Page::default()
        };
        state
            .storage
            .relations
            .entry(REL)
            .or_default()
            .pages
            .push(page);
        state
    }

    fn page(state: &DataState) -> &Page {
        &state.storage.relations[&REL].pages[0]
    }

    fn record(body: Heap2Record) -> Record {
        Record {
            xid: 0,
            prev: Lsn::INVALID,
            body: RecordBody::Heap2(body),
        }
    }

    fn apply_at(state: &mut DataState, lsn: u64, body: Heap2Record) {
        super::super::apply(state, Lsn(lsn), &record(body)).unwrap();
    }

    #[test]
    fn prune_redirects_kills_and_frees_line_pointers() {
        let mut state = state();
        let prune = Heap2Record::Prune {
            relation: REL,
            block: 0,
            latest_removed_xid: 733,
            redirected: vec![(1, 3)],
            dead: vec![4],
            unused: vec![2],
        };
        assert_eq!(conflict_horizon(&record(prune.clone())), Some(733));
        apply_at(&mut state, 0x200, prune);
        let items = &page(&state).items;
        assert_eq!(items[0], LinePointer::Redirect(3));
        assert_eq!(items[1], LinePointer::Unused);
        assert!(items[2].tuple().is_some());
        assert_eq!(items[3], LinePointer::Dead);
        assert_eq!(page(&state).tuple_count(), 2);
        // The freed line pointer is where the next tuple goes.
        assert_eq!(page(&state).next_offset(), 2);
        assert_eq!(page(&state).lsn, Lsn(0x200));
    }

    #[test]
    fn vacuum_frees_dead_line_pointers_and_cuts_the_trailing_ones() {
        let mut state = state();
        apply_at(
            &mut state,
            0x200,
            Heap2Record::Prune {
                relation: REL,
                block: 0,
                latest_removed_xid: 735,
                redirected: vec![],
                dead: vec![1, 4, 5],
                unused: vec![],
            },
        );
        let vacuum = Heap2Record::Vacuum {
            relation: REL,
            block: 0,
            unused: vec![1, 4, 5],
        };
        assert_eq!(conflict_horizon(&record(vacuum.clone())), None);
        apply_at(&mut state, 0x300, vacuum);
        let items = &page(&state).items;
        assert_eq!(items.len(), 3, "4 and 5 were at the end: cut off");
        assert_eq!(items[0], LinePointer::Unused);
        assert_eq!(page(&state).next_offset(), 1);
    }

    #[test]
    fn vacuum_leaves_one_line_pointer_on_an_emptied_page() {
        let mut state = state();
        let all: Vec<u16> = (1..=5).collect();
        apply_at(
            &mut state,
            0x200,
            Heap2Record::Prune {
                relation: REL,
                block: 0,
                latest_removed_xid: 735,
                redirected: vec![],
                dead: all.clone(),
                unused: vec![],
            },
        );
        apply_at(
            &mut state,
            0x300,
            Heap2Record::Vacuum {
                relation: REL,
                block: 0,
                unused: all,
            },
        );
        assert_eq!(page(&state).items, vec![LinePointer::Unused]);
    }

    #[test]
    fn freeze_page_freezes_the_named_tuples_and_visible_sets_the_bits() {
        let mut state = state();
        apply_at(
            &mut state,
            0x200,
            Heap2Record::FreezePage {
                relation: REL,
                block: 0,
                cutoff_xid: 736,
                offsets: vec![1, 2],
            },
        );
        let freeze = record(Heap2Record::FreezePage {
            relation: REL,
            block: 0,
            cutoff_xid: 736,
            offsets: vec![1],
        });
        assert_eq!(conflict_horizon(&freeze), Some(735));
        let frozen: Vec<bool> = page(&state)
            .tuples()
            .map(|(_, tuple)| tuple.frozen)
            .collect();
        assert_eq!(frozen, [true, true, false, false, false]);
        let visible = Heap2Record::Visible {
            relation: REL,
            block: 0,
            cutoff_xid: 735,
            flags: VM_ALL_VISIBLE | VM_ALL_FROZEN,
        };
        assert_eq!(conflict_horizon(&record(visible.clone())), Some(735));
        apply_at(&mut state, 0x300, visible);
        assert!(page(&state).all_visible && page(&state).all_frozen);
        // Any later change to the page clears both.
        let insert = Record {
            xid: 740,
            prev: Lsn::INVALID,
            body: RecordBody::Heap(pgplay_wal::HeapRecord::Insert {
                relation: REL,
                block: 0,
                offset: 6,
                init_page: false,
                tuple: TupleImage {
                    command_id: 0,
                    natts: 0,
                    data: vec![0],
                },
            }),
        };
        super::super::apply(&mut state, Lsn(0x400), &insert).unwrap();
        assert!(!page(&state).all_visible && !page(&state).all_frozen);
    }

    #[test]
    fn replaying_a_record_twice_changes_nothing() {
        let mut state = state();
        let prune = Heap2Record::Prune {
            relation: REL,
            block: 0,
            latest_removed_xid: 733,
            redirected: vec![],
            dead: vec![2],
            unused: vec![],
        };
        apply_at(&mut state, 0x200, prune.clone());
        apply_at(
            &mut state,
            0x300,
            Heap2Record::Vacuum {
                relation: REL,
                block: 0,
                unused: vec![2],
            },
        );
        let after = state.clone();
        apply_at(&mut state, 0x200, prune);
        assert_eq!(state, after);
    }

    #[test]
    fn a_record_for_a_missing_page_is_an_error() {
        let mut state = DataState::default();
        let result = super::super::apply(
            &mut state,
            Lsn(0x200),
            &record(Heap2Record::Vacuum {
                relation: REL,
                block: 0,
                unused: vec![1],
            }),
        );
        assert!(result.is_err());
    }
}
