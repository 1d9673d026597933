//! `sessionspec serve`: runs one reference server until SIGINT or SIGTERM.

use std::io::Write;

use super::args::ServeArgs;
use super::exit;
use crate::server::load_accounts::LoadAccounts;
use crate::server::{serve, ServerConfig, ServerTls, SELF_SIGNED_NAMES};
use crate::stop::Stop;

/// The server configuration of the arguments (a self-signed certificate is made here, and its
/// PEM written to `--tls-cert-out` for clients' `--cacert`).
pub fn serve_plan(args: &ServeArgs) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::new(args.dialect);
    config.faults.clone_from(&args.faults);
    config.variants.clone_from(&args.variants);
    config.hash_cost = args.hash_cost;
    config.addr = args.addr;
    config.metrics_addr = args.metrics_addr;
    config.token_ttl = args.token_ttl;
    config.tls = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => {
            Some(ServerTls::from_files(cert, key).map_err(|e| e.to_string())?)
        }
        (_, _, true) => {
            let tls = ServerTls::self_signed().map_err(|e| e.to_string())?;
            crate::report::write_atomic(&args.tls_cert_out, |w| {
                w.write_all(tls.cert_pem().as_bytes())
            })
            .map_err(|e| format!("--tls-cert-out: {e}"))?;
            eprintln!(
                "tls: self-signed certificate for {}, SHA-256 fingerprint {}, written to {} (pass it to --cacert)",
                SELF_SIGNED_NAMES.join(", "),
                tls.fingerprint_sha256(),
                args.tls_cert_out.display()
            );
            Some(tls)
        }
        _ => None,
    };
    if let Some(n) = args.accounts {
        let accounts = LoadAccounts::generate(n);
        match &args.accounts_out {
            Some(path) => {
                crate::report::write_atomic(path, |w| accounts.write_csv(w))
                    .map_err(|e| format!("--accounts-out: {e}"))?;
                eprintln!(
                    "accounts: {n} load accounts, their CSV written to {} (for load --accounts)",
                    path.display()
                );
            }
            None => {
                let mut out = std::io::stdout().lock();
                accounts
                    .write_csv(&mut out)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write the accounts to stdout: {e}"))?;
            }
        }
        config.load_accounts = accounts;
    }
    Ok(config)
}

/// Runs `serve`: prints `listening on http://HOST:PORT` first, serves until SIGINT/SIGTERM, then
/// shuts down gracefully. 0 after a clean shutdown, 2 when it cannot listen.
pub async fn run(args: ServeArgs, stop: &Stop) -> u8 {
    let config = match serve_plan(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let (dialect, faults) = (config.dialect, config.faults.clone());
    let served = serve(config, stop, |server| {
        let mut out = std::io::stdout().lock();
        if let Err(e) =
            writeln!(out, "listening on {}", server.base_url()).and_then(|()| out.flush())
        {
            eprintln!("error: cannot write to stdout: {e}");
        }
        if let Some(addr) = server.metrics_addr() {
            eprintln!("metrics on http://{addr}/metrics");
        }
        if let Some(pem) = server.jwt_public_key() {
            // Public by design; a spec's `jwt_public_key` (`--var jwt_public_key=...`).
            eprint!("JWTs are ES256; their public key:\n{pem}");
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
        let c = serve_plan(&args).unwrap();
        assert_eq!(c.dialect, Dialect::DrfSessions);
        assert_eq!(c.faults, vec![Fault::Flaky, Fault::NoEtag]);
        assert_eq!(c.hash_cost, HashCost::Low);
        assert_eq!(c.addr.port(), 0);
    }
}
