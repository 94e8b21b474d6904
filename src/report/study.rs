//! Files of multi-run studies: `runs.csv` (one row per run: the raw material, enough to
//! recompute everything, which is what `simulate merge` does), `sweep.csv` (mean and 95%
//! interval of every metric per point), `comparisons.csv`, and for Monte Carlo studies
//! `montecarlo.json`, `components.csv` and `outages.csv`. `study.json` says what was run.
//!
//! The unsharded path writes `runs.csv`, reads it back and aggregates what it read, exactly as
//! `merge` does, so both give the same bytes. Figures of one run keep 10 significant digits,
//! aggregates the digits their interval supports (`report::num`).

use crate::experiment::montecarlo::{McRun, McSummary};
use crate::experiment::sweep::{Comparison, PointSummary, RunRow};
use serde::{Deserialize, Serialize};
use std::io;

/// What a study ran; identical across the shards of one study except for `shard`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub tool: String,
    /// The scenario's name (names the default output folder and the JUnit suite).
    pub name: String,
    pub scenario_file: String,
    pub scenario_hash: String,
    pub overrides: Vec<String>,
    /// "sweep" or "montecarlo".
    pub kind: String,
    pub seed: u64,
    /// Replications per point (sweep) or runs (Monte Carlo).
    pub runs: u32,
    /// Monte Carlo horizon in seconds.
    pub horizon_s: Option<f64>,
    pub parameters: Vec<(String, Vec<String>)>,
    /// Sweep: a reader's name for each value of the parameters the scenario labels
    /// (`[sweep] labels`): (key, one label per value). Absent from `study.json` when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, Vec<String>)>,
    /// Monte Carlo: the components, in column order.
    pub components: Vec<String>,
    /// Monte Carlo: structural single points of failure of the topology.
    pub spofs: Vec<crate::model::availability::Spof>,
    /// Monte Carlo: what the healthy stack and each single loss do to requests (measured by
    /// request-level runs of those states; empty when states are not run).
    #[serde(default)]
    pub degraded: Vec<crate::experiment::montecarlo::StateRow>,
    /// Monte Carlo: the SLO's latency (s), if the scenario has one.
    #[serde(default)]
    pub slo_latency_s: Option<f64>,
    pub shard: Option<String>,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// A figure of one run ([`super::num::measured`]: no binary noise, "" for NaN).
fn num(x: f64) -> String {
    super::num::measured(x)
}

/// The mean and bounds of an estimate, to the digits its interval supports.
fn est(ci: &crate::stats::MeanCi) -> [String; 3] {
    let f = |x: f64| super::num::estimate(x, ci.half_width);
    [f(ci.mean), f(ci.low()), f(ci.high())]
}

impl StudyRecord {
    /// A reader's name for a swept (parameter, value): its label when the scenario gives one,
    /// else `key=value`.
    pub fn value_name(&self, key: &str, value: &str) -> String {
        let label = self
            .labels
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, l)| {
                let values = &self.parameters.iter().find(|(k, _)| k == key)?.1;
                l.get(values.iter().position(|v| v == value)?)
            });
        match label {
            Some(l) => l.clone(),
            None => format!("{key}={value}"),
        }
    }
}

// ---- sweeps ---------------------------------------------------------------------------------

