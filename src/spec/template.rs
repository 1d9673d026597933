//! `{{name}}` templating of strings in operations and steps.
//!
//! A placeholder is `{{` optional spaces, a name, optional spaces, `}}`. Names are variables, captures,
//! or the built-ins `$random` (16 random hex digits, new at each use) and `$now` (the current HTTP-date).
//! The value may pass through functions, left to right: `{{ last_modified | add_seconds(-1) |
//! http_date }}` (HTTP dates and integers: `http_date`, `unix_time`, `add_seconds(N)`, `add(N)`;
//! entity tags: `strong`, `weak`, `is_weak`). Any other `{{` is an error, caught when the spec is
//! loaded.

use thiserror::Error;

/// A template that cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("unclosed `{{{{` at byte {at} of `{text}`")]
    Unclosed { text: String, at: usize },
    #[error(
        "invalid variable name `{name}` in `{text}` (names are letters, digits, `_`, `-`, `.`)"
    )]
    BadName { text: String, name: String },
    #[error("unknown variable `{name}`")]
    Unknown { name: String },
    #[error("unknown template function `{function}` in `{text}`{hint}; known: {known}")]
    UnknownFunction {
        text: String,
        function: String,
        hint: String,
        known: String,
    },
    #[error("`{function}` {why} (in `{text}`)")]
    BadCall {
        text: String,
        function: String,
        why: String,
    },
    #[error("`{function}` cannot take `{value}`: {why}")]
    Function {
        function: String,
        value: String,
        why: String,
    },
}

/// A template function (a filter after `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// An HTTP-date (any of RFC 9110's three formats) or Unix seconds → an IMF-fixdate.
    HttpDate,
    /// An HTTP-date or Unix seconds → Unix seconds.
    UnixTime,
    /// An HTTP-date → the IMF-fixdate N seconds later (N may be negative); Unix seconds → + N.
    AddSeconds(i64),
    /// An integer → + N.
    Add(i64),
    /// An entity-tag → its strong form (`W/"x"` → `"x"`).
    Strong,
    /// An entity-tag → its weak form (`"x"` → `W/"x"`, never `W/W/"x"`).
    Weak,
    /// An entity-tag → `true` (weak) or `false` (strong).
    IsWeak,
}

/// The names of the template functions, with their arity (the integer argument).
pub const FUNCTIONS: &[(&str, bool)] = &[
    ("http_date", false),
    ("unix_time", false),
    ("add_seconds", true),
    ("add", true),
    ("strong", false),
    ("weak", false),
    ("is_weak", false),
];

