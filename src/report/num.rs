//! Numbers as the files show them. A float computed from nanoseconds or summed over runs
//! carries binary noise in its last digits (`5.0789713910000005`): written as is, it claims a
//! precision nothing supports and differs between two runs that agree. Figures measured in one
//! run keep [`DIGITS`] significant digits (more than any of them is known to); an estimate with
//! a confidence interval keeps the digits its interval supports: down to the second
//! significant digit of its half-width.

/// Significant digits of a figure measured in one run.
pub const DIGITS: i32 = 10;

/// `x` rounded to `digits` significant digits, as the shortest text that reads back as that
/// value (`5.078971391`); "" for NaN (an empty CSV cell), `inf`/`-inf` as is.
pub fn sig(x: f64, digits: i32) -> String {
    if x.is_nan() {
        return String::new();
    }
    format!("{}", round_sig(x, digits))
}

/// `x` rounded to `digits` significant digits.
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    // The same value in integers when it is in range (`report/decimal.rs`), else by text.
    if let Some(y) = super::decimal::round_sig(x, digits) {
        return y;
    }
    let text = format!("{:.*e}", (digits - 1).max(0) as usize, x);
    text.parse().unwrap_or(x)
}

/// A figure measured in one run: [`DIGITS`] significant digits.
pub fn measured(x: f64) -> String {
    sig(x, DIGITS)
}

/// `x`, a bound or the mean of an estimate with half-width `half_width`, rounded to the decimal
/// place of the half-width's second significant digit (and to [`DIGITS`] at most); a zero or
/// unknown half-width keeps [`DIGITS`].
pub fn estimate(x: f64, half_width: f64) -> String {
    if x.is_nan() {
        return String::new();
    }
    if !(half_width.is_finite() && half_width > 0.0) || x == 0.0 || !x.is_finite() {
        return measured(x);
    }
    // Decimal exponent of the half-width's second significant digit.
    let place = half_width.log10().floor() as i32 - 1;
    let magnitude = x.abs().log10().floor() as i32;
    let digits = (magnitude - place + 1).clamp(1, DIGITS);
    sig(x, digits)
}

/// Rewrites every float cell of a CSV document with [`measured`], except in the columns named
/// in `text_columns` (names, which may look like numbers). Integers are left as written.
pub fn tidy_csv(bytes: &[u8], text_columns: &[&str]) -> std::io::Result<Vec<u8>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut w = csv::Writer::from_writer(vec![]);
    let mut skip: Vec<bool> = vec![];
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(std::io::Error::other)?;
        if i == 0 {
            skip = rec.iter().map(|h| text_columns.contains(&h)).collect();
            w.write_record(&rec).map_err(std::io::Error::other)?;
            continue;
        }
        let cells: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(j, cell)| {
                let float =
                    cell.contains(['.', 'e', 'E']) && !skip.get(j).copied().unwrap_or(false);
                match cell.parse::<f64>() {
                    Ok(x) if float && x.is_finite() => measured(x),
                    _ => cell.to_string(),
                }
            })
            .collect();
        w.write_record(&cells).map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

// ---- for readers (HTML pages) -------------------------------------------------------------

/// Decimals that show an interval's half-width to its first significant digit (0.4 -> 1,
/// 8 -> 0, 0.013 -> 2); `None` when there is no interval.
fn ci_decimals(half_width: f64) -> Option<usize> {
    (half_width.is_finite() && half_width > 0.0)
        .then(|| (-half_width.log10().floor()).clamp(0.0, 12.0) as usize)
}

/// Three significant digits, no exponent: 0.001234 -> "0.00123", 1234.5 -> "1235".
pub fn readable(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (2 - mag).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

/// A mean and its 95% half-width in one unit, to the precision the interval supports:
/// `fixed_ci(120.3, 8.2, " ms")` -> "120 ± 8 ms"; without an interval, three significant
/// digits.
pub fn fixed_ci(mean: f64, half_width: f64, unit: &str) -> String {
    if !mean.is_finite() {
        return "-".into();
    }
    match ci_decimals(half_width) {
        Some(d) => format!("{mean:.d$} ± {half_width:.d$}{unit}"),
        None => format!("{}{unit}", readable(mean)),
    }
}

/// A percentage (already ×100) and its half-width: "17.3% ± 0.4%"; without an interval,
/// three significant digits ("0.123%").
pub fn pct_ci(mean_pct: f64, half_width_pct: f64) -> String {
    if !mean_pct.is_finite() {
        return "-".into();
    }
    match ci_decimals(half_width_pct) {
        Some(d) => format!("{mean_pct:.d$}% ± {half_width_pct:.d$}%"),
        None => format!("{}%", readable(mean_pct)),
    }
}

/// How a CSV column's values read in a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A share of requests or time up (0 to 1): a percentage with the decimals its nines need.
    Availability,
    /// Another fraction: a percentage, three significant digits.
    Fraction,
    /// Seconds: shown in milliseconds below 10 s.
    Seconds,
    /// Nines: two decimals.
    Nines,
    /// Any other number: three significant digits (integers as they are).
    Plain,
}

