//! Which client address an open-loop request comes from, when clients are not alike
//! (`workload.client_popularity`, `workload.nat_share`).
//!
//! Uniform addresses are what `balance source` is kindest to: with thousands of clients every
//! server gets close to its share. Real traffic has heavy hitters: a few addresses send much
//! of it (Zipf's law over client activity; Adamic & Huberman, "Zipf's law and the Internet",
//! Glottometrics 3, 2002), and a NAT or a corporate proxy puts a whole office behind one
//! address. Source hashing then sends all of a heavy address's requests to one server: HAProxy's
//! configuration manual says `balance source` hashes the address "divided by the total weight
//! of the running servers" so that "the same client IP address will always reach the same
//! server" (configuration.txt, `balance`, 2.6), and documents `hash-balance-factor` because
//! "some hash buckets receive many more requests than others" (configuration.txt,
//! `hash-balance-factor`). That is the known imbalance modelled here (domain.md §1.1).
//!
//! The model: with probability `nat_share` a request comes from the NAT, address 0 (10.0.0.1);
//! otherwise from one of the other addresses (1 .. `clients` − 1, or all of them without a NAT),
//! uniformly, or with probability ∝ rank^-s under `zipf(s)` (rank 1 is the lowest address). Zipf
//! ranks are drawn by `rand_distr::Zipf` (rejection sampling, exact, O(1) memory whatever the
//! population). The draws come from their own stream, `clients`, so the `work` stream keeps
//! every other draw of a request (its class and work) where the uniform address would have
//! left it: a run with heavy hitters sees the same requests from different addresses.

use crate::engine::Rng;
use rand_distr::{Distribution, Zipf};

/// How client addresses are weighted (`workload.client_popularity`, `workload.nat_share`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PopularityConfig {
    /// Zipf exponent s over the (non-NAT) addresses by rank; None: uniform.
    pub zipf: Option<f64>,
    /// Share of all open-loop requests sent by the NAT (address index 0), in [0, 1].
    pub nat_share: f64,
}

/// The sampler of one run.
#[derive(Clone, Debug)]
pub struct Popularity {
    nat_share: f64,
    /// First address of the non-NAT population and its size.
    first: u32,
    size: u32,
    zipf: Option<Zipf<f64>>,
    s: f64,
}

impl Popularity {
    /// Over `clients` (>= 1) addresses.
    pub fn new(cfg: &PopularityConfig, clients: u32) -> Self {
        let clients = clients.max(1);
        let nat = cfg.nat_share > 0.0 && clients > 1;
        let (first, size) = if nat { (1, clients - 1) } else { (0, clients) };
        let s = cfg.zipf.unwrap_or(0.0);
        let zipf = cfg.zipf.and_then(|s| Zipf::new(f64::from(size), s).ok());
        Popularity {
            nat_share: if clients > 1 { cfg.nat_share } else { 0.0 },
            first,
            size,
            zipf,
            s,
        }
    }

    /// The address index (0-based) of the next request.
    #[inline]
    pub fn draw(&self, rng: &mut Rng) -> u32 {
        if self.nat_share > 0.0 && rng.uniform() < self.nat_share {
            return 0;
        }
        let k = match &self.zipf {
            // Ranks 1..=size; the cast truncates a whole number.
            Some(z) => (z.sample(rng.raw()) as u32).clamp(1, self.size) - 1,
            None => rng.below(u64::from(self.size)) as u32,
        };
        self.first + k
    }

    /// The probability of each address index: what the tests compare the draws with. O(clients):
    /// never called by a run.
    pub fn probabilities(&self) -> Vec<f64> {
        let weight = |k: u32| {
            if self.zipf.is_some() {
                f64::from(k).powf(-self.s)
            } else {
                1.0
            }
        };
        let norm: f64 = (1..=self.size).map(weight).sum();
        let rest = 1.0 - self.nat_share;
        let mut p = vec![self.nat_share; self.first as usize];
        p.extend((1..=self.size).map(|k| rest * weight(k) / norm));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamId;

    #[test]
    fn probabilities_sum_to_one() {
        for (zipf, nat) in [(None, 0.0), (Some(1.1), 0.0), (Some(0.8), 0.3), (None, 0.5)] {
            let p = Popularity::new(
                &PopularityConfig {
                    zipf,
                    nat_share: nat,
                },
                500,
            );
            let probs = p.probabilities();
            assert_eq!(probs.len(), 500);
            let total: f64 = probs.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{zipf:?} {nat}: {total}");
            assert!(probs[0] >= nat);
        }
    }

    /// The draws follow the probabilities: a chi-square over the 20 most popular addresses
    /// and the rest, at the 0.1% level (critical value of 20 degrees of freedom: 45.3).
    #[test]
    fn draws_follow_the_probabilities() {
        let p = Popularity::new(
            &PopularityConfig {
                zipf: Some(1.1),
                nat_share: 0.2,
            },
            1000,
        );
        let mut rng = Rng::new(StreamId::new(3, "clients", 0));
        let n = 200_000;
        let mut counts = [0u64; 21];
        for _ in 0..n {
            let i = p.draw(&mut rng) as usize;
            counts[i.min(20)] += 1;
        }
        let probs = p.probabilities();
        let mut chi2 = 0.0;
        for (i, &c) in counts.iter().enumerate() {
            let prob = if i < 20 {
                probs[i]
            } else {
                probs[20..].iter().sum()
            };
            let e = prob * n as f64;
            chi2 += (c as f64 - e).powi(2) / e;
        }
        assert!(chi2 < 45.3, "chi-square {chi2}");
    }
}
