//! Runnable reproductions of a failed case: the whole chain of its steps as a POSIX `sh` script
//! (curl per step with every header the harness sent, captures carried between steps in shell
//! variables through `jq` and `awk`, secrets read from environment variables, never written).
//!
//! Requests are rebuilt from the spec with every secret variable and every captured value replaced
//! by a sentinel, so each place a value went (a path, a header, a percent-encoded query or form
//! field, a JSON string) becomes the right shell expression; nothing is found by searching for
//! values. A step whose template functions act on a captured value (`{{ etag | weak }}`) cannot be
//! rebuilt that way: it sends the value the harness computed, secrets masked, and says so.

use std::fmt::Write as _;

use super::case::RawCase;
use super::client::with_wire_defaults;
use crate::http::{shell_quote, RequestData};
use crate::redact::{percent_encode, Redactor};
use crate::spec::{
    build_request, extract_with, Body, Capture, CaptureSource, LoadedSpec, Method, Vars,
};

/// What a script needs besides the case.
pub struct ReproContext<'a> {
    pub loaded: &'a LoadedSpec,
    /// The spec's resolved variables (each case starts from them).
    pub vars: &'a Vars,
    /// The base URL the script uses unless `SESSIONSPEC_TARGET` is set.
    pub base_url: String,
    /// For the built-in server: the `sessionspec serve …` command that starts the same server.
    pub serve: Option<String>,
    /// curl's TLS arguments (`ClientTls::curl_args`).
    pub tls_args: Vec<String>,
    /// Every secret of the spec's run: a last pass masks anything left.
    pub redactor: &'a Redactor,
}

const BASE_MARK: char = '\u{E002}';

/// A value the script holds in a shell variable.
struct Slot {
    /// The sentinel put in its place when requests are rebuilt.
    sentinel: String,
    /// The shell variable.
    shell: String,
    /// Its value in the run (never written: a fallback finds it in a request to replace it).
    value: String,
}

