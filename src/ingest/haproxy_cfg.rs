//! `haproxy.cfg`: parsed into sections of tokenised lines, then the one load-balanced path the
//! model has (a frontend and the backend it routes to, or a `listen` section) mapped to
//! scenario keys.
//!
//! Parsing follows HAProxy's configuration manual §2 ("Configuring HAProxy"): a line is words
//! separated by blanks; `#` outside quotes starts a comment; `"..."` groups words and
//! understands `\` escapes, `'...'` is taken literally; outside single quotes `\` escapes the
//! characters `parse_line()` knows (see [`words`]). There is no line continuation (HAProxy
//! reads a final `\` as part of the line): such a line is refused, naming it. Sections
//! (`global`, `defaults`, `frontend`, `backend`, `listen`, and the others, which the model has no use for) start at their keyword
//! and run to the next. A proxy inherits from the last `defaults` section above it, or the one
//! its `from` names (manual §4, "Proxies"); a `defaults` section may itself inherit with
//! `from`. Conditional blocks (`.if`) are not evaluated: their lines are read as if true, and
//! the `.if` lines are listed as not mapped.
//!
//! Mapping (manual §4.2 and §5.2 for server keywords; docs/scenario.md for the keys): `balance`
//! and `hash-type` to `lb.algorithm`; `server` and `default-server` `weight`, `maxconn`,
//! `maxqueue`, `backup` to the servers; `check`, `inter`, `fastinter`, `downinter`, `rise`,
//! `fall`, `option httpchk`, `retries`, `option redispatch`, `timeout connect` and
//! `timeout check` to `[health]`; `timeout server`, `timeout queue` (which falls back to
//! `timeout connect`, manual "timeout queue"), `option abortonclose`, frontend and global
//! `maxconn`, and `nbthread` to `[lb]`; cookies, `stick on src` and `option persist` to
//! `lb.persistence` (`haproxy_persistence.rs`). Everything else (`slowstart`: not modelled;
//! logging, ACLs...) is listed as not mapped.

use super::text::{self, duration, parse_int, parse_time};
use super::{Draft, IngestError, MAX_SECTIONS, MAX_SERVERS, MAX_WORDS, Unmapped};
use std::collections::HashSet;

/// HAProxy time units (manual §2.5): default milliseconds.
pub(super) const UNITS: [(&str, u64); 6] = [
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    /// `peers`, `resolvers`, `userlist`, `cache`, `mailers`, `program`, `ring`, ...
    Other(String),
}