/// `runs.csv` of a sweep: point, rep, the parameter values, then every metric (the union of
/// the runs' metrics in first-seen order; empty where a run lacks one).
pub fn encode_runs(
    params: &[String],
    labels: &[Vec<(String, String)>],
    rows: &[RunRow],
) -> io::Result<Vec<u8>> {
    let mut keys: Vec<String> = vec![];
    for r in rows {
        for (k, _) in &r.metrics {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header = vec!["point".to_string(), "rep".to_string()];
    header.extend(params.iter().cloned());
    header.extend(keys.iter().cloned());
    w.write_record(&header).map_err(io::Error::other)?;
    for r in rows {
        let mut rec = vec![r.point.to_string(), r.rep.to_string()];
        rec.extend(labels[r.point].iter().map(|(_, v)| v.clone()));
        for k in &keys {
            rec.push(
                r.metrics
                    .iter()
                    .find(|(m, _)| m == k)
                    .map_or(String::new(), |(_, v)| num(*v)),
            );
        }
        w.write_record(&rec).map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

pub fn decode_runs(bytes: &[u8], params: usize) -> io::Result<Vec<RunRow>> {
    let mut rd = csv::Reader::from_reader(bytes);
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| bad(format!("runs.csv: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let first_metric = 2 + params;
    if header.len() < first_metric || header[0] != "point" || header[1] != "rep" {
        return Err(bad("runs.csv: unexpected header".into()));
    }
    // A study writes each metric once: a second column of one name would be averaged twice.
    if let Some(j) =
        (first_metric..header.len()).find(|&j| header[first_metric..j].contains(&header[j]))
    {
        return Err(bad(format!(
            "runs.csv line 1: column {}: '{}' is a second column of that name",
            j + 1,
            header[j]
        )));
    }
    let mut rows = vec![];
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("runs.csv line {}: {e}", i + 2)))?;
        let field = |j: usize| rec.get(j).unwrap_or("");
        let parse_u = |j: usize| -> io::Result<u64> {
            field(j).parse().map_err(|_| {
                bad(format!(
                    "runs.csv line {}: bad number '{}'",
                    i + 2,
                    field(j)
                ))
            })
        };
        let mut metrics = vec![];
        for (j, key) in header.iter().enumerate().skip(first_metric) {
            let f = field(j);
            if f.is_empty() {
                continue;
            }
            // A run's figures are finite: a study writes an undefined one (a quantile of no
            // requests) as an empty field, so NaN or inf here is a file simulate did not write.
            let v: f64 = f
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "runs.csv line {}: {key}: '{f}' is not a finite number",
                        i + 2
                    ))
                })?;
            metrics.push((key.clone(), v));
        }
        rows.push(RunRow {
            point: parse_u(0)? as usize,
            rep: parse_u(1)?,
            metrics,
        });
    }
    Ok(rows)
}

