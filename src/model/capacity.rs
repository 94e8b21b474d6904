//! Offered load per component, from the configuration alone (no simulation): what a capacity
//! planner computes on paper, and how the summary says a run is unstable, healthy or degraded.
//!
//! rho = arrival rate x mean demand / servers. Application workers are held during DB round
//! trips (and a semi-sync commit's acknowledgement), so their demand includes query service and
//! network time (queueing at the DB is ignored, which makes the figure a lower bound). The peak
//! rate over all phases is used (plus, with closed-loop users, the most they can send:
//! [`users_ceiling`]), and traffic is split across servers in proportion to weight, except
//! under `balance source`, where each server takes what the addresses hashed to it send
//! (`model/spread.rs`: heavy hitters and a NAT make that uneven). A replica's executors run both the reads sent to it and the replay of every write
//! (`apply_factor` x the write's time), so both count towards its load.
//!
//! Degraded states are what a single failure leaves: one server down (its share goes to the
//! others: the worst server to lose is reported), a semi-sync stall (no replica acknowledges:
//! every writing request holds its worker up to `rpl_semi_sync_source_timeout`), and a database
//! that does not answer (every querying request holds its worker until a timeout). For the two
//! stalls, rho is the number of workers the stall needs (arrival rate x hold time) over the
//! workers there are: above 1 the pool runs dry before the stall ends and requests that never
//! touch the database queue behind the stuck ones.

use super::config::{Config, ReadPolicy, RequestClass};
use crate::dist::Sample;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Capacity {
    /// Peak offered arrival rate, requests/s.
    pub peak_rate: f64,
    /// Offered utilisation per component.
    pub offered: Vec<Offered>,
    /// The component with the highest offered utilisation.
    pub bottleneck: String,
    /// True when every component's offered utilisation is below 1.
    pub stable: bool,
    /// Highest arrival rate the stack sustains (rate at which the bottleneck reaches rho = 1).
    pub max_rate: f64,
    /// What single failures leave of the capacity.
    pub degraded: Vec<Degraded>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Offered {
    pub component: String,
    pub rho: f64,
}

/// The stack in a degraded state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Degraded {
    /// The state, in words ("web-01 down", "semi-sync stall").
    pub state: String,
    /// The component most loaded in that state.
    pub bottleneck: String,
    /// Its offered utilisation (or, for a stall, workers needed over workers available).
    pub rho: f64,
    /// rho < 1: the stack copes.
    pub stable: bool,
}

/// Per-request averages over the mix.
struct Demand {
    nginx: f64,
    app: f64,
    reads: f64,
    writes: f64,
    /// Share of requests with at least one write, and with at least one query.
    writing: f64,
    querying: f64,
}

fn demand(cfg: &Config) -> Demand {
    let mix = &cfg.workload.mix;
    let total: f64 = mix.iter().map(|c| c.weight).sum();
    let avg = |f: &dyn Fn(&RequestClass) -> f64| -> f64 {
        mix.iter().map(|c| c.weight / total * f(c)).sum()
    };
    let share = |f: &dyn Fn(&RequestClass) -> bool| avg(&|c| if f(c) { 1.0 } else { 0.0 });
    Demand {
        nginx: avg(&|c| c.nginx.mean()),
        app: avg(&|c| c.app.mean()),
        reads: avg(&|c| c.reads as f64),
        writes: avg(&|c| c.writes as f64),
        writing: share(&|c| c.writes > 0),
        querying: share(&|c| c.reads + c.writes > 0),
    }
}

/// The most closed-loop users can send (requests/s): N x requests per page / mean think, the
/// rate of pages that took no time. Their real rate is lower (N / (R + Z) pages per second), and
/// a closed loop never grows its queues without bound (at most N pages are out), but near this
/// rate it saturates what it uses.
pub fn users_ceiling(cfg: &Config) -> f64 {
    cfg.workload.users.as_ref().map_or(0.0, |u| {
        f64::from(u.count) * f64::from(u.requests) / u.think.mean()
    })
}

