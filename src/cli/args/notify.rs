//! `hookgate notify …`: what is done with notifications already sent.

use crate::catalogue::Family;
use clap::{ArgGroup, Subcommand};

#[derive(Subcommand)]
pub enum NotifyCommand {
    /// Send one subscriber again the notifications of applied transitions, by time range or by
    /// object, each with its original id (the subscriber deduplicates by webhook-id); POSTed
    /// even where an earlier delivery succeeded. Only what the subscriber's patterns take.
    #[command(
        after_help = "Examples:\n  hookgate notify resend --subscriber ledger --since 2h\n  hookgate notify resend --subscriber ledger --since 2026-11-23 --until 2026-11-24 --family transfer --dry-run\n  hookgate notify resend --subscriber ledger --object transfer/t-1 --object payout/p-9 --json"
    )]
    #[command(group(ArgGroup::new("selection").required(true).args(["since", "objects"])))]
    Resend {
        /// The subscriber, as named in the configuration's [[subscribers]].
        #[arg(long)]
        subscriber: String,
        /// Transitions applied at or after this time: RFC 3339, a date, Unix milliseconds or a
        /// duration ago (2h, 3d); no older than HOOKGATE_RETENTION_DAYS.
        #[arg(long, value_name = "TIME", conflicts_with = "objects")]
        since: Option<String>,
        /// Applied before this time (the same forms as --since) [default: now].
        #[arg(long, value_name = "TIME", requires = "since")]
        until: Option<String>,
        /// With --since: only this family's notifications.
        #[arg(long, requires = "since")]
        family: Option<Family>,
        /// An object's notifications, as FAMILY/ID (repeat the flag for several, 100 at most).
        #[arg(long = "object", value_name = "FAMILY/ID")]
        objects: Vec<String>,
        /// Count what would be sent, exactly, and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// JSON output: {"resent":N}, with "dryRun":true for a dry run.
        #[arg(long)]
        json: bool,
    },
}
