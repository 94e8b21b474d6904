//! Who repairs random failures: `repair_crews` on a `[[random_faults]]` entry. The keys are
//! documented in `docs/scenario.md` (`[[random_faults]]`); the mechanism in `model/repair.rs`.

use super::*;
use crate::model::repair::RepairPolicy;

/// Most technicians one `[[random_faults]]` entry may have: more than the components of any
/// entry (servers and replicas are at most 1024 each), so any real crew size fits.
pub const MAX_CREWS: u32 = 4096;

impl Builder<'_> {
    /// The repair settings of `random_faults[i]` (at `k`).
    pub(super) fn repair_policy(&mut self, k: &KeyPath, rf: &schema::RandomFault) -> RepairPolicy {
        let crews = rf
            .repair_crews
            .map(|n| self.count(&k.key("repair_crews"), Some(n), 1, 1, MAX_CREWS));
        RepairPolicy { crews }
    }
}
