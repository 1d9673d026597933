//! Parsing shared by every subcommand, done once: durations, `--var`, addresses, the target URL,
//! and what the process environment decides (colour, CI, the spec variables' `env` names).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use indexmap::IndexMap;

/// A duration such as `10s`, `250ms` or `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration `{s}`: {e}"))
}

/// A timeout: a duration of at least 1 ms.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!(
            "a timeout of `{s}` would fail every request: give at least 1ms (e.g. 10s)"
        ));
    }
    Ok(d)
}

/// One `--var NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub value: String,
}

/// Parses `NAME=VALUE` (the value may contain `=` and may be empty).
pub fn parse_var(arg: &str) -> Result<Var, String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok(Var {
            name: name.trim().to_owned(),
            value: value.to_owned(),
        }),
        _ => Err(format!("invalid --var `{arg}`: expected NAME=VALUE")),
    }
}

/// The `--var` values by name (a later one wins).
pub fn var_map(vars: &[Var]) -> IndexMap<String, String> {
    vars.iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

/// A socket address such as `127.0.0.1:8080` or `[::1]:0`.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an address such as 127.0.0.1:8080 or [::1]:0"))
}

/// The one rule for `--target`: an `http://` or `https://` URL with a host; no trailing slash.
pub fn parse_target_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim();
    match reqwest::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(trimmed.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "--target: `{}` is not an http(s) URL such as http://127.0.0.1:8080",
            crate::redact::mask_userinfo(trimmed)
        )),
    }
}

/// A `--profile` applied to its spec: the adapted spec and what it changed.
pub struct ProfileApplied {
    pub spec: crate::spec::LoadedSpec,
    pub applied: crate::spec::profile::AppliedProfile,
}

/// Loads `--profile FILE` and applies it to its spec (by name from `specs_dir`, or a path relative
/// to the profile's folder). Errors are the profile's own, `file:line:col`, one per line.
pub fn load_profile(
    path: &std::path::Path,
    specs_dir: &std::path::Path,
) -> Result<ProfileApplied, String> {
    use crate::spec::profile;
    let lines = |errors: Vec<crate::document::DocumentError>| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\nerror: ")
    };
    let (profile, map) = profile::load_profile(path).map_err(lines)?;
    let loaded = if profile.spec.ends_with(".json") || profile.spec.contains('/') {
        let spec_path = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&profile.spec);
        crate::spec::load_spec(&spec_path).map_err(|e| e.to_string())?
    } else {
        crate::spec::load_spec_named(specs_dir, &profile.spec)
            .map_err(|e| format!("{}: /spec: {e}", path.display()))?
    };
    let (spec, applied) = profile::apply(&profile, path, &map, &loaded).map_err(lines)?;
    Ok(ProfileApplied { spec, applied })
}

/// Says on stderr that certificates will not be checked, when `--insecure` asks for that.
pub fn warn_insecure(tls: &crate::tls::ClientTls) {
    if tls.insecure {
        eprintln!("warning: --insecure: TLS certificates are not verified; anyone on the path can read and change this traffic");
    }
}

/// The values of the named environment variables that are set.
pub fn read_env(names: &[String]) -> HashMap<String, String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.clone(), v)))
        .collect()
}

/// Whether this looks like a CI job (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Colour on stdout: it is a terminal, `NO_COLOR` is unset or empty, and `--no-color` was not given.
pub fn stdout_color(no_color: bool) -> bool {
    let env_off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && !env_off && std::io::stdout().is_terminal()
}

/// Whether stderr can take a live progress line (a terminal, not CI).
pub fn live_stderr() -> bool {
    !in_ci() && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_syntax() {
        let v = parse_var("email=a@b=c").unwrap();
        assert_eq!((v.name.as_str(), v.value.as_str()), ("email", "a@b=c"));
        assert_eq!(parse_var("empty=").unwrap().value, "");
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=x").is_err());
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_timeout("0s").unwrap_err().contains("at least 1ms"));
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn one_target_rule() {
        assert_eq!(
            parse_target_url(" https://example.test/api/ "),
            Ok("https://example.test/api".to_owned())
        );
        assert!(parse_target_url("http://127.0.0.1:3000").is_ok());
        for bad in ["ftp://x", "127.0.0.1:3000", "http://", "not a url"] {
            let e = parse_target_url(bad).unwrap_err();
            assert!(e.starts_with("--target:") && !e.contains('\n'), "{e}");
        }
        let e = parse_target_url("gopher://user:hunter2@host").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
