//! What a run or a study will cost, estimated from the configuration before anything runs, and
//! the limits it must stay within: a value can be valid on its own and still ask for a run that
//! never ends (`[health] inter = "1ns"`), or for more memory than the machine has (a timeline
//! row per second for a thousand servers over eleven days).
//!
//! The estimates count the engine's events by mechanism: every arrival and every stage a
//! request passes through, every health check, every database monitor poll, every timeline row,
//! every random failure and repair. They are orders of magnitude (a few tens of percent off on
//! the shipped scenarios, always on the high side), enough to tell a run of minutes from one of
//! days. The limits are documented in `docs/scenario.md` ("Limits").

use crate::dist::{Dist, Sample};
use crate::engine::SimTime;
use crate::model::degraded::{self, DegradedSpec, OverloadMode};
use crate::model::{Config, RatePhase, TargetKind};

use super::duration::format_duration;
use super::error::Problem;

/// Most events one run may ask for: about 10 minutes at the 15-20 million events per second
/// the engine handles on the full stack (README, "Performance"), more on a faster machine.
pub const MAX_EVENTS: f64 = 1e10;
/// Most faults one run may expect, scheduled and random: each is logged (`events.csv`),
/// reported (`summary.json`, the story) and drawn, so a run of a million failures would spend
/// its time and memory on bookkeeping.
pub const MAX_RUN_FAULTS: f64 = 10_000.0;
/// Most cells (rows × columns) of a run's timeline. Rows are streamed to `timeline.csv` as the
/// run makes them and never held (`model::timeline`), so this bounds the file, about 2-5
/// bytes a cell (1 GB at most), not memory: it lets a run of 10^8 requests on 1,000 servers
/// keep a 10 ms timeline.
pub const MAX_TIMELINE_CELLS: u64 = 200_000_000;
/// Most samples of empirical distributions held by all the points of a sweep together (each
/// point holds its own copy: 100 million are 800 MB).
pub const MAX_SWEEP_SAMPLES: u64 = 100_000_000;

/// Longest label of a swept value (`[sweep] labels`), in characters: it is a chart title's
/// and a table cell's text, so a sentence at most.
pub const MAX_SWEEP_LABEL_CHARS: usize = 80;

/// One mechanism's share of a run's events.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    /// The key that sets its rate (where the problem is reported when it dominates).
    pub key: String,
    /// What it is, in words, with the figures that give its count.
    pub what: String,
    pub events: f64,
}

/// Requests the arrival process will generate on average over `[0, duration)`.
pub fn expected_requests(rate: f64, phases: &[RatePhase], duration: SimTime) -> f64 {
    let mut total = 0.0;
    let mut t = SimTime::ZERO;
    let mut r = rate;
    let mut sorted: Vec<RatePhase> = phases.to_vec();
    sorted.sort_by_key(|p| p.at);
    for p in sorted {
        let at = p.at.min(duration);
        total += r * (at - t).as_secs_f64();
        t = at;
        r = p.rate;
    }
    total + r * (duration - t).as_secs_f64()
}

/// Most cells of a load shape walked to bound its requests; past it the rest of the run is
/// counted at the highest rate met (over, never under).
const MAX_SHAPE_CELLS: usize = 2_000_000;

/// Requests the open-loop arrivals will generate over `[0, duration)`: [`expected_requests`],
/// or with a load shape an upper bound from its thinning envelope (`model/shape.rs`).
pub fn expected_open_requests(
    rate: f64,
    phases: &[RatePhase],
    shape: Option<&crate::model::shape::Shape>,
    duration: SimTime,
) -> f64 {
    match shape {
        Some(s) => s.envelope(duration.as_secs_f64(), MAX_SHAPE_CELLS).0,
        None => expected_requests(rate, phases, duration),
    }
}

/// Draws of each law that follows a page when bounding the users' pages
/// ([`user_pages_bound`]): enough to place the bound within tens of percent, few enough that
/// a sweep of 100,000 points loads in seconds.
const USER_LAW_DRAWS: usize = 1024;

