//! The availability ladder: one bar per design step (one server, two behind a load balancer,
//! a redundant LB pair, database failover, ...), in the order given, measured in nines,
//! -log10(1 - A), so each added nine is one more step of height. Whiskers are the 95%
//! interval of the availability, converted the same way. When the steps are judged against a
//! latency SLO, each step has a second bar: the availability counting slow requests as failed
//! (what a user who gives up feels), always at or below the first.

use super::bars::{Bar, Bars};
use super::style::{self, DrawResult};
use super::{ChartFile, Figure};
use crate::stats::MeanCi;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// One design step: its name, its availability and, with an SLO, its availability within it.
pub struct Step {
    pub name: String,
    pub availability: MeanCi,
    pub slo: Option<MeanCi>,
}

/// Writes `availability_ladder.svg/.png`.
pub fn ladder(dir: &Path, steps: &[Step]) -> io::Result<Vec<ChartFile>> {
    let title = "Availability of each design step, in nines (95% interval)".to_string();
    let fig = Ladder::new(title.clone(), steps);
    Ok(vec![super::write(
        dir,
        "availability_ladder",
        &title,
        &fig,
    )?])
}

/// -log10(1 - a); infinite for a >= 1, 0 for a <= 0 or NaN.
pub fn nines(a: f64) -> f64 {
    if a >= 1.0 {
        f64::INFINITY
    } else if a > 0.0 {
        -(1.0 - a).log10()
    } else {
        0.0
    }
}

struct Ladder {
    title: String,
    steps: Vec<String>,
    /// Per step: the availability bar, then (with an SLO anywhere) the within-SLO one.
    bars: Vec<Vec<Option<Bar>>>,
    slo: bool,
    top: f64,
}

/// One bar in nines, capped at `top`; None for an undefined mean. `short`: the percentage
/// alone (two bars per step leave no room for more; the axis gives the nines).
fn bar(c: &MeanCi, top: f64, short: bool) -> Option<Bar> {
    if !c.mean.is_finite() {
        return None;
    }
    let hw = if c.half_width.is_finite() {
        c.half_width
    } else {
        0.0
    };
    let label = if c.mean >= 1.0 {
        "100% (no failure seen)".to_string()
    } else if short {
        style::availability_pct(c.mean)
    } else {
        format!(
            "{} ({} nines)",
            style::availability_pct(c.mean),
            style::num(nines(c.mean))
        )
    };
    Some(Bar {
        value: nines(c.mean).min(top),
        low: nines(c.mean - hw).min(top),
        high: nines(c.mean + hw).min(top),
        label,
    })
}

impl Ladder {
    fn new(title: String, steps: &[Step]) -> Self {
        let finite_top = steps
            .iter()
            .flat_map(|s| [&s.availability].into_iter().chain(&s.slo))
            .flat_map(|c| [nines(c.mean), nines(c.high())])
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        // Headroom for the labels; "no failure seen" bars reach the top.
        let top = (finite_top + 0.75).ceil().max(2.0);
        let slo = steps.iter().any(|s| s.slo.is_some());
        let bars = steps
            .iter()
            .map(|s| {
                let mut v = vec![bar(&s.availability, top, slo)];
                if slo {
                    v.push(s.slo.as_ref().and_then(|c| bar(c, top, true)));
                }
                v
            })
            .collect();
        Ladder {
            title,
            steps: steps.iter().map(|s| s.name.clone()).collect(),
            bars,
            slo,
            top,
        }
    }
}

/// "3 (99.9%)" at whole nines, the plain number between them.
fn nines_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v >= 1.0 {
        let digits = v.round() as usize;
        let a = 100.0 * (1.0 - 10f64.powi(-(digits as i32)));
        format!(
            "{} ({a:.prec$}%)",
            v.round(),
            prec = digits.saturating_sub(2)
        )
    } else {
        style::num(v)
    }
}

impl Figure for Ladder {
    fn size(&self) -> (u32, u32) {
        (1200, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        let fmt = |v: f64| nines_tick(v);
        super::bars::grouped_bars(
            &body,
            &Bars {
                caption: "One more nine is ten times less downtime; a bar at the top saw no failure",
                categories: self.steps.iter().map(|s| style::shorten(s, 28)).collect(),
                groups: {
                    let mut g = vec![(
                        "requests served, mean over runs (whisker: 95% interval)".to_string(),
                        style::PALETTE[0],
                    )];
                    if self.slo {
                        g.push((
                            "served within the SLO latency (slow counts as failed)".to_string(),
                            style::PALETTE[1],
                        ));
                    }
                    g
                },
                values: self.bars.clone(),
                x_desc: "design step",
                y_desc: "availability in nines, -log10(1 - A)",
                y_range: Some(0.0..self.top),
                y_fmt: &fmt,
                y_label_width: 150,
                legend: true,
            },
        )?;
        if self.steps.is_empty() {
            style::note(&body, "no design step given")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    fn ci(mean: f64, half_width: f64) -> MeanCi {
        MeanCi {
            mean,
            half_width,
            n: 50,
        }
    }

    #[test]
    fn one_bar_per_step() {
        let dir = testutil::temp_dir("ladder");
        let step = |name: &str, a: MeanCi, slo: Option<MeanCi>| Step {
            name: name.into(),
            availability: a,
            slo,
        };
        let steps = vec![
            step("1_one_server", ci(0.99, 0.002), Some(ci(0.98, 0.002))),
            step("3_distributed", ci(0.995, 0.001), Some(ci(0.99, 0.001))),
            step("4_lb_pair", ci(0.9995, 0.0002), None),
            step(
                "5_db_failover",
                ci(0.99995, 0.0001),
                Some(ci(0.9999, 0.0001)),
            ),
            step("6_monitoring", ci(1.0, 0.0), Some(ci(1.0, 0.0))),
        ];
        let files = ladder(&dir, &steps).unwrap();
        testutil::check(
            &dir,
            &files[0],
            &[
                "1_one_server",
                "3_distributed",
                "4_lb_pair",
                "5_db_failover",
                "6_monitoring",
                "no failure seen",
                "within the SLO",
                "99.995%",
                "98%",
            ],
        );
        testutil::done(&dir);
    }

    #[test]
    fn without_an_slo_the_bars_say_their_nines() {
        let dir = testutil::temp_dir("ladder-no-slo");
        let steps = vec![Step {
            name: "1_one_server".into(),
            availability: ci(0.99, 0.002),
            slo: None,
        }];
        let files = ladder(&dir, &steps).unwrap();
        testutil::check(&dir, &files[0], &["1_one_server", "99% (2 nines)"]);
        testutil::done(&dir);
    }

    #[test]
    fn empty_and_nan() {
        let dir = testutil::temp_dir("ladder-empty");
        let files = ladder(&dir, &[]).unwrap();
        testutil::check(&dir, &files[0], &["no design step"]);
        let files = ladder(
            &dir,
            &[
                Step {
                    name: "x".into(),
                    availability: MeanCi::from_samples(&[]),
                    slo: None,
                },
                Step {
                    name: "y".into(),
                    availability: ci(0.0, 0.5),
                    slo: None,
                },
            ],
        )
        .unwrap();
        testutil::check(&dir, &files[0], &["x", "y"]);
        testutil::done(&dir);
    }

    #[test]
    fn ticks() {
        assert_eq!(nines_tick(3.0), "3 (99.9%)");
        assert_eq!(nines_tick(2.0), "2 (99%)");
        assert_eq!(nines_tick(5.0), "5 (99.999%)");
        assert_eq!(nines_tick(0.5), "0.5");
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
    }
}
