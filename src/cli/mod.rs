//! The `rescard` command line. Everything it prints goes through `output` (see there why).
//!
//! Exit codes: 0 success (for `verify`: the card is `valid`); 1 the act was refused or failed, with a
//! message saying why (for `verify` on a checker, also a trust list or status altered, older or
//! missing at rest: never a verdict); 2 the command line itself is wrong; 3 `verify --require-fresh`
//! on a genuine card whose status is stale or not known; 4 a CSV batch in which some rows were
//! rejected; 10–22 `verify` verdicts (see the README).

// Printing goes through `output`, which escapes registry text and survives a reader that has gone.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod acts;
mod args;
mod context;
mod copy;
mod demo;
mod issue;
mod keys;
mod output;
mod root;
mod serve;
mod sync;
mod verify;

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use clap::Parser as _;
use rescard_core::Reason;

pub use args::*;
pub use context::{Context, REGISTRY_FILE};
use output::{errln, outln};

/// Exit code for a command line that is wrong (as clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for an act refused or failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of `verify --require-fresh` for a genuine card whose status is stale or not known (no
/// status snapshot held).
pub const EXIT_NOT_FRESH: u8 = 3;
/// Exit code for a CSV batch in which some rows were rejected.
pub const EXIT_ROWS_REJECTED: u8 = 4;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A message may quote what a file or a service held: escaped like everything printed.
            errln!("error: {}", output::escape(&format!("{e:#}")));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Runs a parsed command line; `Ok` carries the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = match Context::new(&cli) {
        Ok(ctx) => ctx,
        Err(e) => {
            errln!("error: {}", output::escape(&format!("{e:#}")));
            return Ok(EXIT_USAGE);
        }
    };
    let now = Utc::now();
    match cli.command {
        Command::Init => keys::init(&ctx, now),
        Command::Serve(args) => serve::run(&ctx, &args, now),
        Command::Demo => demo::run(now),
        Command::Issue(args) => issue::run(&ctx, &args, now),
        Command::Extend {
            card,
            until,
            reason,
        } => {
            let reason = Reason::parse(&reason)?;
            let record = ctx
                .registry()?
                .extend(card.serial, until, &reason, &ctx.actor, now)?;
            acts::print_record(&record, card.json)
        }
        Command::Suspend { card, reason } => {
            let reason = Reason::parse(&reason)?;
            let record = ctx
                .registry()?
                .suspend(card.serial, &reason, &ctx.actor, now)?;
            acts::print_record(&record, card.json)
        }
        Command::Reinstate { card, reason } => {
            let reason = reason.as_deref().map(Reason::parse).transpose()?;
            let record =
                ctx.registry()?
                    .reinstate(card.serial, reason.as_ref(), &ctx.actor, now)?;
            acts::print_record(&record, card.json)
        }
        Command::Revoke { card, reason } => {
            let reason = Reason::parse(&reason)?;
            let record = ctx
                .registry()?
                .revoke(card.serial, &reason, &ctx.actor, now)?;
            acts::print_record(&record, card.json)
        }
        Command::Replace { card, reason, qr } => {
            let reason = Reason::parse(&reason)?;
            acts::replace(&ctx, card.serial, &reason, qr.as_deref(), card.json, now)
        }
        Command::Show { card } => {
            acts::print_record(&ctx.registry()?.card(card.serial)?, card.json)
        }
        Command::Verify {
            input,
            json,
            at,
            online,
            require_fresh,
        } => verify::run(
            &ctx,
            &input,
            json,
            online.as_deref(),
            require_fresh,
            at.unwrap_or(now),
        ),
        Command::Sync { url, pin, root } => sync::sync(&ctx, &url, pin.as_deref(), root.as_deref()),
        Command::Root(command) => root::run(&ctx, &command, now),
        Command::Cards(CardsCommand::SignedBy { kid, since, json }) => {
            root::signed_by(&ctx, &kid, since, json)
        }
        Command::Backup { file } => keys::backup(&ctx, &file),
        Command::CopyRegistry { to } => copy::run(&ctx, &to),
        Command::Keys(KeysCommand::List { json }) => keys::list(&ctx, json),
        Command::Keys(KeysCommand::Create { pkcs11 }) => keys::create_in_token(&ctx, &pkcs11, now),
        Command::Keys(KeysCommand::Rotate { root }) => {
            let store = root
                .root_key
                .as_deref()
                .map(crate::keystore::KeyStore::parse)
                .transpose()
                .context("--root-key")?;
            let rooted = match (&store, root.not_after) {
                (Some(store), Some(not_after)) => Some(crate::root::RootedRotation {
                    store,
                    not_after,
                    usage: root.usage.0.clone(),
                }),
                _ => None,
            };
            let key = crate::keystore::rotate(
                &mut ctx.registry()?,
                &ctx.keys,
                rooted.as_ref(),
                &ctx.actor,
                now,
            )?;
            outln!(
                "new signing key {}; the previous key only verifies, and every replica signs with the new one within a second",
                key.kid
            )?;
            Ok(0)
        }
        Command::Keys(KeysCommand::Retire { kid }) => {
            let kid = rescard_core::Kid::parse_hex(&kid).context("a key id is 16 hex digits")?;
            let (_, removed) =
                crate::keystore::retire(&mut ctx.registry()?, &ctx.keys, kid, &ctx.actor, now)?;
            outln!("key {kid} retired: the cards it signed now verify as unknown_issuer")?;
            if !removed {
                errln!(
                    "its private key could not be removed from {}: remove it where the key store is writable",
                    ctx.keys
                );
            }
            Ok(0)
        }
        Command::Audit(AuditCommand::Verify) => keys::audit_verify(&ctx),
        Command::Applications(ApplicationsCommand::Purge { retention_days }) => {
            let mut registry = ctx.registry()?;
            let before = now - chrono::Duration::days(i64::from(retention_days));
            let purged = registry.purge_applications(before, &ctx.actor, now)?;
            outln!(
                "deleted the documents of {} application(s) refused or withdrawn before {}",
                purged.len(),
                before.format("%Y-%m-%d %H:%M UTC")
            )?;
            Ok(0)
        }
        Command::Token(TokenCommand::Create { role, name }) => {
            let role: rescard_store::Role = role.parse()?;
            outln!(
                "{}",
                ctx.registry()?.create_token(&name, role, &ctx.actor, now)?
            )?;
            Ok(0)
        }
        Command::Token(TokenCommand::Revoke { name }) => {
            ctx.registry()?.revoke_token(&name, &ctx.actor, now)?;
            errln!("token {name:?} revoked");
            Ok(0)
        }
        Command::Token(TokenCommand::List { json }) => keys::list_tokens(&ctx, json),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn at_takes_a_time_or_a_date_in_bishkek() {
        assert_eq!(
            parse_time_arg("2027-01-15").map(|t| t.to_rfc3339()),
            Ok("2027-01-14T18:00:00+00:00".into())
        );
        assert_eq!(
            parse_time_arg("2027-01-15T12:00:00+06:00").map(|t| t.to_rfc3339()),
            Ok("2027-01-15T06:00:00+00:00".into())
        );
        assert!(parse_time_arg("yesterday").is_err());
        assert!(parse_time_arg("2027-02-30").is_err());
    }
}
