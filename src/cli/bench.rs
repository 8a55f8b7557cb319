//! `hookgate bench`.

use super::output::wants_json;
use crate::{
    load_generator::{load, verify},
    settings::Settings,
};
use anyhow::Context;
use clap::Args;
use serde_json::json;
use std::time::Duration;

/// `hookgate bench`'s flags.
#[derive(Args)]
pub struct BenchCommand {
    /// Where to POST [default: this service's webhook URL for the source].
    #[arg(long)]
    url: Option<String>,
    /// The source whose scheme signs the requests.
    #[arg(long, default_value = "interlace")]
    source: String,
    /// The signing secret [default: the source's first configured secret].
    #[arg(long, env = "HOOKGATE_SIGN_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Requests per second; without it, as fast as the receiver answers.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds to run (10 when neither this nor --count is given).
    #[arg(long)]
    duration: Option<f64>,
    /// Slots to send (an out-of-order slot sends two requests).
    #[arg(long)]
    count: Option<u64>,
    /// Share of requests re-sending an earlier event (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    duplicates: f64,
    /// Share of slots sending a closed-before-pending pair (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    out_of_order: f64,
    /// Wait until the read model holds every accepted event and report end to end.
    #[arg(long)]
    verify: bool,
    /// Seconds --verify waits at most.
    #[arg(long, default_value_t = 300)]
    verify_timeout: u64,
    /// JSON output: every figure of the run.
    #[arg(long)]
    json: bool,
}

impl BenchCommand {
    /// The load to send: the URL and secret default to this service's own for the source.
    fn plan(&self, config: &Settings) -> anyhow::Result<load::LoadPlan> {
        let url = self
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{}/webhooks/{}", config.server.listen, self.source));
        let secret = match &self.secret {
            Some(secret) => secret.clone(),
            None => config
                .source(&self.source)
                .context("no such source")?
                .secrets
                .first()
                .context("the source has no secret: set HOOKGATE_INTERLACE_SECRETS or --secret")?
                .expose()
                .to_owned(),
        };
        let duration = match (self.duration, self.count) {
            (None, None) => Some(Duration::from_secs(10)),
            (duration, _) => duration.map(Duration::from_secs_f64),
        };
        Ok(load::LoadPlan {
            url,
            secret,
            connections: self.connections,
            rate: self.rate,
            until: load::Until {
                duration,
                count: self.count,
            },
            mix: load::Mix {
                duplicates: self.duplicates,
                out_of_order: self.out_of_order,
            },
        })
    }
}

pub async fn bench(config: &Settings, args: BenchCommand) -> anyhow::Result<()> {
    let report = load::run(args.plan(config)?).await;
    let verification = if args.verify {
        let pool = crate::app::operations_pool(&config.database)?;
        Some(
            verify::verify(
                &pool,
                &args.source,
                &report.accepted_ids,
                Duration::from_secs(args.verify_timeout),
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
