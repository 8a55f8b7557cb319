//! `HOOKGATE_OTLP_ENDPOINT` and `HOOKGATE_TRACE_SAMPLE_RATIO` (SPEC 7).

use super::{env::Env, SettingsError};
use crate::telemetry::traces::TraceExport;

pub(super) fn read(
    env: &Env<impl Fn(&str) -> Option<String>>,
) -> Result<TraceExport, SettingsError> {
    let endpoint = env.text("HOOKGATE_OTLP_ENDPOINT");
    if let Some(endpoint) = &endpoint {
        if reqwest::Url::parse(endpoint)
            .map_or(true, |url| !matches!(url.scheme(), "http" | "https"))
        {
            // The value is not echoed: an endpoint URL can hold a credential.
            return Err(SettingsError::BadValue {
                name: "HOOKGATE_OTLP_ENDPOINT",
                expected: "an http:// or https:// URL of an OTLP/HTTP collector",
                value: "(not shown)".into(),
            });
        }
    }
    let sample_ratio = match env.text("HOOKGATE_TRACE_SAMPLE_RATIO") {
        None => 1.0,
        Some(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|ratio| (0.0..=1.0).contains(ratio))
            .ok_or(SettingsError::BadValue {
                name: "HOOKGATE_TRACE_SAMPLE_RATIO",
                expected: "a number from 0 to 1",
                value: text,
            })?,
    };
    Ok(TraceExport {
        endpoint,
        sample_ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_with(vars: &[(&str, &str)]) -> Result<TraceExport, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        read(&Env::new(move |name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }))
    }

    #[test]
    fn no_endpoint_exports_nothing_and_samples_everything() {
        assert_eq!(read_with(&[]).unwrap(), TraceExport::default());
    }

    #[test]
    fn the_ratio_is_a_number_from_0_to_1_and_the_endpoint_a_web_url() {
        let export = read_with(&[
            ("HOOKGATE_OTLP_ENDPOINT", "http://collector:4318"),
            ("HOOKGATE_TRACE_SAMPLE_RATIO", "0.25"),
        ])
        .unwrap();
        assert_eq!(export.endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(export.sample_ratio, 0.25);
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let refused = read_with(&[("HOOKGATE_TRACE_SAMPLE_RATIO", bad)]).unwrap_err();
            assert!(
                refused.to_string().contains("HOOKGATE_TRACE_SAMPLE_RATIO"),
                "{bad}"
            );
        }
        let refused = read_with(&[("HOOKGATE_OTLP_ENDPOINT", "ftp://user:secret@x")]).unwrap_err();
        assert!(!refused.to_string().contains("secret"), "{refused}");
    }
}
