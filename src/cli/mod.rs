//! The command line: clap's definitions in [`args`], one module per group of commands, and
//! [`run`], which dispatches a parsed command.

pub mod args;
pub mod bench;
pub mod config;
pub mod dlq;
mod explain;
mod notify;
mod operations;
pub mod output;
pub mod read_model;
mod serve;
pub mod sign;
mod status;
mod stuck;
mod when;

use crate::{
    app::Roles,
    ops::{rebuild::RebuildRequest, verify::VerifyRequest},
    settings::Settings,
    store,
};
use args::{Command, DlqCommand};

pub use args::Cli;
pub use explain::explain;

pub async fn run(command: Command, config: &Settings) -> anyhow::Result<()> {
    match command {
        Command::Run { no_migrate } => serve::serve(config, Roles::ALL, no_migrate).await,
        Command::Serve { no_migrate } => serve::serve(config, Roles::SERVE, no_migrate).await,
        Command::Work { no_migrate } => serve::serve(config, Roles::WORK, no_migrate).await,
        Command::Migrate { json } => {
            let pool = crate::app::operations_pool(&config.database)?;
            let migrated = store::migrate(&pool).await?;
            if output::wants_json(json) {
                let answer = serde_json::json!({"appliedNow": migrated.applied_now, "version": migrated.latest});
                println!("{answer}");
            } else {
                println!(
                    "migrations applied: {} now, the database is at version {}",
                    migrated.applied_now, migrated.latest
                );
            }
            Ok(())
        }
        Command::Dlq { command } => match command {
            DlqCommand::List { limit, json } => dlq::list(config, limit, json).await,
            DlqCommand::Show { event_id, source } => {
                dlq::show(config, &event_id, source.as_deref()).await
            }
            DlqCommand::Replay {
                which,
                dry_run,
                json,
            } => dlq::replay(config, which.selector(), dry_run, json).await,
            DlqCommand::Purge { yes, json } => dlq::purge(config, yes, json).await,
            DlqCommand::Reindex { json } => dlq::reindex(config, json).await,
        },
        Command::Replay {
            since,
            until,
            family,
            event_ids,
            include_dead_lettered,
            json,
        } => {
            let args = read_model::ReplayArgs {
                since,
                until,
                family,
                event_ids,
                include_dead_lettered,
            };
            read_model::replay(config, args, json).await
        }
        Command::Rebuild {
            family,
            dry_run,
            json,
        } => read_model::rebuild(config, &RebuildRequest { family, dry_run }, json).await,
        Command::Verify {
            family,
            repair,
            json,
        } => read_model::verify(config, &VerifyRequest { family, repair }, json).await,
        Command::Status { json } => status::show(config, json).await,
        Command::Notify { command } => notify::run(config, command).await,
        Command::Stuck {
            family,
            older_than,
            json,
        } => stuck::show(config, family, older_than.as_deref(), json).await,
        Command::Bench(args) => bench::bench(config, args).await,
        Command::Sign { event, json } => Ok(sign::print_signed(config, &event, json)?),
        Command::Send { url, event, json } => sign::send(config, url, &event, json).await,
        // `main` answers it before anything else: it must run with settings that do not load.
        Command::Config { .. } => Ok(()),
    }
}
