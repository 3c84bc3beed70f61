//! Display width of text, the way psql measures it for alignment.

/// Zero-width (combining) code point ranges: a practical subset.
const ZERO_WIDTH: &[(u32, u32)] = &[
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05BD),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0E31, 0x0E31),
    (0x0E34, 0x0E3A),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x200B, 0x200F),
    (0x20D0, 0x20FF),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
];

/// East Asian Wide / Fullwidth ranges (and the common emoji blocks).
const WIDE: &[(u32, u32)] = &[
    (0x1100, 0x115F),
    (0x231A, 0x231B),
    (0x2E80, 0x303E),
    (0x3041, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
    (0x1F300, 0x1F64F),
    (0x1F900, 0x1F9FF),
    (0x20000, 0x2FFFD),
    (0x30000, 0x3FFFD),
];

fn in_ranges(c: u32, ranges: &[(u32, u32)]) -> bool {
    ranges.iter().any(|&(lo, hi)| c >= lo && c <= hi)
}

/// True for C0/C1 control characters and DEL, which psql escapes.
pub(crate) fn is_control(c: char) -> bool {
    let u = c as u32;
    u < 0x20 || (0x7F..0xA0).contains(&u)
}

/// Screen columns taken by a printable character: 0, 1 or 2.
pub(crate) fn char_width(c: char) -> usize {
    let u = c as u32;
    if in_ranges(u, ZERO_WIDTH) {
        0
    } else if in_ranges(u, WIDE) {
        2
    } else {
        1
    }
}

/// One display line of a cell: the text to print and its width in columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub text: String,
    pub width: usize,
}

/// Splits a value into display lines as psql does: `\n` starts a new
/// line, `\r` shows as `\r`, tabs expand to the next multiple of 8, other
/// control characters show as `\xNN` (ASCII) or `\uNNNN`.
pub(crate) fn display_lines(value: &str) -> Vec<Line> {
    value.split('\n').map(render_line).collect()
}

fn render_line(raw: &str) -> Line {
    let mut line = Line {
        text: String::new(),
        width: 0,
    };
    for c in raw.chars() {
        push_rendered(&mut line, c);
    }
    line
}

fn push_rendered(line: &mut Line, c: char) {
    match c {
        '\r' => push_escape(line, "\\r".to_string()),
        '\t' => loop {
            line.text.push(' ');
            line.width += 1;
            if line.width % 8 == 0 {
                break;
            }
        },
        c if is_control(c) && (c as u32) < 0x80 => {
            push_escape(line, format!("\\x{:02X}", c as u32))
        }
        c if is_control(c) => push_escape(line, format!("\\u{:04X}", c as u32)),
        c => {
            line.text.push(c);
            line.width += char_width(c);
        }
    }
}

fn push_escape(line: &mut Line, escaped: String) {
    line.width += escaped.len();
    line.text.push_str(&escaped);
}

#[cfg(test)]
/// Width of a plain (single-line, printable) string.
pub(crate) fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(str_width("abc"), 3);
        assert_eq!(str_width("日本語"), 6);
        assert_eq!(str_width("한국"), 4);
        assert_eq!(str_width("😀"), 2);
        assert_eq!(str_width("ｱ"), 1);
        assert_eq!(str_width("e\u{301}"), 1);
    }

    #[test]
    fn control_characters_are_escaped() {
        let l = &display_lines("a\tb")[0];
        assert_eq!((l.text.as_str(), l.width), ("a       b", 9));
        let l = &display_lines("a\rb")[0];
        assert_eq!((l.text.as_str(), l.width), ("a\\rb", 4));
        let l = &display_lines("\u{1}z")[0];
        assert_eq!((l.text.as_str(), l.width), ("\\x01z", 5));
        let l = &display_lines("x\u{85}y")[0];
        assert_eq!((l.text.as_str(), l.width), ("x\\u0085y", 8));
        assert_eq!(display_lines("a\nb").len(), 2);
        assert_eq!(display_lines("").len(), 1);
    }
}
