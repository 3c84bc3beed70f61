//! Hand-written tests. Expected messages and prompts were observed in real
//! psql 15 sessions (interactive, through a pseudo-terminal).

use super::*;
use proptest::prelude::*;

fn apply(line: &str, opts: &mut Options) -> String {
    parse_meta_command(line).apply(opts)
}

#[test]
fn meta_expanded_messages() {
    let mut o = Options::default();
    assert_eq!(apply("\\x", &mut o), "Expanded display is on.\n");
    assert_eq!(o.expanded, Expanded::On);
    assert_eq!(apply("\\x", &mut o), "Expanded display is off.\n");
    assert_eq!(
        apply("\\x auto", &mut o),
        "Expanded display is used automatically.\n"
    );
    // psql toggles from auto to off.
    assert_eq!(apply("\\x", &mut o), "Expanded display is off.\n");
    assert_eq!(apply("\\x ON", &mut o), "Expanded display is on.\n");
    assert_eq!(apply("\\x of", &mut o), "Expanded display is off.\n");
    assert_eq!(apply("\\x t", &mut o), "Expanded display is on.\n");
    assert_eq!(apply("\\x 0", &mut o), "Expanded display is off.\n");
    assert_eq!(
        apply("\\x o", &mut o),
        "unrecognized value \"o\" for \"expanded\"\nAvailable values are: on, off, auto.\n"
    );
    assert_eq!(
        apply("\\x bogus", &mut o),
        "unrecognized value \"bogus\" for \"expanded\"\nAvailable values are: on, off, auto.\n"
    );
    assert_eq!(o.expanded, Expanded::Off);
}

#[test]
fn meta_pset_null() {
    let mut o = Options::default();
    assert_eq!(apply("\\pset null", &mut o), "Null display is \"\".\n");
    assert_eq!(
        apply("\\pset null (null)", &mut o),
        "Null display is \"(null)\".\n"
    );
    assert_eq!(o.null_display, "(null)");
    assert_eq!(
        apply("\\pset null", &mut o),
        "Null display is \"(null)\".\n"
    );
    assert_eq!(apply("\\pset null ''", &mut o), "Null display is \"\".\n");
    assert_eq!(
        apply("\\pset null 'a b'", &mut o),
        "Null display is \"a b\".\n"
    );
    assert_eq!(
        apply("\\pset null \"q\"", &mut o),
        "Null display is \"\"q\"\".\n"
    );
    assert_eq!(
        apply("\\pset null 'it''s'", &mut o),
        "Null display is \"it's\".\n"
    );
    assert_eq!(
        apply("\\pset null 'a\\tb'", &mut o),
        "Null display is \"a\tb\".\n"
    );
    assert_eq!(
        apply("\\pset null NULL", &mut o),
        "Null display is \"NULL\".\n"
    );
    assert_eq!(
        apply("\\pset null 'unterminated", &mut o),
        "unterminated quoted string\n"
    );
    assert_eq!(o.null_display, "NULL");
}

#[test]
fn meta_pset_footer_and_others() {
    let mut o = Options::default();
    // psql says nothing when given a value, and reports a toggle.
    assert_eq!(apply("\\pset footer off", &mut o), "");
    assert!(!o.footer);
    assert_eq!(apply("\\pset footer", &mut o), "Default footer is on.\n");
    assert_eq!(apply("\\pset footer", &mut o), "Default footer is off.\n");
    assert_eq!(apply("\\pset footer on", &mut o), "");
    assert_eq!(
        apply("\\pset footer bogus", &mut o),
        "unrecognized value \"bogus\" for \"footer\": Boolean expected\n"
    );
    assert!(o.footer);
    assert_eq!(
        apply("\\pset bogus", &mut o),
        "\\pset: unknown option: bogus\n"
    );
    assert!(apply("\\pset border 2", &mut o).contains("not supported"));
}

#[test]
fn meta_timing() {
    let mut o = Options::default();
    assert_eq!(apply("\\timing", &mut o), "Timing is on.\n");
    assert_eq!(apply("\\timing", &mut o), "Timing is off.\n");
    assert_eq!(apply("\\timing on", &mut o), "Timing is on.\n");
    assert_eq!(
        apply("\\timing bogus", &mut o),
        "unrecognized value \"bogus\" for \"\\timing\": Boolean expected\nTiming is on.\n"
    );
    assert_eq!(apply("\\timing off", &mut o), "Timing is off.\n");
}

