//! TLS termination at HAProxy (`[lb.tls]`): the CPU a handshake costs on an HAProxy thread.
//!
//! Why it matters: HTTPS is one of the seed design's missing pieces, and what it costs is CPU
//! on the load balancer. A full handshake signs with the certificate's key and does one key
//! exchange; an abbreviated one (a resumed session: TLS 1.3 PSK with ECDHE, or a TLS 1.2
//! session ID / ticket) skips the signature. domain.md §6.1 measured with `openssl speed` on
//! one core: RSA-2048 sign 0.755 ms, ECDSA P-256 sign 0.023 ms, ECDH P-256 0.052 ms; so a full
//! handshake costs about 0.81 ms with an RSA-2048 certificate and 0.075 ms with an ECDSA P-256
//! one, and a resumed one about 0.052 ms (one key exchange) [D]. The defaults here are those
//! sums; a distribution in the scenario overrides them (measure your own machine).
//!
//! Where it runs: HAProxy does the handshake on the thread that owns the connection, the same
//! threads that parse and route requests (`nbthread`), so the handshake is added to the LB
//! processing time of the request that opened the connection: the saturation rate of the LB
//! falls from threads / E[processing] to threads / (E[processing] + E[handshake per request]).
//!
//! Keep-alive: a client sends `requests_per_connection` (k >= 1, real) requests per connection
//! on average. Which requests open a connection is drawn on the stream `lb.tls`, independently
//! per request with probability 1/k, so a connection carries a geometric number of requests of
//! mean k (HAProxy keeps client connections alive by default, `option http-keep-alive`; how
//! long a browser keeps one is the client's business, hence a mean rather than a rule). A new
//! connection resumes a session with probability `resumption` (the share of clients that come
//! back within the session cache's lifetime, `tune.ssl.lifetime` 300 s and
//! `tune.ssl.cachesize` 20,000 entries, HAP-CFG L5616, L5487; the cache is not simulated).
//! Bulk encryption (AES-GCM with AES-NI) is left out: domain.md §6.1 calls it small and gives no
//! figure, so fold it into `lb.processing` if you measured one. The handshake's round trips
//! are not added to the latency: the model has no client network delay.

use crate::dist::{Dist, Sample};
use crate::engine::{Rng, SimTime, StreamId};
use serde::Serialize;

/// The certificate's key, which decides a full handshake's signature (domain.md §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsKey {
    Rsa2048,
    EcdsaP256,
}

/// `openssl speed` on one core (domain.md §6.1, a local measurement): seconds per operation.
const RSA2048_SIGN: f64 = 0.755e-3;
const ECDSA_P256_SIGN: f64 = 0.023e-3;
const ECDH_P256: f64 = 0.052e-3;

impl TlsKey {
    pub fn name(self) -> &'static str {
        match self {
            TlsKey::Rsa2048 => "rsa2048",
            TlsKey::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// CPU of a full handshake: one signature and one key exchange (domain.md §6.1 [D]).
    pub fn full_handshake_secs(self) -> f64 {
        match self {
            TlsKey::Rsa2048 => RSA2048_SIGN + ECDH_P256,
            TlsKey::EcdsaP256 => ECDSA_P256_SIGN + ECDH_P256,
        }
    }

    /// CPU of an abbreviated (resumed) handshake: the key exchange alone.
    pub fn resumed_handshake_secs() -> f64 {
        ECDH_P256
    }
}

/// `[lb.tls]`: HTTPS terminated at HAProxy.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsConfig {
    pub key: TlsKey,
    /// CPU of a full handshake on one HAProxy thread.
    pub handshake: Dist,
    /// CPU of a resumed handshake.
    pub resumed: Dist,
    /// Share of new connections that resume a session, in [0, 1].
    pub resumption: f64,
    /// Mean requests per client connection (keep-alive), >= 1.
    pub requests_per_connection: f64,
}

impl TlsConfig {
    /// Probability that a request opens a new connection.
    pub fn new_connection_probability(&self) -> f64 {
        1.0 / self.requests_per_connection
    }

    /// Mean handshake CPU per request, seconds: what TLS adds to E[LB processing].
    pub fn mean_per_request(&self) -> f64 {
        self.new_connection_probability()
            * (self.resumption * self.resumed.mean()
                + (1.0 - self.resumption) * self.handshake.mean())
    }
}

/// The handshakes of one run: draws on the `lb.tls` stream, and counts.
pub struct Tls {
    cfg: TlsConfig,
    /// 1/k as a threshold on a uniform draw: 1 when every request opens a connection.
    p_new: f64,
    rng: Rng,
    full: u64,
    resumed: u64,
    reused: u64,
    cpu: SimTime,
}

