//! The hostile-input corpus (issue 11): hundreds of bad inputs, each run through the real
//! binary in a sandbox folder of its own, under a 1 GiB address-space limit (`ulimit -v`), a
//! bound of 10 s of CPU and a hang guard of 120 s. Every one must:
//!
//! * exit with code 2, within the CPU bound and the memory limit (an abort or a kill by the
//!   limit is a different exit status, a hang a timeout);
//! * say why on stderr, as `error: ...`, naming the file and the key (or the option) at fault;
//! * write nothing: the sandbox holds exactly the files the case created, before and after.
//!
//! The corpus is built here rather than stored as files: a valid scenario (`BASE`) with one key
//! made bad at a time, for every key and several kinds of bad value (wrong type, out of range,
//! a cost bomb), then whole-file attacks (not UTF-8, a FIFO, `/dev/zero`, 5 MB, 300,000 values,
//! deep nesting, syntax errors), empirical CSVs, study sizes, command-line arguments, and the
//! inputs of `replay`, `merge` and `ladder`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/cpu.rs"]
mod cpu;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");
/// Address space allowed to each run (KiB, for `ulimit -v`).
const MEMORY_KIB: u64 = 1 << 20;
/// The CPU time (user + system) each run may use. CPU, not wall time: the corpus runs two
/// cases at a time on a CI machine other builds keep busy, where wall time measures them too
/// (`common/cpu.rs`).
const DEADLINE: Duration = Duration::from_secs(10);
/// The wall time after which a run is killed as hung (a hang, such as a read blocked on a
/// FIFO, uses no CPU): generous, so that only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);
/// A shard's study.json, with NAME, KIND, RUNS and PARAMS to fill in.
const STUDY: &str = r#"{"tool":"x","name":"NAME","scenario_file":"s.toml","scenario_hash":"0","overrides":[],"kind":"KIND","seed":1,"runs":RUNS,"horizon_s":null,"parameters":PARAMS,"components":[],"spofs":[],"shard":"1/2"}"#;

/// A valid scenario, as (table header, keys): every key of it is made bad in turn.
fn base() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let s = |v: &str| v.to_string();
    vec![
        (
            "",
            vec![
                ("name", s("\"hostile\"")),
                ("seed", s("7")),
                ("duration", s("\"20s\"")),
                ("warmup", s("\"2s\"")),
            ],
        ),
        (
            "workload",
            vec![
                ("arrival", s("\"poisson\"")),
                ("rate", s("20")),
                ("clients", s("100")),
                ("phases", s("[ { at = \"10s\", rate = 30 } ]")),
                ("client_timeout", s("\"30s\"")),
            ],
        ),
        (
            "[workload.mix]",
            vec![
                ("name", s("\"page\"")),
                ("weight", s("1.0")),
                ("nginx", s("\"det(100us)\"")),
                ("app", s("\"exp(5ms)\"")),
                ("reads", s("1")),
                ("writes", s("1")),
            ],
        ),
        (
            "lb",
            vec![
                ("algorithm", s("\"roundrobin\"")),
                ("processing", s("\"det(50us)\"")),
                ("connect", s("\"det(20us)\"")),
                ("abortonclose", s("true")),
                ("threads", s("1")),
                ("maxconn", s("100")),
                ("timeout_queue", s("\"5s\"")),
            ],
        ),
        (
            "[servers]",
            vec![
                ("name", s("\"web-01\"")),
                ("weight", s("1")),
                ("maxconn", s("16")),
                ("maxqueue", s("0")),
                ("nginx_workers", s("1")),
                ("nginx_max_conns", s("512")),
                ("app_workers", s("4")),
                ("app_queue", s("64")),
                ("speed", s("1.0")),
            ],
        ),
        ("[servers]", vec![("name", s("\"web-02\""))]),
        (
            "database",
            vec![
                ("read_from", s("\"replicas\"")),
                ("read_time", s("\"exp(1ms)\"")),
                ("write_time", s("\"exp(2ms)\"")),
                ("network", s("\"det(100us)\"")),
            ],
        ),
        (
            "database.primary",
            vec![
                ("name", s("\"db-primary\"")),
                ("workers", s("8")),
                ("max_connections", s("151")),
                ("speed", s("1.0")),
            ],
        ),
        ("[database.replicas]", vec![("name", s("\"db-replica-1\""))]),
        (
            "database.replication",
            vec![
                ("delay", s("\"det(500us)\"")),
                ("appliers", s("4")),
                ("apply_factor", s("1.0")),
                ("semi_sync", s("false")),
                ("semi_sync_timeout", s("\"10s\"")),
            ],
        ),
        (
            "database.failover",
            vec![
                ("automatic", s("true")),
                ("poll_interval", s("\"5s\"")),
                ("poll_count", s("2")),
                ("promotion", s("\"det(10s)\"")),
            ],
        ),
        (
            "health",
            vec![
                ("enabled", s("true")),
                ("inter", s("\"2s\"")),
                ("fastinter", s("\"1s\"")),
                ("downinter", s("\"2s\"")),
                ("rise", s("2")),
                ("fall", s("3")),
                ("check", s("\"tcp\"")),
                ("retries", s("3")),
                ("redispatch", s("true")),
            ],
        ),
        (
            "[faults]",
            vec![
                ("target", s("\"web-01\"")),
                ("at", s("\"5s\"")),
                ("duration", s("\"3s\"")),
            ],
        ),
        (
            "[random_faults]",
            vec![
                ("component", s("\"server\"")),
                ("mttf", s("\"30d\"")),
                ("mttr", s("\"1h\"")),
            ],
        ),
        ("timeline", vec![("interval", s("\"1s\""))]),
        (
            "slo",
            vec![
                // shorter than the shortest measurement window a case sets (1 s)
                ("latency", s("\"100ms\"")),
                ("target", s("0.99")),
                ("p99", s("\"200ms\"")),
            ],
        ),
    ]
}

/// `BASE` as TOML text, with `(table, key)` set to `value` (added if the table lacks it).
fn render(change: Option<(&str, &str, &str)>) -> String {
    let mut out = String::new();
    let mut done = false;
    let mut first_of: BTreeMap<&str, bool> = BTreeMap::new();
    for (table, keys) in base() {
        let first = !first_of.contains_key(table);
        first_of.insert(table, true);
        if table.starts_with('[') {
            out.push_str(&format!("\n[[{}]]\n", table.trim_matches(['[', ']'])));
        } else if !table.is_empty() {
            out.push_str(&format!("\n[{table}]\n"));
        }
        let mine = change.filter(|(t, _, _)| *t == table && first);
        for (k, v) in &keys {
            match mine {
                Some((_, ck, cv)) if ck == *k => {
                    out.push_str(&format!("{k} = {cv}\n"));
                    done = true;
                }
                _ => out.push_str(&format!("{k} = {v}\n")),
            }
        }
        if let Some((_, ck, cv)) = mine
            && !done
        {
            out.push_str(&format!("{ck} = {cv}\n"));
            done = true;
        }
    }
    out
}

/// The key path the tool reports for `key` in `table` (first entry of an array of tables).
fn key_path(table: &str, key: &str) -> String {
    match table {
        "" => key.to_string(),
        t if t.starts_with('[') => format!("{}[0].{key}", t.trim_matches(['[', ']'])),
        t => format!("{t}.{key}"),
    }
}

/// One hostile input.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    /// Files to create in the sandbox, (relative path, content).
    files: Vec<(String, Vec<u8>)>,
    /// Special entries: (relative path, kind) with kind "fifo", "zero" (a link to /dev/zero),
    /// "dir", "sparse:N" (a sparse file of N bytes).
    special: Vec<(String, String)>,
    args: Vec<String>,
    /// Each must appear in stderr (the file and the key or option at fault).
    expect: Vec<String>,
}

fn case(name: impl Into<String>, text: &str, extra: &[&str], expect: &[&str]) -> Case {
    let mut args = vec!["s.toml".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut e = vec!["s.toml".to_string()];
    e.extend(expect.iter().map(|s| s.to_string()));
    Case {
        name: name.into(),
        files: vec![("s.toml".into(), text.as_bytes().to_vec())],
        special: vec![],
        args,
        expect: e,
    }
}

/// Bad values for a kind of key; each is expected to be reported at that key.
fn bad_values(kind: &str) -> Vec<&'static str> {
    match kind {
        "count1" => vec!["0", "-1", "3.5", "\"two\"", "true", "[1]", "99999999999"],
        "count0" => vec!["-1", "3.5", "\"two\"", "[1]", "99999999999"],
        "seed" => vec!["-1", "3.5", "\"two\"", "[1]", "true"],
        "positive" => vec!["0", "-1.5", "nan", "inf", "\"fast\"", "true"],
        "duration" => vec![
            "\"-5s\"",
            "\"5\"",
            "5",
            "\"\"",
            "\"5 parsecs\"",
            "\"99999y\"",
            "true",
            "[\"1s\"]",
        ],
        "dist" => vec![
            "\"exp(-1ms)\"",
            "\"weibull(shape=1e-3, mean=1ms)\"",
            "\"pareto(alpha=0, min=1ms, max=2ms)\"",
            "\"uniform(3ms, 1ms)\"",
            "\"exp(\"",
            "\"lognormal(1ms, cv=-1)\"",
            "\"erlang(0, 1ms)\"",
            "\"empirical(missing.csv)\"",
            "\"empirical(/dev/zero)\"",
            "{ dist = \"gamma\" }",
            "42",
        ],
        "enum" => vec!["\"nope\"", "\"\"", "5", "true"],
        "bool" => vec!["\"yes\"", "1"],
        // A name that a spreadsheet runs as a formula (CSV injection), or that hides a
        // right-to-left override or a zero-width space, is refused too.
        "name" => vec![
            "\".\"",
            "\"..\"",
            "\"a/b\"",
            "\"\"",
            "\"x\\u0001y\"",
            "5",
            "\"=cmd|' /C calc'!A0\"",
            "\"+SUM(1,2)\"",
            "\"-2+3\"",
            "\"@SUM(A1)\"",
            "\"web\\u202E10-bew\"",
            "\"web\\u200B01\"",
        ],
        _ => unreachable!("kind {kind}"),
    }
}

