//! The failure timeline of one run: what users saw, interval by interval, with the faults and
//! the system's reactions marked. Four panels share the time axis: throughput, failed
//! requests, latency (log) and replication lag per replica. Fault windows are shaded in every
//! panel; fault starts, detections and recoveries (failover, VRRP takeover, repair) are
//! vertical lines, labelled in a strip above the panels.
//!
//! Long runs are drawn from at most [`MAX_BUCKETS`](crate::model::timeline::MAX_BUCKETS)
//! buckets of consecutive intervals (counts summed, latency and lag quantiles taken at their
//! highest: `model::timeline::TimelineChart`, kept bounded while the run streams its rows), so
//! the SVG stays small and quick to draw.

use super::style::{self, DrawResult, Swatch};
use super::{ChartFile, Figure};
use crate::model::RunResults;
use crate::model::stack::LogEntry;
use crate::model::timeline::Bucket;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io;
use std::ops::Range;
use std::path::Path;

/// Most events marked with a line; beyond that, an even selection (noted in the legend).
const MAX_MARKS: usize = 200;
/// Rows of event labels; events whose label does not fit keep their line without one.
const MAX_LABEL_ROWS: usize = 4;
const LABEL_ROW: i32 = 18;
/// Width of the y label area, the same in every panel so their time axes line up.
const Y_AREA: u32 = 92;

/// Writes `failure_timeline.svg/.png`.
pub fn failure_timeline(dir: &Path, r: &RunResults) -> io::Result<Vec<ChartFile>> {
    let title = format!(
        "{}: throughput, errors, latency and replication lag over time (run {})",
        r.scenario, r.run
    );
    let fig = Timeline::new(r, title.clone());
    Ok(vec![super::write(dir, "failure_timeline", &title, &fig)?])
}

/// (name, DB node index) of the nodes that were replicas at some point in the run: those
/// with replication statistics, and any whose sampled lag was ever positive.
pub(super) fn replica_columns(r: &RunResults) -> Vec<(String, usize)> {
    r.timeline_columns
        .db_nodes
        .iter()
        .enumerate()
        .filter(|(n, name)| {
            r.replication.iter().any(|s| &&s.name == name) || r.timeline_chart.lagged(*n)
        })
        .map(|(n, name)| (name.clone(), n))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fault,
    Detection,
    Recovery,
    Other,
}

impl Kind {
    fn color(self) -> RGBColor {
        match self {
            Kind::Fault => style::FAULT,
            Kind::Detection => style::DETECTION,
            Kind::Recovery => style::RECOVERY,
            Kind::Other => style::NEUTRAL,
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Kind::Fault => "fault starts",
            Kind::Detection => "detected",
            Kind::Recovery => "failover / recovery",
            Kind::Other => "other event",
        }
    }
}

struct Mark {
    t: f64,
    kind: Kind,
    label: String,
}

/// Which log events are marked, and how they are labelled. Events not listed (semi-sync
/// timeouts and the like, which may repeat many times) are left to `events.csv`.
fn classify(e: &LogEntry) -> Option<(Kind, String)> {
    let c = &e.component;
    if let Some(what) = e.event.strip_prefix("fault: ") {
        return Some((Kind::Fault, format!("{c} {what}")));
    }
    Some(match e.event.as_str() {
        "server marked DOWN" => (Kind::Detection, format!("{} marked DOWN", e.detail)),
        "primary failure detected" | "replica failure detected" => {
            (Kind::Detection, format!("{c} failure detected"))
        }
        "promotion impossible" => (Kind::Detection, format!("{c}: promotion impossible")),
        "promotion started" => (Kind::Other, format!("{c} promotion starts")),
        "promoted to primary" => (Kind::Recovery, format!("{c} promoted")),
        "VRRP takeover" => (Kind::Recovery, format!("{c} takes the VIP")),
        "VRRP preempt" => (Kind::Recovery, format!("{c} takes the VIP back")),
        "server marked UP" => (Kind::Recovery, format!("{} marked UP", e.detail)),
        "repaired" => (Kind::Recovery, format!("{c} repaired")),
        "primary resumes" => (Kind::Recovery, format!("{c} resumes")),
        "rejoins as a replica" => (Kind::Other, format!("{c} rejoins")),
        _ => return None,
    })
}

