//! Load-balancing algorithms compared over a sweep: latency against offered load with 95%
//! confidence bands, the balance of work across app servers, and failed requests when a
//! server is slow or down.
//!
//! The sweep's points are labelled with (parameter, value) pairs. One parameter names the
//! algorithm, one the offered load; the other parameters (say `servers[1].speed`) make
//! *variants*: each variant gets its own latency and balance charts (stem suffixed with the
//! variant), and the error chart puts the variants side by side for each algorithm. The first
//! variant seen is the baseline.

use super::bars::{Bar, Bars};
use super::style::{self, DrawResult, Swatch};
use super::{ChartFile, Figure, slug};
use crate::experiment::sweep::PointSummary;
use crate::stats::MeanCi;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// A reader's name for a swept (parameter, value): the scenario's label or `key=value`.
pub type ValueName<'a> = &'a dyn Fn(&str, &str) -> String;

/// Label of points that do not set the algorithm parameter.
const AS_CONFIGURED: &str = "as configured";

/// Writes, per variant, `algorithms_latency[_<variant>]` and `algorithms_balance[_<variant>]`,
/// then `algorithms_errors`, and with `[slo]` `algorithms_slo` (requests not served within the
/// latency objective: slow is down for a user who gives up). `labels[p]` is point p's (parameter, value) list (as
/// `sweep::product` gives); `algo_param` and `load_param` name the algorithm and the load
/// parameters (e.g. "lb.algorithm", "workload.rate").
pub fn algorithm_comparison(
    dir: &Path,
    labels: &[Vec<(String, String)>],
    sums: &[PointSummary],
    algo_param: &str,
    load_param: &str,
    name: ValueName<'_>,
) -> io::Result<Vec<ChartFile>> {
    let study = Study::new(labels, sums, algo_param, load_param, name);
    let mut out = vec![];
    for (v, variant) in study.variants.iter().enumerate() {
        // File names keep the parameter text (stable links); titles use the reader's names.
        let suffix = if study.variants.len() > 1 {
            format!("_{}", slug(&study.variant_keys[v]))
        } else {
            String::new()
        };
        let of = if variant.is_empty() {
            String::new()
        } else {
            format!(" ({variant})")
        };
        let title = format!("Latency and failures against offered load, per algorithm{of}");
        let fig = LatencyVsLoad {
            title: title.clone(),
            study: &study,
            variant: v,
        };
        out.push(super::write(
            dir,
            &format!("algorithms_latency{suffix}"),
            &title,
            &fig,
        )?);
        let fig = Balance::new(&study, v);
        let title = fig.title.clone();
        out.push(super::write(
            dir,
            &format!("algorithms_balance{suffix}"),
            &title,
            &fig,
        )?);
    }
    let fig = Errors::new(&study, Bad::Failed);
    let title = fig.title.clone();
    out.push(super::write(dir, "algorithms_errors", &title, &fig)?);
    if sums.iter().any(|s| metric(s, "slo_availability").is_some()) {
        let fig = Errors::new(&study, Bad::OutsideSlo);
        let title = fig.title.clone();
        out.push(super::write(dir, "algorithms_slo", &title, &fig)?);
    }
    Ok(out)
}

/// One point of the sweep, read through the chart's eyes.
struct Pt<'a> {
    algo: usize,
    variant: usize,
    /// NaN when the point has no numeric load value.
    load: f64,
    sum: &'a PointSummary,
}

struct Study<'a> {
    algos: Vec<String>,
    /// Each variant as a reader names it ([`ValueName`]), the baseline first.
    variants: Vec<String>,
    /// Each variant as `key=value` text (for file names).
    variant_keys: Vec<String>,
    points: Vec<Pt<'a>>,
    load_param: String,
    /// Servers named by `servers.<name>.app_utilisation` metrics, first seen first.
    servers: Vec<String>,
}

fn metric(s: &PointSummary, key: &str) -> Option<MeanCi> {
    s.metrics.iter().find(|(k, _)| k == key).map(|(_, c)| *c)
}

