//! What `serve` does besides answering requests: sends the outbox's mail (with `--smtp`), writes the
//! reminders to holders whose card ends within 30 days, and deletes the documents of refused and
//! withdrawn applications past `--retention-days`. Every replica runs them: a message is leased to
//! the sender that claimed it, a reminder is written once for each last day, and a purge is an act
//! like any other, so two replicas never do the same work twice.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{Message, SmtpTransport, Transport as _};
use rescard_core::domain::date::issuer_date;

use super::AppState;

/// How often the outbox is looked at.
const MAIL_EVERY: Duration = Duration::from_secs(1);
/// How often reminders and the retention purge run.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
/// Messages taken at a time: sent one after another within the lease (5 × the 20 s timeout is well
/// inside [`rescard_store::applications::OUTBOX_LEASE_SECONDS`]).
const MAIL_BATCH: u32 = 5;

/// Where mail goes out: `smtp://host:port` (plain, or STARTTLS with `?tls=required`) or
/// `smtps://host:port` (TLS), with `user:password@` if the server asks for them, and the sender's
/// address.
#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    /// The server, without any password, for the log.
    shown: String,
}

impl Mailer {
    /// A mailer for `url`, sending as `from`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("smtp" | "smtps")) {
            anyhow::bail!(
                "--smtp: {:?} is not smtp://host:port or smtps://host:port",
                rescard_store::redact(url)
            );
        }
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("--mail-from: {from:?} is not an address ({e})"))?;
        Ok(Self {
            transport,
            from,
            shown: rescard_store::redact(url),
        })
    }

    fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| format!("the address {to:?} does not parse: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// Starts the jobs on the runtime; they run until the service stops.
pub fn spawn(state: AppState, mailer: Option<Mailer>, retention_days: u32) {
    if let Some(mailer) = mailer {
        tracing::info!(server = %mailer.shown, "sending the outbox's mail");
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = send_due(&state, &mailer).await {
                    tracing::warn!(error = %e.message(), "the outbox could not be read; trying again");
                }
                tokio::time::sleep(MAIL_EVERY).await;
            }
        });
    } else {
        tracing::info!("no --smtp: mail waits in the outbox (GET /healthz shows how much)");
    }
    tokio::spawn(async move {
        loop {
            housekeeping(&state, retention_days).await;
            tokio::time::sleep(HOUSEKEEPING_EVERY).await;
        }
    });
}

/// Sends what is due, each message marked sent only once the server took it: a crash in between
/// sends it again, never loses it.
async fn send_due(state: &AppState, mailer: &Mailer) -> Result<(), super::AppError> {
    let now = state.now();
    let due = state
        .db()
        .write(move |r| r.claim_outbox(now, MAIL_BATCH))
        .await?;
    for message in due {
        let m = mailer.clone();
        let (to, subject, body) = (
            message.to.clone(),
            message.subject.clone(),
            message.body.clone(),
        );
        let sent = tokio::task::spawn_blocking(move || m.send(&to, &subject, &body))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        let now = state.now();
        match sent {
            Ok(()) => {
                let id = message.id;
                state.db().write(move |r| r.outbox_sent(id, now)).await?;
            }
            Err(error) => {
                tracing::warn!(message = message.id, attempts = message.attempts + 1, %error, "mail not sent; it will be tried again");
                state
                    .db()
                    .write(move |r| r.outbox_failed(&message, &error, now).map(drop))
                    .await?;
            }
        }
    }
    Ok(())
}

/// Reminders and the retention purge.
pub async fn housekeeping(state: &AppState, retention_days: u32) {
    let now = state.now();
    let today = issuer_date(now);
    match state
        .db()
        .write(move |r| r.queue_expiry_reminders(today, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(reminders = n, "wrote reminders of cards ending soon"),
        Err(e) => tracing::warn!(error = %e.message(), "reminders not written; trying again later"),
    }
    let before = now - chrono::Duration::days(i64::from(retention_days));
    match state
        .db()
        .write(move |r| r.purge_applications(before, "retention", now))
        .await
    {
        Ok(purged) if purged.is_empty() => {}
        Ok(purged) => tracing::info!(
            applications = purged.len(),
            "deleted the documents of refused and withdrawn applications past retention"
        ),
        Err(e) => {
            tracing::warn!(error = %e.message(), "retention purge not done; trying again later")
        }
    }
}
