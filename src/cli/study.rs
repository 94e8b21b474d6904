//! What sweeps, Monte Carlo studies and the ladder share: the size check on a study and the
//! worker pool.

use infrasim::scenario;
use std::path::Path;

/// Studies are limited to 1 to 1,000,000 runs: beyond, the run rows alone would not fit in
/// memory comfortably; split a bigger study into shards (`--shard`) on several machines.
/// Errors name the scenario `file` of the study.
pub fn check_count(file: &Path, what: &str, n: u64) -> Result<(), String> {
    let max = scenario::study::MAX_RUNS as u64;
    let file = file.display();
    if n == 0 {
        return Err(format!("error: {file}: {what} must be at least 1"));
    }
    if n > max {
        return Err(format!(
            "error: {file}: {what} = {n} is more than the {max} runs one study may hold; use \
             fewer, or split the study with --shard K/N and combine with `simulate merge`"
        ));
    }
    Ok(())
}

/// Most figures a study may hold, runs times the figures of one run: every run is kept in memory
/// (and in `runs.csv`) to compute the intervals, so 20 million figures are about 1.5 GB at
/// most. A scenario with 10,000 servers reports some 100,000 figures per run: 200 runs.
pub const MAX_VALUES: u64 = 20_000_000;

/// Refuses a study whose runs would hold more than [`MAX_VALUES`] figures.
pub fn check_values(file: &Path, runs: u64, per_run: u64) -> Result<(), String> {
    let total = runs.saturating_mul(per_run);
    if total > MAX_VALUES {
        return Err(format!(
            "error: {}: the study would keep {runs} runs of {per_run} figures each ({total} in all), \
             more than the {MAX_VALUES} one study may hold in memory: run fewer replications or \
             points, or a smaller system",
            file.display()
        ));
    }
    Ok(())
}

pub fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err("error: --threads must be at least 1".into());
        }
        b = b.num_threads(n);
    }
    b.build()
        .map_err(|e| format!("error: cannot start worker threads: {e}"))
}

/// The command that reproduces a study's folder, from what the study recorded (so a merged,
/// resumed or multi-threaded study shows the same one): the scenario file, its overrides,
/// then `tail` (`--replications N`, `--montecarlo --runs N`), then a `--sweep` for every swept
/// parameter the scenario file's own `[sweep]` does not hold. Options that do not change the
/// results (`--out`, `--threads`, `--resume`, `--shard`) are left out.
pub fn reproduce(
    record: &infrasim::report::study::StudyRecord,
    tail: &[String],
) -> infrasim::report::html::Reproduce {
    use infrasim::report::html::{Reproduce, shell_words};
    let mut words = vec!["simulate".to_string(), record.scenario_file.clone()];
    for o in &record.overrides {
        words.push("--set".into());
        words.push(o.clone());
    }
    words.extend(tail.iter().cloned());
    let mut page = Reproduce::new(String::new(), std::slice::from_ref(&record.scenario_file));
    let in_file: Vec<String> = page
        .scenarios
        .first()
        .and_then(|(_, t)| t.as_deref())
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            let p = t.get("sweep")?.get("parameters")?.as_table()?;
            Some(p.keys().cloned().collect())
        })
        .unwrap_or_default();
    if record.kind == "sweep" {
        for (key, values) in &record.parameters {
            if !in_file.contains(key) {
                words.push("--sweep".into());
                words.push(format!("{key}={}", values.join(",")));
            }
        }
    }
    page.command = shell_words(&words);
    page
}
