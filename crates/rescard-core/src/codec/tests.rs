use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::{
    DocumentType, Holder, Itn, LatinName, Nationality, NativeName, Permit, Serial, Sex,
    ValidityPeriod,
};
use crate::keys::TrustedKey;
use crate::reference;

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[42; 32])
}

fn signed_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("time")
}

fn trust(key: &IssuerKey) -> TrustList {
    TrustList::new(vec![TrustedKey::active(key.verifying_key(), signed_at())]).expect("trust")
}

#[test]
fn reference_card_round_trips() {
    let key = key();
    let text = encode(&reference::card(), signed_at(), &key).expect("signs");
    let verified = decode(&text)
        .expect("decode")
        .verify(&trust(&key))
        .expect("verify");
    let claims = verified.claims().expect("claims");
    assert_eq!(claims.card, reference::card());
    assert_eq!(claims.issued_at, signed_at());
}

#[test]
fn reference_payload_is_compact() {
    let text = encode(&reference::card(), signed_at(), &key()).expect("signs");
    // 4 prefix characters + base45 of the COSE_Sign1; QR version 10 at level M holds 311 alphanumerics.
    assert!(text.len() <= 311, "{} characters", text.len());
}

#[test]
fn envelope_errors_are_named() {
    let text = encode(&reference::card(), signed_at(), &key()).expect("signs");
    assert_eq!(decode("").map(|_| ()), Err(CodecError::Prefix));
    assert_eq!(
        decode(&text.replacen("RC1:", "RC2:", 1)).map(|_| ()),
        Err(CodecError::Prefix)
    );
    assert_eq!(
        decode(&text.to_lowercase()).map(|_| ()),
        Err(CodecError::Prefix)
    );
    assert_eq!(
        decode(&format!("{text}A")).map(|_| ()),
        Err(CodecError::Base45)
    );
    assert_eq!(
        decode(&format!("{text}\n")).map(|_| ()),
        Err(CodecError::Base45)
    );
    assert!(matches!(
        decode(&"RC1:".repeat(400)),
        Err(CodecError::TooLong(_))
    ));
    assert!(matches!(decode("RC1:00"), Err(CodecError::Cose(_))));
}

#[test]
fn trailing_bytes_after_the_cose_structure_are_refused() {
    let mut bytes = encode_cose(&reference::card(), signed_at(), &key()).expect("signs");
    bytes.push(0);
    assert!(matches!(decode_cose(&bytes), Err(CodecError::Cose(_))));
}

#[test]
fn an_untagged_or_unprotected_kid_is_refused() {
    let key = key();
    let claims = claims::encode_claims(&reference::card(), signed_at());
    let untagged = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .key_id(key.kid().0.to_vec())
                .build(),
        )
        .payload(claims.clone())
        .create_signature(&[], |d| key.sign(d).expect("signs").to_bytes().to_vec())
        .build();
    assert!(decode_cose(&untagged.clone().to_vec().expect("cbor")).is_err());
    let kid_outside = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .build(),
        )
        .unprotected(HeaderBuilder::new().key_id(key.kid().0.to_vec()).build())
        .payload(claims)
        .create_signature(&[], |d| key.sign(d).expect("signs").to_bytes().to_vec())
        .build();
    assert!(matches!(
        decode_cose(&kid_outside.to_tagged_vec().expect("cbor")),
        Err(CodecError::Header(_))
    ));
}

#[test]
fn a_retired_or_missing_key_is_an_unknown_issuer_and_another_key_fails() {
    let key = key();
    let text = encode(&reference::card(), signed_at(), &key).expect("signs");
    let signed = decode(&text).expect("decode");
    assert_eq!(
        signed.verify(&TrustList::default()).map(|_| ()),
        Err(SignatureFailure::UnknownIssuer)
    );
    let mut retired = TrustedKey::active(key.verifying_key(), signed_at());
    retired.status = crate::keys::KeyStatus::Retired;
    let list = TrustList::new(vec![retired]).expect("list");
    assert_eq!(
        signed.verify(&list).map(|_| ()),
        Err(SignatureFailure::UnknownIssuer)
    );
}

