//! Every `simulate` command README.md and docs/*.md show is run, as written, and must succeed
//! (issue 11, item 20). The documents are read when the test runs, so a command added to them
//! is tested without touching this file; a line that mentions `simulate` but cannot be read as
//! a command fails the test rather than being skipped.
//!
//! What is read as a command:
//! * in a fenced code block (`sh`, `bash`, `console`, `text` or no language): a line that
//!   starts with `simulate ` or `$ simulate `, `cargo run --release -- ` (the same binary), or
//!   holds `&& simulate ` (the part from `simulate`); continuation lines ending in `\` are
//!   joined, `# comments` dropped; a shell loop (`for ...; do simulate ...; done`) runs as is;
//! * a script block starting with `#!/bin/bash` with `#SBATCH --array=A-B`: run once per task,
//!   with `SLURM_ARRAY_TASK_ID` and `SLURM_CPUS_PER_TASK` set as `#SBATCH` says;
//! * in a `yaml` block, the quoted `simulate ...` of an Indexed Job's `args`, run once per
//!   completion index (`JOB_COMPLETION_INDEX`), with the container paths `/scenarios/` and
//!   `/shared/` mapped to `scenarios/` and `shared/` in the sandbox;
//! * in prose, an inline code span that starts with `simulate ` and names a scenario, a summary
//!   or a subcommand's argument (`simulate --help` too), or a shell loop over `simulate`.
//!
//! Each document's commands run in order, in a sandbox folder holding a copy of `scenarios/`
//! (so `results/` is the sandbox's), through `bash -c` with `simulate` on `PATH`. Lines of
//! other programs (`cargo test`, `cargo fuzz`, `cp`, ...) are listed and must be among the
//! known ones. Long studies run with a reduction appended (below, `REDUCTIONS`), documented
//! here as the issue allows: the command itself is still the documented one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/cpu.rs"]
mod cpu;

/// What one documented command may use, in CPU time (user + system of the shell and everything
/// it waited for), not wall time: the documents run two at a time on a CI machine that other
/// builds keep busy, where the wall time measures them too (`common/cpu.rs`; the whole test took
/// 198 s of wall time here with two CPU hogs and another build running, against about 35 s on
/// an idle machine).
const CPU_LIMIT: Duration = Duration::from_secs(120);
/// The wall time after which a command is killed as hung: only a hang should reach it.
const HANG: Duration = Duration::from_secs(900);

const BIN: &str = env!("CARGO_BIN_EXE_simulate");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// (a part of the command, what replaces it) for commands too long for a test at full size.
const REDUCTIONS: &[(&str, &str)] = &[
    // 103 million requests in 19 s: one day instead of fifteen.
    ("--set duration=15d", "--set duration=1d"),
    // 100,000 Monte Carlo runs split in 16 shards, twice: 1,600.
    ("--runs 100000", "--runs 1600"),
    // 10^8 requests on 1,000 servers with a 10 ms timeline (minutes): one second of it.
    ("--set duration=1111s", "--set duration=1s"),
];

/// Paths inside the Kubernetes example's container (its volume mounts), mapped into the sandbox.
const CONTAINER_PATHS: &[(&str, &str)] =
    &[(" /scenarios/", " scenarios/"), (" /shared/", " shared/")];

/// Programs the documents show that are not `simulate` (and why they are not run here).
const OTHER_PROGRAMS: &[&str] = &[
    "cargo test",    // this test is part of it
    "cargo install", // the same binary, installed
    "cargo bench",   // minutes of benchmarks
    "cargo fuzz",    // hours of fuzzing, nightly features
    "RUSTC_BOOTSTRAP=1 cargo fuzz",
    "cd fuzz",
    "cp ",
    "mkdir ",
    "tools/docs-images.sh",
    "/usr/bin/time",
];

#[derive(Debug, Clone)]
struct Doc {
    file: String,
    commands: Vec<Cmd>,
}

#[derive(Debug, Clone)]
struct Cmd {
    line: usize,
    /// The shell text run.
    text: String,
    /// Environment for each repetition (one empty set: run once).
    envs: Vec<Vec<(String, String)>>,
}

fn documents() -> Vec<PathBuf> {
    let mut v = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    v.extend(docs);
    v
}

/// Drops a `# comment` (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> String {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return line[..i].trim_end().into(),
            None => {}
        }
        prev = c;
    }
    line.trim_end().into()
}

fn once() -> Vec<Vec<(String, String)>> {
    vec![vec![]]
}

