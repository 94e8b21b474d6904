//! `--shard K/N`: run only every N-th job starting at the K-th, so N machines together run
//! exactly the jobs of one unsharded study; `simulate merge` puts them back together.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub k: u32,
    pub n: u32,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let err = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let k: u32 = k.trim().parse().map_err(|_| err())?;
        let n: u32 = n.trim().parse().map_err(|_| err())?;
        if n == 0 || k == 0 || k > n {
            return Err(err());
        }
        Ok(Shard { k, n })
    }

    /// Whether job number `j` (0-based, in study order) belongs to this shard.
    pub fn owns(&self, j: usize) -> bool {
        j % self.n as usize == (self.k - 1) as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_jobs() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { k, n: 3 }).collect();
        for j in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(j)).count(), 1);
        }
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert_eq!(Shard::parse("2/8").unwrap(), Shard { k: 2, n: 8 });
    }
}
