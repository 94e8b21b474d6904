//! HTTPS and per-source limits in `haproxy.cfg`, mapped to `[lb.tls]` and `[lb.rate_limit]`
//! (docs/scenario.md, "HTTPS" and "Per-source limits"; the model: `model/tls.rs`,
//! `model/ratelimit.rs`).
//!
//! - `bind ... ssl crt <file>` terminates TLS at HAProxy (manual §5.1, `ssl`). The handshake's
//!   cost depends on the certificate's key, which the configuration does not say: `key` is
//!   written as a placeholder to check (`openssl x509 -noout -text -in <file>`).
//! - The per-source limit is the manual's own pattern (§7.3.3, `sc_http_req_rate`, and the
//!   "acl abuse sc0_http_req_rate gt 10" examples): a stick table storing
//!   `http_req_rate(<period>)` (and `conn_cur`), a `track-sc<n> src` rule on the frontend, and
//!   `http-request deny` / `http-request tarpit` / `tcp-request connection reject` on a
//!   condition comparing the tracked counter with a threshold, written inline (`{ ... }`) or as
//!   a named `acl` of one test. `ge N` is `gt N-1`. A condition of several tests, or on another
//!   counter or fetch, is not what the model's limit is and stays listed.

use super::haproxy_cfg::{Config, Kind, Line, UNITS, Used, find, find_any, int_arg, time_arg};
use super::text::duration;
use super::{Draft, IngestError, Unmapped};

/// Maps TLS termination and the per-source limits of the frontend `front` (or the `listen`
/// section) into `d`, marking the lines used.
pub fn map(cfg: &Config, front: usize, d: &mut Draft, used: &mut Used) -> Result<(), IngestError> {
    let f = cfg.file.as_str();
    let lines = &cfg.sections[front].lines;
    for (j, l) in lines.iter().enumerate() {
        if l.words[0] == "bind" && l.words.iter().any(|w| w == "ssl") {
            used.insert((front, j));
            d.placeholder(
                "lb.tls",
                "key",
                "rsa2048",
                &format!(
                    "{f}:{}: `bind ... ssl`: the certificate's key type is not in the configuration \
                     (rsa2048 or ecdsa-p256)",
                    l.no
                ),
            );
            keep_alive(cfg, front, d, used);
            break;
        }
    }
    // The counter `track-scN src` tracks, and the table it tracks into.
    let Some((tj, n, table)) = lines.iter().enumerate().find_map(|(j, l)| {
        tracker(l).map(|(n, t)| (j, n, t.unwrap_or(cfg.sections[front].name.clone())))
    }) else {
        return Ok(());
    };
    let Some((ts, tl)) = table_line(cfg, &table) else {
        return Ok(());
    };
    let stored: Vec<&str> = tl
        .words
        .iter()
        .position(|w| w == "store")
        .and_then(|p| tl.words.get(p + 1))
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    let period = stored
        .iter()
        .find_map(|s| s.strip_prefix("http_req_rate(")?.strip_suffix(')'));
    let conn_cur = stored.contains(&"conn_cur");
    let acls = named_acls(lines);
    let mut limit: Option<(i64, &str, &Line)> = None;
    let mut conn_limit: Option<(i64, &Line)> = None;
    for (j, l) in lines.iter().enumerate() {
        let action = match (l.words[0].as_str(), l.words.get(1).map(String::as_str)) {
            ("http-request", Some(a @ ("deny" | "tarpit"))) => a,
            ("tcp-request", Some("connection" | "content"))
                if l.words.get(2).map(String::as_str) == Some("reject") =>
            {
                "reject"
            }
            _ => continue,
        };
        let Some(test) = condition(l, &acls) else {
            continue;
        };
        let Some((fetch, gt)) = threshold(cfg, &test)? else {
            continue;
        };
        let counts = match (fetch_counter(&fetch), action) {
            (Some(("http_req_rate", c)), "deny" | "tarpit") => c == n && period.is_some(),
            (Some(("conn_cur", c)), "reject") => c == n && conn_cur,
            _ => false,
        };
        if !counts {
            continue;
        }
        // HAProxy runs the rule sets in order (tcp-request connection, then content, then
        // http-request) and each set's rules in file order: a rule that comes before the
        // `track-scN` reads a counter not tracked yet, whose fetch finds nothing, so the rule
        // never applies (HAProxy 2.6, `deny if { sc_http_req_rate(0) gt 2 }` above
        // `track-sc0 src`: six requests, six 200s). Importing it would limit what HAProxy lets
        // through.
        if phase(l) < phase(&lines[tj]) || (phase(l) == phase(&lines[tj]) && j < tj) {
            used.insert((front, j));
            d.unmapped.push(Unmapped::new(
                f,
                l.no,
                &l.words,
                format!(
                    "evaluated before the `track-sc{n}` of line {}: the counter is not tracked \
                     yet, so HAProxy never applies this rule (nothing imported)",
                    lines[tj].no
                ),
            ));
            continue;
        }
        match action {
            "reject" => conn_limit = Some((gt, l)),
            _ => limit = Some((gt, action, l)),
        }
        used.insert((front, j));
        for (aj, al) in lines.iter().enumerate() {
            if al.words[0] == "acl" && test.acl == al.words.get(1).map(String::as_str) {
                used.insert((front, aj));
            }
        }
    }
    if limit.is_none() && conn_limit.is_none() {
        return Ok(());
    }
    used.insert((front, tj));
    used.insert(ts);
    let at = |l: &Line| format!("{f}:{}: {}", l.no, l.words.join(" "));
    let h = "lb.rate_limit";
    match limit {
        Some((gt, action, l)) => {
            let period_ns = super::text::parse_time(period.unwrap_or(""), 1_000_000, &UNITS)
                .filter(|&p| p >= 1_000_000)
                .ok_or_else(|| {
                    IngestError::new(
                        f,
                        Some(tl.no),
                        format!(
                            "`store http_req_rate({})`: not a period of at least 1ms",
                            period.unwrap_or("")
                        ),
                    )
                })?;
            d.set(h, "period", duration(period_ns).as_str(), &at(tl));
            d.set(h, "limit", gt, &at(l));
            d.set(h, "action", action, "");
            if l.words.iter().any(|w| w == "deny_status" || w == "status") {
                d.notes.push(format!(
                    "{f}:{}: the deny status is not modelled: a denied request counts as \
                     rate_limited_403",
                    l.no
                ));
            }
        }
        None => d.set(
            h,
            "limit",
            1_000_000_000i64,
            "no request-rate rule: only the connection limit applies",
        ),
    }
    if let Some((gt, l)) = conn_limit {
        // `sc_conn_cur` counts the connection being judged ("automatically incremented when
        // tracking begins", manual `sc_conn_cur`), so `gt 0` (or `ge 1`) rejects every
        // connection (HAProxy 2.6: every curl gets a reset). The model's limit lets at least
        // one through; writing 1 would import a frontend that serves where HAProxy serves
        // nobody.
        if gt == 0 {
            return Err(IngestError::new(
                f,
                Some(l.no),
                "this rule rejects every connection: `sc_conn_cur` counts the connection being \
                 accepted, so it is never 0 here (HAProxy refuses every client); a limit of at \
                 least `gt 1` is what the model can import",
            ));
        }
        d.set(h, "conn_limit", gt, &at(l));
    }
    if limit.is_some_and(|(_, a, _)| a == "tarpit") {
        tarpit_time(cfg, front, d, used)?;
    }
    Ok(())
}

