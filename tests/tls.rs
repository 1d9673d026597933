//! HTTPS end to end on loopback: the reference server over TLS (self-signed or a given pair),
//! `check` trusting it through an extra CA, refusing it without, accepting anything when
//! insecure; certificate errors as one line; fixed name resolution; HTTP/2 through ALPN unless
//! HTTP/1.1 only; graceful shutdown with open and half-open connections.

use std::path::Path;
use std::time::{Duration, Instant};

use sessionspec::check::outcome::{CaseStatus, RunOutcome};
use sessionspec::check::{run_specs, CheckPlan, Target};
use sessionspec::server::{self, Dialect, RunningServer, ServerConfig, ServerTls};
use sessionspec::spec::{load_spec, LoadedSpec};
use sessionspec::tls::{CaCerts, ClientTls, Resolve};
use sessionspec::verdict::Verdict;

/// Bound of one test's network work.
const BOUND: Duration = Duration::from_secs(60);

fn rails_jwt() -> LoadedSpec {
    load_spec(Path::new("specs/rails-jwt.json")).unwrap_or_else(|e| panic!("{e}"))
}

async fn tls_server(tls: ServerTls) -> RunningServer {
    let mut config = ServerConfig::new(Dialect::RailsJwt);
    config.tls = Some(tls);
    server::start(config).await.expect("the TLS server starts")
}

fn trusting(tls: &ServerTls) -> ClientTls {
    ClientTls {
        ca_certs: vec![CaCerts::from_pem("server.pem", tls.cert_pem()).expect("the PEM is valid")],
        ..ClientTls::default()
    }
}

async fn check(url: &str, tls: ClientTls) -> RunOutcome {
    let mut plan = CheckPlan::new(vec![rails_jwt()], Target::Url(url.to_owned()));
    plan.options.strict = true;
    plan.tls = tls;
    tokio::time::timeout(BOUND, run_specs(&plan))
        .await
        .expect("the run ends in time")
}

fn failures(outcome: &RunOutcome) -> String {
    let mut out = format!("run error: {:?}\n", outcome.error);
    for s in &outcome.specs {
        out.push_str(&format!("spec error: {:?}\n", s.error));
        for c in s.cases.iter().filter(|c| c.status != CaseStatus::Passed) {
            out.push_str(&format!("{}: {:?}\n", c.id, c.first_failure()));
        }
    }
    out
}

