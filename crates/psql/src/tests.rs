//! Expected strings below were produced by real psql 15 (`psql -X -c ...`
//! against a PostgreSQL 15 server); the SQL run is quoted above each test.
//! (For verbose errors the `LOCATION:` line, which needs server source
//! positions, was removed.)

use super::*;

fn lines(l: &[&str]) -> String {
    l.iter().map(|s| format!("{s}\n")).collect()
}

fn s(v: &str) -> Option<&str> {
    Some(v)
}

fn rs(cols: &[(&str, u32)], rows: &[&[Option<&str>]]) -> ResultSet {
    ResultSet {
        columns: cols.iter().map(|(n, t)| Column::new(*n, *t)).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
            .collect(),
    }
}

fn opts() -> Options {
    Options::default()
}

fn null_opts(null: &str) -> Options {
    Options {
        null_display: null.to_string(),
        ..Options::default()
    }
}

#[test]
fn aligned_basic_multiline_null() {
    // psql: "select * from t order by id"
    assert_eq!(
        format_aligned(
            &rs(
                &[("id", 23), ("name", 25), ("n", 1700), ("f", 701)],
                &[
                    &[s("1"), s("alice"), s("1.5"), s("1.5")],
                    &[s("2"), None, s("100"), s("1.5")],
                    &[s("3"), s("multi\nline\nx"), s("-3"), s("1.5")]
                ]
            ),
            &opts()
        ),
        lines(&[
            " id | name  |  n  |  f  ",
            "----+-------+-----+-----",
            "  1 | alice | 1.5 | 1.5",
            "  2 |       | 100 | 1.5",
            "  3 | multi+|  -3 | 1.5",
            "    | line +|     | ",
            "    | x     |     | ",
            "(3 rows)",
            "",
        ])
    );
}

#[test]
fn aligned_empty_result() {
    // psql: "select 1 as a, 'x' as b where false"
    assert_eq!(
        format_aligned(&rs(&[("a", 23), ("b", 25)], &[]), &opts()),
        lines(&[" a | b ", "---+---", "(0 rows)", "",])
    );
}

#[test]
fn aligned_zero_columns_one_row() {
    // psql: "select"
    assert_eq!(
        format_aligned(&rs(&[], &[&[]]), &opts()),
        lines(&["--", "(1 row)", "",])
    );
}

#[test]
fn aligned_zero_columns_three_rows() {
    // psql: "select from t"
    assert_eq!(
        format_aligned(&rs(&[], &[&[], &[], &[]]), &opts()),
        lines(&["--", "(3 rows)", "",])
    );
}

#[test]
fn aligned_wide_characters() {
    // psql: "select '日本語' as 名前, 1 as n"
    assert_eq!(
        format_aligned(
            &rs(&[("名前", 25), ("n", 23)], &[&[s("日本語"), s("1")]]),
            &opts()
        ),
        lines(&["  名前  | n ", "--------+---", " 日本語 | 1", "(1 row)", "",])
    );
}