/// How long HAProxy holds a tarpitted request: `timeout tarpit` of the proxy whose rules
/// tarpit (the frontend: `http_ana.c` arms `tick_add_ifset(now_ms, s->be->timeout.tarpit)`
/// while `s->be` is still the frontend), else that proxy's `timeout connect`. A `listen`
/// section takes `timeout connect` from its defaults, which is the model's default for
/// `tarpit` (`health.timeout_connect`); a `frontend` does not ("'timeout connect' will be
/// ignored because frontend has no backend capability": only one written in the frontend
/// itself counts), and with neither the tarpit expires at once (`if (!req->analyse_exp)
/// req->analyse_exp = tick_add(now_ms, 0)`). Measured on HAProxy 2.6, `timeout connect 1s`
/// in defaults and 3s in the backend: a 500 after 1.06 ms; with `timeout connect 1500ms`
/// written in the frontend, after 1.51 s; with `timeout tarpit 2s` in defaults, after 2.00 s.
fn tarpit_time(
    cfg: &Config,
    front: usize,
    d: &mut Draft,
    used: &mut Used,
) -> Result<(), IngestError> {
    let f = cfg.file.as_str();
    let h = "lb.rate_limit";
    if let Some(l) = find(cfg, front, &["timeout", "tarpit"], used) {
        let t = time_arg(cfg, l, 2)?;
        if t > 0 {
            d.set(h, "tarpit", duration(t).as_str(), &format!("{f}:{}", l.no));
            return Ok(());
        }
    }
    if cfg.sections[front].kind != Kind::Frontend {
        return Ok(()); // a `listen`: its `timeout connect`, the model's default
    }
    let own = cfg.sections[front]
        .lines
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| {
            (l.words[0] == "timeout" && l.words.get(1).map(String::as_str) == Some("connect"))
                || l.words[0] == "contimeout"
        });
    let t = match own {
        Some((_, l)) => time_arg(cfg, l, if l.words[0] == "timeout" { 2 } else { 1 })?,
        None => 0,
    };
    match own {
        Some((j, l)) if t > 0 => {
            used.insert((front, j));
            d.set(
                h,
                "tarpit",
                duration(t).as_str(),
                &format!(
                    "{f}:{}: no `timeout tarpit`: the frontend's own `timeout connect`",
                    l.no
                ),
            )
        }
        _ => d.set(
            h,
            "tarpit",
            "1ms",
            "no `timeout tarpit` (and a frontend takes no `timeout connect` from its defaults): \
             HAProxy answers the tarpit's 500 at once (2.6: after 1.06 ms)",
        ),
    }
    Ok(())
}