/// The run-level error of a run whose probe failed: every case skipped, verdict `error`.
fn probe_error(outcome: &RunOutcome) -> String {
    let error = outcome.error.clone().expect("the probe fails the run");
    assert_eq!(outcome.verdict(), Verdict::Error);
    assert!(outcome.specs[0]
        .cases
        .iter()
        .all(|c| c.status == CaseStatus::Skipped));
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

/// A certificate for `names` valid from `not_before` to `not_after` (years), and its key.
fn certificate(names: &[&str], years: (i32, i32)) -> ServerTls {
    let names: Vec<String> = names.iter().map(std::string::ToString::to_string).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    ServerTls::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_over_tls_with_the_self_signed_certificate_as_ca() {
    let tls = ServerTls::self_signed().unwrap();
    let server = tls_server(tls.clone()).await;
    let base = server.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert!(server.is_tls());
    let outcome = check(&base, trusting(&tls)).await;
    assert!(outcome.conforms(), "{}", failures(&outcome));
    assert_eq!(outcome.specs[0].target, base);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_conforms_over_http2() {
    let tls = ServerTls::self_signed().unwrap();
    for dialect in Dialect::ALL {
        let mut config = ServerConfig::new(dialect);
        config.tls = Some(tls.clone());
        let server = server::start(config).await.unwrap();
        let spec = load_spec(Path::new(&format!("specs/{dialect}.json"))).unwrap();
        let mut plan = CheckPlan::new(vec![spec], Target::Url(server.base_url()));
        plan.options.strict = true;
        plan.tls = trusting(&tls);
        let outcome = tokio::time::timeout(BOUND, run_specs(&plan)).await.unwrap();
        assert!(outcome.conforms(), "{dialect}: {}", failures(&outcome));
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_probe_names_the_unknown_issuer() {
    let server = tls_server(ServerTls::self_signed().unwrap()).await;
    let base = server.base_url();
    let outcome = check(&base, ClientTls::default()).await;
    assert_eq!(
        probe_error(&outcome),
        format!(
            "target {base} is unreachable: TLS: certificate from an unknown issuer (pass --cacert FILE or --insecure)"
        )
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_the_self_signed_certificate() {
    let server = tls_server(ServerTls::self_signed().unwrap()).await;
    let insecure = ClientTls {
        insecure: true,
        ..ClientTls::default()
    };
    let outcome = check(&server.base_url(), insecure).await;
    assert!(outcome.conforms(), "{}", failures(&outcome));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_name_is_refused_and_resolve_reaches_the_right_one() {
    // The self-signed certificate is for localhost, 127.0.0.1 and ::1, not for api.test.
    let tls = ServerTls::self_signed().unwrap();
    let server = tls_server(tls.clone()).await;
    let port = server.addr().port();
    let resolve: Resolve = format!("api.test:{port}:127.0.0.1").parse().unwrap();
    let mut client = trusting(&tls);
    client.resolve = vec![resolve];
    let url = format!("https://api.test:{port}");
    let outcome = check(&url, client).await;
    assert_eq!(
        probe_error(&outcome),
        format!(
            "target {url} is unreachable: TLS: certificate is for another name (asked for api.test, the certificate is for localhost, 127.0.0.1, ::1)"
        )
    );
    server.shutdown().await;

    // A certificate for api.test, reached through a resolve entry: the run passes.
    let tls = certificate(&["api.test"], (2000, 4000));
    let server = tls_server(tls.clone()).await;
    let port = server.addr().port();
    let mut client = trusting(&tls);
    client.resolve = vec![format!("api.test:{port}:127.0.0.1").parse().unwrap()];
    let outcome = check(&format!("https://api.test:{port}"), client).await;
    assert!(outcome.conforms(), "{}", failures(&outcome));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_named() {
    let tls = certificate(&["localhost", "127.0.0.1"], (2000, 2001));
    let server = tls_server(tls.clone()).await;
    let base = server.base_url();
    let outcome = check(&base, trusting(&tls)).await;
    assert_eq!(
        probe_error(&outcome),
        format!(
            "target {base} is unreachable: TLS: certificate expired (not valid after 2001-01-01T00:00:00Z)"
        )
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_scheme_is_named_both_ways() {
    let server = server::start(ServerConfig::new(Dialect::RailsJwt))
        .await
        .unwrap();
    let url = server.base_url().replace("http://", "https://");
    let error = probe_error(&check(&url, ClientTls::default()).await);
    assert!(
        error.starts_with(&format!(
            "target {url} is unreachable: TLS: handshake failed: "
        )),
        "{error}"
    );
    assert!(error.contains("try http://"), "{error}");
    server.shutdown().await;

    // And the other way round: plain HTTP to a TLS server gets a TLS alert, no HTTP.
    let server = tls_server(ServerTls::self_signed().unwrap()).await;
    let url = server.base_url().replace("https://", "http://");
    let error = probe_error(&check(&url, ClientTls::default()).await);
    assert!(
        error.starts_with(&format!(
            "target {url} is unreachable: invalid HTTP response: "
        )),
        "{error}"
    );
    assert!(
        error.ends_with("(does it serve HTTPS? try https://)"),
        "{error}"
    );
    server.shutdown().await;
}

/// The HTTP version of `GET base` with `tls` applied to a fresh client.
async fn version_of(base: &str, tls: &ClientTls) -> reqwest::Version {
    let client = tls
        .apply(reqwest::Client::builder().timeout(BOUND))
        .unwrap()
        .build()
        .unwrap();
    client
        .get(base)
        .send()
        .await
        .expect("the server answers")
        .version()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_unless_http1_only() {
    let tls = ServerTls::self_signed().unwrap();
    let server = tls_server(tls.clone()).await;
    let base = server.base_url();
    let mut client = trusting(&tls);
    assert_eq!(version_of(&base, &client).await, reqwest::Version::HTTP_2);
    client.http1_only = true;
    assert_eq!(version_of(&base, &client).await, reqwest::Version::HTTP_11);
    server.shutdown().await;

    // Plain HTTP stays HTTP/1.1 (no ALPN, no prior knowledge).
    let plain = server::start(ServerConfig::new(Dialect::RailsJwt))
        .await
        .unwrap();
    assert_eq!(
        version_of(&plain.base_url(), &ClientTls::default()).await,
        reqwest::Version::HTTP_11
    );
    plain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_holds_up_neither_others_nor_shutdown() {
    let tls = ServerTls::self_signed().unwrap();
    let server = tls_server(tls.clone()).await;
    let addr = server.addr();
    let base = server.base_url();
    // Connects and never says hello.
    let silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let client = trusting(&tls)
        .apply(reqwest::Client::builder().timeout(BOUND))
        .unwrap()
        .build()
        .unwrap();
    // An HTTP/2 connection stays open in the client's pool.
    let resp = client.get(&base).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    drop(resp);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "graceful shutdown took {:?}",
        started.elapsed()
    );
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the port is closed after shutdown");
    drop(silent);
}

/// The whole flow as a user runs it: `serve --tls-self-signed` writes its certificate, `check
/// --cacert` trusts it; without it the run is one line and exit 2; `--insecure` passes, warned.
#[test]
fn https_end_to_end_through_the_binary() {
    let dir = crate::support::temp_dir();
    let cert = dir.path().join("cert.pem");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let server = crate::support::spawn([
        "serve",
        "--dialect",
        "rails-jwt",
        "--hash-cost",
        "low",
        "--addr",
        &addr,
        "--tls-self-signed",
        "--tls-cert-out",
        &cert.display().to_string(),
    ]);
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://{addr}");
    let bound = Duration::from_secs(60);
    let cacert = cert.display().to_string();
    let out = crate::support::run(
        [
            "check",
            "--spec",
            "rails-jwt",
            "--strict",
            "--target",
            &url,
            "--cacert",
            &cacert,
        ],
        bound,
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());

    let out = crate::support::run(
        [
            "check",
            "--spec",
            "rails-jwt",
            "--target",
            &url,
            "--timeout",
            "2s",
        ],
        bound,
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert_eq!(
        out.stderr.trim(),
        format!("error: target {url} is unreachable: TLS: certificate from an unknown issuer (pass --cacert FILE or --insecure)"),
        "{}",
        out.transcript()
    );

    let out = crate::support::run(
        [
            "check",
            "--spec",
            "rails-jwt",
            "--target",
            &url,
            "--insecure",
        ],
        bound,
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(
        out.stderr.starts_with("warning: --insecure"),
        "{}",
        out.transcript()
    );

    server.signal("TERM");
    let out = server.wait(Duration::from_secs(10));
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(
        out.stderr.contains("SHA-256 fingerprint"),
        "{}",
        out.transcript()
    );
}
