//! Spec loading: located errors for broken specs, the meta-schema, `sessionspec lint`, the fuzz
//! regression corpus, and the shipped specs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sessionspec::spec::lint::{lint_spec_bytes, lint_spec_str};
use sessionspec::spec::load::load_spec_bytes;
use sessionspec::spec::{load_spec_str, SourceMap, Spec, SpecError};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// Files of a folder of the crate with one of `exts`, sorted, as paths relative to the crate root.
fn files_in(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)))
        .map(|p| Path::new(dir).join(p.file_name().unwrap_or_default()))
        .collect();
    out.sort();
    out
}

fn read(rel: &Path) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {}: {e}", rel.display()))
}

fn meta_validator() -> jsonschema::Validator {
    let text = read(Path::new("specs/schema/spec.schema.json"));
    let schema: Value = serde_json::from_slice(&text).expect("the spec schema is JSON");
    jsonschema::validator_for(&schema).expect("the spec schema compiles")
}

/// `file:line:column: ` at the start of a message, with positive line and column.
fn assert_located(message: &str, file: &str) {
    let rest = message
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or_else(|| panic!("`{message}` does not start with `{file}:`"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let column: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(line >= 1 && column >= 1, "no line:column in `{message}`");
    assert!(
        message.lines().count() <= 2,
        "more than two lines: `{message}`"
    );
    assert!(message.chars().count() <= 400, "too long: `{message}`");
}

/// What rejects a broken fixture: JSON itself, the meta-schema, or only the loader's semantic checks.
#[derive(Debug, PartialEq)]
enum Stage {
    Json,
    Schema,
    Semantic,
}

const FIXTURES: &[(&str, Stage)] = &[
    ("bad-alternatives", Stage::Semantic),
    ("bad-body-schema", Stage::Semantic),
    ("bad-capture", Stage::Schema),
    ("bad-function", Stage::Semantic),
    ("bad-jsonpath", Stage::Semantic),
    ("bad-regex", Stage::Semantic),
    ("bad-same-as", Stage::Semantic),
    ("bad-wait", Stage::Semantic),
    ("capture-shadows-variable", Stage::Semantic),
    ("deep-nesting", Stage::Json),
    ("duplicate-case-id", Stage::Semantic),
    ("duplicate-key", Stage::Semantic),
    ("huge-status", Stage::Json),
    ("not-yet-captured", Stage::Semantic),
    ("syntax-error", Stage::Json),
    ("template-injection", Stage::Semantic),
    ("undefined-operation", Stage::Semantic),
    ("unknown-field", Stage::Schema),
    ("unknown-level", Stage::Schema),
    ("unknown-variable", Stage::Semantic),
    ("wrong-type", Stage::Schema),
];

#[test]
fn every_broken_fixture_is_listed() {
    let on_disk: Vec<String> = files_in("tests/broken-specs", &["json"])
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let listed: Vec<&str> = FIXTURES.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn broken_specs_give_located_messages() {
    for (name, _) in FIXTURES {
        let rel = format!("tests/broken-specs/{name}.json");
        let bytes = read(Path::new(&rel));
        let first = load_spec_bytes(Path::new(&rel), &bytes)
            .err()
            .unwrap_or_else(|| panic!("{rel} loads, but it is broken"));
        let all = lint_spec_bytes(Path::new(&rel), &bytes);
        assert!(!all.is_empty(), "{rel}: lint finds nothing");
        assert_eq!(
            first.to_string(),
            all[0].to_string(),
            "{rel}: load reports the first lint error"
        );
        let mut report = format!("load: {first}\nlint:\n");
        for e in &all {
            assert_located(&e.to_string(), &rel);
            report.push_str(&format!("  {e}\n"));
        }
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("spec_load__broken_{}", name.replace('-', "_")), report);
        });
    }
}

