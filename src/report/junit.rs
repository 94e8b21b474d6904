//! JUnit XML for CI systems: one test case per assertion.

use crate::experiment::Verdict;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// How every report starts: `--junit` replaces an existing file only if it starts so (a report
/// an earlier run wrote), never a file of the user's.
pub const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- JUnit report written by simulate (infrasim) -->\n";

pub fn render(suite: &str, verdicts: &[Verdict]) -> Vec<u8> {
    let failures = verdicts.iter().filter(|v| !v.passed).count();
    let mut o = String::from(HEADER);
    o += &format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        verdicts.len(),
        esc(suite),
        verdicts.len()
    );
    for v in verdicts {
        o += &format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            esc(suite),
            esc(&v.assertion.text)
        );
        if v.passed {
            o += &format!("      <system-out>{}</system-out>\n", esc(&v.message));
        } else {
            o += &format!(
                "      <failure message=\"{}\">{}</failure>\n",
                esc(&v.message),
                esc(&v.message)
            );
        }
        o += "    </testcase>\n";
    }
    o += "  </testsuite>\n</testsuites>\n";
    o.into_bytes()
}
