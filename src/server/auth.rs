//! Bearer tokens and roles.
//!
//! | action | roles |
//! | --- | --- |
//! | verify a card | anyone; a token adds registry data by role (see [`Disclosure`]) |
//! | trust list, health, metrics, OpenAPI | anyone |
//! | issue, read a record, QR, extend, suspend, reinstate, revoke, replace | `issuer`, `admin` |
//! | audit log, tokens | `admin` |
//! | file an application | anyone (rate limited without a token); an `employer` files for employees |
//! | an application's documents, submission, withdrawal | the application's secret |
//! | read an application, its card | the application's secret, `issuer`, `admin` |
//! | the review queue, review, decision, documents' bytes | `issuer`, `admin` |
//! | confirm an application's fee | `bank` |
//!
//! A request without a token is anonymous; a request with a token that is not live gets 401 (never
//! silently anonymous); a live token whose role may not act gets 403.
//!
//! Staff routes are guarded twice over, so that none can be left open by forgetting a call: the router
//! puts every route in an access group ([`Access`], see `super::router`) whose layer runs the group's
//! extractor before the handler (and so before the body is read), and the handlers take the typed
//! holder ([`Staff`], [`Admin`], [`AnyToken`]) they act as.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rescard_store::{Role, TokenHolder};

use super::limits::ClientIp;
use super::{AppError, AppState};

/// Who is calling: a token's holder, or nobody.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<TokenHolder>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Without a token there is nothing to look up: an anonymous check (the hot path) neither
        // looks in nor fills the request's extensions.
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        // The access group's guard and the handler both ask: the token is looked up (and a bad one
        // counted against the client) once a request.
        if let Some(known) = parts.extensions.get::<Self>() {
            return Ok(known.clone());
        }
        let caller = Self::authenticate(parts, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl Caller {
    async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, AppError> {
        let ClientIp(ip) = ClientIp::of(parts);
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Self(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                AppError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        // One lookup by the token's hash (on SQLite short enough to run here).
        let token = token.to_owned();
        let holder = state
            .db()
            .read_short(move |r| r.authenticate(&token))
            .await?;
        match holder {
            Some(h) => Ok(Self(Some(h))),
            // A valid token always works; bad ones are counted per client, and past the allowance get
            // 429 instead of 401 (tokens carry 256 random bits, so this is about noise, not guessing).
            None => match state.failed_signin_limit().take(ip) {
                Ok(()) => Err(AppError::unauthorized(
                    "the token is not valid (mistyped, revoked or from another registry)",
                )),
                Err(wait) => Err(AppError::too_many(wait, "requests with a bad token")),
            },
        }
    }
}

impl Caller {
    /// The holder, if their role is one of `roles`: 401 without a token, 403 with another role.
    pub fn require(&self, roles: &[Role]) -> Result<&TokenHolder, AppError> {
        let holder = self.0.as_ref().ok_or_else(|| {
            let needed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            AppError::unauthorized(format!(
                "this needs a token of role {}: Authorization: Bearer <token>",
                needed.join(" or ")
            ))
        })?;
        if !roles.contains(&holder.role) {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            return Err(AppError::forbidden(format!(
                "a {} token may not do this; it needs the role {}",
                holder.role,
                allowed.join(" or ")
            )));
        }
        Ok(holder)
    }

    /// What a verification may show this caller.
    pub fn disclosure(&self) -> Disclosure {
        match self.0.as_ref().map(|h| h.role) {
            None => Disclosure::Public,
            Some(Role::Employer) => Disclosure::Employer,
            Some(Role::Bank) => Disclosure::Bank,
            Some(Role::Police | Role::Issuer | Role::Admin) => Disclosure::Police,
        }
    }
}

/// The roles that may issue and act on cards.
pub const STAFF: &[Role] = &[Role::Issuer, Role::Admin];
/// The roles that may read the audit log and manage tokens.
pub const ADMIN: &[Role] = &[Role::Admin];
/// The role that confirms fees.
pub const BANK: &[Role] = &[Role::Bank];

/// Who may call a route. Every route of the router is in exactly one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a token, if sent, must be live (401 otherwise) and may add to what is shown.
    Public,
    /// A live token of any role.
    AnyToken,
    /// `issuer` or `admin`.
    Staff,
    /// `admin`.
    Admin,
    /// The staff console's pages: a console session (or the sign-in form), see `console`.
    Console,
    /// `bank`.
    Bank,
    /// The applicant's pages (`/apply`): anyone; an application's own page by the cookie its
    /// number and secret opened, never by a token.
    ApplyPages,
    /// The application in the path: its secret (`Authorization: Bearer rca_…`), or an `issuer` or
    /// `admin` token (which may read it, not act as the applicant).
    Applicant,
}

impl Access {
    /// The roles allowed, for the token groups (`None` for public and console routes).
    pub fn roles(self) -> Option<&'static [Role]> {
        match self {
            Self::Public | Self::Console | Self::ApplyPages => None,
            Self::AnyToken => Some(&Role::ALL),
            Self::Staff => Some(STAFF),
            Self::Admin => Some(ADMIN),
            Self::Bank => Some(BANK),
            Self::Applicant => Some(STAFF),
        }
    }
}

