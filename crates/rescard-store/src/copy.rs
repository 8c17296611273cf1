//! Moving a whole registry to another backend (`rescard copy-registry --to URL`): every table, row
//! for row, read in one consistent read transaction of the source and written in one write
//! transaction of the target, then checked there. A target that already holds anything is refused.
//!
//! The tables are described once, in [`crate::tables`]; each backend reads and writes a described
//! table in its own types ([`crate::storage::Storage::export_rows`], `import_rows`).

use rescard_core::Serial;

use crate::audit::AuditCheck;
use crate::storage::{Begin, Counter};
use crate::tables::{TABLES, Value};
use crate::{Registry, Result, StoreError};

/// Rows read or written at a time.
const PAGE: u32 = 1_000;

/// What a copy moved, as checked on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows per table, in [`TABLES`] order.
    pub rows: Vec<(&'static str, u64)>,
    /// Cards copied.
    pub cards: u64,
    /// Audit entries, and the chain's head on the target.
    pub audit_entries: usize,
    /// The audit chain's head hash.
    pub audit_head: String,
}

/// Copies everything in `from` into `to`, which must be empty, and checks it there: the same rows
/// in every table, the same counters, the audit chain intact with the source's head.
pub fn copy_registry(from: &Registry, to: &mut Registry) -> Result<CopyReport> {
    let source = from.storage();
    let target = to.storage();
    // Everything read from the source sees one moment of it, even while a service writes to it.
    source.begin(Begin::Read)?;
    let outcome = (|| {
        let source_check = from.verify_audit()?;
        target.begin(Begin::Write)?;
        if !target_is_empty(to)? {
            return Err(StoreError::Location(
                "the target registry is not empty: copy-registry only fills an empty one".into(),
            ));
        }
        let mut rows = Vec::new();
        for table in TABLES {
            if table.name == "counters" {
                // The target's migrations made the counters' rows: they take the source's values.
                for counter in Counter::ALL {
                    target.set_counter(counter, source.current(counter)?)?;
                }
                rows.push((table.name, Counter::ALL.len() as u64));
                continue;
            }
            // A card names the later card that replaced it, not there yet when it arrives: that
            // link is made once every card is.
            let forward = table.columns.iter().position(|(c, _)| *c == "replaced_by");
            let mut links = Vec::new();
            let mut after = None;
            let mut copied = 0u64;
            loop {
                let mut page = source.export_rows(table, after.as_ref(), PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.first().cloned();
                copied += page.len() as u64;
                if let Some(i) = forward {
                    for row in &mut page {
                        if let (Value::Text(serial), Value::Text(by)) = (&row[0], &row[i]) {
                            links.push((serial.parse::<Serial>(), by.parse::<Serial>()));
                        }
                        row[i] = Value::Null;
                    }
                }
                target.import_rows(table, &page)?;
                if page.len() < PAGE as usize {
                    break;
                }
            }
            for link in links {
                match link {
                    (Ok(serial), Ok(by)) => target.set_replaced_by(serial, by)?,
                    _ => return Err(StoreError::Corrupt("a card's serial does not parse".into())),
                }
            }
            target.after_import(table)?;
            rows.push((table.name, copied));
        }
        let counters = Counter::ALL
            .into_iter()
            .map(|c| source.current(c))
            .collect::<Result<Vec<_>>>()?;
        target.commit()?;
        Ok((rows, counters, source_check))
    })();
    source.rollback().ok();
    let (rows, counters, source_check) = match outcome {
        Ok(copied) => copied,
        Err(e) => {
            target.rollback().ok();
            return Err(e);
        }
    };
    // Checked on arrival: the same counts, counters and audit chain.
    for (table, n) in &rows {
        let there = target.raw_count(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
        if u64::try_from(there).ok() != Some(*n) {
            return Err(StoreError::Corrupt(format!(
                "{table}: {n} rows copied, {there} arrived"
            )));
        }
    }
    for (counter, value) in Counter::ALL.into_iter().zip(counters) {
        if target.current(counter)? != value {
            return Err(StoreError::Corrupt(format!(
                "the {} counter differs on the target",
                counter.name()
            )));
        }
    }
    let (audit_entries, audit_head) = match (to.verify_audit()?, source_check) {
        (
            AuditCheck::Intact { entries, head },
            AuditCheck::Intact {
                head: source_head, ..
            },
        ) if head == source_head => (entries, head),
        (AuditCheck::Intact { .. }, AuditCheck::Broken { seq, problem }) => {
            return Err(StoreError::Corrupt(format!(
                "the source's audit chain is broken at entry {seq} ({problem}); copied as it is"
            )));
        }
        (
            AuditCheck::Intact { head, .. },
            AuditCheck::Intact {
                head: source_head, ..
            },
        ) => {
            return Err(StoreError::Corrupt(format!(
                "the audit chain's head differs on the target ({head}, source {source_head})"
            )));
        }
        (AuditCheck::Broken { seq, problem }, _) => {
            return Err(StoreError::Corrupt(format!(
                "the audit chain on the target is broken at entry {seq}: {problem}"
            )));
        }
    };
    Ok(CopyReport {
        cards: to.card_count()?,
        rows,
        audit_entries,
        audit_head,
    })
}

/// Whether a registry holds nothing yet: no card, no holder, no token, no audit entry.
fn target_is_empty(to: &Registry) -> Result<bool> {
    let store = to.storage();
    for table in TABLES.iter().filter(|t| t.name != "counters") {
        if store.raw_count(&format!("SELECT COUNT(*) FROM {}", table.name), &[])? > 0 {
            return Ok(false);
        }
    }
    for counter in Counter::ALL {
        if store.current(counter)? != 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};
    use rescard_core::{IssuerKey, PassportNumber, Permit, Portrait, Reason, reference};

    use super::*;
    use crate::testing::{TestBackend, TestRegistry};
    use crate::{NewCard, Role};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn why(text: &str) -> Reason {
        Reason::parse(text).expect("reason")
    }

    const NOW: &str = "2026-11-21T09:00:00Z";

    fn application(passport: &str) -> NewCard {
        NewCard {
            holder: reference::holder(),
            permit: Permit::Work,
            document: Default::default(),
            validity: reference::validity(),
            passport_number: Some(PassportNumber::parse(passport).expect("passport")),
            portrait: None,
        }
    }

    /// A registry with every kind of act: cards with and without a portrait, an extension, a
    /// suspension lifted, a revocation, a replacement, tokens made and revoked, a console session.
    fn every_kind_of_act(reg: &mut Registry) -> (String, String) {
        let key = IssuerKey::from_seed(&[3; 32]);
        let mut serials = Vec::new();
        for i in 0..6 {
            let mut new = application(&format!("CP{i:07}"));
            if i == 0 {
                new.portrait =
                    Some(Portrait::parse(b"\x89PNG\r\n\x1a\nportrait".to_vec()).expect("png"));
            }
            serials.push(
                reg.issue(&new, &key, "officer-1", at(NOW))
                    .expect("issue")
                    .card
                    .serial(),
            );
        }
        reg.issue(&application("CP0000000"), &key, "officer-1", at(NOW))
            .expect("same passport");
        reg.extend(
            serials[1],
            "2028-11-30".parse().expect("date"),
            &why("renewal"),
            "officer-2",
            at("2027-11-01T09:00:00Z"),
        )
        .expect("extend");
        reg.suspend(serials[2], &why("check"), "officer-2", at(NOW))
            .expect("suspend");
        reg.reinstate(serials[2], None, "officer-2", at(NOW))
            .expect("reinstate");
        reg.suspend(
            serials[3],
            &why("under investigation"),
            "officer-2",
            at(NOW),
        )
        .expect("suspend");
        reg.revoke(serials[4], &why("fraud"), "officer-2", at(NOW))
            .expect("revoke");
        reg.replace(serials[5], &why("lost"), &key, "officer-3", at(NOW))
            .expect("replace");
        let admin = reg
            .create_token("admin", Role::Admin, "setup", at(NOW))
            .expect("admin");
        reg.create_token("bank.kicb", Role::Bank, "admin", at(NOW))
            .expect("bank");
        reg.revoke_token("bank.kicb", "admin", at(NOW))
            .expect("revoke token");
        let (session, _) = reg
            .open_console_session("admin", at(NOW), Duration::hours(8))
            .expect("session");
        // An application with a document, its history and its mail in the outbox.
        let (filed, _) = reg
            .file_application(
                &crate::applications::NewApplication {
                    kind: rescard_core::application::ApplicationKind::Card,
                    lang: "ru".into(),
                    email: "a@example.kg".into(),
                    filed_by: Some("employer-1".into()),
                    request: "{\"surname\":\"IVANOVA\"}".into(),
                    serial: None,
                },
                at(NOW),
            )
            .expect("file");
        let meta = crate::applications::DocumentMeta {
            name: rescard_core::application::DocumentName::Passport,
            content_type: "application/pdf".into(),
            sha256: "ab".repeat(32),
            size: 5,
            uploaded_at: at(NOW),
        };
        reg.put_application_document(&filed.id, &meta, b"%PDF-", at(NOW))
            .expect("document");
        reg.submit_application(
            &filed.id,
            &[rescard_core::application::DocumentName::Passport],
            at(NOW),
        )
        .expect("submit");
        (admin, session)
    }

    /// Everything a user of the registry can see of it, to compare two registries by.
    fn everything(reg: &Registry) -> String {
        let count = reg.card_count().expect("count");
        let mut out = String::new();
        for n in 1..=u32::try_from(count).expect("count") {
            let r = reg
                .card(Serial::from_sequence(n).expect("serial"))
                .expect("card");
            out.push_str(&format!(
                "{:?} {} {} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {} {} {}\n",
                r.card,
                r.payload,
                r.kid,
                r.state,
                r.state_reason,
                r.period_from,
                r.valid_until,
                r.replaces,
                r.replaced_by,
                r.passport_number,
                r.portrait.as_ref().map(Portrait::bytes),
                r.issued_at,
                r.issued_by,
                serde_json::to_string(&r.history).expect("json")
            ));
        }
        out.push_str(&format!("{:?}\n", reg.status_entries(0).expect("status")));
        out.push_str(&format!("{:?}\n", reg.status_entries(1).expect("delta")));
        out.push_str(&format!("{:?}\n", reg.audit_log().expect("audit")));
        out.push_str(&format!("{:?}\n", reg.tokens().expect("tokens")));
        let every = crate::applications::QueueFilter {
            statuses: rescard_core::application::ApplicationStatus::ALL.to_vec(),
            limit: 1000,
            ..Default::default()
        };
        for row in reg.application_queue(&every).expect("applications") {
            let view = reg.application_view(&row.id).expect("view");
            out.push_str(&format!(
                "{:?} {:?} {:?}\n",
                view.row, view.documents, view.events
            ));
            for d in &view.documents {
                let (_, bytes) = reg.application_document(&row.id, d.name).expect("document");
                out.push_str(&format!("{bytes:?}\n"));
            }
        }
        out.push_str(&format!("{:?}\n", reg.outbox(1000).expect("outbox")));
        out.push_str(&format!(
            "{:?}\n",
            reg.statistics("2027-01-01".parse().expect("date"), 400)
                .expect("stats")
        ));
        out
    }

    fn check_copy(from: TestBackend, to: TestBackend) {
        let source_db = TestRegistry::new(from);
        let mut source = source_db.open();
        let (admin, session) = every_kind_of_act(&mut source);
        let target_db = TestRegistry::new(to);
        let mut target = target_db.open();
        let report = copy_registry(&source, &mut target).expect("copy");
        assert_eq!(report.cards, 8);
        assert_eq!(report.audit_entries, 18);
        assert_eq!(everything(&target_db.open()), everything(&source));
        let mut target = target_db.open();
        assert_eq!(
            target.authenticate(&admin).expect("auth").map(|h| h.name),
            Some("admin".to_owned())
        );
        assert!(
            target
                .console_session(&session, at(NOW))
                .expect("session")
                .is_some()
        );
        // The target goes on where the source stopped: the next serial, ITN, holder row and token.
        let key = IssuerKey::from_seed(&[3; 32]);
        let next = target
            .issue(&application("CP0000099"), &key, "officer-1", at(NOW))
            .expect("issue on the target");
        assert_eq!(
            next.card.serial(),
            Serial::from_sequence(9).expect("serial")
        );
        target
            .create_token("police", Role::Police, "admin", at(NOW))
            .expect("token on the target");
        assert!(matches!(
            target.verify_audit().expect("audit"),
            AuditCheck::Intact { entries: 20, .. }
        ));
        // A target that holds anything is refused, and nothing is written to it.
        let before = everything(&target);
        assert!(matches!(
            copy_registry(&source, &mut target),
            Err(StoreError::Location(_))
        ));
        assert_eq!(everything(&target), before);
    }

    #[test]
    fn a_registry_moves_from_sqlite_to_postgres_whole() {
        check_copy(TestBackend::Sqlite, TestBackend::Postgres);
    }

    #[test]
    fn a_registry_moves_from_postgres_to_sqlite_whole() {
        check_copy(TestBackend::Postgres, TestBackend::Sqlite);
    }
}
