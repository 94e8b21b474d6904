//! Per-component CSV tables of one run.

use super::num;
use crate::model::RunResults;
use crate::model::results::TimelineColumns;
use crate::model::timeline::{TimelineRow, TimelineSink};
use serde::Serialize;
use std::io::Write;

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

/// `classes.csv`: one row per request class (the mix's, then the flood's): counts,
/// availability (and the SLO's with `[slo]`), the latency of its successful requests, and its
/// failures by cause (every cause the run reports, as in `summary.json`'s `errors`).
pub fn classes(r: &RunResults) -> std::io::Result<Vec<u8>> {
    let slo = r.slo.is_some();
    let mut header: Vec<String> = ["name", "arrived", "completed", "failed", "availability"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if slo {
        header.extend(["good".to_string(), "slo_availability".to_string()]);
    }
    header.extend(
        ["mean", "std", "p50", "p90", "p99", "p999", "max"]
            .iter()
            .map(|s| format!("latency.{s}")),
    );
    header.extend(r.errors.keys().map(|c| format!("errors.{c}")));
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(&header).map_err(std::io::Error::other)?;
    for c in &r.classes {
        let mut row = vec![
            c.name.clone(),
            c.arrived.to_string(),
            c.completed.to_string(),
            c.failed.to_string(),
            fmt(c.availability),
        ];
        if slo {
            row.push(c.good.map_or(String::new(), |g| g.to_string()));
            row.push(fmt(c.slo_availability.unwrap_or(f64::NAN)));
        }
        let l = &c.latency;
        row.extend([l.mean, l.std, l.p50, l.p90, l.p99, l.p999, l.max].map(fmt));
        row.extend(
            r.errors
                .keys()
                .map(|k| c.errors.get(k).copied().unwrap_or(0).to_string()),
        );
        w.write_record(&row).map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// `waits.csv`: one row per stage a request can queue at (`summary.json`'s `waits[]`).
pub fn waits(r: &RunResults) -> std::io::Result<Vec<u8>> {
    to_csv(&r.waits)
}

/// `timeline.csv` of rows a run kept (`Stack::run`): what [`TimelineCsv`] writes as a run
/// streams them.
pub fn timeline(r: &RunResults) -> std::io::Result<Vec<u8>> {
    let mut w = TimelineCsv::new(vec![]);
    w.columns(&r.timeline_columns);
    for row in &r.timeline {
        w.row(row);
    }
    w.finish()
}

/// `timeline.csv`, written row by row as the run makes them (a [`TimelineSink`]): one row per
/// interval; per-cause error, per-server state and per-node lag columns are named after the
/// components. Nothing is held but the CSV writer's buffer, so a run of a million rows of a
/// thousand servers writes its file in constant memory. The first write error is kept and
/// returned by [`TimelineCsv::finish`] (the run itself cannot stop on it).
pub struct TimelineCsv<W: Write> {
    w: csv::Writer<W>,
    error: Option<std::io::Error>,
}

impl<W: Write> TimelineCsv<W> {
    pub fn new(out: W) -> Self {
        TimelineCsv {
            w: csv::Writer::from_writer(out),
            error: None,
        }
    }

    /// Flushes the rows and returns the output, or the first error met.
    pub fn finish(self) -> std::io::Result<W> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    fn write(&mut self, f: impl FnOnce(&mut csv::Writer<W>) -> csv::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.w)
        {
            self.error = Some(std::io::Error::other(e));
        }
    }
}

impl<W: Write> TimelineSink for TimelineCsv<W> {
    fn columns(&mut self, cols: &TimelineColumns) {
        let mut header: Vec<String> = ["t_s", "arrivals", "completed", "failed", "p50_s", "p99_s"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(cols.causes.iter().map(|c| format!("errors.{c}")));
        header.extend(cols.servers.iter().map(|s| format!("state.{s}")));
        header.extend(cols.db_nodes.iter().map(|n| format!("lag_s.{n}")));
        header.push("primary".into());
        header.push("lb".into());
        self.write(|w| w.write_record(&header));
    }

    fn row(&mut self, row: &TimelineRow) {
        self.write(|w| {
            w.write_field(fmt(row.t))?;
            w.write_field(row.arrivals.to_string())?;
            w.write_field(row.completed.to_string())?;
            w.write_field(row.failed.to_string())?;
            w.write_field(fmt(row.p50))?;
            w.write_field(fmt(row.p99))?;
            for e in &row.errors {
                w.write_field(e.to_string())?;
            }
            for s in &row.servers {
                w.write_field(s)?;
            }
            for &l in &row.lag {
                w.write_field(if l.is_nan() { String::new() } else { fmt(l) })?;
            }
            w.write_field(&row.primary)?;
            w.write_field(&row.lb)?;
            w.write_record(std::iter::empty::<&[u8]>())
        });
    }
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
