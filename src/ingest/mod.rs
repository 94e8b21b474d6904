//! The user's own artefacts in: `haproxy.cfg`, `nginx.conf`, `keepalived.conf`, `my.cnf` and
//! HAProxy logs, turned into a scenario (the same TOML a user writes, loaded through the normal
//! `scenario` path).
//!
//! One file per input format parses it from a `&str` and maps what the model has to scenario
//! keys ([`haproxy_cfg`], [`nginx_conf`], [`keepalived_conf`], [`my_cnf`], [`haproxy_log`]);
//! [`fit`] derives traffic and service times from a log; [`draft`] holds the scenario being
//! written and renders it. Every directive that is not mapped is recorded as an [`Unmapped`]
//! and listed at the top of the scenario (and on the terminal by the CLI): nothing is dropped
//! silently. What no input says (traffic, service times without a log) is written as a value
//! marked `PLACEHOLDER`.
//!
//! What this module does not do: read or write files (the CLI does, `src/cli/import.rs` and
//! `src/cli/fit.rs`), or know the model's internals: it writes scenario keys, documented in
//! `docs/scenario.md`.

pub mod draft;
pub mod fit;
pub mod haproxy_cfg;
pub mod haproxy_log;
pub mod haproxy_persistence;
pub mod haproxy_security;
pub mod keepalived_conf;
pub mod my_cnf;
pub mod nginx_conf;
pub mod text;

pub use draft::Draft;

use std::fmt;

/// Largest configuration file read (`haproxy.cfg`, `nginx.conf`, `keepalived.conf`, `my.cnf`):
/// real ones are kilobytes; the scenario file's own limit.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// Largest log read at once: about 3 million `httplog` lines, a busy day of a small site.
/// Larger logs are split (or sampled) first.
pub const MAX_LOG_BYTES: u64 = 1 << 30;
/// Longest line of a configuration: HAProxy's own limit is far lower (`MAX_LINE_LEN` 2 KiB),
/// but nginx allows long `map` lines.
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// Most sections (or blocks) of a configuration, and most servers of a backend: the model's
/// own limit on servers (docs/scenario.md, Limits).
pub const MAX_SECTIONS: usize = 10_000;
pub const MAX_SERVERS: usize = 10_000;
/// Most words on one configuration line.
pub const MAX_WORDS: usize = 4096;
/// Deepest nesting of `{}` blocks (nginx, keepalived).
pub const MAX_DEPTH: usize = 32;

/// A problem with an input: the file, the line (1-based) when one is at fault, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl IngestError {
    pub fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        IngestError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "error: {} line {l}: {}", self.file, self.message),
            None => write!(f, "error: {}: {}", self.file, self.message),
        }
    }
}

/// A directive of an input that the scenario does not carry, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmapped {
    pub file: String,
    pub line: usize,
    /// The directive as written (words joined by one space, at most 120 characters).
    pub text: String,
    pub reason: String,
}

impl Unmapped {
    pub fn new(file: &str, line: usize, words: &[String], reason: impl Into<String>) -> Self {
        let mut text = words.join(" ");
        if text.chars().count() > 120 {
            text = text.chars().take(117).collect::<String>() + "...";
        }
        Unmapped {
            file: file.to_string(),
            line,
            text,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}  ({})",
            self.file, self.line, self.text, self.reason
        )
    }
}

/// The inputs of `simulate import` / `simulate fit`, already read: (file name as shown, text).
#[derive(Default)]
pub struct Inputs<'a> {
    pub haproxy: Option<(&'a str, &'a str)>,
    /// The backend to import (default: the one the first frontend routes to by default).
    pub backend: Option<&'a str>,
    pub nginx: Option<(&'a str, &'a str)>,
    pub keepalived: Option<(&'a str, &'a str)>,
    pub mysql: Option<(&'a str, &'a str)>,
    /// A fitted log (see [`fit`]).
    pub fit: Option<&'a fit::Fit>,
    /// The folder (relative to the scenario) holding the fit's files.
    pub fit_dir: &'a str,
}

/// Builds the scenario from every input given: the configurations first, then what a log
/// says (traffic, service times); what nothing says stays a marked placeholder.
pub fn build(name: &str, inputs: &Inputs) -> Result<Draft, IngestError> {
    let mut d = Draft::new(name);
    if let Some((file, text)) = inputs.haproxy {
        let cfg = haproxy_cfg::parse(file, text)?;
        haproxy_cfg::map(&cfg, inputs.backend, &mut d)?;
    }
    if let Some((file, text)) = inputs.nginx {
        let conf = nginx_conf::parse(file, text)?;
        nginx_conf::map(&conf, &mut d);
    }
    if let Some((file, text)) = inputs.keepalived {
        let conf = keepalived_conf::parse(file, text)?;
        keepalived_conf::map(&conf, &mut d);
    }
    if let Some((file, text)) = inputs.mysql {
        let conf = my_cnf::parse(file, text)?;
        my_cnf::map(&conf, &mut d);
    }
    if let Some(f) = inputs.fit {
        fit::apply(f, inputs.fit_dir, &mut d);
    }
    d.fill_placeholders();
    Ok(d)
}

/// A server name the scenario accepts (letters, digits, `-`, `_`, `.`; at most 100 characters):
/// anything else in a HAProxy server name becomes `-`, and a leading `-` becomes `_` (a name
/// may not begin with one: a spreadsheet reads it as a formula, `scenario::build::name_problem`).
pub fn server_name(n: &str) -> String {
    let mut s: String = n
        .chars()
        .take(100)
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.starts_with('-') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() || s == "." || s == ".." {
        "server".into()
    } else {
        s
    }
}
