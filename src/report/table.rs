//! The human summary printed on stdout: a few aligned tables and plain-word verdicts.

use crate::model::RunResults;
use std::fmt::Write;

/// Formats seconds with a unit that keeps 3 significant digits readable.
pub fn secs(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    if s < 0.0 {
        return format!("-{}", secs(-s));
    }
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} us", s * 1e6)
    }
}

pub fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// Availability with enough nines to see the difference between 99.9% and 99.99%; "n/a" when
/// nothing was measured (no request finished).
pub fn availability(a: f64) -> String {
    if a.is_nan() {
        return "n/a (no request finished)".into();
    }
    format!("{:.*}%", availability_decimals(a), a * 100.0)
}

/// The decimals [`availability`] prints: 3, then 4 from four nines, then one more per nine
/// past five, so that the first digit that is not a 9 always shows. With a fixed 4, a design
/// at 6.4 nines printed "100.0000%" with its failures (a Monte Carlo study's mean of
/// 0.9999996, or one request in a few million failed).
pub fn availability_decimals(a: f64) -> usize {
    if !(0.9999..1.0).contains(&a) {
        return 3;
    }
    // 0.99999 is a hair above 1 - 1e-5 in binary: its nines, 5.0000000000002, stand for 5.
    let nines = -(1.0 - a).log10() - 1e-9;
    (nines.ceil() as usize).saturating_sub(1).clamp(4, 12)
}

