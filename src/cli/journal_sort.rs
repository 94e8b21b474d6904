//! The runs a study's journal holds, handed back in job order without holding them (issue 13).
//!
//! A journal (`runs.jsonl`) is appended in completion order: threads finish out of order, and
//! a study interrupted and resumed several times is several such sequences one after the other,
//! in which a run may be journaled twice. A `--resume` of a streamed study (Monte Carlo) hands
//! those runs to the study's sink merged, in job order, with the runs it makes; reading them
//! all into memory cost about 0.7 KB per run (85.7 MB of peak for a journal of 110,000 one-day
//! runs). This module sorts them on disk instead, an external merge sort:
//!
//! * [`Spill`] takes the journal's lines as they are read, keeps the first line of each job (a
//!   bit per job, [`JobSet`], says which are held: a run journaled twice keeps its first line,
//!   as the in-memory sort-and-dedup did) in a buffer of at most [`Plan::chunk_bytes`], and
//!   writes each full buffer, sorted by job, as a chunk file in `<journal>/sort/`;
//! * while more than [`Plan::fan_in`] chunks exist, that many are merged into one;
//! * [`Sorted`] merges the last ones lazily (a heap of their next jobs), as the study asks for
//!   its next held run. A journal that fits in one buffer never touches the disk.
//!
//! Memory: one buffer, and per chunk read at once a read buffer and its current line: bounded
//! by the [`PLAN`] and the longest line, whatever the journal holds. Disk: the chunks take
//! the kept lines' size again, removed once read (and with the journal in any case).
//!
//! Kill safety: the sort writes only in `sort/` inside the journal folder (this tool's own
//! marked folder) and never changes `runs.jsonl`; every `--resume` starts by removing what an
//! earlier one left in `sort/` ([`clear`]), so a kill at any moment leaves a journal that
//! resumes exactly. A chunk row is the job (8 bytes, little-endian), the line's length (4
//! bytes) and the journal's line itself, unchanged: a run read back is parsed from the same
//! bytes as before.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};

/// How much is held while sorting.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// A chunk's lines (bytes) before it is sorted and written.
    pub chunk_bytes: usize,
    /// Chunks read at once, each through a [`READ_BUF`] buffer.
    pub fan_in: usize,
}

/// 1 MiB of lines per chunk (about 3,000 one-day Monte Carlo runs) and 32 chunks at once
/// (2 MiB of read buffers): about 3 MB in all. A journal of 1,000,000 such runs (350 MB)
/// makes some 340 chunks, merged by groups of 32 once, then lazily. The unit tests lower it
/// so that a few rows span several chunks and merge passes.
#[cfg(not(test))]
pub const PLAN: Plan = Plan {
    chunk_bytes: 1 << 20,
    fan_in: 32,
};
#[cfg(test)]
pub const PLAN: Plan = Plan {
    chunk_bytes: 200,
    fan_in: 3,
};

/// Read buffer of each chunk file.
const READ_BUF: usize = 1 << 16;

/// The folder of the chunks, inside the journal folder.
const SORT_DIR: &str = "sort";

/// A chunk row longer than this is a damaged chunk (the journal's lines are cut shorter).
pub const MAX_LINE: usize = 64 << 20;

/// Removes what an earlier `--resume` left in the journal folder `journal` (killed during its
/// sort, or during its runs).
pub fn clear(journal: &Path) -> io::Result<()> {
    remove(&sort_dir(journal))
}

fn remove(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => fs::remove_dir_all(dir),
        Ok(_) => fs::remove_file(dir),
    }
}

/// The folder of a journal's chunks (named in messages).
pub fn sort_dir(journal: &Path) -> PathBuf {
    journal.join(SORT_DIR)
}

/// A set of jobs (replication numbers): one bit per job up to the highest held. A study has
/// at most `MAX_RUNS` (1,000,000) jobs, so 125 KB at most; a sorted list of the held jobs, as
/// before, took 8 bytes a job, and a hash set more.
#[derive(Debug, Default)]
pub struct JobSet {
    words: Vec<u64>,
    len: usize,
}

impl JobSet {
    /// Adds `job`; false if it was there already. Jobs are bounded by the caller (a study's).
    pub fn insert(&mut self, job: u64) -> bool {
        let (w, bit) = ((job / 64) as usize, 1u64 << (job % 64));
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let new = self.words[w] & bit == 0;
        self.words[w] |= bit;
        self.len += usize::from(new);
        new
    }

