//! Scenario files: TOML in, a validated [`Config`] out.
//!
//! The pipeline is: read the file, parse the TOML, apply `--set` overrides to the parsed
//! document, deserialize into the [`schema`] structs (unknown keys refused), then check every
//! value and build the [`Config`] ([`build`]). Every problem found is reported, each with its
//! key path, its line in the file, or the override that produced it.
//!
//! This module does no I/O except reading the scenario file and the CSVs of empirical
//! distributions (relative to the scenario's folder), both bounded ([`input`]). It knows nothing of the model's
//! internals: the [`Config`] is the whole contract. The file format is documented for users in
//! `docs/scenario.md`.

pub mod build;
pub mod dist_spec;
pub mod duration;
pub mod error;
pub mod input;
pub mod keypath;
pub mod limits;
pub mod overrides;
pub mod schema;
pub mod study;
pub mod sweep_labels;

use std::path::{Path, PathBuf};

use toml::Value;

use crate::engine::rng::fnv1a;
use crate::model::Config;

pub use dist_spec::{parse_dist, parse_dist_str};
pub use duration::parse_duration;
pub use error::{Problem, ScenarioError};

use error::{Locator, line_at};
use keypath::{KeyPath, Seg};
use overrides::Applied;

/// Stop collecting serde errors after this many: past it the file is probably not a scenario.
const MAX_SERDE_PROBLEMS: usize = 50;

/// A loaded scenario: the configuration and where it came from.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub config: Config,
    /// The scenario file (or the origin given to [`load_str`]).
    pub path: PathBuf,
    /// FNV-1a-64 of the file's bytes, as 16 hex digits: identifies the exact input of a run.
    pub source_hash: String,
    /// The `--set` overrides applied, as given.
    pub overrides: Vec<String>,
    /// `[sweep]` and `[montecarlo]`, if the file has them.
    pub study: study::StudySpec,
    /// The file's text, so sweep points can be built from it with more overrides.
    pub text: String,
}

impl Scenario {
    /// The configuration of one sweep point: this scenario with `extra` overrides applied
    /// after its own.
    pub fn with_overrides(&self, extra: &[String]) -> Result<Config, ScenarioError> {
        let mut all = self.overrides.clone();
        all.extend_from_slice(extra);
        load_str(&self.text, &self.path, &all).map(|s| s.config)
    }
}

impl Scenario {
    /// The document as loaded: the file's TOML with the overrides applied, and what each
    /// override changed.
    fn document(&self) -> (toml::Table, Vec<Applied>) {
        let mut table: toml::Table = toml::from_str(&self.text).unwrap_or_default();
        let (applied, _) = overrides::apply(&mut table, &self.overrides);
        (table, applied)
    }

    /// An error about this scenario found after loading it (a study that would not finish),
    /// each problem placed as a load error's: its line in the file, or the override that set
    /// its value.
    pub fn error(&self, problems: Vec<Problem>) -> ScenarioError {
        let (_, applied) = self.document();
        ScenarioError {
            file: self.path.clone(),
            problems: finalize(problems, &Locator::new(&self.text), &applied),
        }
    }

    /// The key that sets the time to failure of `random_faults[i]`: `ttf` or `mttf`.
    pub fn fault_key(&self, i: usize) -> String {
        let (doc, _) = self.document();
        let ttf = doc
            .get("random_faults")
            .and_then(Value::as_array)
            .and_then(|a| a.get(i))
            .and_then(|t| t.get("ttf"))
            .is_some();
        format!("random_faults[{i}].{}", if ttf { "ttf" } else { "mttf" })
    }
}

/// Reads and loads the scenario at `path`, applying `overrides` (`key.path=value`).
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let fail = |message: String| ScenarioError {
        file: path.to_path_buf(),
        problems: vec![Problem::new("", message)],
    };
    let bytes = input::read_file(path, input::MAX_SCENARIO_BYTES).map_err(fail)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = line_at(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        let mut err = fail("the file is not UTF-8 text".into());
        err.problems[0].line = Some(line);
        err
    })?;
    load_str(&text, path, overrides)
}

