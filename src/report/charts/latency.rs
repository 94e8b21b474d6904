//! Latency distributions, one curve per series (an algorithm, a design, a run): the CDF on a
//! log time axis (left), and the tail, the share of requests slower than each latency, on
//! log-log axes (right), where p99 and p99.9 differences that the CDF squeezes against 100%
//! become visible.

use super::style::{self, DrawResult};
use super::{ChartFile, Figure};
use crate::stats::LatencyHistogram;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io;
use std::ops::Range;
use std::path::Path;

/// Writes `<stem>.svg/.png`: one CDF and one tail curve per `(name, histogram)`.
pub fn latency_cdf(
    dir: &Path,
    stem: &str,
    title: &str,
    series: &[(String, LatencyHistogram)],
) -> io::Result<Vec<ChartFile>> {
    let fig = Cdf::new(title, series);
    Ok(vec![super::write(dir, stem, title, &fig)?])
}

struct Curve {
    style: style::SeriesStyle,
    legend: String,
    /// The p1 and the maximum, seconds: the x axis is fitted to these.
    span: (f64, f64),
    /// (p50, p99) in seconds, marked on the curves with the series' marker.
    marks: (f64, f64),
    /// (latency s, cumulative share), from the last point below any value on.
    cdf: Vec<(f64, f64)>,
}

struct Cdf {
    title: String,
    curves: Vec<Curve>,
    /// Most requests in one series: the tail axis goes down to about 1 / this.
    max_count: u64,
}

impl Cdf {
    fn new(title: &str, series: &[(String, LatencyHistogram)]) -> Self {
        let names: Vec<&str> = series.iter().map(|(name, _)| name.as_str()).collect();
        let styles = style::algorithm_styles(&names);
        let curves = series
            .iter()
            .zip(styles)
            .map(|((name, h), st)| {
                let points = h.cdf_points();
                let first = points
                    .iter()
                    .position(|p| p.1 > 0.0)
                    .unwrap_or(points.len());
                let cdf = points[first.saturating_sub(1)..]
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.0 > 0.0)
                    .collect();
                let legend = if h.count() == 0 {
                    format!("{name}: no request completed")
                } else {
                    format!(
                        "{name}: p50 {}, p99 {}, p99.9 {} ({} requests)",
                        style::duration(h.quantile_secs(0.5)),
                        style::duration(h.quantile_secs(0.99)),
                        style::duration(h.quantile_secs(0.999)),
                        h.count()
                    )
                };
                let q = |p: f64| {
                    if h.count() == 0 {
                        f64::NAN
                    } else {
                        h.quantile_secs(p)
                    }
                };
                Curve {
                    style: st,
                    legend,
                    span: (
                        q(0.01),
                        if h.count() == 0 {
                            f64::NAN
                        } else {
                            h.max_secs()
                        },
                    ),
                    marks: (q(0.5), q(0.99)),
                    cdf,
                }
            })
            .collect();
        Cdf {
            title: title.to_string(),
            curves,
            max_count: series.iter().map(|(_, h)| h.count()).max().unwrap_or(0),
        }
    }

    /// Fitted to the data: from the p1 of the fastest series to the slowest request. The
    /// fastest 1% sit left of the axis: with exponential work a thousandth of the requests
    /// take under a thousandth of the mean, and would stretch the axis down to microseconds
    /// (the tail, right, is where differences show).
    fn x_range(&self) -> Range<f64> {
        style::fitted_log_range(
            self.curves.iter().flat_map(|c| [c.span.0, c.span.1]),
            1e-3..1.0,
        )
    }
}

