//! Crash-safe writes, and the rules that keep them away from the user's own files.
//!
//! * A file is written to a temporary sibling and renamed into place ([`write_file`]): readers
//!   see the old file or the complete new one.
//! * An output folder is claimed before any work starts ([`OutDir::claim`]) and only ever
//!   replaced when this tool wrote it: every folder it writes holds a marker file
//!   ([`MARKER`]). A missing path or an empty folder may be written; a folder without the
//!   marker, a file (the scenario itself included), `.`, `..` or `/` is refused. A symbolic link
//!   to a folder is followed: the folder it points to is replaced and the link stays.
//! * The marker lists what the tool wrote in the folder. A marked folder that has gained
//!   anything else since (a scenario copied in to rerun it, notes) is refused too, at the claim
//!   and again at the swap: replacing the folder whole would delete the user's files.
//! * The new folder is built aside (`.NAME.new-PID`, same parent, same file system) and swapped
//!   in with one `renameat2(RENAME_EXCHANGE)`: at every instant the target is the complete old
//!   folder or the complete new one, even under `kill -9` (the old content, now under the
//!   staging name, is deleted afterwards). Where the file system cannot exchange (not Linux, or
//!   a file system without `RENAME_EXCHANGE`) the swap falls back to two renames, and a later
//!   claim restores the old folder if a kill fell between them.
//! * A claim holds an advisory lock (`.NAME.lock` beside the folder, `flock`), so two runs
//!   writing the same folder at once do not interleave: the second is refused at once with the
//!   first one's process id. Staging folders left by killed runs are removed by the next claim.
//!
//! What this module does not do: choose where results go (the CLI does) or decide what goes in
//! a folder (the writers do).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The file that marks a folder as written by this tool, and so replaceable by it.
pub const MARKER: &str = ".infrasim";

/// Writes `bytes` to `path` through `.NAME.tmp-<pid>` and a rename, so readers see either the
/// old file or the complete new one.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    StagedFile::new(path, bytes)?.commit()
}

