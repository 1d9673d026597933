//! sessionspec: proves a session (login/logout) HTTP API keeps its documented contract, then measures
//! how fast it logs people in.
//!
//! Data flows one way: [`spec`] (files → plan) → [`check`] / [`load`] (run → outcome) → [`report`].
//! [`server`] is the reference implementation of every documented API, the embedded default target.

pub mod check;
pub mod cli;
pub mod http;
pub mod load;
pub mod redact;
pub mod report;
pub mod server;
pub mod spec;
