//! RFC 9110 §13 conditional requests as pure functions: entity-tag parsing (§8.8.3), strong and weak
//! comparison (§8.8.3.2), and the evaluation order of §13.2.2.

use std::fmt;
use std::time::SystemTime;

use axum::http::{header, HeaderMap, HeaderName, Method};
use sha2::{Digest, Sha256};

use super::tokens::{self, unix_seconds};

/// An entity-tag: `"opaque"` (strong) or `W/"opaque"` (weak).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag {
    weak: bool,
    opaque: String,
}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
fn is_etagc(c: char) -> bool {
    c == '\x21' || ('\x23'..='\x7e').contains(&c) || (c as u32) >= 0x80
}

impl EntityTag {
    /// A strong tag; `None` when `opaque` holds a character an entity-tag cannot carry.
    pub fn strong(opaque: impl Into<String>) -> Option<Self> {
        Self::with(false, opaque.into())
    }

    /// A weak tag; `None` when `opaque` holds a character an entity-tag cannot carry.
    pub fn weak(opaque: impl Into<String>) -> Option<Self> {
        Self::with(true, opaque.into())
    }

    fn with(weak: bool, opaque: String) -> Option<Self> {
        opaque
            .chars()
            .all(is_etagc)
            .then_some(EntityTag { weak, opaque })
    }

    /// The project's tag of a representation: the first 32 hex digits of the SHA-256 of its bytes.
    pub fn of_representation(bytes: &[u8], weak: bool) -> Self {
        let digest = Sha256::digest(bytes);
        let opaque = tokens::hex(&digest[..16]);
        EntityTag { weak, opaque }
    }

    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The tag without `W/` and quotes.
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// Parses exactly one entity-tag (surrounding whitespace allowed).
    pub fn parse(s: &str) -> Option<Self> {
        let (tag, rest) = parse_one(s.trim())?;
        rest.is_empty().then_some(tag)
    }

    /// Strong comparison (§8.8.3.2): both strong and the same opaque tag.
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (§8.8.3.2): the same opaque tag, weakness ignored.
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        write!(f, "\"{}\"", self.opaque)
    }
}

/// Parses one entity-tag at the start of `s`; returns it and the rest of `s`.
fn parse_one(s: &str) -> Option<(EntityTag, &str)> {
    let (weak, s) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('"')?;
    let end = s.find('"')?;
    let opaque = &s[..end];
    let tag = EntityTag::with(weak, opaque.to_string())?;
    Some((tag, &s[end + 1..]))
}

/// The value of `If-Match` / `If-None-Match`: `*` or a list of entity-tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    Any,
    /// Malformed members are dropped: they can never match.
    Tags(Vec<EntityTag>),
}

impl TagList {
    /// Parses `"*"` or `#entity-tag` (commas inside quoted tags are part of the tag).
    pub fn parse(value: &str) -> TagList {
        if value.trim() == "*" {
            return TagList::Any;
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            match parse_one(rest) {
                Some((tag, after)) if after.is_empty() || after.starts_with([' ', '\t', ',']) => {
                    tags.push(tag);
                    rest = after;
                }
                // A malformed member: skip to the next comma outside quotes.
                _ => rest = skip_member(rest),
            }
        }
        TagList::Tags(tags)
    }
}

fn skip_member(s: &str) -> &str {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => return &s[i + 1..],
            _ => {}
        }
    }
    ""
}

/// The conditional headers of one request, parsed. Invalid dates are `None` (ignored, §13.1.3/§13.1.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<TagList>,
    pub if_none_match: Option<TagList>,
    pub if_modified_since: Option<SystemTime>,
    pub if_unmodified_since: Option<SystemTime>,
}

impl Preconditions {
    /// Reads `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Preconditions {
            if_match: joined(headers, &header::IF_MATCH).map(|v| TagList::parse(&v)),
            if_none_match: joined(headers, &header::IF_NONE_MATCH).map(|v| TagList::parse(&v)),
            if_modified_since: date(headers, &header::IF_MODIFIED_SINCE),
            if_unmodified_since: date(headers, &header::IF_UNMODIFIED_SINCE),
        }
    }

    /// Whether no conditional header was given (or all were invalid dates).
    pub fn is_empty(&self) -> bool {
        self == &Preconditions::default()
    }
}

/// All field lines of a list header joined with `, `; a line that is not text makes a member that never matches.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    Some(
        values
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// A single valid HTTP-date; several field lines or an invalid date give `None`.
fn date(headers: &HeaderMap, name: &HeaderName) -> Option<SystemTime> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    httpdate::parse_http_date(first.to_str().ok()?.trim()).ok()
}

/// What the server knows about the target resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceState<'a> {
    /// The current representation's entity-tag, if any.
    pub etag: Option<&'a EntityTag>,
    /// Its last modification, if the resource has one.
    pub last_modified: Option<SystemTime>,
    /// Whether a current representation exists (`*` matches it).
    pub exists: bool,
}

