//! The command line (SPEC 6): every subcommand and flag, as clap parses them. Every flag says
//! what it does, its default and valid values, and the variable it can come from; every
//! command shows examples (a unit test keeps it so).

mod connections;
mod notify;

pub use connections::Connections;
pub use notify::NotifyCommand;

use super::bench::BenchCommand;
use crate::{catalogue::Family, ops::dlq::Selector, telemetry::Logging};
use clap::{builder::PossibleValue, ArgGroup, Args, Parser, Subcommand, ValueEnum};

const ENVIRONMENT: &str = "\
Settings come from the environment (see README, Configuration), among them:
  HOOKGATE_DATABASE_URL, HOOKGATE_AMQP_URL, HOOKGATE_AMQP_PREFIX, HOOKGATE_CONFIG,
  HOOKGATE_LISTEN, HOOKGATE_API_TOKEN, HOOKGATE_VIEWER_TOKEN, HOOKGATE_INTERLACE_SECRETS,
  HOOKGATE_RETENTION_DAYS,
  HOOKGATE_LOG_FORMAT (text|json), RUST_LOG (default: info for run/serve/work, warn otherwise).

Examples:
  hookgate run                      every role in one process
  hookgate status                   what is waiting where
  hookgate dlq list                 dead letters
  hookgate replay --since 2h        re-publish what is not processed yet";

#[derive(Parser)]
#[command(
    name = "hookgate",
    version,
    about = "Signed payment-platform webhooks, verified, stored and relayed",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    #[command(flatten)]
    pub connections: Connections,
    #[command(subcommand)]
    pub command: Command,
}

