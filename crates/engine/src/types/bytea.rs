//! PostgreSQL's `bytea`: input in hex (`\x...`) and escape form (`byteain`), output as
//! `bytea_output` says (`byteaout`), and `encode`/`decode`'s hex, base64 and escape formats
//! with PostgreSQL's errors (`encode.c`).

use std::cell::Cell;

use base64::Engine as _;

use crate::error::{code, DbError, Result};

thread_local! {
    /// The session's `bytea_output` is `escape` (else hex), for the statement that runs now.
    static ESCAPE_OUTPUT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with the session's `bytea_output` setting in force.
pub fn with_output<T>(setting: &str, work: impl FnOnce() -> T) -> T {
    let previous = ESCAPE_OUTPUT.with(|c| c.replace(setting.eq_ignore_ascii_case("escape")));
    let result = work();
    ESCAPE_OUTPUT.with(|c| c.set(previous));
    result
}

/// Sets `bytea_output` for the rest of the statement (after `SET bytea_output`).
pub fn set_output(setting: &str) {
    ESCAPE_OUTPUT.with(|c| c.set(setting.eq_ignore_ascii_case("escape")));
}

/// `byteain`: `\x` then hex digit pairs, or the escape form.
pub fn parse(text: &str) -> Result<Vec<u8>> {
    match text.strip_prefix("\\x") {
        Some(hex) => hex_decode(hex),
        None => escape_decode(text),
    }
}

/// `byteaout`: `\x0102` by default, the escape form under `bytea_output = escape`.
pub fn format(bytes: &[u8]) -> String {
    if ESCAPE_OUTPUT.with(Cell::get) {
        let mut out = String::with_capacity(bytes.len());
        for &byte in bytes {
            match byte {
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7E => out.push(byte as char),
                _ => out.push_str(&format!("\\{byte:03o}")),
            }
        }
        out
    } else {
        format!("\\x{}", hex_encode(bytes))
    }
}

pub fn hex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// `hex_decode`: digit pairs, with whitespace allowed between pairs.
pub fn hex_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if matches!(c, ' ' | '\n' | '\t' | '\r') {
            continue;
        }
        let high = hex_digit(c)?;
        let low = chars.next().ok_or_else(|| {
            DbError::new(
                code::INVALID_PARAMETER_VALUE,
                "invalid hexadecimal data: odd number of digits",
            )
        })?;
        out.push(high * 16 + hex_digit(low)?);
    }
    Ok(out)
}

fn hex_digit(c: char) -> Result<u8> {
    c.to_digit(16).map(|d| d as u8).ok_or_else(|| {
        DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid hexadecimal digit: \"{c}\""),
        )
    })
}

/// The escape form: `\\` is a backslash, `\ooo` an octal byte, everything else itself.
pub fn escape_decode(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'\\' {
            out.push(bytes[at]);
            at += 1;
        } else if bytes.get(at + 1) == Some(&b'\\') {
            out.push(b'\\');
            at += 2;
        } else {
            let octal = bytes.get(at + 1..at + 4).filter(|d| {
                (b'0'..=b'3').contains(&d[0]) && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
            });
            let digits = octal.ok_or_else(|| {
                DbError::new(
                    code::INVALID_TEXT_REPRESENTATION,
                    "invalid input syntax for type bytea",
                )
            })?;
            out.push((digits[0] - b'0') * 64 + (digits[1] - b'0') * 8 + (digits[2] - b'0'));
            at += 4;
        }
    }
    Ok(out)
}

/// `encode(bytes, format)`.
pub fn encode(bytes: &[u8], format: &str) -> Result<String> {
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => hex_encode(bytes),
        "base64" => {
            let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
            // PostgreSQL breaks the lines after 76 characters.
            let lines: Vec<&str> = flat
                .as_bytes()
                .chunks(76)
                .map(|line| std::str::from_utf8(line).unwrap_or_default())
                .collect();
            lines.join("\n")
        }
        "escape" => {
            let mut out = String::with_capacity(bytes.len());
            for &byte in bytes {
                match byte {
                    b'\\' => out.push_str("\\\\"),
                    0 | 0x80..=0xFF => out.push_str(&format!("\\{byte:03o}")),
                    _ => out.push(byte as char),
                }
            }
            out
        }
        _ => return Err(unrecognized_encoding(format)),
    })
}

/// `decode(text, format)`.
pub fn decode(text: &str, format: &str) -> Result<Vec<u8>> {
    match format.to_ascii_lowercase().as_str() {
        "hex" => hex_decode(text),
        "base64" => base64_decode(text),
        "escape" => escape_decode(text),
        _ => Err(unrecognized_encoding(format)),
    }
}

fn unrecognized_encoding(format: &str) -> DbError {
    DbError::new(
        code::INVALID_PARAMETER_VALUE,
        format!("unrecognized encoding: \"{format}\""),
    )
}

/// Base64 with PostgreSQL's leniency (whitespace anywhere) and errors.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\n' | '\t' | '\r'))
        .collect();
    if let Some(bad) = compact
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
    {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid symbol \"{bad}\" found while decoding base64 sequence"),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| {
            DbError::new(code::INVALID_PARAMETER_VALUE, "invalid base64 end sequence").with_hint(
                "Input data is missing padding, is truncated, or is otherwise corrupted.",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints_both_forms() {
        assert_eq!(parse("\\x01ff 20").unwrap(), vec![1, 255, 32]);
        assert_eq!(parse("a\\\\b\\000").unwrap(), b"a\\b\0".to_vec());
        assert_eq!(format(&[0xDE, 0xAD]), "\\xdead");
        assert_eq!(
            parse("\\x1").unwrap_err().message,
            "invalid hexadecimal data: odd number of digits"
        );
        assert_eq!(parse("\\9").unwrap_err().code, "22P02");
        with_output("escape", || {
            assert_eq!(format(b"a\\\x01\x7f"), "a\\\\\\001\\177");
        });
    }

    #[test]
    fn encodings_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        for format in ["hex", "base64", "escape"] {
            let text = encode(&bytes, format).unwrap();
            assert_eq!(decode(&text, format).unwrap(), bytes, "{format}");
        }
        assert_eq!(encode(b"hello", "base64").unwrap(), "aGVsbG8=");
    }
}
