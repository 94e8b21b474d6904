//! The answer a sweep gives, written before its evidence: a few sentences and a small table a
//! reader takes in at a glance, as an HTML fragment for the top of `index.html`.
//!
//! For a sweep of load-balancing algorithms it answers three questions: which algorithm
//! keeps p99 lowest at each load (counting only the algorithms that fail least: latency counts
//! successful requests only, so an algorithm that drops a sixth of its requests can look fast),
//! which fails least when a server is slow or down, and which differences are significant
//! (the paired comparisons over common random numbers). Any other sweep gets its best points.
//!
//! Numbers carry the precision their 95% interval supports ([`crate::report::num`]).

use crate::experiment::sweep::{Comparison, PointSummary};
use crate::report::charts::style;
use crate::report::num::{fixed_ci, pct_ci, readable};
use crate::stats::MeanCi;
use std::fmt::Write as _;

/// Two algorithms fail alike when their failed shares are this close (percentage points) or
/// their intervals overlap.
const SAME_FAILURES_PP: f64 = 0.05;

/// What the sweep's points are, through the verdict's eyes.
pub struct SweepView<'a> {
    pub labels: &'a [Vec<(String, String)>],
    pub sums: &'a [PointSummary],
    pub cmps: &'a [Comparison],
    pub algo_param: &'a str,
    pub load_param: &'a str,
    /// A reader's name for a (parameter, value): the scenario's label, else `key=value`.
    pub name: &'a dyn Fn(&str, &str) -> String,
}

fn metric(s: &PointSummary, key: &str) -> Option<MeanCi> {
    s.metrics
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, c)| *c)
        .filter(|c| c.mean.is_finite())
}

fn value<'l>(label: &'l [(String, String)], key: &str) -> Option<&'l str> {
    label
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Failed share in % with its interval, from `availability`.
fn failed_pct(s: &PointSummary) -> Option<MeanCi> {
    metric(s, "availability").map(|a| MeanCi {
        mean: (1.0 - a.mean) * 100.0,
        half_width: a.half_width * 100.0,
        n: a.n,
    })
}

fn esc(s: &str) -> String {
    crate::report::html::esc(s)
}

struct Pt<'a> {
    algo: String,
    variant: String,
    load: f64,
    sum: &'a PointSummary,
}