#[test]
fn the_schema_rejects_what_it_can_express() {
    let validator = meta_validator();
    for (name, stage) in FIXTURES {
        let rel = format!("tests/broken-specs/{name}.json");
        let bytes = read(Path::new(&rel));
        match serde_json::from_slice::<Value>(&bytes) {
            Err(_) => assert_eq!(*stage, Stage::Json, "{rel} is not JSON"),
            Ok(value) => {
                let valid = validator.is_valid(&value);
                match stage {
                    Stage::Json => panic!("{rel} parses as JSON"),
                    Stage::Schema => assert!(!valid, "the schema accepts {rel}"),
                    // Beyond a schema: names across the document, regexes, duplicate keys.
                    Stage::Semantic => {
                        assert!(valid, "the schema rejects {rel}; list it as Schema");
                    }
                }
            }
        }
    }
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema: Value = serde_json::from_slice(&read(Path::new("specs/schema/spec.schema.json")))
        .expect("the spec schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("the spec schema is not a valid JSON Schema: {e}");
    }
    // The loader embeds the same text.
    assert_eq!(
        sessionspec::spec::load::SPEC_SCHEMA.as_bytes(),
        read(Path::new("specs/schema/spec.schema.json"))
    );
}

/// A spec using every field of the model: the schema must accept its serialization.
#[test]
fn the_schema_covers_every_field_of_the_model() {
    let full = r##"{
      "$schema": "schema/spec.schema.json", "name": "full", "title": "Full", "source": "x.txt",
      "dialect": "rails-jwt", "description": "d",
      "notes": [{"topic": "t", "resolution": "r", "cases": ["one"]}],
      "variables": {"email": {"default": "a@b.c", "env": "E_MAIL", "secret": true, "description": "d"}},
      "headers": {"Accept": "application/json"},
      "operations": {
        "login": {"method": "POST", "path": "/s", "doc": "d", "query": {"q": "{{email}}"},
                  "headers": {"X-A": "b"}, "body": {"json": {"e": "{{email}}"}},
                  "capture": {"t": {"json": "/t", "secret": true}, "h": {"header": "ETag"}, "c": {"cookie": "sid"}}},
        "a": {"method": "GET", "path": "/a", "body": {"jsonapi": {"data": null}}},
        "b": {"method": "HEAD", "path": "/b", "body": {"form": {"k": "v"}}},
        "c": {"method": "PUT", "path": "/c", "body": {"raw": "{"}},
        "d": {"method": "PATCH", "path": "/d", "body": {"empty": true}},
        "e": {"method": "DELETE", "path": "/e"}, "f": {"method": "OPTIONS", "path": "/f"}
      },
      "cases": [{"id": "one", "title": "t", "level": "should", "doc": "d", "rule": "RFC 9110", "tags": ["x"],
        "with": {"email": "y"}, "headers": {"X-Case": "{{email}}", "X-Gone": null},
        "steps": [
          {"wait": "10ms", "when": {"not_captured": "email", "reason": "r", "rest": true}},
          {"call": "login", "name": "first", "with": {"email": "x"}, "headers": {"X-A": null, "X-B": "c"},
           "body": {"raw": "r"}, "capture": {"s": {"header": "X-S"}},
           "expect": {"status": [200, 201],
             "headers": {"X-A": "v", "X-B": {"equals": "v", "matches": "^v$", "present": true, "contains": ["a"],
                         "media_type": "application/json", "etag": "weak", "http_date": true}},
             "body": {"empty": false, "schema": {"type": "object"}, "equals": {"a": 1}, "contains": [1],
                      "jsonapi": "data", "jwt": {"pointer": "/t", "alg": "HS256", "claims": ["exp"], "unexpired": true},
                      "text": {"equals": "{{email}}", "matches": "^a"}, "bytes": {"hex": "ff00"}},
             "any_of": [{"status": 200}, {"body": {"bytes": {"base64": "/wA="}}}],
             "captured": {"t": {"equals": "{{t}}", "not_equals": "x", "matches": "."}}}},
          {"call": "login", "expect": {"status": 200, "same_as": {"step": "first", "compare": ["status", "body", "header:ETag"]}}}
        ]}]
    }"##;
    let loaded = load_spec_str(Path::new("full.json"), full).unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::to_value(&loaded.spec).expect("a spec serializes");
    let original: Value = serde_json::from_str(full).expect("JSON");
    assert_eq!(value, original, "serialization round-trips every field");
    let validator = meta_validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the schema rejects a full spec: {errors:?}"
    );
}

