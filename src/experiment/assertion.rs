//! `--assert 'availability >= 0.999'`: a condition on a study's result that gates CI.
//!
//! The rule (docs/experiments.md): with replications, an assertion holds only if its whole
//! 95% confidence interval satisfies it: `>=`/`>` test the lower bound, `<=`/`<` the upper
//! bound, `==` needs every run equal to the value (an interval of zero width), `!=` needs the
//! interval to exclude it. With a single run there is no interval and the point estimate
//! decides. A sweep must satisfy the assertion at every point.

use super::metrics::resolve_alias;
use crate::stats::MeanCi;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub text: String,
    /// Full metric key (aliases resolved).
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub assertion: Assertion,
    pub passed: bool,
    /// What was found, in words: estimate, interval, and why it passes or fails.
    pub message: String,
}

impl Assertion {
    /// Parses `METRIC OP VALUE`; VALUE may carry a duration unit (`250ms`) or `%`.
    pub fn parse(text: &str) -> Result<Assertion, String> {
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        for (sym, op) in ops {
            if let Some((m, v)) = text.split_once(sym) {
                let metric = m.trim();
                let v = v.trim();
                if metric.is_empty() || v.is_empty() {
                    break;
                }
                let value = parse_value(v).map_err(|e| format!("--assert '{text}': {e}"))?;
                return Ok(Assertion {
                    text: text.trim().to_string(),
                    metric: resolve_alias(metric).to_string(),
                    op,
                    value,
                });
            }
        }
        Err(format!(
            "--assert '{text}': expected METRIC OP VALUE with OP one of >= > <= < == !=, \
             e.g. 'availability >= 0.999' or 'p99 <= 250ms'"
        ))
    }

    /// Judges an estimate (with its interval when there were replications).
    pub fn check(&self, est: &MeanCi) -> (bool, String) {
        let interval = est.n >= 2 && est.half_width.is_finite();
        let (lo, hi) = if interval {
            (est.low(), est.high())
        } else {
            (est.mean, est.mean)
        };
        let v = self.value;
        let passed = match self.op {
            Op::Ge => lo >= v,
            Op::Gt => lo > v,
            Op::Le => hi <= v,
            Op::Lt => hi < v,
            Op::Eq => lo == v && hi == v,
            Op::Ne => hi < v || lo > v,
        };
        let found = if interval {
            format!(
                "estimate {} with 95% interval [{}, {}] over {} runs",
                g(est.mean),
                g(lo),
                g(hi),
                est.n
            )
        } else if est.n >= 2 {
            // A figure of the whole study without an interval (a pooled quantile).
            format!("value {} over {} runs (no interval)", g(est.mean), est.n)
        } else {
            format!("value {} (single run, no interval)", g(est.mean))
        };
        (passed, found)
    }
}

fn g(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:.4e}")
    } else {
        format!("{}", (x * 1e6).round() / 1e6)
    }
}

fn parse_value(v: &str) -> Result<f64, String> {
    if let Some(p) = v.strip_suffix('%') {
        return p
            .trim()
            .parse::<f64>()
            .map(|x| x / 100.0)
            .map_err(|_| format!("'{v}' is not a percentage"));
    }
    if let Ok(x) = v.parse::<f64>() {
        return Ok(x);
    }
    crate::scenario::parse_duration(v)
        .map(|d| d.as_secs_f64())
        .map_err(|_| format!("'{v}' is not a number, a percentage or a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_units_and_percentages() {
        let a = Assertion::parse("p99 <= 250ms").unwrap();
        assert_eq!(a.metric, "latency.p99");
        assert_eq!(a.op, Op::Le);
        assert!((a.value - 0.25).abs() < 1e-12);
        let a = Assertion::parse("availability >= 99.9%").unwrap();
        assert!((a.value - 0.999).abs() < 1e-12);
        assert!(Assertion::parse("availability 0.9").is_err());
        assert!(Assertion::parse("p99 <= fast").is_err());
    }

    /// Every run gives the value: `==` and `>=` hold (docs/experiments.md: `==` needs every run
    /// to give the value), whatever rounding the sum of the runs takes.
    #[test]
    fn every_run_giving_the_value_satisfies_it() {
        for n in [2, 3, 6, 7, 10] {
            let est = MeanCi::from_samples(&vec![0.7; n]);
            for text in [
                "slo.latency_s == 0.7",
                "slo.latency_s >= 0.7",
                "slo.latency_s <= 0.7",
            ] {
                let a = Assertion::parse(text).unwrap();
                assert!(a.check(&est).0, "{text} over {n} runs: {}", a.check(&est).1);
            }
        }
    }

    /// A figure of many runs without an interval (a pooled quantile) is judged on its value,
    /// and not called a single run's.
    #[test]
    fn a_figure_without_an_interval_is_judged_on_its_value() {
        let a = Assertion::parse("outage_p99 <= 1h").unwrap();
        let est = MeanCi {
            mean: 10_969.0,
            half_width: f64::NAN,
            n: 40,
        };
        let (passed, found) = a.check(&est);
        assert!(!passed);
        assert_eq!(found, "value 10969 over 40 runs (no interval)");
        assert!(
            a.check(&MeanCi {
                mean: 3000.0,
                ..est
            })
            .0
        );
    }

    #[test]
    fn decides_on_the_interval() {
        let a = Assertion::parse("availability >= 0.999").unwrap();
        let est = MeanCi {
            mean: 0.9995,
            half_width: 0.001,
            n: 10,
        };
        assert!(!a.check(&est).0, "the lower bound 0.9985 is below 0.999");
        let est = MeanCi {
            half_width: 0.0001,
            ..est
        };
        assert!(a.check(&est).0);
        let eq = Assertion::parse("lost_transactions == 0").unwrap();
        assert!(
            eq.check(&MeanCi {
                mean: 0.0,
                half_width: 0.0,
                n: 5
            })
            .0
        );
        assert!(
            !eq.check(&MeanCi {
                mean: 0.2,
                half_width: 0.3,
                n: 5
            })
            .0
        );
    }
}