/// A file written whole beside its place (`.NAME.tmp-<pid>`), put in place by
/// [`StagedFile::commit`], a rename. Outputs that belong together (a fitted scenario and its
/// report folder) are all written before any is put in place, so that a failure writing one
/// leaves every old one as it was; only the renames remain after the first. Dropped without a
/// commit, the temporary file is removed.
#[derive(Debug)]
pub struct StagedFile {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl StagedFile {
    pub fn new(path: &Path, bytes: &[u8]) -> io::Result<StagedFile> {
        let staged = StagedFile {
            tmp: sibling(path, "tmp"),
            path: path.to_path_buf(),
            committed: false,
        };
        let mut f = fs::File::create(&staged.tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(staged)
    }

    /// Renames the file into place.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// What a folder holds: the marker names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The results of a command.
    Results,
    /// The journal of a study in progress (`NAME.partial`).
    Journal,
}

impl Kind {
    fn marker_text(self) -> String {
        let what = match self {
            Kind::Results => "results",
            Kind::Journal => "journal of an unfinished study",
        };
        format!(
            "infrasim {} {what}: this folder was written by simulate, which replaces or removes \
             it whole.\n",
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// Whether `dir` is a folder this tool wrote (it holds the marker).
pub fn is_marked(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Creates the folder `dir` (its parent must exist) with the marker of `kind` in it. The marker
/// is created in place, not renamed into it: a kill at any moment leaves the folder empty or
/// marked, so that the next run can always tell it is the tool's own.
pub fn create_marked(dir: &Path, kind: Kind) -> io::Result<()> {
    fs::create_dir(dir)?;
    let mut f = fs::File::create(dir.join(MARKER))?;
    f.write_all(kind.marker_text().as_bytes())
}

/// The line of a results marker after which the files the tool wrote are listed, one
/// relative path a line (`/`-separated, a folder with a trailing `/`).
const MANIFEST: &str =
    "Written here by simulate (anything else keeps it from replacing this folder):";

/// Longest marker read back: a few KB for the largest study; more is not one the tool wrote.
const MARKER_MAX: u64 = 1 << 20;

/// Everything under `dir` but the marker, as relative paths (`/`-separated, folders with a
/// trailing `/`), sorted. Symbolic links are listed, never followed.
fn entries(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && name == MARKER {
                continue;
            }
            let rel = format!("{prefix}{name}");
            if e.file_type()?.is_dir() {
                out.push(format!("{rel}/"));
                walk(&e.path(), &format!("{rel}/"), out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = vec![];
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// Rewrites the marker of the results folder `dir`, just built, with the list of what it holds
/// (renamed into place: the folder is marked at every instant).
fn write_manifest(dir: &Path) -> io::Result<()> {
    let mut text = Kind::Results.marker_text();
    text.push_str(MANIFEST);
    text.push('\n');
    for e in entries(dir)? {
        text.push_str(&e);
        text.push('\n');
    }
    write_file(&dir.join(MARKER), text.as_bytes())
}

/// What a marked folder holds that the tool did not write there, sorted; empty for a marker
/// without a list (written before the list existed: such a folder is replaced whole, as it
/// always was) or one that cannot be read as the tool writes it.
fn foreign_entries(dir: &Path) -> Vec<String> {
    let mut text = String::new();
    let read =
        fs::File::open(dir.join(MARKER)).and_then(|f| f.take(MARKER_MAX).read_to_string(&mut text));
    if read.is_err() {
        return vec![];
    }
    let Some((_, listed)) = text.split_once(&format!("{MANIFEST}\n")) else {
        return vec![];
    };
    let listed: std::collections::HashSet<&str> = listed.lines().collect();
    match entries(dir) {
        // A foreign folder stands for what it holds (sorted: a folder comes before its
        // contents).
        Ok(found) => found.into_iter().fold(vec![], |mut out: Vec<String>, e| {
            let inside = out
                .last()
                .is_some_and(|f| f.ends_with('/') && e.starts_with(f));
            if !listed.contains(e.as_str()) && !inside {
                out.push(e);
            }
            out
        }),
        // A folder that cannot be listed cannot be checked: treat it as holding something.
        Err(e) => vec![format!("(cannot list it: {e})")],
    }
}

/// The first three of `names` for a message, and how many there are when more.
fn first_names(names: &[String]) -> String {
    let mut out = names[..names.len().min(3)].join(", ");
    if names.len() > 3 {
        out.push_str(&format!(", ... ({} entries)", names.len()));
    }
    out
}

/// The refusal for a marked folder holding `foreign` (not empty).
fn foreign_message(shown: &str, foreign: &[String]) -> String {
    let names = first_names(foreign);
    format!(
        "{shown} holds results simulate wrote, and also {names}, which it did not write: \
         replacing the folder would delete them, so it is left alone. Move them out of \
         {shown}, or give another --out"
    )
}

/// Removes `dir` and everything in it, but only if this tool wrote it (it holds the marker);
/// an empty folder is removed too. Anything else is left alone: returns false. The marker goes
/// last, so that a removal cut short by a kill leaves a folder still known as the tool's own
/// (and removed by the next run).
pub fn remove_marked(dir: &Path) -> bool {
    if !is_marked(dir) {
        return fs::remove_dir(dir).is_ok();
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    for e in entries.flatten() {
        if e.file_name() == MARKER {
            continue;
        }
        let p = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&p),
            _ => fs::remove_file(&p),
        };
        if gone.is_err() {
            return false;
        }
    }
    fs::remove_file(dir.join(MARKER)).is_ok() && fs::remove_dir(dir).is_ok()
}

/// Why an output folder cannot be used. The message says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutError {
    pub message: String,
}

impl std::fmt::Display for OutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OutError {}

fn refuse(message: String) -> OutError {
    OutError { message }
}

/// What the target held when it was claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Previous {
    Nothing,
    EmptyFolder,
    /// Results this tool wrote: they will be replaced.
    Results,
}

/// An output folder, checked and locked: the only way to write one.
#[derive(Debug)]
pub struct OutDir {
    /// The folder written (a symbolic link resolved).
    path: PathBuf,
    parent: PathBuf,
    name: OsString,
    previous: Previous,
    _lock: Lock,
}

impl OutDir {
    /// Checks that `path` may receive results and locks it for this process (until dropped).
    /// Refuses a file, a folder this tool did not write, `.`, `..`, `/` and a folder another
    /// run is writing; removes what killed runs left beside it.
    pub fn claim(path: &Path) -> Result<OutDir, OutError> {
        let shown = path.display().to_string();
        unexpanded_tilde(path, &shown)?;
        let path = normalise(path).ok_or_else(|| {
            refuse(format!(
                "{shown:?} cannot be replaced by a folder of results: give the path of a new \
                 folder (e.g. --out results/run-1)"
            ))
        })?;
        let path = follow_link(&path, &shown)?;
        let previous = inspect(&path, &shown)?;
        let (parent, name) = split(&path);
        if previous == Previous::Nothing {
            fs::create_dir_all(&parent).map_err(|e| {
                refuse(format!(
                    "cannot create the folder {} for {shown}: {e}",
                    parent.display()
                ))
            })?;
        }
        let lock = Lock::take(&parent, &name, &shown)?;
        let mut dir = OutDir {
            path,
            parent,
            name,
            previous,
            _lock: lock,
        };
        dir.clean_leftovers();
        // The path may have changed while we were not holding the lock, or been put back.
        dir.previous = inspect(&dir.path, &shown)?;
        Ok(dir)
    }

    /// The folder that will be written (a symbolic link resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the folder held when claimed.
    pub fn previous(&self) -> Previous {
        self.previous
    }

    /// `NAME.partial`, the journal folder of a study written to this folder.
    pub fn journal_path(&self) -> PathBuf {
        let mut n = self.name.clone();
        n.push(".partial");
        if self.parent == Path::new(".") {
            PathBuf::from(n)
        } else {
            self.parent.join(n)
        }
    }

    /// Builds the new content with `build` in a staging folder, then swaps it in whole. On
    /// error the old folder is untouched and the staging folder removed.
    pub fn write(&self, build: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
        let staging = self.sibling("new", std::process::id());
        if fs::symlink_metadata(&staging).is_ok() {
            fs::remove_dir_all(&staging)?;
        }
        let built = create_marked(&staging, Kind::Results)
            .and_then(|()| build(&staging))
            .and_then(|()| write_manifest(&staging))
            .and_then(|()| sync_dir(&staging));
        if let Err(e) = built {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        let swapped = match fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => move_new(&staging, &self.path),
            Ok(m) if m.is_dir() && is_marked(&self.path) => {
                let foreign = foreign_entries(&self.path);
                if foreign.is_empty() {
                    self.exchange(&staging)
                } else {
                    Err(io::Error::other(format!(
                        "{} (nothing was replaced: it gained them while the run was in progress)",
                        foreign_message(&self.path.display().to_string(), &foreign)
                    )))
                }
            }
            Ok(m) if m.is_dir() && is_empty(&self.path) => self.exchange(&staging),
            _ => Err(io::Error::other(format!(
                "{} changed while the run was in progress (it is no longer a folder simulate \
                 wrote); nothing was replaced",
                self.path.display()
            ))),
        };
        if let Err(e) = swapped {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        sync_dir(&self.parent)
    }

    /// Swaps `staging` and the target; the old content ends under the staging name and is
    /// deleted.
    fn exchange(&self, staging: &Path) -> io::Result<()> {
        match exchange(staging, &self.path) {
            Ok(()) => {
                remove_marked(staging);
                Ok(())
            }
            Err(e) if exchange_unsupported(&e) => {
                // Two renames: a kill between them leaves `.NAME.old-PID` and no target,
                // which the next claim puts back (`clean_leftovers`).
                let old = self.sibling("old", std::process::id());
                fs::rename(&self.path, &old)?;
                if let Err(e) = fs::rename(staging, &self.path) {
                    let _ = fs::rename(&old, &self.path);
                    return Err(e);
                }
                remove_marked(&old);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn sibling(&self, tag: &str, pid: u32) -> PathBuf {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(format!(".{tag}-{pid}"));
        self.parent.join(n)
    }

    /// Removes the staging folders of runs that died (`.NAME.new-PID`), and puts back an old
    /// folder a kill left aside (`.NAME.old-PID` with no target). Only folders this tool
    /// marked, or empty ones, are touched, and never those of a live process.
    fn clean_leftovers(&self) {
        let Ok(entries) = fs::read_dir(&self.parent) else {
            return;
        };
        let mut prefix = OsString::from(".");
        prefix.push(&self.name);
        let prefix = prefix.to_string_lossy().into_owned();
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = file.strip_prefix(&prefix) else {
                continue;
            };
            let (tag, pid) = match rest.strip_prefix(".new-") {
                Some(p) => ("new", p),
                None => match rest.strip_prefix(".old-") {
                    Some(p) => ("old", p),
                    None => continue,
                },
            };
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            if pid == std::process::id() || process_alive(pid) {
                continue;
            }
            let p = e.path();
            if !fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            if tag == "old"
                && is_marked(&p)
                && fs::symlink_metadata(&self.path).is_err()
                && fs::rename(&p, &self.path).is_ok()
            {
                continue;
            }
            remove_marked(&p);
        }
    }
}

/// The path with `.` components dropped; None when it names no folder that could be replaced
/// (`.`, `..`, `/`, empty, or ending in `..`).
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    match out.components().next_back() {
        Some(Component::Normal(_)) => Some(out),
        _ => None,
    }
}

/// Refuses a path whose first part begins with `~`: only the shell expands it, and not after
/// `=` (`--out=~/runs`) nor in quotes, so it reaches simulate as is and would make a folder
/// named `~` in the current folder, reported as "written to ~/runs/" as if it were the home
/// folder. `./~runs` still names such a folder on purpose.
fn unexpanded_tilde(path: &Path, shown: &str) -> Result<(), OutError> {
    match path.components().next() {
        Some(Component::Normal(first)) if first.as_encoded_bytes().starts_with(b"~") => {
            Err(refuse(format!(
                "{shown} begins with `~`, which only the shell expands (not after `=`, as in \
                 --out=~/runs, nor in quotes): simulate would make a folder named `~` here. \
                 Write $HOME/... (or `--out ~/runs`, with a space), or ./{shown} if a folder \
                 of that name is meant"
            )))
        }
        _ => Ok(()),
    }
}

/// A symbolic link is followed to the folder it names (which must exist).
fn follow_link(path: &Path, shown: &str) -> Result<PathBuf, OutError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let to = fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            let real = fs::canonicalize(path).map_err(|_| {
                refuse(format!(
                    "{shown} is a symbolic link to {to}, which does not exist: create that \
                     folder, or give another --out"
                ))
            })?;
            normalise(&real).ok_or_else(|| {
                refuse(format!(
                    "{shown} is a symbolic link to {to}, which cannot be replaced: give another \
                     --out"
                ))
            })
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// What is at `path` now, or why it must not be replaced.
fn inspect(path: &Path, shown: &str) -> Result<Previous, OutError> {
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Previous::Nothing),
        Err(e) => return Err(refuse(format!("cannot use {shown}: {e}"))),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        let what = if meta.is_file() {
            "a file"
        } else {
            "not a folder"
        };
        return Err(refuse(format!(
            "{shown} is {what}: simulate writes a folder of results and never replaces a file; \
             give the path of a new folder with --out"
        )));
    }
    if is_marked(path) {
        let foreign = foreign_entries(path);
        if !foreign.is_empty() {
            return Err(refuse(foreign_message(shown, &foreign)));
        }
        return Ok(Previous::Results);
    }
    if is_empty(path) {
        return Ok(Previous::EmptyFolder);
    }
    let mut names: Vec<String> = fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    Err(refuse(format!(
        "{shown} is a folder simulate did not write (it holds {} and no {MARKER} marker), so \
         it is left alone: give the path of a new folder with --out, or move this one away",
        first_names(&names)
    )))
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_none())
}

fn split(path: &Path) -> (PathBuf, OsString) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(OsString::from).unwrap_or_default();
    (parent, name)
}

fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Moves the staging folder to a target that does not exist, without replacing one that
/// appeared meanwhile.
fn move_new(staging: &Path, target: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(
            AT_FDCWD,
            staging,
            AT_FDCWD,
            target,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let e = io::Error::from(e);
                if !exchange_unsupported(&e) {
                    return Err(e);
                }
            }
        }
    }
    fs::rename(staging, target)
}

/// Swaps two existing paths atomically.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE).map_err(io::Error::from)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (a, b);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Errors that mean "this file system or kernel cannot exchange", not "this rename failed".
fn exchange_unsupported(e: &io::Error) -> bool {
    const EINVAL: i32 = 22;
    const ENOSYS: i32 = 38;
    const EOPNOTSUPP: i32 = 95;
    e.kind() == io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(EINVAL | ENOSYS | EOPNOTSUPP))
}

/// Whether process `pid` exists (a process of another user counts).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        use nix::sys::signal::kill;
        use nix::unistd::Pid;
        let Ok(raw) = i32::try_from(pid) else {
            return false;
        };
        !matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH))
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The lock files this process holds (see [`release_locks`]).
static HELD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes the lock files this process holds, as dropping them would: for an exit that runs
/// no destructors (`std::process::exit(130)` after Ctrl-C), which would otherwise leave a
/// stale `.NAME.lock` beside the user's folder until the next run there.
pub fn release_locks() {
    if let Ok(mut held) = HELD.lock() {
        for p in held.drain(..) {
            let _ = fs::remove_file(p);
        }
    }
}