/// The result of evaluating preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// Perform the method.
    Proceed,
    /// 304 (GET/HEAD only).
    NotModified,
    /// 412.
    PreconditionFailed,
}

/// How `If-Match` compares entity-tags: strongly as §13.1.1 requires, or weakly (the
/// `weak-if-match` fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    #[default]
    Strong,
    Weak,
}

/// §13.1.1: `*` is true when a representation exists; otherwise a strong match is needed.
pub fn if_match_passes(list: &TagList, res: &ResourceState<'_>) -> bool {
    if_match_passes_with(list, res, Comparison::Strong)
}

fn if_match_passes_with(list: &TagList, res: &ResourceState<'_>, cmp: Comparison) -> bool {
    match list {
        TagList::Any => res.exists,
        TagList::Tags(tags) => res.etag.is_some_and(|current| {
            tags.iter().any(|t| match cmp {
                Comparison::Strong => t.strong_eq(current),
                Comparison::Weak => t.weak_eq(current),
            })
        }),
    }
}

/// §13.1.2: `*` is false when a representation exists; otherwise false on a weak match.
pub fn if_none_match_passes(list: &TagList, res: &ResourceState<'_>) -> bool {
    match list {
        TagList::Any => !res.exists,
        TagList::Tags(tags) => !res
            .etag
            .is_some_and(|current| tags.iter().any(|t| t.weak_eq(current))),
    }
}

/// §13.1.4: false when the resource was modified after `date` (second precision); true without a date.
pub fn if_unmodified_since_passes(date: SystemTime, last_modified: Option<SystemTime>) -> bool {
    last_modified.is_none_or(|lm| unix_seconds(lm) <= unix_seconds(date))
}

/// §13.1.3: true when the resource was modified after `date` (second precision) or has no date.
pub fn if_modified_since_passes(date: SystemTime, last_modified: Option<SystemTime>) -> bool {
    last_modified.is_none_or(|lm| unix_seconds(lm) > unix_seconds(date))
}

/// The evaluation order of RFC 9110 §13.2.2 (steps 1–4; If-Range is not used here).
///
/// The caller has already answered every status that wins over preconditions (§13.2.1).
pub fn evaluate(method: &Method, pre: &Preconditions, res: &ResourceState<'_>) -> Evaluation {
    evaluate_with(method, pre, res, Comparison::Strong)
}

