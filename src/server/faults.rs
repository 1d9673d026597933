//! Fault switches: each one breaks exactly one documented rule, so that every check can be shown to
//! fail (see the end of `docs/dialects.md`).

use std::fmt;
use std::str::FromStr;

use axum::http::StatusCode;

use super::conditional::Preconditions;

/// One rule the reference server can be told to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Logout/delete answers as usual but the token or session stays valid.
    NoRevoke,
    /// No `ETag` anywhere; `If-Match`/`If-None-Match` are not evaluated.
    NoEtag,
    /// `If-Match` is ignored.
    IgnoreIfMatch,
    /// `If-None-Match` is ignored.
    IgnoreIfNoneMatch,
    /// Success responses carry the wrong `Content-Type`.
    WrongContentType,
    /// No 406 and no 415.
    AcceptAnything,
    /// An unknown user gets another answer than a wrong password.
    EnumerateUsers,
    /// Create answers 200 instead of 201, delete 200 instead of 204 (rails-jwt login: 201).
    WrongStatus,
    /// The first documented field of the login/list success body is renamed or mistyped.
    SchemaDrift,
    /// No `no-store` (nor `Pragma`) on token responses.
    CacheableToken,
    /// Login takes 250 ms longer.
    SlowLogin,
    /// Every 20th request answers 500.
    Flaky,
    /// A caller may delete a live session of another user (or, where a key belongs to one session,
    /// of another session).
    CrossUserDelete,
    /// `If-Match` is compared weakly: a weak tag (`W/"…"`) of the current one matches.
    WeakIfMatch,
    // ---- session security (issue 15): each breaks one attack's defence ----
    /// A JWT whose header says `alg: none` is accepted without a signature.
    AlgNone,
    /// A JWT's signature is not verified (any signature, or another key's, is accepted).
    NoSignatureCheck,
    /// Tokens are predictable: opaque ones a short counter, JWTs a counter `jti`.
    WeakTokens,
    /// An unknown user is answered without the dummy password hash (measurably faster).
    TimingLeak,
    /// Expired tokens and sessions are still accepted.
    NoExpiry,
    /// A session cookie sent with the login becomes the session (form-sessions).
    SessionFixation,
    /// Failed logins are never throttled.
    NoLockout,
    /// JWTs are ES256, and a token whose header says HS256 is verified with the public key's PEM
    /// text as the HMAC secret (the algorithm-confusion attack; implies ES256 tokens).
    AlgConfusion,
}

impl Fault {
    /// Every fault switch.
    pub const ALL: [Fault; 22] = [
        Fault::NoRevoke,
        Fault::NoEtag,
        Fault::IgnoreIfMatch,
        Fault::IgnoreIfNoneMatch,
        Fault::WrongContentType,
        Fault::AcceptAnything,
        Fault::EnumerateUsers,
        Fault::WrongStatus,
        Fault::SchemaDrift,
        Fault::CacheableToken,
        Fault::SlowLogin,
        Fault::Flaky,
        Fault::CrossUserDelete,
        Fault::WeakIfMatch,
        Fault::AlgNone,
        Fault::NoSignatureCheck,
        Fault::WeakTokens,
        Fault::TimingLeak,
        Fault::NoExpiry,
        Fault::SessionFixation,
        Fault::NoLockout,
        Fault::AlgConfusion,
    ];

