//! PostgreSQL's `inet` and `cidr`: an IPv4 or IPv6 address with a mask length, stored as
//! PostgreSQL's `inet_struct` is (family, bits, the address bytes). Input follows
//! `network_in` and BIND's `inet_net_pton` as PostgreSQL carries them (an inet needs all four
//! IPv4 octets unless a mask says how many matter; a cidr may be abbreviated and takes its
//! classful mask; cidr refuses bits right of the mask); output follows `inet_net_ntop` (the
//! longest run of zero groups as `::`, an embedded IPv4 in dotted form, no mask when it covers
//! the whole address, except for cidr). Ordering is `network_cmp_internal`: IPv4 first, then
//! the common prefix, the mask length, the whole address.

use std::cmp::Ordering;

use crate::error::{code, DbError, Result};

/// PostgreSQL's `PGSQL_AF_INET` and `PGSQL_AF_INET6`, as stored in the tuple.
const FAMILY_V4: u8 = 2;
const FAMILY_V6: u8 = 3;

/// One `inet` or `cidr` value (which of the two is the [`crate::types::Value`] variant's business).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inet {
    pub ipv6: bool,
    /// The mask length, 0..=32 or 0..=128.
    pub bits: u8,
    /// The address; an IPv4 one in the first four bytes, the rest zero.
    pub addr: [u8; 16],
}

impl Inet {
    pub fn max_bits(&self) -> u8 {
        if self.ipv6 {
            128
        } else {
            32
        }
    }

    fn len(&self) -> usize {
        if self.ipv6 {
            16
        } else {
            4
        }
    }

    /// The tuple bytes: family, mask length, then the 4 or 16 address bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(if self.ipv6 { FAMILY_V6 } else { FAMILY_V4 });
        out.push(self.bits);
        out.extend_from_slice(&self.addr[..self.len()]);
    }

    /// Reads [`Inet::encode`]'s bytes (None: they are not an inet).
    pub fn decode(bytes: &[u8]) -> Option<Inet> {
        let (&family, rest) = bytes.split_first()?;
        let (&bits, addr) = rest.split_first()?;
        let ipv6 = match family {
            FAMILY_V4 => false,
            FAMILY_V6 => true,
            _ => return None,
        };
        let mut out = Inet {
            ipv6,
            bits,
            addr: [0; 16],
        };
        if addr.len() != out.len() || bits > out.max_bits() {
            return None;
        }
        out.addr[..addr.len()].copy_from_slice(addr);
        Some(out)
    }
}

/// `inet_in` (`cidr` false) and `cidr_in` (`cidr` true).
pub fn parse(text: &str, cidr: bool) -> Result<Inet> {
    let type_name = if cidr { "cidr" } else { "inet" };
    let invalid = || DbError::invalid_text(type_name, text);
    let ipv6 = text.contains(':');
    let mut addr = [0u8; 16];
    let bits = if ipv6 {
        parse_v6(text.as_bytes(), &mut addr)
    } else if cidr {
        parse_v4_cidr(text.as_bytes(), &mut addr)
    } else {
        parse_v4_inet(text.as_bytes(), &mut addr)
    }
    .ok_or_else(invalid)?;
    let value = Inet { ipv6, bits, addr };
    if bits > value.max_bits() {
        return Err(invalid());
    }
    if cidr && value != clear_host_bits(value) {
        return Err(DbError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid cidr value: \"{text}\""),
        )
        .with_detail("Value has bits set to right of mask."));
    }
    Ok(value)
}

/// A decimal number of at most `limit`, its digits taken from `src` at `*at` onwards.
fn decimal(src: &[u8], at: &mut usize, limit: u32) -> Option<u32> {
    let start = *at;
    let mut value = 0u32;
    while let Some(digit) = src.get(*at).filter(|c| c.is_ascii_digit()) {
        value = value * 10 + u32::from(digit - b'0');
        if value > limit {
            return None;
        }
        *at += 1;
    }
    (*at > start).then_some(value)
}

