//! argon2id password hashing for the fixture users (hashed once per server at start-up).

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// argon2's working memory (`m` KiB), kept by a hash worker and reused for every verification it
/// runs. argon2's own `verify_password` allocates and frees `m` KiB per call, and glibc serves such
/// blocks from its heaps once its mmap threshold has adapted, which fragments them: a server that
/// verified one login at a time grew to hundreds of MiB.
#[derive(Debug, Default)]
pub(crate) struct Memory(Vec<Block>);

impl Memory {
    /// At least `blocks` blocks (grown once, never shrunk).
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::default());
        }
        &mut self.0[..]
    }
}

/// Whether `password` matches the PHC string (its own algorithm, version and parameters are used),
/// computed in `memory`; the outputs are compared in constant time. CPU-bound: call it from a hash
/// worker.
pub(crate) fn verify(memory: &mut Memory, phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = memory.blocks(params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *blocks)?)
    })
    .is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash(HashCost::Low, "s3cret").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{h}");
        let mut memory = Memory::default();
        assert!(verify(&mut memory, &h, "s3cret"));
        assert!(!verify(&mut memory, &h, "S3cret"));
        assert!(!verify(&mut memory, "not a hash", "s3cret"));
        assert!(!verify(
            &mut memory,
            "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ",
            "s3cret"
        ));
        assert_ne!(
            h,
            hash(HashCost::Low, "s3cret").unwrap(),
            "fresh salt each time"
        );
    }

    /// One reused memory gives argon2's own verdict, across costs and after a larger cost left it
    /// dirty (the first pass overwrites every block it uses).
    #[test]
    fn reused_memory_agrees_with_argon2() {
        use argon2::PasswordVerifier;
        let owasp = hash(HashCost::Owasp, "pw").unwrap();
        let low = hash(HashCost::Low, "pw").unwrap();
        let mut memory = Memory::default();
        for (phc, password) in [
            (&owasp, "pw"),
            (&low, "pw"),
            (&low, "px"),
            (&owasp, "px"),
            (&owasp, "pw"),
            (&low, "pw"),
        ] {
            let parsed = PasswordHash::new(phc).unwrap();
            let expected = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(
                verify(&mut memory, phc, password),
                expected,
                "{phc} {password}"
            );
        }
        assert_eq!(memory.0.len(), 19_456, "sized for the largest cost once");
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
