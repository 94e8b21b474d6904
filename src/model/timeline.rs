//! The run's timeline as the run makes it: the row type, where rows go, and the bounded summary
//! the charts draw.
//!
//! A timeline row holds one cell per server and per database node, so keeping every row costs
//! rows x servers (1,000 servers at a 10 ms interval: gigabytes). The model therefore keeps
//! none: each row is handed, as it is made, to a [`TimelineSink`] the caller provides (the core
//! does no I/O; the CLI's sink writes `timeline.csv` into its staging folder, a `Vec` collects
//! them for tests and the library API, [`NoRows`] drops them for studies), and folded into a
//! [`TimelineChart`], whose size does not grow with the run: at most [`MAX_BUCKETS`] buckets of
//! consecutive rows, and a bounded distribution of the sampled replication lag.
//!
//! What this module does not do: draw (`report::charts::timeline`, `lag`) or write files.

use super::results::TimelineColumns;

/// One row of the timeline: what happened during (t - interval, t].
#[derive(Clone, Debug, Default)]
pub struct TimelineRow {
    pub t: f64,
    pub arrivals: u64,
    pub completed: u64,
    pub failed: u64,
    /// Failures in the interval, indexed like [`Cause::reported`](super::stack::Cause::reported).
    pub errors: Vec<u64>,
    /// Latency quantiles of requests completed in the interval (seconds; 0 when none).
    pub p50: f64,
    pub p99: f64,
    /// Per server: "up", "down-undetected" or "down-detected".
    pub servers: Vec<&'static str>,
    /// Per DB node: true replication lag in seconds (0 for the primary, NaN when down).
    pub lag: Vec<f64>,
    pub primary: String,
    /// The LB instance taking new traffic ("none" when none).
    pub lb: String,
}

/// Where the rows of a run go, one at a time, in time order, as the run makes them. The row
/// passed is reused for the next one: a sink that keeps rows clones them.
pub trait TimelineSink {
    /// Called once, before the first row, with the names behind the per-component columns.
    fn columns(&mut self, _columns: &TimelineColumns) {}
    fn row(&mut self, row: &TimelineRow);
}

/// Keeps every row (tests and the library API: memory grows as rows x servers).
impl TimelineSink for Vec<TimelineRow> {
    fn row(&mut self, row: &TimelineRow) {
        self.push(row.clone());
    }
}

/// Drops every row: runs of a study, whose timelines nobody reads.
pub struct NoRows;

impl TimelineSink for NoRows {
    fn row(&mut self, _row: &TimelineRow) {}
}

/// Most buckets the charts keep; a longer run merges consecutive rows into each.
pub const MAX_BUCKETS: usize = 1000;
/// Lag samples kept exactly, over all DB nodes together (each node gets its share, at least
/// [`MIN_EXACT_LAG`]); a node with more moves to a [`LagHistogram`]. 65,536 samples are 512 KB.
const EXACT_LAG_TOTAL: usize = 1 << 16;
const MIN_EXACT_LAG: usize = 256;

/// Consecutive timeline rows merged: counts summed, latency quantiles and lag taken at their
/// highest in the bucket, so a spike of one interval stays visible however long the run.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// End of the bucket's last interval, seconds.
    pub t: f64,
    /// Length in seconds (from the previous bucket's end).
    pub dt: f64,
    /// The previous bucket's end (0 for the first), seconds.
    start: f64,
    pub arrivals: u64,
    pub completed: u64,
    pub failed: u64,
    /// Per cause, like the rows' `errors`.
    pub errors: Vec<u64>,
    pub p50: f64,
    pub p99: f64,
    /// Per DB node, seconds, the highest while the node was a replica; NaN when it was down or
    /// the primary throughout.
    pub lag: Vec<f64>,
}

impl Bucket {
    /// Adds the next bucket (or row) to this one.
    fn absorb(&mut self, b: &Bucket) {
        self.t = b.t;
        // One subtraction, as the charts always did: summing the rows' lengths would round.
        self.dt = (self.t - self.start).max(0.0);
        self.arrivals += b.arrivals;
        self.completed += b.completed;
        self.failed += b.failed;
        if self.errors.len() < b.errors.len() {
            self.errors.resize(b.errors.len(), 0);
        }
        for (k, e) in b.errors.iter().enumerate() {
            self.errors[k] += e;
        }
        self.p50 = self.p50.max(b.p50);
        self.p99 = self.p99.max(b.p99);
        if self.lag.len() < b.lag.len() {
            self.lag.resize(b.lag.len(), f64::NAN);
        }
        for (n, &l) in b.lag.iter().enumerate() {
            if !l.is_nan() {
                self.lag[n] = if self.lag[n].is_nan() {
                    l
                } else {
                    self.lag[n].max(l)
                };
            }
        }
    }
}

