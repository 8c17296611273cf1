use anyhow::Result;
use chrono::{DateTime, Utc};
use rescard_store::AuditCheck;

use super::output::print_json;
use super::{Context, EXIT_FAILED};

/// `rescard init`: the issuer key (unless there is one) and the registry.
pub fn init(ctx: &Context, now: DateTime<Utc>) -> Result<u8> {
    if ctx.keys.exists() {
        eprintln!(
            "issuer keys already exist in {}; nothing overwritten",
            ctx.keys.trust_path().display()
        );
    } else {
        let key = ctx.keys.init(now)?;
        println!(
            "issuer key {} created in {}",
            key.kid,
            ctx.keys
                .trust_path()
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let mut registry = ctx.create_registry()?;
    println!("registry ready in {}", ctx.data.display());
    if let Some(token) = super::serve::first_admin_token(&mut registry, &ctx.actor, now)? {
        println!("admin token: {token}");
        eprintln!("keep the admin token now: only its hash is stored");
    }
    Ok(0)
}

/// `rescard keys list`.
pub fn list(ctx: &Context, json: bool) -> Result<u8> {
    let list = ctx.keys.trust_list()?.unwrap_or_default();
    if json {
        print_json(&list.keys())?;
        return Ok(0);
    }
    if list.keys().is_empty() {
        println!("no issuer keys in {}", ctx.keys.trust_path().display());
    }
    for k in list.keys() {
        let until = k
            .not_after
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "-".into());
        println!(
            "{}  {:<11}  from {}  until {}  {}",
            k.kid,
            k.status.as_str(),
            k.not_before.to_rfc3339(),
            until,
            rescard_core::keys::public_key_base64url(&k.public_key)
        );
    }
    Ok(0)
}

/// `rescard audit verify`.
pub fn audit_verify(ctx: &Context) -> Result<u8> {
    match ctx.registry()?.verify_audit()? {
        AuditCheck::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            Ok(0)
        }
        AuditCheck::Broken { seq, problem } => {
            println!("audit log BROKEN at entry {seq}: {problem}");
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
        println!(
            "{:<24} {:<9} made {} by {}  {state}",
            t.name, t.role, t.created_at, t.created_by
        );
    }
    Ok(0)
}