fn index_of(list: &mut Vec<String>, name: &str) -> usize {
    match list.iter().position(|x| x == name) {
        Some(i) => i,
        None => {
            list.push(name.to_string());
            list.len() - 1
        }
    }
}

impl<'a> Study<'a> {
    fn new(
        labels: &[Vec<(String, String)>],
        sums: &'a [PointSummary],
        algo_param: &str,
        load_param: &str,
        name: ValueName<'_>,
    ) -> Self {
        let mut algos = vec![];
        let mut variants = vec![];
        let mut variant_keys = vec![];
        let mut servers = vec![];
        let mut points = vec![];
        for s in sums {
            let label: &[(String, String)] = labels.get(s.point).map_or(&[], |l| l.as_slice());
            let value = |key: &str| {
                label
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            };
            let algo = value(algo_param).unwrap_or(AS_CONFIGURED);
            let load = value(load_param)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            let others = || {
                label
                    .iter()
                    .filter(|(k, _)| k != algo_param && k != load_param)
            };
            let variant = others()
                .map(|(k, v)| name(k, v))
                .collect::<Vec<_>>()
                .join(", ");
            let key = others()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            if !variant_keys.contains(&key) {
                variant_keys.push(key);
            }
            for (k, _) in &s.metrics {
                if let Some(name) = k
                    .strip_prefix("servers.")
                    .and_then(|k| k.strip_suffix(".app_utilisation"))
                {
                    index_of(&mut servers, name);
                }
            }
            points.push(Pt {
                algo: index_of(&mut algos, algo),
                variant: index_of(&mut variants, &variant),
                load,
                sum: s,
            });
        }
        if variants.is_empty() {
            variants.push(String::new());
            variant_keys.push(String::new());
        }
        Study {
            algos,
            variants,
            variant_keys,
            points,
            load_param: load_param.to_string(),
            servers,
        }
    }

    /// The point with the highest load for (algorithm, variant), or the last one seen when
    /// no point has a load.
    fn at_highest_load(&self, algo: usize, variant: usize) -> Option<&Pt<'a>> {
        self.points
            .iter()
            .filter(|p| p.algo == algo && p.variant == variant)
            .fold(None, |best: Option<&Pt<'a>>, p| match best {
                Some(b) if b.load.is_finite() && (p.load.is_nan() || p.load <= b.load) => Some(b),
                _ => Some(p),
            })
    }

    fn load_desc(&self) -> String {
        if self.load_param.ends_with("rate") {
            format!("offered load: {} (requests/s)", self.load_param)
        } else {
            format!("offered load: {}", self.load_param)
        }
    }

    fn highest_load_text(&self, variant: usize) -> String {
        let top = self
            .points
            .iter()
            .filter(|p| p.variant == variant && p.load.is_finite())
            .map(|p| p.load)
            .fold(f64::NAN, f64::max);
        if top.is_finite() && self.load_param.ends_with("rate") {
            format!("the highest load, {} req/s", style::num(top))
        } else if top.is_finite() {
            format!(
                "the highest load, {} = {}",
                self.load_param,
                style::num(top)
            )
        } else {
            "the sweep's points".to_string()
        }
    }
}

// ---- latency against load -----------------------------------------------------------------

/// (load, mean, low end of the 95% interval, high end).
type Band = (f64, f64, f64, f64);

struct LatencyVsLoad<'s, 'a> {
    title: String,
    study: &'s Study<'a>,
    variant: usize,
}

impl LatencyVsLoad<'_, '_> {
    /// Per algorithm: (load, mean, low, high) sorted by load, for `key`.
    fn curves(&self, key: &str) -> Vec<(usize, Vec<Band>)> {
        (0..self.study.algos.len())
            .map(|a| {
                let mut pts: Vec<Band> = self
                    .study
                    .points
                    .iter()
                    .filter(|p| p.algo == a && p.variant == self.variant && p.load.is_finite())
                    .filter_map(|p| Some((p.load, metric(p.sum, key)?)))
                    .map(|(load, ci)| {
                        let hw = if ci.half_width.is_finite() {
                            ci.half_width
                        } else {
                            0.0
                        };
                        (load, ci.mean, ci.mean - hw, ci.mean + hw)
                    })
                    .collect();
                pts.sort_by(|x, y| x.0.total_cmp(&y.0));
                (a, pts)
            })
            .collect()
    }

