//! PostgreSQL's `uuid`: 16 bytes compared as `memcmp` does, read by `string_to_uuid` (upper or
//! lower case, optional braces, a hyphen allowed after any group of four digits) and printed
//! in the standard 8-4-4-4-12 form.

use crate::error::{DbError, Result};

/// `uuid_in`.
pub fn parse(text: &str) -> Result<[u8; 16]> {
    parse_bytes(text.as_bytes()).ok_or_else(|| DbError::invalid_text("uuid", text))
}

fn parse_bytes(mut source: &[u8]) -> Option<[u8; 16]> {
    let braces = source.first() == Some(&b'{');
    if braces {
        source = &source[1..];
    }
    let mut out = [0u8; 16];
    for (index, byte) in out.iter_mut().enumerate() {
        let pair = source.get(..2)?;
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
        source = &source[2..];
        if source.first() == Some(&b'-') && index % 2 == 1 && index < 15 {
            source = &source[1..];
        }
    }
    if braces {
        source = source.strip_prefix(b"}")?;
    }
    source.is_empty().then_some(out)
}

/// `uuid_out`: `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`.
pub fn format(bytes: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// `gen_random_uuid()`: a version 4 UUID from 128 random bits.
pub fn version4(mut random: [u8; 16]) -> [u8; 16] {
    random[6] = (random[6] & 0x0F) | 0x40;
    random[8] = (random[8] & 0x3F) | 0x80;
    random
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form_postgres_reads() {
        let expected = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for text in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(format(&parse(text).unwrap()), expected);
        }
        for bad in [
            "",
            "x",
            "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11-",
            " a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0e-ebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "22P02", "{bad}");
        }
    }
}
