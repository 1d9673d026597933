//! argon2id password hashing for the fixture users (hashed once per server at start-up).

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// How expensive the argon2id hashes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashCost {
    /// m=256 KiB, t=1, p=1: for tests.
    #[default]
    Low,
    /// m=19456 KiB, t=2, p=1: the OWASP minimum.
    Owasp,
}

impl HashCost {
    /// Every cost, cheapest first.
    pub const ALL: [HashCost; 2] = [HashCost::Low, HashCost::Owasp];

    pub fn as_str(self) -> &'static str {
        match self {
            HashCost::Low => "low",
            HashCost::Owasp => "owasp",
        }
    }

    /// `(m_cost KiB, t_cost, p_cost)`.
    fn params(self) -> (u32, u32, u32) {
        match self {
            HashCost::Low => (256, 1, 1),
            HashCost::Owasp => (19_456, 2, 1),
        }
    }
}

impl fmt::Display for HashCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--hash-cost` value other than `low` or `owasp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash cost `{0}`; expected `low` or `owasp`")]
pub struct UnknownHashCost(pub String);

impl FromStr for HashCost {
    type Err = UnknownHashCost;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "low" => Ok(HashCost::Low),
            "owasp" => Ok(HashCost::Owasp),
            _ => Err(UnknownHashCost(s.to_string())),
        }
    }
}

/// Hashing failed (bad parameters or salt; not expected with the fixed parameters).
#[derive(Debug, thiserror::Error)]
#[error("argon2: {0}")]
pub(crate) struct HashError(String);

fn argon2(cost: HashCost) -> Result<Argon2<'static>, HashError> {
    let (m, t, p) = cost.params();
    let params = Params::new(m, t, p, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=…`) of `password` with a fresh random salt. CPU-bound.
pub(crate) fn hash(cost: HashCost, password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    let hash = argon2(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HashError(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string (its own parameters are used). CPU-bound: call it
/// from `spawn_blocking`.
pub(crate) fn verify(phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash(HashCost::Low, "s3cret").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{h}");
        assert!(verify(&h, "s3cret"));
        assert!(!verify(&h, "S3cret"));
        assert!(!verify("not a hash", "s3cret"));
        assert_ne!(
            h,
            hash(HashCost::Low, "s3cret").unwrap(),
            "fresh salt each time"
        );
    }

    #[test]
    fn parses_costs() {
        assert_eq!("owasp".parse(), Ok(HashCost::Owasp));
        assert_eq!(" low".parse(), Ok(HashCost::Low));
        assert!("high"
            .parse::<HashCost>()
            .unwrap_err()
            .to_string()
            .contains("`low` or `owasp`"));
        assert_eq!(HashCost::Owasp.params(), (19_456, 2, 1));
    }
}