/// One line, split into words.
#[derive(Clone, Debug)]
pub struct Line {
    pub no: usize,
    pub words: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Section {
    pub kind: Kind,
    pub name: String,
    /// The header line.
    pub header: Line,
    pub lines: Vec<Line>,
    /// The `defaults` section this one inherits from (index into `Config::sections`).
    pub defaults: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub file: String,
    pub sections: Vec<Section>,
    /// Lines before the first section.
    pub orphans: Vec<Line>,
}

fn section_kind(word: &str) -> Option<Kind> {
    Some(match word {
        "global" => Kind::Global,
        "defaults" => Kind::Defaults,
        "frontend" => Kind::Frontend,
        "backend" => Kind::Backend,
        "listen" => Kind::Listen,
        "peers" | "resolvers" | "userlist" | "cache" | "mailers" | "program" | "ring"
        | "http-errors" | "fcgi-app" | "dynamic-update" | "crt-store" | "traces"
        | "log-forward" | "namespace_list" | "acme" => Kind::Other(word.to_string()),
        _ => return None,
    })
}

/// Splits one line into words as HAProxy's `parse_line()` does (HAP-SRC src/tools.c, called by
/// `readcfgfile()` in src/cfgparse.c with the quote, backslash and `#` options; manual §2.2):
/// blanks separate words; `#` outside quotes ends the line; `"` and `'` open and close quoted
/// parts of a word (a backslash escapes nothing inside single quotes); outside single quotes
/// `\ `, `\\`, `\#`, `\'`, `\"` give the character, `\t`, `\n`, `\r` the control character,
/// `\xHH` the byte, and any other `\` is kept as it is (`\1` stays `\1`). HAProxy has no line
/// continuation: `readcfgfile()` hands `parse_line()` one line at a time, so a `\` ending a line
/// escapes nothing and stays in the word (`server ... check \` makes `\` a server keyword,
/// which `haproxy -c` rejects: "unknown keyword '\'"). Such a line is refused here, naming it,
/// rather than imported as something HAProxy would not run.
fn words(file: &str, no: usize, line: &str) -> Result<Vec<String>, IngestError> {
    let b = line.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut in_word = false;
    // The open quote, if any.
    let mut quote: Option<u8> = None;
    let err = |m: String| IngestError::new(file, Some(no), m);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match (c, quote) {
            (b'"' | b'\'', None) => {
                quote = Some(c);
                in_word = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (b'#', None) => break,
            // `parse_line()` stops at a carriage return or line feed, quoted or not.
            (b'\r' | b'\n', _) => break,
            (b' ' | b'\t' | b'\x0b' | b'\x0c', None) => {
                if in_word {
                    out.push(String::from_utf8_lossy(&std::mem::take(&mut cur)).into_owned());
                    in_word = false;
                    if out.len() > MAX_WORDS {
                        return Err(err(format!("more than {MAX_WORDS} words on one line")));
                    }
                }
            }
            (b'\\', q) if q != Some(b'\'') => {
                in_word = true;
                let next = b.get(i + 1).copied();
                match next {
                    None if quote.is_none() => {
                        return Err(err(
                            "the line ends with `\\`: HAProxy has no line continuation (its \
                             parser keeps the `\\` in the word and reads the next line as a \
                             directive of its own; `haproxy -c` rejects `server ... \\` with \
                             \"unknown keyword '\\'\"): write the directive on one line, or \
                             quote a backslash meant as a value ('\\')"
                                .to_string(),
                        ));
                    }
                    // One-character escapes: the character itself, or a control character.
                    Some(n @ (b' ' | b'\\' | b'#' | b'\'' | b'"' | b't' | b'n' | b'r')) => {
                        cur.push(match n {
                            b't' => b'\t',
                            b'n' => b'\n',
                            b'r' => b'\r',
                            n => n,
                        });
                        i += 1;
                    }
                    // `\$` escapes the environment variable's sign inside double quotes only.
                    Some(b'$') if quote == Some(b'"') => {
                        cur.push(b'$');
                        i += 1;
                    }
                    Some(b'x') => {
                        let hex = b
                            .get(i + 2..i + 4)
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        match hex {
                            Some(v) => {
                                cur.push(v);
                                i += 3;
                            }
                            None => {
                                return Err(err(
                                    "`\\x` is not followed by two hexadecimal digits (HAProxy \
                                     refuses the line too)"
                                        .to_string(),
                                ));
                            }
                        }
                    }
                    // Any other combination is not an escape: the backslash stays.
                    _ => cur.push(b'\\'),
                }
            }
            (c, _) => {
                in_word = true;
                cur.push(c);
            }
        }
        i += 1;
    }
    if let Some(q) = quote {
        let which = if q == b'"' { "double" } else { "single" };
        return Err(err(format!("a {which} quote is not closed on this line")));
    }
    if in_word {
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
    Ok(out)
}

/// Parses `text` (the file `file`) into sections.
pub fn parse(file: &str, text: &str) -> Result<Config, IngestError> {
    let mut cfg = Config {
        file: file.to_string(),
        sections: vec![],
        orphans: vec![],
    };
    let raw = text::lines(file, text)?;
    let mut last_defaults: Option<usize> = None;
    for (no, text) in raw {
        let w = words(file, no, text)?;
        if w.is_empty() {
            continue;
        }
        let line = Line { no, words: w };
        if let Some(kind) = section_kind(&line.words[0]) {
            if cfg.sections.len() >= MAX_SECTIONS {
                return Err(IngestError::new(
                    file,
                    Some(no),
                    format!("more than {MAX_SECTIONS} sections"),
                ));
            }
            let name = line.words.get(1).cloned().unwrap_or_default();
            // `from NAME` names the defaults section to inherit from (HAProxy >= 2.4).
            let from = line
                .words
                .iter()
                .position(|w| w == "from")
                .and_then(|p| line.words.get(p + 1));
            let defaults = match from {
                Some(n) => Some(
                    cfg.sections
                        .iter()
                        .rposition(|s| s.kind == Kind::Defaults && &s.name == n)
                        .ok_or_else(|| {
                            IngestError::new(
                                file,
                                Some(no),
                                format!("`from {n}`: no defaults section named {n:?} above"),
                            )
                        })?,
                ),
                None if matches!(kind, Kind::Frontend | Kind::Backend | Kind::Listen) => {
                    last_defaults
                }
                None => None,
            };
            if kind == Kind::Defaults {
                last_defaults = Some(cfg.sections.len());
            }
            cfg.sections.push(Section {
                kind,
                name,
                header: line,
                lines: vec![],
                defaults,
            });
        } else {
            match cfg.sections.last_mut() {
                Some(s) => s.lines.push(line),
                None => cfg.orphans.push(line),
            }
        }
    }
    Ok(cfg)
}

/// Which lines were mapped: (section, line index).
pub(super) type Used = HashSet<(usize, usize)>;

/// The section `s` and the defaults it inherits from, nearest first.
pub(super) fn chain(cfg: &Config, s: usize) -> Vec<usize> {
    let mut out = vec![s];
    let mut cur = cfg.sections[s].defaults;
    while let Some(d) = cur {
        if out.contains(&d) || out.len() > MAX_SECTIONS {
            break;
        }
        out.push(d);
        cur = cfg.sections[d].defaults;
    }
    out
}

/// The effective line for a directive in section `s` (its own, else inherited): the last one
/// whose words start with `prefix` in the nearest section having one. The candidates in the
/// sections further up are marked as mapped too (overridden by the nearest).
pub(super) fn find<'a>(
    cfg: &'a Config,
    s: usize,
    prefix: &[&str],
    used: &mut Used,
) -> Option<&'a Line> {
    find_any(cfg, s, &[prefix], used)
}

/// Like [`find`] for several spellings of one directive (`timeout server` and the old
/// `srvtimeout`): the nearest section having any of them wins.
pub(super) fn find_any<'a>(
    cfg: &'a Config,
    s: usize,
    prefixes: &[&[&str]],
    used: &mut Used,
) -> Option<&'a Line> {
    for sec in chain(cfg, s) {
        let mut best: Option<(usize, &Line)> = None;
        for (j, l) in cfg.sections[sec].lines.iter().enumerate() {
            if prefixes
                .iter()
                .any(|p| l.words.len() >= p.len() && p.iter().zip(&l.words).all(|(a, b)| a == b))
            {
                used.insert((sec, j));
                best = Some((j, l));
            }
        }
        if let Some((_, l)) = best {
            // Mark the same directive in the sections further up as overridden (consulted).
            for up in chain(cfg, s).into_iter().skip_while(|x| *x != sec).skip(1) {
                for (j, l2) in cfg.sections[up].lines.iter().enumerate() {
                    if prefixes.iter().any(|p| {
                        l2.words.len() >= p.len() && p.iter().zip(&l2.words).all(|(a, b)| a == b)
                    }) {
                        used.insert((up, j));
                    }
                }
            }
            return Some(l);
        }
    }
    None
}

/// The keyword an argument belongs to, for messages: `timeout server`, `inter`, `maxconn`.
fn keyword(l: &Line, at: usize) -> String {
    if l.words[0] == "timeout" && at == 2 {
        return l.words[..2].join(" ");
    }
    l.words
        .get(at.saturating_sub(1))
        .cloned()
        .unwrap_or_else(|| l.words[0].clone())
}

/// HAProxy's timers are whole milliseconds below 2^31 (`TICK` arithmetic on a signed 32-bit
/// count): `parse_time_err()` (HAP-SRC src/tools.c) returns `PARSE_TIME_OVER` from
/// 2147483648 ms on, and every caller refuses the line ("timer overflow in argument '30d' to
/// 'timeout server' (maximum value is 2147483647 ms or ~24.8 days)", HAProxy 2.6 `haproxy -c`).
const MAX_TIMER_MS: u64 = i32::MAX as u64;

