//! The PNG backend: plotters' bitmap backend with text laid out the way the SVG shows it.
//!
//! plotters 0.3.7 rasterises text glyph by glyph (`src/style/font/ab_glyph.rs`, `draw`): each
//! glyph's top is put at `(size / 2 + px_bounds.min.y) as i32`, truncated separately, and its
//! left edge at the pen position without the glyph's side bearing. Glyphs whose ink sits low
//! (".", ",", "_") or starts right of the pen then land off the baseline and out of place:
//! "99.961 %" came out as "99·961 %" at the 15-17 px of tick labels and legends. This backend
//! draws every other primitive through [`BitMapBackend`] and replaces `draw_text`: all glyphs
//! of a string are positioned by ab_glyph (advance, kerning, side bearing, sub-pixel x) on one
//! integer baseline, and the string is anchored and rotated as the SVG backend does it
//! (plotters-svg 0.3.7 `svg.rs`, `draw_text`): font size `size / 1.24`, baseline at `0.76em`
//! below a top anchor, `0.5ex` below a centre anchor and `0.5ex` above a bottom one, rotation
//! about the anchor point. So a chart's PNG and SVG agree.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use std::sync::OnceLock;

/// An RGB buffer drawn by plotters, text by [`draw_text`](PngBackend::draw_text).
pub struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> PngBackend<'a> {
    /// A backend drawing into `buf` (RGB, `w * h * 3` bytes).
    pub fn with_buffer(buf: &'a mut [u8], size: (u32, u32)) -> Self {
        PngBackend {
            inner: BitMapBackend::with_buffer(buf, size),
        }
    }
}

/// The chart font (every family the charts ask for is this one, `style::register_fonts`).
fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(super::style::DEJAVU_SANS)
            .expect("the embedded DejaVu Sans parses (checked by style::register_fonts)")
    })
}

/// One string laid out on a baseline at y = 0, starting at x = 0: each covered pixel with its
/// coverage, and the advance width.
fn layout(text: &str, size: f64) -> (Vec<(i32, i32, f32)>, f32) {
    let f = font();
    // The SVG shows `font-size: size / 1.24` (an em); ab_glyph's scale is the font's height
    // (ascent - descent) in pixels.
    let em = (size / 1.24) as f32;
    let units = f.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(em * f.height_unscaled() / units);
    let sf = f.as_scaled(scale);
    let mut pen = 0f32;
    let mut prev = None;
    let mut px = vec![];
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        prev = Some(id);
        let glyph = id.with_scale_and_position(scale, point(pen, 0.0));
        if let Some(outline) = f.outline_glyph(glyph) {
            let b = outline.px_bounds();
            let (x0, y0) = (b.min.x as i32, b.min.y as i32);
            outline.draw(|x, y, cov| {
                if cov > 0.0 {
                    px.push((x0 + x as i32, y0 + y as i32, cov.min(1.0)));
                }
            });
        }
        pen += sf.h_advance(id);
    }
    (px, pen)
}

/// The baseline's offset from the anchor for a vertical anchor, as the SVG backend sets `dy`.
fn baseline_dy(v: VPos, size: f64) -> f32 {
    let em = (size / 1.24) as f32;
    // CSS `ex` is the font's x-height (DejaVu Sans: 1120 of 2048 units, its OS/2 sxHeight).
    let ex = {
        let f = font();
        let units = f.units_per_em().unwrap_or(2048.0);
        // The outline's bounds are in font units; 'x' sits on the baseline, so its height is
        // the x-height whichever way the y axis points.
        f.outline(f.glyph_id('x')).map_or(0.5 * em, |o| {
            (o.bounds.max.y - o.bounds.min.y).abs() / units * em
        })
    };
    match v {
        VPos::Top => 0.76 * em,
        VPos::Center => 0.5 * ex,
        VPos::Bottom => -0.5 * ex,
    }
}