    /// Per algorithm: (load, % failed, low, high) sorted by load.
    fn failure_curves(&self) -> Vec<(usize, Vec<Band>)> {
        (0..self.study.algos.len())
            .map(|a| {
                let mut pts: Vec<Band> = self
                    .study
                    .points
                    .iter()
                    .filter(|p| p.algo == a && p.variant == self.variant && p.load.is_finite())
                    .filter_map(|p| Some((p.load, error_pct(p.sum, Bad::Failed)?)))
                    .map(|(load, b)| (load, b.value, b.low, b.high))
                    .collect();
                pts.sort_by(|x, y| x.0.total_cmp(&y.0));
                (a, pts)
            })
            .collect()
    }

    /// The swept loads, framed with a margin (loads rarely start at zero).
    fn load_range(&self) -> std::ops::Range<f64> {
        let loads: Vec<f64> = self
            .study
            .points
            .iter()
            .filter(|p| p.variant == self.variant && p.load.is_finite())
            .map(|p| p.load)
            .collect();
        match (
            loads.iter().copied().reduce(f64::min),
            loads.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) => {
                let pad = if hi > lo {
                    (hi - lo) * 0.05
                } else {
                    hi.abs().max(1.0) * 0.1
                };
                (lo - pad)..(hi + pad)
            }
            _ => 0.0..1.0,
        }
    }

    /// One panel: a latency metric on a log axis fitted to the data, or the failed share on a
    /// linear one; one line and marker style per algorithm, bands for the 95% intervals.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        curves: &[(usize, Vec<Band>)],
        caption: &str,
        y_desc: &str,
        log: bool,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let x = self.load_range();
        let values = || {
            curves
                .iter()
                .flat_map(|c| c.1.iter().flat_map(|p| [p.1, p.3]))
        };
        let builder = |area| {
            let mut b = ChartBuilder::on(area);
            b.caption(caption, style::bold(style::CAPTION))
                .margin_right(14)
                .x_label_area_size(52)
                .y_label_area_size(74);
            b
        };
        let styles = style::algorithm_styles(&self.study.algos);
        let xf = |v: &f64| style::num(*v);
        if log {
            let y = style::fitted_log_range(values(), 1e-3..1.0);
            let span = (y.end / y.start).log10();
            let mut chart = builder(area).build_cartesian_2d(x, y.clone().log_scale())?;
            let yf = |v: &f64| {
                if style::fitted_log_tick(*v, span) {
                    style::duration(*v)
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .x_labels(6)
                .y_labels(16)
                .max_light_lines(1)
                .x_label_formatter(&xf)
                .y_label_formatter(&yf)
                .x_desc(self.study.load_desc())
                .y_desc(y_desc)
                .label_style(style::font(style::TICK))
                .axis_desc_style(style::font(style::DESC))
                .light_line_style(style::GRID.mix(0.3))
                .bold_line_style(style::GRID)
                .draw()?;
            let floor = y.start;
            for (a, pts) in curves {
                let st = styles[*a];
                let band = band_polygon(pts, floor);
                if band.len() >= 4 {
                    chart.draw_series(std::iter::once(Polygon::new(
                        band,
                        st.color.mix(0.14).filled(),
                    )))?;
                }
            }
            let pa = chart.plotting_area().strip_coord_spec();
            let base = pa.get_base_pixel();
            for (a, pts) in curves {
                let px: Vec<(i32, i32)> = pts
                    .iter()
                    .filter(|p| p.1.is_finite() && p.1 > 0.0)
                    .map(|p| {
                        let q = chart.backend_coord(&(p.0, p.1));
                        (q.0 - base.0, q.1 - base.1)
                    })
                    .collect();
                style::draw_styled_path(&pa, styles[*a], &px, 2, true)?;
            }
        } else {
            let top = values().filter(|v| v.is_finite()).fold(0.0, f64::max);
            let y = 0.0..if top > 0.0 { top * 1.1 } else { 1.0 };
            let mut chart = builder(area).build_cartesian_2d(x, y.clone())?;
            let yf = |v: &f64| format!("{}%", style::num(*v));
            chart
                .configure_mesh()
                .x_labels(6)
                .y_labels(8)
                .max_light_lines(1)
                .x_label_formatter(&xf)
                .y_label_formatter(&yf)
                .x_desc(self.study.load_desc())
                .y_desc(y_desc)
                .label_style(style::font(style::TICK))
                .axis_desc_style(style::font(style::DESC))
                .light_line_style(style::GRID.mix(0.3))
                .bold_line_style(style::GRID)
                .draw()?;
            for (a, pts) in curves {
                let band = band_polygon(pts, 0.0);
                if band.len() >= 4 {
                    chart.draw_series(std::iter::once(Polygon::new(
                        band,
                        styles[*a].color.mix(0.14).filled(),
                    )))?;
                }
            }
            let pa = chart.plotting_area().strip_coord_spec();
            let base = pa.get_base_pixel();
            for (a, pts) in curves {
                let px: Vec<(i32, i32)> = pts
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|p| {
                        let q = chart.backend_coord(&(p.0, p.1));
                        (q.0 - base.0, q.1 - base.1)
                    })
                    .collect();
                style::draw_styled_path(&pa, styles[*a], &px, 2, true)?;
            }
            if top <= 0.0 && curves.iter().any(|c| !c.1.is_empty()) {
                style::note(&pa, "no request failed")?;
            }
        }
        if curves.iter().all(|c| c.1.is_empty()) {
            style::note(
                area,
                &format!(
                    "no point has a numeric {} and this metric",
                    self.study.load_param
                ),
            )?;
        }
        Ok(())
    }
}

