//! The command line (SPEC 6): every subcommand and flag, as clap parses them.

use super::bench::BenchCommand;
use crate::{ops::dlq::Selector, telemetry::Logging};
use clap::{ArgGroup, Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hookgate",
    version,
    about = "Signed payment-platform webhooks, verified, stored and relayed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    Run {
        #[arg(long)]
        no_migrate: bool,
    },
    /// The receiver and the event relay.
    Serve {
        #[arg(long)]
        no_migrate: bool,
    },
    /// The read-model worker, the notification relay and the HTTP notifiers.
    Work {
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Inspect, replay or purge the dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Re-publish archived events that are not processed yet to the read-model queue.
    Replay {
        /// Received at or after this time: RFC 3339, a date, Unix milliseconds or a duration
        /// ago (2h, 3d); UTC unless the time carries an offset.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Received before this time (the same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[arg(long)]
        family: Option<String>,
        #[arg(long = "event-id")]
        event_ids: Vec<String>,
        /// Replay unprocessed events that were dead-lettered too (by default they are left to
        /// `hookgate dlq replay`, so a replay cannot fill the DLQ again).
        #[arg(long)]
        include_dead_lettered: bool,
        #[arg(long)]
        json: bool,
    },
    /// Clear the projections and re-project every processed event in order of occurrence,
    /// without notifying again.
    Rebuild {
        #[arg(long)]
        family: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every object's state from the archive and compare it with the read model;
    /// exits non-zero when they differ. `--repair` puts each difference right.
    Verify {
        #[arg(long)]
        family: Option<String>,
        #[arg(long)]
        repair: bool,
        #[arg(long)]
        json: bool,
    },
    /// Inbox totals, outbox backlogs, queue depths and the last processed event.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Signed load generator: accept rate and latency, and with --verify the end-to-end rate.
    Bench(BenchCommand),
    /// Print a signed request for a resource or envelope file.
    Sign {
        #[command(flatten)]
        event: EventFile,
        /// Print `{"headers":{...},"body":"..."}` instead of the request text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a resource or envelope file and POST it.
    Send {
        /// Defaults to this service's own webhook URL for the source.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        event: EventFile,
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
    /// Dead letters, from the index (the queue is not touched): a table on a terminal, JSON
    /// otherwise.
    List {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its headers, body and error.
    Show { event_id: String },
    /// Send dead letters back to the queue they failed in.
    Replay {
        #[command(flatten)]
        which: Which,
        /// Count what would be replayed and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete every dead letter.
    Purge {
        /// Confirms that the dead letters are to be deleted for good.
        #[arg(long)]
        yes: bool,
    },
    /// Index the dead letters in the queue that `list` does not show (dead-lettered by a
    /// hookgate older than the index, or by a process that died mid-move), keeping one copy of
    /// each.
    Reindex {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("which").required(true).args(["event_ids", "event_type", "all"])))]
pub struct Which {
    #[arg(long = "event-id")]
    event_ids: Vec<String>,
    #[arg(long)]
    event_type: Option<String>,
    #[arg(long)]
    all: bool,
}

impl Which {
    pub fn selector(self) -> Selector {
        match (self.all, self.event_type) {
            (true, _) => Selector::All,
            (false, Some(event_type)) => Selector::EventType(event_type),
            (false, None) => Selector::EventIds(self.event_ids),
        }
    }
}
