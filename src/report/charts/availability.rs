//! A Monte Carlo availability study in two charts: where the downtime comes from (each
//! component's share of it, and how much availability making it perfect would buy, on a log
//! scale since the potentials span orders of magnitude; overload after a loss counts as
//! downtime, and a pale bar gives the gain within the SLO latency), and how long outages last (a
//! histogram over log-spaced durations, with the p50/p90/p99 marked).

use super::style::{self, Categories, DrawResult, Swatch};
use super::{ChartFile, Figure};
use crate::experiment::montecarlo::McSummary;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Opacity of the within-SLO bars beside each component's availability bar.
const SLO_MIX: f64 = 0.4;

/// Histogram bins per decade of outage duration.
const BINS_PER_DECADE: f64 = 5.0;

/// Writes `availability_components` and `availability_outages`. `outages` counts the outage
/// durations pooled over the study's runs (`McRun::outages` of every run).
pub fn availability(dir: &Path, s: &McSummary, outages: &OutageBins) -> io::Result<Vec<ChartFile>> {
    let over = format!("{} runs of {}", s.runs, style::duration(s.horizon_s));
    let title = format!("Where the downtime comes from, per component ({over})");
    let fig = Components {
        title: title.clone(),
        s,
    };
    let a = super::write(dir, "availability_components", &title, &fig)?;
    let title = format!("How long outages last ({over}, log scale)");
    let fig = Outages::new(title.clone(), s, outages);
    let b = super::write(dir, "availability_outages", &title, &fig)?;
    Ok(vec![a, b])
}

fn nines(a: f64) -> String {
    if a >= 1.0 {
        "no downtime".into()
    } else if a.is_finite() {
        format!("{} nines", style::num(-(1.0 - a).log10()))
    } else {
        "-".into()
    }
}

struct Components<'a> {
    title: String,
    s: &'a McSummary,
}

impl Components<'_> {
    /// Rows bottom to top: the largest share at the top.
    fn rows(&self) -> Vec<&crate::experiment::montecarlo::ComponentSummary> {
        let mut rows: Vec<_> = self.s.components.iter().collect();
        rows.sort_by(|a, b| {
            a.downtime_share
                .total_cmp(&b.downtime_share)
                .then(b.component.cmp(&a.component))
        });
        rows
    }

    fn label(&self, name: &str) -> String {
        let short = style::shorten(name, 22);
        if self.s.structural_spofs.iter().any(|x| x.component == name) {
            format!("{short} (SPOF)")
        } else {
            short
        }
    }
}