/// An optional `/bits` at `*at` that must end the text (`inet_net_pton_ipv4`'s tail).
fn v4_mask(src: &[u8], mut at: usize, written: usize) -> Option<Option<u8>> {
    match src.get(at) {
        None => Some(None),
        Some(b'/') if written > 0 && src.get(at + 1).is_some_and(u8::is_ascii_digit) => {
            at += 1;
            let bits = decimal(src, &mut at, 32)?;
            (at == src.len()).then_some(Some(bits as u8))
        }
        Some(_) => None,
    }
}

/// `inet_net_pton_ipv4`: dotted octets (all four unless a mask covers fewer), a trailing dot
/// allowed, then an optional mask.
fn parse_v4_inet(src: &[u8], addr: &mut [u8; 16]) -> Option<u8> {
    let mut at = 0;
    let mut written = 0;
    while src.get(at).is_some_and(u8::is_ascii_digit) {
        let octet = decimal(src, &mut at, 255)?;
        if written == 4 {
            return None;
        }
        addr[written] = octet as u8;
        written += 1;
        match src.get(at) {
            None | Some(b'/') => break,
            Some(b'.') => at += 1,
            Some(_) => return None,
        }
    }
    let bits = match v4_mask(src, at, written)? {
        Some(bits) => bits,
        None if written == 4 => 32,
        None => return None,
    };
    (written > 0 && usize::from(bits) / 8 <= written).then_some(bits)
}

/// `inet_cidr_pton_ipv4`: dotted octets or `0x` hex digits, any number up to four, then an
/// optional mask; without one, the classful mask (widened to the octets given).
fn parse_v4_cidr(src: &[u8], addr: &mut [u8; 16]) -> Option<u8> {
    let mut at = 0;
    let mut written = 0;
    let hex = src.len() > 2
        && src[0] == b'0'
        && matches!(src[1], b'x' | b'X')
        && src[2].is_ascii_hexdigit();
    if hex {
        at = 2;
        let mut nibbles = 0;
        while let Some(digit) = src.get(at).and_then(|c| (*c as char).to_digit(16)) {
            if nibbles % 2 == 0 {
                if written == 4 {
                    return None;
                }
                addr[written] = (digit as u8) << 4;
                written += 1;
            } else {
                addr[written - 1] |= digit as u8;
            }
            nibbles += 1;
            at += 1;
        }
    } else if src.first().is_some_and(u8::is_ascii_digit) {
        loop {
            let octet = decimal(src, &mut at, 255)?;
            if written == 4 {
                return None;
            }
            addr[written] = octet as u8;
            written += 1;
            match src.get(at) {
                None | Some(b'/') => break,
                Some(b'.') if src.get(at + 1).is_some_and(u8::is_ascii_digit) => at += 1,
                Some(_) => return None,
            }
        }
    } else {
        return None;
    }
    let bits = match v4_mask(src, at, written)? {
        Some(bits) => bits,
        None => classful_bits(addr[0], written),
    };
    Some(bits)
}

/// The mask of an abbreviated cidr without one: by the first octet's class, at least the
/// octets written; 224 alone (class D) is /4.
fn classful_bits(first: u8, written: usize) -> u8 {
    let class = match first {
        240.. => 32,
        224.. => 8,
        192.. => 24,
        128.. => 16,
        _ => 8,
    };
    let bits = class.max(written as u8 * 8);
    if bits == 8 && first == 224 {
        4
    } else {
        bits
    }
}

/// `getbits`: a mask length of 0..=128 without leading zeros, ending the text.
fn v6_mask(src: &[u8]) -> Option<u8> {
    if src.is_empty() || src.len() > 1 && src[0] == b'0' {
        return None;
    }
    let mut at = 0;
    let bits = decimal(src, &mut at, 128)?;
    (at == src.len()).then_some(bits as u8)
}

/// `getv4`: up to four dotted decimal octets without leading zeros, maybe a mask after them.
fn embedded_v4(src: &[u8], out: &mut [u8]) -> Option<Option<u8>> {
    let (address, mask) = match src.iter().position(|c| *c == b'/') {
        Some(slash) => (&src[..slash], Some(v6_mask(&src[slash + 1..])?)),
        None => (src, None),
    };
    let octets: Vec<&[u8]> = address.split(|c| *c == b'.').collect();
    if octets.len() > 4 || octets.last().is_some_and(|o| o.is_empty()) {
        return None;
    }
    for (slot, octet) in out.iter_mut().zip(&octets) {
        if octet.len() > 1 && octet[0] == b'0' || !octet.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut at = 0;
        *slot = if octet.is_empty() {
            0
        } else {
            decimal(octet, &mut at, 255)? as u8
        };
    }
    Some(mask)
}