    /// The `--fault` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::NoRevoke => "no-revoke",
            Fault::NoEtag => "no-etag",
            Fault::IgnoreIfMatch => "ignore-if-match",
            Fault::IgnoreIfNoneMatch => "ignore-if-none-match",
            Fault::WrongContentType => "wrong-content-type",
            Fault::AcceptAnything => "accept-anything",
            Fault::EnumerateUsers => "enumerate-users",
            Fault::WrongStatus => "wrong-status",
            Fault::SchemaDrift => "schema-drift",
            Fault::CacheableToken => "cacheable-token",
            Fault::SlowLogin => "slow-login",
            Fault::Flaky => "flaky",
            Fault::CrossUserDelete => "cross-user-delete",
            Fault::WeakIfMatch => "weak-if-match",
            Fault::AlgNone => "alg-none",
            Fault::NoSignatureCheck => "no-signature-check",
            Fault::WeakTokens => "weak-tokens",
            Fault::TimingLeak => "timing-leak",
            Fault::NoExpiry => "no-expiry",
            Fault::SessionFixation => "session-fixation",
            Fault::NoLockout => "no-lockout",
            Fault::AlgConfusion => "alg-confusion",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--fault` value that names no fault switch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault `{0}`; expected one of: no-revoke, no-etag, ignore-if-match, ignore-if-none-match, wrong-content-type, accept-anything, enumerate-users, wrong-status, schema-drift, cacheable-token, slow-login, flaky, cross-user-delete, weak-if-match, alg-none, no-signature-check, weak-tokens, timing-leak, no-expiry, session-fixation, no-lockout, alg-confusion")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// The active fault switches of one server (a bit set: checked on every request, never locked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultSet(u32);

/// Every how many requests `flaky` answers 500.
pub(crate) const FLAKY_PERIOD: u64 = 20;

/// How much longer `slow-login` makes a login.
pub(crate) const SLOW_LOGIN: std::time::Duration = std::time::Duration::from_millis(250);

impl FaultSet {
    pub(crate) fn new(faults: &[Fault]) -> Self {
        FaultSet(faults.iter().fold(0, |bits, f| bits | f.bit()))
    }

    pub(crate) fn has(self, fault: Fault) -> bool {
        self.0 & fault.bit() != 0
    }

    /// Drops the conditional headers the active faults tell the server to ignore.
    pub(crate) fn filter(self, mut pre: Preconditions) -> Preconditions {
        if self.has(Fault::NoEtag) || self.has(Fault::IgnoreIfMatch) {
            pre.if_match = None;
        }
        if self.has(Fault::NoEtag) || self.has(Fault::IgnoreIfNoneMatch) {
            pre.if_none_match = None;
        }
        pre
    }

    /// The status of a successful create (201, or 200 under `wrong-status`).
    pub(crate) fn created(self) -> StatusCode {
        if self.has(Fault::WrongStatus) {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        }
    }

    /// The status of a successful delete (204, or 200 under `wrong-status`).
    pub(crate) fn deleted(self) -> StatusCode {
        if self.has(Fault::WrongStatus) {
            StatusCode::OK
        } else {
            StatusCode::NO_CONTENT
        }
    }

    /// Whether request number `n` (counted from 1) is one that `flaky` fails.
    pub(crate) fn flaky_hit(self, n: u64) -> bool {
        self.has(Fault::Flaky) && n % FLAKY_PERIOD == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::conditional::TagList;

    #[test]
    fn names_round_trip() {
        for f in Fault::ALL {
            assert_eq!(f.as_str().parse::<Fault>(), Ok(f));
        }
        let err = "nope".parse::<Fault>().unwrap_err().to_string();
        assert!(err.contains("no-revoke") && err.contains("flaky"), "{err}");
    }

    #[test]
    fn bits_are_distinct() {
        let all = FaultSet::new(&Fault::ALL);
        for f in Fault::ALL {
            assert!(all.has(f));
            let one = FaultSet::new(&[f]);
            assert_eq!(Fault::ALL.iter().filter(|g| one.has(**g)).count(), 1);
        }
    }

    #[test]
    fn filter_drops_only_what_the_fault_names() {
        let pre = Preconditions {
            if_match: Some(TagList::Any),
            if_none_match: Some(TagList::Any),
            ..Preconditions::default()
        };
        let f = FaultSet::new(&[Fault::IgnoreIfMatch]).filter(pre.clone());
        assert!(f.if_match.is_none() && f.if_none_match.is_some());
        let f = FaultSet::new(&[Fault::IgnoreIfNoneMatch]).filter(pre.clone());
        assert!(f.if_match.is_some() && f.if_none_match.is_none());
        let f = FaultSet::new(&[Fault::NoEtag]).filter(pre.clone());
        assert!(f.if_match.is_none() && f.if_none_match.is_none());
        let f = FaultSet::default().filter(pre);
        assert!(f.if_match.is_some() && f.if_none_match.is_some());
    }

    #[test]
    fn flaky_every_twentieth() {
        let set = FaultSet::new(&[Fault::Flaky]);
        let hits: Vec<u64> = (1..=60).filter(|n| set.flaky_hit(*n)).collect();
        assert_eq!(hits, vec![20, 40, 60]);
        assert!(!FaultSet::default().flaky_hit(20));
    }
}
