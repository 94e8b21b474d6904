//! `[slo]`: the latency objective requests are judged against, its target and percentile
//! targets (the model's [`Slo`]).
//!
//! Every time must be > 0 and shorter than the measurement window (duration − warm-up): no
//! measured request can take longer, so such an objective would judge nothing, and it is most
//! often `m` (minutes) written for `ms`. Times are also at most a day, the longest the latency
//! histogram resolves (percentiles of longer responses would be clamped).

use super::*;
use crate::model::Slo;
use crate::model::slo::PERCENTILES;

/// Longest SLO time: the latency histogram's range (`stats::latency`).
const MAX_SLO_TIME: SimTime = SimTime::from_secs(86_400);

impl Builder<'_> {
    pub(super) fn slo(
        &mut self,
        s: Option<schema::Slo>,
        duration: Option<SimTime>,
        warmup: SimTime,
    ) -> Option<Slo> {
        let s = s?;
        let key = root("slo");
        let window = duration.filter(|&d| d > warmup).map(|d| d - warmup);
        let latency = match &s.latency {
            None => {
                self.problem(
                    &key.key("latency"),
                    "is required in [slo]: the longest response time of a good request, e.g. \
                     latency = \"1s\"",
                );
                None
            }
            Some(v) => self.slo_time(&key.key("latency"), v, window),
        };
        let target = s
            .target
            .as_ref()
            .and_then(|v| self.target(&key.key("target"), v));
        let written = [&s.p50, &s.p90, &s.p95, &s.p99, &s.p999];
        let percentiles: Vec<(f64, SimTime)> = PERCENTILES
            .iter()
            .zip(written)
            .filter_map(|(&(name, q), v)| {
                let t = self.slo_time(&key.key(name), v.as_ref()?, window)?;
                Some((q, t))
            })
            .collect();
        Some(Slo {
            latency: latency?,
            target,
            percentiles,
        })
    }

    /// A time of `[slo]`: a duration > 0, at most a day, shorter than the measurement window.
    fn slo_time(&mut self, key: &KeyPath, v: &Value, window: Option<SimTime>) -> Option<SimTime> {
        let n = self.problems.len();
        let t = self.positive_duration(key, Some(v), SimTime::ZERO);
        if self.problems.len() > n {
            return None;
        }
        // `m` is minutes: "300m" is five hours, not 300 ms.
        let minutes = v
            .as_str()
            .is_some_and(|s| s.trim_end().ends_with('m') && !s.trim_end().ends_with("mm"));
        let hint = if minutes {
            " (`m` is minutes: write `ms` for milliseconds)"
        } else {
            ""
        };
        if t > MAX_SLO_TIME {
            self.problem(
                key,
                format!(
                    "must be at most 1d (the longest response time measured), got {}{hint}",
                    format_duration(t)
                ),
            );
            return None;
        }
        if let Some(w) = window
            && t >= w
        {
            self.problem(
                key,
                format!(
                    "must be shorter than the measurement window (duration − warmup = {}): no \
                     measured request can take that long, so it would judge nothing; got {}{hint}",
                    format_duration(w),
                    format_duration(t)
                ),
            );
            return None;
        }
        Some(t)
    }

    /// `target`: a fraction in (0, 1], as a number (`0.999`) or a percentage (`"99.9%"`).
    fn target(&mut self, key: &KeyPath, v: &Value) -> Option<f64> {
        let x = match v {
            Value::Float(x) => Some(*x),
            Value::Integer(i) => Some(*i as f64),
            Value::String(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                // "99.9%" is 0.999, not 0.9990000000000001: the target is compared exactly.
                .map(|p| crate::model::slo::decimal(p / 100.0)),
            _ => None,
        };
        match x {
            Some(x) if x > 0.0 && x <= 1.0 => Some(x),
            Some(x) if x > 1.0 && x <= 100.0 && !matches!(v, Value::String(_)) => {
                self.problem(
                    key,
                    format!(
                        "must be a fraction in (0, 1], got {x}: write {} or \"{x}%\" for {x}%",
                        crate::model::slo::decimal(x / 100.0)
                    ),
                );
                None
            }
            Some(_) => {
                self.problem(
                    key,
                    format!(
                        "must be a fraction in (0, 1] (the share of requests that must be good, \
                         e.g. 0.999 or \"99.9%\"), got {}",
                        show(v)
                    ),
                );
                None
            }
            None => {
                self.problem(
                    key,
                    format!(
                        "must be a number in (0, 1] or a percentage such as \"99.9%\", got {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }
}

/// A value as written in TOML, for messages.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Float(x) => format!("{x}"),
        other => other.to_string(),
    }
}
