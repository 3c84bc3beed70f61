//! PostgreSQL's `numeric`: exact decimals of any size within PostgreSQL's limits (131,072
//! digits before the point, 16,383 after), `NaN` and the infinities of PostgreSQL 14+.
//!
//! The digits are a `num-bigint` integer with the display scale (PostgreSQL's `dscale`): the
//! value is `digits * 10^-scale`, and the scale is what the text output shows. The rules are
//! PostgreSQL's (`numeric.c`): each operation's result scale (`select_div_scale` for division,
//! at least 16 significant digits for the transcendental functions), half-away-from-zero
//! rounding, the same errors. The transcendental functions compute with guard digits and
//! round once, so they agree with PostgreSQL's to the last digit shown.
//!
//! Work is bounded: every result is checked against PostgreSQL's range, and powers and
//! exponentials estimate the size of their result first and fail as PostgreSQL does before
//! computing anything too large.

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::error::{code, DbError, Result};

/// Digits after the point a value may have (`NUMERIC_DSCALE_MAX`).
pub const MAX_DSCALE: i64 = 0x3FFF;
/// Decimal digits before the point a value may have (`NUMERIC_WEIGHT_MAX` + 1 base-10000
/// digits of four).
pub const MAX_INTEGER_DIGITS: i64 = 131_072;
/// `NUMERIC_MIN_SIG_DIGITS`: the fewest significant digits of a division or function result.
const MIN_SIG_DIGITS: i64 = 16;
/// `NUMERIC_MAX_DISPLAY_SCALE`: the largest scale a computed (inexact) result is given.
const MAX_DISPLAY_SCALE: i64 = 1000;
/// `NUMERIC_MAX_RESULT_SCALE`: the most digits round() and trunc() keep.
const MAX_RESULT_SCALE: i64 = 2000;

/// A numeric value.
#[derive(Clone, Debug)]
pub enum Numeric {
    /// `digits * 10^-scale`; zero has no sign.
    Finite {
        digits: BigInt,
        scale: u32,
    },
    NaN,
    Infinity,
    NegInfinity,
}

