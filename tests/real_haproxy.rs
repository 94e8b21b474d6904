//! The simulator against a real HAProxy (issue 16): Debian's `haproxy` (`.ci/run` installs it)
//! on 127.0.0.1 in front of two stand-in application servers written here (known worker
//! counts, lognormal service times from a seeded stream, `Connection: close`), driven by an
//! open-loop Poisson load for a bounded time, logging in `httplog` format to stdout. Then
//! `simulate fit LOG --config haproxy.cfg` writes a scenario, `simulate` runs it, and the mean,
//! p50 and p99 of the response time are compared with those of the log (`Ta`).
//!
//! Tolerance from the sample size: one run of this length has a p99 that lands far from its
//! long-run value by chance (issue 16: 20-30 % at 85 % load over 240 s). The simulated scenario
//! is run with R seeds; the spread of its figures across seeds is the spread of one run of this
//! length, so a measured figure agrees when it is within 3 standard deviations × sqrt(1 + 1/R)
//! of the seeds' mean. The table printed also gives the gap in percent against the 10 % aim.
//!
//! Timers are whole milliseconds in the log: both the measured response times and the fitted
//! service sample spread each millisecond's ties evenly over it (see src/ingest/fit/ks.rs), so
//! the percentiles compared are not a rounding apart.
//!
//! Everything is bounded: requests (rate × seconds × 1.5), every socket's timeouts, the run
//! (seconds + 20 s), HAProxy killed at the end. `INFRASIM_HAPROXY_SECONDS` lengthens the runs
//! (default 30 s each).

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

/// Mean, p50 and p99 (ms) of the log's response times, whole milliseconds spread over each
/// millisecond as the fit does.
fn measured(log: &str) -> (f64, f64, f64, usize) {
    let parsed = haproxy_log::parse("log", log, Format::Httplog).unwrap();
    let mut v: Vec<f64> = parsed
        .records
        .iter()
        .filter(|r| r.status > 0 && r.status < 500 && r.t_active >= 0)
        .map(|r| r.t_active as f64)
        .collect();
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
        spread.len(),
    )
}

/// Runs the fitted scenario with `seed`: (mean, p50, p99) in ms.
fn simulated(scenario: &Path, seed: u64) -> (f64, f64, f64) {
    let o = Command::new(BIN)
        .arg(scenario)
        .args(["--seed", &seed.to_string(), "--json", "--output", "none"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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

fn run_setup(s: &Setup, dir: &Path, secs: f64, seed: u64) -> Vec<(String, f64, f64, f64, bool)> {
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
    let o = Command::new(BIN)
        .arg("fit")
        .arg(&log_path)
        .arg("--config")
        .arg(&cfg_path)
        .arg("-o")
        .arg(&scenario)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "fit: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "{}: {sent} requests sent ({late} found every client thread busy); {}",
        s.label,
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
    );
    let (m_mean, m_p50, m_p99, n) = measured(&log);
    assert!(
        n as f64 > 0.9 * sent as f64,
        "{n} of {sent} requests in the log"
    );
    let sims: Vec<(f64, f64, f64)> = (1..=SEEDS).map(|k| simulated(&scenario, k)).collect();
    let mut rows = vec![];
    for (name, meas, pick) in [
        ("mean", m_mean, 0usize),
        ("p50", m_p50, 1),
        ("p99", m_p99, 2),
    ] {
        let v: Vec<f64> = sims.iter().map(|t| [t.0, t.1, t.2][pick]).collect();
        let (m, sd) = mean_sd(&v);
        let tol = 3.0 * sd * (1.0 + 1.0 / SEEDS as f64).sqrt();
        let ok = (meas - m).abs() <= tol;
        rows.push((name.to_string(), meas, m, tol, ok));
    }
    rows
}

#[test]
fn the_fitted_simulation_matches_a_real_haproxy() {
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
        "\nsetup        figure   measured (ms)  simulated (ms)  gap      tolerance (3 sd, from the seeds)\n",
    );
    let mut failures = vec![];
    for (k, s) in setups.iter().enumerate() {
        let rows = run_setup(s, &dir, secs, 7 + k as u64);
        for (name, meas, sim, tol, ok) in rows {
            table.push_str(&format!(
                "{:<12} {:<8} {:>13.2} {:>15.2} {:>+7.1}%  ±{:.2} ms ({:.0}%){}\n",
                s.label,
                name,
                meas,
                sim,
                100.0 * (sim - meas) / meas,
                tol,
                100.0 * tol / meas,
                if ok { "" } else { "  OUTSIDE" }
            ));
            if !ok {
                failures.push(format!("{} {name}", s.label));
            }
        }
    }
    eprintln!("{table}");
    println!("{table}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "outside the tolerance: {failures:?}\n{table}"
    );
}
