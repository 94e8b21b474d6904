//! `x` rounded to `d` significant decimal digits, computed in integers instead of through text.
//!
//! [`super::num::round_sig`] is defined by text: format `x` exactly with `d` significant digits
//! (`{:.*e}`, which rounds the exact binary value half to even) and read it back. That costs
//! about 2,000 instructions a figure, and a Monte Carlo `runs.csv` row has three figures per
//! component: on a short-horizon study the rows cost more than the runs, and they are written
//! in run order by one thread at a time, which capped two threads at about 1.1x (issue 13).
//!
//! The same value, exactly: with `x = mant · 2^e2` and `k = d − 1 − ⌊log10 |x|⌋`, the integer
//! part of `|x| · 10^k` and its remainder are computed exactly in `u128` (for `|k| ≤ 22`, so
//! that `10^|k|` is exact in an `f64` too), rounded half to even to `m`, and `m · 10^−k` is
//! made with one multiplication or division of two exactly representable `f64`s (`m < 2^53`),
//! which IEEE rounds correctly: the value the text would have parsed to (Clinger's fast path,
//! the one `str::parse` itself takes for such inputs). Anything outside that range (subnormals,
//! `|k| > 22`, more than 15 digits, shifts beyond 128 bits) answers `None` and the caller takes
//! the text path. A test checks both paths agree on ten million values.

/// Powers of ten exact in both `u128` and `f64` (10^22 < 2^73.1; every 10^n, n ≤ 22, is an
/// integer below 2^53 times a power of two).
const POW10: [u128; 23] = {
    let mut p = [1u128; 23];
    let mut i = 1;
    while i < 23 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `x` (finite, non-zero) rounded half to even to `digits` significant digits, or `None`
/// when the value is outside the exact fast range (see the module's doc).
pub fn round_sig(x: f64, digits: i32) -> Option<f64> {
    if !(1..=15).contains(&digits) || x == 0.0 || !x.is_finite() {
        return None;
    }
    let d = digits as u32;
    let a = x.abs();
    let bits = a.to_bits();
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        return None; // subnormal
    }
    let mant = u128::from((bits & ((1 << 52) - 1)) | (1 << 52));
    let e2 = biased - 1075; // a = mant · 2^e2
    // ⌊log10 a⌋, from a floating estimate corrected against the exact scaled value.
    let mut e10 = a.log10().floor() as i32;
    for _ in 0..3 {
        let k = d as i32 - 1 - e10;
        let (int, cmp_half) = scaled(mant, e2, k)?;
        if int < POW10[d as usize - 1] {
            e10 -= 1;
            continue;
        }
        if int >= POW10[d as usize] {
            e10 += 1;
            continue;
        }
        let up = match cmp_half {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => int % 2 == 1,
            std::cmp::Ordering::Less => false,
        };
        // m ≤ 10^15 < 2^53: exact as an f64 (10^d after a carry is too).
        let m = (int + u128::from(up)) as f64;
        let y = if k >= 0 {
            m / POW10[k as usize] as f64
        } else {
            m * POW10[(-k) as usize] as f64
        };
        return Some(if x < 0.0 { -y } else { y });
    }
    None
}

/// `⌊mant · 2^e2 · 10^k⌋` and how its fractional part compares with one half, exactly, or
/// `None` when that does not fit the `u128` arithmetic.
fn scaled(mant: u128, e2: i32, k: i32) -> Option<(u128, std::cmp::Ordering)> {
    if k.unsigned_abs() > 22 {
        return None;
    }
    let p = POW10[k.unsigned_abs() as usize];
    // value = num / den, both integers.
    let (num, den) = match (k >= 0, e2 >= 0) {
        // mant < 2^53, p ≤ 10^22 < 2^74: the product fits.
        (true, true) => (shl(mant * p, e2 as u32)?, 1),
        (true, false) => (mant * p, pow2(e2.unsigned_abs())?),
        (false, true) => (shl(mant, e2 as u32)?, p),
        (false, false) => (mant, shl(p, e2.unsigned_abs())?),
    };
    let (int, rem) = (num / den, num % den);
    // rem < den < 2^127, so twice it fits.
    Some((int, (2 * rem).cmp(&den)))
}

/// `v << s` if no bit is lost and the result stays below 2^127.
fn shl(v: u128, s: u32) -> Option<u128> {
    if s >= 127 || v >= (1u128 << (127 - s)) {
        None
    } else {
        Some(v << s)
    }
}

fn pow2(s: u32) -> Option<u128> {
    shl(1, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Rng, StreamId};

    /// The definition: the exact text of `x` with `digits` significant digits, read back.
    fn by_text(x: f64, digits: i32) -> f64 {
        format!("{:.*e}", (digits - 1).max(0) as usize, x)
            .parse()
            .unwrap()
    }

    fn check(x: f64, digits: i32) {
        if let Some(y) = round_sig(x, digits) {
            assert_eq!(
                y.to_bits(),
                by_text(x, digits).to_bits(),
                "{x:e} to {digits} digits: {y:e} against {:e}",
                by_text(x, digits)
            );
        }
    }

    /// Ties (exact binary values ending in a decimal 5), carries into a new decade, powers of
    /// ten and their neighbours, negatives, the largest and smallest normal magnitudes.
    #[test]
    fn edge_cases_round_as_the_text_does() {
        let ties = [
            0.125, 0.375, 2.5, 3.5, 0.0625, 1234567.5, 2.25, 9.5, 0.5, 1.5,
        ];
        for x in ties {
            for d in 1..=15 {
                check(x, d);
                check(-x, d);
            }
        }
        assert_eq!(round_sig(0.125, 2), Some(0.12));
        assert_eq!(round_sig(0.375, 2), Some(0.38));
        assert_eq!(round_sig(9.99999999999, 10), Some(10.0));
        for e in -300..=300 {
            let p = 10f64.powi(e);
            for x in [
                p,
                p.next_up(),
                p.next_down(),
                9.9999999999 * p,
                0.99999999995 * p,
            ] {
                for d in [1, 2, 5, 10, 15] {
                    check(x, d);
                }
            }
        }
        for x in [f64::MAX, f64::MIN_POSITIVE, 1e-310, 123.456] {
            check(x, 10);
        }
        // Outside the fast range: the caller's text path.
        assert_eq!(round_sig(1e-310, 10), None);
        assert_eq!(round_sig(1.0, 16), None);
    }

    /// Ten million values over the magnitudes figures take (1e-12 to 1e15: availabilities,
    /// seconds, counts), random mantissas, 1 to 15 digits: both paths give the same bits, and
    /// with a measured figure's [`DIGITS`](super::super::num::DIGITS) the fast one always
    /// answers (it is the path that matters).
    #[test]
    fn random_values_round_as_the_text_does() {
        let mut r = Rng::new(StreamId::new(1, "decimal", 0));
        for i in 0..10_000_000u64 {
            let e = r.below(28) as i32 - 12;
            let x = (1.0 + r.uniform() * 9.0) * 10f64.powi(e);
            let x = if i % 2 == 0 { x } else { -x };
            let d = if i % 3 == 0 {
                super::super::num::DIGITS
            } else {
                1 + r.below(15) as i32
            };
            check(x, d);
            // A measured figure's digits: always the fast path over these magnitudes.
            if d == super::super::num::DIGITS {
                assert!(round_sig(x, d).is_some(), "{x:e} took the text path");
            }
        }
    }
}