    pub fn contains(&self, job: u64) -> bool {
        self.words
            .get((job / 64) as usize)
            .is_some_and(|w| w & (1u64 << (job % 64)) != 0)
    }

    /// How many jobs it holds.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// The journal's lines being sorted: see the module's doc.
pub struct Spill {
    dir: PathBuf,
    plan: Plan,
    held: JobSet,
    /// The buffered lines, end to end, and each one's job and place in `lines`.
    lines: Vec<u8>,
    index: Vec<(u64, usize, usize)>,
    chunks: Vec<PathBuf>,
    named: usize,
    /// Whether the chunks are still this sort's to remove (until [`Sorted`] takes them).
    owns_chunks: bool,
}

impl Spill {
    /// A sort whose chunks go to `<journal>/sort/` (created with the first chunk).
    pub fn new(journal: &Path, plan: Plan) -> Spill {
        Spill {
            dir: sort_dir(journal),
            plan,
            held: JobSet::default(),
            lines: vec![],
            index: vec![],
            chunks: vec![],
            named: 0,
            owns_chunks: true,
        }
    }

    /// Keeps `line`, the journal's line of a run of `job`, unless a line of that job is kept
    /// already (the first one journaled is kept).
    pub fn push(&mut self, job: u64, line: &[u8]) -> io::Result<()> {
        if !self.held.insert(job) {
            return Ok(());
        }
        let start = self.lines.len();
        self.lines.extend_from_slice(line);
        self.index.push((job, start, self.lines.len()));
        if self.lines.len() >= self.plan.chunk_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the buffer, sorted, as a new chunk.
    fn spill(&mut self) -> io::Result<()> {
        self.index.sort_unstable_by_key(|&(job, ..)| job);
        let (path, mut w) = self.new_chunk()?;
        for &(job, s, e) in &self.index {
            write_row(&mut w, job, &self.lines[s..e])?;
        }
        w.flush()?;
        self.chunks.push(path);
        self.lines.clear();
        self.index.clear();
        Ok(())
    }

    fn new_chunk(&mut self) -> io::Result<(PathBuf, BufWriter<File>)> {
        if self.named == 0 {
            remove(&self.dir)?;
            fs::create_dir(&self.dir)?;
        }
        let path = self.dir.join(format!("{:06}.chunk", self.named));
        self.named += 1;
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((path, BufWriter::with_capacity(READ_BUF, f)))
    }

    /// The kept lines in job order, and the jobs they are of.
    pub fn finish(mut self) -> io::Result<(Sorted, JobSet)> {
        if self.chunks.is_empty() {
            // All in one buffer: merged from memory, nothing written.
            self.index.sort_unstable_by_key(|&(job, ..)| job);
            let mut bytes = Vec::with_capacity(self.lines.len() + 12 * self.index.len());
            for &(job, s, e) in &self.index {
                write_row(&mut bytes, job, &self.lines[s..e])?;
            }
            let source: Box<dyn BufRead + Send> = Box::new(Cursor::new(bytes));
            return Ok((
                Sorted::new(vec![source], None)?,
                std::mem::take(&mut self.held),
            ));
        }
        if !self.index.is_empty() {
            self.spill()?;
        }
        self.lines = vec![];
        self.index = vec![];
        // A group of chunks merged into one, until few enough are left to read at once.
        while self.chunks.len() > self.plan.fan_in.max(2) {
            let group: Vec<PathBuf> = self.chunks.drain(..self.plan.fan_in.max(2)).collect();
            let mut merged = Sorted::open(&group, None)?;
            let (path, mut w) = self.new_chunk()?;
            while let Some((job, line)) = merged.next_row()? {
                write_row(&mut w, job, line)?;
            }
            w.flush()?;
            drop(merged);
            for p in &group {
                fs::remove_file(p)?;
            }
            self.chunks.push(path);
        }
        let sorted = Sorted::open(&self.chunks, Some(self.dir.clone()))?;
        self.owns_chunks = false;
        Ok((sorted, std::mem::take(&mut self.held)))
    }
}

impl Drop for Spill {
    /// A sort that failed (a full disk) or was never finished leaves no chunk behind.
    fn drop(&mut self) {
        if self.owns_chunks && self.named > 0 {
            let _ = remove(&self.dir);
        }
    }
}

fn write_row(w: &mut impl Write, job: u64, line: &[u8]) -> io::Result<()> {
    let len = u32::try_from(line.len()).map_err(|_| io::Error::other("line too long"))?;
    w.write_all(&job.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(line)
}

/// Reads the next row of a chunk into `line`: its job, or None at the chunk's end.
fn read_row(r: &mut dyn BufRead, line: &mut Vec<u8>) -> io::Result<Option<u64>> {
    let mut head = [0u8; 12];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got == 0 {
        return Ok(None);
    }
    let damaged = || io::Error::new(io::ErrorKind::InvalidData, "damaged chunk");
    if got < head.len() {
        return Err(damaged());
    }
    let job = u64::from_le_bytes(head[..8].try_into().map_err(|_| damaged())?);
    let len = u32::from_le_bytes(head[8..].try_into().map_err(|_| damaged())?) as usize;
    if len > MAX_LINE {
        return Err(damaged());
    }
    line.clear();
    line.resize(len, 0);
    r.read_exact(line)?;
    Ok(Some(job))
}

/// One chunk being read: its next row.
struct Source {
    rd: Box<dyn BufRead + Send>,
    line: Vec<u8>,
}

/// Sorted chunks merged lazily: their rows in job order.
pub struct Sorted {
    sources: Vec<Source>,
    /// The next job of each source that has one, least first.
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    /// The line handed out last.
    current: Vec<u8>,
    /// The chunks' folder, removed once the rows are read (None for chunks in memory).
    dir: Option<PathBuf>,
}

impl Sorted {
    /// Nothing held.
    pub fn empty() -> Sorted {
        Sorted {
            sources: vec![],
            heap: BinaryHeap::new(),
            current: vec![],
            dir: None,
        }
    }

    fn open(paths: &[PathBuf], dir: Option<PathBuf>) -> io::Result<Sorted> {
        let mut readers: Vec<Box<dyn BufRead + Send>> = Vec::with_capacity(paths.len());
        for p in paths {
            readers.push(Box::new(BufReader::with_capacity(READ_BUF, File::open(p)?)));
        }
        Sorted::new(readers, dir)
    }

    fn new(readers: Vec<Box<dyn BufRead + Send>>, dir: Option<PathBuf>) -> io::Result<Sorted> {
        let mut s = Sorted::empty();
        s.dir = dir;
        for (i, mut rd) in readers.into_iter().enumerate() {
            let mut line = vec![];
            if let Some(job) = read_row(&mut *rd, &mut line)? {
                s.heap.push(Reverse((job, i)));
            }
            s.sources.push(Source { rd, line });
        }
        Ok(s)
    }

    /// The job of the next row, if any.
    pub fn peek_job(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((job, _))| *job)
    }

    /// The next row: its job and the journal's line.
    pub fn next_row(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        let Some(Reverse((job, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let src = &mut self.sources[i];
        std::mem::swap(&mut self.current, &mut src.line);
        if let Some(next) = read_row(&mut *src.rd, &mut src.line)? {
            self.heap.push(Reverse((next, i)));
        }
        Ok(Some((job, &self.current)))
    }
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("infrasim-sort-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn drain(s: &mut Sorted) -> Vec<(u64, String)> {
        let mut out = vec![];
        while let Some((job, line)) = s.next_row().unwrap() {
            out.push((job, String::from_utf8(line.to_vec()).unwrap()));
        }
        out
    }

    /// Several out-of-order sequences with duplicates, over many chunks and two merge passes,
    /// come back in job order with the first line of each job; the chunks are gone after.
    #[test]
    fn lines_come_back_in_job_order_first_one_kept() {
        let dir = journal("order");
        let plan = Plan {
            chunk_bytes: 40,
            fan_in: 3,
        };
        let mut spill = Spill::new(&dir, plan);
        let mut expected = std::collections::BTreeMap::new();
        // Three sequences: a scrambled one (7 is coprime to 500), the same jobs again (each
        // journaled twice, later lines lose), and the rest in reverse.
        let mut lines = vec![];
        for pass in 0..2 {
            for i in 0..300u64 {
                lines.push(((i * 7) % 500, format!("run {} pass {pass}", (i * 7) % 500)));
            }
        }
        for job in (0..500u64).rev() {
            lines.push((job, format!("run {job} late")));
        }
        for (job, l) in &lines {
            expected.entry(*job).or_insert_with(|| l.clone());
            spill.push(*job, l.as_bytes()).unwrap();
        }
        let (mut sorted, held) = spill.finish().unwrap();
        assert_eq!(held.len(), 500);
        assert!(held.contains(499) && !held.contains(500) && !held.contains(10_000));
        let chunks = fs::read_dir(dir.join(SORT_DIR)).unwrap().count();
        assert!(
            (2..=3).contains(&chunks),
            "merged down to the fan-in: {chunks}"
        );
        assert_eq!(sorted.peek_job(), Some(0));
        let got = drain(&mut sorted);
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
        drop(sorted);
        assert!(!dir.join(SORT_DIR).exists(), "the chunks are removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A journal that fits in one buffer is merged from memory: no folder is created.
    #[test]
    fn a_small_journal_touches_no_disk() {
        let dir = journal("small");
        let mut spill = Spill::new(
            &dir,
            Plan {
                chunk_bytes: 1 << 20,
                fan_in: 3,
            },
        );
        for job in [5u64, 1, 3, 1] {
            spill.push(job, format!("{job}").as_bytes()).unwrap();
        }
        let (mut sorted, held) = spill.finish().unwrap();
        assert!(!dir.join(SORT_DIR).exists());
        assert_eq!(held.len(), 3);
        let jobs: Vec<u64> = drain(&mut sorted).into_iter().map(|(j, _)| j).collect();
        assert_eq!(jobs, [1, 3, 5]);
        let (mut none, held) = Spill::new(&dir, PLAN).finish().unwrap();
        assert_eq!((held.len(), none.next_row().unwrap()), (0, None));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// What a killed sort leaves (chunks, a damaged one, a file in the folder's place) is
    /// cleared before the next sort, which then works as on a fresh journal.
    #[test]
    fn a_killed_sort_leaves_nothing_the_next_one_reads() {
        let dir = journal("killed");
        let sort = dir.join(SORT_DIR);
        fs::create_dir(&sort).unwrap();
        fs::write(sort.join("000000.chunk"), b"\x01\x00\x00").unwrap();
        fs::write(sort.join("000007.chunk"), b"stale").unwrap();
        clear(&dir).unwrap();
        assert!(!sort.exists());
        fs::write(&sort, b"a file").unwrap();
        clear(&dir).unwrap();
        assert!(!sort.exists());
        // A link in its place is removed, not followed.
        let user = journal("killed-user");
        fs::write(user.join("precious"), b"mine").unwrap();
        std::os::unix::fs::symlink(&user, &sort).unwrap();
        clear(&dir).unwrap();
        assert!(fs::symlink_metadata(&sort).is_err());
        assert_eq!(fs::read(user.join("precious")).unwrap(), b"mine");
        fs::remove_dir_all(&user).unwrap();
        clear(&dir).unwrap();
        let mut spill = Spill::new(
            &dir,
            Plan {
                chunk_bytes: 1,
                fan_in: 2,
            },
        );
        for job in [2u64, 0, 1] {
            spill.push(job, b"x").unwrap();
        }
        let (mut sorted, _) = spill.finish().unwrap();
        let jobs: Vec<u64> = drain(&mut sorted).into_iter().map(|(j, _)| j).collect();
        assert_eq!(jobs, [0, 1, 2]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A sort dropped before it is finished (an error while reading the journal) removes its
    /// chunks.
    #[test]
    fn an_unfinished_sort_leaves_no_chunk() {
        let dir = journal("unfinished");
        let mut spill = Spill::new(
            &dir,
            Plan {
                chunk_bytes: 1,
                fan_in: 2,
            },
        );
        spill.push(1, b"x").unwrap();
        assert!(dir.join(SORT_DIR).exists());
        drop(spill);
        assert!(!dir.join(SORT_DIR).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A chunk cut short or claiming an absurd length is an error, never a short read.
    #[test]
    fn a_damaged_chunk_is_an_error() {
        let mut row = vec![];
        write_row(&mut row, 3, b"abc").unwrap();
        let mut line = vec![];
        for cut in 1..row.len() {
            let mut r: &[u8] = &row[..cut];
            assert!(read_row(&mut r, &mut line).is_err(), "cut at {cut}");
        }
        let mut r: &[u8] = &row;
        assert_eq!(read_row(&mut r, &mut line).unwrap(), Some(3));
        assert_eq!(line, b"abc");
        assert_eq!(read_row(&mut r, &mut line).unwrap(), None);
        let mut huge = 9u64.to_le_bytes().to_vec();
        huge.extend(u32::MAX.to_le_bytes());
        let mut r: &[u8] = &huge;
        assert!(read_row(&mut r, &mut line).is_err());
    }
}
