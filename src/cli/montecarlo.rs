//! Monte Carlo availability studies: run the replications on the fast path, then every output
//! of a study from `runs.csv` (shared with `merge`).

use super::Outcome;
use super::args::RunArgs;
use super::gate::{Gate, judge};
use super::journal::{self, with_resume_note};
use super::output::{Output, default_dir, tables};
use super::print;
use super::study::check_count;
use infrasim::engine::SimTime;
use infrasim::experiment::mc_summary;
use infrasim::experiment::mc_summary::RunSource;
use infrasim::experiment::montecarlo::{self, Degraded, McRun, McSummary};
use infrasim::experiment::{Reps, Shard};
use infrasim::model::availability;
use infrasim::model::degraded::DegradedSpec;
use infrasim::report::charts::availability::OutageBins;
use infrasim::report::runs_bin::{RunsBinReader, RunsBinWriter};
use infrasim::report::scratch as report_scratch;
use infrasim::report::study::{
    self as files, McRunsReader, McRunsWriter, OutagesWriter, StudyRecord, WrittenRun,
};
use infrasim::report::table::{availability as fmt_avail, availability_decimals, secs};
use infrasim::report::{Level, atomic};
use infrasim::report::{Provenance, charts, html};
use infrasim::scenario::error::Problem;
use infrasim::scenario::{self, Scenario, limits};
use infrasim::stats::MeanCi;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// The assertion metrics of a Monte Carlo study, for messages.
pub fn known_metrics() -> String {
    format!(
        "a Monte Carlo study reports {}",
        montecarlo::METRICS.join(", ")
    )
}

/// The study's degraded-state settings, checked against the topology.
pub fn degraded_spec(sc: &Scenario) -> Result<DegradedSpec, String> {
    let spec = sc
        .study
        .montecarlo
        .as_ref()
        .map_or(DegradedSpec::default(), |m| m.degraded.clone());
    let servers = sc.config.servers.len() as u32;
    if let Some(k) = spec.min_servers
        && k > servers
    {
        return Err(sc
            .error(vec![Problem::new(
                "montecarlo.min_servers",
                format!("is {k}, but the stack has {servers} server(s)"),
            )])
            .to_string());
    }
    Ok(spec)
}

