//! Checks and construction of the failure settings: health checks, LB high availability, DB
//! failover, scheduled and random faults, the timeline. The keys are documented in
//! `docs/scenario.md` ("Failures and failover"); the mechanisms in domain.md §1.3-1.5, §3, §4.3-4.4.

use std::collections::HashMap;

use super::*;
use crate::model::repair::Detection;

/// The LB high-availability modes, as written in `lb.ha`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HaMode {
    Single,
    ActivePassive,
    ActiveActive,
}

impl HaMode {
    fn name(self) -> &'static str {
        match self {
            HaMode::Single => "single",
            HaMode::ActivePassive => "active-passive",
            HaMode::ActiveActive => "active-active",
        }
    }
}

/// The names a fault may target, and what each one means.
pub(super) struct Targets {
    by_name: HashMap<String, Vec<Target>>,
    lb_instances: usize,
    servers: Vec<String>,
    db_nodes: Vec<String>,
    /// `host:<name>` and `rack:<name>` of the layout.
    machines: Vec<String>,
}

impl Targets {
    pub(super) fn new(
        servers: &[ServerConfig],
        db: &DbConfig,
        ha: &LbHa,
        layout: &crate::model::Layout,
    ) -> Self {
        let lb_instances = ha.instances();
        let mut by_name: HashMap<String, Vec<Target>> = HashMap::new();
        let mut add = |name: String, t: Target| {
            let v = by_name.entry(name).or_default();
            if !v.contains(&t) {
                v.push(t);
            }
        };
        add("lb".into(), Target::Lb(0));
        for i in 0..lb_instances {
            add(format!("lb-{}", i + 1), Target::Lb(i));
        }
        for (i, s) in servers.iter().enumerate() {
            add(s.name.clone(), Target::Server(i));
            add(format!("{}.app", s.name), Target::App(i));
        }
        add("db.primary".into(), Target::DbPrimary);
        add("db.link".into(), Target::DbLink);
        let db_nodes: Vec<String> = std::iter::once(&db.primary)
            .chain(&db.replicas)
            .map(|n| n.name.clone())
            .collect();
        for (i, n) in db_nodes.iter().enumerate() {
            add(n.clone(), Target::DbNode(i));
        }
        let machines: Vec<Target> = (0..layout.hosts.len())
            .map(Target::Host)
            .chain((0..layout.racks.len()).map(Target::Rack))
            .collect();
        let mut machine_names = vec![];
        for t in machines {
            if let Some(name) = layout.name(t) {
                add(name.clone(), t);
                machine_names.push(name);
            }
        }
        Targets {
            by_name,
            lb_instances,
            servers: servers.iter().map(|s| s.name.clone()).collect(),
            db_nodes,
            machines: machine_names,
        }
    }

    fn resolve(&self, name: &str) -> Result<Target, String> {
        let name = name.trim();
        match self.by_name.get(name).map(Vec::as_slice) {
            Some([t]) => Ok(*t),
            Some(_) => Err(format!(
                "\"{name}\" is ambiguous: it names a component and is also a reserved target \
                 name; rename the server or database node"
            )),
            None => {
                let mut msg = format!("unknown target \"{name}\"");
                if self.lb_instances == 1 && name.starts_with("lb-") && name != "lb-1" {
                    msg.push_str(
                        " (there is one LB; a second exists with lb.ha = \"active-passive\" or \
                         \"active-active\")",
                    );
                } else {
                    // Sorted, so that a tie always gives the same suggestion.
                    let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    if let Some(b) = closest(name, &names) {
                        msg.push_str(&format!(" (did you mean \"{b}\"?)"));
                    }
                }
                msg.push_str("; valid targets: ");
                msg.push_str(&self.describe());
                Err(msg)
            }
        }
    }