/// Loads a scenario from `text` as if it were the file `origin` (which names the scenario by
/// default and anchors relative CSV paths).
pub fn load_str(
    text: &str,
    origin: &Path,
    overrides: &[String],
) -> Result<Scenario, ScenarioError> {
    let fail = |problems: Vec<Problem>| ScenarioError {
        file: origin.to_path_buf(),
        problems,
    };
    input::scan(text).map_err(|p| fail(vec![p]))?;
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start));
        fail(vec![Problem {
            key: String::new(),
            line,
            message: format!("TOML syntax: {}", one_line(e.message())),
        }])
    })?;
    let locator = Locator::new(text);

    let (applied, problems) = overrides::apply(&mut table, overrides);
    if !problems.is_empty() {
        return Err(fail(problems));
    }

    let Deserialized {
        mut file,
        mut problems,
        removed,
    } = deserialize_file(Value::Table(table));
    let study = match file.as_mut() {
        Some(f) => match study::build(f.sweep.take(), f.montecarlo.take()) {
            Ok(s) => s,
            Err(more) => {
                problems.extend(more);
                study::StudySpec::default()
            }
        },
        None => study::StudySpec::default(),
    };

    let default_name = origin
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "scenario".into());
    let base_dir = match origin.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Even after a serde problem, build what remains: its checks find the other problems.
    let config = match file.map(|f| build::build(f, &default_name, base_dir)) {
        Some(Ok(config)) if problems.is_empty() => Some(config),
        Some(Ok(_)) | None => None,
        Some(Err(more)) => {
            problems.extend(more.into_iter().filter(|p| !is_echo(p, &removed)));
            None
        }
    };
    let Some(config) = config else {
        return Err(fail(finalize(problems, &locator, &applied)));
    };

    Ok(Scenario {
        config,
        path: origin.to_path_buf(),
        source_hash: format!("{:016x}", fnv1a(text.as_bytes())),
        overrides: overrides.to_vec(),
        study,
        text: text.to_string(),
    })
}

/// What deserialization made of the document.
struct Deserialized {
    /// The file, possibly without the keys that had problems.
    file: Option<schema::ScenarioFile>,
    problems: Vec<Problem>,
    /// Keys removed because they had problems.
    removed: Vec<KeyPath>,
}

/// Deserializes the document. On failure, removes the offending key and tries again, so that
/// several unknown keys or mistyped values are reported in one go.
fn deserialize_file(mut doc: Value) -> Deserialized {
    let mut problems = Vec::new();
    let mut removed = Vec::new();
    loop {
        match serde_path_to_error::deserialize::<_, schema::ScenarioFile>(doc.clone()) {
            Ok(file) => {
                return Deserialized {
                    file: Some(file),
                    problems,
                    removed,
                };
            }
            Err(e) => {
                let path = KeyPath::from_serde(e.path());
                let problem = build::serde_problem(path, e.inner().message());
                let at = KeyPath::parse_lenient(&problem.key);
                problems.push(problem);
                if problems.len() >= MAX_SERDE_PROBLEMS || !remove(&mut doc, &at) {
                    return Deserialized {
                        file: None,
                        problems,
                        removed,
                    };
                }
                removed.push(at);
            }
        }
    }
}

/// Whether a build problem may just be a consequence of removing `removed` (a default now
/// stands where the bad value was, and checks against its neighbours can misfire).
fn is_echo(problem: &Problem, removed: &[KeyPath]) -> bool {
    let key = KeyPath::parse_lenient(&problem.key);
    removed.iter().any(|r| {
        r.is_prefix_of(&key)
            || key.is_prefix_of(r)
            || (r.parent() == key.parent() && !key.parent().is_root())
    })
}

/// Removes the key at `path` from the document; false if there is no such key.
fn remove(doc: &mut Value, path: &KeyPath) -> bool {
    let Some((Seg::Key(last), parents)) = path.0.split_last() else {
        return false;
    };
    let mut cur = doc;
    for s in parents {
        let next = match (s, cur) {
            (Seg::Key(k), Value::Table(t)) => t.get_mut(k),
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return false,
        }
    }
    match cur {
        Value::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

/// Places each problem: a line in the file, or the override that produced the value. Sorted
/// by line; problems without a line come last, in the order found.
fn finalize(problems: Vec<Problem>, locator: &Locator<'_>, applied: &[Applied]) -> Vec<Problem> {
    let mut out: Vec<Problem> = problems
        .into_iter()
        .map(|mut p| {
            let key = KeyPath::parse_lenient(&p.key);
            if key.is_root() {
                return p;
            }
            if let Some(o) = applied
                .iter()
                .rev()
                .find(|o| o.covers.iter().any(|c| c.is_prefix_of(&key)))
            {
                p.line = None;
                p.message = format!("{} (set by --set {})", p.message, o.text);
                return p;
            }
            p.line = locator.find(&key).0;
            let related = |c: &KeyPath| {
                key.is_prefix_of(c) || (c.parent() == key.parent() && !key.parent().is_root())
            };
            if let Some(o) = applied
                .iter()
                .rev()
                .find(|o| o.covers.iter().any(related) || o.touches.contains(&key))
            {
                p.message = format!("{} (after --set {})", p.message, o.text);
            }
            p
        })
        .collect();
    out.sort_by_key(|p| (p.line.is_none(), p.line));
    out
}

fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
