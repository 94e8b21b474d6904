//! Per request class: the latency of its successful requests and its failures by cause.
//!
//! The arrived / completed / failed counts are `Counters::classes`. A run of one class keeps
//! no histogram of its own (its latency is the run's), so the single-class path costs a
//! length test per completion; with two classes or more, one histogram each.

use super::*;
use crate::model::results::{ClassStats, LatencySummary};
use crate::model::slo;
use std::collections::BTreeMap;

pub(super) struct ClassBreakdown {
    /// One histogram per class when there are two or more, none otherwise.
    latency: Vec<LatencyHistogram>,
    /// Measured failures per class and cause.
    errors: Vec<[u64; Cause::COUNT]>,
}

impl ClassBreakdown {
    pub(super) fn new(classes: usize) -> Self {
        ClassBreakdown {
            // Made one by one (zeroed pages, touched as they fill), not cloned from one.
            latency: if classes > 1 {
                (0..classes).map(|_| LatencyHistogram::new()).collect()
            } else {
                vec![]
            },
            errors: vec![[0; Cause::COUNT]; classes],
        }
    }

    /// A measured request of `class` completed after `t`.
    #[inline(always)]
    pub(super) fn completed(&mut self, class: usize, t: SimTime) {
        if let Some(h) = self.latency.get_mut(class) {
            h.record(t);
        }
    }

    /// A measured request of `class` failed with `cause`.
    #[inline]
    pub(super) fn failed(&mut self, class: usize, cause: Cause) {
        self.errors[class][cause as usize] += 1;
    }
}

impl Stack {
    /// `classes[]` of the results: the mix's classes, then the flood's if there is one.
    pub(super) fn class_report(&self) -> Vec<ClassStats> {
        let cfg = &self.cfg;
        let reported = Cause::reported(cfg);
        cfg.workload
            .mix
            .iter()
            .map(|m| m.name.as_str())
            .chain(self.flood.as_ref().map(|_| "flood"))
            .zip(&self.counts.classes)
            .enumerate()
            .map(
                |(k, (name, &[arrived, completed, failed, good]))| ClassStats {
                    name: name.to_string(),
                    arrived,
                    completed,
                    failed,
                    // None finished: nothing measured (null in JSON), as for the whole run.
                    availability: if completed + failed > 0 {
                        completed as f64 / (completed + failed) as f64
                    } else {
                        f64::NAN
                    },
                    good: cfg.slo.as_ref().map(|_| good),
                    slo_availability: cfg
                        .slo
                        .as_ref()
                        .map(|_| slo::fraction(good, completed + failed)),
                    latency: LatencySummary::from_hist(
                        self.classes.latency.get(k).unwrap_or(&self.latency),
                    ),
                    errors: reported
                        .iter()
                        .map(|&c| (c.key().to_string(), self.classes.errors[k][c as usize]))
                        .collect::<BTreeMap<_, _>>(),
                },
            )
            .collect()
    }
}