/// Which kind of value each key of `BASE` takes.
fn key_kinds() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("", "name", "name"),
        ("", "seed", "seed"),
        ("", "duration", "duration"),
        ("", "warmup", "duration"),
        ("workload", "arrival", "enum"),
        ("workload", "rate", "positive"),
        ("workload", "clients", "count1"),
        ("workload", "client_timeout", "duration"),
        ("[workload.mix]", "name", "name"),
        ("[workload.mix]", "weight", "positive"),
        ("[workload.mix]", "nginx", "dist"),
        ("[workload.mix]", "app", "dist"),
        ("[workload.mix]", "reads", "count0"),
        ("[workload.mix]", "writes", "count0"),
        ("lb", "algorithm", "enum"),
        ("lb", "processing", "dist"),
        ("lb", "connect", "dist"),
        ("lb", "abortonclose", "bool"),
        ("lb", "threads", "count1"),
        ("lb", "maxconn", "count0"),
        ("lb", "timeout_queue", "duration"),
        ("[servers]", "name", "name"),
        ("[servers]", "weight", "count1"),
        ("[servers]", "maxconn", "count0"),
        ("[servers]", "maxqueue", "count0"),
        ("[servers]", "nginx_workers", "count1"),
        ("[servers]", "nginx_max_conns", "count1"),
        ("[servers]", "app_workers", "count1"),
        ("[servers]", "app_queue", "count0"),
        ("[servers]", "speed", "positive"),
        ("database", "read_from", "enum"),
        ("database", "read_time", "dist"),
        ("database", "write_time", "dist"),
        ("database", "network", "dist"),
        ("database.primary", "name", "name"),
        ("database.primary", "workers", "count1"),
        ("database.primary", "speed", "positive"),
        ("database.replication", "delay", "dist"),
        ("database.replication", "appliers", "count1"),
        ("database.replication", "apply_factor", "positive"),
        ("database.replication", "semi_sync", "bool"),
        ("database.replication", "semi_sync_timeout", "duration"),
        ("database.failover", "automatic", "bool"),
        ("database.failover", "poll_interval", "duration"),
        ("database.failover", "poll_count", "count1"),
        ("database.failover", "promotion", "dist"),
        ("health", "enabled", "bool"),
        ("health", "inter", "duration"),
        ("health", "fastinter", "duration"),
        ("health", "downinter", "duration"),
        ("health", "rise", "count1"),
        ("health", "fall", "count1"),
        ("health", "check", "enum"),
        ("health", "retries", "count0"),
        ("health", "redispatch", "bool"),
        ("[faults]", "target", "enum"),
        ("[faults]", "at", "duration"),
        ("[faults]", "duration", "duration"),
        ("[random_faults]", "component", "enum"),
        ("[random_faults]", "mttf", "duration"),
        ("[random_faults]", "mttr", "duration"),
        ("timeline", "interval", "duration"),
        ("slo", "latency", "duration"),
        ("slo", "target", "positive"),
        ("slo", "p99", "duration"),
    ]
}

