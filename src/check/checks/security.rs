//! Session-security verdicts (issue 15), pure functions of what the attacks observed
//! (`src/check/attack.rs` sends the requests): forged JWTs refused, tokens unguessable, unknown
//! user and wrong password not told apart by time, expired tokens refused, no session fixation,
//! failed logins throttled. Every failure names the attack and the OWASP ASVS 5.0 requirement.
//! Tokens are never shown (they are credentials).

use std::collections::BTreeSet;
use std::io::Write as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::{fail, pass, verdict, CheckResult, CheckResultExt};
use crate::http::ResponseData;
use crate::spec::StatusExpect;

/// ASVS 5.0 requirements the checks cite.
pub const ASVS_SIGNATURE: &str = "ASVS 5.0 V9.1.1";
pub const ASVS_ALGORITHM: &str = "ASVS 5.0 V9.1.2";
pub const ASVS_EXPIRY: &str = "ASVS 5.0 V9.2.1";
pub const ASVS_ENTROPY: &str = "ASVS 5.0 V7.2.3";
pub const ASVS_ENUMERATION: &str = "ASVS 5.0 V6.3.8";
pub const ASVS_FIXATION: &str = "ASVS 5.0 V7.2.4";
pub const ASVS_LOCKOUT: &str = "ASVS 5.0 V6.3.1";

/// The default refusal of a forged or expired token.
pub fn default_refused() -> StatusExpect {
    StatusExpect::AnyOf(vec![401, 403])
}

fn show_statuses(s: &StatusExpect) -> String {
    match s {
        StatusExpect::One(c) => c.to_string(),
        StatusExpect::AnyOf(v) => {
            let all: Vec<String> = v.iter().map(u16::to_string).collect();
            all.join(" or ")
        }
    }
}

// ---- jwt_forgery ----

/// One forged token derived from a real one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgery {
    /// Short name (`alg-none`), part of the check id.
    pub name: &'static str,
    /// What was done, in words.
    pub what: &'static str,
    /// The ASVS requirement the forgery tests.
    pub asvs: &'static str,
    pub token: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a JWS `alg` is asymmetric (its verification key is public).
pub fn is_asymmetric(alg: &str) -> bool {
    ["RS", "PS", "ES"].iter().any(|p| alg.starts_with(p)) || alg == "EdDSA"
}

/// The `alg` of a JWT's header, when it decodes and names one.
pub fn header_alg(token: &str) -> Option<String> {
    let decoded = super::jwt::decode(token).ok()?;
    decoded.header.get("alg")?.as_str().map(str::to_owned)
}

