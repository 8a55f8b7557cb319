//! Personal data in a resource, found by its keys and masked: what the console shows everyone
//! and the API shows a viewer (SPEC 5). Pure functions, no I/O.

use serde_json::Value;

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
