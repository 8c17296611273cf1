//! Staff tokens: bearer secrets with a name and a role. Only the SHA-256 of a token is stored; the token
//! itself is shown once, when it is made. Tokens carry 256 random bits, so a fast hash is enough: there
//! is nothing to guess.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::registry::timestamp;
use crate::{Registry, Result, StoreError, audit};

/// What a token may do. See the README's access table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Runs the service: everything, plus tokens and the audit log.
    Admin,
    /// Consular officer: issues cards and acts on them.
    Issuer,
    /// Police: checks cards, sees the registry portrait and the card's history.
    Police,
    /// Bank: checks cards, sees the passport number.
    Bank,
    /// Employer: checks cards, sees whether the permit allows work.
    Employer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::Issuer,
        Self::Police,
        Self::Bank,
        Self::Employer,
    ];

    /// `admin`, `issuer`, `police`, `bank` or `employer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Issuer => "issuer",
            Self::Police => "police",
            Self::Bank => "bank",
            Self::Employer => "employer",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                StoreError::Token(format!(
                    "role {s:?} is not one of admin, issuer, police, bank, employer"
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    /// The token's name, recorded with every act done with it.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Name.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// When made.
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// When revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The prefix of every token, so that a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "rct_";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if !ok {
        return Err(StoreError::TokenName(format!(
            "name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )));
    }
    Ok(())
}

impl Registry {
    /// Makes a token named `name` with `role`, and returns it. Only its hash is stored.
    pub fn create_token(
        &mut self,
        name: &str,
        role: Role,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        check_name(name)?;
        crate::registry::check_actor(actor)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Token(format!("no randomness: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
        let tx = self.write()?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if taken {
            return Err(StoreError::Token(format!(
                "a token named {name:?} exists or existed; names are not reused"
            )));
        }
        tx.execute(
            "INSERT INTO tokens (name, role, hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), hash(&token), timestamp(now), actor],
        )?;
        audit::append(
            &tx,
            now,
            actor,
            "token_create",
            None,
            json!({"name": name, "role": role.as_str()}),
        )?;
        tx.commit()?;
        Ok(token)
    }

    /// Ends the token named `name` at once. The last live admin token cannot be revoked: nobody could
    /// then make tokens or read the audit log over HTTP.
    pub fn revoke_token(&mut self, name: &str, actor: &str, now: DateTime<Utc>) -> Result<()> {
        crate::registry::check_actor(actor)?;
        let tx = self.write()?;
        let (role, admins_left): (Option<String>, i64) = tx.query_row(
            "SELECT (SELECT role FROM tokens WHERE name = ?1 AND revoked_at IS NULL),
                    (SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL)",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if role.as_deref() == Some("admin") && admins_left <= 1 {
            return Err(StoreError::LastAdmin(name.to_owned()));
        }
        let changed = tx.execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
            params![timestamp(now), name],
        )?;
        if changed == 0 {
            return Err(StoreError::Token(format!("no live token named {name:?}")));
        }
        tx.execute(
            "DELETE FROM console_sessions WHERE token_id = (SELECT id FROM tokens WHERE name = ?1)",
            [name],
        )?;
        audit::append(&tx, now, actor, "token_revoke", None, json!({"name": name}))?;
        tx.commit()?;
        Ok(())
    }

    /// The holder of `token`, if it is a live token. The stored hash is compared in constant time.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenHolder>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let presented = hash(token);
        let row = self
            .connection()
            .prepare_cached(
                "SELECT name, role, hash FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([&presented], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        Ok(match row {
            Some((name, role, stored))
                if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) =>
            {
                Some(TokenHolder {
                    name,
                    role: role.parse()?,
                })
            }
            _ => None,
        })
    }

    /// Every token ever made, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let mut stmt = self.connection().prepare(
            "SELECT name, role, created_at, created_by, revoked_at FROM tokens ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created_at, created_by, revoked_at) = row?;
            out.push(TokenInfo {
                name,
                role: role.parse::<Role>()?.as_str(),
                created_at,
                created_by,
                revoked_at,
            });
        }
        Ok(out)
    }

    /// Whether any token was ever made (a fresh registry has none).
    pub fn has_tokens(&self) -> Result<bool> {
        Ok(self
            .connection()
            .query_row("SELECT EXISTS (SELECT 1 FROM tokens)", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-21T09:00:00Z".parse().expect("time")
    }

    #[test]
    fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let mut reg = Registry::open_in_memory().expect("registry");
        let token = reg
            .create_token("officer-1", Role::Issuer, "admin", now())
            .expect("create");
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(
            reg.authenticate(&token).expect("auth"),
            Some(TokenHolder {
                name: "officer-1".into(),
                role: Role::Issuer
            })
        );
        let stored: String = reg
            .connection()
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .expect("row");
        assert_ne!(stored, token);
        assert!(!stored.contains(&token[TOKEN_PREFIX.len()..]));
        assert_eq!(reg.authenticate("rct_wrong").expect("auth"), None);
        assert_eq!(
            reg.authenticate(&token[..token.len() - 1]).expect("auth"),
            None
        );
        reg.revoke_token("officer-1", "admin", now())
            .expect("revoke");
        assert_eq!(reg.authenticate(&token).expect("auth"), None);
        assert!(reg.revoke_token("officer-1", "admin", now()).is_err());
    }

    #[test]
    fn the_last_live_admin_token_cannot_be_revoked() {
        let mut reg = Registry::open_in_memory().expect("registry");
        reg.create_token("admin", Role::Admin, "setup", now())
            .expect("create");
        reg.create_token("officer", Role::Issuer, "admin", now())
            .expect("create");
        assert!(matches!(
            reg.revoke_token("admin", "admin", now()),
            Err(StoreError::LastAdmin(_))
        ));
        reg.revoke_token("officer", "admin", now())
            .expect("an issuer token can go");
        reg.create_token("admin-2", Role::Admin, "admin", now())
            .expect("create");
        reg.revoke_token("admin", "admin-2", now())
            .expect("with another admin, the first can go");
        assert!(matches!(
            reg.revoke_token("admin-2", "admin-2", now()),
            Err(StoreError::LastAdmin(_))
        ));
    }

    #[test]
    fn names_are_checked_and_never_reused() {
        let mut reg = Registry::open_in_memory().expect("registry");
        reg.create_token("bank.kicb", Role::Bank, "admin", now())
            .expect("create");
        assert!(
            reg.create_token("bank.kicb", Role::Bank, "admin", now())
                .is_err()
        );
        for bad in ["", "a b", "../x", "name'; DROP TABLE tokens;--"] {
            assert!(
                reg.create_token(bad, Role::Bank, "admin", now()).is_err(),
                "{bad}"
            );
        }
        assert!("superuser".parse::<Role>().is_err());
        assert_eq!(reg.tokens().expect("list").len(), 1);
        assert!(matches!(
            reg.verify_audit().expect("audit"),
            crate::AuditCheck::Intact { entries: 1, .. }
        ));
    }
}
