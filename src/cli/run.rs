//! The default command, `simulate SCENARIO`: loads the scenario and runs it once, or hands it to
//! the sweep or the Monte Carlo study it asks for. An option that does not apply to what runs
//! is refused, never silently ignored.

use super::Outcome;
use super::args::{Output as Wanted, RunArgs};
use super::gate::{Gate, judge};
use super::output::{Output, default_dir, run_and_write};
use super::print;
use super::study::pool;
use super::{montecarlo, sweep};
use infrasim::experiment::Shard;
use infrasim::experiment::metrics::{self, flatten};
use infrasim::report::{self, Provenance};
use infrasim::scenario::{self, Scenario, study::parse_sweep_arg};
use infrasim::stats::MeanCi;

/// What the arguments and the scenario ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Single,
    Sweep,
    MonteCarlo,
}

pub fn run(args: RunArgs) -> Outcome {
    let mut gate = Gate::new(&args.gate)?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| format!("error: {e}"))?;
    let path = args
        .scenario
        .clone()
        .ok_or("error: a scenario file is required")?;
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    let sc = scenario::load(&path, &overrides).map_err(|e| e.to_string())?;
    let mut params: Vec<(String, Vec<String>)> = sc
        .study
        .sweep
        .as_ref()
        .map(|s| {
            s.parameters
                .iter()
                .map(|p| (p.key.clone(), p.values.clone()))
                .collect()
        })
        .unwrap_or_default();
    let in_file = params.len();
    for s in &args.sweep {
        let p = parse_sweep_arg(s).map_err(|e| format!("error: {e}"))?;
        check_swept_key(&sc, &params, in_file, s, &p.key)?;
        params.push((p.key, p.values));
    }
    let wants_sweep = !params.is_empty() || args.replications.is_some() || sc.study.sweep.is_some();
    let mode = if args.montecarlo || (sc.study.montecarlo.is_some() && !wants_sweep) {
        Mode::MonteCarlo
    } else if wants_sweep {
        Mode::Sweep
    } else {
        Mode::Single
    };
    check_applicable(&args, mode, &sc)?;
    if args.json {
        gate = gate.verdicts_to_stderr();
    }
    let prov = Provenance::new(&path, &sc.source_hash, &overrides);
    match mode {
        Mode::MonteCarlo => {
            let pool = pool(args.threads)?;
            pool.install(|| montecarlo::monte_carlo(&sc, &args, &prov, shard, &gate))
        }
        Mode::Sweep => {
            let pool = pool(args.threads)?;
            pool.install(|| sweep::sweep_study(&sc, &args, &prov, params, shard, &gate))
        }
        Mode::Single => single(&sc, &args, &prov, &gate),
    }
}

/// Refuses `--sweep arg` (key `key`) when it sweeps no scenario value, or a value that a
/// parameter before it already sweeps: `params[..in_file]` come from the file's `[sweep]`,
/// the rest from earlier `--sweep`s. Two overrides of one value leave only the last in
/// effect, and sweep.csv would label the points with values they did not run.
fn check_swept_key(
    sc: &Scenario,
    params: &[(String, Vec<String>)],
    in_file: usize,
    arg: &str,
    key: &str,
) -> Result<(), String> {
    use infrasim::scenario::study::{overlap, unsweepable};
    if let Some(why) = unsweepable(key) {
        return Err(format!("error: --sweep {arg}: {why}"));
    }
    for (i, (earlier, _)) in params.iter().enumerate() {
        let Some(how) = overlap(key, earlier) else {
            continue;
        };
        if i < in_file {
            let problem = scenario::Problem::new(
                format!("sweep.parameters.\"{earlier}\""),
                format!(
                    "is also swept by --sweep {arg} (`{key}` {how} it): sweep each value once, \
                     in the file or on the command line"
                ),
            );
            return Err(sc.error(vec![problem]).to_string());
        }
        return Err(format!(
            "error: --sweep {arg}: `{key}` {how} `{earlier}`, swept by an earlier --sweep: \
             sweep each value once"
        ));
    }
    Ok(())
}

