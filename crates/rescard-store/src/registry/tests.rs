use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::{
    CardState, IssuerKey, NoStatus, PassportNumber, Permit, Reason, Serial, TrustList, TrustedKey,
    ValidityPeriod, Verdict, reference, rules::RuleError, verify,
};

use super::*;
use crate::on_every_backend;
use crate::storage::Backend;
use crate::testing::TestRegistry;
use crate::{AuditCheck, IssuedCard, NewCard, StoreError};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn d(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn why(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[3; 32])
}

fn trust() -> TrustList {
    TrustList::new(vec![TrustedKey::active(
        key().verifying_key(),
        at("2026-01-01T00:00:00Z"),
    )])
    .expect("trust")
}

const NOW: &str = "2026-11-21T09:00:00Z";

fn application(passport: Option<&str>) -> NewCard {
    NewCard {
        holder: reference::holder(),
        permit: Permit::Work,
        document: Default::default(),
        validity: reference::validity(),
        passport_number: passport.map(|p| PassportNumber::parse(p).expect("passport")),
        portrait: None,
    }
}

fn registry_with_card(db: &TestRegistry) -> (Registry, IssuedCard) {
    let mut reg = db.open();
    let issued = reg
        .issue(
            &application(Some("FA1234567")),
            &key(),
            "officer-1",
            at(NOW),
        )
        .expect("issue");
    (reg, issued)
}

fn verdict(reg: &Registry, payload: &str, now: &str) -> Verdict {
    verify(payload, &trust(), reg, at(now))
        .expect("lookup")
        .verdict
}

/// A signing device that has stopped answering (an HSM gone from the network).
struct SilentDevice;

impl rescard_core::SigningDevice for SilentDevice {
    fn sign(&self, _: &[u8]) -> std::result::Result<[u8; 64], String> {
        Err("the token is not present".into())
    }
}

