//! Per-component CSV tables of one run.

use super::num;
use crate::model::RunResults;
use serde::Serialize;

/// Rows as CSV, floats rounded ([`num::measured`]); the `name` column is left as written.
fn to_csv<T: Serialize>(rows: &[T]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    num::tidy_csv(&bytes, &["name", "component", "detail"])
}

pub fn servers(r: &RunResults) -> std::io::Result<Vec<u8>> {
    to_csv(&r.servers)
}

pub fn database(r: &RunResults) -> std::io::Result<Vec<u8>> {
    to_csv(&r.database)
}

pub fn replication(r: &RunResults) -> std::io::Result<Vec<u8>> {
    if r.replication.is_empty() {
        // csv writes nothing for no rows; keep the header so the file is self-describing
        return Ok(b"name,lag_mean,lag_p99,lag_max,transactions_applied,backlog_end\n".to_vec());
    }
    to_csv(&r.replication)
}

/// `timeline.csv`: one row per interval; per-server state, per-node lag and per-cause error
/// columns are named after the components.
pub fn timeline(r: &RunResults) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    let cols = &r.timeline_columns;
    let mut header: Vec<String> = ["t_s", "arrivals", "completed", "failed", "p50_s", "p99_s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(cols.causes.iter().map(|c| format!("errors.{c}")));
    header.extend(cols.servers.iter().map(|s| format!("state.{s}")));
    header.extend(cols.db_nodes.iter().map(|n| format!("lag_s.{n}")));
    header.push("primary".into());
    header.push("lb".into());
    w.write_record(&header).map_err(std::io::Error::other)?;
    for row in &r.timeline {
        let mut rec: Vec<String> = vec![
            fmt(row.t),
            row.arrivals.to_string(),
            row.completed.to_string(),
            row.failed.to_string(),
            fmt(row.p50),
            fmt(row.p99),
        ];
        rec.extend(row.errors.iter().map(|e| e.to_string()));
        rec.extend(row.servers.iter().map(|s| s.to_string()));
        rec.extend(
            row.lag
                .iter()
                .map(|&l| if l.is_nan() { String::new() } else { fmt(l) }),
        );
        rec.push(row.primary.clone());
        rec.push(row.lb.clone());
        w.write_record(&rec).map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// `events.csv`: faults, detections, failovers, promotions, repairs, in time order.
pub fn events(r: &RunResults) -> std::io::Result<Vec<u8>> {
    let mut log = r.event_log.clone();
    log.sort_by(|a, b| a.t.total_cmp(&b.t));
    if log.is_empty() {
        return Ok(b"t,component,event,detail\n".to_vec());
    }
    to_csv(&log)
}

/// A float of one run, without binary noise ([`num::measured`]).
fn fmt(x: f64) -> String {
    num::measured(x)
}
