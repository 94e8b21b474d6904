//! Reading the user's files, bounded: a scenario, an empirical CSV, a `summary.json` to replay,
//! the files of shards to merge.
//!
//! Only a regular file is read (a symbolic link is followed to one), and only up to a size
//! given by the caller: `/dev/zero` or a file that keeps growing would exhaust memory, and a
//! FIFO or `/dev/stdin` would block forever (the file is opened without blocking and checked
//! again once open, so a FIFO swapped in between cannot block either).
//!
//! A scenario is also scanned before it is parsed ([`scan`]): a TOML document costs a few
//! hundred bytes of memory per key and value once parsed, so a 4 MiB file of one-byte values
//! would take a gigabyte. The scan counts them (and the nesting, and the length of every
//! string) in one pass over the tokens, without building anything, and stops at the first
//! limit crossed, naming the key and the line.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use toml_parser::Source;
use toml_parser::lexer::TokenKind;

use super::error::{Problem, line_at};

/// Largest scenario file: ten times the largest a scenario within the other limits needs.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;
/// Most keys, values, tables and lists a scenario may hold (in the file, and after `--set`).
pub const MAX_ITEMS: usize = 300_000;
/// Longest string or key (a distribution, a CSV path, a name: none needs more).
pub const MAX_STRING_BYTES: usize = 4096;
/// Deepest nesting of lists and inline tables.
pub const MAX_DEPTH: usize = 32;

/// Walks a one-column CSV file (an empirical sample, a profile's rates) of at most `limit`
/// bytes: `#` comments and blank lines skipped, spaces around a value trimmed. `each(line,
/// field, first)` gets every value with its line number, `first` for the first one (which may
/// be a header). Errors name the file and the line; `one` names a value in the message for a
/// line with several fields.
pub fn for_each_value(
    path: &Path,
    limit: u64,
    one: &str,
    mut each: impl FnMut(u64, &str, bool) -> Result<(), String>,
) -> Result<(), String> {
    let shown = path.display();
    let bytes = read_file(path, limit).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut first = true;
    for record in reader.records() {
        let record = record.map_err(|e| format!("{shown}: {e}"))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fields: Vec<&str> = record.iter().filter(|f| !f.is_empty()).collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() > 1 {
            return Err(format!(
                "{shown} line {line}: expected one {one} per line, found {} fields",
                fields.len()
            ));
        }
        each(line, fields[0], first)?;
        first = false;
    }
    Ok(())
}

/// Reads the regular file `path`, at most `limit` bytes. The error says what is wrong with the
/// file (callers name it).
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (file, len) = open_checked(path, limit)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(limit));
    }
    Ok(bytes)
}

/// Opens the regular file `path` for reading as a stream, with the checks and messages of
/// [`read_file`] (a regular file of at most `limit` bytes), without reading it.
pub fn open_file(path: &Path, limit: u64) -> Result<File, String> {
    open_checked(path, limit).map(|(file, _)| file)
}

/// The checks of [`read_file`] and [`open_file`]: a regular file (asked before opening, so that
/// a FIFO is never opened, and again of what was opened) of at most `limit` bytes; the file
/// and its length.
fn open_checked(path: &Path, limit: u64) -> Result<(File, u64), String> {
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(&meta).into());
    }
    let file = open_nonblocking(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(&meta).into());
    }
    if meta.len() > limit {
        return Err(too_big(limit));
    }
    Ok((file, meta.len()))
}

fn cannot(e: std::io::Error) -> String {
    format!("cannot read the file: {e}")
}

fn too_big(limit: u64) -> String {
    let size = if limit >= 1 << 20 {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{} KiB", limit >> 10)
    };
    format!("the file is larger than {size}, the most this input may be")
}

fn not_regular(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "is a FIFO (named pipe), not a regular file: reading it could block forever";
        }
        if t.is_char_device() || t.is_block_device() {
            return "is a device, not a regular file";
        }
        if t.is_socket() {
            return "is a socket, not a regular file";
        }
    }
    if meta.is_dir() {
        "is a folder, not a regular file"
    } else {
        "is not a regular file"
    }
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(nix::libc::O_NONBLOCK);
    }
    o.open(path)
}

