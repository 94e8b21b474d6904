//! End-to-end tests of the scenario layer: text in, `Config` or problems out.

use super::*;
use crate::dist::Sample;
use crate::engine::SimTime;
use crate::model::{Algorithm, ArrivalKind, ReadPolicy};

fn origin() -> PathBuf {
    PathBuf::from("scenarios/test.toml")
}

fn ok(text: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load_str(text, &origin(), &sets).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str, sets: &[&str]) -> ScenarioError {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match load_str(text, &origin(), &sets) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

fn problem<'a>(e: &'a ScenarioError, key: &str) -> &'a Problem {
    e.problems
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem at {key}; got:\n{e}"))
}

const MINIMAL: &str = "duration = \"10s\"\n[workload]\nrate = 100\n";
/// The same, ready for more top-level keys.
const TOP: &str = "duration = \"10s\"\nworkload = { rate = 100 }\n";

#[test]
fn minimal_scenario_gets_documented_defaults() {
    let s = ok(MINIMAL, &[]);
    let c = &s.config;
    assert_eq!(c.name, "test");
    assert_eq!(c.seed, 1);
    assert_eq!(c.duration, SimTime::from_secs(10));
    assert_eq!(c.warmup, SimTime::from_secs(1));
    assert_eq!(c.workload.arrival, ArrivalKind::Poisson);
    assert_eq!(c.workload.rate, 100.0);
    assert_eq!(c.workload.clients, 10_000);
    assert_eq!(c.workload.mix.len(), 1);
    assert_eq!(c.workload.mix[0].name, "default");
    assert!((c.workload.mix[0].app.mean() - 0.01).abs() < 1e-12);
    assert!(c.workload.mix[0].nginx.is_zero());
    assert_eq!(c.lb.algorithm, Algorithm::RoundRobin);
    assert!(c.lb.processing.is_zero());
    assert_eq!(c.lb.threads, 1);
    assert_eq!(c.lb.timeout_queue, SimTime::from_secs(5));
    assert_eq!(c.servers.len(), 1);
    let srv = &c.servers[0];
    assert_eq!(srv.name, "web-01");
    assert_eq!(
        (
            srv.weight,
            srv.maxconn,
            srv.maxqueue,
            srv.nginx_workers,
            srv.nginx_max_conns
        ),
        (1, 0, 0, 1, 512)
    );
    assert_eq!((srv.app_workers, srv.app_queue, srv.speed), (1, 2048, 1.0));
    let db = &c.database;
    assert_eq!(db.primary.name, "db-primary");
    assert_eq!((db.primary.workers, db.primary.max_connections), (8, 151));
    assert!(db.replicas.is_empty());
    assert_eq!(db.read_from, ReadPolicy::Replicas);
    assert!(db.network.is_zero());
    assert_eq!(db.replication.appliers, 4);
    assert_eq!(db.replication.apply_factor, 1.0);
    assert_eq!(s.source_hash.len(), 16);
    assert_eq!(
        s.source_hash,
        format!("{:016x}", crate::engine::rng::fnv1a(MINIMAL.as_bytes()))
    );
}

/// HAProxy's `timeout queue`, unset, is the backend's `timeout connect` (HAP-CFG "timeout
/// queue": "If unspecified, the same value as the backend's connection timeout ("timeout
/// connect") is used"): a scenario that sets only `health.timeout_connect` queues that long,
/// from the file or from `--set`; one that sets `lb.timeout_queue` keeps it.
#[test]
fn timeout_queue_falls_back_to_timeout_connect() {
    let with_connect = format!("{MINIMAL}[health]\ntimeout_connect = \"12s\"\n");
    assert_eq!(
        ok(&with_connect, &[]).config.lb.timeout_queue,
        SimTime::from_secs(12)
    );
    assert_eq!(
        ok(MINIMAL, &["health.timeout_connect=2s"])
            .config
            .lb
            .timeout_queue,
        SimTime::from_secs(2)
    );
    let both = format!("{with_connect}[lb]\ntimeout_queue = \"3s\"\n");
    assert_eq!(
        ok(&both, &[]).config.lb.timeout_queue,
        SimTime::from_secs(3)
    );
}

#[test]
fn servers_shorthand_and_defaults() {
    let text = format!(
        "{TOP}servers = 3\n[defaults.server]\napp_workers = 8\nnginx_workers = 2\n\
         [database]\nreplicas = 2\n[database.primary]\nworkers = 4\nmax_connections = 50\n"
    );
    let c = ok(&text, &[]).config;
    let names: Vec<&str> = c.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web-01", "web-02", "web-03"]);
    assert!(c.servers.iter().all(|s| s.app_workers == 8));
    // Unset, nginx_max_conns follows worker_processes x 512.
    assert!(c.servers.iter().all(|s| s.nginx_max_conns == 1024));
    let r: Vec<(&str, u32, u32)> = c
        .database
        .replicas
        .iter()
        .map(|r| (r.name.as_str(), r.workers, r.max_connections))
        .collect();
    assert_eq!(r, [("db-replica-1", 4, 50), ("db-replica-2", 4, 50)]);
}

#[test]
fn server_tables_inherit_from_defaults() {
    let text = format!(
        "{MINIMAL}[defaults.server]\napp_workers = 8\n\
         [[servers]]\nname = \"a\"\n[[servers]]\nname = \"b\"\napp_workers = 2\nspeed = 2.0\n\
         [[servers]]\n"
    );
    let c = ok(&text, &[]).config;
    assert_eq!(c.servers[0].app_workers, 8);
    assert_eq!(c.servers[1].app_workers, 2);
    assert_eq!(c.servers[1].speed, 2.0);
    assert_eq!(c.servers[2].name, "web-03");
}

