#!/usr/bin/env python3
"""Regenerates ../src/tests.rs from a real psql 15 + PostgreSQL 15 server.

Server: port 54331, socket in /tmp, superuser postgres, e.g.
  su postgres -s /bin/bash -c "/usr/lib/postgresql/15/bin/initdb -D /tmp/pgpsql --no-locale -E UTF8 &&
    /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/pgpsql -o '-p 54331 -k /tmp' -l /tmp/pgpsql.log start"
Then run `python3 gen_psql_tests.py --setup` once, and
`python3 gen_psql_tests.py > ../src/tests.rs && cargo fmt -p pgplay-psql`.
"""
import sys

SETUP = [
    "create database empty",
    "create table t(id serial primary key, name text unique, n numeric, f float8 not null default 1.5)",
    "insert into t(name,n) values ('alice', 1.5), (NULL, 100), ('multi\nline\nx', -3)",
    "create table u(a int, b varchar(10) not null, c text collate \"C\" default 'x', d timestamp with time zone default now())",
    "create index on u(b)",
    "create unique index ui on u(a) where a > 0",
    "alter table u add constraint uc unique(b,a)",
    "create table p(id int primary key, v int check (v > 0), r int references t(id), constraint two check (v < 100))",
    "create table z()",
]
if sys.argv[1:] == ['--setup']:
    import subprocess
    for s in SETUP:
        subprocess.run(['psql', '-X', '-h', '/tmp', '-p', '54331', '-U', 'postgres', '-c', s], check=True)
    sys.exit(0)
# The insert ... returning case leaves a row in u; `delete from u` afterwards.
import subprocess, json, re

def run(cmds, flags=()):
    cmd = ['psql','-X','-h','/tmp','-p','54331','-U','postgres', *flags]
    for a in cmds: cmd += ['-c', a]
    out = subprocess.run(cmd, capture_output=True, text=True)
    return out.stdout + out.stderr

def rust_str(l):
    r = ''
    for ch in l:
        if ch == '\\': r += '\\\\'
        elif ch == '"': r += '\\"'
        elif ch == '\t': r += '\\t'
        elif ch == '\r': r += '\\r'
        elif ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0: r += '\\u{%x}' % ord(ch)
        else: r += ch
    return '"' + r + '"'

def lit(text):
    lines = text.split('\n')
    assert lines[-1] == '', repr(text)
    res = []
    for l in lines[:-1]:
        s = rust_str(l)
        res.append('        ' + s + ',')
    return '&[\n' + '\n'.join(res) + '\n    ]'

def strip_location(text):
    return ''.join(l + '\n' for l in text.split('\n')[:-1] if not l.startswith('LOCATION:'))

out = []
def case(name, expr, cmds, flags=(), post=None, comment=None):
    text = run(cmds, flags)
    if post: text = post(text)
    c = '\n    '.join('// psql: ' + json.dumps(x, ensure_ascii=False) for x in cmds)
    out.append(f"#[test]\nfn {name}() {{\n    {c}\n    assert_eq!({expr}, lines({lit(text)}));\n}}\n")

Q = ['-q']
X = ['-q', '-c', '\\x']
T = "select * from t order by id"
T_RS = 'rs(&[("id", 23), ("name", 25), ("n", 1700), ("f", 701)], &[&[s("1"), s("alice"), s("1.5"), s("1.5")], &[s("2"), None, s("100"), s("1.5")], &[s("3"), s("multi\\nline\\nx"), s("-3"), s("1.5")]])'
case('aligned_basic_multiline_null', f'format_aligned(&{T_RS}, &opts())', [T])
case('aligned_empty_result', 'format_aligned(&rs(&[("a", 23), ("b", 25)], &[]), &opts())', ["select 1 as a, 'x' as b where false"])
case('aligned_zero_columns_one_row', 'format_aligned(&rs(&[], &[&[]]), &opts())', ["select"])
case('aligned_zero_columns_three_rows', 'format_aligned(&rs(&[], &[&[], &[], &[]]), &opts())', ["select from t"])
case('aligned_wide_characters', 'format_aligned(&rs(&[("名前", 25), ("n", 23)], &[&[s("日本語"), s("1")]]), &opts())', ["select '日本語' as 名前, 1 as n"])
case('aligned_multiline_header', 'format_aligned(&rs(&[("a\\nb", 23), ("?column?", 23)], &[&[s("1"), s("2")]]), &opts())', ['select 1 as "a\nb", 2'])
case('aligned_footer_off', 'format_aligned(&rs(&[("a", 23)], &[&[s("1")]]), &Options { footer: false, ..opts() })', ["\\pset footer off", "select 1 as a"], Q)
case('aligned_footer_off_empty', 'format_aligned(&rs(&[("a", 23)], &[]), &Options { footer: false, ..opts() })', ["\\pset footer off", "select 1 as a where false"], Q)
case('aligned_null_display', 'format_aligned(&rs(&[("x", 23), ("y", 25), ("z", 25)], &[&[None, None, s("ab")]]), &null_opts("(null)"))', ["\\pset null (null)", "select null::int as x, null as y, 'ab' as z"], Q)
case('aligned_control_characters', 'format_aligned(&rs(&[("t", 25), ("r", 25), ("c", 25), ("u", 25), ("e", 25), ("half", 25), ("k", 25), ("t2", 25)], &[&[s("a\\tb"), s("a\\rb"), s("\\u{1}z"), s("x\\u{85}y"), s("😀"), s("ｱ"), s("한국"), s("ab\\tc\\td")]]), &opts())',
     ["select E'a\\tb' as t, E'a\\rb' as r, E'\\x01z' as c, E'x\\u0085y' as u, '😀' as e, 'ｱ' as half, '한국' as k, E'ab\\tc\\td' as t2"])
