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
//! A line that cannot be read is counted, with its number and why for the first few, and
//! skipped; [`parse`] fails only when most lines are unreadable (then the format is wrong).

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
    backends: HashMap<String, u64>,
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
fn httplog(line: &str, r: &mut Reader) -> Result<(Record, String, String), &'static str> {
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
        return Err("the timers are not TR/Tw/Tc/Tr/Ta");
    }
    let t: Vec<i32> = timers
        .iter()
        .map(|x| timer(x))
        .collect::<Option<_>>()
        .ok_or("a timer is not a number")?;
    let status: i32 = f
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no status code")?;
    // bytes, request cookie, response cookie, termination state, then the connection counts.
    let conns = f.nth(4).ok_or("no connection counts")?;
    let sc = conns
        .split('/')
        .nth(3)
        .and_then(|s| s.trim_start_matches('+').parse().ok());
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
        },
        client.to_string(),
        backend.to_string(),
    ))
}

fn json(line: &str, r: &mut Reader) -> Result<(Record, String, String), &'static str> {
    let start = line.find('{').ok_or("no JSON object")?;
    let v: serde_json::Value =
        serde_json::from_str(&line[start..]).map_err(|_| "not a JSON object")?;
    let num = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_f64().or_else(|| x.as_str()?.parse().ok()))
    };
    let t = |k: &str| -> Result<i32, &'static str> {
        let x = num(k).ok_or("a timer (TR, Tw, Tc, Tr, Ta) is missing")?;
        (x >= -1.0 && x < i32::MAX as f64)
            .then_some(x as i32)
            .ok_or("a timer is out of range")
    };
    let accept_ms = match (num("ts"), v.get("accept_date").and_then(|d| d.as_str())) {
        (Some(ts), _) if (0.0..1e11).contains(&ts) => {
            (ts * 1000.0).round() as i64 + num("ms").unwrap_or(0.0) as i64
        }
        (_, Some(d)) => parse_date(d).ok_or("bad accept_date")?,
        _ => return Err("no ts or accept_date"),
    };
    let server = v
        .get("server")
        .and_then(|s| s.as_str())
        .ok_or("no server")?;
    let status = num("status").ok_or("no status")? as i32;
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
            accept_ms,
            server: srv,
            t_req: num("TR").map(|x| x as i32).unwrap_or(0),
            t_wait: t("Tw")?,
            t_connect: t("Tc")?,
            t_resp: t("Tr")?,
            t_active: t("Ta")?,
            status,
            srv_conn: num("sc")
                .filter(|x| (0.0..1e9).contains(x))
                .map(|x| x as u32),
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
        backends: HashMap::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        r.log.lines += 1;
        let got = if line.len() > MAX_LINE_BYTES {
            Err("longer than 64 KiB")
        } else {
            match format {
                Format::Httplog => httplog(line, &mut r),
                Format::Json => json(line, &mut r),
            }
        };
        match got {
            Ok((rec, client, backend)) => {
                r.log.records.push(rec);
                *r.log.clients.entry(client).or_insert(0) += 1;
                *r.backends.entry(backend).or_insert(0) += 1;
            }
            Err(why) => {
                r.log.malformed += 1;
                if r.log.examples.len() < EXAMPLES {
                    r.log.examples.push((i + 1, why.to_string()));
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
    log.backend = r
        .backends
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|b| b.0.clone())
        .unwrap_or_default();
    Ok(r.log)
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
}