pub fn monte_carlo(
    sc: &Scenario,
    args: &RunArgs,
    prov: &Provenance,
    shard: Option<Shard>,
    gate: &Gate,
) -> Outcome {
    let spec = sc.study.montecarlo.clone();
    let runs = args
        .runs
        .or(spec.as_ref().map(|s| s.runs))
        .unwrap_or(scenario::study::DEFAULT_MC_RUNS);
    check_count(&sc.path, "--runs", runs as u64)?;
    let horizon = spec.map_or(SimTime::from_secs(365 * 86_400), |s| s.horizon);
    let comps = availability::components(&sc.config);
    if comps.is_empty() {
        return Err(format!(
            "error: {}: a Monte Carlo study needs [[random_faults]] (MTTF/MTTR per component kind)",
            sc.path.display()
        ));
    }
    // The time bound; memory does not grow with the runs (their rows go to disk as they
    // finish, and the summary reads them back), so it bounds nothing else.
    let overload = degraded_spec(sc)?;
    limits::check_montecarlo(&sc.config, horizon, runs, &overload, &|i| sc.fault_key(i))
        .map_err(|p| sc.error(vec![p]).to_string())?;
    gate.check_metrics(
        |m| (!McSummary::knows(m)).then(String::new),
        &known_metrics(),
    )?;
    let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
    let degraded = Degraded::new(&sc.config, &overload, slo_latency(&sc.config));
    let mut record = StudyRecord {
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
        labels: vec![],
        components: names.clone(),
        spofs: availability::structural_spofs(&sc.config),
        // Measured while the first runs run (below).
        degraded: vec![],
        slo_latency_s: slo_latency(&sc.config).map(|l| l.as_secs_f64()),
        shard: shard.map(|s| s.to_string()),
    };
    let output = Output::claim(&args.output, default_dir(&sc.config.name, shard))?;
    let mine_reps = Reps::owned(runs, shard);
    let mine = mine_reps.len();
    let journal_dir = output.dir().map(|d| d.journal_path());
    // The rows go to `runs.csv` in the journal folder as the runs finish, in rep order, and
    // feed the summary's first pass on their way (not a shard's: merge summarises).
    let mut rows: Option<(McRunsWriter<BufWriter<File>>, Option<Tally>)> = None;
    let mut push = |w: WrittenRun| -> Result<(), String> {
        let scratch = journal_dir.as_deref();
        let (rows, tally) = match &mut rows {
            Some(w) => w,
            None => {
                let tally = match shard {
                    Some(_) => None,
                    None => Some(Tally::new(&output, scratch, names.len(), horizon)?),
                };
                rows.insert((open_rows(scratch, &names)?, tally))
            }
        };
        rows.write_row(&w)
            .and_then(|()| tally.as_mut().map_or(Ok(()), |t| t.add(&w.run)))
            .map_err(|e| scratch_error(scratch, e))
    };
    let mut single = vec![];
    let streamed = journal::stream_study(
        journal_dir.as_deref(),
        &record,
        args.resume,
        args.output.quiet,
        mine_reps,
        &|r: &McRun| check_held(r, &names, horizon.as_secs_f64()),
        WrittenRun::new,
        |todo, stop, done, ordered| {
            // The request-level runs of the healthy stack and of each single loss (a few
            // jobs, fewer than or not a multiple of the threads) are measured beside the
            // study's runs rather than before them, so no thread waits for the last of them.
            // A state whose run was cut short for its requests in flight stops the study.
            let stop = || stop() || degraded.failed();
            let (states, ran) = rayon::join(
                || degraded.single_failures(&sc.config),
                || montecarlo::run(&sc.config, horizon, &degraded, todo, &stop, done, ordered),
            );
            single = states;
            if degraded.failed() {
                return Err("a state run was cut short".into());
            }
            ran.map(|_| ())
        },
        &mut push,
    );
    if let Some((run, config, cut)) = degraded.overflowed() {
        // The runs journaled so far used that state's made-up figure: none is kept.
        if let Some(dir) = &journal_dir {
            atomic::remove_marked(dir);
        }
        let at = format!("Monte Carlo {run}");
        return Err(limits::in_flight_error(&sc.path, Some(&at), &config, &cut));
    }
    let (journal, elapsed) = streamed?;
    record.degraded = single;
    let (rows, tally) = match rows {
        Some(w) => w,
        None => (open_rows(journal_dir.as_deref(), &names)?, None),
    };
    let mut runs_csv = rows
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| scratch_error(journal_dir.as_deref(), e))?;
    if shard.is_some() {
        write_mc(&output, &record, &mut runs_csv, None, &[], |_| Ok(()))
            .map_err(|e| with_resume_note(journal.as_ref(), mine, e))?;
        if let Some(j) = journal {
            j.remove();
        }
        print::outln(&format!(
            "shard {}: {mine} of {runs} runs in {:.1} s, written to {}/ (combine with `simulate merge`)",
            record.shard.as_deref().unwrap_or(""),
            elapsed.as_secs_f64(),
            output.shown()
        ));
        return Ok(true);
    }
    let ok = finish_mc(
        &output,
        &record,
        runs_csv,
        tally,
        journal_dir.as_deref(),
        gate,
        &sc.config.name,
    )
    .map_err(|e| with_resume_note(journal.as_ref(), mine, e))?;
    if let Some(j) = journal {
        j.remove();
    }
    print::outln(&format!(
        "{runs} runs of {:.0} simulated days in {:.2} s; {}",
        horizon.as_secs_f64() / 86_400.0,
        elapsed.as_secs_f64(),
        output.written()
    ));
    Ok(ok)
}

