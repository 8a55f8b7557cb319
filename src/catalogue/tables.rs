//! Which table holds each family, and which money columns it has.

use super::Family;

/// `(money name in the catalogue, amount column, currency column)`.
pub type MoneyColumn = (&'static str, &'static str, &'static str);

const AMOUNT_AND_FEE: &[MoneyColumn] = &[
    ("amount", "amount", "currency"),
    ("fee", "fee", "fee_currency"),
];
const PAYOUT: &[MoneyColumn] = &[
    ("amount", "amount", "currency"),
    ("fee", "fee", "fee_currency"),
    ("toAmount", "to_amount", "to_currency"),
    ("refundAmount", "refund_amount", "refund_currency"),
];

pub fn table(family: Family) -> Option<&'static str> {
    Some(match family {
        Family::Transfer => "transfers",
        Family::CardTransaction => "card_transactions",
        Family::BudgetTransaction => "budget_transactions",
        Family::CryptoDeposit => "crypto_deposits",
        Family::CryptoWithdrawal => "crypto_withdrawals",
        Family::GlobalAccountTransaction => "global_account_transactions",
        Family::Payout => "payouts",
        Family::Card => "cards",
        Family::Account => "accounts",
        Family::Kyc => "kyc_checks",
        Family::Kyb => "kyb_checks",
        Family::FaceAuthentication => "face_authentications",
        Family::Unknown => return None,
    })
}

pub fn money_columns(family: Family) -> &'static [MoneyColumn] {
    match family {
        Family::Payout => PAYOUT,
        Family::Transfer
        | Family::CardTransaction
        | Family::BudgetTransaction
        | Family::CryptoDeposit
        | Family::CryptoWithdrawal
        | Family::GlobalAccountTransaction => AMOUNT_AND_FEE,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_family_has_a_table_and_its_amounts_have_columns() {
        for family in Family::KNOWN {
            assert!(table(family).is_some(), "{family}");
            let names: Vec<&str> = money_columns(family).iter().map(|c| c.0).collect();
            for field in family.amount_fields() {
                assert!(
                    names.contains(&field.name),
                    "{family}: {} has no column",
                    field.name
                );
            }
        }
        assert_eq!(table(Family::Unknown), None);
    }
}
