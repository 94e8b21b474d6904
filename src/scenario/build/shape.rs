//! Load shapes (`ramp` in `[workload] phases`, `[workload.profile]`, `[[workload.flash]]`) and
//! heavy-hitter clients (`client_popularity`, `nat_share`): checked here and turned into the
//! model's [`Shape`] and [`PopularityConfig`]. A scenario that sets none of these keys gets
//! None for both, and runs as before.

use super::*;
use crate::model::popularity::PopularityConfig;
use crate::model::shape::{Base, Flash, Knot, Shape};

/// Most flash crowds: each costs a little on every candidate arrival.
pub const MAX_FLASHES: usize = 100;
/// Largest rate multiple of a flash crowd.
pub const MAX_FLASH_MULTIPLE: f64 = 1000.0;
/// Largest rate of any shape, requests per second (a typo guard: 10^9 a second would be every
/// request of the run-length limit in ten seconds).
pub const MAX_SHAPE_RATE: f64 = 1e9;
/// Most rows of a profile CSV, and its largest size.
pub const MAX_PROFILE_ROWS: usize = 1_000_000;
pub const MAX_PROFILE_BYTES: u64 = 64 << 20;
/// Shortest CSV interval and shortest daily period.
const MIN_PROFILE_STEP: SimTime = SimTime::from_millis(1);
/// A profile's period when unset.
const DEFAULT_PERIOD: SimTime = SimTime::from_secs(86_400);
/// When a daily profile peaks if unset: 20:00, the evening peak of consumer web traffic.
const DEFAULT_PEAK_AT: SimTime = SimTime::from_secs(20 * 3600);
/// Largest Zipf exponent: past ~10 one address already sends all but 0.1% of the requests.
pub const MAX_ZIPF_EXPONENT: f64 = 10.0;

/// The shape's inputs as `[workload]` holds them.
pub(super) struct ShapeInput<'a> {
    pub arrival: ArrivalKind,
    pub rate: f64,
    pub phases: &'a [RatePhase],
    pub ramps: Vec<bool>,
    pub profile: Option<schema::Profile>,
    pub flash: Option<Vec<schema::Flash>>,
}