/// A time argument (manual §2.5), as nanoseconds; an error names the line.
///
/// Read as HAProxy reads it (`parse_time_err(.., TIME_UNIT_MS)` in HAP-SRC src/tools.c):
/// converted to milliseconds rounding *up* (`(value * mult + div - 1) / div`, so `500us` is
/// 1 ms and `1500us` 2 ms), and refused from 2^31 ms on (24.8 days), as HAProxy refuses the
/// file.
pub(super) fn time_arg(cfg: &Config, l: &Line, at: usize) -> Result<u64, IngestError> {
    let w = l.words.get(at).map(String::as_str).unwrap_or("");
    let ns = parse_time(w, 1_000_000, &UNITS).ok_or_else(|| {
        IngestError::new(
            &cfg.file,
            Some(l.no),
            format!(
                "`{}`: {w:?} is not a time (digits and us, ms, s, m, h or d)",
                keyword(l, at)
            ),
        )
    })?;
    let ms = ns.div_ceil(1_000_000);
    if ms > MAX_TIMER_MS {
        return Err(IngestError::new(
            &cfg.file,
            Some(l.no),
            format!(
                "`{}`: {w:?} is more than HAProxy's largest timer, 2147483647 ms (about 24.8 \
                 days): HAProxy refuses the file (\"timer overflow\")",
                keyword(l, at)
            ),
        ));
    }
    Ok(ms * 1_000_000)
}

/// A server's check interval (`inter`, `fastinter`, `downinter`): a time above zero. HAProxy
/// refuses 0 ("invalid value 0 for argument 'inter' of server s1", `srv_parse_check_inter()`
/// and its siblings in HAP-SRC src/check.c: `if (delay <= 0)`), and a check every 0 s would
/// be no schedule at all.
fn interval_arg(cfg: &Config, l: &Line, at: usize) -> Result<u64, IngestError> {
    let t = time_arg(cfg, l, at)?;
    if t == 0 {
        return Err(IngestError::new(
            &cfg.file,
            Some(l.no),
            format!(
                "`{}`: an interval of 0 is refused by HAProxy (\"invalid value 0 for argument \
                 '{}'\"): write the time between two checks, e.g. 2s",
                keyword(l, at),
                keyword(l, at)
            ),
        ));
    }
    Ok(t)
}

pub(super) fn int_arg(
    cfg: &Config,
    l: &Line,
    at: usize,
    lo: i64,
    hi: i64,
) -> Result<i64, IngestError> {
    let w = l.words.get(at).map(String::as_str).unwrap_or("");
    parse_int(w, lo, hi).ok_or_else(|| {
        IngestError::new(
            &cfg.file,
            Some(l.no),
            format!(
                "`{}`: {w:?} is not a whole number from {lo} to {hi}",
                keyword(l, at)
            ),
        )
    })
}

/// Server keywords that take no argument (manual §5.2); every other keyword takes one.
const FLAGS: &[&str] = &[
    "agent-check",
    "allow-0rtt",
    "backup",
    "check",
    "check-send-proxy",
    "check-ssl",
    "check-via-socks4",
    "disabled",
    "enabled",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-agent-check",
    "no-backup",
    "no-check",
    "no-check-ssl",
    "no-send-proxy",
    "no-send-proxy-v2",
    "no-send-proxy-v2-ssl",
    "no-send-proxy-v2-ssl-cn",
    "no-ssl",
    "no-ssl-reuse",
    "no-sslv3",
    "no-tfo",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-verifyhost",
    "non-stick",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "ssl",
    "ssl-reuse",
    "stick",
    "tfo",
    "tls-tickets",
    "check-reuse-pool",
    "no-check-reuse-pool",
];

/// A `server` or `default-server` line's settings.
#[derive(Clone, Debug, Default)]
struct ServerParams {
    weight: Option<i64>,
    maxconn: Option<i64>,
    maxqueue: Option<i64>,
    backup: Option<bool>,
    check: Option<bool>,
    inter: Option<u64>,
    fastinter: Option<u64>,
    downinter: Option<u64>,
    rise: Option<i64>,
    fall: Option<i64>,
    /// `cookie <value>`: the server's identifier in the persistence cookie.
    cookie: Option<String>,
    /// Keywords not mapped, with their argument.
    other: Vec<String>,
}

impl ServerParams {
    /// `self` over `base` (a server over its `default-server`).
    fn over(&self, base: &ServerParams) -> ServerParams {
        ServerParams {
            weight: self.weight.or(base.weight),
            maxconn: self.maxconn.or(base.maxconn),
            maxqueue: self.maxqueue.or(base.maxqueue),
            backup: self.backup.or(base.backup),
            check: self.check.or(base.check),
            inter: self.inter.or(base.inter),
            fastinter: self.fastinter.or(base.fastinter),
            downinter: self.downinter.or(base.downinter),
            rise: self.rise.or(base.rise),
            fall: self.fall.or(base.fall),
            cookie: self.cookie.clone().or_else(|| base.cookie.clone()),
            other: vec![],
        }
    }
}

fn server_params(cfg: &Config, l: &Line, from: usize) -> Result<ServerParams, IngestError> {
    let mut p = ServerParams::default();
    let mut k = from;
    while k < l.words.len() {
        let kw = l.words[k].as_str();
        if FLAGS.contains(&kw) {
            match kw {
                "backup" => p.backup = Some(true),
                "no-backup" => p.backup = Some(false),
                "check" => p.check = Some(true),
                "no-check" => p.check = Some(false),
                _ => p.other.push(kw.to_string()),
            }
            k += 1;
            continue;
        }
        match kw {
            // HAProxy accepts weights 0..=256; 0 takes the server out of balancing, which the
            // model's weights (1..=256) cannot say: listed for the servers it ends up on.
            "weight" => p.weight = Some(int_arg(cfg, l, k + 1, 0, 256)?),
            "maxconn" => p.maxconn = Some(int_arg(cfg, l, k + 1, 0, i32::MAX as i64)?),
            "maxqueue" => p.maxqueue = Some(int_arg(cfg, l, k + 1, 0, i32::MAX as i64)?),
            "inter" => p.inter = Some(interval_arg(cfg, l, k + 1)?),
            "fastinter" => p.fastinter = Some(interval_arg(cfg, l, k + 1)?),
            "downinter" => p.downinter = Some(interval_arg(cfg, l, k + 1)?),
            "rise" => p.rise = Some(int_arg(cfg, l, k + 1, 1, 1000)?),
            "fall" => p.fall = Some(int_arg(cfg, l, k + 1, 1, 1000)?),
            "cookie" => p.cookie = l.words.get(k + 1).cloned(),
            _ => p.other.push(format!(
                "{kw} {}",
                l.words.get(k + 1).map(String::as_str).unwrap_or("")
            )),
        }
        k += 2;
    }
    Ok(p)
}

