//! A RabbitMQ cluster given as several node URLs (SPEC 7, `HOOKGATE_AMQP_URL`): the first node
//! that answers is used, and losing the connected node moves the connection to another.

use crate::support::{
    amqp, eventually,
    sign::{EARLIER, LATER},
    spawn_app_with, spawn_app_with_env, TestOptions,
};
use hookgate::amqp::{Broker, Topology};

#[tokio::test]
async fn a_node_that_does_not_answer_is_passed_over() {
    // Nothing listens on port 1: the first node refuses at once.
    let nodes = format!("amqp://guest:guest@127.0.0.1:1/%2f,{}", amqp::url());
    let app = spawn_app_with_env(&[("HOOKGATE_AMQP_URL", &nodes)]).await;
    app.wait_for_broker("up").await;
    app.handle_transfer("via-second", "t-nodes", "Pending", EARLIER)
        .await;
    assert_eq!(app.event_state("via-second").await, "processed");
}

#[tokio::test]
async fn losing_the_connected_node_moves_to_another_and_back() {
    let app = spawn_app_with(TestOptions::with_two_broker_nodes()).await;
    app.wait_for_broker("up").await;
    let first = app.broker_proxy.as_ref().unwrap();
    let second = &app.spare_broker_nodes[0];
    app.handle_transfer("on-first", "t-a", "Pending", EARLIER)
        .await;

    first.cut();
    app.handle_transfer("on-second", "t-a", "Closed", LATER)
        .await;
    first.restore();
    second.cut();
    app.handle_transfer("on-first-again", "t-b", "Pending", EARLIER)
        .await;

    for event in ["on-first", "on-second", "on-first-again"] {
        assert_eq!(app.event_state(event).await, "processed", "{event}");
    }
    assert_eq!(app.object("transfer", "t-a").await["status"], "closed");
}

/// Every task holding a channel of a lost connection reports the failure, some of them after
/// another task already reconnected. A late report must leave the new connection alone: when
/// it tore it down, the reconnections cascaded (each report dropping the connection the last
/// one made) and, on a loaded machine, the test above timed out now and then.
#[tokio::test]
async fn a_failure_reported_on_a_replaced_connection_leaves_the_new_one() {
    let app = spawn_app_with(TestOptions::with_two_broker_nodes()).await;
    let reconnects = prometheus::IntCounter::new("reconnects", "reconnects").unwrap();
    let broker = Broker::new(
        app.config.broker.urls.clone(),
        Topology::from_settings(&app.config),
        reconnects.clone(),
    );
    let lost = broker.publishing_link().await;
    app.broker_proxy.as_ref().unwrap().cut();
    eventually("the first connection is lost", || async {
        !lost.channel.status().connected()
    })
    .await;
    let second = broker.publishing_link().await;
    assert_ne!(second.connection, lost.connection);
    assert_eq!(reconnects.get(), 1);

    broker.connection_failed(lost.connection).await;

    assert!(second.channel.status().connected());
    assert_eq!(broker.publishing_link().await.connection, second.connection);
    assert_eq!(reconnects.get(), 1);
    // A failure of the connection in use still drops it.
    broker.connection_failed(second.connection).await;
    assert_ne!(broker.publishing_link().await.connection, second.connection);
    assert_eq!(reconnects.get(), 2);
}