/// What the charts need of a timeline, in memory bounded whatever the run's length: at most
/// [`MAX_BUCKETS`] buckets, and per DB node whether it ever lagged, its highest lag and the
/// distribution of its lag samples.
///
/// The number of rows a run makes is known when it starts (`duration / interval`), so each
/// bucket takes `ceil(rows / MAX_BUCKETS)` rows, the grouping the charts always used: a run's
/// charts are the same whether its rows are kept or streamed. Should more rows come than
/// announced, adjacent buckets are merged in pairs (each then covers twice as many rows).
#[derive(Clone, Debug, Default)]
pub struct TimelineChart {
    /// Rows per bucket.
    per: u64,
    /// Rows in the last bucket.
    in_last: u64,
    rows: u64,
    last_t: f64,
    buckets: Vec<Bucket>,
    /// Per DB node: whether a sampled lag was ever positive.
    lagged: Vec<bool>,
    /// Per DB node: its lag samples while a replica and up.
    lag: Vec<LagSamples>,
}

impl TimelineChart {
    /// For a run announcing `rows` rows, with `nodes` DB nodes.
    pub fn new(rows: u64, nodes: usize) -> Self {
        let exact = (EXACT_LAG_TOTAL / nodes.max(1)).max(MIN_EXACT_LAG);
        TimelineChart {
            per: rows.div_ceil(MAX_BUCKETS as u64).max(1),
            in_last: 0,
            rows: 0,
            last_t: 0.0,
            buckets: Vec::new(),
            lagged: vec![false; nodes],
            lag: (0..nodes).map(|_| LagSamples::new(exact)).collect(),
        }
    }

    /// The summary of `rows` (DB nodes named `db_nodes`, the primary of each row named by its
    /// `primary`), as a run streaming them would have made it.
    pub fn of_rows(rows: &[TimelineRow], db_nodes: &[String]) -> Self {
        let mut c = TimelineChart::new(rows.len() as u64, db_nodes.len());
        for r in rows {
            c.push(r, db_nodes.iter().position(|n| n == &r.primary));
        }
        c
    }

    /// Adds the next row; `primary` is the DB node taking writes then (its lag, 0 by
    /// definition, is left out, like a node down).
    pub fn push(&mut self, row: &TimelineRow, primary: Option<usize>) {
        let nodes = row.lag.len();
        if self.lagged.len() < nodes {
            self.lagged.resize(nodes, false);
            let exact = (EXACT_LAG_TOTAL / nodes).max(MIN_EXACT_LAG);
            self.lag.resize_with(nodes, || LagSamples::new(exact));
        }
        let mut lag = vec![f64::NAN; nodes];
        for (n, &l) in row.lag.iter().enumerate() {
            if l > 0.0 {
                self.lagged[n] = true;
            }
            if l.is_finite() && primary != Some(n) {
                lag[n] = l;
                self.lag[n].push(l);
            }
        }
        let b = Bucket {
            t: row.t,
            dt: (row.t - self.last_t).max(0.0),
            start: self.last_t,
            arrivals: row.arrivals,
            completed: row.completed,
            failed: row.failed,
            errors: row.errors.clone(),
            p50: row.p50,
            p99: row.p99,
            lag,
        };
        self.rows += 1;
        self.last_t = row.t;
        match self.buckets.last_mut() {
            Some(last) if self.in_last < self.per => {
                last.absorb(&b);
                self.in_last += 1;
            }
            _ => {
                if self.buckets.len() == MAX_BUCKETS {
                    self.halve();
                }
                self.buckets.push(b);
                self.in_last = 1;
            }
        }
    }

    /// Merges adjacent buckets in pairs: each then covers twice the rows.
    fn halve(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.absorb(&b);
            }
            self.buckets.push(a);
        }
        self.per *= 2;
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Time of the last row, seconds (0 without rows).
    pub fn last_t(&self) -> f64 {
        self.last_t
    }

    /// The buckets, in time order (at most [`MAX_BUCKETS`]).
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Whether DB node `n` ever had a positive sampled lag.
    pub fn lagged(&self, n: usize) -> bool {
        self.lagged.get(n).copied().unwrap_or(false)
    }

    /// The highest lag sampled on node `n` while a replica, seconds (0 without samples).
    pub fn lag_max(&self, n: usize) -> f64 {
        self.lag.get(n).map_or(0.0, |s| s.max)
    }

    /// The empirical CDF of node `n`'s lag samples: (lag in seconds, share of samples at or
    /// below it), at most `points` + 1 points.
    pub fn lag_cdf(&self, n: usize, points: usize) -> Vec<(f64, f64)> {
        self.lag.get(n).map_or(vec![], |s| s.cdf(points))
    }

    /// Bytes held, roughly (for the tests that keep it bounded).
    pub fn heap_bytes(&self) -> usize {
        self.buckets
            .iter()
            .map(|b| std::mem::size_of::<Bucket>() + 8 * (b.errors.len() + b.lag.len()))
            .sum::<usize>()
            + self.lag.iter().map(LagSamples::heap_bytes).sum::<usize>()
            + self.lagged.len()
    }
}

