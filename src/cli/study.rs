//! What sweeps, Monte Carlo studies and the ladder share: the size check on a study and the
//! worker pool.

use infrasim::scenario;

/// Studies are limited to 1 to 1,000,000 runs: beyond, the run rows alone would not fit in
/// memory comfortably; split a bigger study into shards (`--shard`) on several machines.
pub fn check_count(what: &str, n: u64) -> Result<(), String> {
    let max = scenario::study::MAX_RUNS as u64;
    if n == 0 {
        return Err(format!("error: {what} must be at least 1"));
    }
    if n > max {
        return Err(format!(
            "error: {what} = {n} is more than the {max} runs one study may hold; use fewer, \
             or split the study with --shard K/N and combine with `simulate merge`"
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
