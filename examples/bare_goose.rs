//! The baseline of `scripts/bench-load.sh`: the requests of `scenarios/drf-rejected-token.json`
//! (GET the DRF session list with a token that is not a JWT, expect 401, read the body), made with
//! plain goose 0.19 and nothing of sessionspec: no spec, no templates, no captures.
//!
//! Usage: `bare_goose HOST USERS RUN_TIME_SECS` (e.g. `http://127.0.0.1:8000 50 10`). Prints the
//! number of requests goose counted, so the script can divide the process's CPU time by it.

use std::sync::Arc;

use goose::config::GooseConfiguration;
use goose::prelude::*;

async fn rejected(user: &mut GooseUser) -> TransactionResult {
    let builder = user
        .get_request_builder(&GooseMethod::Get, "/sessions/session-user-l/5/")?
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer not-a-jwt");
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name("rejected")
        .expect_status_code(401)
        .build();
    let goose = user.request(request).await?;
    if let Ok(mut response) = goose.response {
        // Read the body to its end, as sessionspec does, so the connection is reused.
        while let Ok(Some(_)) = response.chunk().await {}
    }
    Ok(())
}

fn arg(n: usize, what: &str) -> Result<String, GooseError> {
    std::env::args()
        .nth(n)
        .ok_or_else(|| GooseError::InvalidOption {
            option: what.into(),
            value: String::new(),
            detail: "usage: bare_goose HOST USERS RUN_TIME_SECS".into(),
        })
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let host = arg(1, "HOST")?;
    let users: usize = arg(2, "USERS")?.parse().unwrap_or(50);
    let secs: usize = arg(3, "RUN_TIME_SECS")?.parse().unwrap_or(10);
    let transaction: TransactionFunction = Arc::new(|user| Box::pin(rejected(user)));
    let scenario = scenario!("rejected").register_transaction(Transaction::new(transaction));
    let rate = users.to_string();
    let metrics = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, host.as_str())?
        .set_default(GooseDefault::Users, users)?
        .set_default(GooseDefault::IncreaseRate, rate.as_str())?
        .set_default(GooseDefault::RunTime, secs)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::Quiet, 1)?
        .execute()
        .await?;
    let (ok, failed) = metrics
        .requests
        .values()
        .fold((0, 0), |(s, f), r| (s + r.success_count, f + r.fail_count));
    println!("requests {} failed {failed}", ok + failed);
    Ok(())
}
