//! `nginx.conf`: statements and blocks (nginx "Beginner's Guide", configuration structure), and
//! what the model has of nginx mapped to `[defaults.server]`: `worker_processes` to
//! `nginx_workers`, `worker_processes × worker_connections` to `nginx_max_conns`,
//! `proxy_connect_timeout` and `proxy_read_timeout`, and how nginx reaches the application
//! (`upstream`: a `unix:` socket or TCP). `include` is not followed: the included file is
//! listed as not read. Everything else is listed as not mapped.

use super::text::{BlockConf, Stmt, duration, parse_int, parse_time};
use super::{Draft, IngestError, Unmapped};

/// nginx time units ("Configuration file measurement units"): default seconds.
const UNITS: [(&str, u64); 8] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("M", 2_592_000_000_000_000),
    ("y", 31_536_000_000_000_000),
];

pub type Conf = BlockConf;

pub fn parse(file: &str, text: &str) -> Result<Conf, IngestError> {
    Conf::parse(file, text, true)
}

/// A time such as `60s`, `1m30s` or `500ms`: nginx allows several parts.
fn time(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        let unit = rest[digits..]
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let part = &rest[..digits + unit];
        total = total.checked_add(parse_time(part, 1_000_000_000, &UNITS)?)?;
        rest = &rest[digits + unit..];
        if digits == 0 {
            return None;
        }
    }
    Some(total)
}

/// Blocks that only hold other statements: their content is mapped or listed, not them.
const CONTAINERS: &[&str] = &[
    "http", "server", "location", "events", "stream", "upstream", "if",
];

