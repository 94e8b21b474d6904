//! From a HAProxy log to the traffic and service times of a scenario.
//!
//! * **Arrivals**: requests per interval of the accept times (lines dated far from the rest are
//!   set aside by the reader and listed: [`super::haproxy_log::outlying`]). A constant rate is kept unless the
//!   counts are over-dispersed for a Poisson process (index-of-dispersion test, chi-square with
//!   bins − 1 degrees of freedom, p < 0.001): then the rate of each interval becomes a phase.
//! * **Service time** of a request, as the server does it: `Ta − TR − Tw − Tc` (the server's
//!   response time and the transfer: manual §8.4, "Timing events"), from requests that reached a
//!   server and got a response below 500, tunnels left out (a `101` upgrade or a `CONNECT`:
//!   their `Ta` is how long the tunnel stayed open, see [`Record::tunnel`]; they are counted
//!   and reported). The connect `Tc` before it holds HAProxy's server slot
//!   but no worker of the server (the kernel completes the handshake into the listen backlog),
//!   so it becomes `lb.connect`: a gamma of its mean and cv (the timers count whole
//!   milliseconds, too coarse for a shape). Folded into the service it would make the application's workers
//!   busier than they are whenever the queue sits inside the application (server `maxconn`
//!   above its workers, or none). Pooled over the servers: the model draws one
//!   application time per request and divides it by the server's `speed`, so a server whose
//!   mean differs by more than 5 % (and 4 standard errors) gets its own `speed`.
//! * **Family**: each of the model's families is fitted by mean and cv and tested
//!   (Kolmogorov-Smirnov, [`ks`]); the best one is used if it passes at the 1 % level, else the
//!   sample itself (an empirical distribution, its whole-millisecond values spread evenly over
//!   each millisecond so that resampling keeps the mean).
//! * `Tw` (queueing) and `Tc` (connect) are reported beside, to check that the queueing the
//!   simulation produces is the one measured; the status mix, each server's errors, and the
//!   client addresses' concentration (matters for `balance source`) too.

pub mod families;
pub mod ks;
pub mod report;

use super::Draft;
use super::haproxy_log::{Log, Record};
use families::Family;

/// A summary of a sample in milliseconds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub cv: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(sorted: &[f64]) -> Summary {
        let n = sorted.len();
        if n == 0 {
            return Summary::default();
        }
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let var = sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
        Summary {
            n,
            mean,
            cv: if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
            p50: quantile(sorted, 0.5),
            p99: quantile(sorted, 0.99),
            max: sorted[n - 1],
        }
    }
}

/// The `p` quantile of a sorted sample (the value at rank ceil(p n), as HDR histograms and the
/// simulator report percentiles).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

#[derive(Clone, Debug)]
pub struct ServerFit {
    pub name: String,
    pub requests: usize,
    /// Responses >= 500 (and requests that got none).
    pub errors: usize,
    pub service: Summary,
    pub wait: Summary,
    pub connect: Summary,
    /// Most concurrent requests logged on it (`%sc`).
    pub max_conn: Option<u32>,
    /// Its speed relative to the pool (1 unless it differs).
    pub speed: f64,
}

#[derive(Clone, Debug)]
pub struct Candidate {
    pub family: Family,
    pub d: f64,
    pub p: f64,
}

