//! The command line's grammar: every command, its flags, and how their values are read.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use rescard_core::Serial;
use rescard_core::domain::date::{parse_date, start_of_issuer_day};

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
    Serve(Box<super::serve::ServeArgs>),
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
        #[arg(long, conflicts_with = "root")]
        pin: Option<String>,
        /// The root of trust: the root file the issuing authority hands out, or its fingerprint
        /// (64 hex digits). Then only issuer keys the root certified are trusted. A checker that
        /// pinned a key moves to the root with it.
        #[arg(long, value_name = "FILE|FINGERPRINT")]
        root: Option<String>,
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
    /// The root of trust, kept offline, that certifies issuer keys.
    #[command(subcommand)]
    Root(RootCommand),
    /// Cards, as a set.
    #[command(subcommand)]
    Cards(CardsCommand),
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
    /// Under a root, the root certifies the new key as it is made.
    Rotate {
        #[command(flatten)]
        /// Under a root: the root key and the new key's certificate.
        root: RootedArgs,
    },
    /// Retire a verify-only key: cards it signed then verify as unknown_issuer.
    Retire {
        /// The key id, 16 hex digits.
        kid: String,
    },
}

/// Under a root: the root key and the new key's certificate.
#[derive(Debug, Args)]
pub struct RootedArgs {
    /// The root key: its key directory (on the removable medium) or its HSM token's PKCS#11 URI.
    #[arg(
        long,
        value_name = "DIR|URI",
        env = "RESCARD_ROOT_KEY",
        requires = "not_after"
    )]
    pub root_key: Option<String>,
    /// Until when the new key may sign: RFC 3339, or YYYY-MM-DD for the end of that day in Bishkek.
    #[arg(long, value_parser = parse_end_arg, requires = "root_key")]
    pub not_after: Option<DateTime<Utc>>,
    /// What it may sign: cards, status, audit (comma-separated).
    #[arg(long, default_value = "cards,status,audit", value_parser = parse_usage)]
    pub usage: UsageList,
}

/// `rescard root …`
#[derive(Debug, Subcommand)]
pub enum RootCommand {
    /// Make the root key, alone in its store, and write the root file checkpoints are given.
    Init {
        /// Where the root key is kept: a key directory on removable media, or an HSM token's
        /// PKCS#11 URI.
        #[arg(long, value_name = "DIR|URI", env = "RESCARD_ROOT_KEY")]
        root_key: String,
        /// The root file to write (its public key and fingerprint).
        #[arg(long, default_value = "root.json")]
        out: PathBuf,
    },
    /// Certify an issuer key of the trust list: its public key, from when it began signing until
    /// --not-after, for --usage.
    Certify {
        /// The key id, 16 hex digits.
        kid: String,
        /// Until when it may sign: RFC 3339, or YYYY-MM-DD for the end of that day in Bishkek.
        #[arg(long, value_parser = parse_end_arg)]
        not_after: DateTime<Utc>,
        /// What it may sign: cards, status, audit (comma-separated).
        #[arg(long, default_value = "cards,status,audit", value_parser = parse_usage)]
        usage: UsageList,
        /// The root key's store.
        #[arg(long, value_name = "DIR|URI", env = "RESCARD_ROOT_KEY")]
        root_key: String,
    },
    /// Revoke an issuer key from a moment on (a theft): what it signed from then is no longer
    /// trusted anywhere the trust list reaches; what it signed before still is.
    Revoke {
        /// The key id, 16 hex digits.
        kid: String,
        /// From when: RFC 3339, or YYYY-MM-DD for the start of that day in Bishkek.
        #[arg(long, value_parser = parse_time_arg)]
        since: DateTime<Utc>,
        /// The root key's store.
        #[arg(long, value_name = "DIR|URI", env = "RESCARD_ROOT_KEY")]
        root_key: String,
    },
}

/// `rescard cards …`
#[derive(Debug, Subcommand)]
pub enum CardsCommand {
    /// The cards an issuer key signed from a moment on (after a theft: those to issue again).
    SignedBy {
        /// The key id, 16 hex digits.
        kid: String,
        /// From when: RFC 3339, or YYYY-MM-DD for the start of that day in Bishkek.
        #[arg(long, value_parser = parse_time_arg)]
        since: DateTime<Utc>,
        /// Print a JSON array of {"serial", "issued_at", "state"}.
        #[arg(long)]
        json: bool,
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

/// `--not-after`: an RFC 3339 time, or a date read as the last second of that day in the issuer's
/// time zone.
pub fn parse_end_arg(text: &str) -> Result<DateTime<Utc>, String> {
    if text.len() == 10 {
        return parse_date("not-after", text)
            .map(|d| {
                start_of_issuer_day(d + chrono::Duration::days(1)) - chrono::Duration::seconds(1)
            })
            .map_err(|e| e.to_string());
    }
    parse_time_arg(text)
}

/// What `--usage` names: a certificate's uses.
#[derive(Debug, Clone)]
pub struct UsageList(pub Vec<rescard_core::root::Usage>);

/// `--usage`: a comma-separated list of cards, status, audit.
fn parse_usage(text: &str) -> Result<UsageList, String> {
    rescard_core::root::Usage::parse_list(text).map(UsageList)
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