/// At most how many pages one closed-loop user can load over `[0, duration)`, and which key
/// sets the law that binds (`workload.users.think`, or `workload.users.away` when users who
/// give up can come back sooner than they think).
///
/// The mean think time is not enough: a user waits for its page and then for a draw of the
/// law, and nothing else slows it (an outage answers at once), so a law with mass near zero
/// lets a user loop at the same instant however long its mean (`weibull(shape=0.02,
/// mean=1h)` draws under a nanosecond more often than not), and so does a short `away`
/// after failed pages. The bound is renewal counting: for any `tau`, at most
/// `duration / tau + 1` of the draws that follow pages can be `tau` or longer, and each draw
/// is that long with probability at least `1 - q(tau)`, `q` the larger of the two laws'
/// probabilities of a draw shorter than `tau` (with `abandon`, either can follow a page), so
/// the expected pages are at most `(duration / tau + 1) / (1 - q(tau))` (Wald's identity).
/// The smallest over `tau` is taken, with `q` estimated from [`USER_LAW_DRAWS`] draws of
/// each law (a fixed stream, so the estimate is the same at every load), rounded to the
/// nanosecond as the run rounds them. For `det(1s)` this is `duration / 1s + 1`, for
/// `exp(10s)` about 3 times `duration / 10s`.
pub fn user_pages_bound(u: &crate::model::UsersConfig, duration: SimTime) -> (f64, &'static str) {
    let draws = |d: &Dist, name: &str| {
        let mut rng = crate::engine::Rng::new(crate::engine::StreamId::new(0, name, 0));
        let mut v: Vec<u64> = (0..USER_LAW_DRAWS)
            .map(|_| d.sample_time(&mut rng).as_nanos())
            .collect();
        v.sort_unstable();
        v
    };
    let think = draws(&u.think, "limits.users.think");
    let away = match (&u.away, u.abandon > 0.0) {
        (Some(d), true) => Some(draws(d, "limits.users.away")),
        _ => None,
    };
    let t = duration.as_nanos() as f64;
    let n = USER_LAW_DRAWS as f64;
    // The fraction of a law's draws shorter than `tau`.
    let below = |v: &[u64], tau: u64| v.partition_point(|&x| x < tau) as f64 / n;
    let bound = |away: Option<&[u64]>| {
        let mut best = f64::INFINITY;
        for &tau in think.iter().chain(away.into_iter().flatten()) {
            let q = below(&think, tau).max(away.map_or(0.0, |a| below(a, tau)));
            if tau > 0 && q < 1.0 {
                best = best.min((t / tau as f64 + 1.0) / (1.0 - q));
            }
        }
        best
    };
    let alone = bound(None);
    match away {
        // The time away binds when it lets users loop faster than their think times do.
        Some(a) if bound(Some(a.as_slice())) > alone => {
            (bound(Some(a.as_slice())), "workload.users.away")
        }
        _ => (alone, "workload.users.think"),
    }
}

/// Requests closed-loop users can send over `[0, duration)` at most: N x requests per page x
/// the pages one user can load ([`user_pages_bound`], which looks at the whole think and away
/// laws, not only their means).
pub fn expected_user_requests(u: &crate::model::UsersConfig, duration: SimTime) -> f64 {
    u.count as f64 * u.requests as f64 * user_pages_bound(u, duration).0
}

/// Requests a flood (`[workload.flood]`) sends over `[0, duration)`: its rate over the part
/// of the run it lasts.
pub fn expected_flood_requests(f: &crate::model::flood::FloodConfig, duration: SimTime) -> f64 {
    let end = f.stop.unwrap_or(duration).min(duration);
    f.rate * end.saturating_sub(f.start).as_secs_f64()
}

/// Client retries multiply the requests by at most 1 + `retries` (every attempt failing).
pub fn retry_factor(r: Option<&crate::model::RetryConfig>) -> f64 {
    r.map_or(1.0, |r| 1.0 + f64::from(r.retries))
}

