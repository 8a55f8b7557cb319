//! `hookgate config check`: the settings validated without starting anything (SPEC 7).

use crate::{
    settings::{Settings, SettingsError},
    signing::{self, StandardWebhooks},
};
use std::process::ExitCode;

/// Checks what reading the settings did not: that every secret has the form its scheme
/// needs. Exits 0, or 2 naming each bad setting, as a bad setting stops `serve`.
pub fn check(settings: Result<&Settings, &SettingsError>, json: bool) -> ExitCode {
    let (errors, warnings) = match settings {
        Err(error) => (vec![error.to_string()], Vec::new()),
        Ok(settings) => (problems(settings), settings.warnings.clone()),
    };
    if json {
        let answer =
            serde_json::json!({"valid": errors.is_empty(), "errors": errors, "warnings": warnings});
        println!("{answer}");
    } else {
        for warning in &warnings {
            println!("warning: {warning}");
        }
        for error in &errors {
            println!("error: {error}");
        }
        if errors.is_empty() {
            println!("the configuration is valid");
        }
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn problems(settings: &Settings) -> Vec<String> {
    let sources = settings
        .sources
        .iter()
        .filter_map(|source| signing::for_source(source).err().map(|e| e.to_string()));
    let subscribers = settings.subscribers.iter().filter_map(|subscriber| {
        StandardWebhooks::new(std::slice::from_ref(&subscriber.secret), None)
            .err()
            .map(|reason| format!("subscriber {:?}: secret: {reason}", subscriber.name))
    });
    sources.chain(subscribers).collect()
}
