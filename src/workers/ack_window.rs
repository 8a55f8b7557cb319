//! Acknowledgements with `multiple=true`, one per settled run of deliveries instead of one per
//! message. Several steps settle deliveries of one channel concurrently, and a multiple ack
//! covers every outstanding delivery up to its tag, so it may only name a tag below which
//! every delivery is settled: [`AckWindow`] tracks that, and [`Acker`] sends the acks in
//! order under one lock (an ack for a tag already covered would be a channel error).

use lapin::{options::BasicAckOptions, Channel};
use std::collections::BTreeSet;
use tokio::sync::Mutex;

/// Which deliveries of a channel are out with a step, and which are settled but not acked yet.
#[derive(Debug, Default)]
pub struct AckWindow {
    outstanding: BTreeSet<u64>,
    settled: BTreeSet<u64>,
}

impl AckWindow {
    /// A delivery handed to a step.
    pub fn received(&mut self, tag: u64) {
        self.outstanding.insert(tag);
    }

    /// A delivery given back with a nack of its own: nothing to ack for it.
    pub fn given_back(&mut self, tag: u64) {
        self.outstanding.remove(&tag);
    }

    /// Deliveries handled (or moved on with a confirm) and ready to ack. Returns the tag to
    /// ack with `multiple=true`, if any: the highest settled tag below every outstanding one.
    pub fn settle(&mut self, tags: impl IntoIterator<Item = u64>) -> Option<u64> {
        for tag in tags {
            if self.outstanding.remove(&tag) {
                self.settled.insert(tag);
            }
        }
        let through = match self.outstanding.first() {
            Some(&lowest_open) => self.settled.range(..lowest_open).next_back().copied(),
            None => self.settled.last().copied(),
        }?;
        self.settled = self.settled.split_off(&(through + 1));
        Some(through)
    }
}

/// The window of one consuming channel and the channel its acks go to.
pub struct Acker {
    channel: Channel,
    window: Mutex<AckWindow>,
}

impl Acker {
    pub fn new(channel: Channel) -> Acker {
        Acker {
            channel,
            window: Mutex::new(AckWindow::default()),
        }
    }

    pub async fn received(&self, tag: u64) {
        self.window.lock().await.received(tag);
    }

    pub async fn given_back(&self, tag: u64) {
        self.window.lock().await.given_back(tag);
    }

    /// Settles `tags` and acks every delivery that is now settled with nothing open below it.
    /// A failed ack is returned: the broker will deliver those messages again.
    pub async fn settle(&self, tags: impl IntoIterator<Item = u64>) -> lapin::Result<()> {
        let mut window = self.window.lock().await;
        match window.settle(tags) {
            Some(through) => {
                self.channel
                    .basic_ack(through, BasicAckOptions { multiple: true })
                    .await
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn acks_wait_for_the_lowest_open_delivery() {
        let mut window = AckWindow::default();
        (1..=6).for_each(|tag| window.received(tag));
        assert_eq!(window.settle([4, 5]), None, "1 to 3 are still out");
        assert_eq!(window.settle([1, 2]), Some(2));
        window.given_back(3);
        assert_eq!(window.settle([]), Some(5));
        assert_eq!(window.settle([6]), Some(6));
        assert_eq!(window.settle([]), None);
    }

    proptest! {
        /// Whatever order steps settle in, an ack never covers an open delivery, acks rise,
        /// and once all are settled all are acked.
        #[test]
        fn acks_cover_only_settled_deliveries_and_in_the_end_all(
            order in Just((1..=40u64).collect::<Vec<_>>()).prop_shuffle(),
            chunk in 1..6usize,
        ) {
            let mut window = AckWindow::default();
            order.iter().for_each(|tag| window.received(*tag));
            let mut settled = BTreeSet::new();
            let mut acked_through = 0;
            for tags in order.chunks(chunk) {
                settled.extend(tags.iter().copied());
                if let Some(through) = window.settle(tags.iter().copied()) {
                    prop_assert!(through > acked_through);
                    prop_assert!((1..=through).all(|tag| settled.contains(&tag)));
                    acked_through = through;
                }
            }
            prop_assert_eq!(acked_through, 40);
        }
    }
}