on_every_backend! {
    fn a_key_that_cannot_sign_issues_nothing_and_changes_nothing(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let silent = IssuerKey::in_device(key().verifying_key(), std::sync::Arc::new(SilentDevice));
        let before = reg.verify_audit().expect("audit");
        let err = reg
            .issue(&application(Some("FA7654321")), &silent, "officer-1", at(NOW))
            .expect_err("nothing signed");
        assert!(matches!(err, StoreError::Signing(_)), "{err}");
        assert!(err.to_string().contains("the token is not present"), "{err}");
        let serial = issued.card.serial();
        let err = reg
            .replace(serial, &why("lost"), &silent, "officer-1", at(NOW))
            .expect_err("nothing signed");
        assert!(matches!(err, StoreError::Signing(_)), "{err}");
        assert_eq!(reg.card_count().expect("count"), 1);
        let record = reg.card(serial).expect("record");
        assert_eq!((record.state, record.history.len()), (CardState::Active, 1));
        assert_eq!(reg.verify_audit().expect("audit"), before);
    }

    fn the_first_card_gets_the_first_serial_and_itn_and_verifies(db) {
        let (reg, issued) = registry_with_card(&db);
        assert_eq!(issued.card, reference::card());
        assert_eq!(
            verdict(&reg, &issued.payload, "2027-01-15T12:00:00Z"),
            Verdict::Valid
        );
        let record = reg.card(issued.card.serial()).expect("record");
        assert_eq!(record.state, CardState::Active);
        assert_eq!(record.passport_number.as_ref().map(AsRef::as_ref), Some("FA1234567"));
        assert_eq!(record.issued_by, "officer-1");
        assert_eq!(record.history.len(), 1);
    }

    fn the_same_passport_keeps_its_itn_and_another_holder_gets_the_next(db) {
        let (mut reg, first) = registry_with_card(&db);
        let again = reg
            .issue(
                &application(Some("fa 1234567")),
                &key(),
                "officer-1",
                at(NOW),
            )
            .expect("second card");
        assert_eq!(again.card.itn(), first.card.itn());
        assert_ne!(again.card.serial(), first.card.serial());
        let other = reg
            .issue(
                &application(Some("FA7654321")),
                &key(),
                "officer-1",
                at(NOW),
            )
            .expect("other holder");
        assert_ne!(other.card.itn(), first.card.itn());
        assert_eq!(other.card.itn().sequence(), 2);
        let no_passport = reg
            .issue(&application(None), &key(), "officer-1", at(NOW))
            .expect("no passport");
        assert_eq!(no_passport.card.itn().sequence(), 3);
    }

    fn a_passport_registered_with_another_birth_date_is_refused_and_nothing_is_written(db) {
        let (mut reg, _) = registry_with_card(&db);
        let mut app = application(Some("FA1234567"));
        app.holder.date_of_birth = d("1990-01-01");
        let before = reg.audit_log().expect("log").len();
        assert!(matches!(
            reg.issue(&app, &key(), "officer-1", at(NOW)),
            Err(StoreError::HolderMismatch { .. })
        ));
        assert_eq!(reg.audit_log().expect("log").len(), before);
    }

    fn an_extension_shows_at_once_and_is_refused_after_revocation(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let serial = issued.card.serial();
        let record = reg
            .extend(
                serial,
                d("2028-11-30"),
                &why("contract renewed"),
                "officer-2",
                at("2027-11-01T09:00:00Z"),
            )
            .expect("extend");
        assert_eq!(record.valid_until, d("2028-11-30"));
        assert_eq!(record.period_from, d("2027-12-01"));
        assert_eq!(
            verdict(&reg, &issued.payload, "2028-06-01T12:00:00Z"),
            Verdict::Valid
        );
        reg.revoke(
            serial,
            &why("fraud"),
            "officer-2",
            at("2027-11-02T09:00:00Z"),
        )
        .expect("revoke");
        assert_eq!(
            verdict(&reg, &issued.payload, "2028-06-01T12:00:00Z"),
            Verdict::Revoked
        );
        let refused = reg.extend(
            serial,
            d("2028-12-30"),
            &why("again"),
            "officer-2",
            at("2027-11-03T09:00:00Z"),
        );
        assert!(matches!(
            refused,
            Err(StoreError::Rule(RuleError::WrongState { .. }))
        ));
    }

    fn suspension_and_reinstatement(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let serial = issued.card.serial();
        let r = reg
            .suspend(serial, &why("under investigation"), "officer-2", at(NOW))
            .expect("suspend");
        assert_eq!(
            (r.state, r.state_reason.as_deref()),
            (CardState::Suspended, Some("under investigation"))
        );
        assert_eq!(
            verdict(&reg, &issued.payload, "2027-01-15T12:00:00Z"),
            Verdict::Suspended
        );
        assert!(
            reg.suspend(serial, &why("twice"), "officer-2", at(NOW))
                .is_err()
        );
        let r = reg
            .reinstate(serial, None, "officer-2", at(NOW))
            .expect("reinstate");
        assert_eq!((r.state, r.state_reason), (CardState::Active, None));
        assert_eq!(
            verdict(&reg, &issued.payload, "2027-01-15T12:00:00Z"),
            Verdict::Valid
        );
        assert_eq!(
            r.history
                .iter()
                .map(|h| h.action.as_str())
                .collect::<Vec<_>>(),
            ["issue", "suspend", "reinstate"]
        );
    }

    fn a_replaced_card_says_so_and_the_new_one_is_valid(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let old = issued.card.serial();
        let new = reg
            .replace(
                old,
                &why("lost"),
                &key(),
                "officer-3",
                at("2027-03-01T09:00:00Z"),
            )
            .expect("replace");
        assert_ne!(new.card.serial(), old);
        assert_eq!(new.card.itn(), issued.card.itn());
        assert_eq!(new.card.validity(), reference::validity());
        assert_eq!(
            verdict(&reg, &issued.payload, "2027-03-02T12:00:00Z"),
            Verdict::Replaced
        );
        assert_eq!(
            verdict(&reg, &new.payload, "2027-03-02T12:00:00Z"),
            Verdict::Valid
        );
        let old_record = reg.card(old).expect("old");
        assert_eq!(old_record.replaced_by, Some(new.card.serial()));
        let new_record = reg.card(new.card.serial()).expect("new");
        assert_eq!(new_record.replaces, Some(old));
        assert_eq!(new_record.history[0].label(), "issue (replacement)");
    }

    fn refused_acts_write_nothing(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let serial = issued.card.serial();
        let before = reg.audit_log().expect("log");
        assert!(
            reg.revoke(serial, &why("fraud"), "cli:\u{1b}]0;x\u{7}", at(NOW))
                .is_err(),
            "an actor a listing would obey"
        );
        assert!(
            reg.extend(
                serial,
                d("2029-01-01"),
                &why("too long"),
                "officer",
                at(NOW)
            )
            .is_err()
        );
        assert!(reg.reinstate(serial, None, "officer", at(NOW)).is_err());
        assert!(reg.suspend(serial, &why("x"), "", at(NOW)).is_err());
        let missing = Serial::from_sequence(999).expect("serial");
        assert!(matches!(
            reg.suspend(missing, &why("x"), "officer", at(NOW)),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(reg.audit_log().expect("log"), before);
        assert_eq!(reg.card(serial).expect("card").state, CardState::Active);
    }

    fn past_dates_are_refused_at_issuance(db) {
        let mut reg = db.open();
        let refused = reg.issue(
            &application(None),
            &key(),
            "officer",
            at("2027-12-05T09:00:00Z"),
        );
        assert!(matches!(
            refused,
            Err(StoreError::Rule(RuleError::Dates(_)))
        ));
        assert!(reg.audit_log().expect("log").is_empty());
    }

    fn an_unknown_card_falls_back_to_its_printed_dates(db) {
        let reg = db.open();
        let payload = rescard_core::codec::encode(&reference::card(), at(NOW), &key()).expect("signs");
        let v = verify(&payload, &trust(), &reg, at("2027-01-15T12:00:00Z")).expect("lookup");
        assert_eq!(v.verdict, Verdict::Valid);
        assert!(v.status.current.is_none());
        assert_eq!(
            verify(&payload, &trust(), &NoStatus, at("2027-01-15T12:00:00Z"))
                .expect("x")
                .verdict,
            Verdict::Valid
        );
    }

    fn the_audit_chain_names_the_first_edited_removed_or_reordered_entry(db) {
        let (mut reg, issued) = registry_with_card(&db);
        let serial = issued.card.serial();
        reg.suspend(serial, &why("check"), "officer", at(NOW))
            .expect("suspend");
        reg.reinstate(serial, Some(&why("cleared")), "officer", at(NOW))
            .expect("reinstate");
        reg.revoke(serial, &why("left the country"), "officer", at(NOW))
            .expect("revoke");
        assert!(matches!(
            reg.verify_audit().expect("check"),
            AuditCheck::Intact { entries: 4, .. }
        ));

        let raw = |sql: &str| reg.storage().raw_execute(sql, &[]);
        // The triggers refuse edits made through SQL...
        assert!(raw("UPDATE audit SET actor = 'someone' WHERE seq = 2").is_err());
        assert!(raw("DELETE FROM audit WHERE seq = 2").is_err());
        // ...so someone who wants to rewrite history drops them first; the chain still shows it.
        let drop_triggers: &[&str] = match reg.backend() {
            Backend::Sqlite => &[
                "DROP TRIGGER audit_append_only_update",
                "DROP TRIGGER audit_append_only_delete",
            ],
            Backend::Postgres => &["DROP TRIGGER audit_append_only ON audit"],
        };
        for sql in drop_triggers {
            raw(sql).expect("drop");
        }
        raw("UPDATE audit SET actor = 'someone' WHERE seq = 2").expect("edit");
        assert!(
            matches!(reg.verify_audit().expect("check"), AuditCheck::Broken { seq: 2, ref problem } if problem.contains("edited"))
        );
        raw("DELETE FROM audit WHERE seq = 2").expect("remove");
        assert!(
            matches!(reg.verify_audit().expect("check"), AuditCheck::Broken { seq: 2, ref problem } if problem.contains("removed"))
        );
        // Renumber entry 3 into the gap: its hash covers its number, so it reads as edited.
        raw("UPDATE audit SET seq = 2 WHERE seq = 3").expect("reorder");
        assert!(matches!(
            reg.verify_audit().expect("check"),
            AuditCheck::Broken { seq: 2, .. }
        ));
    }

    fn concurrent_writers_never_share_a_serial_or_itn(db) {
        // Four connections (on PostgreSQL, as four replicas would hold them) issuing at once.
        let cards: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let db = &db;
                    scope.spawn(move || {
                        let mut reg = db.open();
                        (0..10)
                            .map(|i| {
                                let passport = format!("P{t}X{i:05}");
                                reg.issue(&application(Some(&passport)), &key(), "officer", at(NOW))
                                    .expect("issue")
                                    .card
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect()
        });
        let mut serials: Vec<_> = cards.iter().map(|c| c.serial()).collect();
        let mut itns: Vec<_> = cards.iter().map(|c| c.itn()).collect();
        serials.sort();
        serials.dedup();
        itns.sort();
        itns.dedup();
        assert_eq!((serials.len(), itns.len()), (40, 40));
        let reg = db.open();
        assert!(matches!(
            reg.verify_audit().expect("check"),
            AuditCheck::Intact { entries: 40, .. }
        ));
    }

    fn status_entries_list_what_differs_from_the_qr_and_deltas_what_changed(db) {
        let mut reg = db.open();
        let cards: Vec<Serial> = (0..4)
            .map(|i| {
                let passport = format!("PX{i:07}");
                reg.issue(&application(Some(&passport)), &key(), "officer", at(NOW))
                    .expect("issue")
                    .card
                    .serial()
            })
            .collect();
        assert_eq!(reg.status_entries(0).expect("full"), (0, vec![]));
        reg.extend(
            cards[0],
            d("2028-11-30"),
            &why("renewal"),
            "officer",
            at("2027-11-01T09:00:00Z"),
        )
        .expect("extend");
        reg.revoke(cards[1], &why("fraud"), "officer", at(NOW))
            .expect("revoke");
        reg.suspend(cards[2], &why("check"), "officer", at(NOW))
            .expect("suspend");
        let (seq, full) = reg.status_entries(0).expect("full");
        assert_eq!(seq, 3);
        assert_eq!(
            full.iter().map(|e| (e.serial, e.state)).collect::<Vec<_>>(),
            [
                (cards[0], CardState::Active),
                (cards[1], CardState::Revoked),
                (cards[2], CardState::Suspended)
            ]
        );
        assert_eq!(full[0].valid_until, Some(d("2028-11-30")));
        assert_eq!(full[1].valid_until, None);

        reg.reinstate(cards[2], None, "officer", at(NOW))
            .expect("reinstate");
        let new = reg
            .replace(cards[3], &why("lost"), &key(), "officer", at(NOW))
            .expect("replace")
            .card
            .serial();
        let (seq, delta) = reg.status_entries(3).expect("delta");
        assert_eq!(seq, 5);
        assert_eq!(delta.len(), 2);
        assert!(
            delta[0].serial == cards[2] && delta[0].is_default(),
            "a reinstated card is back to its QR: {:?}",
            delta[0]
        );
        assert_eq!(
            (delta[1].state, delta[1].replaced_by),
            (CardState::Replaced, Some(new))
        );
        assert_eq!(reg.status_entries(5).expect("empty delta"), (5, vec![]));
    }

    fn a_batch_issues_the_good_cards_and_refuses_each_bad_one_alone(db) {
        let (mut reg, _) = registry_with_card(&db);
        let mut mismatch = application(Some("FA1234567"));
        mismatch.holder.date_of_birth = d("1990-01-01");
        let mut past = application(Some("PX0000009"));
        past.validity = ValidityPeriod::new(d("2025-01-01"), d("2025-12-31")).expect("period");
        let batch = vec![
            application(Some("PX0000001")),
            mismatch,
            application(Some("PX0000002")),
            past,
            application(Some("PX0000001")),
        ];
        let results = reg
            .issue_batch(&batch, &key(), "officer", at(NOW))
            .expect("batch");
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(StoreError::HolderMismatch { .. })));
        assert!(results[2].is_ok());
        assert!(matches!(
            results[3],
            Err(StoreError::Rule(RuleError::Dates(_)))
        ));
        // The same passport twice in a batch: the second card keeps the holder's ITN.
        assert_eq!(
            results[4].as_ref().map(|c| c.card.itn()).ok(),
            results[0].as_ref().map(|c| c.card.itn()).ok()
        );
        let serials: Vec<u32> = results
            .iter()
            .flatten()
            .map(|c| c.card.serial().sequence())
            .collect();
        assert_eq!(serials, [2, 3, 4], "refused cards use no serial");
        assert!(matches!(
            reg.verify_audit().expect("audit"),
            AuditCheck::Intact { entries: 4, .. }
        ));
    }

    fn a_group_commits_the_acts_that_succeed_and_leaves_no_trace_of_one_that_fails(db) {
        let (mut reg, first) = registry_with_card(&db);
        let before = reg.audit_log().expect("log").len();
        let mut wrong_birth = application(Some("FA1234567"));
        wrong_birth.holder.date_of_birth = d("1990-01-01");
        let jobs = vec![
            application(Some("FB0000001")),
            wrong_birth,
            application(Some("FB0000002")),
        ];
        let mut results = Vec::new();
        reg.group(jobs, |r, new| {
            let result = r.issue(&new, &key(), "officer-1", at(NOW));
            let ok = result.is_ok();
            results.push(result);
            ok
        })
        .expect("commit");
        assert!(matches!(results[1], Err(StoreError::HolderMismatch { .. })));
        let serials: Vec<Serial> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|i| i.card.serial()))
            .collect();
        assert_eq!(serials.len(), 2);
        // The serials follow on without a gap: the refused card took nothing.
        assert_eq!(
            serials,
            [
                Serial::from_sequence(2).expect("serial"),
                Serial::from_sequence(3).expect("serial")
            ]
        );
        for r in results.iter().flatten() {
            assert_eq!(
                verdict(&reg, &r.payload, "2027-01-15T12:00:00Z"),
                Verdict::Valid
            );
        }
        assert_eq!(reg.audit_log().expect("log").len(), before + 2);
        assert!(matches!(
            reg.verify_audit().expect("check"),
            AuditCheck::Intact { .. }
        ));
        assert_eq!(
            first.card.serial(),
            Serial::from_sequence(1).expect("serial")
        );
    }

    fn a_write_the_database_refuses_in_a_group_leaves_nothing_acknowledged_missing(db) {
        let (mut reg, _) = registry_with_card(&db);
        // The database refuses one card's row, as it would a disk that fills up: not a rule of the
        // registry's, and, on PostgreSQL, found only after the act has gone on (its writes are sent
        // without waiting).
        let trigger = match reg.backend() {
            Backend::Sqlite => vec![
                "CREATE TRIGGER refuse BEFORE INSERT ON cards WHEN NEW.surname = 'REFUSED' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the database'); END",
            ],
            Backend::Postgres => vec![
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.surname = 'REFUSED' THEN RAISE EXCEPTION 'refused by the database'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON cards FOR EACH ROW EXECUTE FUNCTION refuse()",
            ],
        };
        for sql in trigger {
            reg.storage().raw_execute(sql, &[]).expect("trigger");
        }
        let mut refused = application(Some("FR0000002"));
        refused.holder.surname = rescard_core::LatinName::surname("REFUSED").expect("name");
        let jobs = vec![
            application(Some("FR0000001")),
            refused,
            application(Some("FR0000003")),
        ];
        let mut results = Vec::new();
        let committed = reg.group(jobs, |r, new| {
            let result = r.issue(&new, &key(), "officer-1", at(NOW));
            let ok = result.is_ok();
            results.push(result.map(|i| i.card.serial()));
            ok
        });
        // An act is acknowledged when it succeeded and its group committed: each of those is there,
        // and nothing else is (the refused card, nor a card of a group that did not commit).
        let mut acknowledged = 0;
        for (i, result) in results.iter().enumerate() {
            let kept = match (result, &committed) {
                (Ok(serial), Ok(())) => {
                    acknowledged += 1;
                    reg.card(*serial).is_ok()
                }
                _ => true,
            };
            assert!(kept, "job {i} was acknowledged and lost");
        }
        assert_eq!(reg.card_count().expect("count"), 1 + acknowledged);
        match reg.backend() {
            // SQLite answers each statement at once: the refused act fails alone.
            Backend::Sqlite => assert!(committed.is_ok() && results[1].is_err() && acknowledged == 2),
            // PostgreSQL's answer comes with a later act's: the transaction is lost, and the group
            // fails as a whole.
            Backend::Postgres => assert!(committed.is_err() && acknowledged == 0, "{committed:?}"),
        }
        assert_eq!(
            reg.storage()
                .raw_count("SELECT COUNT(*) FROM cards WHERE surname = 'REFUSED'", &[])
                .expect("count"),
            0
        );
        assert!(matches!(
            reg.verify_audit().expect("check"),
            AuditCheck::Intact { entries, .. } if entries == 1 + acknowledged as usize
        ));
        // The registry goes on: the next group commits.
        reg.group([application(Some("FR0000004"))], |r, new| {
            r.issue(&new, &key(), "officer-1", at(NOW)).is_ok()
        })
        .expect("the next group commits");
        assert_eq!(reg.card_count().expect("count"), 2 + acknowledged);
    }

    fn a_group_left_open_by_a_panic_is_rolled_back_before_the_next(db) {
        let (mut reg, _) = registry_with_card(&db);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reg.group([application(Some("FB0000001"))], |r, new| {
                r.issue(&new, &key(), "officer-1", at(NOW)).expect("issue");
                panic!("a bug half-way through a group");
            })
        }));
        assert!(outcome.is_err());
        reg.group([application(Some("FB0000002"))], |r, new| {
            r.issue(&new, &key(), "officer-1", at(NOW)).is_ok()
        })
        .expect("the next group commits");
        assert_eq!(reg.card_count().expect("count"), 2);
    }

    fn inside_a_group_an_act_that_fails_half_way_is_undone_even_when_its_job_goes_on(db) {
        let (mut reg, _) = registry_with_card(&db);
        let holders = |reg: &Registry| -> i64 {
            reg.storage()
                .raw_count("SELECT COUNT(*) FROM holders", &[])
                .expect("count")
        };
        let before = holders(&reg);
        // Born after the card's first day: refused once the new holder's row is already written.
        let mut unborn = application(Some("FD0000001"));
        unborn.holder.date_of_birth = d("2026-12-02");
        reg.group([()], |r, ()| {
            assert!(r.issue(&unborn, &key(), "officer-1", at(NOW)).is_err());
            r.issue(
                &application(Some("FD0000002")),
                &key(),
                "officer-1",
                at(NOW),
            )
            .is_ok()
        })
        .expect("commit");
        assert_eq!(holders(&reg), before + 1, "only the second holder remains");
        assert_eq!(reg.card_count().expect("count"), 2);
    }
}

