//! Conformant variants: like fault switches, each changes the reference server's behaviour, but in a
//! way the source documents and the RFCs allow. A check that fails against a variant is a check that
//! would fail a conformant real server (see the end of `docs/dialects.md`).

use std::fmt;
use std::str::FromStr;

/// One allowed behaviour the reference server can be told to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Only weak entity-tags (`W/"…"`): If-Match (strong comparison) never matches them, so it gives
    /// 412; If-None-Match (weak comparison) still does (RFC 9110 §8.8.3.2, §13.1.1, §13.1.2).
    WeakEtags,
    /// `ETag` but never `Last-Modified`: If-Modified-Since and If-Unmodified-Since are then ignored
    /// (RFC 9110 §13.1.3, §13.1.4).
    NoLastModified,
    /// Every fixture account starts with sessions of other clients and devices, listed before the
    /// sessions a run creates.
    ForeignSessions,
    /// A browser's request (`Accept` preferring `text/html` over every JSON type) gets an HTML page
    /// of the same answer (status kept, `Vary: Accept`), as a browsable API does: RFC 9110 §12.5.1
    /// lets a server pick the representation the client prefers.
    HtmlForBrowsers,
    /// JWTs are signed ES256 (ECDSA P-256) instead of HS256: the documents name no algorithm, and
    /// RFC 7518 §3.1 lists both. The public key is the spec variable `jwt_public_key` of the
    /// embedded runs (`serve` prints it).
    Es256Tokens,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 5] = [
        Variant::WeakEtags,
        Variant::NoLastModified,
        Variant::ForeignSessions,
        Variant::HtmlForBrowsers,
        Variant::Es256Tokens,
    ];

    /// The variant's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::WeakEtags => "weak-etags",
            Variant::NoLastModified => "no-last-modified",
            Variant::ForeignSessions => "foreign-sessions",
            Variant::HtmlForBrowsers => "html-for-browsers",
            Variant::Es256Tokens => "es256-tokens",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A variant name that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown variant `{0}`; expected one of: weak-etags, no-last-modified, foreign-sessions, html-for-browsers, es256-tokens")]
pub struct UnknownVariant(pub String);

impl FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

/// The active variants of one server (a bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VariantSet(u8);

/// The devices of the sessions `foreign-sessions` creates for every fixture account, oldest first.
pub(crate) const FOREIGN_DEVICES: [&str; 2] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "okhttp/4.12.0",
];

impl VariantSet {
    pub(crate) fn new(variants: &[Variant]) -> Self {
        VariantSet(variants.iter().fold(0, |bits, v| bits | v.bit()))
    }

    pub(crate) fn has(self, variant: Variant) -> bool {
        self.0 & variant.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.as_str().parse::<Variant>(), Ok(v));
            assert_eq!(v.to_string(), v.as_str());
        }
        let err = "nope".parse::<Variant>().unwrap_err().to_string();
        assert!(
            err.contains("weak-etags") && err.contains("foreign-sessions"),
            "{err}"
        );
    }

    #[test]
    fn bits_are_distinct() {
        let all = VariantSet::new(&Variant::ALL);
        for v in Variant::ALL {
            assert!(all.has(v));
            let one = VariantSet::new(&[v]);
            assert_eq!(Variant::ALL.iter().filter(|w| one.has(**w)).count(), 1);
        }
        assert!(!VariantSet::default().has(Variant::WeakEtags));
    }
}
