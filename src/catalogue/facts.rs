//! One table of what each known family is: where its resource keeps the object id, status,
//! ordering time and money, the order of its statuses, and the read-model table and columns it
//! is projected into. Parsing, ordering and the read model all read this table.

use super::family::Family;

/// Where the time that orders a family's events comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The first of these resource fields that is present.
    Resource(&'static [&'static str]),
    /// The envelope's `createTime`.
    Envelope,
}

/// One money amount: where the amount and its currency sit in the resource (paths of object
/// keys), and the read-model columns they go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyField {
    pub name: &'static str,
    pub amount: &'static [&'static str],
    pub currency: &'static [&'static str],
    pub amount_column: &'static str,
    pub currency_column: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub struct FamilyFacts {
    pub family: Family,
    /// Lower snake case: routing keys, the `family` column, the read API.
    pub name: &'static str,
    /// The `eventType` prefix, upper case.
    pub event_prefix: &'static str,
    pub table: &'static str,
    pub object_id_field: &'static str,
    pub status_field: &'static str,
    /// Whether the object id is itself the account id (the account-level families).
    pub object_is_account: bool,
    pub time: TimeSource,
    pub money: &'static [MoneyField],
    /// The statuses in order; statuses on one level share a rank.
    pub levels: &'static [&'static [&'static str]],
    /// The status an unlisted value ranks with.
    pub unlisted_ranks_as: &'static str,
    /// Statuses that never regress.
    pub terminal: &'static [&'static str],
    /// A terminal status that may still follow another terminal (a payout's refund).
    pub after_terminal: Option<&'static str>,
}

const fn money(
    name: &'static str,
    amount: &'static [&'static str],
    currency: &'static [&'static str],
    amount_column: &'static str,
    currency_column: &'static str,
) -> MoneyField {
    MoneyField {
        name,
        amount,
        currency,
        amount_column,
        currency_column,
    }
}

const AMOUNT: MoneyField = money("amount", &["amount"], &["currency"], "amount", "currency");
const FEE: MoneyField = money("fee", &["fee"], &["feeCurrency"], "fee", "fee_currency");
const AMOUNT_AND_FEE: &[MoneyField] = &[AMOUNT, FEE];

const TRANSACTION_LEVELS: &[&[&str]] = &[&["pending"], &["closed", "fail"]];
const TRANSACTION_TERMINAL: &[&str] = &["closed", "fail"];
const CHECK_LEVELS: &[&[&str]] = &[&["na"], &["pending"], &["request"], &["passed", "canceled"]];
const LIFECYCLE_LEVELS: &[&[&str]] = &[&["active"], &["frozen"], &["inactive"], &["deleted"]];

/// A family, its name, its `eventType` prefix and its read-model table.
type Names = (Family, &'static str, &'static str, &'static str);

/// A family's facts with what most families share: the id in `id`, the status in `status`,
/// timed by the envelope, no money, nothing terminal.
const fn named((family, name, event_prefix, table): Names) -> FamilyFacts {
    FamilyFacts {
        family,
        name,
        event_prefix,
        table,
        object_id_field: "id",
        status_field: "status",
        object_is_account: false,
        time: TimeSource::Envelope,
        money: &[],
        levels: &[],
        unlisted_ranks_as: "pending",
        terminal: &[],
        after_terminal: None,
    }
}

/// A money-moving family whose statuses run pending → closed | fail.
const fn transaction(
    names: Names,
    time: &'static [&'static str],
    money: &'static [MoneyField],
) -> FamilyFacts {
    FamilyFacts {
        time: TimeSource::Resource(time),
        money,
        levels: TRANSACTION_LEVELS,
        terminal: TRANSACTION_TERMINAL,
        ..named(names)
    }
}