/// `.NAME.lock` beside the output folder, locked with `flock` while a run writes the folder.
/// The holder writes its process id in it and removes it when done (while still holding the
/// lock, so that a waiting process can tell its lock is stale: see [`Lock::take`]).
#[derive(Debug)]
struct Lock {
    path: PathBuf,
    file: fs::File,
}

impl Lock {
    fn take(parent: &Path, name: &OsString, shown: &str) -> Result<Lock, OutError> {
        let mut n = OsString::from(".");
        n.push(name);
        n.push(".lock");
        let path = parent.join(n);
        for _ in 0..10 {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| refuse(format!("cannot lock {shown} ({}): {e}", path.display())))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    let who = match pid.trim() {
                        "" => String::new(),
                        p => format!(" (process {p})"),
                    };
                    return Err(refuse(format!(
                        "{shown} is being written by another simulate{who}: wait for it to \
                         finish, or give another --out"
                    )));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(refuse(format!(
                        "cannot lock {shown} ({}): {e}",
                        path.display()
                    )));
                }
            }
            // The previous holder may have removed the file between our open and our lock:
            // then we hold a lock on a file nobody else can see; start again.
            if !same_file(&file, &path) {
                continue;
            }
            let _ = file.set_len(0);
            let _ = file.write_all(std::process::id().to_string().as_bytes());
            if let Ok(mut held) = HELD.lock() {
                held.push(path.clone());
            }
            return Ok(Lock { path, file });
        }
        Err(refuse(format!(
            "cannot lock {shown}: {} keeps changing",
            path.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Ok(mut held) = HELD.lock() {
            held.retain(|p| *p != self.path);
        }
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn same_file(file: &fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Checks that `path` may receive a report file (`--junit`): it does not exist, or it is a
/// regular file whose first bytes are `start` (a report this tool wrote). A symbolic link is
/// followed. Returns the path to write. A new file's folder must exist: the claim is made
/// before any work, and a missing folder found only when the file is written would throw the
/// work away (a whole study, then exit 2).
pub fn claim_file(path: &Path, start: &[u8], what: &str) -> Result<PathBuf, OutError> {
    let shown = path.display().to_string();
    unexpanded_tilde(path, &shown)?;
    let path = normalise(path).ok_or_else(|| {
        refuse(format!(
            "{shown:?} is not a file name: give the path of the {what} file"
        ))
    })?;
    let path = match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(&path).map_err(|_| {
            refuse(format!(
                "{shown} is a symbolic link to a file that does not exist"
            ))
        })?,
        _ => path,
    };
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(refuse(format!(
                "the folder of {shown}, {}, does not exist (or is not a folder): create it \
                 first, or give another path for the {what} file",
                dir.display()
            ))),
            _ => Ok(path),
        },
        Err(e) => Err(refuse(format!("cannot use {shown}: {e}"))),
        Ok(m) if !m.is_file() => Err(refuse(format!(
            "{shown} exists and is not a file: give the path of the {what} file"
        ))),
        Ok(_) => {
            let mut head = vec![0; start.len()];
            let ok = fs::File::open(&path)
                .and_then(|mut f| f.read_exact(&mut head))
                .is_ok()
                && head == start;
            if ok {
                Ok(path)
            } else {
                Err(refuse(format!(
                    "{shown} exists and is not a {what} simulate wrote, so it is left alone: \
                     give the path of a new file, or move this one away"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(tag: &str) -> PathBuf {
        let base =
            std::env::temp_dir().join(format!("infrasim-atomic-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        base
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_claimed_folder_is_replaced_whole_and_kept_on_error() {
        let base = base("replace");
        let dir = base.join("run");
        let out = OutDir::claim(&dir).unwrap();
        assert_eq!(out.previous(), Previous::Nothing);
        out.write(|t| write_file(&t.join("a.txt"), b"1")).unwrap();
        drop(out);
        let out = OutDir::claim(&dir).unwrap();
        assert_eq!(out.previous(), Previous::Results);
        out.write(|t| write_file(&t.join("b.txt"), b"2")).unwrap();
        assert!(
            !dir.join("a.txt").exists(),
            "old files must not mix with new ones"
        );
        assert_eq!(fs::read(dir.join("b.txt")).unwrap(), b"2");
        let err = out.write(|_| Err(io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(fs::read(dir.join("b.txt")).unwrap(), b"2");
        drop(out);
        assert_eq!(names(&base), ["run"], "no staging or lock left behind");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn files_added_to_results_keep_them_from_being_replaced() {
        let base = base("added");
        let dir = base.join("run");
        let out = OutDir::claim(&dir).unwrap();
        out.write(|t| {
            fs::create_dir(t.join("charts"))?;
            write_file(&t.join("charts/a.svg"), b"1")?;
            write_file(&t.join("summary.json"), b"{}")
        })
        .unwrap();
        // What the tool wrote is listed in its marker, and nothing else is.
        let marker = fs::read_to_string(dir.join(MARKER)).unwrap();
        let listed: Vec<&str> = marker.lines().skip(2).collect();
        assert_eq!(listed, ["charts/", "charts/a.svg", "summary.json"]);
        // A file added after the claim stops the swap; the new results are not swapped in.
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let e = out
            .write(|t| write_file(&t.join("b.txt"), b"2"))
            .unwrap_err();
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert_eq!(fs::read(dir.join("notes.txt")).unwrap(), b"mine");
        assert!(!dir.join("b.txt").exists());
        drop(out);
        // And a claim with it there is refused, in the top folder or a sub-folder, a link
        // included (listed, not followed).
        let e = OutDir::claim(&dir).unwrap_err();
        assert!(
            e.message.contains("notes.txt") && e.message.contains("--out"),
            "{e}"
        );
        fs::remove_file(dir.join("notes.txt")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&base, dir.join("charts/link")).unwrap();
        #[cfg(unix)]
        {
            let e = OutDir::claim(&dir).unwrap_err();
            assert!(e.message.contains("charts/link"), "{e}");
            fs::remove_file(dir.join("charts/link")).unwrap();
        }
        // Removing or editing what the tool wrote is not the user's work: still replaced.
        fs::remove_file(dir.join("charts/a.svg")).unwrap();
        fs::write(dir.join("summary.json"), "edited").unwrap();
        let out = OutDir::claim(&dir).unwrap();
        assert_eq!(out.previous(), Previous::Results);
        out.write(|t| write_file(&t.join("c.txt"), b"3")).unwrap();
        assert_eq!(names(&dir), [MARKER, "c.txt"]);
        drop(out);
        // A marker without the list (an earlier version's) is replaced whole, as it was.
        fs::write(dir.join(MARKER), Kind::Results.marker_text()).unwrap();
        fs::write(dir.join("old.txt"), "x").unwrap();
        assert!(OutDir::claim(&dir).is_ok());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn foreign_folders_files_and_dots_are_refused() {
        let base = base("refuse");
        let user = base.join("proj");
        fs::create_dir_all(user.join("sub")).unwrap();
        fs::write(user.join("precious.txt"), "mine").unwrap();
        let e = OutDir::claim(&user).unwrap_err();
        assert!(e.message.contains("did not write"), "{e}");
        assert!(e.message.contains("precious.txt"), "{e}");
        let file = base.join("victim.toml");
        fs::write(&file, "x").unwrap();
        let e = OutDir::claim(&file).unwrap_err();
        assert!(e.message.contains("is a file"), "{e}");
        for p in [".", "..", "/", "", "a/.."] {
            assert!(OutDir::claim(Path::new(p)).is_err(), "{p:?} was accepted");
        }
        assert_eq!(fs::read(&file).unwrap(), b"x");
        assert_eq!(names(&user), ["precious.txt", "sub"]);
        assert_eq!(
            names(&base),
            ["proj", "victim.toml"],
            "no lock file was left"
        );
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_second_claim_is_refused_while_the_first_holds() {
        let base = base("lock");
        let dir = base.join("run");
        let first = OutDir::claim(&dir).unwrap();
        let e = OutDir::claim(&dir).unwrap_err();
        assert!(
            e.message.contains("being written by another simulate"),
            "{e}"
        );
        assert!(e.message.contains(&std::process::id().to_string()), "{e}");
        drop(first);
        OutDir::claim(&dir).unwrap();
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn leftovers_of_dead_runs_are_cleaned_and_an_old_folder_put_back() {
        let base = base("stale");
        let dir = base.join("run");
        let out = OutDir::claim(&dir).unwrap();
        out.write(|t| write_file(&t.join("a.txt"), b"1")).unwrap();
        drop(out);
        // As if a run with a pid that cannot exist had been killed between the two renames of
        // the fallback swap, and another while building.
        let dead = 4_000_000_000u32;
        let old = base.join(format!(".run.old-{dead}"));
        fs::rename(&dir, &old).unwrap();
        create_marked(&base.join(format!(".run.new-{dead}")), Kind::Results).unwrap();
        fs::create_dir(base.join(format!(".run.new-{}", dead + 1))).unwrap();
        // Not ours: a user's folder with a similar name, and a marked folder of another name.
        fs::create_dir(base.join(".run.new-x")).unwrap();
        fs::create_dir(base.join(format!(".run.new-{}", dead + 2))).unwrap();
        fs::write(
            base.join(format!(".run.new-{}", dead + 2)).join("f"),
            "user",
        )
        .unwrap();
        let out = OutDir::claim(&dir).unwrap();
        assert_eq!(out.previous(), Previous::Results);
        assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"1");
        drop(out);
        assert_eq!(
            names(&base),
            [
                ".run.new-4000000002".to_string(),
                ".run.new-x".into(),
                "run".into()
            ]
        );
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_link_to_a_folder_is_followed_and_kept() {
        let base = base("link");
        let real = base.join("real");
        let out = OutDir::claim(&real).unwrap();
        out.write(|t| write_file(&t.join("a.txt"), b"1")).unwrap();
        drop(out);
        let link = base.join("linked");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let out = OutDir::claim(&link).unwrap();
        out.write(|t| write_file(&t.join("b.txt"), b"2")).unwrap();
        drop(out);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(real.join("b.txt")).unwrap(), b"2");
        assert!(!real.join("a.txt").exists());
        let dangling = base.join("dangling");
        std::os::unix::fs::symlink(base.join("nowhere"), &dangling).unwrap();
        let e = OutDir::claim(&dangling).unwrap_err();
        assert!(e.message.contains("does not exist"), "{e}");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn report_files_are_replaced_only_when_ours() {
        let base = base("file");
        let p = base.join("r.xml");
        assert_eq!(claim_file(&p, b"<?xml", "JUnit report").unwrap(), p);
        fs::write(&p, "<?xml version").unwrap();
        assert!(claim_file(&p, b"<?xml", "JUnit report").is_ok());
        fs::write(&p, "name = \"x\"").unwrap();
        assert!(claim_file(&p, b"<?xml", "JUnit report").is_err());
        assert!(claim_file(&base, b"<?xml", "JUnit report").is_err());
        fs::remove_dir_all(&base).unwrap();
    }
}
