//! `summary.json`: the run's results with their provenance. Field names are stable and
//! documented in `docs/outputs.md`; serde_json prints floats with the shortest exact
//! representation, so the same run always gives the same bytes.

use super::Provenance;
use crate::model::RunResults;
use serde::Serialize;

#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    provenance: &'a Provenance,
    #[serde(flatten)]
    results: &'a RunResults,
}

pub fn to_json(results: &RunResults, prov: &Provenance) -> std::io::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(&Summary {
        provenance: prov,
        results,
    })
    .map_err(std::io::Error::other)?;
    out.push(b'\n');
    Ok(out)
}
