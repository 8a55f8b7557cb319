//! Platform-shaped events for the load generator: every family, unique ids, and the shapes a
//! benchmark needs (duplicates, out-of-order pairs). A body is a pure function of its run and
//! index, so a duplicate can be made again byte for byte.

use crate::signing::{Interlace, OutgoingEvent, Scheme, SignedRequest};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

const FAMILIES: usize = 12;

/// One event of the run: its id, type and resource.
pub struct BenchEvent {
    pub event_id: String,
    pub event_type: &'static str,
    pub resource: String,
}

fn iso(time: DateTime<Utc>) -> String {
    crate::catalogue::format_time(&time)
}

/// Event `index` of run `run`, cycling through every family.
pub fn event(run: &str, index: u64, base: DateTime<Utc>) -> BenchEvent {
    let id = format!("{run}-{index}");
    let account = format!("acc-{run}-{}", index % 1000);
    let at = iso(base + Duration::milliseconds(index as i64));
    let padding = "x".repeat(200);
    let (event_type, resource) = match index as usize % FAMILIES {
        0 => (
            "TRANSFER.UPDATED",
            json!({"id": id, "accountId": account, "amount": {"amount": "30.25", "currency": "USDC"},
              "fee": {"amount": "0.6", "currency": "USD"}, "status": "Closed", "createTime": at, "updateTime": at, "note": padding}),
        ),
        1 => (
            "CARD_TRANSACTION.UPDATED",
            json!({"id": id, "accountId": account, "cardId": "card-1", "currency": "USD",
              "amount": 10.5, "fee": 0, "type": "TransferIn", "status": "Closed", "transactionTime": at, "note": padding}),
        ),
        2 => (
            "BUDGET_TRANSACTION.UPDATED",
            json!({"id": id, "accountId": account, "budgetId": "b-1", "amount": 0.11,
              "fee": 0, "type": "TransferIn", "status": "Closed", "transactionTime": at, "note": padding}),
        ),
        3 => (
            "KYC.UPDATED",
            json!({"id": id, "type": "SubAccount", "status": "Active", "kycStatus": "Passed",
              "cardKybStatus": "Na", "createTime": at, "note": padding}),
        ),
        4 => (
            "KYB.UPDATED",
            json!({"id": id, "type": "SubAccount", "status": "Active", "kycStatus": "Na",
              "cardKybStatus": "Passed", "createTime": at, "note": padding}),
        ),
        5 => (
            "FACE_AUTHENTICATION.UPDATED",
            json!({"accountId": id, "status": "Success", "note": padding}),
        ),
        6 => (
            "PAYOUT.UPDATED",
            json!({"id": id, "status": "CLOSED", "successTime": at, "createTime": at,
              "data": {"fromCurrency": "HKD", "fromAmount": 2000.00000000, "toCurrency": "USD", "toAmount": 267.92,
                       "fee": 20, "feeCurrency": "USD"}, "note": padding}),
        ),
        7 => (
            "CRYPTO_DEPOSIT.UPDATED",
            json!({"id": id, "accountId": account, "chain": "AVAX", "currency": "USDC",
              "amount": "1.0", "fee": "0", "status": "Closed", "createTime": at, "updateTime": at, "note": padding}),
        ),
        8 => (
            "CRYPTO_WITHDRAWAL.UPDATED",
            json!({"id": id, "accountId": account, "chain": "ETH", "currency": "USDT",
              "amount": "12345678901234.56", "fee": "1", "status": "Pending", "createTime": at, "updateTime": at, "note": padding}),
        ),
        9 => (
            "GLOBAL_ACCOUNT_TRANSACTION.UPDATED",
            json!({"id": id, "accountId": account, "currency": "USD",
              "transactionAmount": 10, "fee": 36, "status": "Pending", "transactionTime": at, "createTime": at, "note": padding}),
        ),
        10 => (
            "CARD.UPDATED",
            json!({"id": id, "accountId": account, "status": "Active", "currency": "USD", "note": padding}),
        ),
        _ => (
            "ACCOUNT.UPDATED",
            json!({"id": id, "status": "Active", "type": "SubAccount", "note": padding}),
        ),
    };
    BenchEvent {
        event_id: id,
        event_type,
        resource: resource.to_string(),
    }
}

/// An out-of-order pair for one transfer: `closed` first, then an older `pending`.
pub fn out_of_order_pair(run: &str, index: u64, base: DateTime<Utc>) -> [BenchEvent; 2] {
    let object = format!("{run}-ooo-{index}");
    let make = |suffix: &str, status: &str, at: DateTime<Utc>| {
        BenchEvent {
        event_id: format!("{run}-{index}-{suffix}"),
        event_type: "TRANSFER.UPDATED",
        resource: json!({"id": object, "accountId": "acc-ooo", "amount": {"amount": "5", "currency": "USD"},
                         "status": status, "updateTime": iso(at)})
        .to_string(),
    }
    };
    [
        make("closed", "Closed", base + Duration::seconds(2)),
        make("pending", "Pending", base + Duration::seconds(1)),
    ]
}

pub fn sign(scheme: &Interlace, event: &BenchEvent) -> SignedRequest {
    scheme
        .sign(&OutgoingEvent {
            event_id: &event.event_id,
            event_type: event.event_type,
            resource: &event.resource,
            time: Utc::now(),
        })
        .expect("the bench signer has a secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{describe, EventType, Family};

    #[test]
    fn every_family_is_generated_and_understood() {
        let base = Utc::now();
        let mut families = std::collections::HashSet::new();
        for index in 0..FAMILIES as u64 {
            let e = event("run", index, base);
            let event_type = EventType::parse(e.event_type).unwrap();
            let d = describe(&event_type, e.resource.as_bytes(), Some(base));
            let valid = d
                .valid()
                .unwrap_or_else(|| panic!("{}: {d:?}", e.event_type));
            families.insert(valid.family);
        }
        assert_eq!(families.len(), Family::KNOWN.len());
    }

    #[test]
    fn same_index_gives_the_same_bytes_and_ids_are_unique() {
        let base = Utc::now();
        assert_eq!(event("r", 5, base).resource, event("r", 5, base).resource);
        assert_ne!(event("r", 5, base).event_id, event("r", 17, base).event_id);
        let [first, second] = out_of_order_pair("r", 3, base);
        assert!(first.resource.contains("Closed") && second.resource.contains("Pending"));
    }
}
