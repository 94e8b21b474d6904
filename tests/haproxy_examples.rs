//! `simulate import` on HAProxy's own example configurations, as Debian's `haproxy` package ships
//! them (`/usr/share/doc/haproxy/examples/*.cfg`, from HAProxy's `examples/` folder): each is
//! imported, its unmapped directives are listed on the terminal and atop the scenario, and the
//! scenario it writes runs. The files are not copied into this repository (they are HAProxy's,
//! under its licence); the test reads them where the package puts them, or from
//! `INFRASIM_HAPROXY_EXAMPLES` (`.ci/run` extracts them from the .deb when a minimal image
//! drops /usr/share/doc). Debian's default `/etc/haproxy/haproxy.cfg` has no backend: import
//! refuses it, naming why, and writes nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

fn examples_dir() -> PathBuf {
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

fn sandbox() -> PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-hap-examples-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn haproxy_s_own_examples_import_and_run() {
    let dir = examples_dir();
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
    let out = sandbox();
    for cfg in &cfgs {
        let name = cfg.file_stem().unwrap().to_string_lossy().to_string();
        let scenario = out.join(format!("{name}.toml"));
        let imp = Command::new(BIN)
            .arg("import")
            .arg(cfg)
            .arg("-o")
            .arg(&scenario)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&imp.stderr);
        assert!(imp.status.success(), "import {}: {stderr}", cfg.display());
        // Real configurations use directives the model has no part for: each is listed with
        // its file and line, on the terminal and atop the scenario.
        assert!(stderr.contains("not mapped"), "{name}: {stderr}");
        let text = fs::read_to_string(&scenario).unwrap();
        let listed = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.is_empty())
            .filter(|l| l.contains(&format!("{}:", cfg.display())))
            .count();
        assert!(
            listed > 0,
            "{name}: no unmapped directive listed atop:\n{text}"
        );
        let run = Command::new(BIN)
            .arg(&scenario)
            .args(["--output", "none", "--quiet"])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{name}: the imported scenario does not run: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let _ = fs::remove_dir_all(&out);
}

#[test]
fn a_config_without_a_backend_is_refused_for_what_it_is() {
    let cfg = Path::new("/etc/haproxy/haproxy.cfg");
    assert!(
        cfg.exists(),
        "{} is missing: apt-get install -y haproxy (.ci/run does it)",
        cfg.display()
    );
    let out = sandbox().join("default.toml");
    let imp = Command::new(BIN)
        .arg("import")
        .arg(cfg)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&imp.stderr);
    assert_eq!(imp.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no backend"), "{stderr}");
    assert!(!out.exists(), "a refused import wrote {}", out.display());
}
