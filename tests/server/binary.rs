//! The real `sessionspec serve` binary: prints its address, serves, exits 0 on SIGTERM; bad
//! arguments exit 2 with one line on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{client, send};

const BIN: &str = env!("CARGO_BIN_EXE_sessionspec");

/// Kills the child if the test fails half-way, so no server outlives the test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Waits for the child to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[tokio::test]
async fn serve_binary_logs_in_and_stops_on_sigterm() {
    let child = Command::new(BIN)
        .args(["serve", "--dialect", "rails-jwt", "--hash-cost", "low"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut guard = Guard(child);
    let stdout = guard.0.stdout.take().expect("piped stdout");
    let stderr = guard.0.stderr.take().expect("piped stderr");
    let metrics_line = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("metrics on "))
    });
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(20), line)
        .await
        .expect("the first line comes in time")
        .expect("the reader task")
        .expect("stdout is readable");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let r = send(
        client()
            .post(format!("{base}/api/v1/sessions"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=foo%40bar.com&password=foobar"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["auth_token"].is_string());

    let metrics_url = tokio::time::timeout(Duration::from_secs(20), metrics_line)
        .await
        .expect("the metrics line comes in time")
        .expect("the reader task")
        .expect("serve prints where its metrics are");
    let metrics_url = metrics_url.trim_start_matches("metrics on ").to_string();
    let page = send(client().get(&metrics_url)).await;
    assert_eq!(page.status, 200);
    let text = String::from_utf8(page.body).expect("UTF-8 metrics");
    assert!(
        text.contains("sessionspec_server_logins_total{status=\"200\"} 1"),
        "{text}"
    );

    let pid = guard.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut guard.0, Duration::from_secs(15));
        (status, guard)
    });
    let (status, _guard) = status.await.expect("the waiting task");
    let status = status.expect("the server exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "clean exit");
}

#[test]
fn serve_binary_rejects_bad_arguments() {
    for args in [
        &["serve", "--dialect", "django"][..],
        &["serve", "--dialect", "rails-jwt", "--fault", "slow"],
        &["serve", "--dialect", "rails-jwt", "--addr", "nowhere"],
        &["serve", "--dialect", "rails-jwt", "--hash-cost", "max"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .output()
            .expect("the binary runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
