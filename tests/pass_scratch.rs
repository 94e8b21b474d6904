//! Fast-path passes in a kept scratch (`availability::PassScratch`, issue 13) give the results
//! of passes built afresh, to the bit, whatever the scratch ran before.
//!
//! One scratch runs every pass of every case in turn (the shipped Monte Carlo scenarios, the
//! monitoring rung with one repair crew per entry, the LB pair behind DNS, the SPOF study with
//! request-level runs of its degraded states), so each pass follows one of another scenario,
//! with other component, server, LB and DB node counts, another replication or another perfect
//! component; each is compared with `simulate_with` (a fresh scratch). A buffer that kept
//! anything from the pass before (a part's flag, a technician still busy, an outage, a
//! blame, a random stream's position, a calendar's clock or events) would change a figure of
//! some pass (leaving the read pool as the last pass left it fails at the first pass that
//! follows another). The check asks the cases to meet what could go stale: failures, repairs
//! by a shared crew, outages, blame, and degraded states. (Epochs and the memo of penalties
//! cannot show: an epoch is only compared with itself within a pass, and a penalty depends on
//! the state alone.)

use infrasim::engine::SimTime;
use infrasim::experiment::montecarlo::Degraded;
use infrasim::model::Config;
use infrasim::model::availability::{self, Options, PassResult, PassScratch};
use std::path::Path;

fn load(file: &str, overrides: &[&str]) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    infrasim::scenario::load(&path, &overrides)
        .unwrap_or_else(|e| panic!("{file}: {e:?}"))
        .config
}

/// What the cases met, summed over their passes.
#[derive(Default)]
struct Met {
    passes: u64,
    failures: u64,
    /// Repairs in the case whose entries share one technician each.
    crew_repairs: u64,
    outages: usize,
    blamed: u64,
}

fn same(name: &str, rep: u64, perfect: Option<usize>, kept: &PassResult, fresh: &PassResult) {
    // `Debug` prints each float's shortest round-trip form: equal strings, equal bits.
    assert_eq!(
        format!("{kept:?}"),
        format!("{fresh:?}"),
        "{name}, replication {rep}, perfect {perfect:?}: the kept scratch changed the pass"
    );
}

/// Every pass of replications `reps` of `cfg` (as configured, then each component perfect),
/// in `scratch` and afresh.
fn compare(
    name: &str,
    cfg: &Config,
    opts: &Options,
    horizon: SimTime,
    reps: std::ops::Range<u64>,
    scratch: &mut PassScratch,
    met: &mut Met,
) {
    let comps = availability::components(cfg);
    for rep in reps {
        for perfect in std::iter::once(None).chain((0..comps.len()).map(Some)) {
            let fresh = availability::simulate_with(cfg, &comps, horizon, rep, perfect, opts);
            let kept = availability::simulate_in(scratch, cfg, &comps, horizon, rep, perfect, opts);
            same(name, rep, perfect, kept, &fresh);
            met.passes += 1;
            met.failures += fresh.failures;
            met.outages += fresh.outages.len();
            met.blamed += fresh.blame_s.iter().filter(|&&b| b > 0.0).count() as u64;
            if name.contains("crew") {
                met.crew_repairs += fresh.repairs;
            }
        }
    }
}

#[test]
fn a_kept_scratch_gives_the_results_of_a_fresh_one() {
    let mut cases: Vec<(String, Config)> = vec![];
    cases.push(("spof_study".into(), load("scenarios/spof_study.toml", &[])));
    let mut ladder: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ladder"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
    ladder.sort();
    assert_eq!(ladder.len(), 6, "the six rungs of the design ladder");
    for p in &ladder {
        let file = format!(
            "scenarios/ladder/{}",
            p.file_name().unwrap().to_string_lossy()
        );
        cases.push((file.clone(), load(&file, &[])));
    }
    let mut crews = load("scenarios/ladder/6_monitoring.toml", &[]);
    for entry in &mut crews.failures.random {
        entry.repair.crews = Some(1);
    }
    cases.push(("6_monitoring with one crew per entry".into(), crews));
    cases.push((
        "4_lb_pair behind DNS".into(),
        load("scenarios/ladder/4_lb_pair.toml", &["lb.ha=active-active"]),
    ));
    // Failures every few weeks per component: a 60-day pass meets several, and the cases
    // together meet every mechanism.
    let horizon = SimTime::from_secs(60 * 86_400);
    let mut scratch = PassScratch::default();
    let mut met = Met::default();
    let coping: Vec<Options> = cases.iter().map(|(_, c)| Options::coping(c)).collect();
    // Interleaved: each case's replication follows another case's.
    for rep in 0..40 {
        for ((name, cfg), opts) in cases.iter().zip(&coping) {
            compare(
                name,
                cfg,
                opts,
                horizon,
                rep..rep + 1,
                &mut scratch,
                &mut met,
            );
        }
    }
    eprintln!(
        "{} passes: {} failures, {} outages, {} blamed, {} repairs by one crew",
        met.passes, met.failures, met.outages, met.blamed, met.crew_repairs
    );
    assert!(
        met.failures > 1_000,
        "{} failures in {} passes",
        met.failures,
        met.passes
    );
    assert!(met.outages > 500, "{} outages", met.outages);
    assert!(met.blamed > 500, "{} blamed components", met.blamed);
    assert!(
        met.crew_repairs > 100,
        "{} repairs by one crew",
        met.crew_repairs
    );

    // The SPOF study with its degraded states run at the request level: the memo of
    // penalties is reset from pass to pass, and a one-day horizon as the study's CI runs.
    let spof = &cases[0].1;
    let spec = load_study("scenarios/spof_study.toml");
    let degraded = Degraded::new(spof, &spec.degraded, spof.slo_latency());
    let with_states = degraded.options(spof);
    let overload_before = met.passes;
    for rep in 0..60 {
        compare(
            "spof_study, states run",
            spof,
            &with_states,
            horizon,
            rep..rep + 1,
            &mut scratch,
            &mut met,
        );
        let day = SimTime::from_secs(86_400);
        compare(
            "spof_study, one day",
            spof,
            &with_states,
            day,
            rep..rep + 1,
            &mut scratch,
            &mut met,
        );
        compare(
            &cases[3].0,
            &cases[3].1,
            &coping[3],
            horizon,
            rep..rep + 1,
            &mut scratch,
            &mut met,
        );
    }
    assert!(met.passes > overload_before);
    assert!(
        !degraded
            .runs
            .as_ref()
            .expect("states are run")
            .measured()
            .is_empty(),
        "the passes met degraded states"
    );
}

fn load_study(file: &str) -> infrasim::scenario::study::MonteCarloSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    infrasim::scenario::load(&path, &[])
        .unwrap()
        .study
        .montecarlo
        .expect("a [montecarlo] section")
}
