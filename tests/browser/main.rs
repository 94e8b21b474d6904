//! Every kind of report page opened in a real browser, as a reader would open it: Debian's
//! `chromium` (`apt-get install -y chromium`; `.ci/run` installs it when missing), headless,
//! driven over the DevTools protocol on a pipe (`cdp.rs`), at 1280 px wide.
//!
//! Each page (a single run, a parameter sweep, a Monte Carlo study, the SPOF study, the ladder)
//! must load with no console error, no uncaught exception and no failed load; every `<img>`
//! must have decoded (`naturalWidth > 0`); nothing may stick out to the right of a 1280 px
//! window (`scrollWidth <= 1280`); and the screenshot must show something (decoded, its
//! pixels are not all one colour). The structural checks (links, SVG contents) stay in
//! `tests/report.rs`.
//!
//! Set `INFRASIM_KEEP_SCREENS=DIR` to keep the screenshots (`DIR/<page>.png`).

mod cdp;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;
/// The whole browser session (start, five pages, close); it takes 3-6 s on an idle machine.
const BUDGET: Duration = Duration::from_secs(120);

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-browser-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn simulate(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--quiet")
        .output()
        .expect("simulate runs");
    assert!(
        out.status.success(),
        "simulate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ladder_files() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ladder");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

/// Builds each kind of page; returns (kind, folder).
fn pages(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let out = |k: &str| root.join(k);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let run = out("single_run");
    simulate(&["scenarios/primary_down.toml", "--out", &s(&run)]);
    let sweep = out("sweep");
    simulate(&["scenarios/compare_algorithms.toml", "--out", &s(&sweep)]);
    let mc = out("montecarlo");
    simulate(&[
        "scenarios/ladder/4_lb_pair.toml",
        "--montecarlo",
        "--runs",
        "40",
        "--out",
        &s(&mc),
    ]);
    let spof = out("spof_study");
    simulate(&[
        "scenarios/spof_study.toml",
        "--runs",
        "100",
        "--out",
        &s(&spof),
    ]);
    let ladder = out("ladder");
    let mut args = vec!["ladder".to_string(), "--runs".into(), "40".into()];
    args.extend(["--out".to_string(), s(&ladder)]);
    args.extend(ladder_files());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    simulate(&args);
    vec![
        ("single_run", run),
        ("sweep", sweep),
        ("montecarlo", mc),
        ("spof_study", spof),
        ("ladder", ladder),
    ]
}

/// What the page reports about itself once loaded.
const PROBE: &str = "(() => {
  const wide = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.right > window.innerWidth + 0.5 && wide.length < 5) {
      wide.push(e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
    }
  }
  return {
    images: Array.from(document.images).map(i => ({src: i.getAttribute('src'),
                                                  complete: i.complete, width: i.naturalWidth})),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wide: wide,
    title: document.title,
  };
})()";

/// Pixels of a decoded RGB(A) PNG: (width, height, the share of pixels that differ from the
/// most common colour, the standard deviation of the luminance).
fn pixel_stats(png_bytes: &[u8]) -> (u32, u32, f64, f64) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sized PNG")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "colour screenshot, got {:?}",
        info.color_type
    );
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let mut counts = std::collections::HashMap::new();
    for p in &px {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    let top = counts.values().copied().max().unwrap_or(0);
    let n = px.len().max(1) as f64;
    let lum: Vec<f64> = px
        .iter()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect();
    let mean = lum.iter().sum::<f64>() / n;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
    (info.width, info.height, 1.0 - top as f64 / n, var.sqrt())
}

#[test]
fn pixel_stats_tell_a_blank_image_from_a_drawn_one() {
    let encode = |rgb: &[u8], w: u32, h: u32| {
        let mut out = vec![];
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(rgb).unwrap();
        wr.finish().unwrap();
        out
    };
    let blank = vec![255u8; 10 * 10 * 3];
    let (_, _, other, sd) = pixel_stats(&encode(&blank, 10, 10));
    assert_eq!((other, sd), (0.0, 0.0));
    let mut drawn = blank.clone();
    drawn[..90].fill(0);
    let (_, _, other, sd) = pixel_stats(&encode(&drawn, 10, 10));
    assert!((other - 0.3).abs() < 1e-9 && sd > 100.0, "{other} {sd}");
}