#[test]
fn aligned_multiline_header() {
    // psql: "select 1 as \"a\nb\", 2"
    assert_eq!(
        format_aligned(
            &rs(&[("a\nb", 23), ("?column?", 23)], &[&[s("1"), s("2")]]),
            &opts()
        ),
        lines(&[
            " a+| ?column? ",
            " b |          ",
            "---+----------",
            " 1 |        2",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn aligned_footer_off() {
    // psql: "\\pset footer off"
    // psql: "select 1 as a"
    assert_eq!(
        format_aligned(
            &rs(&[("a", 23)], &[&[s("1")]]),
            &Options {
                footer: false,
                ..opts()
            }
        ),
        lines(&[" a ", "---", " 1", "",])
    );
}

#[test]
fn aligned_footer_off_empty() {
    // psql: "\\pset footer off"
    // psql: "select 1 as a where false"
    assert_eq!(
        format_aligned(
            &rs(&[("a", 23)], &[]),
            &Options {
                footer: false,
                ..opts()
            }
        ),
        lines(&[" a ", "---", "",])
    );
}

#[test]
fn aligned_null_display() {
    // psql: "\\pset null (null)"
    // psql: "select null::int as x, null as y, 'ab' as z"
    assert_eq!(
        format_aligned(
            &rs(
                &[("x", 23), ("y", 25), ("z", 25)],
                &[&[None, None, s("ab")]]
            ),
            &null_opts("(null)")
        ),
        lines(&[
            "   x    |   y    | z  ",
            "--------+--------+----",
            " (null) | (null) | ab",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn aligned_control_characters() {
    // psql: "select E'a\\tb' as t, E'a\\rb' as r, E'\\x01z' as c, E'x\\u0085y' as u, '😀' as e, 'ｱ' as half, '한국' as k, E'ab\\tc\\td' as t2"
    assert_eq!(
        format_aligned(
            &rs(
                &[
                    ("t", 25),
                    ("r", 25),
                    ("c", 25),
                    ("u", 25),
                    ("e", 25),
                    ("half", 25),
                    ("k", 25),
                    ("t2", 25)
                ],
                &[&[
                    s("a\tb"),
                    s("a\rb"),
                    s("\u{1}z"),
                    s("x\u{85}y"),
                    s("😀"),
                    s("ｱ"),
                    s("한국"),
                    s("ab\tc\td")
                ]]
            ),
            &opts()
        ),
        lines(&[
            "     t     |  r   |   c   |    u     | e  | half |  k   |        t2         ",
            "-----------+------+-------+----------+----+------+------+-------------------",
            " a       b | a\\rb | \\x01z | x\\u0085y | 😀 | ｱ    | 한국 | ab      c       d",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn aligned_control_characters_in_headers() {
    // psql: "select E'\\t' as \"h\tx\", 1 as \"a\rb\""
    assert_eq!(
        format_aligned(
            &rs(&[("h\tx", 25), ("a\rb", 23)], &[&[s("\t"), s("1")]]),
            &opts()
        ),
        lines(&[
            " h       x | a\\rb ",
            "-----------+------",
            "           |    1",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn aligned_value_is_a_newline() {
    // psql: "select E'\\n'"
    assert_eq!(
        format_aligned(&rs(&[("?column?", 25)], &[&[s("\n")]]), &opts()),
        lines(&[" ?column? ", "----------", "         +", " ", "(1 row)", "",])
    );
}

#[test]
fn aligned_numeric_types_right_aligned() {
    // psql: "select 1::int2 a, 2::int8 b, 3::float4 c, 4::oid d, '5'::xid e, '6'::cid f, '7'::xid8 g, 8::money h, 'x' as i, true as j, 'x'::\"char\" k"
    assert_eq!(
        format_aligned(
            &rs(
                &[
                    ("a", 21),
                    ("b", 20),
                    ("c", 700),
                    ("d", 26),
                    ("e", 28),
                    ("f", 29),
                    ("g", 5069),
                    ("h", 790),
                    ("i", 25),
                    ("j", 16),
                    ("k", 18)
                ],
                &[&[
                    s("1"),
                    s("2"),
                    s("3"),
                    s("4"),
                    s("5"),
                    s("6"),
                    s("7"),
                    s("$8.00"),
                    s("x"),
                    s("t"),
                    s("x")
                ]]
            ),
            &opts()
        ),
        lines(&[
            " a | b | c | d | e | f | g |   h   | i | j | k ",
            "---+---+---+---+---+---+---+-------+---+---+---",
            " 1 | 2 | 3 | 4 | 5 | 6 | 7 | $8.00 | x | t | x",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn aligned_header_wider_than_numbers() {
    // psql: "select * from (values (12345, 1.5, 'a'), (7, null, 'bcdef')) v(n, longer_name, t)"
    assert_eq!(
        format_aligned(
            &rs(
                &[("n", 23), ("longer_name", 1700), ("t", 25)],
                &[&[s("12345"), s("1.5"), s("a")], &[s("7"), None, s("bcdef")]]
            ),
            &opts()
        ),
        lines(&[
            "   n   | longer_name |   t   ",
            "-------+-------------+-------",
            " 12345 |         1.5 | a",
            "     7 |             | bcdef",
            "(2 rows)",
            "",
        ])
    );
}

#[test]
fn aligned_void_value_footer_off() {
    // psql: "\\pset footer off"
    // psql: "select pg_sleep(0)"
    assert_eq!(
        format_aligned(
            &rs(&[("pg_sleep", 2278)], &[&[s("")]]),
            &Options {
                footer: false,
                ..opts()
            }
        ),
        lines(&[" pg_sleep ", "----------", " ", "",])
    );
}

#[test]
fn insert_returning_prints_table_then_tag() {
    // psql: "insert into u(a,b) values (7,'q') returning a, b"
    assert_eq!(
        format_aligned(&rs(&[("a", 23), ("b", 25)], &[&[s("7"), s("q")]]), &opts())
            + &format_command_tag("INSERT 0 1"),
        lines(&[" a | b ", "---+---", " 7 | q", "(1 row)", "", "INSERT 0 1",])
    );
}

#[test]
fn expanded_null_display() {
    // psql: "\\pset null (null)"
    // psql: "select null::int as x, null as y, 'ab' as z"
    assert_eq!(
        format_expanded(
            &rs(
                &[("x", 23), ("y", 25), ("z", 25)],
                &[&[None, None, s("ab")]]
            ),
            &null_opts("(null)")
        ),
        lines(&["-[ RECORD 1 ]", "x | (null)", "y | (null)", "z | ab", "",])
    );
}

#[test]
fn expanded_basic_multiline_null() {
    // psql: "select * from t order by id"
    assert_eq!(
        format_expanded(
            &rs(
                &[("id", 23), ("name", 25), ("n", 1700), ("f", 701)],
                &[
                    &[s("1"), s("alice"), s("1.5"), s("1.5")],
                    &[s("2"), None, s("100"), s("1.5")],
                    &[s("3"), s("multi\nline\nx"), s("-3"), s("1.5")]
                ]
            ),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]",
            "id   | 1",
            "name | alice",
            "n    | 1.5",
            "f    | 1.5",
            "-[ RECORD 2 ]",
            "id   | 2",
            "name | ",
            "n    | 100",
            "f    | 1.5",
            "-[ RECORD 3 ]",
            "id   | 3",
            "name | multi+",
            "     | line +",
            "     | x",
            "n    | -3",
            "f    | 1.5",
            "",
        ])
    );
}

#[test]
fn expanded_empty_result() {
    // psql: "select 1 as a, 'x' as longername where false"
    assert_eq!(
        format_expanded(&rs(&[("a", 23), ("longername", 25)], &[]), &opts()),
        lines(&["(0 rows)", "",])
    );
}

#[test]
fn expanded_zero_columns_one_row() {
    // psql: "select"
    assert_eq!(
        format_expanded(&rs(&[], &[&[]]), &opts()),
        lines(&["(1 row)", "",])
    );
}

#[test]
fn expanded_zero_columns_three_rows() {
    // psql: "select from t"
    assert_eq!(
        format_expanded(&rs(&[], &[&[], &[], &[]]), &opts()),
        lines(&["(3 rows)", "",])
    );
}

#[test]
fn expanded_multiline_header_and_wide_data() {
    // psql: "select 1 as \"a\nb\", 'é\n日本' as c, 4 as d"
    assert_eq!(
        format_expanded(
            &rs(
                &[("a\nb", 23), ("c", 25), ("d", 23)],
                &[&[s("1"), s("é\n日本"), s("4")]]
            ),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]",
            "a+| 1",
            "b |",
            "c | é   +",
            "  | 日本",
            "d | 4",
            "",
        ])
    );
}

#[test]
fn expanded_record_rule_with_divider() {
    // psql: "select 1 as aaaaaaaaaaaaaaaaaaaaaaaaaa, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as c"
    assert_eq!(
        format_expanded(
            &rs(
                &[("aaaaaaaaaaaaaaaaaaaaaaaaaa", 23), ("c", 25)],
                &[&[s("1"), s("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")]]
            ),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]--------------+--------------------------------------------",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa | 1",
            "c                          | bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "",
        ])
    );
}

#[test]
fn expanded_record_rule_label_covers_divider() {
    // psql: "select 'x' as abcdefghij, 'yyyyyyy' as b"
    assert_eq!(
        format_expanded(
            &rs(&[("abcdefghij", 25), ("b", 25)], &[&[s("x"), s("yyyyyyy")]]),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]-------",
            "abcdefghij | x",
            "b          | yyyyyyy",
            "",
        ])
    );
}

#[test]
fn expanded_footer_off_empty() {
    // psql: "\\pset footer off"
    // psql: "select 1 as a where false"
    assert_eq!(
        format_expanded(
            &rs(&[("a", 23)], &[]),
            &Options {
                footer: false,
                ..opts()
            }
        ),
        lines(&["",])
    );
}

#[test]
fn expanded_multiline_header_longer_data() {
    // psql: "select 1 as a, E'x\\nyy\\nzzzz' as \"h\nhh\""
    assert_eq!(
        format_expanded(
            &rs(&[("a", 23), ("h\nhh", 25)], &[&[s("1"), s("x\nyy\nzzzz")]]),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]",
            "a  | 1",
            "h +| x   +",
            "hh | yy  +",
            "   | zzzz",
            "",
        ])
    );
}

#[test]
fn expanded_two_records() {
    // psql: "select * from (values (1, ''), (22, 'abc')) v(n, t)"
    assert_eq!(
        format_expanded(
            &rs(
                &[("n", 23), ("t", 25)],
                &[&[s("1"), s("")], &[s("22"), s("abc")]]
            ),
            &opts()
        ),
        lines(&[
            "-[ RECORD 1 ]",
            "n | 1",
            "t | ",
            "-[ RECORD 2 ]",
            "n | 22",
            "t | abc",
            "",
        ])
    );
}

#[test]
fn error_syntax_error_caret() {
    // psql: "SELECT * FROMM t;"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42601".to_string(),
                message: "syntax error at or near \"FROMM\"".to_string(),
                detail: None,
                hint: None,
                position: Some(10),
                context: None
            },
            "SELECT * FROMM t;",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  syntax error at or near \"FROMM\"",
            "LINE 1: SELECT * FROMM t;",
            "                 ^",
        ])
    );
}

#[test]
fn error_missing_column_caret() {
    // psql: "SELECT nosuchcol FROM pg_class;"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuchcol\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(8),
                context: None
            },
            "SELECT nosuchcol FROM pg_class;",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuchcol\" does not exist",
            "LINE 1: SELECT nosuchcol FROM pg_class;",
            "               ^",
        ])
    );
}

#[test]
fn error_without_position() {
    // psql: "select 1/0"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "22012".to_string(),
                message: "division by zero".to_string(),
                detail: None,
                hint: None,
                position: None,
                context: None
            },
            "select 1/0",
            Verbosity::Default
        ),
        lines(&["ERROR:  division by zero",])
    );
}

