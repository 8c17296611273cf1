//! `rescard copy-registry --to URL`.

use anyhow::{Context as _, Result};
use rescard_store::Location;

use super::Context;
use super::output::outln;

/// Copies the registry of `ctx` into the empty registry at `to` and reports what arrived.
pub fn run(ctx: &Context, to: &str) -> Result<u8> {
    let target = Location::parse(to).context("--to")?;
    if target == ctx.database {
        anyhow::bail!("--to names the registry being copied ({target})");
    }
    let source = ctx.registry()?;
    let mut into = super::context::create_registry_at(&target)?;
    let report = rescard_store::copy_registry(&source, &mut into)
        .with_context(|| format!("copying {} to {target}", ctx.database))?;
    for (table, rows) in &report.rows {
        outln!("  {table:<17} {rows:>9} rows")?;
    }
    outln!(
        "copied {} cards and {} audit entries (head {}) to {target}; counts, counters and the audit chain checked there",
        report.cards,
        report.audit_entries,
        report.audit_head
    )?;
    Ok(0)
}
