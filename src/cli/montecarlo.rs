//! Monte Carlo availability studies: run the replications on the fast path, then every output
//! of a study from `runs.csv` (shared with `merge`).

use super::Outcome;
use super::args::{GateArgs, RunArgs};
use super::gate::{gate, judge};
use super::journal;
use super::output::{out_dir, tables, write_study};
use super::study::check_count;
use infrasim::engine::SimTime;
use infrasim::experiment::montecarlo::{self, McSummary};
use infrasim::experiment::{Assertion, Shard};
use infrasim::model::availability;
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::report::table::{availability as fmt_avail, secs};
use infrasim::report::{Provenance, charts, html};
use infrasim::scenario::{self, Scenario};
use std::fmt::Write as _;
use std::path::Path;

pub fn monte_carlo(
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

pub fn finish_mc(
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

pub fn nines(a: f64) -> String {
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