/// Why a keyword of a server line is not mapped.
fn server_reason(kw: &str) -> &'static str {
    match kw.split(' ').next().unwrap_or("") {
        "slowstart" => "slowstart is not modelled: a returning server takes its full share at once",
        "weight" => "weight 0 (drained server) is not modelled",
        "minconn" => "dynamic maxconn (minconn/fullconn) is not modelled: maxconn is used",
        "disabled" => "a disabled server is not modelled: it is imported as enabled",
        "observe" | "on-error" | "error-limit" | "on-marked-down" | "on-marked-up" => {
            "passive health checking is not modelled"
        }
        _ => "no effect on the model (addressing, TLS, agent, proxy protocol...)",
    }
}

/// Why a proxy-level directive is not mapped.
fn directive_reason(words: &[String]) -> String {
    let w0 = words[0].as_str();
    let w1 = words.get(1).map(String::as_str).unwrap_or("");
    match (w0, w1) {
        ("cookie", _) => {
            "no server of the backend has a `cookie` value, so HAProxy persists no session".into()
        }
        ("stick-table", _) => "no mapped `stick` or tracking rule uses this table".into(),
        ("stick", _) => {
            "only `stick on src` / `stick match src` (persistence on the client's address) is modelled".into()
        }
        ("option", "persist") => {
            "`option persist` needs session persistence, which this backend does not have".into()
        }
        ("timeout", "client") | ("clitimeout", _) => {
            "the model's clients send and read at once, so `timeout client` never fires (docs/scenario.md, [lb])".into()
        }
        ("timeout", _) => format!("`timeout {w1}` is not modelled"),
        ("fullconn", _) => "dynamic maxconn (minconn/fullconn) is not modelled".into(),
        ("http-check", _) | ("tcp-check", _) => {
            "the check's request is not modelled; `check` says tcp or http".into()
        }
        ("hash-type", _) => "hash-type only matters with a hashing balance the model has".into(),
        ("use_backend", _) => "only one backend is imported: content switching is not modelled".into(),
        ("mode", _) => "the model is an HTTP stack; mode does not change it".into(),
        ("bind", _) | ("log", _) | ("option", "httplog") | ("option", "tcplog")
        | ("option", "dontlognull") | ("log-format", _) | ("stats", _) | ("capture", _)
        | ("monitor-uri", _) | ("errorfile", _) | ("errorloc", _) => {
            "addressing, logging or reporting: no effect on the model".into()
        }
        (w, _) if w.starts_with('.') => "conditional block not evaluated (its lines are read as true)".into(),
        ("option", o) => format!("`option {o}` is not modelled"),
        (w, _) => format!("`{w}` is not modelled"),
    }
}

/// The proxy to import: the `listen` or `backend` carrying the servers, and the frontend in
/// front of it (None for a `listen`).
fn pick(cfg: &Config, wanted: Option<&str>) -> Result<(Option<usize>, usize), IngestError> {
    let has_servers = |s: &Section| s.lines.iter().any(|l| l.words[0] == "server");
    let proxies = |k: &Kind| matches!(k, Kind::Backend | Kind::Listen);
    if let Some(name) = wanted {
        let b = cfg
            .sections
            .iter()
            .position(|s| proxies(&s.kind) && s.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = cfg
                    .sections
                    .iter()
                    .filter(|s| proxies(&s.kind))
                    .map(|s| s.name.as_str())
                    .collect();
                IngestError::new(
                    &cfg.file,
                    None,
                    format!(
                        "--backend {name}: no backend or listen section of that name (there are: {})",
                        names.join(", ")
                    ),
                )
            })?;
        let fe = if cfg.sections[b].kind == Kind::Listen {
            None
        } else {
            frontend_of(cfg, &cfg.sections[b].name)
        };
        return Ok((fe, b));
    }
    // The first frontend's default backend, if it has servers.
    for (i, s) in cfg.sections.iter().enumerate() {
        if s.kind != Kind::Frontend {
            continue;
        }
        let mut u = Used::new();
        if let Some(l) = find(cfg, i, &["default_backend"], &mut u)
            && let Some(name) = l.words.get(1)
            && let Some(b) = cfg
                .sections
                .iter()
                .position(|s| s.kind == Kind::Backend && &s.name == name)
            && has_servers(&cfg.sections[b])
        {
            return Ok((Some(i), b));
        }
    }
    // Else the first listen or backend with servers.
    match cfg
        .sections
        .iter()
        .position(|s| proxies(&s.kind) && has_servers(s))
    {
        Some(b) => {
            let fe = if cfg.sections[b].kind == Kind::Listen {
                None
            } else {
                frontend_of(cfg, &cfg.sections[b].name)
            };
            Ok((fe, b))
        }
        None => Err(IngestError::new(
            &cfg.file,
            None,
            "no backend or listen section with a `server` line: nothing to balance",
        )),
    }
}

fn frontend_of(cfg: &Config, backend: &str) -> Option<usize> {
    cfg.sections.iter().enumerate().find_map(|(i, s)| {
        let mut u = Used::new();
        (s.kind == Kind::Frontend
            && find(cfg, i, &["default_backend"], &mut u)
                .is_some_and(|l| l.words.get(1).map(String::as_str) == Some(backend)))
        .then_some(i)
    })
}

