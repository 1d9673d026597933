//! Shared helpers of the integration tests: the built binary, running it with a time bound, temp dirs.
//!
//! Every run is bounded: a child that outlives its bound is killed and the test fails.

#![allow(dead_code)] // Each test module uses a subset.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use sessionspec::check::outcome::RunOutcome;

/// Path of the `sessionspec` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sessionspec"))
}

/// The crate root: the working directory of every run (so `specs/` and `scenarios/` resolve).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sessionspec-test-")
        .tempdir()
        .expect("cannot create a temporary directory")
}

/// What a finished run printed and how it ended.
#[derive(Debug)]
pub struct RunOutput {
    /// The exit code; `None` when the process was ended by a signal.
    pub code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl RunOutput {
    /// Both streams, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "exit code {:?} (signal {:?}) after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.signal, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// A running `sessionspec` process whose stdout and stderr are read by threads.
pub struct Running {
    child: Child,
    started: Instant,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// Starts `sessionspec ARGS` in the crate root with piped output.
pub fn spawn<I, S>(args: I) -> Running
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot start the sessionspec binary");
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    Running {
        child,
        started: Instant::now(),
        stdout,
        stderr,
    }
}

/// Runs `sessionspec ARGS` and waits at most `bound`; panics (after killing it) if it runs longer.
pub fn run<I, S>(args: I, bound: Duration) -> RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    spawn(args).wait(bound)
}

fn reader(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`INT`, `TERM`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("cannot run `kill`");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// Time since the process started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits for the process to end within `bound` (counted from now); kills it and panics otherwise.
    pub fn wait(mut self, bound: Duration) -> RunOutput {
        let deadline = Instant::now() + bound;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let out = self.collect(None);
                    panic!(
                        "sessionspec did not end within {bound:?}; killed it\n{}",
                        out.transcript()
                    );
                }
                Err(e) => panic!("cannot wait for sessionspec: {e}"),
            }
        };
        self.collect(Some(status))
    }

    fn collect(&mut self, status: Option<ExitStatus>) -> RunOutput {
        use std::os::unix::process::ExitStatusExt;
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        RunOutput {
            code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A panicking test must not leave its child behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A path inside `dir` as a `String` argument.
pub fn arg(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// Reads and parses a JSON report into the outcome model.
pub fn read_json_report(path: &std::path::Path) -> (Value, RunOutcome) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no JSON report at {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the JSON report is not JSON ({e}):\n{text}"));
    let outcome: RunOutcome = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("the JSON report is not a RunOutcome ({e}):\n{text}"));
    (value, outcome)
}

/// Parses a JUnit XML file to the end and returns how many `<testcase>` and `<failure>`/`<error>`
/// elements it has.
pub fn parse_junit(path: &std::path::Path) -> (usize, usize) {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no JUnit report at {}: {e}", path.display()));
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => match e.name().as_ref() {
                b"testcase" => cases += 1,
                b"failure" | b"error" => failures += 1,
                _ => {}
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "the JUnit report is not XML at byte {}: {e}\n{text}",
                reader.error_position()
            ),
        }
    }
    (cases, failures)
}
