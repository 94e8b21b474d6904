//! The fit report: what was read, the rate, each server's times, the goodness-of-fit test of
//! every family, and two pictures: a QQ plot (the sample's quantiles against the chosen
//! family's, or the best family's) and the histogram of the sample with the fitted densities.
//! Plain text and SVG strings; the CLI writes them.

use super::{Fit, quantile};

/// A count of lines, `what` they are, and the first 20 of them (line, date).
fn dated_lines(o: &mut String, title: &str, what: &str, verb: &str, lines: &[(usize, String)]) {
    o.push_str(&format!("{title}{} ({what})\n", lines.len()));
    for (l, date) in lines.iter().take(20) {
        o.push_str(&format!("  line {l}: {verb}{date}\n"));
    }
    if lines.len() > 20 {
        o.push_str(&format!("  ... and {} more\n", lines.len() - 20));
    }
}

/// The text report.
pub fn text(f: &Fit) -> String {
    let mut o = String::new();
    o.push_str(&format!("fit of {}\n\n", f.file));
    o.push_str(&format!(
        "lines read        {}\nrequests          {}\nmalformed lines   {}\n",
        f.lines, f.requests, f.malformed
    ));
    for (l, why) in &f.examples {
        o.push_str(&format!("  line {l}: {why}\n"));
    }
    dated_lines(
        &mut o,
        "dated apart       ",
        "set aside: accept date far from the rest of the log",
        "",
        &f.dated_apart,
    );
    dated_lines(
        &mut o,
        "long sessions     ",
        "accepted long before the rest of the log, logged within it: in the times, not in the rate",
        "accepted ",
        &f.early,
    );
    o.push_str(&format!(
        "tunnels           {} (101 upgrades, CONNECT: their Ta is the tunnel's life, left out of the service and response times)\n",
        f.tunnels
    ));
    o.push_str(&format!("backend           {}\n", f.backend));
    o.push_str(&format!(
        "span              {:.1} s\nrate              {:.3} req/s\n",
        f.span_s, f.rate
    ));
    o.push_str(&format!(
        "rate per {} s      dispersion chi2 = {:.1} on {} df, p = {:.3e}: {}\n",
        f.interval_s,
        f.dispersion.0,
        f.counts.len().saturating_sub(1),
        f.dispersion.1,
        if f.phases.is_empty() {
            "a constant rate"
        } else {
            "not constant: written as phases"
        }
    ));
    o.push_str("\ntimes in ms          n      mean     cv      p50      p99      max\n");
    let row = |o: &mut String, name: &str, s: &super::Summary| {
        o.push_str(&format!(
            "{name:<16} {:>7} {:>9.3} {:>6.3} {:>8.1} {:>8.1} {:>8.1}\n",
            s.n, s.mean, s.cv, s.p50, s.p99, s.max
        ));
    };
    row(&mut o, "response (Ta)", &f.response);
    row(&mut o, "service Tr+Td", &f.service);
    row(&mut o, "queue (Tw)", &f.wait);
    row(&mut o, "connect (Tc)", &f.connect);
    o.push_str("\nper server: requests, errors (>= 500 or no response), service, queue, most concurrent, speed\n");
    for s in &f.servers {
        o.push_str(&format!(
            "  {:<14} {:>7} {:>6}  service {:.3} ms (cv {:.2}, p99 {:.0})  Tw {:.2} ms  Tc {:.2} ms  sc {}  speed {}\n",
            s.name,
            s.requests,
            s.errors,
            s.service.mean,
            s.service.cv,
            s.service.p99,
            s.wait.mean,
            s.connect.mean,
            s.max_conn.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
            s.speed
        ));
    }
    o.push_str("\nstatus codes: ");
    o.push_str(
        &f.status
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    o.push_str(&format!(
        "\nclients: {} addresses; the busiest sends {:.1} % of requests, the 10 busiest {:.1} %\n",
        f.clients,
        100.0 * f.top1,
        100.0 * f.top10
    ));
    o.push_str("\ngoodness of fit of the service time (Kolmogorov-Smirnov, whole-ms timers, parameters from the sample):\n");
    for c in &f.candidates {
        o.push_str(&format!(
            "  {:<12} D = {:.4}  p = {:.3e}  {}\n",
            c.family.name(),
            c.d,
            c.p,
            c.family.spec()
        ));
    }
    o.push_str(&match &f.chosen {
        Some(fam) => format!("used: {} ({})\n", fam.name(), fam.spec()),
        None => {
            "used: the empirical sample (service.csv): no family passed at the 1 % level\n".into()
        }
    });
    o
}

fn svg_head(title: &str, w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        w / 2.0,
        escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Axes from (x0, y0) to (x1, y1) in data units, 60 px margins; returns the mapping.
fn axes(
    o: &mut String,
    w: f64,
    h: f64,
    xmax: f64,
    ymax: f64,
    xl: &str,
    yl: &str,
) -> impl Fn(f64, f64) -> (f64, f64) + use<> {
    let (l, r, t, b) = (60.0, 20.0, 35.0, 45.0);
    o.push_str(&format!(
        "<line x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{}\" stroke=\"black\"/>\n",
        h - b, w - r, h - b, h - b
    ));
    for k in 0..=4 {
        let fx = k as f64 / 4.0;
        let x = l + fx * (w - l - r);
        let y = h - b - fx * (h - t - b);
        o.push_str(&format!(
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{:.3}</text>\n",
            h - b + 15.0,
            fx * xmax
        ));
        o.push_str(&format!(
            "<text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{:.3}</text>\n",
            l - 5.0,
            fx * ymax
        ));
    }
    o.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        (l + w - r) / 2.0,
        h - 8.0,
        escape(xl)
    ));
    o.push_str(&format!("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">{}</text>\n", (t + h - b) / 2.0, (t + h - b) / 2.0, escape(yl)));
    move |x: f64, y: f64| {
        (
            l + (x / xmax).clamp(0.0, 1.05) * (w - l - r),
            h - b - (y / ymax).clamp(0.0, 1.05) * (h - t - b),
        )
    }
}

/// The family shown in the pictures: the chosen one, else the best by KS distance.
fn shown(f: &Fit) -> Option<super::Family> {
    f.chosen.or_else(|| f.candidates.first().map(|c| c.family))
}

/// QQ plot: sample quantiles (whole ms) against the family's at (k + 0.5)/100, k < 100.
pub fn qq_svg(f: &Fit) -> String {
    let (w, h) = (520.0, 480.0);
    let Some(fam) = shown(f) else {
        return svg_head("no sample", w, h) + "</svg>\n";
    };
    let mut o = svg_head(
        &format!("QQ plot of the service time against {}", fam.name()),
        w,
        h,
    );
    let pts: Vec<(f64, f64)> = (0..100)
        .map(|k| {
            let p = (k as f64 + 0.5) / 100.0;
            (fam.quantile(p), quantile(&f.sample, p))
        })
        .collect();
    let m = pts.iter().fold(1e-9f64, |a, (x, y)| a.max(*x).max(*y));
    let xl = format!("{} quantile (ms)", fam.name());
    let at = axes(&mut o, w, h, m, m, &xl, "sample quantile (ms)");
    let (a, b) = (at(0.0, 0.0), at(m, m));
    o.push_str(&format!("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"grey\" stroke-dasharray=\"4 3\"/>\n", a.0, a.1, b.0, b.1));
    for (x, y) in pts {
        let (px, py) = at(x, y);
        o.push_str(&format!(
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"#1f77b4\"/>\n"
        ));
    }
    o + "</svg>\n"
}

/// The most bars the histogram draws. Its width is then bounded whatever the longest time:
/// with one bar per millisecond, ten one-hour requests made a 477 MB picture in 23 s, and one of
/// 2^31 ms never finished.
pub const MAX_BARS: u64 = 200;

/// The bar width in whole milliseconds: the smallest of 1, 2, 5 × 10^k ms that keeps `top` ms
/// within [`MAX_BARS`] bars (a whole number, so that each bar holds whole logged values).
pub fn bar_width(top: u64) -> u64 {
    let mut w = 1u64;
    loop {
        for m in [1, 2, 5] {
            if top / (w * m) < MAX_BARS {
                return w * m;
            }
        }
        w *= 10;
    }
}

/// Histogram of the sample (bars of 1 ms, or wider when the sample's p99.5 is above
/// [`MAX_BARS`] ms: [`bar_width`]) with each family's expected counts.
pub fn histogram_svg(f: &Fit) -> String {
    let (w, h) = (640.0, 420.0);
    let mut o = svg_head("service time: observed (bars) and fitted (lines)", w, h);
    if f.sample.is_empty() {
        return o + "</svg>\n";
    }
    // Whole milliseconds: the sample holds whole timers, at most 2^31 - 1.
    let top = quantile(&f.sample, 0.995).max(1.0).ceil() as u64;
    let width = bar_width(top);
    let bars = (top / width + 1) as usize;
    let mut counts = vec![0u64; bars];
    for &x in &f.sample {
        let b = (x.round() as u64 / width) as usize;
        if let Some(c) = counts.get_mut(b) {
            *c += 1;
        }
    }
    let wf = width as f64;
    let n = f.sample.len() as f64;
    let ymax = counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
    let at = axes(
        &mut o,
        w,
        h,
        bars as f64 * wf,
        ymax,
        "service time (ms)",
        &format!("requests per {width} ms"),
    );
    for (k, &c) in counts.iter().enumerate() {
        let (x0, y0) = at(k as f64 * wf, c as f64);
        let (x1, y1) = at((k + 1) as f64 * wf, 0.0);
        o.push_str(&format!("<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#c6dbef\" stroke=\"#6baed6\"/>\n", (x1 - x0).max(0.5), (y1 - y0).max(0.0)));
    }
    const COLOURS: [&str; 4] = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    for (i, c) in f.candidates.iter().enumerate() {
        // Logged k holds durations in about (k − 0.5, k + 0.5) (see ks.rs): bar k holds the
        // logged values k·width to k·width + width − 1.
        let pts: Vec<String> = (0..bars)
            .map(|k| {
                let lo = k as f64 * wf;
                let e = n * (c.family.cdf(lo + wf - 0.5) - c.family.cdf(lo - 0.5));
                let (x, y) = at(lo + wf / 2.0, e);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let col = COLOURS[i % COLOURS.len()];
        o.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{col}\" stroke-width=\"1.5\"/>\n",
            pts.join(" ")
        ));
        o.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{col}\" text-anchor=\"end\">{} (D = {:.3})</text>\n",
            w - 25.0,
            50.0 + 15.0 * i as f64,
            c.family.name(),
            c.d
        ));
    }
    o + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stay_few_and_whole_whatever_the_longest_time() {
        assert_eq!(bar_width(1), 1);
        assert_eq!(bar_width(199), 1);
        assert_eq!(bar_width(200), 2);
        assert_eq!(bar_width(3_600_000), 20_000);
        for top in [1u64, 150, 999, 1000, 12_345, 3_600_000, i32::MAX as u64] {
            let w = bar_width(top);
            let bars = top / w + 1;
            assert!(bars <= MAX_BARS, "{top}: {w} ms makes {bars} bars");
        }
    }
}