/// Reads one document's commands; panics on a line that mentions `simulate` but is not one.
fn extract(path: &Path) -> Doc {
    let text = fs::read_to_string(path).unwrap();
    let file = path
        .strip_prefix(ROOT)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let mut commands = vec![];
    let mut i = 0;
    let mut prose = String::new();
    let mut prose_start = 0;
    let flush_prose = |prose: &mut String, start: usize, commands: &mut Vec<Cmd>| {
        for (k, span) in prose.split('`').enumerate() {
            if k % 2 == 0 {
                continue;
            }
            let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
            if span == "simulate --help"
                || (span.starts_with("for ") && span.contains("simulate "))
                || span.starts_with("simulate scenarios/")
                || span.starts_with("simulate replay ")
                || span.starts_with("simulate ladder ")
                || span.starts_with("simulate merge ")
            {
                commands.push(Cmd {
                    line: start,
                    text: span,
                    envs: once(),
                });
            }
        }
        prose.clear();
    };
    while i < lines.len() {
        let line = lines[i];
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            flush_prose(&mut prose, prose_start, &mut commands);
            let lang = lang.trim().to_string();
            let start = i + 1;
            let mut body = vec![];
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push((i + 1, lines[i]));
                i += 1;
            }
            i += 1;
            commands.extend(block(&file, &lang, start, &body));
            continue;
        }
        if line.trim().is_empty() {
            flush_prose(&mut prose, prose_start, &mut commands);
        } else {
            if prose.is_empty() {
                prose_start = i + 1;
            }
            prose.push_str(line);
            prose.push('\n');
        }
        i += 1;
    }
    flush_prose(&mut prose, prose_start, &mut commands);
    Doc { file, commands }
}

/// The commands of one fenced block.
fn block(file: &str, lang: &str, start: usize, body: &[(usize, &str)]) -> Vec<Cmd> {
    let mut out = vec![];
    if lang == "yaml" {
        let completions: usize = body
            .iter()
            .find_map(|(_, l)| l.trim().strip_prefix("completions:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        for (n, l) in body {
            if let Some(at) = l.find("\"simulate ") {
                let rest = &l[at + 1..];
                let cmd = &rest[..rest.find('"').expect("a quoted command")];
                let envs = (0..completions)
                    .map(|k| vec![("JOB_COMPLETION_INDEX".to_string(), k.to_string())])
                    .collect();
                out.push(Cmd {
                    line: *n,
                    text: cmd.to_string(),
                    envs,
                });
            }
        }
        return out;
    }
    if !matches!(lang, "" | "sh" | "bash" | "console" | "text" | "shell") {
        for (n, l) in body {
            assert!(
                !l.trim_start().starts_with("simulate "),
                "{file}:{n}: a simulate command in a ```{lang} block: use ```sh"
            );
        }
        return out;
    }
    if body
        .first()
        .is_some_and(|(_, l)| l.starts_with("#!/bin/bash"))
    {
        // A Slurm array script: run the script once per task.
        let sbatch = |key: &str| {
            body.iter()
                .find_map(|(_, l)| l.strip_prefix(&format!("#SBATCH --{key}=")))
                .map(str::trim)
        };
        let (a, b) = sbatch("array")
            .and_then(|r| r.split_once('-'))
            .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()))
            .unwrap_or_else(|| panic!("{file}:{start}: a script without #SBATCH --array=A-B"));
        let cpus = sbatch("cpus-per-task").unwrap_or("1").to_string();
        let script: Vec<String> = joined(body)
            .into_iter()
            .filter(|(_, l)| !l.starts_with('#'))
            .map(|(_, l)| l)
            .collect();
        out.push(Cmd {
            line: start,
            text: script.join("\n"),
            envs: (a..=b)
                .map(|k| {
                    vec![
                        ("SLURM_ARRAY_TASK_ID".to_string(), k.to_string()),
                        ("SLURM_CPUS_PER_TASK".to_string(), cpus.clone()),
                    ]
                })
                .collect(),
        });
        return out;
    }
    // A console transcript: only the prompted lines are commands, the rest is their output.
    let console = body.iter().any(|(_, l)| l.starts_with("$ "));
    for (n, l) in joined(body) {
        if console && !l.starts_with("$ ") {
            continue;
        }
        let l = strip_comment(l.trim());
        let l = l.strip_prefix("$ ").unwrap_or(&l).to_string();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let cmd = if l.starts_with("simulate ") || l.starts_with("for ") {
            Some(l.clone())
        } else if let Some(rest) = l.strip_prefix("cargo run --release -- ") {
            Some(format!("simulate {rest}"))
        } else {
            l.find("&& simulate ").map(|at| l[at + 3..].to_string())
        };
        match cmd {
            Some(text) => out.push(Cmd {
                line: n,
                text,
                envs: once(),
            }),
            None => {
                if l.contains("simulate ") || OTHER_PROGRAMS.iter().any(|p| l.starts_with(p)) {
                    assert!(
                        OTHER_PROGRAMS.iter().any(|p| l.starts_with(p)),
                        "{file}:{n}: `{l}` mentions simulate but is not a command this test \
                         can run"
                    );
                }
            }
        }
    }
    out
}

