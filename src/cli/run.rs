//! The default command, `simulate SCENARIO`: loads the scenario and runs it once, or hands it to
//! the sweep or the Monte Carlo study it asks for.

use super::Outcome;
use super::args::RunArgs;
use super::gate::{gate, judge, parse_asserts};
use super::output::out_dir;
use super::study::pool;
use super::{montecarlo, sweep};
use infrasim::experiment::metrics::flatten;
use infrasim::experiment::{Assertion, Shard};
use infrasim::model::Stack;
use infrasim::report::{self, Provenance};
use infrasim::scenario::{self, Scenario, study::parse_sweep_arg};
use infrasim::stats::MeanCi;

pub fn run(args: RunArgs) -> Outcome {
    let asserts = parse_asserts(&args.gate)?;
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
    for s in &args.sweep {
        let p = parse_sweep_arg(s).map_err(|e| format!("error: {e}"))?;
        params.push((p.key, p.values));
    }
    let pool = pool(args.threads)?;
    let prov = Provenance::new(&path, &sc.source_hash, &overrides);
    let wants_sweep = !params.is_empty() || args.replications.is_some() || sc.study.sweep.is_some();
    if args.montecarlo || (sc.study.montecarlo.is_some() && !wants_sweep) {
        return pool.install(|| montecarlo::monte_carlo(&sc, &args, &prov, shard, &asserts));
    }
    if wants_sweep {
        return pool.install(|| sweep::sweep_study(&sc, &args, &prov, params, shard, &asserts));
    }
    if shard.is_some() {
        return Err(
            "error: --shard needs a study (--sweep, --replications or --montecarlo)".into(),
        );
    }
    single(&sc, &args, &prov, &asserts)
}

fn single(sc: &Scenario, args: &RunArgs, prov: &Provenance, asserts: &[Assertion]) -> Outcome {
    let results = Stack::run(&sc.config, 0);
    let out = out_dir(&args.out, &sc.config.name, None);
    report::write_run(&out, &results, prov)
        .map_err(|e| format!("error: writing results to {}: {e}", out.display()))?;
    if args.json {
        let json = report::summary::to_json(&results, prov).map_err(|e| e.to_string())?;
        print!("{}", String::from_utf8_lossy(&json));
    } else {
        print!("{}", report::table::render(&results));
        println!("\nresults written to {}/", out.display());
    }
    let metrics = flatten(&results);
    let lookup = |m: &str| {
        metrics.iter().find(|(k, _)| k == m).map(|(_, v)| MeanCi {
            mean: *v,
            half_width: 0.0,
            n: 1,
        })
    };
    gate(&sc.config.name, asserts, &args.gate, |a| {
        judge(a, &[(String::new(), lookup(&a.metric))])
    })
}