#[test]
fn unknown_key_has_path_and_line() {
    let text = "duration = \"10s\"\n[workload]\nrate = 100\n\n[[servers]]\nname = \"a\"\n\n\
                [[servers]]\nname = \"b\"\nwieght = 2\n";
    let e = err(text, &[]);
    assert_eq!(e.problems.len(), 1, "{e}");
    let p = problem(&e, "servers[1].wieght");
    assert_eq!(p.line, Some(10));
    assert!(p.message.contains("unknown key `wieght`"), "{}", p.message);
    assert!(p.message.contains("did you mean `weight`"), "{}", p.message);
    assert!(
        e.to_string()
            .starts_with("error: scenarios/test.toml: servers[1].wieght (line 10): unknown key"),
        "{e}"
    );
}

#[test]
fn several_unknown_keys_and_type_errors_reported_together() {
    let text = "duration = \"10s\"\ncolour = 1\n[workload]\nrate = \"fast\"\n\
                [lb]\nalgoritm = \"first\"\nthreads = 1.5\n";
    let e = err(text, &[]);
    assert_eq!(e.problems.len(), 4, "{e}");
    assert_eq!(problem(&e, "colour").line, Some(2));
    let p = problem(&e, "workload.rate");
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("expected a number"), "{}", p.message);
    assert_eq!(problem(&e, "lb.algoritm").line, Some(6));
    assert_eq!(problem(&e, "lb.threads").line, Some(7));
    // Sorted by line.
    let lines: Vec<_> = e.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [Some(2), Some(4), Some(6), Some(7)]);
}

#[test]
fn type_error_has_line() {
    let text = "duration = \"10s\"\n[workload]\nrate = 100\nclients = \"many\"\n";
    let e = err(text, &[]);
    let p = problem(&e, "workload.clients");
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("whole number"), "{}", p.message);
}

#[test]
fn syntax_error_has_line() {
    let e = err("duration = \"10s\"\n[workload]\nrate = = 3\n", &[]);
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.problems[0].line, Some(3));
    assert!(e.problems[0].message.starts_with("TOML syntax"), "{e}");
    assert!(!e.to_string().contains('\n'), "one line per problem: {e}");
}

#[test]
fn many_validation_problems_reported_together() {
    let text = r#"
duration = "0s"
warmup = "5"
seed = -1

[workload]
arrival = "bursty"
rate = -3
clients = 0
phases = [ { at = "2min", rate = 10 }, { at = "1min", rate = -1 } ]

[[workload.mix]]
name = "a"
weight = 0
app = "exp(5ms)"

[[workload.mix]]
name = "a"
app = "lognormal(5ms, cv=0)"
nginx = "normal(1ms)"
reads = -1

[lb]
algorithm = "fastest"
threads = 0
timeout_queue = 5

[defaults.server]
weight = 300

[[servers]]
name = "web-01"
app_workers = 0
speed = -1

[[servers]]
name = "web-01"

[database]
read_from = "nowhere"
read_time = { dist = "lognormal", mean = "1ms", cv = -1 }

[database.primary]
workers = 200
max_connections = 0

[database.replication]
appliers = 0
apply_factor = 0
"#;
    let e = err(text, &[]);
    let keys = [
        "duration",
        "warmup",
        "seed",
        "workload.arrival",
        "workload.rate",
        "workload.clients",
        "workload.phases[1].at",
        "workload.phases[1].rate",
        "workload.mix[0].weight",
        "workload.mix[1].name",
        "workload.mix[1].app",
        "workload.mix[1].nginx",
        "workload.mix[1].reads",
        "lb.algorithm",
        "lb.threads",
        "lb.timeout_queue",
        "defaults.server.weight",
        "servers[0].app_workers",
        "servers[0].speed",
        "servers[1].name",
        "database.read_from",
        "database.read_time.cv",
        "database.primary.max_connections",
        "database.replication.appliers",
        "database.replication.apply_factor",
    ];
    for k in keys {
        let p = problem(&e, k);
        assert!(p.line.is_some(), "{k} has no line: {e}");
    }
    assert_eq!(e.problems.len(), keys.len(), "{e}");
    assert_eq!(problem(&e, "workload.rate").line, Some(8));
    let shown = e.to_string();
    assert!(
        shown.contains("workload.rate (line 8): must be a number > 0, got -3"),
        "{shown}"
    );
    assert!(
        shown.contains("database.primary.max_connections (line 45): must be a whole number from 1"),
        "{shown}"
    );
    assert!(shown.contains("add one"), "{shown}");
    assert_eq!(shown.lines().count(), keys.len());
}

#[test]
fn absurd_sizes_refused() {
    let e = err("duration = \"1y\"\n[workload]\nrate = 1000\n", &[]);
    assert!(problem(&e, "duration").message.contains("requests"), "{e}");
    let e = err(&format!("{TOP}servers = 10001\n"), &[]);
    assert!(problem(&e, "servers").message.contains("10000"), "{e}");
    let e = err(&format!("{TOP}[database]\nreplicas = 2000\n"), &[]);
    assert!(
        problem(&e, "database.replicas").message.contains("1024"),
        "{e}"
    );
    let e = err(&format!("{TOP}servers = 0\n"), &[]);
    assert!(problem(&e, "servers").line.is_some(), "{e}");
    let e = err(&format!("{TOP}servers = []\n"), &[]);
    assert!(
        problem(&e, "servers").message.contains("at least one"),
        "{e}"
    );
    let e = err(&format!("{TOP}servers = \"two\"\n"), &[]);
    assert!(problem(&e, "servers").message.contains("string"), "{e}");
}

#[test]
fn required_keys_are_named() {
    let e = err("", &[]);
    assert!(problem(&e, "duration").message.contains("required"));
    assert!(problem(&e, "workload.rate").message.contains("required"));
    let e = err(&format!("{MINIMAL}[[workload.mix]]\nname = \"x\"\n"), &[]);
    assert!(
        problem(&e, "workload.mix[0].app")
            .message
            .contains("required")
    );
}