#[test]
fn error_with_detail() {
    // psql: "insert into t(id,name,f) values (1,'x',1)"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "23505".to_string(),
                message: "duplicate key value violates unique constraint \"t_pkey\"".to_string(),
                detail: Some("Key (id)=(1) already exists.".to_string()),
                hint: None,
                position: None,
                context: None
            },
            "insert into t(id,name,f) values (1,'x',1)",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  duplicate key value violates unique constraint \"t_pkey\"",
            "DETAIL:  Key (id)=(1) already exists.",
        ])
    );
}

#[test]
fn error_with_hint() {
    // psql: "select foo()"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42883".to_string(), message: "function foo() does not exist".to_string(), detail: None, hint: Some("No function matches the given name and argument types. You might need to add explicit type casts.".to_string()), position: Some(8),
                context: None }, "select foo()", Verbosity::Default), lines(&[
        "ERROR:  function foo() does not exist",
        "LINE 1: select foo()",
        "               ^",
        "HINT:  No function matches the given name and argument types. You might need to add explicit type casts.",
    ]));
}

#[test]
fn error_multiline_query_shows_only_its_line() {
    // psql: "select\n  1,\n  nosuch\nfrom t"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(15),
                context: None
            },
            "select\n  1,\n  nosuch\nfrom t",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 3:   nosuch",
            "          ^",
        ])
    );
}