/// The specs this project ships: at least 5 (one per documented API), each valid.
#[test]
fn shipped_specs_load_and_lint_clean() {
    let specs = files_in("specs", &["json"]);
    assert!(
        specs.len() >= 5,
        "expected at least 5 specs in specs/ (one per source document), found {}: {specs:?}",
        specs.len()
    );
    let validator = meta_validator();
    for rel in &specs {
        let bytes = read(rel);
        let errors: Vec<String> = lint_spec_bytes(rel, &bytes)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors.is_empty(),
            "{} has errors:\n{}",
            rel.display(),
            errors.join("\n")
        );
        let loaded = load_spec_bytes(rel, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let spec = &loaded.spec;
        let stem = rel
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert_eq!(
            spec.name,
            stem,
            "{}: `name` is the file stem",
            rel.display()
        );
        assert_eq!(
            spec.schema.as_deref(),
            Some("schema/spec.schema.json"),
            "{}: `$schema`",
            rel.display()
        );
        // The serialized model is what the schema describes.
        let value = serde_json::to_value(spec).expect("a spec serializes");
        let schema_errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            schema_errors.is_empty(),
            "{}: round trip rejected: {schema_errors:?}",
            rel.display()
        );
        let back: Spec = serde_json::from_value(value).expect("a serialized spec deserializes");
        assert_eq!(&back, spec, "{}: round trip", rel.display());
        assert_positions_point_at_values(rel, std::str::from_utf8(&bytes).expect("UTF-8"));
    }
}

/// Every value of the document is found by the source map at its first character.
fn assert_positions_point_at_values(rel: &Path, text: &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).expect("JSON");
    let map = SourceMap::build(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut stack = vec![(String::new(), &value)];
    while let Some((pointer, v)) = stack.pop() {
        let (line, column) = map
            .position(&pointer)
            .unwrap_or_else(|| panic!("{}: no position for `{pointer}`", rel.display()));
        let first = lines
            .get(line - 1)
            .and_then(|l| l.chars().nth(column - 1))
            .unwrap_or_else(|| panic!("{}: {line}:{column} is outside the file", rel.display()));
        let expected = match v {
            Value::Object(_) => '{',
            Value::Array(_) => '[',
            Value::String(_) => '"',
            Value::Bool(true) => 't',
            Value::Bool(false) => 'f',
            Value::Null => 'n',
            Value::Number(n) => n.to_string().chars().next().unwrap_or('0'),
        };
        assert_eq!(
            first,
            expected,
            "{}: `{pointer}` at {line}:{column}",
            rel.display()
        );
        match v {
            Value::Object(m) => stack.extend(m.iter().map(|(k, v)| {
                (
                    format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                    v,
                )
            })),
            Value::Array(a) => stack.extend(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{pointer}/{i}"), v)),
            ),
            _ => {}
        }
    }
}

#[test]
fn source_map_positions_hold_for_the_fixtures() {
    for rel in files_in("tests/broken-specs", &["json"]) {
        let bytes = read(&rel);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if serde_json::from_str::<Value>(text).is_ok() {
                assert_positions_point_at_values(&rel, text);
            }
        }
    }
}

#[test]
fn invalid_utf8_is_located() {
    let bytes = b"{\n  \"name\": \"d\xffmo\"\n}";
    let err = load_spec_bytes(Path::new("x.json"), bytes).expect_err("invalid UTF-8 is an error");
    assert_eq!(
        err.to_string(),
        "x.json:2:13: invalid UTF-8 (byte 0xff at byte offset 14): a spec file must be UTF-8 text"
    );
}

