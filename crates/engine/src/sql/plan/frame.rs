//! Window frames: which rows of its partition an aggregate, `first_value`, `last_value` or
//! `nth_value` reads for each row. A frame is bound once from `ROWS`/`RANGE`/`GROUPS BETWEEN
//! ... AND ... EXCLUDE ...` (with PostgreSQL's checks and messages) and, for each row, turned
//! into at most three ranges of positions of the sorted partition. RANGE offsets are found by
//! binary search over the partition's sorted, non-NULL ORDER BY values, so a frame costs
//! O(log n) per row; only the aggregate over it costs its size.

use std::cmp::Ordering;

use super::super::expr::{coerce, Expr};
use crate::error::{DbError, Result};
use crate::types::{DataType, Numeric, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Units {
    Rows,
    Range,
    Groups,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    UnboundedPreceding,
    Preceding(Expr),
    CurrentRow,
    Following(Expr),
    UnboundedFollowing,
}

/// `EXCLUDE ...`: which rows around the current one leave its frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Exclude {
    NoOthers,
    CurrentRow,
    Group,
    Ties,
}

impl Exclude {
    /// The words after EXCLUDE.
    pub fn from_words(words: &str) -> Option<Exclude> {
        Some(match words {
            "no others" => Exclude::NoOthers,
            "current row" => Exclude::CurrentRow,
            "group" => Exclude::Group,
            "ties" => Exclude::Ties,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub units: Units,
    pub start: Bound,
    pub end: Bound,
    pub exclude: Exclude,
}

impl Frame {
    /// PostgreSQL's default: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
    pub fn default_frame() -> Frame {
        Frame {
            units: Units::Range,
            start: Bound::UnboundedPreceding,
            end: Bound::CurrentRow,
            exclude: Exclude::NoOthers,
        }
    }

    /// Whether each row's frame only grows from the partition's first row: then an
    /// aggregate is fed each row once, in order.
    pub fn is_running(&self) -> bool {
        self.start == Bound::UnboundedPreceding && self.exclude == Exclude::NoOthers
    }

    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut exprs = Vec::new();
        for bound in [&mut self.start, &mut self.end] {
            if let Bound::Preceding(e) | Bound::Following(e) = bound {
                exprs.push(e);
            }
        }
        exprs
    }
}

fn frame_error(message: &str) -> DbError {
    DbError::new("42P20", message)
}

/// gram.y's checks of a frame's bounds, in its order.
pub fn check_bounds(start: &Bound, end: &Bound, between: bool) -> Result<()> {
    if *start == Bound::UnboundedFollowing {
        return Err(frame_error("frame start cannot be UNBOUNDED FOLLOWING"));
    }
    if !between {
        if matches!(start, Bound::Following(_)) {
            return Err(frame_error(
                "frame starting from following row cannot end with current row",
            ));
        }
        return Ok(());
    }
    if *end == Bound::UnboundedPreceding {
        return Err(frame_error("frame end cannot be UNBOUNDED PRECEDING"));
    }
    if *start == Bound::CurrentRow && matches!(end, Bound::Preceding(_)) {
        return Err(frame_error(
            "frame starting from current row cannot have preceding rows",
        ));
    }
    if matches!(start, Bound::Following(_))
        && matches!(end, Bound::Preceding(_) | Bound::CurrentRow)
    {
        return Err(frame_error(
            "frame starting from following row cannot have preceding rows",
        ));
    }
    Ok(())
}

/// transformWindowDefinitions' checks of a frame against the window's ORDER BY.
pub fn check_order(units: Units, has_offset: bool, order: &[(Expr, bool, bool)]) -> Result<()> {
    if units == Units::Range && has_offset && order.len() != 1 {
        return Err(frame_error(
            "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
        ));
    }
    if units == Units::Groups && order.is_empty() {
        return Err(frame_error("GROUPS mode requires an ORDER BY clause"));
    }
    Ok(())
}

/// Each offset typed for its units: bigint for ROWS and GROUPS, the ORDER BY column's
/// in_range offset type for RANGE.
pub fn type_offsets(frame: &mut Frame, order: &[(Expr, bool, bool)]) -> Result<()> {
    let units = frame.units;
    let column = order.first().map(|(e, _, _)| e.data_type());
    for expr in frame.exprs_mut() {
        let offset = std::mem::replace(expr, Expr::Const(Value::Null, DataType::Unknown));
        *expr = match (units, &column) {
            (Units::Range, Some(column)) => range_offset(offset, column)?,
            _ => bigint_offset(offset)?,
        };
    }
    Ok(())
}

fn bigint_offset(offset: Expr) -> Result<Expr> {
    let t = offset.data_type();
    if t.is_numeric() && t != DataType::Int8 {
        return Ok(Expr::Cast(Box::new(offset), DataType::Int8));
    }
    coerce(offset, &DataType::Int8)
}

/// The offset type PostgreSQL's in_range functions take for a RANGE column, or its 0A000.
fn range_offset(offset: Expr, column: &DataType) -> Result<Expr> {
    use DataType::*;
    let t = offset.data_type();
    let target = match (column, &t) {
        (Int2 | Int4 | Int8, Int2 | Int4 | Int8) => return Ok(offset),
        (Int2 | Int4 | Int8, Unknown) => Int8,
        (Numeric { .. }, Int2 | Int4 | Int8 | Numeric { .. } | Unknown) => DataType::NUMERIC,
        (Float8, t) if t.is_numeric() || *t == Unknown => Float8,
        (Date | Timestamp | TimestampTz | Interval, Interval | Unknown) => Interval,
        (Int2 | Int4 | Int8 | Numeric { .. } | Float8 | Date | Timestamp | TimestampTz | Interval, _) => {
            return Err(DbError::feature_not_supported(format!(
                "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                column.base_name(),
                t.base_name()
            ))
            .with_hint("Cast the offset value to an appropriate type."))
        }
        _ => {
            return Err(DbError::feature_not_supported(format!(
                "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                column.base_name()
            )))
        }
    };
    if t == Unknown {
        return coerce(offset, &target);
    }
    Ok(Expr::Cast(Box::new(offset), target))
}

/// A frame's offsets evaluated (once per statement, as PostgreSQL does).
#[derive(Clone, Debug, Default)]
pub struct Offsets {
    pub start: Option<Value>,
    pub end: Option<Value>,
}

/// Checks evaluated offsets: never NULL, never negative.
pub fn check_offsets(frame: &Frame, offsets: &Offsets) -> Result<()> {
    for (value, which) in [(&offsets.start, "starting"), (&offsets.end, "ending")] {
        let Some(value) = value else { continue };
        if value.is_null() {
            return Err(DbError::new(
                "22004",
                format!("frame {which} offset must not be null"),
            ));
        }
        if is_negative(value) {
            return Err(if frame.units == Units::Range {
                DbError::new(
                    "22013",
                    "invalid preceding or following size in window function",
                )
            } else {
                DbError::new(
                    "22013",
                    format!("frame {which} offset must not be negative"),
                )
            });
        }
    }
    Ok(())
}

fn is_negative(value: &Value) -> bool {
    match value {
        Value::Interval(span) => span.span() < 0,
        Value::Float8(f) => *f < 0.0,
        Value::Numeric(n) => n.signum() < 0,
        other => other.as_i64().is_some_and(|v| v < 0),
    }
}

/// One sorted partition as a frame sees it: its peer groups and its ORDER BY values.
pub struct Partition<'a> {
    /// (start, end) of each run of peers.
    pub groups: &'a [(usize, usize)],
    /// The peer group of each position.
    pub group_of: &'a [usize],
    /// The first ORDER BY value of each position (RANGE with offset only).
    pub keys: Vec<&'a Value>,
    pub descending: bool,
    /// The positions of the NULL keys (a run at one end of the partition).
    nulls: (usize, usize),
}

impl<'a> Partition<'a> {
    pub fn new(
        groups: &'a [(usize, usize)],
        group_of: &'a [usize],
        keys: Vec<&'a Value>,
        descending: bool,
    ) -> Partition<'a> {
        let first = keys.iter().position(|k| k.is_null());
        let nulls = match first {
            None => (keys.len(), keys.len()),
            Some(first) => {
                let count = keys[first..].iter().take_while(|k| k.is_null()).count();
                (first, first + count)
            }
        };
        Partition {
            groups,
            group_of,
            keys,
            descending,
            nulls,
        }
    }

