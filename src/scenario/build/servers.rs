//! `[lb]` and the web servers (`[defaults.server]`, `[[servers]]`): HAProxy's settings and
//! algorithm, and each server's HAProxy view, Nginx and application pool.

use super::*;

/// Parses an HAProxy `balance` name.
pub fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    const ALLOWED: &str =
        "roundrobin, static-rr, leastconn, first, source, source-consistent, random, random(N)";
    let t = s.trim().to_ascii_lowercase();
    Ok(match t.as_str() {
        "roundrobin" => Algorithm::RoundRobin,
        "static-rr" => Algorithm::StaticRr,
        "leastconn" => Algorithm::LeastConn,
        "first" => Algorithm::First,
        "source" => Algorithm::Source { consistent: false },
        "source-consistent" => Algorithm::Source { consistent: true },
        "random" => Algorithm::Random { draws: 2 },
        _ => {
            let draws = t
                .strip_prefix("random(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unknown algorithm {s:?}; allowed: {ALLOWED}"))?;
            match draws.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_THREADS).contains(&n) => Algorithm::Random { draws: n },
                _ => {
                    return Err(format!(
                        "random(N) needs a whole number of draws from 1 to {MAX_THREADS}, got {s:?}"
                    ));
                }
            }
        }
    })
}

impl Builder<'_> {
    pub(super) fn lb(&mut self, lb: schema::Lb) -> (LbConfig, LbHa) {
        let key = root("lb");
        let ha = self.lb_ha(&key, lb.ha.as_deref(), lb.vrrp, lb.dns);
        let algorithm = match lb.algorithm.as_deref() {
            None => Algorithm::RoundRobin,
            Some(s) => match parse_algorithm(s) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(&key.key("algorithm"), e);
                    Algorithm::RoundRobin
                }
            },
        };
        let config = LbConfig {
            algorithm,
            processing: self.dist(&key.key("processing"), lb.processing.as_ref(), "0s"),
            connect: self.dist(&key.key("connect"), lb.connect.as_ref(), "0s"),
            abortonclose: lb.abortonclose.unwrap_or(false),
            threads: self.count(&key.key("threads"), lb.threads, 1, 1, MAX_THREADS),
            maxconn: self.count(&key.key("maxconn"), lb.maxconn, 0, 0, u32::MAX),
            // Unset, it is left at zero: [`Builder::config`] sets it to `timeout connect`.
            timeout_queue: match lb.timeout_queue.as_ref() {
                None => SimTime::ZERO,
                Some(v) => {
                    let k = key.key("timeout_queue");
                    // (The fallback is returned only with its problem reported: not zero,
                    // so that a malformed value is not reported twice.)
                    let t = self.duration(&k, Some(v), SimTime::from_secs(5));
                    if t == SimTime::ZERO {
                        self.problem(
                            &k,
                            "must be > 0 (a request may wait in the queue this long)",
                        );
                    }
                    t
                }
            },
            timeout_server: self.optional_duration(
                &key.key("timeout_server"),
                lb.timeout_server.as_ref(),
                Some(DEFAULT_TIMEOUT_SERVER),
            ),
            tls: lb.tls.and_then(|t| self.tls(&key.key("tls"), t)),
            rate_limit: lb
                .rate_limit
                .and_then(|r| self.rate_limit(&key.key("rate_limit"), r)),
            // Set by `config` once the flood is known.
            firewall: None,
            persistence: self.persistence(&key, lb.persistence.as_deref(), lb.persist),
        };
        (config, ha)
    }

    pub(super) fn servers(
        &mut self,
        servers: Option<Value>,
        defaults: Option<ServerFields>,
    ) -> Vec<ServerConfig> {
        let key = root("servers");
        let base = self.server_fields(
            &KeyPath::root().key("defaults").key("server"),
            defaults.unwrap_or_default(),
            None,
        );
        let entries: Vec<(String, ServerFields, KeyPath)> = match servers {
            None => vec![(
                server_default_name(0, 1),
                ServerFields::default(),
                key.index(0),
            )],
            Some(Value::Integer(n)) => match usize::try_from(n) {
                Ok(n) if (1..=MAX_SERVERS).contains(&n) => (0..n)
                    .map(|i| {
                        (
                            server_default_name(i, n),
                            ServerFields::default(),
                            key.index(i),
                        )
                    })
                    .collect(),
                _ => {
                    self.problem(
                        &key,
                        format!("must be from 1 to {MAX_SERVERS} servers, got {n}"),
                    );
                    return Vec::new();
                }
            },
            Some(Value::Array(items)) => {
                let n = items.len();
                if n == 0 {
                    self.problem(&key, "needs at least one server");
                } else if n > MAX_SERVERS {
                    self.problem(
                        &key,
                        format!("has {n} servers; at most {MAX_SERVERS} are allowed"),
                    );
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(n);
                for (i, item) in items.into_iter().enumerate() {
                    let k = key.index(i);
                    let Some(s) = self.deserialize_at::<schema::Server>(&k, item) else {
                        continue;
                    };
                    let name = match &s.name {
                        Some(nm) => self.name(&k.key("name"), Some(nm.clone()), ""),
                        None => server_default_name(i, n),
                    };
                    let own = ServerFields {
                        weight: s.weight,
                        maxconn: s.maxconn,
                        maxqueue: s.maxqueue,
                        nginx_workers: s.nginx_workers,
                        nginx_max_conns: s.nginx_max_conns,
                        app_workers: s.app_workers,
                        app_queue: s.app_queue,
                        speed: s.speed,
                        backup: s.backup,
                        upstream: s.upstream,
                        proxy_connect_timeout: s.proxy_connect_timeout,
                        proxy_read_timeout: s.proxy_read_timeout,
                        app_timeout: s.app_timeout,
                    };
                    self.place(hosts::Member::Server(out.len()), s.host, k.clone());
                    out.push((name, own, k));
                }
                out
            }
            Some(other) => {
                self.problem(
                    &key,
                    format!(
                        "must be a number of servers (servers = 2) or [[servers]] tables, got {}",
                        other.type_str()
                    ),
                );
                return Vec::new();
            }
        };
        entries
            .into_iter()
            .map(|(name, own, k)| {
                let mut s = self.server_fields(&k, own, Some(&base));
                s.name = name;
                s
            })
            .collect()
    }

    /// Checks the fields set in `f` (problems keyed under `key`); unset fields come from
    /// `inherit`, or the built-in defaults when there is none.
    pub(super) fn server_fields(
        &mut self,
        key: &KeyPath,
        f: ServerFields,
        inherit: Option<&ServerConfig>,
    ) -> ServerConfig {
        let d = inherit.cloned().unwrap_or(ServerConfig {
            name: String::new(),
            weight: 1,
            maxconn: 0,
            maxqueue: 0,
            nginx_workers: DEFAULT_NGINX_WORKERS,
            nginx_max_conns: DEFAULT_NGINX_WORKERS * NGINX_WORKER_CONNECTIONS,
            app_workers: DEFAULT_APP_WORKERS,
            app_queue: DEFAULT_APP_QUEUE,
            speed: 1.0,
            backup: false,
            upstream: Upstream::Unix,
            proxy_connect_timeout: DEFAULT_PROXY_TIMEOUT,
            proxy_read_timeout: DEFAULT_PROXY_TIMEOUT,
            app_timeout: Some(DEFAULT_APP_TIMEOUT),
        });
        let nginx_workers = self.count(
            &key.key("nginx_workers"),
            f.nginx_workers,
            d.nginx_workers,
            1,
            MAX_WORKERS,
        );
        // Unset, nginx accepts worker_processes × worker_connections (512 each by default),
        // unless a default table fixed the total.
        let conns_default = match (f.nginx_workers, inherit) {
            (Some(_), _) | (None, None) => nginx_workers.saturating_mul(NGINX_WORKER_CONNECTIONS),
            (None, Some(d)) => d.nginx_max_conns,
        };
        ServerConfig {
            name: String::new(),
            weight: self.count(&key.key("weight"), f.weight, d.weight, 1, 256),
            maxconn: self.count(&key.key("maxconn"), f.maxconn, d.maxconn, 0, u32::MAX),
            maxqueue: self.count(&key.key("maxqueue"), f.maxqueue, d.maxqueue, 0, u32::MAX),
            nginx_workers,
            nginx_max_conns: self.count(
                &key.key("nginx_max_conns"),
                f.nginx_max_conns,
                conns_default,
                1,
                u32::MAX,
            ),
            app_workers: self.count(
                &key.key("app_workers"),
                f.app_workers,
                d.app_workers,
                1,
                MAX_WORKERS,
            ),
            app_queue: self.count(&key.key("app_queue"), f.app_queue, d.app_queue, 0, u32::MAX),
            speed: self.positive(&key.key("speed"), f.speed, d.speed),
            backup: f.backup.unwrap_or(d.backup),
            upstream: self.choice(
                &key.key("upstream"),
                f.upstream.as_deref(),
                &[("unix", Upstream::Unix), ("tcp", Upstream::Tcp)],
                d.upstream,
            ),
            proxy_connect_timeout: self.positive_duration(
                &key.key("proxy_connect_timeout"),
                f.proxy_connect_timeout.as_ref(),
                d.proxy_connect_timeout,
            ),
            proxy_read_timeout: self.positive_duration(
                &key.key("proxy_read_timeout"),
                f.proxy_read_timeout.as_ref(),
                d.proxy_read_timeout,
            ),
            app_timeout: self.optional_duration(
                &key.key("app_timeout"),
                f.app_timeout.as_ref(),
                d.app_timeout,
            ),
        }
    }

    /// HAProxy sends traffic to backup servers only when no active one is usable: a farm of
    /// backups alone is a mistake.
    pub(super) fn some_active_server(
        &mut self,
        servers: &[ServerConfig],
        defaults_backup: Option<bool>,
    ) {
        if servers.is_empty() || servers.iter().any(|s| !s.backup) {
            return;
        }
        let key = if defaults_backup == Some(true) {
            root("defaults").key("server").key("backup")
        } else {
            root("servers").index(0).key("backup")
        };
        self.problem(
            &key,
            "every server is a backup: at least one must be active (backup = false), since \
             HAProxy uses backup servers only when no active server is usable",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms() {
        assert_eq!(
            parse_algorithm("roundrobin").unwrap(),
            Algorithm::RoundRobin
        );
        assert_eq!(
            parse_algorithm(" LeastConn ").unwrap(),
            Algorithm::LeastConn
        );
        assert_eq!(
            parse_algorithm("random").unwrap(),
            Algorithm::Random { draws: 2 }
        );
        assert_eq!(
            parse_algorithm("random(1)").unwrap(),
            Algorithm::Random { draws: 1 }
        );
        assert_eq!(
            parse_algorithm("source-consistent").unwrap(),
            Algorithm::Source { consistent: true }
        );
        for a in [
            Algorithm::RoundRobin,
            Algorithm::StaticRr,
            Algorithm::LeastConn,
            Algorithm::First,
            Algorithm::Source { consistent: false },
            Algorithm::Source { consistent: true },
            Algorithm::Random { draws: 3 },
        ] {
            assert_eq!(parse_algorithm(&a.name()).unwrap(), a);
        }
        assert!(
            parse_algorithm("round-robin")
                .unwrap_err()
                .contains("allowed")
        );
        assert!(parse_algorithm("random(0)").is_err());
        assert!(parse_algorithm("random(x)").is_err());
    }
}