/// One node's lag samples: kept exactly up to a cap, then counted in a [`LagHistogram`].
#[derive(Clone, Debug)]
struct LagSamples {
    cap: usize,
    exact: Vec<f64>,
    hist: Option<LagHistogram>,
    max: f64,
}

impl LagSamples {
    fn new(cap: usize) -> Self {
        LagSamples {
            cap,
            exact: Vec::new(),
            hist: None,
            max: 0.0,
        }
    }

    fn push(&mut self, l: f64) {
        self.max = self.max.max(l);
        if let Some(h) = &mut self.hist {
            h.record(l);
            return;
        }
        self.exact.push(l);
        if self.exact.len() > self.cap {
            let mut h = LagHistogram::default();
            self.exact.iter().for_each(|&x| h.record(x));
            self.exact = Vec::new();
            self.hist = Some(h);
        }
    }

    /// Sorted samples at `ceil(n / points)` steps plus the largest (exact), or the histogram's
    /// steps (each at its upper edge, the largest at the exact maximum).
    fn cdf(&self, points: usize) -> Vec<(f64, f64)> {
        if let Some(h) = &self.hist {
            return h.cdf(points, self.max);
        }
        let mut xs = self.exact.clone();
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        if n == 0 {
            return vec![];
        }
        let step = n.div_ceil(points.max(1)).max(1);
        let mut out: Vec<(f64, f64)> = (0..n)
            .step_by(step)
            .map(|i| (xs[i], (i + 1) as f64 / n as f64))
            .collect();
        out.push((xs[n - 1], 1.0));
        out
    }

    fn heap_bytes(&self) -> usize {
        8 * self.exact.capacity() + self.hist.as_ref().map_or(0, |_| 8 * (HIST_BINS + 1))
    }
}

/// Decades the lag histogram covers: 1 ns to 10^7 s (116 days); values outside are counted in
/// the first or last bin.
const HIST_LO: f64 = -9.0;
const HIST_DECADES: usize = 16;
/// Bins per decade: 64 make each bin 3.7% wide, finer than a pixel of the CDF's log axis.
const HIST_PER_DECADE: usize = 64;
const HIST_BINS: usize = HIST_DECADES * HIST_PER_DECADE;

/// Lag samples counted in log-spaced bins (a zero bin apart: a replica caught up lags 0).
#[derive(Clone, Debug)]
struct LagHistogram {
    zeros: u64,
    bins: Vec<u64>,
    count: u64,
}

impl Default for LagHistogram {
    fn default() -> Self {
        LagHistogram {
            zeros: 0,
            bins: vec![0; HIST_BINS],
            count: 0,
        }
    }
}

impl LagHistogram {
    fn record(&mut self, l: f64) {
        self.count += 1;
        if l <= 0.0 {
            self.zeros += 1;
            return;
        }
        let i = ((l.log10() - HIST_LO) * HIST_PER_DECADE as f64).floor();
        self.bins[(i.max(0.0) as usize).min(HIST_BINS - 1)] += 1;
    }

    fn upper(i: usize) -> f64 {
        10f64.powf(HIST_LO + (i + 1) as f64 / HIST_PER_DECADE as f64)
    }

