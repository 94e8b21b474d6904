//! The run told in plain words: what failed, how long users felt it, what it cost.
//! Built from the results alone, so it can never disagree with the numbers.

use super::results::{FaultReport, RunResults};

fn dur(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

pub fn tell(r: &RunResults) -> Vec<String> {
    let mut out = vec![];
    let q = &r.requests;
    let finished = q.completed + q.failed;
    if finished == 0 {
        out.push(
            "No request finished after the warm-up: nothing to measure availability or latency \
             on."
            .into(),
        );
    } else if q.failed == 0 {
        out.push(format!(
            "All {} requests after the warm-up were served; none failed.",
            q.completed
        ));
    } else {
        let mut causes: Vec<(&String, &u64)> = r.errors.iter().filter(|(_, n)| **n > 0).collect();
        causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = causes.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push(format!(
            "{} of {} requests failed ({:.3}% served): {}.",
            q.failed,
            finished,
            r.availability * 100.0,
            list.join(", ")
        ));
    }
    slo(r, &mut out);
    // A server failure's N-1 state, when the others cannot carry the load.
    let is_server = |c: &str| {
        r.servers
            .iter()
            .any(|s| c == s.name || c == format!("{}.app", s.name))
    };
    let n_minus_1 = r
        .capacity
        .degraded
        .iter()
        .find(|g| g.state.ends_with(" down"))
        .filter(|g| !g.stable);
    for f in &r.faults {
        let mut s = format!("{} {} at {}", f.component, verb(&f.kind), dur(f.start_s));
        match (f.detected_s, f.time_to_detect_s) {
            (Some(_), Some(d)) => s += &format!("; detected after {}", dur(d)),
            _ => s += "; nothing detected it",
        }
        let routed_around = f.time_to_recover_s.is_some_and(|d| {
            n_minus_1.is_some()
                && is_server(&f.component)
                && f.end_s.is_none_or(|e| f.start_s + d < e)
        });
        match f.time_to_recover_s {
            // Routing around a server the others cannot replace, before its repair, ends its
            // errors, not what users feel: the overload goes on until it is back
            // (retry_storm.toml: routed around after 5.1 s, 75,000 requests failed over the
            // next minute).
            Some(d) if routed_around => {
                s += &format!(
                    "; routed around after {}, then users felt the others' overload",
                    dur(d)
                )
            }
            Some(d) => s += &format!("; users felt it for {}", dur(d)),
            None => s += "; users still felt it at the end of the run",
        }
        match f.end_s {
            Some(e) => s += &format!("; repaired at {}.", dur(e)),
            None => s += "; never repaired.",
        }
        after_recovery(r, f, routed_around, &mut s);
        out.push(s);
    }
    let fo = &r.failover;
    if fo.write_unavailable_s > 0.0 {
        out.push(format!(
            "Writes were impossible for {} in total (no primary).",
            dur(fo.write_unavailable_s)
        ));
    }
    if fo.promotions > 0 {
        out.push(format!(
            "{} promotion(s); {} is primary at the end. {} acknowledged transaction(s) were lost \
             because they had not reached the promoted replica.",
            fo.promotions, fo.final_primary, fo.lost_transactions
        ));
    }
    if fo.semi_sync_fallbacks > 0 {
        out.push(format!(
            "Semi-synchronous replication timed out {} time(s) and fell back to asynchronous.",
            fo.semi_sync_fallbacks
        ));
    }
    if fo.stale_reads > 0 {
        out.push(format!(
            "{} read(s) ({:.4}% of replica reads) missed the same client's earlier write \
             (replication lag broke read-your-writes).",
            fo.stale_reads,
            fo.stale_read_fraction * 100.0
        ));
    }
    for x in &r.replication {
        if x.lag_max > 1.0 {
            out.push(format!(
                "Replication lag on {} reached {} (mean {}).",
                x.name,
                dur(x.lag_max),
                dur(x.lag_mean)
            ));
        }
    }
    // A server failure during the run: could the others carry its share?
    let server_failed = r.faults.iter().any(|f| is_server(&f.component));
    if server_failed && let Some(g) = n_minus_1 {
        out.push(format!(
            "With one server down the others cannot carry the load: {} is offered {:.0}% of its \
             capacity, so queues and errors grow for as long as the failure lasts.",
            g.bottleneck,
            g.rho * 100.0
        ));
    }
    if fo.semi_sync_stalled_commits > 0 {
        out.push(format!(
            "{} commit(s) were waiting for a semi-sync acknowledgement that never came when the \
             timeout switched replication to asynchronous, holding their application workers \
             meanwhile.",
            fo.semi_sync_stalled_commits
        ));
    }
    let retries: u64 = r.servers.iter().map(|s| s.retries).sum();
    let redispatches: u64 = r.servers.iter().map(|s| s.redispatches).sum();
    if retries + redispatches > 0 {
        out.push(format!(
            "HAProxy retried {retries} connection(s) on the same server and redispatched {} \
             to another one.",
            redispatches
        ));
    }
    people(r, &mut out);
    if !r.capacity.stable {
        let b = &r.capacity.bottleneck;
        if let Some(replica) = b.strip_suffix(".applier") {
            out.push(format!(
                "Replication to {replica} cannot keep up with the write rate: its lag grows \
                 for as long as the load lasts."
            ));
        } else {
            out.push(format!(
                "The offered load exceeds the capacity of {b}: queues grow until limits \
                 reject requests."
            ));
        }
    }
    out
}

/// What failed after a fault's recovery, when it is not negligible (1% of the run's failures
/// or more): the failures its "users felt it for" leaves out, such as the clients of a silent
/// load balancer who give up at their connect timeout after its repair, or come back together
/// and fill HAProxy's queue (`lb_down.toml --set 'faults[0].kind=down'`). `routed_around`:
/// the recovery was routing around a server the others cannot replace, as the line says.
fn after_recovery(r: &RunResults, f: &FaultReport, routed_around: bool, s: &mut String) {
    let Some(a) = f.after_recovery.as_ref().filter(|a| a.failed > 0) else {
        return;
    };
    let (Some(at), Some(first), Some(last)) = (f.recovered_s, a.first_failure_s, a.last_failure_s)
    else {
        return;
    };
    if a.failed * 100 < r.requests.failed {
        return;
    }
    let mut causes: Vec<(&String, &u64)> = a.errors.iter().collect();
    causes.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    let list: Vec<String> = causes.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let after = if f.end_s == Some(at) {
        "After the repair".to_string()
    } else if routed_around {
        format!("After it was routed around at {}", dur(at))
    } else {
        format!("After its recovery at {}", dur(at))
    };
    let end = if r.duration_s - last < 1.0 {
        ", when the run ended"
    } else {
        ""
    };
    let lived = match a.arrived_before {
        0 => "none".to_string(),
        n if n == a.failed => "all".to_string(),
        n => n.to_string(),
    };
    // Said once when both ends read alike (5 connections lost together 117.4 s after it).
    let (from, to) = (dur(first - at), dur(last - at));
    let when = if from == to {
        format!("{to} after it")
    } else {
        format!("from {from} to {to} after it")
    };
    *s += &format!(
        " {after}, {} more requests failed, {when}{end}: {}; {lived} of them had arrived before \
         it.",
        a.failed,
        list.join(", ")
    );
}

/// The run against its `[slo]`: served within the latency, the error budget, the percentiles.
fn slo(r: &RunResults, out: &mut Vec<String>) {
    let (Some(s), Some(a)) = (&r.slo, r.slo_availability) else {
        return;
    };
    if a.is_nan() {
        return;
    }
    out.push(format!(
        "Against the latency objective of {}, {:.3}% of requests were served within it: {} \
         slower, {} failed.",
        time(s.latency_s),
        a * 100.0,
        s.slow,
        s.failed
    ));
    if let Some(b) = &s.budget {
        let bad = s.slow + s.failed;
        let used = if b.budget_consumed.is_finite() {
            format!("{:.0}% of the budget used", b.budget_consumed * 100.0)
        } else {
            "no budget to use".into()
        };
        out.push(format!(
            "The target of {}% allowed {:.1} bad requests (the error budget); {bad} were bad: \
             {used}; the objective is {}.",
            b.target * 100.0,
            b.allowed_bad_requests,
            if b.met == Some(true) { "met" } else { "missed" }
        ));
    }
    let checks: Vec<String> = s
        .percentiles
        .iter()
        .filter(|p| p.met.is_some())
        .map(|p| {
            format!(
                "{} {} (target {}: {})",
                p.name,
                time(p.observed_s),
                time(p.target_s),
                if p.met == Some(true) { "met" } else { "missed" }
            )
        })
        .collect();
    if !checks.is_empty() {
        out.push(format!("Percentile targets: {}.", checks.join("; ")));
    }
}

/// A response time with the precision a percentile needs.
fn time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} us", s * 1e6)
    }
}

