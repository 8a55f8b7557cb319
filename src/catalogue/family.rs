//! Event families: which `eventType` prefix belongs to which family, and where each family keeps
//! its object id, status and ordering time.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Transfer,
    CardTransaction,
    BudgetTransaction,
    Kyc,
    Kyb,
    FaceAuthentication,
    Payout,
    CryptoDeposit,
    CryptoWithdrawal,
    GlobalAccountTransaction,
    Card,
    Account,
    Unknown,
}

/// Where the time that orders a family's events comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The first of these resource fields that is present.
    Resource(&'static [&'static str]),
    /// The envelope's `createTime`.
    Envelope,
}

impl Family {
    pub const KNOWN: [Family; 12] = [
        Family::Transfer,
        Family::CardTransaction,
        Family::BudgetTransaction,
        Family::Kyc,
        Family::Kyb,
        Family::FaceAuthentication,
        Family::Payout,
        Family::CryptoDeposit,
        Family::CryptoWithdrawal,
        Family::GlobalAccountTransaction,
        Family::Card,
        Family::Account,
    ];

    /// The family of an `eventType` such as `TRANSFER.UPDATED` (case-insensitive, since the
    /// Standard Webhooks senders use `transfer.updated`).
    pub fn of_event_type(event_type: &str) -> Family {
        let prefix = event_type.split('.').next().unwrap_or_default();
        match prefix.to_ascii_uppercase().as_str() {
            "TRANSFER" => Family::Transfer,
            "CARD_TRANSACTION" => Family::CardTransaction,
            "BUDGET_TRANSACTION" => Family::BudgetTransaction,
            "KYC" => Family::Kyc,
            "KYB" => Family::Kyb,
            "FACE_AUTHENTICATION" => Family::FaceAuthentication,
            "PAYOUT" => Family::Payout,
            "CRYPTO_DEPOSIT" => Family::CryptoDeposit,
            "CRYPTO_WITHDRAWAL" => Family::CryptoWithdrawal,
            "GLOBAL_ACCOUNT_TRANSACTION" => Family::GlobalAccountTransaction,
            "CARD" => Family::Card,
            "ACCOUNT" => Family::Account,
            _ => Family::Unknown,
        }
    }

    pub fn parse(name: &str) -> Option<Family> {
        Family::KNOWN
            .into_iter()
            .chain([Family::Unknown])
            .find(|f| f.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Transfer => "transfer",
            Family::CardTransaction => "card_transaction",
            Family::BudgetTransaction => "budget_transaction",
            Family::Kyc => "kyc",
            Family::Kyb => "kyb",
            Family::FaceAuthentication => "face_authentication",
            Family::Payout => "payout",
            Family::CryptoDeposit => "crypto_deposit",
            Family::CryptoWithdrawal => "crypto_withdrawal",
            Family::GlobalAccountTransaction => "global_account_transaction",
            Family::Card => "card",
            Family::Account => "account",
            Family::Unknown => "unknown",
        }
    }

