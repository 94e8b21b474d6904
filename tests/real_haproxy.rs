//! The simulator against a real HAProxy (issue 16): Debian's `haproxy` (`.ci/run` installs it)
//! on 127.0.0.1 in front of two stand-in application servers written here (known worker
//! counts, lognormal service times from a seeded stream, `Connection: close`), driven by an
//! open-loop Poisson load for a bounded time, logging in `httplog` format to stdout. Then
//! `simulate fit LOG --config haproxy.cfg` writes a scenario, `simulate` runs it, and the mean,
//! p50 and p99 of the response time are compared with those of the log (`Ta`).
//!
//! Two judgements split the comparison where the run's own noise can be told apart:
//!
//! - **HAProxy's rules.** The run is replayed ideally: its own arrivals and service times
//!   through HAProxy's queueing rules, with nothing else. No sampling noise is left between
//!   that replay and the measurement, so it is held to the 10 % on the mean, p50 and
//!   p99, when the log's service times are steady (a chi-square test on their per-second
//!   means finds no drift at 5 %): on a busy machine the stand-in servers' sleeps overshoot in
//!   bursts and HAProxy wakes late, which moves the replay too (by 10-20 % under load).
//! - **The fit and the model.** An iid replay feeds the same rules Poisson arrivals at the
//!   fitted rates and independent draws of the log's own slot times: what a fitted scenario can
//!   know of the run. The fitted scenario, simulated with R seeds, must agree with the iid
//!   replay's mean over its own seeds within z standard deviations of the difference of the two
//!   means (from the seeds' spreads), z = 3.615 so that the nine comparisons together fail by
//!   chance no more often than one at 3 sd (Bonferroni). Both see the same log, so this holds
//!   on any machine.
//!
//! The gap between the simulated and the measured figures is printed beside them. It is the
//! sum of the two judged gaps and of the run's correlation (ideal against iid replay): the load
//! generator's arrivals come in small bursts and the service times drift together with the
//! machine's load, which a rate and a distribution cannot carry. That part belongs to the test
//! rig, not to the simulator: 1-6 % of the mean at `maxconn 2` on a steady run, 10-15 %
//! at `maxconn 1`, where the wait is most of the response time.

//! Timers are whole milliseconds in the log: both the measured response times and the fitted
//! service sample spread each millisecond's ties evenly over it (see src/ingest/fit/ks.rs), so
//! the percentiles compared are not a rounding apart.
//!
//! Everything is bounded: requests (rate × seconds × 1.5), every socket's timeouts, the run
//! (seconds + 20 s), HAProxy killed at the end. `INFRASIM_HAPROXY_SECONDS` lengthens the runs
//! (default 30 s each); `INFRASIM_HAPROXY_KEEP=DIR` keeps the files (same file system as the
//! temporary folder).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use infrasim::ingest::fit;
use infrasim::ingest::haproxy_log::{self, Format};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// Simulated seeds per setup.
const SEEDS: u64 = 12;
/// Seeds of the iid replay per setup (a replay costs milliseconds: more seeds narrow the
/// tolerance of the simulation's comparison with it).
const IID_SEEDS: u64 = 48;
/// The service times are judged steady when the chi-square test of their per-second means
/// finds no drift at the conventional 5 % level. The gate guards a judgement from a known
/// confounder (a busy machine), so it errs towards finding drift.
const STEADY_P: f64 = 0.05;