#[test]
fn error_leading_spaces_kept() {
    // psql: "   select nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(11),
                context: None
            },
            "   select nosuch",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 1:    select nosuch",
            "                  ^",
        ])
    );
}

#[test]
fn error_at_end_of_input() {
    // psql: "select 1 +"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42601".to_string(),
                message: "syntax error at end of input".to_string(),
                detail: None,
                hint: None,
                position: Some(11),
                context: None
            },
            "select 1 +",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  syntax error at end of input",
            "LINE 1: select 1 +",
            "                  ^",
        ])
    );
}

#[test]
fn error_long_line_cut_left() {
    // psql: "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, nosuch"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(87),
                context: None }, "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, nosuch", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 1: ..., 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, nosuch",
        "                                                                 ^",
    ]));
}

#[test]
fn error_long_line_cut_right() {
    // psql: "select nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(8),
                context: None }, "select nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 1: select nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14...",
        "               ^",
    ]));
}

#[test]
fn error_long_line_cut_both_sides() {
    // psql: "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(99),
                context: None }, "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 1: ..., 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1,...",
        "                                                             ^",
    ]));
}

#[test]
fn error_long_line_near_end() {
    // psql: "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, nosuch"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(162),
                context: None }, "select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, nosuch", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 1: ...4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, nosuch",
        "                                                                 ^",
    ]));
}