pub fn render(r: &RunResults) -> String {
    let mut o = String::new();
    let q = &r.requests;
    let _ = writeln!(
        o,
        "scenario {} (seed {}, run {}): {:.0} s simulated after {:.0} s warm-up, {} events",
        r.scenario, r.seed, r.run, r.measured_s, r.warmup_s, r.events
    );
    let _ = writeln!(
        o,
        "\nrequests   arrived {}  completed {}  failed {}  in flight at end {}",
        q.arrived, q.completed, q.failed, q.in_flight_end
    );
    let _ = writeln!(
        o,
        "throughput {:.1} req/s   availability {}",
        r.throughput_rps,
        availability(r.availability)
    );
    let l = &r.latency;
    let _ = writeln!(
        o,
        "latency    mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        secs(l.mean),
        secs(l.p50),
        secs(l.p90),
        secs(l.p99),
        secs(l.p999),
        secs(l.max)
    );
    waits(r, &mut o);
    let errs: Vec<String> = r
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if !errs.is_empty() {
        let _ = writeln!(o, "errors     {}", errs.join(", "));
    }
    classes(r, &mut o);
    slo(r, &mut o);
    let _ = writeln!(
        o,
        "\n{:<16} {:>10} {:>8} {:>8} {:>8} {:>10}",
        "server", "requests", "share", "nginx", "app", "app queue"
    );
    for s in &r.servers {
        let _ = writeln!(
            o,
            "{:<16} {:>10} {:>8} {:>8} {:>8} {:>10.2}",
            s.name,
            s.dispatched,
            pct(s.share),
            pct(s.nginx_utilisation),
            pct(s.app_utilisation),
            s.app_mean_queue
        );
    }
    let _ = writeln!(
        o,
        "\n{:<16} {:>8} {:>10} {:>10} {:>8} {:>8}",
        "database", "role", "reads", "writes", "busy", "queue"
    );
    for d in &r.database {
        let _ = writeln!(
            o,
            "{:<16} {:>8} {:>10} {:>10} {:>8} {:>8.2}",
            d.name,
            d.role,
            d.reads,
            d.writes,
            pct(d.utilisation),
            d.mean_queue
        );
    }
    for x in &r.replication {
        let _ = writeln!(
            o,
            "replication lag to {}: mean {}, p99 {}, max {}; {} transactions behind at the end",
            x.name,
            secs(x.lag_mean),
            secs(x.lag_p99),
            secs(x.lag_max),
            x.backlog_end
        );
    }
    if let Some(u) = &r.users {
        let _ = writeln!(
            o,
            "\nusers: {} closed-loop, {:.2} pages/s ({} requests each), {} of pages served; page \
             time mean {}, p99 {}; think {} on average; N/X - Z = {}",
            u.users,
            u.page_throughput,
            u.requests_per_page,
            pct(u.page_availability),
            secs(u.page_time.mean),
            secs(u.page_time.p99),
            secs(u.mean_think_s),
            secs(u.law_response_s)
        );
        if let Some(a) = u.sessions_abandoned {
            let _ = writeln!(
                o,
                "users left {a} of {} sessions after a failed page (think above includes their time away)",
                u.sessions
            );
        }
    }
    security(&mut o, r);
    let ll = &r.littles_law;
    let _ = writeln!(
        o,
        "\nLittle's law: L = {:.3} requests in system, lambda*W = {:.3} (difference {})",
        ll.mean_in_system,
        ll.lambda_times_w,
        pct(ll.relative_error)
    );
    if !r.faults.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<18} {:>10} {:>10} {:>10} {:>10}",
            "fault", "start", "detected", "recovered", "repaired"
        );
        let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2} s"));
        for f in r.faults.iter().take(SHOWN_FAULTS) {
            let _ = writeln!(
                o,
                "{:<18} {:>10} {:>10} {:>10} {:>10}",
                f.component,
                format!("{:.2} s", f.start_s),
                opt(f.detected_s),
                opt(f.recovered_s),
                opt(f.end_s)
            );
        }
        if r.faults.len() > SHOWN_FAULTS {
            let _ = writeln!(
                o,
                "... {} more faults in summary.json and events.csv",
                r.faults.len() - SHOWN_FAULTS
            );
        }
    }
    let c = &r.capacity;
    if c.stable {
        let _ = writeln!(
            o,
            "capacity: stable; the busiest part is {} ({} offered); the stack saturates near {:.0} req/s",
            c.bottleneck,
            pct(c.offered.iter().map(|x| x.rho).fold(0.0, f64::max)),
            c.max_rate
        );
    } else {
        let _ = writeln!(
            o,
            "capacity: UNSTABLE: {} is offered {} of its capacity at the peak rate of {:.0} req/s \
             (it saturates near {:.0} req/s); queues grow until limits reject requests, so \
             latency and errors depend on the run length",
            c.bottleneck,
            pct(c.offered.iter().map(|x| x.rho).fold(0.0, f64::max)),
            c.peak_rate,
            c.max_rate
        );
    }
    for g in &c.degraded {
        let verdict = if g.stable {
            "copes"
        } else {
            "cannot carry the load"
        };
        let load = if g.rho < 10.0 {
            format!("{} of its capacity", pct(g.rho))
        } else {
            format!("{:.0}x its capacity", g.rho)
        };
        let _ = writeln!(o, "  if {}: {} at {load}: {verdict}", g.state, g.bottleneck);
    }
    let _ = writeln!(o, "\nWhat happened:");
    for line in r.story.iter().take(SHOWN_STORY) {
        let _ = writeln!(o, "  - {line}");
    }
    if r.story.len() > SHOWN_STORY {
        let _ = writeln!(
            o,
            "  ... {} more in summary.json (story)",
            r.story.len() - SHOWN_STORY
        );
    }
    o
}

/// The wait before a worker at each stage some request passed, next to the response time.
fn waits(r: &RunResults, o: &mut String) {
    let mut header = false;
    for w in r.waits.iter().filter(|w| w.passed > 0) {
        if !header {
            let _ = writeln!(
                o,
                "wait       {:<12} {:>10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "stage", "passed", "P(wait)", "mean", "p50", "p90", "p99", "max"
            );
            header = true;
        }
        let _ = writeln!(
            o,
            "           {:<12} {:>10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
            w.name,
            w.passed,
            pct(w.wait_probability),
            secs(w.mean_s),
            secs(w.p50_s),
            secs(w.p90_s),
            secs(w.p99_s),
            secs(w.max_s)
        );
    }
}

/// One row per request class, when there is more than one: its counts, availability and
/// latency (a single class is the run itself, shown above).
fn classes(r: &RunResults, o: &mut String) {
    if r.classes.len() < 2 {
        return;
    }
    let _ = writeln!(
        o,
        "class      {:<12} {:>10} {:>10} {:>8} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "name", "arrived", "completed", "failed", "availability", "mean", "p50", "p99", "p99.9"
    );
    for c in &r.classes {
        let l = &c.latency;
        let _ = writeln!(
            o,
            "           {:<12} {:>10} {:>10} {:>8} {:>12} {:>10} {:>10} {:>10} {:>10}",
            c.name,
            c.arrived,
            c.completed,
            c.failed,
            if c.availability.is_nan() {
                "n/a".to_string()
            } else {
                availability(c.availability)
            },
            secs(l.mean),
            secs(l.p50),
            secs(l.p99),
            secs(l.p999)
        );
    }
}