pub fn analyse(cfg: &Config) -> Capacity {
    let open_peak = match &cfg.workload.shape {
        // The highest bound of the shape's thinning cells: its peak (flash crowds included).
        Some(s) => s.envelope(cfg.duration.as_secs_f64(), 2_000_000).1,
        None => cfg
            .workload
            .phases
            .iter()
            .map(|p| p.rate)
            .fold(cfg.workload.rate, f64::max),
    };
    let users_peak = users_ceiling(cfg);
    let peak = open_peak + users_peak;
    let senders = super::spread::Senders::of(cfg, open_peak, users_peak);
    // Under `balance source`, each server's share of the peak by the hash of the addresses.
    let hashed = senders.as_ref().map(|s| s.shares(cfg, None));
    let d = demand(cfg);
    let db = &cfg.database;
    let fo = &cfg.failures.db_failover;
    let net = 2.0 * db.network.mean();
    let reads_on_replicas = db.read_from == ReadPolicy::Replicas && !db.replicas.is_empty();
    // A semi-sync commit waits for the acknowledgement: a round trip to the replica.
    let ack = if fo.semi_sync && !db.replicas.is_empty() {
        2.0 * db.replication.delay.mean()
    } else {
        0.0
    };

    // Demand per request on each resource, in seconds of one server.
    let mut offered = vec![];
    if !cfg.lb.processing.is_zero() || cfg.lb.tls.is_some() {
        // TLS handshakes run on the same threads (`model/tls.rs`).
        let tls = cfg.lb.tls.as_ref().map_or(0.0, |t| t.mean_per_request());
        offered.push(Offered {
            component: "lb".into(),
            rho: peak * (cfg.lb.processing.mean() + tls) / cfg.lb.threads as f64,
        });
    }
    let primary_speed = db.primary.speed;
    let replica_speed = |i: usize| db.replicas.get(i).map_or(1.0, |r| r.speed);
    let read_speed = if reads_on_replicas {
        db.replicas.iter().map(|r| r.speed).sum::<f64>() / db.replicas.len() as f64
    } else {
        primary_speed
    };
    let db_hold = d.reads * (db.read_time.mean() / read_speed + net)
        + d.writes * (db.write_time.mean() / primary_speed + net + ack);
    // Per server, the load at `lambda` requests/s: (Nginx rho, app rho).
    let server_rho = |s: &super::config::ServerConfig, lambda: f64| -> (f64, f64) {
        let nginx = lambda * d.nginx / s.speed / s.nginx_workers as f64;
        let app = lambda * (d.app / s.speed + db_hold) / s.app_workers as f64;
        (nginx, app)
    };
    let active: Vec<usize> = (0..cfg.servers.len())
        .filter(|&i| !cfg.servers[i].backup)
        .collect();
    let weight_sum: f64 = active.iter().map(|&i| cfg.servers[i].weight as f64).sum();
    let lambda_of = |i: usize| match &hashed {
        Some(h) => peak * h[i],
        None => peak * cfg.servers[i].weight as f64 / weight_sum,
    };
    for &i in &active {
        let s = &cfg.servers[i];
        let (nginx, app) = server_rho(s, lambda_of(i));
        if d.nginx > 0.0 {
            offered.push(Offered {
                component: format!("{}.nginx", s.name),
                rho: nginx,
            });
        }
        offered.push(Offered {
            component: format!("{}.app", s.name),
            rho: app,
        });
    }
    let primary_reads = if reads_on_replicas { 0.0 } else { d.reads };
    offered.push(Offered {
        component: db.primary.name.clone(),
        rho: peak * (d.writes * db.write_time.mean() + primary_reads * db.read_time.mean())
            / primary_speed
            / db.primary.workers as f64,
    });
    let apply = |i: usize| {
        peak * d.writes * db.write_time.mean() * db.replication.apply_factor
            / primary_speed
            / replica_speed(i)
    };
    let n = db.replicas.len() as f64;
    for (i, r) in db.replicas.iter().enumerate() {
        let reads = if reads_on_replicas {
            peak * d.reads / n * db.read_time.mean() / replica_speed(i)
        } else {
            0.0
        };
        offered.push(Offered {
            component: r.name.clone(),
            rho: (reads + apply(i)) / r.workers as f64,
        });
    }
    for (i, r) in db.replicas.iter().enumerate() {
        offered.push(Offered {
            component: format!("{}.applier", r.name),
            rho: apply(i) / db.replication.appliers as f64,
        });
    }
    let (bottleneck, max_rho) = worst(&offered);

    let mut degraded = vec![];
    // One server down: its share goes to the others in proportion to weight. The worst one to
    // lose is the one after whose loss the busiest remaining part is busiest.
    let rehash = senders
        .as_ref()
        .filter(|s| s.addresses() * active.len() as u64 <= super::spread::MAX_HASHED);
    if let (true, Some(senders)) = (active.len() >= 2, rehash) {
        // `balance source`: the map (or ring) without the lost server decides where each
        // address goes; the worst loss is the one whose busiest remaining part is busiest.
        let mut best: Option<(usize, (usize, bool), f64)> = None;
        for &lost in &active {
            let shares = senders.shares(cfg, Some(lost));
            for &i in active.iter().filter(|&&i| i != lost) {
                let (nginx, app) = server_rho(&cfg.servers[i], peak * shares[i]);
                let nginx = if d.nginx > 0.0 { nginx } else { 0.0 };
                for (rho, is_app) in [(nginx, false), (app, true)] {
                    if best.is_none_or(|b| rho > b.2) {
                        best = Some((lost, (i, is_app), rho));
                    }
                }
            }
        }
        degraded.extend(best.map(|(lost, (i, app), rho)| Degraded {
            state: format!("{} down", cfg.servers[lost].name),
            bottleneck: format!(
                "{}.{}",
                cfg.servers[i].name,
                if app { "app" } else { "nginx" }
            ),
            rho,
            stable: rho < 1.0,
        }));
    } else if active.len() >= 2 {
        // Losing a server changes the others' load only through `rest`, the weight left. The
        // busiest part left is the first busiest (as `worst` folds them) of all the parts at
        // that `rest`, unless that part is the lost server's own: then it is the first busiest
        // of the other servers' parts. So each distinct `rest` costs two passes over the pool
        // instead of one pass per lost server: O(n) with equal weights where the pairwise loop
        // was O(n²) (10^8 parts, each a formatted name, at 10,000 servers; issue 13). Same
        // expressions, same order, same strict `>`: the same figures to the bit.
        let busiest = |rest: f64, skip: Option<usize>| -> (Option<(usize, bool)>, f64) {
            let mut best: (Option<(usize, bool)>, f64) = (None, 0.0);
            for &i in active.iter().filter(|&&i| Some(i) != skip) {
                let s = &cfg.servers[i];
                let (nginx, app) = server_rho(s, peak * s.weight as f64 / rest);
                let nginx = if d.nginx > 0.0 { nginx } else { 0.0 };
                if nginx > best.1 {
                    best = (Some((i, false)), nginx);
                }
                if app > best.1 {
                    best = (Some((i, true)), app);
                }
            }
            best
        };
        type Busiest = (Option<(usize, bool)>, f64);
        let mut by_rest: Vec<(u64, Busiest, Busiest)> = vec![];
        let mut best: Option<(usize, Busiest)> = None;
        for &lost in &active {
            let rest = weight_sum - cfg.servers[lost].weight as f64;
            let k = match by_rest.iter().position(|e| e.0 == rest.to_bits()) {
                Some(k) => k,
                None => {
                    let top = busiest(rest, None);
                    let other = busiest(rest, top.0.map(|(i, _)| i));
                    by_rest.push((rest.to_bits(), top, other));
                    by_rest.len() - 1
                }
            };
            let (_, top, other) = by_rest[k];
            let left = if top.0.is_some_and(|(i, _)| i == lost) {
                other
            } else {
                top
            };
            if best.is_none_or(|(_, x)| left.1 > x.1) {
                best = Some((lost, left));
            }
        }
        degraded.extend(best.map(|(lost, (part, rho))| Degraded {
            state: format!("{} down", cfg.servers[lost].name),
            bottleneck: part.map_or_else(String::new, |(i, app)| {
                let kind = if app { "app" } else { "nginx" };
                format!("{}.{kind}", cfg.servers[i].name)
            }),
            rho,
            stable: rho < 1.0,
        }));
    }
    // Stalls: requests of a kind hold their worker for `hold` seconds.
    let stall = |state: &str, share: f64, hold: f64| -> Option<Degraded> {
        if share == 0.0 || !hold.is_finite() {
            return None;
        }
        let parts: Vec<Offered> = active
            .iter()
            .map(|&i| {
                let s = &cfg.servers[i];
                let lambda = lambda_of(i);
                Offered {
                    component: format!("{}.app", s.name),
                    rho: lambda * share * hold / s.app_workers as f64,
                }
            })
            .collect();
        let (b, rho) = worst(&parts);
        Some(Degraded {
            state: state.into(),
            bottleneck: b,
            rho,
            stable: rho < 1.0,
        })
    };
    let app_timeout = cfg
        .servers
        .iter()
        .map(|s| s.app_timeout.map_or(f64::INFINITY, |t| t.as_secs_f64()))
        .fold(f64::INFINITY, f64::min);
    if fo.semi_sync && !db.replicas.is_empty() {
        let hold = fo.semi_sync_timeout.as_secs_f64().min(app_timeout);
        degraded.extend(stall(
            &format!(
                "semi-sync stall (no acknowledgement for up to {})",
                fo.semi_sync_timeout
            ),
            d.writing,
            hold,
        ));
    }
    let read_timeout = db
        .client
        .read_timeout
        .map_or(f64::INFINITY, |t| t.as_secs_f64());
    let hang = read_timeout.min(app_timeout);
    degraded.extend(stall(
        &format!(
            "database not answering (queries hang {})",
            if hang.is_finite() {
                format!("{hang} s, until a timeout")
            } else {
                "with no timeout".to_string()
            }
        ),
        d.querying,
        if hang.is_finite() { hang } else { 1e9 },
    ));

    Capacity {
        peak_rate: peak,
        stable: offered.iter().all(|o| o.rho < 1.0),
        max_rate: if max_rho > 0.0 {
            peak / max_rho
        } else {
            f64::INFINITY
        },
        bottleneck,
        offered,
        degraded,
    }
}

