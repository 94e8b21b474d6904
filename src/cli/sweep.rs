//! Parameter sweeps with replications: run the points, then every output of a sweep from
//! `runs.csv` (shared with `merge`).

use super::Outcome;
use super::args::{GateArgs, RunArgs};
use super::gate::{gate, judge};
use super::journal;
use super::output::{out_dir, tables, write_study};
use super::study::check_count;
use infrasim::experiment::sweep::{self, Point, PointSummary};
use infrasim::experiment::{Assertion, Shard};
use infrasim::model::Stack;
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::report::table::secs;
use infrasim::report::{Provenance, charts, html};
use infrasim::scenario::{self, Scenario};
use infrasim::stats::{LatencyHistogram, MeanCi};
use std::fmt::Write as _;
use std::path::Path;

pub fn sweep_study(
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
pub fn finish_sweep(
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

/// Each sweep point's configuration: the scenario with the point's values as overrides.
pub fn build_points(sc: &Scenario, labels: &[Vec<(String, String)>]) -> Result<Vec<Point>, String> {
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