#[test]
fn a_byte_order_mark_is_accepted_and_invisible_in_positions() {
    let text =
        String::from_utf8(read(Path::new("tests/broken-specs/wrong-type.json"))).expect("UTF-8");
    let with_bom = format!("\u{feff}{text}");
    let plain = load_spec_str(Path::new("x.json"), &text)
        .err()
        .map(|e| e.to_string());
    let bom = load_spec_str(Path::new("x.json"), &with_bom)
        .err()
        .map(|e| e.to_string());
    assert!(plain.is_some());
    assert_eq!(plain, bom);
    let good = load_spec_bytes(
        Path::new("ok.json"),
        &read(Path::new("tests/fuzz-corpus/ok-bom-spec.json")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.locate("/cases/1/steps/2").to_string(), "ok.json:71:9");
    assert_eq!(good.locate("/name").to_string(), "ok.json:3:11");
}

#[test]
fn lint_reports_every_error_in_file_order() {
    let text = String::from_utf8(read(Path::new("tests/broken-specs/duplicate-case-id.json")))
        .expect("UTF-8");
    let text = text
        .replace(
            "\"call\": \"login\",\n          \"name\": \"first\"",
            "\"call\": \"signin\"",
        )
        .replace("\"path\": \"/login\"", "\"path\": \"/login/{{nobody}}\"");
    let errors: Vec<String> = lint_spec_str(Path::new("x.json"), &text)
        .iter()
        .map(ToString::to_string)
        .collect();
    // Without its login step, case 1 also uses `{{token}}` before any step captured it (twice).
    let expected = [
        "x.json:18:15: /operations/login/path: unknown variable `{{nobody}}`",
        "x.json:56:13: /cases/1/id: duplicate case id `login-ok`",
        "x.json:62:19: /cases/1/steps/0/call: no operation named `signin`",
        "x.json:65:19: /cases/1/steps/1/call: operation `logout` uses `{{token}}`",
        "x.json:71:19: /cases/1/steps/2/call: operation `logout` uses `{{token}}`",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (e, x) in errors.iter().zip(expected) {
        assert!(e.starts_with(x), "`{e}` does not start with `{x}`");
    }
    assert!(errors[3].ends_with(
        "it is captured by operation `login`, which no earlier step of this case calls"
    ));
}

/// Inputs that once broke (or would break) a loader: no panic, a located one-line error.
#[test]
fn fuzz_regression_corpus_never_panics() {
    let corpus = files_in("tests/fuzz-corpus", &["json", "bin"]);
    assert!(corpus.len() >= 10, "the corpus is missing: {corpus:?}");
    for rel in corpus {
        let bytes = read(&rel);
        let name = format!(
            "fuzz/{}",
            rel.file_name().unwrap_or_default().to_string_lossy()
        );
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = SourceMap::build(text);
        }
        let errors = lint_spec_bytes(Path::new(&name), &bytes);
        let ok = rel
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ok-"));
        if ok {
            let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert!(errors.is_empty(), "{}: {shown:?}", rel.display());
        } else {
            assert!(!errors.is_empty(), "{} loads", rel.display());
            assert!(
                errors.len() <= 50,
                "{}: {} errors",
                rel.display(),
                errors.len()
            );
        }
        for e in &errors {
            assert!(matches!(e, SpecError::Invalid { .. }), "{e}");
            assert_located(&e.to_string(), &name);
        }
    }
}

#[test]
fn the_documented_example_loads() {
    let doc = String::from_utf8(read(Path::new("docs/spec-format.md"))).expect("UTF-8");
    let start = doc
        .find("```json\n")
        .expect("docs/spec-format.md has a ```json example")
        + 8;
    let len = doc[start..]
        .find("```")
        .expect("the example block is closed");
    let loaded = load_spec_str(Path::new("docs/spec-format.md"), &doc[start..start + len])
        .unwrap_or_else(|e| panic!("the documented example does not load: {e}"));
    assert!(!loaded.spec.cases.is_empty());
}

fn lint_command(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sessionspec"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the sessionspec binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lint_binary_fails_with_a_location() {
    let (code, stdout, stderr) = lint_command(root(), &["tests/broken-specs/wrong-type.json"]);
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("tests/broken-specs/wrong-type.json:74:23: /cases/1/steps/2/expect/status: expected a status code 100-599 or a list of them, got \"401\""),
        "{stderr}"
    );
    let (code, _, stderr) = lint_command(root(), &["tests/broken-specs/no-such-file.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("tests/broken-specs/no-such-file.json: cannot read"),
        "{stderr}"
    );
}

#[test]
fn lint_binary_walks_specs_and_scenarios() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = read(Path::new("tests/fuzz-corpus/ok-crlf-spec.json"));
    for sub in ["specs/schema", "specs/more", "scenarios"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(dir.path().join("specs/demo.json"), &good).expect("write");
    std::fs::write(dir.path().join("specs/more/demo2.json"), &good).expect("write");
    // Not specs: skipped.
    std::fs::write(
        dir.path().join("specs/schema/spec.schema.json"),
        b"{\"type\": \"object\"}",
    )
    .expect("write");
    std::fs::write(dir.path().join("specs/README.md"), b"# specs").expect("write");

    let (code, stdout, stderr) = lint_command(dir.path(), &[]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        stdout,
        "ok   specs/demo.json (2 cases)\nok   specs/more/demo2.json (2 cases)\n"
    );

    std::fs::write(dir.path().join("scenarios/broken.json"), b"{\"spec\": ").expect("write");
    let (code, stdout, stderr) = lint_command(dir.path(), &[]);
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("scenarios/broken.json:1:"), "{stderr}");
    assert!(
        stdout.contains("ok   specs/demo.json (2 cases)"),
        "{stdout}"
    );

    let empty = tempfile::tempdir().expect("a temporary directory");
    let (code, _, stderr) = lint_command(empty.path(), &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no *.json file under specs/ or scenarios/"),
        "{stderr}"
    );
}

