//! The README stays true: its spec table lists every case of every spec, and CI runs its test command.

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn readme_table_lists_every_case_of_every_spec() {
    let readme = read("README.md");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let files = sessionspec::spec::spec_files(&dir).expect("specs/ is readable");
    assert_eq!(files.len(), 5, "five specs, one per source document");
    let mut missing = Vec::new();
    for file in files {
        let loaded = sessionspec::spec::load_spec(&file).expect("shipped spec loads");
        let spec = &loaded.spec;
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| [`{}`]", spec.name)))
            .unwrap_or_else(|| panic!("README has no row for spec `{}`", spec.name));
        assert!(
            row.contains(&spec.source),
            "row of `{}` names its source document",
            spec.name
        );
        for case in &spec.cases {
            if !row.contains(&format!("`{}`", case.id)) {
                missing.push(format!("{}/{}", spec.name, case.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README's spec table misses cases (run scripts/spec-table.py): {missing:?}"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    let commands: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .expect("README has a first shell block")
        .lines()
        .take_while(|l| !l.starts_with("```"))
        .collect();
    assert_eq!(
        commands.len(),
        2,
        "the first block holds exactly the two commands"
    );
    assert!(commands[0].contains(" check") && commands[0].contains(" load --scenario"));
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == commands[1].trim()),
        "`.ci/run` runs the README's test command `{}`",
        commands[1]
    );
}

/// One line of the README's tour: the command, whether it runs in the background, the exit code
/// its comment promises.
struct TourLine {
    args: Vec<String>,
    background: bool,
    code: Option<i32>,
}

/// Splits a shell line into words (single quotes group; nothing else of shell syntax is used).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn tour() -> Vec<TourLine> {
    let readme = read("README.md");
    let block = readme
        .split("<!-- tour -->\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a tour block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (cmd, comment) = l.split_once('#').unwrap_or((l, ""));
            let mut args = words(cmd);
            let background = args.last().is_some_and(|a| a == "&");
            if background {
                args.pop();
            }
            assert_eq!(args.first().map(String::as_str), Some("sessionspec"), "{l}");
            args.remove(0);
            let code = comment
                .trim()
                .split(':')
                .next()
                .and_then(|c| c.trim().parse().ok());
            assert!(
                background || code.is_some(),
                "tour line without `# N:`: {l}"
            );
            TourLine {
                args,
                background,
                code,
            }
        })
        .collect()
}

#[test]
fn the_readme_tour_runs_as_written() {
    let lines = tour();
    assert!(lines.len() >= 8, "{} tour lines", lines.len());
    let free = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let ports = [("3000", free()), ("3443", free())];
    let mut background = Vec::new();
    for line in lines {
        let args: Vec<String> = line
            .args
            .iter()
            .map(|a| {
                ports
                    .iter()
                    .fold(a.clone(), |a, (from, to)| a.replace(from, to))
            })
            .collect();
        if line.background {
            let port = ports
                .iter()
                .find(|(_, to)| args.iter().any(|a| a.ends_with(&format!(":{to}"))))
                .map(|(_, to)| to.clone())
                .expect("a background server listens on a tour port");
            let running = crate::support::spawn(&args);
            let started = std::time::Instant::now();
            while std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(30),
                    "`{}` did not start listening",
                    args.join(" ")
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            background.push(running);
            continue;
        }
        let out = crate::support::run(&args, std::time::Duration::from_secs(120));
        assert_eq!(
            out.code,
            line.code,
            "`{}`\n{}",
            args.join(" "),
            out.transcript()
        );
    }
    for running in background {
        running.signal("TERM");
        let out = running.wait(std::time::Duration::from_secs(10));
        assert_eq!(
            out.code,
            Some(0),
            "a server stops cleanly on SIGTERM\n{}",
            out.transcript()
        );
    }
}

/// After `cargo install`, outside the repository: the shipped specs and scenarios are built in.
#[test]
fn shipped_specs_and_scenarios_work_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(crate::support::bin())
            .args(args)
            .current_dir(elsewhere.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs")
    };
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&out.stdout);
    for name in ["rails-jwt", "drf-sessions", "drf-login-list-logout"] {
        assert!(listed.contains(name), "{listed}");
    }
    assert!(
        listed.contains("source 002_1e936a5e7d3ba711.txt"),
        "{listed}"
    );
    assert!(listed.contains("built in"), "{listed}");
    let out = run(&["check", "--spec", "rails-jwt"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("builtin:specs/rails-jwt.json") || stdout.contains("1 spec conforms"),
        "{stdout}"
    );
    let out = run(&[
        "load",
        "--scenario",
        "rails-jwt-login",
        "--run-time",
        "1s",
        "--users",
        "2",
        "--hash-cost",
        "low",
        "--report",
        "json:load.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["check", "--spec", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("known: drf-sessions, form-sessions"), "{err}");
}