case('aligned_control_characters_in_headers', 'format_aligned(&rs(&[("h\\tx", 25), ("a\\rb", 23)], &[&[s("\\t"), s("1")]]), &opts())', ["select E'\\t' as \"h\tx\", 1 as \"a\rb\""])
case('aligned_value_is_a_newline', 'format_aligned(&rs(&[("?column?", 25)], &[&[s("\\n")]]), &opts())', ["select E'\\n'"])
case('aligned_numeric_types_right_aligned', 'format_aligned(&rs(&[("a", 21), ("b", 20), ("c", 700), ("d", 26), ("e", 28), ("f", 29), ("g", 5069), ("h", 790), ("i", 25), ("j", 16), ("k", 18)], &[&[s("1"), s("2"), s("3"), s("4"), s("5"), s("6"), s("7"), s("$8.00"), s("x"), s("t"), s("x")]]), &opts())',
     ["select 1::int2 a, 2::int8 b, 3::float4 c, 4::oid d, '5'::xid e, '6'::cid f, '7'::xid8 g, 8::money h, 'x' as i, true as j, 'x'::\"char\" k"])
case('aligned_header_wider_than_numbers', 'format_aligned(&rs(&[("n", 23), ("longer_name", 1700), ("t", 25)], &[&[s("12345"), s("1.5"), s("a")], &[s("7"), None, s("bcdef")]]), &opts())',
     ["select * from (values (12345, 1.5, 'a'), (7, null, 'bcdef')) v(n, longer_name, t)"])
case('aligned_void_value_footer_off', 'format_aligned(&rs(&[("pg_sleep", 2278)], &[&[s("")]]), &Options { footer: false, ..opts() })', ["\\pset footer off", "select pg_sleep(0)"], Q)
case('insert_returning_prints_table_then_tag', 'format_aligned(&rs(&[("a", 23), ("b", 25)], &[&[s("7"), s("q")]]), &opts()) + &format_command_tag("INSERT 0 1")', ["insert into u(a,b) values (7,'q') returning a, b"])

case('expanded_null_display', 'format_expanded(&rs(&[("x", 23), ("y", 25), ("z", 25)], &[&[None, None, s("ab")]]), &null_opts("(null)"))', ["\\pset null (null)", "select null::int as x, null as y, 'ab' as z"], X)
case('expanded_basic_multiline_null', f'format_expanded(&{T_RS}, &opts())', [T], X)
case('expanded_empty_result', 'format_expanded(&rs(&[("a", 23), ("longername", 25)], &[]), &opts())', ["select 1 as a, 'x' as longername where false"], X)
case('expanded_zero_columns_one_row', 'format_expanded(&rs(&[], &[&[]]), &opts())', ["select"], X)
case('expanded_zero_columns_three_rows', 'format_expanded(&rs(&[], &[&[], &[], &[]]), &opts())', ["select from t"], X)
case('expanded_multiline_header_and_wide_data', 'format_expanded(&rs(&[("a\\nb", 23), ("c", 25), ("d", 23)], &[&[s("1"), s("é\\n日本"), s("4")]]), &opts())', ["select 1 as \"a\nb\", 'é\n日本' as c, 4 as d"], X)
case('expanded_record_rule_with_divider', 'format_expanded(&rs(&[("aaaaaaaaaaaaaaaaaaaaaaaaaa", 23), ("c", 25)], &[&[s("1"), s("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")]]), &opts())', ["select 1 as aaaaaaaaaaaaaaaaaaaaaaaaaa, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as c"], X)
case('expanded_record_rule_label_covers_divider', 'format_expanded(&rs(&[("abcdefghij", 25), ("b", 25)], &[&[s("x"), s("yyyyyyy")]]), &opts())', ["select 'x' as abcdefghij, 'yyyyyyy' as b"], X)
case('expanded_footer_off_empty', 'format_expanded(&rs(&[("a", 23)], &[]), &Options { footer: false, ..opts() })', ["\\pset footer off", "select 1 as a where false"], X)
case('expanded_multiline_header_longer_data', 'format_expanded(&rs(&[("a", 23), ("h\\nhh", 25)], &[&[s("1"), s("x\\nyy\\nzzzz")]]), &opts())', ["select 1 as a, E'x\\nyy\\nzzzz' as \"h\nhh\""], X)
case('expanded_two_records', 'format_expanded(&rs(&[("n", 23), ("t", 25)], &[&[s("1"), s("")], &[s("22"), s("abc")]]), &opts())', ["select * from (values (1, ''), (22, 'abc')) v(n, t)"], X)

