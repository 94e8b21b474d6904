//! What each command does, in terms of the library: build the pieces from the arguments and
//! run them. Returns Ok(true) when every assertion held, Ok(false) when one failed, Err with
//! the message for input and usage errors.

use crate::cli::{GateArgs, RunArgs};
use crate::journal;
use infrasim::engine::SimTime;
use infrasim::experiment::metrics::flatten;
use infrasim::experiment::montecarlo::{self, McSummary};
use infrasim::experiment::sweep::{self, Point, PointSummary};
use infrasim::experiment::{Assertion, Shard, Verdict};
use infrasim::model::{Stack, availability};
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::report::table::{availability as fmt_avail, secs};
use infrasim::report::{self, Provenance, atomic, charts, html};
use infrasim::scenario::{self, Scenario, study::parse_sweep_arg};
use infrasim::stats::LatencyHistogram;
use infrasim::stats::MeanCi;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Outcome = Result<bool, String>;

fn parse_asserts(gate: &GateArgs) -> Result<Vec<Assertion>, String> {
    gate.asserts
        .iter()
        .map(|a| Assertion::parse(a).map_err(|e| format!("error: {e}")))
        .collect()
}

/// Studies are limited to 1 to 1,000,000 runs: beyond, the run rows alone would not fit in
/// memory comfortably; split a bigger study into shards (`--shard`) on several machines.
fn check_count(what: &str, n: u64) -> Result<(), String> {
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

fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
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
        return pool.install(|| monte_carlo(&sc, &args, &prov, shard, &asserts));
    }
    if wants_sweep {
        return pool.install(|| sweep_study(&sc, &args, &prov, params, shard, &asserts));
    }
    if shard.is_some() {
        return Err(
            "error: --shard needs a study (--sweep, --replications or --montecarlo)".into(),
        );
    }
    single(&sc, &args, &prov, &asserts)
}