/// `inet_cidr_pton_ipv6`: groups of up to four hex digits, one `::`, maybe an IPv4 address as
/// the last 32 bits, then an optional mask.
fn parse_v6(mut src: &[u8], addr: &mut [u8; 16]) -> Option<u8> {
    let mut out = [0u8; 16];
    let mut filled = 0usize;
    let mut gap: Option<usize> = None;
    if src.first() == Some(&b':') {
        if src.get(1) != Some(&b':') {
            return None;
        }
        src = &src[1..];
    }
    let mut token_start = 0;
    let mut value = 0u32;
    let mut digits = 0;
    let mut bits = None;
    let mut at = 0;
    while let Some(&c) = src.get(at) {
        at += 1;
        if let Some(digit) = (c as char).to_digit(16) {
            value = value << 4 | digit;
            digits += 1;
            if digits > 4 {
                return None;
            }
            continue;
        }
        match c {
            b':' => {
                token_start = at;
                if digits == 0 {
                    if gap.is_some() {
                        return None;
                    }
                    gap = Some(filled);
                    continue;
                }
                if at == src.len() || filled + 2 > 16 {
                    return None;
                }
                out[filled..filled + 2].copy_from_slice(&(value as u16).to_be_bytes());
                filled += 2;
                (value, digits) = (0, 0);
            }
            b'.' if filled + 4 <= 16 => {
                bits = embedded_v4(&src[token_start..], &mut out[filled..filled + 4])?;
                filled += 4;
                digits = 0;
                break;
            }
            b'/' => {
                bits = Some(v6_mask(&src[at..])?);
                break;
            }
            _ => return None,
        }
    }
    if digits > 0 {
        if filled + 2 > 16 {
            return None;
        }
        out[filled..filled + 2].copy_from_slice(&(value as u16).to_be_bytes());
        filled += 2;
    }
    if let Some(gap) = gap {
        if filled == 16 {
            return None;
        }
        let tail = filled - gap;
        out.copy_within(gap..filled, 16 - tail);
        out[gap..16 - tail].fill(0);
        filled = 16;
    }
    if filled != 16 {
        return None;
    }
    *addr = out;
    Some(bits.unwrap_or(128))
}

/// `inet_out` (`cidr` false: the mask only when it is not the whole address) and `cidr_out`
/// and `text(inet)` (`cidr` true: always the mask).
pub fn format(value: &Inet, cidr: bool) -> String {
    let mut text = address_text(value);
    if cidr || value.bits != value.max_bits() {
        text.push_str(&format!("/{}", value.bits));
    }
    text
}

/// `abbrev(cidr)` (`inet_cidr_ntop`): only the octets or groups the mask covers, then the mask.
pub fn abbrev_cidr(value: &Inet) -> String {
    let body = if value.ipv6 {
        abbrev_v6(value)
    } else {
        abbrev_v4(value)
    };
    format!("{body}/{}", value.bits)
}

fn abbrev_v4(value: &Inet) -> String {
    if value.bits == 0 {
        return "0".into();
    }
    let whole = usize::from(value.bits / 8);
    let mut parts: Vec<String> = value.addr[..whole].iter().map(u8::to_string).collect();
    let rest = value.bits % 8;
    if rest > 0 {
        let mask = 0xFFu8 << (8 - rest);
        parts.push((value.addr[whole] & mask).to_string());
    }
    parts.join(".")
}

