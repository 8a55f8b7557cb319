//! The overview's charts of the last hour (issue 31, item 6): every receiving process samples
//! each ended minute into the database, once, and the console draws what is stored.

use crate::support::{console::ConsoleUser, sign::EARLIER, spawn_app, TestApp};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use hookgate::{
    ops::minute_figures::{last_ended_minute, sample},
    store::minute_figures::{self, AtMinuteEnd},
};

/// A minute's end as a sampler might read it, with `backlog` waiting.
fn with_backlog(backlog: i64) -> AtMinuteEnd {
    AtMinuteEnd {
        backlog,
        backlog_age_seconds: 9.0,
        dead_letters: 9,
        stuck: 9,
    }
}

fn this_minute() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap()
}

/// Posts three transfers within one minute, starting them early enough in a minute (after
/// waiting for the next one, near a minute's end) and returns that minute.
async fn three_events_in_one_minute(app: &TestApp) -> DateTime<Utc> {
    let into_minute = Utc::now() - this_minute();
    if into_minute > TimeDelta::seconds(45) {
        let left = TimeDelta::seconds(61) - into_minute;
        tokio::time::sleep(left.to_std().unwrap()).await;
    }
    let minute = this_minute();
    for n in 0..3 {
        let id = format!("c-{n}");
        app.post_transfer(&id, &id, "Pending", EARLIER).await;
    }
    assert_eq!(this_minute(), minute, "three posts took under 15 s");
    app.wait_until_handled(3).await;
    minute
}

#[tokio::test]
async fn a_minute_is_sampled_once_with_what_it_accepted_and_the_overview_draws_it() {
    let app = spawn_app().await;
    let minute = three_events_in_one_minute(&app).await;
    sample(&app.pool, &app.config.stuck_after, minute)
        .await
        .unwrap();
    let stored = minute_figures::since(&app.pool, minute).await.unwrap();
    assert_eq!(stored[0].minute, minute);
    assert_eq!(stored[0].accepted, 3, "{stored:?}");

    // A second sample of the same minute, by any process, changes nothing.
    minute_figures::record(&app.pool, minute, &with_backlog(99))
        .await
        .unwrap();
    let again = minute_figures::since(&app.pool, minute).await.unwrap();
    assert_eq!(again[0], stored[0]);

    let user = ConsoleUser::signed_in(&app, "ana").await;
    let overview = user.get("/console/overview").await;
    overview.assert_shows("The last hour");
    overview.assert_shows("Accepted and processed per minute");
    assert_eq!(
        overview.html.matches("<svg").count(),
        5,
        "{}",
        overview.html
    );
    assert!(overview.html.contains("<polyline"));
}

#[tokio::test]
async fn minutes_older_than_the_hour_are_not_drawn() {
    let app = spawn_app().await;
    let user = ConsoleUser::signed_in(&app, "ana").await;
    let long_ago = last_ended_minute(Utc::now()) - TimeDelta::hours(3);
    minute_figures::record(&app.pool, long_ago, &with_backlog(12345))
        .await
        .unwrap();
    let overview = user.get("/console/overview").await;
    assert!(
        !overview.html.contains("backlog 12345"),
        "{}",
        overview.html
    );
}