/// Whether a run the journal held is one the study could have produced ([`McRun::check`]),
/// else which figure is not, named by its `runs.csv` column.
fn check_held(r: &McRun, names: &[String], horizon_s: f64) -> Result<(), String> {
    let Err(e) = r.check(names.len(), horizon_s) else {
        return Ok(());
    };
    let header = files::mc_header(names);
    let column = header.get(e.column).map_or("?", String::as_str);
    Err(match e.value {
        Some(v) => format!("{column}: {v:?} is not {}", e.range.describe(horizon_s)),
        None => format!(
            "{column}: missing or extra (a run has {} of each per-component figure)",
            names.len()
        ),
    })
}

/// A new `runs.csv` scratch file of the study (`scratch` is the journal folder, if any), with
/// its header.
fn open_rows(
    scratch: Option<&Path>,
    names: &[String],
) -> Result<McRunsWriter<BufWriter<File>>, String> {
    report_scratch::create(scratch, "runs.csv")
        .and_then(|f| McRunsWriter::new(BufWriter::with_capacity(1 << 16, f), names))
        .map_err(|e| scratch_error(scratch, e))
}

fn scratch_error(scratch: Option<&Path>, e: std::io::Error) -> String {
    match scratch {
        Some(d) => format!("error: writing the study's rows to {}/: {e}", d.display()),
        None => format!("error: writing the study's rows to a temporary file: {e}"),
    }
}

/// Writes a Monte Carlo study's folder: `study.json`, `runs.csv` and `outages.csv` copied from
/// their scratch files, the `more` files, then with `--output all` whatever `extra` adds; built
/// aside and swapped in whole.
fn write_mc(
    output: &Output,
    record: &StudyRecord,
    runs_csv: &mut File,
    outages_csv: Option<&mut File>,
    more: &[(&str, Vec<u8>)],
    extra: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
    output.write(|tmp, level| {
        atomic::write_file(&tmp.join("study.json"), &json)?;
        report_scratch::copy_to(runs_csv, &tmp.join("runs.csv"))?;
        if let Some(f) = outages_csv {
            report_scratch::copy_to(f, &tmp.join("outages.csv"))?;
        }
        for (name, bytes) in more {
            atomic::write_file(&tmp.join(name), bytes)?;
        }
        if level == Level::All {
            extra(tmp)?;
        }
        Ok(())
    })
}

/// What a study's runs feed in rep order as they are written (the study's) or read back
/// (`merge`'s): the summary's first pass, the binary copy of the runs its other passes read,
/// the outage histogram and `outages.csv` (with an output folder).
pub struct Tally {
    first: mc_summary::Sums,
    runs: RunsBinWriter<BufWriter<File>>,
    bins: OutageBins,
    outages: Option<OutagesWriter<BufWriter<File>>>,
}

impl Tally {
    /// `scratch` is where `outages.csv` is built (the journal folder; an unnamed temporary file
    /// without one).
    fn new(
        output: &Output,
        scratch: Option<&Path>,
        components: usize,
        horizon: SimTime,
    ) -> Result<Tally, String> {
        let outages = match output.dir() {
            Some(_) => Some(
                report_scratch::create(scratch, "outages.csv")
                    .and_then(|f| OutagesWriter::new(BufWriter::with_capacity(1 << 16, f)))
                    .map_err(|e| scratch_error(scratch, e))?,
            ),
            None => None,
        };
        let runs = report_scratch::create(scratch, "runs.bin")
            .map(|f| RunsBinWriter::new(BufWriter::with_capacity(1 << 16, f)))
            .map_err(|e| scratch_error(scratch, e))?;
        Ok(Tally {
            first: mc_summary::Sums::new(components, horizon),
            runs,
            bins: OutageBins::default(),
            outages,
        })
    }