impl DrawingBackend for PngBackend<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let size = style.size();
        let (pixels, width) = layout(text, size);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let (dx, dy) = (
            dx.round() as i32,
            baseline_dy(anchor.v_pos, size).round() as i32,
        );
        let trans = style.transform();
        for (x, y, cov) in pixels {
            let (x, y) = trans.transform(x + dx, y + dy);
            self.inner.draw_pixel(
                (pos.0 + x, pos.1 + y),
                BackendColor {
                    alpha: color.alpha * cov as f64,
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::style;
    use plotters::style::FontTransform;
    use plotters::style::text_anchor::Pos;

    const W: u32 = 200;
    const H: u32 = 60;

    /// Draws `text` at 16 px with `draw` and returns, per run of inked columns (one glyph
    /// each, in the strings tested), its lowest inked row.
    fn glyph_bottoms(draw: impl Fn(&mut [u8])) -> Vec<i32> {
        let mut rgb = vec![255u8; (W * H * 3) as usize];
        draw(&mut rgb);
        let ink = |x: u32, y: u32| rgb[((y * W + x) * 3) as usize] < 160;
        let mut bottoms = vec![];
        let mut in_glyph = false;
        for x in 0..W {
            let rows: Vec<u32> = (0..H).filter(|&y| ink(x, y)).collect();
            match (rows.last(), in_glyph) {
                (Some(&b), false) => {
                    bottoms.push(b as i32);
                    in_glyph = true;
                }
                (Some(&b), true) => {
                    let last = bottoms.last_mut().unwrap();
                    *last = (*last).max(b as i32);
                }
                (None, _) => in_glyph = false,
            }
        }
        bottoms
    }

    fn text_style() -> TextStyle<'static> {
        style::register_fonts().unwrap();
        style::font(16)
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center))
    }

    #[test]
    fn periods_sit_on_the_baseline() {
        // "9.9 1": digit, period, digit, space, digit: five glyphs, four with ink.
        let bottoms = glyph_bottoms(|buf| {
            let root = PngBackend::with_buffer(buf, (W, H)).into_drawing_area();
            root.draw_text("9.9 1", &text_style(), (10, 30)).unwrap();
            root.present().unwrap();
        });
        assert_eq!(bottoms.len(), 4, "{bottoms:?}");
        for b in &bottoms {
            assert!(
                (b - bottoms[0]).abs() <= 1,
                "not on one baseline: {bottoms:?}"
            );
        }
    }

    /// The lowest inked row of `text` drawn alone at (10, 30), `size` px.
    fn bottom_of(text: &str, size: u32) -> i32 {
        let b = glyph_bottoms(|buf| {
            let root = PngBackend::with_buffer(buf, (W, H)).into_drawing_area();
            let st = style::font(size)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw_text(text, &st, (10, 10)).unwrap();
            root.present().unwrap();
        });
        b.into_iter().max().unwrap()
    }

    #[test]
    fn small_glyphs_sit_on_the_baseline_at_every_size() {
        // plotters' own bitmap text misplaced '.', ',' and '_' at 15-17 px ("99·961 %").
        style::register_fonts().unwrap();
        for size in 12..=26 {
            let digit = bottom_of("9", size);
            for low in [".", ",", "1"] {
                let b = bottom_of(low, size);
                // ',' descends below the baseline; '.' and '1' end on it.
                let ok = if low == "," {
                    b >= digit
                } else {
                    (b - digit).abs() <= 1
                };
                assert!(ok, "{size} px: '{low}' ends at row {b}, '9' at {digit}");
            }
        }
    }

    #[test]
    fn anchors_and_rotation_follow_the_svg() {
        // Centre-anchored text has its x-height's middle on the anchor (SVG's `dy="0.5ex"`)
        // and its advance centred on it; rotated text runs down from its anchor.
        let mut rgb = vec![255u8; (W * H * 3) as usize];
        {
            let root = PngBackend::with_buffer(&mut rgb, (W, H)).into_drawing_area();
            let s = text_style().pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text("x", &s, (40, 30)).unwrap();
            let r = text_style().transform(FontTransform::Rotate90);
            root.draw_text("00000", &r, (150, 2)).unwrap();
            root.present().unwrap();
        }
        let ink = |x: u32, y: u32| rgb[((y * W + x) * 3) as usize] < 160;
        let rows: Vec<u32> = (0..H).filter(|&y| (0..100).any(|x| ink(x, y))).collect();
        let cols: Vec<u32> = (0..100).filter(|&x| (0..H).any(|y| ink(x, y))).collect();
        let (top, bottom) = (rows[0] as i32, *rows.last().unwrap() as i32);
        assert!((top + bottom - 60).abs() <= 2, "rows {top}..{bottom}");
        let (left, right) = (cols[0] as i32, *cols.last().unwrap() as i32);
        assert!((left + right - 80).abs() <= 2, "cols {left}..{right}");
        // Rotated 90° clockwise about (150, 2): the five digits run down, one glyph wide.
        let rows: Vec<u32> = (0..H).filter(|&y| (100..W).any(|x| ink(x, y))).collect();
        let cols: Vec<u32> = (100..W).filter(|&x| (0..H).any(|y| ink(x, y))).collect();
        assert!(rows.len() > 30 && rows[0] <= 4, "rows {rows:?}");
        assert!(cols.len() < 16 && cols.contains(&150), "cols {cols:?}");
    }
}
