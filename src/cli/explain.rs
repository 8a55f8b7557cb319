//! What a failed command tells its user: the cause and, where there is one, the fix, on one
//! line. Never a backtrace or a debug dump; never a password (places are named by host, port
//! and database only).

use crate::settings::Settings;
use lapin::ErrorKind;
use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};
use std::time::Duration;

pub async fn explain(error: &anyhow::Error, config: &Settings) -> String {
    for cause in error.chain() {
        if let Some(database) = cause.downcast_ref::<sqlx::Error>() {
            if let Some(text) = database_problem(database, &config.database.url).await {
                return text;
            }
        }
        if let Some(broker) = cause.downcast_ref::<lapin::Error>() {
            if let Some(text) = broker_problem(broker) {
                return text;
            }
        }
    }
    format!("{error:#}")
}

/// `host:port/database` of a PostgreSQL URL, without its credentials.
fn place(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(options) => format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        ),
        Err(_) => "the configured address (HOOKGATE_DATABASE_URL)".to_owned(),
    }
}

async fn database_problem(error: &sqlx::Error, url: &str) -> Option<String> {
    let place = place(url);
    match error {
        sqlx::Error::Database(database) => match database.code().as_deref() {
            // undefined_table
            Some("42P01") => Some(format!(
                "the database {place} does not have hookgate's tables (or lacks newer ones): run `hookgate migrate`"
            )),
            // invalid_catalog_name
            Some("3D000") => Some(format!(
                "the database {place} does not exist: create it, or fix HOOKGATE_DATABASE_URL"
            )),
            // invalid_password, invalid_authorization_specification
            Some("28P01") | Some("28000") => Some(format!(
                "PostgreSQL at {place} refused the login: {}; check HOOKGATE_DATABASE_URL",
                database.message()
            )),
            _ => None,
        },
        sqlx::Error::Io(io) => Some(format!("cannot reach PostgreSQL at {place}: {io}")),
        // The pool only says it waited; one direct attempt says why.
        sqlx::Error::PoolTimedOut => {
            let attempt =
                tokio::time::timeout(Duration::from_secs(2), PgConnection::connect(url)).await;
            let reason = match attempt {
                Ok(Err(sqlx::Error::Io(io))) => io.to_string(),
                Ok(Err(other)) => return Box::pin(database_problem(&other, url)).await,
                Ok(Ok(_)) => "it answered only now; try again".to_owned(),
                Err(_) => "no answer within 2 s".to_owned(),
            };
            Some(format!("cannot reach PostgreSQL at {place}: {reason}"))
        }
        _ => None,
    }
}

fn broker_problem(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) if amqp.get_id() == 403 => Some(format!(
            "RabbitMQ refused the login ({}): check the user, password and vhost in HOOKGATE_AMQP_URL",
            amqp.get_message()
        )),
        ErrorKind::IOError(io) => Some(format!("cannot reach RabbitMQ: {io}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_names_host_port_and_database_but_never_the_password() {
        let named = place("postgres://user:s3cret@db.internal:6432/payments");
        assert_eq!(named, "db.internal:6432/payments");
        assert!(!place("postgres://user:s3cret@db/x").contains("s3cret"));
    }
}