    fn add(&mut self, r: &McRun) -> std::io::Result<()> {
        self.runs.write(r)?;
        let (bins, outages) = (&mut self.bins, &mut self.outages);
        self.first.add(r, &mut |rep, d| {
            bins.add(d);
            match outages {
                Some(w) => w.write(rep, d),
                None => Ok(()),
            }
        })
    }
}

/// Every output of a study from its `runs.csv` (a file read back as a stream, never held:
/// shared with `merge`) and `tally`, what its runs fed as they were written (read from
/// `runs.csv` when `None`). `scratch` is where `outages.csv` is built (the journal folder; an
/// unnamed temporary file without one).
pub fn finish_mc(
    output: &Output,
    record: &StudyRecord,
    runs_csv: File,
    tally: Option<Tally>,
    scratch: Option<&Path>,
    gate: &Gate,
    suite: &str,
) -> Outcome {
    let horizon_s = record.horizon_s.unwrap_or(0.0);
    let horizon = SimTime::from_secs_f64(horizon_s);
    let mut source = McRunsReader::new(runs_csv, record.components.len(), horizon_s);
    let tally = match tally {
        Some(t) => t,
        None => {
            let mut t = Tally::new(output, scratch, record.components.len(), horizon)?;
            source
                .each(&mut |r| t.add(r))
                .map_err(|e| format!("error: {e}"))?;
            t
        }
    };
    let Tally {
        first,
        runs,
        bins,
        outages,
    } = tally;
    let runs = runs
        .finish()
        .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| scratch_error(scratch, e))?;
    let summary = mc_summary::summarise_from(
        first,
        &record.components,
        record.spofs.clone(),
        record.degraded.clone(),
        record.slo_latency_s,
        &mut RunsBinReader::new(runs, record.components.len()),
    )
    .map_err(|e| format!("error: {e}"))?;
    let mut outages_csv = outages
        .map(|w| {
            w.finish()
                .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
        })
        .transpose()
        .map_err(|e| scratch_error(scratch, e))?;
    let mut runs_csv = source.into_inner();
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    let comps = files::encode_components(&summary).map_err(|e| e.to_string())?;
    let states = files::encode_states(&summary).map_err(|e| e.to_string())?;
    let text = render_mc(&summary);
    write_mc(
        output,
        record,
        &mut runs_csv,
        outages_csv.as_mut(),
        &[
            ("montecarlo.json", json),
            ("components.csv", comps),
            ("states.csv", states),
        ],
        |tmp| {
            let charts = charts::availability(tmp, &summary, &bins)?;
            let tables = tables(&[
                (
                    "Components ranked by improvement potential",
                    "components.csv",
                ),
                ("Outages", "outages.csv"),
                ("What each state does to requests", "states.csv"),
                ("Every run", "runs.csv"),
            ]);
            html::index(
                tmp,
                &html::Page {
                    title: format!("{}: Monte Carlo availability study", record.name),
                    kind: &format!(
                        "Monte Carlo availability study: {} runs of {}",
                        summary.runs,
                        infrasim::report::charts::style::duration(summary.horizon_s)
                    ),
                    answer: infrasim::report::verdict::availability_answer(&summary),
                    charts: &charts,
                    tables: &tables,
                    text: Some(&text),
                    reproduce: super::study::reproduce(
                        record,
                        &[
                            "--montecarlo".into(),
                            "--runs".into(),
                            record.runs.to_string(),
                        ],
                    ),
                },
            )?;
            Ok(())
        },
    )?;
    print::out(&text);
    gate.judge(suite, |a| {
        judge(a, &[(String::new(), summary.metric(&a.metric))])
    })
}

/// The SLO latency late requests are counted against, if the scenario has an `[slo]`.
pub fn slo_latency(cfg: &infrasim::model::Config) -> Option<SimTime> {
    cfg.slo_latency()
}

