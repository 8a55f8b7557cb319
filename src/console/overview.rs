//! `GET /console/overview`: what is waiting where, how fast things move, charts of the last
//! hour, and whether the broker and every task are well. It reads only indexed backlogs, a
//! one-hour window of the inbox and the last hour's minute figures (sampled by every
//! receiving process into the database, so every pod draws the same), so it stays quick on a
//! large inbox.

use super::{
    charts, format,
    page::{self, Section},
    session::Session,
};
use crate::{
    http::AppState,
    ops::{
        minute_figures::last_ended_minute,
        status::{queue_depths, QueueDepth},
    },
    store::{
        archive::{processing_backlog, recent_counts},
        dlq_index, minute_figures,
        outbox::{backlog, OutboxTable},
    },
};
use axum::{extract::State, response::Response};
use maud::{html, Markup};
use std::time::Duration;

/// The window the rates are averaged over.
const RATE_WINDOW_SECS: f64 = 300.0;

pub async fn overview(State(state): State<AppState>, session: Session) -> Response {
    let frame = session.frame();
    let last_minute = last_ended_minute(chrono::Utc::now());
    let hour_start = last_minute - chrono::TimeDelta::minutes(59);
    let figures = async {
        Ok::<_, sqlx::Error>((
            backlog(&state.pool, OutboxTable::Events).await?,
            backlog(&state.pool, OutboxTable::Notifications).await?,
            processing_backlog(&state.pool).await?,
            recent_counts(&state.pool, RATE_WINDOW_SECS).await?,
            dlq_index::count(&state.pool).await?,
            minute_figures::since(&state.pool, hour_start).await?,
        ))
    };
    let depths = async {
        if state.broker.describe() != "up" {
            return None;
        }
        tokio::time::timeout(Duration::from_secs(2), queue_depths(&state.broker))
            .await
            .ok()
            .and_then(Result::ok)
    };
    let (figures, depths) = tokio::join!(figures, depths);
    let Ok((unpublished, notifications, processing, recent, dead_letters, minutes)) = figures
    else {
        return page::failure(
            Some(&frame),
            "The database is unavailable: try again shortly.",
        );
    };
    let tasks = state.supervisor.health();
    let broker = state.broker.describe();
    let body = html! {
        div.cards {
            (card("Waiting to publish", unpublished.0, &age(unpublished)))
            (card("Waiting to process", processing.0, &age(processing)))
            (card("Notifications waiting", notifications.0, &age(notifications)))
            (card("Dead letters", dead_letters, "in the DLQ index"))
            (rate_card("Accepted", recent.received))
            (rate_card("Processed", recent.processed))
        }
        h2 { "The last hour" }
        (charts::last_hour(&minutes, last_minute))
        h2 { "Broker " span class=(format!("badge {}", if broker == "up" { "up" } else { "down" })) { (broker) } }
        (queues(depths.as_deref()))
        h2 { "Tasks" }
        table {
            thead { tr { th { "Task" } th { "State" } } }
            tbody {
                @for (name, health) in &tasks {
                    tr { td.mono { (name) } td { span class=(format!("badge {}", health.as_str())) { (health.as_str()) } } }
                }
            }
        }
    };
    page::render("Overview", Section::Overview, Some(&frame), body)
}

fn age((count, oldest_seconds): (i64, f64)) -> String {
    if count == 0 {
        "nothing waiting".to_owned()
    } else {
        format!("oldest {}", format::duration(oldest_seconds))
    }
}

fn card(label: &str, value: i64, sub: &str) -> Markup {
    html! {
        div.card { div.label { (label) } div.value { (value) } div.sub { (sub) } }
    }
}

fn rate_card(label: &str, count: i64) -> Markup {
    let rate = count as f64 / RATE_WINDOW_SECS;
    html! {
        div.card {
            div.label { (label) " per second" }
            div.value { (format!("{rate:.1}")) }
            div.sub { (count) " in the last 5 min" }
        }
    }
}

fn queues(depths: Option<&[QueueDepth]>) -> Markup {
    match depths {
        None => html! { p.muted { "Queue depths are unknown while the broker does not answer." } },
        Some(depths) => html! {
            table {
                thead { tr { th { "Queue" } th.num { "Messages" } th.num { "Consumers" } } }
                tbody {
                    @for depth in depths {
                        tr { td.mono { (depth.queue) } td.num { (depth.messages) } td.num { (depth.consumers) } }
                    }
                }
            }
        },
    }
}
