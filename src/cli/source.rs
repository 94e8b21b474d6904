//! The scenario a result came from. `summary.json` and `study.json` record the scenario's path
//! as it was given, usually relative to the folder the run was made in: `replay` and `merge`
//! look for it there, then relative to each folder above the result (results live inside the
//! project, `results/<name>/`), and take the copy whose bytes hash as recorded.

use infrasim::scenario::{self, Scenario};
use std::path::{Path, PathBuf};

/// The recorded scenario, found and loaded with its recorded overrides; `exact` when its hash is
/// the recorded one. Err when no candidate exists or loads.
pub struct Found {
    pub scenario: Scenario,
    pub exact: bool,
}

pub fn locate(
    recorded: &str,
    hash: &str,
    overrides: &[String],
    near: &Path,
) -> Result<Found, String> {
    let rel = Path::new(recorded);
    let mut candidates: Vec<PathBuf> = vec![rel.to_path_buf()];
    if rel.is_relative() {
        let base = std::fs::canonicalize(near).unwrap_or_else(|_| near.to_path_buf());
        candidates.extend(base.ancestors().map(|a| a.join(rel)));
    }
    let mut fallback: Option<Result<Scenario, String>> = None;
    for c in candidates {
        if !c.is_file() {
            continue;
        }
        match scenario::load(&c, overrides) {
            Ok(sc) if sc.source_hash == hash => {
                return Ok(Found {
                    scenario: sc,
                    exact: true,
                });
            }
            other => {
                fallback.get_or_insert(other.map_err(|e| e.to_string()));
            }
        }
    }
    match fallback {
        Some(Ok(scenario)) => Ok(Found {
            scenario,
            exact: false,
        }),
        Some(Err(e)) => Err(e),
        None => Err(format!(
            "error: the scenario {recorded} that {} records is not found, neither from the current \
             folder nor from any folder above {}: run from the folder the run was made in",
            near.display(),
            near.display()
        )),
    }
}