/// The outline of a band of 95% intervals: along the high ends, back along the low ends
/// (clamped to `floor`, the axis' bottom).
fn band_polygon(pts: &[Band], floor: f64) -> Vec<(f64, f64)> {
    let ok = |p: &&Band| p.2.is_finite() && p.3.is_finite() && p.3 > p.2;
    pts.iter()
        .filter(ok)
        .map(|p| (p.0, p.3))
        .chain(pts.iter().rev().filter(ok).map(|p| (p.0, p.2.max(floor))))
        .collect()
}

impl Figure for LatencyVsLoad<'_, '_> {
    fn size(&self) -> (u32, u32) {
        (1400, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        // The legend above the panels, never over the data: one entry per algorithm (its
        // colour, marker and line pattern, the same in every chart), then what the bands are.
        let (head, panels) = body.split_vertically(56);
        let styles = style::algorithm_styles(&self.study.algos);
        let items: Vec<(Swatch, String)> = self
            .study
            .algos
            .iter()
            .zip(&styles)
            .map(|(a, s)| (Swatch::Series(*s), a.clone()))
            .collect();
        style::legend_row(&head, (74, 12), &items)?;
        style::legend_row(
            &head,
            (74, 38),
            &[(
                Swatch::Area(style::NEUTRAL, 0.25),
                "bands: 95% confidence intervals of the mean over replications. Latency counts \
                 successful requests only: read it beside the failures (right)"
                    .to_string(),
            )],
        )?;
        let (w, _) = panels.dim_in_pixel();
        let (left, rest) = panels.split_horizontally(w / 3);
        let (middle, right) = rest.split_horizontally(w / 3);
        self.panel(
            &left,
            &self.curves("latency.p50"),
            "p50 latency (median)",
            "p50 latency (log scale)",
            true,
        )?;
        self.panel(
            &middle,
            &self.curves("latency.p99"),
            "p99 latency",
            "p99 latency (log scale)",
            true,
        )?;
        self.panel(
            &right,
            &self.failure_curves(),
            "Failed requests",
            "failed (% of finished requests)",
            false,
        )?;
        Ok(())
    }
}

// ---- utilisation balance ------------------------------------------------------------------

struct Balance {
    title: String,
    bars: BarData,
}

/// Owned parts of a [`Bars`] (which borrows).
struct BarData {
    caption: String,
    categories: Vec<String>,
    groups: Vec<(String, RGBColor)>,
    values: Vec<Vec<Option<Bar>>>,
    x_desc: String,
    y_desc: String,
    /// None: from 0 to the highest whisker.
    y_range: Option<std::ops::Range<f64>>,
    note: Option<String>,
}

fn bar(ci: MeanCi, scale: f64, label: String) -> Bar {
    let hw = if ci.half_width.is_finite() {
        ci.half_width
    } else {
        0.0
    };
    Bar {
        value: ci.mean * scale,
        low: (ci.mean - hw) * scale,
        high: (ci.mean + hw) * scale,
        label,
    }
}

impl Balance {
    fn new(study: &Study<'_>, variant: usize) -> Self {
        let of = match study.variants[variant].as_str() {
            "" => String::new(),
            v => format!(" ({v})"),
        };
        let title = format!(
            "App-server utilisation per algorithm at {}{of}",
            study.highest_load_text(variant)
        );
        // One category per server, one bar per algorithm in the algorithm's colour.
        let values: Vec<Vec<Option<Bar>>> = study
            .servers
            .iter()
            .map(|srv| {
                (0..study.algos.len())
                    .map(|a| {
                        let p = study.at_highest_load(a, variant)?;
                        let ci = metric(p.sum, &format!("servers.{srv}.app_utilisation"))?;
                        Some(bar(ci, 100.0, format!("{}%", style::num(ci.mean * 100.0))))
                    })
                    .collect()
            })
            .collect();
        // Utilisation cannot pass 100%: whiskers beyond it are cut rather than stretch the axis.
        let highest = values
            .iter()
            .flatten()
            .flatten()
            .map(|b: &Bar| b.high.max(b.value))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            .min(100.0);
        let top = if highest > 0.0 { highest * 1.12 } else { 100.0 };
        let note = study
            .servers
            .is_empty()
            .then(|| "no servers.<name>.app_utilisation metric in the sweep".to_string());
        Balance {
            title,
            bars: BarData {
                caption: "Busy share of each server's app workers (mean, 95% interval)".into(),
                categories: study.servers.clone(),
                groups: algorithm_groups(study),
                values,
                x_desc: "app server".into(),
                y_desc: "app utilisation (%)".into(),
                y_range: Some(0.0..top),
                note,
            },
        }
    }
}

/// The algorithms as bar groups, each in its own colour ([`style::algorithm_style`]).
fn algorithm_groups(study: &Study<'_>) -> Vec<(String, RGBColor)> {
    study
        .algos
        .iter()
        .zip(style::algorithm_styles(&study.algos))
        .map(|(a, st)| (a.clone(), st.color))
        .collect()
}

fn draw_bar_data<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    d: &BarData,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let body = style::titled(root, title)?;
    let fmt = |v: f64| style::num(v);
    super::bars::grouped_bars(
        &body,
        &Bars {
            caption: &d.caption,
            categories: d.categories.clone(),
            groups: d.groups.clone(),
            values: d.values.clone(),
            x_desc: &d.x_desc,
            y_desc: &d.y_desc,
            y_range: d.y_range.clone(),
            y_fmt: &fmt,
            y_label_width: 84,
            legend: true,
        },
    )?;
    if let Some(text) = &d.note {
        style::note(&body, text)?;
    }
    Ok(())
}