/// `--family` takes the catalogue's families by their SPEC names.
impl ValueEnum for Family {
    fn value_variants<'a>() -> &'a [Self] {
        &Family::KNOWN
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl Command {
    /// The service logs its work; a command only what went wrong.
    pub fn logging(&self) -> Logging {
        match self {
            Command::Run { .. } | Command::Serve { .. } | Command::Work { .. } => Logging::Service,
            _ => Logging::Command,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Every role in one process: the local default.
    #[command(
        after_help = "Examples:\n  hookgate run\n  HOOKGATE_LISTEN=0.0.0.0:8080 hookgate run --no-migrate"
    )]
    Run {
        /// Do not apply database migrations at start (run `hookgate migrate` instead).
        #[arg(long)]
        no_migrate: bool,
    },
    /// The receiver and the event relay.
    #[command(after_help = "Examples:\n  hookgate serve\n  hookgate serve --no-migrate")]
    Serve {
        /// Do not apply database migrations at start (run `hookgate migrate` instead).
        #[arg(long)]
        no_migrate: bool,
    },
    /// The read-model worker, the notification relay and the HTTP notifiers.
    #[command(after_help = "Examples:\n  hookgate work\n  hookgate work --no-migrate")]
    Work {
        /// Do not apply database migrations at start (run `hookgate migrate` instead).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply the database migrations and exit.
    #[command(
        after_help = "Examples:\n  hookgate migrate\n  hookgate migrate --database-url postgres://hookgate@db/hookgate --json"
    )]
    Migrate {
        /// JSON output: {"appliedNow":N,"version":N}.
        #[arg(long)]
        json: bool,
    },
    /// Inspect, replay or purge the dead-letter queue.
    #[command(
        after_help = "Examples:\n  hookgate dlq list\n  hookgate dlq replay --event-type PAYOUT.UPDATED --dry-run"
    )]
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Re-publish archived events that are not processed yet to the read-model queue.
    #[command(
        after_help = "Examples:\n  hookgate replay --since 2h\n  hookgate replay --since 2026-11-23 --until 2026-11-24 --family transfer\n  hookgate replay --event-id evt-1 --event-id evt-2 --include-dead-lettered"
    )]
    Replay {
        /// Received at or after this time: RFC 3339, a date, Unix milliseconds or a duration
        /// ago (2h, 3d); UTC unless the time carries an offset.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Received before this time (the same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only this family's events.
        #[arg(long)]
        family: Option<Family>,
        /// Only these events (repeat the flag for several).
        #[arg(long = "event-id", value_name = "ID")]
        event_ids: Vec<String>,
        /// Replay unprocessed events that were dead-lettered too (by default they are left to
        /// `hookgate dlq replay`, so a replay cannot fill the DLQ again).
        #[arg(long)]
        include_dead_lettered: bool,
        /// JSON output: {"replayed":N,"skipped":N}.
        #[arg(long)]
        json: bool,
    },
    /// Clear the projections and re-project every processed event in order of occurrence,
    /// without notifying again.
    #[command(
        after_help = "Examples:\n  hookgate rebuild\n  hookgate rebuild --family payout --json"
    )]
    Rebuild {
        /// Only this family's projection [default: every family].
        #[arg(long)]
        family: Option<Family>,
        /// Stop before the swap and list the objects whose state it would change.
        #[arg(long)]
        dry_run: bool,
        /// JSON output: {"replayed":N,"skipped":N,"differ":M}.
        #[arg(long)]
        json: bool,
    },
    /// Recompute every object's state from the archive and compare it with the read model;
    /// exits non-zero when they differ. `--repair` puts each difference right.
    #[command(
        after_help = "Examples:\n  hookgate verify\n  hookgate verify --family transfer --repair"
    )]
    Verify {
        /// Only this family's objects [default: every family].
        #[arg(long)]
        family: Option<Family>,
        /// Put each difference right (then exit 0).
        #[arg(long)]
        repair: bool,
        /// JSON output: the report with every difference.
        #[arg(long)]
        json: bool,
    },
    /// Inbox totals, outbox backlogs, queue depths and the last processed event; exits 1 when
    /// the broker cannot be read. Declares nothing.
    #[command(
        after_help = "Examples:\n  hookgate status\n  hookgate status --amqp-prefix hookgate-staging --json"
    )]
    Status {
        /// JSON output (also when stdout is not a terminal).
        #[arg(long)]
        json: bool,
    },
    /// Notifications already sent: `notify resend`.
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Objects waiting in a waiting status longer than their family's stuck_after (SPEC 5),
    /// oldest first: what `GET /v1/stuck` lists.
    #[command(
        after_help = "Examples:\n  hookgate stuck\n  hookgate stuck --family transfer --older-than 2h --json"
    )]
    Stuck {
        /// Only this family [default: every family that can be stuck].
        #[arg(long)]
        family: Option<Family>,
        /// Waiting longer than this (90s, 30m, 2h, 3d) [default: the family's stuck_after].
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
        /// JSON output: the objects array (also when stdout is not a terminal).
        #[arg(long)]
        json: bool,
    },
    /// Signed load generator: accept rate and latency, and with --verify the end-to-end rate.
    #[command(
        after_help = "Examples:\n  hookgate bench --duration 30 --connections 64\n  hookgate bench --rate 500 --duration 60 --out-of-order 0.1 --verify --json"
    )]
    Bench(BenchCommand),
    /// Print a signed request for a resource or envelope file.
    #[command(
        after_help = "Examples:\n  hookgate sign --file transfer.json\n  hookgate sign --file resource.json --event-type TRANSFER.UPDATED --secret s3cret --create-time 10m --json"
    )]
    Sign {
        #[command(flatten)]
        event: EventFile,
        /// JSON output: {"headers":{...},"body":"..."} instead of the request text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a resource or envelope file and POST it.
    #[command(
        after_help = "Examples:\n  hookgate send --file transfer.json\n  hookgate send --url https://hooks.example.com/webhooks/interlace --file transfer.json --secret s3cret"
    )]
    Send {
        /// Where to POST [default: this service's own webhook URL for the source].
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        event: EventFile,
        /// JSON output: {"status":N,"body":"..."}.
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration without starting anything.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate the settings (environment and file) and every secret's form; exit 0, or 2
    /// naming each bad setting. Warnings are printed but do not fail the check.
    #[command(
        after_help = "Examples:\n  hookgate config check\n  HOOKGATE_CONFIG=/etc/hookgate/hookgate.toml hookgate config check --json"
    )]
    Check {
        /// JSON output: {"valid":bool,"errors":[...],"warnings":[...]}.
        #[arg(long)]
        json: bool,
    },
}

