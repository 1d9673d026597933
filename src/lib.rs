//! sessionspec: proves a session (login/logout) HTTP API keeps its documented contract, then measures
//! how fast it logs people in.
//!
//! Data flows one way: [`spec`] (files → plan) → [`check`] / [`load`] (run → outcome, judged into
//! a [`verdict::Verdict`]) → [`report`]. [`server`] is the reference implementation of every
//! documented API, the embedded default target. [`tls`] is how clients of both engines speak TLS
//! (extra CA certificates, `insecure`, HTTP/1.1 only, fixed name resolution) and how a failed
//! handshake is named. [`cli`] sits on top of everything and is the only code that knows the
//! command line. See `docs/architecture.md`.

pub mod builtin;
pub mod check;
pub mod cli;
pub mod document;
pub mod http;
pub mod lint;
pub mod load;
pub mod redact;
pub mod report;
pub mod server;
pub mod spec;
pub mod stop;
pub mod target;
pub mod tls;
pub mod verdict;
