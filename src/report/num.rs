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
}