#[derive(Clone, Debug)]
pub struct Fit {
    pub file: String,
    pub lines: usize,
    pub malformed: usize,
    pub examples: Vec<(usize, String)>,
    /// Lines set aside for their accept date (line, date), see [`Log::dated_apart`].
    pub dated_apart: Vec<(usize, String)>,
    /// Long sessions accepted before the log began (line, date), see [`Log::early`]: in the
    /// times, not in the arrival rate.
    pub early: Vec<(usize, String)>,
    pub requests: usize,
    /// Tunnels (`101` upgrades, `CONNECT`s), left out of the service and response times.
    pub tunnels: usize,
    pub backend: String,
    /// First to last accept of the arrivals (the long sessions of `early` left out), seconds.
    pub span_s: f64,
    pub rate: f64,
    pub interval_s: f64,
    pub counts: Vec<u64>,
    /// Index of dispersion chi-square and its p-value.
    pub dispersion: (f64, f64),
    /// Rate changes (at, rate) when the rate is not constant.
    pub phases: Vec<(f64, f64)>,
    pub servers: Vec<ServerFit>,
    /// The pooled service times, sorted (ms).
    pub sample: Vec<f64>,
    pub service: Summary,
    pub candidates: Vec<Candidate>,
    /// The family used, or None for the empirical sample.
    pub chosen: Option<Family>,
    /// Response time (`Ta`) of the requests served, as measured.
    pub response: Summary,
    pub wait: Summary,
    pub connect: Summary,
    pub status: Vec<(i32, u64)>,
    pub clients: usize,
    /// Share of requests from the busiest client address, and from the 10 busiest.
    pub top1: f64,
    pub top10: f64,
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Upper tail of the chi-square distribution with `df` degrees of freedom.
fn chi2_q(x: f64, df: f64) -> f64 {
    1.0 - families::gamma_p(df / 2.0, x / 2.0)
}

/// A bin width giving about 100 bins, rounded to a readable width, at least 1 s.
fn interval(span_s: f64) -> f64 {
    const NICE: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    let want = span_s / 100.0;
    NICE.iter()
        .copied()
        .find(|w| *w >= want)
        .unwrap_or(3600.0 * ((want / 3600.0).ceil()))
}

/// Fits a read log.
pub fn fit(file: &str, log: &Log) -> Fit {
    let recs = &log.records;
    // The arrivals: every request but the long sessions accepted before the log began
    // ([`Log::early`]), which would stretch its span by hours.
    let arrivals = || recs.iter().filter(|r| !r.early);
    let first = arrivals().map(|r| r.accept_ms).min().unwrap_or(0);
    let last = arrivals().map(|r| r.accept_ms).max().unwrap_or(0);
    let span_s = ((last - first) as f64 / 1000.0).max(0.001);
    let n = arrivals().count();
    let rate = if n > 1 { (n - 1) as f64 / span_s } else { 1.0 };
    let w = interval(span_s);
    let bins = ((span_s / w).floor() as usize).max(1);
    let mut counts = vec![0u64; bins];
    for r in arrivals() {
        let b = (((r.accept_ms - first) as f64 / 1000.0) / w) as usize;
        if b < bins {
            counts[b] += 1;
        }
    }
    let mean_c = counts.iter().sum::<u64>() as f64 / bins as f64;
    let chi2 = if mean_c > 0.0 {
        counts
            .iter()
            .map(|&c| (c as f64 - mean_c).powi(2))
            .sum::<f64>()
            / mean_c
    } else {
        0.0
    };
    let p_disp = if bins > 1 {
        chi2_q(chi2, (bins - 1) as f64)
    } else {
        1.0
    };
    let phases: Vec<(f64, f64)> = if bins >= 3 && p_disp < 0.001 {
        counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (i as f64 * w, c as f64 / w))
            .collect()
    } else {
        vec![]
    };

    let served = |r: &&Record| {
        !r.tunnel
            && r.t_resp >= 0
            && r.t_active >= 0
            && r.t_wait >= 0
            && r.t_connect >= 0
            && r.status > 0
            && r.status < 500
    };
    let service_of =
        |r: &Record| (r.t_active - r.t_req.max(0) - r.t_wait - r.t_connect).max(0) as f64;
    let sample = sorted(recs.iter().filter(served).map(service_of).collect());
    let service = Summary::of(&sample);
    let mut servers = vec![];
    for (i, name) in log.servers.iter().enumerate() {
        if name == "<NOSRV>" {
            continue;
        }
        let mine: Vec<_> = recs.iter().filter(|r| r.server == i as u32).collect();
        let ok: Vec<_> = mine.iter().copied().filter(served).collect();
        let s = Summary::of(&sorted(ok.iter().map(|r| service_of(r)).collect()));
        let se = if s.n > 1 {
            s.mean * s.cv / (s.n as f64).sqrt()
        } else {
            f64::INFINITY
        };
        let speed = if s.n >= 100
            && service.mean > 0.0
            && (s.mean - service.mean).abs() > (0.05 * service.mean).max(4.0 * se)
        {
            ((service.mean / s.mean) * 1000.0).round() / 1000.0
        } else {
            1.0
        };
        servers.push(ServerFit {
            name: name.clone(),
            requests: mine.len(),
            errors: mine.iter().filter(|r| !r.tunnel).count() - ok.len(),
            service: s,
            wait: Summary::of(&sorted(ok.iter().map(|r| r.t_wait as f64).collect())),
            connect: Summary::of(&sorted(ok.iter().map(|r| r.t_connect as f64).collect())),
            max_conn: mine.iter().filter_map(|r| r.srv_conn).max(),
            speed: if speed > 0.0 { speed } else { 1.0 },
        });
    }
    let mut candidates: Vec<Candidate> = if service.n >= 2 && service.mean > 0.0 {
        Family::fitted(service.mean, service.cv)
            .into_iter()
            .map(|f| {
                let (d, p) = ks::test(&sample, &f, true);
                Candidate { family: f, d, p }
            })
            .collect()
    } else {
        vec![]
    };
    candidates.sort_by(|a, b| a.d.total_cmp(&b.d));
    let chosen = candidates.first().filter(|c| c.p >= 0.01).map(|c| c.family);

