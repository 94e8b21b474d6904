//! What every chart shares: the embedded font, the colour of each name, text sizes, axis
//! ranges that survive degenerate data, tick formatting with units, and a category axis.
//!
//! Colours are a function of the name alone, so "leastconn" or "web-02" is drawn in the same
//! colour in every chart of every report. Known algorithm names have fixed slots; any other
//! name is hashed, with a trailing number added to the hash so that `web-01`, `web-02`, ...
//! get consecutive (hence distinct) colours.

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::io;
use std::ops::Range;
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE`): compiled in so that text
/// renders on machines with no font installed, and identically everywhere.
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The family every chart asks for (plotters' own default family too, for tick labels).
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font under the family names plotters may ask for. Idempotent.
pub fn register_fonts() -> io::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            [FontStyle::Normal, FontStyle::Bold]
                .into_iter()
                .all(|style| register_font(family, style, DEJAVU_SANS).is_ok())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(
            "the embedded chart font could not be loaded",
        ))
    }
}

/// Text sizes in pixels (plotters' size; SVG shows them at size / 1.24 user units).
pub const TITLE: u32 = 26;
pub const CAPTION: u32 = 20;
pub const DESC: u32 = 17;
pub const TICK: u32 = 15;
pub const LEGEND: u32 = 15;
pub const NOTE: u32 = 17;

pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&TEXT)
}

pub fn bold(size: u32) -> TextStyle<'static> {
    (FAMILY, size, FontStyle::Bold).into_font().color(&TEXT)
}

pub const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
pub const FAULT: RGBColor = RGBColor(0xd6, 0x27, 0x28);
pub const DETECTION: RGBColor = RGBColor(0xe8, 0x7d, 0x0e);
pub const RECOVERY: RGBColor = RGBColor(0x2c, 0x8c, 0x2c);
pub const NEUTRAL: RGBColor = RGBColor(0x70, 0x70, 0x70);

/// Ten colours that stay apart on white and for common colour-vision deficiencies (Tableau
/// 10, with the light teal, yellow and pink darkened so thin lines stay visible).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7), // 0 blue
    RGBColor(0xf2, 0x8e, 0x2b), // 1 orange
    RGBColor(0xe1, 0x57, 0x59), // 2 red
    RGBColor(0x49, 0x98, 0x94), // 3 teal
    RGBColor(0x59, 0xa1, 0x4f), // 4 green
    RGBColor(0xb6, 0x99, 0x2d), // 5 olive
    RGBColor(0xb0, 0x7a, 0xa1), // 6 purple
    RGBColor(0xd3, 0x72, 0x95), // 7 pink
    RGBColor(0x9c, 0x75, 0x5f), // 8 brown
    RGBColor(0x79, 0x70, 0x6e), // 9 grey
];

/// The load-balancing algorithms' colours: Okabe & Ito's "Color Universal Design" palette
/// (2008, jfly.uni-koeln.de/color), chosen to stay apart for every common colour-vision
/// deficiency; its yellow is darkened so that a thin line shows on white. Each algorithm also
/// has its own marker and line pattern ([`algorithm_style`]), so the series stay apart in
/// grayscale too.
pub const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xb2), // 0 blue
    RGBColor(0xd5, 0x5e, 0x00), // 1 vermillion
    RGBColor(0x56, 0xb4, 0xe9), // 2 sky blue
    RGBColor(0x00, 0x9e, 0x73), // 3 bluish green
    RGBColor(0xcc, 0x79, 0xa7), // 4 reddish purple
    RGBColor(0xe6, 0x9f, 0x00), // 5 orange
    RGBColor(0x00, 0x00, 0x00), // 6 black
    RGBColor(0x9a, 0x8a, 0x00), // 7 yellow, darkened
];

/// A marker shape drawn at each point of a series and in its legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    TriangleUp,
    TriangleDown,
    Diamond,
    Cross,
    Plus,
    HollowCircle,
}

/// How one series is drawn: its colour, marker and whether its line is dashed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesStyle {
    pub color: RGBColor,
    pub marker: Marker,
    pub dashed: bool,
}

const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleDown,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::Cross,
    Marker::Plus,
    Marker::HollowCircle,
];

/// The fixed slot of a load-balancing algorithm (the names `lb.algorithm` takes).
fn algorithm_slot(name: &str) -> Option<usize> {
    Some(match name {
        "roundrobin" => 0,
        "leastconn" => 1,
        "random" | "random(1)" => 2,
        "random(2)" => 3,
        "source" => 4,
        "static-rr" => 5,
        "first" => 6,
        "source-consistent" => 7,
        _ => return None,
    })
}

/// Whether `name` is a load-balancing algorithm with its own style.
pub fn is_algorithm(name: &str) -> bool {
    algorithm_slot(name).is_some()
}

/// The style of algorithm `name` (or of any other series name, by hash), the same in every
/// chart: the latency curves, the failure panels, the bars, the CDFs.
pub fn algorithm_style(name: &str) -> SeriesStyle {
    let k = algorithm_slot(name).unwrap_or_else(|| (fnv1a(name) % 8) as usize);
    SeriesStyle {
        color: OKABE_ITO[k],
        marker: MARKERS[k],
        // Alternate solid and dashed so that neighbours in the list differ in pattern too.
        dashed: k % 2 == 1,
    }
}

/// [`algorithm_style`] for the series of one chart: a name that is not an algorithm takes the
/// first slot no earlier series took, so one chart never shows two series alike (up to 8).
pub fn algorithm_styles<S: AsRef<str>>(names: &[S]) -> Vec<SeriesStyle> {
    let mut used = [false; 8];
    for n in names {
        if let Some(k) = algorithm_slot(n.as_ref()) {
            used[k] = true;
        }
    }
    names
        .iter()
        .map(|n| {
            let n = n.as_ref();
            if is_algorithm(n) {
                return algorithm_style(n);
            }
            let own = (fnv1a(n) % 8) as usize;
            let k = (0..8)
                .map(|d| (own + d) % 8)
                .find(|k| !used[*k])
                .unwrap_or(own);
            used[k] = true;
            SeriesStyle {
                color: OKABE_ITO[k],
                marker: MARKERS[k],
                dashed: k % 2 == 1,
            }
        })
        .collect()
}

/// Draws `marker` centred on `(x, y)` (pixels of `area`), about `r` pixels in radius.
pub fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    marker: Marker,
    (x, y): (i32, i32),
    r: i32,
    color: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let fill = color.filled();
    let line = color.stroke_width(2);
    match marker {
        Marker::Circle => area.draw(&Circle::new((x, y), r, fill))?,
        Marker::HollowCircle => {
            area.draw(&Circle::new((x, y), r, WHITE.filled()))?;
            area.draw(&Circle::new((x, y), r, line))?;
        }
        Marker::Square => {
            let h = r * 85 / 100;
            area.draw(&Rectangle::new([(x - h, y - h), (x + h, y + h)], fill))?
        }
        Marker::TriangleUp => area.draw(&Polygon::new(
            vec![(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)],
            fill,
        ))?,
        Marker::TriangleDown => area.draw(&Polygon::new(
            vec![(x, y + r + 1), (x + r + 1, y - r), (x - r - 1, y - r)],
            fill,
        ))?,
        Marker::Diamond => area.draw(&Polygon::new(
            vec![
                (x, y - r - 1),
                (x + r + 1, y),
                (x, y + r + 1),
                (x - r - 1, y),
            ],
            fill,
        ))?,
        Marker::Cross => {
            area.draw(&PathElement::new(
                vec![(x - r, y - r), (x + r, y + r)],
                line,
            ))?;
            area.draw(&PathElement::new(
                vec![(x - r, y + r), (x + r, y - r)],
                line,
            ))?;
        }
        Marker::Plus => {
            area.draw(&PathElement::new(
                vec![(x - r - 1, y), (x + r + 1, y)],
                line,
            ))?;
            area.draw(&PathElement::new(
                vec![(x, y - r - 1), (x, y + r + 1)],
                line,
            ))?;
        }
    }
    Ok(())
}

/// A series' line from `points` (pixels of `area`), solid or dashed, with its markers.
pub fn draw_styled_path<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    s: SeriesStyle,
    points: &[(i32, i32)],
    width: u32,
    markers: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    if points.len() >= 2 {
        if s.dashed {
            area.draw(&plotters::element::DashedPathElement::new(
                points.iter().copied(),
                7,
                5,
                s.color.stroke_width(width),
            ))?;
        } else {
            area.draw(&PathElement::new(
                points.to_vec(),
                s.color.stroke_width(width),
            ))?;
        }
    }
    if markers {
        for &p in points {
            draw_marker(area, s.marker, p, 4, s.color)?;
        }
    }
    Ok(())
}

/// Fixed slots: the LB algorithms (compared side by side most often) and the timeline's
/// series names.
fn fixed_slot(name: &str) -> Option<usize> {
    Some(match name {
        "roundrobin" => 0,
        "leastconn" => 1,
        "static-rr" => 3,
        "random(2)" => 4,
        "source" => 6,
        "source-consistent" => 7,
        "first" => 8,
        "random" | "random(1)" => 9,
        "completed/s" | "throughput" => 0,
        "failed" | "errors" | "all causes" => 2,
        "p50" => 3,
        "p99" => 6,
        "arrivals/s" => 9,
        _ => return None,
    })
}

/// FNV-1a 64: stable across runs, platforms and Rust versions (unlike `DefaultHasher`).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn hashed_slot(name: &str) -> usize {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let number: u64 = name[stem.len()..]
        .parse::<u64>()
        .map_or(0, |n| n % PALETTE.len() as u64);
    ((fnv1a(stem) % PALETTE.len() as u64 + number) % PALETTE.len() as u64) as usize
}

/// The colour of `name` on its own, the same in every chart.
pub fn color_for(name: &str) -> RGBColor {
    PALETTE[fixed_slot(name).unwrap_or_else(|| hashed_slot(name))]
}

/// The colours of the series of one chart: each name's own colour ([`color_for`]) unless an
/// earlier name of the same chart already took it, then the next free one. So a chart never
/// shows two series in one colour (up to ten), and the same set of names (the same servers,
/// replicas, algorithms) gets the same colours in every chart.
pub fn colors_for<S: AsRef<str>>(names: &[S]) -> Vec<RGBColor> {
    colors_reserving(names, &[])
}

/// [`colors_for`], keeping the palette slots `reserved` for something else in the chart.
pub fn colors_reserving<S: AsRef<str>>(names: &[S], reserved: &[usize]) -> Vec<RGBColor> {
    let n = PALETTE.len();
    let mut used = [false; PALETTE.len()];
    for &k in reserved.iter().filter(|&&k| k < n) {
        used[k] = true;
    }
    let mut slots: Vec<Option<usize>> = names.iter().map(|s| fixed_slot(s.as_ref())).collect();
    for k in slots.iter().flatten() {
        used[*k] = true;
    }
    for (i, name) in names.iter().enumerate() {
        if slots[i].is_some() {
            continue;
        }
        let own = hashed_slot(name.as_ref());
        let k = (0..n)
            .map(|d| (own + d) % n)
            .find(|k| !used[*k])
            .unwrap_or(own);
        used[k] = true;
        slots[i] = Some(k);
    }
    slots.into_iter().map(|k| PALETTE[k.unwrap_or(0)]).collect()
}

// ---- ranges ---------------------------------------------------------------------------------

/// A linear range covering the finite values, from zero when all are non-negative, with 8%
/// headroom; `0..1` when there is nothing finite. Never empty.
pub fn linear_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return 0.0..1.0;
    }
    let lo = lo.min(0.0);
    if hi <= lo {
        return lo..lo + 1.0;
    }
    lo..hi + (hi - lo) * 0.08
}

/// A log range over whole decades covering the positive finite values (`fallback` when
/// there are none), widened by 1% so both end decades get their label. Spans at least one
/// decade.
pub fn log_range(values: impl IntoIterator<Item = f64>, fallback: Range<f64>) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return fallback.start * 0.99..fallback.end * 1.01;
    }
    // Clamped exponents keep 10^b finite for absurd inputs.
    let a = lo.log10().floor().clamp(-300.0, 299.0);
    let mut b = hi.log10().ceil().clamp(-299.0, 300.0);
    if b <= a {
        b = a + 1.0;
    }
    // A hair beyond the decades, so that plotters labels both end decades.
    10f64.powf(a) * 0.99..10f64.powf(b) * 1.01
}

/// Whether `v` is worth a label on a log axis spanning `decades`: powers of ten always,
/// 2x and 5x too when the axis is short.
pub fn log_tick_shown(v: f64, decades: f64) -> bool {
    if !(v.is_finite() && v > 0.0) {
        return false;
    }
    let l = v.log10();
    let mantissa = 10f64.powf(l - l.floor());
    let near = |m: f64| (mantissa - m).abs() < 1e-6 * m || (mantissa - 10.0 * m).abs() < 1e-5;
    near(1.0) || (decades <= 2.0 && (near(2.0) || near(5.0)))
}

/// A log range fitted to the positive finite values (`fallback` when there are none): from
/// the 1-2-5 value at or below the lowest to the one at or above the highest, after a 10%
/// margin, so that both ends are labelled values and no half of the plot is empty.
pub fn fitted_log_range(values: impl IntoIterator<Item = f64>, fallback: Range<f64>) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return fallback;
    }
    let steps = |v: f64| {
        let d = 10f64.powf(v.log10().floor().clamp(-300.0, 300.0));
        [d, 2.0 * d, 5.0 * d, 10.0 * d]
    };
    let below = lo / 1.1;
    let start = steps(below)
        .into_iter()
        .rev()
        .find(|s| *s <= below * (1.0 + 1e-9))
        .unwrap_or(below);
    let above = hi * 1.1;
    let end = steps(above)
        .into_iter()
        .find(|s| *s >= above * (1.0 - 1e-9))
        .unwrap_or(above);
    // A hair beyond, so that plotters labels both ends.
    start * 0.999..end.max(start * 2.0) * 1.001
}

/// Whether `v` is labelled on a [`fitted_log_range`] axis spanning `span` decades: the 1-2-5
/// values, or only the powers of ten on a long axis.
pub fn fitted_log_tick(v: f64, span: f64) -> bool {
    if !(v.is_finite() && v > 0.0) {
        return false;
    }
    let l = v.log10();
    let m = 10f64.powf(l - l.floor());
    let near = |k: f64| (m - k).abs() < 1e-6 * k || (m - 10.0 * k).abs() < 1e-5;
    near(1.0) || (span <= 2.5 && (near(2.0) || near(5.0)))
}

/// Number of whole decades a log range spans.
pub fn decades(r: &Range<f64>) -> f64 {
    (r.end / r.start).log10().abs().round()
}

/// Ticks for a log axis of durations in seconds, at values people read easily (1 min, 1 h,
/// 1 d rather than 16.7 min or 2.78 h): (labelled ticks, grid-only ticks).
pub fn duration_ticks(r: &Range<f64>) -> (Vec<f64>, Vec<f64>) {
    const M: f64 = 60.0;
    const H: f64 = 3600.0;
    const D: f64 = 86_400.0;
    let sub_second = (-6..0).map(|k| 10f64.powi(k));
    let coarse: Vec<f64> = sub_second
        .clone()
        .chain([
            1.0,
            10.0,
            M,
            10.0 * M,
            H,
            6.0 * H,
            D,
            7.0 * D,
            30.0 * D,
            365.0 * D,
        ])
        .collect();
    let fine: Vec<f64> = sub_second
        .flat_map(|d| [d, 2.0 * d, 5.0 * d])
        .chain([
            1.0,
            2.0,
            5.0,
            10.0,
            20.0,
            30.0,
            M,
            2.0 * M,
            5.0 * M,
            10.0 * M,
            20.0 * M,
            30.0 * M,
        ])
        .chain([
            H,
            2.0 * H,
            3.0 * H,
            6.0 * H,
            12.0 * H,
            D,
            2.0 * D,
            7.0 * D,
            14.0 * D,
            30.0 * D,
        ])
        .chain([90.0 * D, 180.0 * D, 365.0 * D])
        .collect();
    let within = |v: &f64| *v >= r.start && *v <= r.end;
    let fine: Vec<f64> = fine.into_iter().filter(within).collect();
    let coarse: Vec<f64> = coarse.into_iter().filter(within).collect();
    if fine.len() <= 9 {
        (fine.clone(), fine)
    } else {
        (coarse, fine)
    }
}

/// An availability as a percentage with as many decimals as its nines need:
/// 0.99 -> "99%", 0.9995 -> "99.95%", 0.999_987 -> "99.9987%"; 1 -> "100%".
pub fn availability_pct(a: f64) -> String {
    if !a.is_finite() {
        return "-".into();
    }
    if a >= 1.0 {
        return "100%".into();
    }
    let nines = -(1.0 - a.max(0.0)).log10();
    let decimals = (nines.ceil() as usize).saturating_sub(1).clamp(1, 9);
    let s = format!("{:.decimals$}", a * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

// ---- numbers with units -----------------------------------------------------------------------

/// A number with up to 3 significant digits, without trailing zeros.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    let digits = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        (2.0 - a.log10().floor()).min(12.0) as usize
    };
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration in seconds with the unit that reads best: "250 µs", "12 ms", "3.5 s",
/// "4 min", "2.5 h", "3 d".
pub fn duration(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let a = s.abs();
    if a == 0.0 {
        "0".into()
    } else if a < 1e-3 {
        format!("{} µs", num(s * 1e6))
    } else if a < 1.0 {
        format!("{} ms", num(s * 1e3))
    } else if a < 120.0 {
        format!("{} s", num(s))
    } else if a < 7200.0 {
        format!("{} min", num(s / 60.0))
    } else if a < 172_800.0 {
        format!("{} h", num(s / 3600.0))
    } else {
        format!("{} d", num(s / 86_400.0))
    }
}

/// A fraction as a percentage with 3 significant digits: 0.00123 -> "0.123%".
pub fn percent(f: f64) -> String {
    format!("{}%", num(f * 100.0))
}

/// For a linear axis of durations up to `max_s` seconds: the factor to multiply by and the
/// unit's name ("µs", "ms", "s").
pub fn time_unit(max_s: f64) -> (f64, &'static str) {
    if max_s.is_finite() && max_s > 0.0 && max_s < 1e-3 {
        (1e6, "µs")
    } else if max_s.is_finite() && max_s < 1.0 {
        (1e3, "ms")
    } else {
        (1.0, "s")
    }
}

// ---- drawing helpers --------------------------------------------------------------------------

pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Writes a centred note (e.g. "no faults in this run") in `area`.
pub fn note<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let style = font(NOTE)
        .color(&NEUTRAL)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    area.draw_text(text, &style, (w as i32 / 2, h as i32 / 2))?;
    Ok(())
}

/// Draws the chart title at the top of `root` and returns the area below it.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
) -> Result<DrawingArea<DB, plotters::coord::Shift>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    // Long titles (scenario names, variants) shrink to fit rather than run off the edge.
    let (w, _) = root.dim_in_pixel();
    let mut size = TITLE;
    while size > 14 && root.estimate_text_size(title, &bold(size))?.0 + 24 > w {
        size -= 1;
    }
    // The top margin keeps the title whole in PNGs: the embedded-font renderer draws glyphs
    // about half an em above the anchor plotters asks for.
    Ok(root
        .margin(12, 0, 0, 0)
        .titled(title, bold(size))?
        .margin(4, 8, 8, 16))
}

/// A filled square for a legend entry.
pub fn legend_box(c: RGBAColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled())
}

/// A short line for a legend entry.
pub fn legend_line(c: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(width))
}

/// The last `n` characters of a long label, with an ellipsis, so axis labels fit.
pub fn shorten(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

/// A gap-aware line: `points` split wherever `y` is not finite (or not positive when
/// `positive` is set, for log axes), each piece drawn; single points drawn as dots. The legend
/// entry `name` is added once, even when there is nothing to draw.
pub fn draw_lines<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    name: &str,
    color: RGBColor,
    width: u32,
    points: &[(f64, f64)],
    positive: bool,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let ok = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!positive || y > 0.0);
    let mut pieces: Vec<Vec<(f64, f64)>> = vec![];
    let mut current: Vec<(f64, f64)> = vec![];
    for p in points {
        if ok(p) {
            current.push(*p);
        } else if !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    let style = color.stroke_width(width);
    for piece in &pieces {
        let dots = if piece.len() == 1 { width + 1 } else { 0 };
        chart.draw_series(LineSeries::new(piece.iter().copied(), style).point_size(dots))?;
    }
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label(name)
        .legend(legend_line(color, width.max(2)));
    Ok(())
}

/// The series legend, the same look in every chart.
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .margin(8)
        .background_style(WHITE.mix(0.85))
        .border_style(NEUTRAL.mix(0.5))
        .label_font(font(LEGEND))
        .draw()?;
    Ok(())
}

/// Width kept right of a plot for its legend ([`draw_legend_outside`]), pixels.
pub const LEGEND_COLUMN: u32 = 190;

/// A legend right of a chart's plot, in the [`LEGEND_COLUMN`] the chart keeps free there
/// (`margin_right`), one entry a line, so it never covers data. `area` is the area the chart
/// was built on.
pub fn legend_column<'a, DB, X, Y>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    chart: &ChartContext<'a, DB, Cartesian2d<X, Y>>,
    items: &[(Swatch, String)],
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged,
    Y: Ranged,
{
    let (x0, y0) = chart.plotting_area().get_base_pixel();
    let (w, _) = chart.plotting_area().dim_in_pixel();
    let base = area.get_base_pixel();
    let (x, y) = (x0 - base.0 + w as i32 + 10, y0 - base.1 + 10);
    for (i, item) in items.iter().enumerate() {
        legend_row(area, (x, y + 20 * i as i32), std::slice::from_ref(item))?;
    }
    Ok(())
}

/// How an entry of a [`legend_row`] is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Swatch {
    /// A filled square (shaded windows, bars), with its opacity.
    Area(RGBColor, f64),
    /// A vertical marker line.
    Marker(RGBColor),
    /// A horizontal line (series).
    Line(RGBColor),
    /// A series: its line pattern and marker.
    Series(SeriesStyle),
}

/// A one-line legend drawn left to right from `(x, y)` (the line's vertical centre) in `area`,
/// for things that are not series (shaded windows, event markers).
pub fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (x, y): (i32, i32),
    items: &[(Swatch, String)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = font(LEGEND).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Left,
        plotters::style::text_anchor::VPos::Center,
    ));
    let mut x = x;
    for (swatch, text) in items {
        match *swatch {
            Swatch::Area(c, alpha) => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + 16, y + 7)],
                    c.mix(alpha).filled(),
                ))?;
                area.draw(&Rectangle::new([(x, y - 7), (x + 16, y + 7)], c.mix(0.6)))?;
            }
            Swatch::Marker(c) => {
                area.draw(&PathElement::new(
                    vec![(x + 8, y - 8), (x + 8, y + 8)],
                    c.stroke_width(2),
                ))?;
            }
            Swatch::Line(c) => {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 16, y)],
                    c.stroke_width(3),
                ))?;
            }
            Swatch::Series(s) => {
                draw_styled_path(area, s, &[(x, y), (x + 30, y)], 2, false)?;
                draw_marker(area, s.marker, (x + 15, y), 5, s.color)?;
                x += 14;
            }
        }
        area.draw_text(text, &style, (x + 22, y))?;
        let (w, _) = area.estimate_text_size(text, &style)?;
        x += 22 + w as i32 + 18;
    }
    Ok(())
}

// ---- category axis ----------------------------------------------------------------------------

/// A category axis: category i spans [i, i + 1), its tick sits at i + 0.5 and is labelled with
/// its name. Values are plain `f64`, so grouped bars are drawn at fractional offsets.
#[derive(Clone, Debug)]
pub struct Categories {
    pub names: Vec<String>,
}

impl Categories {
    pub fn new(names: Vec<String>) -> Self {
        Categories { names }
    }

    fn len(&self) -> f64 {
        self.names.len().max(1) as f64
    }
}

impl Ranged for Categories {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let f = if v.is_finite() { v / self.len() } else { 0.0 };
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let n = self.names.len();
        let max = hint.max_num_points().max(1);
        let step = n.div_ceil(max).max(1);
        (0..n).step_by(step).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.len()
    }
}

impl ValueFormatter<f64> for Categories {
    fn format_ext(&self, v: &f64) -> String {
        let i = v.floor();
        if i >= 0.0 && (i as usize) < self.names.len() {
            self.names[i as usize].clone()
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_fixed_for_algorithms_and_distinct_for_numbered_names() {
        assert_eq!(color_for("roundrobin"), PALETTE[0]);
        assert_eq!(color_for("leastconn"), PALETTE[1]);
        assert_ne!(color_for("roundrobin"), color_for("leastconn"));
        assert_eq!(color_for("db-replica-7"), color_for("db-replica-7"));
        let servers: Vec<RGBColor> = (1..=5).map(|i| color_for(&format!("web-0{i}"))).collect();
        for i in 0..servers.len() {
            for j in i + 1..servers.len() {
                assert_ne!(servers[i], servers[j]);
            }
        }
    }

    #[test]
    fn colours_within_a_chart_are_distinct() {
        let names = [
            "all causes",
            "db_node_down_500",
            "no_primary_500",
            "lb_down",
            "app_down_502",
        ];
        let colours = colors_for(&names);
        for i in 0..colours.len() {
            for j in i + 1..colours.len() {
                assert_ne!(colours[i], colours[j], "{} and {}", names[i], names[j]);
            }
        }
        assert_eq!(colours[0], color_for("failed"));
        assert_eq!(colors_for(&["leastconn", "x"])[0], color_for("leastconn"));
    }

    #[test]
    fn ranges_survive_degenerate_data() {
        assert_eq!(linear_range([]), 0.0..1.0);
        assert_eq!(linear_range([f64::NAN]), 0.0..1.0);
        assert_eq!(linear_range([0.0, 0.0]), 0.0..1.0);
        assert_eq!(log_range([0.0], 1.0..10.0), 0.99..10.1);
        let r = log_range([0.001], 1.0..10.0);
        assert!(r.start < r.end && r.start > 0.0);
        let r = log_range([0.002, 0.5], 1.0..10.0);
        assert!((r.start - 0.99e-3).abs() < 1e-15 && (r.end - 1.01).abs() < 1e-12);
    }

    #[test]
    fn units() {
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(250e-6), "250 µs");
        assert_eq!(duration(3.0), "3 s");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(percent(0.00123), "0.123%");
        assert_eq!(availability_pct(0.99), "99%");
        assert_eq!(availability_pct(0.9995), "99.95%");
        assert_eq!(availability_pct(0.999_987), "99.9987%");
        assert_eq!(availability_pct(1.0), "100%");
        let (bold, light) = duration_ticks(&(5.0..200_000.0));
        assert_eq!(bold, [10.0, 60.0, 600.0, 3600.0, 21_600.0, 86_400.0]);
        assert!(light.len() > bold.len());
        assert!(log_tick_shown(0.001, 5.0));
        assert!(!log_tick_shown(0.002, 5.0));
        assert!(log_tick_shown(0.002, 1.0));
    }
}