    fn len(&self) -> usize {
        self.group_of.len()
    }
}

/// The ranges of positions in the frame of the row at `position`.
pub fn ranges(
    frame: &Frame,
    offsets: &Offsets,
    part: &Partition<'_>,
    position: usize,
) -> Result<Vec<(usize, usize)>> {
    let start = edge(frame, &frame.start, &offsets.start, part, position, true)?;
    let end = edge(frame, &frame.end, &offsets.end, part, position, false)?;
    if start >= end {
        return Ok(Vec::new());
    }
    let peers = part.groups[part.group_of[position]];
    let cut = |cut: (usize, usize)| -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if start < cut.0.min(end) {
            out.push((start, cut.0.min(end)));
        }
        if cut.1.max(start) < end {
            out.push((cut.1.max(start), end));
        }
        out
    };
    Ok(match frame.exclude {
        Exclude::NoOthers => vec![(start, end)],
        Exclude::CurrentRow => cut((position, position + 1)),
        Exclude::Group => cut(peers),
        Exclude::Ties => {
            let mut out = cut(peers);
            if start <= position && position < end {
                out.push((position, position + 1));
                out.sort_unstable();
            }
            out
        }
    })
}

/// A frame's first position (`is_start`) or the position after its last.
fn edge(
    frame: &Frame,
    bound: &Bound,
    offset: &Option<Value>,
    part: &Partition<'_>,
    position: usize,
    is_start: bool,
) -> Result<usize> {
    let len = part.len();
    let group = part.group_of[position];
    let peers = part.groups[group];
    let amount = || offset.as_ref().and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
    Ok(match (bound, frame.units) {
        (Bound::UnboundedPreceding, _) => 0,
        (Bound::UnboundedFollowing, _) => len,
        (Bound::CurrentRow, Units::Rows) => position + usize::from(!is_start),
        (Bound::CurrentRow, _) => {
            if is_start {
                peers.0
            } else {
                peers.1
            }
        }
        (Bound::Preceding(_), Units::Rows) => {
            (position + usize::from(!is_start)).saturating_sub(amount())
        }
        (Bound::Following(_), Units::Rows) => (position + usize::from(!is_start))
            .saturating_add(amount())
            .min(len),
        (Bound::Preceding(_), Units::Groups) => match group.checked_sub(amount()) {
            Some(g) => group_edge(part, g, is_start),
            None => 0,
        },
        (Bound::Following(_), Units::Groups) => match group.checked_add(amount()) {
            Some(g) if g < part.groups.len() => group_edge(part, g, is_start),
            _ => len,
        },
        (Bound::Preceding(_) | Bound::Following(_), Units::Range) => {
            let preceding = matches!(bound, Bound::Preceding(_));
            range_edge(part, offset.as_ref(), preceding, position, is_start)?
        }
    })
}

