//! Conformant variants of the reference server (`docs/dialects.md`, "Conformant variants"): each
//! changes behaviour in a way the documents and RFC 9110 allow, so every shipped spec, with its
//! `should` cases counted (`--strict`), must still pass against it. A case that fails here would
//! fail a conformant real server: the check, not the server, is wrong.

use std::collections::BTreeMap;
use std::path::Path;

use sessionspec::check::outcome::{CaseStatus, RunOutcome};
use sessionspec::check::{run_specs, CheckPlan, Target};
use sessionspec::server::{HashCost, Variant};
use sessionspec::spec::{load_spec, spec_files, LoadedSpec};

fn all_specs() -> Vec<LoadedSpec> {
    spec_files(Path::new("specs"))
        .expect("specs/ is readable")
        .iter()
        .map(|p| load_spec(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Counted cases that did not pass: `spec/case: first failure`.
fn not_passing(outcome: &RunOutcome) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in &outcome.specs {
        assert_eq!(s.error, None, "spec {} could not run", s.name);
        for c in &s.cases {
            if c.status != CaseStatus::Passed {
                let why = c
                    .first_failure()
                    .unwrap_or_else(|| c.status.as_str().into());
                out.insert(format!("{}/{}", s.name, c.id), why);
            }
        }
    }
    out
}

async fn strict_run(variants: Vec<Variant>) -> RunOutcome {
    let target = Target::Embedded {
        faults: Vec::new(),
        hash_cost: HashCost::Low,
        variants,
    };
    let mut plan = CheckPlan::new(all_specs(), target);
    plan.options.strict = true;
    run_specs(&plan).await
}

async fn variant_run(variant: Variant) {
    let outcome = strict_run(vec![variant]).await;
    let failing = not_passing(&outcome);
    assert!(
        failing.is_empty(),
        "under the conformant variant {variant} no case may fail:\n{failing:#?}"
    );
    assert!(outcome.specs.iter().all(|s| !s.cases.is_empty()));
    assert!(outcome.conforms(), "{variant}: a strict check must pass");
}

macro_rules! variant_tests {
    ($($test:ident => $variant:expr),* $(,)?) => {
        const TESTED: &[Variant] = &[$($variant),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                variant_run($variant).await;
            }
        )*
    };
}

variant_tests! {
    weak_etags_pass_every_spec_strictly => Variant::WeakEtags,
    no_last_modified_passes_every_spec_strictly => Variant::NoLastModified,
    foreign_sessions_pass_every_spec_strictly => Variant::ForeignSessions,
    html_for_browsers_passes_every_spec_strictly => Variant::HtmlForBrowsers,
    es256_tokens_pass_every_spec_strictly => Variant::Es256Tokens,
}

/// `html-for-browsers` does what it says: a browser's `Accept` gets an HTML page of the same
/// answer (so the strict run above proves the specs do not mistake it for a fault).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_for_browsers_serves_a_page_to_a_browser_only() {
    use sessionspec::server::{self, Dialect, ServerConfig};
    let mut config = ServerConfig::new(Dialect::RailsJwt);
    config.variants = vec![Variant::HtmlForBrowsers];
    let running = server::start(config).await.expect("the server starts");
    let client = reqwest::Client::new();
    let login = |accept: &'static str| {
        client
            .post(format!("{}/api/v1/sessions", running.base_url()))
            .header("Accept", accept)
            .form(&[("email", "foo@bar.com"), ("password", "foobar")])
            .send()
    };
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = login(browser).await.expect("an answer");
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(header(&page, "vary").contains("Accept"));
    assert_eq!(
        header(&page, "etag"),
        "",
        "the JSON representation's tag is not the page's"
    );
    let text = page.text().await.expect("a body");
    assert!(
        text.starts_with("<!doctype html>") && text.contains("auth_token"),
        "{text}"
    );
    let api = login("application/json").await.expect("an answer");
    assert!(header(&api, "content-type").starts_with("application/json"));
    running.shutdown().await;
}

#[test]
fn every_variant_has_a_test() {
    for v in Variant::ALL {
        assert!(TESTED.contains(&v), "no strict run under the variant {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_variants_together_pass_every_spec_strictly() {
    let outcome = strict_run(Variant::ALL.to_vec()).await;
    let failing = not_passing(&outcome);
    assert!(failing.is_empty(), "{failing:#?}");
    assert!(outcome.conforms());
}