#[test]
fn several_keys_sharing_a_kid_are_all_tried() {
    let key = key();
    let other = IssuerKey::from_seed(&[9; 32]);
    let text = encode(&reference::card(), signed_at(), &key).expect("signs");
    // A colliding kid cannot be found in practice, so give the other key this key's kid by hand.
    // TrustList::new refuses such an entry, so the list is built directly.
    let mut impostor = TrustedKey::active(other.verifying_key(), signed_at());
    impostor.kid = key.kid();
    assert!(TrustList::new(vec![impostor.clone()]).is_err());
    let list = TrustList {
        keys: vec![
            impostor.clone(),
            TrustedKey::active(key.verifying_key(), signed_at()),
        ],
        ..Default::default()
    };
    assert!(decode(&text).expect("decode").verify(&list).is_ok());
    let only_impostor = TrustList {
        keys: vec![impostor],
        ..Default::default()
    };
    assert_eq!(
        decode(&text)
            .expect("decode")
            .verify(&only_impostor)
            .map(|_| ()),
        Err(SignatureFailure::InvalidSignature)
    );
}

#[test]
fn claims_that_are_not_the_deterministic_encoding_are_refused() {
    let card_bytes = claims::encode_claims(&reference::card(), signed_at());
    assert!(claims::decode_claims(&card_bytes).is_ok());
    // The same map with a 2-byte integer where 1 byte suffices (iss key 1 written as 0x18 0x01).
    let mut long_key = vec![card_bytes[0], 0x18, 0x01];
    long_key.extend_from_slice(&card_bytes[2..]);
    assert!(claims::decode_claims(&long_key).is_err());
    let mut trailing = card_bytes.clone();
    trailing.push(0xf6);
    assert!(claims::decode_claims(&trailing).is_err());
}

/// An interim permit is the same card with a document-type claim (13 => 1) after the others; a card
/// without it is a resident card, and an unknown type, or a period longer than the type allows, is
/// refused.
#[test]
fn an_interim_permit_carries_its_type_and_a_resident_card_carries_none() {
    let card = reference::card();
    let resident = claims::encode_claims(&card, signed_at());
    let from = card.validity().from();
    let short =
        ValidityPeriod::new(from, DocumentType::Interim.latest_end(from)).expect("two months");
    let interim = Card::new(
        card.serial(),
        card.itn(),
        card.holder().clone(),
        card.permit(),
        short,
        None,
    )
    .and_then(|c| c.with_document(DocumentType::Interim))
    .expect("interim");
    let bytes = claims::encode_claims(&interim, signed_at());
    assert_eq!(
        &bytes[bytes.len() - 2..],
        [0x0d, 0x01],
        "13 => 1 closes the card map"
    );
    let read = claims::decode_claims(&bytes).expect("decode");
    assert_eq!(read.card.document(), DocumentType::Interim);
    assert_eq!(
        claims::decode_claims(&resident)
            .expect("decode")
            .card
            .document(),
        DocumentType::ResidentCard
    );
    let mut unknown = bytes.clone();
    *unknown.last_mut().expect("byte") = 0x02;
    assert!(claims::decode_claims(&unknown).is_err());
    // The reference card's year-long period under an interim type.
    assert!(card.clone().with_document(DocumentType::Interim).is_err());
    // The card claim's key, -65537, is 3a 00 01 00 00; the card map's head follows it.
    let mut long = resident.clone();
    let head = 5 + resident
        .windows(5)
        .position(|w| w == [0x3a, 0x00, 0x01, 0x00, 0x00])
        .expect("the card claim");
    long[head] += 1;
    long.extend_from_slice(&[0x0d, 0x01]);
    assert!(
        claims::decode_claims(&long).is_err(),
        "a year-long interim permit does not read"
    );
}

fn latin() -> impl Strategy<Value = String> {
    "[A-Z]{1,12}([ '-][A-Z]{1,12}){0,3}"
}