/// Checks the size of a scenario's text before it is parsed: at most [`MAX_ITEMS`] keys and
/// values, strings of at most [`MAX_STRING_BYTES`], nesting at most [`MAX_DEPTH`] deep. The
/// problem names the key being read (the table header and the key, as written) and its line.
pub fn scan(text: &str) -> Result<(), Problem> {
    let source = Source::new(text);
    let mut items = 0usize;
    let mut depth = 0usize;
    // Where we are, for the message: the last table header and the key being assigned.
    let mut header = String::new();
    let mut key = String::new();
    let mut in_header = false;
    let mut header_parts: Vec<String> = vec![];
    let mut key_parts: Vec<String> = vec![];
    let mut after_equals = false;
    let mut line_start = true;
    let mut brackets = 0usize;
    for token in source.lex() {
        let kind = token.kind();
        let span = token.span();
        let raw = &text[span.start()..span.end()];
        let fail = |message: String| {
            let path = match (header.is_empty(), key.is_empty()) {
                (true, _) => key.clone(),
                (false, true) => header.clone(),
                (false, false) => format!("{header}.{key}"),
            };
            let mut p = Problem::new(path, message);
            p.line = Some(line_at(text, span.start()));
            p
        };
        match kind {
            TokenKind::Whitespace | TokenKind::Comment => continue,
            TokenKind::Newline => {
                if depth == 0 {
                    after_equals = false;
                    line_start = true;
                }
                continue;
            }
            _ => {}
        }
        let string = matches!(
            kind,
            TokenKind::BasicString
                | TokenKind::LiteralString
                | TokenKind::MlBasicString
                | TokenKind::MlLiteralString
                | TokenKind::Atom
        );
        if string && raw.len() > MAX_STRING_BYTES {
            return Err(fail(format!(
                "a string or key of {} bytes; at most {MAX_STRING_BYTES} are allowed",
                raw.len()
            )));
        }
        if string
            || matches!(
                kind,
                TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket
            )
        {
            items += 1;
            if items > MAX_ITEMS {
                return Err(fail(format!(
                    "the file holds more than {MAX_ITEMS} keys and values, the most a scenario \
                     may: is it the right file?"
                )));
            }
        }
        // Table headers: `[a.b]` or `[[a.b]]` at the start of a line, outside any value.
        if depth == 0 && !after_equals && line_start && kind == TokenKind::LeftSquareBracket {
            in_header = true;
            brackets += 1;
            continue;
        }
        if in_header {
            match kind {
                TokenKind::LeftSquareBracket => brackets += 1,
                TokenKind::RightSquareBracket => {
                    brackets = brackets.saturating_sub(1);
                    if brackets == 0 {
                        in_header = false;
                        line_start = false;
                        header = header_parts.join(".");
                        header_parts.clear();
                        key.clear();
                    }
                }
                TokenKind::Dot => {}
                _ => header_parts.push(unquote(raw)),
            }
            continue;
        }
        line_start = false;
        match kind {
            TokenKind::Equals if depth == 0 => {
                after_equals = true;
                key = key_parts.join(".");
                key_parts.clear();
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(fail(format!(
                        "lists and tables nested more than {MAX_DEPTH} deep"
                    )));
                }
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
            }
            _ if depth == 0 && !after_equals && string => key_parts.push(unquote(raw)),
            _ => {}
        }
    }
    Ok(())
}

fn unquote(raw: &str) -> String {
    raw.trim_matches(|c| c == '"' || c == '\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_names_the_key_and_line_of_what_is_too_big() {
        assert!(
            scan("duration = \"5s\"\n[workload]\nrate = 3\nphases = [{at = \"1s\", rate = 2}]\n")
                .is_ok()
        );
        let many = format!(
            "duration = \"5s\"\n\n[workload]\nphases = [{}]\n",
            vec!["1"; MAX_ITEMS].join(",")
        );
        let p = scan(&many).unwrap_err();
        assert_eq!(p.key, "workload.phases");
        assert_eq!(p.line, Some(4));
        assert!(p.message.contains("300000"), "{}", p.message);
        let long = format!("name = \"{}\"\n", "a".repeat(MAX_STRING_BYTES));
        let p = scan(&long).unwrap_err();
        assert_eq!((p.key.as_str(), p.line), ("name", Some(1)));
        let deep = format!("x = {}{}", "[".repeat(40), "]".repeat(40));
        let p = scan(&deep).unwrap_err();
        assert_eq!(p.key, "x");
        assert!(p.message.contains("nested"), "{}", p.message);
        let tables = format!(
            "a = 1\n{}",
            "[[faults]]\ntarget = \"x\"\n".repeat(MAX_ITEMS / 2)
        );
        let p = scan(&tables).unwrap_err();
        assert!(p.key.starts_with("faults"), "{}", p.key);
    }

    #[test]
    fn only_regular_files_are_read_and_only_so_much() {
        let dir = std::env::temp_dir().join(format!("infrasim-input-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.toml");
        std::fs::write(&f, "12345").unwrap();
        assert_eq!(read_file(&f, 5).unwrap(), b"12345");
        assert!(read_file(&f, 4).unwrap_err().contains("larger than"));
        assert!(read_file(&dir, 5).unwrap_err().contains("folder"));
        assert!(
            read_file(Path::new("/dev/zero"), 5)
                .unwrap_err()
                .contains("device")
        );
        let fifo = dir.join("fifo");
        if std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(read_file(&fifo, 5).unwrap_err().contains("FIFO"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