#[test]
fn error_tab_and_wide_characters() {
    // psql: "select\t'日本語', nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(15),
                context: None
            },
            "select\t'日本語', nosuch",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 1: select '日本語', nosuch",
            "                         ^",
        ])
    );
}

#[test]
fn error_long_wide_line() {
    // psql: "select '日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語', nosuch"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(51),
                context: None }, "select '日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語', nosuch", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 1: ...語日本語日本語日本語日本語日本語日本語日本語日本語', nosuch",
        "                                                                ^",
    ]));
}

#[test]
fn error_crlf_line_ends() {
    // psql: "select 1,\r\n  nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(14),
                context: None
            },
            "select 1,\r\n  nosuch",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 2:   nosuch",
            "          ^",
        ])
    );
}

#[test]
fn error_cr_line_ends() {
    // psql: "select 1,\r  nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(13),
                context: None
            },
            "select 1,\r  nosuch",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 2:   nosuch",
            "          ^",
        ])
    );
}

#[test]
fn error_long_line_inside_multiline_query() {
    // psql: "select 1,\n\n  1,\n  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\nfrom t"
    assert_eq!(format_error(&ErrorReport { severity: "ERROR".to_string(), sqlstate: "42703".to_string(), message: "column \"nosuch\" does not exist".to_string(), detail: None, hint: None, position: Some(110),
                context: None }, "select 1,\n\n  1,\n  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\nfrom t", Verbosity::Default), lines(&[
        "ERROR:  column \"nosuch\" does not exist",
        "LINE 4: ..., 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1,...",
        "                                                             ^",
    ]));
}

#[test]
fn error_combining_character() {
    // psql: "select 'é', nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(14),
                context: None
            },
            "select 'é', nosuch",
            Verbosity::Default
        ),
        lines(&[
            "ERROR:  column \"nosuch\" does not exist",
            "LINE 1: select 'é', nosuch",
            "                     ^",
        ])
    );
}

#[test]
fn error_terse_position() {
    // psql: "select nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42703".to_string(),
                message: "column \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(8),
                context: None
            },
            "select nosuch",
            Verbosity::Terse
        ),
        lines(&["ERROR:  column \"nosuch\" does not exist at character 8",])
    );
}

#[test]
fn error_verbose_sqlstate() {
    // psql: "select * from nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "ERROR".to_string(),
                sqlstate: "42P01".to_string(),
                message: "relation \"nosuch\" does not exist".to_string(),
                detail: None,
                hint: None,
                position: Some(15),
                context: None
            },
            "select * from nosuch",
            Verbosity::Verbose
        ),
        lines(&[
            "ERROR:  42P01: relation \"nosuch\" does not exist",
            "LINE 1: select * from nosuch",
            "                      ^",
        ])
    );
}

#[test]
fn notice_default() {
    // psql: "drop table if exists nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "NOTICE".to_string(),
                sqlstate: "00000".to_string(),
                message: "table \"nosuch\" does not exist, skipping".to_string(),
                detail: None,
                hint: None,
                position: None,
                context: None
            },
            "drop table if exists nosuch",
            Verbosity::Default
        ),
        lines(&["NOTICE:  table \"nosuch\" does not exist, skipping",])
    );
}

