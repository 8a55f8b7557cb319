//! The operations' front door (`ops::service::Operations`), which the CLI, the admin API and
//! the console all call: it checks and plans a selection before it asks for a channel, so a
//! dry run or a refused selection works without a broker and takes nothing.

use crate::{
    ops::{dead_letters, two_bad_events},
    support::spawn_app,
};
use hookgate::{
    amqp::Topology,
    ops::{
        dlq::Selector,
        service::{Operations, PurgeRequest, Queues},
        Counts, OpsError,
    },
};
use lapin::Channel;

/// A source of channels whose broker never answers.
struct NoBroker(Topology);

impl Queues for NoBroker {
    fn topology(&self) -> &Topology {
        &self.0
    }

    async fn channel(&self) -> Result<Channel, OpsError> {
        Err(OpsError::BrokerUnavailable)
    }
}

#[tokio::test]
async fn the_front_door_plans_before_it_asks_for_a_channel() {
    let app = spawn_app().await;
    two_bad_events(&app).await;
    let queues = NoBroker(Topology::from_settings(&app.config));
    let operations = Operations::new(&app.pool, &queues);

    let dry = operations
        .replay_dead_letters(&Selector::All, true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        dry,
        Counts {
            replayed: 2,
            skipped: 0,
            dry_run: true
        }
    );
    let unknown = Selector::EventIds(vec!["never-stored".into()], None);
    let refused = operations
        .replay_dead_letters(&unknown, false, |_, _| {})
        .await;
    assert!(
        matches!(refused, Err(OpsError::Selection(_))),
        "{refused:?}"
    );
    let purge = operations
        .purge_dead_letters(&PurgeRequest::Selected(unknown))
        .await;
    assert!(matches!(purge, Err(OpsError::Selection(_))), "{purge:?}");

    let replay = operations
        .replay_dead_letters(&Selector::All, false, |_, _| {})
        .await;
    assert!(
        matches!(replay, Err(OpsError::BrokerUnavailable)),
        "{replay:?}"
    );
    let purge = operations.purge_dead_letters(&PurgeRequest::All).await;
    assert!(
        matches!(purge, Err(OpsError::BrokerUnavailable)),
        "{purge:?}"
    );
    assert_eq!(dead_letters(&app).await.len(), 2, "nothing was taken");
}
