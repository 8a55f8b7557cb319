//! Reading an event: its family from the type, then what the family needs from the resource,
//! once, the same way in the receiver and the worker.

use super::{
    bounded_error, normalise_status, parse_amount, parse_time, read_resource, Currency,
    Description, EventType, Family, FamilyFacts, Ids, LimitError, Money, MoneyError, MoneyField,
    Reading, ResourceId, StatusToken, TimeError, TimeSource, ValidEvent,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource is not a JSON object")]
    NotAnObject,
    #[error("resource lacks {0}")]
    Missing(&'static str),
    #[error("{field}: {source}")]
    BadTime { field: String, source: TimeError },
    #[error("{field}: {source}")]
    BadAmount { field: String, source: MoneyError },
    #[error("envelope createTime is missing or not a time in years 1-9999")]
    BadEnvelopeTime,
    #[error(transparent)]
    OutOfBounds(#[from] LimitError),
    #[error("number {0} is outside the range PostgreSQL stores")]
    NumberOutOfRange(String),
}

/// Describes an event from its type, its resource exactly as received, and the envelope's
/// creation time. The receiver and the worker both call this, so they cannot read one
/// resource differently.
pub fn describe(
    event_type: &EventType,
    resource_raw: &[u8],
    envelope_time: Option<DateTime<Utc>>,
) -> Description {
    let resource = read_resource(resource_raw);
    let value = resource.value.as_ref();
    let storable_as_jsonb = resource.storable_as_jsonb;
    let ids = |object_id_field: &str| Ids {
        object_id: id_at(value, "object id", object_id_field),
        account_id: id_at(value, "accountId", "accountId"),
    };
    let Some(facts) = event_type.family().facts() else {
        return Description {
            storable_as_jsonb,
            reading: Reading::Unknown { ids: ids("id") },
        };
    };
    let understood = match &resource.unfit_number {
        Some(number) => Err(ResourceError::NumberOutOfRange(number.clone())),
        None => understand(facts, event_type, value, envelope_time),
    };
    match understood {
        Ok(valid) => Description {
            storable_as_jsonb,
            reading: Reading::Valid(valid),
        },
        Err(error) => Description {
            storable_as_jsonb,
            reading: Reading::Unfit {
                family: facts.family,
                reason: bounded_error(error.to_string()),
                ids: ids(facts.object_id_field),
            },
        },
    }
}

/// An id at a top-level field, if it is there and within the limits.
fn id_at(resource: Option<&Value>, name: &'static str, field: &str) -> Option<ResourceId> {
    let text = text_at(resource?, &[field])?;
    ResourceId::parse(name, &text).ok()
}

fn understand(
    facts: &FamilyFacts,
    event_type: &EventType,
    resource: Option<&Value>,
    envelope_time: Option<DateTime<Utc>>,
) -> Result<ValidEvent, ResourceError> {
    let resource = resource
        .filter(|r| r.is_object())
        .ok_or(ResourceError::NotAnObject)?;
    let object_id = text_at(resource, &[facts.object_id_field])
        .ok_or(ResourceError::Missing("an object id"))?;
    let object_id = ResourceId::parse("object id", &object_id)?;
    let deleted_card =
        facts.family == Family::Card && event_type.to_ascii_uppercase().ends_with(".DELETED");
    let status = if deleted_card {
        StatusToken::known("deleted")
    } else {
        let raw = text_at(resource, &[facts.status_field])
            .filter(|s| !normalise_status(s).is_empty())
            .ok_or(ResourceError::Missing("a status"))?;
        StatusToken::normalise(&raw)?
    };
    let occurred_at = match facts.time {
        TimeSource::Envelope => envelope_time.ok_or(ResourceError::BadEnvelopeTime)?,
        TimeSource::Resource(fields) => {
            let (field, value) = fields
                .iter()
                .find_map(|f| present(resource, &[f]).map(|v| (*f, v)))
                .ok_or(ResourceError::Missing("a time"))?;
            parse_time(value).map_err(|source| ResourceError::BadTime {
                field: field.to_owned(),
                source,
            })?
        }
    };
    let account_id = if facts.object_is_account {
        Some(object_id.clone())
    } else {
        text_at(resource, &["accountId"])
            .map(|text| ResourceId::parse("accountId", &text))
            .transpose()?
    };
    let amounts = facts
        .money
        .iter()
        .filter_map(|field| read_amount(resource, field).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidEvent {
        family: facts.family,
        status,
        object_id,
        account_id,
        occurred_at,
        amounts,
    })
}

fn read_amount(resource: &Value, field: &MoneyField) -> Result<Option<Money>, ResourceError> {
    let Some(value) = present(resource, field.amount) else {
        return Ok(None);
    };
    let amount = parse_amount(value).map_err(|source| ResourceError::BadAmount {
        field: field.amount.join("."),
        source,
    })?;
    let currency = text_at(resource, field.currency)
        .map(|text| Currency::parse("currency", &text))
        .transpose()?;
    Ok(Some(Money {
        name: field.name,
        amount,
        currency,
    }))
}

/// The value at a path of object keys, treating JSON null as absent.
fn present<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// A non-empty string (or a number, as text) at a path.
fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    match present(value, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{format_time, parse_time_str};

    fn envelope_time() -> Option<DateTime<Utc>> {
        Some(parse_time_str("1756879969964").unwrap())
    }

    fn described(event_type: &str, resource: &str) -> Description {
        let event_type = EventType::parse(event_type).unwrap();
        describe(&event_type, resource.as_bytes(), envelope_time())
    }

    /// The event read in full, with `family.status` to compare.
    fn valid(event_type: &str, resource: &str) -> (String, ValidEvent) {
        match described(event_type, resource).reading {
            Reading::Valid(valid) => (format!("{}.{}", valid.family, valid.status), valid),
            other => panic!("{event_type} {resource}: {other:?}"),
        }
    }

    /// The family an event does not fit, and why.
    fn unfit(event_type: &str, resource: &str) -> (Family, String) {
        match described(event_type, resource).reading {
            Reading::Unfit { family, reason, .. } => (family, reason),
            other => panic!("{event_type} {resource:.100}: {other:?}"),
        }
    }

    #[test]
    fn transfer_uses_update_time_and_nested_amounts() {
        let resource = r#"{"id":"t1","accountId":"a1","amount":{"amount":"30","currency":"USDC"},
                "fee":{"amount":"0.6","currency":"USD"},"status":"Closed",
                "createTime":"2023-03-01T08:23:03.096Z","updateTime":"2023-03-01T08:23:05.033Z"}"#;
        let (routing_key, d) = valid("TRANSFER.UPDATED", resource);
        assert_eq!(routing_key, "transfer.closed");
        assert_eq!(d.family, Family::Transfer);
        assert_eq!(d.object_id.as_str(), "t1");
        assert_eq!(d.account_id.as_deref(), Some("a1"));
        assert_eq!(format_time(&d.occurred_at), "2023-03-01T08:23:05.033Z");
        assert_eq!(d.amounts[0].amount.to_string(), "30");
        assert_eq!(d.amounts[1].amount.to_string(), "0.6");
        assert_eq!(d.amounts[1].currency.as_deref(), Some("USD"));
        assert!(described("TRANSFER.UPDATED", resource).storable_as_jsonb);
    }

    #[test]
    fn payout_prefers_refund_time_and_keeps_exact_amounts() {
        let (routing_key, d) = valid(
            "PAYOUT.UPDATED",
            r#"{"id":"1851441353254617090","status":"REFUNDED","refundTime":"2024-02-05 18:57:04.091+08",
                "createTime":"2024-01-01 00:00:00.000+08",
                "data":{"fromCurrency":"HKD","fromAmount":2000.00000000,"toAmount":12345678901234.56}}"#,
        );
        assert_eq!(routing_key, "payout.refunded");
        assert_eq!(d.account_id, None);
        assert_eq!(format_time(&d.occurred_at), "2024-02-05T10:57:04.091Z");
        assert_eq!(d.amounts[0].amount.to_string(), "2000.00000000");
        assert_eq!(d.amounts[0].currency.as_deref(), Some("HKD"));
        assert_eq!(d.amounts[1].name, "toAmount");
        assert_eq!(d.amounts[1].amount.to_string(), "12345678901234.56");
    }

    #[test]
    fn account_level_families_use_envelope_time_and_own_status_fields() {
        let checks = r#"{"id":"acc","kycStatus":"Passed","cardKybStatus":"Na"}"#;
        let (routing_key, kyc) = valid("KYC.UPDATED", checks);
        assert_eq!(routing_key, "kyc.passed");
        assert_eq!(kyc.account_id.as_deref(), Some("acc"));
        assert_eq!(Some(kyc.occurred_at), envelope_time());
        assert_eq!(valid("KYB.UPDATED", checks).0, "kyb.na");
        let face = r#"{"accountId":"acc","status":"Fail"}"#;
        let (routing_key, face) = valid("FACE_AUTHENTICATION.UPDATED", face);
        assert_eq!(face.object_id.as_str(), "acc");
        assert_eq!(routing_key, "face_authentication.fail");
    }

    #[test]
    fn deleted_card_is_deleted_whatever_its_status_field() {
        let (routing_key, _) = valid("CARD.DELETED", r#"{"id":"c1","status":"Active"}"#);
        assert_eq!(routing_key, "card.deleted");
    }

    #[test]
    fn unknown_families_keep_the_ids_they_have() {
        let d = described("CARDHOLDER.UPDATED", r#"{"id":"h1","accountId":"a1"}"#);
        let Reading::Unknown { ids } = d.reading else {
            panic!("{d:?}");
        };
        assert_eq!(ids.object_id.as_deref(), Some("h1"));
        assert_eq!(ids.account_id.as_deref(), Some("a1"));
    }

    #[test]
    fn resources_that_do_not_fit_are_described_as_invalid() {
        let cases = [
            (
                r#"{"status":"Closed","transactionTime":"2021-10-28T11:07:31.019Z"}"#,
                "object id",
            ),
            (
                r#"{"id":"x","transactionTime":"2021-10-28T11:07:31.019Z"}"#,
                "status",
            ),
            (r#"{"id":"x","status":"Closed"}"#, "time"),
            (
                r#"{"id":"x","status":"Closed","transactionTime":"soon"}"#,
                "transactionTime",
            ),
            (
                r#"{"id":"x","status":"Closed","transactionTime":"2021-10-28T11:07:31.019Z","amount":"ten"}"#,
                "amount",
            ),
            (r#"[1,2]"#, "not a JSON object"),
        ];
        for (resource, reason) in cases {
            let (family, error) = unfit("CARD_TRANSACTION.UPDATED", resource);
            assert_eq!(family, Family::CardTransaction, "{resource}");
            assert!(error.contains(reason), "{error} should mention {reason}");
        }
        assert_eq!(unfit("TRANSFER.UPDATED", "not json").0, Family::Transfer);
    }

    #[test]
    fn amount_as_json_number_is_not_rounded() {
        let (_, d) = valid(
            "BUDGET_TRANSACTION.UPDATED",
            r#"{"id":"b","amount":0.11,"status":"Closed","transactionTime":"2022-01-19T08:44:38.599Z"}"#,
        );
        assert_eq!(d.amounts[0].amount.to_string(), "0.11");
    }

    #[test]
    fn hostile_resource_values_make_the_event_unfit_with_a_short_reason() {
        let long = "x".repeat(5_000);
        let cases = [
            (format!(r#"{{"id":"t","status":"{long}","updateTime":"2023-03-01T08:23:05Z"}}"#), "status"),
            (format!(r#"{{"id":"{long}","status":"Closed","updateTime":"2023-03-01T08:23:05Z"}}"#), "object id"),
            (r#"{"id":"a\u0000b","status":"Closed","updateTime":"2023-03-01T08:23:05Z"}"#.to_owned(), "object id"),
            (r#"{"id":"t","accountId":"a\u0000","status":"Closed","updateTime":"2023-03-01T08:23:05Z"}"#.to_owned(), "accountId"),
            (r#"{"id":"t","status":"Closed","updateTime":"-5000-01-01T00:00:00Z"}"#.to_owned(), "years"),
            (r#"{"id":"t","status":"Closed","updateTime":"2023-03-01T08:23:05Z","amount":{"amount":1e200000}}"#.to_owned(), "outside the range"),
            (r#"{"id":"t","status":"Closed","updateTime":"2023-03-01T08:23:05Z","amount":{"amount":"1","currency":"US\u0000"}}"#.to_owned(), "currency"),
            (format!(r#"{{"id":"t","status":"Closed","updateTime":"{long}"}}"#), "updateTime"),
        ];
        for (resource, reason) in cases {
            let (family, error) = unfit("TRANSFER.UPDATED", &resource);
            assert_eq!(family, Family::Transfer, "{resource:.100}");
            assert!(
                error.contains(reason),
                "{error} should mention {reason}: {resource:.100}"
            );
            assert!(error.len() <= 300, "{error}");
        }
    }

    #[test]
    fn statuses_with_routing_characters_are_made_safe() {
        let resource = r#"{"id":"t","status":"closed.x#*","updateTime":"2023-03-01T08:23:05Z"}"#;
        assert_eq!(valid("TRANSFER.UPDATED", resource).0, "transfer.closed_x_");
    }
}
