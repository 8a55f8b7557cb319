//! Exact money: amounts arrive as JSON strings or JSON numbers and must never pass through f64,
//! nor be rounded to fit a fixed-precision type.
//!
//! The crate enables serde_json's `arbitrary_precision`, so a JSON number keeps the digits it
//! was written with. An amount is kept as that decimal text, once checked to be a plain
//! decimal that PostgreSQL's `numeric` holds, and reaches the read model as the same text.

use super::{limits::quote, resource::fits_numeric};
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("amount {0} is not an exact decimal PostgreSQL's numeric can hold")]
pub struct MoneyError(pub String);

/// An exact amount: decimal text such as `2000.00000000`, `-3.25` or `1.5e2`, with every digit
/// it arrived with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an amount given as a JSON string (`"0.6"`) or JSON number (`0.11`, `2000.00000000`).
pub fn parse_amount(value: &Value) -> Result<Amount, MoneyError> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => return Err(MoneyError(quote(&other.to_string()))),
    };
    if is_plain_decimal(&text) && fits_numeric(&text) {
        Ok(Amount(text))
    } else {
        Err(MoneyError(quote(&text)))
    }
}

/// `-?digits(.digits)?([eE][+-]?digits)?`: the JSON number grammar (leading zeros allowed),
/// which PostgreSQL's `numeric` input reads exactly.
fn is_plain_decimal(text: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (mantissa, None),
    };
    digits(integer)
        && fraction.is_none_or(digits)
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn amounts_keep_the_digits_they_were_sent_with_as_numbers_and_strings() {
        // (the JSON value as the platform sends it, the amount kept)
        let cases = [
            ("0", "0"),
            ("\"0\"", "0"),
            ("0.00", "0.00"),
            ("\"0.00\"", "0.00"),
            ("-3.25", "-3.25"),
            ("\"-3.25\"", "-3.25"),
            ("2000.00000000", "2000.00000000"),
            ("\"2000.00000000\"", "2000.00000000"),
            ("0.11", "0.11"),
            ("\"0.11\"", "0.11"),
            ("10", "10"),
            ("\"10\"", "10"),
            ("12345678901234.56", "12345678901234.56"),
            ("\"12345678901234.56\"", "12345678901234.56"),
            ("-0.000001", "-0.000001"),
            ("\"-0.000001\"", "-0.000001"),
            ("\"0.6\"", "0.6"),
            ("\"1.0\"", "1.0"),
            ("\" -3.25 \"", "-3.25"),
        ];
        for (sent, kept) in cases {
            assert_eq!(parse_amount(&num(sent)).unwrap().as_str(), kept, "{sent}");
        }
    }

    #[test]
    fn more_digits_than_any_fixed_precision_type_holds_stay_exact() {
        let long = "0.1000000000000000055511151231257827021181583404541015625";
        assert_eq!(parse_amount(&num(long)).unwrap().as_str(), long);
        let huge = "123456789012345678901234567890123456789.5";
        assert_eq!(parse_amount(&num(huge)).unwrap().as_str(), huge);
    }

    #[test]
    fn exponent_notation_is_accepted_with_its_digits() {
        // serde_json writes a JSON number's exponent with its sign; `numeric` reads both forms.
        let as_number = parse_amount(&num("1.5e2")).unwrap();
        assert!(
            matches!(as_number.as_str(), "1.5e2" | "1.5e+2"),
            "{as_number}"
        );
        assert_eq!(parse_amount(&num("\"2E-3\"")).unwrap().as_str(), "2E-3");
    }

    #[test]
    fn non_amounts_are_rejected() {
        for bad in [
            "\"\"",
            "\"abc\"",
            "\"1,5\"",
            "\"1_000\"",
            "\"+5\"",
            "\".5\"",
            "\"5.\"",
            "\"1e\"",
            "\"NaN\"",
            "\"Infinity\"",
            "true",
            "null",
            "{}",
            "[1]",
            "1e200000",
        ] {
            assert!(parse_amount(&num(bad)).is_err(), "{bad} should be rejected");
        }
    }

    mod exactness {
        use super::*;
        use proptest::prelude::*;

        /// An amount as the platform writes it: sign, up to 14 integer digits and up to 30
        /// decimals, trailing zeros included.
        fn amount_text() -> impl Strategy<Value = String> {
            (any::<bool>(), 0u64..100_000_000_000_000, "[0-9]{0,30}").prop_map(
                |(negative, integer, fraction)| {
                    let sign = if negative { "-" } else { "" };
                    if fraction.is_empty() {
                        format!("{sign}{integer}")
                    } else {
                        format!("{sign}{integer}.{fraction}")
                    }
                },
            )
        }

        proptest! {
            #[test]
            fn strings_and_json_numbers_keep_every_digit(text in amount_text()) {
                let as_string = parse_amount(&Value::String(text.clone())).unwrap();
                let as_number = parse_amount(&serde_json::from_str(&text).unwrap()).unwrap();
                prop_assert_eq!(as_string.as_str(), text.as_str());
                prop_assert_eq!(as_number.as_str(), text.as_str());
            }
        }
    }
}
