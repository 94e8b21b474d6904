//! `index.html`: one offline page per results folder that shows the summary, every chart (the
//! SVG files, referenced relatively, so the folder can be moved or zipped and still opens
//! from disk with no server) and the CSV tables, each with a short preview.
//!
//! The page links only to files that exist in the folder when it is written: a chart or a
//! table that is missing is left out rather than shown broken. No script, no external style
//! sheet, no font download.

use crate::report::atomic;
use crate::report::charts::ChartFile;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// The summary at the top of the page.
#[derive(Clone, Copy, Debug)]
pub enum Summary<'a> {
    /// Plain text (e.g. what the terminal showed): escaped, shown preformatted.
    Text(&'a str),
    /// An HTML fragment, inserted as is: the caller builds it (and escapes what it inserts).
    Html(&'a str),
}

/// Rows of a CSV table shown in the page; the full file is a link away.
const PREVIEW_ROWS: usize = 20;
/// Tables larger than this get a link only.
const PREVIEW_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Writes `dir/index.html` and returns its path. `charts` are shown in order, each as its SVG
/// with links to the SVG and PNG files; `tables` are (label, file name in `dir`).
pub fn index(
    dir: &Path,
    title: &str,
    summary: Summary<'_>,
    charts: &[ChartFile],
    tables: &[(String, String)],
) -> io::Result<PathBuf> {
    let shown: Vec<&ChartFile> = charts
        .iter()
        .filter(|c| exists(dir, &format!("{}.svg", c.stem)))
        .collect();
    let tables: Vec<&(String, String)> = tables.iter().filter(|(_, f)| exists(dir, f)).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    match summary {
        Summary::Text(t) => {
            let _ = writeln!(h, "<pre>{}</pre>", esc(t));
        }
        Summary::Html(fragment) => {
            h.push_str(fragment);
            h.push('\n');
        }
    }
    h.push_str("</section>\n");
    if !shown.is_empty() || !tables.is_empty() {
        h.push_str("<nav>\n<h2>Contents</h2>\n<ul>\n");
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
        h.push_str("</ul>\n</nav>\n");
    }
    if !shown.is_empty() {
        h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
        for c in &shown {
            chart(&mut h, dir, c);
        }
        h.push_str("</section>\n");
    }
    if !tables.is_empty() {
        h.push_str("<section id=\"tables\">\n<h2>Tables</h2>\n");
        for (label, file) in &tables {
            table(&mut h, dir, label, file);
        }
        h.push_str("</section>\n");
    }
    let _ = write!(
        h,
        "<footer>Written by infrasim {}. Every file this page shows is in its folder; it opens \
         offline.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    let path = dir.join("index.html");
    atomic::write_file(&path, h.as_bytes())?;
    Ok(path)
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif;
       margin: 0 auto; max-width: 1320px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .9em; }
figure { margin: 1.5em 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: .2em .5em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.scroll { overflow-x: auto; } footer { color: #777; font-size: .85em; margin-top: 3em; }
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
    h.push_str("<div class=\"scroll\"><table>\n<tr>");
    for f in header.iter() {
        let _ = write!(h, "<th>{}</th>", esc(f));
    }
    h.push_str("</tr>\n");
    let mut more = false;
    for (rows, rec) in rd.records().enumerate() {
        let Ok(rec) = rec else { break };
        if rows == PREVIEW_ROWS {
            more = true;
            break;
        }
        h.push_str("<tr>");
        for f in rec.iter() {
            let _ = write!(h, "<td>{}</td>", esc(f));
        }
        h.push_str("</tr>\n");
    }
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
fn esc(s: &str) -> String {
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
            "primary_down <run 0>",
            Summary::Text("a < b & c"),
            &shown,
            &tables,
        )
        .unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("a &lt; b &amp; c"));
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
            "Nothing",
            Summary::Html("<p>All <b>good</b></p>"),
            &[],
            &[],
        )
        .unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert!(html.contains("<p>All <b>good</b></p>"));
        assert!(references(&html).is_empty());
        testutil::done(&dir);
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(href("a b&c.csv"), "a%20b%26c.csv");
        assert_eq!(decode("a%20b%26c.csv"), "a b&c.csv");
        assert!(!exists(Path::new("/"), "../etc"));
    }
}