#[test]
fn a_backup_taken_while_cards_are_issued_is_consistent_and_restores() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("registry.sqlite");
    let mut reg = Registry::open(&path).expect("open");
    for i in 0..20 {
        reg.issue(
            &application(Some(&format!("BK{i:07}"))),
            &key(),
            "officer",
            at(NOW),
        )
        .expect("issue");
    }
    let writer_path = path.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = std::sync::Arc::clone(&stop);
    let writer = std::thread::spawn(move || {
        let mut reg = Registry::open(&writer_path).expect("open");
        let mut n = 0;
        while !stop_writer.load(std::sync::atomic::Ordering::Relaxed) {
            reg.issue(
                &application(Some(&format!("LD{n:07}"))),
                &key(),
                "officer",
                at(NOW),
            )
            .expect("issue under load");
            n += 1;
        }
        n
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    let copy = dir.path().join("backup.sqlite");
    Registry::open(&path)
        .expect("open")
        .backup_to(&copy)
        .expect("backup");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let issued_under_load = writer.join().expect("writer");
    assert!(issued_under_load > 0, "the writer ran during the backup");

    let restored = Registry::open(&copy).expect("restore");
    assert_eq!(restored.integrity_check().expect("check"), "ok");
    let cards = restored.card_count().expect("count");
    assert!(cards >= 20, "{cards}");
    assert!(
        matches!(restored.verify_audit().expect("audit"), AuditCheck::Intact { entries, .. } if entries as u64 == cards)
    );
    let first = Serial::from_sequence(1).expect("serial");
    assert_eq!(
        restored.card(first).expect("first card").card.serial(),
        first
    );
}