fn out_dir(args_out: &Option<PathBuf>, name: &str, shard: Option<Shard>) -> PathBuf {
    args_out.clone().unwrap_or_else(|| {
        let base = PathBuf::from("results");
        match shard {
            Some(s) => base.join(format!("{name}.shard-{}-of-{}", s.k, s.n)),
            None => base.join(name),
        }
    })
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

/// Judges one assertion at each (point label, estimate); all must hold.
fn judge(a: &Assertion, estimates: &[(String, Option<MeanCi>)]) -> Verdict {
    let mut passed = true;
    let mut parts = vec![];
    for (label, est) in estimates {
        let at = if label.is_empty() {
            String::new()
        } else {
            format!(" at {label}")
        };
        match est {
            None => {
                passed = false;
                parts.push(format!("no metric named '{}'{at}", a.metric));
            }
            Some(est) => {
                let (ok, found) = a.check(est);
                passed &= ok;
                parts.push(format!(
                    "{}{at}: {found}",
                    if ok { "holds" } else { "FAILS" }
                ));
            }
        }
    }
    Verdict {
        assertion: a.clone(),
        passed,
        message: parts.join("; "),
    }
}

/// Evaluates the assertions, prints the verdicts, writes the JUnit file.
fn gate(
    suite: &str,
    asserts: &[Assertion],
    args: &GateArgs,
    judge_one: impl Fn(&Assertion) -> Verdict,
) -> Outcome {
    let verdicts: Vec<Verdict> = asserts.iter().map(judge_one).collect();
    for v in &verdicts {
        let tag = if v.passed { "PASS" } else { "FAIL" };
        println!("assert {tag}: {}: {}", v.assertion.text, v.message);
    }
    if let Some(path) = &args.junit {
        atomic::write_file(path, &report::junit::render(suite, &verdicts))
            .map_err(|e| format!("error: writing {}: {e}", path.display()))?;
    }
    Ok(verdicts.iter().all(|v| v.passed))
}

// ---- sweeps -----------------------------------------------------------------------------------

fn sweep_study(
    sc: &Scenario,
    args: &RunArgs,
    prov: &Provenance,
    params: Vec<(String, Vec<String>)>,
    shard: Option<Shard>,
    asserts: &[Assertion],
) -> Outcome {
    let reps = args
        .replications
        .or(sc.study.sweep.as_ref().map(|s| s.replications))
        .unwrap_or(scenario::study::DEFAULT_REPLICATIONS);
    check_count("--replications", reps as u64)?;
    let labels = sweep::product(&params);
    // Each point's configuration is held in memory and each run is a row of runs.csv.
    const MAX_POINTS: usize = 100_000;
    if labels.len() > MAX_POINTS {
        return Err(format!(
            "error: the sweep has {} points (the product of its parameters' values); at most \
             {MAX_POINTS} are allowed",
            labels.len()
        ));
    }
    check_count("points x replications", labels.len() as u64 * reps as u64)?;
    let points = build_points(sc, &labels)?;
    let keys: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
    let record = StudyRecord {
        tool: prov.tool.clone(),
        name: sc.config.name.clone(),
        scenario_file: prov.scenario_file.clone(),
        scenario_hash: prov.scenario_hash.clone(),
        overrides: prov.overrides.clone(),
        kind: "sweep".into(),
        seed: sc.config.seed,
        runs: reps,
        horizon_s: None,
        parameters: params.clone(),
        components: vec![],
        spofs: vec![],
        shard: shard.map(|s| s.to_string()),
    };
    let out = out_dir(&args.out, &sc.config.name, shard);
    let all_jobs = sweep::jobs(points.len(), reps, shard);
    let (journal, rows, elapsed) = journal::run_study(
        &out,
        &record,
        args.resume,
        args.quiet,
        &all_jobs,
        |r: &sweep::RunRow| (r.point, r.rep),
        |todo, stop, done| sweep::run(&points, todo, stop, done),
    )?;
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    if shard.is_some() {
        write_study(&out, &record, &runs_csv, &[], |_| Ok(()))?;
        journal.remove();
        println!(
            "shard {}: {} of {} runs in {:.1} s, written to {}/ (combine with `simulate merge`)",
            record.shard.as_deref().unwrap_or(""),
            rows.len(),
            points.len() * reps as usize,
            elapsed.as_secs_f64(),
            out.display()
        );
        return Ok(true);
    }
    let ok = finish_sweep(
        &out,
        &record,
        &runs_csv,
        Some(&points),
        &args.gate,
        asserts,
        &sc.config.name,
    )?;
    journal.remove();
    println!(
        "{} runs in {:.1} s; results written to {}/",
        rows.len(),
        elapsed.as_secs_f64(),
        out.display()
    );
    Ok(ok)
}

/// From `runs.csv` bytes to every output of a sweep; shared by unsharded runs and `merge`.
fn finish_sweep(
    out: &Path,
    record: &StudyRecord,
    runs_csv: &[u8],
    points: Option<&[Point]>,
    gate_args: &GateArgs,
    asserts: &[Assertion],
    suite: &str,
) -> Outcome {
    let keys: Vec<String> = record.parameters.iter().map(|(k, _)| k.clone()).collect();
    let labels = sweep::product(&record.parameters);
    let rows = files::decode_runs(runs_csv, keys.len()).map_err(|e| e.to_string())?;
    let sums = sweep::aggregate(labels.len(), &rows);
    let cmps = sweep::compare(&labels, &rows);
    let sweep_csv = files::encode_sweep(&labels, &keys, &sums).map_err(|e| e.to_string())?;
    let cmp_csv = files::encode_comparisons(&labels, &cmps).map_err(|e| e.to_string())?;
    let text = render_sweep(&labels, &sums, &cmps);
    let algos = keys.iter().any(|k| k == ALGO_PARAM);
    let cdf = match points {
        Some(points) if algos => Some(cdf_per_algorithm(points, &labels)),
        _ => None,
    };
    write_study(
        out,
        record,
        runs_csv,
        &[("sweep.csv", sweep_csv), ("comparisons.csv", cmp_csv)],
        |tmp| {
            let mut charts = vec![];
            if algos {
                charts.extend(charts::algorithm_comparison(
                    tmp, &labels, &sums, ALGO_PARAM, LOAD_PARAM,
                )?);
            }
            if let Some((at, series)) = &cdf {
                charts.extend(charts::latency_cdf(
                    tmp,
                    "algorithms_latency_cdf",
                    &format!("Latency CDF per algorithm{at} (replication 0)"),
                    series,
                )?);
            }
            html::index(
                tmp,
                &format!("{}: parameter sweep", record.name),
                html::Summary::Text(&text),
                &charts,
                &tables(&[
                    ("Mean and 95% interval per point", "sweep.csv"),
                    ("Paired comparisons", "comparisons.csv"),
                    ("Every run", "runs.csv"),
                ]),
            )?;
            Ok(())
        },
    )?;
    print!("{text}");
    let estimates = |metric: &str| -> Vec<(String, Option<MeanCi>)> {
        sums.iter()
            .map(|s| {
                let label = labels[s.point]
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                (
                    label,
                    s.metrics.iter().find(|(k, _)| k == metric).map(|(_, c)| *c),
                )
            })
            .collect()
    };
    gate(suite, asserts, gate_args, |a| {
        judge(a, &estimates(&a.metric))
    })
}

/// Writes a study folder: `study.json`, `runs.csv`, the `more` files, then whatever `extra`
/// adds (charts, `index.html`), all built aside and swapped in whole.
fn write_study(
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

fn tables(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, f)| (l.to_string(), f.to_string()))
        .collect()
}