#[test]
fn meta_parsing() {
    assert_eq!(
        parse_meta_command("\\d"),
        MetaCommand::Describe { pattern: None }
    );
    assert_eq!(
        parse_meta_command("  \\d  t  extra"),
        MetaCommand::Describe {
            pattern: Some("t".into())
        }
    );
    assert_eq!(
        parse_meta_command("\\d \"T\""),
        MetaCommand::Describe {
            pattern: Some("\"T\"".into())
        }
    );
    assert_eq!(
        parse_meta_command("\\dt public.*"),
        MetaCommand::DescribeTables {
            pattern: Some("public.*".into())
        }
    );
    assert_eq!(parse_meta_command("\\q"), MetaCommand::Quit);
    assert_eq!(parse_meta_command("\\quit"), MetaCommand::Quit);
    assert_eq!(parse_meta_command("\\?"), MetaCommand::Help);
    assert_eq!(parse_meta_command("\\x"), MetaCommand::Expanded(None));
    assert_eq!(
        parse_meta_command("\\d+"),
        MetaCommand::Unsupported("\\d+".into())
    );
    assert_eq!(
        parse_meta_command("\\x;"),
        MetaCommand::Unknown("\\x;".into())
    );
    assert_eq!(parse_meta_command("\\"), MetaCommand::Unknown("\\".into()));
}

#[test]
fn meta_unknown_command_message() {
    let mut o = Options::default();
    assert_eq!(
        apply("\\foo", &mut o),
        "invalid command \\foo\nTry \\? for help.\n"
    );
    assert_eq!(
        apply("\\foo;bar baz", &mut o),
        "invalid command \\foo;bar\nTry \\? for help.\n"
    );
    assert_eq!(
        apply("\\d\"t\"", &mut o),
        "invalid command \\d\"t\"\nTry \\? for help.\n"
    );
    assert_eq!(
        apply("\\qq", &mut o),
        "invalid command \\qq\nTry \\? for help.\n"
    );
    assert!(apply("\\?", &mut o).contains("\\dt [PATTERN]"));
    assert_eq!(apply("\\q", &mut o), "");
}

#[test]
fn bool_parsing_like_psql() {
    for t in ["on", "ON", "t", "true", "y", "yes", "1"] {
        assert_eq!(parse_bool(t), Some(true), "{t}");
    }
    for f in ["off", "of", "f", "FALSE", "n", "no", "0"] {
        assert_eq!(parse_bool(f), Some(false), "{f}");
    }
    for bad in ["o", "", "2", "tru e", "yess", "onn"] {
        assert_eq!(parse_bool(bad), None, "{bad}");
    }
}

#[test]
fn timing_lines() {
    // Both observed with psql's \timing.
    assert_eq!(format_timing(0.845), "Time: 0.845 ms\n");
    assert_eq!(format_timing(1202.694), "Time: 1202.694 ms (00:01.203)\n");
    assert_eq!(format_timing(f64::NAN), "Time: 0.000 ms\n");
}

#[test]
fn command_tags() {
    assert_eq!(format_command_tag("CREATE TABLE"), "CREATE TABLE\n");
    assert_eq!(format_command_tag("INSERT 0 3"), "INSERT 0 3\n");
    assert_eq!(format_command_tag(""), "");
    assert!(tag_follows_rows("INSERT 0 1"));
    assert!(tag_follows_rows("UPDATE 1"));
    assert!(tag_follows_rows("DELETE 0"));
    assert!(!tag_follows_rows("SELECT 1"));
}

#[test]
fn format_result_follows_expanded_setting() {
    let rs = ResultSet {
        columns: vec![Column::new("a", 23)],
        rows: vec![vec![Some("1".into())]],
    };
    let mut o = Options::default();
    assert_eq!(format_result(&rs, &o), " a \n---\n 1\n(1 row)\n\n");
    o.expanded = Expanded::Auto;
    assert_eq!(format_result(&rs, &o), " a \n---\n 1\n(1 row)\n\n");
    o.expanded = Expanded::On;
    assert_eq!(format_result(&rs, &o), "-[ RECORD 1 ]\na | 1\n\n");
}

