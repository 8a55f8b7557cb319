//! An object's amounts as its read-model row keeps them: NUMERIC read back as text, so every
//! digit and the scale the platform sent survive (a float would not).

use crate::catalogue::{Family, MoneyField};
use sqlx::{PgExecutor, Row};

/// One of the family's amounts and its currency; `None` where the resource had none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMoney {
    pub field: &'static MoneyField,
    pub amount: Option<String>,
    pub currency: Option<String>,
}

/// The object's amounts in the order of the catalogue's money fields; `None` when the family
/// has no table or the object no row.
pub async fn money_of<'c>(
    executor: impl PgExecutor<'c>,
    family: Family,
    object_id: &str,
) -> Result<Option<Vec<StoredMoney>>, sqlx::Error> {
    let Some(facts) = family.facts() else {
        return Ok(None);
    };
    if facts.money.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let columns = facts
        .money
        .iter()
        .map(|m| format!("{}::text, {}", m.amount_column, m.currency_column))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {columns} FROM {} WHERE object_id = $1", facts.table);
    let Some(row) = sqlx::query(&sql)
        .bind(object_id)
        .fetch_optional(executor)
        .await?
    else {
        return Ok(None);
    };
    facts
        .money
        .iter()
        .enumerate()
        .map(|(i, field)| {
            Ok(StoredMoney {
                field,
                amount: row.try_get(2 * i)?,
                currency: row.try_get(2 * i + 1)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map(Some)
}
