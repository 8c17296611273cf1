//! `rescard sync`: a checker takes in the service's trust list and status.

use anyhow::{Context as _, Result};
use rescard_core::domain::date::rfc3339;
use rescard_core::trust_doc::TrustDocument;

use super::Context;
use super::output::outln;
use crate::checker::Anchor;
use crate::root::RootArg;

/// `rescard sync URL [--pin KID | --root FILE|FINGERPRINT]`.
pub fn sync(ctx: &Context, url: &str, pin: Option<&str>, root: Option<&str>) -> Result<u8> {
    let pin = pin
        .map(|p| {
            rescard_core::Kid::parse_hex(p)
                .ok_or_else(|| anyhow::anyhow!("--pin takes a key id of 16 hex digits"))
        })
        .transpose()?;
    let root = root
        .map(|r| RootArg::parse(r).context("--root"))
        .transpose()?;
    if ctx.holds_registry() {
        anyhow::bail!(
            "{} holds a registry: an issuing machine checks cards against its own keys and registry. A checker syncs into a data directory of its own (--data)",
            ctx.data.display()
        );
    }
    let base = url.trim_end_matches('/').to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    let fetch = |path: &str| -> Result<Vec<u8>> {
        let full = format!("{base}{path}");
        let mut response = agent
            .get(&full)
            .call()
            .with_context(|| format!("fetching {full}"))?;
        response
            .body_mut()
            .with_config()
            .limit(crate::checker::MAX_DOWNLOAD)
            .read_to_vec()
            .with_context(|| format!("reading {full}"))
    };
    let anchor = match (pin, &root) {
        (Some(kid), _) => Some(Anchor::Key(kid)),
        (None, Some(RootArg::Key(root))) => Some(Anchor::Root(*root)),
        // Only the fingerprint: the root's key comes with the trust list, and must match it.
        (None, Some(given)) => {
            let offered = TrustDocument::open_self_signed(&fetch("/api/v1/keys/signed")?)
                .map(|(doc, _)| doc.keys.root().root)
                .context("the service's trust list")?;
            Some(Anchor::Root(given.resolve(offered)?))
        }
        (None, None) => None,
    };
    let report = crate::checker::Checker::new(&ctx.data).sync(anchor, fetch)?;
    let keys = report.trust.keys.keys();
    let count = |s: rescard_core::KeyStatus| keys.iter().filter(|k| k.status == s).count();
    outln!(
        "trust list: {} keys ({} active, {} verify-only, {} retired), issued {}",
        keys.len(),
        count(rescard_core::KeyStatus::Active),
        count(rescard_core::KeyStatus::VerifyOnly),
        count(rescard_core::KeyStatus::Retired),
        rfc3339(report.trust.issued_at)
    )?;
    outln!(
        "status: sequence {} ({} of {} bytes), {} cards listed, signed {}, may be relied on for {} hours",
        report.view.sequence(),
        if report.delta {
            "delta"
        } else {
            "full snapshot"
        },
        report.status_bytes,
        report.view.len(),
        rfc3339(report.view.issued_at()),
        report.view.max_age().num_hours()
    )?;
    Ok(0)
}
