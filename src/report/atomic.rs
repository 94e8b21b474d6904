//! Crash-safe writes: temporary file + rename, and whole-folder replacement.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through `path.tmp-<pid>` and a rename, so readers see either the
/// old file or the complete new one.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = sibling(path, "tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Builds a new version of folder `dir` aside with `build`, then swaps it in: the old
/// content is moved away and deleted only after the new one is in place. On error the old
/// folder is left untouched and the partial new one removed.
pub fn replace_dir(dir: &Path, build: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let staging = sibling(dir, "new");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)?;
    if let Err(e) = build(&staging) {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = sibling(dir, "old");
    let _ = fs::remove_dir_all(&old);
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old)?;
    }
    if let Err(e) = fs::rename(&staging, dir) {
        if had_old {
            let _ = fs::rename(&old, dir);
        }
        return Err(e);
    }
    if had_old {
        let _ = fs::remove_dir_all(&old);
    }
    Ok(())
}

fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_dir_swaps_whole_and_keeps_old_on_error() {
        let base = std::env::temp_dir().join(format!("infrasim-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let dir = base.join("run");
        replace_dir(&dir, |t| write_file(&t.join("a.txt"), b"1")).unwrap();
        replace_dir(&dir, |t| write_file(&t.join("b.txt"), b"2")).unwrap();
        assert!(
            !dir.join("a.txt").exists(),
            "old files must not mix with new ones"
        );
        assert_eq!(fs::read(dir.join("b.txt")).unwrap(), b"2");
        let err = replace_dir(&dir, |_| Err(io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(fs::read(dir.join("b.txt")).unwrap(), b"2");
        assert_eq!(
            fs::read_dir(&base).unwrap().count(),
            1,
            "no staging left behind"
        );
        fs::remove_dir_all(&base).unwrap();
    }
}