/// The unit of the time axis: seconds for runs up to 20 minutes, then minutes, then hours.
/// Fault windows sorted and merged where they overlap or nearly touch (closer than 0.2% of
/// the axis, below a pixel), so that thousands of random faults draw as a few rectangles.
pub(super) fn windows(w: impl Iterator<Item = (f64, f64)>, axis_end: f64) -> Vec<(f64, f64)> {
    let mut w: Vec<(f64, f64)> = w.map(|(s, e)| (s, e.max(s))).collect();
    w.sort_by(|a, b| a.0.total_cmp(&b.0));
    let gap = axis_end.abs() * 0.002;
    let mut out: Vec<(f64, f64)> = vec![];
    for (s, e) in w {
        match out.last_mut() {
            Some(last) if s <= last.1 + gap => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The windows (seconds) in which no node was the primary taking writes: from a fault of the
/// node that was primary (node 0 at the start, `Stack`'s initial `primary`; then each
/// "promoted to primary") to the moment users stopped feeling it (the fault's `recovered_s`:
/// a promotion, a resumption or the repair), or the end of the run.
pub(super) fn writerless(r: &RunResults) -> Vec<(f64, f64)> {
    let Some(first) = r.timeline_columns.db_nodes.first() else {
        return vec![];
    };
    let mut promotions: Vec<(f64, &str)> = r
        .event_log
        .iter()
        .filter(|e| e.event == "promoted to primary")
        .map(|e| (e.t, e.component.as_str()))
        .collect();
    promotions.sort_by(|a, b| a.0.total_cmp(&b.0));
    let primary_at = |t: f64| {
        promotions
            .iter()
            .take_while(|(pt, _)| *pt <= t)
            .last()
            .map_or(first.as_str(), |(_, c)| *c)
    };
    let end = r.duration_s.max(r.timeline_chart.last_t());
    r.faults
        .iter()
        .filter(|f| f.start_s.is_finite() && f.component == primary_at(f.start_s))
        .map(|f| (f.start_s, f.recovered_s.or(f.end_s).unwrap_or(end)))
        .collect()
}

/// Whether a bucket ending at `t` after `dt` seconds ends inside one of `w` (the sample taken
/// at a fault's own instant already sees the fault).
pub(super) fn in_windows(w: &[(f64, f64)], t: f64, dt: f64) -> bool {
    w.iter().any(|&(s, e)| t >= s && t - dt < e)
}

pub(super) fn clock_unit(end_s: f64) -> (f64, &'static str) {
    if end_s <= 1200.0 {
        (1.0, "s")
    } else if end_s <= 48.0 * 3600.0 {
        (60.0, "min")
    } else {
        (3600.0, "h")
    }
}

/// A series of a panel: name, colour, (time, value) points.
type Line = (String, RGBColor, Vec<(f64, f64)>);

struct Timeline<'r> {
    title: String,
    /// Events worth a mark in the log (more than `marks` holds when thinned out).
    events: usize,
    unit: &'static str,
    end: f64,
    warmup: f64,
    /// Seconds per display unit of time.
    div: f64,
    buckets: &'r [Bucket],
    /// (name, index into the timeline's per-cause columns) of the causes that occurred.
    causes: Vec<(String, usize)>,
    /// (name, DB node index) of the nodes that were replicas at some point.
    replicas: Vec<(String, usize)>,
    /// (start, end) in display units.
    faults: Vec<(f64, f64)>,
    marks: Vec<Mark>,
    /// (start, end) in seconds: no node was the primary taking writes ([`writerless`]).
    writerless: Vec<(f64, f64)>,
}

impl<'r> Timeline<'r> {
    fn new(r: &'r RunResults, title: String) -> Self {
        let end_s = r.duration_s.max(r.timeline_chart.last_t()).max(1e-9);
        let (div, unit) = clock_unit(end_s);
        let buckets = r.timeline_chart.buckets();
        let cols = &r.timeline_columns;
        let causes = cols
            .causes
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                buckets
                    .iter()
                    .any(|b| b.errors.get(*k).is_some_and(|&e| e > 0))
            })
            .map(|(k, name)| (name.clone(), k))
            .collect();
        let replicas = replica_columns(r);
        let faults = windows(
            r.faults
                .iter()
                .filter(|f| f.start_s.is_finite())
                .map(|f| (f.start_s / div, f.end_s.unwrap_or(end_s).min(end_s) / div)),
            end_s / div,
        );
        let mut marks: Vec<Mark> = r
            .event_log
            .iter()
            .filter(|e| e.t.is_finite())
            .filter_map(|e| {
                classify(e).map(|(kind, label)| Mark {
                    t: e.t / div,
                    kind,
                    label,
                })
            })
            .collect();
        marks.sort_by(|a, b| a.t.total_cmp(&b.t));
        let events = marks.len();
        if marks.len() > MAX_MARKS {
            // Keep the faults and the reactions to them before the other events.
            marks.retain(|m| m.kind != Kind::Other);
        }
        if marks.len() > MAX_MARKS {
            let step = marks.len().div_ceil(MAX_MARKS);
            marks = marks.into_iter().step_by(step).collect();
        }
        let writerless = writerless(r);
        Timeline {
            events,
            title,
            unit,
            end: end_s / div,
            warmup: r.warmup_s / div,
            div,
            buckets,
            causes,
            replicas,
            faults,
            marks,
            writerless,
        }
    }

    fn x_range(&self) -> Range<f64> {
        0.0..self.end
    }

    /// Warm-up and fault windows shaded, event lines drawn, between `y.start` and `y.end`.
    fn backdrop<'a, DB, Y>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
        y: &Range<f64>,
    ) -> DrawResult
    where
        DB: DrawingBackend + 'a,
        DB::ErrorType: 'static,
        Y: Ranged<ValueType = f64>,
    {
        if self.warmup > 0.0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y.start), (self.warmup.min(self.end), y.end)],
                style::NEUTRAL.mix(0.10).filled(),
            )))?;
        }
        chart.draw_series(self.faults.iter().map(|&(s, e)| {
            Rectangle::new(
                [(s, y.start), (e.max(s), y.end)],
                style::FAULT.mix(0.12).filled(),
            )
        }))?;
        chart.draw_series(self.marks.iter().map(|m| {
            PathElement::new(
                vec![(m.t, y.start), (m.t, y.end)],
                m.kind.color().mix(0.75).stroke_width(1),
            )
        }))?;
        Ok(())
    }

    /// A panel with a linear y axis: backdrop, one line per series, legend. Returns the pixel
    /// column of each mark (for the labels above the panels).
    fn linear_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: &str,
        y_desc: &str,
        series: &[Line],
        empty_note: Option<&str>,
        last: bool,
    ) -> Result<Vec<i32>, Box<dyn std::error::Error>>
    where
        DB::ErrorType: 'static,
    {
        let y = style::linear_range(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(area)
            .caption(caption, style::bold(style::CAPTION))
            .margin_right(style::LEGEND_COLUMN)
            .x_label_area_size(if last { 52 } else { 30 })
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(self.x_range(), y.clone())?;
        let xf = |v: &f64| style::num(*v);
        let yf = |v: &f64| style::num(*v);
        let x_desc = format!("time since start ({})", self.unit);
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(12)
            .y_labels(5)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .y_desc(y_desc)
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .max_light_lines(4)
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID);
        if last {
            mesh.x_desc(x_desc);
        }
        mesh.draw()?;
        self.backdrop(&mut chart, &y)?;
        for (name, color, points) in series {
            style::draw_lines(&mut chart, name, *color, 2, points, false)?;
        }
        let items: Vec<(Swatch, String)> = series
            .iter()
            .map(|(name, color, _)| (Swatch::Line(*color), name.clone()))
            .collect();
        style::legend_column(area, &chart, &items)?;
        if let Some(text) = empty_note {
            style::note(&chart.plotting_area().strip_coord_spec(), text)?;
        }
        Ok(self
            .marks
            .iter()
            .map(|m| chart.backend_coord(&(m.t, y.start)).0)
            .collect())
    }
}