/// The forgeries of a compact JWS `token`: `alg: none` with the signature stripped, the
/// signature stripped under the original header, one payload byte changed with the old
/// signature, HS256 signed with the empty key, and, for an asymmetric token when
/// `public_key` is given, HS256 signed with the public key's text (algorithm confusion).
/// Fails when `token` is not a JWT.
pub fn forgeries(token: &str, public_key: Option<&str>) -> Result<Vec<Forgery>, String> {
    let decoded = super::jwt::decode(token)?;
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload) = (parts[0], parts[1]);
    let mut none_header = decoded.header.clone();
    none_header.insert("alg".into(), Value::from("none"));
    let none_header = b64(Value::Object(none_header).to_string().as_bytes());
    let mut out = vec![
        Forgery {
            name: "alg-none",
            what: "`alg: none`, signature stripped",
            asvs: ASVS_ALGORITHM,
            token: format!("{none_header}.{payload}."),
        },
        Forgery {
            name: "signature-stripped",
            what: "the signature stripped",
            asvs: ASVS_SIGNATURE,
            token: format!("{header}.{payload}."),
        },
    ];
    let mut claims = decoded.claims.clone();
    // One byte of the payload changed: the last digit of `exp` (or of another number), else a
    // claim added; the old signature kept.
    let changed = bump_a_number(&mut claims);
    if !changed {
        claims.insert("admin".into(), Value::Bool(true));
    }
    let tampered = b64(Value::Object(claims.clone()).to_string().as_bytes());
    out.push(Forgery {
        name: "payload-changed",
        what: "one payload byte changed, the old signature kept",
        asvs: ASVS_SIGNATURE,
        token: format!("{header}.{tampered}.{}", parts[2]),
    });
    let hs256 = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    if let Ok(t) = jsonwebtoken::encode(
        &hs256,
        &decoded.claims,
        &jsonwebtoken::EncodingKey::from_secret(b""),
    ) {
        out.push(Forgery {
            name: "empty-key",
            what: "HS256 signed with the empty key",
            asvs: ASVS_SIGNATURE,
            token: t,
        });
    }
    let asymmetric = decoded
        .header
        .get("alg")
        .and_then(Value::as_str)
        .is_some_and(is_asymmetric);
    let key = public_key.map(str::trim_end).filter(|k| !k.is_empty());
    if let (true, Some(key)) = (asymmetric, key) {
        // The key's text as given and with the final newline a PEM file has (a shell's
        // `$(cat key.pem)` drops it): a vulnerable server uses the file's bytes.
        let texts = [
            ("public-key-hmac", key.to_owned()),
            ("public-key-hmac-lf", format!("{key}\n")),
        ];
        for (name, text) in texts {
            if let Ok(t) = jsonwebtoken::encode(
                &hs256,
                &decoded.claims,
                &jsonwebtoken::EncodingKey::from_secret(text.as_bytes()),
            ) {
                out.push(Forgery {
                    name,
                    what: "HS256 signed with the public key's text (algorithm confusion)",
                    asvs: ASVS_ALGORITHM,
                    token: t,
                });
            }
        }
    }
    Ok(out)
}

/// Changes the last digit of `exp` (or of the first integer claim); false when there is none.
fn bump_a_number(claims: &mut serde_json::Map<String, Value>) -> bool {
    let key = if claims.get("exp").is_some_and(Value::is_u64) {
        Some("exp".to_owned())
    } else {
        claims
            .iter()
            .find(|(_, v)| v.is_u64())
            .map(|(k, _)| k.clone())
    };
    let Some(key) = key else { return false };
    let Some(n) = claims.get(&key).and_then(Value::as_u64) else {
        return false;
    };
    // 9 → 8, otherwise +1: one digit changes and the value stays plausible.
    let bumped = if n % 10 == 9 { n - 1 } else { n + 1 };
    claims.insert(key, Value::from(bumped));
    true
}

/// `jwt_forgery:NAME`: the answer to the forged token is a refusal.
pub fn forgery_refused(forgery: &Forgery, status: u16, refused: &StatusExpect) -> CheckResult {
    let check = format!("jwt_forgery:{}", forgery.name);
    let expected = format!(
        "a forged JWT ({}) refused with {} ({})",
        forgery.what,
        show_statuses(refused),
        forgery.asvs
    );
    if refused.allows(status) {
        pass(check, expected, format!("{status}: refused"))
    } else {
        fail(
            check,
            expected,
            format!(
                "{status}: the forged token was accepted (JWT forgery, {})",
                forgery.asvs
            ),
        )
    }
    .with_rule(forgery.asvs)
}

// ---- token_entropy ----

/// What the entropy estimate found.
#[derive(Debug, Clone, PartialEq)]
pub struct Entropy {
    /// Symbols per position assumed (16 hex, 10 digits, 62 alphanumeric, 64 base64, …).
    pub alphabet: u32,
    /// Positions that differ between tokens (a common prefix or suffix carries no randomness).
    pub varying: usize,
    /// `varying × log2(alphabet)`.
    pub alphabet_bits: f64,
    /// Bits per token after DEFLATE of all the tokens together.
    pub compressed_bits: f64,
    /// The estimate: `alphabet_bits`, or `compressed_bits` when the tokens compress to less than
    /// 60 % of it (repeated substrings).
    pub bits: f64,
}

