//! PostgreSQL's one-dimensional arrays: the value (elements and the lower bound), its text
//! input (`array_in`: braces, quoting, backslash escapes, `NULL`, `[lo:hi]=` bounds) and
//! output (`array_out`: the elements that need it double-quoted), and the comparison
//! `btarraycmp` does. Multi-dimensional arrays answer 0A000: pgplay keeps one dimension.

use std::cmp::Ordering;

use crate::error::{code, DbError, Result};
use crate::types::{compare, parse_text, DataType, Value};

/// PostgreSQL's `MaxArraySize`: the most elements an array may hold.
pub const MAX_ITEMS: usize = 134_217_727;

/// A one-dimensional array. An empty array has no dimension (its `lower` is 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub lower: i32,
    pub items: Vec<Value>,
}

impl Array {
    pub fn new(items: Vec<Value>) -> Array {
        Array { lower: 1, items }
    }

    /// The subscript of the last element (`array_upper`).
    pub fn upper(&self) -> i64 {
        i64::from(self.lower) + self.items.len() as i64 - 1
    }

    /// The element at `subscript` (NULL outside the bounds, as PostgreSQL answers).
    pub fn get(&self, subscript: i64) -> Value {
        let index = subscript - i64::from(self.lower);
        usize::try_from(index)
            .ok()
            .and_then(|i| self.items.get(i))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// `a[lo:hi]`, either bound left out meaning the array's own; the result starts at 1.
    pub fn slice(&self, lower: Option<i64>, upper: Option<i64>) -> Array {
        let lo = lower
            .unwrap_or(i64::from(self.lower))
            .max(i64::from(self.lower));
        let hi = upper.unwrap_or(self.upper()).min(self.upper());
        if self.items.is_empty() || lo > hi {
            return Array::new(Vec::new());
        }
        let from = (lo - i64::from(self.lower)) as usize;
        let to = (hi - i64::from(self.lower)) as usize;
        Array::new(self.items[from..=to].to_vec())
    }
}

/// 54000 when an array would hold more than PostgreSQL allows; 53200 when its elements
/// would take more than a node may hold in memory (`workmem::MEMORY_CAPACITY`: PostgreSQL
/// allows 134217727 integers, which pgplay's values would need gigabytes for).
pub fn check_size(count: usize) -> Result<()> {
    if count > MAX_ITEMS {
        return Err(DbError::new(
            code::PROGRAM_LIMIT_EXCEEDED,
            format!("array size exceeds the maximum allowed ({MAX_ITEMS})"),
        ));
    }
    let bytes = count as u64 * std::mem::size_of::<Value>() as u64;
    if bytes > crate::workmem::MEMORY_CAPACITY {
        return Err(
            DbError::new(code::OUT_OF_MEMORY, "out of memory").with_detail(format!(
                "Failed on request of size {bytes} in memory context \"ExecutorState\"."
            )),
        );
    }
    Ok(())
}

/// A value built from elements (for `ARRAY[...]`, `array_agg`, the array functions).
pub fn value(items: Vec<Value>) -> Result<Value> {
    check_size(items.len())?;
    Ok(Value::Array(Box::new(Array::new(items))))
}

fn malformed(text: &str, detail: &str) -> DbError {
    DbError::new(
        code::INVALID_TEXT_REPRESENTATION,
        format!("malformed array literal: \"{text}\""),
    )
    .with_detail(detail)
}

fn multidimensional() -> DbError {
    DbError::feature_not_supported("multidimensional arrays are not supported by pgplay yet")
}

/// `array_isspace`: the whitespace array input skips.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C')
}

/// `array_in`: the text form of an array of `element`.
pub fn parse(text: &str, element: &DataType) -> Result<Value> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    while at < chars.len() && is_space(chars[at]) {
        at += 1;
    }
    let mut bounds = None;
    if chars.get(at) == Some(&'[') {
        let (lower, upper, next) = parse_bounds(text, &chars, at)?;
        bounds = Some((lower, upper));
        at = next;
    }
    if chars.get(at) != Some(&'{') {
        return Err(malformed(
            text,
            "Array value must start with \"{\" or dimension information.",
        ));
    }
    let (elements, next) = parse_elements(text, &chars, at + 1)?;
    if chars[next..].iter().any(|c| !is_space(*c)) {
        return Err(malformed(text, "Junk after closing right brace."));
    }
    check_size(elements.len())?;
    let mut lower = 1;
    if let Some((lo, hi)) = bounds {
        if hi - lo + 1 != elements.len() as i64 {
            return Err(malformed(
                text,
                "Specified array dimensions do not match array contents.",
            ));
        }
        // `ArrayCheckBounds`: the subscript past the last element must fit an integer.
        if lo + elements.len() as i64 > i64::from(i32::MAX) {
            return Err(DbError::new(
                code::PROGRAM_LIMIT_EXCEEDED,
                format!("array lower bound is too large: {lo}"),
            ));
        }
        lower = if elements.is_empty() { 1 } else { lo as i32 };
    }
    let mut items = Vec::with_capacity(elements.len());
    for element_text in elements {
        items.push(match element_text {
            None => Value::Null,
            Some(t) => parse_text(&t, element)?,
        });
    }
    Ok(Value::Array(Box::new(Array { lower, items })))
}

