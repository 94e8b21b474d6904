//! Exact nearest-rank quantiles of a stream of values too long to hold (the outage durations
//! of a million-run Monte Carlo study), in bounded memory, by reading the stream several times.
//!
//! The values are ordered as `f64::total_cmp` orders them, through an order-preserving map onto
//! `u64` keys. The first pass counts the values per top 16 bits of their key; the bucket holding
//! the wanted rank is then either small enough to be collected whole in the next pass (and
//! sorted), or refined by the next 16 bits in the next pass. Four refinements resolve all 64
//! bits, so at most four passes give the exact value: the same one a sort of every value gives,
//! whatever the stream's length. Memory: one 65,536-bucket histogram per wanted rank, or at most
//! [`COLLECT`] values.
//!
//! What it deliberately does not do: read the stream. The caller feeds each pass (so a pass can
//! also serve other accumulations, such as a mean).

/// Bits resolved per pass.
const BITS: u32 = 16;
const BUCKETS: usize = 1 << BITS;

/// Most values collected to be sorted in one pass (per wanted rank; 8 bytes each).
pub const COLLECT: u64 = 1 << 17;

/// The `u64` key of `x`: keys compare as `f64::total_cmp` compares the values.
pub fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The value of key `k` (inverse of [`key`]).
pub fn value(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// The 0-based index of the nearest-rank `p` quantile of `n` sorted values (n >= 1): the
/// smallest value with at least `p * n` values at or below it.
pub fn index(p: f64, n: u64) -> u64 {
    ((p * n as f64).ceil() as u64).clamp(1, n) - 1
}

/// The first pass: how many values fall in each bucket of the top 16 bits of their key.
pub struct FirstPass {
    counts: Vec<u64>,
    n: u64,
    max: Option<u64>,
}

impl Default for FirstPass {
    fn default() -> Self {
        FirstPass {
            counts: vec![0; BUCKETS],
            n: 0,
            max: None,
        }
    }
}

impl FirstPass {
    pub fn add(&mut self, x: f64) {
        let k = key(x);
        self.counts[(k >> (64 - BITS)) as usize] += 1;
        self.n += 1;
        self.max = Some(self.max.map_or(k, |m| m.max(k)));
    }

    /// Values seen.
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The largest value seen (`total_cmp` order).
    pub fn max(&self) -> Option<f64> {
        self.max.map(value)
    }
}

/// Where the search for one rank stands.
enum Target {
    /// Counting, per next 16 bits, the values whose top `bits` bits of key are `prefix`.
    Count {
        prefix: u64,
        bits: u32,
        rank: u64,
        counts: Vec<u64>,
    },
    /// Collecting the values whose top `bits` bits of key are `prefix`.
    Collect {
        prefix: u64,
        bits: u32,
        rank: u64,
        values: Vec<f64>,
    },
    Found(f64),
}

/// The values at given ranks, found by further passes over the same stream.
pub struct Ranks {
    targets: Vec<Target>,
}

/// Whether the top `bits` bits of `k` are `prefix`.
fn under(k: u64, prefix: u64, bits: u32) -> bool {
    bits == 0 || k >> (64 - bits) == prefix
}

/// The next step once the values under (`prefix`, `bits`) are counted per next 16 bits.
fn narrow(prefix: u64, bits: u32, rank: u64, counts: &[u64]) -> Target {
    let mut rank = rank;
    let mut bucket = 0;
    for (b, &c) in counts.iter().enumerate() {
        if rank < c {
            bucket = b;
            break;
        }
        rank -= c;
    }
    let (prefix, bits) = ((prefix << BITS) | bucket as u64, bits + BITS);
    if bits == 64 {
        Target::Found(value(prefix))
    } else if counts[bucket] <= COLLECT {
        Target::Collect {
            prefix,
            bits,
            rank,
            values: Vec::with_capacity(counts[bucket] as usize),
        }
    } else {
        Target::Count {
            prefix,
            bits,
            rank,
            counts: vec![0; BUCKETS],
        }
    }
}

impl Ranks {
    /// The search for 0-based `ranks` (each below `first.len()`) after the first pass.
    pub fn new(first: &FirstPass, ranks: &[u64]) -> Ranks {
        Ranks {
            targets: ranks
                .iter()
                .map(|&r| narrow(0, 0, r, &first.counts))
                .collect(),
        }
    }

    /// Whether another pass is needed.
    pub fn pending(&self) -> bool {
        self.targets.iter().any(|t| !matches!(t, Target::Found(_)))
    }

    /// One value of the current pass.
    pub fn add(&mut self, x: f64) {
        let k = key(x);
        for t in &mut self.targets {
            match t {
                Target::Count {
                    prefix,
                    bits,
                    counts,
                    ..
                } if under(k, *prefix, *bits) => {
                    counts[((k << *bits) >> (64 - BITS)) as usize] += 1;
                }
                Target::Collect {
                    prefix,
                    bits,
                    values,
                    ..
                } if under(k, *prefix, *bits) => values.push(x),
                _ => {}
            }
        }
    }

    /// Ends a pass: narrows each search, or finds its value.
    pub fn end_pass(&mut self) {
        for t in &mut self.targets {
            let next = match t {
                Target::Count {
                    prefix,
                    bits,
                    rank,
                    counts,
                } => narrow(*prefix, *bits, *rank, counts),
                Target::Collect { rank, values, .. } => {
                    values.sort_by(|a, b| a.total_cmp(b));
                    // The bucket was counted on the same stream: the rank is inside it.
                    Target::Found(values.get(*rank as usize).copied().unwrap_or(f64::NAN))
                }
                Target::Found(x) => Target::Found(*x),
            };
            *t = next;
        }
    }

    /// The values found, in the order of the ranks asked for (NaN for one still pending).
    pub fn values(&self) -> Vec<f64> {
        self.targets
            .iter()
            .map(|t| match t {
                Target::Found(x) => *x,
                _ => f64::NAN,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the passes over `xs` and returns the values at `ps`, with the passes taken.
    fn quantiles(xs: &[f64], ps: &[f64]) -> (Vec<f64>, usize) {
        let mut first = FirstPass::default();
        xs.iter().for_each(|&x| first.add(x));
        let ranks: Vec<u64> = ps.iter().map(|&p| index(p, first.len())).collect();
        let mut r = Ranks::new(&first, &ranks);
        let mut passes = 1;
        while r.pending() {
            xs.iter().for_each(|&x| r.add(x));
            r.end_pass();
            passes += 1;
            assert!(passes <= 4, "more than four passes");
        }
        (r.values(), passes)
    }

    fn sorted_quantiles(xs: &[f64], ps: &[f64]) -> Vec<f64> {
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        ps.iter()
            .map(|&p| s[index(p, s.len() as u64) as usize])
            .collect()
    }

    #[test]
    fn keys_keep_the_total_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -0.0,
            0.0,
            1e-300,
            1.0,
            2.5,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} vs {}", w[0], w[1]);
            assert_eq!(value(key(w[0])).to_bits(), w[0].to_bits());
        }
    }

    #[test]
    fn the_index_is_the_sorted_one() {
        // As montecarlo::summarise took it: ceil(p n), at least the first, 0-based.
        assert_eq!(index(0.5, 1), 0);
        assert_eq!(index(0.5, 4), 1);
        assert_eq!(index(0.99, 100), 98);
        assert_eq!(index(0.99, 101), 99);
        assert_eq!(index(0.0, 7), 0);
    }

    #[test]
    fn equals_a_full_sort_on_spread_values() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let xs: Vec<f64> = (0..20_000)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 * 1e5
            })
            .collect();
        let ps = [0.5, 0.9, 0.99, 1.0];
        let (got, passes) = quantiles(&xs, &ps);
        assert_eq!(got, sorted_quantiles(&xs, &ps));
        assert_eq!(passes, 2, "a small stream is collected in the second pass");
    }

    #[test]
    fn refines_a_crowded_bucket_until_it_is_exact() {
        // 300,000 values within one 16-bit bucket of keys (more than COLLECT): the search
        // refines, and still returns exactly what a sort returns.
        let xs: Vec<f64> = (0..300_000u64)
            .map(|i| 1000.0 + ((i * 7919) % 300_000) as f64 * 1e-9)
            .collect();
        let ps = [0.5, 0.9, 0.99];
        let (got, passes) = quantiles(&xs, &ps);
        assert_eq!(got, sorted_quantiles(&xs, &ps));
        assert!(passes >= 3, "took {passes} passes");
        // Every value the same: resolved bit by bit to the last.
        let same = vec![3600.0; 200_000];
        let (got, passes) = quantiles(&same, &[0.5]);
        assert_eq!(got, vec![3600.0]);
        assert_eq!(passes, 4);
    }

    #[test]
    fn first_pass_counts_and_max() {
        let mut f = FirstPass::default();
        assert!(f.is_empty() && f.max().is_none());
        for x in [3.0, -1.0, 7.5, 0.0] {
            f.add(x);
        }
        assert_eq!((f.len(), f.max()), (4, Some(7.5)));
    }
}
