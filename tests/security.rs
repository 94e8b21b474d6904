//! Security as capacity and availability (issue 14): what HTTPS costs the load balancer.
//!
//! TLS (`[lb.tls]`, `model/tls.rs`): a request opens a connection with probability 1/k (k
//! requests per connection), which resumes a session with probability r; the handshake runs on
//! HAProxy's threads, so each request costs the LB
//!     E[S] = E[processing] + (1/k) (r E[resumed] + (1 - r) E[full])
//! and the LB is an M/G/c station: its utilisation is lambda E[S] / c, and saturated it
//! completes c / E[S] requests per second, the saturation rate HTTPS lowers.

mod common;
use common::*;

use infrasim::dist::{Dist, Sample};
use infrasim::engine::SimTime;
use infrasim::model::tls::{TlsConfig, TlsKey};
use infrasim::model::*;

const THREADS: u32 = 2;

fn tls(key: TlsKey, k: f64, resumption: f64) -> TlsConfig {
    TlsConfig {
        key,
        handshake: Dist::det(key.full_handshake_secs()).unwrap(),
        resumed: Dist::det(TlsKey::resumed_handshake_secs()).unwrap(),
        resumption,
        requests_per_connection: k,
    }
}

/// E[S], the mean LB thread time of one request: processing plus a handshake that is full,
/// resumed or nothing.
fn lb_mean(processing: &Dist, t: Option<&TlsConfig>) -> f64 {
    processing.mean()
        + t.map_or(0.0, |t| {
            let q = 1.0 / t.requests_per_connection;
            q * (t.resumption * t.resumed.mean() + (1.0 - t.resumption) * t.handshake.mean())
        })
}

/// A stack whose only slow stage is HAProxy: `THREADS` threads, exponential processing of mean
/// 0.2 ms, the application nearly instant with workers to spare.
fn lb_bound(lambda: f64, seconds: u64, t: Option<TlsConfig>) -> Config {
    let mut cfg = mmc(lambda, 1e6, 10_000, 1, Algorithm::RoundRobin, seconds);
    cfg.lb.threads = THREADS;
    cfg.lb.processing = Dist::exp(0.2e-3).unwrap();
    cfg.lb.tls = t;
    cfg
}

#[test]
fn lb_utilisation_is_lambda_times_processing_plus_handshakes_over_threads() {
    let _r = Report::start("TLS: LB thread utilisation = lambda E[S] / c (M/G/c)");
    for t in [
        None,
        Some(tls(TlsKey::Rsa2048, 1.0, 0.0)),
        Some(tls(TlsKey::Rsa2048, 4.0, 0.5)),
        Some(tls(TlsKey::EcdsaP256, 2.0, 0.0)),
    ] {
        let lambda = 1500.0;
        let cfg = lb_bound(lambda, 40, t.clone());
        let es = lb_mean(&cfg.lb.processing, t.as_ref());
        let expect = lambda * es / THREADS as f64;
        let runs = replicate(&cfg, 8);
        let est = Est::of(&runs.iter().map(|r| r.lb.utilisation).collect::<Vec<_>>());
        log(format!(
            "  {:<28} rho {:.4} ± {:.4} (99.9%), lambda E[S]/c = {expect:.4}",
            t.as_ref().map_or("plain HTTP".to_string(), |t| format!(
                "{} k={} r={}",
                t.key.name(),
                t.requests_per_connection,
                t.resumption
            )),
            est.mean,
            est.hw999()
        ));
        assert!(
            (est.mean - expect).abs() <= est.hw999(),
            "utilisation {} vs {expect}",
            est.mean
        );
        if let (Some(t), Some(rep)) = (&t, &runs[0].lb.tls) {
            // Every measured request that reached an LB thread made one connection decision.
            let n = rep.full_handshakes + rep.resumed_handshakes + rep.reused_connections;
            let q = &runs[0].requests;
            assert!(
                q.arrived - q.in_flight_end <= n && n <= q.arrived,
                "{n} decisions, {q:?}"
            );
            assert!((rep.expected_cpu_per_request_s - t.mean_per_request()).abs() < 1e-15);
        }
    }
}

