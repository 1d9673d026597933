//! Secrets never leak: no password, secret variable or issued token reaches stdout, stderr or any
//! report file, in any encoding (plain, URL-encoded, form-encoded, JSON-escaped, HTML/XML-escaped).
//!
//! The shipped specs run against the in-process reference server through a recording proxy, so the
//! test knows every token the server issued; the fixture spec `tests/hostile-specs/secrets.json` sends
//! `--var` secrets everywhere to the hostile server, whose `/echo` sends them all back.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use sessionspec::server::{start, Dialect, Fault, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::hostile::HostileServer;
use crate::support;

const SECRET_THING: &str = "Sup3r-Distinctive-Secret-42";
/// Spaces, quotes and characters that URL, JSON, HTML and XML encode.
const SECRET_PHRASE: &str = r#"Zq9 "Wobbly Kumquat" <&/%+> 7x"#;
/// Parts of the secrets that survive every encoding: none may appear anywhere.
const SECRET_FRAGMENTS: &[&str] = &["Distinctive-Secret", "Sup3r", "Wobbly", "Kumquat"];

/// Fixture passwords and API tokens of `docs/dialects.md`, by the dialect that uses them.
const FIXTURE_SECRETS: &[(&str, &[&str])] = &[
    ("jsonapi-sessions", &["correct horse battery staple"]),
    ("sessions-service", &["s3cret-Passw0rd"]),
    ("rails-jwt", &["foobar"]),
    ("form-sessions", &["somepassword", "form-api-token-0001"]),
    (
        "drf-sessions",
        &["user3-password", "user4-password", "client1-password"],
    ),
];