/// What TLS cost (`summary.json` `lb.tls`): requests after the warm-up.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsReport {
    pub key: String,
    pub resumption: f64,
    pub requests_per_connection: f64,
    /// Mean handshake CPU per request the configuration implies, seconds.
    pub expected_cpu_per_request_s: f64,
    /// Requests that opened a connection with a full handshake, with a resumed one, and that
    /// reused a kept-alive connection.
    pub full_handshakes: u64,
    pub resumed_handshakes: u64,
    pub reused_connections: u64,
    /// HAProxy thread time spent on handshakes, seconds.
    pub handshake_cpu_s: f64,
}

impl Tls {
    pub fn new(cfg: &TlsConfig, seed: u64, replication: u64) -> Self {
        Tls {
            p_new: cfg.new_connection_probability(),
            cfg: cfg.clone(),
            rng: Rng::new(StreamId::new(seed, "lb.tls", replication)),
            full: 0,
            resumed: 0,
            reused: 0,
            cpu: SimTime::ZERO,
        }
    }

    /// The handshake CPU the request whose LB processing starts now costs (zero when it
    /// reuses a connection). `measured`: it arrived after the warm-up (counted).
    #[inline]
    pub fn handshake(&mut self, measured: bool) -> SimTime {
        // Draws in a fixed order: new connection?, resumed?, the CPU time.
        if self.p_new < 1.0 && self.rng.uniform() >= self.p_new {
            self.reused += u64::from(measured);
            return SimTime::ZERO;
        }
        let resumed = self.cfg.resumption > 0.0 && self.rng.uniform() < self.cfg.resumption;
        let d = if resumed {
            self.resumed += u64::from(measured);
            self.cfg.resumed.sample_time(&mut self.rng)
        } else {
            self.full += u64::from(measured);
            self.cfg.handshake.sample_time(&mut self.rng)
        };
        if measured {
            self.cpu += d;
        }
        d
    }

    pub fn report(&self) -> TlsReport {
        TlsReport {
            key: self.cfg.key.name().into(),
            resumption: self.cfg.resumption,
            requests_per_connection: self.cfg.requests_per_connection,
            expected_cpu_per_request_s: self.cfg.mean_per_request(),
            full_handshakes: self.full,
            resumed_handshakes: self.resumed,
            reused_connections: self.reused,
            handshake_cpu_s: self.cpu.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(k: f64, resumption: f64) -> TlsConfig {
        TlsConfig {
            key: TlsKey::Rsa2048,
            handshake: Dist::det(TlsKey::Rsa2048.full_handshake_secs()).unwrap(),
            resumed: Dist::det(TlsKey::resumed_handshake_secs()).unwrap(),
            resumption,
            requests_per_connection: k,
        }
    }

    #[test]
    fn defaults_follow_domain_md() {
        // domain.md §6.1: "RSA-2048 cert ≈ 0.8–1 ms", "ECDSA P-256 cert ≈ 0.07–0.1 ms",
        // "resumed ≈ 0.04–0.05 ms" (one key exchange, 0.052 ms for ECDH P-256).
        assert!((0.8e-3..1e-3).contains(&TlsKey::Rsa2048.full_handshake_secs()));
        assert!((0.07e-3..0.1e-3).contains(&TlsKey::EcdsaP256.full_handshake_secs()));
        assert!((0.04e-3..0.06e-3).contains(&TlsKey::resumed_handshake_secs()));
    }

    #[test]
    fn handshake_shares_match_the_probabilities() {
        // k = 4, half resumed: 1/8 full, 1/8 resumed, 3/4 reused; 5 binomial standard errors.
        let mut t = Tls::new(&cfg(4.0, 0.5), 7, 0);
        let n = 200_000u64;
        for _ in 0..n {
            t.handshake(true);
        }
        let r = t.report();
        let check = |count: u64, p: f64| {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (count as f64 - n as f64 * p).abs() < 5.0 * sd,
                "{count} vs {}",
                n as f64 * p
            );
        };
        check(r.full_handshakes, 0.125);
        check(r.resumed_handshakes, 0.125);
        check(r.reused_connections, 0.75);
        assert_eq!(
            r.full_handshakes + r.resumed_handshakes + r.reused_connections,
            n
        );
    }

    #[test]
    fn every_request_a_connection_draws_nothing_for_keepalive() {
        // k = 1 and no resumption: each request a full handshake, the stream untouched.
        let mut t = Tls::new(&cfg(1.0, 0.0), 7, 0);
        for _ in 0..10 {
            assert_eq!(
                t.handshake(true).as_secs_f64(),
                TlsKey::Rsa2048.full_handshake_secs()
            );
        }
        assert_eq!(t.report().full_handshakes, 10);
    }
}