def err(name, report, query, flags=(), cmds=None, post=None):
    case(name, f'format_error(&{report}, {json.dumps(query, ensure_ascii=False)}, {"Verbosity::Verbose" if "verbose" in str(flags) else "Verbosity::Terse" if "terse" in str(flags) else "Verbosity::Default"})', cmds or [query], flags, post)

def e(msg, pos=None, detail=None, hint=None, sev="ERROR", state="42703"):
    o = lambda v: 'None' if v is None else f'Some({json.dumps(v, ensure_ascii=False)}.to_string())'
    p = 'None' if pos is None else f'Some({pos})'
    return f'ErrorReport {{ severity: "{sev}".to_string(), sqlstate: "{state}".to_string(), message: {json.dumps(msg)}.to_string(), detail: {o(detail)}, hint: {o(hint)}, position: {p} }}'

L1="select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, nosuch"
L2="select nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25"
L3="select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25"
L4="select 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, nosuch"
L5="select '日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語', nosuch"
ML="select 1,\n\n  1,\n  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, nosuch, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\nfrom t"
NS = 'column "nosuch" does not exist'
err('error_syntax_error_caret', e('syntax error at or near "FROMM"', 10, state="42601"), "SELECT * FROMM t;")
err('error_missing_column_caret', e('column "nosuchcol" does not exist', 8), "SELECT nosuchcol FROM pg_class;")
err('error_without_position', e('division by zero', state="22012"), "select 1/0")
err('error_with_detail', e('duplicate key value violates unique constraint "t_pkey"', None, 'Key (id)=(1) already exists.', state="23505"), "insert into t(id,name,f) values (1,'x',1)")
err('error_with_hint', e('function foo() does not exist', 8, None, 'No function matches the given name and argument types. You might need to add explicit type casts.', state="42883"), "select foo()")
err('error_multiline_query_shows_only_its_line', e(NS, 15), "select\n  1,\n  nosuch\nfrom t")
err('error_leading_spaces_kept', e(NS, 11), "   select nosuch")
err('error_at_end_of_input', e('syntax error at end of input', 11, state="42601"), "select 1 +")
err('error_long_line_cut_left', e(NS, 87), L1)
err('error_long_line_cut_right', e(NS, 8), L2)
err('error_long_line_cut_both_sides', e(NS, 99), L3)
err('error_long_line_near_end', e(NS, 162), L4)
err('error_tab_and_wide_characters', e(NS, 15), "select\t'日本語', nosuch")
err('error_long_wide_line', e(NS, 51), L5)
err('error_crlf_line_ends', e(NS, 14), "select 1,\r\n  nosuch")
err('error_cr_line_ends', e(NS, 13), "select 1,\r  nosuch")
err('error_long_line_inside_multiline_query', e(NS, 110), ML)
err('error_combining_character', e(NS, 14), "select 'e\u0301', nosuch")
err('error_terse_position', e(NS, 8), "select nosuch", ['-v', 'VERBOSITY=terse'])
err('error_verbose_sqlstate', e('relation "nosuch" does not exist', 15, state="42P01"), "select * from nosuch", ['-v', 'VERBOSITY=verbose'], post=strip_location)
err('notice_default', e('table "nosuch" does not exist, skipping', sev="NOTICE", state="00000"), "drop table if exists nosuch", cmds=["drop table if exists nosuch"], flags=['-q'])
err('notice_verbose', e('table "nosuch" does not exist, skipping', sev="NOTICE", state="00000"), "drop table if exists nosuch", ['-q', '-v', 'VERBOSITY=verbose'], post=strip_location)
err('warning_default', e('there is no transaction in progress', sev="WARNING", state="25P01"), "commit", flags=['-q'])