fn verb(kind: &str) -> String {
    match kind {
        "crash" => "failed".into(),
        "down" => "went silent (down)".into(),
        "blackhole" => "was blackholed".into(),
        other => format!("became {other}"),
    }
}

/// What HTTPS cost, what a flood and the per-source limit did, and the users who left.
fn people(r: &RunResults, out: &mut Vec<String>) {
    if let Some(t) = &r.lb.tls {
        out.push(format!(
            "HTTPS handshakes ({}) took {} of HAProxy's thread time: {} full, {} resumed, {} \
             requests on kept-alive connections.",
            t.key,
            dur(t.handshake_cpu_s),
            t.full_handshakes,
            t.resumed_handshakes,
            t.reused_connections
        ));
    }
    if let Some(f) = &r.flood {
        out.push(format!(
            "A flood sent {} requests from {} source(s); {:.1}% of them were served, and the \
             legitimate users saw {:.2}% of theirs served.",
            f.arrived,
            f.sources,
            f.availability * 100.0,
            f.legitimate_availability * 100.0
        ));
    }
    if let Some(l) =
        r.lb.rate_limit
            .as_ref()
            .filter(|l| l.denied + l.tarpitted + l.rejected_connections > 0)
    {
        out.push(format!(
            "HAProxy's per-source limit denied {} request(s), tarpitted {} and rejected {} \
             connection(s).",
            l.denied, l.tarpitted, l.rejected_connections
        ));
    }
    if let Some(u) = &r.users
        && let Some(a) = u.sessions_abandoned.filter(|&a| a > 0)
    {
        out.push(format!(
            "Users left {a} of {} sessions after a failed page; the request availability does \
             not count the pages they did not come back for.",
            u.sessions
        ));
    }
}