impl Figure for Components<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.s.components.len().max(1) as u32;
        (1300, 260 + 34 * rows.clamp(4, 40))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        let (head, panels) = body.split_vertically(56);
        let s = self.s;
        let mut summary = format!(
            "availability {} ± {} ({}), downtime {} min/year of which overload {}, {} outages/year",
            style::availability_pct(s.availability.mean),
            style::percent(s.availability.half_width),
            nines(s.availability.mean),
            style::num(s.downtime_minutes_per_year.mean),
            style::num(s.overload_minutes_per_year.mean),
            style::num(s.outages_per_year.mean),
        );
        if let Some(slo) = s.slo_latency_s {
            summary.push_str(&format!(
                "; within {}: {} ({})",
                style::duration(slo),
                style::availability_pct(s.slo_availability.mean),
                nines(s.slo_availability.mean),
            ));
        }
        head.draw_text(&summary, &style::font(style::LEGEND), (180, 4))?;
        style::legend_row(
            &head,
            (180, 38),
            &[
                (
                    Swatch::Area(style::NEUTRAL, 1.0),
                    "solid: failed requests (each bar in its component's colour)".to_string(),
                ),
                (
                    Swatch::Area(style::NEUTRAL, SLO_MIX),
                    "pale: within the SLO latency (slow counts as down)".to_string(),
                ),
                (
                    Swatch::Marker(style::TEXT),
                    "95% interval over runs".to_string(),
                ),
            ],
        )?;
        let rows = self.rows();
        if rows.is_empty() {
            style::note(&panels, "no component fails at random in this study")?;
            return Ok(());
        }
        let names: Vec<String> = rows.iter().map(|c| self.label(&c.component)).collect();
        // Colours assigned in the summary's order, so they do not depend on the sorting.
        let all: Vec<&str> = s.components.iter().map(|c| c.component.as_str()).collect();
        let colors = style::colors_for(&all);
        let color = |name: &str| {
            all.iter()
                .position(|c| *c == name)
                .map_or(style::NEUTRAL, |i| colors[i])
        };
        let (w, _) = panels.dim_in_pixel();
        let (left, right) = panels.split_horizontally(w * 48 / 100);

        // Share of all downtime, %.
        let x = style::linear_range(rows.iter().map(|c| c.downtime_share * 100.0));
        let x = 0.0..x.end.max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(&left)
            .caption("Share of all downtime", style::bold(style::CAPTION))
            .margin_right(24)
            .x_label_area_size(52)
            .y_label_area_size(170)
            .build_cartesian_2d(x.clone(), Categories::new(names.clone()))?;
        let xf = |v: &f64| format!("{}%", style::num(*v));
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(6)
            .y_labels(names.len())
            .max_light_lines(1)
            .x_label_formatter(&xf)
            .x_desc("share of the downtime attributed to it (%)")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, c)| {
            let v = (c.downtime_share * 100.0).clamp(0.0, x.end);
            Rectangle::new(
                [(0.0, i as f64 + 0.18), (v, i as f64 + 0.82)],
                color(&c.component).filled(),
            )
        }))?;
        let base = left.get_base_pixel();
        let text = style::font(style::TICK - 1).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, c) in rows.iter().enumerate() {
            let p = chart
                .backend_coord(&((c.downtime_share * 100.0).clamp(0.0, x.end), i as f64 + 0.5));
            left.draw_text(
                &style::percent(c.downtime_share),
                &text,
                (p.0 - base.0 + 4, p.1 - base.1),
            )?;
        }

        // Downtime a year removed if the component never failed, on a linear axis: a
        // component that matters 1,000 times more draws a bar 1,000 times longer (a log axis
        // made that look like 4x). Availability points times the minutes of a year.
        let minutes = |a: f64| a * MINUTES_PER_YEAR;
        let top = rows
            .iter()
            .flat_map(|c| {
                [
                    c.improvement.mean,
                    c.improvement.high(),
                    c.slo_improvement.mean,
                ]
            })
            .map(minutes)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        // Room right of the longest bar for its label.
        let x = 0.0..if top > 0.0 { top * 1.3 } else { 1.0 };
        let mut chart = ChartBuilder::on(&right)
            .caption(
                "Downtime removed if it never failed",
                style::bold(style::CAPTION),
            )
            .margin_left(8)
            .margin_right(24)
            .x_label_area_size(52)
            .y_label_area_size(8)
            .build_cartesian_2d(x.clone(), Categories::new(names.clone()))?;
        let xf = |v: &f64| style::num(*v);
        let none = |_: &f64| String::new();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(8)
            .y_labels(names.len())
            .max_light_lines(1)
            .x_label_formatter(&xf)
            .y_label_formatter(&none)
            .x_desc("downtime removed (minutes per year)")
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        let clamp = |v: f64| v.clamp(x.start, x.end);
        chart.draw_series(
            rows.iter()
                .enumerate()
                .filter(|(_, c)| c.improvement.mean > 0.0)
                .map(|(i, c)| {
                    Rectangle::new(
                        [
                            (0.0, i as f64 + 0.42),
                            (clamp(minutes(c.improvement.mean)), i as f64 + 0.82),
                        ],
                        color(&c.component).filled(),
                    )
                }),
        )?;
        // The same gain counting slow requests as failed: overload after a failure shows
        // here first, since a degraded pool is slow before it refuses.
        chart.draw_series(
            rows.iter()
                .enumerate()
                .filter(|(_, c)| c.slo_improvement.mean > 0.0)
                .map(|(i, c)| {
                    Rectangle::new(
                        [
                            (0.0, i as f64 + 0.18),
                            (clamp(minutes(c.slo_improvement.mean)), i as f64 + 0.42),
                        ],
                        color(&c.component).mix(SLO_MIX).filled(),
                    )
                }),
        )?;
        for (i, c) in rows.iter().enumerate() {
            let ci = c.improvement;
            let y = i as f64 + 0.62;
            if ci.half_width.is_finite() && ci.half_width > 0.0 && ci.high() > 0.0 {
                let (lo, hi) = (clamp(minutes(ci.low())), clamp(minutes(ci.high())));
                let style = style::TEXT.stroke_width(1);
                chart.draw_series([
                    PathElement::new(vec![(lo, y), (hi, y)], style),
                    PathElement::new(vec![(lo, y - 0.12), (lo, y + 0.12)], style),
                    PathElement::new(vec![(hi, y - 0.12), (hi, y + 0.12)], style),
                ])?;
            }
            let slo = c.slo_improvement.mean;
            let label = if ci.mean > 0.0 && ci.mean.is_finite() {
                format!(
                    "{} min/year (+{})",
                    style::num(minutes(ci.mean)),
                    style::percent(ci.mean)
                )
            } else {
                "none measured".to_string()
            };
            let end = if ci.mean > 0.0 {
                clamp(minutes(ci.high().max(ci.mean)))
            } else {
                0.0
            };
            let base = right.get_base_pixel();
            let p = chart.backend_coord(&(end, y));
            right.draw_text(&label, &text, (p.0 - base.0 + 6, p.1 - base.1))?;
            if s.slo_latency_s.is_some() && slo > 0.0 && slo.is_finite() {
                let p = chart.backend_coord(&(clamp(minutes(slo)), i as f64 + 0.3));
                right.draw_text(
                    &format!("within SLO {} min/year", style::num(minutes(slo))),
                    &text,
                    (p.0 - base.0 + 6, p.1 - base.1),
                )?;
            }
        }
        Ok(())
    }
}