#[test]
fn phases_and_algorithms() {
    let text = format!(
        "{MINIMAL}phases = [{{ at = \"2s\", rate = 300 }}, {{ at = \"4s\", rate = 0 }}]\n\
         [lb]\nalgorithm = \"random(3)\"\n"
    );
    // The phases line continues the [workload] table of MINIMAL.
    let c = ok(&text, &[]).config;
    assert_eq!(c.workload.phases.len(), 2);
    assert_eq!(c.workload.phases[1].at, SimTime::from_secs(4));
    assert_eq!(c.lb.algorithm, Algorithm::Random { draws: 3 });
    let c = ok(MINIMAL, &["lb.algorithm=random"]).config;
    assert_eq!(c.lb.algorithm, Algorithm::Random { draws: 2 });
}

#[test]
fn overrides_apply_and_are_named_in_errors() {
    let s = ok(
        MINIMAL,
        &[
            "lb.algorithm=leastconn",
            "servers.count=3",
            "servers[2].weight=2",
            "workload.rate=250.5",
            "duration=1min",
            "workload.mix=[{ name = \"x\", app = \"exp(1ms)\" }]",
        ],
    );
    let c = &s.config;
    assert_eq!(c.lb.algorithm, Algorithm::LeastConn);
    assert_eq!(c.servers.len(), 3);
    assert_eq!(c.servers[2].name, "web-03");
    assert_eq!(c.servers[2].weight, 2);
    assert_eq!(c.workload.rate, 250.5);
    assert_eq!(c.duration, SimTime::from_secs(60));
    assert_eq!(c.workload.mix[0].name, "x");
    assert_eq!(s.overrides.len(), 6);

    let e = err(MINIMAL, &["workload.rate=-5"]);
    let p = problem(&e, "workload.rate");
    assert_eq!(p.line, None);
    assert!(p.message.contains("(set by --set workload.rate=-5)"), "{e}");

    let e = err(MINIMAL, &["lb.algoritm=first"]);
    let p = problem(&e, "lb.algoritm");
    assert!(p.message.contains("unknown key"), "{e}");
    assert!(p.message.contains("--set lb.algoritm=first"), "{e}");

    let e = err(MINIMAL, &["servers[4].weight=2"]);
    assert!(
        problem(&e, "servers[4].weight")
            .message
            .contains("out of range"),
        "{e}"
    );
}

#[test]
fn count_override_copies_the_last_server() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/distributed.toml");
    let s = load(&path, &["servers.count=3".to_string()]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = s.config.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web-01", "web-02", "web-03"]);
    assert_eq!(s.config.servers[2].app_workers, 4);
    let s = load(&path, &["database.replicas.count=2".to_string()]).unwrap();
    assert_eq!(s.config.database.replicas[1].name, "db-replica-2");
}

#[test]
fn file_problem_keeps_its_line_next_to_an_override() {
    let text =
        "duration = \"10s\"\n[workload]\nrate = 100\n[[servers]]\nname = \"a\"\nweight = 0\n";
    let e = err(text, &["servers.count=2"]);
    // servers[0].weight is in the file; servers[1] (a copy) comes from the override.
    assert_eq!(problem(&e, "servers[0].weight").line, Some(6));
    let p = problem(&e, "servers[1].weight");
    assert_eq!(p.line, None);
    assert!(p.message.contains("set by --set servers.count=2"), "{e}");
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let e = load(Path::new("/nonexistent/x.toml"), &[]).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
}

#[test]
fn junk_never_panics() {
    let junk = [
        "",
        "=",
        "[",
        "[[servers]]\n[servers]",
        "servers = [1, 2]",
        "workload = 3",
        "database = { replicas = [\"a\"] }",
        "workload.mix = [[1]]",
        "\u{0}",
        "a.b.c = 1",
        "duration = 1e400",
        "duration = \"99999999999999999999999y\"",
        "lb = { algorithm = 3 }",
        "workload = { rate = nan }",
        "workload = { rate = inf }",
        "workload = { phases = [ { at = \"1s\" } ] }",
        "[defaults]\nserver = { name = \"x\" }",
    ];
    for j in junk {
        let _ = load_str(j, &origin(), &[]);
        let _ = load_str(j, &origin(), &["servers.count=2".into(), "x[0]=1".into()]);
    }
}

#[test]
fn shipped_scenarios_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for name in ["distributed", "mm1", "mmc"] {
        let s = load(&dir.join(format!("{name}.toml")), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.config.name, name);
    }
    let d = load(&dir.join("distributed.toml"), &[]).unwrap().config;
    assert_eq!(d.servers.len(), 2);
    assert_eq!(d.database.replicas.len(), 1);
    assert_eq!(d.lb.algorithm, Algorithm::RoundRobin);
    assert_eq!(d.workload.mix.len(), 3);

    let m = load(&dir.join("mm1.toml"), &[]).unwrap().config;
    assert_eq!(m.servers[0].app_workers, 1);
    assert!(m.lb.processing.is_zero() && m.workload.mix[0].nginx.is_zero());
    let rho = m.workload.rate * m.workload.mix[0].app.mean() / m.servers[0].app_workers as f64;
    assert!((rho - 0.8).abs() < 1e-12);
    let requests = m.workload.rate * m.duration.as_secs_f64();
    assert!((9e5..2e6).contains(&requests), "{requests}");

    let c = load(&dir.join("mmc.toml"), &[]).unwrap().config;
    let rho = c.workload.rate * c.workload.mix[0].app.mean() / c.servers[0].app_workers as f64;
    assert!((rho - 0.8).abs() < 1e-12);
    assert_eq!(c.servers[0].app_workers, 4);
}

