//! What a command says when the user's setup is wrong: the cause and the fix on one line, at
//! once, without a backtrace, a debug dump or a password.

use crate::support::{spawn_app, TestApp};
use sqlx::{migrate::MigrateDatabase, Postgres};

fn assert_one_plain_line(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("hookgate: "), "{stderr}");
    for dump in ["backtrace", "Error {", "kind:", "\u{1b}["] {
        assert!(!stderr.contains(dump), "{dump:?} in {stderr}");
    }
}

/// Runs `args` with `env` set, which must fail with exit code 1 and one plain line; that line.
async fn refusal(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = app.cli_with_env(args, env).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_one_plain_line(&stderr);
    stderr
}

#[tokio::test]
async fn an_unmigrated_database_says_to_run_migrate() {
    let app = spawn_app().await;
    let admin = std::env::var("HOOKGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://hookgate:hookgate@127.0.0.1:5432/postgres".into());
    let mut url = reqwest::Url::parse(&admin).unwrap();
    let database = format!("hookgate_empty_{}", uuid::Uuid::new_v4().simple());
    url.set_path(&database);
    Postgres::create_database(url.as_str()).await.unwrap();
    let env = [("HOOKGATE_DATABASE_URL", url.as_str())];
    let stderr = refusal(&app, &["dlq", "list"], &env).await;
    Postgres::drop_database(url.as_str()).await.unwrap();
    assert!(stderr.contains("run `hookgate migrate`"), "{stderr}");
    assert!(stderr.contains(&database), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_database_is_named_with_the_reason_and_no_password() {
    let app = spawn_app().await;
    let url = "postgres://hookgate:pa55word@127.0.0.1:1/payments";
    let stderr = refusal(&app, &["dlq", "list"], &[("HOOKGATE_DATABASE_URL", url)]).await;
    assert!(
        stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1/payments"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("pa55word"), "{stderr}");
}

#[tokio::test]
async fn a_refused_broker_login_says_so() {
    let app = spawn_app().await;
    let url = "amqp://guest:not-the-password@127.0.0.1:5672/%2f";
    let stderr = refusal(
        &app,
        &["dlq", "purge", "--yes"],
        &[("HOOKGATE_AMQP_URL", url)],
    )
    .await;
    assert!(stderr.contains("RabbitMQ refused the login"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}

#[tokio::test]
async fn a_bad_setting_is_named_and_exits_2() {
    let app = spawn_app().await;
    let output = app
        .cli_with_env(&["status"], &[("HOOKGATE_DATABASE_TIMEOUT_MS", "soon")])
        .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_one_plain_line(&stderr);
    assert!(stderr.contains("HOOKGATE_DATABASE_TIMEOUT_MS"), "{stderr}");
}

/// Settings that cannot start wrong (SPEC 7): `serve` stops at once with exit code 2 and the
/// setting's name, `config check` names every bad one without starting anything, and a
/// warning does not fail the check.
#[tokio::test]
async fn refused_settings_stop_the_start_with_exit_2_and_config_check_names_them() {
    let app = spawn_app().await;
    for (name, value) in [
        ("HOOKGATE_RETENTION_INTERVAL_SECS", "9223372036854775807"),
        ("HOOKGATE_RETRY_TIERS", "1s,1s"),
        ("HOOKGATE_MAX_BODY_BYTES", "200000000"),
        ("HOOKGATE_INTERLACE_SECRETS", ","),
    ] {
        let output = app
            .cli_with_env(&["serve", "--no-migrate"], &[(name, value)])
            .await;
        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_one_plain_line(&stderr);
        assert!(stderr.contains(name), "{stderr}");
        let check = app
            .cli_with_env(&["config", "check", "--json"], &[(name, value)])
            .await;
        assert_eq!(check.status.code(), Some(2), "{name}={value}");
        let answer: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!(answer["valid"], false);
        assert!(
            answer["errors"][0].as_str().unwrap().contains(name),
            "{answer}"
        );
    }
    let fine = app
        .cli_with_env(
            &["config", "check", "--json"],
            &[
                ("HOOKGATE_API_TOKEN", "short"),
                ("HOOKGATE_INTERLACE_SECRETS", "new,,old"),
            ],
        )
        .await;
    assert_eq!(fine.status.code(), Some(0));
    let answer: serde_json::Value = serde_json::from_slice(&fine.stdout).unwrap();
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["warnings"].as_array().unwrap().len(), 2, "{answer}");
    assert!(
        !answer.to_string().contains("short\""),
        "the token is never shown"
    );
}

/// A secret of the wrong form for its scheme is found by `config check` too.
#[tokio::test]
async fn config_check_finds_secrets_of_the_wrong_form() {
    let app = spawn_app().await;
    let file = std::env::temp_dir().join(format!("hookgate-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(
        &file,
        "[[sources]]\nname = \"partner\"\nscheme = \"standard-webhooks\"\nsecrets = [\"not-a-whsec\"]",
    )
    .unwrap();
    let output = app
        .cli_with_env(
            &["config", "check"],
            &[("HOOKGATE_CONFIG", file.to_str().unwrap())],
        )
        .await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("partner") && stdout.contains("whsec_"),
        "{stdout}"
    );
}