/// Minutes in the 365-day year the study's per-year figures use (`montecarlo::summarise`).
const MINUTES_PER_YEAR: f64 = 365.0 * 24.0 * 60.0;

struct Outages<'a> {
    title: String,
    s: &'a McSummary,
    /// (bin start, bin end, count), seconds.
    bins: Vec<(f64, f64, u64)>,
    total: usize,
}

/// The outage histogram the chart draws, counted one duration at a time (a study's outages are
/// not held: issue 13): positive durations per log-spaced bin, [`BINS_PER_DECADE`] a decade.
/// At most a few thousand bins exist between the smallest and the largest f64.
#[derive(Clone, Debug, Default)]
pub struct OutageBins {
    /// Outages per bin `k` (from 10^(k/BINS_PER_DECADE) s).
    counts: BTreeMap<i64, u64>,
    total: usize,
}

impl OutageBins {
    pub fn add(&mut self, d: f64) {
        if d.is_finite() && d > 0.0 {
            let k = (d.log10() * BINS_PER_DECADE).floor() as i64;
            *self.counts.entry(k).or_default() += 1;
            self.total += 1;
        }
    }

    pub fn of(durations: &[f64]) -> OutageBins {
        let mut b = OutageBins::default();
        durations.iter().for_each(|&d| b.add(d));
        b
    }
}

impl<'a> Outages<'a> {
    fn new(title: String, s: &'a McSummary, outages: &OutageBins) -> Self {
        let mut bins = vec![];
        if let (Some((&a, _)), Some((&b, _))) = (
            outages.counts.first_key_value(),
            outages.counts.last_key_value(),
        ) {
            let edge = |k: i64| 10f64.powf(k as f64 / BINS_PER_DECADE);
            bins = (a..=b)
                .map(|k| {
                    (
                        edge(k),
                        edge(k + 1),
                        outages.counts.get(&k).copied().unwrap_or(0),
                    )
                })
                .collect();
        }
        Outages {
            title,
            s,
            bins,
            total: outages.total,
        }
    }
}

