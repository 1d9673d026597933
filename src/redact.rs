//! Redaction of secrets (passwords, tokens, secret variables and captures) from every output.

/// What replaces a secret.
pub const MASK: &str = "***";

/// Replaces known secret values, and their URL- and JSON-encoded forms, with [`MASK`].
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value. Values shorter than 3 bytes are ignored (they would mask ordinary text).
    pub fn add(&mut self, secret: &str) {
        if secret.len() < 3 {
            return;
        }
        let mut forms = vec![secret.to_owned()];
        let url = percent_encode(secret);
        forms.push(url.clone());
        forms.push(url.replace("%20", "+"));
        // JSON-escaped once (a body quoting the secret) and twice (a body quoting a JSON request).
        let once = json_escape(secret);
        let twice = json_escape(&once);
        forms.push(once);
        forms.push(twice);
        for f in forms {
            if !self.secrets.contains(&f) {
                self.secrets.push(f);
            }
        }
        // Longest first, so that a secret containing another is masked whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Merges another redactor's secrets.
    pub fn extend(&mut self, other: &Redactor) {
        for s in &other.secrets {
            if !self.secrets.contains(s) {
                self.secrets.push(s.clone());
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The text with every secret masked, and every JWT-shaped string too: a token the spec could
    /// not capture (its field drifted) is still a token.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        if out.contains("eyJ") {
            out = jwt_pattern().replace_all(&out, MASK).into_owned();
        }
        out
    }

    /// Masks secrets inside every string of a JSON value.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.redact_json(v)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// A compact JWS (RFC 7515 §7.1): base64url JOSE header starting `{"` (`eyJ`), payload, signature.
fn jwt_pattern() -> &'static regex::Regex {
    static JWT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    JWT.get_or_init(|| {
        regex::Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
            .expect("valid regex")
    })
}

/// `text` with the userinfo of every URL in it (`http://user:pw@host`) replaced by `***`.
pub fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_masked_in_every_url() {
        assert_eq!(
            mask_userinfo("GET http://u:pw@h:1/x?a=b@c and https://t@h2"),
            "GET http://***@h:1/x?a=b@c and https://***@h2"
        );
        assert_eq!(mask_userinfo("http://host/a@b"), "http://host/a@b");
        assert_eq!(mask_userinfo("no url"), "no url");
    }

    #[test]
    fn masks_plain_url_and_json_forms() {
        let mut r = Redactor::new();
        r.add("p@ss word\"x");
        assert_eq!(r.redact("a p@ss word\"x b"), "a *** b");
        assert_eq!(r.redact("password=p%40ss+word%22x"), "password=***");
        assert_eq!(r.redact(r#"{"p":"p@ss word\"x"}"#), r#"{"p":"***"}"#);
        // A JSON request quoted inside a JSON string: escaped twice.
        assert_eq!(
            r.redact(r#""{\"p\":\"p@ss word\\\"x\"}""#),
            r#""{\"p\":\"***\"}""#
        );
        r.add("ab");
        assert_eq!(r.redact("ab"), "ab");
    }

    #[test]
    fn masks_uncaptured_jwts() {
        let r = Redactor::new();
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.iEl3eb9A1VDhIWpJIRF4ACisRwvjKn-VIemyVOGEXPY";
        assert_eq!(
            r.redact(&format!("{{\"token\":\"{jwt}\"}}")),
            r#"{"token":"***"}"#
        );
        assert_eq!(r.redact("eyJust a word"), "eyJust a word");
    }
}
