//! Assertions (`--assert`) and their verdicts, shared by every command that gates CI: parsed,
//! and checked against the metrics the run will report, before anything runs (a typo in a
//! metric name is a usage error, exit 2, not a failed gate after an hour); judged on the
//! estimates; printed; written as JUnit XML (`--junit`).

use super::Outcome;
use super::args::GateArgs;
use super::print;
use infrasim::experiment::{Assertion, Verdict};
use infrasim::report::{self, atomic};
use infrasim::stats::MeanCi;
use std::path::PathBuf;

/// The assertions of a command and where their verdicts go.
pub struct Gate {
    asserts: Vec<Assertion>,
    /// The JUnit file, checked (a new file or a report simulate wrote).
    junit: Option<PathBuf>,
    /// Verdicts on stderr: with `--json`, stdout holds the JSON document and nothing else.
    to_stderr: bool,
}

impl Gate {
    /// Parses the assertions and checks the JUnit path, before any work.
    pub fn new(args: &GateArgs) -> Result<Gate, String> {
        let asserts = args
            .asserts
            .iter()
            .map(|a| Assertion::parse(a).map_err(|e| format!("error: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let junit = args
            .junit
            .as_deref()
            .map(|p| atomic::claim_file(p, report::junit::HEADER.as_bytes(), "JUnit report"))
            .transpose()
            .map_err(|e| format!("error: --junit: {e}"))?;
        Ok(Gate {
            asserts,
            junit,
            to_stderr: false,
        })
    }

    /// Verdicts go to stderr (stdout is a JSON document).
    pub fn verdicts_to_stderr(mut self) -> Gate {
        self.to_stderr = true;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.asserts.is_empty()
    }

    /// Refuses an assertion on a metric the run will not report: `missing(metric)` says where
    /// it is missing (None: it is reported everywhere); `known` lists what is, for the message.
    pub fn check_metrics(
        &self,
        missing: impl Fn(&str) -> Option<String>,
        known: &str,
    ) -> Result<(), String> {
        for a in &self.asserts {
            if let Some(where_) = missing(&a.metric) {
                return Err(format!(
                    "error: --assert '{}': no metric named '{}'{where_}; {known}",
                    a.text, a.metric
                ));
            }
        }
        Ok(())
    }

    /// Refuses an assertion on a figure the scenario does not measure, for the reason
    /// `inapplicable(metric)` gives (an SLO figure without `[slo]`).
    pub fn check_applicable(
        &self,
        inapplicable: impl Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        for a in &self.asserts {
            if let Some(why) = inapplicable(&a.metric) {
                return Err(format!("error: --assert '{}': {why}", a.text));
            }
        }
        Ok(())
    }

    /// Evaluates the assertions, prints the verdicts, writes the JUnit file.
    pub fn judge(&self, suite: &str, judge_one: impl Fn(&Assertion) -> Verdict) -> Outcome {
        let verdicts: Vec<Verdict> = self.asserts.iter().map(judge_one).collect();
        for v in &verdicts {
            let tag = if v.passed { "PASS" } else { "FAIL" };
            let line = format!("assert {tag}: {}: {}", v.assertion.text, v.message);
            if self.to_stderr {
                print::errln(&line);
            } else {
                print::outln(&line);
            }
        }
        if let Some(path) = &self.junit {
            atomic::write_file(path, &report::junit::render(suite, &verdicts))
                .map_err(|e| format!("error: writing {}: {e}", path.display()))?;
        }
        Ok(verdicts.iter().all(|v| v.passed))
    }
}

/// Judges one assertion at each (point label, estimate); all must hold.
pub fn judge(a: &Assertion, estimates: &[(String, Option<MeanCi>)]) -> Verdict {
    let mut passed = true;
    let mut parts = vec![];
    for (label, est) in estimates {
        let at = if label.is_empty() {
            String::new()
        } else {
            format!(" at {label}")
        };
        match est {
            None => {
                passed = false;
                parts.push(format!("no estimate of '{}'{at}", a.metric));
            }
            Some(est) => {
                let (ok, found) = a.check(est);
                passed &= ok;
                parts.push(format!(
                    "{}{at}: {found}",
                    if ok { "holds" } else { "FAILS" }
                ));
            }
        }
    }
    Verdict {
        assertion: a.clone(),
        passed,
        message: parts.join("; "),
    }
}
