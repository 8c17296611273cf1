//! What only admins see in the console: statistics (and their CSV) and the audit log.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rescard_core::domain::date::issuer_date;
use rescard_store::{AuditCheck, AuditEntry, ConsoleSession, Role, Statistics};

use super::session::SignedIn;
use super::{Frame, html};
use crate::server::i18n::Lang;
use crate::server::{AppError, AppState};

/// How many days ahead "expiring soon" looks.
const EXPIRING_DAYS: i64 = 30;
/// How many audit entries the page shows, newest first.
const AUDIT_SHOWN: usize = 500;

fn admin_only(s: &ConsoleSession) -> Result<(), AppError> {
    if s.holder.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "statistics and the audit log are for admins",
        ))
    }
}

async fn statistics(state: &AppState, s: &ConsoleSession) -> Result<Statistics, AppError> {
    admin_only(s)?;
    let today = issuer_date(state.now());
    state
        .db()
        .read(move |r| r.statistics(today, EXPIRING_DAYS))
        .await
}

#[derive(Template)]
#[template(path = "console_stats.html")]
struct StatsPage {
    f: Frame,
    s: Statistics,
    tables: Vec<(&'static str, Vec<(String, u64)>)>,
}

/// `GET /console/stats`.
pub async fn stats(State(state): State<AppState>, lang: Lang, SignedIn(s): SignedIn) -> Response {
    let st = match statistics(&state, &s).await {
        Ok(st) => st,
        Err(e) => return e.into_response(),
    };
    let f = Frame::staff(lang, &s);
    let w = f.w;
    let tables = vec![
        (w.by_state, st.by_state.clone()),
        (w.by_permit, st.by_permit.clone()),
        (w.by_nationality, st.by_nationality.clone()),
        (w.issued_per_month, st.issued_per_month.clone()),
    ];
    html(&StatsPage { f, s: st, tables }, StatusCode::OK)
}

/// `GET /console/stats.csv`: `table,key,count` rows.
pub async fn stats_csv(State(state): State<AppState>, SignedIn(s): SignedIn) -> Response {
    let st = match statistics(&state, &s).await {
        Ok(st) => st,
        Err(e) => return e.into_response(),
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![["table".to_owned(), "key".to_owned(), "count".to_owned()]];
    for (table, counts) in [
        ("state", &st.by_state),
        ("permit", &st.by_permit),
        ("nationality", &st.by_nationality),
        ("issued_per_month", &st.issued_per_month),
    ] {
        rows.extend(
            counts
                .iter()
                .map(|(k, n)| [table.to_owned(), k.clone(), n.to_string()]),
        );
    }
    rows.push([
        format!("expiring_within_{EXPIRING_DAYS}_days"),
        String::new(),
        st.expiring_soon.to_string(),
    ]);
    let written = rows.iter().try_for_each(|r| out.write_record(r));
    let body = written
        .map_err(anyhow::Error::from)
        .and_then(|()| out.into_inner().map_err(|e| anyhow::anyhow!("{e}")));
    match body {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rescard-statistics.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    f: Frame,
    chain: String,
    entries: Vec<AuditEntry>,
}

/// `GET /console/audit`: the newest entries and the state of the chain.
pub async fn audit(State(state): State<AppState>, lang: Lang, SignedIn(s): SignedIn) -> Response {
    if let Err(e) = admin_only(&s) {
        return e.into_response();
    }
    let read = state
        .db()
        .read(|r| Ok((r.verify_audit()?, r.audit_log()?)))
        .await;
    let (check, mut entries) = match read {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    let chain = match check {
        AuditCheck::Intact { entries, head } => format!("intact: {entries} entries, head {head}"),
        AuditCheck::Broken { seq, problem } => format!("BROKEN at entry {seq}: {problem}"),
    };
    entries.reverse();
    entries.truncate(AUDIT_SHOWN);
    let f = Frame::staff(lang, &s);
    html(&AuditPage { f, chain, entries }, StatusCode::OK)
}