/// `[lo:hi]=` before the braces (one dimension).
fn parse_bounds(text: &str, chars: &[char], start: usize) -> Result<(i64, i64, usize)> {
    let introduce = || {
        malformed(
            text,
            "\"[\" must introduce explicitly-specified array dimensions.",
        )
    };
    let close = chars[start..]
        .iter()
        .position(|c| *c == ']')
        .map(|p| start + p)
        .ok_or_else(introduce)?;
    let inside: String = chars[start + 1..close].iter().collect();
    let number = |s: &str| s.trim().parse::<i32>().map(i64::from).ok();
    let (lower, upper) = match inside.split_once(':') {
        Some((lo, hi)) => (number(lo), number(hi)),
        None => (Some(1), number(&inside)),
    };
    let (Some(lower), Some(upper)) = (lower, upper) else {
        return Err(introduce());
    };
    if upper < lower {
        return Err(DbError::new(
            code::ARRAY_SUBSCRIPT_ERROR,
            "upper bound cannot be less than lower bound",
        ));
    }
    let mut at = close + 1;
    if chars.get(at) == Some(&'[') {
        return Err(multidimensional());
    }
    while at < chars.len() && is_space(chars[at]) {
        at += 1;
    }
    if chars.get(at) != Some(&'=') {
        return Err(malformed(text, "Missing \"=\" after array dimensions."));
    }
    at += 1;
    while at < chars.len() && is_space(chars[at]) {
        at += 1;
    }
    Ok((lower, upper, at))
}

/// The elements between the braces (`start` is just past `{`): each one's text, or None for
/// an unquoted NULL; and the position just past `}`.
fn parse_elements(
    text: &str,
    chars: &[char],
    start: usize,
) -> Result<(Vec<Option<String>>, usize)> {
    let end_of_input = || malformed(text, "Unexpected end of input.");
    let unexpected = |c: char| malformed(text, &format!("Unexpected \"{c}\" character."));
    let mut at = start;
    let mut elements = Vec::new();
    let skip_space = |at: &mut usize| {
        while *at < chars.len() && is_space(chars[*at]) {
            *at += 1;
        }
    };
    skip_space(&mut at);
    match chars.get(at) {
        Some('}') => return Ok((elements, at + 1)),
        Some('{') => return Err(multidimensional()),
        _ => {}
    }
    loop {
        skip_space(&mut at);
        let Some(&c) = chars.get(at) else {
            return Err(end_of_input());
        };
        if matches!(c, ',' | '}' | '{') {
            return Err(unexpected(c));
        }
        let (element, next) = parse_element(text, chars, at)?;
        elements.push(element);
        check_size(elements.len())?;
        at = next;
        skip_space(&mut at);
        match chars.get(at) {
            None => return Err(end_of_input()),
            Some(',') => at += 1,
            Some('}') => return Ok((elements, at + 1)),
            Some('{') => return Err(unexpected('{')),
            Some(_) => return Err(malformed(text, "Unexpected array element.")),
        }
    }
}

/// One element starting at `start`: quoted (`"..."` with backslash escapes) or bare (up to the
/// next `,` or `}`, surrounding whitespace dropped unless escaped).
fn parse_element(text: &str, chars: &[char], start: usize) -> Result<(Option<String>, usize)> {
    let end_of_input = || malformed(text, "Unexpected end of input.");
    let mut at = start;
    let mut out = String::new();
    if chars[at] == '"' {
        at += 1;
        loop {
            match chars.get(at) {
                None => return Err(end_of_input()),
                Some('\\') => {
                    out.push(*chars.get(at + 1).ok_or_else(end_of_input)?);
                    at += 2;
                }
                Some('"') => return Ok((Some(out), at + 1)),
                Some(&c) => {
                    out.push(c);
                    at += 1;
                }
            }
        }
    }
    // The length of `out` up to its last escaped character: trailing spaces after it stay.
    let mut kept = 0;
    let mut escaped = false;
    loop {
        match chars.get(at) {
            None => return Err(end_of_input()),
            Some('\\') => {
                out.push(*chars.get(at + 1).ok_or_else(end_of_input)?);
                kept = out.len();
                escaped = true;
                at += 2;
            }
            Some(',' | '}') => break,
            Some('"' | '{') => return Err(malformed(text, "Unexpected array element.")),
            Some(&c) => {
                out.push(c);
                if !is_space(c) {
                    kept = out.len();
                }
                at += 1;
            }
        }
    }
    out.truncate(kept);
    if !escaped && out.eq_ignore_ascii_case("null") {
        return Ok((None, at));
    }
    Ok((Some(out), at))
}

