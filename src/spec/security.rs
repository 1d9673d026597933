//! The session-security expectations of a step (issue 15), defined in [`super::model`] (kept
//! together at its end) and re-exported here.

pub use super::model::{
    Expiry, Fixation, JwtForgery, Lockout, TimingSameAs, TokenEntropy, MAX_ATTEMPTS, MAX_LOGINS,
    MAX_SAMPLES, MAX_WAIT_SECS,
};
