//! `hookgate stuck`: the objects of `GET /v1/stuck`, every page of them.

use super::output::{table, wants_json};
use crate::{
    catalogue::Family,
    ops::stuck::{self, StuckRequest},
    settings::Settings,
};
use anyhow::bail;

pub async fn show(
    config: &Settings,
    family: Option<Family>,
    older_than: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let Ok(mut request) = StuckRequest::read(None, older_than, None) else {
        bail!("--older-than must be a positive age such as 90s, 30m, 2h or 3d")
    };
    request.family = family;
    let pool = crate::app::operations_pool(&config.database)?;
    let now = chrono::Utc::now();
    let mut objects = Vec::new();
    loop {
        let page = stuck::page(&pool, &config.stuck_after, &request, now).await?;
        objects.extend(page.objects);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    if wants_json(json) {
        println!("{}", serde_json::to_string(&objects)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            let account = o.account_id.clone().unwrap_or_else(|| "-".into());
            let (family, id) = (o.family.to_string(), o.id.clone());
            vec![family, id, o.status.clone(), account, o.occurred_at.clone()]
        })
        .collect();
    let headers = ["FAMILY", "ID", "STATUS", "ACCOUNT", "LAST EVENT AT"];
    print!("{}", table(&headers, &rows));
    println!("{} stuck", objects.len());
    Ok(())
}