mod when_conditions {
    use sessionspec::spec::model::When;

    fn when(json: &str) -> When {
        serde_json::from_str(json).expect("a valid `when`")
    }

    #[test]
    fn each_test_holds_and_fails() {
        let c = when(r#"{"captured": "lm", "reason": "r"}"#);
        assert!(c.holds(Some("x")) && !c.holds(None));
        let n = when(r#"{"not_captured": "lm", "reason": "r"}"#);
        assert!(n.holds(None) && !n.holds(Some("x")));
        let s = when(r#"{"strong_etag": "etag", "reason": "r"}"#);
        assert!(s.holds(Some("\"a\"")) && !s.holds(Some("W/\"a\"")) && !s.holds(None));
        let w = when(r#"{"weak_etag": "etag", "reason": "r"}"#);
        assert!(w.holds(Some("W/\"a\"")) && !w.holds(Some("\"a\"")) && !w.holds(None));
        assert!(!w.holds(Some("W/")), "not an entity-tag");
        assert_eq!(
            when(r#"{"captured": "a", "weak_etag": "b", "reason": "r"}"#).test_count(),
            2
        );
        assert!(
            serde_json::from_str::<When>(r#"{"captured": "a"}"#).is_err(),
            "reason is required"
        );
    }
}

/// A secret in a URL (ASVS V14.2.1) is a lint warning at the operation's `path` or `query`
/// value, not an error; secrets in headers and bodies, and plain values in URLs, are not.
#[test]
fn lint_warns_of_secrets_in_urls() {
    use sessionspec::spec::lint::warnings;
    use sessionspec::spec::load::load_spec_str;
    let text = String::from_utf8(read(Path::new("tests/broken-specs/duplicate-case-id.json")))
        .expect("UTF-8")
        .replace("\"id\": \"login-ok\"", "\"id\": \"login-once\"")
        .replacen("\"id\": \"login-once\"", "\"id\": \"login-ok\"", 1);
    let clean = load_spec_str(Path::new("x.json"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warnings(&clean), Vec::<String>::new());

    let leaky = text
        .replace(
            "\"path\": \"/login\"",
            "\"path\": \"/login/{{email}}\",\n      \"query\": { \"pw\": \"{{password}}\" }",
        )
        .replace("\"path\": \"/session\"", "\"path\": \"/session/{{token}}\"");
    let leaky = load_spec_str(Path::new("x.json"), &leaky).unwrap_or_else(|e| panic!("{e}"));
    let found = warnings(&leaky);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("x.json:19:24: /operations/login/query/pw: the secret `password` is in the URL query of operation `login`"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("V14.2.1"), "{}", found[0]);
    assert!(
        found[1].contains(
            "/operations/logout/path: the secret `token` is in the URL path of operation `logout`"
        ),
        "{}",
        found[1]
    );
}