REL = '[rel("public", "t", RelationKind::Table), rel("public", "t_id_seq", RelationKind::Sequence), rel("public", "z", RelationKind::Table), rel("public", "p", RelationKind::Table), rel("public", "u", RelationKind::Table)]'
TABLES = '[rel("public", "z", RelationKind::Table), rel("public", "u", RelationKind::Table), rel("public", "t", RelationKind::Table), rel("public", "p", RelationKind::Table)]'
case('describe_list_relations', f'format_relation_list(&{REL}, None, &opts())', ["\\d"])
case('describe_list_tables', f'format_relation_list(&{TABLES}, None, &opts())', ["\\dt"])
case('describe_list_tables_pattern', 'format_relation_list(&[rel("public", "u", RelationKind::Table)], Some("u"), &opts())', ["\\dt u"])
case('describe_list_tables_expanded', f'format_relation_list(&{TABLES}, None, &Options {{ expanded: Expanded::On, ..opts() }})', ["\\dt"], X)
case('describe_nothing_found', 'format_relation_list(&[], None, &opts())', ["\\d"], ['-d', 'empty'])
case('describe_pattern_not_found', 'format_relation_list(&[], Some("x*"), &opts())', ["\\dt x*"], ['-d', 'empty'])
case('describe_name_not_found', 'not_found(Some("nosuch"))', ["\\d nosuch"])
case('describe_table_t', 'format_table_description(&table_t())', ["\\d t"])
case('describe_table_u', 'format_table_description(&table_u())', ["\\d u"])
case('describe_table_p', 'format_table_description(&table_p())', ["\\d p"])
case('describe_table_without_columns', 'format_table_description(&TableDescription { schema: "public".into(), name: "z".into(), columns: vec![], indexes: vec![], check_constraints: vec![], foreign_keys: vec![], referenced_by: vec![] })', ["\\d z"])
case('describe_table_in_expanded_mode_stays_aligned', 'format_table_description(&table_p())', ["\\d p"], X)

print('''//! Expected strings below were produced by real psql 15 (`psql -X -c ...`
//! against a PostgreSQL 15 server); the SQL run is quoted above each test.
//! (For verbose errors the `LOCATION:` line, which needs server source
//! positions, was removed.)

use super::*;

fn lines(l: &[&str]) -> String {
    l.iter().map(|s| format!("{s}\\n")).collect()
}

fn s(v: &str) -> Option<&str> {
    Some(v)
}

fn rs(cols: &[(&str, u32)], rows: &[&[Option<&str>]]) -> ResultSet {
    ResultSet {
        columns: cols.iter().map(|(n, t)| Column::new(*n, *t)).collect(),
        rows: rows.iter().map(|r| r.iter().map(|v| v.map(str::to_string)).collect()).collect(),
    }
}

fn opts() -> Options {
    Options::default()
}

fn null_opts(null: &str) -> Options {
    Options { null_display: null.to_string(), ..Options::default() }
}
''')
print('\n'.join(out))
print(r'''
fn rel(schema: &str, name: &str, kind: RelationKind) -> RelationSummary {
    RelationSummary { schema: schema.into(), name: name.into(), kind, owner: "postgres".into() }
}

fn col(name: &str, type_name: &str, collation: Option<&str>, not_null: bool, default: Option<&str>) -> ColumnDescription {
    ColumnDescription {
        name: name.into(),
        type_name: type_name.into(),
        collation: collation.map(Into::into),
        not_null,
        default: default.map(Into::into),
    }
}

fn index(name: &str, kind: IndexKind, columns: &[&str], predicate: Option<&str>) -> IndexDescription {
    IndexDescription {
        name: name.into(),
        kind,
        method: "btree".into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        predicate: predicate.map(Into::into),
    }
}

fn constraint(name: &str, definition: &str) -> ConstraintDescription {
    ConstraintDescription { name: name.into(), definition: definition.into() }
}

fn table_t() -> TableDescription {
    TableDescription {
        schema: "public".into(),
        name: "t".into(),
        columns: vec![
            col("id", "integer", None, true, Some("nextval('t_id_seq'::regclass)")),
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
        columns: vec![
            col("id", "integer", None, true, None),
            col("v", "integer", None, false, None),
            col("r", "integer", None, false, None),
        ],
        indexes: vec![index("p_pkey", IndexKind::PrimaryKey, &["id"], None)],
        check_constraints: vec![constraint("two", "CHECK (v < 100)"), constraint("p_v_check", "CHECK (v > 0)")],
        foreign_keys: vec![constraint("p_r_fkey", "FOREIGN KEY (r) REFERENCES t(id)")],
        referenced_by: vec![],
    }
}
''')
