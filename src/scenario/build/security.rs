//! The security settings: HTTPS at HAProxy (`[lb.tls]`).

use super::*;
use crate::model::firewall::{Blocked, FirewallAction, FirewallConfig};
use crate::model::flood::FloodConfig;
use crate::model::ratelimit::{LimitAction, RateLimitConfig};
use crate::model::tls::{TlsConfig, TlsKey};

/// Most requests per kept-alive connection (`lb.tls.requests_per_connection`): HAProxy and
/// browsers close idle connections after seconds, so a million is far beyond any real client.
pub const MAX_REQUESTS_PER_CONNECTION: f64 = 1e6;

impl Builder<'_> {
    /// `[lb.tls]`: the certificate's key (the default handshake costs), the handshake CPU, the
    /// session resumption share and the requests per connection.
    /// None when `enabled = false` (its other keys are still checked).
    pub(super) fn tls(&mut self, key: &KeyPath, t: schema::LbTls) -> Option<TlsConfig> {
        let enabled = t.enabled.unwrap_or(true);
        let cert = self.choice(
            &key.key("key"),
            t.key.as_deref(),
            &[
                ("rsa2048", TlsKey::Rsa2048),
                ("ecdsa-p256", TlsKey::EcdsaP256),
            ],
            TlsKey::Rsa2048,
        );
        let det = |s: f64| Dist::det(s).expect("a positive constant is valid");
        let handshake = self.dist_or(
            &key.key("handshake"),
            t.handshake.as_ref(),
            &det(cert.full_handshake_secs()),
        );
        let resumed = self.dist_or(
            &key.key("resumed"),
            t.resumed.as_ref(),
            &det(TlsKey::resumed_handshake_secs()),
        );
        let resumption = self.fraction(
            &key.key("resumption"),
            t.resumption,
            "fraction",
            " (the share of new connections that resume a TLS session)",
        );
        let requests_per_connection = match t.requests_per_connection {
            None => 1.0,
            Some(x) if x.is_finite() && (1.0..=MAX_REQUESTS_PER_CONNECTION).contains(&x) => x,
            Some(x) => {
                self.problem(
                    &key.key("requests_per_connection"),
                    format!(
                        "must be a number from 1 to {MAX_REQUESTS_PER_CONNECTION:.0e} (mean \
                         requests a client sends on one kept-alive connection), got {x}"
                    ),
                );
                1.0
            }
        };
        enabled.then_some(TlsConfig {
            key: cert,
            handshake,
            resumed,
            resumption,
            requests_per_connection,
        })
    }
}

/// Most flood source addresses (`workload.flood.sources`): a flood from more is a botnet that a
/// per-source limit does not stop; 65,536 addresses (a /16) fit in 198.18.0.0/15.
pub const MAX_FLOOD_SOURCES: u32 = 65_536;
/// Largest `lb.rate_limit.limit` and `conn_limit` (HAProxy's counters are 32-bit).
pub const MAX_RATE_LIMIT: u32 = 1_000_000_000;

