//! `simulate import` and `simulate fit` through the binary: every generated scenario loads and
//! runs; what is not mapped is listed on the terminal and atop the scenario; a user's file is
//! never overwritten; logs with malformed or truncated lines are fitted, logs that are mostly
//! unreadable are refused. The inputs are the README's examples (scenarios/import/), tests/fixtures/ingest/
//! and HAProxy's own example configurations (Debian's haproxy package).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/cpu.rs"]
mod cpu;

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// An input: the shipped examples of the README (scenarios/import/), or a test fixture.
fn fixture(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = root.join("scenarios/import").join(name);
    if shipped.exists() {
        shipped
    } else {
        root.join("tests/fixtures/ingest").join(name)
    }
}

fn sandbox(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-ingest-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn sim(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a scenario briefly: it must load and run.
fn runs(dir: &Path, scenario: &str) {
    ok(&sim(
        dir,
        &[
            scenario,
            "--set",
            "duration=20s",
            "--set",
            "warmup=2s",
            "--output",
            "none",
            "-q",
        ],
    ));
}

fn table(path: &Path) -> toml::Table {
    toml::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn import_the_seed_design_and_a_defaults_chain() {
    let d = sandbox("import");
    let foobar = fixture("foobar.cfg");
    let err = ok(&sim(
        &d,
        &["import", foobar.to_str().unwrap(), "-o", "foobar.toml"],
    ));
    runs(&d, "foobar.toml");
    let t = table(&d.join("foobar.toml"));
    assert_eq!(t["lb"]["algorithm"].as_str(), Some("roundrobin"));
    assert_eq!(t["lb"]["maxconn"].as_integer(), Some(4096));
    assert_eq!(t["health"]["check"].as_str(), Some("http"));
    assert_eq!(t["health"]["inter"].as_str(), Some("2s"));
    assert_eq!(t["defaults"]["server"]["maxconn"].as_integer(), Some(16));
    assert_eq!(t["servers"].as_array().unwrap().len(), 2);
    // Unmapped directives: on the terminal and atop the file, with their line.
    assert!(err.contains("foobar.cfg:16: timeout client 30s"), "{err}");
    let text = fs::read_to_string(d.join("foobar.toml")).unwrap();
    assert!(text.contains("foobar.cfg:16: timeout client 30s"));
    assert!(text.contains("rate = 100.0  # PLACEHOLDER"));

    let inh = fixture("inheritance.cfg");
    let err = ok(&sim(
        &d,
        &["import", inh.to_str().unwrap(), "-o", "inh.toml"],
    ));
    runs(&d, "inh.toml");
    let t = table(&d.join("inh.toml"));
    // `app` inherits from `tight`, which inherits from `base`; the anonymous defaults section
    // after them is inherited by nothing imported.
    assert_eq!(t["lb"]["algorithm"].as_str(), Some("leastconn"));
    assert_eq!(t["lb"]["timeout_server"].as_str(), Some("5s"));
    assert_eq!(t["lb"]["timeout_queue"].as_str(), Some("2s"));
    assert_eq!(t["lb"]["threads"].as_integer(), Some(4));
    assert_eq!(t["lb"]["maxconn"].as_integer(), Some(500));
    assert_eq!(t["health"]["retries"].as_integer(), Some(2));
    assert_eq!(t["health"]["redispatch"].as_bool(), Some(true));
    assert_eq!(t["lb"]["abortonclose"].as_bool(), Some(true));
    assert_eq!(t["health"]["timeout_connect"].as_str(), Some("3s"));
    assert_eq!(t["health"]["inter"].as_str(), Some("500ms"));
    let servers = t["servers"].as_array().unwrap();
    assert_eq!(servers[0]["weight"].as_integer(), Some(3));
    assert_eq!(servers[2]["backup"].as_bool(), Some(true));
    for listed in [
        "timeout server 99s",
        "slowstart 30s",
        "cookie SRV",
        "stick-table",
        "X-Note a # not a comment",
    ] {
        assert!(err.contains(listed), "{listed} not listed:\n{err}");
    }
    // Without -o the scenario is printed.
    let o = sim(&d, &["import", inh.to_str().unwrap(), "-q"]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("# Scenario written by simulate import")
    );
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn import_the_whole_stack() {
    let d = sandbox("stack");
    let f = |n: &str| fixture(n).to_str().unwrap().to_string();
    ok(&sim(
        &d,
        &[
            "import",
            &f("foobar.cfg"),
            "--nginx",
            &f("nginx.conf"),
            "--keepalived",
            &f("keepalived.conf"),
            "--mysql",
            &f("my.cnf"),
            "-o",
            "stack.toml",
        ],
    ));
    runs(&d, "stack.toml");
    let t = table(&d.join("stack.toml"));
    assert_eq!(t["lb"]["ha"].as_str(), Some("active-passive"));
    assert_eq!(t["lb"]["vrrp"]["backup_priority"].as_integer(), Some(100));
    assert_eq!(t["lb"]["vrrp"]["track_haproxy"].as_bool(), Some(true));
    assert_eq!(t["lb"]["vrrp"]["script_interval"].as_str(), Some("2s"));
    let ds = &t["defaults"]["server"];
    assert_eq!(ds["nginx_workers"].as_integer(), Some(4));
    assert_eq!(ds["nginx_max_conns"].as_integer(), Some(3072));
    assert_eq!(ds["upstream"].as_str(), Some("unix"));
    assert_eq!(ds["proxy_read_timeout"].as_str(), Some("30s"));
    assert_eq!(
        t["database"]["primary"]["max_connections"].as_integer(),
        Some(300)
    );
    assert_eq!(
        t["database"]["replication"]["appliers"].as_integer(),
        Some(8)
    );
    assert_eq!(
        t["database"]["replication"]["semi_sync"].as_bool(),
        Some(true)
    );
    assert_eq!(
        t["database"]["replication"]["semi_sync_timeout"].as_str(),
        Some("1s")
    );
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn a_users_file_is_never_overwritten() {
    let d = sandbox("clobber");
    fs::write(
        d.join("mine.toml"),
        "duration = \"1s\"\n[workload]\nrate = 1\n",
    )
    .unwrap();
    let o = sim(
        &d,
        &[
            "import",
            fixture("foobar.cfg").to_str().unwrap(),
            "-o",
            "mine.toml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mine.toml"));
    assert_eq!(
        fs::read_to_string(d.join("mine.toml")).unwrap(),
        "duration = \"1s\"\n[workload]\nrate = 1\n"
    );
    // Its own output is replaced.
    ok(&sim(
        &d,
        &[
            "import",
            fixture("foobar.cfg").to_str().unwrap(),
            "-o",
            "gen.toml",
            "-q",
        ],
    ));
    ok(&sim(
        &d,
        &[
            "import",
            fixture("inheritance.cfg").to_str().unwrap(),
            "-o",
            "gen.toml",
            "-q",
        ],
    ));
    assert!(
        fs::read_to_string(d.join("gen.toml"))
            .unwrap()
            .contains("leastconn")
    );
    let _ = fs::remove_dir_all(&d);
}

/// A synthetic httplog: Poisson arrivals at `rate` for `secs`, exponential service of
/// `mean_ms` on two servers, timers in whole milliseconds as HAProxy writes them.
fn synthetic_log(rate: f64, secs: f64, mean_ms: f64, seed: u64) -> String {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = String::new();
    let mut t = 0.0f64;
    let t0: i64 = 1_764_450_000_000; // 29/Nov/2025:21:00:00.000 UTC
    let mut k = 0;
    loop {
        t += -rng.random::<f64>().max(1e-300).ln() / rate;
        if t >= secs {
            break;
        }
        let start = t0 as f64 + t * 1000.0;
        let service = -rng.random::<f64>().max(1e-300).ln() * mean_ms;
        let ta = ((start + service).floor() - start.floor()) as i64;
        let ms = start.floor() as i64;
        let (s, mss) = (ms / 1000, ms % 1000);
        let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
        out.push_str(&format!(
            "10.0.{}.{}:4{k:04} [29/Nov/2025:{h:02}:{m:02}:{sec:02}.{mss:03}] fe be/web-0{} 0/0/0/{ta}/{ta} 200 120 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n",
            k % 7,
            k % 50,
            1 + k % 2
        ));
        k += 1;
    }
    out
}

#[test]
fn fit_a_log_with_malformed_and_truncated_lines() {
    let d = sandbox("fit");
    let (rate, secs, mean) = (200.0, 120.0, 10.0);
    let mut log = synthetic_log(rate, secs, mean, 3);
    let n = log.lines().count();
    // Garbage in the middle, and a last line cut short (a log copied while being written).
    let mid = log[log.len() / 2..].find('\n').unwrap() + log.len() / 2 + 1;
    log.insert_str(mid, "this is not a log line\n\u{1b}[31m\n");
    let cut = log.len() - 40;
    log.truncate(cut);
    fs::write(d.join("haproxy.log"), &log).unwrap();
    let o = sim(&d, &["fit", "haproxy.log", "-o", "fitted.toml"]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("3 malformed line(s)"), "{out}");
    runs(&d, "fitted.toml");
    let t = table(&d.join("fitted.toml"));
    // The rate: n Poisson arrivals, sd sqrt(n): within 4 sd.
    let r = t["workload"]["rate"].as_float().unwrap();
    let tol = 4.0 * (n as f64).sqrt() / secs;
    assert!((r - rate).abs() < tol, "rate {r} against {rate} ± {tol}");
    assert!(
        t["workload"].get("phases").is_none(),
        "a constant rate is not phased"
    );
    // Exponential service, whole-millisecond timers: the exponential family passes.
    let app = t["workload"]["mix"][0]["app"]
        .as_str()
        .unwrap_or("(empirical)");
    assert!(app.starts_with("exp("), "{app}");
    let report = fs::read_to_string(d.join("fitted.fit/report.txt")).unwrap();
    assert!(
        report.contains("malformed lines   3") && report.contains("exponential"),
        "{report}"
    );
    assert!(
        fs::read_to_string(d.join("fitted.fit/qq.svg"))
            .unwrap()
            .contains("<circle")
    );
    assert!(
        fs::read_to_string(d.join("fitted.fit/histogram.svg"))
            .unwrap()
            .contains("<polyline")
    );
    // Two servers from the log.
    assert_eq!(t["servers"].as_array().unwrap().len(), 2);
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn fit_json_lines_and_a_log_with_the_config() {
    let d = sandbox("json");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let mut log = String::new();
    let mut t = 1_700_000_000.0f64;
    for _ in 0..3000 {
        t += -rng.random::<f64>().max(1e-300).ln() / 100.0;
        let service = 2.0 + (rng.random::<f64>() * 20.0).floor();
        log.push_str(&format!(
            "{{\"ts\":{},\"ms\":{},\"client_ip\":\"10.0.0.1\",\"backend\":\"web\",\"server\":\"web-0{}\",\"TR\":0,\"Tw\":0,\"Tc\":0,\"Tr\":{service},\"Ta\":{service},\"status\":200,\"sc\":3}}\n",
            t.floor(),
            ((t.fract()) * 1000.0).floor(),
            1 + (t as u64) % 2
        ));
    }
    fs::write(d.join("j.log"), &log).unwrap();
    let cfg = fixture("foobar.cfg");
    ok(&sim(
        &d,
        &[
            "fit",
            "j.log",
            "--format",
            "json",
            "--config",
            cfg.to_str().unwrap(),
            "-o",
            "j.toml",
            "-q",
        ],
    ));
    runs(&d, "j.toml");
    let t = table(&d.join("j.toml"));
    // Uniform service: no family of the model passes, the sample is used.
    assert_eq!(
        t["workload"]["mix"][0]["app"]["dist"].as_str(),
        Some("empirical")
    );
    assert_eq!(t["workload"]["clients"].as_integer(), Some(1));
    // Servers come from the configuration; app_workers from its maxconn, marked.
    assert_eq!(t["servers"][0]["app_workers"].as_integer(), Some(16));
    assert_eq!(t["lb"]["algorithm"].as_str(), Some("roundrobin"));
    // A mostly unreadable log is refused, naming the file and a line.
    fs::write(
        d.join("bad.log"),
        "x\ny\n1.2.3.4:5 [bad date] fe be/s 0/0/0/0/0 200\n",
    )
    .unwrap();
    let o = sim(&d, &["fit", "bad.log", "-o", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: bad.log line 1:"), "{e}");
    assert!(!d.join("bad.toml").exists());
    let _ = fs::remove_dir_all(&d);
}

/// HAProxy's own example configurations, as Debian's `haproxy` package ships them
/// (`/usr/share/doc/haproxy/examples/*.cfg`, from HAProxy's `examples/` folder), or from
/// `INFRASIM_HAPROXY_EXAMPLES` (`.ci/run` extracts them from the .deb when a minimal image drops
/// /usr/share/doc). They are not copied here: they are HAProxy's, under its licence.
fn haproxy_examples() -> PathBuf {
    let dir = std::env::var_os("INFRASIM_HAPROXY_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/doc/haproxy/examples"));
    assert!(
        dir.is_dir(),
        "{} is missing: apt-get install -y haproxy (.ci/run does it), or point \
         INFRASIM_HAPROXY_EXAMPLES at HAProxy's examples/ folder",
        dir.display()
    );
    dir
}

/// Each example imports, lists its unmapped directives with file and line on the terminal and
/// atop the scenario, and the scenario runs.
#[test]
fn haproxy_s_own_examples_import_and_run() {
    let dir = haproxy_examples();
    let mut cfgs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    cfgs.sort();
    assert!(
        cfgs.len() >= 3,
        "expected HAProxy's examples in {}",
        dir.display()
    );
    let d = sandbox("examples");
    for cfg in &cfgs {
        let name = format!("{}.toml", cfg.file_stem().unwrap().to_string_lossy());
        let err = ok(&sim(&d, &["import", cfg.to_str().unwrap(), "-o", &name]));
        assert!(err.contains("not mapped"), "{name}: {err}");
        let text = fs::read_to_string(d.join(&name)).unwrap();
        let listed = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.is_empty())
            .filter(|l| l.contains(&format!("{}:", cfg.display())))
            .count();
        assert!(
            listed > 0,
            "{name}: no unmapped directive listed atop:\n{text}"
        );
        runs(&d, &name);
    }
}

/// Debian's default `/etc/haproxy/haproxy.cfg` has no backend: import refuses it, naming why,
/// and writes nothing.
#[test]
fn a_config_without_a_backend_is_refused_for_what_it_is() {
    let cfg = Path::new("/etc/haproxy/haproxy.cfg");
    assert!(
        cfg.exists(),
        "{} is missing: apt-get install -y haproxy (.ci/run does it)",
        cfg.display()
    );
    let d = sandbox("nobackend");
    let o = sim(&d, &["import", cfg.to_str().unwrap(), "-o", "default.toml"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no backend"), "{stderr}");
    assert!(
        !d.join("default.toml").exists(),
        "a refused import wrote a scenario"
    );
}

#[test]
fn import_persistence_https_and_per_source_limits() {
    let d = sandbox("sessions");
    let cfg = fixture("sessions.cfg");
    let err = ok(&sim(
        &d,
        &["import", cfg.to_str().unwrap(), "-o", "sessions.toml"],
    ));
    runs(&d, "sessions.toml");
    let t = table(&d.join("sessions.toml"));
    // cookie SERVERID insert + servers' cookie values, option persist.
    assert_eq!(t["lb"]["persistence"].as_str(), Some("cookie"));
    assert_eq!(t["lb"]["persist"].as_bool(), Some(true));
    // `bind ... ssl`: TLS at HAProxy, the key type a placeholder.
    assert_eq!(t["lb"]["tls"]["key"].as_str(), Some("rsa2048"));
    let text = fs::read_to_string(d.join("sessions.toml")).unwrap();
    assert!(text.contains("key = \"rsa2048\"  # PLACEHOLDER"), "{text}");
    // The stick table's http_req_rate(10s), the named ACL's threshold, tarpit, conn_cur.
    let rl = &t["lb"]["rate_limit"];
    assert_eq!(rl["period"].as_str(), Some("10s"));
    assert_eq!(rl["limit"].as_integer(), Some(100));
    assert_eq!(rl["action"].as_str(), Some("tarpit"));
    assert_eq!(rl["tarpit"].as_str(), Some("3s"));
    assert_eq!(rl["conn_limit"].as_integer(), Some(20));
    // A server without a cookie value is listed; nothing of the mapped lines is.
    assert!(err.contains("server a3 (no cookie value)"), "{err}");
    for mapped in [
        "cookie SERVERID",
        "stick-table",
        "track-sc0",
        "acl abuse",
        "option persist",
    ] {
        assert!(
            !err.contains(mapped),
            "{mapped} listed as not mapped:\n{err}"
        );
    }

    let cfg = fixture("stick_src.cfg");
    let err = ok(&sim(
        &d,
        &["import", cfg.to_str().unwrap(), "-o", "stick.toml"],
    ));
    runs(&d, "stick.toml");
    let t = table(&d.join("stick.toml"));
    assert_eq!(t["lb"]["persistence"].as_str(), Some("source"));
    assert!(t["lb"].get("persist").is_none());
    assert!(t["lb"].get("tls").is_none());
    // `ge 50` is `gt 49`; the table is the one `table per_ip` names.
    let rl = &t["lb"]["rate_limit"];
    assert_eq!(rl["period"].as_str(), Some("1s"));
    assert_eq!(rl["limit"].as_integer(), Some(49));
    assert_eq!(rl["action"].as_str(), Some("deny"));
    assert!(err.contains("stick on hdr(x-user)"), "{err}");
    assert!(!err.contains("per_ip"), "{err}");
    let text = fs::read_to_string(d.join("stick.toml")).unwrap();
    assert!(text.contains("the deny status is not modelled"), "{text}");
    let _ = fs::remove_dir_all(&d);
}

/// Imports `text` written as `name` in `d`; the exit status, the scenario (if written) and the
/// terminal's text.
fn import_text(d: &Path, name: &str, text: &str, extra: &[&str]) -> (Option<i32>, String) {
    fs::write(d.join(name), text).unwrap();
    let out = format!("{name}.toml");
    let mut args = vec!["import", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", &out]);
    let o = sim(d, &args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `default-server` as HAProxy applies it (manual §4.2; src/server.c copies the proxy's
/// default-server settings into each `server` as it is parsed): the defaults section's line,
/// then the backend's lines in file order, each adding to and overriding the ones above it, and
/// each `server` taking what is in effect at its own line. The expected values are what a real
/// HAProxy 2.6 reports for these files on its stats socket (tests/real_haproxy.rs checks them).
#[test]
fn default_server_lines_accumulate_in_file_order() {
    let d = sandbox("defsrv");
    // The defaults section's line and the backend's: both apply.
    let (code, err) = import_text(
        &d,
        "ds1.cfg",
        "defaults\n    mode http\n    timeout connect 5s\n    timeout server 30s\n    \
         default-server inter 3s fall 5 rise 4 maxconn 50\n\
         frontend fe\n    bind :8080\n    default_backend app\n\
         backend app\n    balance leastconn\n    default-server check weight 10\n    \
         server web1 127.0.0.1:8001\n    server web2 127.0.0.1:8002\n",
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !err.contains("default-server"),
        "a mapped line listed:\n{err}"
    );
    runs(&d, "ds1.cfg.toml");
    let t = table(&d.join("ds1.cfg.toml"));
    let ds = &t["defaults"]["server"];
    assert_eq!(ds["maxconn"].as_integer(), Some(50));
    assert_eq!(ds["weight"].as_integer(), Some(10));
    assert_eq!(t["health"]["enabled"].as_bool(), Some(true));
    assert_eq!(t["health"]["inter"].as_str(), Some("3s"));
    assert_eq!(t["health"]["rise"].as_integer(), Some(4));
    assert_eq!(t["health"]["fall"].as_integer(), Some(5));
    let text = fs::read_to_string(d.join("ds1.cfg.toml")).unwrap();
    assert!(
        text.contains("maxconn = 50  # ds1.cfg:5: default-server"),
        "{text}"
    );

    // Two lines in one backend: the second adds to the first; a server's own keyword wins.
    let (code, err) = import_text(
        &d,
        "ds2.cfg",
        "defaults\n    timeout connect 5s\n    timeout server 30s\n\
         backend app\n    default-server maxconn 20 check\n    default-server inter 2s\n    \
         server web1 127.0.0.1:8001\n    server web2 127.0.0.1:8002 maxconn 5\n",
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    let t = table(&d.join("ds2.cfg.toml"));
    assert_eq!(t["defaults"]["server"]["maxconn"].as_integer(), Some(20));
    assert_eq!(t["servers"][0].get("maxconn"), None);
    assert_eq!(t["servers"][1]["maxconn"].as_integer(), Some(5));
    assert_eq!(t["health"]["enabled"].as_bool(), Some(true));
    assert_eq!(t["health"]["inter"].as_str(), Some("2s"));

    // A default-server below a server does not reach it (haproxy -c: valid, web1 active).
    let (code, err) = import_text(
        &d,
        "dsorder.cfg",
        "defaults\n    timeout connect 5s\n    timeout server 30s\n\
         listen app\n    bind :8080\n    server web1 127.0.0.1:8001 check\n    \
         default-server maxconn 10 backup\n    server web2 127.0.0.1:8002 check\n",
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    runs(&d, "dsorder.cfg.toml");
    let t = table(&d.join("dsorder.cfg.toml"));
    assert!(t.get("defaults").is_none(), "{t:?}");
    let s = t["servers"].as_array().unwrap();
    assert_eq!(s[0].get("backup"), None);
    assert_eq!(s[0].get("maxconn"), None);
    assert_eq!(s[1]["backup"].as_bool(), Some(true));
    assert_eq!(s[1]["maxconn"].as_integer(), Some(10));

    // A later line overrides an earlier one's keyword; weight 0 is listed for the servers it
    // reaches, and only those.
    let (code, err) = import_text(
        &d,
        "dsw.cfg",
        "defaults\n    timeout connect 5s\n    timeout server 30s\n\
         backend app\n    default-server weight 5\n    server a 127.0.0.1:8001\n    \
         default-server weight 0\n    server b 127.0.0.1:8002\n    server c 127.0.0.1:8003 weight 7\n",
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    let t = table(&d.join("dsw.cfg.toml"));
    let s = t["servers"].as_array().unwrap();
    assert_eq!(s[0]["weight"].as_integer(), Some(5));
    assert_eq!(s[1].get("weight"), None);
    assert_eq!(s[2]["weight"].as_integer(), Some(7));
    assert!(err.contains("dsw.cfg:8: server b ... weight 0"), "{err}");
    assert!(!err.contains("server a ... weight 0"), "{err}");
    assert!(!err.contains("server c ... weight 0"), "{err}");
    let _ = fs::remove_dir_all(&d);
}

/// HAProxy has no line continuation (src/cfgparse.c reads a line at a time; `parse_line()` keeps
/// a final `\` in the word): `haproxy -c` rejects `server ... check \` ("unknown keyword '\'").
/// The import refuses it too, naming the file and the line, and writes nothing.
#[test]
fn a_line_ending_in_a_backslash_is_refused() {
    let d = sandbox("cont");
    let (code, err) = import_text(
        &d,
        "cont.cfg",
        "defaults\n    timeout connect 2s\n    timeout server 10s\n\
         listen app\n    bind :8080\n    balance roundrobin\n    \
         server web1 127.0.0.1:8001 check \\\n        weight 3 maxconn 30\n    \
         server web2 127.0.0.1:8002 check\n",
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("error: cont.cfg line 7:"), "{err}");
    assert!(err.contains("no line continuation"), "{err}");
    assert!(!d.join("cont.cfg.toml").exists());
    let _ = fs::remove_dir_all(&d);
}

/// A configuration saved with a UTF-8 byte-order mark (Windows editors write one): HAProxy does
/// not skip it (HAProxy 2.6 on this file: `parsing [bom.cfg:1]: unknown keyword '\u{feff}global'
/// out of section`), and neither do nginx, keepalived or MySQL. It used to be read as an
/// unknown directive `\u{feff}global`, listed as "outside any section" with the `global`
/// section's lines (`maxconn 100` not imported); in nginx.conf and keepalived.conf the first
/// directive was listed under a name that looks like the real one. Each file is now refused,
/// naming it and line 1, and nothing is written.
#[test]
fn a_byte_order_mark_is_refused_naming_line_1() {
    let d = sandbox("bom");
    let cfg = fixture("foobar.cfg");
    let cfg = cfg.to_str().unwrap();
    let bom = "\u{feff}";
    let (code, err) = import_text(
        &d,
        "bom.cfg",
        &format!(
            "{bom}global\n    maxconn 100\ndefaults\n    timeout connect 2s\n    \
             timeout server 10s\nbackend app\n    server web1 127.0.0.1:8001\n"
        ),
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("error: bom.cfg line 1:"), "{err}");
    assert!(err.contains("byte-order mark"), "{err}");
    assert!(!d.join("bom.cfg.toml").exists());
    for (flag, file) in [
        ("--nginx", "nginx.conf"),
        ("--keepalived", "keepalived.conf"),
        ("--mysql", "my.cnf"),
    ] {
        let text = fs::read_to_string(fixture(file)).unwrap();
        let name = format!("bom-{file}");
        fs::write(d.join(&name), format!("{bom}{text}")).unwrap();
        let o = sim(&d, &["import", cfg, flag, &name, "-o", "b.toml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {err}");
        assert!(err.starts_with(&format!("error: {name} line 1:")), "{err}");
        assert!(err.contains("byte-order mark"), "{err}");
        assert!(!d.join("b.toml").exists(), "{flag}");
    }
    // `fit --config` reads the configuration the same way.
    let log = fixture("haproxy.log");
    let o = sim(
        &d,
        &[
            "fit",
            log.to_str().unwrap(),
            "--config",
            "bom.cfg",
            "-o",
            "f.toml",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bom.cfg line 1:"), "{err}");
    assert!(!d.join("f.toml").exists() && !d.join("f.fit").exists());
    let _ = fs::remove_dir_all(&d);
}

/// HAProxy server names (letters, digits, `.`, `_`, `-`, `:`: `invalid_char()` in HAProxy's
/// src/tools.c) that would begin with `-` once mapped: a scenario refuses a name a spreadsheet
/// reads as a formula in the first cell of `servers.csv`, so the import writes a leading `_`
/// instead (`:` still becomes `-`) and the scenario loads.
#[test]
fn server_names_that_read_as_formulas_are_imported_as_names() {
    let d = sandbox("formula");
    let (code, err) = import_text(
        &d,
        "formula.cfg",
        "defaults\n    timeout connect 2s\n    timeout server 10s\n\
         backend app\n    server -web 127.0.0.1:8001\n    server :x 127.0.0.1:8002\n    \
         server --y 127.0.0.1:8003\n",
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    runs(&d, "formula.cfg.toml");
    let t = table(&d.join("formula.cfg.toml"));
    let names: Vec<&str> = t["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["_web", "_x", "_-y"]);
    let _ = fs::remove_dir_all(&d);
}

/// my.cnf as MySQL reads it (MySQL 8.0 manual, "Using Option Files"; mysys/my_default.cc): a
/// bare boolean is ON, numbers take K/M/G suffixes, `#` after a tab starts a comment, dashes and
/// underscores are alike, `loose-` is ignored and `skip-` turns a boolean off.
#[test]
fn my_cnf_forms_mysql_accepts() {
    let d = sandbox("mycnf");
    let cfg = fixture("foobar.cfg");
    let cfg = cfg.to_str().unwrap();
    fs::write(
        d.join("my.cnf"),
        "[client]\nport = 3306\n[mysqld]\nmax_connections = 2K\nrpl_semi_sync_source_enabled\n\
         rpl-semi-sync-source-timeout = 5000\t# five seconds\nreplica_parallel_workers=4#four\n\
         loose-rpl_semi_sync_source_wait_for_replica_count = '2'\n!includedir /etc/mysql/conf.d/\n",
    )
    .unwrap();
    let o = sim(&d, &["import", cfg, "--mysql", "my.cnf", "-o", "my.toml"]);
    let err = ok(&o);
    runs(&d, "my.toml");
    let t = table(&d.join("my.toml"));
    let db = &t["database"];
    assert_eq!(db["primary"]["max_connections"].as_integer(), Some(2048));
    assert_eq!(db["replication"]["semi_sync"].as_bool(), Some(true));
    assert_eq!(db["replication"]["semi_sync_timeout"].as_str(), Some("5s"));
    assert_eq!(db["replication"]["appliers"].as_integer(), Some(4));
    assert_eq!(
        db["replication"]["semi_sync_replicas"].as_integer(),
        Some(2)
    );
    assert!(err.contains("my.cnf:2: port = 3306"), "{err}");
    assert!(err.contains("my.cnf:9: !includedir"), "{err}");
    for wrong in ["not a boolean", "outside", "not a time", "not a number"] {
        assert!(!err.contains(wrong), "{wrong}:\n{err}");
    }

    // skip- turns the boolean off; a later [mysqld-8.0] line overrides; a value MySQL cannot
    // read is listed with the reason.
    fs::write(
        d.join("off.cnf"),
        "[mysqld]\nrpl_semi_sync_source_enabled = ON\nskip-rpl-semi-sync-source-enabled\n\
         max_connections = 2KB\n[mysqld-8.0]\nmax_connections = 800\n",
    )
    .unwrap();
    let err = ok(&sim(
        &d,
        &["import", cfg, "--mysql", "off.cnf", "-o", "off.toml"],
    ));
    let t = table(&d.join("off.toml"));
    let db = &t["database"];
    assert_eq!(db["replication"]["semi_sync"].as_bool(), Some(false));
    assert_eq!(db["primary"]["max_connections"].as_integer(), Some(800));
    assert!(err.contains("\"2KB\" is not a number"), "{err}");

    // An option before any group: MySQL refuses the file; so does the import, naming the line.
    fs::write(d.join("nogroup.cnf"), "max_connections = 10\n[mysqld]\n").unwrap();
    let o = sim(
        &d,
        &["import", cfg, "--mysql", "nogroup.cnf", "-o", "ng.toml"],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: nogroup.cnf line 1:"), "{e}");
    assert!(!d.join("ng.toml").exists());
    let _ = fs::remove_dir_all(&d);
}

/// Runs the binary, killing it and failing if it takes more than `secs` of wall time: a
/// runaway fails the test instead of hanging it. Returns its output and the CPU time it used
/// (user + system): the work done, which unlike wall time does not grow when other processes
/// share the machine (`common/cpu.rs`).
fn sim_within(dir: &Path, args: &[&str], secs: u64) -> (Output, std::time::Duration) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    let t = cpu::run(&mut cmd, std::time::Duration::from_secs(secs));
    (t.output, t.cpu)
}

fn folder_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// A line of `synthetic_log`'s shape at its first second, with these timers, status and request.
fn long_line(k: usize, ta: i64, status: u16, request: &str) -> String {
    format!(
        "10.9.0.{k}:5{k:04} [29/Nov/2025:21:00:00.{k:03}] fe be/web-01 0/0/0/{ta}/{ta} {status} 51 - - ---- 1/1/0/0/0 0/0 \"{request}\"\n"
    )
}

#[test]
fn long_requests_keep_the_fit_bounded_and_tunnels_out_of_the_service_time() {
    let d = sandbox("long");
    let (rate, secs, mean) = (100.0, 20.0, 10.0);
    let base = synthetic_log(rate, secs, mean, 11);
    // One-hour WebSocket upgrades and a CONNECT tunnel: tunnels, not service times.
    let mut ws = base.clone();
    for k in 0..10 {
        ws.push_str(&long_line(k, 3_600_000, 101, "GET /ws HTTP/1.1"));
    }
    ws.push_str(&long_line(10, 36_000_000, 200, "CONNECT db:5432 HTTP/1.1"));
    fs::write(d.join("ws.log"), &ws).unwrap();
    let (o, took) = sim_within(&d, &["fit", "ws.log", "-o", "ws.toml"], 120);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("11 tunnel(s)"), "{out}");
    let report = fs::read_to_string(d.join("ws.fit/report.txt")).unwrap();
    assert!(report.contains("tunnels           11 "), "{report}");
    // The service time is the requests' (exponential, 10 ms), not the tunnels' hour.
    let ms: f64 = out
        .split("service time ")
        .nth(1)
        .and_then(|s| s.split(" ms mean").next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((ms - mean).abs() < 1.0, "{out}");
    runs(&d, "ws.toml");

    // Answered requests of an hour, and of 2^31 - 1 ms (HAProxy's largest timer): kept in the
    // sample, but neither the time nor the pictures grow with them. One bar per millisecond
    // took 23 s and 477 MB for the hour, and never finished for 2^31 ms.
    for ta in [3_600_000i64, i32::MAX as i64] {
        let mut long = base.clone();
        for k in 0..10 {
            long.push_str(&long_line(k, ta, 200, "GET /report HTTP/1.1"));
        }
        fs::write(d.join("long.log"), &long).unwrap();
        let (o, took_long) = sim_within(&d, &["fit", "long.log", "-o", "long.toml"], 120);
        ok(&o);
        // CPU time: the fit of this log takes a fraction of a second; one bar per millisecond
        // took 23 s for the hour.
        assert!(
            took_long.as_secs_f64() < 10.0,
            "Ta = {ta}: {took_long:?} of CPU (the plain log: {took:?})"
        );
        let hist = fs::read_to_string(d.join("long.fit/histogram.svg")).unwrap();
        assert!(
            hist.len() < 200_000,
            "Ta = {ta}: histogram of {} bytes",
            hist.len()
        );
        assert!(hist.matches("<rect").count() <= 202, "Ta = {ta}");
        let all = folder_bytes(&d.join("long.fit"));
        assert!(all < 1_000_000, "Ta = {ta}: {all} bytes in long.fit/");
        let report = fs::read_to_string(d.join("long.fit/report.txt")).unwrap();
        assert!(
            report.contains(&format!("{ta}.0")),
            "the max is reported: {report}"
        );
    }
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn an_out_of_range_json_value_is_one_malformed_line_not_a_wrong_fit() {
    let d = sandbox("jrange");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut log = String::new();
    let mut t = 1_764_450_000.0f64;
    for _ in 0..500 {
        t += -rng.random::<f64>().max(1e-300).ln() / 100.0;
        let service = (-rng.random::<f64>().max(1e-300).ln() * 10.0).floor();
        log.push_str(&format!(
            "{{\"ts\":{},\"ms\":{},\"server\":\"a\",\"TR\":0,\"Tw\":0,\"Tc\":0,\"Tr\":{service},\"Ta\":{service},\"status\":200}}\n",
            t.floor(),
            (t.fract() * 1000.0).floor()
        ));
    }
    fs::write(d.join("clean.log"), &log).unwrap();
    ok(&sim(
        &d,
        &["fit", "clean.log", "--format", "json", "-o", "clean.toml"],
    ));
    let clean = table(&d.join("clean.toml"))["workload"]["rate"]
        .as_float()
        .unwrap();
    assert!((clean - 100.0).abs() < 20.0, "{clean}");
    let bad = |kv: &str| {
        format!("{{\"ts\":1764450003,{kv},\"server\":\"a\",\"Tw\":0,\"Tc\":0,\"Tr\":5,\"Ta\":5}}\n")
    };
    for (key, line) in [
        ("ms", bad("\"ms\":1e300,\"status\":200")),
        ("ms", bad("\"ms\":-1e300,\"status\":200")),
        ("ms", bad("\"ms\":99999999,\"status\":200")),
        ("status", bad("\"ms\":5,\"status\":1e300")),
    ] {
        fs::write(d.join("x.log"), format!("{log}{line}")).unwrap();
        let o = sim(&d, &["fit", "x.log", "--format", "json", "-o", "x.toml"]);
        let err = ok(&o);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("500 requests") && out.contains("1 malformed"),
            "{line}: {out}"
        );
        assert!(
            err.contains(&format!("x.log line 501: \"{key}\" is")),
            "{line}: {err}"
        );
        let report = fs::read_to_string(d.join("x.fit/report.txt")).unwrap();
        assert!(report.contains(&format!("line 501: \"{key}\"")), "{report}");
        // The line changes nothing: the same rate as without it.
        let rate = table(&d.join("x.toml"))["workload"]["rate"]
            .as_float()
            .unwrap();
        assert_eq!(rate, clean, "{line}");
    }
    let _ = fs::remove_dir_all(&d);
}

/// Every entry of a folder with its bytes, to tell whether anything changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = if p.is_dir() {
                snapshot(&p)
                    .into_iter()
                    .flat_map(|(n, b)| n.into_bytes().into_iter().chain(b))
                    .collect()
            } else {
                fs::read(&p).unwrap()
            };
            (name, bytes)
        })
        .collect();
    v.sort();
    v
}

/// Sessions that lasted hours (WebSockets, long downloads) are logged when they end, among
/// lines of hours later, with their accept date hours before: 3% of a log here, more than the
/// 1% of stray dates a fit sets aside. They are not strays (their end is among the rest): the
/// fit keeps them for the times, leaves them out of the rate, and names them; a zeroed clock
/// beside them is still set aside.
#[test]
fn sessions_accepted_hours_before_the_log_are_kept_out_of_the_rate_not_refused() {
    let d = sandbox("early");
    let (rate, secs) = (200.0, 30.0);
    let base = synthetic_log(rate, secs, 10.0, 23);
    let n = base.lines().count();
    let mut log = String::new();
    let mut early = 0;
    for (k, line) in base.lines().enumerate() {
        log.push_str(line);
        log.push('\n');
        if k % 33 == 0 {
            // Accepted at 18:00:ss, three hours and a few seconds before it is logged (the
            // base runs from 21:00:00 for 30 s): a WebSocket, or a 200 download.
            let sec = early % 60;
            let ta = 3 * 3_600_000 + (k as i64 * 1_000 * secs as i64) / n as i64 - sec * 1_000;
            let (status, path) = if early % 2 == 0 {
                (101, "/ws")
            } else {
                (200, "/big.iso")
            };
            log.push_str(&format!(
                "10.0.9.{}:5{early:04} [29/Nov/2025:18:00:{sec:02}.000] fe be/web-01 0/0/0/40/{ta} {status} 0 - - ---- 1/1/1/1/0 0/0 \"GET {path} HTTP/1.1\"\n",
                early % 200
            ));
            early += 1;
        }
    }
    log.push_str("10.0.0.1:5 [01/Jan/1970:00:00:00.000] fe be/web-01 0/0/0/7/7 200 51 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n");
    assert!(
        early as usize * 100 > n,
        "more than the 1% of strays: {early} of {n}"
    );
    fs::write(d.join("long.log"), &log).unwrap();
    let o = sim(&d, &["fit", "long.log", "-o", "long.toml"]);
    let err = ok(&o);
    assert!(
        err.contains("long.log line 2: accepted 29/Nov/2025:18:00:00.000, long before the rest")
            && err.contains(&format!("and {} more", early - 1))
            && err.contains("accept date 01/Jan/1970:00:00:00.000 is far from the rest"),
        "{err}"
    );
    let report = fs::read_to_string(d.join("long.fit/report.txt")).unwrap();
    assert!(
        report.contains(&format!("long sessions     {early} "))
            && report.contains("dated apart       1 "),
        "{report}"
    );
    // The rate is the base's: the long sessions would have stretched its span to three hours.
    let t = table(&d.join("long.toml"));
    let r = t["workload"]["rate"].as_float().unwrap();
    let tol = 4.0 * (n as f64).sqrt() / secs;
    assert!((r - rate).abs() < tol, "rate {r} against {rate} ± {tol}");
    assert!(t["workload"].get("phases").is_none());
    runs(&d, "long.toml");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn a_stray_date_is_set_aside_and_a_refused_fit_leaves_the_previous_pair() {
    let d = sandbox("dates");
    let (rate, secs) = (200.0, 30.0);
    let base = synthetic_log(rate, secs, 10.0, 21);
    let n = base.lines().count();
    let line = |date: &str| {
        format!(
            "10.0.0.1:5 [{date}] fe be/web-01 0/0/0/7/7 200 51 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n"
        )
    };
    // A zeroed clock first, a corrupt year last: both set aside and named; the fit is the log's.
    let log = format!(
        "{}{base}{}",
        line("01/Jan/1970:00:00:00.000"),
        line("01/Jan/9999:00:00:00.000")
    );
    fs::write(d.join("stray.log"), &log).unwrap();
    let o = sim(&d, &["fit", "stray.log", "-o", "stray.toml"]);
    let err = ok(&o);
    assert!(
        err.contains("stray.log line 1: accept date 01/Jan/1970:00:00:00.000")
            && err.contains(&format!(
                "stray.log line {}: accept date 01/Jan/9999:00:00:00.000",
                n + 2
            )),
        "{err}"
    );
    let report = fs::read_to_string(d.join("stray.fit/report.txt")).unwrap();
    assert!(report.contains("dated apart       2"), "{report}");
    let t = table(&d.join("stray.toml"));
    let r = t["workload"]["rate"].as_float().unwrap();
    let tol = 4.0 * (n as f64).sqrt() / secs;
    assert!((r - rate).abs() < tol, "rate {r} against {rate} ± {tol}");
    assert!(t["workload"].get("phases").is_none());
    runs(&d, "stray.toml");

    // A fit, then a refused one to the same -o: the scenario and its report stay as they were
    // (before, the report folder was swapped in before the refusal), nothing is left beside.
    fs::write(d.join("base.log"), &base).unwrap();
    ok(&sim(&d, &["fit", "base.log", "-o", "x.toml", "-q"]));
    let before = snapshot(&d);
    let tiny = format!(
        "{}{}",
        base.lines().next().unwrap().to_string() + "\n",
        line("01/Jan/9999:00:00:00.000")
    );
    fs::write(d.join("tiny.log"), &tiny).unwrap();
    let before = {
        let mut b = before;
        b.push(("tiny.log".into(), tiny.clone().into_bytes()));
        b.sort();
        b
    };
    for out in ["x.toml", "y.toml"] {
        let o = sim(&d, &["fit", "tiny.log", "-o", out]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with("error: tiny.log line 1: the log spans")
                && e.contains("line 2 (01/Jan/9999:00:00:00.000)")
                && !e.contains("bug"),
            "{e}"
        );
        assert_eq!(snapshot(&d), before, "-o {out} changed the folder");
    }
    // Two logs a month apart: not strays; refused, naming a line.
    let later = synthetic_log(rate, 5.0, 10.0, 22).replace("29/Nov/2025", "29/Dec/2025");
    fs::write(d.join("joined.log"), format!("{base}{later}")).unwrap();
    let o = sim(&d, &["fit", "joined.log", "-o", "joined.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.starts_with(&format!("error: joined.log line {}:", n + 1)) && e.contains("two logs"),
        "{e}"
    );
    assert!(!d.join("joined.toml").exists() && !d.join("joined.fit").exists());
    let _ = fs::remove_dir_all(&d);
}

/// Three imports that said more than HAProxy does, each checked on HAProxy 2.6.12 on this
/// machine (`haproxy -c`, then run with a stats socket):
/// - `stick match src` with nothing storing into the table: after requests from one client
///   `show table` says `used:0`, HAProxy never creates an entry from a match, so there is no
///   persistence (it was imported as `lb.persistence = "source"`);
/// - a table's `expire`: the entry of `stick on src` with `expire 2s` was gone 2.5 s after the
///   client's last request; the model keeps entries for the run, and no configuration says how
///   long clients wait between requests, so the import says the figure (it said nothing);
/// - no `maxconn` in `global`: `show info` gave Maxconn 9985 with `ulimit -n` 1024 soft, 20000
///   hard (2033 with 4096 both), derived from the file descriptors; it was written as unlimited
///   with nothing to set, now it is a PLACEHOLDER.
#[test]
fn stick_match_alone_a_table_s_expire_and_an_unset_global_maxconn() {
    let d = sandbox("stick-match");
    let head = "defaults\n  mode http\n  timeout connect 5s\n  timeout server 5s\n\
                frontend fe\n  bind :80\n  default_backend be\n";
    let servers = "  server s1 10.0.0.1:80\n  server s2 10.0.0.2:80\n";
    let text = format!(
        "{head}backend be\n  stick-table type ip size 1k expire 2s\n  stick match src\n{servers}"
    );
    let (code, err) = import_text(&d, "match.cfg", &text, &[]);
    assert_eq!(code, Some(0), "{err}");
    let t = table(&d.join("match.cfg.toml"));
    assert!(t["lb"].get("persistence").is_none(), "{:?}", t["lb"]);
    assert!(
        err.contains("stick match src") && err.contains("never creates one from it"),
        "{err}"
    );
    // Stored by `stick store-request src`: persistence, and the table's 2 s expiry said.
    let text = format!(
        "{head}backend be\n  stick-table type ip size 1k expire 2s\n  stick match src\n  \
         stick store-request src\n{servers}"
    );
    let (code, err) = import_text(&d, "stored.cfg", &text, &[]);
    assert_eq!(code, Some(0), "{err}");
    let t = table(&d.join("stored.cfg.toml"));
    assert_eq!(t["lb"]["persistence"].as_str(), Some("source"));
    assert!(err.contains("stick-table expire 2s"), "{err}");
    let toml = fs::read_to_string(d.join("stored.cfg.toml")).unwrap();
    assert!(
        toml.contains("expire 2s after a client's last request"),
        "{toml}"
    );
    // No `maxconn` anywhere: marked, with HAProxy's rule.
    assert!(
        toml.contains("maxconn = 0  # PLACEHOLDER") && toml.contains("ulimit -n"),
        "{toml}"
    );
    runs(&d, "stored.cfg.toml");
    let _ = fs::remove_dir_all(&d);
}