impl SweepView<'_> {
    fn variant_of(&self, label: &[(String, String)]) -> String {
        let parts: Vec<String> = label
            .iter()
            .filter(|(k, _)| k != self.algo_param && k != self.load_param)
            .map(|(k, v)| (self.name)(k, v))
            .collect();
        parts.join(", ")
    }

    fn points(&self) -> Vec<Pt<'_>> {
        self.sums
            .iter()
            .filter_map(|s| {
                let l = self.labels.get(s.point)?;
                Some(Pt {
                    algo: value(l, self.algo_param)?.to_string(),
                    variant: self.variant_of(l),
                    load: value(l, self.load_param)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(f64::NAN),
                    sum: s,
                })
            })
            .collect()
    }

    /// The HTML answer: the algorithm questions when the sweep compares algorithms, its best
    /// points otherwise.
    pub fn answer(&self) -> String {
        let pts = self.points();
        if pts.is_empty() {
            return self.generic();
        }
        let mut variants: Vec<String> = vec![];
        let mut loads: Vec<f64> = vec![];
        for p in &pts {
            if !variants.contains(&p.variant) {
                variants.push(p.variant.clone());
            }
            if p.load.is_finite() && !loads.contains(&p.load) {
                loads.push(p.load);
            }
        }
        loads.sort_by(f64::total_cmp);
        let vname = |v: &str| {
            if v.is_empty() {
                "as configured".to_string()
            } else {
                v.to_string()
            }
        };
        let mut h = String::new();
        // 1. Lowest p99 per load and variant, among the algorithms that fail least.
        h.push_str("<h3>Which algorithm keeps p99 lowest at each load</h3>\n");
        h.push_str(
            "<p>Among the algorithms that fail least at that load (latency counts successful \
             requests only, so an algorithm that drops requests can look fast): its p99 and its \
             failed requests, mean and 95% interval over the replications.</p>\n",
        );
        h.push_str("<div class=\"scroll\"><table class=\"verdict\">\n<tr><th>offered load</th>");
        for v in &variants {
            let _ = write!(h, "<th>{}</th>", esc(&vname(v)));
        }
        h.push_str("</tr>\n");
        let load_rows: Vec<f64> = if loads.is_empty() {
            vec![f64::NAN]
        } else {
            loads.clone()
        };
        for &load in &load_rows {
            let at = |p: &&Pt| (p.load == load) || (load.is_nan() && p.load.is_nan());
            let _ = write!(
                h,
                "<tr><td>{}</td>",
                if load.is_nan() {
                    "-".to_string()
                } else {
                    format!("{} req/s", style::num(load))
                }
            );
            for v in &variants {
                let here: Vec<&Pt> = pts.iter().filter(at).filter(|p| &p.variant == v).collect();
                let _ = write!(h, "<td>{}</td>", best_p99_cell(&here));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table></div>\n");

        // 2. Who fails least in each non-baseline variant, at the highest load.
        let top = loads.last().copied().unwrap_or(f64::NAN);
        let at_top = |p: &&Pt| p.load == top || (top.is_nan() && p.load.is_nan());
        for (i, v) in variants.iter().enumerate() {
            if i == 0 && variants.len() > 1 {
                continue;
            }
            let mut here: Vec<(&Pt, MeanCi)> = pts
                .iter()
                .filter(at_top)
                .filter(|p| &p.variant == v)
                .filter_map(|p| Some((p, failed_pct(p.sum)?)))
                .collect();
            if here.is_empty() {
                continue;
            }
            here.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean).then(a.0.algo.cmp(&b.0.algo)));
            let load_text = if top.is_nan() {
                String::new()
            } else {
                format!(" at {} req/s", style::num(top))
            };
            let _ = writeln!(
                h,
                "<h3>Which fails least{}{}</h3>",
                if v.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", esc(v))
                },
                esc(&load_text)
            );
            let (best, ci) = &here[0];
            let _ = write!(
                h,
                "<p><b>{}</b> fails {} of requests",
                esc(&best.algo),
                pct_ci(ci.mean, ci.half_width)
            );
            let others: Vec<String> = here[1..]
                .iter()
                .map(|(p, c)| format!("{} {}", esc(&p.algo), pct_ci(c.mean, c.half_width)))
                .collect();
            if !others.is_empty() {
                let _ = write!(h, "; then {}", others.join(", "));
            }
            h.push_str(".</p>\n");
        }

        // 3. Significance: the paired differences between algorithms at the highest load.
        h.push_str("<h3>What is significant</h3>\n");
        let algo_cmps: Vec<&Comparison> = self
            .cmps
            .iter()
            .filter(|c| c.parameter == self.algo_param)
            .collect();
        let sig = algo_cmps.iter().filter(|c| c.significant).count();
        let _ = writeln!(
            h,
            "<p>{sig} of the {} paired comparisons between algorithms (same load and variant, \
             common random numbers: each replication sees the same arrivals and work) differ \
             significantly: their 95% interval excludes zero. At the highest load, the p99 \
             winner against each other algorithm:</p>",
            algo_cmps.len()
        );
        h.push_str("<ul>\n");
        let mut any = false;
        for v in &variants {
            let here: Vec<&Pt> = pts
                .iter()
                .filter(at_top)
                .filter(|p| &p.variant == v)
                .collect();
            let Some(best) = best_p99(&here) else {
                continue;
            };
            for other in here.iter().filter(|p| p.algo != best.algo) {
                let line: Vec<String> = ["latency.p99", "availability"]
                    .iter()
                    .filter_map(|m| {
                        let c = algo_cmps.iter().find(|c| {
                            &c.metric == m
                                && ((c.a == best.sum.point && c.b == other.sum.point)
                                    || (c.b == best.sum.point && c.a == other.sum.point))
                        })?;
                        // Oriented as best - other.
                        let sign = if c.a == best.sum.point { 1.0 } else { -1.0 };
                        let d = c.difference;
                        let text = if *m == "availability" {
                            format!(
                                "served {}{} percentage points",
                                if d.mean * sign >= 0.0 { "+" } else { "" },
                                fixed_ci(d.mean * sign * 100.0, d.half_width * 100.0, "")
                            )
                        } else {
                            format!(
                                "p99 {}",
                                fixed_ci(d.mean * sign * 1e3, d.half_width * 1e3, " ms")
                            )
                        };
                        Some(format!(
                            "{text} ({})",
                            if c.significant {
                                "significant"
                            } else {
                                "not significant"
                            }
                        ))
                    })
                    .collect();
                if line.is_empty() {
                    continue;
                }
                any = true;
                let _ = writeln!(
                    h,
                    "<li>{}<b>{}</b> against {}: {}</li>",
                    if v.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", esc(v))
                    },
                    esc(&best.algo),
                    esc(&other.algo),
                    line.join("; ")
                );
            }
        }
        if !any {
            h.push_str("<li>no paired comparison at the highest load</li>\n");
        }
        h.push_str("</ul>\n");
        h
    }

    /// Any other sweep: the points with the lowest p99 and the highest availability.
    fn generic(&self) -> String {
        let label = |s: &PointSummary| -> String {
            let l = self.labels.get(s.point).map_or(&[][..], |l| l.as_slice());
            let parts: Vec<String> = l.iter().map(|(k, v)| (self.name)(k, v)).collect();
            if parts.is_empty() {
                "the scenario as is".into()
            } else {
                parts.join(", ")
            }
        };
        let mut h = String::new();
        let best = |key: &str, low: bool| {
            self.sums
                .iter()
                .filter_map(|s| Some((s, metric(s, key)?)))
                .min_by(|a, b| {
                    let o = a.1.mean.total_cmp(&b.1.mean);
                    if low { o } else { o.reverse() }
                })
        };
        let _ = writeln!(
            h,
            "<p>{} points, {} replications each.</p>\n<ul>",
            self.sums.len(),
            self.sums.first().map_or(0, |s| s.runs)
        );
        if let Some((s, c)) = best("latency.p99", true) {
            let _ = writeln!(
                h,
                "<li>Lowest p99: <b>{}</b>, {}</li>",
                esc(&label(s)),
                fixed_ci(c.mean * 1e3, c.half_width * 1e3, " ms")
            );
        }
        if let Some((s, c)) = best("availability", false) {
            let _ = writeln!(
                h,
                "<li>Fewest failures: <b>{}</b>, {} served</li>",
                esc(&label(s)),
                availability_ci(c)
            );
        }
        let sig = self.cmps.iter().filter(|c| c.significant).count();
        let _ = writeln!(
            h,
            "<li>{sig} of {} paired comparisons differ significantly (95% interval excludes \
             zero)</li>\n</ul>",
            self.cmps.len()
        );
        h
    }
}

