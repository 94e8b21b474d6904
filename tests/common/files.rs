//! Small helpers on folders for the tests that check what `simulate` writes. Included by
//! `#[path]` (`mod files;`), not through `common/mod.rs`, so a test that only needs these does not
//! build the queueing helpers.

use std::fs;
use std::path::Path;

/// Names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