#[test]
fn tls_lowers_the_saturation_rate_to_threads_over_mean_lb_work() {
    let _r = Report::start("TLS: a saturated LB completes c / E[S] requests per second");
    let seconds = 10;
    let mut rates = vec![];
    for t in [None, Some(tls(TlsKey::Rsa2048, 1.0, 0.0))] {
        let processing = Dist::exp(0.2e-3).unwrap();
        let es = lb_mean(&processing, t.as_ref());
        let capacity = THREADS as f64 / es;
        // Twice what it can take: the LB threads never idle after the first arrival.
        let mut cfg = lb_bound(2.0 * capacity, seconds, t.clone());
        cfg.warmup = SimTime::ZERO;
        let runs = replicate(&cfg, 8);
        let est = Est::of(&runs.iter().map(|r| r.throughput_rps).collect::<Vec<_>>());
        // At each end of the run at most one request per thread is partly served.
        let edge = THREADS as f64 / seconds as f64;
        log(format!(
            "  {:<12} saturation {:.1} ± {:.1} req/s, c / E[S] = {capacity:.1}",
            t.as_ref().map_or("plain HTTP", |t| t.key.name()),
            est.mean,
            est.hw999() + edge
        ));
        assert!(
            (est.mean - capacity).abs() <= est.hw999() + edge,
            "{} vs {capacity}",
            est.mean
        );
        rates.push(capacity);
    }
    // RSA-2048 on every request: 0.2 ms + 0.807 ms, about a fifth of the plain rate.
    assert!(rates[1] < 0.25 * rates[0], "{rates:?}");
}

#[test]
fn capacity_counts_the_handshakes() {
    let t = tls(TlsKey::EcdsaP256, 3.0, 0.25);
    let cfg = lb_bound(1000.0, 10, Some(t.clone()));
    let c = capacity::analyse(&cfg);
    let lb = c.offered.iter().find(|o| o.component == "lb").unwrap();
    let es = lb_mean(&cfg.lb.processing, Some(&t));
    assert!((lb.rho - 1000.0 * es / THREADS as f64).abs() < 1e-12);
}

// ---- floods and HAProxy's per-source rate limit ---------------------------------------------

use infrasim::model::firewall::{Blocked, FirewallAction, FirewallConfig};
use infrasim::model::flood::FloodConfig;
use infrasim::model::ratelimit::{LimitAction, RateLimitConfig};

const SOURCES: u32 = 10;
const LIMIT: u32 = 5;

/// One server of 4 workers, 10 ms of exponential work each (400 req/s), a backlog of 200:
/// legitimate traffic at 100 req/s from 100,000 addresses, and a flood of 2,000 req/s from 10
/// addresses from 1 s after the warm-up to 1 s before the end.
fn flooded(limit: Option<LimitAction>, seconds: u64) -> Config {
    let mut cfg = mmc(100.0, 100.0, 4, 1, Algorithm::RoundRobin, seconds);
    cfg.servers[0].app_queue = 200;
    cfg.workload.flood = Some(FloodConfig {
        rate: 2000.0,
        sources: SOURCES,
        start: cfg.warmup + SimTime::from_secs(1),
        stop: Some(cfg.duration - SimTime::from_secs(1)),
        like: 0,
    });
    cfg.lb.rate_limit = limit.map(|action| RateLimitConfig {
        period_ms: 10_000,
        limit: LIMIT,
        action,
        conn_limit: None,
    });
    cfg
}

fn class<'a>(r: &'a RunResults, name: &str) -> &'a infrasim::model::results::ClassStats {
    r.classes.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn a_rate_limit_lets_exactly_the_limit_through_per_source_and_saves_the_users() {
    let _r = Report::start("flood: sc_http_req_rate(0) gt N denies all but N per source");
    // Per source 200 req/s, 2,000 per 10 s period against a limit of 5: HAProxy's sliding
    // counter (past x remain / period + current, every request counted, denied ones too) reads
    // ~2,000 whenever a source asks, so after its first 5 requests a source is denied for as
    // long as the flood lasts (a Poisson count of mean 2,000 never comes near 5). Legitimate
    // clients send 100 req/s over 100,000 addresses: 0.01 per address per period, never 6.
    let limited = Stack::run(&flooded(Some(LimitAction::Deny), 60), 0);
    let open = Stack::run(&flooded(None, 60), 0);
    let calm = {
        let mut cfg = flooded(None, 60);
        cfg.workload.flood = None;
        Stack::run(&cfg, 0)
    };
    for r in [&limited, &open, &calm] {
        check_run(r);
    }
    let f = limited.flood.as_ref().unwrap();
    let passed = u64::from(SOURCES * LIMIT);
    log(format!(
        "  flood: {} arrived, {} through (sources x limit = {passed}), {} denied (403)",
        f.arrived,
        f.completed,
        errors(&limited, "rate_limited_403")
    ));
    assert_eq!(f.completed, passed);
    assert_eq!(errors(&limited, "rate_limited_403"), f.arrived - passed);
    assert_eq!(
        limited.lb.rate_limit.as_ref().unwrap().denied,
        f.arrived - passed
    );
    // Users: nothing lost with the limit, as without the flood; without the limit the server
    // (400 req/s) serves at most 400 of the 2,100 req/s offered, whoever sent them.
    let share = 400.0 / 2100.0;
    let (l, o) = (class(&limited, "default"), class(&open, "default"));
    log(format!(
        "  users' availability: {:.4} limited, {:.4} without a limit (~{share:.3} while it lasts), \
         {:.4} without the flood",
        l.availability,
        o.availability,
        class(&calm, "default").availability
    ));
    assert_eq!(class(&calm, "default").failed, 0);
    assert_eq!(l.failed, 0);
    assert_eq!(l.arrived, class(&calm, "default").arrived);
    assert!(o.availability < 2.0 * share, "{}", o.availability);
}