/// The event `sign` and `send` make: a file, and what to call it.
#[derive(Args)]
pub struct EventFile {
    /// The configured source whose scheme signs it (`interlace` needs no configuration).
    #[arg(long, default_value = "interlace")]
    pub source: String,
    /// A whole envelope (its id, event type and resource string are kept) or a bare resource,
    /// whose bytes are signed exactly as they are in the file.
    #[arg(long, value_name = "PATH")]
    pub file: String,
    /// The event type, e.g. TRANSFER.UPDATED; required when the file is a bare resource.
    #[arg(long)]
    pub event_type: Option<String>,
    /// The event id [default: the envelope's, or a new UUID].
    #[arg(long)]
    pub event_id: Option<String>,
    /// Sign with this secret instead of the source's configured one.
    #[arg(long, env = "HOOKGATE_SIGN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// The envelope's createTime (Interlace) or webhook-timestamp (Standard Webhooks): RFC
    /// 3339, a date, Unix milliseconds or a duration ago (10m), UTC unless an offset is given
    /// [default: now].
    #[arg(long, value_name = "TIME")]
    pub create_time: Option<String>,
}

#[derive(Subcommand)]
pub enum DlqCommand {
    /// Dead letters, oldest failure first, from the index (the queue is not touched).
    #[command(
        after_help = "Examples:\n  hookgate dlq list\n  hookgate dlq list --limit 20 --json"
    )]
    List {
        /// How many to show at most.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// JSON output: an array of {"eventId","source","eventType","queue","attempts","error","failedAt"}.
        #[arg(long)]
        json: bool,
    },
    /// The event's latest dead letter with its headers, body and error (JSON).
    #[command(after_help = "Examples:\n  hookgate dlq show evt-1")]
    Show {
        /// The event id, as `dlq list` shows it.
        event_id: String,
        /// The event's source: needed when events of two sources share the id.
        #[arg(long)]
        source: Option<String>,
    },
    /// Send dead letters back to the queue they failed in.
    #[command(
        after_help = "Examples:\n  hookgate dlq replay --event-id evt-1 --event-id evt-2\n  hookgate dlq replay --event-type PAYOUT.UPDATED --dry-run\n  hookgate dlq replay --all --json"
    )]
    Replay {
        #[command(flatten)]
        which: Which,
        /// Say what a replay would do, from the index, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// JSON output: {"replayed":N,"skipped":N}, with "dryRun":true for a dry run.
        #[arg(long)]
        json: bool,
    },
    /// Delete every dead letter, in the queue and the index.
    #[command(after_help = "Examples:\n  hookgate dlq purge --yes")]
    Purge {
        /// Confirms that the dead letters are to be deleted for good.
        #[arg(long)]
        yes: bool,
        /// JSON output: {"purged":N}.
        #[arg(long)]
        json: bool,
    },
    /// Index the dead letters in the queue that `list` does not show (dead-lettered by a
    /// hookgate older than the index, or by a process that died mid-move), keeping one copy of
    /// each.
    #[command(after_help = "Examples:\n  hookgate dlq reindex")]
    Reindex {
        /// JSON output: {"indexed":N,"duplicatesRemoved":N}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("which").required(true).args(["event_ids", "event_type", "all"])))]
pub struct Which {
    /// These events' dead letters (repeat the flag for several).
    #[arg(long = "event-id", value_name = "ID")]
    event_ids: Vec<String>,
    /// Every dead letter of this event type, in any case (e.g. payout.updated).
    #[arg(long)]
    event_type: Option<String>,
    /// Every dead letter.
    #[arg(long)]
    all: bool,
    /// With --event-id: the events' source, needed when events of two sources share an id.
    #[arg(long, requires = "event_ids")]
    source: Option<String>,
}

impl Which {
    pub fn selector(self) -> Selector {
        match (self.all, self.event_type) {
            (true, _) => Selector::All,
            (false, Some(event_type)) => Selector::EventType(event_type),
            (false, None) => Selector::EventIds(self.event_ids, self.source),
        }
    }
}

#[cfg(test)]
mod tests;