    /// The resource field holding the object id.
    pub fn object_id_field(self) -> &'static str {
        match self {
            Family::FaceAuthentication => "accountId",
            _ => "id",
        }
    }

    /// The resource field holding the status.
    pub fn status_field(self) -> &'static str {
        match self {
            Family::Kyc => "kycStatus",
            Family::Kyb => "cardKybStatus",
            _ => "status",
        }
    }

    /// Whether the object id is itself the account id (the account-level families).
    pub fn object_is_account(self) -> bool {
        matches!(
            self,
            Family::Kyc | Family::Kyb | Family::FaceAuthentication | Family::Account
        )
    }

    pub fn time_source(self) -> TimeSource {
        match self {
            Family::Transfer | Family::CryptoDeposit | Family::CryptoWithdrawal => {
                TimeSource::Resource(&["updateTime", "createTime"])
            }
            Family::CardTransaction | Family::BudgetTransaction => {
                TimeSource::Resource(&["transactionTime"])
            }
            Family::Payout => TimeSource::Resource(&["refundTime", "successTime", "createTime"]),
            Family::GlobalAccountTransaction => {
                TimeSource::Resource(&["transactionTime", "createTime"])
            }
            Family::Kyc
            | Family::Kyb
            | Family::FaceAuthentication
            | Family::Card
            | Family::Account
            | Family::Unknown => TimeSource::Envelope,
        }
    }

    /// Paths (field names, nested) of the money amounts a family carries, with the path of the
    /// currency that goes with each. Present amounts must parse exactly.
    pub fn amount_fields(self) -> &'static [AmountField] {
        const AMOUNT: AmountField = AmountField {
            name: "amount",
            amount: &["amount"],
            currency: &["currency"],
        };
        const FEE: AmountField = AmountField {
            name: "fee",
            amount: &["fee"],
            currency: &["feeCurrency"],
        };
        match self {
            Family::Transfer => &[
                AmountField {
                    name: "amount",
                    amount: &["amount", "amount"],
                    currency: &["amount", "currency"],
                },
                AmountField {
                    name: "fee",
                    amount: &["fee", "amount"],
                    currency: &["fee", "currency"],
                },
            ],
            Family::CardTransaction
            | Family::BudgetTransaction
            | Family::CryptoDeposit
            | Family::CryptoWithdrawal => &[AMOUNT, FEE],
            Family::GlobalAccountTransaction => &[
                AmountField {
                    name: "amount",
                    amount: &["transactionAmount"],
                    currency: &["currency"],
                },
                FEE,
            ],
            Family::Payout => &[
                AmountField {
                    name: "amount",
                    amount: &["data", "fromAmount"],
                    currency: &["data", "fromCurrency"],
                },
                AmountField {
                    name: "fee",
                    amount: &["data", "fee"],
                    currency: &["data", "feeCurrency"],
                },
                AmountField {
                    name: "toAmount",
                    amount: &["data", "toAmount"],
                    currency: &["data", "toCurrency"],
                },
                AmountField {
                    name: "refundAmount",
                    amount: &["data", "refundAmount"],
                    currency: &["data", "refundCurrency"],
                },
            ],
            _ => &[],
        }
    }
}

/// One money amount in a resource: where the amount and its currency sit.
#[derive(Debug, Clone, Copy)]
pub struct AmountField {
    pub name: &'static str,
    pub amount: &'static [&'static str],
    pub currency: &'static [&'static str],
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_prefixes_map_to_families() {
        let cases = [
            ("TRANSFER.UPDATED", Family::Transfer),
            ("CARD_TRANSACTION.CREATED", Family::CardTransaction),
            ("BUDGET_TRANSACTION.UPDATED", Family::BudgetTransaction),
            ("KYC.UPDATED", Family::Kyc),
            ("KYB.UPDATED", Family::Kyb),
            ("FACE_AUTHENTICATION.UPDATED", Family::FaceAuthentication),
            ("PAYOUT.UPDATED", Family::Payout),
            ("CRYPTO_DEPOSIT.UPDATED", Family::CryptoDeposit),
            ("CRYPTO_WITHDRAWAL.CREATED", Family::CryptoWithdrawal),
            (
                "GLOBAL_ACCOUNT_TRANSACTION.UPDATED",
                Family::GlobalAccountTransaction,
            ),
            ("CARD.DELETED", Family::Card),
            ("ACCOUNT.UPDATED", Family::Account),
            ("transfer.updated", Family::Transfer),
            ("CARDHOLDER.UPDATED", Family::Unknown),
            ("", Family::Unknown),
        ];
        for (event_type, family) in cases {
            assert_eq!(Family::of_event_type(event_type), family, "{event_type}");
        }
    }

    #[test]
    fn names_round_trip() {
        for family in Family::KNOWN.into_iter().chain([Family::Unknown]) {
            assert_eq!(Family::parse(family.as_str()), Some(family));
        }
        assert_eq!(Family::parse("nope"), None);
    }

    #[test]
    fn account_level_families_take_their_id_from_the_right_field() {
        assert_eq!(Family::FaceAuthentication.object_id_field(), "accountId");
        assert_eq!(Family::Kyc.status_field(), "kycStatus");
        assert_eq!(Family::Kyb.status_field(), "cardKybStatus");
        assert!(Family::Kyc.object_is_account());
        assert!(!Family::Transfer.object_is_account());
    }
}
