//! Small charts of the last hour, drawn on the server as plain SVG (no script): one line per
//! series over sixty one-minute slots, a minute with no figures left as a gap.

use super::format;
use crate::store::minute_figures::MinuteFigures;
use chrono::{DateTime, TimeDelta, Utc};
use maud::{html, Markup};

/// Slots drawn: the hour before the last ended minute, inclusive.
const SLOTS: i64 = 60;
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 70.0;

/// One line: its name, its CSS class (its colour) and its value in each minute.
struct Series<'a> {
    name: &'a str,
    class: &'a str,
    value: fn(&MinuteFigures) -> f64,
}

/// The overview's charts of the hour up to `last` (the last ended minute).
pub fn last_hour(minutes: &[MinuteFigures], last: DateTime<Utc>) -> Markup {
    let count = |s: f64| format!("{s:.0}");
    html! {
        div.charts {
            (chart("Accepted and processed per minute", minutes, last, count, &[
                Series { name: "accepted", class: "line-a", value: |m| m.accepted as f64 },
                Series { name: "processed", class: "line-b", value: |m| m.processed as f64 },
            ]))
            (chart("Waiting to process", minutes, last, count, &[
                Series { name: "backlog", class: "line-a", value: |m| m.backlog as f64 },
            ]))
            (chart("Oldest waiting", minutes, last, format::duration, &[
                Series { name: "age", class: "line-a", value: |m| m.backlog_age_seconds },
            ]))
            (chart("Dead letters", minutes, last, count, &[
                Series { name: "dead letters", class: "line-bad", value: |m| m.dead_letters as f64 },
            ]))
            (chart("Stuck objects", minutes, last, count, &[
                Series { name: "stuck", class: "line-bad", value: |m| m.stuck as f64 },
            ]))
        }
    }
}

fn chart(
    title: &str,
    minutes: &[MinuteFigures],
    last: DateTime<Utc>,
    show: fn(f64) -> String,
    series: &[Series],
) -> Markup {
    let first = last - TimeDelta::minutes(SLOTS - 1);
    let shown: Vec<&MinuteFigures> = minutes
        .iter()
        .filter(|m| m.minute >= first && m.minute <= last)
        .collect();
    let top = shown
        .iter()
        .flat_map(|m| series.iter().map(move |s| (s.value)(m)))
        .fold(0.0_f64, f64::max);
    html! {
        figure.chart {
            figcaption { (title) }
            @if shown.is_empty() {
                p.muted { "No figures for the last hour yet." }
            } @else {
                svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) {
                    line.axis x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) {}
                    @for s in series {
                        @for run in runs(&shown, first, s.value, top) {
                            polyline class=(s.class) points=(run) {}
                        }
                    }
                }
                div.scale {
                    span { "1 h ago" }
                    span { "top " (show(top)) }
                    span { "now" }
                }
                div.latest {
                    @for s in series {
                        span class=(s.class) { (s.name) " " (show(shown.last().map_or(0.0, |m| (s.value)(m)))) }
                    }
                }
            }
        }
    }
}

/// The series as `points` lists, one per run of consecutive minutes: a missing minute breaks
/// the line. A run of one minute is drawn as a short flat stroke, so it shows.
fn runs(
    minutes: &[&MinuteFigures],
    first: DateTime<Utc>,
    value: fn(&MinuteFigures) -> f64,
    top: f64,
) -> Vec<String> {
    let slot_width = WIDTH / (SLOTS - 1) as f64;
    let y = |v: f64| {
        let scaled = if top > 0.0 { v / top } else { 0.0 };
        HEIGHT - 2.0 - scaled * (HEIGHT - 4.0)
    };
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous: Option<i64> = None;
    for minute in minutes {
        let slot = (minute.minute - first).num_minutes();
        let point = (slot as f64 * slot_width, y(value(minute)));
        match (previous, runs.last_mut()) {
            (Some(p), Some(run)) if p + 1 == slot => run.push(point),
            _ => runs.push(vec![point]),
        }
        previous = Some(slot);
    }
    runs.into_iter()
        .map(|mut run| {
            if run.len() == 1 {
                let (x, y) = run[0];
                run.push(((x + slot_width / 2.0).min(WIDTH), y));
            }
            let points: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            points.join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn minute(at: DateTime<Utc>, accepted: i64) -> MinuteFigures {
        MinuteFigures {
            minute: at,
            accepted,
            processed: accepted,
            backlog: 0,
            backlog_age_seconds: 0.0,
            dead_letters: 0,
            stuck: 0,
        }
    }

    #[test]
    fn a_missing_minute_breaks_the_line_and_the_top_value_reaches_the_top() {
        let last = Utc.with_ymd_and_hms(2026, 12, 6, 10, 59, 0).unwrap();
        let figures = [
            minute(last - TimeDelta::minutes(59), 10),
            minute(last - TimeDelta::minutes(58), 20),
            minute(last, 5),
        ];
        let shown: Vec<&MinuteFigures> = figures.iter().collect();
        let first = last - TimeDelta::minutes(59);
        let runs = runs(&shown, first, |m| m.accepted as f64, 20.0);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[0], "0.0,35.0 5.1,2.0", "half the top is half way up");
        assert!(runs[1].starts_with("300.0,"), "{runs:?}");
    }

    #[test]
    fn no_figures_say_so_and_figures_draw_lines() {
        let last = Utc.with_ymd_and_hms(2026, 12, 6, 10, 59, 0).unwrap();
        let empty = last_hour(&[], last).into_string();
        assert_eq!(
            empty.matches("No figures for the last hour yet.").count(),
            5
        );
        assert!(!empty.contains("<svg"));
        let drawn = last_hour(&[minute(last, 7)], last).into_string();
        assert_eq!(drawn.matches("<svg").count(), 5);
        assert!(drawn.contains("accepted 7"), "{drawn}");
        let old = last_hour(&[minute(last - TimeDelta::hours(2), 7)], last).into_string();
        assert!(
            !old.contains("<svg"),
            "a minute older than the hour is not drawn"
        );
    }
}