impl Figure for Timeline<'_> {
    fn size(&self) -> (u32, u32) {
        (1300, 1240)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        let strip_h = 34 + MAX_LABEL_ROWS as i32 * LABEL_ROW;
        let (strip, panels) = body.split_vertically(strip_h);
        let areas = panels.split_evenly((4, 1));

        // Legend of the backdrop, on the strip's first line.
        let mut items = vec![];
        if self.warmup > 0.0 {
            items.push((
                Swatch::Area(style::NEUTRAL, 0.15),
                "warm-up (not measured)".to_string(),
            ));
        }
        items.push((Swatch::Area(style::FAULT, 0.18), "fault window".to_string()));
        for kind in [Kind::Fault, Kind::Detection, Kind::Recovery, Kind::Other] {
            if self.marks.iter().any(|m| m.kind == kind) {
                items.push((Swatch::Marker(kind.color()), kind.legend().to_string()));
            }
        }
        if self.marks.len() < self.events {
            items.push((
                Swatch::Marker(style::NEUTRAL),
                format!(
                    "{} of {} events marked (all in events.csv)",
                    self.marks.len(),
                    self.events
                ),
            ));
        }
        if self.faults.is_empty() {
            items.push((
                Swatch::Area(style::FAULT, 0.0),
                "(no fault in this run)".to_string(),
            ));
        }
        style::legend_row(&strip, (Y_AREA as i32, 12), &items)?;

        let rate = |n: u64, b: &Bucket| {
            if b.dt > 0.0 {
                n as f64 / b.dt
            } else {
                f64::NAN
            }
        };
        let at = |f: &dyn Fn(&Bucket) -> f64| -> Vec<(f64, f64)> {
            self.buckets
                .iter()
                .map(|b| (b.t / self.div, f(b)))
                .collect()
        };
        let no_rows = self.buckets.is_empty().then_some(
            "no timeline rows: the run had failures.timeline_interval = 0 or ended before the first",
        );

        // 1. Throughput.
        let throughput = vec![
            (
                "completed/s".to_string(),
                style::color_for("completed/s"),
                at(&|b| rate(b.completed, b)),
            ),
            (
                "arrivals/s".to_string(),
                style::color_for("arrivals/s"),
                at(&|b| rate(b.arrivals, b)),
            ),
        ];
        // Event labels go above the panels, at the first panel's pixel columns (all panels
        // share the same horizontal layout).
        let columns = self.linear_panel(
            &areas[0],
            "Throughput",
            "requests per second",
            &throughput,
            no_rows,
            false,
        )?;
        self.labels(&strip, &columns, strip_h)?;

        // 2. Failed requests, as a share of those that finished in the interval.
        let pct = |n: u64, b: &Bucket| {
            let finished = b.completed + b.failed;
            if finished > 0 {
                100.0 * n as f64 / finished as f64
            } else {
                f64::NAN
            }
        };
        let mut errors = vec![];
        if self.causes.len() != 1 {
            errors.push((
                "all causes".to_string(),
                style::color_for("all causes"),
                at(&|b| pct(b.failed, b)),
            ));
        }
        let mut names: Vec<&str> = vec!["all causes"];
        names.extend(self.causes.iter().map(|(name, _)| name.as_str()));
        let colors = style::colors_for(&names);
        for ((name, k), color) in self.causes.iter().zip(&colors[1..]) {
            let k = *k;
            errors.push((
                name.clone(),
                *color,
                at(&|b| pct(b.errors.get(k).copied().unwrap_or(0), b)),
            ));
        }
        let no_errors =
            (no_rows.is_none() && self.causes.is_empty()).then_some("no failed request");
        self.linear_panel(
            &areas[1],
            "Failed requests",
            "% of finished requests",
            &errors,
            no_rows.or(no_errors),
            false,
        )?;

        // 3. Latency, log scale.
        self.latency_panel(&areas[2], no_rows)?;

        // 4. Replication lag.
        let lag_max = self
            .buckets
            .iter()
            .flat_map(|b| {
                self.replicas
                    .iter()
                    .filter_map(|(_, n)| b.lag.get(*n).copied())
            })
            .filter(|l| l.is_finite())
            .fold(0.0, f64::max);
        let (scale, unit) = style::time_unit(lag_max);
        let names: Vec<&str> = self
            .replicas
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let lags: Vec<Line> = self
            .replicas
            .iter()
            .zip(style::colors_for(&names))
            .map(|((name, n), color)| {
                let n = *n;
                (
                    name.clone(),
                    color,
                    at(&|b| {
                        // No primary: nothing commits, so no lag to show (a gap, not 0).
                        if in_windows(&self.writerless, b.t, b.dt) {
                            f64::NAN
                        } else {
                            b.lag.get(n).map_or(f64::NAN, |l| l * scale)
                        }
                    }),
                )
            })
            .collect();
        let no_replicas = (no_rows.is_none() && self.replicas.is_empty())
            .then_some("no replica in this scenario: nothing to lag");
        self.linear_panel(
            &areas[3],
            "Replication lag per replica (gaps: node down, primary, or no primary)",
            &format!("lag ({unit})"),
            &lags,
            no_rows.or(no_replicas),
            true,
        )?;
        Ok(())
    }
}

