//! The memory tests' measure. Included by `#[path]` (`mod rss;`), not through
//! `common/mod.rs`, so those tests do not build the queueing helpers.

use nix::sys::resource::{UsageWho, getrusage};

/// Peak RSS (KB) of all the children waited for so far: the highest of every child's peak,
/// which starts from this process's own peak at the spawn (a child is a fork of it), so a
/// test that holds much itself reads that, whatever the child does.
pub fn children_peak_kb() -> i64 {
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss()
}
