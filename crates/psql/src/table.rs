//! psql's generic table printer (border 1, ascii line style), used both for
//! query results and for the `\d` family.

use crate::width::{display_lines, Line};

/// A table ready to print: every cell is already text (NULLs substituted).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub title: Option<String>,
    pub headers: Vec<String>,
    pub right_align: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Footer lines; when empty and `default_footer` is set, `(N rows)`.
    pub footers: Vec<String>,
    pub default_footer: bool,
}

/// `(1 row)` / `(N rows)`.
pub(crate) fn row_count_footer(n: usize) -> String {
    if n == 1 {
        "(1 row)".to_string()
    } else {
        format!("({n} rows)")
    }
}

impl Table {
    fn footer_lines(&self) -> Vec<String> {
        if !self.footers.is_empty() {
            self.footers.clone()
        } else if self.default_footer {
            vec![row_count_footer(self.rows.len())]
        } else {
            Vec::new()
        }
    }

    fn cell(&self, row: usize, col: usize) -> &str {
        self.rows
            .get(row)
            .and_then(|r| r.get(col))
            .map_or("", String::as_str)
    }

    fn is_right(&self, col: usize) -> bool {
        self.right_align.get(col).copied().unwrap_or(false)
    }
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn max_width(lines: &[Line]) -> usize {
    lines.iter().map(|l| l.width).max().unwrap_or(0)
}

fn push_footers(out: &mut String, footers: &[String]) {
    for f in footers {
        out.push_str(f);
        out.push('\n');
    }
    out.push('\n');
}

/// psql's default `aligned` output.
pub(crate) fn render_aligned(t: &Table) -> String {
    let ncols = t.headers.len();
    let headers: Vec<Vec<Line>> = t.headers.iter().map(|h| display_lines(h)).collect();
    let cells: Vec<Vec<Vec<Line>>> = (0..t.rows.len())
        .map(|r| (0..ncols).map(|c| display_lines(t.cell(r, c))).collect())
        .collect();
    let widths: Vec<usize> = (0..ncols)
        .map(|c| {
            cells
                .iter()
                .map(|row| max_width(&row[c]))
                .fold(max_width(&headers[c]), usize::max)
        })
        .collect();
    let mut out = String::new();
    push_title(&mut out, t.title.as_deref(), &widths);
    push_header(&mut out, &headers, &widths);
    push_rule(&mut out, &widths);
    for row in &cells {
        push_row(&mut out, row, &widths, t);
    }
    push_footers(&mut out, &t.footer_lines());
    out
}

fn push_title(out: &mut String, title: Option<&str>, widths: &[usize]) {
    let Some(title) = title else { return };
    let n = widths.len();
    let total = widths.iter().sum::<usize>() + (3 * n).saturating_sub(1);
    let w = max_width(&display_lines(title));
    if w < total {
        spaces(out, (total - w) / 2);
    }
    out.push_str(title);
    out.push('\n');
}

fn push_header(out: &mut String, headers: &[Vec<Line>], widths: &[usize]) {
    let nlines = headers.iter().map(Vec::len).max().unwrap_or(0);
    for l in 0..nlines {
        for (c, h) in headers.iter().enumerate() {
            out.push(' ');
            match h.get(l) {
                Some(line) => {
                    let free = widths[c] - line.width;
                    spaces(out, free / 2);
                    out.push_str(&line.text);
                    spaces(out, free - free / 2);
                }
                None => spaces(out, widths[c]),
            }
            out.push(if l + 1 < h.len() { '+' } else { ' ' });
            if c + 1 < headers.len() {
                out.push('|');
            }
        }
        out.push('\n');
    }
}

fn push_rule(out: &mut String, widths: &[usize]) {
    let parts: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push('-');
    out.push_str(&parts.join("-+-"));
    out.push_str("-\n");
}

fn push_row(out: &mut String, row: &[Vec<Line>], widths: &[usize], t: &Table) {
    let nlines = row.iter().map(Vec::len).max().unwrap_or(0);
    for l in 0..nlines {
        for (c, cell) in row.iter().enumerate() {
            let last = c + 1 == row.len();
            let more = l + 1 < cell.len();
            out.push(' ');
            match cell.get(l) {
                None if !last => spaces(out, widths[c]),
                None => {}
                Some(line) if t.is_right(c) => {
                    spaces(out, widths[c] - line.width);
                    out.push_str(&line.text);
                }
                Some(line) => {
                    out.push_str(&line.text);
                    if !last || more {
                        spaces(out, widths[c] - line.width);
                    }
                }
            }
            if more {
                out.push('+');
            } else if !last {
                out.push(' ');
            }
            if !last {
                out.push('|');
            }
        }
        out.push('\n');
    }
}

/// psql's expanded (`\x`) output.
pub(crate) fn render_expanded(t: &Table) -> String {
    let ncols = t.headers.len();
    let mut out = String::new();
    if t.rows.is_empty() || ncols == 0 {
        push_footers(&mut out, &t.footer_lines());
        return out;
    }
    if let Some(title) = &t.title {
        out.push_str(title);
        out.push('\n');
    }
    let headers: Vec<Vec<Line>> = t.headers.iter().map(|h| display_lines(h)).collect();
    let hwidth = headers.iter().map(|h| max_width(h)).max().unwrap_or(0);
    let cells: Vec<Vec<Vec<Line>>> = (0..t.rows.len())
        .map(|r| (0..ncols).map(|c| display_lines(t.cell(r, c))).collect())
        .collect();
    let dwidth = cells
        .iter()
        .flatten()
        .map(|c| max_width(c))
        .max()
        .unwrap_or(0);
    for (r, row) in cells.iter().enumerate() {
        push_record_rule(&mut out, r + 1, hwidth, dwidth);
        for (h, d) in headers.iter().zip(row) {
            push_field(&mut out, h, d, hwidth, dwidth);
        }
    }
    push_footers(&mut out, &t.footers);
    out
}

/// `-[ RECORD n ]` laid over the rule `-----+-----` of the record's widths.
fn push_record_rule(out: &mut String, record: usize, hwidth: usize, dwidth: usize) {
    let label = format!("-[ RECORD {record} ]");
    let rule = format!("{}+{}", "-".repeat(hwidth + 1), "-".repeat(dwidth + 1));
    out.push_str(&label);
    if let Some(rest) = rule.get(label.len()..) {
        out.push_str(rest);
    }
    out.push('\n');
}

fn push_field(out: &mut String, h: &[Line], d: &[Line], hwidth: usize, dwidth: usize) {
    for l in 0..h.len().max(d.len()) {
        match h.get(l) {
            Some(line) => {
                out.push_str(&line.text);
                spaces(out, hwidth - line.width);
            }
            None => spaces(out, hwidth),
        }
        out.push(if l + 1 < h.len() { '+' } else { ' ' });
        out.push('|');
        if let Some(line) = d.get(l) {
            out.push(' ');
            out.push_str(&line.text);
            if l + 1 < d.len() {
                spaces(out, dwidth - line.width);
                out.push('+');
            }
        }
        out.push('\n');
    }
}