#[test]
fn notice_verbose() {
    // psql: "drop table if exists nosuch"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "NOTICE".to_string(),
                sqlstate: "00000".to_string(),
                message: "table \"nosuch\" does not exist, skipping".to_string(),
                detail: None,
                hint: None,
                position: None,
                context: None
            },
            "drop table if exists nosuch",
            Verbosity::Verbose
        ),
        lines(&["NOTICE:  00000: table \"nosuch\" does not exist, skipping",])
    );
}

#[test]
fn warning_default() {
    // psql: "commit"
    assert_eq!(
        format_error(
            &ErrorReport {
                severity: "WARNING".to_string(),
                sqlstate: "25P01".to_string(),
                message: "there is no transaction in progress".to_string(),
                detail: None,
                hint: None,
                position: None,
                context: None
            },
            "commit",
            Verbosity::Default
        ),
        lines(&["WARNING:  there is no transaction in progress",])
    );
}

#[test]
fn describe_list_relations() {
    // psql: "\\d"
    assert_eq!(
        format_relation_list(
            &[
                rel("public", "t", RelationKind::Table),
                rel("public", "t_id_seq", RelationKind::Sequence),
                rel("public", "z", RelationKind::Table),
                rel("public", "p", RelationKind::Table),
                rel("public", "u", RelationKind::Table)
            ],
            None,
            &opts()
        ),
        lines(&[
            "            List of relations",
            " Schema |   Name   |   Type   |  Owner   ",
            "--------+----------+----------+----------",
            " public | p        | table    | postgres",
            " public | t        | table    | postgres",
            " public | t_id_seq | sequence | postgres",
            " public | u        | table    | postgres",
            " public | z        | table    | postgres",
            "(5 rows)",
            "",
        ])
    );
}

#[test]
fn describe_list_tables() {
    // psql: "\\dt"
    assert_eq!(
        format_relation_list(
            &[
                rel("public", "z", RelationKind::Table),
                rel("public", "u", RelationKind::Table),
                rel("public", "t", RelationKind::Table),
                rel("public", "p", RelationKind::Table)
            ],
            None,
            &opts()
        ),
        lines(&[
            "        List of relations",
            " Schema | Name | Type  |  Owner   ",
            "--------+------+-------+----------",
            " public | p    | table | postgres",
            " public | t    | table | postgres",
            " public | u    | table | postgres",
            " public | z    | table | postgres",
            "(4 rows)",
            "",
        ])
    );
}

#[test]
fn describe_list_tables_pattern() {
    // psql: "\\dt u"
    assert_eq!(
        format_relation_list(
            &[rel("public", "u", RelationKind::Table)],
            Some("u"),
            &opts()
        ),
        lines(&[
            "        List of relations",
            " Schema | Name | Type  |  Owner   ",
            "--------+------+-------+----------",
            " public | u    | table | postgres",
            "(1 row)",
            "",
        ])
    );
}

#[test]
fn describe_list_tables_expanded() {
    // psql: "\\dt"
    assert_eq!(
        format_relation_list(
            &[
                rel("public", "z", RelationKind::Table),
                rel("public", "u", RelationKind::Table),
                rel("public", "t", RelationKind::Table),
                rel("public", "p", RelationKind::Table)
            ],
            None,
            &Options {
                expanded: Expanded::On,
                ..opts()
            }
        ),
        lines(&[
            "List of relations",
            "-[ RECORD 1 ]----",
            "Schema | public",
            "Name   | p",
            "Type   | table",
            "Owner  | postgres",
            "-[ RECORD 2 ]----",
            "Schema | public",
            "Name   | t",
            "Type   | table",
            "Owner  | postgres",
            "-[ RECORD 3 ]----",
            "Schema | public",
            "Name   | u",
            "Type   | table",
            "Owner  | postgres",
            "-[ RECORD 4 ]----",
            "Schema | public",
            "Name   | z",
            "Type   | table",
            "Owner  | postgres",
            "",
        ])
    );
}