impl Figure for Balance {
    fn size(&self) -> (u32, u32) {
        (1100, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        draw_bar_data(root, &self.title, &self.bars)
    }
}

// ---- errors per algorithm and variant --------------------------------------------------------

struct Errors {
    title: String,
    bars: BarData,
}

/// What a bar of the errors chart counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// Requests that failed (1 - `availability`).
    Failed,
    /// Requests not served within the `[slo]` latency: failed or slow (1 - `slo_availability`).
    OutsideSlo,
}

/// Share of finished requests that were bad, in %: from `availability` (or `slo_availability`)
/// with its interval; failures alone fall back on failed / arrived.
fn error_pct(s: &PointSummary, bad: Bad) -> Option<Bar> {
    let key = match bad {
        Bad::Failed => "availability",
        Bad::OutsideSlo => "slo_availability",
    };
    if let Some(a) = metric(s, key).filter(|a| a.mean.is_finite()) {
        let hw = if a.half_width.is_finite() {
            a.half_width
        } else {
            0.0
        };
        let e = (1.0 - a.mean) * 100.0;
        return Some(Bar {
            value: e,
            low: ((1.0 - a.mean - hw) * 100.0).max(0.0),
            high: (1.0 - a.mean + hw) * 100.0,
            label: format!("{}%", style::num(e)),
        });
    }
    if bad == Bad::OutsideSlo {
        return None;
    }
    let failed = metric(s, "requests.failed")?.mean;
    let arrived = metric(s, "requests.arrived")?.mean;
    if arrived.is_nan() || arrived <= 0.0 {
        return None;
    }
    let e = 100.0 * failed / arrived;
    Some(Bar {
        value: e,
        low: e,
        high: e,
        label: format!("{}%", style::num(e)),
    })
}

