//! Where results go and how they are written: the output folder of each command, and whole
//! study folders built aside and swapped in.

use infrasim::experiment::Shard;
use infrasim::report::atomic;
use infrasim::report::study::StudyRecord;
use std::path::{Path, PathBuf};

pub fn out_dir(args_out: &Option<PathBuf>, name: &str, shard: Option<Shard>) -> PathBuf {
    args_out.clone().unwrap_or_else(|| {
        let base = PathBuf::from("results");
        match shard {
            Some(s) => base.join(format!("{name}.shard-{}-of-{}", s.k, s.n)),
            None => base.join(name),
        }
    })
}

/// Writes a study folder: `study.json`, `runs.csv`, the `more` files, then whatever `extra`
/// adds (charts, `index.html`), all built aside and swapped in whole.
pub fn write_study(
    out: &Path,
    record: &StudyRecord,
    runs_csv: &[u8],
    more: &[(&str, Vec<u8>)],
    extra: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
    atomic::replace_dir(out, |tmp| {
        atomic::write_file(&tmp.join("study.json"), &json)?;
        atomic::write_file(&tmp.join("runs.csv"), runs_csv)?;
        for (name, bytes) in more {
            atomic::write_file(&tmp.join(name), bytes)?;
        }
        extra(tmp)
    })
    .map_err(|e| format!("error: writing results to {}: {e}", out.display()))
}

pub fn tables(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, f)| (l.to_string(), f.to_string()))
        .collect()
}