    /// The valid target names, for messages (long lists shortened).
    fn describe(&self) -> String {
        let lbs: Vec<String> = std::iter::once("lb".to_string())
            .chain((0..self.lb_instances).map(|i| format!("lb-{}", i + 1)))
            .collect();
        let apps: Vec<String> = self.servers.iter().map(|s| format!("{s}.app")).collect();
        let mut out = format!(
            "{} (load balancers); {} (server hosts); {} (app processes); db.primary (the \
             current primary), db.link (app tier to database network); {} (database nodes)",
            lbs.join(", "),
            short_list(&self.servers),
            short_list(&apps),
            short_list(&self.db_nodes),
        );
        if !self.machines.is_empty() {
            out.push_str(&format!(
                "; {} (hosts and racks)",
                short_list(&self.machines)
            ));
        }
        out
    }
}

/// `a, b, c`, or `a, b, c, ... (12 in all)` past six names.
fn short_list(names: &[String]) -> String {
    const SHOWN: usize = 6;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{}, ..., {} ({} in all)",
            names[..SHOWN - 1].join(", "),
            names[names.len() - 1],
            names.len()
        )
    }
}

impl Builder<'_> {
    // ---- [lb] ha, [lb.vrrp], [lb.dns] -----------------------------------------------------

    pub(super) fn lb_ha(
        &mut self,
        key: &KeyPath,
        ha: Option<&str>,
        vrrp: Option<schema::Vrrp>,
        dns: Option<schema::Dns>,
    ) -> LbHa {
        const ALLOWED: &str = "\"single\", \"active-passive\" or \"active-active\"";
        let mode = match ha.map(str::trim) {
            None => HaMode::Single,
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "single" => HaMode::Single,
                "active-passive" => HaMode::ActivePassive,
                "active-active" => HaMode::ActiveActive,
                _ => {
                    self.problem(&key.key("ha"), format!("must be {ALLOWED}, got {s:?}"));
                    HaMode::Single
                }
            },
        };
        let mode_is_bad = self.problems.iter().any(|p| p.key == "lb.ha");
        if vrrp.is_some() && mode != HaMode::ActivePassive && !mode_is_bad {
            self.problem(
                &key.key("vrrp"),
                format!(
                    "[lb.vrrp] applies only with ha = \"active-passive\" (keepalived); ha is \
                     \"{}\"",
                    mode.name()
                ),
            );
        }
        if dns.is_some() && mode != HaMode::ActiveActive && !mode_is_bad {
            self.problem(
                &key.key("dns"),
                format!(
                    "[lb.dns] applies only with ha = \"active-active\" (DNS round robin); ha is \
                     \"{}\"",
                    mode.name()
                ),
            );
        }
        // The sections are checked even when they do not apply, so every problem shows at once.
        let vk = key.key("vrrp");
        let v = vrrp.unwrap_or_default();
        let advert_int = self.positive_duration(
            &vk.key("advert_int"),
            v.advert_int.as_ref(),
            DEFAULT_ADVERT_INT,
        );
        let backup_priority = self.count(
            &vk.key("backup_priority"),
            v.backup_priority,
            DEFAULT_BACKUP_PRIORITY,
            1,
            254,
        );
        let preempt = v.preempt.unwrap_or(true);
        let master_state = v.master_state.unwrap_or(true);
        let script = VrrpScript::default();
        let track = VrrpScript {
            interval: self.positive_duration(
                &vk.key("script_interval"),
                v.script_interval.as_ref(),
                script.interval,
            ),
            fall: self.count(
                &vk.key("script_fall"),
                v.script_fall,
                script.fall,
                1,
                MAX_CHECK_COUNT,
            ),
            rise: self.count(
                &vk.key("script_rise"),
                v.script_rise,
                script.rise,
                1,
                MAX_CHECK_COUNT,
            ),
        };
        let tracked = v.track_haproxy.unwrap_or(false);
        if !tracked
            && let Some(k) = [
                ("script_interval", v.script_interval.is_some()),
                ("script_fall", v.script_fall.is_some()),
                ("script_rise", v.script_rise.is_some()),
            ]
            .iter()
            .find(|(_, set)| *set)
            .map(|(k, _)| *k)
        {
            self.problem(
                &vk.key(k),
                "applies only with track_haproxy = true (a vrrp_script watching HAProxy)",
            );
        }
        let d = dns.unwrap_or_default();
        let dk = key.key("dns");
        let dns_ttl = self.duration(&dk.key("ttl"), d.ttl.as_ref(), DEFAULT_DNS_TTL);
        let withdraw_after = self.duration(
            &dk.key("withdraw_after"),
            d.withdraw_after.as_ref(),
            DEFAULT_DNS_WITHDRAW,
        );
        match mode {
            HaMode::Single => LbHa::Single,
            HaMode::ActivePassive => LbHa::ActivePassive {
                advert_int,
                backup_priority,
                preempt,
                master_state,
                track: tracked.then_some(track),
            },
            HaMode::ActiveActive => LbHa::ActiveActive {
                dns_ttl,
                withdraw_after,
            },
        }
    }

    // ---- [health] -------------------------------------------------------------------------

    pub(super) fn health(&mut self, h: schema::Health) -> HealthCheck {
        let key = root("health");
        let d = HealthCheck::default();
        let inter = self.positive_duration(&key.key("inter"), h.inter.as_ref(), d.inter);
        let fastinter = self.positive_duration(&key.key("fastinter"), h.fastinter.as_ref(), inter);
        let downinter = self.positive_duration(&key.key("downinter"), h.downinter.as_ref(), inter);
        let layer7 = match h.check.as_deref().map(str::trim) {
            None => d.layer7,
            Some(s) if s.eq_ignore_ascii_case("tcp") => false,
            Some(s) if s.eq_ignore_ascii_case("http") => true,
            Some(s) => {
                self.problem(
                    &key.key("check"),
                    format!(
                        "must be \"tcp\" (a TCP connect) or \"http\" (option httpchk), got {s:?}"
                    ),
                );
                d.layer7
            }
        };
        HealthCheck {
            enabled: h.enabled.unwrap_or(d.enabled),
            inter,
            fastinter,
            downinter,
            rise: self.count(&key.key("rise"), h.rise, d.rise, 1, MAX_CHECK_COUNT),
            fall: self.count(&key.key("fall"), h.fall, d.fall, 1, MAX_CHECK_COUNT),
            layer7,
            retries: self.count(&key.key("retries"), h.retries, d.retries, 0, MAX_RETRIES),
            redispatch: h.redispatch.unwrap_or(d.redispatch),
            timeout_connect: self.positive_duration(
                &key.key("timeout_connect"),
                h.timeout_connect.as_ref(),
                d.timeout_connect,
            ),
            timeout_check: self.optional_duration(
                &key.key("timeout_check"),
                h.timeout_check.as_ref(),
                d.timeout_check,
            ),
        }
    }

    // ---- [database.failover], semi-sync ---------------------------------------------------

    pub(super) fn db_failover(
        &mut self,
        key: &KeyPath,
        f: schema::Failover,
        rep: &schema::Replication,
        replicas: usize,
    ) -> DbFailover {
        let fk = key.key("failover");
        let rk = key.key("replication");
        let d = DbFailover::default();
        DbFailover {
            automatic: f.automatic.unwrap_or(d.automatic),
            poll_interval: self.positive_duration(
                &fk.key("poll_interval"),
                f.poll_interval.as_ref(),
                d.poll_interval,
            ),
            poll_count: self.count(
                &fk.key("poll_count"),
                f.poll_count,
                d.poll_count,
                1,
                MAX_CHECK_COUNT,
            ),
            promotion: self.dist_or(&fk.key("promotion"), f.promotion.as_ref(), &d.promotion),
            semi_sync: rep.semi_sync.unwrap_or(d.semi_sync),
            semi_sync_timeout: self.positive_duration(
                &rk.key("semi_sync_timeout"),
                rep.semi_sync_timeout.as_ref(),
                d.semi_sync_timeout,
            ),
            semi_sync_replicas: {
                let k = rk.key("semi_sync_replicas");
                let n = self.count(
                    &k,
                    rep.semi_sync_replicas,
                    d.semi_sync_replicas,
                    1,
                    u32::MAX,
                );
                if rep.semi_sync_replicas.is_some() && n as usize > replicas.max(1) {
                    self.problem(
                        &k,
                        format!(
                            "waits for {n} acknowledgements but there are {replicas} replica(s): \
                             every commit would wait for the timeout"
                        ),
                    );
                }
                n
            },
            replica_net_timeout: self.positive_duration(
                &fk.key("replica_net_timeout"),
                f.replica_net_timeout.as_ref(),
                d.replica_net_timeout,
            ),
            wait_for_apply: f.wait_for_apply.unwrap_or(d.wait_for_apply),
        }
    }

    // ---- [[faults]] -----------------------------------------------------------------------

    pub(super) fn faults(
        &mut self,
        faults: Vec<schema::Fault>,
        duration: Option<SimTime>,
        targets: &Targets,
    ) -> Vec<ScheduledFault> {
        let key = root("faults");
        if faults.len() > MAX_FAULTS {
            self.problem(
                &key,
                format!(
                    "has {} faults; at most {MAX_FAULTS} are allowed",
                    faults.len()
                ),
            );
            return Vec::new();
        }
        // When the component lists could not be built, an unknown target is only an echo of
        // that problem.
        let lists_broken = self.problems.iter().any(|p| {
            p.key.starts_with("servers")
                || p.key.starts_with("database.replicas")
                || p.key == "lb.ha"
        });
        let mut out = Vec::with_capacity(faults.len());
        for (i, f) in faults.into_iter().enumerate() {
            let k = key.index(i);
            let target = match f.target.as_deref() {
                None => {
                    self.problem(
                        &k.key("target"),
                        "is required: the component that fails, e.g. target = \"web-01\"",
                    );
                    None
                }
                Some(name) => match targets.resolve(name) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        if !lists_broken {
                            self.problem(&k.key("target"), e);
                        }
                        None
                    }
                },
            };
            let kind = self.fault_kind(&k, f.kind.as_deref(), f.factor, target);
            let at = match &f.at {
                None => {
                    self.problem(
                        &k.key("at"),
                        "is required: when the fault starts, e.g. at = \"2min\"",
                    );
                    SimTime::ZERO
                }
                Some(v) => {
                    let n = self.problems.len();
                    let at = self.duration(&k.key("at"), Some(v), SimTime::ZERO);
                    if let Some(d) = duration
                        && at >= d
                        && self.problems.len() == n
                    {
                        self.problem(
                            &k.key("at"),
                            format!(
                                "must be before the end of the run (duration = {}), got {}",
                                format_duration(d),
                                format_duration(at)
                            ),
                        );
                    }
                    at
                }
            };
            let length = match &f.duration {
                None => None,
                Some(v) => {
                    let dk = k.key("duration");
                    let n = self.problems.len();
                    let t = self.duration(&dk, Some(v), SimTime::ZERO);
                    if t == SimTime::ZERO && self.problems.len() == n {
                        self.problem(
                            &dk,
                            "must be > 0, got 0s (leave `duration` out for a permanent fault)",
                        );
                    }
                    Some(t)
                }
            };
            if let Some(target) = target {
                out.push(ScheduledFault {
                    target,
                    kind,
                    at,
                    duration: length,
                });
            }
        }
        out
    }

    fn fault_kind(
        &mut self,
        k: &KeyPath,
        kind: Option<&str>,
        factor: Option<f64>,
        target: Option<Target>,
    ) -> FaultKind {
        let parsed = self.choice(
            &k.key("kind"),
            kind,
            &[
                ("crash", Some(FaultKind::Crash)),
                ("down", Some(FaultKind::Down)),
                ("blackhole", Some(FaultKind::Blackhole)),
                ("slow", None),
            ],
            Some(FaultKind::Crash),
        );
        if let Some(kind) = parsed {
            if let Some(x) = factor {
                self.problem(
                    &k.key("factor"),
                    format!(
                        "applies only to kind = \"slow\" (a {} has no factor), got {x}",
                        kind.name()
                    ),
                );
            }
            return kind;
        }
        if let Some(t) = target
            && !matches!(t, Target::DbPrimary | Target::DbNode(_))
        {
            self.problem(
                &k.key("kind"),
                "\"slow\" applies only to database nodes (db.primary or a node name such as \
                 db-replica-1); other components crash, go down or are blackholed",
            );
        }
        match factor {
            None => {
                self.problem(
                    &k.key("factor"),
                    "is required with kind = \"slow\": the service-time multiplier, e.g. \
                     factor = 3.0",
                );
                FaultKind::Crash
            }
            Some(x) if x.is_finite() && x > 0.0 => FaultKind::Slow(x),
            Some(x) => {
                self.problem(&k.key("factor"), format!("must be a number > 0, got {x}"));
                FaultKind::Crash
            }
        }
    }

    // ---- [[random_faults]] ----------------------------------------------------------------

    pub(super) fn random_faults(
        &mut self,
        items: Vec<schema::RandomFault>,
        detection: Option<&Detection>,
        layout: &crate::model::Layout,
    ) -> Vec<RandomFaults> {
        const ALLOWED: &str =
            "\"server\", \"app\", \"lb\", \"db\", \"db.link\", \"host\" or \"rack\"";
        let key = root("random_faults");
        let mut seen: HashMap<&'static str, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, rf) in items.into_iter().enumerate() {
            let k = key.index(i);
            let kind = match rf.component.as_deref().map(str::trim) {
                None => {
                    self.problem(
                        &k.key("component"),
                        format!("is required: which components fail, one of {ALLOWED}"),
                    );
                    None
                }
                Some(s) => match s.to_ascii_lowercase().as_str() {
                    "server" => Some(("server", TargetKind::Server)),
                    "app" => Some(("app", TargetKind::App)),
                    "lb" => Some(("lb", TargetKind::Lb)),
                    "db" => Some(("db", TargetKind::DbNode)),
                    "db.link" => Some(("db.link", TargetKind::DbLink)),
                    "host" if layout.hosts.is_empty() => {
                        self.problem(
                            &k.key("component"),
                            "\"host\" fails the named hosts, and there are none: declare them \
                             in [[hosts]] and put servers or DB nodes on them with host = ...",
                        );
                        None
                    }
                    "rack" if layout.racks.is_empty() => {
                        self.problem(
                            &k.key("component"),
                            "\"rack\" fails every host of a rack, and no host names one: set \
                             rack = ... in [[hosts]]",
                        );
                        None
                    }
                    "host" => Some(("host", TargetKind::Host)),
                    "rack" => Some(("rack", TargetKind::Rack)),
                    _ => {
                        self.problem(&k.key("component"), format!("must be {ALLOWED}, got {s:?}"));
                        None
                    }
                },
            };
            if let Some((name, _)) = kind
                && let Some(first) = seen.insert(name, i)
            {
                self.problem(
                    &k.key("component"),
                    format!(
                        "\"{name}\" already has random faults in random_faults[{first}]; give \
                         each component kind once"
                    ),
                );
            }
            let fault = self.choice(
                &k.key("kind"),
                rf.kind.as_deref(),
                &[
                    ("crash", FaultKind::Crash),
                    ("down", FaultKind::Down),
                    ("blackhole", FaultKind::Blackhole),
                ],
                FaultKind::Crash,
            );
            let ttf = self.time_to(&k, ("mttf", "ttf"), rf.mttf.as_ref(), rf.ttf.as_ref());
            let ttr = self.time_to(&k, ("mttr", "ttr"), rf.mttr.as_ref(), rf.ttr.as_ref());
            let repair = self.repair_policy(&k, &rf, detection);
            if let Some((_, kind)) = kind {
                out.push(RandomFaults {
                    kind,
                    fault,
                    ttf,
                    ttr,
                    repair,
                });
            }
        }
        out
    }

    /// A time to failure or repair: `mean` (a duration, exponential with that mean) or `dist`
    /// (a distribution), exactly one of the two.
    fn time_to(
        &mut self,
        k: &KeyPath,
        (mean_key, dist_key): (&str, &str),
        mean: Option<&Value>,
        dist: Option<&Value>,
    ) -> Dist {
        let what = if mean_key == "mttf" {
            "mean time to failure"
        } else {
            "mean time to repair"
        };
        let (mk, dk) = (k.key(mean_key), k.key(dist_key));
        match (mean, dist) {
            (None, None) => {
                self.problem(
                    &mk,
                    format!(
                        "is required: the {what}, e.g. {mean_key} = \"90d\" (or {dist_key} = a \
                         distribution)"
                    ),
                );
                Dist::zero()
            }
            (Some(_), Some(_)) => {
                self.problem(
                    &dk,
                    format!(
                        "give either {mean_key} (a mean) or {dist_key} (a distribution), not both"
                    ),
                );
                Dist::zero()
            }
            (Some(v), None) => {
                if let Value::String(s) = v
                    && parse_duration(s).is_err()
                    && parse_dist_str(s, self.base_dir).is_ok()
                {
                    self.problem(
                        &mk,
                        format!(
                            "is a mean time (a duration such as \"90d\"), got {s:?}: for a \
                             distribution write {dist_key} = {s:?}"
                        ),
                    );
                    return Dist::zero();
                }
                let n = self.problems.len();
                let t = self.duration(&mk, Some(v), SimTime::ZERO);
                if self.problems.len() != n {
                    return Dist::zero();
                }
                match Dist::exp(t.as_secs_f64()) {
                    Ok(d) => d,
                    Err(_) => {
                        self.problem(&mk, format!("must be > 0, got {}", format_duration(t)));
                        Dist::zero()
                    }
                }
            }
            (None, Some(v)) => {
                let n = self.problems.len();
                let d = self.dist(&dk, Some(v), "0s");
                let mean = d.mean();
                if self.problems.len() == n && (mean.is_nan() || mean <= 0.0) {
                    self.problem(
                        &dk,
                        "must have a mean > 0 (a component cannot fail or be repaired in no time)",
                    );
                }
                d
            }
        }
    }

    // ---- [timeline] -----------------------------------------------------------------------

    pub(super) fn timeline(&mut self, t: schema::Timeline, duration: Option<SimTime>) -> SimTime {
        let key = root("timeline").key("interval");
        let rows = |d: SimTime, i: SimTime| d.as_nanos().div_ceil(i.as_nanos().max(1));
        let Some(v) = t.interval.as_ref() else {
            let d = duration.unwrap_or(SimTime::ZERO);
            let step = TIMELINE_STEPS_SECS
                .iter()
                .map(|&s| SimTime::from_secs(s))
                .find(|&i| rows(d, i) <= MAX_TIMELINE_ROWS)
                .unwrap_or(SimTime::from_secs(86_400));
            return step;
        };
        let n = self.problems.len();
        let interval = self.positive_duration(&key, Some(v), SimTime::from_secs(1));
        if self.problems.len() == n
            && let Some(d) = duration
            && rows(d, interval) > MAX_TIMELINE_ROWS
        {
            self.problem(
                &key,
                format!(
                    "gives {} timeline rows over the run (duration {} / interval {}), more than \
                     the limit of {MAX_TIMELINE_ROWS}: use an interval of at least {}",
                    rows(d, interval),
                    format_duration(d),
                    format_duration(interval),
                    format_duration(SimTime::from_nanos(
                        d.as_nanos().div_ceil(MAX_TIMELINE_ROWS)
                    ))
                ),
            );
        }
        interval
    }
}
