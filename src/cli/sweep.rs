//! Parameter sweeps with replications: run the points, then every output of a sweep from
//! `runs.csv` (shared with `merge`).

use super::Outcome;
use super::args::RunArgs;
use super::gate::{Gate, judge};
use super::journal::{self, with_resume_note};
use super::output::{Output, default_dir, tables, write_study};
use super::print;
use super::run::examples;
use super::study::{check_count, check_values};
use infrasim::experiment::Shard;
use infrasim::experiment::metrics;
use infrasim::experiment::sweep::{self, Point, PointSummary};
use infrasim::model::Stack;
use infrasim::model::timeline::NoRows;
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::report::table::secs;
use infrasim::report::{Level, Provenance, charts, html};
use infrasim::scenario::{self, Problem, Scenario, ScenarioError, limits};
use infrasim::stats::{LatencyHistogram, MeanCi};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Mutex;

/// Most points of one sweep: each point's configuration is held in memory.
pub const MAX_POINTS: usize = 100_000;
/// Most pairs of points compared (each pair is five rows of comparisons.csv, six with `[slo]`:
/// 1 million rows, about 120 MB; 1.2 million with `[slo]`). A sweep of one parameter over 630 values, or of two over 100 and 10, is
/// within it.
pub const MAX_PAIRS: u128 = 200_000;

pub fn sweep_study(
    sc: &Scenario,
    args: &RunArgs,
    prov: &Provenance,
    params: Vec<(String, Vec<String>)>,
    shard: Option<Shard>,
    gate: &Gate,
) -> Outcome {
    let reps = args
        .replications
        .or(sc.study.sweep.as_ref().map(|s| s.replications))
        .unwrap_or(scenario::study::DEFAULT_REPLICATIONS);
    check_count(&sc.path, "--replications", reps as u64)?;
    let labels = sweep::product(&params);
    if labels.len() > MAX_POINTS {
        return Err(format!(
            "error: {}: the sweep has {} points (the product of its parameters' values); at \
             most {MAX_POINTS} are allowed",
            sc.path.display(),
            labels.len()
        ));
    }
    let pairs = sweep::pair_count(&params);
    if pairs > MAX_PAIRS {
        return Err(format!(
            "error: {}: the sweep's points make {pairs} pairs that differ in one parameter, each \
             compared in comparisons.csv; at most {MAX_PAIRS} are allowed: sweep fewer values",
            sc.path.display()
        ));
    }
    let runs = labels.len() as u64 * reps as u64;
    check_count(&sc.path, "points x replications", runs)?;
    limits::check_points(&sc.config, labels.len())
        .map_err(|m| format!("error: {}: {m}", sc.path.display()))?;
    let points = build_points(sc, &labels)?;
    let names = point_metrics(&points);
    let per_run = names.values().map(BTreeSet::len).max().unwrap_or(0);
    check_values(&sc.path, runs, per_run as u64)?;
    if !gate.is_empty() {
        // An SLO figure no point measures: the scenario lacks [slo] (or its target).
        gate.check_applicable(|m| {
            let reasons: Vec<String> = points
                .iter()
                .filter_map(|p| metrics::slo_requirement(m, &p.config))
                .collect();
            (reasons.len() == points.len())
                .then(|| reasons.into_iter().next())
                .flatten()
        })?;
        check_asserts(gate, &points, &names)?;
    }
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
        labels: sc
            .study
            .sweep
            .iter()
            .flat_map(|s| &s.parameters)
            .filter(|p| !p.labels.is_empty())
            .map(|p| (p.key.clone(), p.labels.clone()))
            .collect(),
        components: vec![],
        spofs: vec![],
        degraded: vec![],
        slo_latency_s: None,
        shard: shard.map(|s| s.to_string()),
    };
    let output = Output::claim(&args.output, default_dir(&sc.config.name, shard))?;
    let all_jobs = sweep::jobs(points.len(), reps, shard);
    let journal_dir = output.dir().map(|d| d.journal_path());
    // The latency distributions the CDF chart draws are kept as their runs finish: running
    // those points again once the study is over (a few of its longest runs, fewer than the
    // threads can share) held the last seconds of a study to one thread.
    let charted = if shard.is_none()
        && output.level() == Level::All
        && keys.iter().any(|k| k == ALGO_PARAM)
    {
        cdf_points(&labels, &|k, v| format!("{k}={v}")).1
    } else {
        vec![]
    };
    let kept: Mutex<Vec<(usize, LatencyHistogram)>> = Mutex::new(vec![]);
    let keep = |p: usize, rep: u64, r: &infrasim::model::RunResults| {
        if rep == 0 && charted.contains(&p) {
            kept.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((p, r.latency_hist.clone()));
        }
    };
    let (journal, rows, elapsed) = journal::run_study(
        journal_dir.as_deref(),
        &record,
        args.resume,
        args.output.quiet,
        &all_jobs,
        |r: &sweep::RunRow| (r.point, r.rep),
        |todo, stop, done| {
            sweep::run(&points, todo, stop, done, &keep).map_err(|o| {
                let at = point_words(&points[o.point].label, o.rep, reps);
                limits::in_flight_error(&sc.path, Some(&at), &points[o.point].config, &o.cut)
            })
        },
    )?;
    let kept = kept.into_inner().unwrap_or_else(|e| e.into_inner());
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    if shard.is_some() {
        write_study(&output, &record, &runs_csv, &[], |_| Ok(()))
            .map_err(|e| with_resume_note(journal.as_ref(), all_jobs.len(), e))?;
        if let Some(j) = journal {
            j.remove();
        }
        print::outln(&format!(
            "shard {}: {} of {} runs in {:.1} s, written to {}/ (combine with `simulate merge`)",
            record.shard.as_deref().unwrap_or(""),
            rows.len(),
            points.len() * reps as usize,
            elapsed.as_secs_f64(),
            output.shown()
        ));
        return Ok(true);
    }
    let ok = finish_sweep(
        &output,
        &record,
        &runs_csv,
        Some((&points, &kept)),
        gate,
        &sc.config.name,
    )
    .map_err(|e| with_resume_note(journal.as_ref(), all_jobs.len(), e))?;
    if let Some(j) = journal {
        j.remove();
    }
    print::outln(&format!(
        "{} runs in {:.1} s; {}",
        rows.len(),
        elapsed.as_secs_f64(),
        output.written()
    ));
    Ok(ok)
}