/// The reproduction script of a failed or errored case.
pub fn script(ctx: &ReproContext<'_>, raw: &RawCase) -> String {
    let spec = &ctx.loaded.spec;
    let case = &spec.cases[raw.index];
    let mut slots: Vec<Slot> = Vec::new();
    let mut shadow = ctx.vars.clone();
    let mut real = ctx.vars.clone();
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/sh");
    let _ = writeln!(
        out,
        "# sessionspec reproduction of case `{}` ({}) of spec `{}`: {}",
        case.id,
        case.level.as_str(),
        spec.name,
        one_line(&case.title)
    );
    let _ = writeln!(
        out,
        "# {} ({})",
        one_line(&case.doc),
        ctx.loaded.path.display()
    );
    let _ = writeln!(
        out,
        "# Needs POSIX sh, curl and jq. Each step prints its status."
    );
    if let Some(serve) = &ctx.serve {
        let _ = writeln!(
            out,
            "# Start the same built-in server first (another terminal):\n#   {serve}"
        );
    }
    let _ = writeln!(
        out,
        "# The target: SESSIONSPEC_TARGET, else {}.",
        ctx.base_url
    );
    let mut secrets = Vec::new();
    for (name, var) in &spec.variables {
        if !var.secret {
            continue;
        }
        let env = var.env.clone().unwrap_or_else(|| {
            format!("SESSIONSPEC_VAR_{}", shell_name(name).to_ascii_uppercase())
        });
        let sentinel = format!("\u{E000}{}\u{E001}", slots.len());
        shadow.set(name, sentinel.clone(), false);
        slots.push(Slot {
            sentinel,
            shell: env.clone(),
            value: ctx.vars.get(name).unwrap_or_default().to_owned(),
        });
        secrets.push((env, name.clone()));
    }
    // The steps first: only the secrets they send are asked for.
    let preamble = std::mem::take(&mut out);

    let last = raw.steps.iter().rposition(|s| s.request.is_some());
    for (k, ran) in raw.steps.iter().enumerate() {
        let step = case.effective_step(ran.index);
        let n = ran.index + 1;
        if let Some(why) = &ran.skipped {
            let _ = writeln!(
                out,
                "\n# step {n} ({}) was skipped: {}",
                ran.call,
                one_line(why)
            );
            continue;
        }
        if let Some(Ok(d)) = step.wait_duration() {
            let secs = d.as_millis().div_ceil(1000);
            let _ = writeln!(
                out,
                "\n# step {n}: wait {}\nsleep {secs}",
                step.wait.as_deref().unwrap_or_default()
            );
            continue;
        }
        let Some(sent) = &ran.request else {
            let why = ran
                .error
                .as_ref()
                .map_or("not sent".to_owned(), |e| e.message.clone());
            let _ = writeln!(
                out,
                "\n# step {n} ({}) was not sent: {}",
                ran.call,
                one_line(&why)
            );
            continue;
        };
        let Some(op) = spec.operations.get(&step.call) else {
            continue;
        };
        let rebuilt = build_request(spec, op, Some(&step), &BASE_MARK.to_string(), &shadow);
        let json_body = matches!(
            step.body.as_ref().or(op.body.as_ref()),
            Some(Body::Json(_) | Body::Jsonapi(_))
        );
        let _ = writeln!(
            out,
            "\n# step {n}: {} ({} {})",
            step.call, op.method, op.path
        );
        let request = match rebuilt {
            Ok(r) => with_wire_defaults(r),
            Err(_) => {
                let _ = writeln!(
                    out,
                    "# a template function used a captured value here: this step sends the value the \
                     harness computed; the values held in shell variables are put back where found"
                );
                let mut r = with_wire_defaults(sent.clone());
                r.url = r
                    .url
                    .replacen(&real_base(sent, op), &BASE_MARK.to_string(), 1);
                put_back(&mut r, &slots);
                r.redacted(ctx.redactor)
            }
        };
        let _ = writeln!(
            out,
            "status=$({})",
            curl(&request, k, json_body, &slots, &ctx.tls_args)
        );
        let _ = writeln!(out, "echo \"step {n} ({}): HTTP $status\"", step.call);
        if Some(k) == last {
            let seen = ran
                .response
                .as_ref()
                .map_or("no response".to_owned(), |r| format!("HTTP {}", r.status));
            let why = ran
                .checks
                .iter()
                .find(|c| !c.passed)
                .map(super::outcome::CheckResult::message)
                .or_else(|| ran.error.as_ref().map(|e| e.message.clone()))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "echo {}",
                shell_quote(&format!("sessionspec saw {seen} here: {}", one_line(&why)))
            );
            break;
        }
        // The values this step captured, for the steps after it.
        let Some(response) = &ran.response else {
            continue;
        };
        let captures = op.capture.iter().chain(step.capture.iter());
        for (name, capture) in captures {
            let lookup = real
                .with_overrides(&step.with)
                .unwrap_or_else(|_| real.clone());
            let Ok(value) = extract_with(capture, response, |v| lookup.get(v)) else {
                continue;
            };
            let shell = format!("c_{}", shell_name(name));
            let line = capture_line(&shell, capture, k, &value, ctx.redactor);
            let _ = writeln!(out, "{line}");
            real.set(name, value.clone(), capture.secret);
            let sentinel = format!("\u{E000}{}\u{E001}", slots.len());
            shadow.set(name, sentinel.clone(), false);
            slots.push(Slot {
                sentinel,
                shell,
                value,
            });
        }
    }
    let steps = std::mem::replace(&mut out, preamble);
    secrets.retain(|(env, _)| steps.contains(&format!("${{{env}}}")));
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "# Secrets come from the environment and are never written here; export:"
        );
        for (env, name) in &secrets {
            let _ = writeln!(out, "#   {env}  (the secret spec variable `{name}`)");
        }
    }
    let _ = writeln!(out, "set -eu");
    let _ = writeln!(
        out,
        "BASE=\"${{SESSIONSPEC_TARGET:-{}}}\"",
        dq_literal(&ctx.base_url)
    );
    for (env, name) in &secrets {
        let _ = writeln!(
            out,
            ": \"${{{env}:?export {env}: the secret spec variable {name}}}\""
        );
    }
    out.push_str(HELPERS);
    out.push_str(&steps);
    // A last pass: no secret the run saw is ever written.
    ctx.redactor.redact(&out)
}

/// A sent request with each slot's value (at least 3 bytes, longest first) replaced by its
/// sentinel, raw and percent-encoded.
fn put_back(req: &mut RequestData, slots: &[Slot]) {
    let mut order: Vec<&Slot> = slots.iter().filter(|s| s.value.len() >= 3).collect();
    order.sort_by_key(|s| std::cmp::Reverse(s.value.len()));
    let swap = |text: &str| {
        let mut text = text.to_owned();
        for slot in &order {
            text = text.replace(&slot.value, &slot.sentinel).replace(
                &percent_encode(&slot.value),
                &percent_encode(&slot.sentinel),
            );
        }
        text
    };
    req.url = swap(&req.url);
    for (_, v) in &mut req.headers {
        *v = swap(v);
    }
    req.body = req.body.as_deref().map(swap);
}