pub fn overflow() -> DbError {
    DbError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

fn invalid_power(message: &str) -> DbError {
    DbError::new("2201F", message)
}

fn invalid_log(message: &str) -> DbError {
    DbError::new("2201E", message)
}

pub fn pow10(exponent: u64) -> BigInt {
    num_traits::pow(BigInt::from(10u32), exponent as usize)
}

/// The number of decimal digits of `value`'s magnitude (0 for zero).
fn digit_count(value: &BigInt) -> i64 {
    if let Some(small) = value.magnitude().to_u64() {
        return small.checked_ilog10().map_or(0, |log| i64::from(log) + 1);
    }
    let bits = value.bits();
    // 2^(bits-1) <= |value| < 2^bits: the count is this lower bound or one more.
    let lower = ((bits - 1) as f64 * std::f64::consts::LOG10_2).floor() as i64 + 1;
    if value.magnitude() >= pow10(lower as u64).magnitude() {
        lower + 1
    } else {
        lower
    }
}

/// `value / divisor` rounded half away from zero.
fn div_round(value: &BigInt, divisor: &BigInt) -> BigInt {
    let (quotient, remainder) = value.div_rem(divisor);
    if (remainder.abs() * 2u32) >= divisor.abs() {
        if value.sign() == divisor.sign() {
            quotient + 1u32
        } else {
            quotient - 1u32
        }
    } else {
        quotient
    }
}

/// `digits * 10^-from` at scale `to` (may be negative), rounded half away from zero, or
/// truncated toward zero.
/// Two finite values' digits at the larger of their scales, and that scale.
fn aligned(a: &BigInt, scale_a: u32, b: &BigInt, scale_b: u32) -> (BigInt, BigInt, u32) {
    let scale = scale_a.max(scale_b);
    let at = |digits, from: u32| rescale(digits, i64::from(from), i64::from(scale), false);
    (at(a, scale_a), at(b, scale_b), scale)
}

fn rescale(digits: &BigInt, from: i64, to: i64, truncate: bool) -> BigInt {
    match to.cmp(&from) {
        Ordering::Equal => digits.clone(),
        Ordering::Greater => digits * pow10((to - from) as u64),
        Ordering::Less => {
            let unit = pow10((from - to) as u64);
            if truncate {
                digits / unit
            } else {
                div_round(digits, &unit)
            }
        }
    }
}

/// A value as an internal fixed-point pair, the scale possibly negative.
#[derive(Clone, Debug)]
struct Fixed {
    digits: BigInt,
    scale: i64,
}

impl Fixed {
    /// The decimal exponent of the leading digit (`10^e <= |x| < 10^(e+1)`); None for zero.
    fn exponent(&self) -> Option<i64> {
        (!self.digits.is_zero()).then(|| digit_count(&self.digits) - 1 - self.scale)
    }

    fn at(&self, scale: i64, truncate: bool) -> BigInt {
        rescale(&self.digits, self.scale, scale, truncate)
    }

    fn to_f64(&self) -> f64 {
        let text = format!("{}e{}", self.digits, -self.scale);
        text.parse().unwrap_or(0.0)
    }

    /// Keeps `sig` significant digits (truncating), so repeated products stay small.
    fn truncated_to(self, sig: i64) -> Fixed {
        let count = digit_count(&self.digits);
        if count <= sig {
            return self;
        }
        let drop = count - sig;
        Fixed {
            digits: &self.digits / pow10(drop as u64),
            scale: self.scale - drop,
        }
    }

    fn mul(&self, other: &Fixed) -> Fixed {
        Fixed {
            digits: &self.digits * &other.digits,
            scale: self.scale + other.scale,
        }
    }
}

/// PostgreSQL's view of a value in base-10000 digits: the weight of the first non-zero
/// digit, that digit and the next one (0 when there is none).
fn nbase_top(fixed: &Fixed) -> Option<(i64, u32, Option<u32>)> {
    let exponent = fixed.exponent()?;
    let weight = exponent.div_euclid(4);
    let lead = exponent.rem_euclid(4) + 1;
    let count = digit_count(&fixed.digits);
    // The leading `lead + 4` decimal digits, as one integer.
    let want = lead + 4;
    let top = if count >= want {
        fixed.digits.abs() / pow10((count - want) as u64)
    } else {
        fixed.digits.abs() * pow10((want - count) as u64)
    };
    let top = top.to_u64().unwrap_or(0);
    let first = (top / 10_000) as u32;
    let second = (top % 10_000) as u32;
    // Whether any digit follows the first base-10000 digit at all.
    let more = fixed.digits.abs() != (BigInt::from(first) * pow10((count - lead).max(0) as u64));
    Some((weight, first, more.then_some(second)))
}

impl Numeric {
    pub fn zero() -> Numeric {
        Numeric::Finite {
            digits: BigInt::zero(),
            scale: 0,
        }
    }

    pub fn from_i128(value: i128) -> Numeric {
        Numeric::Finite {
            digits: BigInt::from(value),
            scale: 0,
        }
    }

    /// `value * 10^-scale`.
    pub fn from_scaled(value: i128, scale: u32) -> Numeric {
        Numeric::Finite {
            digits: BigInt::from(value),
            scale,
        }
    }

    fn fixed(&self) -> Option<Fixed> {
        match self {
            Numeric::Finite { digits, scale } => Some(Fixed {
                digits: digits.clone(),
                scale: i64::from(*scale),
            }),
            _ => None,
        }
    }

    /// A result at `scale`, checked against PostgreSQL's range (`make_result`).
    fn make(digits: BigInt, scale: i64) -> Result<Numeric> {
        let (digits, scale) = if scale < 0 {
            (digits * pow10((-scale) as u64), 0)
        } else {
            (digits, scale)
        };
        if scale > MAX_DSCALE {
            return Err(overflow());
        }
        if !digits.is_zero() && digit_count(&digits) - scale > MAX_INTEGER_DIGITS {
            return Err(overflow());
        }
        Ok(Numeric::Finite {
            digits,
            scale: scale as u32,
        })
    }

    pub fn is_nan(&self) -> bool {
        matches!(self, Numeric::NaN)
    }

    pub fn is_special(&self) -> bool {
        !matches!(self, Numeric::Finite { .. })
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Numeric::Finite { digits, .. } if digits.is_zero())
    }

    /// -1, 0 or 1 (NaN counts as 0 here; callers handle it first).
    pub fn signum(&self) -> i32 {
        match self {
            Numeric::Finite { digits, .. } => match digits.sign() {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            },
            Numeric::Infinity => 1,
            Numeric::NegInfinity => -1,
            Numeric::NaN => 0,
        }
    }

    /// The display scale; None for NaN and the infinities.
    pub fn scale(&self) -> Option<u32> {
        match self {
            Numeric::Finite { scale, .. } => Some(*scale),
            _ => None,
        }
    }

    /// Text input (`numeric_in`): the whole string, surrounding spaces allowed.
    pub fn parse(text: &str) -> Result<Numeric> {
        let invalid = || DbError::invalid_text("numeric", text);
        let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let lower = trimmed.to_ascii_lowercase();
        match lower.as_str() {
            "nan" => return Ok(Numeric::NaN),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::Infinity),
            "-infinity" | "-inf" => return Ok(Numeric::NegInfinity),
            _ => {}
        }
        let bytes = trimmed.as_bytes();
        let mut position = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                position += 1;
                true
            }
            Some(b'+') => {
                position += 1;
                false
            }
            _ => false,
        };
        let mut mantissa = String::new();
        let mut fraction_digits: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while position < bytes.len() {
            match bytes[position] {
                digit @ b'0'..=b'9' => {
                    mantissa.push(digit as char);
                    any_digit = true;
                    if seen_point {
                        fraction_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            position += 1;
        }
        if !any_digit {
            return Err(invalid());
        }
        let mut exponent: i64 = 0;
        if position < bytes.len() && matches!(bytes[position], b'e' | b'E') {
            let rest = &trimmed[position + 1..];
            let (sign, digits) = match rest.as_bytes().first() {
                Some(b'-') => (-1, &rest[1..]),
                Some(b'+') => (1, &rest[1..]),
                _ => (1, rest),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            // PostgreSQL refuses exponents of INT_MAX/2 and beyond outright.
            let magnitude: i64 = if digits.len() > 12 {
                i64::MAX / 4
            } else {
                digits.parse().map_err(|_| invalid())?
            };
            if magnitude >= i64::from(i32::MAX / 2) {
                return Err(overflow());
            }
            exponent = sign * magnitude;
            position = bytes.len();
        }
        if position != bytes.len() {
            return Err(invalid());
        }
        let mut digits: BigInt = mantissa.parse().map_err(|_| invalid())?;
        if negative {
            digits = -digits;
        }
        let scale = fraction_digits - exponent;
        // Check the size before scaling up, so `1e100000000` costs nothing.
        let significant = mantissa.trim_start_matches('0').len() as i64;
        if significant > 0 && significant - scale > MAX_INTEGER_DIGITS {
            return Err(overflow());
        }
        Numeric::make(digits, scale)
    }

    /// The value's digits rounded half away from zero to `scale` places (negative: to a
    /// multiple of a power of ten); the result's scale is `max(scale, 0)`.
    pub fn round_to(&self, scale: i64, truncate: bool) -> Result<Numeric> {
        let Some(fixed) = self.fixed() else {
            return Ok(self.clone());
        };
        let scale = scale.clamp(-MAX_RESULT_SCALE, MAX_RESULT_SCALE);
        // Below a tenth of the unit it rounds to zero, whatever the digits' size.
        if scale < 0 && fixed.exponent().is_none_or(|e| e + 1 < -scale) {
            return Ok(Numeric::zero());
        }
        let digits = fixed.at(scale, truncate);
        Numeric::make(digits, scale)
    }

    pub fn ceil(&self) -> Result<Numeric> {
        self.floor_or_ceil(true)
    }

    pub fn floor(&self) -> Result<Numeric> {
        self.floor_or_ceil(false)
    }

    fn floor_or_ceil(&self, ceil: bool) -> Result<Numeric> {
        let Some(fixed) = self.fixed() else {
            return Ok(self.clone());
        };
        let unit = pow10(fixed.scale as u64);
        let digits = if ceil {
            Integer::div_ceil(&fixed.digits, &unit)
        } else {
            Integer::div_floor(&fixed.digits, &unit)
        };
        Numeric::make(digits, 0)
    }

    pub fn neg(&self) -> Numeric {
        match self {
            Numeric::Finite { digits, scale } => Numeric::Finite {
                digits: -digits,
                scale: *scale,
            },
            Numeric::NaN => Numeric::NaN,
            Numeric::Infinity => Numeric::NegInfinity,
            Numeric::NegInfinity => Numeric::Infinity,
        }
    }

    pub fn abs(&self) -> Numeric {
        if self.signum() < 0 {
            self.neg()
        } else {
            self.clone()
        }
    }

    /// sign(): -1, 0 or 1 with scale 0; NaN stays NaN.
    pub fn sign(&self) -> Numeric {
        match self {
            Numeric::NaN => Numeric::NaN,
            other => Numeric::from_i128(i128::from(other.signum())),
        }
    }

    fn infinity(negative: bool) -> Numeric {
        if negative {
            Numeric::NegInfinity
        } else {
            Numeric::Infinity
        }
    }

    pub fn add(&self, other: &Numeric) -> Result<Numeric> {
        match (self, other) {
            (Numeric::NaN, _) | (_, Numeric::NaN) => Ok(Numeric::NaN),
            (Numeric::Infinity, Numeric::NegInfinity)
            | (Numeric::NegInfinity, Numeric::Infinity) => Ok(Numeric::NaN),
            (Numeric::Infinity | Numeric::NegInfinity, _) => Ok(self.clone()),
            (_, Numeric::Infinity | Numeric::NegInfinity) => Ok(other.clone()),
            (
                Numeric::Finite {
                    digits: a,
                    scale: sa,
                },
                Numeric::Finite {
                    digits: b,
                    scale: sb,
                },
            ) => {
                let (a, b, scale) = aligned(a, *sa, b, *sb);
                Numeric::make(a + b, i64::from(scale))
            }
        }
    }

    pub fn sub(&self, other: &Numeric) -> Result<Numeric> {
        self.add(&other.neg())
    }

    pub fn mul(&self, other: &Numeric) -> Result<Numeric> {
        match (self.fixed(), other.fixed()) {
            (Some(a), Some(b)) => {
                let product = a.mul(&b);
                // The exact product, rounded only if it has more digits than a value may.
                let scale = product.scale.min(MAX_DSCALE);
                let digits = product.at(scale, false);
                Numeric::make(digits, scale)
            }
            _ if self.is_nan() || other.is_nan() => Ok(Numeric::NaN),
            _ => match self.signum() * other.signum() {
                0 => Ok(Numeric::NaN),
                sign => Ok(Numeric::infinity(sign < 0)),
            },
        }
    }

    /// The `/` operator: PostgreSQL's result scale, rounded.
    pub fn div(&self, other: &Numeric) -> Result<Numeric> {
        if let Some(special) = Numeric::divide_specials(self, other)? {
            return Ok(special);
        }
        let (a, b) = (
            self.fixed().expect("finite"),
            other.fixed().expect("finite"),
        );
        let scale = select_div_scale(&a, &b);
        Numeric::make(divide(&a, &b, scale, false), scale)
    }

    /// `div(x, y)`: the quotient truncated to an integer.
    pub fn div_trunc(&self, other: &Numeric) -> Result<Numeric> {
        if let Some(special) = Numeric::divide_specials(self, other)? {
            return Ok(match special {
                Numeric::Finite { .. } => Numeric::zero(),
                other => other,
            });
        }
        let (a, b) = (
            self.fixed().expect("finite"),
            other.fixed().expect("finite"),
        );
        Numeric::make(divide(&a, &b, 0, true), 0)
    }

    /// NaN, the infinities and division by zero, shared by `/` and div().
    fn divide_specials(a: &Numeric, b: &Numeric) -> Result<Option<Numeric>> {
        if a.is_nan() || b.is_nan() {
            return Ok(Some(Numeric::NaN));
        }
        if b.is_zero() {
            return Err(DbError::division_by_zero());
        }
        Ok(match (a.is_special(), b.is_special()) {
            (false, false) => None,
            (true, true) => Some(Numeric::NaN),
            (true, false) => Some(Numeric::infinity(a.signum() * b.signum() < 0)),
            (false, true) => Some(Numeric::zero()),
        })
    }

    /// `%` and mod(): the remainder of truncated division, with the larger input scale.
    pub fn rem(&self, other: &Numeric) -> Result<Numeric> {
        if self.is_nan() || other.is_nan() {
            return Ok(Numeric::NaN);
        }
        if other.is_zero() {
            return Err(DbError::division_by_zero());
        }
        if self.is_special() {
            return Ok(Numeric::NaN);
        }
        if other.is_special() {
            return Ok(self.clone());
        }
        let (a, b) = (
            self.fixed().expect("finite"),
            other.fixed().expect("finite"),
        );
        let scale = a.scale.max(b.scale);
        let remainder = a.at(scale, false) % b.at(scale, false);
        Numeric::make(remainder, scale)
    }

    /// Digits needed after the point to show the value exactly (min_scale); None if special.
    pub fn min_scale(&self) -> Option<u32> {
        let Numeric::Finite { digits, scale } = self else {
            return None;
        };
        if digits.is_zero() {
            return Some(0);
        }
        let mut scale = *scale;
        let mut digits = digits.clone();
        let ten = BigInt::from(10u32);
        while scale > 0 {
            let (quotient, remainder) = digits.div_rem(&ten);
            if !remainder.is_zero() {
                break;
            }
            digits = quotient;
            scale -= 1;
        }
        Some(scale)
    }

    /// trim_scale(): the same value without trailing zeros after the point.
    pub fn trim_scale(&self) -> Numeric {
        match self.min_scale() {
            Some(scale) => self
                .round_to(i64::from(scale), true)
                .unwrap_or(self.clone()),
            None => self.clone(),
        }
    }

    /// Casts to an integer type: rounded half away from zero; None when it does not fit
    /// in an i128 (callers report their type's range error).
    pub fn to_i128_rounded(&self) -> Option<i128> {
        let fixed = self.fixed()?;
        if fixed.exponent().is_some_and(|e| e > 40) {
            return None;
        }
        fixed.at(0, false).to_i128()
    }

    /// float8 of the value (as PostgreSQL: through its text, correctly rounded).
    pub fn to_f64(&self) -> f64 {
        match self {
            Numeric::NaN => f64::NAN,
            Numeric::Infinity => f64::INFINITY,
            Numeric::NegInfinity => f64::NEG_INFINITY,
            Numeric::Finite { .. } => self.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// float8 to numeric as PostgreSQL does it: the shortest `%.15g` text of the value.
    pub fn from_f64(value: f64) -> Numeric {
        if value.is_nan() {
            return Numeric::NaN;
        }
        if value.is_infinite() {
            return Numeric::infinity(value < 0.0);
        }
        let text = format!("{value:.14e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        Numeric::parse(&format!("{mantissa}e{exponent}")).unwrap_or(Numeric::NaN)
    }

    /// sqrt() with PostgreSQL's result scale.
    pub fn sqrt(&self) -> Result<Numeric> {
        let negative = || invalid_power("cannot take square root of a negative number");
        match self {
            Numeric::NaN | Numeric::Infinity => return Ok(self.clone()),
            Numeric::NegInfinity => return Err(negative()),
            _ if self.signum() < 0 => return Err(negative()),
            _ => {}
        }
        let fixed = self.fixed().expect("finite");
        let weight = nbase_top(&fixed).map_or(0, |(weight, _, _)| weight);
        let sweight = (weight + 1) * 4 / 2 - 1;
        let rscale = (MIN_SIG_DIGITS - sweight)
            .max(fixed.scale)
            .clamp(0, MAX_DISPLAY_SCALE);
        self.sqrt_at(rscale)
    }

    /// The square root of a finite, non-negative value rounded to `rscale` digits (stddev's
    /// scale is its variance's, not sqrt()'s own choice).
    pub fn sqrt_at(&self, rscale: i64) -> Result<Numeric> {
        let Some(fixed) = self.fixed().filter(|_| self.signum() >= 0) else {
            return self.sqrt();
        };
        // floor(sqrt(x * 10^(2 rscale + 2))), then round away its last digit.
        let radicand = fixed.at(2 * rscale + 2, true);
        let root = radicand.sqrt();
        Numeric::make(div_round(&root, &BigInt::from(10u32)), rscale)
    }

    /// exp() with PostgreSQL's result scale.
    pub fn exp(&self) -> Result<Numeric> {
        match self {
            Numeric::NaN | Numeric::Infinity => return Ok(self.clone()),
            Numeric::NegInfinity => return Ok(Numeric::zero()),
            _ => {}
        }
        let fixed = self.fixed().expect("finite");
        let estimate = (fixed.to_f64() * std::f64::consts::LOG10_E)
            .clamp(-MAX_RESULT_SCALE as f64, MAX_RESULT_SCALE as f64);
        let rscale = (MIN_SIG_DIGITS - estimate as i64)
            .max(fixed.scale)
            .clamp(0, MAX_DISPLAY_SCALE);
        exp_rounded(&fixed, rscale)
    }

    /// ln() with PostgreSQL's result scale.
    pub fn ln(&self) -> Result<Numeric> {
        match self {
            Numeric::NaN | Numeric::Infinity => return Ok(self.clone()),
            Numeric::NegInfinity => {
                return Err(invalid_log("cannot take logarithm of a negative number"))
            }
            _ => {}
        }
        let fixed = self.fixed().expect("finite");
        check_log_argument(&fixed)?;
        let rscale = (MIN_SIG_DIGITS - estimate_ln_dweight(&fixed))
            .max(fixed.scale)
            .clamp(0, MAX_DISPLAY_SCALE);
        let value = ln_fixed(&fixed, rscale + 4);
        Numeric::make(rescale(&value, rscale + 4, rscale, false), rscale)
    }

    /// log(base, x) with PostgreSQL's result scale.
    pub fn log(base: &Numeric, x: &Numeric) -> Result<Numeric> {
        if base.is_special() || x.is_special() {
            if base.is_nan() || x.is_nan() {
                return Ok(Numeric::NaN);
            }
            if base.signum() < 0 || x.signum() < 0 {
                return Err(invalid_log("cannot take logarithm of a negative number"));
            }
            if base.signum() == 0 || x.signum() == 0 {
                return Err(invalid_log("cannot take logarithm of zero"));
            }
            if matches!(base, Numeric::Infinity) {
                return Ok(if matches!(x, Numeric::Infinity) {
                    Numeric::NaN
                } else {
                    Numeric::zero()
                });
            }
            return Ok(Numeric::Infinity);
        }
        let (b, n) = (base.fixed().expect("finite"), x.fixed().expect("finite"));
        check_log_argument(&b)?;
        check_log_argument(&n)?;
        let base_dweight = estimate_ln_dweight(&b);
        let num_dweight = estimate_ln_dweight(&n);
        let result_dweight = num_dweight - base_dweight;
        let rscale = (MIN_SIG_DIGITS - result_dweight)
            .max(b.scale)
            .max(n.scale)
            .clamp(0, MAX_DISPLAY_SCALE);
        let base_scale = (rscale + result_dweight - base_dweight + 12).max(4);
        let num_scale = (rscale + result_dweight - num_dweight + 12).max(4);
        let ln_base = Fixed {
            digits: ln_fixed(&b, base_scale),
            scale: base_scale,
        };
        let ln_num = Fixed {
            digits: ln_fixed(&n, num_scale),
            scale: num_scale,
        };
        if ln_base.digits.is_zero() {
            return Err(DbError::division_by_zero());
        }
        Numeric::make(divide(&ln_num, &ln_base, rscale, false), rscale)
    }

    /// The `^` operator and power().
    pub fn power(&self, exponent: &Numeric) -> Result<Numeric> {
        if self.is_nan() {
            return Ok(if exponent.is_zero() {
                Numeric::from_i128(1)
            } else {
                Numeric::NaN
            });
        }
        if exponent.is_nan() {
            let one = matches!(self, Numeric::Finite { .. })
                && self.cmp_total(&Numeric::from_i128(1)) == Ordering::Equal;
            return Ok(if one {
                Numeric::from_i128(1)
            } else {
                Numeric::NaN
            });
        }
        if self.is_special() || exponent.is_special() {
            return power_specials(self, exponent);
        }
        if self.is_zero() && exponent.signum() < 0 {
            return Err(invalid_power(
                "zero raised to a negative power is undefined",
            ));
        }
        let (base, exp) = (
            self.fixed().expect("finite"),
            exponent.fixed().expect("finite"),
        );
        let integral = exp.digits.is_multiple_of(&pow10(exp.scale as u64));
        if integral {
            if let Some(power) = exp.at(0, true).to_i32() {
                let rscale = MIN_SIG_DIGITS.max(base.scale).clamp(0, MAX_DISPLAY_SCALE);
                return power_int(&base, power, rscale);
            }
        }
        if base.digits.is_zero() {
            return Numeric::make(BigInt::zero(), MIN_SIG_DIGITS);
        }
        let mut negative = false;
        let mut base = base;
        if base.digits.is_negative() {
            if !integral {
                return Err(invalid_power(
                    "a negative number raised to a non-integer power yields a complex result",
                ));
            }
            negative = exp.at(0, true).is_odd();
            base.digits = -base.digits;
        }
        // A low-precision exp * ln(base) first: the result's size, and PostgreSQL's early
        // overflow and underflow.
        let ln_dweight = estimate_ln_dweight(&base);
        let low_scale = (8 - ln_dweight).max(0);
        let ln_low = Fixed {
            digits: ln_fixed(&base, low_scale),
            scale: low_scale,
        };
        let estimate = ln_low.mul(&exp).to_f64();
        if estimate.abs() > MAX_RESULT_SCALE as f64 * 3.01 {
            if estimate > 0.0 {
                return Err(overflow());
            }
            return Numeric::make(BigInt::zero(), MAX_DISPLAY_SCALE);
        }
        let weight = estimate * std::f64::consts::LOG10_E;
        let rscale = (MIN_SIG_DIGITS - weight as i64)
            .max(base.scale)
            .max(exp.scale)
            .clamp(0, MAX_DISPLAY_SCALE);
        let sig_digits = (rscale + weight as i64).max(0);
        let exp_digits = exp.exponent().map_or(0, |e| (e + 1).max(0));
        let ln_scale = (sig_digits - ln_dweight + exp_digits + 10).max(0);
        let ln_base = Fixed {
            digits: ln_fixed(&base, ln_scale),
            scale: ln_scale,
        };
        let result = exp_rounded(&ln_base.mul(&exp), rscale)?;
        Ok(if negative { result.neg() } else { result })
    }

    /// Total order: -Infinity < finite values < Infinity < NaN, NaN equal to itself.
    pub fn cmp_total(&self, other: &Numeric) -> Ordering {
        let rank = |n: &Numeric| match n {
            Numeric::NegInfinity => 0,
            Numeric::Finite { .. } => 1,
            Numeric::Infinity => 2,
            Numeric::NaN => 3,
        };
        match (self, other) {
            (
                Numeric::Finite {
                    digits: a,
                    scale: sa,
                },
                Numeric::Finite {
                    digits: b,
                    scale: sb,
                },
            ) => {
                let (a, b, _) = aligned(a, *sa, b, *sb);
                a.cmp(&b)
            }
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// Applies `numeric(precision, scale)`: rounds to the scale and checks the digits left
    /// of the point, with PostgreSQL's error.
    pub fn apply_typmod(&self, precision: u32, scale: i32) -> Result<Numeric> {
        let integer_digits = precision as i64 - i64::from(scale);
        let fail = |detail: String| {
            DbError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
                .with_detail(detail)
        };
        match self {
            Numeric::NaN => return Ok(Numeric::NaN),
            Numeric::Infinity | Numeric::NegInfinity => {
                return Err(fail(format!(
                "A field with precision {precision}, scale {scale} cannot hold an infinite value."
            )))
            }
            _ => {}
        }
        let fixed = self.fixed().expect("finite");
        let digits = fixed.at(i64::from(scale), false);
        let rounded = Fixed {
            digits,
            scale: i64::from(scale),
        };
        if rounded.exponent().is_some_and(|e| e + 1 > integer_digits) {
            let limit = if integer_digits != 0 {
                format!("10^{integer_digits}")
            } else {
                "1".to_string()
            };
            return Err(fail(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than {limit}."
            )));
        }
        Numeric::make(rounded.digits, rounded.scale)
    }

    /// PostgreSQL's on-disk form (without the varlena header): the 2-byte short header
    /// when it fits, else sign/dscale and weight, then the base-10000 digits.
    pub fn encode(&self) -> Vec<u8> {
        let header: u16 = match self {
            Numeric::NaN => 0xC000,
            Numeric::Infinity => 0xD000,
            Numeric::NegInfinity => 0xF000,
            Numeric::Finite { .. } => 0,
        };
        if header != 0 {
            return header.to_le_bytes().to_vec();
        }
        let Numeric::Finite { digits, scale } = self else {
            unreachable!()
        };
        let (weight, groups) = nbase_digits(digits, *scale);
        let negative = digits.is_negative();
        let mut out = Vec::with_capacity(4 + 2 * groups.len());
        if *scale <= 0x3F && (-64..=63).contains(&weight) {
            let mut header = 0x8000u16 | ((*scale as u16) << 7);
            if negative {
                header |= 0x2000;
            }
            if weight < 0 {
                header |= 0x0040;
            }
            header |= (weight as i16 as u16) & 0x003F;
            out.extend_from_slice(&header.to_le_bytes());
        } else {
            let sign_dscale = (*scale as u16 & 0x3FFF) | if negative { 0x4000 } else { 0 };
            out.extend_from_slice(&sign_dscale.to_le_bytes());
            out.extend_from_slice(&(weight as i16).to_le_bytes());
        }
        for group in groups {
            out.extend_from_slice(&group.to_le_bytes());
        }
        out
    }

    /// Reads [`Numeric::encode`]'s bytes.
    pub fn decode(bytes: &[u8]) -> Option<Numeric> {
        let header = u16::from_le_bytes(bytes.get(..2)?.try_into().ok()?);
        let (negative, scale, weight, rest) = match header & 0xC000 {
            0xC000 => {
                return match header {
                    0xC000 => Some(Numeric::NaN),
                    0xD000 => Some(Numeric::Infinity),
                    0xF000 => Some(Numeric::NegInfinity),
                    _ => None,
                }
            }
            0x8000 => {
                let mut weight = i64::from(header & 0x003F);
                if header & 0x0040 != 0 {
                    weight -= 64;
                }
                (
                    header & 0x2000 != 0,
                    u32::from((header >> 7) & 0x3F),
                    weight,
                    &bytes[2..],
                )
            }
            _ => {
                let weight = i16::from_le_bytes(bytes.get(2..4)?.try_into().ok()?);
                (
                    header & 0x4000 != 0,
                    u32::from(header & 0x3FFF),
                    i64::from(weight),
                    &bytes[4..],
                )
            }
        };
        if rest.len() % 2 != 0 {
            return None;
        }
        let mut text = String::with_capacity(rest.len() * 2);
        for pair in rest.chunks(2) {
            let group = u16::from_le_bytes([pair[0], pair[1]]);
            if group >= 10_000 {
                return None;
            }
            text.push_str(&format!("{group:04}"));
        }
        let groups = (rest.len() / 2) as i64;
        if groups == 0 {
            return Some(Numeric::Finite {
                digits: BigInt::zero(),
                scale,
            });
        }
        let mut digits: BigInt = text.parse().ok()?;
        // The last group's unit is 10^(4 * (weight - groups + 1)).
        let exponent = 4 * (weight - groups + 1) + i64::from(scale);
        if exponent.abs() > 4 * (MAX_INTEGER_DIGITS + MAX_DSCALE) {
            return None;
        }
        digits = if exponent >= 0 {
            digits * pow10(exponent as u64)
        } else {
            let unit = pow10((-exponent) as u64);
            if !digits.is_multiple_of(&unit) {
                return None;
            }
            digits / unit
        };
        if negative {
            digits = -digits;
        }
        Some(Numeric::Finite { digits, scale })
    }
}

/// The base-10000 digits PostgreSQL stores (leading and trailing zero digits stripped) and
/// the weight of the first.
fn nbase_digits(digits: &BigInt, scale: u32) -> (i64, Vec<u16>) {
    if digits.is_zero() {
        return (0, Vec::new());
    }
    let pad = (4 - scale % 4) % 4;
    let text = (digits.abs() * pow10(u64::from(pad))).to_string();
    let fraction_groups = ((scale + pad) / 4) as usize;
    // At least one group before the point, so small values have their leading zero groups.
    let total = text.len().div_ceil(4).max(fraction_groups + 1) * 4;
    let padded = format!("{text:0>total$}");
    let groups: Vec<u16> = padded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or("0").parse().unwrap_or(0))
        .collect();
    let mut weight = (groups.len() - fraction_groups) as i64 - 1;
    let first = groups.iter().position(|g| *g != 0).unwrap_or(0);
    let last = groups.iter().rposition(|g| *g != 0).unwrap_or(0);
    weight -= first as i64;
    (weight, groups[first..=last].to_vec())
}

/// `select_div_scale`: at least 16 significant digits, and no fewer than either input shows.
fn select_div_scale(a: &Fixed, b: &Fixed) -> i64 {
    let (weight1, first1) = nbase_top(a).map_or((0, 0), |(w, f, _)| (w, f));
    let (weight2, first2) = nbase_top(b).map_or((0, 0), |(w, f, _)| (w, f));
    let mut qweight = weight1 - weight2;
    if first1 <= first2 {
        qweight -= 1;
    }
    (MIN_SIG_DIGITS - qweight * 4)
        .max(a.scale)
        .max(b.scale)
        .clamp(0, MAX_DISPLAY_SCALE)
}

/// `a / b` at `scale`, rounded or truncated.
fn divide(a: &Fixed, b: &Fixed, scale: i64, truncate: bool) -> BigInt {
    // a/b * 10^scale = (a.digits * 10^(scale + b.scale - a.scale)) / b.digits
    let shift = scale + b.scale - a.scale;
    let (numerator, denominator) = if shift >= 0 {
        (&a.digits * pow10(shift as u64), b.digits.clone())
    } else {
        (a.digits.clone(), &b.digits * pow10((-shift) as u64))
    };
    if truncate {
        numerator / denominator
    } else {
        div_round(&numerator, &denominator)
    }
}

fn check_log_argument(fixed: &Fixed) -> Result<()> {
    match fixed.digits.sign() {
        Sign::NoSign => Err(invalid_log("cannot take logarithm of zero")),
        Sign::Minus => Err(invalid_log("cannot take logarithm of a negative number")),
        Sign::Plus => Ok(()),
    }
}

/// PostgreSQL's estimate of the decimal weight of ln(x) (`estimate_ln_dweight`).
fn estimate_ln_dweight(x: &Fixed) -> i64 {
    if !x.digits.is_positive() {
        return 0;
    }
    let nine_tenths = Fixed {
        digits: BigInt::from(9),
        scale: 1,
    };
    let eleven_tenths = Fixed {
        digits: BigInt::from(11),
        scale: 1,
    };
    let cmp = |a: &Fixed, b: &Fixed| {
        let scale = a.scale.max(b.scale);
        a.at(scale, false).cmp(&b.at(scale, false))
    };
    if cmp(x, &nine_tenths).is_ge() && cmp(x, &eleven_tenths).is_le() {
        let scale = x.scale.max(0);
        let difference = Fixed {
            digits: x.at(scale, false) - pow10(scale as u64),
            scale,
        };
        return difference.exponent().unwrap_or(0);
    }
    let Some((weight, first, second)) = nbase_top(x) else {
        return 0;
    };
    let (digits, dweight) = match second {
        Some(second) => (
            f64::from(first) * 10_000.0 + f64::from(second),
            weight * 4 - 4,
        ),
        None => (f64::from(first), weight * 4),
    };
    let ln = digits.ln() + dweight as f64 * std::f64::consts::LN_10;
    ln.abs().log10() as i64
}

/// ln(x) for x > 0 as an integer at `scale`, accurate to about one unit there.
fn ln_fixed(x: &Fixed, scale: i64) -> BigInt {
    // x = m * 10^e with 1 <= m < 10; ln x = ln m + e ln 10.
    let exponent = x.exponent().unwrap_or(0);
    let e_digits = digit_count(&BigInt::from(exponent)) + 2;
    let work = scale + e_digits + 10;
    let mantissa = Fixed {
        digits: x.digits.clone(),
        scale: x.scale + exponent,
    };
    let mut total = ln_near_one(&mantissa.at(work, true), work);
    if exponent != 0 {
        let ten = pow10(work as u64) * 10u32;
        total += ln_near_one(&ten, work) * exponent;
    }
    rescale(&total, work, scale, false)
}

/// ln(m) for a fixed-point `m` (at `scale`) between 1 and 10: square roots down to about 1,
/// then the series of 2 atanh((m-1)/(m+1)).
fn ln_near_one(m: &BigInt, scale: i64) -> BigInt {
    let guard = 8;
    let work = scale + guard;
    let one = pow10(work as u64);
    let mut value = rescale(m, scale, work, true);
    let low = &one * 9u32 / 10u32;
    let high = &one * 11u32 / 10u32;
    let mut doublings = 0u32;
    while value > high || value < low {
        value = (value * &one).sqrt();
        doublings += 1;
    }
    let z = ((&value - &one) * &one) / (&value + &one);
    let z2 = (&z * &z) / &one;
    let mut term = z.clone();
    let mut sum = z;
    let mut n = 1u32;
    loop {
        term = (&term * &z2) / &one;
        n += 2;
        let piece = &term / n;
        if piece.is_zero() {
            break;
        }
        sum += piece;
    }
    let result = sum * 2u32 * (BigInt::one() << doublings);
    rescale(&result, work, scale, true)
}

/// exp(x) rounded to `rscale`, with PostgreSQL's overflow limit.
fn exp_rounded(x: &Fixed, rscale: i64) -> Result<Numeric> {
    let value = x.to_f64();
    if value.abs() >= MAX_RESULT_SCALE as f64 * 3.0 {
        if value > 0.0 {
            return Err(overflow());
        }
        return Numeric::make(BigInt::zero(), rscale);
    }
    let weight = value * std::f64::consts::LOG10_E;
    if x.digits.is_negative() {
        // exp(x) = 1 / exp(-x); nothing left at this scale when it is tiny.
        if weight < -(rscale as f64) - 2.0 {
            return Numeric::make(BigInt::zero(), rscale);
        }
        let work = rscale + 12;
        let positive = Fixed {
            digits: -x.digits.clone(),
            scale: x.scale,
        };
        let denominator = exp_positive(&positive, work);
        let numerator = pow10((2 * work) as u64);
        let quotient = numerator / denominator;
        return Numeric::make(rescale(&quotient, work, rscale, false), rscale);
    }
    let work = rscale + 12;
    let value = exp_positive(x, work + (weight.max(0.0) as i64));
    let scale = work + (weight.max(0.0) as i64);
    Numeric::make(rescale(&value, scale, rscale, false), rscale)
}

/// exp(x) for x >= 0 as an integer at `scale` (absolute error about one unit there, the
/// caller adding digits for the result's size): halve x below 0.01, sum the series, square.
fn exp_positive(x: &Fixed, scale: i64) -> BigInt {
    let value = x.to_f64();
    let halvings = if value > 0.01 {
        (value / 0.01).log2().ceil() as u32
    } else {
        0
    };
    let work = scale + i64::from(halvings) / 3 + 10;
    let one = pow10(work as u64);
    let r = x.at(work, true) >> halvings;
    let mut sum = one.clone();
    let mut term = one.clone();
    let mut k = 1u32;
    loop {
        term = (&term * &r) / (&one * k);
        if term.is_zero() {
            break;
        }
        sum += &term;
        k += 1;
    }
    for _ in 0..halvings {
        sum = (&sum * &sum) / &one;
    }
    rescale(&sum, work, scale, true)
}

/// power with an int32 exponent (`power_var_int`).
fn power_int(base: &Fixed, exponent: i32, rscale: i64) -> Result<Numeric> {
    if exponent == 0 {
        return Numeric::make(pow10(rscale as u64), rscale);
    }
    if base.digits.is_zero() {
        return Numeric::make(BigInt::zero(), rscale);
    }
    let top = Fixed {
        digits: base.digits.abs(),
        scale: base.scale,
    }
    .truncated_to(16);
    let f = f64::from(exponent) * top.to_f64().log10();
    // PostgreSQL's early test, and ours: more digits than a value may hold is the same error
    // after the work, so it comes before it.
    if f > 3.0 * f64::from(i16::MAX) * 4.0 || f > MAX_INTEGER_DIGITS as f64 + 0.5 {
        return Err(overflow());
    }
    if f + 1.0 < -(rscale as f64) || f + 1.0 < -(MAX_DISPLAY_SCALE as f64) {
        return Numeric::make(BigInt::zero(), rscale);
    }
    let magnitude = exponent.unsigned_abs();
    let guard = 12 + i64::from(32 - magnitude.leading_zeros());
    // Significant digits to keep in the running product.
    let sig = if exponent > 0 {
        (f.max(0.0) as i64) + rscale + guard
    } else {
        (rscale - f as i64).max(0) + guard
    };
    let mut result = Fixed {
        digits: BigInt::one(),
        scale: 0,
    };
    let mut square = base.clone();
    let mut bits = magnitude;
    loop {
        if bits & 1 == 1 {
            result = result.mul(&square).truncated_to(sig);
        }
        bits >>= 1;
        if bits == 0 {
            break;
        }
        square = square.mul(&square).truncated_to(sig);
    }
    if exponent > 0 {
        return Numeric::make(result.at(rscale, false), rscale);
    }
    let one = Fixed {
        digits: BigInt::one(),
        scale: 0,
    };
    Numeric::make(divide(&one, &result, rscale, false), rscale)
}

/// `^` with an infinite base or exponent, as POSIX pow() (PostgreSQL 14+).
fn power_specials(base: &Numeric, exponent: &Numeric) -> Result<Numeric> {
    let one = Numeric::from_i128(1);
    match exponent {
        Numeric::Infinity | Numeric::NegInfinity => {
            let magnitude = base.abs().cmp_total(&one);
            let positive = matches!(exponent, Numeric::Infinity);
            if base.is_zero() && !positive {
                return Err(invalid_power(
                    "zero raised to a negative power is undefined",
                ));
            }
            Ok(match (magnitude, positive) {
                (Ordering::Equal, _) => one,
                (Ordering::Greater, true) | (Ordering::Less, false) => Numeric::Infinity,
                _ => Numeric::zero(),
            })
        }
        _ => {
            let sign = exponent.signum();
            if sign == 0 {
                return Ok(one);
            }
            if sign < 0 {
                return Ok(Numeric::zero());
            }
            if matches!(base, Numeric::NegInfinity) {
                let fixed = exponent.fixed().expect("finite");
                let odd = fixed.digits.is_multiple_of(&pow10(fixed.scale as u64))
                    && fixed.at(0, true).is_odd();
                return Ok(if odd {
                    Numeric::NegInfinity
                } else {
                    Numeric::Infinity
                });
            }
            Ok(Numeric::Infinity)
        }
    }
}

impl PartialEq for Numeric {
    fn eq(&self, other: &Numeric) -> bool {
        self.cmp_total(other) == Ordering::Equal
    }
}

impl std::fmt::Display for Numeric {
    /// `numeric_out`: every digit of the display scale, no exponent.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (digits, scale) = match self {
            Numeric::NaN => return f.write_str("NaN"),
            Numeric::Infinity => return f.write_str("Infinity"),
            Numeric::NegInfinity => return f.write_str("-Infinity"),
            Numeric::Finite { digits, scale } => (digits, *scale as usize),
        };
        let text = digits.magnitude().to_string();
        let padded = format!("{text:0>width$}", width = scale + 1);
        let (integer, fraction) = padded.split_at(padded.len() - scale);
        if digits.is_negative() {
            f.write_str("-")?;
        }
        f.write_str(integer)?;
        if scale > 0 {
            f.write_str(".")?;
            f.write_str(fraction)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Numeric {
        Numeric::parse(text).unwrap()
    }

    #[test]
    fn text_round_trips_with_scale() {
        for text in [
            "0",
            "0.00",
            "-1.50",
            "12345678901234567890123456789012345.1",
            "NaN",
        ] {
            assert_eq!(n(text).to_string(), text);
        }
        assert_eq!(n(" 1e3 ").to_string(), "1000");
        assert_eq!(n("1.5e-3").to_string(), "0.0015");
        assert_eq!(n("-0.0").to_string(), "0.0");
        assert_eq!(n("-inf").to_string(), "-Infinity");
        assert!(Numeric::parse("1e").is_err());
        assert!(Numeric::parse(".").is_err());
        assert_eq!(
            Numeric::parse("1e1000000").unwrap_err().message,
            "value overflows numeric format"
        );
    }

    #[test]
    fn scales_follow_postgres() {
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_string(),
            "0.33333333333333333333"
        );
        assert_eq!(
            n("10").div(&n("4")).unwrap().to_string(),
            "2.5000000000000000"
        );
        assert_eq!(n("1.50").mul(&n("2.0")).unwrap().to_string(), "3.000");
        assert_eq!(n("2").sqrt().unwrap().to_string(), "1.414213562373095");
        assert_eq!(
            n("2").power(&n("0.5")).unwrap().to_string(),
            "1.4142135623730950"
        );
        assert_eq!(n("1").exp().unwrap().to_string(), "2.7182818284590452");
        assert_eq!(n("10").ln().unwrap().to_string(), "2.3025850929940457");
        assert_eq!(
            n("5e27").round_to(-28, false).unwrap().to_string(),
            "10000000000000000000000000000"
        );
        assert_eq!(n("1.5").round_to(-30, true).unwrap().to_string(), "0");
    }

    #[test]
    fn storage_round_trips() {
        for text in [
            "0",
            "0.000",
            "-12.34",
            "1e40",
            "1e-30",
            "1e-10",
            "0.0012",
            "-123456789.123456789",
            "NaN",
            "Infinity",
            "-Infinity",
            "99999999999999999999999999999999999999999999999999e100",
        ] {
            let value = n(text);
            let decoded = Numeric::decode(&value.encode()).unwrap();
            assert_eq!(decoded.to_string(), value.to_string(), "{text}");
        }
        assert_eq!(n("12.34").encode().len(), 6);
    }
}
