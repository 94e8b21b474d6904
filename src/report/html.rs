//! `index.html`: one offline page per results folder, the same template for a single run, a
//! sweep, a Monte Carlo study and the ladder. It answers the folder's question first (the
//! caller's verdict), then shows the evidence: every chart (the SVG files, referenced
//! relatively, so the folder can be moved or zipped and still opens from disk with no
//! server), then the CSV tables with a preview a reader can sort and filter, then the summary
//! the terminal printed, and at the bottom the scenario text and the command that reproduces
//! the folder.
//!
//! The page links only to files that exist in the folder when it is written: a chart or a
//! table that is missing is left out rather than shown broken. One inline script (table sort
//! and filter), no external style sheet, no font download, nothing from the network.

use crate::report::atomic;
use crate::report::charts::ChartFile;
use crate::report::num;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// What a page shows, in order.
#[derive(Clone, Debug, Default)]
pub struct Page<'a> {
    pub title: String,
    /// What the folder is: "single run", "parameter sweep", "Monte Carlo availability
    /// study", "design ladder".
    pub kind: &'a str,
    /// The answer, first: an HTML fragment the caller builds (and escapes what it inserts).
    pub answer: String,
    pub charts: &'a [ChartFile],
    /// (label, file name in the folder).
    pub tables: &'a [(String, String)],
    /// The summary as the terminal printed it (shown folded, after the evidence).
    pub text: Option<&'a str>,
    /// How to get this folder again.
    pub reproduce: Reproduce,
}

/// The bottom of a page: the exact command and the scenario files it reads.
#[derive(Clone, Debug, Default)]
pub struct Reproduce {
    pub command: String,
    /// (path as given, its text now; `None` when it cannot be read).
    pub scenarios: Vec<(String, Option<String>)>,
}

/// Largest scenario file shown in a page (the limits of `scenario::limits` are far below).
const MAX_SCENARIO_SHOWN: u64 = 1 << 20;

impl Reproduce {
    /// The command and the text of `files`, read now (bounded; unreadable files are named).
    pub fn new(command: String, files: &[String]) -> Self {
        let scenarios = files
            .iter()
            .map(|f| {
                let text = std::fs::metadata(f)
                    .ok()
                    .filter(|m| m.is_file() && m.len() <= MAX_SCENARIO_SHOWN)
                    .and_then(|_| std::fs::read_to_string(f).ok());
                (f.clone(), text)
            })
            .collect();
        Reproduce { command, scenarios }
    }
}

