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
max_connections = 151

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
        shown.contains("must be >= workers (200), got 151"),
        "{shown}"
    );
    assert!(shown.contains("add one"), "{shown}");
    assert_eq!(shown.lines().count(), keys.len());
}

#[test]
fn absurd_sizes_refused() {
    let e = err("duration = \"1y\"\n[workload]\nrate = 1000\n", &[]);
    assert!(problem(&e, "duration").message.contains("requests"), "{e}");
    let e = err(&format!("{TOP}servers = 5000\n"), &[]);
    assert!(problem(&e, "servers").message.contains("1024"), "{e}");
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
