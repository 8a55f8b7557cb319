//! `hookgate notify resend`: a subscriber's notifications sent again (SPEC 6).

use super::{
    args::NotifyCommand,
    operations::operations_parts,
    output::{wants_json, Progress},
    when::parse_when,
};
use crate::{
    catalogue::Family,
    ops::{
        resend::{ResendRequest, ResendSelection},
        service::Operations,
    },
    settings::Settings,
};
use anyhow::{anyhow, Context};

pub async fn run(config: &Settings, command: NotifyCommand) -> anyhow::Result<()> {
    let NotifyCommand::Resend {
        subscriber,
        since,
        until,
        family,
        objects,
        dry_run,
        json,
    } = command;
    let now = chrono::Utc::now();
    let time = |t: String| parse_when(&t, now).map_err(anyhow::Error::msg);
    let selection = match since {
        Some(since) => ResendSelection::Between {
            since: time(since)?,
            until: until.map(time).transpose()?,
            family,
        },
        None => ResendSelection::Objects(
            objects
                .iter()
                .map(|o| object_name(o))
                .collect::<anyhow::Result<_>>()?,
        ),
    };
    let request = ResendRequest {
        subscriber,
        selection,
        dry_run,
    };
    let (pool, queues) = operations_parts(config)?;
    let progress = Progress::new("resending");
    let resent = Operations::new(&pool, &queues)
        .resend(&request, config.retention.days, |done, total| {
            progress.update(done, total)
        })
        .await?;
    progress.finish();
    if wants_json(json) {
        println!("{}", serde_json::to_string(&resent)?);
    } else if resent.dry_run {
        println!("would resend {} to {}", resent.resent, request.subscriber);
    } else {
        println!("resent {} to {}", resent.resent, request.subscriber);
    }
    Ok(())
}

/// `FAMILY/ID`; the id may hold slashes of its own.
fn object_name(text: &str) -> anyhow::Result<(Family, String)> {
    let (family, id) = text
        .split_once('/')
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| anyhow!("--object {text:?} is not FAMILY/ID"))?;
    let family = Family::known(family)
        .with_context(|| format!("--object {text:?}: {family:?} is not a family"))?;
    Ok((family, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_family_slash_id() {
        assert_eq!(
            object_name("transfer/t-1").unwrap(),
            (Family::Transfer, "t-1".to_owned())
        );
        assert_eq!(
            object_name("payout/a/b").unwrap(),
            (Family::Payout, "a/b".to_owned())
        );
        for bad in ["transfer", "transfer/", "nope/t-1", "/t-1"] {
            assert!(object_name(bad).is_err(), "{bad}");
        }
    }
}