fn group_edge(part: &Partition<'_>, group: usize, is_start: bool) -> usize {
    let (start, end) = part.groups[group];
    if is_start {
        start
    } else {
        end
    }
}

/// RANGE offset PRECEDING/FOLLOWING: the first position whose value is past the limit
/// (current value minus or plus the offset). A NULL current value's frame is its NULL peers;
/// a non-NULL one's never reaches the NULLs.
fn range_edge(
    part: &Partition<'_>,
    offset: Option<&Value>,
    preceding: bool,
    position: usize,
    is_start: bool,
) -> Result<usize> {
    let (null_start, null_end) = part.nulls;
    let current = part.keys[position];
    if current.is_null() {
        return Ok(if is_start { null_start } else { null_end });
    }
    let (lo, hi) = if null_start == 0 && null_end > 0 {
        (null_end, part.len())
    } else {
        (0, null_start)
    };
    let offset = offset.unwrap_or(&Value::Null);
    // Moving toward smaller values when PRECEDING in ascending order.
    let subtract = preceding != part.descending;
    let limit = shifted(current, offset, subtract)?;
    let keys = &part.keys[lo..hi];
    let before = |key: &Value| -> bool {
        let ordering = compare_range(key, &limit);
        let ordering = if part.descending {
            ordering.reverse()
        } else {
            ordering
        };
        if is_start {
            ordering == Ordering::Less
        } else {
            ordering != Ordering::Greater
        }
    };
    Ok(lo + keys.partition_point(|k| before(k)))
}

/// `value ± offset` as a comparable limit; out of range saturates (the frame then reaches the
/// partition's end, as PostgreSQL's in_range functions treat overflow).
fn shifted(value: &Value, offset: &Value, subtract: bool) -> Result<Limit> {
    Ok(match (value, offset) {
        (Value::Float8(v), o) => {
            let o = o.as_f64().unwrap_or(0.0);
            Limit::Float(if subtract { v - o } else { v + o })
        }
        (Value::Numeric(v), o) => {
            let o = o.as_numeric().unwrap_or_else(Numeric::zero);
            Limit::Numeric(if subtract { v.sub(&o)? } else { v.add(&o)? })
        }
        (Value::Interval(v), Value::Interval(o)) => {
            let (v, o) = (v.span(), o.span());
            Limit::Int(if subtract { v - o } else { v + o })
        }
        (Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_), Value::Interval(o)) => {
            let micros = micros(value);
            let o = if subtract { o.checked_neg()? } else { *o };
            match super::super::datetime::add_interval(micros as i64, &o) {
                Ok(m) => Limit::Int(i128::from(m)),
                Err(_) if subtract => Limit::Int(i128::MIN),
                Err(_) => Limit::Int(i128::MAX),
            }
        }
        (v, o) => {
            let (v, o) = (
                i128::from(v.as_i64().unwrap_or(0)),
                i128::from(o.as_i64().unwrap_or(0)),
            );
            Limit::Int(if subtract { v - o } else { v + o })
        }
    })
}

