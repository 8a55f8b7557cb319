//! How a batch that failed as a whole finds the item at fault: the one way the receiver's
//! inbox, the read-model worker and the consumer retry a failed batch.

use std::future::Future;

/// Runs `work` on each item of `batch` alone, in order, so that only the offender fails and its
/// neighbours go through. A failure that is not the item's own (`passing` says which: the
/// database went away, a deadline passed) ends the walk there, instead of each item left
/// waiting out its own deadline; the outcomes then stop at that failure, and the caller decides
/// what the items not tried get.
pub async fn each_alone<'a, T, X, E, F>(
    batch: &'a [T],
    mut work: impl FnMut(&'a T) -> F,
    passing: impl Fn(&E) -> bool,
) -> Vec<Result<X, E>>
where
    F: Future<Output = Result<X, E>>,
{
    let mut outcomes = Vec::with_capacity(batch.len());
    for item in batch {
        let outcome = work(item).await;
        let stop = matches!(&outcome, Err(error) if passing(error));
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::each_alone;

    #[derive(Debug, PartialEq)]
    enum Error {
        Own,
        Passing,
    }

    async fn run(items: &[i32]) -> Vec<Result<i32, Error>> {
        let work = |item: &i32| {
            let item = *item;
            async move {
                match item {
                    0 => Err(Error::Own),
                    -1 => Err(Error::Passing),
                    _ => Ok(item),
                }
            }
        };
        each_alone(items, work, |e| *e == Error::Passing).await
    }

    #[tokio::test]
    async fn only_the_offender_fails_and_its_neighbours_go_through() {
        assert_eq!(run(&[1, 0, 2]).await, [Ok(1), Err(Error::Own), Ok(2)]);
    }

    #[tokio::test]
    async fn a_passing_failure_ends_the_walk_there() {
        assert_eq!(run(&[1, -1, 2, 3]).await, [Ok(1), Err(Error::Passing)]);
    }

    #[tokio::test]
    async fn an_empty_batch_has_no_outcomes() {
        assert!(run(&[]).await.is_empty());
    }
}