prop_compose! {
    fn arb_card()(
        sequence in 1u32..=Serial::MAX_SEQUENCE,
        itn_seq in 1u16..=Itn::MAX_SEQUENCE,
        surname in latin(),
        given in proptest::option::of(latin()),
        native in proptest::option::of("[а-яА-ЯёЁ]{1,10}( [а-яА-Я]{1,10})?"),
        birth_days in -25_000i64..20_000,
        sex in proptest::option::of(prop_oneof![Just(Sex::F), Just(Sex::M), Just(Sex::X)]),
        nationality in prop_oneof![Just("UZB"), Just("KAZ"), Just("RUS"), Just("XXA"), Just("CHN")],
        permit in 0u64..5,
        start_after_birth in 0i64..30_000,
        length in 0i64..365,
        digest in proptest::option::of(any::<[u8; 16]>()),
        interim in any::<bool>(),
    ) -> Card {
        let dob = crate::domain::date::date_from_epoch_days(birth_days).expect("dob");
        let from = dob + chrono::Duration::days(start_after_birth);
        let holder = Holder {
            surname: LatinName::surname(&surname).expect("surname"),
            given_names: LatinName::given_names(&given.unwrap_or_default()).expect("given"),
            native_name: native.map(|n| NativeName::parse(&n).expect("native")),
            date_of_birth: dob,
            sex,
            nationality: Nationality::parse(nationality).expect("nationality"),
        };
        let document = if interim { DocumentType::Interim } else { DocumentType::ResidentCard };
        let until = from + chrono::Duration::days(length);
        let validity = ValidityPeriod::new(from, until.min(document.latest_end(from))).expect("validity");
        Card::new(
            Serial::from_sequence(sequence).expect("serial"),
            Itn::assign(dob, itn_seq).expect("itn"),
            holder,
            Permit::from_code(permit).expect("permit"),
            validity,
            digest,
        ).and_then(|c| c.with_document(document)).expect("card")
    }
}

proptest! {
    #[test]
    fn any_valid_card_round_trips(card in arb_card(), secs in 1_600_000_000i64..2_000_000_000) {
        let key = key();
        let at = DateTime::from_timestamp(secs, 0).expect("time");
        let text = encode(&card, at, &key).expect("signs");
        let claims = decode(&text).expect("decode").verify(&trust(&key)).expect("verify").claims().expect("claims");
        prop_assert_eq!(claims.card, card);
        prop_assert_eq!(claims.issued_at, at);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = decode(&text);
        let _ = decode(&format!("RC1:{text}"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_cose(&bytes);
        let _ = claims::decode_claims(&bytes);
        let mut tagged = vec![0xd2, 0x84];
        tagged.extend_from_slice(&bytes);
        let _ = decode_cose(&tagged);
    }
}

#[test]
fn dates_are_days_since_the_epoch() {
    let d = NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
    assert_eq!(crate::domain::date::days_since_epoch(d), 0);
}

#[test]
fn the_signed_bytes_are_the_rfc_9052_sig_structure() {
    for len in [0usize, 5, 23, 24, 97, 255, 256, 70_000] {
        let mut sign1 = CoseSign1::from_tagged_slice(
            &encode_cose(&reference::card(), signed_at(), &key()).expect("signs"),
        )
        .expect("cose");
        sign1.payload = Some(vec![0xab; len]);
        let ours = sig_structure(
            sign1.protected.original_data.as_deref().unwrap_or_default(),
            sign1.payload.as_deref().unwrap_or_default(),
        );
        assert_eq!(ours, sign1.tbs_data(&[]), "payload of {len} bytes");
    }
}

#[test]
fn the_direct_envelope_reader_agrees_with_coset_on_every_length_and_every_changed_byte() {
    let key = key();
    for len in [0, 1, 23, 24, 25, 97, 255, 256, 257, 1000] {
        let bytes = sign1(vec![0x5a; len], &key).expect("signs");
        let direct = read_envelope(&bytes).expect("a payload of this length is read directly");
        assert_eq!(
            Ok(direct),
            decode_cose_checked(&bytes),
            "payload of {len} bytes"
        );
    }
    let bytes = encode_cose(&reference::card(), signed_at(), &key).expect("signs");
    for i in 0..bytes.len() {
        for value in [
            0x00,
            0x01,
            0x18,
            0x40,
            0x58,
            0x59,
            0xa0,
            0xff,
            bytes[i] ^ 0x01,
        ] {
            let mut changed = bytes.clone();
            changed[i] = value;
            if let Some(direct) = read_envelope(&changed) {
                assert_eq!(
                    Ok(direct),
                    decode_cose_checked(&changed),
                    "byte {i} set to {value:#04x}"
                );
            }
        }
        // Cut short, and with a byte more: never read directly.
        assert!(read_envelope(&bytes[..i]).is_none());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(read_envelope(&longer).is_none());
    // A length in a longer form than needed is not the deterministic encoding.
    let mut long_form = bytes[..16].to_vec();
    long_form.extend_from_slice(&[0x58, 0x05, 1, 2, 3, 4, 5, 0x58, 0x40]);
    long_form.extend_from_slice(&[7; 64]);
    assert!(read_envelope(&long_form).is_none());
    assert!(decode_cose(&long_form).is_err());
}