#[test]
fn short_rows_are_padded_with_nulls() {
    let rs = ResultSet {
        columns: vec![Column::new("a", 23), Column::new("b", 25)],
        rows: vec![
            vec![Some("1".into())],
            vec![Some("2".into()), Some("x".into()), Some("extra".into())],
        ],
    };
    let o = Options {
        null_display: "∅".into(),
        ..Options::default()
    };
    assert_eq!(
        format_aligned(&rs, &o),
        " a | b \n---+---\n 1 | ∅\n 2 | x\n(2 rows)\n\n"
    );
}

// ---- prompts (observed in an interactive psql 15) ----

#[test]
fn prompts() {
    let p = |s, tx| prompt("postgres", s, tx, true);
    assert_eq!(p(PromptStatus::Ready, TxStatus::Idle), "postgres=# ");
    assert_eq!(p(PromptStatus::Continue, TxStatus::Idle), "postgres-# ");
    assert_eq!(
        p(PromptStatus::Ready, TxStatus::InTransaction),
        "postgres=*# "
    );
    assert_eq!(
        p(PromptStatus::Continue, TxStatus::InTransaction),
        "postgres-*# "
    );
    assert_eq!(p(PromptStatus::Ready, TxStatus::Failed), "postgres=!# ");
    assert_eq!(p(PromptStatus::Continue, TxStatus::Failed), "postgres-!# ");
    assert_eq!(p(PromptStatus::SingleQuote, TxStatus::Idle), "postgres'# ");
    assert_eq!(p(PromptStatus::DoubleQuote, TxStatus::Idle), "postgres\"# ");
    assert_eq!(p(PromptStatus::Paren, TxStatus::Idle), "postgres(# ");
    assert_eq!(p(PromptStatus::Comment, TxStatus::Idle), "postgres*# ");
    assert_eq!(p(PromptStatus::DollarQuote, TxStatus::Idle), "postgres$# ");
    assert_eq!(
        prompt("db", PromptStatus::Ready, TxStatus::Idle, false),
        "db=> "
    );
}

/// Feeds lines like an interactive session; returns (statements, status) per line.
fn session(lines: &[&str]) -> Vec<(Vec<String>, PromptStatus)> {
    let mut buf = QueryBuffer::new();
    lines
        .iter()
        .map(|l| (buf.push_line(l), buf.status()))
        .collect()
}

#[test]
fn buffer_prompt_statuses_match_psql_session() {
    use PromptStatus::*;
    let got = session(&[
        "select",
        "1;",
        "select '",
        "';",
        "select \"",
        "\";",
        "select (",
        ");",
        "select /* x",
        "*/ 1;",
    ]);
    let statuses: Vec<PromptStatus> = got.iter().map(|g| g.1).collect();
    assert_eq!(
        statuses,
        [
            Continue,
            Ready,
            SingleQuote,
            Ready,
            DoubleQuote,
            Ready,
            Paren,
            Ready,
            Comment,
            Ready
        ]
    );
    assert_eq!(got[1].0, ["select\n1;"]);
    assert_eq!(got[3].0, ["select '\n';"]);
    assert_eq!(got[7].0, ["select (\n);"]);
    let got = session(&["select $$", "$$;", "-- hi", "/* x */", ";"]);
    let statuses: Vec<PromptStatus> = got.iter().map(|g| g.1).collect();
    assert_eq!(statuses, [DollarQuote, Ready, Ready, Continue, Ready]);
    assert_eq!(got[4].0, ["/* x */\n;"]);
    assert!(statement_is_empty(&got[4].0[0]));
}

#[test]
fn several_statements_on_one_line() {
    // psql ran both, and its error showed `LINE 1: select nosuch;`.
    let s = split_statements("   select 1; select nosuch;");
    assert_eq!(s.statements, ["select 1;", "select nosuch;"]);
    assert_eq!((s.rest.as_str(), s.status), ("", PromptStatus::Ready));
    // A trailing `--` comment leaves nothing pending (prompt stays `=`).
    let s = split_statements("select 1; -- c");
    assert_eq!(
        (s.statements.len(), s.rest.as_str(), s.status),
        (1, "", PromptStatus::Ready)
    );
    let s = split_statements("select 1; select 2");
    assert_eq!(
        (s.rest.as_str(), s.status),
        ("select 2", PromptStatus::Continue)
    );
    // Leading `--` lines are dropped, `/* */` comments kept (psql showed
    // `LINE 1: /* c2 */ select nosuch;`).
    let s = split_statements("-- c1\n   /* c2 */ select nosuch;");
    assert_eq!(s.statements, ["/* c2 */ select nosuch;"]);
    let s = split_statements("select 1;;");
    assert_eq!(s.statements, ["select 1;", ";"]);
    assert!(statement_is_empty(&s.statements[1]));
    assert!(!statement_is_empty("select 1;"));
}