/// Where `docs/dialects.md` puts each dialect's session secrets in a response: patterns whose first
/// group is the secret.
const DOCUMENTED_TOKENS: &[(&str, &[&str])] = &[
    (
        "jsonapi-sessions",
        &[
            r#""id"\s*:\s*"([^"\\]{8,})""#,
            r"/v1/sessions/([A-Za-z0-9_-]{8,})",
        ],
    ),
    ("sessions-service", &[r#""apiKey"\s*:\s*"([^"\\]{8,})""#]),
    ("rails-jwt", &[r#""auth_token"\s*:\s*"([^"\\]{8,})""#]),
    ("form-sessions", &[r"_form_session=([^;\s]{8,})"]),
    ("drf-sessions", &[r#""access"\s*:\s*"([^"\\]{8,})""#]),
];

/// Every form a secret may take in an output.
fn encoded_forms(secret: &str) -> BTreeSet<String> {
    let pct: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let json = serde_json::to_string(secret).expect("a string serialises");
    let json = json[1..json.len() - 1].to_owned();
    let mut forms = BTreeSet::from([secret.to_owned(), pct.replace("%20", "+"), json.clone()]);
    forms.insert(pct.to_lowercase().replace("%20", "+"));
    forms.insert(pct);
    for f in [secret.to_owned(), json] {
        let html = f
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        forms.insert(html.replace('"', "&quot;").replace('\'', "&#39;"));
        forms.insert(html.replace('"', "&#34;").replace('\'', "&apos;"));
        forms.insert(html);
    }
    forms
}

/// Everything a run wrote: stdout, stderr and every file under `dir`.
fn all_outputs(out: &support::RunOutput, dir: &Path) -> Vec<(String, String)> {
    let mut outputs = vec![
        ("stdout".to_owned(), out.stdout.clone()),
        ("stderr".to_owned(), out.stderr.clone()),
    ];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read report dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let name = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                outputs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    outputs
}

/// Every place where a form of a secret appears in an output.
fn leaks(outputs: &[(String, String)], secrets: &BTreeSet<String>) -> Vec<String> {
    let mut leaks = Vec::new();
    for secret in secrets {
        for form in encoded_forms(secret) {
            for (name, text) in outputs {
                if let Some(at) = text.find(&form) {
                    leaks.push(format!(
                        "{name}: `{form}` in …{}…",
                        excerpt(text, at, form.len())
                    ));
                }
            }
        }
    }
    leaks
}

/// Up to 80 bytes either side of `text[at..at + len]`, cut at character boundaries.
fn excerpt(text: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(80);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 80).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    &text[start..end]
}

fn report_args(dir: &Path, formats: &[(&str, &str)]) -> Vec<String> {
    formats
        .iter()
        .flat_map(|(format, file)| {
            [
                "--report".to_owned(),
                format!("{format}:{}", dir.join(file).display()),
            ]
        })
        .collect()
}

const CHECK_REPORTS: &[(&str, &str)] = &[
    ("json", "r.json"),
    ("junit", "r.xml"),
    ("markdown", "r.md"),
    ("html", "r.html"),
];

/// Runs `check` on a fixture spec of `tests/hostile-specs/` against the hostile server with the
/// distinctive secrets, and returns every secret (or part of one) found in an output.
fn check_fixture_spec(file: &str, with_login: bool) -> Vec<String> {
    let server = HostileServer::start();
    let dir = support::temp_dir();
    let mut args = vec![
        "check".to_owned(),
        "--spec".to_owned(),
        format!("tests/hostile-specs/{file}"),
        "--target".to_owned(),
        server.base_url(),
        "--timeout".to_owned(),
        "5s".to_owned(),
        "--var".to_owned(),
        format!("secret_phrase={SECRET_PHRASE}"),
    ];
    if with_login {
        args.extend(["--var".to_owned(), format!("secret_thing={SECRET_THING}")]);
    }
    args.extend(report_args(dir.path(), CHECK_REPORTS));
    let out = support::run(&args, Duration::from_secs(20));
    // Every case fails; where one errors (its answer is not HTTP) the verdict is `error`, exit 2.
    let errored = out.stdout.contains("  ERR  ");
    let want = if errored { 2 } else { 1 };
    assert_eq!(
        out.code,
        Some(want),
        "every case fails\n{}",
        out.transcript()
    );

    let outputs = all_outputs(&out, dir.path());
    assert_eq!(
        outputs.len(),
        2 + CHECK_REPORTS.len(),
        "every report was written"
    );
    for (name, text) in outputs.iter().filter(|(n, _)| n != "stderr") {
        assert!(
            text.contains("***"),
            "{name}: the masked secrets are shown as ***\n{text}"
        );
    }
    // Every step but the one answered with garbage reached the echo: every secret went out and came back.
    let (_, run) = support::read_json_report(&dir.path().join("r.json"));
    for case in run.specs.iter().flat_map(|s| &s.cases) {
        for step in case.steps.iter().filter(|s| s.call != "garbage") {
            let status = step.response.as_ref().map(|r| r.status);
            assert!(
                matches!(status, Some(200 | 400)),
                "{} step {}: {status:?}",
                case.id,
                step.index
            );
        }
    }
    let tokens = server.issued_tokens();
    assert_eq!(
        !tokens.is_empty(),
        with_login,
        "the login step ran\n{}",
        out.transcript()
    );
    let mut secrets: BTreeSet<String> = tokens.into_iter().collect();
    secrets.extend([SECRET_THING.to_owned(), SECRET_PHRASE.to_owned()]);
    let mut found = leaks(&outputs, &secrets);
    // Whatever the encoding, these words of the secrets must be gone.
    for (name, text) in &outputs {
        for fragment in SECRET_FRAGMENTS {
            if let Some(at) = text.find(fragment) {
                let around = excerpt(text, at, fragment.len());
                found.push(format!(
                    "{name}: a part of a secret, `{fragment}`, in …{around}…"
                ));
            }
        }
    }
    found
}

#[test]
fn secret_variables_and_captures_reach_no_output() {
    let found = check_fixture_spec("secrets.json", true);
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[test]
fn a_secret_escaped_twice_in_a_response_reaches_no_output() {
    let found = check_fixture_spec("secrets-nested.json", false);
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

/// A TCP proxy to `upstream` that records every byte the upstream answered.
struct RecordingProxy {
    addr: std::net::SocketAddr,
    answered: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    async fn start(upstream: std::net::SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let answered = Arc::new(Mutex::new(Vec::new()));
        let rec = answered.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, rec.clone()));
            }
        });
        RecordingProxy { addr, answered }
    }

    fn answered(&self) -> String {
        let bytes = self.answered.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

async fn relay(client: TcpStream, upstream: std::net::SocketAddr, rec: Arc<Mutex<Vec<u8>>>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if let Ok(mut r) = rec.lock() {
                r.extend_from_slice(&buf[..n]);
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down);
}

/// JWTs (`eyJ…` header `.` payload `.` signature) in a text.
fn jwts(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+").expect("regex");
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

/// The secret values the server handed out, found in the recorded responses: JWTs, the documented
/// token fields of the dialect, and every value the spec captures as secret (by JSON key, header or
/// cookie name).
fn issued_secrets(dialect: &str, spec: &Value, answered: &str) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = BTreeSet::new();
    let mut headers: BTreeSet<String> = BTreeSet::new();
    let mut cookies: BTreeSet<String> = BTreeSet::new();
    let mut patterns: Vec<String> = DOCUMENTED_TOKENS
        .iter()
        .filter(|(d, _)| *d == dialect)
        .flat_map(|(_, p)| p.iter().map(std::string::ToString::to_string))
        .collect();
    let mut captures: Vec<&Value> = Vec::new();
    if let Some(ops) = spec["operations"].as_object() {
        captures.extend(ops.values().filter_map(|op| op.get("capture")));
    }
    if let Some(cases) = spec["cases"].as_array() {
        for step in cases.iter().filter_map(|c| c["steps"].as_array()).flatten() {
            captures.extend(step.get("capture"));
        }
    }
    for capture in captures
        .iter()
        .filter_map(|c| c.as_object())
        .flat_map(|m| m.values())
    {
        if capture["secret"] != Value::Bool(true) {
            continue;
        }
        if let Some(p) = capture["json"].as_str() {
            keys.extend(p.rsplit('/').next().map(str::to_owned));
        }
        headers.extend(capture["header"].as_str().map(str::to_owned));
        cookies.extend(capture["cookie"].as_str().map(str::to_owned));
    }
    for k in &keys {
        patterns.push(format!(r#""{}"\s*:\s*"([^"\\]{{8,}})""#, regex::escape(k)));
    }
    for h in &headers {
        patterns.push(format!(r"(?im)^{}:[ \t]*([^\r\n]{{8,}})", regex::escape(h)));
    }
    for c in &cookies {
        patterns.push(format!(r"{}=([^;\s]{{8,}})", regex::escape(c)));
    }
    let mut found = jwts(answered);
    for p in &patterns {
        let re = Regex::new(p).expect("regex");
        found.extend(re.captures_iter(answered).map(|c| c[1].to_owned()));
    }
    found
}

/// Runs `sessionspec ARGS --target URL` against the in-process reference server of `dialect` (with
/// `faults`, so that cases fail and requests are shown) through a recording proxy, and returns every
/// password or issued token that reached stdout, stderr or a file of the report directory.
fn run_against_reference(
    dialect: Dialect,
    faults: &[Fault],
    args: &[&str],
    label: &str,
) -> Vec<String> {
    let name = dialect.as_str();
    let spec_path = support::root().join("specs").join(format!("{name}.json"));
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(&spec_path).unwrap_or_else(|e| panic!("no spec {name}: {e}")),
    )
    .expect("the shipped spec is JSON");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = ServerConfig::new(dialect);
    config.faults = faults.to_vec();
    let server = runtime
        .block_on(start(config))
        .expect("reference server starts");
    let proxy = runtime.block_on(RecordingProxy::start(server.addr()));

    let dir = support::temp_dir();
    let mut argv: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
    argv.extend(["--target".to_owned(), format!("http://{}", proxy.addr)]);
    let formats = if args[0] == "load" {
        LOAD_REPORTS
    } else {
        CHECK_REPORTS
    };
    argv.extend(report_args(dir.path(), formats));
    let out = support::run(&argv, Duration::from_secs(30));
    runtime.block_on(server.shutdown());
    assert!(
        matches!(out.code, Some(0..=2)),
        "{label}: {}",
        out.transcript()
    );

    let issued = issued_secrets(name, &spec, &proxy.answered());
    assert!(
        !issued.is_empty(),
        "{label}: the server issued tokens\n{}",
        out.transcript()
    );
    let outputs = all_outputs(&out, dir.path());
    assert_eq!(
        outputs.len(),
        2 + formats.len(),
        "{label}: every report was written"
    );
    let mut secrets: BTreeSet<String> = FIXTURE_SECRETS
        .iter()
        .filter(|(d, _)| *d == name)
        .flat_map(|(_, s)| s.iter().map(std::string::ToString::to_string))
        .collect();
    secrets.extend(issued);
    let mut found: Vec<String> = leaks(&outputs, &secrets)
        .into_iter()
        .map(|l| format!("{label}: {l}"))
        .collect();

    // No JWT at all, except ones written in the spec itself (forged or expired examples).
    let in_spec = jwts(&spec.to_string());
    for (file, text) in &outputs {
        for t in jwts(text).into_iter().filter(|t| !in_spec.contains(t)) {
            found.push(format!("{label}: {file} shows the JWT {t}"));
        }
    }
    found
}

/// Checks every shipped spec with `faults` and fails listing every leak of every spec.
fn assert_shipped_specs_leak_nothing(faults: &[Fault]) {
    let found: Vec<String> = Dialect::ALL
        .into_iter()
        .flat_map(|d| {
            let args = ["check", "--spec", d.as_str(), "--timeout", "5s"];
            run_against_reference(d, faults, &args, d.as_str())
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn shipped_specs_leak_no_password_or_token_when_cases_fail() {
    assert_shipped_specs_leak_nothing(&[Fault::EnumerateUsers, Fault::NoRevoke]);
}

#[test]
fn shipped_specs_leak_no_token_when_the_token_field_drifts() {
    // The token comes back under another name: the spec cannot capture it, the body is still shown.
    assert_shipped_specs_leak_nothing(&[Fault::SchemaDrift]);
}

const LOAD_REPORTS: &[(&str, &str)] = &[
    ("json", "load.json"),
    ("markdown", "load.md"),
    ("html", "load.html"),
];

/// The first shipped scenario (by file name) of each spec.
fn one_scenario_per_spec() -> Vec<(Dialect, String)> {
    let files = sessionspec::spec::spec_files(&support::root().join("scenarios"))
        .expect("scenarios/ is readable");
    let mut picked: Vec<(Dialect, String)> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read scenario");
        let scenario: Value = serde_json::from_str(&text).expect("a scenario is JSON");
        let Some(dialect) = scenario["spec"]
            .as_str()
            .and_then(|s| s.parse::<Dialect>().ok())
        else {
            continue;
        };
        if picked.iter().all(|(d, _)| *d != dialect) {
            picked.push((dialect, file.display().to_string()));
        }
    }
    picked
}

#[test]
fn load_runs_leak_no_password_or_token() {
    let scenarios = one_scenario_per_spec();
    assert_eq!(
        scenarios.len(),
        Dialect::ALL.len(),
        "a scenario per spec: {scenarios:?}"
    );
    // Flaky: every 20th request answers 500, so goose records errors (with their request paths).
    let found: Vec<String> = scenarios
        .iter()
        .flat_map(|(dialect, scenario)| {
            let args = [
                "load",
                "--scenario",
                scenario,
                "--run-time",
                "1s",
                "--users",
                "2",
            ];
            run_against_reference(*dialect, &[Fault::Flaky], &args, scenario)
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}