pub fn map(conf: &Conf, d: &mut Draft) {
    d.sources.push(conf.file.clone());
    let f = conf.file.as_str();
    let mut workers: Option<i64> = None;
    // `worker_processes auto`: one per core, which the file does not say.
    let mut auto = false;
    let mut conns: Option<(i64, usize)> = None;
    let mut unix: Option<(bool, usize)> = None;
    let mut seen_connect = false;
    let mut seen_read = false;
    let mut stack: Vec<(&Stmt, &str)> = conf.stmts.iter().rev().map(|s| (s, "")).collect();
    let mut listed: Vec<Unmapped> = vec![];
    while let Some((s, parent)) = stack.pop() {
        let name = s.name();
        let arg = s.words.get(1).map(String::as_str).unwrap_or("");
        if let Some(b) = &s.block {
            if CONTAINERS.contains(&name) {
                stack.extend(b.iter().rev().map(|x| (x, name)));
            } else {
                listed.push(Unmapped::new(
                    f,
                    s.line,
                    &s.words,
                    format!("`{name}` block is not modelled"),
                ));
            }
            continue;
        }
        let c = format!("{f}:{}", s.line);
        match (name, parent) {
            ("worker_processes", "") => match parse_int(arg, 1, 100_000) {
                Some(n) => {
                    workers = Some(n);
                    d.set("defaults.server", "nginx_workers", n, &c);
                }
                None => {
                    auto = arg == "auto";
                    if auto {
                        d.placeholder(
                            "defaults.server",
                            "nginx_workers",
                            1i64,
                            &format!("{c}: worker_processes auto: one per core (not in the file)"),
                        );
                    }
                    listed.push(Unmapped::new(
                        f,
                        s.line,
                        &s.words,
                        "`auto` is one worker per core: set nginx_workers to the server's cores",
                    ))
                }
            },
            ("worker_connections", "events") => match parse_int(arg, 1, 10_000_000) {
                Some(n) => conns = Some((n, s.line)),
                None => listed.push(Unmapped::new(f, s.line, &s.words, "not a whole number")),
            },
            ("proxy_connect_timeout", _) | ("proxy_read_timeout", _) => {
                let key = if name == "proxy_connect_timeout" {
                    "proxy_connect_timeout"
                } else {
                    "proxy_read_timeout"
                };
                let seen = if name == "proxy_connect_timeout" {
                    &mut seen_connect
                } else {
                    &mut seen_read
                };
                match time(arg) {
                    Some(t) if t > 0 && !*seen => {
                        *seen = true;
                        d.set("defaults.server", key, duration(t).as_str(), &c);
                    }
                    Some(_) if *seen => listed.push(Unmapped::new(
                        f,
                        s.line,
                        &s.words,
                        "a second value: the model has one per server (the first one is used)",
                    )),
                    _ => listed.push(Unmapped::new(f, s.line, &s.words, "not a time > 0")),
                }
            }
            ("server", "upstream") => {
                let is_unix = arg.starts_with("unix:");
                match unix {
                    None => {
                        unix = Some((is_unix, s.line));
                        d.set(
                            "defaults.server",
                            "upstream",
                            if is_unix { "unix" } else { "tcp" },
                            &c,
                        );
                        if s.words.len() > 2 {
                            listed.push(Unmapped::new(
                                f,
                                s.line,
                                &s.words[2..],
                                "upstream server parameters are not modelled",
                            ));
                        }
                    }
                    Some(_) => listed.push(Unmapped::new(
                        f,
                        s.line,
                        &s.words,
                        "the model has one application behind each nginx (the first upstream server)",
                    )),
                }
            }
            ("proxy_pass", _) if arg.starts_with("http://unix:") && unix.is_none() => {
                unix = Some((true, s.line));
                d.set("defaults.server", "upstream", "unix", &c);
            }
            ("include", _) => listed.push(Unmapped::new(
                f,
                s.line,
                &s.words,
                "included files are not read: pass the directives they hold in this file",
            )),
            _ => listed.push(Unmapped::new(
                f,
                s.line,
                &s.words,
                format!("`{name}` is not modelled"),
            )),
        }
    }
    if let Some((n, line)) = conns {
        let w = workers.unwrap_or(1);
        if auto {
            // nginx's limit is worker_processes x worker_connections ("the maximum number of
            // simultaneous connections that can be opened by a worker process", core module
            // docs): with `auto` that is cores x n, not the 1 x n of one worker.
            d.placeholder(
                "defaults.server",
                "nginx_max_conns",
                n,
                &format!(
                    "worker_processes auto x worker_connections {n} ({f}:{line}): the server's \
                     cores x {n}; written for one worker, as nginx_workers"
                ),
            );
        } else {
            d.set(
                "defaults.server",
                "nginx_max_conns",
                w.saturating_mul(n),
                &format!("worker_processes {w} x worker_connections {n} ({f}:{line})"),
            );
        }
    }
    listed.sort_by_key(|u| u.line);
    d.unmapped.extend(listed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_connections_timeouts_and_upstream() {
        let text = "worker_processes 2;\nevents { worker_connections 1024; }\nhttp {\n upstream app { server unix:/run/app.sock fail_timeout=0; }\n server { listen 80; location / { proxy_pass http://app; proxy_read_timeout 1m30s; } }\n}\n";
        let conf = parse("nginx.conf", text).unwrap();
        let mut d = Draft::new("t");
        map(&conf, &mut d);
        assert_eq!(
            d.get("defaults.server", "nginx_max_conns")
                .unwrap()
                .as_integer(),
            Some(2048)
        );
        assert_eq!(
            d.get("defaults.server", "proxy_read_timeout")
                .unwrap()
                .as_str(),
            Some("90s")
        );
        assert_eq!(
            d.get("defaults.server", "upstream").unwrap().as_str(),
            Some("unix")
        );
        let texts: Vec<&str> = d.unmapped.iter().map(|u| u.text.as_str()).collect();
        assert!(
            texts.contains(&"listen 80") && texts.contains(&"proxy_pass http://app"),
            "{texts:?}"
        );
        assert!(parse("x", "http { a 1;").is_err());

        // `auto` workers: the connection limit is cores x worker_connections, which the file
        // does not say; both are marked to set, not written as one worker's as if known.
        let text = "worker_processes auto;\nevents { worker_connections 4096; }\n";
        let mut d = Draft::new("t");
        map(&parse("nginx.conf", text).unwrap(), &mut d);
        assert!(d.is_placeholder("defaults.server", "nginx_max_conns"));
        assert!(d.is_placeholder("defaults.server", "nginx_workers"));
        assert_eq!(
            d.get("defaults.server", "nginx_max_conns")
                .unwrap()
                .as_integer(),
            Some(4096)
        );
        assert!(parse("x", "a 1").is_err());
    }
}