fn micros(value: &Value) -> i128 {
    match value {
        Value::Date(days) => i128::from(*days) * 86_400_000_000,
        Value::Timestamp(m) | Value::TimestampTz(m) => i128::from(*m),
        _ => 0,
    }
}

enum Limit {
    Int(i128),
    Float(f64),
    Numeric(Numeric),
}

fn compare_range(key: &Value, limit: &Limit) -> Ordering {
    match (key, limit) {
        (Value::Float8(k), Limit::Float(l)) => k.partial_cmp(l).unwrap_or(Ordering::Equal),
        (Value::Numeric(k), Limit::Numeric(l)) => k.cmp_total(l),
        (Value::Interval(k), Limit::Int(l)) => k.span().cmp(l),
        (Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_), Limit::Int(l)) => {
            micros(key).cmp(l)
        }
        (k, Limit::Int(l)) => i128::from(k.as_i64().unwrap_or(0)).cmp(l),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(units: Units, start: Bound, end: Bound, exclude: Exclude) -> Frame {
        Frame {
            units,
            start,
            end,
            exclude,
        }
    }

    fn offset(n: i64) -> Expr {
        Expr::Const(Value::Int8(n), DataType::Int8)
    }

    /// Positions 0..5 with peers {0}, {1, 2}, {3}, {4}.
    fn ranges_at(frame: &Frame, offsets: &Offsets, position: usize) -> Vec<(usize, usize)> {
        let groups = [(0, 1), (1, 3), (3, 4), (4, 5)];
        let group_of = [0, 1, 1, 2, 3];
        let part = Partition::new(&groups, &group_of, Vec::new(), false);
        ranges(frame, offsets, &part, position).unwrap()
    }

    #[test]
    fn rows_offsets_clamp_to_the_partition() {
        let f = frame(
            Units::Rows,
            Bound::Preceding(offset(1)),
            Bound::Following(offset(1)),
            Exclude::NoOthers,
        );
        let offsets = Offsets {
            start: Some(Value::Int8(1)),
            end: Some(Value::Int8(1)),
        };
        assert_eq!(ranges_at(&f, &offsets, 0), vec![(0, 2)]);
        assert_eq!(ranges_at(&f, &offsets, 4), vec![(3, 5)]);
    }

    #[test]
    fn the_default_frame_reaches_the_last_peer() {
        let f = Frame::default_frame();
        assert_eq!(ranges_at(&f, &Offsets::default(), 1), vec![(0, 3)]);
    }

    #[test]
    fn exclusions_cut_the_current_row_its_group_or_its_ties() {
        let whole = |exclude| {
            frame(
                Units::Rows,
                Bound::UnboundedPreceding,
                Bound::UnboundedFollowing,
                exclude,
            )
        };
        let none = Offsets::default();
        assert_eq!(
            ranges_at(&whole(Exclude::CurrentRow), &none, 2),
            vec![(0, 2), (3, 5)]
        );
        assert_eq!(
            ranges_at(&whole(Exclude::Group), &none, 2),
            vec![(0, 1), (3, 5)]
        );
        assert_eq!(
            ranges_at(&whole(Exclude::Ties), &none, 2),
            vec![(0, 1), (2, 3), (3, 5)]
        );
    }

    #[test]
    fn groups_count_peer_groups() {
        let f = frame(
            Units::Groups,
            Bound::Preceding(offset(1)),
            Bound::CurrentRow,
            Exclude::NoOthers,
        );
        let offsets = Offsets {
            start: Some(Value::Int8(1)),
            end: None,
        };
        assert_eq!(ranges_at(&f, &offsets, 3), vec![(1, 4)]);
    }

    #[test]
    fn bounds_are_checked_as_gram_y_does() {
        let e = check_bounds(&Bound::UnboundedFollowing, &Bound::CurrentRow, false).unwrap_err();
        assert_eq!(e.message, "frame start cannot be UNBOUNDED FOLLOWING");
        let e = check_bounds(&Bound::CurrentRow, &Bound::Preceding(offset(1)), true).unwrap_err();
        assert_eq!(
            e.message,
            "frame starting from current row cannot have preceding rows"
        );
    }
}
