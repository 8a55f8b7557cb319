//! How the console writes times and hides personal data: pure functions, no I/O.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago`; `in 2 min` for a time ahead of `now`.
pub fn relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - time).num_seconds();
    let magnitude = seconds.unsigned_abs();
    let amount = match magnitude {
        0..=59 => format!("{magnitude} s"),
        60..=3_599 => format!("{} min", magnitude / 60),
        3_600..=86_399 => format!("{} h", magnitude / 3_600),
        _ => format!("{} d", magnitude / 86_400),
    };
    if seconds < 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `2026-11-24 10:15:03 UTC`.
pub fn utc(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Seconds as `42 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration(seconds: f64) -> String {
    let whole = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    match whole {
        0..=59 => format!("{whole} s"),
        60..=3_599 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3_600, (whole % 3_600) / 60),
    }
}

/// The resource with personal data masked: every value under a key that names a person or a
/// way to reach one (email, phone, names, birth date, postal addresses, document numbers) becomes
/// `"•••"` plus at most its last two characters, so an operator can still tell two apart.
/// Everything else (ids, amounts, statuses) is kept.
pub fn mask_personal_data(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| {
                    let masked = if is_personal(key) {
                        mask_leaf(field)
                    } else {
                        mask_personal_data(field)
                    };
                    (key.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_personal_data).collect()),
        other => other.clone(),
    }
}

fn mask_leaf(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) => {
            let tail: String = if text.chars().count() > 6 {
                let chars: Vec<char> = text.chars().collect();
                chars[chars.len() - 2..].iter().collect()
            } else {
                String::new()
            };
            Value::from(format!("•••{tail}"))
        }
        Value::Object(_) | Value::Array(_) => mask_all(value),
        Value::Bool(_) | Value::Number(_) => Value::from("•••"),
    }
}

/// Every leaf of a personal value (a `name` object with `first` and `last`, say) masked.
fn mask_all(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| (key.clone(), mask_all(field)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_all).collect()),
        leaf => mask_leaf(leaf),
    }
}

/// Keys are compared lower-cased without `_` and `-`, so `firstName`, `first_name` and
/// `FIRST-NAME` are one key.
fn is_personal(key: &str) -> bool {
    const EXACT: [&str; 14] = [
        "name",
        "firstname",
        "lastname",
        "middlename",
        "fullname",
        "givenname",
        "familyname",
        "surname",
        "nickname",
        "dob",
        "dateofbirth",
        "birthday",
        "birthdate",
        "nationalid",
    ];
    const CONTAINS: [&str; 10] = [
        "email",
        "phone",
        "mobile",
        "holdername",
        "addressline",
        "street",
        "postcode",
        "zipcode",
        "idnumber",
        "passport",
    ];
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    EXACT.contains(&key.as_str())
        || CONTAINS.iter().any(|part| key.contains(part))
        || (key.ends_with("name") && !key.ends_with("typename") && !key.ends_with("filename"))
        || is_postal_address(&key)
}

/// A postal address (`cardAddress`, `billingAddress`), not a crypto one (`walletAddress`,
/// `toAddress`), which ops need to trace a deposit or withdrawal.
fn is_postal_address(key: &str) -> bool {
    const CRYPTO: [&str; 5] = ["wallet", "to", "from", "deposit", "contract"];
    key.contains("address") && !CRYPTO.iter().any(|prefix| key.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn personal_fields_are_masked_and_the_rest_kept() {
        let resource = json!({
            "id": "tr_1", "amount": "10.50", "status": "CLOSED",
            "email": "jane.doe@example.com", "phoneNumber": "+4915112345678",
            "first_name": "Jane", "lastName": "Doe", "cardHolderName": "JANE DOE",
            "beneficiary": {"name": {"first": "Jane", "last": "Doe"}, "accountId": "acc_9"},
            "contacts": [{"email": "j@example.com"}],
            "cardAddress": {"street": "Main St 1", "city": "Berlin"}, "walletAddress": "0xabc",
            "dateOfBirth": "1990-01-01", "age": 35,
        });
        let masked = mask_personal_data(&resource);
        assert_eq!(
            masked,
            json!({
                "id": "tr_1", "amount": "10.50", "status": "CLOSED",
                "email": "•••om", "phoneNumber": "•••78",
                "first_name": "•••", "lastName": "•••", "cardHolderName": "•••OE",
                "beneficiary": {"name": {"first": "•••", "last": "•••"}, "accountId": "acc_9"},
                "contacts": [{"email": "•••om"}],
                "cardAddress": {"street": "••• 1", "city": "•••"}, "walletAddress": "0xabc",
                "dateOfBirth": "•••01", "age": 35,
            })
        );
    }

    #[test]
    fn times_read_in_utc_and_relative() {
        let now = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let at = |s: i64| now - chrono::Duration::seconds(s);
        assert_eq!(relative(at(5), now), "5 s ago");
        assert_eq!(relative(at(125), now), "2 min ago");
        assert_eq!(relative(at(7_300), now), "2 h ago");
        assert_eq!(relative(at(200_000), now), "2 d ago");
        assert_eq!(relative(at(-90), now), "in 1 min");
        assert_eq!(utc(now), "2025-11-24 16:00:00 UTC");
        assert_eq!(duration(185.4), "3 min 5 s");
        assert_eq!(duration(f64::NAN), "0 s");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("email".to_owned()),
                        Just("name".to_owned()),
                        "[a-zA-Z_]{1,10}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every string under a personal key, at any depth.
    fn personal_strings(value: &Value, personal: bool, found: &mut Vec<String>) {
        match value {
            Value::Object(fields) => fields
                .iter()
                .for_each(|(k, v)| personal_strings(v, personal || is_personal(k), found)),
            Value::Array(items) => items
                .iter()
                .for_each(|v| personal_strings(v, personal, found)),
            Value::String(text) if personal => found.push(text.clone()),
            _ => {}
        }
    }

    proptest! {
        #[test]
        fn no_personal_string_survives_masking(value in json_value()) {
            let mut found = Vec::new();
            personal_strings(&mask_personal_data(&value), false, &mut found);
            for text in found {
                prop_assert!(text.starts_with("•••") && text.chars().count() <= 5, "{text}");
            }
        }
    }
}
