//! Every numeric figure of a run's summary as a flat list of named values, the unit that
//! sweeps aggregate and assertions test ("latency.p99", "servers.web-01.app_utilisation").

use crate::engine::SimTime;
use crate::model::timeline::NoRows;
use crate::model::{Config, RunResults, Stack};
use serde_json::Value;
use std::collections::BTreeSet;

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

/// Every metric a run of `cfg` reports, known before it runs (so that an assertion on a
/// misspelt metric is refused at once): the keys of a run of `cfg` cut to its first nanosecond,
/// which has the same servers, nodes and causes. A figure that short run could not measure (a
/// latency quantile without requests) still names its key.
pub fn names(cfg: &Config) -> BTreeSet<String> {
    let mut probe = cfg.clone();
    probe.duration = SimTime::from_nanos(1);
    probe.warmup = SimTime::ZERO;
    probe.failures.scheduled.clear();
    probe.failures.random.clear();
    let r = Stack::run_with(&probe, 0, &mut NoRows);
    let v = serde_json::to_value(&r).unwrap_or(Value::Null);
    let mut out = BTreeSet::new();
    if let Value::Object(map) = v {
        for (k, v) in map {
            if SKIP.contains(&k.as_str()) || k == "faults" || k == "story" {
                continue;
            }
            let mut found = vec![];
            walk_all(&k, &v, &mut found, true);
            out.extend(found.into_iter().map(|(k, _)| k));
        }
    }
    out
}

fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
    walk_all(prefix, v, out, false)
}

/// Collects the numeric leaves under `prefix`; with `nulls`, also those that are null (a
/// figure with no value in this run).
fn walk_all(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>, nulls: bool) {
    match v {
        Value::Null if nulls => out.push((prefix.to_string(), f64::NAN)),
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        Value::Bool(b) => out.push((prefix.to_string(), if *b { 1.0 } else { 0.0 })),
        Value::Object(map) => {
            for (k, v) in map {
                walk_all(&format!("{prefix}.{k}"), v, out, nulls);
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Some(name) = item.get("name").and_then(Value::as_str) {
                    walk_all(&format!("{prefix}.{name}"), item, out, nulls);
                }
            }
        }
        _ => {}
    }
}

/// The short names [`resolve_alias`] knows, for messages.
pub const ALIASES: &str = "availability, p50, p90, p99, p999, latency, max_latency, throughput, \
                           failed, completed, lost_transactions, stale_reads, write_unavailable, \
                           slo_availability, error_budget (with [slo])";

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
        "error_budget" | "budget_consumed" => "slo.budget_consumed",
        other => other,
    }
}

/// Why `metric` is not reported by a run of `cfg` because of its `[slo]` section (none, no
/// `target`, or not that percentile target), in words for an error message; None when it is not
/// an SLO figure or the scenario measures it.
pub fn slo_requirement(metric: &str, cfg: &Config) -> Option<String> {
    let class_figure = metric.starts_with("classes.")
        && (metric.ends_with(".slo_availability") || metric.ends_with(".good"));
    let is_slo = metric == "slo_availability" || metric.starts_with("slo.") || class_figure;
    if !is_slo {
        return None;
    }
    let Some(slo) = &cfg.slo else {
        return Some(format!(
            "'{metric}' judges requests against a latency objective, and the scenario has no \
             [slo] section: add one (e.g. `[slo]` with `latency = \"1s\"`) or \
             --set slo.latency=1s"
        ));
    };
    let budget = [
        "slo.target",
        "slo.allowed_bad_fraction",
        "slo.allowed_bad_requests",
        "slo.budget_consumed",
        "slo.met",
    ];
    if budget.contains(&metric) && slo.target.is_none() {
        return Some(format!(
            "'{metric}' is part of the error budget, which needs a target: add `target` to \
             [slo] (e.g. target = 0.999) or --set slo.target=0.999"
        ));
    }
    let percentile = metric
        .strip_prefix("slo.percentiles.")
        .and_then(|rest| rest.split('.').next());
    if let Some(p) = percentile {
        let set = slo
            .percentiles
            .iter()
            .any(|&(q, _)| crate::model::slo::percentile_name(q) == p);
        if !set {
            return Some(format!(
                "'{metric}' checks a percentile target the scenario does not set: add `{p}` to \
                 [slo] (e.g. {p} = \"500ms\"); the reported percentiles are latency.p50, \
                 latency.p90, latency.p99 and latency.p999"
            ));
        }
    }
    None
}
