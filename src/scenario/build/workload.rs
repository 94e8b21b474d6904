//! `[workload]`: the arrival process, its rate and phases, and the request classes.

use super::*;

impl Builder<'_> {
    pub(super) fn workload(
        &mut self,
        w: Option<schema::Workload>,
        duration: Option<SimTime>,
    ) -> WorkloadConfig {
        let key = root("workload");
        let w = w.unwrap_or_default();
        let arrival = match w.arrival.as_deref().map(str::trim) {
            None => ArrivalKind::Poisson,
            Some(s) if s.eq_ignore_ascii_case("poisson") => ArrivalKind::Poisson,
            Some(s) if s.eq_ignore_ascii_case("deterministic") => ArrivalKind::Deterministic,
            Some(s) => {
                self.problem(
                    &key.key("arrival"),
                    format!("must be \"poisson\" or \"deterministic\", got {s:?}"),
                );
                ArrivalKind::Poisson
            }
        };
        let users = w.users.map(|u| self.users(&key.key("users"), u));
        let retry = w.retry.map(|r| self.retry(&key.key("retry"), r));
        let profiled = w.profile.is_some();
        if profiled {
            for (k, set) in [("rate", w.rate.is_some()), ("phases", w.phases.is_some())] {
                if set {
                    self.problem(
                        &key.key(k),
                        "a [workload.profile] sets the rate: remove `rate` and `phases` (flash \
                         crowds, [[workload.flash]], combine with it)",
                    );
                }
            }
        }
        let rate = match w.rate {
            None if users.is_some() || profiled => 0.0,
            None => {
                self.problem(
                    &key.key("rate"),
                    "is required: mean arrivals per second, e.g. rate = 300 (or closed-loop \
                     users, [workload.users])",
                );
                1.0
            }
            // With users, the open arrivals are optional: 0 turns them off.
            Some(r) if users.is_some() && r == 0.0 => 0.0,
            Some(r) => self.positive(&key.key("rate"), Some(r), 1.0),
        };
        let clients = self.count(
            &key.key("clients"),
            w.clients,
            DEFAULT_CLIENTS,
            1,
            MAX_CLIENTS,
        );
        let ramps = self.ramps(&key.key("phases"), w.phases.as_deref());
        let phases = self.phases(&key.key("phases"), w.phases.unwrap_or_default());
        let shape = self.shape(
            &key,
            shape::ShapeInput {
                arrival,
                rate,
                phases: &phases,
                ramps,
                profile: w.profile,
                flash: w.flash,
            },
        );
        // A profile's long-run mean is the rate (the Monte Carlo's request counts, its
        // steady-state runs).
        let rate = shape.as_ref().and_then(|(_, mean)| *mean).unwrap_or(rate);
        let shape = shape.map(|(s, _)| s);
        let popularity = self.popularity(&key, w.client_popularity.as_deref(), w.nat_share);
        let mix = self.mix(&key.key("mix"), w.mix);
        let flood = match (w.flood, mix.is_empty()) {
            (Some(f), false) => Some(self.flood(&key.key("flood"), f, &mix, duration)),
            _ => None,
        };
        if let Some(d) = duration {
            let expected = (limits::expected_open_requests(rate, &phases, shape.as_ref(), d)
                + flood
                    .as_ref()
                    .map_or(0.0, |f| limits::expected_flood_requests(f, d))
                + users
                    .as_ref()
                    .map_or(0.0, |u| limits::expected_user_requests(u, d)))
                * limits::retry_factor(retry.as_ref());
            if expected > MAX_REQUESTS {
                // Which law lets the users send so much, when they do.
                let users_law = users
                    .as_ref()
                    .map(|u| (u, limits::user_pages_bound(u, d)))
                    .map_or(String::new(), |(u, (pages, law))| {
                        if pages.is_finite() {
                            format!(
                                " ({} users can load up to {pages:.3e} pages each, as often \
                                 as {law} allows)",
                                u.count
                            )
                        } else {
                            format!(
                                " ({law} draws round to 0 ns: a user whose pages are answered \
                                 at once, as in an outage, would load pages without end)"
                            )
                        }
                    });
                let expected = if expected.is_finite() {
                    format!("about {expected:.3e}")
                } else {
                    "unbounded".into()
                };
                self.problem(
                    &root("duration"),
                    format!(
                        "duration × rate gives {expected} requests, more than the limit \
                         of {MAX_REQUESTS:.0e}{users_law}: shorten the duration or lower the rate \
                         (or the users or their retries, or lengthen their think or away time)"
                    ),
                );
            }
        }
        let connect_timeout = self.positive_duration(
            &key.key("connect_timeout"),
            w.connect_timeout.as_ref(),
            DEFAULT_CLIENT_CONNECT_TIMEOUT,
        );
        let client_timeout =
            self.optional_duration(&key.key("client_timeout"), w.client_timeout.as_ref(), None);
        WorkloadConfig {
            arrival,
            rate,
            phases,
            clients,
            mix,
            connect_timeout,
            client_timeout,
            users,
            retry,
            flood,
            shape,
            popularity,
        }
    }

    /// `[workload.retry]`: how clients retry failed requests.
    fn retry(&mut self, key: &KeyPath, r: schema::Retry) -> RetryConfig {
        let retries = match r.retries {
            None => {
                self.problem(
                    &key.key("retries"),
                    "is required: how many times a client sends a failed request again, e.g. \
                     retries = 3",
                );
                1
            }
            Some(n) => self.count(&key.key("retries"), Some(n), 1, 0, MAX_CLIENT_RETRIES),
        };
        let backoff = self.duration(&key.key("backoff"), r.backoff.as_ref(), SimTime::ZERO);
        let multiplier = match r.multiplier {
            None => 2.0,
            Some(m) if m.is_finite() && (1.0..=MAX_BACKOFF_MULTIPLIER).contains(&m) => m,
            Some(m) => {
                self.problem(
                    &key.key("multiplier"),
                    format!("must be a number from 1 to {MAX_BACKOFF_MULTIPLIER}, got {m}"),
                );
                2.0
            }
        };
        let max_backoff = self.positive_duration(
            &key.key("max_backoff"),
            r.max_backoff.as_ref(),
            DEFAULT_MAX_BACKOFF,
        );
        RetryConfig {
            retries,
            backoff,
            multiplier,
            max_backoff,
            jitter: r.jitter.unwrap_or(false),
        }
    }

    /// `[workload.users]`: closed-loop users.
    fn users(&mut self, key: &KeyPath, u: schema::Users) -> UsersConfig {
        let count = match u.count {
            None => {
                self.problem(
                    &key.key("count"),
                    "is required: how many users there are, e.g. count = 200",
                );
                1
            }
            Some(n) => self.count(&key.key("count"), Some(n), 1, 1, MAX_USERS),
        };
        let think = match &u.think {
            None => {
                self.problem(
                    &key.key("think"),
                    "is required: the think time between pages, e.g. think = \"exp(5s)\"",
                );
                Dist::det(1.0).expect("1 s is valid")
            }
            Some(v) => self.dist(&key.key("think"), Some(v), "1s"),
        };
        // A user who never thinks and whose requests fail at once would send pages forever at
        // one instant of simulated time.
        if u.think.is_some() && think.mean().partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            self.problem(
                &key.key("think"),
                "must have a mean > 0: users who never think would send pages at one instant \
                 forever when their requests fail at once",
            );
        }
        let pages = self.count(&key.key("pages"), u.pages, 1, 1, MAX_PAGES);
        let requests = self.count(&key.key("requests"), u.requests, 1, 1, MAX_PAGE_REQUESTS);
        let abandon = self.fraction(
            &key.key("abandon"),
            u.abandon,
            "probability",
            " (that a user leaves its session after a failed page)",
        );
        // A user leaves only a session with pages left (`model/clients.rs`): with one page per
        // session there is never one, and `abandon` would be accepted and change nothing.
        if abandon > 0.0 && pages == 1 {
            self.problem(
                &key.key("abandon"),
                "has no effect with pages = 1 (the default): a user leaves a session after a \
                 failed page only when it has pages left; set workload.users.pages > 1",
            );
        }
        let away = u.away.as_ref().map(|v| {
            let known = self.problems.len();
            let d = self.dist(&key.key("away"), Some(v), "1s");
            // (A value that is not a distribution has been reported already.)
            if self.problems.len() == known
                && d.mean().partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            {
                self.problem(
                    &key.key("away"),
                    "must have a mean > 0: a user who left comes back after some time",
                );
            }
            d
        });
        UsersConfig {
            count,
            think,
            pages,
            requests,
            abandon,
            away,
        }
    }

    pub(super) fn phases(&mut self, key: &KeyPath, phases: Vec<schema::Phase>) -> Vec<RatePhase> {
        if phases.len() > MAX_PHASES {
            self.problem(
                key,
                format!(
                    "has {} phases; at most {MAX_PHASES} are allowed",
                    phases.len()
                ),
            );
            return Vec::new();
        }
        let mut out: Vec<RatePhase> = Vec::with_capacity(phases.len());
        for (i, p) in phases.into_iter().enumerate() {
            let k = key.index(i);
            let at = match &p.at {
                None => {
                    self.problem(
                        &k.key("at"),
                        "is required: when the rate changes, e.g. at = \"5min\"",
                    );
                    SimTime::ZERO
                }
                Some(v) => self.duration(&k.key("at"), Some(v), SimTime::ZERO),
            };
            let rate = match p.rate {
                None => {
                    self.problem(
                        &k.key("rate"),
                        "is required: the new arrival rate, requests/s (>= 0)",
                    );
                    0.0
                }
                Some(r) if r.is_finite() && r >= 0.0 => r,
                Some(r) => {
                    self.problem(&k.key("rate"), format!("must be a number >= 0, got {r}"));
                    0.0
                }
            };
            if let Some(prev) = out.last()
                && at <= prev.at
            {
                self.problem(
                    &k.key("at"),
                    format!(
                        "phases must be in increasing order of `at`: {} is not after the previous \
                         phase's {}",
                        format_duration(at),
                        format_duration(prev.at)
                    ),
                );
            }
            out.push(RatePhase { at, rate });
        }
        out
    }

    pub(super) fn mix(
        &mut self,
        key: &KeyPath,
        mix: Option<Vec<schema::Class>>,
    ) -> Vec<RequestClass> {
        let Some(mix) = mix else {
            return vec![RequestClass {
                name: "default".into(),
                weight: 1.0,
                nginx: Dist::zero(),
                app: self.dist(key, None, DEFAULT_APP_TIME),
                reads: 0,
                writes: 0,
                static_file: false,
            }];
        };
        if mix.is_empty() {
            self.problem(key, "needs at least one request class ([[workload.mix]])");
        }
        if mix.len() > MAX_CLASSES {
            self.problem(
                key,
                format!(
                    "has {} classes; at most {MAX_CLASSES} are allowed",
                    mix.len()
                ),
            );
            return Vec::new();
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(mix.len());
        for (i, c) in mix.into_iter().enumerate() {
            let k = key.index(i);
            let name = match c.name {
                Some(n) => self.name(&k.key("name"), Some(n), ""),
                None => format!("class-{}", i + 1),
            };
            if let Some(first) = names.insert(name.clone(), i) {
                self.problem(
                    &k.key("name"),
                    format!("\"{name}\" is already the name of workload.mix[{first}]"),
                );
            }
            let weight = self.positive(&k.key("weight"), c.weight, 1.0);
            let nginx = self.dist(&k.key("nginx"), c.nginx.as_ref(), "0s");
            let static_file = c.static_file.unwrap_or(false);
            let reads = self.count(&k.key("reads"), c.reads, 0, 0, MAX_QUERIES);
            let writes = self.count(&k.key("writes"), c.writes, 0, 0, MAX_QUERIES);
            let app = match (&c.app, static_file) {
                (Some(v), false) => self.dist(&k.key("app"), Some(v), "0s"),
                (None, false) => {
                    self.problem(
                        &k.key("app"),
                        "is required: the application work per request, e.g. app = \"exp(10ms)\" \
                         (or static = true for a file Nginx serves alone)",
                    );
                    Dist::zero()
                }
                (Some(_), true) => {
                    self.problem(
                        &k.key("app"),
                        "a static request (static = true) never reaches the application: \
                         remove `app`, or set static = false",
                    );
                    Dist::zero()
                }
                (None, true) => Dist::zero(),
            };
            if static_file && reads + writes > 0 {
                self.problem(
                    &k.key(if reads > 0 { "reads" } else { "writes" }),
                    "a static request (static = true) makes no database queries: only the \
                     application does",
                );
            }
            out.push(RequestClass {
                name,
                weight,
                nginx,
                app,
                reads,
                writes,
                static_file,
            });
        }
        out
    }
}
