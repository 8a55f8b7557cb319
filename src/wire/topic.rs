//! Which routing keys a topic binding takes (AMQP 0-9-1 topic exchanges): words are split on
//! `.`, `*` stands for exactly one word and `#` for zero or more. A resend applies a
//! subscriber's patterns itself, since it publishes to the subscriber's queue directly, and
//! must pick what the binding would have routed there.

/// Whether `pattern` routes `key`. Matching walks the words once per pattern word (bounded by
/// the pattern's 255 characters), whatever the key.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    let words: Vec<&str> = key.split('.').collect();
    // reachable[i]: the pattern read so far can end right before key word i.
    let mut reachable = vec![false; words.len() + 1];
    reachable[0] = true;
    for part in pattern.split('.') {
        let mut next = vec![false; words.len() + 1];
        for i in 0..=words.len() {
            if !reachable[i] {
                continue;
            }
            match part {
                "#" => next[i..].iter_mut().for_each(|slot| *slot = true),
                "*" if i < words.len() => next[i + 1] = true,
                word if i < words.len() && words[i] == word => next[i + 1] = true,
                _ => {}
            }
        }
        reachable = next;
    }
    reachable[words.len()]
}

/// Whether any of `patterns` routes `key`.
pub fn any_topic_matches(patterns: &[String], key: &str) -> bool {
    patterns.iter().any(|pattern| topic_matches(pattern, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_stars_and_hashes_match_as_a_broker_routes() {
        let cases = [
            ("notify.transfer.*", "notify.transfer.closed", true),
            ("notify.transfer.*", "notify.transfer", false),
            ("notify.transfer.*", "notify.transfer.closed.x", false),
            ("notify.payout.#", "notify.payout", true),
            ("notify.payout.#", "notify.payout.closed", true),
            ("notify.payout.#", "notify.payout.a.b", true),
            ("notify.payout.#", "notify.payouts.closed", false),
            ("#", "notify.kyc.pending", true),
            ("#.closed", "notify.transfer.closed", true),
            ("#.closed", "notify.transfer.pending", false),
            ("notify.*.closed", "notify.card.closed", true),
            ("notify.#.closed", "notify.closed", true),
            ("notify.transfer.closed", "notify.transfer.closed", true),
            ("notify.transfer.closed", "notify.transfer.close", false),
            ("*", "notify.transfer.closed", false),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern} ~ {key}");
        }
    }

    /// A reference, read straight off the definition: `#` takes no word or one more word.
    fn reference(pattern: &[&str], key: &[&str]) -> bool {
        match (pattern.split_first(), key.split_first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some((&"#", rest)), _) => {
                reference(rest, key) || (!key.is_empty() && reference(pattern, &key[1..]))
            }
            (Some(_), None) => false,
            (Some((&word, rest)), Some((&first, others))) => {
                (word == "*" || word == first) && reference(rest, others)
            }
        }
    }

    proptest! {
        #[test]
        fn matching_agrees_with_the_reference(
            pattern in proptest::collection::vec(prop_oneof!["a", "b", Just("*".to_owned()), Just("#".to_owned())], 1..5),
            key in proptest::collection::vec(prop_oneof!["a", "b"], 1..5),
        ) {
            let pattern = pattern.join(".");
            let key = key.join(".");
            let expected = reference(
                &pattern.split('.').collect::<Vec<_>>(),
                &key.split('.').collect::<Vec<_>>(),
            );
            prop_assert_eq!(topic_matches(&pattern, &key), expected, "{} ~ {}", pattern, key);
        }
    }
}