impl Builder<'_> {
    /// `[lb.rate_limit]`: None when `enabled = false` (its other keys are still checked).
    /// An unset `tarpit` is left at zero: [`Builder::config`] sets it to `timeout connect`
    /// once `[health]` is read, as HAProxy does.
    pub(super) fn rate_limit(
        &mut self,
        key: &KeyPath,
        r: schema::RateLimit,
    ) -> Option<RateLimitConfig> {
        let enabled = r.enabled.unwrap_or(true);
        let period = self.positive_duration(
            &key.key("period"),
            r.period.as_ref(),
            SimTime::from_secs(10),
        );
        let period_ms = period.as_nanos() / 1_000_000;
        if period_ms == 0 {
            self.problem(
                &key.key("period"),
                "must be at least 1ms (HAProxy counts in milliseconds)",
            );
        }
        let limit = match r.limit {
            None => {
                self.problem(
                    &key.key("limit"),
                    "is required: requests per period a source may send, e.g. limit = 100",
                );
                0
            }
            Some(n) => self.count(&key.key("limit"), Some(n), 0, 0, MAX_RATE_LIMIT),
        };
        #[derive(Clone, Copy)]
        enum Act {
            Deny,
            Tarpit,
        }
        let act = self.choice(
            &key.key("action"),
            r.action.as_deref(),
            &[("deny", Act::Deny), ("tarpit", Act::Tarpit)],
            Act::Deny,
        );
        let tarpit = self.positive_duration(&key.key("tarpit"), r.tarpit.as_ref(), SimTime::ZERO);
        let conn_limit = r
            .conn_limit
            .map(|n| self.count(&key.key("conn_limit"), Some(n), 1, 1, MAX_RATE_LIMIT));
        enabled.then_some(RateLimitConfig {
            period_ms: period_ms.max(1),
            limit,
            action: match act {
                Act::Deny => LimitAction::Deny,
                Act::Tarpit => LimitAction::Tarpit(tarpit),
            },
            conn_limit,
        })
    }

    /// `[workload.flood]`: `like` names a class of `mix`.
    pub(super) fn flood(
        &mut self,
        key: &KeyPath,
        f: schema::Flood,
        mix: &[RequestClass],
        duration: Option<SimTime>,
    ) -> FloodConfig {
        let rate = match f.rate {
            None => {
                self.problem(
                    &key.key("rate"),
                    "is required: the flood's requests per second, e.g. rate = 2000",
                );
                1.0
            }
            Some(r) => self.positive(&key.key("rate"), Some(r), 1.0),
        };
        let sources = self.count(&key.key("sources"), f.sources, 10, 1, MAX_FLOOD_SOURCES);
        let start = self.duration(&key.key("start"), f.start.as_ref(), SimTime::ZERO);
        let stop = f
            .stop
            .as_ref()
            .map(|v| self.positive_duration(&key.key("stop"), Some(v), SimTime::MAX));
        if let Some(stop) = stop
            && stop <= start
        {
            self.problem(
                &key.key("stop"),
                format!(
                    "must be after start ({}), got {}",
                    format_duration(start),
                    format_duration(stop)
                ),
            );
        }
        if let Some(d) = duration
            && start >= d
        {
            self.problem(
                &key.key("start"),
                format!(
                    "must be before the end of the run ({}), got {}",
                    format_duration(d),
                    format_duration(start)
                ),
            );
        }
        let like = match f.like {
            None => 0,
            Some(name) => match mix.iter().position(|c| c.name == name) {
                Some(i) => i,
                None => {
                    let names: Vec<String> = mix.iter().map(|c| format!("{:?}", c.name)).collect();
                    self.problem(
                        &key.key("like"),
                        format!(
                            "must name a class of workload.mix ({}), got {name:?}",
                            names.join(", ")
                        ),
                    );
                    0
                }
            },
        };
        FloodConfig {
            rate,
            sources,
            start,
            stop,
            like,
        }
    }

    /// `[firewall]`: a rule blocking the flood's sources (or every client) from `at`.
    pub(super) fn firewall(
        &mut self,
        f: schema::Firewall,
        flood: Option<&FloodConfig>,
    ) -> FirewallConfig {
        let key = root("firewall");
        let action = match f.action.as_deref() {
            None => {
                self.problem(
                    &key.key("action"),
                    "is required: \"reject\" (refused at once) or \"drop\" (no answer: the \
                     client waits for its connect timeout)",
                );
                FirewallAction::Reject
            }
            Some(a) => self.choice(
                &key.key("action"),
                Some(a),
                &[
                    ("reject", FirewallAction::Reject),
                    ("drop", FirewallAction::Drop),
                ],
                FirewallAction::Reject,
            ),
        };
        #[derive(Clone, Copy)]
        enum Which {
            Flood,
            All,
        }
        let which = self.choice(
            &key.key("block"),
            f.block.as_deref(),
            &[("flood", Which::Flood), ("all", Which::All)],
            Which::Flood,
        );
        let block = match which {
            Which::All => {
                if f.sources.is_some() {
                    self.problem(
                        &key.key("sources"),
                        "applies to block = \"flood\" only: remove it",
                    );
                }
                Blocked::All
            }
            Which::Flood => {
                let Some(fl) = flood else {
                    self.problem(
                        &key.key("block"),
                        "\"flood\" needs a [workload.flood] whose sources it blocks (or use \
                         block = \"all\")",
                    );
                    return FirewallConfig {
                        action,
                        block: Blocked::All,
                        at: SimTime::ZERO,
                    };
                };
                let n = self.count(&key.key("sources"), f.sources, fl.sources, 1, fl.sources);
                Blocked::FloodSources(n)
            }
        };
        let at = self.duration(&key.key("at"), f.at.as_ref(), SimTime::ZERO);
        FirewallConfig { action, block, at }
    }
}
