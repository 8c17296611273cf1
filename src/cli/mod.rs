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
mod context;
mod copy;
mod demo;
mod issue;
mod keys;
mod output;
mod serve;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use rescard_core::domain::date::{parse_date, start_of_issuer_day};
use rescard_core::{Reason, Serial};

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

/// rescard: issue resident cards for foreign citizens and check them by QR code.
#[derive(Debug, Parser)]
#[command(name = "rescard", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory of the SQLite registry and a checker's synced trust list and status snapshot.
    #[arg(long, env = "RESCARD_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// The issuer keys' private halves: a directory, or an HSM token by its PKCS#11 URI
    /// (pkcs11:token=…;object=…?module-path=…&pin-source=file:…).
    #[arg(long, env = "RESCARD_KEYS", default_value = "./keys", global = true)]
    pub keys: String,
    /// The registry: `sqlite:PATH`, or a PostgreSQL URL (`postgres://USER@HOST/DATABASE`) that
    /// several `serve` replicas may share; the password from the URL or PGPASSWORD
    /// [default: the SQLite file in --data].
    #[arg(
        long,
        env = "RESCARD_DATABASE",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Who is acting, recorded with every registry act [default: cli:$USER].
    #[arg(long, env = "RESCARD_ACTOR", global = true)]
    pub actor: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the issuer key and the registry (never overwrites a key).
    Init,
    /// Run the HTTP service (initialising an empty data directory first).
    Serve(Box<serve::ServeArgs>),
    /// Walk through the whole flow in a temporary directory: init, issue, write the QR, verify it.
    Demo,
    /// Issue one card from flags, or a batch from a CSV file.
    Issue(Box<IssueArgs>),
    /// Extend a card's validity by a new period of at most one year.
    Extend {
        /// The card.
        #[command(flatten)]
        card: CardArg,
        /// The new last day of validity, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date_arg)]
        until: NaiveDate,
        /// Why (recorded in the history): one line of at most 500 characters.
        #[arg(long, default_value = "extension of stay")]
        reason: String,
    },
    /// Suspend a card (reversible with `reinstate`).
    Suspend {
        /// The card.
        #[command(flatten)]
        card: CardArg,
        /// Why (required): one line of at most 500 characters, no control, invisible or
        /// direction-changing characters.
        #[arg(long)]
        reason: String,
    },
    /// Lift a card's suspension.
    Reinstate {
        /// The card.
        #[command(flatten)]
        card: CardArg,
        /// Why: one line of at most 500 characters.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Revoke a card for good.
    Revoke {
        /// The card.
        #[command(flatten)]
        card: CardArg,
        /// Why (required): one line of at most 500 characters.
        #[arg(long)]
        reason: String,
    },
    /// Re-issue a lost or damaged card under a new serial; the old card then reports `replaced`.
    Replace {
        /// The card.
        #[command(flatten)]
        card: CardArg,
        /// Why (required), e.g. "lost": one line of at most 500 characters.
        #[arg(long)]
        reason: String,
        /// Write the new card's QR code to this PNG file.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Show a card's record and history.
    Show {
        /// The card.
        #[command(flatten)]
        card: CardArg,
    },
    /// Check a card: INPUT is the payload text, `-` for standard input, or a PNG/JPEG image of the QR.
    Verify {
        /// Payload text, `-`, or an image file.
        input: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Check as of this time: RFC 3339, or YYYY-MM-DD for the start of that day in Bishkek (UTC+6).
        #[arg(long, value_parser = parse_time_arg, conflicts_with = "online")]
        at: Option<DateTime<Utc>>,
        /// Ask the service at this URL instead of checking offline (token from RESCARD_TOKEN, if set).
        #[arg(long)]
        online: Option<String>,
        /// For posts that must not rely on an old status: exit 3 when the card is genuine but the
        /// status snapshot is stale, or none is held (the result is still printed).
        #[arg(long)]
        require_fresh: bool,
    },
    /// Fetch the signed trust list and the status snapshot (or the delta since the one held) for
    /// offline checks.
    Sync {
        /// The service, e.g. `https://rescard.example.kg`.
        url: String,
        /// On the first sync: the id of the issuer key to trust (16 hex digits, from the issuing authority).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Copy the registry to FILE, consistently, while the service keeps running.
    Backup {
        /// Where to write the copy (must not exist yet).
        file: PathBuf,
    },
    /// Copy the whole registry (`--database`, or the SQLite file in --data) into an empty one at
    /// URL, and check it there: how an office moves from SQLite to PostgreSQL, and back.
    CopyRegistry {
        /// The target: `postgres://…` or `sqlite:PATH`; it must be empty.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Issuer keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Staff tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Applications filed online.
    #[command(subcommand)]
    Applications(ApplicationsCommand),
}

/// The card an act is on, and whether to print the result as JSON.
#[derive(Debug, Args)]
pub struct CardArg {
    /// The card number: 9 digits, the last a check digit.
    #[arg(value_parser = parse_serial)]
    pub serial: Serial,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `rescard issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Issue every row of this CSV file (header: surname, given_names, date_of_birth, nationality,
    /// permit, valid_from, valid_until, and optionally sex, native_name, passport_number, document).
    #[arg(long, conflicts_with_all = ["surname", "given_names", "date_of_birth", "nationality", "permit", "valid_from", "valid_until", "sex", "native_name", "passport", "portrait", "document", "qr", "card"])]
    pub csv: Option<PathBuf>,
    /// Surname in Latin letters, as in the passport.
    #[arg(long, required_unless_present = "csv")]
    pub surname: Option<String>,
    /// Given names in Latin letters, as in the passport ("" when the passport has none).
    #[arg(long, required_unless_present = "csv")]
    pub given_names: Option<String>,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long, required_unless_present = "csv")]
    pub date_of_birth: Option<String>,
    /// Nationality, ISO 3166-1 alpha-3 (XXA for stateless persons).
    #[arg(long, required_unless_present = "csv")]
    pub nationality: Option<String>,
    /// Purpose of stay: work, study, family, business or other.
    #[arg(long, required_unless_present = "csv")]
    pub permit: Option<String>,
    /// First day of validity, YYYY-MM-DD.
    #[arg(long, required_unless_present = "csv")]
    pub valid_from: Option<String>,
    /// Last day of validity, YYYY-MM-DD (at most one year after valid-from, less a day).
    #[arg(long, required_unless_present = "csv")]
    pub valid_until: Option<String>,
    /// Sex as in the passport: F, M or X.
    #[arg(long)]
    pub sex: Option<String>,
    /// The name in a native script (Cyrillic, ...), printed under the Latin name.
    #[arg(long)]
    pub native_name: Option<String>,
    /// Passport number (kept in the registry only; the same passport keeps its ITN).
    #[arg(long)]
    pub passport: Option<String>,
    /// Portrait photo, PNG or JPEG (kept in the registry; its digest travels in the QR).
    #[arg(long)]
    pub portrait: Option<PathBuf>,
    /// The document: resident_card (the default) or interim, the interim permit of at most two
    /// months.
    #[arg(long)]
    pub document: Option<String>,
    /// Write the card's QR code to this PNG file.
    #[arg(long)]
    pub qr: Option<PathBuf>,
    /// Write the printable card (ID-1, 300 dpi) to this PNG file.
    #[arg(long)]
    pub card: Option<PathBuf>,
    /// Print {"serial", "itn", "payload", "valid_from", "valid_until"} as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `rescard keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the issuer keys (the trust list).
    List {
        /// Print as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Make the registry's first issuer key inside an HSM token (Ed25519, non-extractable).
    Create {
        /// The token, by its PKCS#11 URI (pkcs11:token=…;object=…?module-path=…&pin-source=…).
        #[arg(long, value_name = "URI")]
        pkcs11: String,
    },
    /// Make a new signing key; the active one becomes verify-only (it keeps verifying its cards).
    Rotate,
    /// Retire a verify-only key: cards it signed then verify as unknown_issuer.
    Retire {
        /// The key id, 16 hex digits.
        kid: String,
    },
}

/// `rescard token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it alone on standard output (only its hash is kept).
    Create {
        /// admin, issuer, police, bank or employer.
        #[arg(long)]
        role: String,
        /// Who holds it; recorded with every act done with it. Never reused.
        #[arg(long)]
        name: String,
    },
    /// End a token at once.
    Revoke {
        /// The token's name.
        name: String,
    },
    /// List the tokens (never their secrets).
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `rescard audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain and name the first entry edited, removed or reordered.
    Verify,
}

/// `rescard applications …`
#[derive(Debug, Subcommand)]
pub enum ApplicationsCommand {
    /// Delete the documents of applications refused or withdrawn more than --retention-days ago
    /// (what `serve` does every hour), for a cron job; prints how many.
    Purge {
        /// Days after the decision that documents are kept.
        #[arg(long, env = "RESCARD_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        retention_days: u32,
    },
}

fn parse_serial(text: &str) -> Result<Serial, String> {
    text.parse()
        .map_err(|e: rescard_core::DomainError| e.to_string())
}

fn parse_date_arg(text: &str) -> Result<NaiveDate, String> {
    parse_date("date", text).map_err(|e| e.to_string())
}

/// `--at`: an RFC 3339 time, or a date read as the start of that day in the issuer's time zone.
pub fn parse_time_arg(text: &str) -> Result<DateTime<Utc>, String> {
    if text.len() == 10 {
        return parse_date("at", text)
            .map(start_of_issuer_day)
            .map_err(|e| e.to_string());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is neither an RFC 3339 time (2027-01-15T12:00:00Z) nor a date (2027-01-15)"))
}

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
        Command::Sync { url, pin } => keys::sync(&ctx, &url, pin.as_deref()),
        Command::Backup { file } => keys::backup(&ctx, &file),
        Command::CopyRegistry { to } => copy::run(&ctx, &to),
        Command::Keys(KeysCommand::List { json }) => keys::list(&ctx, json),
        Command::Keys(KeysCommand::Create { pkcs11 }) => keys::create_in_token(&ctx, &pkcs11, now),
        Command::Keys(KeysCommand::Rotate) => {
            let key = crate::keystore::rotate(&mut ctx.registry()?, &ctx.keys, &ctx.actor, now)?;
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