/// Estimates the random bits of each of `tokens` (at least two).
pub fn estimate_entropy(tokens: &[String]) -> Entropy {
    let chars: BTreeSet<char> = tokens.iter().flat_map(|t| t.chars()).collect();
    let within = |set: &dyn Fn(char) -> bool| chars.iter().all(|c| set(*c));
    let alphabet: u32 = if within(&|c| c.is_ascii_digit()) {
        10
    } else if within(&|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        || within(&|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    {
        16
    } else if within(&|c| c.is_ascii_alphanumeric()) {
        62
    } else if within(&|c| c.is_ascii_alphanumeric() || "-_+/=".contains(c)) {
        64
    } else {
        u32::try_from(chars.len()).unwrap_or(u32::MAX).max(2)
    };
    let rows: Vec<Vec<char>> = tokens.iter().map(|t| t.chars().collect()).collect();
    let shortest = rows.iter().map(Vec::len).min().unwrap_or(0);
    let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
    // A position varies when the tokens differ there, counted from the start and from the end
    // alike (a fixed prefix and a fixed suffix both carry nothing).
    let varies =
        |at: &dyn Fn(&Vec<char>) -> char| rows.iter().map(at).collect::<BTreeSet<_>>().len() > 1;
    let mut varying = (0..shortest).filter(|i| varies(&|r| r[*i])).count();
    let from_end = (0..shortest)
        .filter(|i| varies(&|r| r[r.len() - 1 - i]))
        .count();
    varying = varying.min(from_end) + (longest - shortest);
    let alphabet_bits = varying as f64 * f64::from(alphabet).log2();
    let compressed_bits = compressed_bits_per_token(tokens);
    let bits = if compressed_bits < 0.6 * alphabet_bits {
        compressed_bits
    } else {
        alphabet_bits
    };
    Entropy {
        alphabet,
        varying,
        alphabet_bits,
        compressed_bits,
        bits,
    }
}

/// Bits per token of the tokens, one per line, compressed with DEFLATE (best), less the cost of
/// compressing as many empty lines.
fn compressed_bits_per_token(tokens: &[String]) -> f64 {
    let size = |text: &str| -> usize {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = enc.write_all(text.as_bytes());
        enc.finish().map_or(text.len(), |v| v.len())
    };
    let joined = tokens.join("\n");
    let empty = "\n".repeat(tokens.len().saturating_sub(1));
    let bytes = size(&joined).saturating_sub(size(&empty));
    (bytes * 8) as f64 / tokens.len().max(1) as f64
}

/// `token_entropy:distinct`: no two of the tokens are equal.
pub fn tokens_distinct(tokens: &[String], what: &str) -> CheckResult {
    let distinct: BTreeSet<&String> = tokens.iter().collect();
    let expected = format!(
        "{} different {what} from {} logins ({ASVS_FIXATION})",
        tokens.len(),
        tokens.len()
    );
    if distinct.len() == tokens.len() {
        pass("token_entropy:distinct", expected, "all different")
    } else {
        fail(
            "token_entropy:distinct",
            expected,
            format!(
                "only {} different: a login repeated an earlier {what} (predictable tokens, {ASVS_FIXATION})",
                distinct.len()
            ),
        )
    }
    .with_rule(ASVS_FIXATION)
}

/// `token_entropy:bits`: the estimated random bits of each token reach `min_bits`.
pub fn entropy_reaches(tokens: &[String], what: &str, min_bits: u32) -> CheckResult {
    let e = estimate_entropy(tokens);
    let expected = format!("at least {min_bits} random bits per {what} ({ASVS_ENTROPY})");
    let actual = format!(
        "about {:.0} bits ({} varying characters of a {}-symbol alphabet: {:.0} bits; DEFLATE: {:.0} bits per token; {} tokens)",
        e.bits,
        e.varying,
        e.alphabet,
        e.alphabet_bits,
        e.compressed_bits,
        tokens.len()
    );
    if e.bits + 1e-9 >= f64::from(min_bits) {
        pass("token_entropy:bits", expected, actual)
    } else {
        fail(
            "token_entropy:bits",
            expected,
            format!("{actual}: guessable tokens ({ASVS_ENTROPY})"),
        )
    }
    .with_rule(ASVS_ENTROPY)
}

/// The `jti` claim of a JWT, if it is one and has it.
pub fn jwt_id(token: &str) -> Option<String> {
    let decoded = super::jwt::decode(token).ok()?;
    match decoded.claims.get("jti")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

// ---- timing_same_as ----

/// The Mann–Whitney U test of two samples (normal approximation with tie correction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UTest {
    /// U of the first sample.
    pub u: f64,
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Probability that a value of the first sample exceeds one of the second (U / n1 n2).
    pub effect: f64,
}

/// Mann–Whitney U of `a` against `b` (each non-empty).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> UTest {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|v| (*v, true))
        .chain(b.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Mid-ranks for ties; the tie correction term Σ(t³ − t).
    let mut rank_a = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_a += rank * all[i..=j].iter().filter(|(_, first)| *first).count() as f64;
        i = j + 1;
    }
    let u = rank_a - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let z = if var > 0.0 {
        // Continuity correction towards the mean.
        let d = u - mean;
        (d.abs() - 0.5).max(0.0).copysign(d) / var.sqrt()
    } else {
        0.0
    };
    UTest {
        u,
        z,
        p: erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0),
        effect: u / (n1 * n2),
    }
}