impl Function {
    fn parse(call: &str, text: &str) -> Result<Function, TemplateError> {
        let call = call.trim();
        let (name, arg) = match call.split_once('(') {
            Some((name, rest)) => {
                let Some(arg) = rest.strip_suffix(')') else {
                    return Err(TemplateError::BadCall {
                        text: text.to_owned(),
                        function: name.trim().to_owned(),
                        why: "has an unclosed `(`".to_owned(),
                    });
                };
                (name.trim(), Some(arg.trim()))
            }
            None => (call, None),
        };
        let Some(&(_, takes_arg)) = FUNCTIONS.iter().find(|(n, _)| *n == name) else {
            return Err(TemplateError::UnknownFunction {
                text: text.to_owned(),
                function: name.to_owned(),
                hint: crate::document::text::did_you_mean(name, FUNCTIONS.iter().map(|(n, _)| *n)),
                known: FUNCTIONS
                    .iter()
                    .map(|(n, a)| {
                        if *a {
                            format!("`{n}(N)`")
                        } else {
                            format!("`{n}`")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let bad = |why: &str| TemplateError::BadCall {
            text: text.to_owned(),
            function: name.to_owned(),
            why: why.to_owned(),
        };
        let n = match (takes_arg, arg) {
            (true, Some(a)) => Some(
                a.parse::<i64>()
                    .map_err(|_| bad("takes one integer argument, e.g. `add_seconds(-1)`"))?,
            ),
            (true, None) => return Err(bad("takes one integer argument, e.g. `add_seconds(-1)`")),
            (false, Some(_)) => return Err(bad("takes no argument")),
            (false, None) => None,
        };
        Ok(match (name, n) {
            ("http_date", _) => Function::HttpDate,
            ("unix_time", _) => Function::UnixTime,
            ("add_seconds", Some(n)) => Function::AddSeconds(n),
            ("add", Some(n)) => Function::Add(n),
            ("strong", _) => Function::Strong,
            ("weak", _) => Function::Weak,
            _ => Function::IsWeak,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Function::HttpDate => "http_date",
            Function::UnixTime => "unix_time",
            Function::AddSeconds(_) => "add_seconds",
            Function::Add(_) => "add",
            Function::Strong => "strong",
            Function::Weak => "weak",
            Function::IsWeak => "is_weak",
        }
    }

    /// Applies the function to a value.
    pub fn apply(self, value: &str) -> Result<String, TemplateError> {
        let fail = |why: &str| TemplateError::Function {
            function: self.name().to_owned(),
            value: crate::document::text::clip(value, 60),
            why: why.to_owned(),
        };
        let v = value.trim();
        match self {
            Function::HttpDate => Ok(httpdate::fmt_http_date(
                instant(v).ok_or_else(|| fail(NOT_A_TIME))?,
            )),
            Function::UnixTime => {
                let t = instant(v).ok_or_else(|| fail(NOT_A_TIME))?;
                Ok(unix_seconds(t).to_string())
            }
            Function::AddSeconds(n) => {
                if let Ok(i) = v.parse::<i64>() {
                    return i
                        .checked_add(n)
                        .map(|s| s.to_string())
                        .ok_or_else(|| fail("the sum overflows"));
                }
                let t = httpdate::parse_http_date(v).map_err(|_| fail(NOT_A_TIME))?;
                let shifted = if n >= 0 {
                    t.checked_add(std::time::Duration::from_secs(n.unsigned_abs()))
                } else {
                    t.checked_sub(std::time::Duration::from_secs(n.unsigned_abs()))
                };
                let shifted = shifted
                    .filter(|s| *s >= std::time::UNIX_EPOCH)
                    .ok_or_else(|| fail("the date leaves the range of HTTP dates"))?;
                Ok(httpdate::fmt_http_date(shifted))
            }
            Function::Add(n) => v
                .parse::<i64>()
                .map_err(|_| fail("not an integer"))?
                .checked_add(n)
                .map(|s| s.to_string())
                .ok_or_else(|| fail("the sum overflows")),
            Function::Strong | Function::Weak | Function::IsWeak => {
                let (weak, opaque) = entity_tag(v).ok_or_else(|| {
                    fail("not an entity-tag (`\"…\"` or `W/\"…\"`, RFC 9110 §8.8.3)")
                })?;
                Ok(match self {
                    Function::Strong => opaque.to_owned(),
                    Function::Weak => format!("W/{opaque}"),
                    _ => weak.to_string(),
                })
            }
        }
    }
}

const NOT_A_TIME: &str = "not an HTTP-date (RFC 9110 §5.6.7) or a number of seconds since 1970";

/// An HTTP-date in any of its three formats, or whole Unix seconds.
fn instant(v: &str) -> Option<std::time::SystemTime> {
    if let Ok(secs) = v.parse::<u64>() {
        return std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs));
    }
    httpdate::parse_http_date(v).ok()
}

fn unix_seconds(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `(weak, "opaque")` of an entity-tag (RFC 9110 §8.8.3), the quoted part with its quotes.
fn entity_tag(v: &str) -> Option<(bool, &str)> {
    let (weak, opaque) = match v.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let inner = opaque.strip_prefix('"')?.strip_suffix('"')?;
    let etagc = |c: char| c == '\x21' || ('\x23'..='\x7e').contains(&c) || c as u32 >= 0x80;
    inner.chars().all(etagc).then_some((weak, opaque))
}

/// Built-in names, always defined.
pub const BUILTINS: &[&str] = &["$random", "$now", "$user", "$shard"];

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
    /// A value passed through functions: `{{ name | f | g(1) }}`.
    Call(&'a str, Vec<Function>),
}

impl Piece<'_> {
    /// The name a `Var` or `Call` looks up.
    pub fn name(&self) -> Option<&str> {
        match self {
            Piece::Text(_) => None,
            Piece::Var(n) | Piece::Call(n, _) => Some(n),
        }
    }
}

/// Splits a template into text and variable pieces.
pub fn parse(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed {
                text: text.to_owned(),
                at: offset + start,
            });
        };
        let inner = &after[..end];
        let mut parts = inner.split('|');
        let name = parts.next().unwrap_or_default().trim();
        if !valid_name(name) {
            return Err(TemplateError::BadName {
                text: text.to_owned(),
                name: name.to_owned(),
            });
        }
        let functions = parts
            .map(|call| Function::parse(call, text))
            .collect::<Result<Vec<_>, _>>()?;
        if functions.is_empty() {
            pieces.push(Piece::Var(name));
        } else {
            pieces.push(Piece::Call(name, functions));
        }
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

fn valid_name(name: &str) -> bool {
    let body = name.strip_prefix('$').unwrap_or(name);
    !body.is_empty()
        && body.len() <= 128
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && (!name.starts_with('$') || BUILTINS.contains(&name))
}

/// The variable names a template uses (built-ins excluded).
pub fn names(text: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(parse(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(n) | Piece::Call(n, _) if !n.starts_with('$') => Some(n),
            _ => None,
        })
        .collect())
}

/// Renders a template, looking names up with `lookup`.
pub fn render<'v>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    for piece in parse(text)? {
        let (name, functions) = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                continue;
            }
            Piece::Var(name) => (name, Vec::new()),
            Piece::Call(name, functions) => (name, functions),
        };
        let mut value = match name {
            "$random" => format!("{:016x}", rand::random::<u64>()),
            "$now" => httpdate::fmt_http_date(std::time::SystemTime::now()),
            // Outside a load run there is one user of one shard (`load::shard`).
            "$user" | "$shard" => "0".to_owned(),
            name => lookup(name)
                .ok_or_else(|| TemplateError::Unknown {
                    name: name.to_owned(),
                })?
                .to_owned(),
        };
        for f in functions {
            value = f.apply(&value)?;
        }
        out.push_str(&value);
    }
    Ok(out)
}

