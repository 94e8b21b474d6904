//! `[lb] persistence` and `persist`: session persistence at HAProxy (`model/lb/stickiness.rs`).

use super::*;
use crate::model::lb::stickiness::{PersistKind, PersistenceConfig};

impl Builder<'_> {
    /// `[lb] persistence` and `persist` (`model/lb/stickiness.rs`).
    pub(super) fn persistence(
        &mut self,
        key: &KeyPath,
        kind: Option<&str>,
        persist: Option<bool>,
    ) -> Option<PersistenceConfig> {
        let options = [
            ("none", None),
            ("cookie", Some(PersistKind::Cookie)),
            ("source", Some(PersistKind::Source)),
        ];
        let kind = self.choice(&key.key("persistence"), kind, &options, None);
        if kind.is_none() && persist == Some(true) {
            self.problem(
                &key.key("persist"),
                "`option persist` needs a persistence to force: set persistence = \"cookie\" or \
                 \"source\"",
            );
        }
        kind.map(|kind| PersistenceConfig {
            kind,
            persist: persist.unwrap_or(false),
        })
    }
}
