//! `simulate merge`: combine the outputs of `--shard K/N` runs into what one unsharded study
//! gives, byte for byte.

use super::Outcome;
use super::args::{GateArgs, OutArgs};
use super::gate::Gate;
use super::montecarlo::{finish_mc, known_metrics};
use super::output::{Output, default_dir};
use super::print;
use super::run::examples;
use super::source;
use super::sweep::{MAX_PAIRS, MAX_POINTS, build_points, finish_sweep};
use infrasim::engine::SimTime;
use infrasim::experiment::metrics;
use infrasim::experiment::montecarlo::McRun;
use infrasim::experiment::montecarlo::McSummary;
use infrasim::experiment::sweep::{self, Point};
use infrasim::report::scratch;
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::scenario::build::name_problem;
use infrasim::scenario::build::{MAX_REPLICAS, MAX_SERVERS};
use infrasim::scenario::{self, input};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest `study.json` and `runs.csv` of a shard read (a study's runs are bounded well below).
const MAX_STUDY_JSON: u64 = 64 << 20;
const MAX_RUNS_CSV: u64 = 4 << 30;

pub fn merge(dirs: &[PathBuf], out_args: &OutArgs, gate_args: &GateArgs) -> Outcome {
    let gate = Gate::new(gate_args)?;
    let mut record: Option<StudyRecord> = None;
    let mut parts: Vec<(PathBuf, Rows)> = vec![];
    // Each shard's `K/N` and the folder that holds it: one given twice is refused.
    let mut labels: Vec<(String, &Path)> = vec![];
    for d in dirs {
        let read = |name: &str, limit: u64| {
            input::read_file(&d.join(name), limit)
                .map_err(|e| format!("error: {}: {e}", d.join(name).display()))
        };
        let r: StudyRecord = serde_json::from_slice(&read("study.json", MAX_STUDY_JSON)?)
            .map_err(|e| format!("error: {}: {e}", d.join("study.json").display()))?;
        if let Some(first) = &record
            && let Some(why) = other_study(first, &r)
        {
            return Err(format!(
                "error: {} is not a shard of the same study as {}: {why}",
                d.display(),
                dirs[0].display()
            ));
        }
        if let Some(k) = &r.shard {
            if let Some((_, twice)) = labels.iter().find(|(l, _)| l == k) {
                return Err(format!(
                    "error: {} and {} are both shard {k} of the study: give each shard once \
                     (a copy of a shard's folder, or the same folder twice?)",
                    twice.display(),
                    d.display()
                ));
            }
            labels.push((k.clone(), d));
        }
        // A Monte Carlo study's rows are read as a stream, never whole (issue 13).
        let rows = if r.kind == "montecarlo" {
            let path = d.join("runs.csv");
            Rows::File(
                input::open_file(&path, MAX_RUNS_CSV)
                    .map_err(|e| format!("error: {}: {e}", path.display()))?,
            )
        } else {
            Rows::Bytes(read("runs.csv", MAX_RUNS_CSV)?)
        };
        parts.push((d.clone(), rows));
        record = Some(r);
    }
    let mut record = record.ok_or("error: nothing to merge")?;
    check_record(&record, &dirs[0].join("study.json"))?;
    record.shard = None;
    let name = record.name.clone();
    if record.kind == "montecarlo" {
        gate.check_metrics(
            |m| (!McSummary::knows(m)).then(String::new),
            &known_metrics(),
        )?;
        let mut files = vec![];
        for (d, rows) in &mut parts {
            match rows {
                Rows::File(f) => files.push((d.as_path(), f)),
                Rows::Bytes(_) => {
                    return Err(format!("error: {}: not a Monte Carlo study", d.display()));
                }
            }
        }
        let runs_csv = merge_mc_rows(&mut files, &record)?;
        let output = claim_apart(dirs, out_args, default_dir(&name, None))?;
        let ok = finish_mc(&output, &record, runs_csv, None, None, &gate, &name)?;
        print::outln(&output.written());
        return Ok(ok);
    }
    let keys: Vec<String> = record.parameters.iter().map(|(k, _)| k.clone()).collect();
    let labels = sweep::product(&record.parameters);
    let mut rows = vec![];
    for (d, part) in &parts {
        let Rows::Bytes(bytes) = part else {
            return Err(format!("error: {}: not a sweep", d.display()));
        };
        rows.extend(
            files::decode_runs(bytes, keys.len())
                .map_err(|e| format!("error: {}/{e}", d.display()))?,
        );
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.point >= labels.len() || r.rep >= u64::from(record.runs))
    {
        return Err(format!(
            "error: a shard's runs.csv holds run {} of point {}, outside the study's {} points \
             of {} runs",
            r.rep,
            r.point,
            labels.len(),
            record.runs
        ));
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
    // The metrics are the columns of runs.csv: an assertion on another is a usage error.
    let known: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| r.metrics.iter().map(|(k, _)| k.clone()))
        .collect();
    gate.check_metrics(
        |m| (!known.contains(m)).then(String::new),
        &format!(
            "the study reports {} (short names) and every column of runs.csv: {}",
            metrics::ALIASES,
            examples(&known)
        ),
    )?;
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    let output = claim_apart(dirs, out_args, default_dir(&name, None))?;
    let points = points_of(&record, &dirs[0]);
    if points.is_none() && !out_args.quiet {
        print::errln(&format!(
            "note: {} is not available unchanged here: the per-algorithm latency CDF is left out",
            record.scenario_file
        ));
    }
    let points = points.as_deref().map(|p| (p, &[][..]));
    let ok = finish_sweep(&output, &record, &runs_csv, points, &gate, &name)?;
    print::outln(&output.written());
    Ok(ok)
}

/// Why `b` is not a shard of the study `a` is a shard of, if it is not: the first field of
/// their `study.json` that differs (the shard's own `K/N` aside), named with both values, so
/// that shards of two versions of simulate, or of two seeds, say so.
fn other_study(a: &StudyRecord, b: &StudyRecord) -> Option<String> {
    let unsharded = |r: &StudyRecord| StudyRecord {
        shard: None,
        ..r.clone()
    };
    if unsharded(a) == unsharded(b) {
        return None;
    }
    let value = |r: &StudyRecord| serde_json::to_value(unsharded(r)).unwrap_or_default();
    let (va, vb) = (value(a), value(b));
    let (Some(ma), Some(mb)) = (va.as_object(), vb.as_object()) else {
        return Some("their study.json differ".into());
    };
    let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    let null = serde_json::Value::Null;
    let key = keys
        .into_iter()
        .find(|k| ma.get(*k) != mb.get(*k))
        .map(String::as_str)
        .unwrap_or("");
    let (x, y) = (ma.get(key).unwrap_or(&null), mb.get(key).unwrap_or(&null));
    let brief = |v: &serde_json::Value| {
        let t = v.to_string();
        if t.chars().count() > 80 {
            t.chars().take(77).collect::<String>() + "..."
        } else {
            t
        }
    };
    let hint = if key == "tool" {
        ": shards written by two versions of simulate do not merge; run every shard with one"
    } else {
        ""
    };
    Some(format!(
        "its study.json has {key} = {}, the other's {}{hint}",
        brief(y),
        brief(x)
    ))
}

/// Claims the merged study's folder, refusing one of the shards being merged: the merge would
/// replace the shard with the study made from it (a folder simulate wrote, so the rule that
/// protects a user's folders would let it), and the shard could not be merged again.
fn claim_apart(dirs: &[PathBuf], out_args: &OutArgs, default: PathBuf) -> Result<Output, String> {
    let target = out_args.out.clone().unwrap_or_else(|| default.clone());
    if out_args.output != super::args::Output::None
        && let Ok(t) = std::fs::canonicalize(&target)
        && let Some(d) = dirs
            .iter()
            .find(|d| std::fs::canonicalize(d).is_ok_and(|c| c == t))
    {
        return Err(format!(
            "error: --out {} is the shard {} being merged: the merge would replace it; give \
             another --out",
            target.display(),
            d.display()
        ));
    }
    Output::claim(out_args, default)
}

/// Checks what a shard's `study.json` asks for before acting on it (the file is an input like
/// any other: a tampered one must not send the output elsewhere or ask for a product of
/// parameters that does not fit in memory).
fn check_record(r: &StudyRecord, file: &Path) -> Result<(), String> {
    let fail = |key: &str, why: String| Err(format!("error: {}: {key}: {why}", file.display()));
    if let Some(why) = name_problem(&r.name) {
        return fail("name", why);
    }
    if r.kind != "sweep" && r.kind != "montecarlo" {
        return fail(
            "kind",
            format!("must be \"sweep\" or \"montecarlo\", got {:?}", r.kind),
        );
    }
    // A Monte Carlo study's figures are checked against its horizon, and summarised per year
    // of it.
    let max_horizon = SimTime::MAX.as_secs_f64();
    match r.horizon_s {
        Some(h) if r.kind == "montecarlo" && !(h >= 1e-9 && h <= max_horizon) => {
            return fail(
                "horizon_s",
                format!("must be seconds from 1e-9 to {max_horizon}, got {h}"),
            );
        }
        None if r.kind == "montecarlo" => {
            return fail(
                "horizon_s",
                "is missing (a Monte Carlo study's horizon)".into(),
            );
        }
        _ => {}
    }
    let max_runs = scenario::study::MAX_RUNS as u64;
    if r.runs == 0 || u64::from(r.runs) > max_runs {
        return fail(
            "runs",
            format!("must be from 1 to {max_runs}, got {}", r.runs),
        );
    }
    let points = r
        .parameters
        .iter()
        .try_fold(1u128, |acc, (_, v)| acc.checked_mul(v.len() as u128))
        .unwrap_or(u128::MAX);
    if points == 0 || points > MAX_POINTS as u128 {
        return fail(
            "parameters",
            format!("make {points} points; a study has 1 to {MAX_POINTS}"),
        );
    }
    if points * u128::from(r.runs) > max_runs as u128 {
        return fail(
            "runs",
            format!(
                "{points} points x {} runs is more than {max_runs} runs",
                r.runs
            ),
        );
    }
    if sweep::pair_count(&r.parameters) > MAX_PAIRS {
        return fail(
            "parameters",
            "make more pairs of points than a sweep compares".into(),
        );
    }
    if r.components.len() > MAX_COMPONENTS {
        return fail(
            "components",
            format!(
                "{} components; a study has at most {MAX_COMPONENTS}",
                r.components.len()
            ),
        );
    }
    Ok(())
}

/// Most components of a Monte Carlo study (every server and its app, the primary and every
/// replica, two LBs, the link).
const MAX_COMPONENTS: usize = 2 * MAX_SERVERS + MAX_REPLICAS + 1 + 3;

/// The sweep points of a recorded study, if its scenario file is found unchanged (from here or
/// from a folder above the shard).
fn points_of(record: &StudyRecord, shard: &Path) -> Option<Vec<Point>> {
    let found = source::locate(
        &record.scenario_file,
        &record.scenario_hash,
        &record.overrides,
        shard,
    )
    .ok()?;
    if !found.exact {
        return None;
    }
    build_points(&found.scenario, &sweep::product(&record.parameters)).ok()
}

/// A shard's `runs.csv`: a sweep's read whole, a Monte Carlo study's opened to be read as a
/// stream.
enum Rows {
    Bytes(Vec<u8>),
    File(File),
}

/// The rows of the Monte Carlo shards `files` merged into one `runs.csv` (a temporary file),
/// in run order, each run once: what sorting every shard's rows by run (stably, the shards in
/// the order given) and keeping the first of each run gives, and the same errors (a row that
/// does not decode, a run outside the study, runs no shard holds). Each file is read as a
/// stream, a few times: memory does not grow with the runs (issue 13), unless a shard's rows
/// are out of run order (a file simulate did not write so), which are then held and sorted.
fn merge_mc_rows(files: &mut [(&Path, &mut File)], record: &StudyRecord) -> Result<File, String> {
    let n = Layout {
        components: record.components.len(),
        horizon_s: record.horizon_s.unwrap_or(0.0),
    };
    let total = u64::from(record.runs);
    // Every row decodes; the first run outside the study; which shards are in run order.
    let mut outside = None;
    let mut ordered = vec![true; files.len()];
    for (i, (d, f)) in files.iter_mut().enumerate() {
        let mut last = None;
        for r in rows_of(f, n).map_err(|e| shard_error(d, e))? {
            let r = r.map_err(|e| shard_error(d, e))?;
            if r.rep >= total && outside.is_none() {
                outside = Some(r.rep);
            }
            if last.is_some_and(|l| r.rep < l) {
                ordered[i] = false;
            }
            last = Some(r.rep);
        }
    }
    if let Some(rep) = outside {
        return Err(format!(
            "error: a shard's runs.csv holds run {rep}, outside the study's {} runs",
            record.runs
        ));
    }
    // The runs no shard holds, before anything is written.
    let (mut missing, mut first_missing, mut next) = (0u64, None, 0u64);
    walk(files, &ordered, n, &mut |r| {
        if r.rep > next {
            missing += r.rep - next;
            first_missing.get_or_insert(next);
        }
        next = r.rep + 1;
        Ok(())
    })?;
    if next < total {
        missing += total - next;
        first_missing.get_or_insert(next);
    }
    if let Some(first) = first_missing {
        return Err(format!(
            "error: the shards lack {missing} of {} runs (e.g. run {first}): merge every shard",
            record.runs
        ));
    }
    let written =
        |e: std::io::Error| format!("error: writing the merged rows to a temporary file: {e}");
    let f = scratch::create(None, "runs.csv").map_err(written)?;
    let mut w = files::McRunsWriter::new(BufWriter::with_capacity(1 << 16, f), &record.components)
        .map_err(written)?;
    walk(files, &ordered, n, &mut |r| w.write(r).map_err(written))?;
    w.finish()
        .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
        .map_err(written)
}

/// What a Monte Carlo shard's rows hold: runs of so many components over a horizon (s).
#[derive(Clone, Copy)]
struct Layout {
    components: usize,
    horizon_s: f64,
}

/// A shard's rows from the start of its file, each checked ([`McRun::check`]).
fn rows_of(f: &mut File, layout: Layout) -> std::io::Result<files::McRows<BufReader<&mut File>>> {
    f.seek(SeekFrom::Start(0))?;
    Ok(
        files::McRows::new(BufReader::with_capacity(1 << 16, f), layout.components)
            .within(layout.horizon_s),
    )
}

/// An error reading the `runs.csv` of shard `dir` (its rows' errors start with the line).
fn shard_error(dir: &Path, e: std::io::Error) -> String {
    format!("error: {} {e}", dir.join("runs.csv").display())
}

/// Hands `each` every run of the shards `files` once, in run order: of rows of the same run,
/// the first of the first shard holding it. The shards not `ordered` are read whole and
/// sorted (stably) first.
fn walk(
    files: &mut [(&Path, &mut File)],
    ordered: &[bool],
    layout: Layout,
    each: &mut dyn FnMut(&McRun) -> Result<(), String>,
) -> Result<(), String> {
    type Source<'a> = std::iter::Peekable<Box<dyn Iterator<Item = std::io::Result<McRun>> + 'a>>;
    let dirs: Vec<PathBuf> = files.iter().map(|(d, _)| d.to_path_buf()).collect();
    let mut heads: Vec<Source<'_>> = vec![];
    for ((d, f), &in_order) in files.iter_mut().zip(ordered) {
        let rows = rows_of(f, layout).map_err(|e| shard_error(d, e))?;
        let rows: Box<dyn Iterator<Item = std::io::Result<McRun>>> = if in_order {
            Box::new(rows)
        } else {
            let mut held = rows
                .collect::<std::io::Result<Vec<McRun>>>()
                .map_err(|e| shard_error(d, e))?;
            held.sort_by_key(|r| r.rep);
            Box::new(held.into_iter().map(Ok))
        };
        heads.push(rows.peekable());
    }
    loop {
        // The least run at the heads, the first shard's on a tie.
        let mut least: Option<(usize, u64)> = None;
        for (i, h) in heads.iter_mut().enumerate() {
            if let Some(Err(_)) = h.peek()
                && let Some(Err(e)) = h.next()
            {
                return Err(shard_error(&dirs[i], e));
            }
            if let Some(Ok(r)) = h.peek()
                && least.is_none_or(|(_, l)| r.rep < l)
            {
                least = Some((i, r.rep));
            }
        }
        let Some((i, rep)) = least else {
            return Ok(());
        };
        let Some(Ok(run)) = heads[i].next() else {
            return Ok(());
        };
        for h in &mut heads {
            while h.next_if(|r| matches!(r, Ok(r) if r.rep == rep)).is_some() {}
        }
        each(&run)?;
    }
}
