//! Sampling cost per draw, `rand_distr` (what `src/dist` uses) against the hand-written
//! samplers it replaced (release build: `cargo bench --bench sampling`).
//!
//! The "before" column is the code `src/dist` held until the move to `rand_distr` (inversion
//! for the exponential and the Weibull, Box–Muller for the normal behind the lognormal,
//! Marsaglia–Tsang on that normal for the gamma), kept here only as the yardstick. Both sides
//! draw from the same generator (`infrasim::engine::Rng`, xoshiro256++), the same parameters,
//! interleaved five times; the table gives the medians and after/before. Each side sums its
//! draws and the sums are printed, so nothing is optimised away and a broken sampler shows.

use infrasim::dist::{Dist, Gamma, LogNormal, Sample, Uniform, Weibull};
use infrasim::engine::{Rng, StreamId};
use std::hint::black_box;
use std::time::Instant;

fn normal_box_muller(rng: &mut Rng) -> f64 {
    let u1 = rng.uniform_open0();
    let u2 = rng.uniform();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn gamma_mt(shape: f64, rng: &mut Rng) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal_box_muller(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.uniform_open0();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// The previous hand-written sampler for each family, on the same parameters as `after`.
fn before(family: &str, rng: &mut Rng) -> f64 {
    match family {
        "exponential" => -0.01 * rng.uniform_open0().ln(),
        "uniform" => 0.005 + 0.01 * rng.uniform(),
        "lognormal" => {
            let s2 = (1.0f64 + 0.25).ln();
            ((0.01f64).ln() - s2 / 2.0 + s2.sqrt() * normal_box_muller(rng)).exp()
        }
        "gamma" => gamma_mt(4.0, rng) * 0.0025,
        "weibull" => 0.01 * (-rng.uniform_open0().ln()).powf(1.0 / 1.5),
        _ => unreachable!(),
    }
}

fn after(family: &str) -> Dist {
    match family {
        "exponential" => Dist::exp(0.01).unwrap(),
        "uniform" => Dist::Uniform(Uniform::new(0.005, 0.015).unwrap()),
        "lognormal" => Dist::LogNormal(LogNormal::new(0.01, 0.5).unwrap()),
        "gamma" => Dist::Gamma(Gamma::new(4.0, 0.0025).unwrap()),
        "weibull" => Dist::Weibull(Weibull::new(1.5, 0.01).unwrap()),
        _ => unreachable!(),
    }
}

fn time(n: usize, mut draw: impl FnMut() -> f64) -> (f64, f64) {
    let t = Instant::now();
    let mut sum = 0.0;
    for _ in 0..n {
        sum += black_box(draw());
    }
    (t.elapsed().as_secs_f64() * 1e9 / n as f64, sum / n as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("QUICK").is_some();
    let n = if quick { 20_000 } else { 5_000_000 };
    println!("ns per draw, median of 5 interleaved runs of {n} draws:");
    for family in ["exponential", "uniform", "lognormal", "gamma", "weibull"] {
        let d = after(family);
        let (mut b, mut a) = (vec![], vec![]);
        let (mut bm, mut am) = (0.0, 0.0);
        for rep in 0..5 {
            let mut rng = Rng::new(StreamId::new(1, "sampling", rep));
            let (ns, m) = time(n, || before(family, &mut rng));
            b.push(ns);
            bm = m;
            let mut rng = Rng::new(StreamId::new(1, "sampling", rep));
            let (ns, m) = time(n, || d.sample(&mut rng));
            a.push(ns);
            am = m;
        }
        let (b, a) = (median(b), median(a));
        println!(
            "{family:<12} before {b:>6.2}  rand_distr {a:>6.2}  after/before {:.2}x   \
             (sample means {:.5} and {:.5}, exact {:.5})",
            a / b,
            bm,
            am,
            d.mean()
        );
    }
}
