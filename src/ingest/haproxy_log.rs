//! HAProxy HTTP logs, one request per line: the default `option httplog` format (HAProxy
//! configuration manual §8.2.3, "HTTP log format"), after an optional syslog prefix:
//!
//! ```text
//! 127.0.0.1:39512 [29/Nov/2026:21:10:03.118] fe be/s1 0/0/0/11/11 200 143 - - ---- 3/3/1/1/0 0/0 "GET / HTTP/1.1"
//! ```
//!
//! or a JSON object per line written by a `log-format`, with these fields (any order, others
//! ignored): `"ts"` (`%Ts`, Unix seconds) and `"ms"` (`%ms`), or `"accept_date"` (`%tr`);
//! `"server"` (`%s`), `"TR"`, `"Tw"`, `"Tc"`, `"Tr"`, `"Ta"` (`%TR` ... `%Ta`, milliseconds),
//! `"status"` (`%ST`), and optionally `"client_ip"` (`%ci`), `"backend"` (`%b`), `"sc"` (`%sc`):
//!
//! ```text
//! log-format '{"ts":%Ts,"ms":%ms,"client_ip":"%ci","backend":"%b","server":"%s","TR":%TR,"Tw":%Tw,"Tc":%Tc,"Tr":%Tr,"Ta":%Ta,"status":%ST,"sc":%sc}'
//! ```
//!
//! `"method"` (`%HM`) is optional too: it tells a `CONNECT` tunnel apart (see [`Record::tunnel`]).
//!
//! Every value is checked against what HAProxy can write, so that one corrupt line cannot
//! overflow the arithmetic or stretch the fit: `"ms"` is the millisecond part of the accept date,
//! a whole number 0 to 999 (`%ms`); `"ts"` whole seconds from 1970 to 5138 (below 1e11); a timer
//! a whole number of milliseconds from -1 (stage not reached) to 2^31 - 1 (HAProxy's signed
//! 32-bit counters, 24.8 days); a status -1 (no response: HAProxy's initial `txn->status`) or
//! 100 to 599 (RFC 9110 §15). A line outside these is malformed, named by its line number and key.
//!
//! A line that cannot be read is counted, with its number and why for the first few, and
//! skipped; [`parse`] fails only when most lines are unreadable (then the format is wrong). A
//! line dated far from the rest is set aside and listed ([`outlying`]); too many such lines, or
//! a log spanning more than a year, fail naming the lines.

use super::{IngestError, MAX_LINE_BYTES};
use std::collections::HashMap;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Httplog,
    Json,
}

/// One request.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// When HAProxy accepted the connection, milliseconds since the Unix epoch.
    pub accept_ms: i64,
    /// Index into [`Log::servers`].
    pub server: u32,
    /// The five timers, milliseconds (-1 when the stage was not reached).
    pub t_req: i32,
    pub t_wait: i32,
    pub t_connect: i32,
    pub t_resp: i32,
    pub t_active: i32,
    pub status: i32,
    /// Concurrent requests on the server when this one was logged (`%sc`), if logged.
    pub srv_conn: Option<u32>,
    /// A tunnel rather than a request: a `101 Switching Protocols` (a WebSocket or h2c upgrade)
    /// or a `CONNECT` answered 2xx. Its `Ta` is how long the tunnel stayed open (an hour for a
    /// chat client), not how long the server worked on it, so the fit leaves it out of the
    /// service time. The termination state cannot tell more tunnels apart: `cD`/`sD` (a
    /// timeout in the data phase) end plain transfers too.
    pub tunnel: bool,
    /// Accepted long before the rest of the log but logged within it (see [`Log::early`]).
    pub early: bool,
    /// Its line in the file (1-based), to name it in messages.
    pub line: usize,
    /// Its client address and backend, as indexes into the reader's tables: counted only once
    /// the lines dated apart are set aside.
    client: u32,
    backend: u32,
}

/// Whether a status is one HAProxy can log: -1 (no response) or an HTTP status 100-599.
fn valid_status(s: i64) -> bool {
    s == -1 || (100..=599).contains(&s)
}

/// Whether a request with this method and status opened a tunnel (see [`Record::tunnel`]).
fn is_tunnel(method: Option<&str>, status: i32) -> bool {
    status == 101 || (method == Some("CONNECT") && (200..300).contains(&status))
}

