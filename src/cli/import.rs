//! `simulate import haproxy.cfg [--nginx ..] [--keepalived ..] [--mysql ..] [--log ..] -o
//! scenario.toml`: reads the files (bounded: `ingest::MAX_CONFIG_BYTES`, `MAX_LOG_BYTES`),
//! builds the scenario in `ingest`, checks that it loads as any scenario does, and writes it
//! where `-o` says: a new file or one this tool wrote (`report::atomic::claim_file`), never a
//! user's. A log's fit report goes into `NAME.fit/` beside it, a folder claimed and swapped in
//! whole like every output folder, and put in place with the scenario or not at all (the
//! scenario is checked against the staged report first). Unmapped directives, malformed lines
//! and lines dated apart are listed on stderr.

use super::Outcome;
use super::args::{IngestArgs, LogFormat};
use super::print;
use infrasim::ingest::{
    self, Inputs, MAX_CONFIG_BYTES, MAX_LOG_BYTES, draft::HEADER, fit, haproxy_log,
};
use infrasim::report::atomic::{self, OutDir};
use infrasim::scenario::{self, input};
use std::path::{Path, PathBuf};

/// Reads a configuration file: bounded, UTF-8 (an error names the line that is not).
fn read_config(path: &Path) -> Result<(String, String), String> {
    let shown = path.display().to_string();
    let bytes =
        input::read_file(path, MAX_CONFIG_BYTES).map_err(|e| format!("error: {shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..upto].iter().filter(|&&b| b == b'\n').count() + 1;
        format!("error: {shown} line {line}: the file is not UTF-8 text")
    })?;
    Ok((shown, text))
}

/// A scenario name from a file name: what `name` accepts (docs/scenario.md, top level).
fn pair(x: &Option<(String, String)>) -> Option<(&str, &str)> {
    x.as_ref().map(|(f, t)| (f.as_str(), t.as_str()))
}

fn name_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    ingest::server_name(&stem)
}