#[test]
fn describe_nothing_found() {
    // psql: "\\d"
    assert_eq!(
        format_relation_list(&[], None, &opts()),
        lines(&["Did not find any relations.",])
    );
}

#[test]
fn describe_pattern_not_found() {
    // psql: "\\dt x*"
    assert_eq!(
        format_relation_list(&[], Some("x*"), &opts()),
        lines(&["Did not find any relation named \"x*\".",])
    );
}

#[test]
fn describe_name_not_found() {
    // psql: "\\d nosuch"
    assert_eq!(
        not_found(Some("nosuch")),
        lines(&["Did not find any relation named \"nosuch\".",])
    );
}

#[test]
fn describe_table_t() {
    // psql: "\\d t"
    assert_eq!(
        format_table_description(&table_t()),
        lines(&[
            "                                 Table \"public.t\"",
            " Column |       Type       | Collation | Nullable |            Default            ",
            "--------+------------------+-----------+----------+-------------------------------",
            " id     | integer          |           | not null | nextval('t_id_seq'::regclass)",
            " name   | text             |           |          | ",
            " n      | numeric          |           |          | ",
            " f      | double precision |           | not null | 1.5",
            "Indexes:",
            "    \"t_pkey\" PRIMARY KEY, btree (id)",
            "    \"t_name_key\" UNIQUE CONSTRAINT, btree (name)",
            "Referenced by:",
            "    TABLE \"p\" CONSTRAINT \"p_r_fkey\" FOREIGN KEY (r) REFERENCES t(id)",
            "",
        ])
    );
}

#[test]
fn describe_table_u() {
    // psql: "\\d u"
    assert_eq!(
        format_table_description(&table_u()),
        lines(&[
            "                           Table \"public.u\"",
            " Column |           Type           | Collation | Nullable |  Default  ",
            "--------+--------------------------+-----------+----------+-----------",
            " a      | integer                  |           |          | ",
            " b      | character varying(10)    |           | not null | ",
            " c      | text                     | C         |          | 'x'::text",
            " d      | timestamp with time zone |           |          | now()",
            "Indexes:",
            "    \"u_b_idx\" btree (b)",
            "    \"uc\" UNIQUE CONSTRAINT, btree (b, a)",
            "    \"ui\" UNIQUE, btree (a) WHERE a > 0",
            "",
        ])
    );
}

#[test]
fn describe_table_p() {
    // psql: "\\d p"
    assert_eq!(
        format_table_description(&table_p()),
        lines(&[
            "                 Table \"public.p\"",
            " Column |  Type   | Collation | Nullable | Default ",
            "--------+---------+-----------+----------+---------",
            " id     | integer |           | not null | ",
            " v      | integer |           |          | ",
            " r      | integer |           |          | ",
            "Indexes:",
            "    \"p_pkey\" PRIMARY KEY, btree (id)",
            "Check constraints:",
            "    \"p_v_check\" CHECK (v > 0)",
            "    \"two\" CHECK (v < 100)",
            "Foreign-key constraints:",
            "    \"p_r_fkey\" FOREIGN KEY (r) REFERENCES t(id)",
            "",
        ])
    );
}

#[test]
fn describe_table_without_columns() {
    // psql: "\\d z"
    assert_eq!(
        format_table_description(&TableDescription {
            schema: "public".into(),
            name: "z".into(),
            unlogged: false,
            columns: vec![],
            indexes: vec![],
            check_constraints: vec![],
            foreign_keys: vec![],
            referenced_by: vec![]
        }),
        lines(&[
            "                Table \"public.z\"",
            " Column | Type | Collation | Nullable | Default ",
            "--------+------+-----------+----------+---------",
            "",
        ])
    );
}

#[test]
fn describe_table_in_expanded_mode_stays_aligned() {
    // psql: "\\d p"
    assert_eq!(
        format_table_description(&table_p()),
        lines(&[
            "                 Table \"public.p\"",
            " Column |  Type   | Collation | Nullable | Default ",
            "--------+---------+-----------+----------+---------",
            " id     | integer |           | not null | ",
            " v      | integer |           |          | ",
            " r      | integer |           |          | ",
            "Indexes:",
            "    \"p_pkey\" PRIMARY KEY, btree (id)",
            "Check constraints:",
            "    \"p_v_check\" CHECK (v > 0)",
            "    \"two\" CHECK (v < 100)",
            "Foreign-key constraints:",
            "    \"p_r_fkey\" FOREIGN KEY (r) REFERENCES t(id)",
            "",
        ])
    );
}

