//! Names people type for what the API knows by id: an influencer's handle (`@alice.bakes`)
//! wherever an influencer id is taken, and a campaign's name wherever a campaign id is.

use serde_json::Value;

use super::client::{ApiClient, CliError, encode};
use crate::domain::Handle;

/// The influencer id of `raw`: an id (`inf_...`) as given, else the influencer whose handle
/// it is (with or without `@`, in any case).
pub async fn influencer(api: &ApiClient, raw: &str) -> Result<String, CliError> {
    let raw = raw.trim();
    if raw.starts_with("inf_") {
        return Ok(raw.to_owned());
    }
    let handle = Handle::parse(raw).map_err(|e| {
        CliError::Usage(format!(
            "'{raw}' is neither an influencer id (inf_...) nor a handle: {e}"
        ))
    })?;
    let all = api.all("/api/v1/influencers", "influencers").await?;
    all.iter()
        .find(|i| i["handle"].as_str() == Some(handle.as_str()))
        .and_then(|i| i["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no influencer with the handle @{handle} (see `reftrack influencer list`)"
            ))
        })
}

/// The campaign id of `raw`: an id (`cmp_...`) as given, else the campaign of that name
/// (case-insensitive); a name two campaigns share is refused, naming their ids.
pub async fn campaign(api: &ApiClient, raw: &str) -> Result<String, CliError> {
    let raw = raw.trim();
    if raw.starts_with("cmp_") {
        return Ok(raw.to_owned());
    }
    let all = api.all("/api/v1/campaigns", "campaigns").await?;
    let named: Vec<&Value> = all
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case(raw))
        })
        .collect();
    match named.as_slice() {
        [one] => Ok(one["id"].as_str().unwrap_or_default().to_owned()),
        [] => Err(CliError::Usage(format!(
            "no campaign named '{raw}' (see `reftrack campaign list`)"
        ))),
        many => Err(CliError::Usage(format!(
            "{} campaigns are named '{raw}'; give the id: {}",
            many.len(),
            many.iter()
                .filter_map(|c| c["id"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `/api/v1/influencers/<id>` and what follows, for an influencer given by id or handle.
pub async fn influencer_path(api: &ApiClient, raw: &str, rest: &str) -> Result<String, CliError> {
    let id = influencer(api, raw).await?;
    Ok(format!("/api/v1/influencers/{}{rest}", encode(&id)))
}