/// A command line as a POSIX shell reads it: words with anything but `[A-Za-z0-9_./=:,+-]`
/// single-quoted.
pub fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./=:,+-".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows of a CSV table shown in the page; the full file is a link away.
const PREVIEW_ROWS: usize = 20;
/// Tables larger than this get a link only.
const PREVIEW_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Writes `dir/index.html` and returns its path.
pub fn index(dir: &Path, page: &Page<'_>) -> io::Result<PathBuf> {
    let shown: Vec<&ChartFile> = page
        .charts
        .iter()
        .filter(|c| exists(dir, &format!("{}.svg", c.stem)))
        .collect();
    let tables: Vec<&(String, String)> =
        page.tables.iter().filter(|(_, f)| exists(dir, f)).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p class=\"kind\">{}</p>\n",
        esc(&page.title),
        esc(&page.title),
        esc(page.kind)
    );
    h.push_str("<section id=\"answer\">\n<h2>Answer</h2>\n");
    h.push_str(&page.answer);
    h.push_str("\n</section>\n");
    h.push_str("<nav>\n<h2>Evidence</h2>\n<ul>\n");
    for c in &shown {
        let _ = writeln!(
            h,
            "<li><a href=\"#{}\">{}</a></li>",
            anchor(&c.stem),
            esc(&c.title)
        );
    }
    if !tables.is_empty() {
        h.push_str("<li><a href=\"#tables\">Tables</a></li>\n");
    }
    if page.text.is_some() {
        h.push_str("<li><a href=\"#terminal\">The summary as the terminal printed it</a></li>\n");
    }
    h.push_str("<li><a href=\"#reproduce\">Scenario and command to reproduce</a></li>\n");
    h.push_str("</ul>\n</nav>\n");
    if !shown.is_empty() {
        h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
        for c in &shown {
            chart(&mut h, dir, c);
        }
        h.push_str("</section>\n");
    }
    if !tables.is_empty() {
        h.push_str("<section id=\"tables\">\n<h2>Tables</h2>\n");
        h.push_str(
            "<p class=\"dim\">Click a column's name to sort by it; type in the box to keep the \
             rows that contain the text. The CSV files hold every digit.</p>\n",
        );
        for (label, file) in &tables {
            table(&mut h, dir, label, file);
        }
        h.push_str("</section>\n");
    }
    if let Some(t) = page.text {
        let _ = writeln!(
            h,
            "<section id=\"terminal\">\n<h2>The summary as the terminal printed it</h2>\n\
             <details><summary>Show</summary>\n<pre>{}</pre>\n</details>\n</section>",
            esc(t)
        );
    }
    h.push_str("<section id=\"reproduce\">\n<h2>Scenario and command to reproduce</h2>\n");
    let _ = writeln!(
        h,
        "<p>Run from the folder the scenario path is relative to (same scenario, same seed: \
         the same bytes, whatever the thread count):</p>\n<pre class=\"cmd\">{}</pre>",
        esc(&page.reproduce.command)
    );
    for (file, text) in &page.reproduce.scenarios {
        match text {
            Some(t) => {
                let _ = writeln!(
                    h,
                    "<details><summary>{}</summary>\n<pre>{}</pre>\n</details>",
                    esc(file),
                    esc(t)
                );
            }
            None => {
                let _ = writeln!(h, "<p>{}: not readable now.</p>", esc(file));
            }
        }
    }
    h.push_str("</section>\n");
    let _ = write!(
        h,
        "<footer>Written by infrasim {}. Every file this page shows is in its folder; it opens \
         offline.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    let path = dir.join("index.html");
    atomic::write_file(&path, h.as_bytes())?;
    Ok(path)
}

