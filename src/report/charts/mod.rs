//! Charts of runs and studies, drawn with plotters: one file per chart kind, each function
//! writing `<stem>.svg` (for the HTML report: sharp at any size) and `<stem>.png` (for places
//! that only show pictures) into a folder, and returning what it wrote.
//!
//! Text is drawn with a font compiled into the binary (`style.rs`), so a chart renders the
//! same on a machine with no fonts installed. Every chart has a title, axes with units, a
//! legend, and a colour per name that is the same in every chart. Empty or degenerate input
//! (no faults, one point, no replicas, zero latency) gives a valid chart with a note, never a
//! panic.
//!
//! What this module does not do: choose which charts a command draws (`src/cli/`, one module per command) or lay
//! them out in a page (`report::html`).

pub mod algorithms;
pub mod availability;
pub mod bars;
pub mod ladder;
pub mod lag;
pub mod latency;
pub mod raster;
pub mod style;
pub mod timeline;

pub use algorithms::algorithm_comparison;
pub use availability::availability;
pub use ladder::ladder;
pub use lag::replication_lag;
pub use latency::latency_cdf;
pub use timeline::failure_timeline;

use crate::report::atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;
use style::DrawResult;

/// One chart written to disk: `<stem>.svg` and `<stem>.png` in the folder it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    pub stem: String,
    pub title: String,
}

/// A chart that draws itself on any plotters backend (SVG and bitmap get the same drawing).
trait Figure {
    /// Size in pixels (PNG) or user units (SVG).
    fn size(&self) -> (u32, u32);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

fn draw_error(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("drawing {what}: {e}"))
}

/// Renders `fig` to SVG and PNG in memory, then writes both files atomically.
fn write(dir: &Path, stem: &str, title: &str, fig: &impl Figure) -> io::Result<ChartFile> {
    style::register_fonts()?;
    let (w, h) = fig.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_error(stem, e))?;
        root.present().map_err(|e| draw_error(stem, e))?;
    }
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = raster::PngBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_error(stem, e))?;
        root.present().map_err(|e| draw_error(stem, e))?;
    }
    let png = encode_png(&rgb, w, h)?;
    std::fs::create_dir_all(dir)?;
    atomic::write_file(&dir.join(format!("{stem}.svg")), svg.as_bytes())?;
    atomic::write_file(&dir.join(format!("{stem}.png")), &png)?;
    Ok(ChartFile {
        stem: stem.to_string(),
        title: title.to_string(),
    })
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> io::Result<Vec<u8>> {
    let mut out = vec![];
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    // Flat-colour charts compress well even at the fast level; "Balanced" costs ~5x the time.
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(io::Error::other)?;
    writer.write_image_data(rgb).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(out)
}

/// A file-name-safe form of a label: "servers[1].speed=0.5" -> "servers-1-speed-0.5".
pub fn slug(label: &str) -> String {
    let chars: Vec<char> = label.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        // A dot stays only inside a number ("0.5").
        let decimal_point = c == '.'
            && out.ends_with(|p: char| p.is_ascii_digit())
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c.is_ascii_alphanumeric() || c == '_' || decimal_point {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "all".into() } else { out }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Checks shared by the chart tests: files exist, the SVG is well-formed XML whose text
    //! holds the expected names, the PNG has the PNG signature.

    use super::ChartFile;
    use std::path::{Path, PathBuf};

    /// A fresh, empty folder under the system temp dir (under `$INFRASIM_KEEP_CHARTS`
    /// instead when set, to look at the charts).
    pub fn temp_dir(tag: &str) -> PathBuf {
        let d = match std::env::var_os("INFRASIM_KEEP_CHARTS") {
            Some(keep) => PathBuf::from(keep).join(tag),
            None => {
                std::env::temp_dir().join(format!("infrasim-charts-{tag}-{}", std::process::id()))
            }
        };
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Removes a folder made by [`temp_dir`], unless the charts are being kept.
    pub fn done(dir: &Path) {
        if std::env::var_os("INFRASIM_KEEP_CHARTS").is_none() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Every text node of the SVG (trimmed), after checking it parses as an `<svg>` document.
    pub fn svg_texts(path: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.trim_start().starts_with("<svg"), "{}", path.display());
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "text")
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// Checks both files of `chart` and that each of `names` is one of its texts (or part of one).
    pub fn check(dir: &Path, chart: &ChartFile, names: &[&str]) {
        let png = std::fs::read(dir.join(format!("{}.png", chart.stem))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}.png", chart.stem);
        let texts = svg_texts(&dir.join(format!("{}.svg", chart.stem)));
        assert!(
            texts.iter().any(|t| t == &chart.title),
            "title of {}",
            chart.stem
        );
        for name in names {
            assert!(
                texts.iter().any(|t| t.contains(name)),
                "{}.svg lacks '{name}'; texts: {texts:?}",
                chart.stem
            );
        }
    }

    /// The CPU time the calling thread has used. The tests that bound how long a chart takes
    /// measure this, not the wall time: the tests of this binary run side by side on a CI
    /// machine that other builds keep busy, so a chart's wall time measures them as well. The
    /// chart code runs on the calling thread alone, so its CPU time is the work it did.
    pub fn thread_cpu() -> std::time::Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a live, writable timespec; the clock id is a constant Linux knows.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        assert_eq!(r, 0, "clock_gettime: {}", std::io::Error::last_os_error());
        std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    /// A real run of a scenario with a failover (shared by the tests; ~0.1 s in release).
    pub fn primary_down() -> &'static crate::model::RunResults {
        static RUN: std::sync::OnceLock<crate::model::RunResults> = std::sync::OnceLock::new();
        RUN.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/primary_down.toml");
            let sc = crate::scenario::load(&path, &[]).unwrap();
            crate::model::Stack::run(&sc.config, 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("servers[1].speed=0.5"), "servers-1-speed-0.5");
        assert_eq!(slug(""), "all");
        assert_eq!(slug("a b/c"), "a-b-c");
    }
}
