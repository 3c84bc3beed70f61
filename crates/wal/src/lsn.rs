//! Log sequence numbers and timeline ids.
//!
//! An LSN is a byte position in the WAL stream. PostgreSQL prints it two ways and
//! so do we: `0/3001324` in SQL (`pg_lsn` output, no padding) and `0/03001324` in
//! pg_waldump lines (the low half padded to eight digits).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A byte position in the write-ahead log.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Lsn(pub u64);

impl Lsn {
    pub const INVALID: Lsn = Lsn(0);

    pub fn is_valid(self) -> bool {
        self.0 != 0
    }

    /// The pg_waldump spelling: `0/03001324`.
    pub fn waldump(self) -> String {
        format!("{:X}/{:08X}", self.0 >> 32, self.0 as u32)
    }

    /// Round up to the next multiple of `align` (a power of two).
    pub fn align_up(self, align: u64) -> Lsn {
        debug_assert!(align.is_power_of_two());
        Lsn((self.0 + align - 1) & !(align - 1))
    }

    pub fn offset(self, bytes: u64) -> Lsn {
        Lsn(self.0 + bytes)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 as u32)
    }
}

/// The text is not a valid `pg_lsn`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input syntax for type pg_lsn: \"{0}\"")]
pub struct ParseLsnError(pub String);

impl FromStr for Lsn {
    type Err = ParseLsnError;

    /// Accepts what `pg_lsn_in` accepts: two hexadecimal numbers of one to eight
    /// digits each, separated by a slash.
    fn from_str(text: &str) -> Result<Lsn, ParseLsnError> {
        let error = || ParseLsnError(text.to_string());
        let (high, low) = text.split_once('/').ok_or_else(error)?;
        let valid = |part: &str| {
            !part.is_empty() && part.len() <= 8 && part.chars().all(|c| c.is_ascii_hexdigit())
        };
        if !valid(high) || !valid(low) {
            return Err(error());
        }
        let high = u64::from_str_radix(high, 16).map_err(|_| error())?;
        let low = u64::from_str_radix(low, 16).map_err(|_| error())?;
        Ok(Lsn(high << 32 | low))
    }
}

/// A timeline id: 1 at initdb, one more at each promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimeLineId(pub u32);

impl fmt::Display for TimeLineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prints_like_postgres() {
        let lsn = Lsn(0x3001324);
        assert_eq!(lsn.to_string(), "0/3001324");
        assert_eq!(lsn.waldump(), "0/03001324");
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
    }

    #[test]
    fn rejects_malformed_text() {
        for text in ["", "0", "/0", "0/", "0/G", "123456789/0", "0/0/0", " 0/0"] {
            assert!(text.parse::<Lsn>().is_err(), "{text:?} should not parse");
        }
        assert_eq!("ffffffff/ffffffff".parse::<Lsn>().unwrap(), Lsn(u64::MAX));
    }

    proptest! {
        #[test]
        fn text_round_trips(value: u64) {
            prop_assert_eq!(Lsn(value).to_string().parse::<Lsn>().unwrap(), Lsn(value));
        }
    }
}