/// Refuses the options that do not apply to `mode`, saying where they do.
fn check_applicable(args: &RunArgs, mode: Mode, sc: &Scenario) -> Result<(), String> {
    let refuse = |option: &str, why: &str| Err(format!("error: {option} {why}"));
    let study = matches!(mode, Mode::Sweep | Mode::MonteCarlo);
    if args.runs.is_some() && mode != Mode::MonteCarlo {
        let hint = if sc.study.montecarlo.is_none() && mode == Mode::Single {
            " (add --montecarlo)"
        } else {
            ""
        };
        return refuse(
            "--runs",
            &format!("sets the runs of a Monte Carlo study{hint}; a sweep takes --replications"),
        );
    }
    if mode == Mode::MonteCarlo {
        if args.replications.is_some() {
            return refuse(
                "--replications",
                "applies to sweeps; a Monte Carlo study takes --runs",
            );
        }
        if !args.sweep.is_empty() {
            return refuse(
                "--sweep",
                "cannot be combined with a Monte Carlo study (--montecarlo or the scenario's \
                 [montecarlo] section); run the sweep without --montecarlo",
            );
        }
    }
    if args.json && study {
        return refuse(
            "--json",
            "prints the summary.json of a single run; a study writes study.json, runs.csv and \
             its aggregates to its folder (--output summary writes only those)",
        );
    }
    if !study {
        if args.resume {
            return refuse(
                "--resume",
                "continues an interrupted study (a sweep, replications or a Monte Carlo \
                 study); a single run is simply run again",
            );
        }
        if args.shard.is_some() {
            return refuse(
                "--shard",
                "needs a study (--sweep, --replications or --montecarlo)",
            );
        }
        if args.threads.is_some() {
            return refuse(
                "--threads",
                "applies to studies (a single run uses one thread); add --replications N to \
                 run replications in parallel",
            );
        }
    }
    if args.output.output == Wanted::None {
        if args.resume {
            return refuse(
                "--resume",
                "reads the journal an interrupted study kept, and --output none keeps none",
            );
        }
        if args.shard.is_some() {
            return refuse(
                "--shard",
                "writes runs.csv for `simulate merge`, and --output none writes nothing",
            );
        }
    }
    Ok(())
}

fn single(sc: &Scenario, args: &RunArgs, prov: &Provenance, gate: &Gate) -> Outcome {
    if !gate.is_empty() {
        gate.check_applicable(|m| metrics::slo_requirement(m, &sc.config))?;
        let known = metrics::names(&sc.config);
        gate.check_metrics(
            |m| (!known.contains(m)).then(String::new),
            &format!(
                "a run reports {} (short names) and every key of summary.json, flattened: {}",
                metrics::ALIASES,
                examples(&known)
            ),
        )?;
    }
    let output = Output::claim(&args.output, default_dir(&sc.config.name, None))?;
    let results = run_and_write(&output, &sc.config, 0, prov)?;
    if args.json {
        let json = report::summary::to_json(&results, prov).map_err(|e| e.to_string())?;
        print::out(&String::from_utf8_lossy(&json));
    } else {
        print::out(&report::table::render(&results));
        print::outln(&format!("\n{}", output.written()));
    }
    let metrics = flatten(&results);
    let lookup = |m: &str| {
        metrics.iter().find(|(k, _)| k == m).map(|(_, v)| MeanCi {
            mean: *v,
            half_width: 0.0,
            n: 1,
        })
    };
    gate.judge(&sc.config.name, |a| {
        judge(a, &[(String::new(), lookup(&a.metric))])
    })
}

/// A few metric keys, for messages: the first of each kind.
pub fn examples(known: &std::collections::BTreeSet<String>) -> String {
    let mut shown: Vec<&str> = vec![];
    for prefix in [
        "latency.",
        "requests.",
        "servers.",
        "database.",
        "errors.",
        "failover.",
    ] {
        shown.extend(
            known
                .iter()
                .map(String::as_str)
                .filter(|k| k.starts_with(prefix))
                .take(if prefix == "latency." { 2 } else { 1 }),
        );
    }
    shown.push("...");
    shown.join(", ")
}