fn abbrev_v6(value: &Inet) -> String {
    if value.bits == 0 {
        return "::".into();
    }
    let s = clear_host_bits(*value).addr;
    let words = match usize::from(value.bits).div_ceil(16) {
        1 => 2,
        n => n,
    };
    let (mut zero_s, mut zero_l, mut tmp_s, mut tmp_l) = (0, 0, 0, 0);
    for word in 0..words {
        if s[2 * word] | s[2 * word + 1] == 0 {
            if tmp_l == 0 {
                tmp_s = word;
            }
            tmp_l += 1;
        } else if tmp_l > 0 && zero_l < tmp_l {
            (zero_s, zero_l, tmp_l) = (tmp_s, tmp_l, 0);
        }
    }
    if tmp_l > 0 && zero_l < tmp_l {
        (zero_s, zero_l) = (tmp_s, tmp_l);
    }
    let is_v4 = zero_l != words
        && zero_s == 0
        && (zero_l == 6
            || zero_l == 5 && s[10] == 0xff && s[11] == 0xff
            || zero_l == 7 && s[14] != 0 && s[15] != 1);
    let mut text = String::new();
    for word in 0..words {
        if zero_l != 0 && word >= zero_s && word < zero_s + zero_l {
            if word == zero_s {
                text.push(':');
            }
            if word == words - 1 {
                text.push(':');
            }
            continue;
        }
        if is_v4 && word > 5 {
            text.push(if word == 6 { ':' } else { '.' });
            text.push_str(&s[2 * word].to_string());
            if word != 7 || value.bits > 120 {
                text.push('.');
                text.push_str(&s[2 * word + 1].to_string());
            }
            continue;
        }
        if !text.is_empty() {
            text.push(':');
        }
        text.push_str(&format!(
            "{:x}",
            u16::from_be_bytes([s[2 * word], s[2 * word + 1]])
        ));
    }
    text
}

/// `host(inet)`: the address alone.
pub fn address_text(value: &Inet) -> String {
    if !value.ipv6 {
        let a = &value.addr;
        return format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
    }
    let words: Vec<u16> = value
        .addr
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let zeros = longest_zero_run(&words);
    let mut text = String::new();
    let mut index = 0;
    while index < 8 {
        if let Some((start, len)) = zeros.filter(|(start, _)| *start == index) {
            text.push(':');
            index = start + len;
            if index == 8 {
                text.push(':');
            }
            continue;
        }
        if index != 0 {
            text.push(':');
        }
        let embedded_v4 = index == 6
            && zeros.is_some_and(|(start, len)| {
                start == 0 && (len == 6 || len == 5 && words[5] == 0xffff)
            });
        if embedded_v4 {
            let a = &value.addr;
            text.push_str(&format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
            break;
        }
        text.push_str(&format!("{:x}", words[index]));
        index += 1;
    }
    text
}

/// The first longest run of at least two zero words: (start, length).
fn longest_zero_run(words: &[u16]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut index = 0;
    while index < words.len() {
        if words[index] != 0 {
            index += 1;
            continue;
        }
        let start = index;
        while index < words.len() && words[index] == 0 {
            index += 1;
        }
        if best.is_none_or(|(_, len)| index - start > len) {
            best = Some((start, index - start));
        }
    }
    best.filter(|(_, len)| *len >= 2)
}

/// `bitncmp`: the first `bits` bits of two addresses, compared.
fn prefix_cmp(a: &[u8; 16], b: &[u8; 16], bits: u8) -> Ordering {
    let whole = usize::from(bits / 8);
    let order = a[..whole].cmp(&b[..whole]);
    let rest = bits % 8;
    if order != Ordering::Equal || rest == 0 {
        return order;
    }
    let mask = 0xFFu8 << (8 - rest);
    (a[whole] & mask).cmp(&(b[whole] & mask))
}

/// `network_cmp_internal`.
pub fn cmp(a: &Inet, b: &Inet) -> Ordering {
    a.ipv6
        .cmp(&b.ipv6)
        .then_with(|| prefix_cmp(&a.addr, &b.addr, a.bits.min(b.bits)))
        .then_with(|| a.bits.cmp(&b.bits))
        .then_with(|| prefix_cmp(&a.addr, &b.addr, a.max_bits()))
}

/// The containment operators: `<<` (`Sub`), `<<=`, `>>`, `>>=` and `&&`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Containment {
    Sub,
    SubEq,
    Sup,
    SupEq,
    Overlap,
}

