//! One integration-test binary (link once), one module per area.

mod architecture;
mod check;
mod conformant;
mod distributed;
mod hostile;
mod profiles;
mod readme;
mod report;
mod secrets;
mod server;
mod spec_load;
mod support;
mod tls;
mod verdicts;