#[test]
fn every_kind_of_page_renders_cleanly_in_chromium() {
    let root = tmp("pages");
    let pages = pages(&root);
    let keep = std::env::var_os("INFRASIM_KEEP_SCREENS").map(PathBuf::from);
    let mut b = cdp::Browser::start(WIDTH, HEIGHT, BUDGET).unwrap_or_else(|e| {
        panic!(
            "{e}: the browser test needs Debian's chromium (apt-get install -y chromium; .ci/run \
             installs it), or INFRASIM_CHROMIUM naming another Chromium"
        )
    });
    let mut problems = vec![];
    for (kind, dir) in &pages {
        let page = dir.join("index.html");
        assert!(page.is_file(), "{kind}: no index.html");
        let url = format!("file://{}", page.display());
        b.errors.clear();
        b.navigate(&url).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let p: Value = b.eval(PROBE).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let shot = b.screenshot().unwrap_or_else(|e| panic!("{kind}: {e}"));
        if let Some(k) = &keep {
            std::fs::create_dir_all(k).unwrap();
            std::fs::write(k.join(format!("{kind}.png")), &shot).unwrap();
        }
        for e in &b.errors {
            problems.push(format!("{kind}: {e}"));
        }
        let images = p["images"].as_array().cloned().unwrap_or_default();
        if images.is_empty() {
            problems.push(format!("{kind}: the page shows no image"));
        }
        for img in &images {
            if img["width"].as_u64().unwrap_or(0) == 0 || img["complete"] != true {
                problems.push(format!("{kind}: image {} did not load", img["src"]));
            }
        }
        let sw = p["scrollWidth"].as_u64().unwrap_or(u64::MAX);
        if sw > WIDTH as u64 {
            problems.push(format!(
                "{kind}: the page is {sw} px wide at {WIDTH} px (too wide: {})",
                p["wide"]
            ));
        }
        let (w, h, other, sd) = pixel_stats(&shot);
        assert_eq!((w, h), (WIDTH, HEIGHT), "{kind}: screenshot size");
        // A page of text and charts has well over 2% of its pixels off the background and a
        // luminance spread of several grey levels; a blank or failed page has neither.
        if other < 0.02 || sd < 8.0 {
            problems.push(format!(
                "{kind}: the screenshot looks blank ({:.2}% of pixels drawn, luminance sd {sd:.1})",
                other * 100.0
            ));
        }
        eprintln!(
            "{kind}: {} images, {sw} px wide, {:.1}% drawn, sd {sd:.1}, {} console errors",
            images.len(),
            other * 100.0,
            b.errors.len()
        );
    }
    drop(b);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_broken_page_is_caught() {
    // The checks above must be able to fail: a page with a missing image, a console error and
    // a 2000 px wide block trips each of them.
    let dir = tmp("broken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!DOCTYPE html><html><body><img src=\"missing.png\">\
         <div style=\"width:2000px\">wide</div>\
         <script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let mut b = cdp::Browser::start(WIDTH, HEIGHT, BUDGET).expect("chromium starts");
    b.navigate(&format!("file://{}", dir.join("index.html").display()))
        .unwrap();
    let p = b.eval(PROBE).unwrap();
    assert!(
        b.errors.iter().any(|e| e.contains("boom")),
        "{:?}",
        b.errors
    );
    assert!(
        b.errors.iter().any(|e| e.contains("missing.png")),
        "{:?}",
        b.errors
    );
    assert_eq!(p["images"][0]["width"], 0);
    assert!(p["scrollWidth"].as_u64().unwrap() > WIDTH as u64);
    drop(b);
    let _ = std::fs::remove_dir_all(&dir);
}