fn corpus() -> Vec<Case> {
    let mut cases = vec![];
    let base = render(None);

    // ---- one key at a time -------------------------------------------------------------------
    for (table, key, kind) in key_kinds() {
        for v in bad_values(kind) {
            let text = render(Some((table, key, v)));
            let path = key_path(table, key);
            cases.push(case(format!("{path} = {v}"), &text, &[], &[&path]));
        }
    }
    // keepalived's script watching HAProxy, run every nanosecond: refused at its key.
    let text = format!(
        "{}\n[lb.vrrp]\ntrack_haproxy = true\nscript_interval = \"1ns\"\n",
        render(Some(("lb", "ha", "\"active-passive\"")))
    );
    cases.push(case(
        "lb.vrrp.script_interval = \"1ns\"",
        &text,
        &[],
        &["lb.vrrp.script_interval", "events"],
    ));
    // Values valid in type but too costly: each is refused at its key, before running.
    for (table, key, v, path, word) in [
        ("health", "inter", "\"1ns\"", "health.inter", "events"),
        (
            "health",
            "fastinter",
            "\"1ns\"",
            "health.fastinter",
            "events",
        ),
        (
            "health",
            "downinter",
            "\"1ns\"",
            "health.downinter",
            "events",
        ),
        (
            "database.failover",
            "poll_interval",
            "\"1ns\"",
            "database.failover.poll_interval",
            "events",
        ),
        (
            "timeline",
            "interval",
            "\"1ns\"",
            "timeline.interval",
            "timeline",
        ),
        ("", "duration", "\"584y\"", "duration", "requests"),
        ("", "duration", "\"200y\"", "duration", ""),
        ("workload", "rate", "1e12", "duration", "requests"),
        (
            "workload",
            "clients",
            "4000000000",
            "workload.clients",
            "10000000",
        ),
        ("workload", "rate", "1e300", "duration", "requests"),
        ("lb", "threads", "100000", "lb.threads", "1024"),
        (
            "[servers]",
            "app_workers",
            "1000000",
            "servers[0].app_workers",
            "100000",
        ),
        (
            "database.primary",
            "max_connections",
            "1000000",
            "database.primary.max_connections",
            "",
        ),
        ("health", "retries", "1000", "health.retries", "100"),
        ("health", "rise", "100000", "health.rise", "1000"),
        ("", "seed", "-1", "seed", ">= 0"),
        (
            "",
            "name",
            "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "name",
            "100",
        ),
        (
            "[random_faults]",
            "component",
            "\"server\"\nttf = \"exp(1s)\"",
            "random_faults[0].ttf",
            "",
        ),
        ("[faults]", "at", "\"1h\"", "faults[0].at", "before the end"),
        (
            "[faults]",
            "target",
            "\"web-99\"",
            "faults[0].target",
            "web-99",
        ),
        ("[faults]", "target", "\"lb-2\"", "faults[0].target", "lb-2"),
        ("", "warmup", "\"30s\"", "warmup", "shorter"),
    ] {
        let text = render(Some((table, key, v)));
        cases.push(case(
            format!("cost {path} = {v}"),
            &text,
            &[],
            &[path, word]
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>(),
        ));
    }
    // Closed-loop users (`[workload.users]`, not in BASE: with it, `workload.rate = 0` is
    // valid): every key made bad in turn, the limits, a cost bomb, an unknown key.
    let users = |count: &str, think: &str, pages: &str, requests: &str| {
        format!(
            "{base}\n[workload.users]\ncount = {count}\nthink = {think}\npages = {pages}\n\
             requests = {requests}\n"
        )
    };
    let ok = ("10", "\"exp(1s)\"", "3", "2");
    for v in bad_values("count1").into_iter().chain(["1000001"]) {
        let text = users(v, ok.1, ok.2, ok.3);
        cases.push(case(
            format!("workload.users.count = {v}"),
            &text,
            &[],
            &["workload.users.count"],
        ));
    }
    for v in bad_values("dist").into_iter().chain(["\"0s\""]) {
        let text = users(ok.0, v, ok.2, ok.3);
        cases.push(case(
            format!("workload.users.think = {v}"),
            &text,
            &[],
            &["workload.users.think"],
        ));
    }
    for v in bad_values("count1").into_iter().chain(["1000001"]) {
        let text = users(ok.0, ok.1, v, ok.3);
        cases.push(case(
            format!("workload.users.pages = {v}"),
            &text,
            &[],
            &["workload.users.pages"],
        ));
    }
    for v in bad_values("count1").into_iter().chain(["1001"]) {
        let text = users(ok.0, ok.1, ok.2, v);
        cases.push(case(
            format!("workload.users.requests = {v}"),
            &text,
            &[],
            &["workload.users.requests"],
        ));
    }
    // Abandonment: a probability, and a time away that needs it.
    for v in ["1.5", "-0.1", "nan", "\"half\""] {
        cases.push(case(
            format!("workload.users.abandon = {v}"),
            &format!("{}abandon = {v}\n", users(ok.0, ok.1, ok.2, ok.3)),
            &[],
            &["workload.users.abandon"],
        ));
    }
    // Accepted and ignored before: with one page per session no session has pages left to
    // leave.
    cases.push(case(
        "workload.users.abandon with pages = 1",
        &format!("{}abandon = 0.5\n", users(ok.0, ok.1, "1", ok.3)),
        &[],
        &["workload.users.abandon", "pages"],
    ));
    for v in bad_values("dist").into_iter().chain(["\"0s\""]) {
        cases.push(case(
            format!("workload.users.away = {v}"),
            &format!(
                "{}abandon = 0.5\naway = {v}\n",
                users(ok.0, ok.1, ok.2, ok.3)
            ),
            &[],
            &["workload.users.away"],
        ));
    }
    cases.push(case(
        "workload.users without count",
        &format!("{base}\n[workload.users]\nthink = \"1s\"\n"),
        &[],
        &["workload.users.count"],
    ));
    cases.push(case(
        "workload.users without think",
        &format!("{base}\n[workload.users]\ncount = 3\n"),
        &[],
        &["workload.users.think"],
    ));
    cases.push(case(
        "workload.users.thinks",
        &format!("{}thinks = 1\n", users(ok.0, ok.1, ok.2, ok.3)),
        &[],
        &["workload.users.thinks"],
    ));
    // A million users who think for a nanosecond: 1e21 requests, refused before running.
    cases.push(case(
        "cost workload.users think = 1ns",
        &users("1000000", "\"1ns\"", "1", "1000"),
        &[],
        &["duration", "requests"],
    ));
    // The mean of the law that follows a page is not a bound (an audit's bombs, which ran for
    // minutes): users who come back a nanosecond after a failed page, through an LB outage...
    let outage = "duration = \"2min\"\nwarmup = \"0s\"\n[workload]\n[workload.users]\n\
                  count = 100\nthink = THINK\npages = 5\nabandon = 1\naway = AWAY\n\
                  [[faults]]\ntarget = \"lb\"\nkind = \"crash\"\nat = \"30s\"\n";
    cases.push(case(
        "cost workload.users.away = 1ns after failed pages",
        &outage
            .replace("THINK", "\"exp(10s)\"")
            .replace("AWAY", "\"det(1ns)\""),
        &[],
        &["duration", "workload.users.away"],
    ));
    // ... and a think time of mean 1 h that draws under a nanosecond more often than not.
    cases.push(case(
        "cost workload.users.think = weibull(shape=0.02, mean=1h)",
        &outage
            .replace("THINK", "\"weibull(shape=0.02, mean=1h)\"")
            .replace("AWAY", "\"1min\""),
        &[],
        &["duration", "workload.users.think"],
    ));
    cases.push(case(
        "--set workload.users.count=2000000",
        &users(ok.0, ok.1, ok.2, ok.3),
        &["--set", "workload.users.count=2000000"],
        &["workload.users.count"],
    ));
    // Client retries (`[workload.retry]`): every key made bad in turn, and a cost bomb.
    let retry = |key: &str, v: &str| {
        let mut keys = vec![
            ("retries", "3"),
            ("backoff", "\"100ms\""),
            ("multiplier", "2"),
            ("max_backoff", "\"10s\""),
            ("jitter", "true"),
        ];
        for k in &mut keys {
            if k.0 == key {
                k.1 = v;
            }
        }
        let body: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        format!("{base}\n[workload.retry]\n{body}")
    };
    for (key, kind, extra) in [
        ("retries", "count0", "101"),
        ("backoff", "duration", "\"-1s\""),
        ("multiplier", "positive", "0.5"),
        ("max_backoff", "duration", "\"0s\""),
        ("jitter", "bool", "\"yes\""),
    ] {
        for v in bad_values(kind).into_iter().chain([extra]) {
            cases.push(case(
                format!("workload.retry.{key} = {v}"),
                &retry(key, v),
                &[],
                &[&format!("workload.retry.{key}")],
            ));
        }
    }
    cases.push(case(
        "workload.retry without retries",
        &format!("{base}\n[workload.retry]\nbackoff = \"1s\"\n"),
        &[],
        &["workload.retry.retries"],
    ));
    cases.push(case(
        "workload.retry.retry",
        &format!("{}retry = 1\n", retry("retries", "3")),
        &[],
        &["workload.retry.retry"],
    ));
    // 100 retries of 2e8 requests: 2e10 attempts at worst.
    cases.push(case(
        "cost workload.retry.retries = 100",
        &retry("retries", "100"),
        &["--set", "workload.rate=20000000"],
        &["duration", "requests"],
    ));
    // Security (`[lb.tls]`, `[lb.rate_limit]`, `[workload.flood]`, `[firewall]`): every key
    // made bad in turn, with the bad values of its kind and its own out-of-range ones.
    let section = |header: &str, keys: &[(&str, &str)], key: &str, v: &str| {
        let body: String = keys
            .iter()
            .map(|&(k, ok)| format!("{k} = {}\n", if k == key { v } else { ok }))
            .collect();
        format!("{base}\n[{header}]\n{body}")
    };
    let tls = [
        ("key", "\"rsa2048\""),
        ("handshake", "\"det(0.8ms)\""),
        ("resumed", "\"det(50us)\""),
        ("resumption", "0.5"),
        ("requests_per_connection", "4"),
    ];
    let rate_limit = [
        ("period", "\"10s\""),
        ("limit", "100"),
        ("action", "\"tarpit\""),
        ("tarpit", "\"5s\""),
        ("conn_limit", "20"),
    ];
    let flood = [
        ("rate", "500"),
        ("sources", "10"),
        ("start", "\"5s\""),
        ("stop", "\"15s\""),
        ("like", "\"page\""),
    ];
    let flooded = section("workload.flood", &flood, "", "");
    let firewall = |key: &str, v: &str| {
        let keys = [
            ("action", "\"drop\""),
            ("block", "\"flood\""),
            ("sources", "5"),
            ("at", "\"8s\""),
        ];
        let body: String = keys
            .iter()
            .map(|&(k, ok)| format!("{k} = {}\n", if k == key { v } else { ok }))
            .collect();
        format!("{flooded}\n[firewall]\n{body}")
    };
    let security: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        ("lb.tls", "key", "enum", vec![]),
        ("lb.tls", "handshake", "dist", vec![]),
        ("lb.tls", "resumed", "dist", vec![]),
        ("lb.tls", "resumption", "positive", vec!["1.5", "-0.1"]),
        (
            "lb.tls",
            "requests_per_connection",
            "positive",
            vec!["0.5", "1e7"],
        ),
        (
            "lb.rate_limit",
            "period",
            "duration",
            vec!["\"0s\"", "\"100us\""],
        ),
        ("lb.rate_limit", "limit", "count0", vec![]),
        ("lb.rate_limit", "action", "enum", vec![]),
        ("lb.rate_limit", "tarpit", "duration", vec!["\"0s\""]),
        ("lb.rate_limit", "conn_limit", "count1", vec![]),
        ("workload.flood", "rate", "positive", vec![]),
        ("workload.flood", "sources", "count1", vec!["65537"]),
        ("workload.flood", "start", "duration", vec!["\"20s\""]),
        (
            "workload.flood",
            "stop",
            "duration",
            vec!["\"5s\"", "\"1s\""],
        ),
        ("workload.flood", "like", "name", vec!["\"nope\""]),
        ("firewall", "action", "enum", vec![]),
        ("firewall", "block", "enum", vec![]),
        ("firewall", "sources", "count1", vec!["11"]),
        ("firewall", "at", "duration", vec![]),
    ];
    for (header, key, kind, extra) in security {
        // A resumption share may be 0 and a limit may be 0: not bad values there.
        let bad = bad_values(kind)
            .into_iter()
            .filter(|v| !(key == "resumption" && *v == "0"));
        for v in bad.chain(extra) {
            let text = match header {
                "lb.tls" => section(header, &tls, key, v),
                "lb.rate_limit" => section(header, &rate_limit, key, v),
                "workload.flood" => section(header, &flood, key, v),
                _ => firewall(key, v),
            };
            cases.push(case(
                format!("{header}.{key} = {v}"),
                &text,
                &[],
                &[&format!("{header}.{key}")],
            ));
        }
    }
    for (name, text, at) in [
        (
            "lb.rate_limit without limit",
            format!("{base}\n[lb.rate_limit]\nperiod = \"1s\"\n"),
            "lb.rate_limit.limit",
        ),
        (
            "workload.flood without rate",
            format!("{base}\n[workload.flood]\nsources = 3\n"),
            "workload.flood.rate",
        ),
        (
            "firewall without action",
            format!("{flooded}\n[firewall]\nblock = \"all\"\n"),
            "firewall.action",
        ),
        (
            "firewall on a flood that is not there",
            format!("{base}\n[firewall]\naction = \"drop\"\n"),
            "firewall.block",
        ),
        (
            "lb.tls.ciphers",
            format!("{base}\n[lb.tls]\nciphers = 1\n"),
            "lb.tls.ciphers",
        ),
    ] {
        cases.push(case(name, &text, &[], &[at]));
    }
    // A flood of 1e9 requests per second: refused before running.
    cases.push(case(
        "cost workload.flood.rate = 1e9",
        &section("workload.flood", &flood, "rate", "1e9"),
        &[],
        &["duration", "requests"],
    ));
    // Load shapes: a profile replaces `rate` and `phases`, so its cases drop both lines.
    let unrated = base
        .replace("rate = 20\n", "")
        .replace("phases = [ { at = \"10s\", rate = 30 } ]\n", "");
    let profile = |body: &str| format!("{unrated}\n[workload.profile]\n{body}");
    let flash = |body: &str| format!("{base}\n[[workload.flash]]\n{body}");
    for (name, text, key) in [
        (
            "profile with rate",
            format!("{base}\n[workload.profile]\nshape = \"daily\"\npeak = 5\ntrough = 1\n"),
            "workload.rate",
        ),
        (
            "profile shape = weekly",
            profile("shape = \"weekly\"\n"),
            "workload.profile.shape",
        ),
        (
            "profile empty",
            profile("period = \"1h\"\n"),
            "workload.profile",
        ),
        (
            "profile peak = nan",
            profile("shape = \"daily\"\npeak = nan\ntrough = 1\n"),
            "workload.profile.peak",
        ),
        (
            "profile peak = 1e300",
            profile("shape = \"daily\"\npeak = 1e300\ntrough = 1\n"),
            "workload.profile.peak",
        ),
        (
            "profile trough > peak",
            profile("shape = \"daily\"\npeak = 1\ntrough = 5\n"),
            "workload.profile.trough",
        ),
        (
            "profile period = 1ns",
            profile("shape = \"daily\"\npeak = 5\ntrough = 1\nperiod = \"1ns\"\n"),
            "workload.profile.period",
        ),
        (
            "profile peak_at = -1s",
            profile("shape = \"daily\"\npeak = 5\ntrough = 1\npeak_at = \"-1s\"\n"),
            "workload.profile.peak_at",
        ),
        (
            "profile shape and csv",
            profile("shape = \"daily\"\ncsv = \"r.csv\"\n"),
            "workload.profile.csv",
        ),
        (
            "profile csv missing",
            profile("csv = \"missing.csv\"\n"),
            "workload.profile.csv",
        ),
        (
            "profile interval and period",
            profile("csv = \"r.csv\"\ninterval = \"1s\"\nperiod = \"1h\"\n"),
            "workload.profile.interval",
        ),
        (
            "flash without decay",
            flash("at = \"1s\"\nmultiple = 3\n"),
            "workload.flash[0].decay",
        ),
        (
            "flash multiple = 1e9",
            flash("at = \"1s\"\nmultiple = 1e9\ndecay = \"1s\"\n"),
            "workload.flash[0].multiple",
        ),
        (
            "flash multiple = -2",
            flash("at = \"1s\"\nmultiple = -2\ndecay = \"1s\"\n"),
            "workload.flash[0].multiple",
        ),
        (
            "flash decay = 0s",
            flash("at = \"1s\"\nmultiple = 2\ndecay = \"0s\"\n"),
            "workload.flash[0].decay",
        ),
        (
            "flash with deterministic arrivals",
            flash("at = \"1s\"\nmultiple = 2\ndecay = \"1s\"\n")
                .replace("\"poisson\"", "\"deterministic\""),
            "workload.arrival",
        ),
        (
            "phase ramp = cubic",
            base.replace("rate = 30 }", "rate = 30, ramp = \"cubic\" }"),
            "workload.phases[0].ramp",
        ),
        (
            "client_popularity = zipf(-1)",
            base.replace(
                "clients = 100\n",
                "clients = 100\nclient_popularity = \"zipf(-1)\"\n",
            ),
            "workload.client_popularity",
        ),
        (
            "client_popularity = zipf(1e9)",
            base.replace(
                "clients = 100\n",
                "clients = 100\nclient_popularity = \"zipf(1e9)\"\n",
            ),
            "workload.client_popularity",
        ),
        (
            "client_popularity = pareto",
            base.replace(
                "clients = 100\n",
                "clients = 100\nclient_popularity = \"pareto\"\n",
            ),
            "workload.client_popularity",
        ),
        (
            "nat_share = 1.5",
            base.replace("clients = 100\n", "clients = 100\nnat_share = 1.5\n"),
            "workload.nat_share",
        ),
    ] {
        let mut c = case(name, &text, &[], &[key]);
        c.files.push(("r.csv".into(), b"10\n20\n".to_vec()));
        cases.push(c);
    }
    let many: String = (0..101)
        .map(|i| format!("[[workload.flash]]\nat = \"{i}s\"\nmultiple = 2\ndecay = \"1s\"\n"))
        .collect();
    cases.push(case(
        "101 flash crowds",
        &format!("{base}\n{many}"),
        &[],
        &["workload.flash"],
    ));
    // A flash of 1000x on 20 million requests a second: the shape's bound counts it.
    cases.push(case(
        "cost flash multiple = 1000",
        &flash("at = \"0s\"\nmultiple = 1000\ndecay = \"1h\"\n"),
        &["--set", "workload.rate=1000000"],
        &["duration", "requests"],
    ));
    for (name, content, expect) in [
        ("not a number", "rate\n10\nlots\n", "r.csv line 3"),
        ("negative", "10\n-3\n", "r.csv line 2"),
        ("nan", "10\nnan\n", "r.csv line 2"),
        ("no rates", "rate\n", "no rates"),
        ("all zero", "0\n0\n", "every rate is 0"),
        ("two columns", "1,2\n", "r.csv line 1"),
    ] {
        let mut c = case(
            format!("profile csv {name}"),
            &profile("csv = \"r.csv\"\n"),
            &[],
            &["workload.profile.csv", expect],
        );
        c.files.push(("r.csv".into(), content.as_bytes().to_vec()));
        cases.push(c);
    }
    // Session persistence.
    for (name, line, key) in [
        (
            "lb.persistence = sticky",
            "persistence = \"sticky\"",
            "lb.persistence",
        ),
        ("lb.persistence = 3", "persistence = 3", "lb.persistence"),
        (
            "lb.persist = yes",
            "persistence = \"cookie\"\npersist = \"yes\"",
            "lb.persist",
        ),
        (
            "lb.persist without persistence",
            "persist = true",
            "lb.persist",
        ),
    ] {
        let text = base.replacen("[lb]\n", &format!("[lb]\n{line}\n"), 1);
        cases.push(case(name, &text, &[], &[key]));
    }
    for (name, special, expect) in [
        ("profile csv /dev/zero link", "zero", "not a regular file"),
        ("profile csv FIFO", "fifo", "not a regular file"),
        (
            "profile csv 100 MB sparse",
            "sparse:100000000",
            "larger than",
        ),
    ] {
        let mut c = case(
            name,
            &profile("csv = \"r.csv\"\n"),
            &[],
            &["workload.profile.csv", expect],
        );
        c.special.push(("r.csv".into(), special.into()));
        cases.push(c);
    }
    // Failing and repaired within a nanosecond (or a millisecond): a failure every 2 ns.
    for (mttf, mttr) in [("\"1ns\"", "1ns"), ("\"10ns\"", "1us")] {
        let text = render(Some(("[random_faults]", "mttf", mttf)));
        cases.push(case(
            format!("random_faults[0].mttf = {mttf}, mttr = {mttr}"),
            &text,
            &["--set", &format!("random_faults[0].mttr={mttr}")],
            &["random_faults[0].mttf", "faults"],
        ));
    }
    // Hourly failures of two servers for a year: 17,500 faults to log, report and draw.
    cases.push(case(
        "a year of hourly failures",
        &render(Some(("[random_faults]", "mttf", "\"1h\""))),
        &[
            "--set",
            "duration=365d",
            "--set",
            "workload.rate=0.0001",
            "--set",
            "random_faults[0].mttr=1min",
            "--set",
            "timeline.interval=1h",
        ],
        &["random_faults[0].mttf", "faults", "10000"],
    ));
    // The same bombs through --set.
    for (set, key) in [
        ("health.inter=1ns", "health.inter"),
        ("random_faults[0].ttf=exp(1ns)", "random_faults[0].ttf"),
        ("duration=584y", "duration"),
        ("workload.clients=4000000000", "workload.clients"),
        ("servers.count=100000", "servers.count"),
        ("database.replicas=5000", "database.replicas"),
        ("servers[7].weight=2", "servers[7]"),
        ("timeline.interval=1ns", "timeline.interval"),
        ("name=..", "name"),
        ("name=.", "name"),
        (
            "workload.mix[0].app=weibull(shape=1e-3, mean=1ms)",
            "workload.mix[0].app",
        ),
        ("lb.bogus=1", "lb.bogus"),
        ("workload.rte=3", "workload.rte"),
        ("faults.count=20000", "faults"),
    ] {
        cases.push(case(format!("--set {set}"), &base, &["--set", set], &[key]));
    }
    // Unknown and misplaced keys.
    for (table, key, path) in [
        ("", "durration", "durration"),
        ("workload", "rte", "workload.rte"),
        ("lb", "algoritm", "lb.algoritm"),
        ("[servers]", "wieght", "servers[0].wieght"),
        ("database.primary", "cpu", "database.primary.cpu"),
        ("health", "interval", "health.interval"),
        ("[faults]", "when", "faults[0].when"),
        ("timeline", "step", "timeline.step"),
    ] {
        let text = render(Some((table, key, "1")));
        cases.push(case(format!("unknown {path}"), &text, &[], &[path]));
    }
    // Counts of things.
    let phases: Vec<String> = (1..=10_001)
        .map(|i| format!("{{ at = \"{i}ms\", rate = 5 }}"))
        .collect();
    cases.push(case(
        "10001 phases",
        &render(Some((
            "workload",
            "phases",
            &format!("[{}]", phases.join(", ")),
        ))),
        &[],
        &["workload.phases", "10000"],
    ));
    let mut many_faults = base.clone();
    for i in 0..10_001 {
        many_faults.push_str(&format!(
            "\n[[faults]]\ntarget = \"web-02\"\nat = \"{}ms\"\n",
            i + 1
        ));
    }
    cases.push(case(
        "10001 faults",
        &many_faults,
        &[],
        &["faults", "10000"],
    ));
    // [[hosts]] and host = (issue 12): unknown, duplicate, empty, out of range, too many.
    let on_h1 = render(Some(("[servers]", "host", "\"h1\"")));
    let hosts_cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "server on an undeclared host",
            render(Some(("[servers]", "host", "\"nowhere\""))),
            vec!["servers[0].host", "unknown host"],
        ),
        (
            "primary on a misspelt host",
            format!(
                "{}\n[[hosts]]\nname = \"h1\"\n",
                render(Some(("database.primary", "host", "\"h2\"")))
            ),
            vec!["database.primary.host", "did you mean \"h1\""],
        ),
        (
            "two hosts of one name",
            format!("{on_h1}\n[[hosts]]\nname = \"h1\"\n[[hosts]]\nname = \"h1\"\n"),
            vec!["hosts[1].name", "already"],
        ),
        (
            "a host carrying nothing",
            format!("{on_h1}\n[[hosts]]\nname = \"h1\"\n[[hosts]]\nname = \"idle\"\n"),
            vec!["hosts[1].name", "carries nothing"],
        ),
        (
            "a host of 0 cores",
            format!("{on_h1}\n[[hosts]]\nname = \"h1\"\ncores = 0\n"),
            vec!["hosts[0].cores"],
        ),
        (
            "a host named with a colon",
            format!("{on_h1}\n[[hosts]]\nname = \"h:1\"\n"),
            vec!["hosts[0].name"],
        ),
        (
            "a host without a name",
            format!("{on_h1}\n[[hosts]]\nrack = \"r1\"\n"),
            vec!["hosts[0].name", "required"],
        ),
        (
            "an unknown key in [[hosts]]",
            format!("{on_h1}\n[[hosts]]\nname = \"h1\"\nracks = \"r1\"\n"),
            vec!["hosts[0]", "racks"],
        ),
        (
            "host faults without hosts",
            render(Some(("[random_faults]", "component", "\"host\""))),
            vec!["random_faults[0].component", "[[hosts]]"],
        ),
        (
            "rack faults without racks",
            format!(
                "{}\n[[hosts]]\nname = \"h1\"\n",
                render(Some(("[random_faults]", "component", "\"rack\""))).replacen(
                    "name = \"web-02\"",
                    "name = \"web-02\"\nhost = \"h1\"",
                    1
                )
            ),
            vec!["random_faults[0].component", "rack"],
        ),
        (
            "a fault on an unknown host",
            format!(
                "{on_h1}\n[[hosts]]\nname = \"h1\"\n[[faults]]\ntarget = \"host:h9\"\nat = \"1s\"\n"
            ),
            vec!["target", "host:h9", "did you mean \"host:h1\""],
        ),
        (
            "10001 hosts",
            format!(
                "{on_h1}{}",
                (0..10_001)
                    .map(|i| format!("\n[[hosts]]\nname = \"h{i}\"\n"))
                    .collect::<String>()
            ),
            vec!["hosts", "10000"],
        ),
    ];
    for (name, text, expect) in hosts_cases {
        cases.push(case(name, &text, &[], &expect));
    }
    cases.push(case(
        "10001 servers",
        &base,
        &["--set", "servers=10001"],
        &["servers", "10000"],
    ));
    cases.push(case(
        "1024 servers over 11 days at 1s",
        &render(Some(("timeline", "interval", "\"1s\""))),
        &[
            "--set",
            "servers.count=1024",
            "--set",
            "duration=11d",
            "--set",
            "workload.rate=0.01",
            "--set",
            "health.enabled=false",
            "--set",
            "random_faults.count=0",
        ],
        &["timeline.interval", "cells"],
    ));

    // ---- the file itself ----------------------------------------------------------------------
    let file_case = |name: &str, bytes: Vec<u8>, expect: &[&str]| Case {
        name: name.into(),
        files: vec![("s.toml".into(), bytes)],
        special: vec![],
        args: vec!["s.toml".into()],
        expect: std::iter::once("s.toml")
            .chain(expect.iter().copied())
            .map(String::from)
            .collect(),
    };
    cases.push(file_case(
        "not UTF-8",
        b"name = \"\xff\xfe\"\n".to_vec(),
        &["UTF-8", "line 1"],
    ));
    cases.push(file_case(
        "binary junk",
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
        &[],
    ));
    cases.push(file_case("empty", vec![], &["duration"]));
    cases.push(file_case(
        "comments only",
        b"# nothing\n# here\n".to_vec(),
        &["duration"],
    ));
    cases.push(file_case(
        "300001 values",
        format!(
            "duration = \"5s\"\nx = [{}]\n",
            vec!["1"; 300_001].join(",")
        )
        .into_bytes(),
        &["x", "line 2", "300000"],
    ));
    cases.push(file_case(
        "300001 empty tables",
        format!(
            "duration = \"5s\"\nx = [{}]\n",
            vec!["{}"; 300_001].join(",")
        )
        .into_bytes(),
        &["x", "300000"],
    ));
    cases.push(file_case(
        "deep nesting",
        format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        &["x", "nested"],
    ));
    cases.push(file_case(
        "a 5000-byte string",
        format!("name = \"{}\"\n", "n".repeat(5000)).into_bytes(),
        &["name", "4096"],
    ));
    cases.push(file_case(
        "a 1 MB name",
        format!("name = \"{}\"\nduration = \"5s\"\n", "n".repeat(1 << 20)).into_bytes(),
        &["name", "line 1"],
    ));
    cases.push(file_case(
        "a 5000-byte key",
        format!("{} = 1\n", "k".repeat(5000)).into_bytes(),
        &["4096"],
    ));
    for (name, text, line) in [
        (
            "unclosed string",
            "name = \"abc\nduration = \"5s\"\n",
            "line 1",
        ),
        (
            "unclosed header",
            "duration = \"5s\"\n[workload\nrate = 3\n",
            "line 2",
        ),
        (
            "duplicate key",
            "duration = \"5s\"\nduration = \"6s\"\n",
            "line 2",
        ),
        ("missing value", "duration =\n", "line 1"),
        ("missing key", "= 5\n", "line 1"),
        ("bad escape", "name = \"a\\qb\"\n", "line 1"),
        (
            "integer overflow",
            "seed = 99999999999999999999\n",
            "line 1",
        ),
        (
            "bad float",
            "duration = \"5s\"\n[workload]\nrate = 1.\n",
            "line 3",
        ),
        (
            "duplicate table",
            "[lb]\nthreads = 1\n[lb]\nthreads = 2\n",
            "line 3",
        ),
        ("table and value", "lb = 1\n[lb]\nthreads = 2\n", "line 2"),
        (
            "datetime duration",
            "duration = 1979-05-27T07:32:00Z\n",
            "duration",
        ),
        (
            "array of mixed junk",
            "servers = [1, \"a\", {}]\nduration = \"5s\"\n",
            "servers",
        ),
        (
            "servers as a string",
            "servers = \"three\"\nduration = \"5s\"\n",
            "servers",
        ),
        (
            "replicas negative",
            "duration = \"5s\"\n[workload]\nrate = 3\n[database]\nreplicas = -4\n",
            "database.replicas",
        ),
        (
            "workload as a number",
            "duration = \"5s\"\nworkload = 5\n",
            "workload",
        ),
        (
            "faults as a table",
            "duration = \"5s\"\n[workload]\nrate = 3\n[faults]\nat = \"1s\"\n",
            "faults",
        ),
        (
            "sweep unknown key",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nreplications = 2\nbogus = 1\n",
            "sweep.bogus",
        ),
        (
            "sweep replications 0",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nreplications = 0\n",
            "sweep.replications",
        ),
        (
            "sweep parameter not a list",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = 5 }\n",
            "sweep.parameters",
        ),
        (
            "sweep parameter unknown key",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rte\" = [1, 2] }\n",
            "sweep.parameters.\"workload.rte\" (line 5)",
        ),
        (
            "sweep labels for an unswept parameter",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, 2] }\nlabels = { \"lb.algorithm\" = [\"a\"] }\n",
            "sweep.labels.\"lb.algorithm\"",
        ),
        (
            "sweep labels one short",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, 2] }\nlabels = { \"workload.rate\" = [\"slow\"] }\n",
            "sweep.labels.\"workload.rate\"",
        ),
        (
            "sweep label too long",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, 2] }\nlabels = { \"workload.rate\" = [\"slow\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"] }\n",
            "sweep.labels.\"workload.rate\"[1]",
        ),
        (
            "sweep parameter bad value",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, -2] }\n",
            "sweep.parameters.\"workload.rate\" (line 5)",
        ),
        (
            "sweep parameter with a trailing space",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, 2], \"workload.rate \" = [3] }\n",
            "sweep.parameters.\"workload.rate \" (line 5)",
        ),
        (
            "sweep parameter inside another",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"workload.rate\" = [1, 2], \"workload\" = [{rate=3}] }\n",
            "sweep.parameters.\"workload\" (line 5): holds `workload.rate`",
        ),
        (
            "sweep parameter sweep.replications",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"sweep.replications\" = [1, 2] }\n",
            "sweep.parameters.\"sweep.replications\" (line 5)",
        ),
        (
            "sweep parameter montecarlo.runs",
            "duration = \"5s\"\n[workload]\nrate = 3\n[sweep]\nparameters = { \"montecarlo.runs\" = [1, 2] }\n",
            "sweep.parameters.\"montecarlo.runs\" (line 5)",
        ),
        (
            "montecarlo runs 0",
            "duration = \"5s\"\n[workload]\nrate = 3\n[montecarlo]\nruns = 0\n",
            "montecarlo.runs",
        ),
        (
            "montecarlo horizon",
            "duration = \"5s\"\n[workload]\nrate = 3\n[montecarlo]\nhorizon = 5\n",
            "montecarlo.horizon",
        ),
        (
            "montecarlo unknown",
            "duration = \"5s\"\n[workload]\nrate = 3\n[montecarlo]\nrun = 5\n",
            "montecarlo.run",
        ),
    ] {
        cases.push(file_case(name, text.as_bytes().to_vec(), &[line]));
    }
    for (name, special, expect) in [
        ("a link to /dev/zero", "zero", "device"),
        ("a FIFO", "fifo", "FIFO"),
        ("a folder", "dir", "folder"),
        ("a sparse 5 MB file", "sparse:5000000", "4 MiB"),
    ] {
        cases.push(Case {
            name: name.into(),
            files: vec![],
            special: vec![("s.toml".into(), special.into())],
            args: vec!["s.toml".into()],
            expect: vec!["s.toml".into(), expect.into()],
        });
    }
    cases.push(Case {
        name: "no such file".into(),
        files: vec![],
        special: vec![],
        args: vec!["s.toml".into()],
        expect: vec!["s.toml".into(), "No such file".into()],
    });

    // ---- empirical CSVs -----------------------------------------------------------------------
    let emp = |csv: &str| {
        render(Some((
            "[workload.mix]",
            "app",
            &format!("\"empirical({csv}, unit=ms)\""),
        )))
    };
    for (name, content, expect) in [
        ("letters", "10\nabc\n", "line 2"),
        ("negative", "10\n-3\n", "-3"),
        ("no samples", "header\n", "no samples"),
        ("two columns", "1,2\n", "lat.csv"),
        ("a unit per line gone wrong", "5 parsecs\n", "lat.csv"),
    ] {
        let mut c = case(
            format!("empirical {name}"),
            &emp("lat.csv"),
            &[],
            &["workload.mix[0].app", expect],
        );
        c.files
            .push(("lat.csv".into(), content.as_bytes().to_vec()));
        cases.push(c);
    }
    for (name, special, expect) in [
        ("empirical /dev/zero link", "zero", "not a regular file"),
        ("empirical FIFO", "fifo", "not a regular file"),
        ("empirical folder", "dir", "not a regular file"),
        ("empirical 300 MB sparse", "sparse:300000000", "larger than"),
    ] {
        let mut c = case(name, &emp("lat.csv"), &[], &["workload.mix[0].app", expect]);
        c.special.push(("lat.csv".into(), special.into()));
        cases.push(c);
    }

    // ---- studies too big to hold or to finish -------------------------------------------------
    for (name, extra, expect) in [
        (
            "a million replications of 1024 servers",
            vec![
                "--set",
                "servers.count=1024",
                "--set",
                "random_faults.count=0",
                "--set",
                "faults.count=0",
                "--set",
                "duration=1s",
                "--set",
                "warmup=0s",
                "--replications",
                "1000000",
            ],
            "figures",
        ),
        (
            "2 million replications",
            vec!["--replications", "2000000"],
            "--replications",
        ),
        (
            "5 million Monte Carlo runs",
            vec!["--montecarlo", "--runs", "5000000"],
            "--runs",
        ),
        (
            "a Monte Carlo study failing every second",
            vec![
                "--montecarlo",
                "--set",
                "random_faults[0].mttf=1s",
                "--set",
                "random_faults[0].mttr=1s",
            ],
            "random_faults[0].mttf",
        ),
        (
            "a Monte Carlo study of a thousand years",
            vec![
                "--montecarlo",
                "--set",
                "random_faults[0].mttf=1h",
                "--set",
                "random_faults[0].mttr=1min",
                "--runs",
                "100000",
            ],
            "events",
        ),
        (
            // Each degraded state is a request-level run of an hour and a quarter at 50,000
            // requests/s: 10^10 events before the first run of the study.
            "a Monte Carlo study whose state runs are hours of requests",
            vec![
                "--montecarlo",
                "--runs",
                "10",
                "--set",
                "workload.rate=50000",
                "--set",
                "montecarlo.state_run=1h",
            ],
            "montecarlo.state_run",
        ),
        (
            "a Monte Carlo study without random faults",
            vec!["--montecarlo", "--set", "random_faults.count=0"],
            "random_faults",
        ),
    ] {
        cases.push(case(name, &base, &extra, &[expect]));
    }
    let points: Vec<String> = (1..=100_001).map(|i| i.to_string()).collect();
    cases.push(case(
        "100001 sweep points",
        &format!(
            "{base}\n[sweep]\nparameters = {{ \"workload.clients\" = [{}] }}\n",
            points.join(",")
        ),
        &[],
        &["100001 points"],
    ));
    {
        let mut c = case(
            "a sweep holding a million samples per point",
            &emp("big.csv"),
            &[
                "--sweep",
                &format!(
                    "workload.rate={}",
                    (1..=200)
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ],
            &["empirical", "samples"],
        );
        let big: String = (0..1_000_000)
            .map(|i| format!("{}\n", i % 97 + 1))
            .collect();
        c.files.push(("big.csv".into(), big.into_bytes()));
        cases.push(c);
    }

    // ---- command-line arguments ---------------------------------------------------------------
    for (extra, expect) in [
        (vec!["--threads", "0"], "--threads"),
        (vec!["--threads", "100000"], "--threads"),
        (vec!["--threads", "many"], "--threads"),
        (vec!["--threads", "-1"], "--threads"),
        (vec!["--seed", "-1"], "--seed"),
        (vec!["--seed", "18446744073709551615"], "--seed"),
        (vec!["--seed", "9223372036854775808"], "--seed"),
        (vec!["--seed", "x"], "--seed"),
        (vec!["--runs", "0", "--montecarlo"], "--runs"),
        (vec!["--runs", "-3"], "--runs"),
        (vec!["--replications", "0"], "--replications"),
        (vec!["--replications", "x"], "--replications"),
        (vec!["--shard", "0/4", "--replications", "2"], "0/4"),
        (vec!["--shard", "5/4", "--replications", "2"], "5/4"),
        (vec!["--shard", "1/0", "--replications", "2"], "1/0"),
        (vec!["--shard", "half", "--replications", "2"], "half"),
        (vec!["--shard", "1/2"], "--shard"),
        (vec!["--sweep", "novalues"], "--sweep"),
        (vec!["--sweep", "=1,2"], "--sweep"),
        // One value swept twice: the points ran the last one and sweep.csv said otherwise.
        (
            vec!["--sweep", "workload.rate=1,2", "--sweep", "workload.rate=3"],
            "--sweep workload.rate=3",
        ),
        (
            vec![
                "--sweep",
                "workload.rate=1,2",
                "--sweep",
                "workload={rate = 3}",
            ],
            "--sweep workload=",
        ),
        (
            vec!["--sweep", "sweep.replications=1,2"],
            "sweep.replications",
        ),
        (vec!["--sweep", "montecarlo.runs=1,2"], "montecarlo.runs"),
        (vec!["--sweep", "workload.rate=1,,2"], "--sweep"),
        (vec!["--set", "noequals"], "--set noequals"),
        (vec!["--set", "a..b=1"], "a..b"),
        (vec!["--set", "servers[99].weight=2"], "servers[99]"),
        (vec!["--set", "workload.rate.x=1"], "workload.rate"),
        (vec!["--assert", "p99 fast"], "--assert"),
        (vec!["--assert", "bogus <= 1"], "bogus"),
        (vec!["--assert", "p99 <= soon"], "soon"),
        (vec!["--assert", ">= 3"], "--assert"),
        (vec!["--json", "--replications", "2"], "--json"),
        (vec!["--resume"], "--resume"),
        (vec!["--runs", "5"], "--runs"),
        (vec!["--threads", "2"], "--threads"),
        (
            vec!["--montecarlo", "--replications", "3"],
            "--replications",
        ),
        (
            vec!["--montecarlo", "--sweep", "workload.rate=1,2"],
            "--sweep",
        ),
        (vec!["--output", "some"], "--output"),
        (vec!["--output", "none", "--out", "x"], "--out"),
        (
            vec!["--output", "none", "--replications", "2", "--resume"],
            "--resume",
        ),
        (vec!["--out", "s.toml"], "is a file"),
        (vec!["--out", "."], "\".\""),
        (vec!["--out", ".."], "\"..\""),
        (vec!["--out", "/"], "\"/\""),
        (vec!["--junit", "s.toml"], "--junit"),
        (vec!["--junit", "."], "--junit"),
        (vec!["--bogus-flag"], "--bogus-flag"),
    ] {
        cases.push(Case {
            expect: vec![expect.to_string()],
            ..case(format!("args {}", extra.join(" ")), &base, &extra, &[])
        });
    }
    cases.push(case(
        "--sweep of a key the file's [sweep] sweeps",
        &format!("{base}\n[sweep]\nparameters = {{ \"workload.rate\" = [1, 2] }}\n"),
        &["--sweep", "workload.rate=3"],
        &[
            "sweep.parameters.\"workload.rate\" (line",
            "--sweep workload.rate=3",
        ],
    ));
    {
        let mut c = case(
            "--out onto a folder of the user's",
            &base,
            &["--out", "proj"],
            &["proj", "did not write"],
        );
        c.files.push(("proj/precious.txt".into(), b"mine".to_vec()));
        c.expect = vec!["proj".into(), "did not write".into(), "precious.txt".into()];
        cases.push(c);
    }
    {
        let mut c = case(
            "--out whose journal name is the user's",
            &base,
            &["--replications", "2", "--out", "r"],
            &[],
        );
        c.files
            .push(("r.partial/notes.txt".into(), b"mine".to_vec()));
        c.expect = vec!["r.partial".into(), "not written by simulate".into()];
        cases.push(c);
    }
    {
        let mut c = case(
            "--resume without a journal",
            &base,
            &["--replications", "2", "--resume", "--out", "r"],
            &[],
        );
        c.expect = vec!["--resume".into(), "nothing to resume".into()];
        cases.push(c);
    }
    {
        let mut c = case(
            "--junit onto a file of the user's",
            &base,
            &["--junit", "report.xml"],
            &[],
        );
        c.files.push((
            "report.xml".into(),
            b"<?xml version=\"1.0\"?><mine/>".to_vec(),
        ));
        c.expect = vec!["report.xml".into(), "--junit".into()];
        cases.push(c);
    }
    cases.push(Case {
        name: "no scenario".into(),
        files: vec![],
        special: vec![],
        args: vec![],
        expect: vec!["SCENARIO".into()],
    });

    // ---- replay, merge, ladder ----------------------------------------------------------------
    let sub = |name: &str,
               args: &[&str],
               files: Vec<(&str, &[u8])>,
               special: Vec<(&str, &str)>,
               expect: &[&str]| Case {
        name: name.into(),
        files: files
            .into_iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect(),
        special: special
            .into_iter()
            .map(|(p, k)| (p.to_string(), k.to_string()))
            .collect(),
        args: args.iter().map(|s| s.to_string()).collect(),
        expect: expect.iter().map(|s| s.to_string()).collect(),
    };
    let without_random_faults = {
        let start = base.find("\n[[random_faults]]").unwrap();
        let end = base.find("\n[timeline]").unwrap();
        format!("{}{}", &base[..start], &base[end..])
    };
    let study_json = |name: &str, kind: &str, runs: &str, params: &str| {
        STUDY
            .replace("NAME", name)
            .replace("KIND", kind)
            .replace("RUNS", runs)
            .replace("PARAMS", params)
    };
    let huge_params = format!(
        "[{}]",
        (0..20)
            .map(|i| format!(
                "[\"p{i}\", [\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]]"
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    let summary_missing = br#"{"tool":"infrasim 0.1.0","scenario_file":"gone.toml","scenario_hash":"0000000000000000","overrides":[],"scenario":"gone","run":0}"#;
    for c in [
        sub("replay a scenario file", &["replay", "s.toml"], vec![("s.toml", base.as_bytes())], vec![], &["s.toml", "summary.json"]),
        sub("replay /dev/zero", &["replay", "z.json"], vec![], vec![("z.json", "zero")], &["z.json", "device"]),
        sub("replay a FIFO", &["replay", "f.json"], vec![], vec![("f.json", "fifo")], &["f.json", "FIFO"]),
        sub("replay a folder", &["replay", "d"], vec![], vec![("d", "dir")], &["d", "folder"]),
        sub("replay a sparse 100 MB file", &["replay", "big.json"], vec![], vec![("big.json", "sparse:100000000")], &["big.json", "larger than"]),
        sub("replay garbage", &["replay", "g.json"], vec![("g.json", b"{not json")], vec![], &["g.json", "not a summary.json"]),
        sub("replay a JSON without provenance", &["replay", "g.json"], vec![("g.json", b"{\"a\": 1}")], vec![], &["g.json", "not a summary.json"]),
        sub("replay a summary whose scenario is gone", &["replay", "g.json"], vec![("g.json", summary_missing)], vec![], &["gone.toml", "not found"]),
        sub("merge nothing", &["merge"], vec![], vec![], &["DIRS"]),
        sub("merge a missing folder", &["merge", "nope"], vec![], vec![], &["nope/study.json"]),
        sub("merge garbage study.json", &["merge", "a"], vec![("a/study.json", b"]]"), ("a/runs.csv", b"")], vec![], &["a/study.json"]),
        sub("merge a study.json link to /dev/zero", &["merge", "a"], vec![], vec![("a", "dir"), ("a/study.json", "zero")], &["a/study.json", "device"]),
        sub("merge a FIFO runs.csv", &["merge", "a"], vec![("a/study.json", br#"{"tool":"x","name":"n","scenario_file":"s.toml","scenario_hash":"0","overrides":[],"kind":"sweep","seed":1,"runs":1,"horizon_s":null,"parameters":[],"components":[],"spofs":[],"shard":"1/2"}"#)], vec![("a/runs.csv", "fifo")], &["a/runs.csv", "FIFO"]),
        sub("merge a study named ../../x", &["merge", "a"], vec![("a/study.json", study_json("../../x", "sweep", "1", "[]").as_bytes()), ("a/runs.csv", b"point,rep\n")], vec![], &["a/study.json", "name"]),
        sub("merge a study of 0 runs", &["merge", "a"], vec![("a/study.json", study_json("n", "sweep", "0", "[]").as_bytes()), ("a/runs.csv", b"point,rep\n")], vec![], &["a/study.json", "runs"]),
        sub("merge a study of an unknown kind", &["merge", "a"], vec![("a/study.json", study_json("n", "grid", "1", "[]").as_bytes()), ("a/runs.csv", b"point,rep\n")], vec![], &["a/study.json", "kind"]),
        sub("merge a study of 10^20 points", &["merge", "a"], vec![("a/study.json", study_json("n", "sweep", "1", &huge_params).as_bytes()), ("a/runs.csv", b"point,rep\n")], vec![], &["a/study.json", "parameters"]),
        sub("merge a runs.csv with a point outside the study", &["merge", "a"], vec![("a/study.json", study_json("n", "sweep", "1", "[]").as_bytes()), ("a/runs.csv", b"point,rep,x\n999999,0,1\n")], vec![], &["runs.csv", "999999"]),
        sub("merge a Monte Carlo runs.csv with a run outside the study", &["merge", "a"], vec![("a/study.json", study_json("n", "montecarlo", "1", "[]").replace("\"horizon_s\":null", "\"horizon_s\":86400").as_bytes()), ("a/runs.csv", b"rep,availability,slo_availability,time_availability,downtime_s,overload_s,failed_requests,failures,outages\n5,1,1,1,0,0,0,0,\n")], vec![], &["runs.csv", "run 5"]),
        sub("replay a summary naming ../../x", &["replay", "g.json"], vec![("g.json", br#"{"tool":"infrasim 0.1.0","scenario_file":"s.toml","scenario_hash":"0","overrides":[],"scenario":"../../x","run":0}"#)], vec![], &["g.json", "scenario"]),
        sub("merge --assert bad", &["merge", "--assert", "p99 fast", "a"], vec![], vec![], &["--assert"]),
        sub("ladder without random faults", &["ladder", "s.toml"], vec![("s.toml", without_random_faults.as_bytes())], vec![], &["s.toml", "random_faults"]),
        sub("ladder of a FIFO", &["ladder", "f.toml"], vec![], vec![("f.toml", "fifo")], &["f.toml", "FIFO"]),
        sub("ladder --threads 0", &["ladder", "--threads", "0", "s.toml"], vec![("s.toml", base.as_bytes())], vec![], &["--threads"]),
        sub("ladder --runs 0", &["ladder", "--runs", "0", "s.toml"], vec![("s.toml", base.as_bytes())], vec![], &["--runs"]),
        sub("ladder of 101 steps", &{
            let mut a = vec!["ladder"];
            a.extend(std::iter::repeat_n("s.toml", 101));
            a
        }, vec![("s.toml", base.as_bytes())], vec![], &["101", "100"]),
        // ---- import and fit (issue 16) ----------------------------------------------------------
        sub("import a FIFO", &["import", "h.cfg"], vec![], vec![("h.cfg", "fifo")], &["h.cfg", "FIFO"]),
        sub("import /dev/zero", &["import", "h.cfg"], vec![], vec![("h.cfg", "zero")], &["h.cfg", "device"]),
        sub("import a folder", &["import", "h.cfg"], vec![], vec![("h.cfg", "dir")], &["h.cfg", "folder"]),
        sub("import a sparse 100 MB config", &["import", "h.cfg"], vec![], vec![("h.cfg", "sparse:100000000")], &["h.cfg", "larger than"]),
        sub("import a missing file", &["import", "nope.cfg"], vec![], vec![], &["nope.cfg"]),
        sub("import a config that is not UTF-8", &["import", "h.cfg"], vec![("h.cfg", b"global\n  maxconn 1\n\xff\xfe\n")], vec![], &["h.cfg line 3", "UTF-8"]),
        sub("import a 100 KB line", &["import", "h.cfg"], vec![("h.cfg", format!("backend b\n  server s 1.2.3.4:80 {}\n", "x".repeat(100_000)).as_bytes())], vec![], &["h.cfg line 2", "bytes long"]),
        sub("import an unclosed quote", &["import", "h.cfg"], vec![("h.cfg", b"backend b\n  http-request set-header X \"abc\n  server s 1.2.3.4:80\n")], vec![], &["h.cfg line 2", "quote"]),
        sub("import `from` a missing defaults", &["import", "h.cfg"], vec![("h.cfg", b"backend b from nope\n  server s 1.2.3.4:80\n")], vec![], &["h.cfg line 1", "nope"]),
        sub("import without servers", &["import", "h.cfg"], vec![("h.cfg", b"global\n  maxconn 10\nfrontend f\n  bind :80\n")], vec![], &["h.cfg", "server"]),
        sub("import a bad weight", &["import", "h.cfg"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80 weight heavy\n")], vec![], &["h.cfg line 2", "weight"]),
        sub("import a bad inter", &["import", "h.cfg"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80 check inter 2sec\n")], vec![], &["h.cfg line 2", "inter"]),
        sub("import retries 1000", &["import", "h.cfg"], vec![("h.cfg", b"backend b\n  retries 1000\n  server s 1.2.3.4:80\n")], vec![], &["h.cfg line 2", "retries"]),
        sub("import only backups", &["import", "h.cfg"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80 backup\n")], vec![], &["h.cfg line 2", "backup"]),
        sub("import 10001 servers", &["import", "h.cfg"], vec![("h.cfg", {
            let mut t = String::from("backend b\n");
            for i in 0..10_001 { t.push_str(&format!("  server s{i} 10.0.0.1:80\n")); }
            t
        }.as_bytes())], vec![], &["h.cfg line 10002", "10000 servers"]),
        sub("import 10001 sections", &["import", "h.cfg"], vec![("h.cfg", "backend b\n".repeat(10_001).as_bytes())], vec![], &["h.cfg line 10001", "sections"]),
        sub("import --backend nope", &["import", "h.cfg", "--backend", "nope"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n")], vec![], &["h.cfg", "nope"]),
        sub("import -o onto the user's scenario", &["import", "h.cfg", "-o", "s.toml"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("s.toml", base.as_bytes())], vec![], &["s.toml", "left alone"]),
        sub("import -o onto a folder", &["import", "h.cfg", "-o", "d"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n")], vec![("d", "dir")], &["-o", "d"]),
        sub("import an unclosed nginx block", &["import", "h.cfg", "--nginx", "n.conf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("n.conf", b"http {\n  server {\n    listen 80;\n")], vec![], &["n.conf line 2", "not closed"]),
        sub("import nginx nested 100 deep", &["import", "h.cfg", "--nginx", "n.conf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("n.conf", format!("{}{}", "a {\n".repeat(100), "}\n".repeat(100)).as_bytes())], vec![], &["n.conf line 33", "nested"]),
        sub("import nginx statement without `;`", &["import", "h.cfg", "--nginx", "n.conf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("n.conf", b"worker_processes 2\n")], vec![], &["n.conf line 1", ";"]),
        sub("import keepalived with a stray }", &["import", "h.cfg", "--keepalived", "k.conf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("k.conf", b"vrrp_instance V {\n}\n}\n")], vec![], &["k.conf line 3", "closes no block"]),
        sub("import a my.cnf FIFO", &["import", "h.cfg", "--mysql", "m.cnf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n")], vec![("m.cnf", "fifo")], &["m.cnf", "FIFO"]),
        sub("import a my.cnf with an unclosed group", &["import", "h.cfg", "--mysql", "m.cnf"], vec![("h.cfg", b"backend b\n  server s 1.2.3.4:80\n"), ("m.cnf", b"[mysqld\nmax_connections=5\n")], vec![], &["m.cnf line 1", "]"]),
        sub("fit garbage", &["fit", "a.log", "-o", "f.toml"], vec![("a.log", b"GET / HTTP/1.1\nHost: x\n\n")], vec![], &["a.log line 1", "httplog"]),
        sub("fit an empty log", &["fit", "a.log", "-o", "f.toml"], vec![("a.log", b"\n\n")], vec![], &["a.log", "no request"]),
        sub("fit JSON as httplog", &["fit", "a.log", "-o", "f.toml"], vec![("a.log", b"{\"ts\":1,\"server\":\"s\",\"Tw\":0,\"Tc\":0,\"Tr\":1,\"Ta\":1,\"status\":200}\n")], vec![], &["a.log line 1", "--format"]),
        sub("fit a FIFO", &["fit", "a.log", "-o", "f.toml"], vec![], vec![("a.log", "fifo")], &["a.log", "FIFO"]),
        sub("fit /dev/zero", &["fit", "a.log", "-o", "f.toml"], vec![], vec![("a.log", "zero")], &["a.log", "device"]),
        sub("fit without -o", &["fit", "a.log"], vec![("a.log", b"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n")], vec![], &["-o"]),
        sub("fit -o onto the user's scenario", &["fit", "a.log", "-o", "s.toml"], vec![("a.log", b"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n"), ("s.toml", base.as_bytes())], vec![], &["s.toml", "left alone"]),
        sub("fit a log with an unreadable config", &["fit", "a.log", "--config", "h.cfg", "-o", "f.toml"], vec![("a.log", b"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/5/5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n"), ("h.cfg", b"backend b\n  server s 1.2.3.4:80 maxconn lots\n")], vec![], &["h.cfg line 2", "maxconn"]),
    ] {
        cases.push(c);
    }
    cases
}

/// Everything under `dir`, with file sizes: the sandbox before and after a run.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if meta.is_dir() {
                stack.push(p);
                out.push((format!("{rel}/"), 0));
            } else {
                out.push((rel, meta.len()));
            }
        }
    }
    out.sort();
    out
}

fn prepare(c: &Case, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (p, kind) in &c.special {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        match kind.as_str() {
            "fifo" => {
                let ok = Command::new("mkfifo").arg(&path).status().unwrap();
                assert!(ok.success(), "mkfifo");
            }
            "zero" => std::os::unix::fs::symlink("/dev/zero", &path).unwrap(),
            "dir" => fs::create_dir_all(&path).unwrap(),
            k => {
                let n: u64 = k.strip_prefix("sparse:").unwrap().parse().unwrap();
                fs::File::create(&path).unwrap().set_len(n).unwrap();
            }
        }
    }
    for (p, bytes) in &c.files {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}

/// Runs one case; returns what went wrong, if anything, and how long it took.
fn check(c: &Case, dir: &Path) -> (Option<String>, Duration) {
    prepare(c, dir);
    let before = listing(dir);
    // `sh` sets the limit and execs the binary: the child is `simulate` itself.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB}; exec \"$@\""))
        .arg("sh")
        .arg(BIN)
        .args(&c.args)
        .current_dir(dir)
        .stdin(Stdio::null());
    let (status, took, err) = match cpu::try_run(&mut cmd, HANG) {
        Some(t) => (
            Some(t.output.status),
            t.cpu,
            String::from_utf8_lossy(&t.output.stderr).into_owned(),
        ),
        None => (None, HANG, String::new()),
    };
    let after = listing(dir);
    let shown = format!(
        "`simulate {}`",
        c.args.join(" ").chars().take(200).collect::<String>()
    );
    let problem = match status {
        None => Some(format!("{}: {shown} still running after {HANG:?}", c.name)),
        Some(_) if took > DEADLINE => Some(format!(
            "{}: {shown} used {took:?} of CPU (more than {DEADLINE:?})",
            c.name
        )),
        Some(s) if s.code() != Some(2) => Some(format!(
            "{}: {shown} exited {s} (expected 2)\n{}",
            c.name,
            err.chars().take(1500).collect::<String>()
        )),
        Some(_) if !err.starts_with("error: ") => {
            Some(format!("{}: {shown}: no `error: ` message:\n{err}", c.name))
        }
        Some(_) => c
            .expect
            .iter()
            .find(|w| !err.contains(w.as_str()))
            .map(|w| {
                format!(
                    "{}: {shown}: the message does not name `{w}`:\n{}",
                    c.name,
                    err.chars().take(1500).collect::<String>()
                )
            })
            .or_else(|| {
                (before != after).then(|| {
                    format!(
                        "{}: {shown} wrote something: {:?}",
                        c.name,
                        after
                            .iter()
                            .filter(|e| !before.contains(e))
                            .collect::<Vec<_>>()
                    )
                })
            }),
    };
    let _ = fs::remove_dir_all(dir);
    (problem, took)
}

#[test]
fn every_hostile_input_is_refused_cleanly() {
    let cases = corpus();
    assert!(cases.len() >= 300, "the corpus has {} inputs", cases.len());
    let root: PathBuf =
        std::env::temp_dir().join(format!("infrasim-hostile-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let t0 = Instant::now();
    let results: Vec<(usize, Option<String>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|k| {
                let cases = &cases;
                let root = &root;
                s.spawn(move || {
                    (0..cases.len())
                        .filter(|i| i % 2 == k)
                        .map(|i| {
                            let (p, t) = check(&cases[i], &root.join(i.to_string()));
                            (i, p, t)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let _ = fs::remove_dir_all(&root);
    let slowest = results.iter().max_by_key(|r| r.2).unwrap();
    eprintln!(
        "{} hostile inputs in {:.1} s; slowest: {} ({:.2} s of CPU)",
        cases.len(),
        t0.elapsed().as_secs_f64(),
        cases[slowest.0].name,
        slowest.2.as_secs_f64()
    );
    let failures: Vec<&String> = results.iter().filter_map(|r| r.1.as_ref()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs were not refused cleanly:\n\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn the_base_scenario_is_valid_so_each_case_tests_one_thing() {
    let dir = std::env::temp_dir().join(format!("infrasim-hostile-base-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("s.toml"), render(None)).unwrap();
    let o = Command::new(BIN)
        .args(["s.toml", "--output", "none", "-q"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
