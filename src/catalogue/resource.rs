//! Reading a signed resource once, the same way in the receiver and the worker: is it JSON, and
//! can PostgreSQL's `jsonb` hold it? `jsonb` refuses `\u0000` in strings and numbers outside
//! `numeric`'s range, which serde_json (with `arbitrary_precision`) accepts.

use super::limits::quote;
use serde_json::Value;

/// `numeric` keeps at most this many digits before the decimal point (weight 32767 in base
/// 10 000 digits) and this many after it.
const NUMERIC_MAX_INTEGER_DIGITS: i64 = 131_072;
const NUMERIC_MAX_SCALE: i64 = 16_383;

/// The resource as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The parsed JSON; `None` when the bytes are not JSON.
    pub value: Option<Value>,
    /// Whether the bytes can also be stored as `jsonb`.
    pub storable_as_jsonb: bool,
    /// A number `jsonb` cannot hold: such a resource does not fit any family.
    pub unfit_number: Option<String>,
}

pub fn read_resource(raw: &[u8]) -> Resource {
    let Ok(value) = serde_json::from_slice::<Value>(raw) else {
        return Resource {
            value: None,
            storable_as_jsonb: false,
            unfit_number: None,
        };
    };
    let mut scan = Scan::default();
    scan.visit(&value);
    Resource {
        storable_as_jsonb: !scan.has_nul && scan.unfit_number.is_none(),
        unfit_number: scan.unfit_number,
        value: Some(value),
    }
}

#[derive(Default)]
struct Scan {
    has_nul: bool,
    unfit_number: Option<String>,
}

impl Scan {
    fn visit(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.has_nul |= s.contains('\0'),
            Value::Number(n) => {
                let text = n.to_string();
                if self.unfit_number.is_none() && !fits_numeric(&text) {
                    self.unfit_number = Some(quote(&text));
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.visit(item)),
            Value::Object(fields) => {
                for (key, item) in fields {
                    self.has_nul |= key.contains('\0');
                    self.visit(item);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// Whether a JSON number's text fits PostgreSQL `numeric`.
pub fn fits_numeric(text: &str) -> bool {
    let text = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => match text[at + 1..].parse::<i64>() {
            Ok(exponent) => (&text[..at], exponent),
            // An exponent too long for i64 is far outside the range either way.
            Err(_) => return false,
        },
        None => (text, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let significant_integer = integer.trim_start_matches('0').len() as i64;
    let is_zero = significant_integer == 0 && fraction.bytes().all(|b| b == b'0');
    let scale = (fraction.len() as i64).saturating_sub(exponent).max(0);
    let integer_digits = if is_zero {
        0
    } else {
        significant_integer.saturating_add(exponent)
    };
    scale <= NUMERIC_MAX_SCALE && integer_digits <= NUMERIC_MAX_INTEGER_DIGITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_json_is_storable() {
        let r = read_resource(br#"{"id":"t","amount":2000.00000000,"n":-1.5e3}"#);
        assert!(r.value.is_some());
        assert!(r.storable_as_jsonb);
        assert_eq!(r.unfit_number, None);
    }

    #[test]
    fn nul_in_a_string_or_key_keeps_only_the_bytes() {
        for raw in [&br#"{"id":"a\u0000b"}"#[..], br#"{"a\u0000":1}"#] {
            let r = read_resource(raw);
            assert!(r.value.is_some());
            assert!(!r.storable_as_jsonb);
            assert_eq!(r.unfit_number, None);
        }
    }

    #[test]
    fn numbers_beyond_numeric_are_unfit() {
        for huge in [
            "1e200000",
            "1e-20000",
            "-1e131073",
            "1e99999999999999999999",
        ] {
            let raw = format!(r#"{{"id":"t","amount":{huge}}}"#);
            let r = read_resource(raw.as_bytes());
            assert!(!r.storable_as_jsonb, "{huge}");
            assert!(r.unfit_number.is_some(), "{huge}");
        }
    }

    #[test]
    fn numbers_at_numeric_limits_fit() {
        assert!(fits_numeric("1e131071"));
        assert!(fits_numeric("1e-16383"));
        assert!(fits_numeric("0e-5"));
        assert!(fits_numeric("0.000"));
        assert!(fits_numeric("12345678901234.56"));
        assert!(!fits_numeric("1e131072"));
        assert!(!fits_numeric("0e-16384"));
    }

    #[test]
    fn not_json_is_neither_storable_nor_unfit_by_number() {
        let r = read_resource(b"not json");
        assert_eq!(r.value, None);
        assert!(!r.storable_as_jsonb);
    }
}