/// The most loaded component (the first on a tie) and its rho.
fn worst(parts: &[Offered]) -> (String, f64) {
    parts
        .iter()
        .map(|o| (o.component.clone(), o.rho))
        .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a })
}

/// The fewest servers that carry the peak load with every part below rho = 1 (the strongest
/// servers first): k of a k-of-n pool, derived from capacity. At most the number of active
/// servers (a stack overloaded when healthy needs them all, and more).
pub fn min_servers(cfg: &Config) -> u32 {
    let peak = analyse(cfg).peak_rate;
    let mut each: Vec<f64> = cfg
        .servers
        .iter()
        .filter(|s| !s.backup)
        .map(|s| {
            // One server alone at the peak rate: its busiest part's rho scales with the rate.
            let mut alone = cfg.clone();
            alone.servers = vec![s.clone()];
            let a = analyse(&alone);
            let rho = a
                .offered
                .iter()
                .filter(|o| o.component == format!("{}.nginx", s.name))
                .chain(
                    a.offered
                        .iter()
                        .filter(|o| o.component == format!("{}.app", s.name)),
                )
                .map(|o| o.rho)
                .fold(0.0, f64::max);
            if rho > 0.0 { peak / rho } else { f64::INFINITY }
        })
        .collect();
    each.sort_by(|a, b| b.total_cmp(a));
    let mut carried = 0.0;
    for (k, c) in each.iter().enumerate() {
        carried += c;
        if carried > peak {
            return k as u32 + 1;
        }
    }
    each.len().max(1) as u32
}

