//! Heavy-hitter clients (`client_popularity`, `nat_share`) reproduce `balance source`'s known
//! imbalance, by exactly the amount the hash of the addresses and their weights predict.
//!
//! Each open-loop request comes from address i with probability p_i (`Popularity`), and
//! `balance source` sends every request of address i to server h(i), the server HAProxy's hash
//! gives it (`model/lb/source.rs`, map-based or consistent). The requests are independent, so
//! the counts per server are multinomial with shares P_s = Σ_{h(i) = s} p_i: each count must be
//! within Z_999 standard deviations, √(N P_s (1 − P_s)), of N P_s. P_s is computed here from
//! the probabilities and the hash, never from the run.
//!
//! And the imbalance is visible: the largest share over the mean share (1 / servers) is well
//! above what uniform clients give, by more than both runs' noise.

mod common;
use common::*;

use infrasim::engine::{Rng, StreamId};
use infrasim::model::lb::{Pick, Policy, ServerView, Source};
use infrasim::model::popularity::{Popularity, PopularityConfig};
use infrasim::model::workload::FIRST_CLIENT_IP;
use infrasim::model::*;

const SERVERS: usize = 4;
const CLIENTS: u32 = 2000;

/// The server `balance source` gives each address, from the policy itself on idle servers.
fn server_of_each_address(consistent: bool) -> Vec<usize> {
    let views = vec![
        ServerView {
            weight: 1,
            usable: true,
            ..ServerView::default()
        };
        SERVERS
    ];
    let mut src = Source::new(consistent, &views);
    let mut rng = Rng::new(StreamId::new(1, "unused", 0));
    (0..CLIENTS)
        .map(|i| match src.pick(&views, FIRST_CLIENT_IP + i, &mut rng) {
            Pick::Server(s) => s,
            other => panic!("address {i}: {other:?}"),
        })
        .collect()
}

/// (observed shares, expected shares, requests) of one run.
fn shares(pop: Option<PopularityConfig>, consistent: bool) -> (Vec<f64>, Vec<f64>, u64) {
    let mut cfg = mmc(
        400.0,
        1000.0,
        4,
        SERVERS,
        Algorithm::Source { consistent },
        300,
    );
    cfg.workload.clients = CLIENTS;
    cfg.workload.popularity = pop;
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let n: u64 = r.servers.iter().map(|s| s.dispatched).sum();
    let observed = r
        .servers
        .iter()
        .map(|s| s.dispatched as f64 / n as f64)
        .collect();
    let probs = match &pop {
        Some(p) => Popularity::new(p, CLIENTS).probabilities(),
        None => vec![1.0 / f64::from(CLIENTS); CLIENTS as usize],
    };
    let mut expected = vec![0.0; SERVERS];
    for (i, s) in server_of_each_address(consistent).into_iter().enumerate() {
        expected[s] += probs[i];
    }
    (observed, expected, n)
}

fn max_over_mean(shares: &[f64]) -> f64 {
    shares.iter().cloned().fold(0.0, f64::max) * shares.len() as f64
}

#[test]
fn source_balancing_shares_follow_the_hash_of_the_heavy_hitters() {
    let heavy = PopularityConfig {
        zipf: Some(1.1),
        nat_share: 0.15,
    };
    for consistent in [false, true] {
        let (uni_obs, uni_exp, uni_n) = shares(None, consistent);
        let (obs, exp, n) = shares(Some(heavy), consistent);
        for (name, o, e, n) in [
            ("uniform", &uni_obs, &uni_exp, uni_n),
            ("zipf+nat", &obs, &exp, n),
        ] {
            for s in 0..SERVERS {
                let sd = (e[s] * (1.0 - e[s]) / n as f64).sqrt();
                assert!(
                    (o[s] - e[s]).abs() <= Z_999 * sd,
                    "consistent={consistent} {name}: server {s} share {:.4}, the hash predicts \
                     {:.4} ± {:.4}",
                    o[s],
                    e[s],
                    sd
                );
            }
        }
        // Visible: the heavy hitters' max/mean beats the uniform clients' by more than the
        // noise of both (each share's SD times the number of servers).
        let (heavy_ratio, uni_ratio) = (max_over_mean(&obs), max_over_mean(&uni_obs));
        let noise = SERVERS as f64 * Z_999 * (0.25 / n as f64 + 0.25 / uni_n as f64).sqrt();
        eprintln!(
            "consistent={consistent}: max/mean {heavy_ratio:.3} (predicted {:.3}) with heavy \
             hitters, {uni_ratio:.3} (predicted {:.3}) uniform, noise {noise:.3}",
            max_over_mean(&exp),
            max_over_mean(&uni_exp)
        );
        assert!(heavy_ratio > uni_ratio + noise);
    }
}

/// The capacity figures (`capacity.offered`, computed from the configuration before the run)
/// follow the same hash: each server's offered load is the peak rate times the share of the
/// addresses hashed to it, not its weight's share, and the run's measured utilisation agrees
/// with it within the noise of the request counts and the service times.
#[test]
fn capacity_follows_the_hash_not_the_weights() {
    let heavy = PopularityConfig {
        zipf: Some(1.1),
        nat_share: 0.15,
    };
    let (rate, mu, workers, secs) = (8000.0, 1000.0, 4, 60);
    for consistent in [false, true] {
        let mut cfg = mmc(
            rate,
            mu,
            workers,
            SERVERS,
            Algorithm::Source { consistent },
            secs,
        );
        cfg.workload.clients = CLIENTS;
        cfg.workload.popularity = Some(heavy);
        let probs = Popularity::new(&heavy, CLIENTS).probabilities();
        let mut expected = [0.0; SERVERS];
        for (i, s) in server_of_each_address(consistent).into_iter().enumerate() {
            expected[s] += probs[i];
        }
        let cap = infrasim::model::capacity::analyse(&cfg);
        let r = Stack::run(&cfg, 0);
        check_run(&r);
        let n: u64 = r.servers.iter().map(|s| s.dispatched).sum();
        for (s, server) in r.servers.iter().enumerate() {
            let offered = cap
                .offered
                .iter()
                .find(|o| o.component == format!("{}.app", server.name))
                .unwrap()
                .rho;
            let predicted = rate * expected[s] / mu / f64::from(workers);
            assert!(
                (offered - predicted).abs() <= 1e-9 * predicted,
                "consistent={consistent} server {s}: offered {offered}, the hash gives {predicted}"
            );
            // Relative noise of the measured utilisation: the server's count (multinomial)
            // and the mean of its exponential service times.
            let p = expected[s];
            let rel = ((1.0 - p) / (n as f64 * p) + 1.0 / (n as f64 * p)).sqrt();
            assert!(
                (server.app_utilisation - offered).abs() <= Z_999 * rel * offered,
                "consistent={consistent} server {s}: busy {:.4}, offered {offered:.4} ± {:.4}",
                server.app_utilisation,
                Z_999 * rel * offered
            );
        }
        let max = expected.iter().cloned().fold(0.0, f64::max);
        let busiest = cap.offered.iter().map(|o| o.rho).fold(0.0, f64::max);
        assert!((busiest - rate * max / mu / f64::from(workers)).abs() < 1e-9);
        // The even-spread figure it replaced: a quarter of the rate on every server.
        assert!(busiest > 1.1 * rate / SERVERS as f64 / mu / f64::from(workers));
    }
}
