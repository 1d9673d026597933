//! `sessionspec serve`: runs one reference server until SIGINT or SIGTERM.

use std::io::Write;

use super::args::ServeArgs;
use super::exit;
use crate::server::{serve, ServerConfig};
use crate::stop::Stop;

/// The server configuration of the arguments.
pub fn serve_plan(args: &ServeArgs) -> ServerConfig {
    let mut config = ServerConfig::new(args.dialect);
    config.faults.clone_from(&args.faults);
    config.hash_cost = args.hash_cost;
    config.addr = args.addr;
    config
}

/// Runs `serve`: prints `listening on http://HOST:PORT` first, serves until SIGINT/SIGTERM, then
/// shuts down gracefully. 0 after a clean shutdown, 2 when it cannot listen.
pub async fn run(args: ServeArgs, stop: &Stop) -> u8 {
    let config = serve_plan(&args);
    let (dialect, faults) = (config.dialect, config.faults.clone());
    let served = serve(config, stop, |server| {
        let mut out = std::io::stdout().lock();
        if let Err(e) =
            writeln!(out, "listening on {}", server.base_url()).and_then(|()| out.flush())
        {
            eprintln!("error: cannot write to stdout: {e}");
        }
        let fault_list: Vec<&str> = faults.iter().map(|f| f.as_str()).collect();
        if fault_list.is_empty() {
            eprintln!("serving {dialect}; stop with Ctrl-C");
        } else {
            eprintln!(
                "serving {dialect} with faults: {}; stop with Ctrl-C",
                fault_list.join(", ")
            );
        }
    })
    .await;
    match served {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Dialect, Fault, HashCost};
    use clap::Parser;

    #[test]
    fn parses_good_arguments() {
        let cli = crate::cli::Cli::parse_from([
            "sessionspec",
            "serve",
            "--dialect",
            "drf-sessions",
            "--fault",
            "flaky",
            "--fault",
            "no-etag",
            "--hash-cost",
            "low",
        ]);
        let crate::cli::Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        let c = serve_plan(&args);
        assert_eq!(c.dialect, Dialect::DrfSessions);
        assert_eq!(c.faults, vec![Fault::Flaky, Fault::NoEtag]);
        assert_eq!(c.hash_cost, HashCost::Low);
        assert_eq!(c.addr.port(), 0);
    }
}
