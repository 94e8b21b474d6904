//! `simulate ladder`: the Monte Carlo study of each design step, charted in nines.

use super::Outcome;
use super::args::OutArgs;
use super::montecarlo::{availability_pm, degraded_spec, nines, slo_latency};
use super::output::{Output, default_dir, tables};
use super::print;
use super::study::{check_count, check_values, pool};
use infrasim::engine::SimTime;
use infrasim::experiment::Reps;
use infrasim::experiment::montecarlo::{self, Degraded, McSummary};
use infrasim::model::availability;
use infrasim::model::degraded::DegradedSpec;
use infrasim::report::{Level, atomic, charts, html, num};
use infrasim::scenario::{self, Scenario, limits};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Most design steps on one ladder (each is a whole Monte Carlo study; a chart of more is
/// unreadable).
const MAX_STEPS: usize = 100;

pub fn ladder(
    files_in: &[PathBuf],
    out_args: &OutArgs,
    runs: Option<u32>,
    threads: Option<usize>,
) -> Outcome {
    if files_in.len() > MAX_STEPS {
        return Err(format!(
            "error: {} design steps; a ladder has at most {MAX_STEPS}",
            files_in.len()
        ));
    }
    // Every step is loaded and checked before any runs: a mistake in the last file must not
    // cost the studies of the others.
    let mut plans: Vec<(Scenario, u32, SimTime, DegradedSpec)> = vec![];
    for path in files_in {
        let sc = scenario::load(path, &[]).map_err(|e| e.to_string())?;
        let spec = sc.study.montecarlo.clone();
        let n = runs
            .or(spec.as_ref().map(|s| s.runs))
            .unwrap_or(scenario::study::DEFAULT_MC_RUNS);
        check_count(&sc.path, "--runs", n as u64)?;
        let horizon = spec.map_or(SimTime::from_secs(365 * 86_400), |s| s.horizon);
        let comps = availability::components(&sc.config);
        if comps.is_empty() {
            return Err(format!(
                "error: {}: a design step needs [[random_faults]]",
                path.display()
            ));
        }
        let spec = degraded_spec(&sc)?;
        limits::check_montecarlo(&sc.config, horizon, n, &spec, &|i| sc.fault_key(i))
            .map_err(|p| sc.error(vec![p]).to_string())?;
        let outages: f64 = limits::expected_failures(&sc.config, horizon).iter().sum();
        check_values(
            &sc.path,
            n as u64,
            2 * comps.len() as u64 + 8 + outages.ceil() as u64,
        )?;
        plans.push((sc, n, horizon, spec));
    }
    let output = Output::claim(out_args, default_dir("ladder", None))?;
    let pool = pool(threads)?;
    let mut steps: Vec<(String, McSummary)> = vec![];
    for (sc, n, horizon, spec) in &plans {
        let (n, horizon) = (*n, *horizon);
        let comps = availability::components(&sc.config);
        let degraded = Degraded::new(&sc.config, spec, slo_latency(&sc.config));
        let (_, results) =
            pool.install(|| montecarlo::run_held(&sc.config, horizon, &degraded, Reps::all(n)));
        let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
        let summary = montecarlo::summarise(
            &names,
            availability::structural_spofs(&sc.config),
            degraded.single_failures(&sc.config),
            slo_latency(&sc.config).map(|l| l.as_secs_f64()),
            horizon,
            &results,
        );
        steps.push((sc.config.name.clone(), summary));
    }
    let width = steps
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .max("design".len());
    let mut text = format!(
        "{:<width$} {:>24} {:>7} {:>24} {:>7} {:>18} {:>18} {:>14}\n",
        "design",
        "availability (95% CI)",
        "nines",
        "within SLO (95% CI)",
        "nines",
        "downtime min/year",
        "of it overload",
        "outages/year"
    );
    let mut csv = csv::Writer::from_writer(vec![]);
    let _ = csv.write_record([
        "step",
        "design",
        "availability",
        "ci95_low",
        "ci95_high",
        "nines",
        "slo_availability",
        "slo_ci95_low",
        "slo_ci95_high",
        "slo_nines",
        "downtime_minutes_per_year",
        "overload_minutes_per_year",
        "outages_per_year",
        "structural_spofs",
    ]);
    for (i, (name, s)) in steps.iter().enumerate() {
        let a = s.availability;
        let g = s.slo_availability;
        let _ = writeln!(
            text,
            "{:<width$} {:>24} {:>7} {:>24} {:>7} {:>18.1} {:>18.1} {:>14.1}",
            name,
            availability_pm(&a),
            nines(a.mean),
            availability_pm(&g),
            nines(g.mean),
            s.downtime_minutes_per_year.mean,
            s.overload_minutes_per_year.mean,
            s.outages_per_year.mean
        );
        let _ = csv.write_record([
            (i + 1).to_string(),
            name.clone(),
            num::estimate(a.mean, a.half_width),
            num::estimate(a.low(), a.half_width),
            num::estimate(a.high(), a.half_width),
            nines(a.mean),
            num::estimate(g.mean, g.half_width),
            num::estimate(g.low(), g.half_width),
            num::estimate(g.high(), g.half_width),
            nines(g.mean),
            num::estimate(
                s.downtime_minutes_per_year.mean,
                s.downtime_minutes_per_year.half_width,
            ),
            num::estimate(
                s.overload_minutes_per_year.mean,
                s.overload_minutes_per_year.half_width,
            ),
            num::estimate(s.outages_per_year.mean, s.outages_per_year.half_width),
            s.structural_spofs
                .iter()
                .map(|x| x.component.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    let csv = csv.into_inner().map_err(|e| e.to_string())?;
    let chart_steps: Vec<charts::ladder::Step> = steps
        .iter()
        .map(|(n, s)| charts::ladder::Step {
            name: n.clone(),
            availability: s.availability,
            slo: s.slo_latency_s.map(|_| s.slo_availability),
        })
        .collect();
    // The command that gives this folder again (the files as given, `--runs` if given).
    let mut words = vec!["simulate".to_string(), "ladder".to_string()];
    if let Some(n) = runs {
        words.extend(["--runs".to_string(), n.to_string()]);
    }
    let files: Vec<String> = files_in.iter().map(|p| p.display().to_string()).collect();
    words.extend(files.iter().cloned());
    let reproduce = html::Reproduce::new(html::shell_words(&words), &files);
    output.write(|tmp, level| {
        atomic::write_file(&tmp.join("ladder.csv"), &csv)?;
        if level < Level::All {
            return Ok(());
        }
        let charts = charts::ladder(tmp, &chart_steps)?;
        let tables = tables(&[("Designs", "ladder.csv")]);
        html::index(
            tmp,
            &html::Page {
                title: "Design ladder: availability of each step".into(),
                kind: &format!(
                    "Design ladder: {} designs, each a Monte Carlo study",
                    steps.len()
                ),
                answer: infrasim::report::verdict::ladder_answer(&steps),
                charts: &charts,
                tables: &tables,
                text: Some(&text),
                reproduce: reproduce.clone(),
            },
        )?;
        Ok(())
    })?;
    print::out(&text);
    print::outln(&output.written());
    Ok(true)
}
