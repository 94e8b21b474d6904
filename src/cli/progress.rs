//! Progress for long studies: a bar with an ETA on a terminal, a plain line every 10% when
//! stderr is a file or a pipe (CI logs), nothing with --quiet.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: AtomicU64,
    plain: bool,
    what: String,
}

impl Progress {
    pub fn new(total: u64, what: &str, quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_message(what.to_string());
            b
        });
        Progress {
            bar,
            total,
            done: AtomicU64::new(0),
            plain: !quiet && !terminal,
            what: what.to_string(),
        }
    }

    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.inc(1);
        } else if self.plain {
            let step = (self.total / 10).max(1);
            if done.is_multiple_of(step) || done == self.total {
                eprintln!("{}: {done}/{} runs", self.what, self.total);
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