/// CPU each station keeps busy at the base arrival rate, in cores: per server (Nginx and the
/// application; a worker waiting for the database holds no CPU), and per DB node (0 = the
/// primary: writes and, without replicas to read from, reads; a replica: its share of reads
/// and the replay of every write). What a host running several of them shares
/// (`model/colocation.rs`).
pub fn cpu_busy(cfg: &Config) -> (Vec<f64>, Vec<f64>) {
    let rate = cfg.workload.rate;
    let d = demand(cfg);
    let db = &cfg.database;
    let active: Vec<usize> = (0..cfg.servers.len())
        .filter(|&i| !cfg.servers[i].backup)
        .collect();
    let weight_sum: f64 = active.iter().map(|&i| cfg.servers[i].weight as f64).sum();
    let servers = (0..cfg.servers.len())
        .map(|i| {
            let s = &cfg.servers[i];
            if s.backup || weight_sum <= 0.0 {
                return 0.0;
            }
            rate * s.weight as f64 / weight_sum * (d.nginx + d.app) / s.speed
        })
        .collect();
    let reads_on_replicas = db.read_from == ReadPolicy::Replicas && !db.replicas.is_empty();
    let primary_reads = if reads_on_replicas { 0.0 } else { d.reads };
    let write = d.writes * db.write_time.mean();
    let mut nodes = vec![rate * (write + primary_reads * db.read_time.mean()) / db.primary.speed];
    let n = db.replicas.len() as f64;
    for r in &db.replicas {
        let reads = if reads_on_replicas {
            d.reads / n * db.read_time.mean()
        } else {
            0.0
        };
        let apply = write * db.replication.apply_factor / db.primary.speed;
        nodes.push(rate * (reads + apply) / r.speed);
    }
    (servers, nodes)
}