impl Timeline<'_> {
    fn latency_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        no_rows: Option<&str>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let at = |b: &Bucket| b.t / self.div;
        let p50: Vec<(f64, f64)> = self.buckets.iter().map(|b| (at(b), b.p50)).collect();
        let p99: Vec<(f64, f64)> = self.buckets.iter().map(|b| (at(b), b.p99)).collect();
        let y = style::fitted_log_range(p50.iter().chain(&p99).map(|p| p.1), 1e-3..1.0);
        let span = (y.end / y.start).log10();
        let mut chart = ChartBuilder::on(area)
            .caption(
                "Latency of the requests completed in each interval",
                style::bold(style::CAPTION),
            )
            .margin_right(style::LEGEND_COLUMN)
            .x_label_area_size(30)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(self.x_range(), y.clone().log_scale())?;
        let xf = |v: &f64| style::num(*v);
        let yf = |v: &f64| {
            if style::fitted_log_tick(*v, span) {
                style::duration(*v)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_labels(12)
            .y_labels(16)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .y_desc("latency (log scale)")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .max_light_lines(4)
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        self.backdrop(&mut chart, &y)?;
        style::draw_lines(&mut chart, "p50", style::color_for("p50"), 2, &p50, true)?;
        style::draw_lines(&mut chart, "p99", style::color_for("p99"), 2, &p99, true)?;
        style::legend_column(
            area,
            &chart,
            &[
                (Swatch::Line(style::color_for("p50")), "p50".to_string()),
                (Swatch::Line(style::color_for("p99")), "p99".to_string()),
            ],
        )?;
        if let Some(text) = no_rows {
            style::note(&chart.plotting_area().strip_coord_spec(), text)?;
        }
        Ok(())
    }

    /// Event labels in the strip above the panels, greedily packed into rows; each with a
    /// tick down to the panels. `columns[i]` is mark i's absolute pixel column.
    fn labels<DB: DrawingBackend>(
        &self,
        strip: &DrawingArea<DB, Shift>,
        columns: &[i32],
        strip_h: i32,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let base = strip.get_base_pixel().0;
        let (w, _) = strip.dim_in_pixel();
        let mut row_end = [i32::MIN; MAX_LABEL_ROWS];
        let size = style::LEGEND - 2;
        for (m, &column) in self.marks.iter().zip(columns) {
            let x = column - base;
            let color = m.kind.color();
            let style = style::font(size).color(&color);
            let (tw, _) = strip.estimate_text_size(&m.label, &style)?;
            let tw = tw as i32;
            // Left-anchored after the line, or right-anchored before it near the right edge.
            let right_of_line = x + 4 + tw < w as i32;
            let (x0, x1) = if right_of_line {
                (x + 4, x + 4 + tw)
            } else {
                (x - 4 - tw, x - 4)
            };
            let Some(row) = row_end.iter().position(|&end| end + 8 <= x0) else {
                continue;
            };
            row_end[row] = x1;
            let y = 34 + row as i32 * LABEL_ROW;
            let (anchor, text_x) = if right_of_line {
                (HPos::Left, x0)
            } else {
                (HPos::Right, x1)
            };
            strip.draw_text(
                &m.label,
                &style.pos(Pos::new(anchor, VPos::Center)),
                (text_x, y),
            )?;
            strip.draw(&PathElement::new(
                vec![(x, y - LABEL_ROW / 2 + 2), (x, strip_h)],
                color.mix(0.75).stroke_width(1),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;
    use crate::model::results::FaultReport;

    #[test]
    fn failover_run_has_every_panel_and_marks() {
        let r = testutil::primary_down();
        let dir = testutil::temp_dir("timeline");
        let t0 = std::time::Instant::now();
        let files = failure_timeline(&dir, r).unwrap();
        eprintln!("failure_timeline: {:?}", t0.elapsed());
        assert_eq!(files.len(), 1);
        let replicas: Vec<&str> = r.replication.iter().map(|s| s.name.as_str()).collect();
        assert!(!replicas.is_empty());
        let mut names = vec![
            "completed/s",
            "p99",
            "fault window",
            "detected",
            "failover / recovery",
        ];
        names.extend(replicas);
        names.push("promoted");
        testutil::check(&dir, &files[0], &names);
        testutil::done(&dir);
    }

    #[test]
    fn long_runs_with_many_faults_stay_small_and_quick() {
        let base = testutil::primary_down();
        let mut r = base.clone();
        let n = 100_000;
        // Streamed as a run would: only the bounded summary is kept.
        let db = &base.timeline_columns.db_nodes;
        r.timeline_chart = crate::model::timeline::TimelineChart::new(n as u64, db.len());
        for i in 0..n {
            let mut row = base.timeline[i % base.timeline.len()].clone();
            row.t = (i + 1) as f64;
            r.timeline_chart
                .push(&row, db.iter().position(|d| d == &row.primary));
        }
        assert!(r.timeline_chart.buckets().len() <= crate::model::timeline::MAX_BUCKETS);
        r.duration_s = n as f64;
        r.faults = (0..5000)
            .map(|i| FaultReport {
                component: format!("web-0{}", i % 2 + 1),
                kind: "crash".into(),
                start_s: i as f64 * 20.0,
                end_s: Some(i as f64 * 20.0 + 5.0),
                ..Default::default()
            })
            .collect();
        r.event_log = (0..20_000)
            .map(|i| LogEntry {
                t: i as f64 * 5.0,
                component: "lb-1".into(),
                event: [
                    "server marked DOWN",
                    "server marked UP",
                    "fault: crash",
                    "repaired",
                ][i % 4]
                    .into(),
                detail: "web-01".into(),
            })
            .collect();
        let dir = testutil::temp_dir("timeline-long");
        // CPU time of this thread, not wall time (see `testutil::thread_cpu`).
        let t0 = testutil::thread_cpu();
        let files = failure_timeline(&dir, &r).unwrap();
        let elapsed = testutil::thread_cpu() - t0;
        assert!(elapsed.as_secs_f64() < 3.0, "{elapsed:?} of CPU");
        let svg = std::fs::metadata(dir.join("failure_timeline.svg"))
            .unwrap()
            .len();
        assert!(svg < 2_000_000, "{svg} bytes");
        testutil::check(&dir, &files[0], &["of 20000 events marked"]);
        testutil::done(&dir);
    }

    #[test]
    fn degenerate_runs_still_draw() {
        let mut r = testutil::primary_down().clone();
        let dir = testutil::temp_dir("timeline-empty");
        // No rows at all.
        r.timeline_chart = Default::default();
        r.event_log.clear();
        r.faults.clear();
        let files = failure_timeline(&dir, &r).unwrap();
        testutil::check(&dir, &files[0], &["no timeline rows"]);
        // One row, NaN lag, zero latency, a fault that never ends.
        let mut one = testutil::primary_down().timeline[0].clone();
        one.p50 = 0.0;
        one.p99 = 0.0;
        one.lag.iter_mut().for_each(|l| *l = f64::NAN);
        r.timeline_chart =
            crate::model::timeline::TimelineChart::of_rows(&[one], &r.timeline_columns.db_nodes);
        r.faults = vec![FaultReport {
            component: "db-primary".into(),
            kind: "crash".into(),
            start_s: 0.5,
            ..Default::default()
        }];
        let files = failure_timeline(&dir, &r).unwrap();
        testutil::check(&dir, &files[0], &["fault window"]);
        testutil::done(&dir);
    }
}