/// `sweep.csv`: per point, the parameter values, the number of runs, and for every metric
/// its mean and the bounds of its 95% interval.
pub fn encode_sweep(
    labels: &[Vec<(String, String)>],
    params: &[String],
    sums: &[PointSummary],
) -> io::Result<Vec<u8>> {
    let mut keys: Vec<String> = vec![];
    for s in sums {
        for (k, _) in &s.metrics {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header = vec!["point".to_string()];
    header.extend(params.iter().cloned());
    header.push("runs".into());
    for k in &keys {
        header.push(format!("{k}.mean"));
        header.push(format!("{k}.ci95_low"));
        header.push(format!("{k}.ci95_high"));
    }
    w.write_record(&header).map_err(io::Error::other)?;
    for s in sums {
        let mut rec = vec![s.point.to_string()];
        rec.extend(labels[s.point].iter().map(|(_, v)| v.clone()));
        rec.push(s.runs.to_string());
        for k in &keys {
            match s.metrics.iter().find(|(m, _)| m == k) {
                Some((_, ci)) => rec.extend(est(ci)),
                None => rec.extend([String::new(), String::new(), String::new()]),
            }
        }
        w.write_record(&rec).map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

pub fn encode_comparisons(
    labels: &[Vec<(String, String)>],
    cmps: &[Comparison],
) -> io::Result<Vec<u8>> {
    let show = |p: usize| {
        labels[p]
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "a",
        "b",
        "parameter",
        "metric",
        "difference_mean",
        "ci95_low",
        "ci95_high",
        "pairs",
        "significant",
    ])
    .map_err(io::Error::other)?;
    for c in cmps {
        w.write_record([
            show(c.a),
            show(c.b),
            c.parameter.clone(),
            c.metric.clone(),
            est(&c.difference)[0].clone(),
            est(&c.difference)[1].clone(),
            est(&c.difference)[2].clone(),
            c.difference.n.to_string(),
            c.significant.to_string(),
        ])
        .map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

// ---- Monte Carlo ----------------------------------------------------------------------------

/// `runs.csv` of a Monte Carlo study, written a run at a time (a study's runs are not held:
/// issue 13): the fixed columns, then per component its blame, its availability if perfect and
/// its SLO availability if perfect. The rows come formatted ([`WrittenRun`], made on the thread
/// that ran the run), so the one thread writing them in order only copies bytes.
pub struct McRunsWriter<W: io::Write> {
    w: W,
}

/// The fixed columns of a Monte Carlo `runs.csv`, before three per component.
const MC_FIXED: [&str; 9] = [
    "rep",
    "availability",
    "slo_availability",
    "time_availability",
    "downtime_s",
    "overload_s",
    "failed_requests",
    "failures",
    "outages",
];

/// What each component's three columns start with, before its name.
const MC_PER_COMPONENT: [&str; 3] = [
    "blame_s.",
    "availability_if_perfect.",
    "slo_availability_if_perfect.",
];

/// The header of a Monte Carlo `runs.csv` of `components`.
pub fn mc_header(components: &[String]) -> Vec<String> {
    let mut header: Vec<String> = MC_FIXED.iter().map(|s| s.to_string()).collect();
    for prefix in MC_PER_COMPONENT {
        header.extend(components.iter().map(|c| format!("{prefix}{c}")));
    }
    header
}

impl<W: io::Write> McRunsWriter<W> {
    /// Writes the header to `w`.
    pub fn new(mut w: W, components: &[String]) -> io::Result<McRunsWriter<W>> {
        let header = mc_header(components);
        // Component names are the scenario's: the csv crate quotes one that needs it.
        let mut h = csv::Writer::from_writer(vec![]);
        h.write_record(&header).map_err(io::Error::other)?;
        let h = h
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        w.write_all(&h)?;
        Ok(McRunsWriter { w })
    }

    pub fn write(&mut self, r: &McRun) -> io::Result<()> {
        self.write_row(&WrittenRun::new(r.clone()))
    }

    /// Writes a row formatted beforehand.
    pub fn write_row(&mut self, r: &WrittenRun) -> io::Result<()> {
        self.w.write_all(r.row.as_bytes())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// A run as `runs.csv` holds it, with its row: every figure rounded as [`num`] writes it (the
/// shortest text that reads back as the rounded value), so the run read back from the file is
/// `run`, bit for bit, and a summary can take it from here instead of from the file.
#[derive(Clone, Debug)]
pub struct WrittenRun {
    pub run: McRun,
    /// The CSV line, with its newline. No field ever needs quoting: numbers, and outage
    /// durations joined by spaces.
    pub row: String,
}

impl WrittenRun {
    pub fn new(mut run: McRun) -> WrittenRun {
        use std::fmt::Write;
        let mut row = String::with_capacity(64 + 24 * (3 * run.perfect.len() + run.outages.len()));
        // As [`num`] writes a figure (NaN as an empty cell); `write!` to a String cannot fail.
        let field = |row: &mut String, x: &mut f64, sep: Option<char>| {
            *x = super::num::round_sig(*x, super::num::DIGITS);
            row.extend(sep);
            if !x.is_nan() {
                let _ = write!(row, "{x}");
            }
        };
        let _ = write!(row, "{}", run.rep);
        for x in run.fixed_mut() {
            field(&mut row, x, Some(','));
        }
        let _ = write!(row, ",{},", run.failures);
        for (i, d) in run.outages.iter_mut().enumerate() {
            field(&mut row, d, (i > 0).then_some(' '));
        }
        for x in run
            .blame_s
            .iter_mut()
            .chain(run.perfect.iter_mut())
            .chain(run.perfect_slo.iter_mut())
        {
            field(&mut row, x, Some(','));
        }
        row.push('\n');
        WrittenRun { run, row }
    }
}

pub fn encode_mc_runs(components: &[String], runs: &[McRun]) -> io::Result<Vec<u8>> {
    let mut w = McRunsWriter::new(vec![], components)?;
    for r in runs {
        w.write(r)?;
    }
    w.finish()
}

/// Checks a Monte Carlo `runs.csv`'s header: the fixed columns, then three per component,
/// each named as [`McRunsWriter`] names them (a shard's columns in another order would be
/// read as the wrong figures).
fn check_mc_header(header: &csv::StringRecord, components: usize) -> io::Result<()> {
    let want = MC_FIXED.len() + 3 * components;
    if header.len() != want {
        return Err(bad(format!(
            "line 1: the header has {} columns; a study of {components} components has {want}",
            header.len()
        )));
    }
    for (j, name) in header.iter().enumerate() {
        let ok = match j.checked_sub(MC_FIXED.len()) {
            None => name == MC_FIXED[j],
            Some(k) => name.starts_with(MC_PER_COMPONENT[k / components]),
        };
        if !ok {
            let expected = match j.checked_sub(MC_FIXED.len()) {
                None => MC_FIXED[j].to_string(),
                Some(k) => format!("{}<component>", MC_PER_COMPONENT[k / components]),
            };
            return Err(bad(format!(
                "line 1: column {}: expected '{expected}', found '{name}'",
                j + 1
            )));
        }
    }
    Ok(())
}

/// One row of a Monte Carlo `runs.csv` (`line` and the `header`'s column names for
/// messages), every figure checked against what a study over `horizon_s` produces
/// ([`McRun::check`]).
fn decode_mc_run(
    rec: &csv::StringRecord,
    header: &csv::StringRecord,
    line: usize,
    components: usize,
    horizon_s: f64,
) -> io::Result<McRun> {
    let run = parse_mc_run(rec, header, line, components)?;
    if let Err(e) = run.check(components, horizon_s) {
        // The text as written (of the outages, the one out of range).
        let text = match (e.column, e.value) {
            (8, Some(v)) => rec[8]
                .split_whitespace()
                .find(|d| d.parse::<f64>().is_ok_and(|x| x.to_bits() == v.to_bits()))
                .unwrap_or(""),
            (j, _) => &rec[j],
        };
        return Err(bad(format!(
            "line {line}: {}: '{text}' is not {}",
            header.get(e.column).unwrap_or("?"),
            e.range.describe(horizon_s)
        )));
    }
    Ok(run)
}

/// One row of a Monte Carlo `runs.csv` as numbers, unchecked ([`decode_mc_run`]).
fn parse_mc_run(
    rec: &csv::StringRecord,
    header: &csv::StringRecord,
    line: usize,
    components: usize,
) -> io::Result<McRun> {
    const FIXED: usize = MC_FIXED.len();
    if rec.len() != FIXED + 3 * components {
        return Err(bad(format!(
            "line {line}: expected {} fields, found {}",
            FIXED + 3 * components,
            rec.len()
        )));
    }
    let column = |j: usize| header.get(j).unwrap_or("?");
    let f = |j: usize| -> io::Result<f64> {
        rec[j].parse().map_err(|_| {
            bad(format!(
                "line {line}: {}: '{}' is not a number",
                column(j),
                &rec[j]
            ))
        })
    };
    // Written as integers: anything else is not from a study.
    let u = |j: usize| -> io::Result<u64> {
        rec[j].parse().map_err(|_| {
            bad(format!(
                "line {line}: {}: '{}' is not a whole number, 0 or more",
                column(j),
                &rec[j]
            ))
        })
    };
    let outages = rec[8]
        .split_whitespace()
        .map(|d| {
            d.parse::<f64>()
                .map_err(|_| bad(format!("line {line}: {}: '{d}' is not a number", column(8))))
        })
        .collect::<io::Result<Vec<f64>>>()?;
    Ok(McRun {
        rep: u(0)?,
        availability: f(1)?,
        slo_availability: f(2)?,
        time_availability: f(3)?,
        downtime_s: f(4)?,
        overload_s: f(5)?,
        failed_requests: f(6)?,
        failures: u(7)?,
        outages,
        blame_s: (0..components)
            .map(|c| f(FIXED + c))
            .collect::<io::Result<_>>()?,
        perfect: (0..components)
            .map(|c| f(FIXED + components + c))
            .collect::<io::Result<_>>()?,
        perfect_slo: (0..components)
            .map(|c| f(FIXED + 2 * components + c))
            .collect::<io::Result<_>>()?,
    })
}

/// The runs of a Monte Carlo `runs.csv` held whole (errors name the file `runs.csv`).
pub fn decode_mc_runs(bytes: &[u8], components: usize) -> io::Result<Vec<McRun>> {
    McRows::new(bytes, components)
        .map(|r| r.map_err(|e| in_file("runs.csv", e)))
        .collect()
}

/// `e`, a message starting with a line number, preceded by the file it is in.
fn in_file(file: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{file} {e}"))
}

/// The rows of a Monte Carlo `runs.csv` read one at a time (`merge` walks the shards' files
/// side by side, row by row; [`decode_mc_runs`] and [`McRunsReader`] read through it too).
/// Ends after the first error. Every row is checked ([`McRun::check`]); an error's message
/// starts with the line (`line 6: downtime_s: ...`), for the reader to name the file.
pub struct McRows<R: io::Read> {
    rd: csv::Reader<R>,
    rec: csv::StringRecord,
    header: Option<csv::StringRecord>,
    line: usize,
    components: usize,
    horizon_s: f64,
    failed: bool,
}

impl<R: io::Read> McRows<R> {
    /// Rows of `components` components; durations are checked against a horizon only with
    /// [`McRows::within`].
    pub fn new(r: R, components: usize) -> McRows<R> {
        McRows {
            rd: csv::Reader::from_reader(r),
            rec: csv::StringRecord::new(),
            header: None,
            line: 1,
            components,
            horizon_s: f64::MAX,
            failed: false,
        }
    }

    /// Checks durations against the study's horizon (seconds) too.
    pub fn within(mut self, horizon_s: f64) -> McRows<R> {
        self.horizon_s = horizon_s;
        self
    }

    fn read(&mut self) -> Option<io::Result<McRun>> {
        if self.header.is_none() {
            let header = match self.rd.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Some(Err(bad(format!("line 1: {e}")))),
            };
            if let Err(e) = check_mc_header(&header, self.components) {
                return Some(Err(e));
            }
            self.header = Some(header);
        }
        let header = self.header.as_ref()?;
        match self.rd.read_record(&mut self.rec) {
            Ok(false) => None,
            Ok(true) => {
                self.line += 1;
                Some(decode_mc_run(
                    &self.rec,
                    header,
                    self.line,
                    self.components,
                    self.horizon_s,
                ))
            }
            Err(e) => Some(Err(bad(format!("line {}: {e}", self.line + 1)))),
        }
    }
}

impl<R: io::Read> Iterator for McRows<R> {
    type Item = io::Result<McRun>;

    fn next(&mut self) -> Option<io::Result<McRun>> {
        if self.failed {
            return None;
        }
        let row = self.read()?;
        self.failed = row.is_err();
        Some(row)
    }
}

/// A Monte Carlo `runs.csv` read back a row at a time, as often as the summary needs
/// (`experiment::mc_summary`), from its start each time.
pub struct McRunsReader<R: io::Read + io::Seek> {
    file: R,
    components: usize,
    horizon_s: f64,
}

impl<R: io::Read + io::Seek> McRunsReader<R> {
    /// Runs of `components` components over `horizon_s` seconds.
    pub fn new(file: R, components: usize, horizon_s: f64) -> McRunsReader<R> {
        McRunsReader {
            file,
            components,
            horizon_s,
        }
    }

    /// The file, for copying it.
    pub fn into_inner(self) -> R {
        self.file
    }
}

impl<R: io::Read + io::Seek> crate::experiment::mc_summary::RunSource for McRunsReader<R> {
    fn each(&mut self, f: &mut dyn FnMut(&McRun) -> io::Result<()>) -> io::Result<()> {
        self.file.seek(io::SeekFrom::Start(0))?;
        let rows = McRows::new(
            io::BufReader::with_capacity(1 << 16, &mut self.file),
            self.components,
        )
        .within(self.horizon_s);
        for r in rows {
            f(&r.map_err(|e| in_file("runs.csv", e))?)?;
        }
        Ok(())
    }
}

pub fn encode_components(s: &McSummary) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "rank",
        "component",
        "downtime_share",
        "improvement_mean",
        "improvement_ci95_low",
        "improvement_ci95_high",
        "slo_improvement_mean",
        "slo_improvement_ci95_low",
        "slo_improvement_ci95_high",
        "structural_spof",
    ])
    .map_err(io::Error::other)?;
    for (i, c) in s.components.iter().enumerate() {
        let spof = s
            .structural_spofs
            .iter()
            .find(|x| x.component == c.component)
            .map_or(String::new(), |x| x.effect.clone());
        w.write_record([
            (i + 1).to_string(),
            c.component.clone(),
            num(c.downtime_share),
            est(&c.improvement)[0].clone(),
            est(&c.improvement)[1].clone(),
            est(&c.improvement)[2].clone(),
            est(&c.slo_improvement)[0].clone(),
            est(&c.slo_improvement)[1].clone(),
            est(&c.slo_improvement)[2].clone(),
            spof,
        ])
        .map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// `states.csv`: what the healthy stack and each single loss do to requests.
pub fn encode_states(s: &McSummary) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "state",
        "servers_serving",
        "failed_fraction",
        "late_fraction",
        "finished_requests",
        "p50_s",
        "p99_s",
    ])
    .map_err(io::Error::other)?;
    for d in &s.degraded_states {
        w.write_record([
            d.state.clone(),
            d.servers.to_string(),
            num(d.fail),
            num(d.late),
            d.finished.to_string(),
            num(d.p50_s),
            num(d.p99_s),
        ])
        .map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// `outages.csv`, written an outage at a time: the run and the duration of each outage.
pub struct OutagesWriter<W: io::Write> {
    w: csv::Writer<W>,
}

impl<W: io::Write> OutagesWriter<W> {
    pub fn new(w: W) -> io::Result<OutagesWriter<W>> {
        let mut w = csv::Writer::from_writer(w);
        w.write_record(["rep", "duration_s"])
            .map_err(io::Error::other)?;
        Ok(OutagesWriter { w })
    }

    pub fn write(&mut self, rep: u64, duration_s: f64) -> io::Result<()> {
        self.w
            .write_record([rep.to_string(), num(duration_s)])
            .map_err(io::Error::other)
    }

    pub fn finish(self) -> io::Result<W> {
        self.w
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

pub fn encode_outages(runs: &[McRun]) -> io::Result<Vec<u8>> {
    let mut w = OutagesWriter::new(vec![])?;
    for r in runs {
        for d in &r.outages {
            w.write(r.rep, *d)?;
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Rng, StreamId};

    /// The row as the csv crate writes it, each figure through [`num`] (how `runs.csv` was
    /// written before rows were formatted on the runs' threads).
    fn csv_row(r: &McRun) -> String {
        let mut rec = vec![
            r.rep.to_string(),
            num(r.availability),
            num(r.slo_availability),
            num(r.time_availability),
            num(r.downtime_s),
            num(r.overload_s),
            num(r.failed_requests),
            r.failures.to_string(),
            r.outages
                .iter()
                .map(|d| num(*d))
                .collect::<Vec<_>>()
                .join(" "),
        ];
        rec.extend(r.blame_s.iter().map(|x| num(*x)));
        rec.extend(r.perfect.iter().map(|x| num(*x)));
        rec.extend(r.perfect_slo.iter().map(|x| num(*x)));
        let mut w = csv::Writer::from_writer(vec![]);
        w.write_record(&rec).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    fn value(rng: &mut Rng) -> f64 {
        match rng.below(8) {
            0 => 0.0,
            1 => -0.0,
            2 => 1.0,
            3 => f64::INFINITY,
            4 => rng.uniform() * 1e-9,
            5 => (rng.uniform() * 1e6).round(),
            _ => rng.uniform() * 10f64.powi(rng.below(30) as i32 - 15),
        }
    }

    /// A `WrittenRun`'s row is what the csv crate wrote, and its run is what reading that row
    /// back gives, bit for bit: the summary may take the run instead of reading the file. (Read
    /// unchecked: the figures here go beyond what a study produces, to reach every format.)
    #[test]
    fn written_runs_are_the_rows_read_back() {
        let mut rng = Rng::new(StreamId::new(7, "written", 0));
        for i in 0..20_000u64 {
            let comps = rng.below(5) as usize;
            let vals = |rng: &mut Rng, n: usize| (0..n).map(|_| value(rng)).collect::<Vec<_>>();
            let run = McRun {
                rep: i * 7919,
                availability: value(&mut rng),
                slo_availability: value(&mut rng),
                time_availability: value(&mut rng),
                downtime_s: value(&mut rng),
                overload_s: value(&mut rng),
                failed_requests: value(&mut rng),
                failures: rng.below(1000),
                outages: {
                    let n = rng.below(4) as usize;
                    vals(&mut rng, n)
                },
                blame_s: vals(&mut rng, comps),
                perfect: vals(&mut rng, comps),
                perfect_slo: vals(&mut rng, comps),
            };
            let w = WrittenRun::new(run.clone());
            assert_eq!(w.row, csv_row(&run), "run {run:?}");
            let names: Vec<String> = (0..comps).map(|c| format!("c{c}")).collect();
            let mut file = McRunsWriter::new(vec![], &names).unwrap();
            file.write_row(&w).unwrap();
            let bytes = file.finish().unwrap();
            let mut rd = csv::Reader::from_reader(&bytes[..]);
            let header = rd.headers().unwrap().clone();
            let rec = rd.records().next().unwrap().unwrap();
            let back = parse_mc_run(&rec, &header, 2, comps).unwrap();
            assert_eq!(back.bits(), w.run.bits(), "run {run:?}");
        }
    }
}