/// The unit of a column, from its name (`availability`, `latency.p99.mean`, `p50_s`,
/// `downtime_share`, `nines`, ...). Statistics suffixes (`.mean`, `.ci95_low`, ...) are ignored.
pub fn unit_of(column: &str) -> Unit {
    let base = column
        .trim_end_matches(".mean")
        .trim_end_matches(".ci95_low")
        .trim_end_matches(".ci95_high")
        .trim_end_matches(".half_width");
    let last = base.rsplit('.').next().unwrap_or(base);
    if base.contains("nines") {
        Unit::Nines
    } else if base.contains("availability") {
        Unit::Availability
    } else if last.ends_with("_share")
        || last.ends_with("fraction")
        || last.ends_with("utilisation")
        || last == "share"
    {
        Unit::Fraction
    } else if last.ends_with("_s")
        || base.starts_with("latency.")
        || base.contains(".latency.")
        || last.starts_with("lag_")
    {
        Unit::Seconds
    } else {
        Unit::Plain
    }
}

/// A CSV cell for a reader: (text, numeric). `half_width` is the row's interval for this
/// figure when the table gives one (then the decimals follow it).
pub fn cell(unit: Unit, raw: &str, half_width: Option<f64>) -> (String, bool) {
    let Ok(x) = raw.trim().parse::<f64>() else {
        return (raw.to_string(), false);
    };
    if raw.trim().is_empty() || !x.is_finite() {
        return (raw.to_string(), !raw.trim().is_empty());
    }
    let hw = half_width.filter(|h| h.is_finite() && *h > 0.0);
    let text = match unit {
        Unit::Availability | Unit::Fraction => {
            let pct = x * 100.0;
            match hw.and_then(|h| ci_decimals(h * 100.0)) {
                Some(d) => format!("{pct:.d$}%"),
                None if unit == Unit::Availability && (0.0..1.0).contains(&x) && x > 0.9 => {
                    // As many decimals as the nines need, plus one: 0.99961 -> 99.961%.
                    let nines = -(1.0 - x).log10();
                    let d = (nines.ceil() as usize).clamp(1, 9);
                    format!("{pct:.d$}%")
                }
                None => format!("{}%", readable(pct)),
            }
        }
        Unit::Seconds => {
            let (v, u, h) = if x.abs() < 10.0 {
                (x * 1e3, " ms", hw.map(|h| h * 1e3))
            } else {
                (x, " s", hw)
            };
            match h.and_then(ci_decimals) {
                Some(d) => format!("{v:.d$}{u}"),
                None => format!("{}{u}", readable(v)),
            }
        }
        Unit::Nines => format!("{x:.2}"),
        Unit::Plain => {
            if !raw.contains(['.', 'e', 'E']) {
                raw.to_string()
            } else {
                match hw.and_then(ci_decimals) {
                    Some(d) => format!("{x:.d$}"),
                    None => readable(x),
                }
            }
        }
    };
    (text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_goes_and_supported_digits_stay() {
        assert_eq!(measured(5.0789713910000005), "5.078971391");
        assert_eq!(measured(0.1 + 0.2), "0.3");
        assert_eq!(measured(1e-12), "0.000000000001");
        assert_eq!(measured(f64::NAN), "");
        assert_eq!(measured(0.0), "0");
        assert_eq!(estimate(0.0123456, 0.000123), "0.01235");
        assert_eq!(estimate(99.87654, 0.5), "99.88");
        assert_eq!(estimate(1234.5678, 12.0), "1235");
        assert_eq!(estimate(0.5, 0.0), "0.5");
        let csv = b"name,u,n\n0.30000000000000004,0.30000000000000004,3\n";
        assert_eq!(
            tidy_csv(csv, &["name"]).unwrap(),
            b"name,u,n\n0.30000000000000004,0.3,3\n"
        );
    }

    #[test]
    fn readers_see_the_digits_the_interval_supports() {
        assert_eq!(fixed_ci(120.3, 8.2, " ms"), "120 ± 8 ms");
        assert_eq!(fixed_ci(12.345, 0.42, " ms"), "12.3 ± 0.4 ms");
        assert_eq!(fixed_ci(12.345, 0.0, " ms"), "12.3 ms");
        assert_eq!(pct_ci(17.2961, 0.0412), "17.30% ± 0.04%");
        assert_eq!(pct_ci(0.001234, 0.0), "0.00123%");
        assert_eq!(unit_of("availability.mean"), Unit::Availability);
        assert_eq!(unit_of("latency.p99.ci95_low"), Unit::Seconds);
        assert_eq!(unit_of("p50_s"), Unit::Seconds);
        assert_eq!(unit_of("servers.web-01.app_utilisation"), Unit::Fraction);
        assert_eq!(unit_of("requests.failed"), Unit::Plain);
        let c = |u, raw: &str, hw| cell(u, raw, hw).0;
        assert_eq!(c(Unit::Availability, "0.9996123456789", None), "99.9612%");
        assert_eq!(c(Unit::Availability, "0.83", Some(0.004)), "83.0%");
        assert_eq!(c(Unit::Seconds, "0.0123456789", None), "12.3 ms");
        assert_eq!(c(Unit::Seconds, "0.0123456789", Some(0.0004)), "12.3 ms");
        assert_eq!(c(Unit::Plain, "42", None), "42");
        assert_eq!(c(Unit::Plain, "3.14159265", None), "3.14");
        assert_eq!(cell(Unit::Plain, "web-01", None), ("web-01".into(), false));
    }
}