#[test]
fn empirical_paths_are_relative_to_the_scenario() {
    let dir = std::env::temp_dir().join(format!("infrasim-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.csv"), "ms\n10\n30\n").unwrap();
    let text = format!(
        "{MINIMAL}[[workload.mix]]\napp = {{ dist = \"empirical\", file = \"app.csv\", unit = \"ms\" }}\n"
    );
    let s = load_str(&text, &dir.join("s.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!((s.config.workload.mix[0].app.mean() - 0.02).abs() < 1e-12);
    let text = format!("{MINIMAL}[[workload.mix]]\napp = \"empirical(missing.csv)\"\n");
    let e = load_str(&text, &dir.join("s.toml"), &[]).unwrap_err();
    let p = problem(&e, "workload.mix[0].app");
    assert!(p.message.contains("missing.csv"), "{e}");
    assert_eq!(p.line, Some(5));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn indexed_override_on_implicit_lists() {
    // No `servers` in the file: it stands for one server, web-01.
    let c = ok(MINIMAL, &["servers[0].weight=3"]).config;
    assert_eq!(c.servers.len(), 1);
    assert_eq!(
        (c.servers[0].name.as_str(), c.servers[0].weight),
        ("web-01", 3)
    );
    let c = ok(
        MINIMAL,
        &[
            "database.replicas.count=2",
            "database.replicas[1].speed=0.5",
        ],
    )
    .config;
    assert_eq!(c.database.replicas[1].name, "db-replica-2");
    assert_eq!(c.database.replicas[1].speed, 0.5);
    let e = err(MINIMAL, &["database.replicas[0].speed=0.5"]);
    assert!(e.to_string().contains("database.replicas.count=1"), "{e}");
}

#[test]
fn deeply_nested_input_does_not_overflow() {
    let deep = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(load_str(&deep, &origin(), &[]).is_err());
    let deep = format!("x = {}1{}", "{a=".repeat(10_000), "}".repeat(10_000));
    assert!(load_str(&deep, &origin(), &[]).is_err());
}

// ---- failures, health checks, failover (docs/scenario.md "Failures and failover") ---------

mod failures {
    use super::*;
    use crate::dist::Dist;
    use crate::model::{DbFailover, FaultKind, HealthCheck, LbHa, Target, TargetKind};

    /// Two servers, a primary and two replicas, 10 minutes.
    const BASE: &str =
        "duration = \"10min\"\nworkload = { rate = 100 }\nservers = 2\n[database]\nreplicas = 2\n";

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn no_failure_sections_give_the_model_defaults() {
        let c = ok(MINIMAL, &[]).config;
        let f = &c.failures;
        assert!(f.scheduled.is_empty());
        assert!(f.random.is_empty());
        assert_eq!(
            format!("{:?}", f.health),
            format!("{:?}", HealthCheck::default())
        );
        assert_eq!(
            format!("{:?}", f.db_failover),
            format!("{:?}", DbFailover::default())
        );
        assert!(matches!(f.lb_ha, LbHa::Single));
        assert_eq!(f.timeline_interval, secs(1));
        assert!(c.servers.iter().all(|s| !s.backup));
        // The documented values.
        let h = &f.health;
        assert!(h.enabled && !h.layer7 && !h.redispatch);
        assert_eq!(
            (h.inter, h.fastinter, h.downinter),
            (secs(2), secs(2), secs(2))
        );
        assert_eq!((h.rise, h.fall, h.retries), (2, 3, 3));
        assert_eq!(h.timeout_connect, secs(5));
        let d = &f.db_failover;
        assert!(d.automatic && !d.semi_sync);
        assert_eq!((d.poll_interval, d.poll_count), (secs(5), 2));
        assert_eq!(d.promotion, Dist::det(10.0).unwrap());
        assert_eq!(d.semi_sync_timeout, secs(10));
    }

    #[test]
    fn health_section() {
        let text = format!(
            "{BASE}[health]\nenabled = false\ninter = \"1s\"\nfastinter = \"500ms\"\n\
             downinter = \"5s\"\nrise = 3\nfall = 2\ncheck = \"http\"\nretries = 0\n\
             redispatch = true\ntimeout_connect = \"3s\"\n"
        );
        let h = ok(&text, &[]).config.failures.health;
        assert!(!h.enabled && h.layer7 && h.redispatch);
        assert_eq!(h.inter, secs(1));
        assert_eq!(h.fastinter, SimTime::from_millis(500));
        assert_eq!(h.downinter, secs(5));
        assert_eq!((h.rise, h.fall, h.retries), (3, 2, 0));
        assert_eq!(h.timeout_connect, secs(3));
        // fastinter and downinter follow inter when unset.
        let text = format!("{BASE}[health]\ninter = \"1s\"\ncheck = \"tcp\"\n");
        let h = ok(&text, &[]).config.failures.health;
        assert_eq!(
            (h.inter, h.fastinter, h.downinter),
            (secs(1), secs(1), secs(1))
        );
        assert!(!h.layer7);
    }

    #[test]
    fn lb_ha_modes() {
        let text = format!(
            "{BASE}[lb]\nha = \"active-passive\"\n[lb.vrrp]\nadvert_int = \"500ms\"\n\
             backup_priority = 150\npreempt = false\nmaster_state = false\n\
             track_haproxy = true\nscript_interval = \"2s\"\nscript_fall = 2\n"
        );
        match ok(&text, &[]).config.failures.lb_ha {
            LbHa::ActivePassive {
                advert_int,
                backup_priority,
                preempt,
                master_state,
                track,
            } => {
                assert_eq!(advert_int, SimTime::from_millis(500));
                assert_eq!(backup_priority, 150);
                assert!(!preempt);
                assert!(!master_state);
                let t = track.expect("tracked");
                assert_eq!((t.interval, t.fall, t.rise), (secs(2), 2, 1));
            }
            other => panic!("{other:?}"),
        }
        // A script setting without the script is a mistake, named at its key.
        let text = format!("{BASE}[lb]\nha = \"active-passive\"\n[lb.vrrp]\nscript_fall = 2\n");
        let e = err(&text, &[]).to_string();
        assert!(e.contains("lb.vrrp.script_fall"), "{e}");
        // keepalived's defaults when [lb.vrrp] is absent.
        let c = ok(BASE, &["lb.ha=active-passive"]).config;
        assert!(matches!(
            c.failures.lb_ha,
            LbHa::ActivePassive {
                advert_int,
                backup_priority: 100,
                preempt: true,
                master_state: true,
                track: None,
            } if advert_int == secs(1)
        ));
        let text = format!(
            "{BASE}[lb]\nha = \"active-active\"\ndns = {{ ttl = \"5min\", withdraw_after = \"20s\" }}\n"
        );
        let c = ok(&text, &[]).config;
        assert!(matches!(
            c.failures.lb_ha,
            LbHa::ActiveActive { dns_ttl, withdraw_after }
                if dns_ttl == secs(300) && withdraw_after == secs(20)
        ));
        let c = ok(BASE, &["lb.ha=active-active"]).config;
        assert!(matches!(
            c.failures.lb_ha,
            LbHa::ActiveActive { dns_ttl, withdraw_after }
                if dns_ttl == secs(60) && withdraw_after == secs(90)
        ));
        let c = ok(BASE, &["lb.ha=single"]).config;
        assert!(matches!(c.failures.lb_ha, LbHa::Single));
    }

    #[test]
    fn database_failover_and_semi_sync() {
        let text = format!(
            "{BASE}[database.failover]\nautomatic = false\npoll_interval = \"3s\"\n\
             poll_count = 3\npromotion = \"uniform(5min, 20min)\"\n\
             [database.replication]\nsemi_sync = true\nsemi_sync_timeout = \"2s\"\n"
        );
        let d = ok(&text, &[]).config.failures.db_failover;
        assert!(!d.automatic && d.semi_sync);
        assert_eq!((d.poll_interval, d.poll_count), (secs(3), 3));
        assert!((d.promotion.mean() - 750.0).abs() < 1e-9);
        assert_eq!(d.semi_sync_timeout, secs(2));
    }

    #[test]
    fn backup_servers() {
        let text = format!(
            "{MINIMAL}[defaults.server]\nbackup = true\n[[servers]]\nname = \"a\"\n\
             backup = false\n[[servers]]\nname = \"b\"\n"
        );
        let c = ok(&text, &[]).config;
        assert_eq!(
            c.servers.iter().map(|s| s.backup).collect::<Vec<_>>(),
            [false, true]
        );
        let text = format!("{MINIMAL}[[servers]]\nname = \"a\"\n[[servers]]\nbackup = true\n");
        let c = ok(&text, &[]).config;
        assert!(!c.servers[0].backup && c.servers[1].backup);

        // Only backups: refused.
        let text = format!("{TOP}servers = 2\n[defaults.server]\nbackup = true\n");
        let e = err(&text, &[]);
        let p = problem(&e, "defaults.server.backup");
        assert_eq!(p.line, Some(5));
        assert!(p.message.contains("at least one must be active"), "{e}");
        let text = format!("{MINIMAL}[[servers]]\nname = \"a\"\nbackup = true\n");
        let e = err(&text, &[]);
        assert_eq!(problem(&e, "servers[0].backup").line, Some(6), "{e}");
        let e = err(MINIMAL, &["servers[0].backup=true"]);
        assert!(
            problem(&e, "servers[0].backup")
                .message
                .contains("set by --set servers[0].backup=true"),
            "{e}"
        );
    }

    #[test]
    fn scheduled_faults_resolve_every_target() {
        let text = format!(
            "{BASE}[lb]\nha = \"active-passive\"\n\
             [[faults]]\ntarget = \"db.primary\"\nat = \"2min\"\n\
             [[faults]]\ntarget = \"web-02\"\nat = \"1min\"\nduration = \"30s\"\n\
             [[faults]]\ntarget = \"web-01.app\"\nat = \"0s\"\n\
             [[faults]]\ntarget = \"lb\"\nat = \"1s\"\n\
             [[faults]]\ntarget = \"lb-1\"\nat = \"1s\"\n\
             [[faults]]\ntarget = \"lb-2\"\nat = \"1s\"\n\
             [[faults]]\ntarget = \"db-primary\"\nkind = \"crash\"\nat = \"3min\"\n\
             [[faults]]\ntarget = \"db-replica-2\"\nkind = \"slow\"\nfactor = 3\n\
             at = \"4min\"\nduration = \"1min\"\n\
             [[faults]]\ntarget = \"db.link\"\nat = \"5min\"\nduration = \"10s\"\n\
             [[faults]]\ntarget = \"db.primary\"\nkind = \"SLOW\"\nfactor = 0.5\nat = \"9min\"\n"
        );
        let f = ok(&text, &[]).config.failures.scheduled;
        let got: Vec<(Target, FaultKind, SimTime, Option<SimTime>)> = f
            .iter()
            .map(|x| (x.target, x.kind, x.at, x.duration))
            .collect();
        assert_eq!(
            got,
            [
                (Target::DbPrimary, FaultKind::Crash, secs(120), None),
                (
                    Target::Server(1),
                    FaultKind::Crash,
                    secs(60),
                    Some(secs(30))
                ),
                (Target::App(0), FaultKind::Crash, SimTime::ZERO, None),
                (Target::Lb(0), FaultKind::Crash, secs(1), None),
                (Target::Lb(0), FaultKind::Crash, secs(1), None),
                (Target::Lb(1), FaultKind::Crash, secs(1), None),
                (Target::DbNode(0), FaultKind::Crash, secs(180), None),
                (
                    Target::DbNode(2),
                    FaultKind::Slow(3.0),
                    secs(240),
                    Some(secs(60))
                ),
                (Target::DbLink, FaultKind::Crash, secs(300), Some(secs(10))),
                (Target::DbPrimary, FaultKind::Slow(0.5), secs(540), None),
            ]
        );
    }

    #[test]
    fn random_faults_from_means_or_distributions() {
        let text = format!(
            "{BASE}[[random_faults]]\ncomponent = \"server\"\nmttf = \"90d\"\nmttr = \"2h\"\n\
             [[random_faults]]\ncomponent = \"db\"\nttf = \"weibull(shape=1.5, mean=90d)\"\n\
             ttr = \"uniform(5min, 20min)\"\n\
             [[random_faults]]\ncomponent = \"app\"\nmttf = \"30d\"\nttr = \"det(5s)\"\n\
             [[random_faults]]\ncomponent = \"lb\"\nmttf = \"1y\"\nmttr = \"4h\"\n\
             [[random_faults]]\ncomponent = \"db.link\"\nmttf = \"1y\"\nmttr = \"1min\"\n"
        );
        let r = ok(&text, &[]).config.failures.random;
        let kinds: Vec<TargetKind> = r.iter().map(|x| x.kind).collect();
        assert_eq!(
            kinds,
            [
                TargetKind::Server,
                TargetKind::DbNode,
                TargetKind::App,
                TargetKind::Lb,
                TargetKind::DbLink
            ]
        );
        let day = 86_400.0;
        // mttf = "90d" is exactly ttf = "exp(90d)".
        assert_eq!(
            r[0].ttf,
            parse_dist_str("exp(90d)", Path::new(".")).unwrap()
        );
        assert!((r[0].ttf.mean() / (90.0 * day) - 1.0).abs() < 1e-12);
        assert_eq!(r[0].ttr, parse_dist_str("exp(2h)", Path::new(".")).unwrap());
        assert!(matches!(r[1].ttf, Dist::Weibull(_)));
        assert!((r[1].ttf.mean() / (90.0 * day) - 1.0).abs() < 1e-9);
        assert!((r[1].ttr.mean() - 750.0).abs() < 1e-9);
        assert_eq!(r[2].ttr, Dist::det(5.0).unwrap());
        assert!(r.iter().all(|x| x.repair.crews.is_none()));
    }

    #[test]
    fn monitoring_detects_failures_unless_a_supervisor_restarts() {
        use crate::model::repair::Detection;
        let faults = "[[random_faults]]\ncomponent = \"server\"\nmttf = \"90d\"\nmttr = \"2h\"\n\
                      [[random_faults]]\ncomponent = \"app\"\nmttf = \"30d\"\nmttr = \"10s\"\n\
                      supervisor = true\n";
        let text = format!("{BASE}{faults}[monitoring]\nfor = \"2m\"\n");
        let r = ok(&text, &[]).config.failures.random;
        assert_eq!(r[1].repair.detection, None);
        let Some(Detection::Alerts {
            scrape,
            evaluation,
            pending,
            notify,
            acknowledge: Some(ack),
        }) = &r[0].repair.detection
        else {
            panic!("{:?}", r[0].repair)
        };
        assert_eq!((*scrape, *evaluation), (secs(60), secs(60)));
        assert_eq!((*pending, *notify), (secs(120), secs(30)));
        assert!((ack.mean() - 300.0).abs() < 1e-9);
        let text = format!("{BASE}{faults}[monitoring]\nalerts = false\n");
        let r = ok(&text, &[]).config.failures.random;
        let Some(Detection::Complaint(d)) = &r[0].repair.detection else {
            panic!("{:?}", r[0].repair)
        };
        assert!((d.mean() - 1800.0).abs() < 1e-9);
        // Without the section nothing changes: the time to repair is the whole outage.
        let r = ok(&format!("{BASE}{faults}"), &[]).config.failures.random;
        assert!(r.iter().all(|x| x.repair.detection.is_none()));
    }

    #[test]
    fn monitoring_keys_are_checked() {
        let faults = "[[random_faults]]\ncomponent = \"server\"\nmttf = \"90d\"\nmttr = \"2h\"\n";
        let text = format!(
            "{BASE}{faults}[monitoring]\nscrape_interval = \"0s\"\nevaluation_interval = 5\n\
             for = \"-1s\"\nacknowledge = \"exp(\"\nautomatic = true\ncomplaint = \"exp(1h)\"\n"
        );
        let e = err(&text, &[]);
        for k in [
            "monitoring.scrape_interval",
            "monitoring.evaluation_interval",
            "monitoring.for",
            "monitoring.acknowledge",
            "monitoring.complaint",
        ] {
            assert!(problem(&e, k).line.is_some(), "{k} has no line: {e}");
        }
        let text = format!("{BASE}{faults}[monitoring]\nalerts = false\nfor = \"1m\"\n");
        let e = err(&text, &[]);
        assert!(
            problem(&e, "monitoring.for")
                .message
                .contains("only with alerts = true"),
            "{e}"
        );
    }

    #[test]
    fn repair_crews_are_shared_by_one_entry() {
        let text = format!(
            "{BASE}[[random_faults]]\ncomponent = \"server\"\nmttf = \"90d\"\nmttr = \"2h\"\n\
             repair_crews = 1\n"
        );
        let r = ok(&text, &[]).config.failures.random;
        assert_eq!(r[0].repair.crews, Some(1));
    }

    #[test]
    fn timeline_interval() {
        let text = format!("{BASE}[timeline]\ninterval = \"250ms\"\n");
        let c = ok(&text, &[]).config;
        assert_eq!(c.failures.timeline_interval, SimTime::from_millis(250));
        // Unset on a long run: widened to keep at most a million rows.
        let c = ok("duration = \"30d\"\nworkload = { rate = 1 }\n", &[]).config;
        assert_eq!(c.failures.timeline_interval, secs(5));
        let e = err(&format!("{BASE}[timeline]\ninterval = \"0.1ms\"\n"), &[]);
        let p = problem(&e, "timeline.interval");
        assert_eq!(p.line, Some(7));
        assert!(
            p.message.contains("6000000 timeline rows") && p.message.contains("at least 600us"),
            "{e}"
        );
    }

    #[test]
    fn every_failure_problem_has_its_key_and_line() {
        let text = r#"
duration = "10min"
workload = { rate = 100 }
servers = 2

[lb]
[lb.vrrp]
backup_priority = 255

[health]
inter = "0s"
rise = 0
fall = 0
retries = 101
check = "udp"
timeout_connect = "-1s"

[database]
replicas = 1
[database.failover]
poll_count = 0
poll_interval = "0s"
promotion = "exp(-1s)"
[database.replication]
semi_sync_timeout = "0s"

[[faults]]
target = "web-3"
at = "1min"

[[faults]]
target = "web-01"
kind = "slow"
factor = 2.0
at = "1min"

[[faults]]
target = "db-replica-1"
kind = "slow"
at = "1min"

[[faults]]
target = "web-01.app"
factor = 2.0
at = "1min"

[[faults]]
target = "db.link"
at = "10min"

[[faults]]
target = "db.primary"
at = "1min"
duration = "0s"

[[faults]]
target = "lb-2"
at = "1min"

[[faults]]
target = "db-primary"
kind = "slow"
factor = -1
at = "-5s"

[[faults]]
kind = "explode"

[[random_faults]]
component = "server"
mttf = "90d"
ttf = "exp(90d)"
mttr = "1h"

[[random_faults]]
component = "db"
ttr = "0s"

[[random_faults]]
component = "server"
mttf = "exp(30d)"
mttr = "0s"

[[random_faults]]
component = "rack"
mttf = "1y"
mttr = "1h"
repair_crews = 0

[timeline]
interval = "0s"
"#;
        let e = err(text, &[]);
        let keys = [
            "lb.vrrp",
            "lb.vrrp.backup_priority",
            "health.inter",
            "health.rise",
            "health.fall",
            "health.retries",
            "health.check",
            "health.timeout_connect",
            "database.failover.poll_count",
            "database.failover.poll_interval",
            "database.failover.promotion",
            "database.replication.semi_sync_timeout",
            "faults[0].target",
            "faults[1].kind",
            "faults[2].factor",
            "faults[3].factor",
            "faults[4].at",
            "faults[5].duration",
            "faults[6].target",
            "faults[7].factor",
            "faults[7].at",
            "faults[8].target",
            "faults[8].kind",
            "faults[8].at",
            "random_faults[0].ttf",
            "random_faults[1].mttf",
            "random_faults[1].ttr",
            "random_faults[2].component",
            "random_faults[2].mttf",
            "random_faults[2].mttr",
            "random_faults[3].component",
            "random_faults[3].repair_crews",
            "timeline.interval",
        ];
        for k in keys {
            assert!(problem(&e, k).line.is_some(), "{k} has no line: {e}");
        }
        assert_eq!(e.problems.len(), keys.len(), "{e}");
        let msg = |k: &str| problem(&e, k).message.clone();
        assert!(
            msg("lb.vrrp").contains("only with ha = \"active-passive\""),
            "{e}"
        );
        assert!(
            msg("lb.vrrp.backup_priority").contains("from 1 to 254"),
            "{e}"
        );
        let m = msg("faults[0].target");
        assert!(
            m.contains("did you mean \"web-01\"") || m.contains("\"web-02\""),
            "{m}"
        );
        assert!(
            m.contains("lb, lb-1 (load balancers); web-01, web-02 (server hosts)")
                && m.contains("web-01.app, web-02.app")
                && m.contains("db.primary")
                && m.contains("db.link")
                && m.contains("db-primary, db-replica-1 (database nodes)"),
            "{m}"
        );
        assert!(
            msg("faults[1].kind").contains("only to database nodes"),
            "{e}"
        );
        assert!(msg("faults[2].factor").contains("required"), "{e}");
        assert!(
            msg("faults[3].factor").contains("only to kind = \"slow\""),
            "{e}"
        );
        assert!(
            msg("faults[4].at").contains("before the end of the run"),
            "{e}"
        );
        assert!(msg("faults[5].duration").contains("permanent"), "{e}");
        assert!(msg("faults[6].target").contains("one LB"), "{e}");
        assert!(msg("faults[7].at").contains("negative"), "{e}");
        assert!(msg("random_faults[0].ttf").contains("not both"), "{e}");
        assert!(msg("random_faults[1].ttr").contains("mean > 0"), "{e}");
        assert!(
            msg("random_faults[2].component").contains("random_faults[0]"),
            "{e}"
        );
        assert!(msg("random_faults[2].mttf").contains("write ttf"), "{e}");
        assert!(msg("health.retries").contains("from 0 to 100"), "{e}");
        assert_eq!(problem(&e, "health.rise").line, Some(12));
        assert_eq!(problem(&e, "faults[0].target").line, Some(28));
    }

    #[test]
    fn ha_sections_must_match_the_mode() {
        let text = format!("{BASE}[lb]\nha = \"active-passive\"\n[lb.dns]\nttl = \"1min\"\n");
        let e = err(&text, &[]);
        assert_eq!(e.problems.len(), 1, "{e}");
        let p = problem(&e, "lb.dns");
        assert_eq!(p.line, Some(8));
        assert!(
            p.message.contains("only with ha = \"active-active\""),
            "{e}"
        );
        let e = err(&format!("{BASE}[lb]\nha = \"hot-standby\"\n"), &[]);
        assert!(
            problem(&e, "lb.ha").message.contains("active-passive"),
            "{e}"
        );
        // Switching the mode by --set makes a section written in the file mismatch.
        let text = format!("{BASE}[lb]\nha = \"active-active\"\ndns = {{ ttl = \"1min\" }}\n");
        let e = err(&text, &["lb.ha=active-passive"]);
        assert!(
            problem(&e, "lb.dns")
                .message
                .contains("after --set lb.ha=active-passive"),
            "{e}"
        );
    }

    #[test]
    fn overrides_reach_the_failure_keys() {
        let text = format!(
            "{BASE}[[faults]]\ntarget = \"db.primary\"\nat = \"2min\"\n\
             [[random_faults]]\ncomponent = \"server\"\nmttf = \"90d\"\nmttr = \"2h\"\n"
        );
        let c = ok(
            &text,
            &[
                "lb.ha=active-passive",
                "lb.vrrp.advert_int=2s",
                "faults[0].at=3min",
                "health.check=http",
                "health.redispatch=true",
                "database.failover.promotion=uniform(5min, 20min)",
                "database.replication.semi_sync=true",
                "random_faults[0].mttr=30min",
                "timeline.interval=10s",
                "servers[1].backup=true",
            ],
        )
        .config;
        let f = &c.failures;
        assert!(matches!(f.lb_ha, LbHa::ActivePassive { advert_int, .. } if advert_int == secs(2)));
        assert_eq!(f.scheduled[0].at, secs(180));
        assert!(f.health.layer7 && f.health.redispatch);
        assert!((f.db_failover.promotion.mean() - 750.0).abs() < 1e-9);
        assert!(f.db_failover.semi_sync);
        assert_eq!(f.random[0].ttr, Dist::exp(1800.0).unwrap());
        assert_eq!(f.timeline_interval, secs(10));
        assert!(c.servers[1].backup);

        // faults.count: copies, removes, or creates entries.
        let c = ok(&text, &["faults.count=2", "faults[1].target=web-01"]).config;
        let s = &c.failures.scheduled;
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].target, s[1].at), (Target::Server(0), secs(120)));
        let c = ok(&text, &["faults.count=0", "random_faults.count=0"]).config;
        assert!(c.failures.scheduled.is_empty() && c.failures.random.is_empty());
        let c = ok(
            BASE,
            &["faults.count=1", "faults[0].target=lb", "faults[0].at=1min"],
        )
        .config;
        assert_eq!(c.failures.scheduled[0].target, Target::Lb(0));
        let e = err(BASE, &["faults.count=1"]);
        assert!(
            problem(&e, "faults[0].target")
                .message
                .contains("set by --set faults.count=1"),
            "{e}"
        );
        let e = err(BASE, &["faults[0].at=1min"]);
        assert!(
            problem(&e, "faults[0].at")
                .message
                .contains("--set faults.count=1"),
            "{e}"
        );
        // A bad value set by --set is named.
        let e = err(&text, &["faults[0].target=web-09"]);
        assert!(
            problem(&e, "faults[0].target")
                .message
                .contains("(set by --set faults[0].target=web-09)"),
            "{e}"
        );
    }

    #[test]
    fn unknown_failure_keys_suggest_the_right_one() {
        let text = format!(
            "{BASE}[health]\ninetr = \"1s\"\n[[faults]]\ntarget = \"lb\"\nat = \"1s\"\n\
             duraton = \"1s\"\n[lb.vrrp]\npriority = 100\n"
        );
        let e = err(&text, &[]);
        assert_eq!(e.problems.len(), 3, "{e}");
        let p = problem(&e, "health.inetr");
        assert_eq!(p.line, Some(7));
        assert!(p.message.contains("did you mean `inter`"), "{e}");
        let p = problem(&e, "faults[0].duraton");
        assert_eq!(p.line, Some(11));
        assert!(p.message.contains("did you mean `duration`"), "{e}");
        assert!(
            problem(&e, "lb.vrrp.priority")
                .message
                .contains("allowed here: advert_int, backup_priority, preempt"),
            "{e}"
        );
        let e = err(MINIMAL, &["health.rize=3"]);
        assert!(
            problem(&e, "health.rize")
                .message
                .contains("did you mean `rise`"),
            "{e}"
        );
        let e = err(&format!("{TOP}[[servers]]\nbakup = true\n"), &[]);
        assert!(
            problem(&e, "servers[0].bakup")
                .message
                .contains("did you mean `backup`"),
            "{e}"
        );
    }

    #[test]
    fn broken_lists_do_not_make_unknown_targets() {
        let text = format!("{TOP}servers = 20000\n[[faults]]\ntarget = \"web-01\"\nat = \"1s\"\n");
        let e = err(&text, &[]);
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.problems[0].key, "servers");
        let text = format!("{TOP}[lb]\nha = \"two\"\n[[faults]]\ntarget = \"lb-2\"\nat = \"1s\"\n");
        let e = err(&text, &[]);
        assert_eq!(e.problems.len(), 1, "{e}");
    }

    #[test]
    fn ambiguous_target_names_are_refused() {
        let text = format!(
            "{MINIMAL}[[servers]]\nname = \"lb-1\"\n[[faults]]\ntarget = \"lb-1\"\nat = \"1s\"\n"
        );
        let e = err(&text, &[]);
        assert!(
            problem(&e, "faults[0].target")
                .message
                .contains("ambiguous"),
            "{e}"
        );
    }

    /// Every TOML example of docs/scenario.md "Failures and failover" loads (completed with a
    /// workload, a duration, two servers and a replica when it does not say).
    #[test]
    fn documented_failure_examples_load() {
        let docs =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.md"))
                .unwrap();
        let start = docs.find("## 7. Failures and failover").unwrap();
        let end = start + docs[start..].find("\n## ").unwrap();
        let section = &docs[start..end];
        let blocks: Vec<&str> = section
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 7, "{}", blocks.len());
        for block in blocks {
            let top = block.split("\n[").next().unwrap();
            let mut text = String::from("workload = { rate = 1 }\n");
            if !top.contains("duration =") {
                text.push_str("duration = \"10min\"\n");
            }
            text.push_str(block);
            let mut sets = Vec::new();
            if !block.contains("[[servers]]") {
                sets.push("servers.count=2");
            }
            if !block.contains("replicas") {
                sets.push("database.replicas.count=1");
            }
            let s = ok(&text, &sets);
            let f = &s.config.failures;
            if block.contains("[[faults]]") {
                assert!(!f.scheduled.is_empty(), "{block}");
            }
            if block.contains("[[random_faults]]") {
                let entries = block.matches("[[random_faults]]").count();
                assert_eq!(f.random.len(), entries, "{block}");
            }
        }
    }

    #[test]
    fn failure_junk_never_panics() {
        let junk = [
            "faults = 3",
            "faults = [1]",
            "[[faults]]\nat = 5",
            "[[faults]]\ntarget = 5",
            "[[faults]]\nfactor = nan\nkind = \"slow\"\ntarget = \"db.primary\"",
            "[[random_faults]]\nttf = { dist = \"empirical\" }",
            "[[random_faults]]\nmttf = 3",
            "lb = { ha = 1 }",
            "lb = { vrrp = 1 }",
            "[health]\ninter = \"600y\"",
            "[timeline]\ninterval = \"1ns\"",
            "duration = \"584y\"\n[timeline]\ninterval = \"1ns\"",
        ];
        for j in junk {
            let _ = load_str(j, &origin(), &[]);
            let _ = load_str(&format!("{TOP}{j}"), &origin(), &["faults.count=3".into()]);
        }
    }
}