/// Maps the configuration to scenario keys in `d`; lists what is not mapped.
pub fn map(cfg: &Config, wanted: Option<&str>, d: &mut Draft) -> Result<(), IngestError> {
    d.sources.push(cfg.file.clone());
    let f = cfg.file.as_str();
    let (fe, be) = pick(cfg, wanted)?;
    let mut used = Used::new();
    let front = fe.unwrap_or(be);
    let global = cfg.sections.iter().position(|s| s.kind == Kind::Global);
    // The frontend's `default_backend` is what chose the imported backend.
    if let Some(x) = fe {
        find(cfg, x, &["default_backend"], &mut used);
    }

    // ---- balance ----------------------------------------------------------------------------
    let hash = find(cfg, be, &["hash-type"], &mut used);
    let consistent = hash.is_some_and(|l| l.words.get(1).map(String::as_str) == Some("consistent"));
    match find(cfg, be, &["balance"], &mut used) {
        None => d.set(
            "lb",
            "algorithm",
            "roundrobin",
            "no `balance`: HAProxy's default up to 3.2 (3.3 defaults to random(2))",
        ),
        Some(l) => {
            let arg = l.words.get(1).map(String::as_str).unwrap_or("");
            let comment = format!("{f}:{}: {}", l.no, l.words.join(" "));
            let alg = match arg {
                "roundrobin" | "static-rr" | "leastconn" | "first" => Some(arg.to_string()),
                "source" if consistent => Some("source-consistent".into()),
                "source" => Some("source".into()),
                "random" => Some("random".into()),
                a if a.starts_with("random(") && a.ends_with(')') => {
                    let n = &a[7..a.len() - 1];
                    parse_int(n, 1, 1024).map(|_| a.to_string())
                }
                _ => None,
            };
            match alg {
                Some(a) => d.set("lb", "algorithm", a.as_str(), &comment),
                None => {
                    d.placeholder(
                        "lb",
                        "algorithm",
                        "roundrobin",
                        &format!("`balance {arg}` is not modelled"),
                    );
                    d.unmapped.push(Unmapped::new(
                        f,
                        l.no,
                        &l.words,
                        "this balance algorithm is not modelled: roundrobin is written instead",
                    ));
                }
            }
            if hash.is_some() && arg != "source" {
                // hash-type without a hashing balance the model has: listed below.
                for (j, hl) in cfg.sections[be].lines.iter().enumerate() {
                    if hl.words[0] == "hash-type" {
                        used.remove(&(be, j));
                    }
                }
            }
        }
    }

    // ---- servers ------------------------------------------------------------------------------
    // `default-server` (manual §4.2 "default-server", §5): each line sets defaults for the
    // `server` lines that follow it, adding to and overriding what earlier lines set. HAProxy
    // keeps them in the proxy's `defsrv`: a proxy starts from a copy of its defaults section's
    // (HAP-SRC src/proxy.c `proxy_defproxy_cpy()` -> `srv_settings_cpy()`), each `default-server`
    // line parses its keywords into it, and each `server` line starts from a copy of it as it
    // stands at that line (src/server.c `_srv_parse_init()`), then applies its own keywords.
    // So the settings accumulate down the chain (the furthest defaults section first) and then
    // in file order through the backend; a `default-server` below a `server` does not reach it.
    let mut in_effect: Vec<(usize, ServerParams)> = vec![];
    let push_default = |l: &Line,
                        d: &mut Draft,
                        in_effect: &mut Vec<(usize, ServerParams)>|
     -> Result<(), IngestError> {
        let p = server_params(cfg, l, 1)?;
        for o in &p.other {
            d.unmapped.push(Unmapped::new(
                f,
                l.no,
                &[format!("default-server ... {o}")],
                server_reason(o),
            ));
        }
        in_effect.push((l.no, p));
        Ok(())
    };
    for sec in chain(cfg, be).into_iter().skip(1).rev() {
        for (j, l) in cfg.sections[sec].lines.iter().enumerate() {
            if l.words[0] == "default-server" {
                used.insert((sec, j));
                push_default(l, d, &mut in_effect)?;
            }
        }
    }
    // (name, line, its own settings, the default-server lines in effect at it)
    type Declared<'a> = (String, &'a Line, ServerParams, Vec<(usize, ServerParams)>);
    let mut servers: Vec<Declared> = vec![];
    for (j, l) in cfg.sections[be].lines.iter().enumerate() {
        match l.words[0].as_str() {
            "default-server" => {
                used.insert((be, j));
                push_default(l, d, &mut in_effect)?;
                continue;
            }
            "server" => {}
            _ => continue,
        }
        used.insert((be, j));
        if servers.len() >= MAX_SERVERS {
            return Err(IngestError::new(
                f,
                Some(l.no),
                format!("more than {MAX_SERVERS} servers in one backend"),
            ));
        }
        let name = l.words.get(1).cloned().ok_or_else(|| {
            IngestError::new(f, Some(l.no), "`server` needs a name and an address")
        })?;
        let own = server_params(cfg, l, 3)?;
        for o in &own.other {
            d.unmapped.push(Unmapped::new(
                f,
                l.no,
                &[format!("server {name} ... {o}")],
                server_reason(o),
            ));
        }
        servers.push((name, l, own, in_effect.clone()));
    }
    let inherited: Vec<ServerParams> = servers
        .iter()
        .map(|(_, _, _, ds)| {
            ds.iter()
                .fold(ServerParams::default(), |acc, (_, p)| p.over(&acc))
        })
        .collect();
    let eff: Vec<ServerParams> = servers
        .iter()
        .zip(&inherited)
        .map(|((_, _, own, _), base)| own.over(base))
        .collect();
    // A value every server inherits alike goes to `[defaults.server]`, citing the
    // `default-server` line that set it, and a server's own keyword overrides it there; when
    // the servers inherit different values (a `default-server` between two `server` lines),
    // each server gets its own. A weight of 0 is listed below instead.
    macro_rules! server_key {
        ($field:ident, $key:literal, $valid:expr) => {{
            let valid = $valid;
            let first = inherited[0].$field;
            let alike = first.is_some_and(valid) && inherited.iter().all(|b| b.$field == first);
            if let Some(v) = first.filter(|_| alike) {
                let line = servers[0]
                    .3
                    .iter()
                    .rev()
                    .find(|(_, p)| p.$field.is_some())
                    .map_or(0, |(no, _)| *no);
                d.set(
                    "defaults.server",
                    $key,
                    v,
                    &format!("{f}:{line}: default-server"),
                );
            }
            for (i, ((_, _, own, _), e)) in servers.iter().zip(&eff).enumerate() {
                let v = if alike { own.$field } else { e.$field };
                if let Some(v) = v.filter(|v| valid(*v)) {
                    d.set_in("servers", i, $key, v, "");
                }
            }
        }};
    }
    let mut names: HashSet<String> = HashSet::new();
    for (name, l, _, _) in &servers {
        let i = d.push("servers");
        let mut n = super::server_name(name);
        while !names.insert(n.clone()) {
            n.push('_');
        }
        d.set_in("servers", i, "name", n.as_str(), &format!("{f}:{}", l.no));
    }
    server_key!(weight, "weight", |w: i64| w > 0);
    server_key!(maxconn, "maxconn", |_: i64| true);
    server_key!(maxqueue, "maxqueue", |_: i64| true);
    server_key!(backup, "backup", |_: bool| true);
    for ((name, l, _, _), e) in servers.iter().zip(&eff) {
        if e.weight == Some(0) {
            d.unmapped.push(Unmapped::new(
                f,
                l.no,
                &[format!("server {name} ... weight 0")],
                server_reason("weight"),
            ));
        }
    }
    if eff.iter().all(|p| p.backup == Some(true)) {
        return Err(IngestError::new(
            f,
            Some(servers[0].1.no),
            "every server of the backend is a backup: nothing would take traffic",
        ));
    }

    // ---- health checks ------------------------------------------------------------------------
    let checked: Vec<usize> = (0..eff.len())
        .filter(|&k| eff[k].check == Some(true))
        .collect();
    d.set(
        "health",
        "enabled",
        !checked.is_empty(),
        if checked.is_empty() {
            "no server has `check`"
        } else {
            "`check` on the servers"
        },
    );
    if let Some(&first) = checked.first() {
        for &k in &checked[1..] {
            let (a, b) = (&eff[first], &eff[k]);
            let same = (a.inter, a.fastinter, a.downinter, a.rise, a.fall)
                == (b.inter, b.fastinter, b.downinter, b.rise, b.fall);
            if !same {
                d.unmapped.push(Unmapped::new(
                    f,
                    servers[k].1.no,
                    &[format!("server {} ... inter/rise/fall", servers[k].0)],
                    format!(
                        "differs from server {}'s; the model has one check setting for every server (that one's)",
                        servers[first].0
                    ),
                ));
            }
        }
        for &k in (0..eff.len())
            .filter(|k| !checked.contains(k))
            .collect::<Vec<_>>()
            .iter()
        {
            d.unmapped.push(Unmapped::new(
                f,
                servers[k].1.no,
                &[format!("server {} (no check)", servers[k].0)],
                "the model checks every server or none: this one is checked too",
            ));
        }
        let p = &eff[first];
        let c = format!("{f}:{}", servers[first].1.no);
        if let Some(t) = p.inter {
            d.set("health", "inter", duration(t).as_str(), &c);
        }
        if let Some(t) = p.fastinter {
            d.set("health", "fastinter", duration(t).as_str(), &c);
        }
        if let Some(t) = p.downinter {
            d.set("health", "downinter", duration(t).as_str(), &c);
        }
        if let Some(r) = p.rise {
            d.set("health", "rise", r, &c);
        }
        if let Some(r) = p.fall {
            d.set("health", "fall", r, &c);
        }
    }
    if let Some(l) = find(cfg, be, &["option", "httpchk"], &mut used) {
        d.set(
            "health",
            "check",
            "http",
            &format!("{f}:{}: option httpchk", l.no),
        );
    }
    if let Some(l) = find(cfg, be, &["retries"], &mut used) {
        let r = int_arg(cfg, l, 1, 0, 100)?;
        d.set("health", "retries", r, &format!("{f}:{}", l.no));
    }
    // `option X` (true) or `no option X` (false) to a boolean key.
    let mut flag = |table: &str, key: &str, forms: &[&[&str]]| {
        if let Some(l) = find_any(cfg, be, forms, &mut used) {
            d.set(table, key, l.words[0] != "no", &format!("{f}:{}", l.no));
        }
    };
    flag(
        "health",
        "redispatch",
        &[
            &["option", "redispatch"],
            &["no", "option", "redispatch"],
            &["redispatch"],
        ],
    );
    flag(
        "lb",
        "abortonclose",
        &[
            &["option", "abortonclose"],
            &["no", "option", "abortonclose"],
        ],
    );

    let cookies: Vec<(String, usize, Option<String>)> = servers
        .iter()
        .zip(&eff)
        .map(|((name, l, _, _), p)| (name.clone(), l.no, p.cookie.clone()))
        .collect();
    super::haproxy_persistence::map(cfg, be, &cookies, d, &mut used);

    // ---- timeouts -----------------------------------------------------------------------------
    let connect = find_any(
        cfg,
        be,
        &[&["timeout", "connect"], &["contimeout"]],
        &mut used,
    );
    let connect_ns = match connect {
        Some(l) => Some((
            time_arg(cfg, l, if l.words[0] == "timeout" { 2 } else { 1 })?,
            l.no,
        )),
        None => None,
    };
    // `timeout connect 0` is no timeout, as an unset one (HAProxy stores 0 ms as "eternity"):
    // the connect then waits as long as the kernel retransmits the SYN. The model needs a
    // time, so the default stays, marked for the user to set.
    let connect_ns = connect_ns.filter(|&(t, _)| t > 0);
    match connect_ns {
        Some((t, no)) => d.set(
            "health",
            "timeout_connect",
            duration(t).as_str(),
            &format!("{f}:{no}"),
        ),
        None => d.placeholder(
            "health",
            "timeout_connect",
            "5s",
            "no `timeout connect` (or 0): HAProxy sets no limit (and warns at startup), so a \
             connect lasts as long as the kernel retries the SYN; the model needs one",
        ),
    }
    if let Some(l) = find(cfg, be, &["timeout", "check"], &mut used) {
        let t = time_arg(cfg, l, 2)?;
        if t > 0 {
            d.set(
                "health",
                "timeout_check",
                duration(t).as_str(),
                &format!("{f}:{}", l.no),
            );
        }
    }
    match find_any(
        cfg,
        be,
        &[&["timeout", "server"], &["srvtimeout"]],
        &mut used,
    ) {
        Some(l) => {
            let t = time_arg(cfg, l, if l.words[0] == "timeout" { 2 } else { 1 })?;
            let v = if t == 0 { "none".into() } else { duration(t) };
            d.set("lb", "timeout_server", v.as_str(), &format!("{f}:{}", l.no));
        }
        None => d.set(
            "lb",
            "timeout_server",
            "none",
            "no `timeout server`: HAProxy waits forever (and warns at startup)",
        ),
    }
    // `timeout queue` unset or 0 is `timeout connect` (manual "timeout queue": "If unset, the
    // value of 'timeout connect' is used"; HAProxy stores 0 as unset and falls back alike:
    // HAProxy 2.6 with `timeout queue 0` and `timeout connect 1s` answers a queued request 503
    // after 1.0 s). With neither, a queued request waits until a slot frees, however long
    // (HAProxy 2.6: served after 7.8 s behind a 4 s request with `maxconn 1`).
    let queue = match find(cfg, be, &["timeout", "queue"], &mut used) {
        Some(l) => Some((time_arg(cfg, l, 2)?, l.no)),
        None => None,
    };
    match (queue.filter(|&(t, _)| t > 0), connect_ns) {
        (Some((t, no)), _) => d.set(
            "lb",
            "timeout_queue",
            duration(t).as_str(),
            &format!("{f}:{no}"),
        ),
        (None, Some((t, no))) => d.set(
            "lb",
            "timeout_queue",
            duration(t).as_str(),
            &format!(
                "{} `timeout queue`: HAProxy uses `timeout connect` ({f}:{no})",
                if queue.is_some() {
                    "`timeout queue 0` is no"
                } else {
                    "no"
                }
            ),
        ),
        (None, None) => d.placeholder(
            "lb",
            "timeout_queue",
            "5s",
            "neither `timeout queue` nor `timeout connect`: HAProxy keeps a queued request \
             until a server takes it, however long; the model needs a limit",
        ),
    }

    // ---- frontend: maxconn, global: maxconn, nbthread --------------------------------------------
    let fe_max = find(cfg, front, &["maxconn"], &mut used);
    let mut g_max = None;
    let mut threads = None;
    if let Some(g) = global {
        g_max = find(cfg, g, &["maxconn"], &mut used);
        threads = find(cfg, g, &["nbthread"], &mut used);
    }
    match threads {
        Some(l) => {
            let n = int_arg(cfg, l, 1, 1, 1024)?;
            d.set("lb", "threads", n, &format!("{f}:{}: nbthread", l.no));
        }
        // HAProxy's manual, `nbthread`: "the default "nbthread" value is automatically set to
        // the number of CPUs the process is bound to upon startup" (2.x); the model's default
        // is 1, a quarter of a 4-core LB's capacity (and of its TLS handshakes).
        None => d.placeholder(
            "lb",
            "threads",
            1i64,
            "no `nbthread`: HAProxy runs one thread per CPU it may use (not in the file): \
             set the LB's cores",
        ),
    }
    // The frontend's maxconn, bounded by the process's (manual: frontend maxconn defaults to
    // the global one, and the global one caps every frontend together).
    let fe_v = fe_max
        .map(|l| int_arg(cfg, l, 1, 0, i32::MAX as i64))
        .transpose()?;
    let g_v = g_max
        .map(|l| int_arg(cfg, l, 1, 0, i32::MAX as i64))
        .transpose()?;
    let m = match (fe_v, g_v) {
        (Some(a), Some(b)) if a > 0 && b > 0 => Some(a.min(b)),
        (Some(a), _) if a > 0 => Some(a),
        (_, Some(b)) if b > 0 => Some(b),
        _ => None,
    };
    if let Some(m) = m {
        let src: Vec<String> = [fe_max, g_max]
            .iter()
            .flatten()
            .map(|l| format!("{f}:{}", l.no))
            .collect();
        d.set("lb", "maxconn", m, &format!("maxconn ({})", src.join(", ")));
    } else {
        // No `maxconn` in `global` (or 0) is not unlimited: HAProxy derives it at startup (manual
        // 2.6, §3.2 `maxconn`: "calculated based on the current file descriptors limit
        // reported by the "ulimit -n" command"; src/haproxy.c `compute_ideal_maxconn()`: the
        // FDs left after the listeners, checks, one poller FD and a two-FD wake-up pipe per
        // thread, divided by 2 (one FD each side), at least DEFAULT_MAXCONN, 100 by default).
        // HAProxy 2.6.12 takes the hard limit: `show info` Maxconn 9985 with `ulimit -n` 1024
        // soft, 20000 hard; 2033 with 4096 both. With a hard limit of 524288 (systemd's
        // default since v240, recalled, not checked here; Debian's haproxy.service sets none)
        // it is about 262,000, which the model's 0 (unlimited) stands for; a frontend's
        // `maxconn` defaults to it.
        d.placeholder(
            "lb",
            "maxconn",
            0i64,
            "no `maxconn` in `global` or the frontend: HAProxy derives it from the file \
             descriptors it may open, (hard `ulimit -n` - its own FDs) / 2 (not in the file): \
             set it",
        );
    }

    super::haproxy_security::map(cfg, front, d, &mut used)?;

    // ---- everything else is listed ------------------------------------------------------------
    let mut relevant: Vec<usize> = chain(cfg, be);
    if let Some(x) = fe {
        relevant.extend(chain(cfg, x));
    }
    relevant.extend(global);
    for (si, s) in cfg.sections.iter().enumerate() {
        let where_ = if relevant.contains(&si) {
            None
        } else {
            Some(match s.kind {
                Kind::Frontend | Kind::Backend | Kind::Listen => format!(
                    "{} {} is not the imported path: one backend is imported (--backend picks it)",
                    s.header.words[0], s.name
                ),
                Kind::Defaults if s.name.is_empty() => {
                    "this defaults section is inherited by nothing imported".to_string()
                }
                Kind::Defaults => format!("defaults {} is inherited by nothing imported", s.name),
                _ => format!("`{}` sections are not modelled", s.header.words[0]),
            })
        };
        if where_.is_some() && s.lines.is_empty() {
            d.unmapped.push(Unmapped::new(
                f,
                s.header.no,
                &s.header.words,
                where_.clone().unwrap_or_default(),
            ));
        }
        for (j, l) in s.lines.iter().enumerate() {
            if used.contains(&(si, j)) {
                continue;
            }
            let reason = match &where_ {
                Some(w) => w.clone(),
                None if s.kind == Kind::Global => match l.words[0].as_str() {
                    "nbproc" => "several processes are not modelled (nbthread is)".into(),
                    _ => "process setup: no effect on the model".into(),
                },
                None => directive_reason(&l.words),
            };
            d.unmapped.push(Unmapped::new(f, l.no, &l.words, reason));
        }
    }
    for l in &cfg.orphans {
        d.unmapped
            .push(Unmapped::new(f, l.no, &l.words, "outside any section"));
    }
    Ok(())
}

