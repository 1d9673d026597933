//! Markdown and HTML reports, escaping of hostile values, and redaction in every format.

use sessionspec::check::outcome::CaseStatus;
use sessionspec::redact::Redactor;
use sessionspec::report::{write_html, write_json, write_junit, write_markdown};
use sessionspec::spec::Level;

use super::fixtures::*;
use super::machine::parse_junit;
use super::{render, snap, terminal};

#[test]
fn markdown_snapshots() {
    let md = render(|w| write_markdown(w, &mixed_run()));
    assert!(md.contains("| `rails-jwt` | 1/3 | 0/1 |"));
    assert!(md.contains("### Compatibility of `http://target.test`"));
    assert!(md.contains("```sh\ncurl -i -X POST http://target.test/api/v1/sessions"));
    snap("report__markdown_mixed", &md);
    snap(
        "report__markdown_interrupted",
        &render(|w| write_markdown(w, &interrupted_run())),
    );
}

#[test]
fn html_is_one_self_contained_file() {
    const ALLOWED: &[&str] = &[
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "main", "section",
        "h1", "h2", "h3", "p", "a", "code", "span", "strong", "br", "pre", "div", "table", "thead",
        "tbody", "tfoot", "tr", "th", "td", "details", "summary",
    ];
    for (name, r) in every_run() {
        let html = render(|w| write_html(w, &r));
        let lower = html.to_ascii_lowercase();
        assert!(lower.starts_with("<!doctype html>"), "{name}");
        assert!(lower.trim_end().ends_with("</html>"), "{name}");
        // Every value is escaped, so every `<` starts one of our tags: none loads or runs anything.
        for raw in lower.split('<').skip(1) {
            let tag = raw.split('>').next().unwrap_or_default();
            let tag_name = tag
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or_default();
            assert!(ALLOWED.contains(&tag_name), "{name}: tag <{tag}>");
            assert!(!tag.contains("src="), "{name}: <{tag}>");
            if let Some(i) = tag.find("href=") {
                assert!(
                    tag[i..].starts_with("href=\"#"),
                    "{name}: <{tag}> links out"
                );
            }
            assert!(!tag.contains(" on"), "{name}: event handler in <{tag}>");
        }
        let css = lower
            .split("<style>")
            .nth(1)
            .and_then(|s| s.split("</style>").next())
            .expect("inline CSS");
        assert!(!css.contains("url(") && !css.contains("@import"), "{name}");
        // Every tag we open is closed.
        for tag in ["details", "table", "section", "pre", "div"] {
            assert_eq!(
                lower.matches(&format!("<{tag}")).count(),
                lower.matches(&format!("</{tag}>")).count(),
                "{name}: <{tag}> balance"
            );
        }
    }
}

#[test]
fn html_mixed_snapshot() {
    let html = render(|w| write_html(w, &mixed_run()));
    assert!(html.contains("<details class=\"case\" open>"));
    assert!(html.contains("email=foo%40bar.com&amp;password=***"));
    snap("report__html_mixed", &html);
}

#[test]
fn hostile_values_are_escaped_in_every_format() {
    let r = hostile_run();

    let html = render(|w| write_html(w, &r)).to_ascii_lowercase();
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));

    let xml = render(|w| write_junit(w, &r));
    let suites = parse_junit(&xml);
    assert_eq!(suites[0].cases[0].0, "case-<b>&\"' (must)");
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}') && !xml.contains('\u{7}'));

    let term = terminal(&r, false, true);
    assert!(
        !term.contains('\u{1b}'),
        "a response cannot drive the terminal"
    );
    assert!(term.contains("\\u{1b}[2J"));

    let md = render(|w| write_markdown(w, &r));
    // Table rows keep their columns: unescaped pipes only between cells.
    for line in md.lines().filter(|l| l.starts_with("| `body.equals`")) {
        let bytes = line.as_bytes();
        let cells = (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count();
        assert_eq!(cells, 6, "{line}");
    }
    // Outside code blocks and spans (which Markdown shows verbatim), markup is escaped.
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'));
    let mut in_block = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        let outside = strip_code_spans(line);
        assert!(
            !outside.contains("<script") && !outside.contains("<img"),
            "{line}"
        );
    }
    assert!(md.contains("\\<script\\>"));
}

/// A Markdown line without its code spans (a run of N backticks closes at the next run of exactly
/// N; a backslash-escaped character becomes `.`).
fn strip_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                // An escaped character is literal text: keep a placeholder.
                out.push('.');
                i += 2;
            }
            '`' => {
                let ticks = run_at(i);
                let mut j = i + ticks;
                let mut close = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let run = run_at(j);
                        if run == ticks {
                            close = Some(j + run);
                            break;
                        }
                        j += run;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(end) => i = end,
                    None => {
                        out.extend(chars[i..i + ticks].iter());
                        i += ticks;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn reports_carry_only_redacted_values() {
    // Build the outcome the way the engine does: from raw data through a redactor.
    let secret = "hunter2-correct-horse";
    let token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig";
    let mut red = Redactor::new();
    red.add(secret);
    red.add(token);
    let raw = login_request(TARGET, secret);
    let mut s = step(
        0,
        "login",
        raw.redacted(&red),
        vec![check("status", false, "401", "200")],
    );
    s.curl = Some(raw.to_curl(&red));
    s.response = Some(response(
        200,
        &[(
            "set-cookie",
            &red.redact(&format!("session={token}; HttpOnly")),
        )],
        &red.redact(&format!("{{\"auth_token\":\"{token}\"}}")),
    ));
    let c = case(
        "specs/rails-jwt.json",
        5,
        "login-wrong-password",
        "t",
        Level::Must,
        "d",
        CaseStatus::Failed,
        vec![s],
    );
    let r = run(
        Some(TARGET),
        false,
        vec![spec("rails-jwt", "t", "s", TARGET, vec![c])],
    );
    let outputs = [
        terminal(&r, false, true),
        render(|w| write_json(w, &r)),
        render(|w| write_junit(w, &r)),
        render(|w| write_markdown(w, &r)),
        render(|w| write_html(w, &r)),
    ];
    for out in outputs {
        assert!(!out.contains(secret) && !out.contains(token));
        assert!(
            out.contains("***"),
            "the mask is shown where the secret was"
        );
    }
}
