//! `hookgate bench`.

use super::output::wants_json;
use crate::{
    bench::{load, verify},
    config::Config,
    store,
};
use anyhow::Context;
use serde_json::json;
use std::time::Duration;

pub struct BenchArgs {
    pub url: Option<String>,
    pub source: String,
    pub plan: load::LoadPlan,
    pub verify: bool,
    pub verify_timeout: Duration,
    pub json: bool,
}

pub async fn bench(config: &Config, mut args: BenchArgs) -> anyhow::Result<()> {
    args.plan.url = args
        .url
        .unwrap_or_else(|| format!("http://{}/webhooks/{}", config.listen, args.source));
    if args.plan.secret.is_empty() {
        let source = config.source(&args.source).context("no such source")?;
        args.plan.secret = source
            .secrets
            .first()
            .context("the source has no secret: set HOOKGATE_INTERLACE_SECRETS or --secret")?
            .expose()
            .to_owned();
    }
    let report = load::run(args.plan).await;
    let verification = if args.verify {
        let pool = store::pool(&config.database_url, config.database_timeout)?;
        Some(
            verify::verify(
                &pool,
                &args.source,
                &report.accepted_ids,
                args.verify_timeout,
            )
            .await?,
        )
    } else {
        None
    };
    if wants_json(args.json) {
        println!("{}", json!({"load": report, "endToEnd": verification}));
    } else {
        let l = &report.latency;
        println!(
            "{} requests in {:.1} s: {} accepted ({:.0}/s), {} duplicates acknowledged, {} transport errors",
            report.requests, report.seconds, report.accepted, report.accepted_per_second,
            report.duplicates_acknowledged, report.transport_errors
        );
        println!("status codes: {:?}", report.status_counts);
        println!(
            "accept latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        );
        if let Some(v) = &verification {
            println!(
                "end to end: {} events in {:.1} s ({:.0}/s); lost {}; applied twice {}",
                v.events, v.seconds, v.events_per_second, v.lost, v.applied_twice
            );
            println!(
                "end-to-end latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
                v.latency.p50_ms, v.latency.p90_ms, v.latency.p99_ms, v.latency.max_ms
            );
        }
    }
    if let Some(v) = verification {
        anyhow::ensure!(
            v.lost == 0 && v.applied_twice == 0,
            "{} lost, {} applied twice",
            v.lost,
            v.applied_twice
        );
    }
    Ok(())
}
