//! The checks every section uses: whole numbers in a range, positive numbers, durations,
//! choices among names, distributions, and tables deserialized where they stand. Each records
//! a problem at its key and returns a harmless stand-in, so one pass reports everything.

use super::*;

impl Builder<'_> {
    // ---- scalar checks -------------------------------------------------------------------

    /// A whole number in `min..=max`, or `default` when unset.
    pub(super) fn count(
        &mut self,
        key: &KeyPath,
        v: Option<i64>,
        default: u32,
        min: u32,
        max: u32,
    ) -> u32 {
        let Some(x) = v else {
            return default;
        };
        match u32::try_from(x) {
            Ok(x) if (min..=max).contains(&x) => x,
            _ => {
                let range = if max == u32::MAX {
                    format!(">= {min}")
                } else {
                    format!("from {min} to {max}")
                };
                self.problem(key, format!("must be a whole number {range}, got {x}"));
                default
            }
        }
    }

    /// A number from 0 to 1, or 0 when unset; out of range: "must be a `noun` from 0 to
    /// 1`meaning`, got x".
    pub(super) fn fraction(
        &mut self,
        key: &KeyPath,
        v: Option<f64>,
        noun: &str,
        meaning: &str,
    ) -> f64 {
        match v {
            None => 0.0,
            Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => x,
            Some(x) => {
                self.problem(
                    key,
                    format!("must be a {noun} from 0 to 1{meaning}, got {x}"),
                );
                0.0
            }
        }
    }

    /// A finite number > 0, or `default` when unset.
    pub(super) fn positive(&mut self, key: &KeyPath, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default,
            Some(x) if x.is_finite() && x > 0.0 => x,
            Some(x) => {
                self.problem(key, format!("must be a number > 0, got {x}"));
                default
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        key: &KeyPath,
        v: Option<&Value>,
        default: SimTime,
    ) -> SimTime {
        match v {
            None => default,
            Some(Value::String(s)) => match parse_duration(s) {
                Ok(t) => t,
                Err(e) => {
                    self.problem(key, e);
                    default
                }
            },
            Some(n @ (Value::Integer(_) | Value::Float(_))) => {
                self.problem(
                    key,
                    format!(
                        "{n} has no unit: write a duration in quotes, e.g. \"{n}s\" or \"{n}ms\""
                    ),
                );
                default
            }
            Some(other) => {
                self.problem(
                    key,
                    format!(
                        "must be a duration such as \"5s\", got {}",
                        other.type_str()
                    ),
                );
                default
            }
        }
    }

    /// A duration that must be > 0, or `default` when unset.
    pub(super) fn positive_duration(
        &mut self,
        key: &KeyPath,
        v: Option<&Value>,
        default: SimTime,
    ) -> SimTime {
        let n = self.problems.len();
        let t = self.duration(key, v, default);
        if v.is_some() && t == SimTime::ZERO && self.problems.len() == n {
            self.problem(key, "must be > 0, got 0s");
            return default;
        }
        t
    }

    /// A timeout that may be switched off: a duration > 0, or "none" (None = infinite), or
    /// `default` when unset.
    pub(super) fn optional_duration(
        &mut self,
        key: &KeyPath,
        v: Option<&Value>,
        default: Option<SimTime>,
    ) -> Option<SimTime> {
        match v {
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("none") => None,
            None => default,
            Some(_) => {
                let n = self.problems.len();
                let t = self.positive_duration(key, v, SimTime::ZERO);
                (self.problems.len() == n).then_some(t).or(default)
            }
        }
    }

    /// One of a few words (case-insensitive), or `default` when unset.
    pub(super) fn choice<T: Copy>(
        &mut self,
        key: &KeyPath,
        v: Option<&str>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(s) = v.map(str::trim) else {
            return default;
        };
        if let Some(&(_, t)) = options.iter().find(|(w, _)| w.eq_ignore_ascii_case(s)) {
            return t;
        }
        let words: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
        let allowed = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        };
        self.problem(key, format!("must be {allowed}, got {s:?}"));
        default
    }

    /// A distribution, or `default` when unset.
    pub(super) fn dist_or(&mut self, key: &KeyPath, v: Option<&Value>, default: &Dist) -> Dist {
        match v {
            None => default.clone(),
            Some(v) => self.dist(key, Some(v), "0s"),
        }
    }

    pub(super) fn dist(&mut self, key: &KeyPath, v: Option<&Value>, default: &str) -> Dist {
        let parsed = match v {
            Some(v) => parse_dist(v, self.base_dir),
            None => parse_dist_str(default, self.base_dir).map_err(|m| SpecError {
                sub: None,
                message: m,
            }),
        };
        match parsed {
            Ok(d) => d,
            Err(e) => {
                let at = match &e.sub {
                    Some(sub) => key.key(sub),
                    None => key.clone(),
                };
                self.problem(&at, e.message);
                Dist::zero()
            }
        }
    }

    pub(super) fn deserialize_at<T: DeserializeOwned>(
        &mut self,
        key: &KeyPath,
        v: Value,
    ) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(t) => Some(t),
            Err(e) => {
                let path = key.join(&KeyPath::from_serde(e.path()));
                self.problems.push(serde_problem(path, e.inner().message()));
                None
            }
        }
    }
}
