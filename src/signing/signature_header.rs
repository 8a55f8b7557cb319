//! The `webhook-signature` header, parsed within fixed bounds before any signature work: its
//! length and entry count are capped, so what a sender puts in it cannot set the cost of
//! checking it (SPEC 2.2).

/// Longest header accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 4096;
/// Most entries accepted, whatever their version.
pub const MAX_ENTRIES: usize = 16;

/// One entry of the header, decoded. Entries of other versions, or whose base64 does not
/// decode to a signature's length, are skipped: they cannot match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `v1,<base64 HMAC-SHA256>`.
    V1([u8; 32]),
    /// `v1a,<base64 ed25519 signature>`.
    V1a([u8; 64]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("webhook-signature is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("webhook-signature has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
}

/// The entries of a `webhook-signature` value.
pub fn parse(header: &str) -> Result<Vec<Entry>, HeaderError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(HeaderError::TooLong);
    }
    let mut entries = Vec::new();
    for (count, entry) in header.split_ascii_whitespace().enumerate() {
        if count == MAX_ENTRIES {
            return Err(HeaderError::TooManyEntries);
        }
        if let Some(entry) = decode(entry) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn decode(entry: &str) -> Option<Entry> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let (version, encoded) = entry.split_once(',')?;
    let bytes = STANDARD.decode(encoded).ok()?;
    match version {
        "v1" => bytes.try_into().ok().map(Entry::V1),
        "v1a" => bytes.try_into().ok().map(Entry::V1a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: &str = "QhAdmyPYOHWbObkAmkIdR45UVI7NDtXSxtDfg2+YRfc=";

    #[test]
    fn entries_of_both_versions_decode_and_others_are_skipped() {
        let ed = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]);
        let entries = parse(&format!(
            "v1,{MAC} v2,{MAC} v1,AAAA v1a,{ed} v1a,{MAC} junk"
        ))
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert!(matches!(entries[0], Entry::V1(_)));
        assert_eq!(entries[1], Entry::V1a([7; 64]));
    }

    #[test]
    fn sixteen_entries_pass_and_seventeen_are_refused() {
        let entry = format!("v1,{MAC}");
        assert_eq!(
            parse(&vec![entry.as_str(); 16].join(" ")).unwrap().len(),
            16
        );
        assert_eq!(
            parse(&vec![entry.as_str(); 17].join(" ")),
            Err(HeaderError::TooManyEntries)
        );
        // Entries that decode to nothing still count.
        assert_eq!(
            parse(&vec!["x"; 17].join(" ")),
            Err(HeaderError::TooManyEntries)
        );
    }

    #[test]
    fn a_header_over_4_kib_is_refused_before_it_is_split() {
        assert_eq!(parse(&" ".repeat(4097)), Err(HeaderError::TooLong));
        assert_eq!(parse(&" ".repeat(4096)), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn any_header_parses_within_the_bounds(header in ".{0,5000}") {
            match parse(&header) {
                Ok(entries) => prop_assert!(entries.len() <= MAX_ENTRIES),
                Err(HeaderError::TooLong) => prop_assert!(header.len() > MAX_HEADER_BYTES),
                Err(HeaderError::TooManyEntries) => {
                    prop_assert!(header.split_ascii_whitespace().count() > MAX_ENTRIES)
                }
            }
        }
    }
}