macro_rules! holder_extractor {
    ($(#[$doc:meta])* $name:ident, $roles:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub TokenHolder);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.require($roles).cloned().map(Self)
            }
        }
    };
}

holder_extractor!(
    /// The caller, an `issuer` or `admin`: 401 or 403 before anything else of the request is read.
    Staff,
    STAFF
);
holder_extractor!(
    /// The caller, an `admin`.
    Admin,
    ADMIN
);
holder_extractor!(
    /// The caller, a `bank`.
    Bank,
    BANK
);
holder_extractor!(
    /// The caller, with a live token of any role.
    AnyToken,
    &Role::ALL
);

/// How much of the registry a verification shows. Each level adds to the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disclosure {
    /// Anyone: what the QR shows plus the current status.
    Public,
    /// Employers: whether the permit allows work.
    Employer,
    /// Banks: the passport number.
    Bank,
    /// Police (and issuing staff): the officer's reason for a state, the registry portrait and the
    /// card's history.
    Police,
}

/// Who calls about the application in the path (`/api/v1/applications/{id}/…`): its applicant, by
/// the secret shown when it was filed, or issuing staff by their token. A secret opens its own
/// application and nothing else; a wrong one counts against the client like a bad token.
#[derive(Debug, Clone)]
pub enum ApplicationCaller {
    /// The applicant (the application's id).
    Applicant(String),
    /// An `issuer` or `admin`.
    Staff(TokenHolder),
}

impl ApplicationCaller {
    /// The applicant, or 403 for staff (who read an application, and decide it, but do not act as
    /// its applicant).
    pub fn applicant(&self) -> Result<&str, AppError> {
        match self {
            Self::Applicant(id) => Ok(id),
            Self::Staff(_) => Err(AppError::forbidden(
                "only the applicant may do this, with the application's secret",
            )),
        }
    }
}

impl FromRequestParts<AppState> for ApplicationCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<Self>() {
            return Ok(known.clone());
        }
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(rescard_store::applications::APPLICATION_SECRET_PREFIX))
            .map(str::to_owned);
        let caller = match secret {
            Some(secret) => {
                let axum::extract::Path(params) = axum::extract::Path::<
                    std::collections::HashMap<String, String>,
                >::from_request_parts(
                    parts, state
                )
                .await
                .map_err(|_| AppError::unauthorized("no application in the path"))?;
                let id = params.get("id").cloned().unwrap_or_default();
                let probe = id.clone();
                let found = state
                    .db()
                    .read_short(move |r| match r.application_with_secret(&probe, &secret) {
                        Ok(_) => Ok(true),
                        Err(rescard_store::StoreError::NoApplication) => Ok(false),
                        Err(e) => Err(e),
                    })
                    .await?;
                if !found {
                    let ClientIp(ip) = ClientIp::of(parts);
                    return Err(match state.failed_signin_limit().take(ip) {
                        Ok(()) => AppError::unauthorized(
                            "this secret does not open this application (mistyped, or another application's)",
                        ),
                        Err(wait) => AppError::too_many(wait, "requests with a bad secret"),
                    });
                }
                Self::Applicant(id)
            }
            None => {
                let caller = Caller::from_request_parts(parts, state).await?;
                let holder = caller.0.as_ref().ok_or_else(|| {
                    AppError::unauthorized(
                        "this needs the application's secret (Authorization: Bearer rca_…), or an issuer or admin token",
                    )
                })?;
                Self::Staff(caller.require(STAFF).map_err(|_| {
                    AppError::forbidden(format!(
                        "a {} token may not see applications; the applicant's secret or an issuer or admin token may",
                        holder.role
                    ))
                })?.clone())
            }
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}