impl Builder<'_> {
    /// The `ramp` of each phase: true for `"linear"`.
    pub(super) fn ramps(&mut self, key: &KeyPath, phases: Option<&[schema::Phase]>) -> Vec<bool> {
        let options = [("step", false), ("linear", true)];
        phases
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                self.choice(
                    &key.index(i).key("ramp"),
                    p.ramp.as_deref(),
                    &options,
                    false,
                )
            })
            .collect()
    }

    /// The load shape, or None when the scenario has none (no ramp, profile or flash). With a
    /// profile, also the long-run mean rate, which becomes `workload.rate`.
    pub(super) fn shape(&mut self, key: &KeyPath, s: ShapeInput) -> Option<(Shape, Option<f64>)> {
        let ramped = s.ramps.iter().any(|&r| r);
        if !ramped && s.profile.is_none() && s.flash.is_none() {
            return None;
        }
        if s.arrival == ArrivalKind::Deterministic {
            self.problem(
                &key.key("arrival"),
                "a load shape (a linear ramp, [workload.profile] or [[workload.flash]]) needs \
                 Poisson arrivals: remove arrival = \"deterministic\"",
            );
        }
        let (base, mean) = match s.profile {
            Some(p) => {
                let (base, mean) = self.profile(&key.key("profile"), p)?;
                (base, Some(mean))
            }
            None => {
                let knots = s
                    .phases
                    .iter()
                    .zip(s.ramps.iter().chain(std::iter::repeat(&false)))
                    .map(|(p, &linear)| Knot {
                        at: p.at.as_secs_f64(),
                        rate: p.rate,
                        linear,
                    })
                    .collect();
                let base = Base::Phases {
                    rate: s.rate,
                    knots,
                };
                (base, None)
            }
        };
        let flashes = self.flashes(&key.key("flash"), s.flash.unwrap_or_default());
        Some((Shape { base, flashes }, mean))
    }

    /// `[workload.profile]`: the base and its mean rate over a period.
    fn profile(&mut self, key: &KeyPath, p: schema::Profile) -> Option<(Base, f64)> {
        let shape = p.shape.as_deref().map(str::trim);
        match (shape, &p.csv) {
            (Some(s), None) if s.eq_ignore_ascii_case("daily") => self.daily(key, &p),
            (Some(s), None) => {
                self.problem(
                    &key.key("shape"),
                    format!("must be \"daily\" (or give `csv` instead), got {s:?}"),
                );
                None
            }
            (Some(_), Some(_)) => {
                self.problem(
                    &key.key("csv"),
                    "a profile is either shape = \"daily\" or a `csv` of rates, not both",
                );
                None
            }
            (None, Some(file)) => self.table(key, &p, file),
            (None, None) => {
                self.problem(
                    key,
                    "needs shape = \"daily\" (with peak and trough) or csv = \"rates.csv\"",
                );
                None
            }
        }
    }

    fn rate_value(&mut self, key: &KeyPath, v: Option<f64>, what: &str) -> f64 {
        match v {
            None => {
                self.problem(key, format!("is required: {what}"));
                0.0
            }
            Some(r) if r.is_finite() && (0.0..=MAX_SHAPE_RATE).contains(&r) => r,
            Some(r) => {
                self.problem(
                    key,
                    format!("must be a number from 0 to {MAX_SHAPE_RATE:.0e}, got {r}"),
                );
                0.0
            }
        }
    }

    fn daily(&mut self, key: &KeyPath, p: &schema::Profile) -> Option<(Base, f64)> {
        for (k, set) in [("csv", p.csv.is_some()), ("interval", p.interval.is_some())] {
            if set {
                self.problem(
                    &key.key(k),
                    "belongs to a csv profile, not shape = \"daily\"",
                );
            }
        }
        let n = self.problems.len();
        let peak = self.rate_value(&key.key("peak"), p.peak, "the highest rate, requests/s");
        let trough = self.rate_value(&key.key("trough"), p.trough, "the lowest rate, requests/s");
        if self.problems.len() == n && (peak <= 0.0 || trough > peak) {
            self.problem(
                &key.key("trough"),
                format!("needs 0 <= trough <= peak and peak > 0, got trough {trough}, peak {peak}"),
            );
        }
        let peak_at = self.duration(&key.key("peak_at"), p.peak_at.as_ref(), DEFAULT_PEAK_AT);
        let period = self.period(&key.key("period"), p.period.as_ref());
        (self.problems.len() == n).then_some((
            Base::Daily {
                peak,
                trough,
                peak_at: peak_at.as_secs_f64(),
                period: period.as_secs_f64(),
            },
            0.5 * (peak + trough),
        ))
    }

    fn period(&mut self, key: &KeyPath, v: Option<&Value>) -> SimTime {
        let period = self.positive_duration(key, v, DEFAULT_PERIOD);
        if period < MIN_PROFILE_STEP {
            self.problem(
                key,
                format!("must be at least {}", format_duration(MIN_PROFILE_STEP)),
            );
            return DEFAULT_PERIOD;
        }
        period
    }

    fn table(&mut self, key: &KeyPath, p: &schema::Profile, file: &str) -> Option<(Base, f64)> {
        for (k, set) in [
            ("peak", p.peak.is_some()),
            ("trough", p.trough.is_some()),
            ("peak_at", p.peak_at.is_some()),
        ] {
            if set {
                self.problem(
                    &key.key(k),
                    "belongs to shape = \"daily\", not a csv profile",
                );
            }
        }
        if p.interval.is_some() && p.period.is_some() {
            self.problem(
                &key.key("interval"),
                "give `interval` (the length of a row) or `period` (the length of the whole \
                 file), not both",
            );
            return None;
        }
        let path = self.base_dir.join(file);
        let rates = match read_rates(&path) {
            Ok(r) => r,
            Err(m) => {
                self.problem(&key.key("csv"), m);
                return None;
            }
        };
        let interval = match &p.interval {
            Some(v) => {
                let i = self.positive_duration(&key.key("interval"), Some(v), DEFAULT_PERIOD);
                if i < MIN_PROFILE_STEP {
                    self.problem(
                        &key.key("interval"),
                        format!("must be at least {}", format_duration(MIN_PROFILE_STEP)),
                    );
                }
                i.as_secs_f64()
            }
            None => {
                self.period(&key.key("period"), p.period.as_ref())
                    .as_secs_f64()
                    / rates.len() as f64
            }
        };
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        Some((Base::Table { interval, rates }, mean))
    }

    fn flashes(&mut self, key: &KeyPath, list: Vec<schema::Flash>) -> Vec<Flash> {
        if list.len() > MAX_FLASHES {
            self.problem(
                key,
                format!(
                    "has {} flash crowds; at most {MAX_FLASHES} are allowed",
                    list.len()
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, f) in list.into_iter().enumerate() {
            let k = key.index(i);
            if f.at.is_none() {
                self.problem(
                    &k.key("at"),
                    "is required: when the crowd arrives, e.g. at = \"2h\"",
                );
            }
            let at = self.duration(&k.key("at"), f.at.as_ref(), SimTime::ZERO);
            let multiple = match f.multiple {
                None => {
                    self.problem(
                        &k.key("multiple"),
                        "is required: the rate at the crowd's peak as a multiple of the base, \
                         e.g. multiple = 5",
                    );
                    1.0
                }
                Some(m) if m.is_finite() && m > 0.0 && m <= MAX_FLASH_MULTIPLE => m,
                Some(m) => {
                    self.problem(
                        &k.key("multiple"),
                        format!("must be a number > 0 and at most {MAX_FLASH_MULTIPLE}, got {m}"),
                    );
                    1.0
                }
            };
            let rise = self.duration(&k.key("rise"), f.rise.as_ref(), SimTime::ZERO);
            if f.decay.is_none() {
                self.problem(
                    &k.key("decay"),
                    "is required: the time constant of the crowd's exponential decay, e.g. \
                     decay = \"10min\"",
                );
            }
            let decay =
                self.positive_duration(&k.key("decay"), f.decay.as_ref(), SimTime::from_secs(1));
            out.push(Flash {
                at: at.as_secs_f64(),
                multiple,
                rise: rise.as_secs_f64(),
                decay: decay.as_secs_f64(),
            });
        }
        out
    }

    /// `client_popularity` and `nat_share`; None when both are unset (or uniform without NAT).
    pub(super) fn popularity(
        &mut self,
        key: &KeyPath,
        popularity: Option<&str>,
        nat_share: Option<f64>,
    ) -> Option<PopularityConfig> {
        let zipf = popularity.and_then(|s| match parse_popularity(s) {
            Ok(z) => z,
            Err(m) => {
                self.problem(&key.key("client_popularity"), m);
                None
            }
        });
        let nat_share = self.fraction(&key.key("nat_share"), nat_share, "fraction", "");
        (zipf.is_some() || nat_share > 0.0).then_some(PopularityConfig { zipf, nat_share })
    }
}

/// `"uniform"` (None) or `"zipf(s)"` with 0 < s <= 10.
fn parse_popularity(s: &str) -> Result<Option<f64>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("uniform") {
        return Ok(None);
    }
    let inner = t
        .strip_prefix("zipf(")
        .or_else(|| t.strip_prefix("Zipf("))
        .and_then(|r| r.strip_suffix(')'));
    let Some(inner) = inner else {
        return Err(format!(
            "must be \"uniform\" or \"zipf(s)\" with an exponent s, e.g. \"zipf(1.1)\", got {s:?}"
        ));
    };
    match inner.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= MAX_ZIPF_EXPONENT => Ok(Some(x)),
        _ => Err(format!(
            "the Zipf exponent must be a number > 0 and at most {MAX_ZIPF_EXPONENT}, got {:?}",
            inner.trim()
        )),
    }
}