impl Errors {
    fn new(study: &Study<'_>, bad: Bad) -> Self {
        // One category per variant (the baseline first), one bar per algorithm in the
        // algorithm's colour, as in every other chart.
        let with_baseline = study.variants.len() > 1;
        let categories: Vec<String> = study
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = if v.is_empty() { "as configured" } else { v };
                if i == 0 && with_baseline {
                    format!("{name} (baseline)")
                } else {
                    name.to_string()
                }
            })
            .collect();
        let values: Vec<Vec<Option<Bar>>> = (0..study.variants.len())
            .map(|v| {
                (0..study.algos.len())
                    .map(|a| {
                        study
                            .at_highest_load(a, v)
                            .and_then(|p| error_pct(p.sum, bad))
                    })
                    .collect()
            })
            .collect();
        let missing = match bad {
            Bad::Failed => "no availability or requests.failed/arrived metric in the sweep",
            Bad::OutsideSlo => "no slo_availability metric in the sweep",
        };
        let note = values
            .iter()
            .flatten()
            .all(Option::is_none)
            .then(|| missing.to_string());
        let (what, caption, y_desc) = match bad {
            Bad::Failed => (
                "Failed requests",
                "Share of finished requests that failed (mean, 95% interval)",
                "failed requests (%)",
            ),
            Bad::OutsideSlo => (
                "Requests outside the SLO",
                "Share of finished requests failed or slower than the SLO latency (mean, 95% \
                 interval)",
                "failed or slow requests (%)",
            ),
        };
        let title = if study.variants.len() > 1 {
            format!(
                "{what} per algorithm at the highest load: baseline against slow or failed servers"
            )
        } else {
            format!("{what} per algorithm at the highest load")
        };
        Errors {
            title,
            bars: BarData {
                caption: caption.into(),
                categories,
                groups: algorithm_groups(study),
                values,
                x_desc: "variant of the scenario".into(),
                y_desc: y_desc.into(),
                y_range: None,
                note,
            },
        }
    }
}