fn rel(schema: &str, name: &str, kind: RelationKind) -> RelationSummary {
    RelationSummary {
        schema: schema.into(),
        name: name.into(),
        kind,
        owner: "postgres".into(),
    }
}

fn col(
    name: &str,
    type_name: &str,
    collation: Option<&str>,
    not_null: bool,
    default: Option<&str>,
) -> ColumnDescription {
    ColumnDescription {
        name: name.into(),
        type_name: type_name.into(),
        collation: collation.map(Into::into),
        not_null,
        default: default.map(Into::into),
    }
}

fn index(
    name: &str,
    kind: IndexKind,
    columns: &[&str],
    predicate: Option<&str>,
) -> IndexDescription {
    IndexDescription {
        name: name.into(),
        kind,
        method: "btree".into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        predicate: predicate.map(Into::into),
    }
}

fn constraint(name: &str, definition: &str) -> ConstraintDescription {
    ConstraintDescription {
        name: name.into(),
        definition: definition.into(),
    }
}

fn table_t() -> TableDescription {
    TableDescription {
        schema: "public".into(),
        name: "t".into(),
        unlogged: false,
        columns: vec![
            col(
                "id",
                "integer",
                None,
                true,
                Some("nextval('t_id_seq'::regclass)"),
            ),
            col("name", "text", None, false, None),
            col("n", "numeric", None, false, None),
            col("f", "double precision", None, true, Some("1.5")),
        ],
        // Given out of order: the formatter puts the primary key first.
        indexes: vec![
            index("t_name_key", IndexKind::UniqueConstraint, &["name"], None),
            index("t_pkey", IndexKind::PrimaryKey, &["id"], None),
        ],
        check_constraints: vec![],
        foreign_keys: vec![],
        referenced_by: vec![ReferencingConstraint {
            table: "p".into(),
            constraint: constraint("p_r_fkey", "FOREIGN KEY (r) REFERENCES t(id)"),
        }],
    }
}

fn table_u() -> TableDescription {
    TableDescription {
        schema: "public".into(),
        name: "u".into(),
        unlogged: false,
        columns: vec![
            col("a", "integer", None, false, None),
            col("b", "character varying(10)", None, true, None),
            col("c", "text", Some("C"), false, Some("'x'::text")),
            col("d", "timestamp with time zone", None, false, Some("now()")),
        ],
        indexes: vec![
            index("ui", IndexKind::Unique, &["a"], Some("a > 0")),
            index("uc", IndexKind::UniqueConstraint, &["b", "a"], None),
            index("u_b_idx", IndexKind::Plain, &["b"], None),
        ],
        check_constraints: vec![],
        foreign_keys: vec![],
        referenced_by: vec![],
    }
}

fn table_p() -> TableDescription {
    TableDescription {
        schema: "public".into(),
        name: "p".into(),
        unlogged: false,
        columns: vec![
            col("id", "integer", None, true, None),
            col("v", "integer", None, false, None),
            col("r", "integer", None, false, None),
        ],
        indexes: vec![index("p_pkey", IndexKind::PrimaryKey, &["id"], None)],
        check_constraints: vec![
            constraint("two", "CHECK (v < 100)"),
            constraint("p_v_check", "CHECK (v > 0)"),
        ],
        foreign_keys: vec![constraint("p_r_fkey", "FOREIGN KEY (r) REFERENCES t(id)")],
        referenced_by: vec![],
    }
}

/// psql titles an unlogged table's `\d` so (checked against PostgreSQL 15's psql).
#[test]
fn an_unlogged_table_says_so_in_its_title() {
    let mut table = table_t();
    table.unlogged = true;
    let out = format_table_description(&table);
    let title = out.lines().next().unwrap_or_default();
    assert_eq!(title.trim(), "Unlogged table \"public.t\"");
    assert!(title.starts_with("  "), "centred: {title:?}");
}