const STYLE: &str = "
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif;
       margin: 0 auto; max-width: 1320px; padding: 1em 2em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .1em; } .kind { color: #555; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .3em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; max-width: 100%; }
pre.cmd { font-size: .95em; white-space: pre-wrap; word-break: break-all; }
figure { margin: 1.5em 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .85em; margin: .3em 0 1.2em; }
th, td { border: 1px solid #ddd; padding: .2em .5em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f3f3f3; } table.data th { cursor: pointer; }
table.data th.asc::after { content: ' \\25B2'; } table.data th.desc::after { content: ' \\25BC'; }
table.verdict td, table.verdict th { padding: .3em .7em; }
.dim { color: #666; font-size: .9em; }
input.filter { margin: .2em 0; padding: .2em .4em; font: inherit; font-size: .85em; }
details { margin: .5em 0; } summary { cursor: pointer; }
footer { color: #777; font-size: .85em; margin-top: 3em; }
";

/// Sorting by a column (numbers by the value in `data-v`, text alphabetically) and filtering
/// rows by text, for every `table.data`. Offline, no library.
const SCRIPT: &str = "
document.querySelectorAll('table.data').forEach(function (t) {
  var rows = function () { return Array.prototype.slice.call(t.tBodies[0].rows); };
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function (o) { o.classList.remove('asc', 'desc'); });
      th.classList.add(asc ? 'asc' : 'desc');
      var key = function (r) {
        var c = r.cells[i]; if (!c) { return ''; }
        var v = c.getAttribute('data-v');
        return v !== null && v !== '' && !isNaN(+v) ? +v : c.textContent;
      };
      rows().sort(function (a, b) {
        var x = key(a), y = key(b);
        var o = (typeof x === 'number' && typeof y === 'number') ? x - y
              : String(x).localeCompare(String(y));
        return asc ? o : -o;
      }).forEach(function (r) { t.tBodies[0].appendChild(r); });
    });
  });
  var f = t.parentNode.previousElementSibling;
  if (f && f.classList.contains('filter')) {
    f.addEventListener('input', function () {
      var q = f.value.toLowerCase();
      rows().forEach(function (r) {
        r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }
});
";

fn chart(h: &mut String, dir: &Path, c: &ChartFile) {
    let svg = format!("{}.svg", c.stem);
    let png = format!("{}.png", c.stem);
    let _ = write!(
        h,
        "<figure id=\"{}\">\n<img src=\"{}\" alt=\"{}\">\n<figcaption>{} (<a href=\"{}\">SVG</a>",
        anchor(&c.stem),
        href(&svg),
        esc(&c.title),
        esc(&c.title),
        href(&svg)
    );
    if exists(dir, &png) {
        let _ = write!(h, ", <a href=\"{}\">PNG</a>", href(&png));
    }
    h.push_str(")</figcaption>\n</figure>\n");
}

fn table(h: &mut String, dir: &Path, label: &str, file: &str) {
    let _ = writeln!(
        h,
        "<h3>{}</h3>\n<p><a href=\"{}\">{}</a></p>",
        esc(label),
        href(file),
        esc(file)
    );
    let path = dir.join(file);
    let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= PREVIEW_MAX_BYTES);
    if !(file.ends_with(".csv") && small) {
        return;
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let Ok(header) = rd.headers().cloned() else {
        return;
    };
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    let units: Vec<num::Unit> = names.iter().map(|n| num::unit_of(n)).collect();
    // For `x.mean`, `x.ci95_low`, `x.ci95_high`: where the row's interval of x is.
    let interval: Vec<Option<(usize, usize)>> = names
        .iter()
        .map(|n| {
            let stem = n
                .strip_suffix(".mean")
                .or_else(|| n.strip_suffix(".ci95_low"))
                .or_else(|| n.strip_suffix(".ci95_high"))?;
            let lo = names
                .iter()
                .position(|m| *m == format!("{stem}.ci95_low"))?;
            let hi = names
                .iter()
                .position(|m| *m == format!("{stem}.ci95_high"))?;
            Some((lo, hi))
        })
        .collect();
    let _ = writeln!(
        h,
        "<input class=\"filter\" type=\"search\" placeholder=\"filter rows\" aria-label=\"filter \
         the rows of {}\">",
        esc(label)
    );
    h.push_str("<div class=\"scroll\"><table class=\"data\">\n<thead><tr>");
    for f in &names {
        let _ = write!(h, "<th>{}</th>", esc(f));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut more = false;
    for (rows, rec) in rd.records().enumerate() {
        let Ok(rec) = rec else { break };
        if rows == PREVIEW_ROWS {
            more = true;
            break;
        }
        h.push_str("<tr>");
        let cells: Vec<&str> = rec.iter().collect();
        for (j, f) in cells.iter().enumerate() {
            let hw = interval.get(j).copied().flatten().and_then(|(lo, hi)| {
                let lo: f64 = cells.get(lo)?.parse().ok()?;
                let hi: f64 = cells.get(hi)?.parse().ok()?;
                Some((hi - lo) / 2.0)
            });
            let unit = units.get(j).copied().unwrap_or(num::Unit::Plain);
            let (text, numeric) = num::cell(unit, f, hw);
            if numeric {
                let _ = write!(
                    h,
                    "<td class=\"n\" data-v=\"{}\" title=\"{}\">{}</td>",
                    esc(f),
                    esc(f),
                    esc(&text)
                );
            } else {
                let _ = write!(h, "<td>{}</td>", esc(f));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n");
    h.push_str("</table></div>\n");
    if more {
        let _ = writeln!(
            h,
            "<p>First {PREVIEW_ROWS} rows; the file has them all.</p>"
        );
    }
}

/// A plain file directly in `dir` (no path separators, no `..`: the page links inside its
/// folder only).
fn exists(dir: &Path, name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\'])
        && name != "."
        && name != ".."
        && dir.join(name).is_file()
}

/// HTML text and attribute escaping.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A relative URL for a file name: percent-encodes everything but unreserved characters.
fn href(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An id for a chart's figure (stems are already file-name safe; this keeps ids plain).
fn anchor(stem: &str) -> String {
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("chart-{s}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts;
    use crate::report::charts::testutil;

    fn decode(url: &str) -> String {
        let bytes = url.as_bytes();
        let mut out = vec![];
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Every `src="..."` and `href="..."` value of the page.
    fn references(html: &str) -> Vec<String> {
        let mut out = vec![];
        for attr in ["src=\"", "href=\""] {
            let mut rest = html;
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                let end = rest.find('"').unwrap();
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        out
    }

    #[test]
    fn page_links_only_to_existing_files() {
        let dir = testutil::temp_dir("html");
        let r = testutil::primary_down();
        let mut shown = charts::failure_timeline(&dir, r).unwrap();
        shown.extend(charts::replication_lag(&dir, r).unwrap());
        shown.push(ChartFile {
            stem: "never_written".into(),
            title: "A chart that does not exist".into(),
        });
        std::fs::write(
            dir.join("events.csv"),
            crate::report::csv_tables::events(r).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("odd name & co.csv"), "a,b\n1,<2>\n").unwrap();
        let tables = vec![
            ("Events".to_string(), "events.csv".to_string()),
            ("Odd".to_string(), "odd name & co.csv".to_string()),
            ("Missing".to_string(), "missing.csv".to_string()),
            ("Outside".to_string(), "../secret.csv".to_string()),
        ];
        let path = index(
            &dir,
            &Page {
                title: "primary_down <run 0>".into(),
                kind: "single run",
                answer: "<p>served</p>".into(),
                charts: &shown,
                tables: &tables,
                text: Some("a < b & c"),
                reproduce: Reproduce {
                    command: "simulate 'a b.toml'".into(),
                    scenarios: vec![("a b.toml".into(), Some("name = \"<x>\"".into()))],
                },
            },
        )
        .unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("a &lt; b &amp; c"));
        assert!(
            html.contains("name = &quot;&lt;x&gt;&quot;"),
            "scenario text escaped"
        );
        assert!(
            html.find("id=\"answer\"") < html.find("id=\"charts\"")
                && html.find("id=\"charts\"") < html.find("id=\"reproduce\""),
            "answer first, reproduce last"
        );
        assert!(html.contains("<img src=\"failure_timeline.svg\""));
        assert!(html.contains("&lt;2&gt;"), "CSV preview cells are escaped");
        assert!(
            !html.contains("never_written")
                && !html.contains("missing.csv")
                && !html.contains("secret")
        );
        let refs = references(&html);
        assert!(refs.len() >= 6, "{refs:?}");
        for r in refs {
            if let Some(id) = r.strip_prefix('#') {
                assert!(
                    html.contains(&format!("id=\"{id}\"")),
                    "dangling anchor {r}"
                );
                continue;
            }
            let name = decode(&r);
            assert!(!name.contains('/'), "{r} leaves the folder");
            assert!(
                dir.join(&name).is_file(),
                "{r} does not exist in {}",
                dir.display()
            );
        }
        testutil::done(&dir);
    }

    #[test]
    fn empty_page_with_html_summary() {
        let dir = testutil::temp_dir("html-empty");
        let path = index(
            &dir,
            &Page {
                title: "Nothing".into(),
                answer: "<p>All <b>good</b></p>".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert!(html.contains("<p>All <b>good</b></p>"));
        assert!(references(&html).iter().all(|r| r.starts_with('#')));
        testutil::done(&dir);
    }

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let w = |v: &[&str]| shell_words(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            w(&["simulate", "a.toml", "--set", "lb.algorithm=random(2)"]),
            "simulate a.toml --set 'lb.algorithm=random(2)'"
        );
        assert_eq!(w(&["it's"]), "'it'\\''s'");
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(href("a b&c.csv"), "a%20b%26c.csv");
        assert_eq!(decode("a%20b%26c.csv"), "a b&c.csv");
        assert!(!exists(Path::new("/"), "../etc"));
    }
}
