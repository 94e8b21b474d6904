//! `simulate ladder`: the Monte Carlo study of each design step, charted in nines.

use super::Outcome;
use super::montecarlo::nines;
use super::output::tables;
use super::study::{check_count, pool};
use infrasim::engine::SimTime;
use infrasim::experiment::montecarlo::{self, McSummary};
use infrasim::model::availability;
use infrasim::report::table::availability as fmt_avail;
use infrasim::report::{atomic, charts, html};
use infrasim::scenario;
use infrasim::stats::MeanCi;
use std::fmt::Write as _;
use std::path::PathBuf;

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