/// The complementary error function (Numerical Recipes' `erfcc`, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The median of a non-empty sample.
pub fn median(sample: &[f64]) -> f64 {
    let mut s = sample.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// How `timing_same_as` decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingRule {
    pub alpha: f64,
    pub min_difference_ms: f64,
    pub min_ratio: f64,
}

impl Default for TimingRule {
    fn default() -> Self {
        TimingRule {
            alpha: 0.001,
            // Loopback answers take 0.1–0.4 ms: a skipped fast hash (0.15 ms) is a real leak;
            // clean servers differ by at most 0.02 ms (docs/spec-format.md has the measurements).
            min_difference_ms: 0.05,
            min_ratio: 0.25,
        }
    }
}

/// `timing_same_as:STEP`: the latencies (ms) of this step's request (`this`) and of the earlier
/// step's (`earlier`) are not told apart: it fails only when the U test is significant **and**
/// the medians differ by at least the practical floor.
pub fn timing_same(step: &str, this: &[f64], earlier: &[f64], rule: TimingRule) -> CheckResult {
    let check = format!("timing_same_as:{step}");
    let (m_this, m_earlier) = (median(this), median(earlier));
    let diff = m_this - m_earlier;
    let floor = rule
        .min_difference_ms
        .max(rule.min_ratio * m_this.min(m_earlier));
    let t = mann_whitney(this, earlier);
    let significant = t.p < rule.alpha;
    let practical = diff.abs() >= floor;
    let expected = format!(
        "the same response time as step `{step}` (a difference both significant, p < {}, and of at least {floor:.2} ms fails; {ASVS_ENUMERATION})",
        rule.alpha
    );
    let actual = format!(
        "median {m_this:.2} ms vs {m_earlier:.2} ms (difference {diff:+.2} ms; Mann–Whitney U = {:.0}, p = {:.2e}, P(this slower) = {:.2}; {} + {} samples, interleaved)",
        t.u,
        t.p,
        t.effect,
        this.len(),
        earlier.len()
    );
    if significant && practical {
        fail(
            check,
            expected,
            format!(
                "{actual}: the difference is real (user enumeration by timing, {ASVS_ENUMERATION})"
            ),
        )
    } else {
        pass(check, expected, actual)
    }
    .with_rule(ASVS_ENUMERATION)
}

// ---- expiry ----

/// `expiry:refused`: the request sent after the token's expiry was refused.
pub fn expired_refused(status: u16, waited_secs: f64, refused: &StatusExpect) -> CheckResult {
    let expected = format!(
        "the expired token refused with {} ({ASVS_EXPIRY})",
        show_statuses(refused)
    );
    let when = format!("sent {waited_secs:.1} s after the step, past the token's expiry");
    if refused.allows(status) {
        pass("expiry:refused", expected, format!("{status} ({when})"))
    } else {
        fail(
            "expiry:refused",
            expected,
            format!(
                "{status}: the expired token was accepted ({when}; token expiry, {ASVS_EXPIRY})"
            ),
        )
    }
    .with_rule(ASVS_EXPIRY)
}