/// [`evaluate`] with the given `If-Match` comparison.
pub fn evaluate_with(
    method: &Method,
    pre: &Preconditions,
    res: &ResourceState<'_>,
    if_match: Comparison,
) -> Evaluation {
    let safe = method == Method::GET || method == Method::HEAD;
    if let Some(list) = &pre.if_match {
        if !if_match_passes_with(list, res, if_match) {
            return Evaluation::PreconditionFailed;
        }
    } else if let Some(date) = pre.if_unmodified_since {
        if !if_unmodified_since_passes(date, res.last_modified) {
            return Evaluation::PreconditionFailed;
        }
    }
    if let Some(list) = &pre.if_none_match {
        if !if_none_match_passes(list, res) {
            return if safe {
                Evaluation::NotModified
            } else {
                Evaluation::PreconditionFailed
            };
        }
    } else if let Some(date) = pre.if_modified_since {
        if safe && !if_modified_since_passes(date, res.last_modified) {
            return Evaluation::NotModified;
        }
    }
    Evaluation::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::time::{Duration, UNIX_EPOCH};

    fn tag(s: &str) -> EntityTag {
        EntityTag::parse(s).unwrap()
    }

    #[test]
    fn parses_single_tags() {
        assert_eq!(tag("\"abc\""), EntityTag::strong("abc").unwrap());
        assert_eq!(tag(" W/\"abc\" "), EntityTag::weak("abc").unwrap());
        assert_eq!(tag("\"\"").opaque(), "");
        assert!(EntityTag::parse("abc").is_none());
        assert!(EntityTag::parse("\"abc").is_none());
        assert!(
            EntityTag::parse("w/\"abc\"").is_none(),
            "W/ is case-sensitive"
        );
        assert!(EntityTag::parse("\"a\" \"b\"").is_none());
        assert!(EntityTag::strong("a b").is_none());
        assert_eq!(EntityTag::weak("x").unwrap().to_string(), "W/\"x\"");
    }

    #[test]
    fn parses_lists() {
        assert_eq!(TagList::parse(" * "), TagList::Any);
        assert_eq!(
            TagList::parse("\"a\", W/\"b\",\"c,d\""),
            TagList::Tags(vec![tag("\"a\""), tag("W/\"b\""), tag("\"c,d\"")])
        );
        assert_eq!(
            TagList::parse("garbage, \"ok\", \"un"),
            TagList::Tags(vec![tag("\"ok\"")])
        );
        assert_eq!(TagList::parse(""), TagList::Tags(vec![]));
    }

    #[test]
    fn comparison_table_of_rfc_9110() {
        // §8.8.3.2, the four rows of the example table.
        let pairs = [
            ("W/\"1\"", "W/\"1\"", false, true),
            ("W/\"1\"", "W/\"2\"", false, false),
            ("W/\"1\"", "\"1\"", false, true),
            ("\"1\"", "\"1\"", true, true),
        ];
        for (a, b, strong, weak) in pairs {
            assert_eq!(tag(a).strong_eq(&tag(b)), strong, "{a} vs {b}");
            assert_eq!(tag(a).weak_eq(&tag(b)), weak, "{a} vs {b}");
        }
    }

    #[test]
    fn representation_tag_is_32_hex() {
        let t = EntityTag::of_representation(b"{}", false);
        assert_eq!(t.opaque().len(), 32);
        assert!(t.opaque().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(t, EntityTag::of_representation(b"{}", false));
        assert!(EntityTag::of_representation(b"{}", true).is_weak());
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn pre(m: Option<&str>, n: Option<&str>, ims: Option<u64>, ius: Option<u64>) -> Preconditions {
        Preconditions {
            if_match: m.map(TagList::parse),
            if_none_match: n.map(TagList::parse),
            if_modified_since: ims.map(at),
            if_unmodified_since: ius.map(at),
        }
    }

    #[test]
    fn evaluation_order() {
        let current = tag("\"v1\"");
        let res = ResourceState {
            etag: Some(&current),
            last_modified: Some(at(1000) + Duration::from_millis(600)),
            exists: true,
        };
        let get = Method::GET;
        let del = Method::DELETE;
        use Evaluation::*;
        let cases = [
            (&get, pre(None, None, None, None), Proceed),
            (&get, pre(Some("\"v1\""), None, None, None), Proceed),
            (
                &get,
                pre(Some("W/\"v1\""), None, None, None),
                PreconditionFailed,
            ),
            (&get, pre(Some("*"), None, None, None), Proceed),
            (&get, pre(Some("\"v0\", \"v1\""), None, None, None), Proceed),
            // If-Match wins over If-None-Match.
            (
                &get,
                pre(Some("\"v0\""), Some("\"v1\""), None, None),
                PreconditionFailed,
            ),
            // If-Unmodified-Since ignored when If-Match is present.
            (&get, pre(Some("\"v1\""), None, None, Some(10)), Proceed),
            (&get, pre(None, None, None, Some(999)), PreconditionFailed),
            (&get, pre(None, None, None, Some(1000)), Proceed),
            (&get, pre(None, Some("W/\"v1\""), None, None), NotModified),
            (&get, pre(None, Some("*"), None, None), NotModified),
            (&get, pre(None, Some("\"v2\""), None, None), Proceed),
            (
                &del,
                pre(None, Some("\"v1\""), None, None),
                PreconditionFailed,
            ),
            // If-Modified-Since ignored with If-None-Match, and for DELETE.
            (&get, pre(None, Some("\"v2\""), Some(2000), None), Proceed),
            (&get, pre(None, None, Some(1000), None), NotModified),
            (&get, pre(None, None, Some(999), None), Proceed),
            (&del, pre(None, None, Some(2000), None), Proceed),
            (
                &Method::HEAD,
                pre(None, None, Some(2000), None),
                NotModified,
            ),
            // Unmodified-since failure wins over a not-modified.
            (
                &get,
                pre(None, Some("\"v1\""), None, Some(5)),
                PreconditionFailed,
            ),
        ];
        for (i, (method, p, want)) in cases.iter().enumerate() {
            assert_eq!(evaluate(method, p, &res), *want, "case {i}: {p:?}");
        }
    }

    #[test]
    fn resource_without_representation() {
        let res = ResourceState::default();
        let post = Method::POST;
        assert_eq!(
            evaluate(&post, &pre(Some("*"), None, None, None), &res),
            Evaluation::PreconditionFailed
        );
        assert_eq!(
            evaluate(&post, &pre(Some("\"x\""), None, None, None), &res),
            Evaluation::PreconditionFailed
        );
        assert_eq!(
            evaluate(&post, &pre(None, Some("*"), None, None), &res),
            Evaluation::Proceed
        );
        assert_eq!(
            evaluate(&post, &pre(None, None, Some(1), Some(1)), &res),
            Evaluation::Proceed
        );
    }

    #[test]
    fn reads_headers() {
        let mut h = HeaderMap::new();
        h.append(header::IF_MATCH, HeaderValue::from_static("\"a\""));
        h.append(header::IF_MATCH, HeaderValue::from_static("\"b\""));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        h.insert(
            header::IF_UNMODIFIED_SINCE,
            HeaderValue::from_static("yesterday"),
        );
        let p = Preconditions::from_headers(&h);
        assert_eq!(
            p.if_match,
            Some(TagList::Tags(vec![tag("\"a\""), tag("\"b\"")]))
        );
        assert_eq!(p.if_modified_since, Some(at(784_111_777)));
        assert_eq!(p.if_unmodified_since, None, "invalid dates are ignored");
        assert!(p.if_none_match.is_none());
        assert!(Preconditions::from_headers(&HeaderMap::new()).is_empty());
    }
}
