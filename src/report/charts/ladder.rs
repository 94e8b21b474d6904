//! The availability ladder: one bar per design step (one server, two behind a load balancer,
//! a redundant LB pair, database failover, ...), in the order given, measured in nines,
//! -log10(1 - A), so each added nine is one more step of height. Whiskers are the 95%
//! interval of the availability, converted the same way.

use super::bars::{Bar, Bars};
use super::style::{self, DrawResult};
use super::{ChartFile, Figure};
use crate::stats::MeanCi;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// Writes `availability_ladder.svg/.png`: `steps` are (design step, availability).
pub fn ladder(dir: &Path, steps: &[(String, MeanCi)]) -> io::Result<Vec<ChartFile>> {
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
    bars: Vec<Option<Bar>>,
    top: f64,
}

impl Ladder {
    fn new(title: String, steps: &[(String, MeanCi)]) -> Self {
        let finite_top = steps
            .iter()
            .flat_map(|(_, c)| [nines(c.mean), nines(c.high())])
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        // Headroom for the labels; "no failure seen" bars reach the top.
        let top = (finite_top + 0.75).ceil().max(2.0);
        let bars = steps
            .iter()
            .map(|(_, c)| {
                if !c.mean.is_finite() {
                    return None;
                }
                let hw = if c.half_width.is_finite() {
                    c.half_width
                } else {
                    0.0
                };
                let value = nines(c.mean).min(top);
                let label = if c.mean >= 1.0 {
                    "100% (no failure seen)".to_string()
                } else {
                    format!(
                        "{} ({} nines)",
                        style::availability_pct(c.mean),
                        style::num(nines(c.mean))
                    )
                };
                Some(Bar {
                    value,
                    low: nines(c.mean - hw).min(top),
                    high: nines(c.mean + hw).min(top),
                    label,
                })
            })
            .collect();
        Ladder {
            title,
            steps: steps.iter().map(|(name, _)| name.clone()).collect(),
            bars,
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
                groups: vec![(
                    "availability, mean over runs (whisker: 95% interval)".to_string(),
                    style::PALETTE[0],
                )],
                values: self.bars.iter().map(|b| vec![b.clone()]).collect(),
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
        let steps = vec![
            ("1_one_server".to_string(), ci(0.99, 0.002)),
            ("3_distributed".to_string(), ci(0.995, 0.001)),
            ("4_lb_pair".to_string(), ci(0.9995, 0.0002)),
            ("5_db_failover".to_string(), ci(0.99995, 0.0001)),
            ("6_monitoring".to_string(), ci(1.0, 0.0)),
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
                "2 nines",
            ],
        );
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
                ("x".into(), MeanCi::from_samples(&[])),
                ("y".into(), ci(0.0, 0.5)),
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
