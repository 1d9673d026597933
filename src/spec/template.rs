//! `{{name}}` templating of strings in operations and steps.
//!
//! A placeholder is `{{` optional spaces, a name, optional spaces, `}}`. Names are variables, captures,
//! or the built-ins `$random` (16 random hex digits, new at each use) and `$now` (the current HTTP-date).
//! Any other `{{` is an error, caught when the spec is loaded.

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
}

/// Built-in names, always defined.
pub const BUILTINS: &[&str] = &["$random", "$now"];

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
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
        let name = after[..end].trim();
        if !valid_name(name) {
            return Err(TemplateError::BadName {
                text: text.to_owned(),
                name: name.to_owned(),
            });
        }
        pieces.push(Piece::Var(name));
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
            Piece::Var(n) if !n.starts_with('$') => Some(n),
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
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var("$random") => {
                out.push_str(&format!("{:016x}", rand::random::<u64>()));
            }
            Piece::Var("$now") => {
                out.push_str(&httpdate::fmt_http_date(std::time::SystemTime::now()));
            }
            Piece::Var(name) => match lookup(name) {
                Some(v) => out.push_str(v),
                None => {
                    return Err(TemplateError::Unknown {
                        name: name.to_owned(),
                    })
                }
            },
        }
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
}
