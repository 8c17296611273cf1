//! `rescard copy-registry --to URL`.

use anyhow::{Context as _, Result};
use rescard_store::{Location, Registry};

use super::Context;
use super::output::outln;

/// Copies the registry of `ctx` into the empty registry at `to` and reports what arrived.
pub fn run(ctx: &Context, to: &str) -> Result<u8> {
    let target = Location::parse(to).context("--to")?;
    if target == ctx.database {
        anyhow::bail!("--to names the registry being copied ({target})");
    }
    let source = ctx.registry()?;
    if let Location::Sqlite(path) = &target {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        rescard_store::create_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut into = Registry::connect(&target).with_context(|| format!("opening {target}"))?;
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
