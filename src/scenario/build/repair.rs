//! Who repairs random failures, and when: `repair_crews` and `supervisor` on a
//! `[[random_faults]]` entry, and `[monitoring]`. The keys are documented in `docs/scenario.md`
//! (`[[random_faults]]`, `[monitoring]`); the mechanism in `model/repair.rs`.

use super::*;
use crate::model::repair::{Detection, RepairPolicy};

/// Most technicians one `[[random_faults]]` entry may have: more than the components of any
/// entry (servers and replicas are at most 1024 each), so any real crew size fits.
pub const MAX_CREWS: u32 = 4096;

/// Defaults of `[monitoring]`: Prometheus's and Alertmanager's own (domain.md §6.3, their
/// configuration schemas: `scrape_interval` and `evaluation_interval` 1m, a rule's `for` 0,
/// `group_wait` 30s), the on-call acknowledgement target for user-facing services (domain.md §5:
/// 5 min, SRE book ch. 11, as a mean of an exponential), and, without alerts, a user complaint
/// after 30 min on average: an assumption (no public figure found), to be set per site.
const SCRAPE: &str = "1m";
const EVALUATION: &str = "1m";
const PENDING: &str = "0s";
const NOTIFICATION: &str = "30s";
const ACKNOWLEDGE: &str = "exp(5min)";
const COMPLAINT: &str = "exp(30min)";

impl Builder<'_> {
    /// The repair settings of `random_faults[i]` (at `k`), detected as `[monitoring]` says.
    pub(super) fn repair_policy(
        &mut self,
        k: &KeyPath,
        rf: &schema::RandomFault,
        detection: Option<&Detection>,
    ) -> RepairPolicy {
        let crews = rf
            .repair_crews
            .map(|n| self.count(&k.key("repair_crews"), Some(n), 1, 1, MAX_CREWS));
        let supervised = rf.supervisor.unwrap_or(false);
        RepairPolicy {
            crews,
            detection: detection.filter(|_| !supervised).cloned(),
        }
    }

    /// `[monitoring]`: None without the section (the time to repair is the whole outage).
    pub(super) fn monitoring(&mut self, m: Option<schema::Monitoring>) -> Option<Detection> {
        let m = m?;
        let key = root("monitoring");
        let d = |s: &str| parse_duration(s).unwrap_or(SimTime::ZERO);
        let alerts = m.alerts.unwrap_or(true);
        // Keys of the other mode are mistakes: say so rather than ignore them.
        let unused: &[(&str, bool)] = if alerts {
            &[("complaint", m.complaint.is_some())]
        } else {
            &[
                ("scrape_interval", m.scrape_interval.is_some()),
                ("evaluation_interval", m.evaluation_interval.is_some()),
                ("for", m.pending.is_some()),
                ("notification", m.notification.is_some()),
                ("acknowledge", m.acknowledge.is_some()),
                ("automatic", m.automatic.is_some()),
            ]
        };
        for &(name, set) in unused {
            if set {
                let mode = if alerts { "false" } else { "true" };
                self.problem(&key.key(name), format!("applies only with alerts = {mode}"));
            }
        }
        if !alerts {
            let complaint = self.dist(&key.key("complaint"), m.complaint.as_ref(), COMPLAINT);
            return Some(Detection::Complaint(complaint));
        }
        let automatic = m.automatic.unwrap_or(false);
        if automatic && m.acknowledge.is_some() {
            self.problem(
                &key.key("acknowledge"),
                "applies only with automatic = false (automation acknowledges nothing)",
            );
        }
        let scrape = self.positive_duration(
            &key.key("scrape_interval"),
            m.scrape_interval.as_ref(),
            d(SCRAPE),
        );
        let evaluation = self.positive_duration(
            &key.key("evaluation_interval"),
            m.evaluation_interval.as_ref(),
            d(EVALUATION),
        );
        let pending = self.duration(&key.key("for"), m.pending.as_ref(), d(PENDING));
        let notify = self.duration(
            &key.key("notification"),
            m.notification.as_ref(),
            d(NOTIFICATION),
        );
        let acknowledge = (!automatic)
            .then(|| self.dist(&key.key("acknowledge"), m.acknowledge.as_ref(), ACKNOWLEDGE));
        Some(Detection::Alerts {
            scrape,
            evaluation,
            pending,
            notify,
            acknowledge,
        })
    }
}
