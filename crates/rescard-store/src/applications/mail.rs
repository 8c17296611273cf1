//! The applicant's messages, in the application's language. They name the application and its new
//! status, and what the applicant is told (a request for information, a refusal's reason): never an
//! ITN, a passport number or any other field of the request.

use rescard_core::application::ApplicationStatus;

use super::ApplicationRow;

/// What a status is called in a message, by language (ky, ru, en).
fn status_words(status: ApplicationStatus) -> [&'static str; 3] {
    use ApplicationStatus::*;
    match status {
        Draft => ["толтурулууда", "заполняется", "being completed"],
        Submitted => [
            "кароого жөнөтүлдү",
            "отправлено на рассмотрение",
            "submitted for review",
        ],
        InReview => ["каралууда", "на рассмотрении", "under review"],
        NeedsInfo => [
            "кошумча маалымат талап кылынат",
            "требуются дополнительные сведения",
            "more information is needed",
        ],
        Approved => ["жактырылды", "одобрено", "approved"],
        Refused => ["четке кагылды", "отказано", "refused"],
        Withdrawn => ["кайтарылып алынды", "отозвано", "withdrawn"],
    }
}

fn index(lang: &str) -> usize {
    match lang {
        "ky" => 0,
        "ru" => 1,
        _ => 2,
    }
}

/// The subject and body of the message telling the applicant where `row` now stands.
pub(crate) fn status_message(row: &ApplicationRow, note: Option<&str>) -> (String, String) {
    let i = index(&row.lang);
    let status = status_words(row.status)[i];
    let id = &row.id;
    let subject = [
        format!("Арыз {id}: {status}"),
        format!("Заявление {id}: {status}"),
        format!("Application {id}: {status}"),
    ][i]
        .clone();
    let mut body = [
        format!("Сиздин {id} арызыңыз: {status}."),
        format!("Ваше заявление {id}: {status}."),
        format!("Your application {id} is {status}."),
    ][i]
        .clone();
    if let Some(note) = note {
        body.push_str("\n\n");
        body.push_str(note);
    }
    if row.status == ApplicationStatus::Draft {
        body.push_str(
            [
                "\n\nКеректүү документтерди жүктөп, арызды жөнөтүңүз.",
                "\n\nЗагрузите нужные документы и отправьте заявление.",
                "\n\nUpload the documents it needs, then submit it.",
            ][i],
        );
    }
    if row.status == ApplicationStatus::Approved {
        body.push_str(
            [
                "\n\nКартаңызды арыздын абалы баракчасынан жүктөп алыңыз.",
                "\n\nКарту можно скачать на странице статуса заявления.",
                "\n\nDownload your card from the application's status page.",
            ][i],
        );
    }
    body.push_str(
        [
            "\n\n— Кыргыз Республикасынын резиденттик карталар реестри",
            "\n\n— Реестр карт резидента Кыргызской Республики",
            "\n\n— The Kyrgyz Republic's resident card registry",
        ][i],
    );
    (subject, body)
}

/// The reminder to the holder of `row`'s card that it ends on `last_day`.
pub(crate) fn expiry_reminder(
    row: &ApplicationRow,
    last_day: chrono::NaiveDate,
) -> (String, String) {
    let i = index(&row.lang);
    let day = last_day.format("%d.%m.%Y");
    let serial = row.issued_serial.map(|s| s.to_string()).unwrap_or_default();
    let subject = [
        format!("Картаңыздын мөөнөтү {day} бүтөт"),
        format!("Срок действия вашей карты истекает {day}"),
        format!("Your card ends on {day}"),
    ][i]
        .clone();
    let body = [
        format!("{serial} картаңыз {day} чейин жарактуу. Узартуу үчүн арызды ошол күнгө чейин бериңиз.\n\n— Кыргыз Республикасынын резиденттик карталар реестри"),
        format!("Ваша карта {serial} действует до {day}. Подайте заявление о продлении до этой даты.\n\n— Реестр карт резидента Кыргызской Республики"),
        format!("Your card {serial} is valid until {day}. Apply for an extension before then.\n\n— The Kyrgyz Republic's resident card registry"),
    ][i]
        .clone();
    (subject, body)
}
