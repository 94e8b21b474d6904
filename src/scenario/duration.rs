//! Durations as people write them: `"250ms"`, `"1.5s"`, `"10min"`, `"30d"`, `"1h30m"`.
//!
//! Parsed with integer arithmetic on the decimal digits, so `"0.1s"` is exactly 100 000 000 ns.
//! A bare number is refused: whether `5` meant seconds or milliseconds is exactly the kind of
//! silent mistake a scenario file must not allow.

use crate::engine::SimTime;

/// Nanoseconds per unit. `m` is minutes (there is no month unit); `y` is 365 days.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("sec", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("y", 31_536_000_000_000_000),
];

/// The units accepted, for error messages.
pub const UNIT_LIST: &str = "ns, us (or µs), ms, s, min (or m), h, d, w, y (365 d)";

/// Nanoseconds in one `unit`, if it is a known unit.
pub fn unit_nanos(unit: &str) -> Option<u128> {
    UNITS.iter().find(|(u, _)| *u == unit).map(|&(_, n)| n)
}

/// Parses a duration: one or more `<number><unit>` parts (`"2s"`, `"1.5ms"`, `"1h30min"`),
/// whitespace allowed between a number and its unit. Units: see [`UNIT_LIST`].
pub fn parse_duration(s: &str) -> Result<SimTime, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration: write a number and a unit, e.g. \"250ms\" or \"2s\"".into());
    }
    if text.starts_with('-') {
        return Err(format!("\"{text}\": a duration cannot be negative"));
    }
    if text.parse::<f64>().is_ok() {
        return Err(format!(
            "\"{text}\" has no unit: add one, e.g. \"{text}s\" or \"{text}ms\" (units: {UNIT_LIST})"
        ));
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() {
            return Err(format!(
                "\"{text}\" is not a duration: expected a number at \"{rest}\" (e.g. \"250ms\", \"1.5s\", \"1h30min\")"
            ));
        }
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        if unit.is_empty() {
            return Err(format!(
                "\"{text}\": the number {number} has no unit (units: {UNIT_LIST})"
            ));
        }
        let per = unit_nanos(unit)
            .ok_or_else(|| format!("\"{text}\": unknown unit \"{unit}\" (units: {UNIT_LIST})"))?;
        let ns = decimal_times(number, per)
            .ok_or_else(|| format!("\"{text}\": \"{number}\" is not a valid number"))?;
        total = total.saturating_add(ns);
    }
    if total > u64::MAX as u128 {
        return Err(format!(
            "\"{text}\" is too long: the longest simulated time is about 584 years"
        ));
    }
    Ok(SimTime::from_nanos(total as u64))
}

/// `number` (decimal digits with at most one point) times `per`, rounded to the nearest
/// integer, computed exactly. None when the number is malformed or overflows.
fn decimal_times(number: &str, per: u128) -> Option<u128> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return None;
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut value = int.checked_mul(per)?;
    // Fraction digits beyond 30 cannot change a nanosecond count that fits in u64.
    let frac = &frac_part[..frac_part.len().min(30)];
    if !frac.is_empty() {
        let digits: u128 = frac.parse().ok()?;
        let scale = 10u128.checked_pow(frac.len() as u32)?;
        // digits < scale. digits * per overflows u128 only for fractions with more than ~21
        // digits; f64 (within a few ns of a year) is good enough for such inputs.
        let part = match digits.checked_mul(per) {
            Some(p) => (p + scale / 2) / scale,
            None => (digits as f64 * per as f64 / scale as f64).round() as u128,
        };
        value = value.checked_add(part)?;
    }
    Some(value)
}

/// A duration in the shortest exact form: `"250ms"`, `"1.5s"`, `"0s"` (for messages and docs).
pub fn format_duration(t: SimTime) -> String {
    if t == SimTime::ZERO {
        "0s".into()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> u64 {
        parse_duration(s).unwrap().as_nanos()
    }

    #[test]
    fn good_durations() {
        assert_eq!(ns("250ms"), 250_000_000);
        assert_eq!(ns("2s"), 2_000_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("0.1s"), 100_000_000);
        assert_eq!(ns(".5ms"), 500_000);
        assert_eq!(ns("10min"), 600_000_000_000);
        assert_eq!(ns("90m"), 5_400_000_000_000);
        assert_eq!(ns("2h"), 7_200_000_000_000);
        assert_eq!(ns("30d"), 30 * 86_400_000_000_000);
        assert_eq!(ns("1w"), 7 * 86_400_000_000_000);
        assert_eq!(ns("1y"), 365 * 86_400_000_000_000);
        assert_eq!(ns("40us"), 40_000);
        assert_eq!(ns("40µs"), 40_000);
        assert_eq!(ns("7ns"), 7);
        assert_eq!(ns("0s"), 0);
        assert_eq!(ns(" 250 ms "), 250_000_000);
        assert_eq!(ns("1h30min"), 5_400_000_000_000);
        assert_eq!(ns("1m30s"), 90_000_000_000);
        assert_eq!(ns("1.0000000000000000000000000000000001s"), 1_000_000_000);
    }

    #[test]
    fn bad_durations() {
        let e = parse_duration("5").unwrap_err();
        assert!(e.contains("add one"), "{e}");
        assert!(parse_duration("2.5").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("1s 5").is_err());
        assert!(parse_duration("600y").unwrap_err().contains("too long"));
        assert!(parse_duration("99999999999999999999999999999999999999999d").is_err());
        assert!(parse_duration("1e3ms").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("inf").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(SimTime::ZERO), "0s");
        assert_eq!(format_duration(SimTime::from_millis(250)), "250ms");
    }
}