impl Figure for Cdf {
    fn size(&self) -> (u32, u32) {
        (1300, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        let (legend_area, panels) =
            body.split_vertically(28 + 22 * self.curves.len().max(1) as u32);
        let (w, _) = panels.dim_in_pixel();
        let (left, right) = panels.split_horizontally(w / 2);
        // One legend for both panels, above them: the lines are the same series.
        self.legend(&legend_area)?;
        if self.curves.iter().all(|c| c.cdf.is_empty()) {
            style::note(&panels, "no request completed: no latency to show")?;
            return Ok(());
        }
        let x = self.x_range();
        let span = (x.end / x.start).log10();
        let xf = |v: &f64| {
            if style::fitted_log_tick(*v, span) {
                style::duration(*v)
            } else {
                String::new()
            }
        };
        let x_labels = if span <= 2.5 { 40 } else { 12 };

        let mut chart = ChartBuilder::on(&left)
            .caption(
                "Share of requests at or below each latency",
                style::bold(style::CAPTION),
            )
            .margin_right(16)
            .x_label_area_size(52)
            .y_label_area_size(70)
            .build_cartesian_2d(x.clone().log_scale(), 0.0..1.0)?;
        let pct = |v: &f64| style::percent(*v);
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .y_labels(11)
            .max_light_lines(4)
            .x_label_formatter(&xf)
            .y_label_formatter(&pct)
            .x_desc("latency (log scale)")
            .y_desc("requests at or below (cumulative %)")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        let pa = chart.plotting_area().strip_coord_spec();
        for c in &self.curves {
            let inside = |p: &&(f64, f64)| p.0 >= x.start && p.0 <= x.end;
            let px = to_pixels(&chart, c.cdf.iter().filter(inside).copied());
            style::draw_styled_path(&pa, c.style, &px, 2, false)?;
            // The series' marker where it crosses p50 and p99.
            for (lat, share) in [(c.marks.0, 0.5), (c.marks.1, 0.99)] {
                if lat.is_finite() && lat >= x.start && lat <= x.end {
                    let p = to_pixels(&chart, std::iter::once((lat, share)));
                    style::draw_marker(&pa, c.style.marker, p[0], 5, c.style.color)?;
                }
            }
        }

        let floor = if self.max_count > 1 {
            10f64.powf(-(self.max_count as f64).log10().ceil())
        } else {
            1e-2
        };
        let tail_y = floor.min(1e-2)..1.0;
        let mut chart = ChartBuilder::on(&right)
            .caption(
                "Tail: share of requests slower than each latency",
                style::bold(style::CAPTION),
            )
            .margin_left(8)
            .margin_right(16)
            .x_label_area_size(52)
            .y_label_area_size(70)
            .build_cartesian_2d(x.clone().log_scale(), tail_y.clone().log_scale())?;
        let tail_span = style::decades(&tail_y);
        let yf = |v: &f64| {
            if style::log_tick_shown(*v, tail_span) {
                style::percent(*v)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .y_labels(12)
            .max_light_lines(4)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .x_desc("latency (log scale)")
            .y_desc("requests slower (log scale)")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        // Reference levels: the p99 and p99.9 of a curve are where it crosses these.
        for (level, label) in [(1e-2, "p99"), (1e-3, "p99.9")] {
            if level > tail_y.start {
                chart.draw_series(DashedLineSeries::new(
                    [(x.start, level), (x.end, level)],
                    6,
                    4,
                    style::NEUTRAL.mix(0.7).stroke_width(1),
                ))?;
                let at = chart.backend_coord(&(x.start, level));
                let base = right.get_base_pixel();
                right.draw_text(
                    label,
                    &style::font(style::TICK)
                        .color(&style::NEUTRAL)
                        .pos(Pos::new(HPos::Left, VPos::Bottom)),
                    (at.0 - base.0 + 4, at.1 - base.1 - 2),
                )?;
            }
        }
        let pa = chart.plotting_area().strip_coord_spec();
        for c in &self.curves {
            let tail = c
                .cdf
                .iter()
                .map(|&(x, f)| (x, 1.0 - f))
                .filter(|p| p.0 >= x.start && p.0 <= x.end && p.1 >= tail_y.start);
            let px = to_pixels(&chart, tail);
            style::draw_styled_path(&pa, c.style, &px, 2, false)?;
            for (lat, share) in [(c.marks.0, 0.5), (c.marks.1, 0.01)] {
                if lat.is_finite() && lat >= x.start && lat <= x.end {
                    let p = to_pixels(&chart, std::iter::once((lat, share)));
                    style::draw_marker(&pa, c.style.marker, p[0], 5, c.style.color)?;
                }
            }
        }
        Ok(())
    }
}

/// Data points to pixels of the chart's plotting area.
fn to_pixels<'a, DB, X, Y>(
    chart: &ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pts: impl Iterator<Item = (f64, f64)>,
) -> Vec<(i32, i32)>
where
    DB: DrawingBackend + 'a,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let base = chart.plotting_area().get_base_pixel();
    pts.map(|p| {
        let q = chart.backend_coord(&p);
        (q.0 - base.0, q.1 - base.1)
    })
    .collect()
}

impl Cdf {
    fn legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        for (i, c) in self.curves.iter().enumerate() {
            let item = [(style::Swatch::Series(c.style), c.legend.clone())];
            style::legend_row(area, (80, 14 + 22 * i as i32), &item)?;
        }
        if self.curves.is_empty() {
            style::note(area, "no series given")?;
        } else {
            let (w, _) = area.dim_in_pixel();
            area.draw_text(
                "markers: p50 and p99 of each series",
                &style::font(style::LEGEND)
                    .color(&style::NEUTRAL)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
                (w as i32 - 24, 14),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;
    use crate::engine::SimTime;

    fn hist(scale_us: u64, n: u64) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for i in 1..=n {
            // A long tail: every 100th request is 50x slower.
            let us = if i % 100 == 0 {
                50 * scale_us
            } else {
                scale_us + i % scale_us.max(1)
            };
            h.record(SimTime::from_micros(us));
        }
        h
    }

    #[test]
    fn one_curve_per_series() {
        let dir = testutil::temp_dir("cdf");
        let series = vec![
            ("roundrobin".to_string(), hist(2000, 20_000)),
            ("leastconn".to_string(), hist(1500, 20_000)),
            ("empty".to_string(), LatencyHistogram::new()),
        ];
        // CPU time of this thread, not wall time (see `testutil::thread_cpu`).
        let t0 = testutil::thread_cpu();
        let files = latency_cdf(
            &dir,
            "latency_cdf",
            "End-to-end latency by algorithm",
            &series,
        )
        .unwrap();
        let took = testutil::thread_cpu() - t0;
        assert!(took.as_millis() < 2000, "{took:?} of CPU");
        testutil::check(
            &dir,
            &files[0],
            &["roundrobin", "leastconn", "no request completed", "p99"],
        );
        testutil::done(&dir);
    }

    #[test]
    fn real_run_and_degenerate_series() {
        let dir = testutil::temp_dir("cdf-degenerate");
        let r = testutil::primary_down();
        let files = latency_cdf(
            &dir,
            "run",
            "End-to-end latency",
            &[("run 0".into(), r.latency_hist.clone())],
        )
        .unwrap();
        testutil::check(&dir, &files[0], &["run 0"]);
        // Nothing, one value, all equal values.
        let files = latency_cdf(&dir, "none", "Nothing", &[]).unwrap();
        testutil::check(&dir, &files[0], &["no series given"]);
        let mut one = LatencyHistogram::new();
        one.record(SimTime::from_micros(0));
        let files = latency_cdf(&dir, "one", "One zero latency", &[("zero".into(), one)]).unwrap();
        testutil::check(&dir, &files[0], &["zero"]);
        testutil::done(&dir);
    }
}