/// The offered-load parameter of a sweep, if it has one.
const LOAD_PARAM: &str = "workload.rate";
const ALGO_PARAM: &str = "lb.algorithm";

/// Latency distributions per algorithm at one load (the highest load of the first variant),
/// from replication 0 of those points run again: deterministic, so a merged or resumed study
/// draws the same chart.
fn cdf_per_algorithm(
    points: &[Point],
    labels: &[Vec<(String, String)>],
) -> (String, Vec<(String, LatencyHistogram)>) {
    use rayon::prelude::*;
    let others = |l: &[(String, String)]| -> Vec<(String, String)> {
        l.iter()
            .filter(|(k, _)| k != ALGO_PARAM && k != LOAD_PARAM)
            .cloned()
            .collect()
    };
    let value = |l: &[(String, String)], key: &str| {
        l.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let base = others(&labels[0]);
    let load = labels
        .iter()
        .filter(|l| others(l) == base)
        .filter_map(|l| value(l, LOAD_PARAM)?.parse::<f64>().ok())
        .fold(f64::NAN, f64::max);
    let chosen: Vec<usize> = (0..labels.len())
        .filter(|&p| {
            others(&labels[p]) == base
                && value(&labels[p], LOAD_PARAM).is_none_or(|v| v.parse::<f64>().ok() == Some(load))
        })
        .collect();
    let series = chosen
        .par_iter()
        .map(|&p| {
            let name = value(&labels[p], ALGO_PARAM).unwrap_or_default();
            (name, Stack::run(&points[p].config, 0).latency_hist)
        })
        .collect();
    let at = if load.is_nan() {
        String::new()
    } else {
        format!(" at {load} req/s")
    };
    (at, series)
}

fn ci_text(c: Option<&MeanCi>, f: fn(f64) -> String) -> String {
    match c {
        Some(c) if c.n >= 2 => format!("{} ± {}", f(c.mean), f(c.half_width)),
        Some(c) => f(c.mean),
        None => "-".into(),
    }
}

fn render_sweep(
    labels: &[Vec<(String, String)>],
    sums: &[PointSummary],
    cmps: &[sweep::Comparison],
) -> String {
    let mut o = String::new();
    let get = |s: &PointSummary, k: &str| s.metrics.iter().find(|(m, _)| m == k).map(|(_, c)| *c);
    let _ = writeln!(
        o,
        "{:<40} {:>5} {:>20} {:>22} {:>22} {:>14}",
        "point", "runs", "availability", "mean latency", "p99 latency", "req/s"
    );
    for s in sums {
        let label = labels[s.point]
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let label = if label.is_empty() {
            "(scenario as is)".into()
        } else {
            label
        };
        let _ = writeln!(
            o,
            "{:<40} {:>5} {:>20} {:>22} {:>22} {:>14}",
            label,
            s.runs,
            ci_text(get(s, "availability").as_ref(), |x| format!(
                "{:.4}%",
                x * 100.0
            )),
            ci_text(get(s, "latency.mean").as_ref(), secs),
            ci_text(get(s, "latency.p99").as_ref(), secs),
            ci_text(get(s, "throughput_rps").as_ref(), |x| format!("{x:.1}")),
        );
    }
    // The algorithm comparisons are what users come for: show those first, then the rest.
    let by_algorithm = cmps.iter().any(|c| c.parameter == "lb.algorithm");
    let sig: Vec<&sweep::Comparison> = cmps
        .iter()
        .filter(|c| c.significant && c.metric == "latency.mean")
        .filter(|c| !by_algorithm || c.parameter == "lb.algorithm")
        .collect();
    const SHOWN: usize = 12;
    if !sig.is_empty() {
        let _ = writeln!(
            o,
            "\nsignificant differences in mean latency (paired, 95%):"
        );
        let show = |p: usize| {
            labels[p]
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for c in sig.iter().take(SHOWN) {
            let _ = writeln!(
                o,
                "  {} vs {}: {} ({} .. {})",
                show(c.a),
                show(c.b),
                secs(c.difference.mean),
                secs(c.difference.low()),
                secs(c.difference.high())
            );
        }
        if sig.len() > SHOWN {
            let _ = writeln!(o, "  ... {} more in comparisons.csv", sig.len() - SHOWN);
        }
    }
    o
}

// ---- Monte Carlo --------------------------------------------------------------------------------

fn monte_carlo(
    sc: &Scenario,
    args: &RunArgs,
    prov: &Provenance,
    shard: Option<Shard>,
    asserts: &[Assertion],
) -> Outcome {
    let spec = sc.study.montecarlo.clone();
    let runs = args
        .runs
        .or(spec.as_ref().map(|s| s.runs))
        .unwrap_or(scenario::study::DEFAULT_MC_RUNS);
    check_count("--runs", runs as u64)?;
    let horizon = spec.map_or(SimTime::from_secs(365 * 86_400), |s| s.horizon);
    let comps = availability::components(&sc.config);
    if comps.is_empty() {
        return Err(format!(
            "error: {}: a Monte Carlo study needs [[random_faults]] (MTTF/MTTR per component kind)",
            sc.path.display()
        ));
    }
    let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
    let record = StudyRecord {
        tool: prov.tool.clone(),
        name: sc.config.name.clone(),
        scenario_file: prov.scenario_file.clone(),
        scenario_hash: prov.scenario_hash.clone(),
        overrides: prov.overrides.clone(),
        kind: "montecarlo".into(),
        seed: sc.config.seed,
        runs,
        horizon_s: Some(horizon.as_secs_f64()),
        parameters: vec![],
        components: names.clone(),
        spofs: availability::structural_spofs(&sc.config),
        shard: shard.map(|s| s.to_string()),
    };
    let out = out_dir(&args.out, &sc.config.name, shard);
    let all_reps = montecarlo::reps(runs, shard);
    let mine = all_reps.len();
    let (journal, results, elapsed) = journal::run_study(
        &out,
        &record,
        args.resume,
        args.quiet,
        &all_reps,
        |r: &montecarlo::McRun| r.rep,
        |todo, stop, done| montecarlo::run(&sc.config, horizon, todo, stop, done).1,
    )?;
    let runs_csv = files::encode_mc_runs(&names, &results).map_err(|e| e.to_string())?;
    if shard.is_some() {
        write_study(&out, &record, &runs_csv, &[], |_| Ok(()))?;
        journal.remove();
        println!(
            "shard {}: {mine} of {runs} runs in {:.1} s, written to {}/ (combine with `simulate merge`)",
            record.shard.as_deref().unwrap_or(""),
            elapsed.as_secs_f64(),
            out.display()
        );
        return Ok(true);
    }
    let ok = finish_mc(
        &out,
        &record,
        &runs_csv,
        &args.gate,
        asserts,
        &sc.config.name,
    )?;
    journal.remove();
    println!(
        "{runs} runs of {:.0} simulated days in {:.2} s; results written to {}/",
        horizon.as_secs_f64() / 86_400.0,
        elapsed.as_secs_f64(),
        out.display()
    );
    Ok(ok)
}

fn finish_mc(
    out: &Path,
    record: &StudyRecord,
    runs_csv: &[u8],
    gate_args: &GateArgs,
    asserts: &[Assertion],
    suite: &str,
) -> Outcome {
    let runs =
        files::decode_mc_runs(runs_csv, record.components.len()).map_err(|e| e.to_string())?;
    let horizon = SimTime::from_secs_f64(record.horizon_s.unwrap_or(0.0));
    let summary = montecarlo::summarise(&record.components, record.spofs.clone(), horizon, &runs);
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    let comps = files::encode_components(&summary).map_err(|e| e.to_string())?;
    let outages = files::encode_outages(&runs).map_err(|e| e.to_string())?;
    let text = render_mc(&summary);
    let durations: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.outages.iter().copied())
        .collect();
    write_study(
        out,
        record,
        runs_csv,
        &[
            ("montecarlo.json", json),
            ("components.csv", comps),
            ("outages.csv", outages),
        ],
        |tmp| {
            let charts = charts::availability(tmp, &summary, &durations)?;
            html::index(
                tmp,
                &format!("{}: Monte Carlo availability study", record.name),
                html::Summary::Text(&text),
                &charts,
                &tables(&[
                    (
                        "Components ranked by improvement potential",
                        "components.csv",
                    ),
                    ("Outages", "outages.csv"),
                    ("Every run", "runs.csv"),
                ]),
            )?;
            Ok(())
        },
    )?;
    print!("{text}");
    gate(suite, asserts, gate_args, |a| {
        let est = summary.metric(&a.metric);
        let mut v = judge(a, &[(String::new(), est)]);
        if est.is_none() {
            v.message += "; a Monte Carlo study knows: availability, time_availability, \
                          downtime_minutes, outages, failed_requests, outage_p99, outage_max, spofs";
        }
        v
    })
}

fn nines(a: f64) -> String {
    if a >= 1.0 {
        "∞".into()
    } else {
        format!("{:.2}", -(1.0 - a).log10())
    }
}

fn render_mc(s: &McSummary) -> String {
    let mut o = String::new();
    let a = &s.availability;
    let _ = writeln!(
        o,
        "availability {} ± {:.4}% ({} nines) over {} runs of {:.0} days",
        fmt_avail(a.mean),
        a.half_width * 100.0,
        nines(a.mean),
        s.runs,
        s.horizon_s / 86_400.0
    );
    let d = &s.downtime_minutes_per_year;
    let _ = writeln!(
        o,
        "expected downtime {:.1} ± {:.1} min/year; {:.1} ± {:.1} outages/year; {:.0} failed requests/year",
        d.mean,
        d.half_width,
        s.outages_per_year.mean,
        s.outages_per_year.half_width,
        s.failed_requests_per_year.mean
    );
    let _ = writeln!(
        o,
        "outage duration: median {}, p90 {}, p99 {}, longest {}",
        secs(s.outage_p50_s),
        secs(s.outage_p90_s),
        secs(s.outage_p99_s),
        secs(s.outage_max_s)
    );
    if s.structural_spofs.is_empty() {
        let _ = writeln!(o, "structural single points of failure: none");
    } else {
        let _ = writeln!(o, "structural single points of failure:");
        for x in &s.structural_spofs {
            let _ = writeln!(o, "  {}: {}", x.component, x.effect);
        }
    }
    let _ = writeln!(
        o,
        "\n{:<18} {:>14} {:>30}",
        "component", "downtime share", "availability if perfect (+)"
    );
    for c in &s.components {
        let _ = writeln!(
            o,
            "{:<18} {:>13.1}% {:>30}",
            c.component,
            c.downtime_share * 100.0,
            format!(
                "+{:.5}% ± {:.5}%",
                c.improvement.mean * 100.0,
                c.improvement.half_width * 100.0
            )
        );
    }
    o
}

// ---- merge ---------------------------------------------------------------------------------------

pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>, gate_args: &GateArgs) -> Outcome {
    let asserts = parse_asserts(gate_args)?;
    let mut record: Option<StudyRecord> = None;
    let mut parts: Vec<(PathBuf, Vec<u8>)> = vec![];
    for d in dirs {
        let read = |name: &str| {
            std::fs::read(d.join(name))
                .map_err(|e| format!("error: {}: {e}", d.join(name).display()))
        };
        let r: StudyRecord = serde_json::from_slice(&read("study.json")?)
            .map_err(|e| format!("error: {}: {e}", d.join("study.json").display()))?;
        let same = |a: &StudyRecord, b: &StudyRecord| {
            StudyRecord {
                shard: None,
                ..a.clone()
            } == StudyRecord {
                shard: None,
                ..b.clone()
            }
        };
        if let Some(first) = &record
            && !same(first, &r)
        {
            return Err(format!(
                "error: {} is not a shard of the same study as {} (scenario, overrides, seed or plan differ)",
                d.display(),
                dirs[0].display()
            ));
        }
        parts.push((d.clone(), read("runs.csv")?));
        record = Some(r);
    }
    let mut record = record.ok_or("error: nothing to merge")?;
    record.shard = None;
    let name = record.name.clone();
    let out = out.unwrap_or_else(|| PathBuf::from("results").join(&name));
    if record.kind == "montecarlo" {
        let n = record.components.len();
        let mut runs = vec![];
        for (d, bytes) in &parts {
            runs.extend(
                files::decode_mc_runs(bytes, n)
                    .map_err(|e| format!("error: {}: {e}", d.display()))?,
            );
        }
        runs.sort_by_key(|r| r.rep);
        runs.dedup_by_key(|r| r.rep);
        let missing: Vec<u64> = (0..record.runs as u64)
            .filter(|r| runs.binary_search_by_key(r, |x| x.rep).is_err())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "error: the shards lack {} of {} runs (e.g. run {}): merge every shard",
                missing.len(),
                record.runs,
                missing[0]
            ));
        }
        let runs_csv =
            files::encode_mc_runs(&record.components, &runs).map_err(|e| e.to_string())?;
        return finish_mc(&out, &record, &runs_csv, gate_args, &asserts, &name);
    }
    let keys: Vec<String> = record.parameters.iter().map(|(k, _)| k.clone()).collect();
    let labels = sweep::product(&record.parameters);
    let mut rows = vec![];
    for (d, bytes) in &parts {
        rows.extend(
            files::decode_runs(bytes, keys.len())
                .map_err(|e| format!("error: {}: {e}", d.display()))?,
        );
    }
    rows.sort_by_key(|r| (r.point, r.rep));
    rows.dedup_by_key(|r| (r.point, r.rep));
    let expected = labels.len() * record.runs as usize;
    if rows.len() != expected {
        return Err(format!(
            "error: the shards hold {} of the study's {expected} runs: merge every shard",
            rows.len()
        ));
    }
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    let points = points_of(&record);
    if points.is_none() {
        println!(
            "note: {} is not available unchanged here: the per-algorithm latency CDF is left out",
            record.scenario_file
        );
    }
    finish_sweep(
        &out,
        &record,
        &runs_csv,
        points.as_deref(),
        gate_args,
        &asserts,
        &name,
    )
}