// ---- fixation ----

/// `fixation:COOKIE`: the login that carried the planted session cookie set a new one.
pub fn fixation_refused(cookie: &str, planted: &str, resp: &ResponseData) -> CheckResult {
    let check = format!("fixation:{cookie}");
    let expected = format!(
        "a login carrying an attacker's `{cookie}` cookie sets a new session cookie ({ASVS_FIXATION})"
    );
    let issued = resp.header_all("set-cookie").find_map(|c| {
        let (n, v) = c.split(';').next()?.split_once('=')?;
        (n.trim() == cookie).then(|| v.trim().to_owned())
    });
    match issued {
        Some(v) if v == planted => fail(
            check,
            expected,
            format!("{}: the planted session id became the session (session fixation, {ASVS_FIXATION})", resp.status),
        ),
        Some(v) if v.is_empty() => fail(
            check,
            expected,
            format!("{}: `{cookie}` cleared, no new session cookie", resp.status),
        ),
        Some(_) => pass(check, expected, format!("{}: a new `{cookie}`", resp.status)),
        None => fail(
            check,
            expected,
            format!("{}: no `{cookie}` in Set-Cookie (the planted one stays in use: session fixation, {ASVS_FIXATION})", resp.status),
        ),
    }
    .with_rule(ASVS_FIXATION)
}

// ---- lockout ----

/// One failing attempt as seen by the client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub status: u16,
    pub retry_after: bool,
    pub millis: f64,
}

impl Attempt {
    /// 429, 423, or 503 with `Retry-After`.
    pub fn throttled(&self) -> bool {
        matches!(self.status, 429 | 423) || (self.status == 503 && self.retry_after)
    }
}