#[derive(Clone, Debug, Default)]
pub struct Log {
    pub records: Vec<Record>,
    /// Server names (`<NOSRV>` for requests never sent to one).
    pub servers: Vec<String>,
    /// The backend most requests went to.
    pub backend: String,
    /// Requests per client address.
    pub clients: HashMap<String, u64>,
    /// Non-empty lines read.
    pub lines: usize,
    pub malformed: usize,
    /// The first malformed lines: (line number, why).
    pub examples: Vec<(usize, String)>,
    /// Lines read but set aside because their accept date is far from the rest of the log
    /// (see [`outlying`]), with their number and date, in file order.
    pub dated_apart: Vec<(usize, String)>,
    /// Lines accepted far before the rest of the log but logged within it, with their number
    /// and accept date, in file order: sessions that lasted hours (a download, a long poll, a
    /// WebSocket). HAProxy writes a line when the session ends, so such a line sits among
    /// lines of hours later. They are real requests, kept for their times, but left out of the
    /// arrival rate: the log holds only those of that earlier hour that lasted until it began.
    pub early: Vec<(usize, String)>,
}

/// How far a line's accept date may lie from the log's middle half before it is set aside: ten
/// times the middle half's width beyond its ends (Tukey's fences, widened from his "far out" 3
/// so that a quiet night in a day's log, or the slow start of a load test, is never cut), and
/// at least a minute (a log of one busy second keeps its stragglers).
const FENCE_IQRS: i64 = 10;
const FENCE_MIN_MS: i64 = 60_000;
/// The most lines that may be set aside as dated apart: one in a hundred (at least one). More
/// is not a stray line but two logs joined, or a clock that jumped: the fit is refused.
const DATED_APART_SHARE: usize = 100;
/// The longest span a log may cover once stray lines are set aside: a year. A longer one is a
/// wrong date in a small log (where no line is stray by the rule above), not one workload.
const MAX_SPAN_MS: i64 = 366 * 86_400_000;

/// Indexes (into `times`, accept dates in ms) of the dates far outside the bulk of the log:
/// beyond the quartiles by more than [`FENCE_IQRS`] interquartile ranges and [`FENCE_MIN_MS`].
/// One line dated 1970 (a zeroed clock) or 9999 (a corrupt field) in a day's log would
/// otherwise make it span decades: a rate of zero, and phases the scenario cannot hold.
pub fn outlying(times: &[i64]) -> Vec<usize> {
    fences(times).map_or(vec![], |bulk| beyond(times, bulk).collect())
}

/// Indexes of the dates outside `bulk` ([`fences`]).
fn beyond(times: &[i64], (low, high): (i64, i64)) -> impl Iterator<Item = usize> + '_ {
    times
        .iter()
        .enumerate()
        .filter(move |&(_, &t)| t < low || t > high)
        .map(|(i, _)| i)
}

