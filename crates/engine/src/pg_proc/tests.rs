use super::*;

fn oid(name: &str) -> u32 {
    catalog()
        .type_oid(name)
        .unwrap_or_else(|| panic!("no type {name}"))
}

fn oids(names: &[&str]) -> Vec<u32> {
    names
        .iter()
        .map(|n| if *n == "unknown" { UNKNOWN } else { oid(n) })
        .collect()
}

/// The declared argument types and result PostgreSQL chooses for `name(inputs)`.
fn chosen(name: &str, inputs: &[&str]) -> Option<(Vec<&'static str>, &'static str)> {
    let c = catalog();
    match c.resolve(name, &oids(inputs)) {
        Resolution::Found(candidate) => Some((
            candidate
                .proc
                .args
                .iter()
                .map(|t| c.type_by_oid(*t).expect("type").name)
                .collect(),
            c.type_by_oid(candidate.proc.result).expect("type").name,
        )),
        _ => None,
    }
}

#[test]
fn the_data_file_is_well_formed() {
    let (parsed, bad) = Catalog::parse(DATA);
    assert!(bad.is_empty(), "lines not understood: {bad:?}");
    assert!(
        parsed.functions().len() > 3000,
        "{}",
        parsed.functions().len()
    );
    assert!(DATA.starts_with("# PostgreSQL 15."));
    for name in [
        "generate_series",
        "pg_last_wal_replay_lsn",
        "jsonb_build_object",
        "pg_wal_replay_pause",
        "string_agg",
        "row_number",
    ] {
        assert!(!parsed.named(name).is_empty(), "{name} missing");
    }
    assert!(parsed.named("no_such_function").is_empty());
    // Every array type knows its element.
    let int4_array = parsed.type_by_oid(1007).expect("_int4");
    assert_eq!(int4_array.element, Some(23));
    assert_eq!(int4_array.display, "integer[]");
    assert!(parsed.implicit_cast(oid("int4"), oid("numeric")));
    assert!(!parsed.implicit_cast(oid("numeric"), oid("int4")));
}

#[test]
fn kinds_volatility_strictness_and_sets() {
    let c = catalog();
    let kind = |name: &str| c.named(name)[0].kind;
    assert_eq!(kind("count"), Kind::Aggregate);
    assert_eq!(kind("row_number"), Kind::Window);
    assert_eq!(kind("lower"), Kind::Function);
    let now = &c.named("now")[0];
    assert_eq!(
        (now.volatility, now.strict, now.returns_set),
        (Volatility::Stable, true, false)
    );
    assert_eq!(c.named("random")[0].volatility, Volatility::Volatile);
    assert!(c.named("generate_series").iter().all(|p| p.returns_set));
    let concat = &c.named("concat")[0];
    assert_eq!(concat.variadic, Some(ANY));
    assert_eq!(concat.arguments_display(c), "VARIADIC \"any\"");
    let replay = &c.named("pg_last_wal_replay_lsn")[0];
    assert_eq!(replay.result_display(c), "pg_lsn");
    assert_eq!(replay.arguments_display(c), "");
    let series = c.named("generate_series");
    assert!(series
        .iter()
        .any(|p| p.result_display(c) == "SETOF integer"
            && p.arguments_display(c) == "integer, integer"));
}

#[test]
fn exact_matches_win() {
    assert_eq!(chosen("abs", &["int4"]), Some((vec!["int4"], "int4")));
    assert_eq!(
        chosen("abs", &["numeric"]),
        Some((vec!["numeric"], "numeric"))
    );
    assert_eq!(
        chosen("generate_series", &["int8", "int8"]),
        Some((vec!["int8", "int8"], "int8"))
    );
}

#[test]
fn integers_promote_to_the_preferred_numeric_type() {
    // round(integer) is round(double precision), as in PostgreSQL (float8 is preferred).
    assert_eq!(chosen("round", &["int4"]), Some((vec!["float8"], "float8")));
    assert_eq!(chosen("sqrt", &["int4"]), Some((vec!["float8"], "float8")));
    // round(integer, integer) exists only for numeric.
    assert_eq!(
        chosen("round", &["int4", "int4"]),
        Some((vec!["numeric", "int4"], "numeric"))
    );
    // One numeric argument makes generate_series numeric.
    assert_eq!(
        chosen("generate_series", &["int4", "numeric"]),
        Some((vec!["numeric", "numeric"], "numeric"))
    );
    assert_eq!(
        chosen("mod", &["int4", "int4"]),
        Some((vec!["int4", "int4"], "int4"))
    );
}

#[test]
fn unknown_literals_take_a_category() {
    // The numeric candidates agree on a category; float8 is its preferred type.
    assert_eq!(
        chosen("abs", &["unknown"]),
        Some((vec!["float8"], "float8"))
    );
    // STRING wins when candidates disagree (length(text), length(bytea), length(bit), ...).
    assert_eq!(chosen("length", &["unknown"]), Some((vec!["text"], "int4")));
    // A known argument decides the others.
    assert_eq!(
        chosen("to_char", &["timestamptz", "unknown"]),
        Some((vec!["timestamptz", "text"], "text"))
    );
    assert_eq!(
        chosen("left", &["unknown", "int4"]),
        Some((vec!["text", "int4"], "text"))
    );
}

#[test]
fn varchar_and_name_reach_text() {
    assert_eq!(chosen("lower", &["varchar"]), Some((vec!["text"], "text")));
    assert_eq!(chosen("upper", &["name"]), Some((vec!["text"], "text")));
}

#[test]
fn variadic_and_default_arguments() {
    assert_eq!(
        chosen("concat", &["int4", "unknown", "bool"]).map(|c| c.1),
        Some("text")
    );
    assert!(chosen("concat", &[]).is_none());
    assert_eq!(
        chosen("pg_terminate_backend", &["int4"]),
        Some((vec!["int4", "int8"], "bool"))
    );
    assert_eq!(
        chosen("jsonb_build_object", &[]).map(|c| c.1),
        Some("jsonb")
    );
    assert!(chosen("pg_last_wal_replay_lsn", &["int4"]).is_none());
}

#[test]
fn polymorphic_arguments_must_agree() {
    assert!(chosen("array_append", &["_int4", "int4"]).is_some());
    assert!(chosen("array_append", &["_int4", "text"]).is_none());
    assert!(chosen("array_length", &["int4", "int4"]).is_none());
}

#[test]
fn missing_ambiguous_and_casts() {
    let c = catalog();
    assert_eq!(c.resolve("abs", &oids(&["text"])), Resolution::NotFound);
    assert_eq!(c.resolve("lower", &oids(&["int4"])), Resolution::NotFound);
    assert_eq!(c.resolve("foo", &oids(&["int4"])), Resolution::NotFound);
    assert_eq!(c.resolve("trunc", &[UNKNOWN]), Resolution::Ambiguous);
    assert_eq!(
        c.resolve("date_trunc", &[UNKNOWN, UNKNOWN]),
        Resolution::Ambiguous
    );
    assert_eq!(
        c.resolve("int4", &oids(&["unknown"])),
        Resolution::Coercion(oid("int4"))
    );
}