    let ok: Vec<_> = recs.iter().filter(served).collect();
    let mut status: std::collections::BTreeMap<i32, u64> = Default::default();
    for r in recs {
        *status.entry(r.status).or_insert(0) += 1;
    }
    let mut by_client: Vec<u64> = log.clients.values().copied().collect();
    by_client.sort_unstable_by(|a, b| b.cmp(a));
    let total = recs.len().max(1) as f64;
    Fit {
        file: file.to_string(),
        lines: log.lines,
        malformed: log.malformed,
        examples: log.examples.clone(),
        dated_apart: log.dated_apart.clone(),
        early: log.early.clone(),
        requests: recs.len(),
        tunnels: recs.iter().filter(|r| r.tunnel).count(),
        backend: log.backend.clone(),
        span_s,
        rate,
        interval_s: w,
        counts,
        dispersion: (chi2, p_disp),
        phases,
        servers,
        sample,
        service,
        candidates,
        chosen,
        response: Summary::of(&sorted(ok.iter().map(|r| r.t_active as f64).collect())),
        wait: Summary::of(&sorted(ok.iter().map(|r| r.t_wait as f64).collect())),
        connect: Summary::of(&sorted(ok.iter().map(|r| r.t_connect as f64).collect())),
        status: status.into_iter().collect(),
        clients: log.clients.len(),
        top1: by_client.first().copied().unwrap_or(0) as f64 / total,
        top10: by_client.iter().take(10).sum::<u64>() as f64 / total,
    }
}

/// The empirical sample as a CSV in milliseconds: each whole-millisecond value k is spread
/// evenly over (k − 0.5, k + 0.5) across its ties, which keeps the mean (see [`ks`]).
pub fn empirical_csv(f: &Fit) -> String {
    let mut out = String::from("service_ms\n");
    let s = &f.sample;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        let n = (j - i) as f64;
        for t in 0..(j - i) {
            let v = (s[i] - 0.5 + (t as f64 + 0.5) / n).max(0.0);
            out.push_str(&format!("{v:.4}\n"));
        }
        i = j;
    }
    out
}

/// A rate as the scenario gets it: to the thousandth of a request per second, or to 4
/// significant digits below 1/s, so that the rate of a sparse log (one request an hour) is not
/// rounded to 0, which no scenario accepts.
fn rate_value(r: f64) -> f64 {
    if r >= 1.0 {
        (r * 1000.0).round() / 1000.0
    } else {
        crate::report::num::round_sig(r, 4)
    }
}