pub fn nines(a: f64) -> String {
    if a >= 1.0 {
        "∞".into()
    } else {
        format!("{:.2}", -(1.0 - a).log10())
    }
}

/// `text(mean) ± text(half-width)`, or `text(mean)` alone when there is no interval (one run).
pub fn pm(c: &MeanCi, text: impl Fn(f64) -> String) -> String {
    if c.n >= 2 && c.half_width.is_finite() {
        format!("{} ± {}", text(c.mean), text(c.half_width))
    } else {
        text(c.mean)
    }
}

/// Availability and its interval: `99.929% ± 0.0036%`; the interval at least as precise as
/// the mean (`99.999960% ± 0.000012%` at 6.4 nines, where a fixed 4 decimals printed
/// `100.0000% ± 0.0000%`).
pub fn availability_pm(a: &MeanCi) -> String {
    if a.n >= 2 && a.half_width.is_finite() {
        let d = availability_decimals(a.mean).max(4);
        format!("{} ± {:.d$}%", fmt_avail(a.mean), a.half_width * 100.0)
    } else {
        fmt_avail(a.mean)
    }
}

fn render_mc(s: &McSummary) -> String {
    let mut o = String::new();
    let a = &s.availability;
    let single = if s.runs < 2 {
        " (one run: no interval)"
    } else {
        ""
    };
    let _ = writeln!(
        o,
        "availability {} ({} nines) over {} runs of {:.0} days{single}",
        availability_pm(a),
        nines(a.mean),
        s.runs,
        s.horizon_s / 86_400.0
    );
    if let Some(l) = s.slo_latency_s {
        let g = &s.slo_availability;
        let _ = writeln!(
            o,
            "served within the SLO ({}): {} ({} nines)",
            secs(l),
            availability_pm(g),
            nines(g.mean)
        );
    }
    let one = |x: f64| format!("{x:.1}");
    let _ = writeln!(
        o,
        "expected downtime {} min/year (of it overload {}); {} outages/year; {:.0} failed \
         requests/year",
        pm(&s.downtime_minutes_per_year, one),
        pm(&s.overload_minutes_per_year, one),
        pm(&s.outages_per_year, one),
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
    if !s.degraded_states.is_empty() {
        let _ = writeln!(
            o,
            "\nwhat each state does to requests (request-level runs of it):"
        );
        for d in &s.degraded_states {
            let late = if s.slo_latency_s.is_some() {
                format!(", {:.2}% slower than the SLO", d.late * 100.0)
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "  {}: {:.3}% fail{late}; p50 {}, p99 {}",
                d.state,
                d.fail * 100.0,
                secs(d.p50_s),
                secs(d.p99_s)
            );
        }
    }
    let width = s
        .components
        .iter()
        .map(|c| c.component.chars().count())
        .max()
        .unwrap_or(0)
        .max("component".len());
    let slo = s.slo_latency_s.is_some();
    let _ = writeln!(
        o,
        "\n{:<width$} {:>14} {:>30}{}",
        "component",
        "downtime share",
        "availability if perfect (+)",
        if slo {
            format!(" {:>30}", "within SLO if perfect (+)")
        } else {
            String::new()
        }
    );
    let plus = |c: &MeanCi| pm(c, |x| format!("{:+.5}%", x * 100.0)).replace("± +", "± ");
    for c in &s.components {
        let _ = writeln!(
            o,
            "{:<width$} {:>13.1}% {:>30}{}",
            c.component,
            c.downtime_share * 100.0,
            plus(&c.improvement),
            if slo {
                format!(" {:>30}", plus(&c.slo_improvement))
            } else {
                String::new()
            }
        );
    }
    o
}

impl journal::Job for McRun {
    fn job(&self) -> u64 {
        self.rep
    }
}

impl journal::Job for WrittenRun {
    fn job(&self) -> u64 {
        self.run.rep
    }
}