/// `array_out`: `{1,2,NULL}`, `{"a b",c}`, `[0:1]={1,2}` when the lower bound is not 1.
pub fn format(array: &Array) -> String {
    let mut out = String::new();
    if array.lower != 1 && !array.items.is_empty() {
        out.push_str(&format!("[{}:{}]=", array.lower, array.upper()));
    }
    out.push('{');
    for (index, item) in array.items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        match item.to_text() {
            None => out.push_str("NULL"),
            Some(text) => push_element(&mut out, &text),
        }
    }
    out.push('}');
    out
}

fn push_element(out: &mut String, text: &str) {
    let quote = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || is_space(c));
    if !quote {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// `btarraycmp`: element by element (NULL after every value), then the number of elements,
/// then the lower bound.
pub fn cmp(a: &Array, b: &Array) -> Ordering {
    for (x, y) in a.items.iter().zip(&b.items) {
        let ordering = compare(x, y);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.items
        .len()
        .cmp(&b.items.len())
        .then(a.lower.cmp(&b.lower))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text either reads as an array that prints and reads back the same, or fails
        /// with an error; it never panics.
        #[test]
        fn input_never_panics_and_round_trips(text in "[{}\\[\\]\",\\\\ :=0-9aNUL-]{0,24}") {
            if let Ok(Value::Array(array)) = parse(&text, &DataType::Text) {
                let printed = format(&array);
                let again = parse(&printed, &DataType::Text).expect("output reads back");
                prop_assert_eq!(again, Value::Array(array));
            }
        }
    }

    fn text_array(text: &str) -> Result<String> {
        match parse(text, &DataType::Text)? {
            Value::Array(array) => Ok(format(&array)),
            other => panic!("not an array: {other:?}"),
        }
    }

    #[test]
    fn quoting_and_nulls_round_trip() {
        assert_eq!(
            text_array(r#"{a b, "c d", NULL, "NULL", "", e\"f, "g\\h"}"#).unwrap(),
            r#"{"a b","c d",NULL,"NULL","","e\"f","g\\h"}"#
        );
        assert_eq!(text_array(r"{a\ ,  b\  }").unwrap(), r#"{"a ","b "}"#);
        assert_eq!(text_array("[0:1]={x,y}").unwrap(), "[0:1]={x,y}");
        assert_eq!(text_array("  {  }  ").unwrap(), "{}");
    }

    #[test]
    fn malformed_literals_say_why() {
        let detail = |t: &str| String::from(text_array(t).unwrap_err().detail.unwrap_or_default());
        assert_eq!(detail("{1,2,3"), "Unexpected end of input.");
        assert_eq!(detail("{1,,2}"), "Unexpected \",\" character.");
        assert_eq!(detail("{1,}"), "Unexpected \"}\" character.");
        assert_eq!(detail("{\"a\"b}"), "Unexpected array element.");
        assert_eq!(detail("{a}x"), "Junk after closing right brace.");
        assert_eq!(detail("{1,{2}}"), "Unexpected \"{\" character.");
        assert_eq!(
            detail("1,2"),
            "Array value must start with \"{\" or dimension information."
        );
        assert_eq!(
            detail("[1:3]={1,2}"),
            "Specified array dimensions do not match array contents."
        );
        assert_eq!(text_array("{{1},{2}}").unwrap_err().code, "0A000");
    }

    #[test]
    fn order_is_element_wise_then_length() {
        let a = |items: &[i32]| Array::new(items.iter().map(|i| Value::Int4(*i)).collect());
        assert_eq!(cmp(&a(&[1, 2]), &a(&[1, 3])), Ordering::Less);
        assert_eq!(cmp(&a(&[1, 2]), &a(&[1, 2, 0])), Ordering::Less);
        assert_eq!(cmp(&a(&[2]), &a(&[1, 5])), Ordering::Greater);
    }
}
