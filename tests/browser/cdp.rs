//! A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`: no crate beyond
//! serde_json, no network port, no websocket.
//!
//! With `--remote-debugging-pipe`, Chromium reads commands from file descriptor 3 and writes
//! replies and events to file descriptor 4, each message one JSON object ended by a NUL byte
//! (chromium/src/content/browser/devtools/devtools_pipe_handler.cc). `sh` wires the child's
//! stdin to its fd 3 and its stdout to its fd 4, so the standard library's pipes suffice.
//!
//! Every wait has a deadline; when it passes, the browser's whole process group is killed
//! (Chromium forks renderer and GPU helpers) and the call returns an error.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A headless Chromium driven over the pipe, with one page (tab) attached.
pub struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    session: String,
    deadline: Instant,
    /// Console errors, uncaught exceptions and failed loads seen so far, as text.
    pub errors: Vec<String>,
    /// Whether the page's `load` event has fired since the last navigation.
    loaded: bool,
    /// The browser's profile folder, this browser's own; removed when it closes.
    profile: PathBuf,
}

/// The browser executable: `$INFRASIM_CHROMIUM`, else Debian's `chromium`.
pub fn executable() -> String {
    std::env::var("INFRASIM_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Browser {
    /// Starts the browser with a `width` x `height` viewport; everything it does must finish
    /// within `budget`.
    pub fn start(width: u32, height: u32, budget: Duration) -> Result<Browser, String> {
        // A profile of its own per browser: Chromium refuses a profile another live Chromium
        // holds (its SingletonLock: "Failed to create a ProcessSingleton for your profile
        // directory ... Aborting now", exit 21), and the tests of this binary start their
        // browsers side by side.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "infrasim-chromium-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        let exe = executable();
        // fd 3 <- our pipe into its stdin, fd 4 -> our pipe from its stdout; its own stdin and
        // stdout then go nowhere so nothing else is mixed into the protocol stream.
        let script = format!(
            "exec \"$0\" --headless --disable-gpu --no-sandbox --hide-scrollbars \
             --no-first-run --no-default-browser-check --disable-extensions \
             --disable-background-networking --disable-sync --mute-audio \
             --user-data-dir=\"$1\" --window-size={width},{height} \
             --remote-debugging-pipe about:blank 3<&0 4>&1 </dev/null >/dev/null 2>/dev/null"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&exe)
            .arg(&profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so that a timeout kills the helpers too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {exe} through sh: {e}"))?;
        let to = child.stdin.take().ok_or("no stdin")?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = vec![];
            while let Ok(n) = r.read_until(0, &mut buf) {
                if n == 0 {
                    break;
                }
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to,
            from: rx,
            next_id: 0,
            session: String::new(),
            deadline: Instant::now() + budget,
            errors: vec![],
            loaded: false,
            profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}))?;
        let target_id = target["targetId"]
            .as_str()
            .ok_or("no targetId")?
            .to_string();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )?;
        b.session = attached["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            b.call(domain, json!({}))?;
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(b)
    }

    /// Sends a command (to the page once attached) and waits for its reply, recording the
    /// events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .and_then(|_| self.to.flush())
            .map_err(|e| format!("{method}: the browser closed its pipe: {e}"))?;
        loop {
            let v = self.recv(method)?;
            if v["id"].as_u64() == Some(id) {
                if let Some(err) = v.get("error") {
                    return Err(format!("{method}: {err}"));
                }
                return Ok(v["result"].clone());
            }
            self.event(&v);
        }
    }

    /// Opens `url` and waits for its `load` event (every image loaded or failed).
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        self.loaded = false;
        let r = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(e) = r.get("errorText") {
            return Err(format!("navigating to {url}: {e}"));
        }
        while !self.loaded {
            let v = self.recv("the load event")?;
            self.event(&v);
        }
        Ok(())
    }

    /// Evaluates a JavaScript expression in the page and returns its value (JSON).
    pub fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{expr}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&mut self) -> Result<Vec<u8>, String> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        base64(r["data"].as_str().ok_or("no screenshot data")?)
    }

    fn recv(&mut self, what: &str) -> Result<Value, String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(format!(
                    "timed out waiting for {what}; the browser was killed"
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(format!("the browser exited while waiting for {what}"))
            }
        }
    }

    /// Records what a test must see: console errors, uncaught exceptions, log errors (a file
    /// that failed to load is one), and the load event.
    fn event(&mut self, v: &Value) {
        let p = &v["params"];
        match v["method"].as_str().unwrap_or("") {
            "Page.loadEventFired" => self.loaded = true,
            "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                self.errors
                    .push(format!("console.{}: {}", p["type"], p["args"]));
            }
            "Runtime.exceptionThrown" => {
                self.errors
                    .push(format!("exception: {}", p["exceptionDetails"]));
            }
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                self.errors.push(format!(
                    "{}: {} ({})",
                    p["entry"]["source"], p["entry"]["text"], p["entry"]["url"]
                ));
            }
            _ => {}
        }
    }

    fn kill(&mut self) {
        // The negative id names the process group the browser leads.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut closed = false;
        while !closed && Instant::now() < deadline {
            closed = matches!(self.child.try_wait(), Ok(Some(_)));
            if !closed {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if !closed {
            self.kill();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (RFC 4648 §4), as CDP sends binary data.
fn base64(s: &str) -> Result<Vec<u8>, String> {
    let val = |c: u8| -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("bad base64 byte {c}")),
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Ok(out)
}

#[test]
fn base64_decodes() {
    assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64("aGk=").unwrap(), b"hi");
    assert_eq!(base64("YWJj").unwrap(), b"abc");
}