impl Figure for Errors {
    fn size(&self) -> (u32, u32) {
        (1100, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        draw_bar_data(root, &self.title, &self.bars)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;

    fn kv(k: &str, v: &str) -> String {
        format!("{k}={v}")
    }
    use super::*;

    fn ci(mean: f64, half_width: f64) -> MeanCi {
        MeanCi {
            mean,
            half_width,
            n: 5,
        }
    }

    /// A synthetic sweep: algorithms x loads x the speed of server 2 (1 = healthy, 0.2 = slow).
    fn sweep() -> (Vec<Vec<(String, String)>>, Vec<PointSummary>) {
        let algos = ["roundrobin", "leastconn", "random(2)"];
        let labels = crate::experiment::sweep::product(&[
            (
                "lb.algorithm".into(),
                algos.iter().map(|s| s.to_string()).collect(),
            ),
            (
                "workload.rate".into(),
                vec!["100".into(), "200".into(), "400".into()],
            ),
            ("servers[1].speed".into(), vec!["1".into(), "0.2".into()]),
        ]);
        let sums = labels
            .iter()
            .enumerate()
            .map(|(p, label)| {
                let algo = algos.iter().position(|a| *a == label[0].1).unwrap() as f64;
                let rate: f64 = label[1].1.parse().unwrap();
                let slow = label[2].1 == "0.2";
                let base =
                    0.01 * (1.0 + rate / 100.0) * (1.0 + algo * 0.2) * if slow { 3.0 } else { 1.0 };
                PointSummary {
                    point: p,
                    runs: 5,
                    metrics: vec![
                        ("latency.p50".into(), ci(base, base * 0.1)),
                        ("latency.p99".into(), ci(base * 8.0, base)),
                        (
                            "availability".into(),
                            ci(if slow { 0.99 - algo * 0.01 } else { 0.9999 }, 0.001),
                        ),
                        (
                            "servers.web-01.app_utilisation".into(),
                            ci(rate / 500.0, 0.02),
                        ),
                        (
                            "servers.web-02.app_utilisation".into(),
                            ci(rate / 450.0, 0.02),
                        ),
                    ],
                }
            })
            .collect();
        (labels, sums)
    }

    #[test]
    fn charts_per_variant_with_every_algorithm() {
        let dir = testutil::temp_dir("algorithms");
        let (labels, sums) = sweep();
        // CPU time of this thread, not wall time (see `testutil::thread_cpu`).
        let t0 = testutil::thread_cpu();
        let files =
            algorithm_comparison(&dir, &labels, &sums, "lb.algorithm", "workload.rate", &kv)
                .unwrap();
        let elapsed = testutil::thread_cpu() - t0;
        assert!(elapsed.as_secs_f64() < 5.0, "{elapsed:?} of CPU");
        let stems: Vec<&str> = files.iter().map(|f| f.stem.as_str()).collect();
        assert_eq!(
            stems,
            [
                "algorithms_latency_servers-1-speed-1",
                "algorithms_balance_servers-1-speed-1",
                "algorithms_latency_servers-1-speed-0.2",
                "algorithms_balance_servers-1-speed-0.2",
                "algorithms_errors",
            ]
        );
        let algos = ["roundrobin", "leastconn", "random(2)"];
        for f in &files[..4] {
            testutil::check(&dir, f, &algos);
        }
        testutil::check(&dir, &files[1], &["web-01", "web-02"]);
        testutil::check(
            &dir,
            &files[4],
            &[
                "roundrobin",
                "leastconn",
                "random(2)",
                "baseline",
                "servers[1].speed=0.2",
            ],
        );
        testutil::done(&dir);
    }

    #[test]
    fn slo_chart_only_with_slo() {
        let dir = testutil::temp_dir("algorithms-slo");
        let (labels, mut sums) = sweep();
        for s in &mut sums {
            let a = s.metrics[2].1;
            s.metrics
                .push(("slo_availability".into(), ci(a.mean - 0.05, 0.01)));
        }
        let files =
            algorithm_comparison(&dir, &labels, &sums, "lb.algorithm", "workload.rate", &kv)
                .unwrap();
        let last = files.last().unwrap();
        assert_eq!(last.stem, "algorithms_slo");
        assert_eq!(files.len(), 6);
        testutil::check(
            &dir,
            last,
            &["roundrobin", "leastconn", "random(2)", "outside the SLO"],
        );
        testutil::done(&dir);
    }

    #[test]
    fn degenerate_sweeps() {
        let dir = testutil::temp_dir("algorithms-degenerate");
        // Nothing at all.
        let files =
            algorithm_comparison(&dir, &[], &[], "lb.algorithm", "workload.rate", &kv).unwrap();
        assert_eq!(files.len(), 3);
        for f in &files {
            testutil::check(&dir, f, &[]);
        }
        // One point, no algorithm parameter, no load, NaN interval.
        let labels = vec![vec![]];
        let sums = vec![PointSummary {
            point: 0,
            runs: 1,
            metrics: vec![
                ("latency.p50".into(), ci(0.0, f64::NAN)),
                ("availability".into(), ci(1.0, 0.0)),
            ],
        }];
        let files =
            algorithm_comparison(&dir, &labels, &sums, "lb.algorithm", "workload.rate", &kv)
                .unwrap();
        testutil::check(&dir, &files[0], &["as configured"]);
        testutil::done(&dir);
    }
}
