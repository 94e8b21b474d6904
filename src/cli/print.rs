//! Text for the terminal. `print!` panics when stdout is a pipe its reader closed
//! (`simulate ... | head -1`): here a closed stdout or stderr is not an error. The run goes on,
//! its files are written and its exit code stands; only the text nobody reads is dropped.

use std::io::Write;

/// Writes `text` to stdout as is.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

/// Writes `text` and a newline to stdout.
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// Writes `text` and a newline to stderr (errors, notes, progress lines).
pub fn errln(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(format!("{text}\n").as_bytes());
}
