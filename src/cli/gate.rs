//! Assertions (`--assert`) and their verdicts: parsed before a run, judged on its estimates,
//! printed, and written as JUnit XML (`--junit`). Shared by every command that gates CI.

use super::Outcome;
use super::args::GateArgs;
use infrasim::experiment::{Assertion, Verdict};
use infrasim::report::{self, atomic};
use infrasim::stats::MeanCi;

pub fn parse_asserts(gate: &GateArgs) -> Result<Vec<Assertion>, String> {
    gate.asserts
        .iter()
        .map(|a| Assertion::parse(a).map_err(|e| format!("error: {e}")))
        .collect()
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
                parts.push(format!("no metric named '{}'{at}", a.metric));
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

/// Evaluates the assertions, prints the verdicts, writes the JUnit file.
pub fn gate(
    suite: &str,
    asserts: &[Assertion],
    args: &GateArgs,
    judge_one: impl Fn(&Assertion) -> Verdict,
) -> Outcome {
    let verdicts: Vec<Verdict> = asserts.iter().map(judge_one).collect();
    for v in &verdicts {
        let tag = if v.passed { "PASS" } else { "FAIL" };
        println!("assert {tag}: {}: {}", v.assertion.text, v.message);
    }
    if let Some(path) = &args.junit {
        atomic::write_file(path, &report::junit::render(suite, &verdicts))
            .map_err(|e| format!("error: writing {}: {e}", path.display()))?;
    }
    Ok(verdicts.iter().all(|v| v.passed))
}
