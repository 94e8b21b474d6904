//! Replication lag of one run, per replica: over time (left, with database faults shaded)
//! and as a distribution of the timeline's samples (right: the share of samples at or below
//! each lag). The legend also gives each replica's per-transaction mean and p99 lag, which
//! count every transaction rather than one sample per interval.

use super::style::{self, DrawResult};
use super::timeline::{clock_unit, in_windows, replica_columns, windows, writerless};
use super::{ChartFile, Figure};
use crate::model::RunResults;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// Most points per distribution curve (quantiles of the samples beyond that).
const MAX_CDF_POINTS: usize = 400;

/// Writes `replication_lag.svg/.png` (a chart with a note when there is no replica).
pub fn replication_lag(dir: &Path, r: &RunResults) -> io::Result<Vec<ChartFile>> {
    let title = format!(
        "{}: replication lag per replica, over time and its distribution (run {})",
        r.scenario, r.run
    );
    let fig = Lag::new(r, title.clone());
    Ok(vec![super::write(dir, "replication_lag", &title, &fig)?])
}

struct Series {
    name: String,
    color: RGBColor,
    legend: String,
    /// (time in display units, lag in `unit`).
    over_time: Vec<(f64, f64)>,
    /// (lag in `unit`, share of samples at or below it).
    cdf: Vec<(f64, f64)>,
}

struct Lag {
    title: String,
    clock: &'static str,
    end: f64,
    lag_unit: &'static str,
    series: Vec<Series>,
    /// Database fault windows, display units.
    faults: Vec<(f64, f64)>,
}

impl Lag {
    fn new(r: &RunResults, title: String) -> Self {
        let end_s = r.duration_s.max(r.timeline_chart.last_t()).max(1e-9);
        let (div, clock) = clock_unit(end_s);
        let replicas = replica_columns(r);
        let chart = &r.timeline_chart;
        let lag_max = replicas
            .iter()
            .map(|(_, n)| chart.lag_max(*n))
            .fold(0.0, f64::max);
        let (scale, lag_unit) = style::time_unit(lag_max);
        let names: Vec<&str> = replicas.iter().map(|(name, _)| name.as_str()).collect();
        let colors = style::colors_for(&names);
        let headless = writerless(r);
        // A bucket that ends inside a window without a primary has no lag to show: nothing
        // is committed, so a replica's lag is undefined there, not zero.
        let without_primary = |t: f64, dt: f64| in_windows(&headless, t, dt);
        let series = replicas
            .iter()
            .zip(colors)
            .map(|((name, n), color)| {
                let over_time = chart
                    .buckets()
                    .iter()
                    .map(|b| {
                        let lag = if without_primary(b.t, b.dt) {
                            f64::NAN
                        } else {
                            b.lag.get(*n).map_or(f64::NAN, |l| l * scale)
                        };
                        (b.t / div, lag)
                    })
                    .collect();
                let cdf = chart
                    .lag_cdf(*n, MAX_CDF_POINTS)
                    .into_iter()
                    .map(|(l, share)| (l * scale, share))
                    .collect();
                let legend = match r.replication.iter().find(|s| &s.name == name) {
                    Some(s) if s.transactions_applied > 0 => format!(
                        "{name} (per transaction: mean {}, p99 {})",
                        style::duration(s.lag_mean),
                        style::duration(s.lag_p99)
                    ),
                    _ => name.clone(),
                };
                Series {
                    name: name.clone(),
                    color,
                    legend,
                    over_time,
                    cdf,
                }
            })
            .collect();
        let db = &r.timeline_columns.db_nodes;
        let faults = windows(
            r.faults
                .iter()
                .filter(|f| f.start_s.is_finite() && db.contains(&f.component))
                .map(|f| (f.start_s / div, f.end_s.unwrap_or(end_s).min(end_s) / div)),
            end_s / div,
        );
        Lag {
            title,
            clock,
            end: end_s / div,
            lag_unit,
            series,
            faults,
        }
    }
}

