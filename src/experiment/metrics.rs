//! Every numeric figure of a run's summary as a flat list of named values, the unit that
//! sweeps aggregate and assertions test ("latency.p99", "servers.web-01.app_utilisation").

use crate::model::RunResults;
use serde_json::Value;

/// Keys that describe the run rather than measure it.
const SKIP: [&str; 6] = [
    "seed",
    "run",
    "duration_s",
    "warmup_s",
    "measured_s",
    "capacity",
];

/// Flattens the summary: objects nest with `.`, arrays of named objects by their name.
/// Fault records and strings are left out (they vary in number between runs).
pub fn flatten(r: &RunResults) -> Vec<(String, f64)> {
    let v = serde_json::to_value(r).unwrap_or(Value::Null);
    let mut out = vec![];
    if let Value::Object(map) = v {
        for (k, v) in map {
            if SKIP.contains(&k.as_str()) || k == "faults" || k == "story" {
                continue;
            }
            walk(&k, &v, &mut out);
        }
    }
    out
}

fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        Value::Bool(b) => out.push((prefix.to_string(), if *b { 1.0 } else { 0.0 })),
        Value::Object(map) => {
            for (k, v) in map {
                walk(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Some(name) = item.get("name").and_then(Value::as_str) {
                    walk(&format!("{prefix}.{name}"), item, out);
                }
            }
        }
        _ => {}
    }
}

/// Short names accepted in assertions and tables, mapped to full metric keys.
pub fn resolve_alias(name: &str) -> &str {
    match name {
        "p50" => "latency.p50",
        "p90" => "latency.p90",
        "p99" => "latency.p99",
        "p999" | "p99.9" => "latency.p999",
        "mean_latency" | "latency" => "latency.mean",
        "max_latency" => "latency.max",
        "throughput" => "throughput_rps",
        "lost_transactions" => "failover.lost_transactions",
        "stale_reads" => "failover.stale_reads",
        "write_unavailable" => "failover.write_unavailable_s",
        "failed" => "requests.failed",
        "completed" => "requests.completed",
        other => other,
    }
}