fn seconds() -> f64 {
    std::env::var("INFRASIM_HAPROXY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| (5.0..=3600.0).contains(s))
        .unwrap_or(30.0)
}

/// A lognormal draw by mean and cv (Box-Muller), milliseconds.
fn lognormal(rng: &mut Xoshiro256PlusPlus, mean: f64, cv: f64) -> f64 {
    let s2 = (1.0 + cv * cv).ln();
    let mu = mean.ln() - s2 / 2.0;
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (mu + s2.sqrt() * z).exp()
}

/// A stand-in application server: `workers` threads each accept one connection, read the
/// request, sleep a lognormal service time, answer and close. The kernel's backlog is its queue.
struct App {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl App {
    fn start(workers: usize, mean_ms: f64, cv: f64, seed: u64) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener = Arc::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..workers)
            .map(|w| {
                let l = listener.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed * 1000 + w as u64);
                    let mut buf = [0u8; 4096];
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((mut s, _)) = l.accept() else { continue };
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 65536 {
                            match s.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        if got.is_empty() {
                            continue; // a health probe or the stop poke
                        }
                        let ms = lognormal(&mut rng, mean_ms, cv).min(1000.0);
                        std::thread::sleep(Duration::from_secs_f64(ms / 1000.0));
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                        let _ = s.shutdown(Shutdown::Both);
                    }
                })
            })
            .collect();
        App {
            port,
            stop,
            threads,
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in 0..self.threads.len() {
            let _ = TcpStream::connect_timeout(
                &format!("127.0.0.1:{}", self.port).parse().unwrap(),
                Duration::from_secs(1),
            );
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Open-loop Poisson load: arrivals at `rate` for `secs`, each sent by one of a pool of client
/// threads (a request never waits for an earlier one's response). Returns (sent, late), late
/// being requests that found every client thread busy (they start late; the log's accept
/// times are what the fit uses).
fn drive(port: u16, rate: f64, secs: f64, seed: u64) -> (usize, usize) {
    const CLIENTS: usize = 128;
    let (tx, rx) = mpsc::channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let busy = Arc::new(AtomicUsize::new(0));
    let pool: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let rx = rx.clone();
            let busy = busy.clone();
            std::thread::spawn(move || {
                let addr = format!("127.0.0.1:{port}").parse().unwrap();
                loop {
                    let next = rx.lock().unwrap().recv();
                    let Ok(_due) = next else { break };
                    busy.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                        let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
                        let _ = s.write_all(
                            b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
                        );
                        let mut sink = Vec::new();
                        let _ = s.read_to_end(&mut sink);
                    }
                    busy.fetch_sub(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let start = Instant::now();
    let mut t = 0.0f64;
    let (mut sent, mut late) = (0, 0);
    let cap = (rate * secs * 1.5) as usize + 10;
    loop {
        let u: f64 = rng.random::<f64>().max(1e-300);
        t += -u.ln() / rate;
        if t >= secs || sent >= cap {
            break;
        }
        let due = start + Duration::from_secs_f64(t);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if busy.load(Ordering::Relaxed) >= CLIENTS {
            late += 1;
        }
        if tx.send(due).is_err() {
            break;
        }
        sent += 1;
    }
    drop(tx);
    for p in pool {
        let _ = p.join();
    }
    (sent, late)
}

struct HaProxy(Child);

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One setup: (label, balance, workers per server, server maxconn, rate).
struct Setup {
    label: &'static str,
    balance: &'static str,
    workers: usize,
    maxconn: usize,
    rate: f64,
}

const MEAN_MS: f64 = 10.0;
const CV: f64 = 0.5;
/// What a request holds a server slot for beyond the drawn service time, measured on this
/// machine from the logs (`Ta − TR − Tw` averages 11.1-11.2 ms for 10 ms drawn): the sleep's
/// overshoot, the connection to the app and the response's way back. The rates below put
/// the servers at 85 % of what they really serve.
const OVERHEAD_MS: f64 = 1.2;

fn config(port: u16, s: &Setup, apps: &[u16]) -> String {
    let mut c = format!(
        "global\n    log stdout format raw local0 info\n    maxconn 2000\n\n\
         defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 5s\n    \
         timeout client 20s\n    timeout server 20s\n    timeout queue 20s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\n\
         backend be\n    balance {}\n",
        s.balance
    );
    for (i, p) in apps.iter().enumerate() {
        c.push_str(&format!(
            "    server app{} 127.0.0.1:{p} maxconn {}\n",
            i + 1,
            s.maxconn
        ));
    }
    c
}

/// Mean, p50 and p99 (ms) of the log's response times (`Ta`), and how many.
fn measured(parsed: &haproxy_log::Log) -> (f64, f64, f64, usize) {
    let v: Vec<f64> = parsed
        .records
        .iter()
        .filter(|r| r.status > 0 && r.status < 500 && r.t_active >= 0)
        .map(|r| r.t_active as f64)
        .collect();
    let n = v.len();
    let (mean, p50, p99) = figures(v);
    (mean, p50, p99, n)
}

/// The log's requests as (accept, slot time) in µs, sorted by accept, and the server count.
/// Replayed as they are ([`replay_of`]), they are the ideal replay: the same arrivals (accept
/// times) and the same service times (`Ta − TR − Tw`) through HAProxy's rules with nothing
/// else; what the real HAProxy adds on top of it is its own cost: the handoff, parsing, the
/// loopback.
fn slot_times(parsed: &haproxy_log::Log) -> (Vec<(i64, i64)>, usize) {
    let mut reqs: Vec<(i64, i64)> = parsed
        .records
        .iter()
        .filter(|r| r.status > 0 && r.status < 500 && r.t_active >= 0 && r.t_wait >= 0)
        .map(|r| {
            (
                r.accept_ms * 1000,
                (r.t_active - r.t_req.max(0) - r.t_wait) as i64 * 1000,
            )
        })
        .collect();
    reqs.sort_by_key(|r| r.0);
    let servers = parsed
        .servers
        .iter()
        .filter(|s| s.as_str() != "<NOSRV>")
        .count()
        .max(1);
    (reqs, servers)
}

/// The same replay with what the simulation can know of the run: Poisson arrivals at the
/// fitted scenario's rates over the log's span and slot times drawn independently from the
/// log's own (seeded). Its gap to the ideal replay is what the run's correlations add (bursts
/// of arrivals from the load generator, service times that drift together on a busy machine),
/// which no fit of a rate and a distribution can carry; its gap to the simulation is the fit's
/// and the model's.
fn iid_replay(
    (reqs, servers): (&[(i64, i64)], usize),
    rates: &[(i64, f64)],
    balance: &str,
    maxconn: usize,
    seed: u64,
) -> Vec<f64> {
    let (Some(first), Some(last)) = (reqs.first(), reqs.last()) else {
        return vec![];
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut iid = vec![];
    // A piecewise-constant Poisson stream: a gap that crosses the next rate's start is
    // redrawn from there (the exponential forgets what has elapsed).
    let mut t = 0.0f64;
    let span = (last.0 - first.0) as f64;
    let mut piece = 0;
    loop {
        let u: f64 = rng.random::<f64>().max(1e-300);
        let next = t - u.ln() / rates[piece].1;
        if let Some(&(at, _)) = rates.get(piece + 1)
            && next >= at as f64
        {
            t = at as f64;
            piece += 1;
            continue;
        }
        t = next;
        if t > span {
            break;
        }
        let k = rng.random_range(0..reqs.len());
        iid.push((first.0 + t as i64, reqs[k].1));
    }
    replay_of(&iid, servers, balance, maxconn)
}

/// The arrival rates the fitted scenario holds: (from, per µs) with µs from the log's first
/// accept. The fit writes one rate, or a rate per interval when the log's counts per interval
/// are over-dispersed (a load generator that fell behind on a busy machine): the iid replay
/// must know what the simulation knows.
fn fitted_rates(scenario: &Path) -> Vec<(i64, f64)> {
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(scenario).unwrap()).unwrap();
    let num = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap();
    let w = &t["workload"];
    let mut rates = vec![(0, num(&w["rate"]) / 1e6)];
    for p in w
        .get("phases")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let at = infrasim::scenario::parse_duration(p["at"].as_str().unwrap()).unwrap();
        rates.push(((at.0 / 1000) as i64, num(&p["rate"]) / 1e6));
    }
    rates
}

/// HAProxy's rules on `reqs` (accept, slot time) with nothing else: `servers` servers of
/// `maxconn` slots, roundrobin skipping full servers or leastconn (fewest served), a FIFO
/// backend queue served by the server whose slot frees (manual §5.2 "maxconn", domain.md
/// §1.2). Returns the response times (ms, whole milliseconds as the log's).
fn replay_of(reqs: &[(i64, i64)], servers: usize, balance: &str, maxconn: usize) -> Vec<f64> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    let mut served = vec![0usize; servers];
    let mut rr = 0usize;
    // (end, server) of the requests in service; the backend queue of (arrival, service).
    let mut done: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let mut queue: VecDeque<(i64, i64)> = VecDeque::new();
    let mut out = Vec::with_capacity(reqs.len());
    for k in 0..=reqs.len() {
        let now = reqs.get(k).map_or(i64::MAX, |r| r.0);
        // Completions up to now (before an arrival at the same instant): the freed slot takes
        // the oldest queued request.
        while let Some(&Reverse((end, srv))) = done.peek() {
            if end > now {
                break;
            }
            done.pop();
            served[srv] -= 1;
            if let Some(q) = queue.pop_front() {
                served[srv] += 1;
                done.push(Reverse((end + q.1, srv)));
                out.push((end + q.1 - q.0) as f64 / 1000.0);
            }
        }
        let Some(&req) = reqs.get(k) else { break };
        let order = (0..servers)
            .map(|j| (rr + j) % servers)
            .filter(|&j| served[j] < maxconn);
        let pick = if balance == "leastconn" {
            order.min_by_key(|&j| served[j])
        } else {
            order.take(1).next()
        };
        match pick {
            Some(j) if queue.is_empty() => {
                rr = (j + 1) % servers;
                served[j] += 1;
                done.push(Reverse((req.0 + req.1, j)));
                out.push(req.1 as f64 / 1000.0);
            }
            _ => queue.push_back(req),
        }
    }
    out
}

/// Whether the service times are stationary: per-second means against the overall mean, as
/// z-scores; their sum of squares is chi-square with (seconds) degrees of freedom for an
/// independent, identically distributed service. Returns (dispersion index, p-value). A busy
/// machine (other builds on these cores) makes the stand-in servers' sleeps overshoot in
/// bursts: the p-value says so.
fn stationarity(parsed: &haproxy_log::Log) -> (f64, f64) {
    let ok: Vec<_> = parsed
        .records
        .iter()
        .filter(|r| r.t_resp >= 0 && r.t_wait >= 0 && r.status < 500)
        .collect();
    let s = |r: &&haproxy_log::Record| (r.t_active - r.t_req.max(0) - r.t_wait) as f64;
    let n = ok.len() as f64;
    let mean = ok.iter().map(s).sum::<f64>() / n;
    let var = ok.iter().map(|r| (s(r) - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t0 = ok.iter().map(|r| r.accept_ms).min().unwrap_or(0);
    let mut bins: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for r in &ok {
        let b = bins.entry((r.accept_ms - t0) / 1000).or_insert((0.0, 0.0));
        b.0 += s(r);
        b.1 += 1.0;
    }
    let (mut chi2, mut df) = (0.0, 0.0);
    for (sum, c) in bins.values() {
        if *c >= 5.0 {
            chi2 += (sum / c - mean).powi(2) / (var / c);
            df += 1.0;
        }
    }
    (
        chi2 / df,
        1.0 - fit::families::gamma_p(df / 2.0, chi2 / 2.0),
    )
}

/// Mean, p50 and p99 of whole-millisecond times, spread over each millisecond.
fn figures(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let mut spread = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        let n = (j - i) as f64;
        for t in 0..(j - i) {
            spread.push((v[i] - 0.5 + (t as f64 + 0.5) / n).max(0.0));
        }
        i = j;
    }
    let mean = spread.iter().sum::<f64>() / spread.len() as f64;
    (
        mean,
        fit::quantile(&spread, 0.5),
        fit::quantile(&spread, 0.99),
    )
}

/// Runs `simulate` with `args`, which must succeed; its output.
fn simulate_ok(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "simulate {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs the fitted scenario with `seed`: (mean, p50, p99) in ms.
fn simulated(scenario: &Path, seed: u64) -> (f64, f64, f64) {
    let seed = seed.to_string();
    let o = simulate_ok(&[
        scenario.as_os_str(),
        "--seed".as_ref(),
        seed.as_ref(),
        "--json".as_ref(),
        "--output".as_ref(),
        "none".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let l = &v["latency"];
    let ms = |k: &str| l[k].as_f64().unwrap() * 1000.0;
    (ms("mean"), ms("p50"), ms("p99"))
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
}

/// One figure of one setup, in ms: what the log measured, the ideal replay of the run, the
/// fitted scenario's mean over its seeds and the iid replay's mean over its seeds, with the
/// tolerance of the last two's difference; `steady` when the log's service times did not drift.
struct Row {
    figure: &'static str,
    measured: f64,
    ideal: f64,
    simulated: f64,
    iid: f64,
    tolerance: f64,
    steady: bool,
}

fn run_setup(s: &Setup, dir: &Path, secs: f64, seed: u64) -> Vec<Row> {
    let apps: Vec<App> = (0..2)
        .map(|i| App::start(s.workers, MEAN_MS, CV, seed * 10 + i))
        .collect();
    let ports: Vec<u16> = apps.iter().map(|a| a.port).collect();
    let port = free_port();
    let cfg_path = dir.join(format!("{}.cfg", s.label));
    std::fs::write(&cfg_path, config(port, s, &ports)).unwrap();
    let log_path = dir.join(format!("{}.log", s.label));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg_path)
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy is not installed: apt-get install -y haproxy (.ci/run does it)");
    let hap = HaProxy(child);
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "haproxy did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The readiness probe above is a connection without a request: HAProxy logs nothing
    // for it with httplog unless it sends a 408; the fit counts such lines as requests
    // without a response (they are < 1 in 10 000).
    let (sent, late) = drive(port, s.rate, secs, seed);
    std::thread::sleep(Duration::from_millis(300));
    drop(hap);
    for a in apps {
        a.stop();
    }
    let log = std::fs::read_to_string(&log_path).unwrap();
    let scenario = dir.join(format!("{}.toml", s.label));
    let o = simulate_ok(&[
        "fit".as_ref(),
        log_path.as_os_str(),
        "--config".as_ref(),
        cfg_path.as_os_str(),
        "-o".as_ref(),
        scenario.as_os_str(),
        "-q".as_ref(),
    ]);
    eprintln!(
        "{}: {sent} requests sent ({late} found every client thread busy); {}",
        s.label,
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
    );
    let parsed = haproxy_log::parse("log", &log, Format::Httplog).unwrap();
    let (m_mean, m_p50, m_p99, n) = measured(&parsed);
    assert!(
        n as f64 > 0.9 * sent as f64,
        "{n} of {sent} requests in the log"
    );
    let sims: Vec<(f64, f64, f64)> = (1..=SEEDS).map(|k| simulated(&scenario, k)).collect();
    let (reqs, servers) = slot_times(&parsed);
    let ideal = figures(replay_of(&reqs, servers, s.balance, s.maxconn));
    let rates = fitted_rates(&scenario);
    let iids: Vec<(f64, f64, f64)> = (1..=IID_SEEDS)
        .map(|k| {
            figures(iid_replay(
                (&reqs, servers),
                &rates,
                s.balance,
                s.maxconn,
                k,
            ))
        })
        .collect();
    let (disp, p_stat) = stationarity(&parsed);
    let steady = p_stat >= STEADY_P;
    eprintln!(
        "{}: service times per second: dispersion {disp:.2} (1 = independent), p = {p_stat:.2e}{}",
        s.label,
        if steady {
            ""
        } else {
            ": they drift (a busy machine), the ideal replay is printed, not judged"
        }
    );
    let pick = |t: &(f64, f64, f64), k: usize| [t.0, t.1, t.2][k];
    [("mean", m_mean), ("p50", m_p50), ("p99", m_p99)]
        .into_iter()
        .enumerate()
        .map(|(k, (figure, measured))| {
            let (simulated, sd_sim) = mean_sd(&sims.iter().map(|t| pick(t, k)).collect::<Vec<_>>());
            let (iid, sd_iid) = mean_sd(&iids.iter().map(|t| pick(t, k)).collect::<Vec<_>>());
            // Two means over independent seeds: the sd of their difference.
            let sd = (sd_sim.powi(2) / SEEDS as f64 + sd_iid.powi(2) / IID_SEEDS as f64).sqrt();
            let z = family_z(COMPARISONS);
            Row {
                figure,
                measured,
                ideal: pick(&ideal, k),
                simulated,
                iid,
                tolerance: z * sd,
                steady,
            }
        })
        .collect()
}

/// Simulated-against-iid comparisons in the test: three setups × mean, p50 and p99.
const COMPARISONS: usize = 9;

/// Standard deviations each of `n` comparisons allows so that all of them, when all hold, fail
/// together by chance as rarely as one comparison at 3 sd does (0.27 %): Bonferroni, each at
/// 0.27 % / n, two-sided. Nine at 3 sd each would fail one run in 40; z = 3.615 for nine.
fn family_z(n: usize) -> f64 {
    let tail = |z: f64| fit::families::erfc(z / std::f64::consts::SQRT_2);
    let alpha = tail(3.0) / n as f64;
    let (mut lo, mut hi) = (0.0, 10.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn the_family_tolerance_is_bonferronis() {
    assert!((family_z(1) - 3.0).abs() < 1e-9, "{}", family_z(1));
    // Φ⁻¹(1 − 0.0026998 / 18) = 3.6153 (Python's statistics.NormalDist().inv_cdf).
    assert!((family_z(9) - 3.6153).abs() < 1e-3, "{}", family_z(9));
}

/// Tests that start HAProxy take turns: the check of `default-server` must not load the
/// machine while a setup is measured (the service times' drift would be its doing).
static HAPROXY: Mutex<()> = Mutex::new(());

#[test]
fn the_fitted_simulation_matches_a_real_haproxy() {
    let _turn = HAPROXY.lock().unwrap_or_else(|e| e.into_inner());
    let secs = seconds();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("infrasim-haproxy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // 85 % load: rate = 0.85 × servers × workers / mean slot time.
    let slot = (MEAN_MS + OVERHEAD_MS) / 1000.0;
    let setups = [
        Setup {
            label: "roundrobin",
            balance: "roundrobin",
            workers: 2,
            maxconn: 2,
            rate: 0.85 * 4.0 / slot,
        },
        Setup {
            label: "leastconn",
            balance: "leastconn",
            workers: 2,
            maxconn: 2,
            rate: 0.85 * 4.0 / slot,
        },
        Setup {
            label: "maxconn1",
            balance: "roundrobin",
            workers: 1,
            maxconn: 1,
            rate: 0.85 * 2.0 / slot,
        },
    ];
    let mut table = String::from(
        "\n                              HAProxy's rules              the fitted scenario\n\
         setup        figure  measured  ideal replay    gap    simulated    gap  iid replay  simulated - iid\n",
    );
    assert_eq!(
        setups.len() * 3,
        COMPARISONS,
        "the tolerance counts the comparisons"
    );
    let mut failures = vec![];
    for (k, s) in setups.iter().enumerate() {
        for r in run_setup(s, &dir, secs, 7 + k as u64) {
            let pct = |x: f64| 100.0 * (x - r.measured) / r.measured;
            // The replay shares the run's every arrival and service time: no sampling noise is
            // left between it and the measurement, only what HAProxy adds beyond its rules.
            // The aim, 10 %, is asserted there, on a steady machine.
            let replay_ok = !r.steady || (r.ideal - r.measured).abs() <= 0.10 * r.measured;
            // The simulation and the iid replay know the same of the run (its rate, its slot
            // times' distribution): what differs is the fit's family and the model's rules.
            let model_ok = (r.simulated - r.iid).abs() <= r.tolerance;
            table.push_str(&format!(
                "{:<12} {:<6} {:>9.2} {:>13.2} {:>+6.1}%{:<9} {:>9.2} {:>+6.1}% {:>11.2} {:>+8.2} ± {:.2} ms{}\n",
                s.label,
                r.figure,
                r.measured,
                r.ideal,
                pct(r.ideal),
                match (r.steady, replay_ok) {
                    (false, _) => " (drift)",
                    (true, true) => "",
                    (true, false) => " OUTSIDE",
                },
                r.simulated,
                pct(r.simulated),
                r.iid,
                r.simulated - r.iid,
                r.tolerance,
                if model_ok { "" } else { " OUTSIDE" },
            ));
            if !replay_ok {
                failures.push(format!("{} {}: ideal replay", s.label, r.figure));
            }
            if !model_ok {
                failures.push(format!("{} {}: simulated", s.label, r.figure));
            }
        }
    }
    eprintln!("{table}");
    println!("{table}");
    // INFRASIM_HAPROXY_KEEP=DIR keeps the configurations, logs, scenarios and fit reports.
    if let Some(keep) = std::env::var_os("INFRASIM_HAPROXY_KEEP") {
        let _ = std::fs::remove_dir_all(&keep);
        std::fs::rename(&dir, &keep).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "outside the tolerance: {failures:?}\n{table}"
    );
}

/// `default-server` against HAProxy itself: for configurations where the settings come from a
/// `defaults` section's line, from two lines in one backend, and from a line between two
/// servers, what HAProxy reports per server on its stats socket (`show stat`: `slim`, `weight`,
/// `bck`, `check_status`, `check_rise`, `check_fall`) is what `simulate import` writes.
#[test]
fn default_server_is_imported_as_haproxy_applies_it() {
    let _turn = HAPROXY.lock().unwrap_or_else(|e| e.into_inner());
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("infrasim-haproxy-ds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bodies = [
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    \
         default-server inter 3s fall 5 rise 4 maxconn 50\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n\
         backend app\n    balance leastconn\n    default-server check weight 10\n    \
         server web1 127.0.0.1:{s1}\n    server web2 127.0.0.1:{s2}\n",
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
         backend app\n    default-server maxconn 20 check\n    default-server inter 2s rise 3\n    \
         server web1 127.0.0.1:{s1}\n    server web2 127.0.0.1:{s2} maxconn 5 weight 4\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n",
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
         listen app\n    bind 127.0.0.1:{port}\n    server web1 127.0.0.1:{s1} check\n    \
         default-server maxconn 10 backup fall 7\n    server web2 127.0.0.1:{s2} check\n",
    ];
    for (k, body) in bodies.iter().enumerate() {
        let sock = dir.join(format!("ds{k}.sock"));
        // Nothing listens on the servers' ports: the checks fail, which changes no setting.
        let cfg = format!(
            "global\n    stats socket {} mode 600 level admin\n{}",
            sock.display(),
            body.replace("{port}", &free_port().to_string())
                .replace("{s1}", &free_port().to_string())
                .replace("{s2}", &free_port().to_string())
        );
        let path = dir.join(format!("ds{k}.cfg"));
        std::fs::write(&path, &cfg).unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy is not installed: apt-get install -y haproxy (.ci/run does it)");
        let hap = HaProxy(child);
        let t0 = Instant::now();
        let stat = loop {
            if let Ok(mut s) = UnixStream::connect(&sock) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                s.write_all(b"show stat\n").unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                break out;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "haproxy did not start: {cfg}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(hap);
        let header: Vec<&str> = stat
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let col = |row: &[&str], name: &str| -> String {
            let i = header.iter().position(|h| *h == name).unwrap();
            row[i].to_string()
        };
        let rows: Vec<Vec<&str>> = stat
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|r| r.len() > 2 && r[1].starts_with("web"))
            .collect();
        assert_eq!(rows.len(), 2, "{stat}");

        let scenario = dir.join(format!("ds{k}.toml"));
        simulate_ok(&[
            "import".as_ref(),
            path.as_os_str(),
            "-o".as_ref(),
            scenario.as_os_str(),
            "-q".as_ref(),
        ]);
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
        let defaults = t
            .get("defaults")
            .and_then(|d| d.get("server"))
            .cloned()
            .unwrap_or(toml::Value::Table(Default::default()));
        let health = &t["health"];
        for (i, row) in rows.iter().enumerate() {
            let s = &t["servers"][i];
            let key = |k: &str| s.get(k).or_else(|| defaults.get(k)).cloned();
            let what = format!("config {k}, server {}:\n{cfg}", row[1]);
            let slim = col(row, "slim");
            assert_eq!(
                key("maxconn")
                    .and_then(|v| v.as_integer())
                    .map(|v| v.to_string()),
                (!slim.is_empty()).then_some(slim),
                "maxconn, {what}"
            );
            assert_eq!(
                key("weight")
                    .and_then(|v| v.as_integer())
                    .unwrap_or(1)
                    .to_string(),
                col(row, "weight"),
                "weight, {what}"
            );
            assert_eq!(
                key("backup").and_then(|v| v.as_bool()).unwrap_or(false),
                col(row, "bck") == "1",
                "backup, {what}"
            );
            // A server without checks has no check status.
            let checked = !col(row, "check_status").is_empty();
            assert_eq!(health["enabled"].as_bool(), Some(checked), "check, {what}");
            // The model has one check setting for every server: it is the first checked one's.
            if i == 0 {
                let get = |k: &str, dflt: i64| {
                    health
                        .get(k)
                        .and_then(|v| v.as_integer())
                        .unwrap_or(dflt)
                        .to_string()
                };
                assert_eq!(get("rise", 2), col(row, "check_rise"), "rise, {what}");
                assert_eq!(get("fall", 3), col(row, "check_fall"), "fall, {what}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