impl Figure for Lag {
    fn size(&self) -> (u32, u32) {
        (1300, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        if self.series.is_empty() {
            style::note(
                &body,
                "no replica in this scenario: nothing replicates, nothing lags",
            )?;
            return Ok(());
        }
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w * 58 / 100);
        let lag_desc = format!("lag ({})", self.lag_unit);
        let nums = |v: &f64| style::num(*v);

        let y = style::linear_range(
            self.series
                .iter()
                .flat_map(|s| s.over_time.iter().map(|p| p.1)),
        );
        let mut chart = ChartBuilder::on(&left)
            .caption(
                "Over time (gaps: node down, primary, or no primary)",
                style::bold(style::CAPTION),
            )
            .margin_right(style::LEGEND_COLUMN - 60)
            .x_label_area_size(52)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..self.end, y.clone())?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(6)
            .max_light_lines(4)
            .x_label_formatter(&nums)
            .y_label_formatter(&nums)
            .x_desc(format!("time since start ({})", self.clock))
            .y_desc(lag_desc.as_str())
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        chart.draw_series(self.faults.iter().map(|&(s, e)| {
            Rectangle::new(
                [(s, y.start), (e.max(s), y.end)],
                style::FAULT.mix(0.12).filled(),
            )
        }))?;
        if !self.faults.is_empty() {
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label("database fault")
                .legend(style::legend_box(style::FAULT.mix(0.3)));
        }
        for s in &self.series {
            style::draw_lines(&mut chart, &s.name, s.color, 2, &s.over_time, false)?;
        }
        let mut items: Vec<(style::Swatch, String)> = vec![];
        if !self.faults.is_empty() {
            items.push((
                style::Swatch::Area(style::FAULT, 0.3),
                "database fault".to_string(),
            ));
        }
        items.extend(
            self.series
                .iter()
                .map(|s| (style::Swatch::Line(s.color), s.name.clone())),
        );
        style::legend_column(&left, &chart, &items)?;

        let x = style::linear_range(self.series.iter().flat_map(|s| s.cdf.iter().map(|p| p.0)));
        let mut chart = ChartBuilder::on(&right)
            .caption(
                "Distribution of the sampled lag (while a replica)",
                style::bold(style::CAPTION),
            )
            .margin_left(8)
            .margin_right(8)
            .x_label_area_size(52)
            .y_label_area_size(64)
            .build_cartesian_2d(x, 0.0..1.0)?;
        let pct = |v: &f64| style::percent(*v);
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .max_light_lines(4)
            .x_label_formatter(&nums)
            .y_label_formatter(&pct)
            .x_desc(lag_desc.as_str())
            .y_desc("samples at or below")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        for s in &self.series {
            let mut steps = Vec::with_capacity(s.cdf.len() * 2);
            let mut prev = 0.0;
            for &(x, f) in &s.cdf {
                steps.push((x, prev));
                steps.push((x, f));
                prev = f;
            }
            style::draw_lines(&mut chart, &s.legend, s.color, 2, &steps, false)?;
        }
        style::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;
    use crate::model::timeline::TimelineChart;

    #[test]
    fn one_series_per_replica() {
        let r = testutil::primary_down();
        let dir = testutil::temp_dir("lag");
        let files = replication_lag(&dir, r).unwrap();
        let names: Vec<&str> = r.replication.iter().map(|s| s.name.as_str()).collect();
        assert!(!names.is_empty());
        testutil::check(&dir, &files[0], &names);
        testutil::check(&dir, &files[0], &["database fault", "per transaction"]);
        testutil::done(&dir);
    }

    #[test]
    fn no_replica_or_all_nan() {
        let dir = testutil::temp_dir("lag-empty");
        let mut r = testutil::primary_down().clone();
        r.replication.clear();
        r.timeline
            .iter_mut()
            .for_each(|row| row.lag.iter_mut().for_each(|l| *l = 0.0));
        r.timeline_chart = TimelineChart::of_rows(&r.timeline, &r.timeline_columns.db_nodes);
        let files = replication_lag(&dir, &r).unwrap();
        testutil::check(&dir, &files[0], &["no replica"]);
        let mut r = testutil::primary_down().clone();
        r.timeline
            .iter_mut()
            .for_each(|row| row.lag.iter_mut().for_each(|l| *l = f64::NAN));
        r.timeline.truncate(1);
        r.timeline_chart = TimelineChart::of_rows(&r.timeline, &r.timeline_columns.db_nodes);
        let files = replication_lag(&dir, &r).unwrap();
        testutil::check(&dir, &files[0], &[r.replication[0].name.as_str()]);
        testutil::done(&dir);
    }
}
