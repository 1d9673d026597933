//! Token material: opaque random tokens, JWTs with a random per-server key (HS256, or ES256
//! under the `es256-tokens` variant and the `alg-confusion` fault), request ids.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// 32 random bytes, base64url without padding (43 characters).
pub(crate) fn opaque() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 16 random bytes as 32 lower-case hex digits (a JWT `jti`, like simplejwt's `uuid4().hex`).
pub(crate) fn jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lower-case hex digits of `bytes`, two per byte, in one allocation.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A random UUID version 4 (`X-Request-Id`).
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A token could not be issued or is not valid.
#[derive(Debug, thiserror::Error)]
#[error("jwt: {0}")]
pub(crate) struct TokenError(#[from] jsonwebtoken::errors::Error);

/// The JWT key of one server (random, never leaves the process; an ES256 key's public half is
/// published through [`JwtKeys::public_pem`]).
pub(crate) struct JwtKeys {
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The ES256 public key (SubjectPublicKeyInfo PEM); `None` for HS256.
    public_pem: Option<String>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(**redacted**)")
    }
}

fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    validation
}

impl JwtKeys {
    /// A random 32-byte HS256 secret.
    pub(crate) fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        JwtKeys {
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation: validation(Algorithm::HS256),
            public_pem: None,
        }
    }

    /// A random ECDSA P-256 key pair (ES256).
    pub(crate) fn es256() -> Result<Self, TokenError> {
        let invalid = |_| TokenError(jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey.into());
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(invalid)?;
        let public_pem = pair.public_key_pem();
        Ok(JwtKeys {
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            // aws-lc verifies against the raw SEC1 point (what `from_ec_der` takes).
            decoding: DecodingKey::from_ec_der(pair.public_key_raw()),
            validation: validation(Algorithm::ES256),
            public_pem: Some(public_pem),
        })
    }

    /// The public key as PEM text, for asymmetric keys.
    pub(crate) fn public_pem(&self) -> Option<&str> {
        self.public_pem.as_deref()
    }

    /// Signs `claims` (header `{"typ":"JWT","alg":"HS256"}`, or `ES256`).
    pub(crate) fn issue<C: Serialize>(&self, claims: &C) -> Result<String, TokenError> {
        Ok(jsonwebtoken::encode(
            &Header::new(self.alg),
            claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm and `exp`, and returns the claims.
    #[cfg(test)]
    pub(crate) fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, TokenError> {
        self.verify_lax(token, Lax::default())
    }

    /// [`JwtKeys::verify`] minus the checks the fault switches turn off.
    pub(crate) fn verify_lax<C: DeserializeOwned>(
        &self,
        token: &str,
        lax: Lax,
    ) -> Result<C, TokenError> {
        let mut validation = self.validation.clone();
        if lax.no_expiry {
            validation.validate_exp = false;
            validation.required_spec_claims.clear();
        }
        let alg = header_alg(token);
        if lax.alg_none && alg.as_deref() == Some("none") {
            // `alg-none`: the unsigned token's payload is taken as it is.
            return unsigned_claims(token, &validation);
        }
        if lax.no_signature {
            // `no-signature-check`: any header that parses (`none` does not) and any signature.
            jsonwebtoken::decode_header(token)?;
            return unsigned_claims(token, &validation);
        }
        if let (true, Some("HS256"), Some(pem)) =
            (lax.alg_confusion, alg.as_deref(), &self.public_pem)
        {
            // `alg-confusion`: the header's algorithm is believed, and the key handed to it is
            // the public key's text, which anyone can read.
            let mut hs = validation.clone();
            hs.algorithms = vec![Algorithm::HS256];
            let key = DecodingKey::from_secret(pem.as_bytes());
            return Ok(jsonwebtoken::decode::<C>(token, &key, &hs)?.claims);
        }
        Ok(jsonwebtoken::decode::<C>(token, &self.decoding, &validation)?.claims)
    }
}

/// Verification steps a fault switch turns off.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lax {
    /// `alg-none`: a token whose header says `none` needs no signature.
    pub alg_none: bool,
    /// `no-signature-check`: the signature is not verified.
    pub no_signature: bool,
    /// `no-expiry`: `exp` is not checked.
    pub no_expiry: bool,
    /// `alg-confusion`: an HS256 header is verified with the public key's PEM text as the secret.
    pub alg_confusion: bool,
}

/// The `alg` of a JWT's header, if it decodes.
fn header_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// The payload of an unsigned token, with `exp` checked unless `validation` says not to.
fn unsigned_claims<C: DeserializeOwned>(
    token: &str,
    validation: &Validation,
) -> Result<C, TokenError> {
    let invalid = || TokenError(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
    let payload = token.split('.').nth(1).ok_or_else(invalid)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if validation.validate_exp {
        let exp = value.get("exp").and_then(serde_json::Value::as_u64);
        if exp.is_none_or(|exp| exp < unix_seconds(SystemTime::now())) {
            return Err(TokenError(
                jsonwebtoken::errors::ErrorKind::ExpiredSignature.into(),
            ));
        }
    }
    serde_json::from_value(value).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        user_id: u64,
        exp: u64,
        jti: String,
    }

    #[test]
    fn opaque_tokens_are_43_base64url_chars() {
        let t = opaque();
        assert_eq!(t.len(), 43);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(t, opaque());
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn uuid_is_version_4() {
        let id = uuid_v4();
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&id), "{id}");
        assert_eq!(jti().len(), 32);
    }

    #[test]
    fn jwt_round_trip_and_rejections() {
        let keys = JwtKeys::random();
        let now = unix_seconds(SystemTime::now());
        let claims = Claims {
            user_id: 1,
            exp: now + 60,
            jti: jti(),
        };
        let token = keys.issue(&claims).unwrap();
        assert_eq!(keys.verify::<Claims>(&token).unwrap(), claims);
        assert!(
            JwtKeys::random().verify::<Claims>(&token).is_err(),
            "other key"
        );
        let expired = keys
            .issue(&Claims {
                exp: now - 1,
                ..claims
            })
            .unwrap();
        assert!(keys.verify::<Claims>(&expired).is_err());
        assert!(keys.verify::<Claims>("garbage").is_err());
    }

    #[test]
    fn lax_verification_accepts_only_what_the_fault_allows() {
        let keys = JwtKeys::random();
        let now = unix_seconds(SystemTime::now());
        let claims = Claims {
            user_id: 1,
            exp: now + 60,
            jti: jti(),
        };
        let token = keys.issue(&claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        let other_key = JwtKeys::random().issue(&claims).unwrap();
        let expired = keys
            .issue(&Claims {
                exp: now - 5,
                ..claims
            })
            .unwrap();
        let strict = Lax::default();
        let alg_none = Lax {
            alg_none: true,
            ..strict
        };
        let no_sig = Lax {
            no_signature: true,
            ..strict
        };
        let no_exp = Lax {
            no_expiry: true,
            ..strict
        };
        let ok = |t: &str, lax| keys.verify_lax::<Claims>(t, lax).is_ok();
        assert!(ok(&token, strict));
        assert!(!ok(&none, strict) && ok(&none, alg_none) && !ok(&none, no_sig));
        assert!(!ok(&other_key, strict) && ok(&other_key, no_sig) && !ok(&other_key, alg_none));
        assert!(!ok(&expired, strict) && ok(&expired, no_exp) && !ok(&expired, no_sig));
    }

    #[test]
    fn es256_keys_and_the_confusion_fault() {
        let keys = JwtKeys::es256().unwrap();
        let pem = keys.public_pem().unwrap().to_owned();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        let claims = Claims {
            user_id: 7,
            exp: unix_seconds(SystemTime::now()) + 60,
            jti: jti(),
        };
        let token = keys.issue(&claims).unwrap();
        assert_eq!(header_alg(&token).as_deref(), Some("ES256"));
        assert_eq!(keys.verify::<Claims>(&token).unwrap(), claims);
        // HS256 signed with the public key's text: refused, but for the fault.
        let confused = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(pem.as_bytes()),
        )
        .unwrap();
        assert!(keys.verify::<Claims>(&confused).is_err());
        let lax = Lax {
            alg_confusion: true,
            ..Lax::default()
        };
        assert_eq!(keys.verify_lax::<Claims>(&confused, lax).unwrap(), claims);
        assert!(keys.verify_lax::<Claims>(&token, lax).is_ok());
        // Another HS256 key is still refused under the fault; an HS256 server has no public key.
        let other = JwtKeys::random().issue(&claims).unwrap();
        assert!(keys.verify_lax::<Claims>(&other, lax).is_err());
        assert!(JwtKeys::random().public_pem().is_none());
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