/// The metrics each point will report, keyed by point (points with the same components share
/// one probe).
fn point_metrics(points: &[Point]) -> BTreeMap<usize, BTreeSet<String>> {
    let mut by_shape: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        let c = &p.config;
        let shape: Vec<String> = c
            .servers
            .iter()
            .map(|s| s.name.clone())
            .chain(std::iter::once(c.database.primary.name.clone()))
            .chain(c.database.replicas.iter().map(|r| r.name.clone()))
            .chain(std::iter::once(format!(
                "{:?}",
                c.failures.lb_ha.instances()
            )))
            .collect();
        let names = by_shape
            .entry(shape)
            .or_insert_with(|| metrics::names(c))
            .clone();
        out.insert(i, names);
    }
    out
}

/// Refuses an assertion on a metric some point will not report.
fn check_asserts(
    gate: &Gate,
    points: &[Point],
    names: &BTreeMap<usize, BTreeSet<String>>,
) -> Result<(), String> {
    let all: BTreeSet<String> = names.values().flatten().cloned().collect();
    gate.check_metrics(
        |m| {
            let lacking: Vec<usize> = names
                .iter()
                .filter(|(_, n)| !n.contains(m))
                .map(|(p, _)| *p)
                .collect();
            match lacking.len() {
                0 => None,
                n if n == points.len() => Some(String::new()),
                n => Some(format!(
                    " at {n} of the {} points (e.g. {})",
                    points.len(),
                    label(&points[lacking[0]].label)
                )),
            }
        },
        &format!(
            "a sweep reports, per point, {} (short names) and every column of runs.csv: {}",
            metrics::ALIASES,
            examples(&all)
        ),
    )
}

fn label(l: &[(String, String)]) -> String {
    let s = l
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    if s.is_empty() {
        "(scenario as is)".into()
    } else {
        s
    }
}

/// The latency distributions of replication 0 of the points the CDF chart draws, by point, as
/// the study's own runs left them.
pub type Kept<'a> = &'a [(usize, LatencyHistogram)];

