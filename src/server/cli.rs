//! `sessionspec serve`: runs one reference server until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;

use crate::cli::{exit, ServeArgs};

use super::{start, Dialect, Fault, HashCost, ServerConfig};

/// Turns the command line into a configuration, or a one-line error.
fn config(args: &ServeArgs) -> Result<ServerConfig, String> {
    let dialect: Dialect = args
        .dialect
        .parse()
        .map_err(|e| format!("--dialect: {e}"))?;
    let faults = args
        .faults
        .iter()
        .map(|f| f.parse::<Fault>().map_err(|e| format!("--fault: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let hash_cost: HashCost = args
        .hash_cost
        .parse()
        .map_err(|e| format!("--hash-cost: {e}"))?;
    let addr: SocketAddr = args.addr.trim().parse().map_err(|_| {
        format!(
            "--addr: `{}` is not an address such as 127.0.0.1:8080 or [::1]:0",
            args.addr
        )
    })?;
    Ok(ServerConfig {
        dialect,
        faults,
        hash_cost,
        addr,
        ..ServerConfig::new(dialect)
    })
}

/// Resolves when SIGINT or SIGTERM arrives (or, if the handlers cannot be installed, never fails
/// silently: the error is returned).
async fn termination() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Runs `serve`: prints `listening on http://HOST:PORT` first, serves until SIGINT/SIGTERM, then
/// shuts down gracefully. 0 after a clean shutdown, 2 on bad arguments or when it cannot listen.
pub async fn run(args: ServeArgs) -> u8 {
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let (dialect, faults) = (config.dialect, config.faults.clone());
    let server = match start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = writeln!(out, "listening on {}", server.base_url()).and_then(|()| out.flush());
    drop(out);
    if let Err(e) = printed {
        eprintln!("error: cannot write to stdout: {e}");
        server.shutdown().await;
        return exit::ERROR;
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
    let waited = termination().await;
    server.shutdown().await;
    match waited {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: cannot wait for SIGINT/SIGTERM: {e}");
            exit::ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dialect: &str, addr: &str, faults: &[&str], cost: &str) -> ServeArgs {
        ServeArgs {
            dialect: dialect.into(),
            addr: addr.into(),
            faults: faults.iter().map(|f| f.to_string()).collect(),
            hash_cost: cost.into(),
        }
    }

    #[test]
    fn parses_good_arguments() {
        let c = config(&args(
            "drf-sessions",
            "127.0.0.1:0",
            &["flaky", "no-etag"],
            "low",
        ))
        .unwrap();
        assert_eq!(c.dialect, Dialect::DrfSessions);
        assert_eq!(c.faults, vec![Fault::Flaky, Fault::NoEtag]);
        assert_eq!(c.hash_cost, HashCost::Low);
    }

    #[test]
    fn rejects_bad_arguments_with_one_line() {
        for (a, needle) in [
            (args("django", "127.0.0.1:0", &[], "low"), "--dialect"),
            (args("rails-jwt", "localhost", &[], "low"), "--addr"),
            (
                args("rails-jwt", "127.0.0.1:0", &["slow"], "low"),
                "--fault",
            ),
            (args("rails-jwt", "127.0.0.1:0", &[], "max"), "--hash-cost"),
        ] {
            let e = config(&a).unwrap_err();
            assert!(e.starts_with(needle) && !e.contains('\n'), "{e}");
        }
    }
}
