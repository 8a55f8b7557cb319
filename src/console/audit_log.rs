//! The console's audit log as a table: who did what, in which role, and when.

use super::page;
use crate::store::console::AuditEntry;
use chrono::{DateTime, Utc};
use maud::{html, Markup};

/// The latest actions, newest first.
pub fn table(actions: &[AuditEntry], now: DateTime<Utc>) -> Markup {
    page::table_or(
        "Nothing done from the console yet.",
        actions.is_empty(),
        html! { th { "When" } th { "Who" } th { "Role" } th { "Action" } th { "Detail" } },
        html! {
            @for entry in actions {
                tr {
                    td { (page::time(Some(entry.at), now)) }
                    td { (entry.operator) }
                    td { (entry.role.as_deref().unwrap_or("—")) }
                    td.mono { (entry.action) }
                    td.mono { (entry.detail.0.to_string()) }
                }
            }
        },
    )
}