/// The algorithm with the lowest p99 among those whose failed share is within
/// [`SAME_FAILURES_PP`] (or the interval) of the lowest.
fn best_p99<'p, 'a>(here: &[&'p Pt<'a>]) -> Option<&'p Pt<'a>> {
    let least = here
        .iter()
        .filter_map(|p| failed_pct(p.sum))
        .map(|c| c.mean + c.half_width)
        .fold(f64::INFINITY, f64::min);
    here.iter()
        .copied()
        .filter(|p| {
            failed_pct(p.sum).is_none_or(|c| c.mean - c.half_width <= least + SAME_FAILURES_PP)
        })
        .filter_map(|p| Some((p, metric(p.sum, "latency.p99")?)))
        .min_by(|a, b| a.1.mean.total_cmp(&b.1.mean).then(a.0.algo.cmp(&b.0.algo)))
        .map(|(p, _)| p)
}

fn best_p99_cell(here: &[&Pt]) -> String {
    let Some(best) = best_p99(here) else {
        return "-".into();
    };
    let p99 = metric(best.sum, "latency.p99").map_or("-".into(), |c| {
        fixed_ci(c.mean * 1e3, c.half_width * 1e3, " ms")
    });
    let failed = failed_pct(best.sum).map_or("-".into(), |c| pct_ci(c.mean, c.half_width));
    format!(
        "<b>{}</b> {} <span class=\"dim\">({} failed)</span>",
        esc(&best.algo),
        p99,
        failed
    )
}

/// Availability with the decimals its interval supports, and its nines.
fn availability_text(a: MeanCi) -> String {
    let nines = if a.mean >= 1.0 {
        "no downtime".to_string()
    } else {
        format!("{:.2} nines", -(1.0 - a.mean).log10())
    };
    format!("{} ({nines})", availability_ci(a))
}

/// An availability with its interval; without one, as many decimals as its nines need.
fn availability_ci(a: MeanCi) -> String {
    if a.half_width.is_finite() && a.half_width > 0.0 {
        pct_ci(a.mean * 100.0, a.half_width * 100.0)
    } else {
        style::availability_pct(a.mean)
    }
}