/// The components of one kind of `[[random_faults]]`.
fn components(cfg: &Config, kind: TargetKind) -> usize {
    match kind {
        TargetKind::Lb => cfg.failures.lb_ha.instances(),
        TargetKind::Server | TargetKind::App => cfg.servers.len(),
        TargetKind::DbNode => 1 + cfg.database.replicas.len(),
        TargetKind::DbLink => 1,
        TargetKind::Host => cfg.failures.layout.hosts.len(),
        TargetKind::Rack => cfg.failures.layout.racks.len(),
    }
}

/// Events of one request, on average over the request classes: the arrival, each stage that
/// takes time, each query (and its two network hops), each write's replication to every
/// replica (and its semi-sync acknowledgement), plus one for the reply or a retry.
fn events_per_request(cfg: &Config) -> f64 {
    let nonzero = |d: &Dist| if d.is_zero() { 0.0 } else { 1.0 };
    let net = nonzero(&cfg.database.network);
    let replicas = cfg.database.replicas.len() as f64;
    let semi = if cfg.failures.db_failover.semi_sync {
        1.0
    } else {
        0.0
    };
    let total_weight: f64 = cfg.workload.mix.iter().map(|c| c.weight).sum();
    let per_class: f64 = cfg
        .workload
        .mix
        .iter()
        .map(|c| {
            let queries = (c.reads + c.writes) as f64;
            let writes = c.writes as f64;
            c.weight
                * (nonzero(&c.nginx)
                    + 1.0
                    + queries * (1.0 + 2.0 * net)
                    + writes * (2.0 * replicas + semi))
        })
        .sum::<f64>()
        / total_weight.max(f64::MIN_POSITIVE);
    // With TLS the LB stage runs even when `processing` is zero (the handshakes).
    let lb = nonzero(&cfg.lb.processing).max(if cfg.lb.tls.is_some() { 1.0 } else { 0.0 });
    2.0 + lb + per_class
}

