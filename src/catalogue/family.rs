//! The event families hookgate knows. What each one is, and which `eventType` prefix belongs to
//! it, is in the table in [`super::facts`].

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

impl Family {
    /// `family`, or every known family when `None`.
    pub fn one_or_all(family: Option<Family>) -> Vec<Family> {
        family.map_or_else(|| Family::KNOWN.to_vec(), |family| vec![family])
    }

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

    /// Every family an inbox row can carry: the catalogue's and `unknown`.
    pub fn all() -> impl Iterator<Item = Family> {
        Family::KNOWN.into_iter().chain([Family::Unknown])
    }

    /// Any family by name, `unknown` included: events outside the catalogue are searched by it.
    pub fn parse(name: &str) -> Option<Family> {
        Family::all().find(|f| f.as_str() == name)
    }

    /// A family of the catalogue by name: those with a projection to read, verify or rebuild.
    pub fn known(name: &str) -> Option<Family> {
        Family::parse(name).filter(|f| *f != Family::Unknown)
    }
}

impl serde::Serialize for Family {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
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
            ("Kyc.Updated", Family::Kyc),
            ("transfer.deleted", Family::Transfer),
        ];
        for (event_type, family) in cases {
            assert_eq!(Family::of_event_type(event_type), family, "{event_type}");
        }
    }

    #[test]
    fn an_action_outside_the_catalogue_makes_the_event_unknown() {
        for event_type in [
            "KYC.X1",
            "KYC.X11",
            "TRANSFER",
            "TRANSFER.UPDATED.X",
            "TRANSFER.",
        ] {
            assert_eq!(
                Family::of_event_type(event_type),
                Family::Unknown,
                "{event_type}"
            );
        }
        assert_eq!(Family::named_by("KYC.X1"), Family::Kyc);
        assert_eq!(Family::named_by("TRANSFER.UPDATED.X"), Family::Transfer);
    }

    #[test]
    fn families_ordered_by_a_signed_time_are_those_of_spec_2_4() {
        let by_envelope = [
            Family::Kyc,
            Family::Kyb,
            Family::FaceAuthentication,
            Family::Card,
            Family::Account,
            Family::Unknown,
        ];
        for family in Family::all() {
            assert_eq!(
                family.orders_by_signed_time(),
                !by_envelope.contains(&family),
                "{family}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for family in Family::all() {
            assert_eq!(Family::parse(family.as_str()), Some(family));
        }
        assert_eq!(Family::parse("nope"), None);
        assert_eq!(Family::known("unknown"), None);
        assert_eq!(Family::known("payout"), Some(Family::Payout));
        assert!(Family::KNOWN.iter().all(|f| f.facts().is_some()));
    }
}