/// A single run's answer: what share was served, how fast, and what happened, in its own
/// words (the run's story).
pub fn run_answer(r: &crate::model::RunResults) -> String {
    let mut h = String::new();
    let served = if r.requests.arrived > 0 {
        // One run has no interval: as many decimals as the nines need (99.961%, not 100.0%).
        style::availability_pct(r.availability)
    } else {
        "-".into()
    };
    // The share is of the requests that finished (`RunResults::availability`), so the count
    // beside it is too: the story's line says the same; those still in flight are named apart.
    let q = &r.requests;
    let in_flight = if q.in_flight_end > 0 {
        format!("; {} still in flight at the end", q.in_flight_end)
    } else {
        String::new()
    };
    let _ = writeln!(
        h,
        "<p><b>{served} of requests served</b> ({} of {} finished requests failed{in_flight}); \
         throughput {} req/s; latency of successful requests p50 {}, p99 {}, max {}.</p>",
        q.failed,
        q.completed + q.failed,
        style::num(r.throughput_rps),
        style::duration(r.latency.p50),
        style::duration(r.latency.p99),
        style::duration(r.latency.max),
    );
    if !r.story.is_empty() {
        h.push_str("<h3>What happened</h3>\n<ul>\n");
        for line in r.story.iter().take(12) {
            let _ = writeln!(h, "<li>{}</li>", esc(line));
        }
        if r.story.len() > 12 {
            let _ = writeln!(
                h,
                "<li>... {} more in summary.json (story)</li>",
                r.story.len() - 12
            );
        }
        h.push_str("</ul>\n");
    }
    h
}

/// A Monte Carlo study's answer: the availability with its interval, the downtime a year, and
/// the component to improve first.
pub fn availability_answer(s: &crate::experiment::montecarlo::McSummary) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<p><b>Availability {}</b>: {} minutes of downtime a year, {} outages a year (mean and \
         95% interval over {} runs of {}).</p>",
        availability_text(s.availability),
        fixed_ci(
            s.downtime_minutes_per_year.mean,
            s.downtime_minutes_per_year.half_width,
            ""
        ),
        fixed_ci(s.outages_per_year.mean, s.outages_per_year.half_width, ""),
        s.runs,
        style::duration(s.horizon_s),
    );
    if let Some(top) = s.components.first().filter(|c| c.improvement.mean > 0.0) {
        let minutes = |a: f64| a * 365.0 * 24.0 * 60.0;
        let _ = write!(
            h,
            "<p>Improve <b>{}</b> first: it causes {} of the downtime; if it never failed the \
             stack would lose {} fewer minutes a year",
            esc(&top.component),
            pct_ci(top.downtime_share * 100.0, 0.0),
            fixed_ci(
                minutes(top.improvement.mean),
                minutes(top.improvement.half_width),
                ""
            ),
        );
        if let Some(next) = s.components.get(1).filter(|c| c.improvement.mean > 0.0) {
            let _ = write!(
                h,
                " (next: {}, {} minutes)",
                esc(&next.component),
                fixed_ci(
                    minutes(next.improvement.mean),
                    minutes(next.improvement.half_width),
                    ""
                )
            );
        }
        h.push_str(".</p>\n");
    }
    if !s.structural_spofs.is_empty() {
        let names: Vec<String> = s
            .structural_spofs
            .iter()
            .map(|x| format!("<b>{}</b> ({})", esc(&x.component), esc(&x.effect)))
            .collect();
        let _ = writeln!(
            h,
            "<p>Single points of failure by design: {}.</p>",
            names.join("; ")
        );
    }
    h
}

/// The ladder's answer: each design's availability, and the step that gains the most.
pub fn ladder_answer(steps: &[(String, crate::experiment::montecarlo::McSummary)]) -> String {
    let mut h = String::from(
        "<div class=\"scroll\"><table class=\"verdict\">\n<tr><th>design</th><th>availability \
         (95% interval)</th><th>downtime (minutes a year)</th></tr>\n",
    );
    for (name, s) in steps {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            availability_text(s.availability),
            fixed_ci(
                s.downtime_minutes_per_year.mean,
                s.downtime_minutes_per_year.half_width,
                ""
            )
        );
    }
    h.push_str("</table></div>\n");
    let gain = steps
        .windows(2)
        .map(|w| {
            (
                &w[1].0,
                w[0].1.downtime_minutes_per_year.mean - w[1].1.downtime_minutes_per_year.mean,
            )
        })
        .filter(|(_, g)| g.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((name, g)) = gain {
        let _ = writeln!(
            h,
            "<p>The step that removes the most downtime: <b>{}</b>, {} minutes a year fewer \
             than the design before it.</p>",
            esc(name),
            readable(g)
        );
    }
    h
}