/// The bounds of the bulk of `times` ([`outlying`]: a date below the first or above the
/// second is outlying), or None when there are too few dates to tell (fewer than 4).
fn fences(times: &[i64]) -> Option<(i64, i64)> {
    if times.len() < 4 {
        return None;
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let at =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let (q1, q3) = (at(0.25), at(0.75));
    // Dates are within years 0 to 9999 (|ms| < 3.2e14): no product here comes near i64::MAX.
    let fence = ((q3 - q1) * FENCE_IQRS).max(FENCE_MIN_MS);
    Some((q1 - fence, q3 + fence))
}

/// Civil date of a day count since 1970-01-01 (H. Hinnant, civil_from_days): (y, m, d).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch as HAProxy writes an accept date, the inverse of [`parse_date`].
pub fn format_date(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS.get((m - 1) as usize).copied().unwrap_or("???");
    format!(
        "{d:02}/{month}/{y:04}:{:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

const EXAMPLES: usize = 10;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms", days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `29/Nov/2026:21:10:03.118` as milliseconds since the epoch (UTC: HAProxy's `%tr` is local
/// time; only differences between requests matter here).
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
        || b[20] != b'.'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let day = num(0..2)?;
    let month = MONTHS.iter().position(|m| *m == &s[3..6])? as i64 + 1;
    let year = num(7..11)?;
    let (h, mi, se, ms) = (num(12..14)?, num(15..17)?, num(18..20)?, num(21..24)?);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

struct Reader {
    log: Log,
    index: HashMap<String, u32>,
    clients: Names,
    backends: Names,
}

/// Distinct names, each with a small index, so that a record carries a number, not a string.
#[derive(Default)]
struct Names {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// Requests per name over `ids`.
    fn count(&self, ids: impl Iterator<Item = u32>) -> HashMap<String, u64> {
        let mut n = vec![0u64; self.names.len()];
        for i in ids {
            n[i as usize] += 1;
        }
        self.names
            .iter()
            .zip(n)
            .filter(|(_, c)| *c > 0)
            .map(|(s, c)| (s.clone(), c))
            .collect()
    }
}

impl Reader {
    fn server(&mut self, name: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        if self.log.servers.len() >= super::MAX_SERVERS {
            return None;
        }
        let i = self.log.servers.len() as u32;
        self.log.servers.push(name.to_string());
        self.index.insert(name.to_string(), i);
        Some(i)
    }
}

fn timer(s: &str) -> Option<i32> {
    let v: i64 = s.trim_start_matches('+').parse().ok()?;
    (-1..=i32::MAX as i64).contains(&v).then_some(v as i32)
}

/// One `httplog` line: (record, client, backend).
fn httplog(line: &str, r: &mut Reader) -> Result<(Record, String, String), String> {
    // The accept date is the first `[...]` of the right shape; the client is the word before.
    let mut at = None;
    let mut from = 0;
    while let Some(p) = line[from..].find('[') {
        let p = from + p;
        if line.len() >= p + 26
            && line.as_bytes()[p + 25] == b']'
            && parse_date(&line[p + 1..p + 25]).is_some()
        {
            at = Some(p);
            break;
        }
        from = p + 1;
    }
    let p = at.ok_or("no accept date [dd/Mon/yyyy:hh:mm:ss.mmm]")?;
    let accept_ms = parse_date(&line[p + 1..p + 25]).ok_or("bad accept date")?;
    let client = line[..p]
        .split_whitespace()
        .last()
        .ok_or("no client address")?;
    let client = client.rsplit_once(':').map(|c| c.0).unwrap_or(client);
    let mut f = line[p + 26..].split_whitespace();
    let _frontend = f.next().ok_or("no frontend")?;
    let (backend, server) = f
        .next()
        .and_then(|b| b.split_once('/'))
        .ok_or("no backend/server")?;
    let timers: Vec<&str> = f.next().ok_or("no timers")?.split('/').collect();
    if timers.len() != 5 {
        return Err("the timers are not TR/Tw/Tc/Tr/Ta".into());
    }
    let t: Vec<i32> = timers
        .iter()
        .map(|x| timer(x))
        .collect::<Option<_>>()
        .ok_or("a timer (TR/Tw/Tc/Tr/Ta) is not a whole number from -1 to 2147483647")?;
    let status: i64 = f
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no status code")?;
    if !valid_status(status) {
        return Err(format!(
            "status {status} is not an HTTP status (100 to 599, or -1)"
        ));
    }
    let status = status as i32;
    // bytes, request cookie, response cookie, termination state, then the connection counts.
    let conns = f.nth(4).ok_or("no connection counts")?;
    let sc = conns
        .split('/')
        .nth(3)
        .and_then(|s| s.trim_start_matches('+').parse().ok());
    // The request line is the last field, quoted: its first word is the method.
    let method = line
        .rfind(" \"")
        .map(|q| &line[q + 2..])
        .and_then(|req| req.split_whitespace().next());
    let srv = r.server(server).ok_or("too many servers")?;
    Ok((
        Record {
            accept_ms,
            server: srv,
            t_req: t[0],
            t_wait: t[1],
            t_connect: t[2],
            t_resp: t[3],
            t_active: t[4],
            status,
            srv_conn: sc,
            tunnel: is_tunnel(method, status),
            early: false,
            line: 0,
            client: 0,
            backend: 0,
        },
        client.to_string(),
        backend.to_string(),
    ))
}

/// The number under `key` of a JSON line: None when absent (or null), an error naming the key
/// when it is not a whole number within `lo..=hi`. Strings holding numbers are read too (a
/// `log-format` may quote them).
fn whole(v: &serde_json::Value, key: &str, lo: i64, hi: i64) -> Result<Option<i64>, String> {
    let (raw, x) = match v.get(key) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(raw) => (
            raw,
            raw.as_f64()
                .or_else(|| raw.as_str()?.trim().parse::<f64>().ok()),
        ),
    };
    // Compared as floats before any cast: `as` would saturate 1e300 into a valid-looking value.
    match x {
        Some(x) if x >= lo as f64 && x <= hi as f64 && x.fract() == 0.0 => Ok(Some(x as i64)),
        _ => {
            // As written (1e300 stays short), cut to a readable length.
            let shown: String = raw.to_string().chars().take(40).collect();
            Err(format!(
                "\"{key}\" is {shown}, not a whole number from {lo} to {hi}"
            ))
        }
    }
}

fn json(line: &str, r: &mut Reader) -> Result<(Record, String, String), String> {
    let start = line.find('{').ok_or("no JSON object")?;
    let v: serde_json::Value =
        serde_json::from_str(&line[start..]).map_err(|_| "not a JSON object")?;
    let timer = |k: &str| -> Result<Option<i32>, String> {
        Ok(whole(&v, k, -1, i32::MAX as i64)?.map(|x| x as i32))
    };
    let t = |k: &str| -> Result<i32, String> {
        timer(k)?.ok_or_else(|| format!("the timer \"{k}\" is missing"))
    };
    let accept_ms = match v.get("ts").filter(|x| !x.is_null()) {
        Some(ts) => {
            // `%Ts` is whole seconds, but a log-format may write `%Ts.%ms` as one number.
            let ts = ts
                .as_f64()
                .or_else(|| ts.as_str()?.trim().parse::<f64>().ok())
                .filter(|ts| (0.0..1e11).contains(ts))
                .ok_or("\"ts\" is not Unix seconds from 0 to 1e11")?;
            let ms = whole(&v, "ms", 0, 999)?.unwrap_or(0);
            (ts * 1000.0).round() as i64 + ms
        }
        None => match v.get("accept_date").and_then(|d| d.as_str()) {
            Some(d) => parse_date(d).ok_or("\"accept_date\" is not dd/Mon/yyyy:hh:mm:ss.mmm")?,
            None => return Err("no \"ts\" or \"accept_date\"".into()),
        },
    };
    let server = v
        .get("server")
        .and_then(|s| s.as_str())
        .ok_or("no \"server\"")?;
    let status = whole(&v, "status", -1, 599)?.ok_or("no \"status\"")?;
    if !valid_status(status) {
        return Err(format!(
            "\"status\" is {status}, not an HTTP status (100 to 599, or -1)"
        ));
    }
    let status = status as i32;
    let method = v.get("method").and_then(|m| m.as_str());
    let record = Record {
        accept_ms,
        server: 0,
        t_req: timer("TR")?.unwrap_or(0),
        t_wait: t("Tw")?,
        t_connect: t("Tc")?,
        t_resp: t("Tr")?,
        t_active: t("Ta")?,
        status,
        srv_conn: whole(&v, "sc", 0, 1_000_000_000)?.map(|x| x as u32),
        tunnel: is_tunnel(method, status),
        early: false,
        line: 0,
        client: 0,
        backend: 0,
    };
    let srv = r.server(server).ok_or("too many servers")?;
    let client = v
        .get("client_ip")
        .and_then(|s| s.as_str())
        .unwrap_or("-")
        .to_string();
    let backend = v
        .get("backend")
        .and_then(|s| s.as_str())
        .unwrap_or("-")
        .to_string();
    Ok((
        Record {
            server: srv,
            ..record
        },
        client,
        backend,
    ))
}

/// Reads every line of `text` (the file `file`).
pub fn parse(file: &str, text: &str, format: Format) -> Result<Log, IngestError> {
    let mut r = Reader {
        log: Log::default(),
        index: HashMap::new(),
        clients: Names::default(),
        backends: Names::default(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        r.log.lines += 1;
        let got = if line.len() > MAX_LINE_BYTES {
            Err("longer than 64 KiB".to_string())
        } else {
            match format {
                Format::Httplog => httplog(line, &mut r),
                Format::Json => json(line, &mut r),
            }
        };
        match got {
            Ok((rec, client, backend)) => {
                let (client, backend) = (r.clients.id(&client), r.backends.id(&backend));
                r.log.records.push(Record {
                    line: i + 1,
                    client,
                    backend,
                    ..rec
                });
            }
            Err(why) => {
                r.log.malformed += 1;
                if r.log.examples.len() < EXAMPLES {
                    r.log.examples.push((i + 1, why));
                }
            }
        }
    }
    let log = &mut r.log;
    let shown = |log: &Log| {
        log.examples
            .iter()
            .take(3)
            .map(|(l, w)| format!("line {l}: {w}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if log.records.is_empty() {
        return Err(IngestError::new(
            file,
            log.examples.first().map(|e| e.0),
            if log.lines == 0 {
                "the log holds no request".to_string()
            } else {
                format!(
                    "no line is a HAProxy {} log line: is it the right --format? ({})",
                    if format == Format::Json {
                        "JSON"
                    } else {
                        "httplog"
                    },
                    shown(log)
                )
            },
        ));
    }
    if log.malformed * 2 > log.lines {
        return Err(IngestError::new(
            file,
            log.examples.first().map(|e| e.0),
            format!(
                "{} of {} lines cannot be read, most of the file: is it the right --format? ({})",
                log.malformed,
                log.lines,
                shown(log)
            ),
        ));
    }
    set_aside_dated_apart(file, log)?;
    log.clients = r.clients.count(log.records.iter().map(|x| x.client));
    log.backend = r
        .backends
        .count(log.records.iter().map(|x| x.backend))
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|b| b.0)
        .unwrap_or_default();
    Ok(r.log)
}

/// Sets aside the lines dated far from the rest ([`outlying`]), listing them in
/// `log.dated_apart`; refuses the log, naming the lines, when they are too many to be strays
/// or when what is left spans more than [`MAX_SPAN_MS`].
fn set_aside_dated_apart(file: &str, log: &mut Log) -> Result<(), IngestError> {
    let times: Vec<i64> = log.records.iter().map(|x| x.accept_ms).collect();
    // When HAProxy wrote each line: at the end of the session, `Ta` after its accept
    // (`%Ta`, "total active time for the HTTP request", configuration.txt 8.4). A line whose
    // accept date is far before the rest but whose end is among them is a long session, not a
    // wrong date (a zeroed clock or a corrupt year moves both).
    let ends: Vec<i64> = log
        .records
        .iter()
        .map(|x| x.accept_ms + i64::from(x.t_active.max(0)))
        .collect();
    let mut ended_apart = vec![false; ends.len()];
    for i in outlying(&ends) {
        ended_apart[i] = true;
    }
    // Only a date below the bulk can be a session that began early.
    let (apart, early): (Vec<usize>, Vec<usize>) = match fences(&times) {
        Some(bulk @ (low, _)) => {
            beyond(&times, bulk).partition(|&i| ended_apart[i] || times[i] >= low)
        }
        None => Default::default(),
    };
    for &i in &early {
        let r = &mut log.records[i];
        r.early = true;
        log.early.push((r.line, format_date(r.accept_ms)));
    }
    let said = |x: &Record| format!("line {} ({})", x.line, format_date(x.accept_ms));
    if apart.len() > (log.records.len() / DATED_APART_SHARE).max(1) {
        let first: Vec<String> = apart
            .iter()
            .take(3)
            .map(|&i| said(&log.records[i]))
            .collect();
        return Err(IngestError::new(
            file,
            Some(log.records[apart[0]].line),
            format!(
                "{} of {} requests are dated far from the rest of the log ({}{}): two logs \
                 joined, or a clock that jumped? Fit each part on its own",
                apart.len(),
                log.records.len(),
                first.join(", "),
                if apart.len() > 3 { ", ..." } else { "" }
            ),
        ));
    }
    if !apart.is_empty() {
        let mut keep = vec![true; log.records.len()];
        for &i in &apart {
            keep[i] = false;
            log.dated_apart
                .push((log.records[i].line, format_date(log.records[i].accept_ms)));
        }
        let mut k = keep.iter();
        log.records.retain(|_| *k.next().unwrap_or(&true));
    }
    let arrivals = || log.records.iter().filter(|x| !x.early);
    let first = arrivals().min_by_key(|x| (x.accept_ms, x.line));
    let last = arrivals().max_by_key(|x| (x.accept_ms, std::cmp::Reverse(x.line)));
    if let (Some(a), Some(b)) = (first, last)
        && b.accept_ms - a.accept_ms > MAX_SPAN_MS
    {
        return Err(IngestError::new(
            file,
            Some(a.line.min(b.line)),
            format!(
                "the log spans {:.0} days, from {} to {}, and no line stands apart from the \
                 rest: more than a year is not one workload; correct or remove the line whose \
                 date is wrong, or fit each part on its own",
                (b.accept_ms - a.accept_ms) as f64 / 86_400_000.0,
                said(a),
                said(b)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_example_line_reads() {
        let line = "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"";
        let log = parse("h.log", line, Format::Httplog).unwrap();
        let r = log.records[0];
        assert_eq!(
            (r.t_req, r.t_wait, r.t_connect, r.t_resp, r.t_active),
            (10, 0, 30, 69, 109)
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.srv_conn, Some(1));
        assert_eq!(log.servers, vec!["srv1"]);
        assert_eq!(log.backend, "static");
        assert_eq!(log.clients["10.0.1.2"], 1);
        // 2009-02-06 12:14:14.655 UTC
        assert_eq!(r.accept_ms, 1_233_922_454_655);
    }

    #[test]
    fn malformed_lines_are_counted_unless_most_are() {
        let good = "1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"";
        let text = format!("{good}\ngarbage\n{good}\n");
        let log = parse("h.log", &text, Format::Httplog).unwrap();
        assert_eq!((log.records.len(), log.malformed), (2, 1));
        assert_eq!(log.examples[0].0, 2);
        assert!(parse("h.log", "garbage\nmore\n", Format::Httplog).is_err());
        let j = r#"{"ts":1700000000,"ms":5,"server":"s1","TR":0,"Tw":1,"Tc":0,"Tr":9,"Ta":10,"status":200}"#;
        let log = parse("j.log", j, Format::Json).unwrap();
        assert_eq!(log.records[0].accept_ms, 1_700_000_000_005);
    }

    /// One JSON line of a valid log with `key` set to `value` (JSON text).
    fn json_with(key: &str, value: &str) -> String {
        let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"ts":1700000000,"ms":5,"server":"s1","TR":0,"Tw":1,"Tc":0,"Tr":9,"Ta":10,"status":200}"#,
        )
        .unwrap();
        v.insert(key.into(), serde_json::from_str(value).unwrap());
        serde_json::Value::Object(v).to_string()
    }

    #[test]
    fn an_out_of_range_json_value_is_a_malformed_line_naming_its_key() {
        let good = json_with("ms", "5");
        for (key, value) in [
            ("ms", "1e300"),
            ("ms", "-1e300"),
            ("ms", "99999999"),
            ("ms", "1000"),
            ("ms", "5.5"),
            ("ms", "\"x\""),
            ("status", "1e300"),
            ("status", "42"),
            ("status", "600"),
            ("Ta", "1e300"),
            ("Ta", "-2"),
            ("Tw", "2147483648"),
            ("TR", "-1e300"),
            ("sc", "1e300"),
        ] {
            let text = format!("{good}\n{good}\n{}\n", json_with(key, value));
            let log = parse("j.log", &text, Format::Json).unwrap();
            assert_eq!((log.records.len(), log.malformed), (2, 1), "{key}={value}");
            let (line, why) = &log.examples[0];
            assert_eq!(*line, 3);
            assert!(why.contains(&format!("\"{key}\"")), "{key}={value}: {why}");
            assert!(why.len() < 120, "{why}");
        }
        // The limits themselves are values HAProxy writes.
        for (key, value) in [
            ("ms", "999"),
            ("ms", "0"),
            ("status", "-1"),
            ("status", "101"),
            ("status", "599"),
            ("Ta", "2147483647"),
            ("Tw", "-1"),
            ("ms", "\"007\""),
        ] {
            let log = parse("j.log", &json_with(key, value), Format::Json).unwrap();
            assert_eq!(log.malformed, 0, "{key}={value}: {:?}", log.examples);
        }
        let log = parse("j.log", &json_with("ms", "999"), Format::Json).unwrap();
        assert_eq!(log.records[0].accept_ms, 1_700_000_000_999);
    }

    #[test]
    fn an_httplog_status_outside_http_is_malformed() {
        let line = |status: &str| {
            format!(
                "1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 {status} 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\""
            )
        };
        let text = format!("{}\n{}\n{}\n", line("200"), line("-1"), line("99999"));
        let log = parse("h.log", &text, Format::Httplog).unwrap();
        assert_eq!((log.records.len(), log.malformed), (2, 1));
        assert!(
            log.examples[0].1.contains("status 99999"),
            "{:?}",
            log.examples
        );
    }

    #[test]
    fn upgrades_and_connects_are_tunnels_and_nothing_else_is() {
        let line = |status: &str, req: &str| {
            format!(
                "1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 {status} 1 - - ---- 1/1/1/1/0 0/0 \"{req}\""
            )
        };
        let text = [
            line("101", "GET /ws HTTP/1.1"),
            line("200", "CONNECT example.com:443 HTTP/1.1"),
            line("407", "CONNECT example.com:443 HTTP/1.1"),
            line("200", "GET /CONNECT HTTP/1.1"),
            line("200", "<BADREQ>"),
        ]
        .join("\n");
        let log = parse("h.log", &text, Format::Httplog).unwrap();
        let tunnels: Vec<bool> = log.records.iter().map(|r| r.tunnel).collect();
        assert_eq!(tunnels, [true, true, false, false, false]);
        let j = json_with("method", "\"CONNECT\"");
        assert!(parse("j.log", &j, Format::Json).unwrap().records[0].tunnel);
        let j = json_with("status", "101");
        assert!(parse("j.log", &j, Format::Json).unwrap().records[0].tunnel);
    }

    #[test]
    fn dates_format_back_to_what_haproxy_writes() {
        for d in [
            "01/Jan/1970:00:00:00.000",
            "29/Feb/2024:23:59:59.999",
            "06/Feb/2009:12:14:14.655",
            "31/Dec/9999:23:59:59.999",
            "01/Mar/0000:00:00:00.000",
        ] {
            assert_eq!(format_date(parse_date(d).unwrap()), d);
        }
    }

    #[test]
    fn only_dates_far_from_the_bulk_are_outlying() {
        let day = 1_764_450_000_000i64;
        // A day's log, one request a second, busier in the middle.
        let mut t: Vec<i64> = (0..86_400).step_by(60).map(|s| day + s * 1000).collect();
        t.extend((40_000..50_000).map(|s| day + s * 1000));
        assert!(
            outlying(&t).is_empty(),
            "a day's own hours are not outlying"
        );
        t.push(0); // 01/Jan/1970
        t.push(parse_date("01/Jan/9999:00:00:00.000").unwrap());
        t.push(day - 3 * 86_400_000); // three days before
        let n = t.len();
        assert_eq!(outlying(&t), [n - 3, n - 2, n - 1]);
        // A ten-second burst: a straggler within a minute is kept, an hour away is not.
        let mut b: Vec<i64> = (0..3000).map(|i| day + i * 3).collect();
        b.push(day + 9_000 + 55_000);
        assert!(outlying(&b).is_empty());
        b.push(day + 3_600_000);
        assert_eq!(outlying(&b), [3001]);
        // Too few lines to tell a bulk: nothing is outlying (the span limit refuses them).
        assert!(outlying(&[0, day, day + 1]).is_empty());
    }

    /// A log of `n` requests a second apart from `start` (ms), plus `extra` lines (as dates).
    fn dated(n: usize, start: i64, extra: &[&str]) -> String {
        let line = |d: &str| {
            format!(
                "1.2.3.4:5 [{d}] fe be/s1 0/0/0/5/5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n"
            )
        };
        let mut s: String = (0..n as i64)
            .map(|i| line(&format_date(start + i * 1000)))
            .collect();
        for d in extra {
            s.push_str(&line(d));
        }
        s
    }

    #[test]
    fn a_stray_date_is_set_aside_and_many_are_refused() {
        let start = parse_date("29/Nov/2026:22:00:00.000").unwrap();
        let log = parse(
            "h.log",
            &dated(300, start, &["01/Jan/1970:00:00:00.000"]),
            Format::Httplog,
        )
        .unwrap();
        assert_eq!(log.records.len(), 300);
        assert_eq!(
            log.dated_apart,
            [(301, "01/Jan/1970:00:00:00.000".to_string())]
        );
        // Two logs a month apart, the second 5 % of the lines: refused, naming a line.
        let mut two = dated(300, start, &[]);
        two.push_str(&dated(16, start + 30 * 86_400_000, &[]));
        let e = parse("h.log", &two, Format::Httplog).unwrap_err();
        assert_eq!(e.line, Some(301), "{e}");
        assert!(e.message.contains("16 of 316"), "{e}");
        // Too few lines to tell which date is wrong: refused, naming both ends.
        let e = parse(
            "h.log",
            &dated(2, start, &["01/Jan/9999:00:00:00.000"]),
            Format::Httplog,
        )
        .unwrap_err();
        assert!(
            e.message.contains("line 3 (01/Jan/9999:00:00:00.000)"),
            "{e}"
        );
    }
}
