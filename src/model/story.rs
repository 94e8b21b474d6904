//! The run told in plain words: what failed, how long users felt it, what it cost.
//! Built from the results alone, so it can never disagree with the numbers.

use super::results::RunResults;

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
    for f in &r.faults {
        let mut s = format!("{} {} at {}", f.component, verb(&f.kind), dur(f.start_s));
        match (f.detected_s, f.time_to_detect_s) {
            (Some(_), Some(d)) => s += &format!("; detected after {}", dur(d)),
            _ => s += "; nothing detected it",
        }
        match f.time_to_recover_s {
            Some(d) => s += &format!("; users felt it for {}", dur(d)),
            None => s += "; users still felt it at the end of the run",
        }
        match f.end_s {
            Some(e) => s += &format!("; repaired at {}.", dur(e)),
            None => s += "; never repaired.",
        }
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
    let server_failed = r.faults.iter().any(|f| {
        r.servers
            .iter()
            .any(|s| f.component == s.name || f.component == format!("{}.app", s.name))
    });
    let n_minus_1 = r
        .capacity
        .degraded
        .iter()
        .find(|g| g.state.ends_with(" down"));
    if server_failed && let Some(g) = n_minus_1.filter(|g| !g.stable) {
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

fn verb(kind: &str) -> String {
    match kind {
        "crash" => "failed".into(),
        "down" => "went silent (down)".into(),
        "blackhole" => "was blackholed".into(),
        other => format!("became {other}"),
    }
}