#[test]
fn tarpit_holds_each_denied_request_for_timeout_tarpit_then_answers_500() {
    let tarpit = SimTime::from_secs(3);
    let mut cfg = flooded(Some(LimitAction::Tarpit(tarpit)), 40);
    // The flood stops early enough for every tarpit to end within the run.
    cfg.workload.flood.as_mut().unwrap().stop = Some(cfg.duration - tarpit - tarpit);
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let f = r.flood.as_ref().unwrap();
    let held = f.arrived - u64::from(SOURCES * LIMIT);
    assert_eq!(r.lb.rate_limit.as_ref().unwrap().tarpitted, held);
    assert_eq!(errors(&r, "tarpit_500"), held);
    assert_eq!(errors(&r, "rate_limited_403"), 0);
    // Little's law over the run: tarpitted requests are in the system 3 s each.
    let w = r.littles_law.mean_time_in_system;
    let total = (r.requests.completed + r.requests.failed) as f64;
    assert!(w * total >= held as f64 * tarpit.as_secs_f64() * (1.0 - 1e-9));
}

#[test]
fn a_connection_limit_rejects_a_source_beyond_its_open_connections() {
    // Every flood source may hold 2 connections; the server is slow enough (10 ms) for the
    // flood's 200 req/s per source to overlap, so some are rejected, and none of the users.
    let mut cfg = flooded(None, 20);
    cfg.lb.rate_limit = Some(RateLimitConfig {
        period_ms: 10_000,
        limit: u32::MAX - 1,
        action: LimitAction::Deny,
        conn_limit: Some(2),
    });
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let rejected = errors(&r, "conn_limit_rejected");
    assert!(rejected > 0);
    assert_eq!(
        r.lb.rate_limit.as_ref().unwrap().rejected_connections,
        rejected
    );
    assert_eq!(
        class(&r, "default").failed + class(&r, "flood").failed,
        r.requests.failed
    );
    assert!(class(&r, "flood").failed >= rejected);
}

// ---- firewalls: REJECT answers, DROP does not ------------------------------------------------

fn users_behind(action: FirewallAction) -> Config {
    let mut cfg = mmc(1.0, 1000.0, 4, 1, Algorithm::RoundRobin, 3000);
    cfg.workload.rate = 0.0;
    cfg.workload.users = Some(UsersConfig {
        count: 50,
        think: Dist::det(10.0).unwrap(),
        pages: 1,
        requests: 1,
        abandon: 0.0,
        away: None,
    });
    cfg.lb.firewall = Some(FirewallConfig {
        action,
        block: Blocked::All,
        at: SimTime::ZERO,
    });
    cfg
}

#[test]
fn drop_holds_users_for_their_connect_timeout_and_reject_fails_them_at_once() {
    let _r = Report::start("firewall: DROP holds a client for its connect timeout, REJECT not");
    let timeout = SimTime::from_secs(127);
    let drop = Stack::run(&users_behind(FirewallAction::Drop), 0);
    let reject = Stack::run(&users_behind(FirewallAction::Reject), 0);
    let (d, j) = (drop.users.as_ref().unwrap(), reject.users.as_ref().unwrap());
    log(format!(
        "  DROP: page time {:.3} s, {:.4} pages/s; REJECT: page time {:.3} s, {:.4} pages/s",
        d.page_time.mean, d.page_throughput, j.page_time.mean, j.page_throughput
    ));
    // Every page fails; with DROP it takes exactly the connect timeout (R = 127 s), with
    // REJECT no time at all, and X = N / (R + Z) pages per second either way.
    assert_eq!(d.page_availability, 0.0);
    assert_eq!(j.page_availability, 0.0);
    assert!((d.page_time.mean - timeout.as_secs_f64()).abs() < 1e-6);
    assert_eq!(j.page_time.mean, 0.0);
    assert_eq!(errors(&drop, "firewall_dropped"), drop.requests.failed);
    assert_eq!(errors(&reject, "firewall_rejected"), reject.requests.failed);
    for (u, r) in [(d, 127.0), (j, 0.0)] {
        // Edge: at most one page per user is cut by each end of the window.
        let window = drop.measured_s;
        let expect = 50.0 / (r + 10.0);
        assert!(
            (u.page_throughput - expect).abs() <= 2.0 * 50.0 / window,
            "{} vs {expect}",
            u.page_throughput
        );
    }
}

