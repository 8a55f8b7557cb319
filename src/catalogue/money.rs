//! Exact money: amounts arrive as JSON strings or JSON numbers and must never pass through f64.
//!
//! The crate enables serde_json's `arbitrary_precision`, so a JSON number keeps the digits it
//! was written with and is parsed here straight from that text.

use super::limits::quote;
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("amount {0} is not an exact decimal of at most 28 digits")]
pub struct MoneyError(pub String);

/// Parses an amount given as a JSON string (`"0.6"`) or JSON number (`0.11`, `2000.00000000`).
pub fn parse_amount(value: &Value) -> Result<Decimal, MoneyError> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => return Err(MoneyError(quote(&other.to_string()))),
    };
    parse_decimal_text(&text).ok_or_else(|| MoneyError(quote(&text)))
}

fn parse_decimal_text(text: &str) -> Option<Decimal> {
    if text.is_empty() {
        return None;
    }
    if text.contains(['e', 'E']) {
        // Exponent notation is exact too, as long as it fits Decimal's 28 digits.
        return Decimal::from_scientific(text).ok();
    }
    Decimal::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn json_numbers_keep_their_exact_value_and_scale() {
        assert_eq!(parse_amount(&num("0.11")).unwrap().to_string(), "0.11");
        assert_eq!(
            parse_amount(&num("2000.00000000")).unwrap().to_string(),
            "2000.00000000"
        );
        assert_eq!(
            parse_amount(&num("12345678901234.56")).unwrap().to_string(),
            "12345678901234.56"
        );
        assert_eq!(parse_amount(&num("10")).unwrap().to_string(), "10");
    }

    #[test]
    fn strings_parse_exactly() {
        assert_eq!(parse_amount(&num("\"0.6\"")).unwrap().to_string(), "0.6");
        assert_eq!(parse_amount(&num("\"1.0\"")).unwrap().to_string(), "1.0");
        assert_eq!(
            parse_amount(&num("\"-3.25\"")).unwrap().to_string(),
            "-3.25"
        );
    }

    #[test]
    fn a_value_that_f64_would_round_stays_exact() {
        let amount = parse_amount(&num("0.1000000000000000055511151231257827")).unwrap();
        assert_eq!(amount.to_string(), "0.1000000000000000055511151231");
        let sum = parse_amount(&num("0.1")).unwrap() + parse_amount(&num("0.2")).unwrap();
        assert_eq!(sum.to_string(), "0.3");
    }

    #[test]
    fn exponent_notation_is_accepted() {
        assert_eq!(parse_amount(&num("1.5e2")).unwrap(), Decimal::from(150));
    }

    #[test]
    fn non_amounts_are_rejected() {
        for bad in ["\"\"", "\"abc\"", "\"1,5\"", "true", "null", "{}", "[1]"] {
            assert!(parse_amount(&num(bad)).is_err(), "{bad} should be rejected");
        }
    }

    mod exactness {
        use super::*;
        use proptest::prelude::*;

        /// An amount as the platform writes it: sign, up to 14 integer digits (leading zeros
        /// trimmed) and up to 12 decimals, trailing zeros included.
        fn amount_text() -> impl Strategy<Value = String> {
            (
                any::<bool>(),
                0u64..100_000_000_000_000,
                0usize..=12,
                any::<u64>(),
            )
                .prop_map(|(negative, integer, scale, fraction)| {
                    let sign = if negative { "-" } else { "" };
                    if scale == 0 {
                        format!("{sign}{integer}")
                    } else {
                        let digits = format!("{:012}", fraction % 1_000_000_000_000);
                        format!("{sign}{integer}.{}", &digits[..scale])
                    }
                })
        }

        proptest! {
            #[test]
            fn strings_and_json_numbers_keep_value_and_scale(text in amount_text()) {
                let as_string = parse_amount(&Value::String(text.clone())).unwrap();
                let as_number = parse_amount(&serde_json::from_str(&text).unwrap()).unwrap();
                // `-0` is zero: the only text whose canonical form drops its sign.
                let canonical = if as_string.is_zero() { text.trim_start_matches('-').to_owned() } else { text.clone() };
                prop_assert_eq!(as_string.to_string(), canonical.clone());
                prop_assert_eq!(as_number.to_string(), canonical);
                prop_assert_eq!(as_string.scale(), as_number.scale());
            }
        }

        #[test]
        fn the_formats_the_platform_sends() {
            for text in [
                "0",
                "0.00",
                "-3.25",
                "2000.00000000",
                "0.11",
                "12345678901234.56",
                "-0.000001",
            ] {
                assert_eq!(parse_amount(&num(text)).unwrap().to_string(), text);
                assert_eq!(parse_amount(&Value::from(text)).unwrap().to_string(), text);
            }
        }
    }
}