/// The sweep points of a recorded study, if its scenario file is here and unchanged.
fn points_of(record: &StudyRecord) -> Option<Vec<Point>> {
    let sc = scenario::load(Path::new(&record.scenario_file), &record.overrides).ok()?;
    if sc.source_hash != record.scenario_hash {
        return None;
    }
    build_points(&sc, &sweep::product(&record.parameters)).ok()
}

/// Each sweep point's configuration: the scenario with the point's values as overrides.
fn build_points(sc: &Scenario, labels: &[Vec<(String, String)>]) -> Result<Vec<Point>, String> {
    labels
        .iter()
        .map(|label| {
            let extra: Vec<String> = label.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let config = sc
                .with_overrides(&extra)
                .map_err(|e| format!("{e}\n(in the sweep point {})", extra.join(" ")))?;
            Ok(Point {
                label: label.clone(),
                config,
            })
        })
        .collect()
}

// ---- replay ----------------------------------------------------------------------------------

/// The provenance part of a summary.json.
#[derive(serde::Deserialize)]
struct Recorded {
    tool: String,
    scenario_file: String,
    scenario_hash: String,
    overrides: Vec<String>,
    scenario: String,
    run: u64,
}

pub fn replay(summary: &Path, out: Option<PathBuf>) -> Outcome {
    let bytes = std::fs::read(summary).map_err(|e| format!("error: {}: {e}", summary.display()))?;
    let rec: Recorded = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "error: {}: not a summary.json written by simulate: {e}",
            summary.display()
        )
    })?;
    let scenario_path = PathBuf::from(&rec.scenario_file);
    let sc = scenario::load(&scenario_path, &rec.overrides).map_err(|e| e.to_string())?;
    let mut same = true;
    if sc.source_hash != rec.scenario_hash {
        println!(
            "the scenario file {} changed since the run (hash {} now, {} then): results may differ",
            rec.scenario_file, sc.source_hash, rec.scenario_hash
        );
        same = false;
    }
    let tool = format!("infrasim {}", env!("CARGO_PKG_VERSION"));
    if tool != rec.tool {
        println!("recorded with {}, replayed with {tool}", rec.tool);
    }
    let results = Stack::run(&sc.config, rec.run);
    let prov = Provenance::new(&scenario_path, &sc.source_hash, &rec.overrides);
    let out =
        out.unwrap_or_else(|| PathBuf::from("results").join(format!("{}.replay", rec.scenario)));
    report::write_run(&out, &results, &prov)
        .map_err(|e| format!("error: writing results to {}: {e}", out.display()))?;
    let fresh = std::fs::read(out.join("summary.json")).map_err(|e| e.to_string())?;
    if fresh == bytes {
        println!(
            "replayed {} (seed {}, overrides {:?}): summary.json is identical; written to {}/",
            rec.scenario_file,
            sc.config.seed,
            rec.overrides,
            out.display()
        );
    } else {
        println!(
            "replayed {}: the new summary.json ({}/summary.json) DIFFERS from {}",
            rec.scenario_file,
            out.display(),
            summary.display()
        );
        same = false;
    }
    Ok(same)
}

