//! Vertical bar charts with 95% whiskers, bars grouped side by side within each category
//! (algorithms x servers, algorithms x variants, design steps): shared by the algorithm and
//! ladder charts.

use super::style::{
    CAPTION, Categories, DESC, DrawResult, GRID, Swatch, TEXT, TICK, bold, font, legend_row,
};
use plotters::prelude::*;
use std::ops::Range;

/// One bar: its height, the ends of its whisker (a 95% interval; equal to `value` for none)
/// and the text above it.
#[derive(Clone, Debug)]
pub struct Bar {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub label: String,
}

/// What a bar chart shows: `values[category][group]`, one colour per group.
pub struct Bars<'a> {
    pub caption: &'a str,
    pub categories: Vec<String>,
    pub groups: Vec<(String, RGBColor)>,
    pub values: Vec<Vec<Option<Bar>>>,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// The y axis; from 0 to the highest whisker plus headroom when None.
    pub y_range: Option<Range<f64>>,
    pub y_fmt: &'a dyn Fn(f64) -> String,
    /// Width of the y tick labels' area, pixels.
    pub y_label_width: u32,
    /// Show the groups' legend (pointless with one group named like the chart).
    pub legend: bool,
}

/// Vertical bars, grouped side by side within each category, with 95% whiskers and values.
pub fn grouped_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    b: &Bars<'_>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let all = || b.values.iter().flatten().flatten();
    let y = b.y_range.clone().unwrap_or_else(|| {
        let top = all()
            .map(|v| v.high.max(v.value))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let top = if top > 0.0 { top * 1.15 } else { 1.0 };
        0.0..top
    });
    // Caption, then the groups' legend on one line, then the bars: a legend inside the plot
    // would hide bars or their values.
    let head_h = if b.legend { 62 } else { 34 };
    let (head, plot) = area.split_vertically(head_h);
    let (w, _) = head.dim_in_pixel();
    head.draw_text(
        b.caption,
        &bold(CAPTION).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        )),
        (w as i32 / 2, 8),
    )?;
    if b.legend {
        let items: Vec<(Swatch, String)> = b
            .groups
            .iter()
            .map(|(name, c)| (Swatch::Area(*c, 1.0), name.clone()))
            .collect();
        legend_row(&head, (b.y_label_width as i32, 46), &items)?;
    }
    let area = &plot;
    let cats = Categories::new(b.categories.clone());
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(16)
        .x_label_area_size(56)
        .y_label_area_size(b.y_label_width)
        .build_cartesian_2d(cats, y.clone())?;
    let yf = |v: &f64| (b.y_fmt)(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(b.categories.len().max(1))
        .y_labels(8)
        .max_light_lines(1)
        .y_label_formatter(&yf)
        .x_desc(b.x_desc)
        .y_desc(b.y_desc)
        .label_style(font(TICK))
        .axis_desc_style(font(DESC))
        .light_line_style(GRID.mix(0.3))
        .bold_line_style(GRID)
        .draw()?;
    let n = b.groups.len().max(1) as f64;
    let width = 0.8 / n;
    let clamp = |v: f64| v.clamp(y.start, y.end);
    let show_values = b.categories.len() * b.groups.len() <= 48;
    for (g, (_, color)) in b.groups.iter().enumerate() {
        let mut shapes: Vec<Rectangle<(f64, f64)>> = vec![];
        let mut whiskers: Vec<PathElement<(f64, f64)>> = vec![];
        for (c, row) in b.values.iter().enumerate() {
            let Some(Some(v)) = row.get(g) else { continue };
            if !v.value.is_finite() {
                continue;
            }
            let x0 = c as f64 + 0.1 + g as f64 * width;
            let x1 = x0 + width * 0.92;
            let mid = (x0 + x1) / 2.0;
            shapes.push(Rectangle::new(
                [(x0, clamp(y.start.max(0.0))), (x1, clamp(v.value))],
                color.filled(),
            ));
            if v.low.is_finite() && v.high.is_finite() && v.high > v.low {
                let (lo, hi) = (clamp(v.low), clamp(v.high));
                let cap = width * 0.2;
                let style = TEXT.stroke_width(1);
                whiskers.push(PathElement::new(vec![(mid, lo), (mid, hi)], style));
                whiskers.push(PathElement::new(
                    vec![(mid - cap, lo), (mid + cap, lo)],
                    style,
                ));
                whiskers.push(PathElement::new(
                    vec![(mid - cap, hi), (mid + cap, hi)],
                    style,
                ));
            }
        }
        chart.draw_series(shapes)?;
        chart.draw_series(whiskers)?;
    }
    if show_values {
        let base = area.get_base_pixel();
        let style = font(TICK - 2).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ));
        for (c, row) in b.values.iter().enumerate() {
            for (g, v) in row.iter().enumerate() {
                let Some(v) = v else { continue };
                if v.label.is_empty() || !v.value.is_finite() {
                    continue;
                }
                let top = if v.high.is_finite() {
                    v.high.max(v.value)
                } else {
                    v.value
                };
                let mid = c as f64 + 0.1 + (g as f64 + 0.46) * width;
                let p = chart.backend_coord(&(mid, clamp(top)));
                area.draw_text(&v.label, &style, (p.0 - base.0, p.1 - base.1 - 3))?;
            }
        }
    }
    Ok(())
}