/// From `runs.csv` bytes to every output of a sweep; shared by unsharded runs and `merge`.
/// `points` are the study's points, with the latency distributions of the runs the CDF chart
/// draws that this process made (the others, on `--resume` or `merge`, are run again).
pub fn finish_sweep(
    output: &Output,
    record: &StudyRecord,
    runs_csv: &[u8],
    points: Option<(&[Point], Kept<'_>)>,
    gate: &Gate,
    suite: &str,
) -> Outcome {
    let keys: Vec<String> = record.parameters.iter().map(|(k, _)| k.clone()).collect();
    let labels = sweep::product(&record.parameters);
    let rows = files::decode_runs(runs_csv, keys.len()).map_err(|e| e.to_string())?;
    let sums = sweep::aggregate(labels.len(), &rows);
    let cmps = sweep::compare(&record.parameters, &rows);
    let sweep_csv = files::encode_sweep(&labels, &keys, &sums).map_err(|e| e.to_string())?;
    let cmp_csv = files::encode_comparisons(&labels, &cmps).map_err(|e| e.to_string())?;
    let text = render_sweep(&labels, &sums, &cmps);
    let algos = keys.iter().any(|k| k == ALGO_PARAM);
    let cdf = match points {
        Some((points, kept)) if algos && output.level() == Level::All => {
            Some(cdf_per_algorithm(points, &labels, kept, &|k, v| {
                record.value_name(k, v)
            }))
        }
        _ => None,
    };
    write_study(
        output,
        record,
        runs_csv,
        &[("sweep.csv", sweep_csv), ("comparisons.csv", cmp_csv)],
        |tmp| {
            let mut charts = vec![];
            if algos {
                let name = |k: &str, v: &str| record.value_name(k, v);
                charts.extend(charts::algorithm_comparison(
                    tmp, &labels, &sums, ALGO_PARAM, LOAD_PARAM, &name,
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
            let name = |k: &str, v: &str| record.value_name(k, v);
            let answer = infrasim::report::verdict::SweepView {
                labels: &labels,
                sums: &sums,
                cmps: &cmps,
                algo_param: ALGO_PARAM,
                load_param: LOAD_PARAM,
                name: &name,
            }
            .answer();
            let tables = tables(&[
                ("Mean and 95% interval per point", "sweep.csv"),
                ("Paired comparisons", "comparisons.csv"),
                ("Every run", "runs.csv"),
            ]);
            html::index(
                tmp,
                &html::Page {
                    title: format!("{}: parameter sweep", record.name),
                    kind: &format!(
                        "Parameter sweep: {} points, {} replications each",
                        labels.len(),
                        record.runs
                    ),
                    answer,
                    charts: &charts,
                    tables: &tables,
                    text: Some(&text),
                    reproduce: super::study::reproduce(
                        record,
                        &["--replications".into(), record.runs.to_string()],
                    ),
                },
            )?;
            Ok(())
        },
    )?;
    print::out(&text);
    let estimates = |metric: &str| -> Vec<(String, Option<MeanCi>)> {
        sums.iter()
            .map(|s| {
                (
                    label(&labels[s.point]),
                    s.metrics.iter().find(|(k, _)| k == metric).map(|(_, c)| *c),
                )
            })
            .collect()
    };
    gate.judge(suite, |a| judge(a, &estimates(&a.metric)))
}

/// The offered-load parameter of a sweep, if it has one.
const LOAD_PARAM: &str = "workload.rate";
const ALGO_PARAM: &str = "lb.algorithm";

/// The points the latency CDF chart draws (each algorithm at the highest load of the first
/// variant), and that load as a caption suffix.
fn cdf_points(
    labels: &[Vec<(String, String)>],
    name: &dyn Fn(&str, &str) -> String,
) -> (String, Vec<usize>) {
    let others = |l: &[(String, String)]| -> Vec<(String, String)> {
        l.iter()
            .filter(|(k, _)| k != ALGO_PARAM && k != LOAD_PARAM)
            .cloned()
            .collect()
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
    // The title says which variant the curves show when the sweep has several.
    let variant: Vec<String> = base.iter().map(|(k, v)| name(k, v)).collect();
    let of = if variant.is_empty() {
        String::new()
    } else {
        format!(", {}", variant.join(", "))
    };
    let at = if load.is_nan() {
        of
    } else {
        format!(" at {load} req/s{of}")
    };
    (at, chosen)
}

fn value(l: &[(String, String)], key: &str) -> Option<String> {
    l.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Latency distributions per algorithm at one load ([`cdf_points`]), from replication 0 of
/// those points: as `kept` by the study's own runs, or run again (deterministic, so a merged
/// or resumed study draws the same chart).
fn cdf_per_algorithm(
    points: &[Point],
    labels: &[Vec<(String, String)>],
    kept: Kept<'_>,
    name: &dyn Fn(&str, &str) -> String,
) -> (String, Vec<(String, LatencyHistogram)>) {
    use rayon::prelude::*;
    let (at, chosen) = cdf_points(labels, name);
    let series = chosen
        .par_iter()
        .map(|&p| {
            let name = value(&labels[p], ALGO_PARAM).unwrap_or_default();
            let hist = match kept.iter().find(|(q, _)| *q == p) {
                Some((_, h)) => h.clone(),
                None => Stack::run_with(&points[p].config, 0, &mut NoRows).latency_hist,
            };
            (name, hist)
        })
        .collect();
    (at, series)
}

/// A point of a sweep and its replication, for messages: `point lb.maxconn=0, replication 2`.
fn point_words(label: &[(String, String)], rep: u64, reps: u32) -> String {
    let values: Vec<String> = label.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let point = if values.is_empty() {
        "the scenario as written".to_string()
    } else {
        format!("point {}", values.join(", "))
    };
    if reps > 1 {
        format!("{point}, replication {rep}")
    } else {
        point
    }
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
    // The label column is as wide as the longest label, so long labels keep the columns aligned.
    let width = sums
        .iter()
        .map(|s| label(&labels[s.point]).chars().count())
        .max()
        .unwrap_or(0)
        .max("point".len());
    // With [slo], the share served within its latency stands beside the share served at all.
    let slo = sums.iter().any(|s| get(s, "slo_availability").is_some());
    let slo_col = |s: Option<&PointSummary>| match (slo, s) {
        (false, _) => String::new(),
        (true, None) => format!(" {:>20}", "slo availability"),
        (true, Some(s)) => format!(
            " {:>20}",
            ci_text(get(s, "slo_availability").as_ref(), pct4)
        ),
    };
    let _ = writeln!(
        o,
        "{:<width$} {:>5} {:>20}{} {:>22} {:>22} {:>14}",
        "point",
        "runs",
        "availability",
        slo_col(None),
        "mean latency",
        "p99 latency",
        "req/s"
    );
    for s in sums {
        let _ = writeln!(
            o,
            "{:<width$} {:>5} {:>20}{} {:>22} {:>22} {:>14}",
            label(&labels[s.point]),
            s.runs,
            ci_text(get(s, "availability").as_ref(), pct4),
            slo_col(Some(s)),
            ci_text(get(s, "latency.mean").as_ref(), secs),
            ci_text(get(s, "latency.p99").as_ref(), secs),
            ci_text(get(s, "throughput_rps").as_ref(), |x| format!("{x:.1}")),
        );
    }
    if slo {
        render_slo(&mut o, labels, sums);
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

fn pct4(x: f64) -> String {
    format!("{:.4}%", x * 100.0)
}

/// Where an estimate stands against a bound, by the rule of `--assert`: met when its whole 95%
/// interval satisfies `ok`, missed when none of it does, undecided when the interval straddles
/// the bound (run more replications). A single run is judged on its value.
fn verdict(c: &MeanCi, ok: impl Fn(f64) -> bool) -> &'static str {
    let (lo, hi) = if c.n >= 2 && c.half_width.is_finite() {
        (c.low(), c.high())
    } else {
        (c.mean, c.mean)
    };
    match (ok(lo), ok(hi)) {
        _ if c.mean.is_nan() => "-",
        (true, true) => "met",
        (false, false) => "MISSED",
        _ => "undecided",
    }
}

/// The `[slo]` table of a sweep: per point, the latency judged against, the target and the
/// share of the error budget used, and each percentile target, each with its 95% interval and
/// verdict; none without a target or a percentile target. Columns are as wide as their widest
/// cell.
fn render_slo(o: &mut String, labels: &[Vec<(String, String)>], sums: &[PointSummary]) {
    let get = |s: &PointSummary, k: &str| s.metrics.iter().find(|(m, _)| m == k).map(|(_, c)| *c);
    let percentiles: Vec<&str> = infrasim::model::slo::PERCENTILES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| {
            sums.iter()
                .any(|s| get(s, &format!("slo.percentiles.{n}.observed_s")).is_some())
        })
        .collect();
    let budget = sums.iter().any(|s| get(s, "slo.target").is_some());
    if !budget && percentiles.is_empty() {
        // Nothing to judge beyond the share within the latency, which the table above shows.
        return;
    }
    let mut header: Vec<String> = vec!["point".into(), "within".into()];
    if budget {
        header.extend(["target".into(), "error budget used".into()]);
    }
    header.extend(percentiles.iter().map(|p| format!("{p} (target)")));
    let mut rows = vec![header];
    for s in sums {
        let mut row = vec![
            label(&labels[s.point]),
            get(s, "slo.latency_s").map_or("-".into(), |c| secs(c.mean)),
        ];
        if budget {
            match (get(s, "slo.target"), get(s, "slo_availability")) {
                (Some(t), Some(a)) => {
                    row.push(format!("{}%", (t.mean * 1e6).round() / 1e4));
                    row.push(get(s, "slo.budget_consumed").map_or("-".into(), |c| {
                        format!(
                            "{}: {}",
                            ci_text(Some(&c), |x| format!("{:.1}%", x * 100.0)),
                            verdict(&a, |x| x >= t.mean)
                        )
                    }));
                }
                _ => row.extend(["-".into(), "-".into()]),
            }
        }
        for p in &percentiles {
            row.push(
                match (
                    get(s, &format!("slo.percentiles.{p}.observed_s")),
                    get(s, &format!("slo.percentiles.{p}.target_s")),
                ) {
                    (Some(v), Some(t)) => format!(
                        "{} ({}): {}",
                        ci_text(Some(&v), secs),
                        secs(t.mean),
                        verdict(&v, |x| x <= t.mean)
                    ),
                    _ => "-".into(),
                },
            );
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let _ = writeln!(
        o,
        "\nagainst the SLO (95% intervals; met, MISSED, or undecided: run more replications):"
    );
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(o, "{}", cells.join("   ").trim_end());
    }
}

/// Each sweep point's configuration: the scenario with the point's values as overrides. A value
/// that does not work is reported where it was written: at `sweep.parameters."KEY"` (with its
/// line) when it comes from the file's `[sweep]`, naming `--sweep` when it comes from there.
pub fn build_points(sc: &Scenario, labels: &[Vec<(String, String)>]) -> Result<Vec<Point>, String> {
    labels
        .iter()
        .map(|label| {
            let extra: Vec<String> = label.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let config = sc
                .with_overrides(&extra)
                .map_err(|e| point_error(sc, label, e))?;
            Ok(Point {
                label: label.clone(),
                config,
            })
        })
        .collect()
}

/// The problems of one sweep point, each placed at the parameter value that caused it.
fn point_error(sc: &Scenario, point: &[(String, String)], e: ScenarioError) -> String {
    let in_file: BTreeSet<&str> = sc
        .study
        .sweep
        .iter()
        .flat_map(|s| s.parameters.iter().map(|p| p.key.as_str()))
        .collect();
    let problems = e
        .problems
        .into_iter()
        .map(|p| {
            let cause = point.iter().find_map(|(k, v)| {
                ["set by", "after"].iter().find_map(|how| {
                    p.message
                        .strip_suffix(&format!(" ({how} --set {k}={v})"))
                        .map(|m| (k, v, m.to_string()))
                })
            });
            match cause {
                Some((k, v, m)) if in_file.contains(k.as_str()) => {
                    let at = if p.key == *k {
                        String::new()
                    } else {
                        format!("{}: ", p.key)
                    };
                    Problem::new(
                        format!("sweep.parameters.\"{k}\""),
                        format!("the value {v:?} does not work: {at}{m}"),
                    )
                }
                Some((k, v, m)) => {
                    Problem::new(&p.key, format!("{m} (set by --sweep {k}=...{v}...)"))
                }
                None => Problem {
                    message: format!("{} (in the sweep point {})", p.message, label(point)),
                    ..p
                },
            }
        })
        .collect();
    sc.error(problems).to_string()
}