#[test]
fn semicolons_inside_quotes_and_comments() {
    let q = "select 'a;b', \"x;\" , $q$ ; $q$, E'a\\'; b', 'it''s;', /* ; /* ; */ ; */ 1 -- ;\n;";
    let s = split_statements(q);
    assert_eq!(s.statements, [q]);
    assert_eq!(s.rest, "");
    let s = split_statements("select $$a$b$$;");
    assert_eq!(s.statements, ["select $$a$b$$;"]);
    let s = split_statements("select $1, a$b; x");
    assert_eq!(
        (s.statements, s.rest.as_str()),
        (vec!["select $1, a$b;".to_string()], "x")
    );
    let s = split_statements(
        "create function f() returns int as $body$ select 1; $body$ language sql;",
    );
    assert_eq!(s.statements.len(), 1);
    let s = split_statements("select 'abc\\';");
    assert_eq!(s.statements, ["select 'abc\\';"]);
    let s = split_statements("select e'abc\\';");
    assert_eq!(s.status, PromptStatus::SingleQuote);
    let s = split_statements("select (1; 2");
    assert_eq!((s.statements.len(), s.status), (0, PromptStatus::Paren));
    let s = split_statements("select 1); select 2;");
    assert_eq!(s.statements.len(), 2);
}

#[test]
fn meta_commands_inside_quotes_are_data() {
    let mut buf = QueryBuffer::new();
    assert!(buf.is_meta_command("\\x"));
    buf.push_line("select 'a");
    assert!(!buf.is_meta_command("\\x"));
    buf.push_line("b';");
    assert!(buf.is_meta_command("  \\d t"));
    buf.push_line("select 1");
    assert!(buf.is_meta_command("\\d"));
    assert_eq!(buf.pending(), "select 1");
    buf.clear();
    assert_eq!((buf.pending(), buf.status()), ("", PromptStatus::Ready));
}

// ---- patterns ----

#[test]
fn name_patterns() {
    let m = |p: &str, s: &str, n: &str| NamePattern::parse(p).matches(s, n);
    assert!(m("t", "public", "t"));
    assert!(m("T", "public", "t"));
    assert!(!m("t", "public", "tt"));
    assert!(m("t*", "public", "t_id_seq"));
    assert!(m("?_*", "public", "t_pkey"));
    assert!(!m("\"T\"", "public", "t"));
    assert!(m("\"T\"", "public", "T"));
    assert!(m("\"a.b\"", "public", "a.b"));
    assert!(m("public.*", "public", "x"));
    assert!(!m("public.*", "other", "x"));
    assert!(m("*.t", "other", "t"));
    assert!(m("*", "public", ""));
    assert!(m("a*b*c", "public", "axxbyyc"));
    assert!(!m("a*b*c", "public", "axxbyy"));
    assert!(NamePattern::parse("public.t").has_schema());
    assert!(!NamePattern::parse("t").has_schema());
    assert!(m("\"say \"\"hi\"\"\"", "public", "say \"hi\""));
}

// ---- robustness ----

#[test]
fn error_position_out_of_range_or_odd() {
    let r = ErrorReport {
        severity: "ERROR".into(),
        message: "m".into(),
        position: Some(0),
        ..Default::default()
    };
    assert_eq!(
        format_error(&r, "select", Verbosity::Default),
        "ERROR:  m\n"
    );
    let r = ErrorReport {
        position: Some(100),
        ..r
    };
    assert_eq!(
        format_error(&r, "select", Verbosity::Default),
        "ERROR:  m\n"
    );
    let r = ErrorReport {
        position: Some(1),
        ..r
    };
    assert_eq!(
        format_error(&r, "", Verbosity::Default),
        "ERROR:  m\nLINE 1: \n        ^\n"
    );
    assert_eq!(
        format_error(&r, "\n", Verbosity::Default),
        "ERROR:  m\nLINE 1: \n        ^\n"
    );
}