#[cfg(test)]
pub(in crate::ingest) mod tests {
    use super::*;

    #[test]
    fn words_follow_the_manual() {
        let w = words(
            "f",
            1,
            r#"  http-request set-header X "a b\"c" 'd e' f\ g # comment"#,
        )
        .unwrap();
        assert_eq!(
            w,
            vec!["http-request", "set-header", "X", "a b\"c", "d e", "f g"]
        );
        assert!(words("f", 1, "a \"b").is_err());
        // parse_line(): only the escapes it knows; any other backslash stays.
        let w = words("f", 1, r#"a\1 \x41\#b 'c\d' "e\$f" \$g"#).unwrap();
        assert_eq!(w, vec![r"a\1", "A#b", r"c\d", "e$f", r"\$g"]);
        assert!(words("f", 1, r"a \xZ1").is_err());
        assert!(
            words("f", 1, r"a a\\").is_ok(),
            "an escaped backslash ends the line"
        );
        // No line continuation: a final backslash is refused, alone or ending a word.
        for l in [
            r"server a 1.2.3.4:80 check \",
            r"server a 1.2.3.4:80 weight 3\",
        ] {
            let e = words("f", 7, l).unwrap_err().to_string();
            assert!(
                e.contains("line 7") && e.contains("no line continuation"),
                "{e}"
            );
        }
    }

    /// `text` parsed and mapped (the other HAProxy mappings' tests use it too).
    pub(in crate::ingest) fn import(text: &str) -> Result<Draft, IngestError> {
        let cfg = parse("h.cfg", text)?;
        let mut d = Draft::new("t");
        map(&cfg, None, &mut d)?;
        Ok(d)
    }

    #[test]
    fn timers_are_read_as_haproxy_reads_them() {
        // HAProxy refuses a check interval of 0 (src/check.c: "invalid value 0 for argument
        // 'inter'") and a timer from 2^31 ms on ("timer overflow", src/tools.c
        // `parse_time_err`); both are errors naming the line, not a scenario that does not
        // load (`inter 0` was written as "1ns": 9e11 check events).
        for (line, what) in [
            ("  server s1 1.2.3.4:80 check inter 0", "`inter`"),
            ("  server s1 1.2.3.4:80 check fastinter 0ms", "`fastinter`"),
            ("  server s1 1.2.3.4:80 check downinter 0s", "`downinter`"),
        ] {
            let e = import(&format!("backend b\n{line}\n")).unwrap_err();
            assert_eq!(e.line, Some(2), "{e}");
            assert!(e.message.contains(what) && e.message.contains("0"), "{e}");
        }
        let e = import("backend b\n  timeout server 30d\n  server s1 1.2.3.4:80\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("2147483647 ms"), "{e}");
        // 24 days is below the limit; sub-millisecond times round up to whole milliseconds.
        let d = import(
            "backend b\n  timeout server 24d\n  timeout connect 1500us\n  \
             server s1 1.2.3.4:80 check inter 500us\n",
        )
        .unwrap();
        assert_eq!(d.get("lb", "timeout_server").unwrap().as_str(), Some("24d"));
        assert_eq!(d.get("health", "inter").unwrap().as_str(), Some("1ms"));
        assert_eq!(
            d.get("health", "timeout_connect").unwrap().as_str(),
            Some("2ms")
        );
    }

    #[test]
    fn what_haproxy_leaves_unlimited_is_marked_not_silently_defaulted() {
        // No `timeout connect` and no `timeout queue`: HAProxy keeps a queued request until a
        // server takes it and lets a connect last as long as the kernel retries; the model's
        // 5 s defaults are marked to set. No `nbthread`: one thread per CPU, not 1.
        let d = import("backend b\n  server s1 1.2.3.4:80 maxconn 2\n").unwrap();
        for (t, k) in [
            ("lb", "timeout_queue"),
            ("health", "timeout_connect"),
            ("lb", "threads"),
            ("lb", "maxconn"),
        ] {
            assert!(d.get(t, k).is_some() && d.is_placeholder(t, k), "{t}.{k}");
        }
        // `timeout queue 0` is unset: `timeout connect` applies (HAProxy 2.6 answers 503
        // after the connect timeout).
        let d = import(
            "global\n  nbthread 4\ndefaults\n  timeout connect 7s\n  timeout queue 0\n\
             backend b\n  server s1 1.2.3.4:80 maxconn 2\n",
        )
        .unwrap();
        assert_eq!(d.get("lb", "timeout_queue").unwrap().as_str(), Some("7s"));
        assert!(!d.is_placeholder("lb", "timeout_queue"));
        assert!(!d.is_placeholder("health", "timeout_connect"));
        assert!(!d.is_placeholder("lb", "threads"));
        // A `global` without `maxconn` still leaves it to the machine; with one, it is known.
        assert!(d.is_placeholder("lb", "maxconn"));
        let d = import("global\n  maxconn 300\nbackend b\n  server s1 1.2.3.4:80\n").unwrap();
        assert_eq!(d.get("lb", "maxconn").unwrap().as_integer(), Some(300));
        assert!(!d.is_placeholder("lb", "maxconn"));
    }

    #[test]
    fn defaults_are_inherited_and_overridden() {
        let text = "defaults\n  timeout server 10s\n  retries 2\nbackend b\n  timeout server 3s\n  server s1 1.2.3.4:80 check inter 500\n";
        let d = import(text).unwrap();
        assert_eq!(d.get("lb", "timeout_server").unwrap().as_str(), Some("3s"));
        assert_eq!(d.get("health", "retries").unwrap().as_integer(), Some(2));
        assert_eq!(d.get("health", "inter").unwrap().as_str(), Some("500ms"));
        assert!(d.unmapped.is_empty(), "{:?}", d.unmapped);
    }
}
