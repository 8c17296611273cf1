use chrono::{DateTime, Duration, Utc};
use rescard_core::application::{
    ApplicationError, ApplicationKind, ApplicationStatus, DocumentName, Recommendation,
};
use rescard_core::{IssuerKey, Permit, Reason, reference};

use super::*;
use crate::model::NewCard;
use crate::{Registry, StoreError};

fn now() -> DateTime<Utc> {
    "2026-11-21T09:00:00Z".parse().expect("time")
}

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[7; 32])
}

fn new_card() -> NewCard {
    NewCard {
        holder: reference::holder(),
        permit: Permit::Work,
        document: Default::default(),
        validity: reference::validity(),
        passport_number: None,
        portrait: None,
    }
}

fn file(reg: &mut Registry, email: &str) -> (ApplicationRow, String) {
    reg.file_application(
        &NewApplication {
            kind: ApplicationKind::Card,
            lang: "ky".into(),
            email: email.into(),
            filed_by: None,
            request: "{\"surname\":\"ABDYKADYROVA-NURLANOVA\"}".into(),
            serial: None,
        },
        now(),
    )
    .expect("file")
}

fn document(name: DocumentName) -> DocumentMeta {
    DocumentMeta {
        name,
        content_type: "image/png".into(),
        sha256: "00".repeat(32),
        size: 3,
        uploaded_at: now(),
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

crate::on_every_backend! {
    fn an_application_goes_from_filing_to_a_card_in_one_transaction_with_four_eyes(db) {
        let mut reg = db.open();
        let (row, secret) = file(&mut reg, "aigerim@example.kg");
        assert!(secret.starts_with(APPLICATION_SECRET_PREFIX));
        assert_eq!(row.status, ApplicationStatus::Draft);
        assert_eq!(row.fee, 4000);
        assert_eq!(reg.application_with_secret(&row.id, &secret).expect("secret").id, row.id);
        assert!(matches!(
            reg.application_with_secret(&row.id, "rca_wrong"),
            Err(StoreError::NoApplication)
        ));
        let stored = reg
            .storage()
            .raw_count("SELECT COUNT(*) FROM applications WHERE secret_hash LIKE ?1", &[&format!("%{}%", &secret[4..])])
            .expect("count");
        assert_eq!(stored, 0, "only the secret's hash is kept");

        let required = [DocumentName::Passport, DocumentName::Photo];
        reg.put_application_document(&row.id, &document(DocumentName::Photo), b"png", now()).expect("photo");
        let e = reg.submit_application(&row.id, &required, now()).expect_err("passport missing");
        assert!(matches!(e, StoreError::Application(ApplicationError::Missing(ref m)) if m == &[DocumentName::Passport]), "{e}");
        reg.put_application_document(&row.id, &document(DocumentName::Passport), b"pdf", now()).expect("passport");
        assert_eq!(reg.submit_application(&row.id, &required, now()).expect("submit").status, ApplicationStatus::Submitted);
        assert!(matches!(
            reg.put_application_document(&row.id, &document(DocumentName::Other), b"x", now()),
            Err(StoreError::Application(ApplicationError::Closed(ApplicationStatus::Submitted)))
        ), "closed to the applicant once submitted");

        let asked = reg.review_application(&row.id, Recommendation::RequestInfo, "the contract, please", "officer-a", now()).expect("ask");
        assert_eq!((asked.status, asked.info_request.as_deref()), (ApplicationStatus::NeedsInfo, Some("the contract, please")));
        reg.put_application_document(&row.id, &document(DocumentName::Contract), b"pdf", now()).expect("contract");
        reg.submit_application(&row.id, &required, now()).expect("answer");
        reg.review_application(&row.id, Recommendation::Approve, "all in order", "officer-a", now()).expect("review");

        let approval = Approval::Issue(Box::new(new_card()));
        let decide = |reg: &mut Registry, who: &str| {
            reg.decide_application(&row.id, true, &reason("approved"), Some(&approval), &key(), who, now())
        };
        let unpaid = decide(&mut reg, "officer-b").expect_err("unpaid");
        assert!(matches!(unpaid, StoreError::Application(ApplicationError::FeeUnpaid(4000))));
        assert!(matches!(reg.confirm_payment(&row.id, "PAY-1", 3999, "bank-1", now()), Err(StoreError::Payment(_))));
        reg.confirm_payment(&row.id, "PAY-1", 4000, "bank-1", now()).expect("paid");
        assert!(matches!(reg.confirm_payment(&row.id, "PAY-2", 4000, "bank-1", now()), Err(StoreError::Payment(_))), "paid once");
        let (other, _) = file(&mut reg, "other@example.kg");
        assert!(matches!(reg.confirm_payment(&other.id, "PAY-1", 4000, "bank-1", now()), Err(StoreError::Payment(_))), "one payment pays one application");
        let cards_before = reg.card_count().expect("count");
        let same = decide(&mut reg, "officer-a").expect_err("four eyes");
        assert!(matches!(same, StoreError::Application(ApplicationError::FourEyes(_))));
        assert_eq!(reg.card_count().expect("count"), cards_before);

        let (approved, issued) = decide(&mut reg, "officer-b").expect("approve");
        let issued = issued.expect("a card");
        assert_eq!(approved.status, ApplicationStatus::Approved);
        assert_eq!(approved.issued_serial, Some(issued.card.serial()));
        assert_eq!(reg.card(issued.card.serial()).expect("card").card.holder().surname.as_ref(), "ABDYKADYROVA-NURLANOVA");
        assert!(reg.withdraw_application(&row.id, now()).is_err(), "decided");

        let view = reg.application_view(&row.id).expect("view");
        let actions: Vec<&str> = view.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["file", "document photo", "document passport", "submit", "review", "document contract", "submit", "review", "pay", "approve"]);
        assert_eq!(view.documents.len(), 3);
        let mail = reg.outbox(100).expect("outbox");
        assert_eq!(mail.len(), 8, "one message a change of state or payment (and the other's filing): {mail:?}");
        let mine: Vec<_> = mail.iter().filter(|m| m.subject.contains(&row.id)).collect();
        assert_eq!(mine.len(), 7);
        assert!(mine.iter().all(|m| m.to == "aigerim@example.kg" && !m.body.contains("3170419")));
        assert!(mine[2].body.contains("the contract, please"), "a request for information says what is asked");
        assert!(mail[0].subject.starts_with("Арыз"), "in the application's language");
        let audit = reg.audit_log().expect("audit");
        assert!(audit.iter().filter(|e| e.action == crate::model::AuditAction::Application).all(|e| !e.details.contains("ABDYKADYROVA") && !e.details.contains("aigerim")));
        assert!(matches!(reg.verify_audit().expect("chain"), crate::AuditCheck::Intact { .. }));
    }

    fn a_refused_issuance_leaves_the_application_as_it_was(db) {
        let mut reg = db.open();
        let (row, _) = file(&mut reg, "a@example.kg");
        reg.put_application_document(&row.id, &document(DocumentName::Passport), b"x", now()).expect("doc");
        reg.submit_application(&row.id, &[DocumentName::Passport], now()).expect("submit");
        reg.review_application(&row.id, Recommendation::Approve, "", "officer-a", now()).expect("review");
        reg.confirm_payment(&row.id, "P", 4000, "bank-1", now()).expect("pay");
        let mut past = new_card();
        past.validity = rescard_core::ValidityPeriod::new(
            "2025-01-01".parse().expect("d"),
            "2025-06-30".parse().expect("d"),
        ).expect("period");
        let mail_before = reg.outbox(100).expect("outbox").len();
        let audit_before = reg.audit_log().expect("audit").len();
        let refused = reg.decide_application(&row.id, true, &reason("ok"), Some(&Approval::Issue(Box::new(past))), &key(), "officer-b", now());
        assert!(matches!(refused, Err(StoreError::Rule(_))), "{refused:?}");
        let after = reg.application_view(&row.id).expect("view").row;
        assert_eq!(after.status, ApplicationStatus::InReview);
        assert_eq!((reg.card_count().expect("n"), reg.outbox(100).expect("o").len(), reg.audit_log().expect("a").len()), (0, mail_before, audit_before));
    }

    fn the_queue_is_oldest_first_filtered_and_paged(db) {
        let mut reg = db.open();
        let mut ids = Vec::new();
        for i in 0..7 {
            let at = now() + Duration::minutes(i);
            let (row, _) = reg.file_application(&NewApplication {
                kind: if i % 2 == 0 { ApplicationKind::Card } else { ApplicationKind::Interim },
                lang: "en".into(),
                email: format!("a{i}@example.kg"),
                filed_by: Some("employer-1".into()),
                request: "{}".into(),
                serial: None,
            }, at).expect("file");
            reg.put_application_document(&row.id, &document(DocumentName::Passport), b"x", at).expect("doc");
            reg.submit_application(&row.id, &[DocumentName::Passport], at).expect("submit");
            ids.push(row.id);
        }
        reg.withdraw_application(&ids[3], now()).expect("withdraw");
        let page = |after: Option<(DateTime<Utc>, String)>, kind| reg.application_queue(&QueueFilter { after, kind, limit: 2, ..Default::default() }).expect("queue");
        let first = page(None, None);
        assert_eq!(first.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [ids[0].clone(), ids[1].clone()]);
        let last = first.last().map(|r| (r.created_at, r.id.clone()));
        let second = page(last, None);
        assert_eq!(second.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [ids[2].clone(), ids[4].clone()], "the withdrawn one is not in the queue");
        let interims = page(None, Some(ApplicationKind::Interim));
        assert_eq!(interims.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [ids[1].clone(), ids[5].clone()]);
        let older = reg.application_queue(&QueueFilter { filed_before: Some(now() + Duration::minutes(2)), limit: 50, ..Default::default() }).expect("older");
        assert_eq!(older.len(), 2);
        let withdrawn = reg.application_queue(&QueueFilter { statuses: vec![ApplicationStatus::Withdrawn], limit: 50, ..Default::default() }).expect("w");
        assert_eq!(withdrawn.len(), 1);
        let counts = reg.application_counts().expect("counts");
        assert!(counts.contains(&(ApplicationStatus::Submitted, 6)) && counts.contains(&(ApplicationStatus::Withdrawn, 1)), "{counts:?}");
    }

    fn documents_of_refused_and_withdrawn_applications_are_purged_after_retention(db) {
        let mut reg = db.open();
        let (kept, _) = file(&mut reg, "k@example.kg");
        let (gone, _) = file(&mut reg, "g@example.kg");
        for id in [&kept.id, &gone.id] {
            reg.put_application_document(id, &document(DocumentName::Passport), b"scan", now()).expect("doc");
        }
        reg.withdraw_application(&gone.id, now()).expect("withdraw");
        let later = now() + Duration::days(91);
        assert!(reg.purge_applications(now(), "retention", later).expect("purge").is_empty(), "not yet due");
        let purged = reg.purge_applications(now() + Duration::days(1), "retention", later).expect("purge");
        assert_eq!(purged, std::slice::from_ref(&gone.id));
        let view = reg.application_view(&gone.id).expect("view");
        assert!(view.documents.is_empty() && view.row.purged_at == Some(later));
        assert_eq!(view.events.last().map(|e| e.action.as_str()), Some("purge"));
        assert_eq!(reg.application_view(&kept.id).expect("kept").documents.len(), 1, "an open application keeps its documents");
        assert!(reg.purge_applications(now() + Duration::days(1), "retention", later).expect("again").is_empty(), "once");
    }

    fn the_outbox_leases_retries_with_backoff_and_marks_what_was_sent(db) {
        let mut reg = db.open();
        file(&mut reg, "one@example.kg");
        file(&mut reg, "two@example.kg");
        assert_eq!(reg.outbox_pending().expect("pending"), (2, Some(now())));
        let claimed = reg.claim_outbox(now(), 10).expect("claim");
        assert_eq!(claimed.len(), 2);
        assert!(reg.claim_outbox(now(), 10).expect("again").is_empty(), "leased to the first sender");
        reg.outbox_sent(claimed[0].id, now()).expect("sent");
        let next = reg.outbox_failed(&claimed[1], "connection refused", now()).expect("failed");
        assert_eq!(next, now() + Duration::seconds(10));
        assert!(reg.claim_outbox(now() + Duration::seconds(9), 10).expect("early").is_empty());
        let retry = reg.claim_outbox(now() + Duration::seconds(10), 10).expect("retry");
        assert_eq!((retry.len(), retry[0].attempts, retry[0].last_error.as_deref()), (1, 1, Some("connection refused")));
        let next = reg.outbox_failed(&retry[0], "again", now()).expect("failed");
        assert_eq!(next, now() + Duration::seconds(20), "the wait doubles");
        assert_eq!(reg.outbox_pending().expect("pending").0, 1);
        // A lease that ran out (its sender died) is taken by the next.
        let (three, _) = file(&mut reg, "three@example.kg");
        let lost = reg.claim_outbox(now(), 10).expect("claim");
        assert_eq!(lost.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(), ["three@example.kg"]);
        let later = now() + Duration::seconds(super::outbox::OUTBOX_LEASE_SECONDS);
        let again = reg.claim_outbox(later, 10).expect("after the lease");
        assert!(again.iter().any(|m| m.to == "three@example.kg"), "{}", three.id);
    }

    fn a_holder_is_reminded_once_thirty_days_before_the_card_ends(db) {
        let mut reg = db.open();
        let (row, _) = file(&mut reg, "holder@example.kg");
        reg.put_application_document(&row.id, &document(DocumentName::Passport), b"x", now()).expect("doc");
        reg.submit_application(&row.id, &[DocumentName::Passport], now()).expect("submit");
        reg.review_application(&row.id, Recommendation::Approve, "", "officer-a", now()).expect("review");
        reg.confirm_payment(&row.id, "P", 4000, "bank-1", now()).expect("pay");
        let (_, issued) = reg
            .decide_application(&row.id, true, &reason("ok"), Some(&Approval::Issue(Box::new(new_card()))), &key(), "officer-b", now())
            .expect("approve");
        let serial = issued.expect("card").card.serial();
        let ends: chrono::NaiveDate = "2027-11-30".parse().expect("d");
        let mail = |reg: &Registry| reg.outbox(100).expect("outbox").len();
        let before = mail(&reg);
        assert_eq!(reg.queue_expiry_reminders(ends - Duration::days(31), now()).expect("early"), 0);
        assert_eq!(reg.queue_expiry_reminders(ends - Duration::days(30), now()).expect("due"), 1);
        assert_eq!(reg.queue_expiry_reminders(ends - Duration::days(29), now()).expect("once"), 0);
        assert_eq!(mail(&reg), before + 1);
        let reminder = reg.outbox(100).expect("outbox").pop().expect("reminder");
        assert!(reminder.subject.contains("30.11.2027") && reminder.body.contains(&serial.to_string()), "{reminder:?}");
        reg.extend(serial, "2028-11-30".parse().expect("d"), &reason("extended"), "officer-b", now()).expect("extend");
        let new_end: chrono::NaiveDate = "2028-11-30".parse().expect("d");
        assert_eq!(reg.queue_expiry_reminders(new_end - Duration::days(30), now()).expect("again"), 1, "an extension reminds again");
    }
}