fn sql_ish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("$$".to_string()),
            Just("$a$".to_string()),
            Just("/*".to_string()),
            Just("*/".to_string()),
            Just("--".to_string()),
            Just("\n".to_string()),
            Just(";".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("E'".to_string()),
            Just("\\".to_string()),
            "[a-z $\t\r日é]{0,4}",
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn splitter_never_panics_and_loses_nothing_but_noise(input in sql_ish()) {
        let s = split_statements(&input);
        for st in &s.statements {
            prop_assert!(st.ends_with(';'));
        }
        // Statements and rest appear in order inside the input.
        let mut hay = input.as_str();
        for part in s.statements.iter().chain(std::iter::once(&s.rest)) {
            let at = hay.find(part.as_str());
            prop_assert!(at.is_some());
            hay = &hay[at.unwrap_or(0) + part.len()..];
        }
        // Re-splitting the rest is stable.
        prop_assert_eq!(split_statements(&s.rest).rest, s.rest.clone());
        let _ = statement_is_empty(&input);
    }

    #[test]
    fn buffer_line_by_line_never_panics(lines in proptest::collection::vec(sql_ish(), 0..6)) {
        let mut buf = QueryBuffer::new();
        for l in &lines {
            let _ = buf.push_line(l);
            let _ = prompt("db", buf.status(), TxStatus::Idle, true);
        }
    }

    #[test]
    fn formatters_never_panic(
        names in proptest::collection::vec("[a-z\n\t\r日é\u{1}\u{301}]{0,6}", 0..4),
        cells in proptest::collection::vec(proptest::option::of("[a-z\n\t\r日é\u{85}\u{301} ]{0,8}"), 0..12),
        oid in prop_oneof![Just(23u32), Just(25u32)],
        null in "[a-z\n]{0,3}",
    ) {
        let columns: Vec<Column> = names.iter().map(|n| Column::new(n.clone(), oid)).collect();
        let width = columns.len().max(1);
        let rows: Vec<Vec<Option<String>>> = cells.chunks(width).map(|c| c.to_vec()).collect();
        let rs = ResultSet { columns, rows };
        let o = Options { null_display: null, ..Options::default() };
        let a = format_aligned(&rs, &o);
        prop_assert!(a.ends_with("\n\n"));
        let e = format_expanded(&rs, &o);
        prop_assert!(e.ends_with('\n'));
    }

    #[test]
    fn error_position_never_panics(query in "[a-z \t\r\n日é\u{301}]{0,150}", pos in 0usize..200) {
        let r = ErrorReport { severity: "ERROR".into(), message: "m".into(), position: Some(pos), ..Default::default() };
        for v in [Verbosity::Default, Verbosity::Verbose, Verbosity::Terse] {
            let out = format_error(&r, &query, v);
            prop_assert!(out.starts_with("ERROR:  "));
        }
    }

    #[test]
    fn meta_parser_never_panics(line in "\\\\[a-z?+;'\" \\\\]{0,12}") {
        let mut o = Options::default();
        let _ = parse_meta_command(&line).apply(&mut o);
    }

    #[test]
    fn patterns_never_panic(p in "[a-z.*?\"]{0,8}", n in "[a-z.\"]{0,8}") {
        let _ = NamePattern::parse(&p).matches("public", &n);
    }
}

#[test]
fn buffer_matches_second_psql_session() {
    use PromptStatus::*;
    let got = session(&[
        "select (1;",
        "2);",
        "select e'abc\\';",
        "';",
        "select $a$ x $b$ ;",
        "$a$;",
        "select 1 as a$b;",
        "select /* /* */",
        "*/ 1;",
    ]);
    let statuses: Vec<PromptStatus> = got.iter().map(|g| g.1).collect();
    assert_eq!(
        statuses,
        [
            Paren,
            Ready,
            SingleQuote,
            Ready,
            DollarQuote,
            Ready,
            Ready,
            Comment,
            Ready
        ]
    );
    // psql sent `select (1;\n2);` (its error pointed at `LINE 1: select (1;`).
    assert_eq!(got[1].0, ["select (1;\n2);"]);
    assert_eq!(got[5].0, ["select $a$ x $b$ ;\n$a$;"]);
    assert_eq!(got[6].0, ["select 1 as a$b;"]);
}
