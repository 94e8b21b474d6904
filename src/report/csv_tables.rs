//! Per-component CSV tables of one run.

use crate::model::RunResults;
use serde::Serialize;

fn to_csv<T: Serialize>(rows: &[T]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
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