/// An account-level check (KYC, KYB, face authentication): no money, timed by the envelope,
/// and it may start again after passing or failing.
const fn check(
    names: Names,
    (object_id_field, status_field): (&'static str, &'static str),
    levels: &'static [&'static [&'static str]],
) -> FamilyFacts {
    FamilyFacts {
        object_id_field,
        status_field,
        object_is_account: true,
        levels,
        ..named(names)
    }
}

/// A card or an account: timed by the envelope, final once deleted.
const fn lifecycle(names: Names, object_is_account: bool) -> FamilyFacts {
    FamilyFacts {
        object_is_account,
        levels: LIFECYCLE_LEVELS,
        unlisted_ranks_as: "active",
        terminal: &["deleted"],
        ..named(names)
    }
}

/// In the order of [`Family::KNOWN`]. One row a family, so it reads as a table.
#[rustfmt::skip]
pub(super) static FACTS: [FamilyFacts; 12] = [
    transaction(
        (Family::Transfer, "transfer", "TRANSFER", "transfers"),
        &["updateTime", "createTime"],
        &[
            money("amount", &["amount", "amount"], &["amount", "currency"], "amount", "currency"),
            money("fee", &["fee", "amount"], &["fee", "currency"], "fee", "fee_currency"),
        ],
    ),
    transaction(
        (Family::CardTransaction, "card_transaction", "CARD_TRANSACTION", "card_transactions"),
        &["transactionTime"],
        AMOUNT_AND_FEE,
    ),
    transaction(
        (Family::BudgetTransaction, "budget_transaction", "BUDGET_TRANSACTION", "budget_transactions"),
        &["transactionTime"],
        AMOUNT_AND_FEE,
    ),
    check((Family::Kyc, "kyc", "KYC", "kyc_checks"), ("id", "kycStatus"), CHECK_LEVELS),
    check((Family::Kyb, "kyb", "KYB", "kyb_checks"), ("id", "cardKybStatus"), CHECK_LEVELS),
    check(
        (Family::FaceAuthentication, "face_authentication", "FACE_AUTHENTICATION", "face_authentications"),
        ("accountId", "status"),
        &[&["na"], &["pending"], &["success", "fail"]],
    ),
    FamilyFacts {
        time: TimeSource::Resource(&["refundTime", "successTime", "createTime"]),
        money: &[
            money("amount", &["data", "fromAmount"], &["data", "fromCurrency"], "amount", "currency"),
            money("fee", &["data", "fee"], &["data", "feeCurrency"], "fee", "fee_currency"),
            money("toAmount", &["data", "toAmount"], &["data", "toCurrency"], "to_amount", "to_currency"),
            money("refundAmount", &["data", "refundAmount"], &["data", "refundCurrency"], "refund_amount", "refund_currency"),
        ],
        levels: &[&["created"], &["pending"], &["proof_required"], &["closed", "rejected", "failed"], &["refunded"]],
        terminal: &["closed", "refunded", "rejected", "failed"],
        after_terminal: Some("refunded"),
        ..named((Family::Payout, "payout", "PAYOUT", "payouts"))
    },
    transaction(
        (Family::CryptoDeposit, "crypto_deposit", "CRYPTO_DEPOSIT", "crypto_deposits"),
        &["updateTime", "createTime"],
        AMOUNT_AND_FEE,
    ),
    transaction(
        (Family::CryptoWithdrawal, "crypto_withdrawal", "CRYPTO_WITHDRAWAL", "crypto_withdrawals"),
        &["updateTime", "createTime"],
        AMOUNT_AND_FEE,
    ),
    transaction(
        (Family::GlobalAccountTransaction, "global_account_transaction", "GLOBAL_ACCOUNT_TRANSACTION", "global_account_transactions"),
        &["transactionTime", "createTime"],
        &[money("amount", &["transactionAmount"], &["currency"], "amount", "currency"), FEE],
    ),
    lifecycle((Family::Card, "card", "CARD", "cards"), false),
    lifecycle((Family::Account, "account", "ACCOUNT", "accounts"), true),
];

/// The actions an `eventType` may name (SPEC 3); any other makes the event `unknown`.
const ACTIONS: [&str; 3] = ["CREATED", "UPDATED", "DELETED"];

impl Family {
    /// The family of an `eventType` such as `TRANSFER.UPDATED` (case-insensitive, since the
    /// Standard Webhooks senders use `transfer.updated`): its prefix's family when its action
    /// is one of [`ACTIONS`], else `Unknown`, so an unsigned envelope cannot invent an action
    /// that gets projected.
    pub fn of_event_type(event_type: &str) -> Family {
        match event_type.split_once('.') {
            Some((_, action)) if ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)) => {
                Family::named_by(event_type)
            }
            _ => Family::Unknown,
        }
    }

    /// The family an `eventType`'s prefix names, whatever its action: the family whose signed
    /// resources a re-sent copy would repeat (SPEC 2.4).
    pub fn named_by(event_type: &str) -> Family {
        let prefix = event_type.split('.').next().unwrap_or_default();
        FACTS
            .iter()
            .find(|facts| facts.event_prefix.eq_ignore_ascii_case(prefix))
            .map_or(Family::Unknown, |facts| facts.family)
    }

    /// Whether the family's events are ordered by a time inside the signed resource, so that
    /// one signed resource is one event however many envelopes carry it (SPEC 2.4).
    pub fn orders_by_signed_time(self) -> bool {
        self.facts()
            .is_some_and(|facts| matches!(facts.time, TimeSource::Resource(_)))
    }

    pub fn as_str(self) -> &'static str {
        self.facts().map_or("unknown", |facts| facts.name)
    }

    /// What the catalogue knows of a family; `None` for [`Family::Unknown`].
    pub fn facts(self) -> Option<&'static FamilyFacts> {
        // The table lists the known families in declaration order, as its test checks.
        FACTS.get(self as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_known_families_in_order() {
        for (facts, family) in FACTS.iter().zip(Family::KNOWN) {
            assert_eq!(facts.family, family);
            assert_eq!(facts.name.to_ascii_uppercase(), facts.event_prefix);
        }
    }

    #[test]
    fn every_status_has_a_level_and_columns_are_distinct() {
        for facts in &FACTS {
            let listed: Vec<&str> = facts
                .levels
                .iter()
                .flat_map(|l| l.iter().copied())
                .collect();
            for status in facts.terminal.iter().chain([&facts.unlisted_ranks_as]) {
                assert!(listed.contains(status), "{}: {status}", facts.name);
            }
            let mut columns: Vec<&str> = facts
                .money
                .iter()
                .flat_map(|m| [m.amount_column, m.currency_column])
                .collect();
            columns.sort_unstable();
            columns.dedup();
            assert_eq!(columns.len(), facts.money.len() * 2, "{}", facts.name);
        }
    }
}