/// The base URL part of a sent request's URL (everything before the operation's path).
fn real_base(sent: &RequestData, op: &crate::spec::Operation) -> String {
    let static_prefix = op.path.split("{{").next().unwrap_or_default();
    match sent
        .url
        .find(static_prefix)
        .filter(|_| !static_prefix.is_empty())
    {
        Some(i) => sent.url[..i].to_owned(),
        None => String::new(),
    }
}

const HELPERS: &str = r#"tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# header NAME FILE: the first value of a response header; cookie NAME FILE: a Set-Cookie value.
header() { awk -v n="$1" 'BEGIN { n = tolower(n) } { sub(/\r$/, "") } tolower(substr($0, 1, length(n) + 1)) == n ":" { v = substr($0, length(n) + 2); sub(/^[ \t]+/, "", v); print v; exit }' "$2"; }
cookie() { awk -v n="$1" '{ sub(/\r$/, "") } tolower(substr($0, 1, 11)) == "set-cookie:" { v = substr($0, 12); sub(/^[ \t]+/, "", v); sub(/;.*/, "", v); i = index(v, "="); if (i > 0 && substr(v, 1, i - 1) == n) { print substr(v, i + 1); exit } }' "$2"; }
# uri VALUE: percent-encoded; jstr VALUE: escaped for a JSON string.
uri() { jq -rn --arg v "$1" '$v | @uri'; }
jstr() { jq -rn --arg v "$1" '$v | tojson | .[1:-1]'; }
"#;

/// The curl command of one step, response headers and body saved for the captures.
fn curl(req: &RequestData, k: usize, json_body: bool, slots: &[Slot], tls: &[String]) -> String {
    let mut words = vec![
        "curl".to_owned(),
        "-sS".to_owned(),
        "-o".to_owned(),
        format!("\"$tmp/{k}.body\""),
        "-D".to_owned(),
        format!("\"$tmp/{k}.headers\""),
        "-w".to_owned(),
        "'%{http_code}'".to_owned(),
    ];
    words.extend(tls.iter().map(|a| shell_quote(a)));
    match req.method {
        Method::Head => words.push("--head".to_owned()),
        m => {
            words.push("-X".to_owned());
            words.push(m.as_str().to_owned());
        }
    }
    words.push(dq(&req.url, slots, false));
    // The harness sends no User-Agent; curl would add its own.
    words.push("-H".to_owned());
    words.push("'User-Agent:'".to_owned());
    for (n, v) in &req.headers {
        words.push("-H".to_owned());
        words.push(dq(&format!("{n}: {v}"), slots, false));
    }
    if let Some(body) = &req.body {
        if req.header("content-type").is_none() {
            // curl would add a form Content-Type the harness did not send.
            words.push("-H".to_owned());
            words.push("'Content-Type:'".to_owned());
        }
        words.push("--data-raw".to_owned());
        words.push(dq(body, slots, json_body));
    }
    words.join(" ")
}

/// The shell line that sets `shell` from step `k`'s saved response.
fn capture_line(
    shell: &str,
    capture: &Capture,
    k: usize,
    value: &str,
    redactor: &Redactor,
) -> String {
    let headers = format!("\"$tmp/{k}.headers\"");
    let body = format!("\"$tmp/{k}.body\"");
    match capture.source() {
        Some(CaptureSource::Json(pointer)) => format!(
            "{shell}=$(jq -rc {} {body})",
            shell_quote(&format!("{} | if . == null then empty else . end", jq_path(pointer)))
        ),
        Some(CaptureSource::Header(h)) => format!("{shell}=$(header {} {headers})", shell_quote(h)),
        Some(CaptureSource::Cookie(c)) => format!("{shell}=$(cookie {} {headers})", shell_quote(c)),
        Some(CaptureSource::JwtClaim(j)) if j.from.is_none() => {
            let token = match (&j.json, &j.header) {
                (Some(p), _) => format!("jq -r {} {body}", shell_quote(&jq_path(p))),
                (None, Some(h)) => format!("header {} {headers} | sed 's/^[Bb][Ee][Aa][Rr][Ee][Rr] //'", shell_quote(h)),
                _ => "true".to_owned(),
            };
            format!(
                "{shell}=$({token} | jq -rRc {})",
                shell_quote(&format!(
                    "split(\".\")[1] | gsub(\"-\"; \"+\") | gsub(\"_\"; \"/\") | (. + (\"===\" | .[0:((4 - (length % 4)) % 4)])) | @base64d | fromjson | .[{}] | if . == null then empty else . end",
                    serde_json::Value::String(j.claim.clone())
                ))
            )
        }
        _ if capture.secret => format!(
            "{shell}=\"${{SESSIONSPEC_CAPTURE_{}:?a secret value jq cannot select here (JSONPath or a claim of a captured token): export it}}\"",
            shell.trim_start_matches("c_").to_ascii_uppercase()
        ),
        _ => format!(
            "{shell}={}  # selected by the harness (a JSONPath or a claim of a captured token)",
            shell_quote(&redactor.redact(value))
        ),
    }
}

