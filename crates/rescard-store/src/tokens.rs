//! Staff tokens: bearer secrets with a name and a role. Only the SHA-256 of a token is stored; the token
//! itself is shown once, when it is made. Tokens carry 256 random bits, so a fast hash is enough: there
//! is nothing to guess.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::model::{AuditAction, TokenInfo};
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
        self.make_token(name, role, actor, now, false)
            .map(|token| token.unwrap_or_default())
    }

    /// Makes the token named `name` with `role` only if the registry has no token at all, in one
    /// write: the first admin token, which replicas starting together on a new database make once.
    pub fn create_first_token(
        &mut self,
        name: &str,
        role: Role,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        self.make_token(name, role, actor, now, true)
    }

    fn make_token(
        &mut self,
        name: &str,
        role: Role,
        actor: &str,
        now: DateTime<Utc>,
        only_if_none: bool,
    ) -> Result<Option<String>> {
        check_name(name)?;
        crate::registry::check_actor(actor)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Token(format!("no randomness: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
        let tx = self.write()?;
        if only_if_none && !tx.tokens()?.is_empty() {
            return Ok(None);
        }
        if tx.token_named(name)?.is_some() {
            return Err(StoreError::Token(format!(
                "a token named {name:?} exists or existed; names are not reused"
            )));
        }
        tx.insert_token(name, role, &hash(&token), actor, now)?;
        audit::append(
            &*tx,
            now,
            actor,
            AuditAction::TokenCreate,
            None,
            json!({"name": name, "role": role.as_str()}),
        )?;
        tx.commit()?;
        Ok(Some(token))
    }

    /// Ends the token named `name` at once. The last live admin token cannot be revoked: nobody could
    /// then make tokens or read the audit log over HTTP.
    pub fn revoke_token(&mut self, name: &str, actor: &str, now: DateTime<Utc>) -> Result<()> {
        crate::registry::check_actor(actor)?;
        let tx = self.write()?;
        let token = tx
            .token_named(name)?
            .filter(|t| !t.revoked)
            .ok_or_else(|| StoreError::Token(format!("no live token named {name:?}")))?;
        if token.role == Role::Admin && tx.live_admins()? <= 1 {
            return Err(StoreError::LastAdmin(name.to_owned()));
        }
        if !tx.revoke_token(token.id, now)? {
            return Err(StoreError::Token(format!("no live token named {name:?}")));
        }
        tx.delete_sessions_of(token.id)?;
        audit::append(
            &*tx,
            now,
            actor,
            AuditAction::TokenRevoke,
            None,
            json!({"name": name}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The holder of `token`, if it is a live token. The stored hash is compared in constant time.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenHolder>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let presented = hash(token);
        Ok(match self.storage().live_token_by_hash(&presented)? {
            Some(t) if bool::from(t.hash.as_bytes().ct_eq(presented.as_bytes())) => {
                Some(TokenHolder {
                    name: t.name,
                    role: t.role,
                })
            }
            _ => None,
        })
    }

    /// Every token ever made, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.storage().tokens()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-21T09:00:00Z".parse().expect("time")
    }

    crate::on_every_backend! {
        fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored(db) {
            let mut reg = db.open();
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
            let stored = |sql: &str, value: &str| {
                reg.storage().raw_count(sql, &[value]).expect("count")
            };
            assert_eq!(stored("SELECT COUNT(*) FROM tokens WHERE hash = ?1", &hash(&token)), 1);
            let secret = format!("%{}%", &token[TOKEN_PREFIX.len()..]);
            assert_eq!(stored("SELECT COUNT(*) FROM tokens WHERE hash LIKE ?1 OR name LIKE ?1", &secret), 0);
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

        fn the_last_live_admin_token_cannot_be_revoked(db) {
            let mut reg = db.open();
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

        fn names_are_checked_and_never_reused(db) {
            let mut reg = db.open();
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

        fn the_first_token_is_made_once_by_replicas_starting_together(db) {
            let made: Vec<Option<String>> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..4)
                    .map(|_| {
                        let db = &db;
                        scope.spawn(move || {
                            db.open()
                                .create_first_token("admin", Role::Admin, "setup", now())
                                .expect("first token")
                        })
                    })
                    .collect();
                starts.into_iter().map(|s| s.join().expect("thread")).collect()
            });
            assert_eq!(made.iter().flatten().count(), 1, "{made:?}");
            let reg = db.open();
            assert_eq!(reg.tokens().expect("list").len(), 1);
            let token = made.into_iter().flatten().next().expect("one token");
            assert_eq!(
                reg.authenticate(&token).expect("auth").map(|h| h.role),
                Some(Role::Admin)
            );
        }
    }
}