/// Renders every string inside a JSON value.
pub fn render_json<'v>(
    value: &serde_json::Value,
    lookup: &impl Fn(&str) -> Option<&'v str>,
) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => Value::String(render(s, lookup)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, lookup)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// Every template string inside a JSON value, for load-time checks.
pub fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_rejects() {
        let lookup = |n: &str| (n == "email").then_some("a@b.c");
        assert_eq!(render("x={{ email }}!", lookup).unwrap(), "x=a@b.c!");
        assert_eq!(
            render("{{nope}}", lookup),
            Err(TemplateError::Unknown {
                name: "nope".into()
            })
        );
        assert!(matches!(
            parse("{{a"),
            Err(TemplateError::Unclosed { at: 0, .. })
        ));
        assert!(matches!(
            parse("{{{{a}}"),
            Err(TemplateError::BadName { .. })
        ));
        assert!(matches!(
            parse("{{$bogus}}"),
            Err(TemplateError::BadName { .. })
        ));
        assert_eq!(names("/s/{{id}}/{{$random}}").unwrap(), vec!["id"]);
        assert_eq!(render("{{$random}}", lookup).unwrap().len(), 16);
    }

    #[test]
    fn functions_on_dates_numbers_and_entity_tags() {
        let values = |n: &str| match n {
            "lm" => Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            "old" => Some("Sunday, 06-Nov-94 08:49:37 GMT"),
            "n" => Some("41"),
            "weak" => Some("W/\"v1\""),
            "strong" => Some(" \"v1\" "),
            "bad" => Some("v1"),
            _ => None,
        };
        let r = |t: &str| render(t, values);
        assert_eq!(
            r("{{ lm | add_seconds(-1) | http_date }}").unwrap(),
            "Sun, 06 Nov 1994 08:49:36 GMT"
        );
        assert_eq!(
            r("{{lm|add_seconds(3600)}}").unwrap(),
            "Sun, 06 Nov 1994 09:49:37 GMT"
        );
        assert_eq!(
            r("{{ old | http_date }}").unwrap(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(r("{{ lm | unix_time }}").unwrap(), "784111777");
        assert_eq!(
            r("{{ lm | unix_time | add(1) | http_date }}").unwrap(),
            "Sun, 06 Nov 1994 08:49:38 GMT"
        );
        assert_eq!(r("{{ n | add(1) }}").unwrap(), "42");
        assert_eq!(
            r("{{ n | add_seconds(-41) | http_date }}").unwrap(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(r("{{ weak | strong }}").unwrap(), "\"v1\"");
        assert_eq!(r("{{ strong | weak }}").unwrap(), "W/\"v1\"");
        // The weak form of a weak tag stays one `W/`.
        assert_eq!(r("{{ weak | weak }}").unwrap(), "W/\"v1\"");
        assert_eq!(
            r("{{ weak | is_weak }}/{{ strong | is_weak }}").unwrap(),
            "true/false"
        );
        assert_eq!(r("{{ $now | http_date }}").unwrap().len(), 29);
        assert_eq!(
            names("{{ lm | add_seconds(-1) }}{{$now|unix_time}}").unwrap(),
            vec!["lm"]
        );
        let err = r("{{ bad | strong }}").unwrap_err().to_string();
        assert!(err.contains("not an entity-tag"), "{err}");
        let err = r("{{ n | http_dat }}").unwrap_err().to_string();
        assert!(err.contains("(did you mean `http_date`?)"), "{err}");
        assert!(r("{{ lm | add_seconds }}")
            .unwrap_err()
            .to_string()
            .contains("integer argument"));
        assert!(r("{{ lm | strong(1) }}")
            .unwrap_err()
            .to_string()
            .contains("no argument"));
        assert!(r("{{ lm | add(1) }}")
            .unwrap_err()
            .to_string()
            .contains("not an integer"));
        assert!(r("{{ lm | add_seconds(-999999999999) }}").is_err());
        assert!(matches!(
            parse("{{ lm | }}"),
            Err(TemplateError::UnknownFunction { .. })
        ));
    }
}