/// A jq path for a JSON pointer (RFC 6901): digits index arrays and name members of objects.
fn jq_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return ".".to_owned();
    }
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| {
            let t = t.replace("~1", "/").replace("~0", "~");
            let key = serde_json::Value::String(t.clone()).to_string();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                format!("(if type == \"array\" then .[{t}] else .[{key}] end)")
            } else {
                format!(".[{key}]")
            }
        })
        .collect();
    parts.join(" | ")
}

/// A letters-digits-underscore name for a shell variable.
fn shell_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Text escaped for a double-quoted shell word.
fn dq_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A double-quoted shell word of `text`, sentinels turned into shell expressions: raw
/// `${var}`, percent-encoded `$(uri "${var}")`, inside a JSON string `$(jstr "${var}")`.
fn dq(text: &str, slots: &[Slot], json: bool) -> String {
    let mut text = text.to_owned();
    for (i, slot) in slots.iter().enumerate() {
        let encoded = percent_encode(&slot.sentinel);
        if text.contains(&encoded) {
            text = text.replace(&encoded, &format!("\u{E003}{i}\u{E004}"));
        }
    }
    let mut out = String::from("\"");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            BASE_MARK => out.push_str("${BASE}"),
            '\u{E000}' | '\u{E003}' => {
                let digits: String =
                    std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
                chars.next(); // the closing mark
                let shell = digits
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| slots.get(i))
                    .map_or("MISSING", |s| s.shell.as_str());
                if c == '\u{E003}' {
                    let _ = write!(out, "$(uri \"${{{shell}}}\")");
                } else if json {
                    let _ = write!(out, "$(jstr \"${{{shell}}}\")");
                } else {
                    let _ = write!(out, "${{{shell}}}");
                }
            }
            c => out.push_str(&dq_literal(&c.to_string())),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_jq_paths() {
        assert_eq!(jq_path(""), ".");
        assert_eq!(jq_path("/auth_token"), ".[\"auth_token\"]");
        assert_eq!(
            jq_path("/data/0/a~1b"),
            ".[\"data\"] | (if type == \"array\" then .[0] else .[\"0\"] end) | .[\"a/b\"]"
        );
    }

    #[test]
    fn sentinels_become_shell_expressions() {
        let slots = vec![Slot {
            sentinel: "\u{E000}0\u{E001}".to_owned(),
            shell: "c_token".to_owned(),
            value: "tok-1".to_owned(),
        }];
        let mut sent = RequestData {
            method: Method::Get,
            url: "http://h/s/tok-1".to_owned(),
            headers: vec![("Authorization".to_owned(), "Bearer tok-1".to_owned())],
            body: Some("t=tok-1".to_owned()),
        };
        put_back(&mut sent, &slots);
        assert_eq!(
            dq(&sent.headers[0].1, &slots, false),
            "\"Bearer ${c_token}\""
        );
        assert_eq!(dq(&sent.url, &slots, false), "\"http://h/s/${c_token}\"");
        let raw = format!("{BASE_MARK}/s/\u{E000}0\u{E001}?q=$x");
        assert_eq!(dq(&raw, &slots, false), "\"${BASE}/s/${c_token}?q=\\$x\"");
        let form = format!("t={}", percent_encode("\u{E000}0\u{E001}"));
        assert_eq!(dq(&form, &slots, false), "\"t=$(uri \"${c_token}\")\"");
        let json = "{\"t\":\"\u{E000}0\u{E001}\"}";
        assert_eq!(
            dq(json, &slots, true),
            "\"{\\\"t\\\":\\\"$(jstr \"${c_token}\")\\\"}\""
        );
    }
}