/// Reads a profile CSV: one rate (requests per second, >= 0) per line, an optional header, `#`
/// comments and blank lines ignored. Errors name the file and the line.
pub fn read_rates(path: &Path) -> Result<Vec<f64>, String> {
    let shown = path.display();
    let mut rates = Vec::new();
    super::super::input::for_each_value(path, MAX_PROFILE_BYTES, "rate", |line, field, first| {
        match field.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=MAX_SHAPE_RATE).contains(&x) => rates.push(x),
            Ok(_) => {
                return Err(format!(
                    "{shown} line {line}: \"{field}\" must be a rate from 0 to \
                     {MAX_SHAPE_RATE:.0e} requests/s"
                ));
            }
            Err(_) if first => {} // a header
            Err(_) => {
                return Err(format!(
                    "{shown} line {line}: \"{field}\" is not a number (requests per second)"
                ));
            }
        }
        if rates.len() > MAX_PROFILE_ROWS {
            return Err(format!("{shown}: more than {MAX_PROFILE_ROWS} rows"));
        }
        Ok(())
    })?;
    if rates.is_empty() {
        return Err(format!("{shown}: no rates (expected one number per line)"));
    }
    if rates.iter().all(|&r| r == 0.0) {
        return Err(format!(
            "{shown}: every rate is 0: no request would ever arrive"
        ));
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popularity_specs() {
        assert_eq!(parse_popularity("uniform"), Ok(None));
        assert_eq!(parse_popularity(" zipf(1.1) "), Ok(Some(1.1)));
        assert!(parse_popularity("zipf(0)").is_err());
        assert!(parse_popularity("zipf(nan)").is_err());
        assert!(
            parse_popularity("pareto(1)")
                .unwrap_err()
                .contains("zipf(s)")
        );
    }

    #[test]
    fn rates_csv() {
        let dir = std::env::temp_dir().join(format!("infrasim-rates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.csv"), "rate\n# night\n10\n\n20.5\n").unwrap();
        assert_eq!(read_rates(&dir.join("ok.csv")).unwrap(), vec![10.0, 20.5]);
        std::fs::write(dir.join("bad.csv"), "1\n2\nx\n").unwrap();
        let e = read_rates(&dir.join("bad.csv")).unwrap_err();
        assert!(e.contains("bad.csv line 3"), "{e}");
        std::fs::write(dir.join("neg.csv"), "1\n-2\n").unwrap();
        assert!(
            read_rates(&dir.join("neg.csv"))
                .unwrap_err()
                .contains("line 2")
        );
        std::fs::write(dir.join("zero.csv"), "0\n0\n").unwrap();
        assert!(
            read_rates(&dir.join("zero.csv"))
                .unwrap_err()
                .contains("every rate is 0")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