impl Containment {
    pub fn from_symbol(symbol: &str) -> Option<Containment> {
        Some(match symbol {
            "<<" => Containment::Sub,
            "<<=" => Containment::SubEq,
            ">>" => Containment::Sup,
            ">>=" => Containment::SupEq,
            "&&" => Containment::Overlap,
            _ => return None,
        })
    }

    /// `network_sub`, `network_subeq`, `network_sup`, `network_supeq`, `network_overlap`.
    pub fn holds(self, a: &Inet, b: &Inet) -> bool {
        if a.ipv6 != b.ipv6 {
            return false;
        }
        let (bits_fit, prefix) = match self {
            Containment::Sub => (a.bits > b.bits, b.bits),
            Containment::SubEq => (a.bits >= b.bits, b.bits),
            Containment::Sup => (a.bits < b.bits, a.bits),
            Containment::SupEq => (a.bits <= b.bits, a.bits),
            Containment::Overlap => (true, a.bits.min(b.bits)),
        };
        bits_fit && prefix_cmp(&a.addr, &b.addr, prefix) == Ordering::Equal
    }
}

/// The mask of `bits` ones over an address of `len` bytes.
fn mask_bytes(bits: u8, len: usize) -> [u8; 16] {
    let mut mask = [0u8; 16];
    for (index, byte) in mask.iter_mut().take(len).enumerate() {
        let covered = (usize::from(bits)).saturating_sub(index * 8).min(8);
        *byte = (0xFF00u16 >> covered) as u8;
    }
    mask
}

/// `network(inet)` and the inet-to-cidr cast: the bits right of the mask cleared.
pub fn clear_host_bits(value: Inet) -> Inet {
    let mask = mask_bytes(value.bits, value.len());
    let mut out = value;
    for (byte, m) in out.addr.iter_mut().zip(mask) {
        *byte &= m;
    }
    out
}

/// `broadcast(inet)`: the bits right of the mask set.
pub fn broadcast(value: Inet) -> Inet {
    let mask = mask_bytes(value.bits, value.len());
    let mut out = value;
    for (byte, m) in out.addr.iter_mut().zip(mask).take(value.len()) {
        *byte |= !m;
    }
    out
}

/// `netmask(inet)`: the mask as an address.
pub fn netmask(value: Inet) -> Inet {
    Inet {
        ipv6: value.ipv6,
        bits: value.max_bits(),
        addr: mask_bytes(value.bits, value.len()),
    }
}

/// `hostmask(inet)`: the inverted mask as an address.
pub fn hostmask(value: Inet) -> Inet {
    let mut out = netmask(value);
    for byte in out.addr.iter_mut().take(value.len()) {
        *byte = !*byte;
    }
    out
}

/// `set_masklen(inet, int)` (`set_masklen(cidr, int)` also clears the host bits): -1 is the
/// whole address.
pub fn set_masklen(value: Inet, bits: i64) -> Result<Inet> {
    let bits = if bits == -1 {
        i64::from(value.max_bits())
    } else {
        bits
    };
    if !(0..=i64::from(value.max_bits())).contains(&bits) {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid mask length: {bits}"),
        ));
    }
    Ok(Inet {
        bits: bits as u8,
        ..value
    })
}

/// The address as an unsigned number (32 or 128 bits).
fn number(value: &Inet) -> u128 {
    value.addr[..value.len()]
        .iter()
        .fold(0u128, |n, byte| n << 8 | u128::from(*byte))
}

fn with_number(value: Inet, number: u128) -> Inet {
    let mut out = value;
    let len = value.len();
    for (index, byte) in out.addr[..len].iter_mut().enumerate() {
        *byte = (number >> (8 * (len - 1 - index))) as u8;
    }
    out
}

fn out_of_range() -> DbError {
    DbError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "result is out of range")
}