impl Figure for Outages<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = style::titled(root, &self.title)?;
        let (head, plot) = body.split_vertically(30);
        let s = self.s;
        let quantiles = [
            ("p50", s.outage_p50_s, style::PALETTE[4]),
            ("p90", s.outage_p90_s, style::PALETTE[1]),
            ("p99", s.outage_p99_s, style::PALETTE[2]),
        ];
        let mut items = vec![(
            Swatch::Area(style::PALETTE[0], 0.8),
            format!("outages ({} over {} runs)", self.total, s.runs),
        )];
        for (name, v, c) in quantiles {
            if v > 0.0 && v.is_finite() {
                items.push((Swatch::Marker(c), format!("{name} {}", style::duration(v))));
            }
        }
        style::legend_row(&head, (90, 12), &items)?;
        let x = style::log_range(
            self.bins
                .iter()
                .flat_map(|b| [b.0, b.1])
                .chain(quantiles.iter().map(|q| q.1)),
            1.0..1000.0,
        );
        let y_top = self.bins.iter().map(|b| b.2).max().unwrap_or(0).max(1) as f64 * 1.1;
        let (bold, light) = style::duration_ticks(&x);
        let mut chart = ChartBuilder::on(&plot)
            .margin_right(24)
            .margin_top(8)
            .x_label_area_size(52)
            .y_label_area_size(84)
            .build_cartesian_2d(
                x.clone()
                    .log_scale()
                    .with_key_points(bold)
                    .with_light_points(light),
                0.0..y_top,
            )?;
        let xf = |v: &f64| style::duration(*v);
        let yf = |v: &f64| style::num(*v);
        chart
            .configure_mesh()
            .x_labels(30)
            .y_labels(8)
            .max_light_lines(4)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .x_desc(format!(
                "outage duration (log scale, {} bins per decade)",
                BINS_PER_DECADE
            ))
            .y_desc(format!("outages (pooled over {} runs)", s.runs))
            .label_style(style::font(style::TICK))
            .axis_desc_style(style::font(style::DESC))
            .light_line_style(style::GRID.mix(0.3))
            .bold_line_style(style::GRID)
            .draw()?;
        chart.draw_series(self.bins.iter().filter(|b| b.2 > 0).map(|&(a, b, n)| {
            Rectangle::new(
                [(a, 0.0), (b, n as f64)],
                style::PALETTE[0].mix(0.8).filled(),
            )
        }))?;
        chart.draw_series(
            self.bins
                .iter()
                .filter(|b| b.2 > 0)
                .map(|&(a, b, n)| Rectangle::new([(a, 0.0), (b, n as f64)], WHITE.stroke_width(1))),
        )?;
        for (_, v, c) in quantiles {
            if v > 0.0 && v.is_finite() {
                chart.draw_series(DashedLineSeries::new(
                    [
                        (v.clamp(x.start, x.end), 0.0),
                        (v.clamp(x.start, x.end), y_top),
                    ],
                    8,
                    5,
                    c.stroke_width(2),
                ))?;
            }
        }
        if self.total == 0 {
            style::note(
                &chart.plotting_area().strip_coord_spec(),
                &format!("no outage in {} runs", s.runs),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;
    use crate::experiment::montecarlo::ComponentSummary;
    use crate::model::availability::Spof;
    use crate::stats::MeanCi;

    fn ci(mean: f64, half_width: f64) -> MeanCi {
        MeanCi {
            mean,
            half_width,
            n: 100,
        }
    }

    fn summary(components: &[(&str, f64, f64)]) -> McSummary {
        McSummary {
            runs: 100,
            horizon_s: 365.0 * 86_400.0,
            availability: ci(0.9995, 0.0001),
            slo_latency_s: Some(1.0),
            slo_availability: ci(0.9990, 0.0002),
            overload_minutes_per_year: ci(40.0, 5.0),
            time_availability: ci(0.9995, 0.0001),
            downtime_minutes_per_year: ci(262.0, 20.0),
            outages_per_year: ci(4.2, 0.3),
            failed_requests_per_year: ci(1e5, 1e4),
            outage_p50_s: 600.0,
            outage_p90_s: 3600.0,
            outage_p99_s: 14_400.0,
            outage_max_s: 30_000.0,
            components: components
                .iter()
                .map(|&(name, share, gain)| ComponentSummary {
                    component: name.into(),
                    downtime_share: share,
                    improvement: ci(gain, gain * 0.2),
                    slo_improvement: ci(gain * 3.0, gain * 0.5),
                })
                .collect(),
            structural_spofs: vec![Spof {
                component: "lb-1".into(),
                effect: "everything".into(),
            }],
            degraded_states: Vec::new(),
        }
    }

    #[test]
    fn components_and_outages() {
        let dir = testutil::temp_dir("availability");
        let s = summary(&[
            ("lb-1", 0.7, 3e-4),
            ("db-primary", 0.25, 1e-4),
            ("web-01", 0.05, 2e-6),
            ("web-02", 0.0, 0.0),
        ]);
        let outages: Vec<f64> = (1..200).map(|i| 30.0 * 1.05f64.powi(i)).collect();
        let files = availability(&dir, &s, &OutageBins::of(&outages)).unwrap();
        assert_eq!(files.len(), 2);
        testutil::check(
            &dir,
            &files[0],
            &[
                "lb-1 (SPOF)",
                "db-primary",
                "web-01",
                "web-02",
                "none measured",
            ],
        );
        testutil::check(&dir, &files[1], &["p50", "p99", "199 over 100 runs"]);
        testutil::done(&dir);
    }

    #[test]
    fn no_outage_no_component() {
        let dir = testutil::temp_dir("availability-empty");
        let mut s = summary(&[]);
        s.outage_p50_s = 0.0;
        s.outage_p90_s = 0.0;
        s.outage_p99_s = 0.0;
        s.availability = ci(1.0, 0.0);
        let files = availability(&dir, &s, &OutageBins::default()).unwrap();
        testutil::check(&dir, &files[0], &["no component fails"]);
        testutil::check(&dir, &files[1], &["no outage in 100 runs"]);
        // One outage, zero-length ones, NaN.
        let files = availability(
            &dir,
            &summary(&[("web-01", 1.0, f64::NAN)]),
            &OutageBins::of(&[0.0, 42.0, f64::NAN]),
        )
        .unwrap();
        testutil::check(&dir, &files[1], &["1 over 100 runs"]);
        testutil::done(&dir);
    }
}