/// Writes what the log says into the scenario: traffic, service times, servers. `dir` is the
/// folder (relative to the scenario) holding the fit's files, for an empirical distribution.
pub fn apply(f: &Fit, dir: &str, d: &mut Draft) {
    d.sources.push(f.file.clone());
    let src = format!("{} ({} requests)", f.file, f.requests);
    d.set(
        "",
        "duration",
        super::text::duration(((f.span_s.ceil() as u64).max(10)).saturating_mul(1_000_000_000))
            .as_str(),
        &format!("the log's span: {src}"),
    );
    d.set(
        "",
        "warmup",
        "0s",
        "the log starts with the system as it was: no warm-up left out",
    );
    d.set(
        "workload",
        "rate",
        rate_value(f.rate),
        &format!("requests per second over {src}"),
    );
    if !f.phases.is_empty() {
        let phases: Vec<toml::Value> = f
            .phases
            .iter()
            .skip(1)
            .take(10_000)
            .map(|(at, r)| {
                let mut t = toml::Table::new();
                t.insert(
                    "at".into(),
                    super::text::duration((*at * 1e9) as u64).into(),
                );
                t.insert("rate".into(), rate_value(*r).into());
                toml::Value::Table(t)
            })
            .collect();
        if let Some((_, r0)) = f.phases.first() {
            d.set(
                "workload",
                "rate",
                rate_value(*r0),
                &format!("the first {}s of {src}", f.interval_s),
            );
        }
        d.set(
            "workload",
            "phases",
            toml::Value::Array(phases),
            &format!(
                "the rate per {} s: not a constant-rate Poisson stream (dispersion p = {:.1e})",
                f.interval_s, f.dispersion.1
            ),
        );
    }
    if f.clients > 0 {
        d.set(
            "workload",
            "clients",
            (f.clients as i64).min(10_000_000),
            "distinct client addresses in the log",
        );
    }
    let app = match &f.chosen {
        Some(fam) => (
            toml::Value::from(fam.spec()),
            format!(
                "{} fitted to Ta - TR - Tw - Tc (KS p = {:.3})",
                fam.name(),
                f.candidates[0].p
            ),
        ),
        None => {
            let mut t = toml::Table::new();
            t.insert("dist".into(), "empirical".into());
            t.insert("file".into(), format!("{dir}/service.csv").into());
            t.insert("unit".into(), "ms".into());
            (
                toml::Value::Table(t),
                format!(
                    "measured Ta - TR - Tw - Tc; no family passed the KS test (best: {})",
                    f.candidates
                        .first()
                        .map(|c| format!("{} p = {:.1e}", c.family.name(), c.p))
                        .unwrap_or_else(|| "none".into())
                ),
            )
        }
    };
    let i = match d.len("workload.mix") {
        0 => {
            let i = d.push("workload.mix");
            d.set_in("workload.mix", i, "name", "default", "");
            i
        }
        _ => 0,
    };
    d.set_in("workload.mix", i, "app", app.0, &app.1);
    if f.connect.mean > 0.0 {
        // A gamma of the measured mean and cv keeps the connect's share of the slot time's
        // second moment, which the queueing depends on; its shape is below the timers'
        // resolution.
        let spec = if f.connect.n >= 100 && f.connect.cv > 0.0 {
            format!(
                "gamma({:.0}us, cv={:.3})",
                f.connect.mean * 1000.0,
                f.connect.cv.min(100.0)
            )
        } else {
            format!("det({:.0}us)", f.connect.mean * 1000.0)
        };
        d.set(
            "lb",
            "connect",
            spec.as_str(),
            &format!(
                "Tc of {} requests, mean and cv (whole-ms timers): holds the server's slot, not a worker",
                f.connect.n
            ),
        );
    }

    // Servers: those of the configuration, or the log's when there is none.
    if d.len("servers") == 0 {
        for s in &f.servers {
            let i = d.push("servers");
            d.set_in(
                "servers",
                i,
                "name",
                super::server_name(&s.name).as_str(),
                "from the log",
            );
        }
    }
    for k in 0..d.len("servers") {
        let name = d
            .get_in("servers", k, "name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let Some(s) = f
            .servers
            .iter()
            .find(|s| super::server_name(&s.name) == name)
        else {
            continue;
        };
        if s.speed != 1.0 {
            d.set_in(
                "servers",
                k,
                "speed",
                s.speed,
                &format!(
                    "mean service {:.2} ms against {:.2} ms for the pool",
                    s.service.mean, f.service.mean
                ),
            );
        }
        if d.get_in("servers", k, "app_workers").is_none() {
            let maxconn = d
                .get_in("servers", k, "maxconn")
                .or_else(|| d.get("defaults.server", "maxconn"))
                .and_then(|v| v.as_integer())
                .filter(|m| *m > 0);
            match (maxconn, s.max_conn) {
                (Some(m), _) => d.placeholder_in("servers", k, "app_workers", m.min(100_000), "the application's workers are in no input: HAProxy's maxconn, which never sends more"),
                (None, Some(c)) if c > 0 => d.placeholder_in("servers", k, "app_workers", (c as i64).min(100_000), "the application's workers are in no input: the most concurrent requests the log shows on it"),
                _ => {}
            }
        }
    }
    d.notes.push(format!(
        "Fitted from {}: {} requests over {:.0} s ({:.2}/s), {} malformed line(s) and {} dated apart skipped, {} tunnel(s) left out of the service time; service {:.2} ms mean (cv {:.2}), response p50 {:.0} ms p99 {:.0} ms as measured.",
        f.file, f.requests, f.span_s, f.rate, f.malformed, f.dated_apart.len(), f.tunnels, f.service.mean, f.service.cv, f.response.p50, f.response.p99
    ));
    if !f.early.is_empty() {
        d.notes.push(format!(
            "{} long session(s) accepted before the rest of the log (first: line {}) are in the times but not in the rate.",
            f.early.len(),
            f.early[0].0
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_rate_is_not_rounded_to_zero() {
        assert_eq!(rate_value(294.8049), 294.805);
        assert_eq!(rate_value(1.0 / 3600.0), 0.0002778);
        assert!(rate_value(1.0 / (366.0 * 86_400.0)) > 0.0);
    }
}
