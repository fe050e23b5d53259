//! Campaigns: a name, a currency, optionally their own attribution window and the domains
//! their links may send followers to.

use serde::{Deserialize, Serialize};

use super::destination::Destination;
use super::ids::prefixed_id;
use super::money::Currency;

prefixed_id!(
    /// A campaign's id: `cmp_` and twelve letters or digits.
    CampaignId,
    "cmp_",
    "a campaign id"
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub currency: Currency,
    /// Overrides `clicks.attribution_window_days` for orders from this campaign's links.
    pub attribution_window_days: Option<u32>,
    /// Host names the campaign's links may point at (subdomains included); empty: any.
    pub allowed_domains: Vec<String>,
    pub created_ms: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CampaignError {
    #[error("'{0}' is not a domain name")]
    Domain(String),
    #[error("the destination's host {host} is not among the campaign's allowed domains")]
    DomainNotAllowed { host: String },
}

impl Campaign {
    /// A domain as kept: lower case, without a trailing dot; letters, digits, '-' and '.'.
    pub fn parse_domain(raw: &str) -> Result<String, CampaignError> {
        let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels_ok = domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if domain.is_empty() || domain.len() > 253 || !labels_ok {
            return Err(CampaignError::Domain(raw.to_owned()));
        }
        Ok(domain)
    }

    /// Whether a link of this campaign may point at `destination`.
    pub fn allows(&self, destination: &Destination) -> Result<(), CampaignError> {
        if self.allowed_domains.is_empty() {
            return Ok(());
        }
        let host = destination.host();
        let allowed = self
            .allowed_domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        if allowed {
            Ok(())
        } else {
            Err(CampaignError::DomainNotAllowed { host })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(domains: &[&str]) -> Campaign {
        Campaign {
            id: CampaignId::generate(),
            name: "Spring".into(),
            currency: Currency::parse("USD").unwrap(),
            attribution_window_days: None,
            allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            created_ms: 0,
        }
    }

    fn to(url: &str) -> Destination {
        Destination::parse(url).unwrap()
    }

    #[test]
    fn allowed_domains_admit_their_subdomains_and_nothing_else() {
        let c = campaign(&["shop.example"]);
        assert!(c.allows(&to("https://shop.example/p")).is_ok());
        assert!(c.allows(&to("https://eu.shop.example/p")).is_ok());
        assert!(c.allows(&to("https://SHOP.EXAMPLE/p")).is_ok());
        assert!(c.allows(&to("https://evilshop.example/p")).is_err());
        assert!(c.allows(&to("https://shop.example.evil.test/p")).is_err());
        assert!(campaign(&[]).allows(&to("https://anything.test/")).is_ok());
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            Campaign::parse_domain(" Shop.Example. "),
            Ok("shop.example".into())
        );
        for bad in [
            "",
            "shop..example",
            "-shop.example",
            "shop example",
            "https://shop.example",
        ] {
            assert!(Campaign::parse_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_campaign_ids_parse_back() {
        let id = CampaignId::generate();
        assert_eq!(CampaignId::parse(id.as_str()), Some(id));
        assert_eq!(CampaignId::parse("summer-24"), None);
    }
}