/// What `[lb.tls]` needs beyond the key and no configuration says: how many requests a client
/// sends on one connection and how many of its connections resume a TLS session. HAProxy keeps
/// client connections alive by default (`option http-keep-alive`, manual §4 "option
/// http-keep-alive": the default mode since 1.5) and caches sessions (`tune.ssl.cachesize`
/// 20000, `tune.ssl.lifetime` 300 s) with tickets on, so the model's defaults (one request per
/// connection, no resumption: a full handshake for every request) are the worst case, not what
/// this HAProxy does. They are written as placeholders, except that `option httpclose` on the
/// frontend (or the defaults it inherits) does close after each request: then 1 is known.
fn keep_alive(cfg: &Config, front: usize, d: &mut Draft, used: &mut Used) {
    let f = cfg.file.as_str();
    let forms: &[&[&str]] = &[&["option", "httpclose"], &["no", "option", "httpclose"]];
    match find_any(cfg, front, forms, used) {
        Some(l) if l.words[0] != "no" => d.set(
            "lb.tls",
            "requests_per_connection",
            1i64,
            &format!("{f}:{}: option httpclose: one request per connection", l.no),
        ),
        _ => d.placeholder(
            "lb.tls",
            "requests_per_connection",
            1i64,
            "requests a client sends per kept-alive connection: HAProxy keeps connections \
             alive by default, browsers send several requests on one (not in the file)",
        ),
    }
    d.placeholder(
        "lb.tls",
        "resumption",
        0.0,
        "share of new connections resuming a TLS session (HAProxy caches 20,000 sessions for \
         300 s by default): clients returning within minutes resume (not in the file)",
    );
}

/// When a rule runs within a request: `tcp-request connection` at accept, `tcp-request
/// content` once data arrives, `http-request` once the request is parsed (manual §4, "tcp-request
/// connection": "evaluated ... before the tcp-request content rules"; §4 "http-request": after
/// them).
fn phase(l: &Line) -> u8 {
    match (l.words[0].as_str(), l.words.get(1).map(String::as_str)) {
        ("tcp-request", Some("connection")) => 0,
        ("tcp-request", Some("session")) => 1,
        ("tcp-request", _) => 2,
        _ => 3,
    }
}

/// `http-request track-scN src [table T]` or `tcp-request connection|content track-scN src
/// [table T]`, unconditional: the counter N and the table named, if any.
fn tracker(l: &Line) -> Option<(u8, Option<String>)> {
    let w = &l.words;
    let at = match w[0].as_str() {
        "http-request" => 1,
        "tcp-request" if matches!(w.get(1).map(String::as_str), Some("connection" | "content")) => {
            2
        }
        _ => return None,
    };
    let n = w.get(at)?.strip_prefix("track-sc")?.parse::<u8>().ok()?;
    if w.get(at + 1).map(String::as_str) != Some("src")
        || w.iter().any(|x| x == "if" || x == "unless")
    {
        return None;
    }
    let table = w
        .iter()
        .position(|x| x == "table")
        .and_then(|p| w.get(p + 1))
        .cloned();
    Some((n, table))
}