/// `inet + bigint` (and `inet - bigint` with the addend negated): the address moved, the
/// mask kept; past either end of the address space is 22003.
pub fn plus(value: Inet, addend: i128) -> Result<Inet> {
    let limit = if value.ipv6 {
        u128::MAX
    } else {
        u128::from(u32::MAX)
    };
    let base = number(&value);
    let moved = if addend >= 0 {
        base.checked_add(addend as u128)
    } else {
        base.checked_sub(addend.unsigned_abs())
    };
    moved
        .filter(|n| *n <= limit)
        .map(|n| with_number(value, n))
        .ok_or_else(out_of_range)
}

/// `inet - inet`: the distance between two addresses of one family, as a bigint.
pub fn minus(a: &Inet, b: &Inet) -> Result<i64> {
    if a.ipv6 != b.ipv6 {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "cannot subtract inet values of different sizes",
        ));
    }
    let (x, y) = (number(a), number(b));
    let distance = if x >= y {
        i64::try_from(x - y).ok()
    } else {
        i128::try_from(y - x)
            .ok()
            .and_then(|d| i64::try_from(-d).ok())
    };
    distance.ok_or_else(out_of_range)
}

/// `inet & inet` and `inet | inet` (`or`): bit by bit, the wider mask kept.
pub fn bitwise(a: Inet, b: &Inet, or: bool) -> Result<Inet> {
    if a.ipv6 != b.ipv6 {
        let word = if or { "OR" } else { "AND" };
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("cannot {word} inet values of different sizes"),
        ));
    }
    let mut out = a;
    for (byte, other) in out.addr.iter_mut().zip(b.addr) {
        *byte = if or { *byte | other } else { *byte & other };
    }
    out.bits = a.bits.max(b.bits);
    Ok(out)
}

/// `inet_merge(inet, inet)`: the smallest network holding both.
pub fn merge(a: &Inet, b: &Inet) -> Result<Inet> {
    if a.ipv6 != b.ipv6 {
        return Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "cannot merge addresses from different families",
        ));
    }
    let limit = a.bits.min(b.bits);
    let common = (0..limit)
        .find(|bit| {
            let (byte, mask) = (usize::from(bit / 8), 0x80u8 >> (bit % 8));
            a.addr[byte] & mask != b.addr[byte] & mask
        })
        .unwrap_or(limit);
    Ok(clear_host_bits(Inet { bits: common, ..*a }))
}

/// `~ inet`: every address bit flipped, the mask kept.
pub fn not(value: Inet) -> Inet {
    with_number(value, !number(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str, cidr: bool) -> String {
        format(&parse(text, cidr).unwrap(), cidr)
    }

    #[test]
    fn reads_and_prints_as_postgres() {
        for (input, output) in [
            ("192.168.1.5", "192.168.1.5"),
            ("10.1/16", "10.1.0.0/16"),
            ("1.2.3.4.", "1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("::", "::"),
            ("::2", "::2"),
            ("2001:DB8::1/64", "2001:db8::1/64"),
        ] {
            assert_eq!(round(input, false), output, "{input}");
        }
        for (input, output) in [
            ("10", "10.0.0.0/8"),
            ("128", "128.0.0.0/16"),
            ("224", "224.0.0.0/4"),
            ("0x0a", "10.0.0.0/8"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            assert_eq!(round(input, true), output, "{input}");
        }
        for bad in [
            "",
            "10.1",
            " 1.2.3.4",
            "1.2.3.4/33",
            "1.2.3.256",
            "1.2.3.4/",
            "1::2::3",
            ":1",
            "::1/129",
            "1:2:3:4:5:6:7:8:9",
            "1.2.3.4.5",
        ] {
            assert_eq!(parse(bad, false).unwrap_err().code, "22P02", "{bad}");
        }
        assert!(parse("192.168.1.5/24", true).is_err());
    }

    #[test]
    fn encodes_and_orders() {
        let a = parse("10.0.0.0/8", false).unwrap();
        let mut bytes = Vec::new();
        a.encode(&mut bytes);
        assert_eq!(bytes, [2, 8, 10, 0, 0, 0]);
        assert_eq!(Inet::decode(&bytes), Some(a));
        let b = parse("10.0.0.0/16", false).unwrap();
        assert_eq!(cmp(&a, &b), Ordering::Less);
        assert!(Containment::Sup.holds(&a, &b));
        assert!(!Containment::Sub.holds(&a, &b));
    }
}
