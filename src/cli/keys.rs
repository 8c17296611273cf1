use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use rescard_store::AuditCheck;

use super::output::{errln, escape, outln, print_json};
use super::{Context, EXIT_FAILED};
use crate::keystore::{Established, KeyStore, Pkcs11Uri, TRUST_FILE, Token, establish};

/// `rescard init`: the registry, and its first issuer key unless it trusts one already.
pub fn init(ctx: &Context, now: DateTime<Utc>) -> Result<u8> {
    let mut registry = ctx.create_registry()?;
    let keys = &ctx.keys;
    match establish(&mut registry, &ctx.keys, true, &ctx.actor, now)? {
        Established::Created(kid) => outln!("issuer key {kid} created in {keys}")?,
        Established::Imported(n) => outln!(
            "{n} issuer keys taken from {keys}/{TRUST_FILE} into the registry, which keeps the trust list from now on"
        )?,
        Established::Already => {
            errln!("the registry already trusts issuer keys; nothing overwritten")
        }
    }
    match &ctx.database {
        rescard_store::Location::Sqlite(path) if *path == ctx.data.join(super::REGISTRY_FILE) => {
            outln!("registry ready in {}", ctx.data.display())?;
        }
        // A location shows with its password hidden.
        elsewhere => outln!("registry ready in {elsewhere}")?,
    }
    if let Some(token) = super::serve::first_admin_token(&mut registry, &ctx.actor, now)? {
        outln!("admin token: {token}")?;
        errln!("keep the admin token now: only its hash is stored");
    }
    Ok(0)
}

/// `rescard keys create --pkcs11 URI`: the registry's first issuer key, generated inside the token
/// (the registry is made if this machine has none). From then on every command that signs takes
/// `--keys URI`.
pub fn create_in_token(ctx: &Context, uri: &str, now: DateTime<Utc>) -> Result<u8> {
    let token = KeyStore::Token(Token::new(Pkcs11Uri::parse(uri).context("--pkcs11")?));
    let mut registry = ctx.create_registry()?;
    let (_, trust) = registry.trust_list()?;
    if !trust.keys().is_empty() {
        errln!(
            "the registry already trusts {} issuer key(s); nothing made. With them in this token, `rescard --keys URI keys rotate` makes the next one there; keys kept in a key directory cannot be moved into a token",
            trust.keys().len()
        );
        return Ok(EXIT_FAILED);
    }
    match establish(&mut registry, &token, true, &ctx.actor, now)? {
        Established::Created(kid) => {
            outln!("issuer key {kid} created in {token}, non-extractable")?;
            outln!("sign with it by giving every command --keys '{uri}' (or RESCARD_KEYS)")?;
        }
        // Another replica made the first key meanwhile.
        _ => errln!("the registry already trusts issuer keys; nothing made"),
    }
    Ok(0)
}

/// `rescard keys list`: the registry's trust list. Public: it needs no private key, but with
/// `--keys` naming a token it also says how the token keeps each key.
pub fn list(ctx: &Context, json: bool) -> Result<u8> {
    let (_, list) = ctx.registry()?.trust_list()?;
    if json {
        print_json(&list.keys())?;
        return Ok(0);
    }
    if list.keys().is_empty() {
        let legacy = match ctx.keys.legacy_trust_list() {
            Ok(Some(_)) => format!(
                " ({}/{TRUST_FILE}, from an earlier rescard, is taken in by `rescard init`)",
                ctx.keys
            ),
            _ => String::new(),
        };
        outln!("the registry trusts no issuer key yet{legacy}")?;
    }
    // With `--keys` naming a token, how it keeps each key; asked until it cannot be.
    let mut unreachable = false;
    for k in list.keys() {
        let until = k
            .not_after
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "-".into());
        let custody = match &ctx.keys {
            KeyStore::Token(token) if !unreachable => match token.custody(k) {
                Ok(Some(c)) => format!("  in the HSM: {c}"),
                Ok(None) => "  not in the HSM".to_owned(),
                Err(e) => {
                    errln!(
                        "the HSM cannot be asked how it keeps the keys: {}",
                        escape(&format!("{e:#}"))
                    );
                    unreachable = true;
                    String::new()
                }
            },
            _ => String::new(),
        };
        outln!(
            "{}  {:<11}  from {}  until {}  {}{custody}",
            k.kid,
            k.status.as_str(),
            k.not_before.to_rfc3339(),
            until,
            rescard_core::keys::public_key_base64url(&k.public_key)
        )?;
    }
    Ok(0)
}

/// `rescard audit verify`.
pub fn audit_verify(ctx: &Context) -> Result<u8> {
    match ctx.registry()?.verify_audit()? {
        AuditCheck::Intact { entries, head } => {
            outln!("audit log intact: {entries} entries, head {head}")?;
            Ok(0)
        }
        AuditCheck::Broken { seq, problem } => {
            outln!("audit log BROKEN at entry {seq}: {problem}")?;
            Ok(EXIT_FAILED)
        }
    }
}

/// `rescard token list`.
pub fn list_tokens(ctx: &Context, json: bool) -> Result<u8> {
    let tokens = ctx.registry()?.tokens()?;
    if json {
        print_json(&tokens)?;
        return Ok(0);
    }
    for t in tokens {
        let state = t
            .revoked_at
            .map_or_else(|| "live".to_owned(), |at| format!("revoked {at}"));
        outln!(
            "{:<24} {:<9} made {} by {}  {state}",
            escape(&t.name),
            t.role,
            t.created_at,
            escape(&t.created_by)
        )?;
    }
    Ok(0)
}

/// `rescard backup FILE`: an online backup, checked before it is put in place.
pub fn backup(ctx: &Context, file: &std::path::Path) -> Result<u8> {
    if file.exists() {
        anyhow::bail!(
            "{} exists; rescard does not overwrite a backup",
            file.display()
        );
    }
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".rescard-backup-")
        .tempfile_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    let registry = ctx.registry()?;
    registry
        .backup_to(tmp.path())
        .context("copying the registry")?;
    let copy = rescard_store::Registry::open(tmp.path()).context("opening the copy")?;
    let integrity = copy.integrity_check()?;
    if integrity != "ok" {
        anyhow::bail!("the copy fails its integrity check: {integrity}");
    }
    let head = match copy.verify_audit()? {
        AuditCheck::Intact { entries, head } => format!("{entries} audit entries, head {head}"),
        AuditCheck::Broken { seq, problem } => {
            anyhow::bail!("the audit log in the copy is broken at entry {seq}: {problem}")
        }
    };
    let cards = copy.card_count()?;
    drop(copy);
    tmp.persist_noclobber(file)
        .map_err(|e| e.error)
        .with_context(|| format!("putting the backup at {}", file.display()))?;
    outln!(
        "backup of {cards} cards written to {} ({head})",
        file.display()
    )?;
    Ok(0)
}