pub fn import(
    haproxy: Option<&Path>,
    log: Option<&Path>,
    a: &IngestArgs,
    command: &str,
) -> Outcome {
    // Claim the outputs before any work: a refused -o fails at once.
    let out = match &a.out {
        Some(p) => Some(
            atomic::claim_file(p, HEADER.as_bytes(), "scenario")
                .map_err(|e| format!("error: -o: {e}"))?,
        ),
        None => None,
    };
    if log.is_some() && out.is_none() {
        return Err(format!(
            "error: `simulate {command}` with a log needs -o scenario.toml: the fit report (and the measured service times) go beside it"
        ));
    }
    let fit_dir_name = out
        .as_ref()
        .map(|o| {
            format!(
                "{}.fit",
                o.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let fit_dir = match (&out, log) {
        (Some(o), Some(_)) => {
            let dir = o.parent().unwrap_or(Path::new("")).join(&fit_dir_name);
            Some(OutDir::claim(&dir).map_err(|e| format!("error: the fit report folder: {e}"))?)
        }
        _ => None,
    };

    let cfg = haproxy.map(read_config).transpose()?;
    let nginx = a.nginx.as_deref().map(read_config).transpose()?;
    let keepalived = a.keepalived.as_deref().map(read_config).transpose()?;
    let mysql = a.mysql.as_deref().map(read_config).transpose()?;

    let fitted = match log {
        Some(path) => {
            let shown = path.display().to_string();
            let bytes = input::read_file(path, MAX_LOG_BYTES)
                .map_err(|e| format!("error: {shown}: {e}"))?;
            // Request lines may carry any bytes: they are not read, so lossy is enough.
            let text = String::from_utf8_lossy(&bytes);
            let format = match a.format {
                LogFormat::Httplog => haproxy_log::Format::Httplog,
                LogFormat::Json => haproxy_log::Format::Json,
            };
            let parsed = haproxy_log::parse(&shown, &text, format).map_err(|e| e.to_string())?;
            Some(fit::fit(&shown, &parsed))
        }
        None => None,
    };

    let name = match (&out, haproxy, log) {
        (Some(o), _, _) => name_of(o),
        (None, Some(h), _) => name_of(h),
        (None, None, Some(l)) => name_of(l),
        _ => "imported".into(),
    };
    let inputs = |fit_dir| Inputs {
        haproxy: pair(&cfg),
        backend: a.backend.as_deref(),
        nginx: pair(&nginx),
        keepalived: pair(&keepalived),
        mysql: pair(&mysql),
        fit: fitted.as_ref(),
        fit_dir,
    };
    let mut draft = ingest::build(&name, &inputs(&fit_dir_name)).map_err(|e| e.to_string())?;
    draft.command = command.to_string();
    let text = draft.render();

    // The scenario must load as a user's would: a failure here is this tool's bug, said so
    // (a bad input is refused, naming its file and line, before this point).
    let origin: PathBuf = out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.toml")));
    let bug = |e: String| {
        format!(
            "error: the scenario written from these inputs does not load (a bug in `simulate {command}`, please report it):\n{e}"
        )
    };
    // The scenario and its fit report are put in place together or not at all: the report is
    // built in its staging folder, the scenario checked against it there (its empirical
    // sample is read from that folder), the scenario file written aside; only then is the
    // folder swapped in and the file renamed. A refusal at any step leaves the previous pair
    // as it was and no new folder.
    let staged = match (&fit_dir, &fitted, &out) {
        (Some(dir), Some(f), Some(path)) => {
            // The same scenario, its report folder named as seen from inside the staging
            // folder, where the check runs.
            let check = ingest::build(&name, &inputs("."))
                .map_err(|e| e.to_string())?
                .render();
            let report = fit::report::text(f);
            let qq = fit::report::qq_svg(f);
            let hist = fit::report::histogram_svg(f);
            let csv = fit::empirical_csv(f);
            let mut refused = None;
            let mut staged = None;
            dir.write(|tmp| {
                atomic::write_file(&tmp.join("report.txt"), report.as_bytes())?;
                atomic::write_file(&tmp.join("qq.svg"), qq.as_bytes())?;
                atomic::write_file(&tmp.join("histogram.svg"), hist.as_bytes())?;
                atomic::write_file(&tmp.join("service.csv"), csv.as_bytes())?;
                let at = tmp.join(origin.file_name().unwrap_or("fit.toml".as_ref()));
                if let Err(e) = scenario::load_str(&check, &at, &[]) {
                    refused = Some(bug(e.to_string()));
                    return Err(std::io::Error::other("the scenario does not load"));
                }
                staged = Some(atomic::StagedFile::new(path, text.as_bytes())?);
                Ok(())
            })
            .map_err(|e| {
                refused
                    .take()
                    .unwrap_or_else(|| format!("error: writing the fit report: {e}"))
            })?;
            staged
        }
        _ => {
            scenario::load_str(&text, &origin, &[]).map_err(|e| bug(e.to_string()))?;
            None
        }
    };

    if !a.quiet && !draft.unmapped.is_empty() {
        print::errln(&format!(
            "note: {} directive(s) not mapped (also listed atop the scenario):",
            draft.unmapped.len()
        ));
        for u in &draft.unmapped {
            print::errln(&format!("  {u}"));
        }
    }
    let placeholders = text.lines().filter(|l| l.contains("# PLACEHOLDER")).count();
    match &out {
        Some(path) => {
            match staged {
                Some(file) => file.commit(),
                None => atomic::write_file(path, text.as_bytes()),
            }
            .map_err(|e| format!("error: writing {}: {e}", path.display()))?;
            let shown = a
                .out
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if let Some(f) = &fitted {
                for (line, why) in f.examples.iter().take(3) {
                    print::errln(&format!("note: {} line {line}: {why}: skipped", f.file));
                }
                if f.malformed > 3 {
                    print::errln(&format!(
                        "note: ... and {} more malformed line(s) (the first ten in {fit_dir_name}/report.txt)",
                        f.malformed - 3
                    ));
                }
                for (line, date) in f.dated_apart.iter().take(10) {
                    print::errln(&format!(
                        "note: {} line {line}: accept date {date} is far from the rest of the log: set aside",
                        f.file
                    ));
                }
                if f.dated_apart.len() > 10 {
                    print::errln(&format!(
                        "note: ... and {} more line(s) dated apart (all in {fit_dir_name}/report.txt)",
                        f.dated_apart.len() - 10
                    ));
                }
                if let Some((line, date)) = f.early.first() {
                    print::errln(&format!(
                        "note: {} line {line}: accepted {date}, long before the rest of the log: a long session, in the times but not in the rate{}",
                        f.file,
                        if f.early.len() > 1 {
                            format!(
                                " (and {} more, in {fit_dir_name}/report.txt)",
                                f.early.len() - 1
                            )
                        } else {
                            String::new()
                        }
                    ));
                }
                print::outln(&fit_summary(f));
            }
            print::outln(&format!(
                "scenario written to {shown}{}; {} placeholder(s) to set. Run it: simulate {shown}",
                if fitted.is_some() {
                    format!(" (fit report in {fit_dir_name}/)")
                } else {
                    String::new()
                },
                placeholders
            ));
        }
        None => print::outln(text.trim_end()),
    }
    Ok(true)
}

fn fit_summary(f: &fit::Fit) -> String {
    format!(
        "{}: {} requests over {:.1} s ({:.2}/s), {} malformed line(s), {} dated apart; {} tunnel(s) (101, CONNECT) left out of the service time; service time {:.2} ms mean (cv {:.2}): {}",
        f.file,
        f.requests,
        f.span_s,
        f.rate,
        f.malformed,
        f.dated_apart.len(),
        f.tunnels,
        f.service.mean,
        f.service.cv,
        match &f.chosen {
            Some(fam) => format!("{} passes the KS test", fam.name()),
            None => "no family passes the KS test, the measured sample is used".into(),
        }
    )
}