    /// Cumulative shares at the non-empty bins' upper edges (the last at `max`), merged to at
    /// most `points` + 1 points by keeping one every `ceil(steps / points)`.
    fn cdf(&self, points: usize, max: f64) -> Vec<(f64, f64)> {
        if self.count == 0 {
            return vec![];
        }
        let n = self.count as f64;
        let mut steps: Vec<(f64, f64)> = vec![];
        let mut seen = self.zeros;
        if self.zeros > 0 {
            steps.push((0.0, seen as f64 / n));
        }
        for (i, &c) in self.bins.iter().enumerate() {
            if c > 0 {
                seen += c;
                steps.push((Self::upper(i).min(max), seen as f64 / n));
            }
        }
        let every = steps.len().div_ceil(points.max(1)).max(1);
        let mut out: Vec<(f64, f64)> = steps.iter().copied().step_by(every).collect();
        if let Some(&last) = steps.last() {
            out.push(last);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: f64, completed: u64, p99: f64, lag: &[f64], primary: &str) -> TimelineRow {
        TimelineRow {
            t,
            arrivals: completed,
            completed,
            failed: 0,
            errors: vec![0; 3],
            p50: p99 / 2.0,
            p99,
            servers: vec!["up"],
            lag: lag.to_vec(),
            primary: primary.into(),
            lb: "lb-1".into(),
        }
    }

    fn names() -> Vec<String> {
        vec!["db-1".into(), "db-2".into()]
    }

    #[test]
    fn buckets_group_as_announced_and_keep_spikes() {
        let rows: Vec<TimelineRow> = (1..=2500)
            .map(|i| {
                let p99 = if i == 1234 { 9.0 } else { 0.01 };
                row(i as f64, 10, p99, &[0.0, 0.5], "db-1")
            })
            .collect();
        let c = TimelineChart::of_rows(&rows, &names());
        // ceil(2500 / 1000) = 3 rows a bucket.
        assert_eq!(c.buckets().len(), 834);
        assert_eq!(c.buckets()[0].completed, 30);
        assert_eq!(c.buckets()[0].dt, 3.0);
        assert_eq!(c.buckets().last().unwrap().completed, 10);
        assert_eq!(c.buckets().iter().map(|b| b.completed).sum::<u64>(), 25_000);
        assert_eq!(c.buckets()[411].p99, 9.0, "row 1234 is in bucket 411");
        // db-1 is the primary throughout: no lag; db-2 lags.
        assert!(c.buckets()[0].lag[0].is_nan());
        assert_eq!(c.buckets()[0].lag[1], 0.5);
        assert!(!c.lagged(0) && c.lagged(1));
        assert_eq!(c.rows(), 2500);
        assert_eq!(c.last_t(), 2500.0);
    }

    #[test]
    fn unannounced_rows_halve_the_buckets() {
        // Announced 10 rows, 5000 come: still at most MAX_BUCKETS, every row counted.
        let mut c = TimelineChart::new(10, 2);
        for i in 1..=5000 {
            c.push(&row(i as f64, 1, 0.01, &[0.0, 0.1], "db-1"), Some(0));
        }
        assert!(c.buckets().len() <= MAX_BUCKETS);
        assert!(c.buckets().len() > MAX_BUCKETS / 2);
        assert_eq!(c.buckets().iter().map(|b| b.completed).sum::<u64>(), 5000);
        let dt: f64 = c.buckets().iter().map(|b| b.dt).sum();
        assert_eq!(dt, 5000.0);
    }

    #[test]
    fn memory_stays_bounded_as_rows_grow() {
        let bytes = |n: u64| {
            let mut c = TimelineChart::new(n, 2);
            for i in 1..=n {
                let l = (i % 977) as f64 * 1e-3;
                c.push(&row(i as f64, 1, 0.01, &[0.0, l], "db-1"), Some(0));
            }
            c.heap_bytes()
        };
        let (small, large) = (bytes(100_000), bytes(1_000_000));
        // What must be held: MAX_BUCKETS buckets of 3 causes and 2 nodes, and the exact lag
        // samples or the histogram, whichever is larger.
        let bound = MAX_BUCKETS * (std::mem::size_of::<Bucket>() + 8 * 5)
            + 2 * 8
                * (EXACT_LAG_TOTAL / 2 + 1)
                    .next_power_of_two()
                    .max(HIST_BINS + 1)
            + 2;
        assert!(large <= bound, "{large} > {bound}");
        assert!(large <= small + small / 10, "{small} -> {large}");
    }

    #[test]
    fn lag_cdf_exact_then_binned() {
        let mut s = LagSamples::new(4);
        for x in [3.0, 1.0, 2.0] {
            s.push(x);
        }
        assert_eq!(
            s.cdf(400),
            vec![(1.0, 1.0 / 3.0), (2.0, 2.0 / 3.0), (3.0, 1.0), (3.0, 1.0)]
        );
        for x in [0.0, 4.0, 5.0] {
            s.push(x);
        }
        assert!(s.exact.is_empty() && s.hist.is_some());
        let cdf = s.cdf(400);
        assert_eq!(cdf[0], (0.0, 1.0 / 6.0));
        assert_eq!(*cdf.last().unwrap(), (5.0, 1.0));
        // Each step's value is within one bin (3.7%) above the sample it stands for.
        assert!((cdf[1].0 - 1.0) / 1.0 < 0.037 && cdf[1].0 >= 1.0, "{cdf:?}");
        assert!(cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }
}