/// `lockout:throttled`: the failing attempts were throttled (a refusal that says so, or the last
/// answers at least 4 times and 500 ms slower than the first); `after` is the status of the
/// correct password afterwards, reported, not judged.
pub fn lockout_shown(attempts: &[Attempt], after: Option<u16>) -> CheckResult {
    let expected = format!(
        "after repeated wrong passwords for one account, throttling: 429, 423, 503 with Retry-After, or a slowdown ({ASVS_LOCKOUT})"
    );
    let after_text = match after {
        Some(s) if (200..300).contains(&s) => {
            format!("; the correct password then: {s} (logged in)")
        }
        Some(s) => format!("; the correct password then: {s} (still refused)"),
        None => "; the correct password then: no answer".to_owned(),
    };
    if let Some(i) = attempts.iter().position(Attempt::throttled) {
        let a = attempts[i];
        let retry = if a.retry_after {
            " with Retry-After"
        } else {
            ""
        };
        return pass(
            "lockout:throttled",
            expected,
            format!("attempt {} answered {}{retry}{after_text}", i + 1, a.status),
        )
        .with_rule(ASVS_LOCKOUT);
    }
    let k = attempts.len().min(5);
    let first: Vec<f64> = attempts.iter().take(k).map(|a| a.millis).collect();
    let last: Vec<f64> = attempts.iter().rev().take(k).map(|a| a.millis).collect();
    let (m1, m2) = (median(&first), median(&last));
    let statuses: BTreeSet<u16> = attempts.iter().map(|a| a.status).collect();
    let shown: Vec<String> = statuses.iter().map(u16::to_string).collect();
    let actual = format!(
        "{} wrong passwords answered {} (median {m1:.1} ms first, {m2:.1} ms last){after_text}",
        attempts.len(),
        shown.join("/")
    );
    let slowed = k > 0 && m2 >= 4.0 * m1 && m2 - m1 >= 500.0;
    verdict(
        "lockout:throttled",
        slowed,
        expected,
        if slowed {
            actual
        } else {
            format!("{actual}: no throttling (brute force, {ASVS_LOCKOUT})")
        },
    )
    .with_rule(ASVS_LOCKOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(b"server key");
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &key,
        )
        .unwrap()
    }

    #[test]
    fn forgeries_differ_from_the_token_and_each_other() {
        let token = jwt(&serde_json::json!({"user_id": 5, "exp": 1_900_000_009_u64, "jti": "x"}));
        let f = forgeries(&token, None).unwrap();
        let names: Vec<&str> = f.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "alg-none",
                "signature-stripped",
                "payload-changed",
                "empty-key"
            ]
        );
        let distinct: BTreeSet<&str> = f.iter().map(|f| f.token.as_str()).collect();
        assert_eq!(distinct.len(), 4);
        assert!(!distinct.contains(token.as_str()));
        let none = super::super::jwt::decode(&f[0].token).unwrap();
        assert_eq!(none.header["alg"], "none");
        assert!(f[0].token.ends_with('.'));
        let changed = super::super::jwt::decode(&f[2].token).unwrap();
        assert_eq!(changed.claims["exp"], 1_900_000_008_u64);
        assert_eq!(f[2].token.rsplit('.').next(), token.rsplit('.').next());
        // The empty-key token verifies with the empty key, not with the server's.
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let empty = jsonwebtoken::DecodingKey::from_secret(b"");
        assert!(jsonwebtoken::decode::<Value>(&f[3].token, &empty, &v).is_ok());
        let server = jsonwebtoken::DecodingKey::from_secret(b"server key");
        assert!(jsonwebtoken::decode::<Value>(&f[3].token, &server, &v).is_err());
        assert!(forgeries("opaque-token", None).is_err());
    }

    #[test]
    fn an_asymmetric_token_with_its_public_key_gets_the_confusion_forgery() {
        // A header that says RS256 (the signature need not verify for forging).
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = b64(br#"{"sub":"5","exp":1900000000}"#);
        let token = format!("{header}.{payload}.c2ln");
        assert_eq!(header_alg(&token).as_deref(), Some("RS256"));
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
        let pem_trimmed = pem.trim_end();
        let without = forgeries(&token, None).unwrap();
        assert!(without.iter().all(|f| f.name != "public-key-hmac"));
        assert_eq!(forgeries(&token, Some("")).unwrap().len(), without.len());
        let with = forgeries(&token, Some(pem)).unwrap();
        assert_eq!(with.len(), without.len() + 2);
        // HS256 keyed with the text without and with its final newline, the token's claims kept;
        // the same two whichever way the text was given.
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.validate_exp = false;
        for (name, text) in [
            ("public-key-hmac", pem_trimmed),
            ("public-key-hmac-lf", pem),
        ] {
            let confused = with.iter().find(|f| f.name == name).unwrap();
            assert_eq!(confused.asvs, ASVS_ALGORITHM);
            let key = jsonwebtoken::DecodingKey::from_secret(text.as_bytes());
            let claims = jsonwebtoken::decode::<Value>(&confused.token, &key, &v)
                .unwrap()
                .claims;
            assert_eq!(claims["sub"], "5");
        }
        let again = forgeries(&token, Some(pem_trimmed)).unwrap();
        assert_eq!(again, with);
        // An HS256 token has no public key to confuse: no such forgery even when one is given.
        let hs = jwt(&serde_json::json!({"exp": 5}));
        assert!(forgeries(&hs, Some(pem))
            .unwrap()
            .iter()
            .all(|f| f.name != "public-key-hmac"));
        assert!(is_asymmetric("ES256") && is_asymmetric("PS384") && is_asymmetric("EdDSA"));
        assert!(!is_asymmetric("HS256") && !is_asymmetric("none"));
    }

    #[test]
    fn accepted_forgery_fails_naming_attack_and_asvs() {
        let token = jwt(&serde_json::json!({"exp": 5}));
        let f = &forgeries(&token, None).unwrap()[0];
        let refused = default_refused();
        assert!(forgery_refused(f, 401, &refused).passed);
        let r = forgery_refused(f, 200, &refused);
        assert!(!r.passed);
        assert!(
            r.message().contains("JWT forgery") && r.message().contains("V9.1.2"),
            "{}",
            r.message()
        );
        assert_eq!(r.check, "jwt_forgery:alg-none");
    }

    fn random_tokens(n: usize, bytes: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let mut b = vec![0u8; bytes];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
                b64(&b)
            })
            .collect()
    }

    #[test]
    fn random_tokens_have_their_bits_and_counters_do_not() {
        let good = random_tokens(20, 32);
        let e = estimate_entropy(&good);
        assert_eq!(e.alphabet, 64);
        assert!(e.bits >= 250.0, "{e:?}");
        assert!(entropy_reaches(&good, "token", 128).passed);
        let hex: Vec<String> = (0..20)
            .map(|_| {
                let mut b = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
                b.iter().map(|x| format!("{x:02x}")).collect()
            })
            .collect();
        let e = estimate_entropy(&hex);
        assert_eq!(e.alphabet, 16);
        assert!((e.bits - 128.0).abs() < 1e-9, "{e:?}");
        let counters: Vec<String> = (1..=20).map(|i| format!("tok-{i:06}")).collect();
        let e = estimate_entropy(&counters);
        assert!(e.bits < 20.0, "{e:?}");
        let r = entropy_reaches(&counters, "token", 128);
        assert!(
            !r.passed && r.message().contains("V7.2.3"),
            "{}",
            r.message()
        );
        let small: Vec<String> = (1..=20).map(|i: u32| i.to_string()).collect();
        assert!(estimate_entropy(&small).bits < 10.0);
        // A random part behind a long constant prefix counts only the random part.
        let prefixed: Vec<String> = random_tokens(20, 6)
            .into_iter()
            .map(|t| format!("session-{t}"))
            .collect();
        assert!(estimate_entropy(&prefixed).bits <= 48.0 + 1e-9);
        // Repeats are caught by compression even when every position varies.
        let repeated: Vec<String> = (0..20)
            .map(|i| ["abcdefgh", "hgfedcba"][i % 2].repeat(6))
            .collect();
        let e = estimate_entropy(&repeated);
        assert!(e.bits < 0.6 * e.alphabet_bits, "{e:?}");
    }

    #[test]
    fn repeated_tokens_fail_distinct() {
        let mut t = random_tokens(5, 16);
        assert!(tokens_distinct(&t, "token").passed);
        t.push(t[0].clone());
        let r = tokens_distinct(&t, "token");
        assert!(!r.passed && r.actual.contains("only 5 different"), "{r:?}");
        assert_eq!(
            jwt_id(&jwt(&serde_json::json!({"jti": 7}))),
            Some("7".into())
        );
        assert_eq!(jwt_id("opaque"), None);
    }

    #[test]
    fn mann_whitney_matches_known_values() {
        // Identical samples: U = n1 n2 / 2, p = 1.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let t = mann_whitney(&a, &a);
        assert!((t.u - 12.5).abs() < 1e-9 && t.p > 0.99, "{t:?}");
        // Completely separated samples of 25: U = 625 (all of a above b), p tiny.
        let hi: Vec<f64> = (0..25).map(|i| 10.0 + f64::from(i)).collect();
        let lo: Vec<f64> = (0..25).map(f64::from).map(|v| v / 10.0).collect();
        let t = mann_whitney(&hi, &lo);
        assert!((t.u - 625.0).abs() < 1e-9 && (t.effect - 1.0).abs() < 1e-9);
        assert!(t.p < 1e-8, "{t:?}");
        let t2 = mann_whitney(&lo, &hi);
        assert!((t2.u).abs() < 1e-9 && (t2.p - t.p).abs() < 1e-12);
        // A textbook example: a = [1,2,3,4,5,6,7,8] vs b = [5..12]: U = 8.5 (with ties), z ≈ -2.6.
        let a: Vec<f64> = (1..=8).map(f64::from).collect();
        let b: Vec<f64> = (5..=12).map(f64::from).collect();
        let t = mann_whitney(&a, &b);
        assert!((t.u - 8.0).abs() < 1e-9, "{t:?}");
        assert!(t.p > 0.005 && t.p < 0.02, "{t:?}");
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-6);
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < 1e-12);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn timing_fails_only_when_significant_and_large() {
        let rule = TimingRule::default();
        let base: Vec<f64> = (0..25).map(|i| 5.0 + f64::from(i % 5) * 0.1).collect();
        // Same distribution: passes.
        assert!(timing_same("wrong", &base, &base, rule).passed);
        // Significant but tiny (0.05 ms): passes, the floor says it is not practical.
        let tiny: Vec<f64> = base.iter().map(|v| v + 0.05).collect();
        let r = timing_same("wrong", &tiny, &base, rule);
        assert!(r.passed, "{r:?}");
        // Large and consistent: fails naming the attack and ASVS.
        let fast: Vec<f64> = base.iter().map(|v| v - 4.0).collect();
        let r = timing_same("wrong", &fast, &base, rule);
        assert!(!r.passed);
        assert!(
            r.message().contains("user enumeration by timing") && r.message().contains("V6.3.8")
        );
        assert!(
            r.actual.contains("median") && r.actual.contains("p = "),
            "{}",
            r.actual
        );
        // Sub-millisecond answers (loopback): a consistent 0.15 ms gap fails, a 0.02 ms one does not.
        let quick: Vec<f64> = (0..25).map(|i| 0.25 + f64::from(i % 5) * 0.01).collect();
        let leak: Vec<f64> = quick.iter().map(|v| v - 0.15).collect();
        assert!(!timing_same("wrong", &leak, &quick, rule).passed);
        let close: Vec<f64> = quick.iter().map(|v| v - 0.02).collect();
        assert!(timing_same("wrong", &close, &quick, rule).passed);
        // Large but noisy (overlapping): not significant, passes.
        let noisy_a: Vec<f64> = (0..6).map(|i| [1.0, 30.0][i % 2]).collect();
        let noisy_b: Vec<f64> = (0..6).map(|i| [2.0, 29.0][i % 2]).collect();
        assert!(timing_same("wrong", &noisy_a, &noisy_b, rule).passed);
    }

    #[test]
    fn expiry_fixation_and_lockout_verdicts() {
        let refused = default_refused();
        assert!(expired_refused(401, 3.0, &refused).passed);
        let r = expired_refused(200, 3.0, &refused);
        assert!(
            !r.passed && r.message().contains("token expiry") && r.message().contains("V9.2.1")
        );

        let resp = |cookie: &str| ResponseData {
            status: 201,
            headers: vec![("set-cookie".into(), format!("sid={cookie}; HttpOnly"))],
            ..ResponseData::default()
        };
        assert!(fixation_refused("sid", "planted", &resp("fresh")).passed);
        let r = fixation_refused("sid", "planted", &resp("planted"));
        assert!(
            !r.passed && r.message().contains("session fixation") && r.message().contains("V7.2.4")
        );
        assert!(!fixation_refused("sid", "planted", &ResponseData::default()).passed);
        assert!(!fixation_refused("sid", "planted", &resp("")).passed);

        let wrong = |status, millis| Attempt {
            status,
            retry_after: false,
            millis,
        };
        let mut attempts: Vec<Attempt> = (0..10).map(|_| wrong(401, 2.0)).collect();
        let r = lockout_shown(&attempts, Some(200));
        assert!(!r.passed && r.message().contains("brute force") && r.message().contains("V6.3.1"));
        assert!(
            r.actual.contains("correct password then: 200 (logged in)"),
            "{}",
            r.actual
        );
        attempts.push(Attempt {
            status: 429,
            retry_after: true,
            millis: 1.0,
        });
        let r = lockout_shown(&attempts, Some(429));
        assert!(
            r.passed
                && r.actual
                    .contains("attempt 11 answered 429 with Retry-After"),
            "{}",
            r.actual
        );
        assert!(r.actual.contains("still refused"));
        let slowing: Vec<Attempt> = (0..10)
            .map(|i| wrong(401, if i < 5 { 10.0 } else { 1000.0 }))
            .collect();
        assert!(lockout_shown(&slowing, None).passed);
        assert!(!wrong(503, 1.0).throttled());
    }
}