/// The `stick-table type ip` of the proxy `name`: (section, line index) and the line.
fn table_line<'a>(cfg: &'a Config, name: &str) -> Option<((usize, usize), &'a Line)> {
    // `type ipv6` keys the same addresses: HAProxy converts an IPv4 source to its
    // IPv4-mapped IPv6 form to look it up (manual §7.1.3 "converted to IPv6 by prefixing
    // ::ffff:"; HAProxy 2.6 with `type ipv6` and `deny if { sc_http_req_rate(0) gt 2 }`
    // answers 200 200 403 403 403 to five requests from 127.0.0.1).
    let ip = |l: &Line| {
        l.words[0] == "stick-table"
            && l.words
                .windows(2)
                .any(|p| p[0] == "type" && (p[1] == "ip" || p[1] == "ipv6"))
    };
    cfg.sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == name)
        .find_map(|(si, s)| {
            let (j, l) = s.lines.iter().enumerate().find(|(_, l)| ip(l))?;
            Some(((si, j), l))
        })
}

/// A condition of one test, `<fetch> <op> <value>`, where it is written.
struct Test<'a> {
    /// The named ACL that holds it (None: inline `{ ... }`).
    acl: Option<&'a str>,
    /// The line the test is on (the ACL's own line for a named one), and the test's first word.
    line: &'a Line,
    at: usize,
    len: usize,
}

impl Test<'_> {
    fn words(&self) -> &[String] {
        &self.line.words[self.at..self.at + self.len]
    }
}

/// The section's `acl <name> <test...>` lines.
fn named_acls(lines: &[Line]) -> Vec<&Line> {
    lines
        .iter()
        .filter(|l| l.words[0] == "acl" && l.words.len() >= 3)
        .collect()
}

