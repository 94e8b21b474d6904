//! `[database]`: the primary and its replicas, the application's connections to them,
//! replication, and the names every node and server must not share.

use super::*;

impl Builder<'_> {
    pub(super) fn database(&mut self, db: schema::Database) -> (DbConfig, DbFailover) {
        let key = root("database");
        let read_from = match db.read_from.as_deref().map(str::trim) {
            None => ReadPolicy::Replicas,
            Some(s) if s.eq_ignore_ascii_case("replicas") => ReadPolicy::Replicas,
            Some(s) if s.eq_ignore_ascii_case("primary") => ReadPolicy::Primary,
            Some(s) => {
                self.problem(
                    &key.key("read_from"),
                    format!("must be \"replicas\" or \"primary\", got {s:?}"),
                );
                ReadPolicy::Replicas
            }
        };
        let builtin = DbNodeConfig {
            name: "db-primary".into(),
            workers: DEFAULT_DB_WORKERS,
            max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            speed: 1.0,
        };
        let primary = self.db_node(
            &key.key("primary"),
            db.primary.unwrap_or_default(),
            &builtin,
            0,
        );
        let replicas = self.replicas(&key.key("replicas"), db.replicas, &primary);
        let rep = db.replication.unwrap_or_default();
        let rk = key.key("replication");
        let failover =
            self.db_failover(&key, db.failover.unwrap_or_default(), &rep, replicas.len());
        let config = DbConfig {
            primary,
            replicas,
            read_from,
            read_time: self.dist(
                &key.key("read_time"),
                db.read_time.as_ref(),
                DEFAULT_READ_TIME,
            ),
            write_time: self.dist(
                &key.key("write_time"),
                db.write_time.as_ref(),
                DEFAULT_WRITE_TIME,
            ),
            network: self.dist(&key.key("network"), db.network.as_ref(), "0s"),
            replication: ReplicationConfig {
                delay: self.dist(&rk.key("delay"), rep.delay.as_ref(), "0s"),
                appliers: self.count(
                    &rk.key("appliers"),
                    rep.appliers,
                    DEFAULT_APPLIERS,
                    1,
                    MAX_THREADS,
                ),
                apply_factor: self.positive(&rk.key("apply_factor"), rep.apply_factor, 1.0),
            },
            client: self.db_client(&key.key("client"), db.client.unwrap_or_default()),
        };
        let nodes = 1 + config.replicas.len();
        if config.client.pool == DbPool::PerRequest && nodes > MAX_PER_REQUEST_NODES {
            self.problem(
                &key.key("client").key("pool"),
                format!(
                    "\"per-request\" tracks at most {MAX_PER_REQUEST_NODES} database nodes, the \
                     stack has {nodes}: use \"per-worker\" or fewer replicas"
                ),
            );
        }
        (config, failover)
    }

    /// `[database.client]`: the application's MySQL connections and timeouts.
    pub(super) fn db_client(&mut self, key: &KeyPath, c: schema::DbClient) -> DbClient {
        let d = DbClient::default();
        DbClient {
            pool: self.choice(
                &key.key("pool"),
                c.pool.as_deref(),
                &[
                    ("per-worker", DbPool::PerWorker),
                    ("per-request", DbPool::PerRequest),
                ],
                d.pool,
            ),
            connect_timeout: self.positive_duration(
                &key.key("connect_timeout"),
                c.connect_timeout.as_ref(),
                d.connect_timeout,
            ),
            read_timeout: self.optional_duration(
                &key.key("read_timeout"),
                c.read_timeout.as_ref(),
                d.read_timeout,
            ),
        }
    }

    /// One DB node: fields set in `n` are checked under `key`, unset ones come from `inherit`.
    pub(super) fn db_node(
        &mut self,
        key: &KeyPath,
        n: schema::DbNode,
        inherit: &DbNodeConfig,
        index: usize,
    ) -> DbNodeConfig {
        self.place(hosts::Member::DbNode(index), n.host.clone(), key.clone());
        let name = match n.name {
            Some(nm) => self.name(&key.key("name"), Some(nm), ""),
            None => inherit.name.clone(),
        };
        let workers = self.count(
            &key.key("workers"),
            n.workers,
            inherit.workers,
            1,
            MAX_WORKERS,
        );
        let max_connections = self.count(
            &key.key("max_connections"),
            n.max_connections,
            inherit.max_connections,
            1,
            100_000,
        );
        DbNodeConfig {
            name,
            workers,
            max_connections,
            speed: self.positive(&key.key("speed"), n.speed, inherit.speed),
        }
    }

    pub(super) fn replicas(
        &mut self,
        key: &KeyPath,
        v: Option<Value>,
        primary: &DbNodeConfig,
    ) -> Vec<DbNodeConfig> {
        let named = |i: usize| DbNodeConfig {
            name: replica_default_name(i),
            ..primary.clone()
        };
        match v {
            None => Vec::new(),
            Some(Value::Integer(n)) => match usize::try_from(n) {
                Ok(n) if n <= MAX_REPLICAS => (0..n).map(named).collect(),
                _ => {
                    self.problem(
                        key,
                        format!("must be from 0 to {MAX_REPLICAS} replicas, got {n}"),
                    );
                    Vec::new()
                }
            },
            Some(Value::Array(items)) => {
                if items.len() > MAX_REPLICAS {
                    self.problem(
                        key,
                        format!(
                            "has {} replicas; at most {MAX_REPLICAS} are allowed",
                            items.len()
                        ),
                    );
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let k = key.index(i);
                    if let Some(node) = self.deserialize_at::<schema::DbNode>(&k, item) {
                        let index = 1 + out.len();
                        out.push(self.db_node(&k, node, &named(i), index));
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    key,
                    format!(
                        "must be a number of replicas (replicas = 1) or [[database.replicas]] \
                         tables, got {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Every server and database node needs its own name: outputs are keyed by it.
    pub(super) fn unique_names(&mut self, servers: &[ServerConfig], db: &DbConfig) {
        let mut seen: HashMap<&str, String> = HashMap::new();
        let nodes = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), root("servers").index(i).key("name")))
            .chain(std::iter::once((
                db.primary.name.as_str(),
                root("database").key("primary").key("name"),
            )))
            .chain(db.replicas.iter().enumerate().map(|(i, r)| {
                (
                    r.name.as_str(),
                    root("database").key("replicas").index(i).key("name"),
                )
            }));
        for (name, key) in nodes {
            if let Some(first) = seen.get(name) {
                let msg = format!(
                    "\"{name}\" is already the name of {}",
                    first.trim_end_matches(".name")
                );
                self.problem(&key, msg);
            } else {
                seen.insert(name, key.to_string());
            }
        }
    }
}