/// The `[slo]` lines: served within the latency (overall and per class), the error budget, the
/// percentile targets. Nothing without `[slo]`.
fn slo(r: &RunResults, o: &mut String) {
    let (Some(s), Some(a)) = (&r.slo, r.slo_availability) else {
        return;
    };
    let _ = writeln!(
        o,
        "slo        within {}: {}   slow {}  failed {}",
        secs(s.latency_s),
        availability(a),
        s.slow,
        s.failed
    );
    if let Some(b) = &s.budget {
        let used = if b.budget_consumed.is_nan() {
            "-".to_string()
        } else if b.budget_consumed.is_infinite() {
            "all (a target of 100% has none)".to_string()
        } else {
            format!("{:.1}%", b.budget_consumed * 100.0)
        };
        let verdict = match b.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "-",
        };
        let _ = writeln!(
            o,
            "           target {}: {verdict}   error budget {:.1} requests, {} bad: {used} used",
            availability(b.target),
            b.allowed_bad_requests,
            s.slow + s.failed
        );
    }
    if !s.percentiles.is_empty() {
        let checks: Vec<String> = s
            .percentiles
            .iter()
            .map(|p| {
                let verdict = match p.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "-",
                };
                format!(
                    "{} {} (<= {}: {verdict})",
                    p.name,
                    secs(p.observed_s),
                    secs(p.target_s)
                )
            })
            .collect();
        let _ = writeln!(o, "           {}", checks.join("  "));
    }
    if r.classes.len() > 1 {
        let per: Vec<String> = r
            .classes
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.name,
                    availability(c.slo_availability.unwrap_or(f64::NAN))
                )
            })
            .collect();
        let _ = writeln!(o, "slo class  {}", per.join(", "));
    }
}

/// Rows of the fault table and lines of the story the terminal shows (a run with thousands of
/// random failures has them all in its files).
const SHOWN_FAULTS: usize = 20;
const SHOWN_STORY: usize = 30;

/// HTTPS, per-source limits and a flood, when configured: what they cost and what they did.
fn security(o: &mut String, r: &RunResults) {
    if let Some(t) = &r.lb.tls {
        let _ = writeln!(
            o,
            "\nhttps ({}): {} full and {} resumed handshakes, {} requests on kept-alive \
             connections; {} of LB thread time ({} per request expected)",
            t.key,
            t.full_handshakes,
            t.resumed_handshakes,
            t.reused_connections,
            secs(t.handshake_cpu_s),
            secs(t.expected_cpu_per_request_s)
        );
    }
    if let Some(l) = &r.lb.rate_limit {
        let conn = l
            .conn_limit
            .map_or(String::new(), |c| format!(", {c} connections at once"));
        let _ = writeln!(
            o,
            "rate limit: {} requests per {} per source ({}){conn}: {} denied, {} tarpitted, {} \
             connections rejected; {} sources tracked",
            l.limit,
            secs(l.period_s),
            l.action,
            l.denied,
            l.tarpitted,
            l.rejected_connections,
            l.tracked_sources
        );
    }
    if let Some(f) = &r.flood {
        let _ = writeln!(
            o,
            "flood: {} requests from {} sources, {} of them served; legitimate users: {} served",
            f.arrived,
            f.sources,
            pct(f.availability),
            pct(f.legitimate_availability)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_shows_its_first_digit_that_is_not_a_nine() {
        assert_eq!(availability(1.0), "100.000%");
        assert_eq!(availability(0.98825), "98.825%");
        assert_eq!(availability(0.99959), "99.959%");
        assert_eq!(availability(0.99995), "99.9950%");
        assert_eq!(availability(0.99999), "99.9990%");
        // 6.4 nines: four decimals would print 100.0000%.
        assert_eq!(availability(0.9999996), "99.999960%");
        assert_eq!(availability(1.0 - 3e-9), "99.99999970%");
        assert_eq!(availability(f64::NAN), "n/a (no request finished)");
    }
}
