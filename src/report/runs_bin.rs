//! A Monte Carlo study's runs in a binary scratch file, for the summary's passes after the first
//! (`experiment::mc_summary`): each run's values as `runs.csv` holds them (the study writes them
//! from the same [`super::study::WrittenRun`], `merge` from the rows it reads), read back
//! without parsing text. Reading `runs.csv` back was most of what a study of short runs still
//! did on one thread after its runs (issue 13: 200,000 one-day runs, two threads).
//!
//! A run is its length in bytes (`u32`, what follows it), its rep and failures (`u64`), its
//! number of outages (`u32`), then its figures in
//! `runs.csv`'s order (six fixed, the outages, then per component blame, availability if
//! perfect and SLO availability if perfect), each a tag byte: 0 for `+0.0`, 1 for `1.0` (most
//! figures of short runs), 2 followed by the value's bits. All little-endian: about the size of
//! `runs.csv`, with the exact bits.

use crate::experiment::mc_summary::RunSource;
use crate::experiment::montecarlo::McRun;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

const ZERO: u8 = 0;
const ONE: u8 = 1;
const BITS: u8 = 2;

/// Writes runs, one at a time.
pub struct RunsBinWriter<W: Write> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> RunsBinWriter<W> {
    pub fn new(w: W) -> RunsBinWriter<W> {
        RunsBinWriter { w, buf: vec![] }
    }

    pub fn write(&mut self, r: &McRun) -> io::Result<()> {
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&r.rep.to_le_bytes());
        b.extend_from_slice(&r.failures.to_le_bytes());
        let outages = u32::try_from(r.outages.len()).map_err(io::Error::other)?;
        b.extend_from_slice(&outages.to_le_bytes());
        let fixed = r.fixed();
        let values = fixed.iter().chain(&r.outages).chain(&r.blame_s);
        for &x in values.chain(&r.perfect).chain(&r.perfect_slo) {
            match x.to_bits() {
                0 => b.push(ZERO),
                bits if bits == 1f64.to_bits() => b.push(ONE),
                bits => {
                    b.push(BITS);
                    b.extend_from_slice(&bits.to_le_bytes());
                }
            }
        }
        let len = u32::try_from(b.len() - 4).map_err(io::Error::other)?;
        b[..4].copy_from_slice(&len.to_le_bytes());
        self.w.write_all(b)
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// The runs of a file [`RunsBinWriter`] wrote, of `components` components each, read from its
/// start at each pass.
pub struct RunsBinReader<R: Read + Seek> {
    file: R,
    components: usize,
}

impl<R: Read + Seek> RunsBinReader<R> {
    pub fn new(file: R, components: usize) -> RunsBinReader<R> {
        RunsBinReader { file, components }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("runs scratch file: {what}"),
    )
}

/// Takes the next `N` bytes of `b`.
#[inline(always)]
fn take<const N: usize>(b: &mut &[u8]) -> io::Result<[u8; N]> {
    let (head, rest) = b
        .split_first_chunk::<N>()
        .ok_or_else(|| bad("a run is cut"))?;
    *b = rest;
    Ok(*head)
}

#[inline(always)]
fn value(b: &mut &[u8]) -> io::Result<f64> {
    match take::<1>(b)?[0] {
        ZERO => Ok(0.0),
        ONE => Ok(1.0),
        BITS => Ok(f64::from_bits(u64::from_le_bytes(take(b)?))),
        t => Err(bad(&format!("bad tag {t}"))),
    }
}

/// Reads the next run into `run` (its vectors reused; `buf` holds its bytes); `false` at the
/// end of the file.
fn next(
    r: &mut impl Read,
    components: usize,
    buf: &mut Vec<u8>,
    run: &mut McRun,
) -> io::Result<bool> {
    let mut len = [0; 4];
    match r.read(&mut len[..1])? {
        0 => return Ok(false),
        _ => r.read_exact(&mut len[1..])?,
    }
    buf.resize(u32::from_le_bytes(len) as usize, 0);
    r.read_exact(buf)?;
    let b = &mut &buf[..];
    run.rep = u64::from_le_bytes(take(b)?);
    run.failures = u64::from_le_bytes(take(b)?);
    let outages = u32::from_le_bytes(take(b)?) as usize;
    for x in run.fixed_mut() {
        *x = value(b)?;
    }
    let mut fill = |v: &mut Vec<f64>, n: usize| -> io::Result<()> {
        v.clear();
        for _ in 0..n {
            v.push(value(b)?);
        }
        Ok(())
    };
    fill(&mut run.outages, outages)?;
    fill(&mut run.blame_s, components)?;
    fill(&mut run.perfect, components)?;
    fill(&mut run.perfect_slo, components)?;
    if !b.is_empty() {
        return Err(bad("a run is longer than its figures"));
    }
    Ok(true)
}

impl<R: Read + Seek> RunSource for RunsBinReader<R> {
    fn each(&mut self, f: &mut dyn FnMut(&McRun) -> io::Result<()>) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut r = BufReader::with_capacity(1 << 16, &mut self.file);
        let mut run = McRun::default();
        let mut buf = vec![];
        while next(&mut r, self.components, &mut buf, &mut run)? {
            f(&run)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Rng, StreamId};

    fn value(rng: &mut Rng) -> f64 {
        match rng.below(7) {
            0 => 0.0,
            1 => -0.0,
            2 => 1.0,
            3 => f64::INFINITY,
            4 => f64::NAN,
            5 => f64::from_bits(1),
            _ => rng.uniform() * 1e3,
        }
    }

    /// Every run comes back with the same bits, pass after pass; a cut file is an error.
    #[test]
    fn runs_come_back_bit_for_bit() {
        let mut rng = Rng::new(StreamId::new(3, "runs_bin", 0));
        let comps = 4;
        let runs: Vec<McRun> = (0..2_000u64)
            .map(|rep| {
                let n = rng.below(5) as usize;
                let mut v = |n: usize| (0..n).map(|_| value(&mut rng)).collect::<Vec<_>>();
                McRun {
                    rep,
                    availability: v(1)[0],
                    slo_availability: v(1)[0],
                    time_availability: v(1)[0],
                    downtime_s: v(1)[0],
                    overload_s: v(1)[0],
                    failed_requests: v(1)[0],
                    failures: rep * 3,
                    outages: v(n),
                    blame_s: v(comps),
                    perfect: v(comps),
                    perfect_slo: v(comps),
                }
            })
            .collect();
        let mut w = RunsBinWriter::new(io::Cursor::new(vec![]));
        for r in &runs {
            w.write(r).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let mut source = RunsBinReader::new(io::Cursor::new(bytes.clone()), comps);
        for _ in 0..2 {
            let mut i = 0;
            source
                .each(&mut |r| {
                    assert_eq!(r.bits(), runs[i].bits(), "run {i}");
                    i += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(i, runs.len());
        }
        let mut cut = RunsBinReader::new(io::Cursor::new(&bytes[..bytes.len() - 3]), comps);
        assert!(cut.each(&mut |_| Ok(())).is_err());
    }
}
