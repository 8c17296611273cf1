//! The staff console's sessions, kept in the registry: a random id in the browser's cookie (only its
//! hash is stored, like a token's), the staff token it was opened with, a CSRF secret of its own and
//! an expiry. A session ends when it expires, when its holder signs out, and at once when its token is
//! revoked; since it lives in the registry, every replica of the service sees the same sessions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::{Registry, Result, StoreError, TokenHolder};

/// The prefix of a session id, so that one is never mistaken for a token.
pub const SESSION_PREFIX: &str = "rcs_";

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Whose it is.
    pub holder: TokenHolder,
    /// The secret every form of the session carries.
    pub csrf: String,
    /// When it ends unless its holder signs out first.
    pub expires_at: DateTime<Utc>,
}

fn random(prefix: &str) -> Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::Token(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(secret)))
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

impl Registry {
    /// Opens a console session for the live token named `token_name`, lasting `lifetime`, and
    /// returns its id (for the cookie; only its hash is kept) and the session. Sessions already
    /// expired are cleared on the way.
    pub fn open_console_session(
        &mut self,
        token_name: &str,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<(String, ConsoleSession)> {
        let id = random(SESSION_PREFIX)?;
        let csrf = random("")?;
        let expires_at = crate::model::to_micros(now + lifetime);
        let tx = self.write()?;
        tx.delete_expired_sessions(now)?;
        let Some(token) = tx.token_named(token_name)?.filter(|t| !t.revoked) else {
            return Err(StoreError::Token(format!(
                "no live token named {token_name:?}"
            )));
        };
        tx.insert_session(&hash(&id), token.id, &csrf, now, expires_at)?;
        tx.commit()?;
        Ok((
            id,
            ConsoleSession {
                holder: TokenHolder {
                    name: token.name,
                    role: token.role,
                },
                csrf,
                expires_at,
            },
        ))
    }

    /// The live session with this id: not expired, not signed out, its token not revoked.
    pub fn console_session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<ConsoleSession>> {
        if !id.starts_with(SESSION_PREFIX) || id.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .storage()
            .live_session(&hash(id), now)?
            .map(|row| ConsoleSession {
                holder: TokenHolder {
                    name: row.token_name,
                    role: row.role,
                },
                csrf: row.csrf,
                expires_at: row.expires_at,
            }))
    }

    /// Ends the session with this id (signing out); whether there was one.
    pub fn end_console_session(&mut self, id: &str) -> Result<bool> {
        let tx = self.write()?;
        let ended = tx.delete_session(&hash(id))?;
        tx.commit()?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn now() -> DateTime<Utc> {
        "2026-11-21T09:00:00Z".parse().expect("time")
    }

    crate::on_every_backend! {
        fn a_session_lives_until_it_expires_is_ended_or_its_token_is_revoked(db) {
            let mut reg = db.open();
            reg.create_token("admin", Role::Admin, "setup", now())
                .expect("admin");
            reg.create_token("officer", Role::Issuer, "admin", now())
                .expect("officer");
            let hours = Duration::hours(8);
            let (id, session) = reg
                .open_console_session("officer", now(), hours)
                .expect("open");
            assert!(id.starts_with(SESSION_PREFIX));
            assert_eq!(session.holder.role, Role::Issuer);
            assert_eq!(
                reg.console_session(&id, now() + Duration::hours(1))
                    .expect("read"),
                Some(session.clone())
            );
            // Not the token, not a guess, not after the expiry.
            assert_eq!(reg.console_session("rcs_guess", now()).expect("read"), None);
            assert_eq!(reg.console_session(&id, now() + hours).expect("read"), None);
            let secret = format!("%{}%", &id[SESSION_PREFIX.len()..]);
            let count = |sql: &str, value: &str| reg.storage().raw_count(sql, &[value]).expect("count");
            assert_eq!(count("SELECT COUNT(*) FROM console_sessions WHERE id_hash = ?1", &hash(&id)), 1);
            assert_eq!(count("SELECT COUNT(*) FROM console_sessions WHERE id_hash LIKE ?1 OR csrf LIKE ?1", &secret), 0);

            // Signing out ends it.
            assert!(reg.end_console_session(&id).expect("end"));
            assert_eq!(reg.console_session(&id, now()).expect("read"), None);

            // Revoking the token ends every session opened with it.
            let (id, _) = reg
                .open_console_session("officer", now(), hours)
                .expect("open");
            reg.revoke_token("officer", "admin", now()).expect("revoke");
            assert_eq!(reg.console_session(&id, now()).expect("read"), None);
            assert!(
                reg.open_console_session("officer", now(), hours).is_err(),
                "a revoked token opens no session"
            );
        }
    }
}