/// The one test a rule's `if` applies (inline `{ ... }` or a named ACL); None for no
/// condition, `unless`, a negation or several tests.
fn condition<'a>(l: &'a Line, acls: &[&'a Line]) -> Option<Test<'a>> {
    let at = l.words.iter().position(|w| w == "if")?;
    let rest = &l.words[at + 1..];
    match rest {
        [open, .., close] if open == "{" && close == "}" => Some(Test {
            acl: None,
            line: l,
            at: at + 2,
            len: rest.len() - 2,
        }),
        [name] if !name.starts_with('!') => {
            let mut defs = acls.iter().filter(|a| &a.words[1] == name);
            let def = defs.next()?;
            // Several lines of one ACL name are ORed: not one threshold.
            defs.next().is_none().then(|| Test {
                acl: Some(name.as_str()),
                line: def,
                at: 2,
                len: def.words.len() - 2,
            })
        }
        _ => None,
    }
}

/// A test `<fetch> gt|ge <N>` as the fetch and the `gt` threshold; a bad number is an error
/// naming the line the test is written on.
fn threshold(cfg: &Config, test: &Test) -> Result<Option<(String, i64)>, IngestError> {
    let [fetch, op, _] = test.words() else {
        return Ok(None);
    };
    let ge = match op.as_str() {
        "gt" => false,
        "ge" => true,
        _ => return Ok(None),
    };
    let n = int_arg(cfg, test.line, test.at + 2, 0, 1_000_000_000)?;
    Ok(Some((fetch.clone(), if ge { (n - 1).max(0) } else { n })))
}

/// `sc_<name>(<n>)` or `sc<n>_<name>` (either with an optional table argument): the counter's
/// data name and index.
fn fetch_counter(fetch: &str) -> Option<(&str, u8)> {
    if let Some(rest) = fetch.strip_prefix("sc_") {
        let (name, args) = rest.split_once('(')?;
        let n = args
            .strip_suffix(')')?
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok()?;
        return Some((name, n));
    }
    let rest = fetch.strip_prefix("sc")?;
    let (n, name) = rest.split_once('_')?;
    let name = name.split('(').next()?;
    Some((name, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::super::haproxy_cfg;
    use super::*;

    fn import(front: &str) -> Result<Draft, IngestError> {
        haproxy_cfg::tests::import(&format!(
            "defaults\n  timeout connect 5s\nfrontend fe\n{front}  default_backend be\n\
             backend be\n  server s1 1.2.3.4:80\n"
        ))
    }

    #[test]
    fn an_ipv6_table_limits_ipv4_sources_too() {
        // HAProxy 2.6: with `type ipv6`, five requests from 127.0.0.1 get 200 200 403 403 403.
        let d = import(
            "  stick-table type ipv6 size 100k expire 30s store http_req_rate(10s)\n\
             \x20 http-request track-sc0 src\n\
             \x20 http-request deny if { sc_http_req_rate(0) gt 20 }\n",
        )
        .unwrap();
        assert_eq!(
            d.get("lb.rate_limit", "limit").unwrap().as_integer(),
            Some(20)
        );
        assert!(d.unmapped.iter().all(|u| !u.text.contains("stick-table")));
    }

    #[test]
    fn a_connection_limit_of_zero_is_refused_not_raised_to_one() {
        // `sc_conn_cur` counts the connection being judged: `gt 0` (or `ge 1`) rejects every
        // connection (HAProxy 2.6: every client reset); importing it as a limit of 1 would
        // serve where HAProxy serves nobody.
        for test in ["gt 0", "ge 1"] {
            let e = import(&format!(
                "  stick-table type ip size 1m expire 10s store conn_cur\n\
                 \x20 tcp-request connection track-sc0 src\n\
                 \x20 tcp-request connection reject if {{ sc_conn_cur(0) {test} }}\n"
            ))
            .unwrap_err();
            assert_eq!(e.line, Some(6), "{e}");
            assert!(e.message.contains("every connection"), "{e}");
        }
        let d = import(
            "  stick-table type ip size 1m expire 10s store conn_cur\n\
             \x20 tcp-request connection track-sc0 src\n\
             \x20 tcp-request connection reject if { sc_conn_cur(0) ge 2 }\n",
        )
        .unwrap();
        assert_eq!(
            d.get("lb.rate_limit", "conn_limit").unwrap().as_integer(),
            Some(1)
        );
    }

    #[test]
    fn a_rule_above_its_track_sc_is_never_applied_and_not_imported() {
        // HAProxy 2.6: `deny if { sc_http_req_rate(0) gt 2 }` above `track-sc0 src` lets
        // every request through; the same rules the other way round deny from the third.
        let table = "  stick-table type ip size 1m expire 10s store http_req_rate(10s)\n";
        let deny = "  http-request deny if { sc_http_req_rate(0) gt 2 }\n";
        let track = "  http-request track-sc0 src\n";
        let d = import(&format!("{table}{deny}{track}")).unwrap();
        assert!(d.get("lb.rate_limit", "limit").is_none());
        assert!(
            d.unmapped
                .iter()
                .any(|u| u.line == 5 && u.reason.contains("never applies")),
            "{:?}",
            d.unmapped
        );
        let d = import(&format!("{table}{track}{deny}")).unwrap();
        assert_eq!(
            d.get("lb.rate_limit", "limit").unwrap().as_integer(),
            Some(2)
        );
        // A connection-level tracker runs before every http-request rule.
        let d = import(&format!(
            "{table}{deny}  tcp-request connection track-sc0 src\n"
        ))
        .unwrap();
        assert_eq!(
            d.get("lb.rate_limit", "limit").unwrap().as_integer(),
            Some(2)
        );
    }

    #[test]
    fn a_frontend_s_tarpit_lasts_what_haproxy_makes_it_last() {
        // HAProxy 2.6 (see `tarpit_time`): `timeout tarpit` if set; else the frontend's own
        // `timeout connect`; else at once, whatever `timeout connect` its defaults give the
        // backends (5 s here, which the model would have used).
        let rules = "  stick-table type ip size 1m expire 10s store http_req_rate(10s)\n\
                     \x20 http-request track-sc0 src\n\
                     \x20 http-request tarpit if { sc_http_req_rate(0) gt 9 }\n";
        let tarpit = |extra: &str| {
            let d = import(&format!("{rules}{extra}")).unwrap();
            d.get("lb.rate_limit", "tarpit")
                .and_then(|v| v.as_str().map(String::from))
        };
        assert_eq!(tarpit("").as_deref(), Some("1ms"));
        assert_eq!(
            tarpit("  timeout connect 1500ms\n").as_deref(),
            Some("1500ms")
        );
        assert_eq!(tarpit("  timeout tarpit 2s\n").as_deref(), Some("2s"));
    }

    #[test]
    fn tls_keep_alive_and_resumption_are_marked_unless_the_file_says() {
        // HAProxy keeps client connections alive and caches TLS sessions by default: the
        // model's one request per connection and no resumption are the worst case, marked.
        let d = import("  bind :443 ssl crt /etc/site.pem\n").unwrap();
        for k in ["key", "requests_per_connection", "resumption"] {
            assert!(
                d.get("lb.tls", k).is_some() && d.is_placeholder("lb.tls", k),
                "{k}"
            );
        }
        // `option httpclose` closes after each response: one request per connection, known.
        let d = import("  bind :443 ssl crt /etc/site.pem\n  option httpclose\n").unwrap();
        assert!(!d.is_placeholder("lb.tls", "requests_per_connection"));
        assert!(d.unmapped.iter().all(|u| !u.text.contains("httpclose")));
    }
}
