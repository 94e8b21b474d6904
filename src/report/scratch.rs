//! Scratch files of a study whose rows are not held in memory (issue 13): `runs.csv` as the
//! runs finish, `outages.csv` as the summary reads them back, before both are copied into the
//! output folder.
//!
//! They live in the study's journal folder (`<out>.partial/`, this tool's own, removed with
//! the journal once the results are in place), or, where a study has no such folder (`--output
//! none`, `simulate merge`), in an unnamed file of the system's temporary folder: created there
//! and unlinked at once, so nothing is left behind even if the process is killed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A new, empty scratch file `name` for reading and writing: in `dir`, or unnamed.
pub fn create(dir: Option<&Path>, name: &str) -> io::Result<File> {
    let open = |p: &Path, new: bool| {
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        if new {
            o.create_new(true);
        } else {
            o.create(true).truncate(true);
        }
        o.open(p)
    };
    if let Some(dir) = dir {
        return open(&dir.join(name), false);
    }
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        ".infrasim-{}-{}-{name}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let f = open(&path, true)?;
    fs::remove_file(&path)?;
    Ok(f)
}

/// Copies the whole of `from` to a new file `to`, synced (`to` is in a staging folder that is
/// swapped in whole: see `atomic::OutDir::write`).
pub fn copy_to(from: &mut File, to: &Path) -> io::Result<()> {
    from.seek(SeekFrom::Start(0))?;
    let mut f = File::create(to)?;
    io::copy(from, &mut f)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn an_unnamed_file_is_read_back_and_leaves_nothing() {
        let mut f = create(None, "runs.csv").unwrap();
        let ours = format!(".infrasim-{}-", std::process::id());
        let left = fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&ours));
        assert!(!left, "the unnamed file is unlinked at once");
        f.write_all(b"rep\n1\n").unwrap();
        let dir = std::env::temp_dir().join(format!("infrasim-scratch-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        copy_to(&mut f, &dir.join("runs.csv")).unwrap();
        let mut back = String::new();
        File::open(dir.join("runs.csv"))
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, "rep\n1\n");
        // In a folder: replaced, not appended to.
        let mut g = create(Some(&dir), "runs.csv").unwrap();
        g.write_all(b"x\n").unwrap();
        assert_eq!(fs::read(dir.join("runs.csv")).unwrap(), b"x\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
