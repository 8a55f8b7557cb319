//! Settings: defaults, the file, the environment, and what is refused.

use super::*;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn defaults_follow_the_spec() {
    let config = Settings::from_lookup(lookup(&[])).unwrap();
    assert_eq!(config.database.url, "postgres://localhost/hookgate");
    assert_eq!(
        config.broker.urls,
        ["amqp://guest:guest@127.0.0.1:5672/%2f"]
    );
    assert_eq!(config.server.listen, "127.0.0.1:8080");
    assert_eq!(config.broker.prefix, "hookgate");
    assert_eq!(config.retention.days, 30);
    assert_eq!(config.server.max_body_bytes, 1024 * 1024);
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(config.server.api_tokens.is_empty() && config.server.viewer_tokens.is_empty());
    assert_eq!(config.relay.batch, 500);
    assert_eq!(config.workers.read_model_prefetch, 200);
    assert_eq!(config.workers.read_model_batch, 100);
    assert_eq!(config.server.inbox.max_batch, 256);
    let tiers: Vec<&str> = config
        .broker
        .retry_tiers
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tiers, ["1s", "10s", "1m", "10m", "1h"]);
    let interlace = config.source("interlace").unwrap();
    assert_eq!(interlace.scheme, SchemeKind::Interlace);
    assert!(interlace.secrets.is_empty());
}

/// A source's secrets, as configured.
fn secrets_of<'a>(config: &'a Settings, source: &str) -> Vec<&'a str> {
    let source = config.source(source).unwrap();
    source.secrets.iter().map(Secret::expose).collect()
}

#[test]
fn interlace_secrets_come_from_a_comma_separated_list() {
    let config =
        Settings::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "old, new ,")])).unwrap();
    assert_eq!(secrets_of(&config, "interlace"), ["old", "new"]);
}