// ---- design ladder -------------------------------------------------------------------------------

pub fn ladder(
    files_in: &[PathBuf],
    out: Option<PathBuf>,
    runs: Option<u32>,
    threads: Option<usize>,
) -> Outcome {
    let pool = pool(threads)?;
    let mut steps: Vec<(String, McSummary)> = vec![];
    for path in files_in {
        let sc = scenario::load(path, &[]).map_err(|e| e.to_string())?;
        let spec = sc.study.montecarlo.clone();
        let n = runs
            .or(spec.as_ref().map(|s| s.runs))
            .unwrap_or(scenario::study::DEFAULT_MC_RUNS);
        check_count("--runs", n as u64)?;
        let horizon = spec.map_or(SimTime::from_secs(365 * 86_400), |s| s.horizon);
        let comps = availability::components(&sc.config);
        if comps.is_empty() {
            return Err(format!(
                "error: {}: a design step needs [[random_faults]]",
                path.display()
            ));
        }
        let reps = montecarlo::reps(n, None);
        let (_, results) =
            pool.install(|| montecarlo::run(&sc.config, horizon, &reps, &|| false, &|_| {}));
        let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
        let summary = montecarlo::summarise(
            &names,
            availability::structural_spofs(&sc.config),
            horizon,
            &results,
        );
        steps.push((sc.config.name.clone(), summary));
    }
    let mut text = format!(
        "{:<32} {:>24} {:>7} {:>18} {:>14}\n",
        "design", "availability (95% CI)", "nines", "downtime min/year", "outages/year"
    );
    let mut csv = csv::Writer::from_writer(vec![]);
    let _ = csv.write_record([
        "step",
        "design",
        "availability",
        "ci95_low",
        "ci95_high",
        "nines",
        "downtime_minutes_per_year",
        "outages_per_year",
        "structural_spofs",
    ]);
    for (i, (name, s)) in steps.iter().enumerate() {
        let a = s.availability;
        let _ = writeln!(
            text,
            "{:<32} {:>24} {:>7} {:>18.1} {:>14.1}",
            name,
            format!("{} ± {:.4}%", fmt_avail(a.mean), a.half_width * 100.0),
            nines(a.mean),
            s.downtime_minutes_per_year.mean,
            s.outages_per_year.mean
        );
        let _ = csv.write_record([
            (i + 1).to_string(),
            name.clone(),
            format!("{}", a.mean),
            format!("{}", a.low()),
            format!("{}", a.high()),
            nines(a.mean),
            format!("{}", s.downtime_minutes_per_year.mean),
            format!("{}", s.outages_per_year.mean),
            s.structural_spofs
                .iter()
                .map(|x| x.component.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    let csv = csv.into_inner().map_err(|e| e.to_string())?;
    let out = out.unwrap_or_else(|| PathBuf::from("results").join("ladder"));
    let chart_steps: Vec<(String, MeanCi)> = steps
        .iter()
        .map(|(n, s)| (n.clone(), s.availability))
        .collect();
    atomic::replace_dir(&out, |tmp| {
        atomic::write_file(&tmp.join("ladder.csv"), &csv)?;
        let charts = charts::ladder(tmp, &chart_steps)?;
        html::index(
            tmp,
            "Design ladder: availability of each step",
            html::Summary::Text(&text),
            &charts,
            &tables(&[("Designs", "ladder.csv")]),
        )?;
        Ok(())
    })
    .map_err(|e| format!("error: writing results to {}: {e}", out.display()))?;
    print!("{text}");
    println!("results written to {}/", out.display());
    Ok(true)
}
