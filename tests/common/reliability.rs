//! Building blocks of the availability tests: components that fail and are repaired at
//! exponential times, HAProxy checks, and the exact mean over a horizon of the probability
//! that alternating components are up or down (the theory the fast path is held to).

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::*;

/// Every component of `kind` crashes (RST) after exponential times of mean `mttf` and is
/// repaired after exponential times of mean `mttr`, by unlimited crews.
pub fn crashes(kind: TargetKind, mttf: f64, mttr: f64) -> RandomFaults {
    RandomFaults {
        kind,
        fault: FaultKind::Crash,
        ttf: Dist::exp(mttf).unwrap(),
        ttr: Dist::exp(mttr).unwrap(),
        repair: Default::default(),
    }
}

/// HAProxy checks every `inter` (fastinter and downinter alike), DOWN after `fall` failures,
/// UP after `rise` passes; L7 checks (an app down behind a live Nginx is seen), 3 retries with
/// redispatch.
pub fn health(inter: SimTime, rise: u32, fall: u32) -> HealthCheck {
    HealthCheck {
        enabled: true,
        inter,
        fastinter: inter,
        downinter: inter,
        rise,
        fall,
        layer7: true,
        retries: 3,
        redispatch: true,
        timeout_connect: SimTime::from_secs(1),
        timeout_check: None,
    }
}

/// Mean over [0, h] of a product of factors `a + b e^(-s t)`: the product expands into a sum
/// of exponentials, each of which averages to (1 - e^(-r h)) / (r h).
pub fn mean_of_product(factors: &[(f64, f64, f64)], h: f64) -> f64 {
    // (coefficient, total rate) of every term of the expansion
    let mut terms = vec![(1.0, 0.0)];
    for &(a, b, s) in factors {
        terms = terms
            .into_iter()
            .flat_map(|(c, r)| [(c * a, r), (c * b, r + s)])
            .collect();
    }
    terms
        .into_iter()
        .map(|(c, r)| {
            if r == 0.0 {
                c
            } else {
                c * (1.0 - (-r * h).exp()) / (r * h)
            }
        })
        .sum()
}

/// An alternating exponential up/down component that starts up: P(up at t) =
/// A + (1 - A) e^(-(1/mttf + 1/mttr) t), as (a, b, s); P(down at t) is (1 - A, -(1 - A), s).
pub fn p_up(mttf: f64, mttr: f64) -> (f64, f64, f64) {
    let a = mttf / (mttf + mttr);
    (a, 1.0 - a, 1.0 / mttf + 1.0 / mttr)
}

pub fn p_down(mttf: f64, mttr: f64) -> (f64, f64, f64) {
    let (a, _, s) = p_up(mttf, mttr);
    (1.0 - a, -(1.0 - a), s)
}

/// A keepalived pair whose hosts die silently at random: `common::stack` at `rate` with two
/// servers, lb.ha active-passive (advert_int 1 s, backup priority 100, so the master-down
/// interval is 3.609375 s; `preempt`, not `state MASTER`), each LB's host `down` after
/// exponential times of mean 60 s for exponential times of mean 5 s, over `seconds`; connect
/// timeout 1 s, so a client's only SYN is its first (`last_syn` = 0) and the fast path counts
/// every instant nobody holds the floating IP as an outage.
pub fn silent_lb_pair(rate: f64, preempt: bool, seconds: u64) -> Config {
    let mut cfg = crate::common::stack(rate, 2, 0, 0, 0, seconds);
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.workload.connect_timeout = SimTime::from_secs(1);
    cfg.failures.lb_ha = LbHa::ActivePassive {
        advert_int: SimTime::from_secs(1),
        backup_priority: 100,
        preempt,
        master_state: false,
        track: None,
    };
    cfg.failures.random = vec![RandomFaults {
        kind: TargetKind::Lb,
        fault: FaultKind::Down,
        ttf: Dist::exp(60.0).unwrap(),
        ttr: Dist::exp(5.0).unwrap(),
        repair: Default::default(),
    }];
    cfg
}

/// The delays from a master's silent failure to the backup's "VRRP takeover" in a run's event
/// log, with the taker (0 for lb-1, priority 101; 1 for lb-2, priority 100) and the takeover's
/// time. Only takeovers that follow the failure of a master count: the failed instance held the
/// address at its failure (the last takeover or preemption before it was its own, or none and
/// it is lb-1) and had not failed since; the taker was up from 4 s (more than its timer)
/// before the failure to the takeover, listening to the master's advertisements (a node that
/// returns later runs its timer from its own start, and with preemption takes the address
/// when that expires); and the failed one was
/// still down at the takeover (one back sooner starts its own timer, which the Monte Carlo
/// fast path lets replace the backup's).
pub fn takeover_delays(r: &RunResults) -> Vec<(usize, f64, f64)> {
    const EPS: f64 = 1e-9;
    fn of<'a>(r: &'a RunResults, c: &'a str) -> impl Iterator<Item = &'a results::FaultReport> {
        r.faults.iter().filter(move |f| f.component == c)
    }
    let mut out = vec![];
    for e in r.event_log.iter().filter(|e| e.event == "VRRP takeover") {
        let other = if e.component == "lb-1" {
            "lb-2"
        } else {
            "lb-1"
        };
        let Some(fail) = of(r, other)
            .map(|f| f.start_s)
            .filter(|&s| s <= e.t + EPS)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        else {
            continue;
        };
        let became = r.event_log.iter().rev().find(|x| {
            (x.event == "VRRP takeover" || x.event == "VRRP preempt") && x.t < fail - EPS
        });
        let master_since = match became {
            Some(x) if x.component == other => x.t,
            None if other == "lb-1" => 0.0,
            _ => continue,
        };
        let failed_again = of(r, other).any(|f| {
            f.start_s >= master_since - EPS
                && (f.start_s < fail - EPS || f.end_s.is_some_and(|end| end < e.t + EPS))
        });
        if failed_again {
            continue;
        }
        let taker_down = of(r, &e.component)
            .any(|f| f.start_s <= e.t + EPS && f.end_s.is_none_or(|end| end >= fail - 4.0));
        if !taker_down {
            out.push((usize::from(e.component == "lb-2"), e.t - fail, e.t));
        }
    }
    out
}