#[test]
fn file_defines_sources_and_subscribers_and_env_overrides_it() {
    let file = config_file(
        r#"
[[sources]]
name = "partner"
scheme = "standard-webhooks"
secrets = ["whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="]
timestamp_tolerance_secs = 300

[[sources]]
name = "interlace"
scheme = "interlace"
secrets = ["from-file"]
timestamp_tolerance_secs = 60

[[subscribers]]
name = "ledger"
url = "http://127.0.0.1:9000/hooks"
secret = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="
patterns = ["notify.transfer.*", "notify.payout.#"]
"#,
    );
    let config = Settings::from_lookup(lookup(&[
        ("HOOKGATE_CONFIG", file.to_str().unwrap()),
        ("HOOKGATE_INTERLACE_SECRETS", "from-env"),
        ("HOOKGATE_LOG_FORMAT", "json"),
    ]))
    .unwrap();
    let partner = config.source("partner").unwrap();
    assert_eq!(partner.scheme, SchemeKind::StandardWebhooks);
    assert_eq!(partner.timestamp_tolerance_secs, Some(300));
    let interlace = config.source("interlace").unwrap();
    assert_eq!(interlace.secrets, vec![Secret::new("from-env")]);
    assert_eq!(interlace.timestamp_tolerance_secs, Some(60));
    assert_eq!(config.subscribers[0].name, "ledger");
    assert_eq!(config.subscribers[0].timeout_ms, 5000);
    assert_eq!(config.log_format, LogFormat::Json);
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn bad_values_are_reported_by_name() {
    let cases = [
        (
            "HOOKGATE_RETENTION_DAYS",
            "a month",
            "HOOKGATE_RETENTION_DAYS",
        ),
        ("HOOKGATE_RETRY_TIERS", "1s,soon", "HOOKGATE_RETRY_TIERS"),
        ("HOOKGATE_LOG_FORMAT", "xml", "text or json"),
    ];
    for (name, value, says) in cases {
        let error = refusal(&[(name, value)]);
        assert!(error.contains(says), "{name}={value}: {error}");
    }
}

#[test]
fn values_that_would_panic_wrap_or_overflow_amqp_names_are_refused() {
    let long_prefix = "p".repeat(65);
    let cases = [
        ("HOOKGATE_SWEEP_INTERVAL_MS", "0"),
        ("HOOKGATE_RETENTION_DAYS", "0"),
        ("HOOKGATE_RETENTION_DAYS", "4294967295"),
        ("HOOKGATE_RETENTION_DAYS", "99999999999"),
        ("HOOKGATE_AMQP_PREFIX", long_prefix.as_str()),
        ("HOOKGATE_AMQP_PREFIX", "hook gate"),
        ("HOOKGATE_AMQP_PREFIX", "hook#gate"),
        ("HOOKGATE_RETRY_TIERS", "10000000000000000000s"),
        ("HOOKGATE_RELAY_BATCH", "0"),
        ("HOOKGATE_INBOX_COMMITS", "0"),
        ("HOOKGATE_READ_MODEL_PREFETCH", "70000"),
        ("HOOKGATE_DATABASE_POOL_SIZE", "0"),
    ];
    for (name, value) in cases {
        let error = refusal(&[(name, value)]);
        assert!(error.contains(name), "{name}={value}: {error}");
    }
    assert!(Settings::from_lookup(lookup(&[("HOOKGATE_RETENTION_DAYS", "36500")])).is_ok());
}

#[test]
fn subscriber_names_patterns_and_timeouts_are_checked() {
    let subscriber = |name: &str, pattern: &str| {
        format!(
            "[[subscribers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"whsec_MTIz\"\npatterns = [\"{pattern}\"]"
        )
    };
    let long_name = "s".repeat(65);
    let slow = |ms: u64| format!("{}\ntimeout_ms = {ms}", subscriber("ledger", "notify.#"));
    let cases = [
        (subscriber(&long_name, "notify.#"), "1-64"),
        (subscriber("ledger", "notify.Transfer.*"), "pattern"),
        (
            slow(30_001),
            "timeout_ms must be from 1 to 30000, got 30001",
        ),
        (slow(0), "timeout_ms must be from 1 to 30000, got 0"),
    ];
    for (file, says) in cases {
        let path = config_file(&file);
        let error = refusal(&[("HOOKGATE_CONFIG", path.to_str().unwrap())]);
        std::fs::remove_file(&path).unwrap();
        assert!(error.contains(says), "{error}");
    }
}

#[test]
fn the_broker_may_be_a_list_of_nodes_and_a_bad_one_is_named_by_position_only() {
    let nodes = "amqp://a:pw@n1:5672/%2f, amqps://a:pw@n2:5671/%2f,";
    let config = Settings::from_lookup(lookup(&[("HOOKGATE_AMQP_URL", nodes)])).unwrap();
    assert_eq!(
        config.broker.urls,
        ["amqp://a:pw@n1:5672/%2f", "amqps://a:pw@n2:5671/%2f"]
    );
    let error = refusal(&[("HOOKGATE_AMQP_URL", "amqp://a:pw@n1/,http://a:secret@n2/")]);
    assert!(error.contains("entry 2"), "{error}");
    assert!(!error.contains("secret"), "{error}");
    assert!(refusal(&[("HOOKGATE_AMQP_URL", " , ")]).contains("HOOKGATE_AMQP_URL"));
}

#[test]
fn secrets_are_not_printed() {
    let config =
        Settings::from_lookup(lookup(&[("HOOKGATE_INTERLACE_SECRETS", "very-secret")])).unwrap();
    assert!(!format!("{config:?}").contains("very-secret"));
}

/// A ConfigMap can hold the file while the secrets come from a Secret's variables.
#[test]
fn secrets_of_named_sources_and_subscribers_come_from_their_variables() {
    let path = config_file(
        "[[sources]]\nname = \"partner-eu\"\nscheme = \"standard-webhooks\"\n\
         [[subscribers]]\nname = \"ledger-eu\"\nurl = \"http://127.0.0.1:9/\"\npatterns = [\"#\"]",
    );
    let file = ("HOOKGATE_CONFIG", path.to_str().unwrap());
    let source_missing = refusal(&[file]);
    let missing = refusal(&[file, ("HOOKGATE_SOURCE_SECRETS_PARTNER_EU", "whsec_MTIz")]);
    let config = Settings::from_lookup(lookup(&[
        file,
        (
            "HOOKGATE_SOURCE_SECRETS_PARTNER_EU",
            "whsec_MTIz, whsec_NDU2",
        ),
        ("HOOKGATE_SUBSCRIBER_SECRET_LEDGER_EU", "whsec_Nzg5"),
    ]));
    std::fs::remove_file(&path).unwrap();
    assert!(
        source_missing.contains("HOOKGATE_SOURCE_SECRETS_PARTNER_EU"),
        "a source without a secret names the variable: {source_missing}"
    );
    assert!(
        missing.contains("HOOKGATE_SUBSCRIBER_SECRET_LEDGER_EU"),
        "a subscriber without a secret names the variable: {missing}"
    );
    let config = config.unwrap();
    assert_eq!(
        secrets_of(&config, "partner-eu"),
        ["whsec_MTIz", "whsec_NDU2"]
    );
    assert_eq!(config.subscribers[0].secret.expose(), "whsec_Nzg5");
}

/// The file the Kubernetes base mounts is valid with the Secret's variables alone.
#[test]
fn the_kubernetes_config_file_is_valid() {
    let path = config_file(include_str!("../../deploy/k8s/hookgate.toml"));
    let config = Settings::from_lookup(lookup(&[
        ("HOOKGATE_CONFIG", path.to_str().unwrap()),
        ("HOOKGATE_INTERLACE_SECRETS", "k8s-secret"),
    ]));
    std::fs::remove_file(&path).unwrap();
    let config = config.unwrap();
    assert_eq!(config.source("interlace").unwrap().secrets.len(), 1);
}

/// Why the settings from `vars` are refused.
#[test]
fn empty_secrets_and_lists_of_nothing_stop_the_start_by_name() {
    let source = |secrets: &str| {
        format!(
            "[[sources]]\nname = \"partner\"\nscheme = \"standard-webhooks\"\nsecrets = {secrets}"
        )
    };
    for (secrets, says) in [
        (r#"[""]"#, "an entry is empty"),
        (r#"["whsec_"]"#, "whsec_ with no key"),
        (r#"["whpk_ "]"#, "whpk_ with no key"),
        ("[]", "at least one non-empty secret"),
    ] {
        let path = config_file(&source(secrets));
        let error = refusal(&[("HOOKGATE_CONFIG", path.to_str().unwrap())]);
        std::fs::remove_file(&path).unwrap();
        assert!(
            error.contains("partner") && error.contains(says),
            "{secrets}: {error}"
        );
    }
    let error = refusal(&[("HOOKGATE_INTERLACE_SECRETS", " , ,")]);
    assert!(error.contains("HOOKGATE_INTERLACE_SECRETS"), "{error}");
    let subscriber = "[[subscribers]]\nname = \"ledger\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"whsk_\"\npatterns = [\"#\"]";
    let path = config_file(subscriber);
    let error = refusal(&[("HOOKGATE_CONFIG", path.to_str().unwrap())]);
    std::fs::remove_file(&path).unwrap();
    assert!(
        error.contains("ledger") && error.contains("whsk_"),
        "{error}"
    );
}

#[test]
fn timers_sizes_and_tiers_that_would_overflow_or_repeat_are_refused() {
    for (name, value) in [
        ("HOOKGATE_RETENTION_INTERVAL_SECS", "9223372036854775807"),
        ("HOOKGATE_RETENTION_INTERVAL_SECS", "0"),
        ("HOOKGATE_SWEEP_INTERVAL_MS", "18446744073709551615"),
        ("HOOKGATE_DATABASE_TIMEOUT_MS", "604800001"),
        ("HOOKGATE_BODY_TIMEOUT_MS", "0"),
        ("HOOKGATE_MAX_BODY_BYTES", "134217729"),
        ("HOOKGATE_MAX_IN_FLIGHT", "0"),
        ("HOOKGATE_RETRY_TIERS", "1s,1s"),
        ("HOOKGATE_RETRY_TIERS", "10s,1s"),
        ("HOOKGATE_RETRY_TIERS", "1000ms,1s"),
        ("HOOKGATE_TRUSTED_PROXIES", "10.0.0.0/33"),
    ] {
        let error = refusal(&[(name, value)]);
        assert!(error.contains(name), "{name}={value}: {error}");
    }
    let error = refusal(&[
        ("HOOKGATE_MAX_BODY_BYTES", "2000000"),
        ("HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT", "1000000"),
    ]);
    assert!(
        error.contains("HOOKGATE_MAX_BODY_BYTES_IN_FLIGHT"),
        "{error}"
    );
    let largest = Settings::from_lookup(lookup(&[("HOOKGATE_MAX_BODY_BYTES", "134217728")]));
    assert_eq!(largest.unwrap().server.max_body_bytes, 128 * 1024 * 1024);
}

#[test]
fn empty_variables_are_unset_and_empty_entries_are_dropped_with_a_warning() {
    let config = Settings::from_lookup(lookup(&[
        ("HOOKGATE_RETENTION_DAYS", ""),
        ("HOOKGATE_MAX_IN_FLIGHT", " "),
        ("HOOKGATE_INTERLACE_SECRETS", "a,,b,"),
        ("HOOKGATE_RETRY_TIERS", "1s,,10s"),
        ("HOOKGATE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7"),
    ]))
    .unwrap();
    assert_eq!(config.retention.days, 30);
    assert_eq!(config.server.limits.max_in_flight, 1024);
    assert_eq!(
        config.source("interlace").unwrap().secrets,
        [Secret::new("a"), Secret::new("b")]
    );
    assert_eq!(config.broker.retry_tiers.len(), 2);
    assert_eq!(config.server.trusted_proxies.len(), 2);
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(config.warnings[0].contains("HOOKGATE_INTERLACE_SECRETS"));
    assert!(config.warnings.iter().all(|w| !w.contains(",,")));
}

#[test]
fn a_short_api_token_is_a_warning() {
    let short = Settings::from_lookup(lookup(&[("HOOKGATE_API_TOKEN", "short")])).unwrap();
    assert!(
        short.warnings[0].contains("HOOKGATE_API_TOKEN"),
        "{:?}",
        short.warnings
    );
    assert!(!short.warnings[0].contains("short\""));
    let long = "x".repeat(32);
    let config = Settings::from_lookup(lookup(&[("HOOKGATE_API_TOKEN", &long)])).unwrap();
    assert!(config.warnings.is_empty());
}

#[test]
fn each_role_takes_a_list_of_tokens_and_ignores_empty_entries() {
    let (old, new, view) = ("o".repeat(32), "n".repeat(32), "v".repeat(32));
    let config = Settings::from_lookup(lookup(&[
        ("HOOKGATE_API_TOKEN", &format!("{old}, {new},")),
        ("HOOKGATE_VIEWER_TOKEN", &view),
    ]))
    .unwrap();
    let exposed = |tokens: &[Secret]| -> Vec<String> {
        tokens.iter().map(|t| t.expose().to_owned()).collect()
    };
    assert_eq!(exposed(&config.server.api_tokens), [old, new]);
    assert_eq!(exposed(&config.server.viewer_tokens), [view]);
    assert!(
        config.warnings.iter().any(|w| w.contains("empty entries")),
        "{:?}",
        config.warnings
    );
    let short = Settings::from_lookup(lookup(&[("HOOKGATE_VIEWER_TOKEN", "short")])).unwrap();
    assert!(short.warnings[0].contains("HOOKGATE_VIEWER_TOKEN"));
}

fn refusal(vars: &[(&str, &str)]) -> String {
    Settings::from_lookup(lookup(vars))
        .expect_err("refused")
        .to_string()
}

/// A configuration file holding `text`, for the test to remove.
fn config_file(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("hookgate-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The read deadline must always give up before the server cancels the read's statement:
/// equal, the two raced, and a read the server cancelled first failed as a database error,
/// without `Retry-After` and uncounted.
#[test]
fn a_read_statement_outlives_the_read_deadline() {
    let config = Settings::from_lookup(lookup(&[("HOOKGATE_READ_TIMEOUT_MS", "500")])).unwrap();
    let database = &config.database;
    assert_eq!(database.read_timeout, std::time::Duration::from_millis(500));
    assert!(database.statement_timeout(PoolRole::Read) > database.read_timeout);
}
