use super::*;
use clap::CommandFactory;

/// Every subcommand has a description and examples, and every flag a description.
fn check(command: &clap::Command, path: &str) {
    let path = format!("{path} {}", command.get_name());
    assert!(command.get_about().is_some(), "{path} has no description");
    if command.get_subcommands().next().is_none() || command.get_name() == "dlq" {
        let after = command.get_after_help().map(|h| h.to_string());
        assert!(
            after.is_some_and(|h| h.contains("Examples:")),
            "{path} has no examples"
        );
    }
    for argument in command.get_arguments() {
        let id = argument.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        assert!(
            argument.get_help().is_some(),
            "{path} --{id} has no description"
        );
    }
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" {
            check(sub, &path);
        }
    }
}

#[test]
fn every_command_and_flag_explains_itself() {
    let cli = Cli::command();
    cli.clone().debug_assert();
    assert!(cli
        .get_after_help()
        .is_some_and(|h| h.to_string().contains("HOOKGATE_DATABASE_URL")));
    for sub in cli.get_subcommands() {
        check(sub, "hookgate");
    }
}

#[test]
fn family_flags_list_the_families() {
    let refused = Cli::try_parse_from(["hookgate", "replay", "--family", "spaceship"])
        .err()
        .expect("refused");
    let text = refused.to_string();
    assert!(text.contains("possible values"), "{text}");
    assert!(text.contains("card_transaction"), "{text}");
}

#[test]
fn connection_flags_stand_in_for_the_environment() {
    let cli =
        Cli::try_parse_from(["hookgate", "status", "--amqp-prefix", "hookgate-staging"]).unwrap();
    let env = |name: &str| (name == "HOOKGATE_AMQP_PREFIX").then(|| "from-env".to_owned());
    let settings = cli.connections.settings(env).unwrap();
    assert_eq!(settings.broker.prefix, "hookgate-staging");
    let cli = Cli::try_parse_from(["hookgate", "status"]).unwrap();
    assert_eq!(
        cli.connections.settings(env).unwrap().broker.prefix,
        "from-env"
    );
}