/// Lines of a block with `\` continuations joined, each with its first line number.
fn joined(body: &[(usize, &str)]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = vec![];
    let mut cont = false;
    for (n, l) in body {
        if cont {
            let last = out.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(l.trim());
        } else {
            out.push((*n, l.to_string()));
        }
        cont = out.last().unwrap().1.ends_with('\\');
        if cont {
            let last = out.last_mut().unwrap();
            last.1.pop();
            let kept = last.1.trim_end().len();
            last.1.truncate(kept);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn reduce(text: &str) -> String {
    let mut t = text.to_string();
    for (part, by) in REDUCTIONS.iter().chain(CONTAINER_PATHS) {
        t = t.replace(part, by);
    }
    t
}

/// Runs a document's commands in its sandbox; returns the failures and the time taken.
fn run_doc(doc: &Doc, tag: &str) -> (Vec<String>, f64) {
    let sandbox = std::env::temp_dir().join(format!("infrasim-docs-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&sandbox);
    copy_dir(
        &Path::new(ROOT).join("scenarios"),
        &sandbox.join("scenarios"),
    );
    let bin = sandbox.join(".bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("simulate")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t0 = Instant::now();
    let mut failures = vec![];
    for cmd in &doc.commands {
        for env in &cmd.envs {
            let text = reduce(&cmd.text);
            let mut c = Command::new("bash");
            c.arg("-c")
                .arg(&text)
                .current_dir(&sandbox)
                .env("PATH", &path);
            for (k, v) in env {
                c.env(k, v);
            }
            let Some(t) = cpu::try_run(&mut c, HANG) else {
                failures.push(format!(
                    "{}:{}: `{text}` {env:?} still running after {HANG:?} (killed)",
                    doc.file, cmd.line
                ));
                continue;
            };
            let (o, took) = (t.output, t.cpu);
            let code = o.status.code();
            if code != Some(0) || took > CPU_LIMIT {
                failures.push(format!(
                    "{}:{}: `{text}` {env:?} exited {code:?} after {:.1} s of CPU ({:.1} s)\n--- stdout (end)\n{}\n--- stderr\n{}",
                    doc.file,
                    cmd.line,
                    took.as_secs_f64(),
                    t.wall.as_secs_f64(),
                    tail(&String::from_utf8_lossy(&o.stdout)),
                    tail(&String::from_utf8_lossy(&o.stderr))
                ));
            }
        }
    }
    let _ = fs::remove_dir_all(&sandbox);
    (failures, t0.elapsed().as_secs_f64())
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[test]
fn the_extractor_reads_every_form_the_documents_use() {
    let doc = Doc {
        file: "x".into(),
        commands: block(
            "x",
            "sh",
            1,
            &[
                (1, "# a comment"),
                (2, "simulate scenarios/a.toml --sweep x=1,2 \\"),
                (3, "    --replications 3   # three"),
                (4, "cargo install --path . && simulate scenarios/b.toml"),
                (
                    5,
                    "simulate scenarios/c.toml --assert 'p99 <= 1s # not a comment'",
                ),
                (6, "cargo test --release"),
            ],
        ),
    };
    let console = block(
        "x",
        "",
        1,
        &[
            (1, "$ simulate scenarios/d.toml"),
            (2, "scenario d: 5 s simulated"),
        ],
    );
    assert_eq!(console.len(), 1);
    assert_eq!(console[0].text, "simulate scenarios/d.toml");
    let texts: Vec<&str> = doc.commands.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "simulate scenarios/a.toml --sweep x=1,2 --replications 3",
            "simulate scenarios/b.toml",
            "simulate scenarios/c.toml --assert 'p99 <= 1s # not a comment'",
        ]
    );
    assert_eq!(reduce("simulate x --runs 100000"), "simulate x --runs 1600");
}

#[test]
fn every_documented_command_runs() {
    let docs: Vec<Doc> = documents().iter().map(|p| extract(p)).collect();
    let total: usize = docs
        .iter()
        .map(|d| d.commands.iter().map(|c| c.envs.len()).sum::<usize>())
        .sum();
    // The documents show a few dozen commands; far fewer means the extractor lost them.
    assert!(total >= 30, "only {total} commands found in the documents");
    let found: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            d.commands
                .iter()
                .map(move |c| format!("{}:{}: {}", d.file, c.line, c.text))
        })
        .collect();
    eprintln!(
        "{} documented commands ({total} runs):\n{}",
        found.len(),
        found.join("\n")
    );
    // Two documents at a time (the machine has two cores).
    let results: Vec<(String, Vec<String>, f64)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<(usize, &Doc)>> = (0..2)
            .map(|k| {
                docs.iter()
                    .enumerate()
                    .filter(|(i, _)| i % 2 == k)
                    .collect()
            })
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, d)| {
                            let (f, t) = run_doc(d, &i.to_string());
                            (d.file.clone(), f, t)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut failures = vec![];
    for (file, f, secs) in results {
        eprintln!("{file}: {secs:.1} s");
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} documented command(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