#[test]
fn a_firewall_rule_on_the_flood_sources_spares_the_users() {
    let mut cfg = flooded(None, 30);
    cfg.lb.firewall = Some(FirewallConfig {
        action: FirewallAction::Reject,
        block: Blocked::FloodSources(SOURCES),
        at: SimTime::ZERO,
    });
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let f = r.flood.as_ref().unwrap();
    assert_eq!(errors(&r, "firewall_rejected"), f.arrived);
    assert_eq!(class(&r, "default").failed, 0);
    // Half the sources blocked: the other half's requests reach the server.
    cfg.lb.firewall.as_mut().unwrap().block = Blocked::FloodSources(SOURCES / 2);
    let half = Stack::run(&cfg, 0);
    let blocked = errors(&half, "firewall_rejected") as f64;
    let n = half.flood.as_ref().unwrap().arrived as f64;
    // Binomial(n, 1/2): 5 standard deviations.
    assert!(
        (blocked - n / 2.0).abs() < 5.0 * (n / 4.0).sqrt(),
        "{blocked} of {n}"
    );
}

#[test]
fn a_client_does_not_retry_a_403_from_http_request_deny() {
    let _r = Report::start("retries: a 403 from `http-request deny` is final, not retried");
    // Legitimate clients behind one address (a NAT) at 50 req/s against a limit of 5 per 10 s:
    // most of their requests are denied with a 403. A client whose retry policy retries
    // errors does not retry a 403 (RFC 9110 §15.5.4: "SHOULD NOT automatically repeat the
    // request"; retry policies retry connection errors, timeouts and 5xx): each denied request
    // is one attempt, given up at once, and the load is not multiplied by 1 + retries.
    let mut cfg = mmc(50.0, 1000.0, 4, 1, Algorithm::RoundRobin, 30);
    cfg.workload.clients = 1;
    cfg.workload.retry = Some(infrasim::model::config::RetryConfig {
        retries: 3,
        backoff: SimTime::ZERO,
        multiplier: 2.0,
        max_backoff: SimTime::from_secs(120),
        jitter: false,
    });
    cfg.lb.rate_limit = Some(RateLimitConfig {
        period_ms: 10_000,
        limit: LIMIT,
        action: LimitAction::Deny,
        conn_limit: None,
    });
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let rt = r.retries.as_ref().unwrap();
    let denied = errors(&r, "rate_limited_403");
    log(format!(
        "  {} requests wanted, {} attempts, {} retried, {denied} denied (403), {} given up",
        rt.requests, rt.attempts, rt.retried, rt.gave_up
    ));
    assert!(denied > 1000, "{denied}");
    assert_eq!(rt.retried, 0);
    assert_eq!(rt.attempts, rt.requests);
    assert_eq!(rt.gave_up, denied);
    // (A request or two may still be in flight at the end.)
    assert!(rt.requests - (rt.succeeded + rt.gave_up) <= 5, "{rt:?}");
}

#[test]
fn a_client_that_gives_up_ends_its_tarpit_and_frees_its_connection() {
    let _r = Report::start("tarpit: a client that gives up ends it (http_process_tarpit)");
    // HAProxy's tarpit waits only while "the client is still there" (`http_process_tarpit()`,
    // src/http_ana.c, stops on the client's close): flood clients that give up after 1 s hold
    // their frontend connection 1 s, not `timeout tarpit`'s 30 s. 2,000 req/s x 1 s fits in
    // `maxconn 5000`; held 30 s they would need 60,000 and turn the users away (lb_maxconn).
    let mut cfg = flooded(Some(LimitAction::Tarpit(SimTime::from_secs(30))), 40);
    cfg.lb.maxconn = 5000;
    cfg.workload.client_timeout = Some(SimTime::from_secs(1));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let tarpitted = r.lb.rate_limit.as_ref().unwrap().tarpitted;
    log(format!(
        "  {tarpitted} tarpitted, {} ended by their client's timeout, {} answered 500, {} refused \
         at maxconn",
        errors(&r, "client_timeout"),
        errors(&r, "tarpit_500"),
        errors(&r, "lb_maxconn")
    ));
    assert!(tarpitted > 10_000, "{tarpitted}");
    assert_eq!(errors(&r, "lb_maxconn"), 0);
    assert_eq!(errors(&r, "tarpit_500"), 0);
    assert_eq!(class(&r, "default").failed, 0);
}
