//! Offered load per component, from the configuration alone (no simulation): what a capacity
//! planner computes on paper, and how the summary says a run is unstable.
//!
//! rho = arrival rate x mean demand / servers. Application workers are held during DB round
//! trips, so their demand includes query service and network time (queueing at the DB is
//! ignored, which makes the figure a lower bound). The peak rate over all phases is used, and
//! traffic is assumed split across servers in proportion to weight.

use super::config::{Config, ReadPolicy};
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
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Offered {
    pub component: String,
    pub rho: f64,
}

pub fn analyse(cfg: &Config) -> Capacity {
    let peak = cfg
        .workload
        .phases
        .iter()
        .map(|p| p.rate)
        .fold(cfg.workload.rate, f64::max);
    let mix = &cfg.workload.mix;
    let total_w: f64 = mix.iter().map(|c| c.weight).sum();
    let avg = |f: &dyn Fn(&super::config::RequestClass) -> f64| -> f64 {
        mix.iter().map(|c| c.weight / total_w * f(c)).sum()
    };
    let e_nginx = avg(&|c| c.nginx.mean());
    let e_app = avg(&|c| c.app.mean());
    let e_reads = avg(&|c| c.reads as f64);
    let e_writes = avg(&|c| c.writes as f64);
    let db = &cfg.database;
    let net = 2.0 * db.network.mean();
    let reads_on_replicas = db.read_from == ReadPolicy::Replicas && !db.replicas.is_empty();

    // Demand per request on each resource, in seconds of one server.
    let mut offered = vec![];
    if !cfg.lb.processing.is_zero() {
        offered.push(Offered {
            component: "lb".into(),
            rho: peak * cfg.lb.processing.mean() / cfg.lb.threads as f64,
        });
    }
    let weight_sum: f64 = cfg.servers.iter().map(|s| s.weight as f64).sum();
    let primary_speed = db.primary.speed;
    let replica_speed = |i: usize| db.replicas.get(i).map_or(1.0, |r| r.speed);
    let read_speed = if reads_on_replicas {
        db.replicas.iter().map(|r| r.speed).sum::<f64>() / db.replicas.len() as f64
    } else {
        primary_speed
    };
    let db_hold = e_reads * (db.read_time.mean() / read_speed + net)
        + e_writes * (db.write_time.mean() / primary_speed + net);
    for s in &cfg.servers {
        let lambda = peak * s.weight as f64 / weight_sum;
        if e_nginx > 0.0 {
            offered.push(Offered {
                component: format!("{}.nginx", s.name),
                rho: lambda * e_nginx / s.speed / s.nginx_workers as f64,
            });
        }
        offered.push(Offered {
            component: format!("{}.app", s.name),
            rho: lambda * (e_app / s.speed + db_hold) / s.app_workers as f64,
        });
    }
    let primary_reads = if reads_on_replicas { 0.0 } else { e_reads };
    offered.push(Offered {
        component: db.primary.name.clone(),
        rho: peak * (e_writes * db.write_time.mean() + primary_reads * db.read_time.mean())
            / primary_speed
            / db.primary.workers as f64,
    });
    if reads_on_replicas {
        let n = db.replicas.len() as f64;
        for (i, r) in db.replicas.iter().enumerate() {
            offered.push(Offered {
                component: r.name.clone(),
                rho: peak * e_reads / n * db.read_time.mean() / replica_speed(i) / r.workers as f64,
            });
        }
    }
    for (i, r) in db.replicas.iter().enumerate() {
        offered.push(Offered {
            component: format!("{}.applier", r.name),
            rho: peak * e_writes * db.write_time.mean() * db.replication.apply_factor
                / primary_speed
                / replica_speed(i)
                / db.replication.appliers as f64,
        });
    }
    let (bottleneck, max_rho) = offered
        .iter()
        .map(|o| (o.component.clone(), o.rho))
        .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
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
    }
}
