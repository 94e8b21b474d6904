//! The replications a Monte Carlo study (or one shard of it) owns, described rather than
//! listed: `0..runs` filtered by the shard is every `n`-th replication from the `k`-th, so three
//! numbers say it whatever the number of runs (issue 13: a list of a million replications was
//! 8 MB, most of a study's memory).

use super::shard::Shard;

/// Replications `first`, `first + step`, ... below `end`, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reps {
    first: u64,
    step: u64,
    end: u64,
}

impl Reps {
    /// The replications of a study of `runs` runs that `shard` owns (all of them without one):
    /// exactly those `Shard::owns` accepts.
    pub fn owned(runs: u32, shard: Option<Shard>) -> Reps {
        let (first, step) = shard.map_or((0, 1), |s| (u64::from(s.k - 1), u64::from(s.n)));
        Reps {
            first,
            step,
            end: u64::from(runs),
        }
    }

    /// Every replication of a study of `runs` runs.
    pub fn all(runs: u32) -> Reps {
        Reps::owned(runs, None)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        if self.first >= self.end {
            0
        } else {
            ((self.end - self.first).div_ceil(self.step)) as usize
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether replication `rep` is one of them.
    pub fn contains(&self, rep: u64) -> bool {
        rep >= self.first && rep < self.end && (rep - self.first).is_multiple_of(self.step)
    }

    /// The replications, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + Clone + Send + use<> {
        (self.first..self.end).step_by(self.step as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The described replications are the filter over the range that `Shard::owns` defines,
    /// for shards that divide the runs evenly, unevenly, and own none of them.
    #[test]
    fn reps_are_what_the_shard_owns() {
        for runs in [0u32, 1, 2, 7, 8, 100, 1001] {
            let mut shards = vec![None];
            for n in [1u32, 2, 3, 8, 13] {
                shards.extend((1..=n).map(|k| Some(Shard { k, n })));
            }
            for shard in shards {
                let listed: Vec<u64> = (0..u64::from(runs))
                    .filter(|&r| shard.is_none_or(|s| s.owns(r as usize)))
                    .collect();
                let reps = Reps::owned(runs, shard);
                assert_eq!(reps.iter().collect::<Vec<_>>(), listed, "{runs} {shard:?}");
                assert_eq!(reps.len(), listed.len(), "{runs} {shard:?}");
                assert_eq!(reps.is_empty(), listed.is_empty());
                for r in 0..u64::from(runs) + 3 {
                    assert_eq!(
                        reps.contains(r),
                        listed.contains(&r),
                        "{runs} {shard:?} {r}"
                    );
                }
            }
        }
    }

    /// The most runs a study may have are described by three numbers, not listed.
    #[test]
    fn reps_do_not_grow_with_the_runs() {
        assert_eq!(std::mem::size_of::<Reps>(), 3 * 8);
        let max = crate::scenario::study::MAX_RUNS as u32;
        let big = Reps::owned(max, Some(Shard { k: 2, n: 3 }));
        // 1, 4, ..., the last below `max` that is 1 modulo 3.
        let last = (u64::from(max) - 2) / 3 * 3 + 1;
        assert_eq!(big.len() as u64, (last - 1) / 3 + 1);
        assert_eq!(big.iter().next(), Some(1));
        assert_eq!(big.iter().last(), Some(last));
        assert!(big.contains(last) && !big.contains(last + 3) && !big.contains(last + 1));
    }
}
