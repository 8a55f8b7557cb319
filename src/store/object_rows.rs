//! The rows a projection writes into a family's table (live or shadow), column by column, so
//! that one statement writes a whole batch.

use super::read_model::{money_fields, statements_of, Statements, Tables};
use crate::catalogue::{Family, Money};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// An object's new state.
pub struct ObjectState<'e> {
    pub object_id: &'e str,
    pub account_id: Option<&'e str>,
    pub status: &'e str,
    pub occurred_at: DateTime<Utc>,
    pub last_event_id: &'e str,
    pub last_source: &'e str,
    pub resource: Option<&'e str>,
    pub amounts: &'e [Money],
}

/// Objects' new states for one family's table, column by column.
pub struct ObjectRows<'e> {
    family: Family,
    tables: Tables,
    object_id: Vec<&'e str>,
    account_id: Vec<Option<&'e str>>,
    status: Vec<&'e str>,
    occurred_at: Vec<DateTime<Utc>>,
    last_event_id: Vec<&'e str>,
    last_source: Vec<&'e str>,
    resource: Vec<Option<&'e str>>,
    /// Per money column of the family: the exact decimal text received, and the currency.
    amounts: Vec<Vec<Option<&'e str>>>,
    currencies: Vec<Vec<Option<&'e str>>>,
}

impl<'e> ObjectRows<'e> {
    pub fn new(family: Family, tables: Tables) -> Self {
        let money = money_fields(family).len();
        ObjectRows {
            family,
            tables,
            object_id: Vec::new(),
            account_id: Vec::new(),
            status: Vec::new(),
            occurred_at: Vec::new(),
            last_event_id: Vec::new(),
            last_source: Vec::new(),
            resource: Vec::new(),
            amounts: vec![Vec::new(); money],
            currencies: vec![Vec::new(); money],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.object_id.is_empty()
    }

    pub fn push(&mut self, state: ObjectState<'e>) {
        self.object_id.push(state.object_id);
        self.account_id.push(state.account_id);
        self.status.push(state.status);
        self.occurred_at.push(state.occurred_at);
        self.last_event_id.push(state.last_event_id);
        self.last_source.push(state.last_source);
        self.resource.push(state.resource);
        let fields = money_fields(self.family).iter();
        for ((field, amounts), currencies) in
            fields.zip(&mut self.amounts).zip(&mut self.currencies)
        {
            let found = state.amounts.iter().find(|m| m.name == field.name);
            amounts.push(found.map(|m| m.amount.as_str()));
            currencies.push(found.and_then(|m| m.currency.as_deref()));
        }
    }

    /// Inserts the rows as new objects.
    pub async fn insert(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        self.write(tx, |s| &s.insert).await
    }

    /// Updates the objects' existing rows.
    pub async fn update(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        self.write(tx, |s| &s.update).await
    }

    async fn write(
        &self,
        tx: &mut PgConnection,
        statement: fn(&Statements) -> &String,
    ) -> Result<(), sqlx::Error> {
        let statements = statements_of(self.family, self.tables);
        let Some(statements) = statements.filter(|_| !self.is_empty()) else {
            return Ok(());
        };
        let mut query = sqlx::query(statement(statements))
            .bind(&self.object_id)
            .bind(&self.account_id)
            .bind(&self.status)
            .bind(&self.occurred_at)
            .bind(&self.last_event_id)
            .bind(&self.last_source)
            .bind(&self.resource);
        for (amounts, currencies) in self.amounts.iter().zip(&self.currencies) {
            query = query.bind(amounts).bind(currencies);
        }
        query.execute(tx).await?;
        Ok(())
    }
}