/// A duration in the largest unit that fits, to three significant digits (`584y`, `3.5h`):
/// these figures explain an estimate, they are not meant to be copied back.
fn every(t: SimTime) -> String {
    const UNITS: [(&str, f64); 8] = [
        ("y", 365.0 * 86_400.0),
        ("d", 86_400.0),
        ("h", 3600.0),
        ("min", 60.0),
        ("s", 1.0),
        ("ms", 1e-3),
        ("us", 1e-6),
        ("ns", 1e-9),
    ];
    let s = t.as_secs_f64();
    let (unit, size) = UNITS
        .iter()
        .copied()
        .find(|(_, size)| s >= *size)
        .unwrap_or(("ns", 1e-9));
    let x = s / size;
    let text = format!("{x:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// The events of a run of `cfg`, by mechanism, largest first. `fault_key(i)` is the key of the
/// time to failure of `random_faults[i]` (`mttf` or `ttf`, whichever the scenario sets).
pub fn run_costs(cfg: &Config, fault_key: &dyn Fn(usize) -> String) -> Vec<Cost> {
    let d = cfg.duration;
    let secs = d.as_secs_f64();
    let f = &cfg.failures;
    let mut costs = vec![];
    let retry = retry_factor(cfg.workload.retry.as_ref());
    let w = &cfg.workload;
    let requests = expected_open_requests(w.rate, &w.phases, w.shape.as_ref(), d) * retry;
    let per = events_per_request(cfg);
    if let Some(u) = &cfg.workload.users {
        let (pages, key) = user_pages_bound(u, d);
        let n = u.count as f64 * u.requests as f64 * pages;
        let away = match (&u.away, u.abandon > 0.0) {
            (Some(a), true) => format!(
                " (or away {} on average after a failed page)",
                every(SimTime::from_secs_f64(a.mean()))
            ),
            _ => String::new(),
        };
        costs.push(Cost {
            key: key.into(),
            what: format!(
                "at most {n:.3e} requests from {} users thinking {} on average{away} over {}, \
                 counting the shortest think times the law draws ({pages:.3e} pages per user), \
                 at ~{per:.0} events each, and one per page",
                u.count,
                every(SimTime::from_secs_f64(u.think.mean())),
                every(d)
            ),
            events: n * retry * (per + 1.0 / u.requests as f64),
        });
    }
    if let Some(fl) = &cfg.workload.flood {
        let n = expected_flood_requests(fl, d);
        costs.push(Cost {
            key: "workload.flood.rate".into(),
            what: format!("about {n:.3e} flood requests at ~{per:.0} events each"),
            events: n * per,
        });
    }
    costs.push(Cost {
        key: "duration".into(),
        what: format!(
            "about {requests:.3e} requests over {} at ~{per:.0} events each",
            every(d)
        ),
        events: requests * per,
    });
    if f.health.enabled {
        let h = &f.health;
        let (key, t) = [
            ("inter", h.inter),
            ("fastinter", h.fastinter),
            ("downinter", h.downinter),
        ]
        .into_iter()
        .min_by_key(|(_, t)| *t)
        .unwrap_or(("inter", h.inter));
        let checked = cfg.servers.len() * f.lb_ha.instances();
        costs.push(Cost {
            key: format!("health.{key}"),
            what: format!(
                "health checks every {} of {checked} server(s) from each load balancer over {}",
                every(t),
                every(d)
            ),
            events: checked as f64 * secs / t.as_secs_f64().max(1e-9),
        });
    }
    if let crate::model::LbHa::ActivePassive {
        track: Some(script),
        ..
    } = &f.lb_ha
    {
        // keepalived's script runs only while HAProxy is down or the instance in FAULT: the
        // whole run at worst.
        costs.push(Cost {
            key: "lb.vrrp.script_interval".into(),
            what: format!(
                "vrrp_script runs every {} on 2 load balancers over {} (while HAProxy is down)",
                every(script.interval),
                every(d)
            ),
            events: 2.0 * secs / script.interval.as_secs_f64().max(1e-9),
        });
    }
    let poll = f.db_failover.poll_interval;
    let nodes = 1 + cfg.database.replicas.len();
    costs.push(Cost {
        key: "database.failover.poll_interval".into(),
        what: format!(
            "database monitor polls every {} of {nodes} node(s) over {}",
            every(poll),
            every(d)
        ),
        events: nodes as f64 * secs / poll.as_secs_f64().max(1e-9),
    });
    if f.timeline_interval > SimTime::ZERO {
        costs.push(Cost {
            key: "timeline.interval".into(),
            what: format!("a timeline row every {}", every(f.timeline_interval)),
            events: secs / f.timeline_interval.as_secs_f64(),
        });
    }
    for (i, rf) in f.random.iter().enumerate() {
        let n = components(cfg, rf.kind);
        let cycle = rf.ttf.mean() + rf.ttr.mean();
        // A failure and a repair, each logged, detected and routed around: a few events.
        let events = 6.0 * n as f64 * secs / cycle.max(1e-9);
        costs.push(Cost {
            key: fault_key(i),
            what: format!(
                "random failures of {n} component(s), one every {} on average each",
                every(SimTime::from_secs_f64(cycle))
            ),
            events,
        });
    }
    if !f.scheduled.is_empty() {
        costs.push(Cost {
            key: "faults".into(),
            what: format!("{} scheduled faults", f.scheduled.len()),
            events: 6.0 * f.scheduled.len() as f64,
        });
    }
    costs.sort_by(|a, b| b.events.total_cmp(&a.events));
    costs
}

/// Expected failures of each `[[random_faults]]` entry over `horizon`: its components over the
/// mean time between the starts of two failures (renewal theory).
pub fn expected_failures(cfg: &Config, horizon: SimTime) -> Vec<f64> {
    cfg.failures
        .random
        .iter()
        .map(|rf| {
            let cycle = rf.ttf.mean() + rf.ttr.mean();
            components(cfg, rf.kind) as f64 * horizon.as_secs_f64() / cycle.max(1e-9)
        })
        .collect()
}

/// Refuses a run expected to have more than [`MAX_RUN_FAULTS`] faults, or to handle more than
/// [`MAX_EVENTS`] events, at the key of what contributes most.
pub fn check_run(cfg: &Config, fault_key: &dyn Fn(usize) -> String) -> Option<Problem> {
    let failures = expected_failures(cfg, cfg.duration);
    let total = failures.iter().sum::<f64>() + cfg.failures.scheduled.len() as f64;
    if total > MAX_RUN_FAULTS {
        let (i, most) = failures
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        return Some(Problem::new(
            fault_key(i),
            format!(
                "the run would see about {total:.3e} faults ({most:.3e} from this entry over \
                 {}), more than the {MAX_RUN_FAULTS:.0} a run may log and report: lengthen the \
                 time to failure or shorten the run; for years of failures run a Monte Carlo \
                 study (--montecarlo)",
                every(cfg.duration)
            ),
        ));
    }
    let costs = run_costs(cfg, fault_key);
    let total: f64 = costs.iter().map(|c| c.events).sum();
    if total <= MAX_EVENTS {
        return None;
    }
    let top = &costs[0];
    let parts: Vec<String> = costs
        .iter()
        .filter(|c| c.events >= total * 0.01)
        .map(|c| format!("{} ({:.1e} events)", c.what, c.events))
        .collect();
    Some(Problem::new(
        &top.key,
        format!(
            "the run would handle about {total:.1e} events, more than the limit of \
             {MAX_EVENTS:.0e} (about 10 minutes of simulation): {}. Change this value, shorten \
             the duration, or for long horizons run a Monte Carlo study (--montecarlo), which \
             simulates failures without the requests",
            parts.join("; ")
        ),
    ))
}

/// A limit at or above this many requests bounds nothing a run can hold (an eighth of
/// [`MAX_IN_FLIGHT`](crate::model::stack::MAX_IN_FLIGHT)): it is named as unbounded.
const UNBOUNDED_AT: f64 = (crate::model::stack::MAX_IN_FLIGHT / 8) as f64;

/// The keys of `cfg` that leave a queue without a bound a run can reach, each with its value:
/// what to change when a run of it was cut short for its requests in flight. HAProxy's
/// frontend `maxconn` bounds everything behind it; without it, a server's queue at HAProxy is
/// bounded by `maxqueue` or by `timeout queue` (to about rate x timeout), Nginx by its
/// connections, the application by its backlog.
pub fn unbounded_keys(cfg: &Config) -> Vec<String> {
    let rate = crate::model::capacity::analyse(cfg).peak_rate;
    let mut keys = vec![];
    if cfg.lb.maxconn == 0 {
        keys.push("lb.maxconn = 0 (unlimited)".to_string());
    }
    let queued_for = rate * cfg.lb.timeout_queue.as_secs_f64();
    let mut list = |what: &str, servers: Vec<usize>, value: &dyn Fn(usize) -> String| {
        if servers.is_empty() {
            return;
        }
        let mut names: Vec<String> = servers
            .iter()
            .take(3)
            .map(|&i| format!("servers[{i}].{what} = {}", value(i)))
            .collect();
        if servers.len() > 3 {
            names.push(format!("{} more servers alike", servers.len() - 3));
        }
        keys.push(names.join(", "));
    };
    let n = cfg.servers.len();
    let queue: Vec<usize> = (0..n)
        .filter(|&i| {
            let s = &cfg.servers[i];
            s.maxconn > 0 && s.maxqueue == 0 && queued_for >= UNBOUNDED_AT
        })
        .collect();
    let timeout = format_duration(cfg.lb.timeout_queue);
    list("maxqueue", queue, &|_| {
        format!("0 (unlimited) with lb.timeout_queue = \"{timeout}\"")
    });
    // Requests HAProxy passes straight on (no per-server maxconn) wait in Nginx and the app.
    let open: Vec<usize> = (0..n).filter(|&i| cfg.servers[i].maxconn == 0).collect();
    let total = |f: &dyn Fn(usize) -> f64| open.iter().map(|&i| f(i)).sum::<f64>();
    if total(&|i| f64::from(cfg.servers[i].nginx_max_conns) / 2.0) >= UNBOUNDED_AT {
        list("nginx_max_conns", open.clone(), &|i| {
            cfg.servers[i].nginx_max_conns.to_string()
        });
    }
    if total(&|i| f64::from(cfg.servers[i].app_queue)) >= UNBOUNDED_AT {
        list("app_queue", open.clone(), &|i| {
            cfg.servers[i].app_queue.to_string()
        });
    }
    if cfg.workload.client_timeout.is_none() {
        keys.push("workload.client_timeout (unset: clients wait as long as it takes)".into());
    }
    keys
}

/// The error of a run of `cfg` (the scenario file `path`, at `point` of a study if any) cut
/// short because its requests in flight reached the bound: what happened, the arrival rate
/// against the capacity, and the keys that would bound the queues.
pub fn in_flight_error(
    path: &std::path::Path,
    point: Option<&str>,
    cfg: &Config,
    cut: &crate::model::CutShort,
) -> String {
    let cap = crate::model::capacity::analyse(cfg);
    let keys = unbounded_keys(cfg);
    let unbounded = if keys.is_empty() {
        "no single key leaves a queue unbounded here".to_string()
    } else {
        format!("unbounded in this scenario: {}", keys.join("; "))
    };
    let at = point.map_or(String::new(), |p| format!(" ({p})"));
    format!(
        "error: {}{at}: the system is overloaded and nothing bounds its queues: {cut}.\n  \
         Arrivals reach {:.0} requests/s and the stack serves at most {:.0} (bottleneck: {}), \
         so requests pile up without end.\n  {unbounded}.\n  Bound the queues (lb.maxconn; \
         servers' maxconn with maxqueue; lb.timeout_queue; servers' app_queue; \
         workload.client_timeout with lb.abortonclose) or lower workload.rate.",
        path.display(),
        cap.peak_rate,
        cap.max_rate,
        cap.bottleneck,
    )
}

/// Events of the request-level runs of degraded states a Monte Carlo study makes
/// (`experiment::overload`, `[montecarlo] overload = "runs"`, the default), and how many
/// states: every state is run once, with the scenario's workload at its base rate and no
/// faults, for its warm-up and `state_run`, and each such run costs what [`run_costs`] says
/// of its configuration. The states counted are those the study measures before its runs
/// (the healthy stack and each single loss, `model::degraded::single_loss_states`); states
/// with two parts down are run too when a run meets them, rarer when repairs are much
/// shorter than the times to failure, and not counted. None when states are not run.
pub fn state_run_events(cfg: &Config, spec: &DegradedSpec) -> Option<(f64, usize)> {
    if spec.mode != OverloadMode::Runs {
        return None;
    }
    let groups = degraded::Groups::of(cfg);
    let states = degraded::single_loss_states(cfg, &groups, spec.min_servers(cfg));
    let measured = spec.state_run(cfg);
    let warmup = degraded::state_warmup(cfg, measured);
    let events = states
        .iter()
        .map(|s| {
            let c = degraded::state_config(cfg, &groups, s, warmup, measured);
            run_costs(&c, &|i| format!("random_faults[{i}]"))
                .iter()
                .map(|c| c.events)
                .sum::<f64>()
        })
        .sum();
    Some((events, states.len()))
}

/// Refuses a Monte Carlo study expected to handle more than [`MAX_EVENTS`] events: each of its
/// `runs` simulates `horizon` once, and once more per component with that component perfect;
/// and the request-level runs of its degraded states ([`state_run_events`]) count against
/// the same budget.
pub fn check_montecarlo(
    cfg: &Config,
    horizon: SimTime,
    runs: u32,
    spec: &DegradedSpec,
    fault_key: &dyn Fn(usize) -> String,
) -> Result<(), Problem> {
    let comps: usize = cfg
        .failures
        .random
        .iter()
        .map(|rf| components(cfg, rf.kind))
        .sum();
    let passes = runs as f64 * (1 + comps) as f64;
    let mut worst: Option<(f64, String, f64)> = None;
    let mut total = 0.0;
    for (i, rf) in cfg.failures.random.iter().enumerate() {
        let n = components(cfg, rf.kind) as f64;
        let cycle = rf.ttf.mean() + rf.ttr.mean();
        let events = 6.0 * n * horizon.as_secs_f64() / cycle.max(1e-9);
        total += events * passes;
        if worst.as_ref().is_none_or(|w| events > w.0) {
            worst = Some((events, fault_key(i), cycle));
        }
    }
    let Some((_, key, cycle)) = worst else {
        return Ok(());
    };
    let states = state_run_events(cfg, spec);
    let state_events = states.map_or(0.0, |s| s.0);
    if total + state_events <= MAX_EVENTS {
        return Ok(());
    }
    if let Some((events, n)) = states
        && events >= total
    {
        let measured = spec.state_run(cfg);
        let warmup = degraded::state_warmup(cfg, measured);
        // The key the user set, else the rate that made the automatic state run this long.
        let key = if spec.state_run.is_some() {
            "montecarlo.state_run"
        } else {
            "workload.rate"
        };
        return Err(Problem::new(
            key,
            format!(
                "the study runs {n} degraded states (the healthy stack and each single loss) \
                 request by request, each for a warm-up of {} and a state_run of {} at the \
                 base rate of {} requests/s: about {events:.1e} events, and {total:.1e} for \
                 the runs themselves, more than the limit of {MAX_EVENTS:.0e} (about 10 \
                 minutes of simulation): shorten montecarlo.state_run, lower workload.rate, \
                 or set montecarlo.overload = \"capacity\" (or \"none\") to judge degraded \
                 states without running them",
                every(warmup),
                every(measured),
                cfg.workload.rate
            ),
        ));
    }
    Err(Problem::new(
        key,
        format!(
            "a failure every {} on average over a horizon of {}, in {runs} runs of {} passes each \
             (one, and one per component with that component perfect), is about {total:.1e} \
             events{}, more than the limit of {MAX_EVENTS:.0e}: lengthen the time to failure, \
             shorten the horizon or run fewer runs",
            every(SimTime::from_secs_f64(cycle)),
            every(horizon),
            1 + comps,
            if state_events > 0.0 {
                format!(" (and {state_events:.1e} more for the runs of degraded states)")
            } else {
                String::new()
            }
        ),
    ))
}

/// Columns of a run's timeline: the fixed ones, one per failure cause, one per server and one
/// per database node.
pub fn timeline_columns(cfg: &Config) -> u64 {
    (8 + crate::model::stack::Cause::reported(cfg).len()
        + cfg.servers.len()
        + 1
        + cfg.database.replicas.len()) as u64
}

/// Timeline row widths tried in turn when `[timeline] interval` is unset (the first that keeps
/// the timeline within its limits is taken).
const STEPS_SECS: &[u64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400, 604_800,
    2_592_000, 31_536_000,
];

/// Keeps the timeline within [`MAX_TIMELINE_CELLS`]: an `interval` the scenario left unset is
/// widened to the first of [`STEPS_SECS`] that fits; one it set is refused with the smallest
/// that fits.
pub fn timeline_interval(
    cfg: &Config,
    interval: SimTime,
    explicit: bool,
) -> Result<SimTime, Problem> {
    let cols = timeline_columns(cfg);
    let cells = |i: SimTime| {
        cfg.duration
            .as_nanos()
            .div_ceil(i.as_nanos().max(1))
            .saturating_mul(cols)
    };
    if interval == SimTime::ZERO || cells(interval) <= MAX_TIMELINE_CELLS {
        return Ok(interval);
    }
    let fits = STEPS_SECS
        .iter()
        .map(|&s| SimTime::from_secs(s))
        .find(|&i| i >= interval && cells(i) <= MAX_TIMELINE_CELLS);
    match fits {
        Some(i) if !explicit => Ok(i),
        _ => {
            let rows_max = (MAX_TIMELINE_CELLS / cols).max(1);
            let smallest = SimTime::from_nanos(cfg.duration.as_nanos().div_ceil(rows_max));
            Err(Problem::new(
                "timeline.interval",
                format!(
                    "gives {} timeline cells ({} rows of {cols} columns: one per server, \
                     database node and failure cause), more than the limit of \
                     {MAX_TIMELINE_CELLS}: use an interval of at least {}",
                    cells(interval),
                    cfg.duration.as_nanos().div_ceil(interval.as_nanos().max(1)),
                    format_duration(smallest)
                ),
            ))
        }
    }
}

/// Samples of the empirical distributions a configuration holds.
pub fn empirical_samples(cfg: &Config) -> u64 {
    let n = |d: &Dist| match d {
        Dist::Empirical(e) => e.len() as u64,
        _ => 0,
    };
    let f = &cfg.failures;
    cfg.workload
        .mix
        .iter()
        .map(|c| n(&c.nginx) + n(&c.app))
        .sum::<u64>()
        + n(&cfg.lb.processing)
        + cfg
            .lb
            .tls
            .as_ref()
            .map_or(0, |t| n(&t.handshake) + n(&t.resumed))
        + n(&cfg.database.read_time)
        + n(&cfg.database.write_time)
        + n(&cfg.database.network)
        + n(&cfg.database.replication.delay)
        + n(&f.db_failover.promotion)
        + f.random.iter().map(|r| n(&r.ttf) + n(&r.ttr)).sum::<u64>()
}

/// Refuses a sweep whose points would hold more than [`MAX_SWEEP_SAMPLES`] empirical samples.
pub fn check_points(cfg: &Config, points: usize) -> Result<(), String> {
    let each = empirical_samples(cfg);
    let total = each.saturating_mul(points as u64);
    if total > MAX_SWEEP_SAMPLES {
        return Err(format!(
            "the sweep's {points} points would each hold the {each} samples of the scenario's \
             empirical distributions ({total} in all), more than the {MAX_SWEEP_SAMPLES} a \
             sweep may: subsample the CSV files or sweep fewer points"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_messages() {
        assert_eq!(every(SimTime::from_secs(584 * 365 * 86_400)), "584y");
        assert_eq!(every(SimTime::from_secs(12_600)), "3.5h");
        assert_eq!(every(SimTime::from_nanos(1)), "1ns");
        assert_eq!(every(SimTime::from_secs(2)), "2s");
    }

    fn users(think: &str, abandon: f64, away: Option<&str>) -> crate::model::UsersConfig {
        let law = |t: &str| crate::scenario::parse_dist_str(t, std::path::Path::new(".")).unwrap();
        crate::model::UsersConfig {
            count: 100,
            think: law(think),
            pages: 5,
            requests: 1,
            abandon,
            away: away.map(law),
        }
    }

    #[test]
    fn user_pages_are_bounded_by_the_shortest_draws() {
        let two_min = SimTime::from_secs(120);
        // A fixed think time: one page per think time, and the first.
        let (pages, key) = user_pages_bound(&users("det(1s)", 0.0, None), two_min);
        assert_eq!((pages, key), (121.0, "workload.users.think"));
        // Exponential: a few times duration / mean, never below it.
        let (pages, _) = user_pages_bound(&users("exp(10s)", 0.0, None), two_min);
        assert!((12.0..60.0).contains(&pages), "{pages}");
        // A mean of an hour that draws under a nanosecond: the mean says 0.03 pages.
        let (pages, key) =
            user_pages_bound(&users("weibull(shape=0.02, mean=1h)", 0.0, None), two_min);
        assert!(pages > 1e9, "{pages}");
        assert_eq!(key, "workload.users.think");
        // Users who give up come back after a nanosecond: the time away binds.
        let (pages, key) = user_pages_bound(&users("exp(10s)", 1.0, Some("det(1ns)")), two_min);
        assert!(pages > 1e11, "{pages}");
        assert_eq!(key, "workload.users.away");
        // ... unless they never give up.
        let (pages, _) = user_pages_bound(&users("exp(10s)", 0.0, Some("det(1ns)")), two_min);
        assert!(pages < 60.0, "{pages}");
    }

    #[test]
    fn requests_with_phases() {
        let phases = [
            RatePhase {
                at: SimTime::from_secs(10),
                rate: 200.0,
            },
            RatePhase {
                at: SimTime::from_secs(20),
                rate: 0.0,
            },
        ];
        let n = expected_requests(100.0, &phases, SimTime::from_secs(30));
        assert!((n - 3000.0).abs() < 1e-6);
        let n = expected_requests(100.0, &phases, SimTime::from_secs(15));
        assert!((n - 2000.0).abs() < 1e-6);
    }
}
