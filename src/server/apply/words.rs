//! The applicant's pages' words in Kyrgyz, Russian and English: one field per phrase, so a phrase
//! missing in a language does not compile; names of kinds, statuses, documents and purposes are
//! arrays in their enums' order.

use rescard_core::Permit;
use rescard_core::application::{ApplicationKind, ApplicationStatus, DocumentName};

use crate::server::i18n::{Lang, PerLang};

/// The pages' phrases in one language.
pub struct Words {
    pub title: &'static str,
    pub language: &'static str,
    pub start_over: &'static str,
    pub intro: &'static str,
    pub choose: &'static str,
    pub follow: &'static str,
    pub follow_hint: &'static str,
    pub id: &'static str,
    pub secret: &'static str,
    pub open: &'static str,
    pub required_note: &'static str,
    pub email: &'static str,
    pub email_hint: &'static str,
    pub message_lang: &'static str,
    pub surname: &'static str,
    pub latin_hint: &'static str,
    pub given_names: &'static str,
    pub native_name: &'static str,
    pub date_of_birth: &'static str,
    pub date_hint: &'static str,
    pub sex: &'static str,
    pub nationality: &'static str,
    pub nationality_hint: &'static str,
    pub permit: &'static str,
    pub valid_from: &'static str,
    pub valid_until: &'static str,
    pub period_hint: &'static str,
    pub interim_hint: &'static str,
    pub extension_until: &'static str,
    pub passport_number: &'static str,
    pub serial: &'static str,
    pub proof_hint: &'static str,
    pub file: &'static str,
    pub filed: &'static str,
    pub your_id: &'static str,
    pub your_secret: &'static str,
    pub secret_warning: &'static str,
    pub continue_to: &'static str,
    pub status: &'static str,
    pub missing: &'static str,
    pub nothing_missing: &'static str,
    pub asked: &'static str,
    pub upload: &'static str,
    pub document: &'static str,
    pub document_file: &'static str,
    pub upload_button: &'static str,
    pub uploaded: &'static str,
    pub submit: &'static str,
    pub withdraw: &'static str,
    pub confirm_withdraw: &'static str,
    pub fee: &'static str,
    pub how_to_pay: &'static str,
    pub paid: &'static str,
    pub unpaid: &'static str,
    pub decision: &'static str,
    pub reason: &'static str,
    pub download_card: &'static str,
    pub download_qr: &'static str,
    pub history: &'static str,
    pub when: &'static str,
    pub what: &'static str,
    pub som: &'static str,
    pub done_upload: &'static str,
    pub done_submit: &'static str,
    pub done_withdraw: &'static str,
    pub sexes: [&'static str; 3],
    kinds: [&'static str; 4],
    kind_hints: [&'static str; 4],
    statuses: [&'static str; 7],
    documents: [&'static str; 5],
    permits: [&'static str; 5],
    /// What happened, in the order of [`ACTIONS`].
    actions: [&'static str; 8],
}

/// The history's actions, as the registry records them.
const ACTIONS: [&str; 8] = [
    "file", "submit", "review", "pay", "approve", "refuse", "withdraw", "purge",
];

fn at<T: PartialEq + Copy, const N: usize>(all: &[T; N], x: T) -> usize {
    all.iter().position(|y| *y == x).unwrap_or(0)
}

impl Words {
    /// The words in `lang`.
    pub fn of(lang: Lang) -> &'static Words {
        WORDS.get(lang)
    }
    /// A kind's name.
    pub fn kind(&self, k: ApplicationKind) -> &'static str {
        self.kinds[at(&ApplicationKind::ALL, k)]
    }
    /// What a kind is for.
    pub fn kind_hint(&self, k: ApplicationKind) -> &'static str {
        self.kind_hints[at(&ApplicationKind::ALL, k)]
    }
    /// A status's name.
    pub fn status_name(&self, s: ApplicationStatus) -> &'static str {
        self.statuses[at(&ApplicationStatus::ALL, s)]
    }
    /// A document's name.
    pub fn document_name(&self, d: DocumentName) -> &'static str {
        self.documents[at(&DocumentName::ALL, d)]
    }
    /// What happened, as the history records it (`document passport` names the document).
    pub fn action(&self, recorded: &str) -> String {
        if let Some(name) = recorded.strip_prefix("document ") {
            let name = DocumentName::parse(name).map_or(name, |d| self.document_name(d));
            return format!("{}: {name}", self.upload_button);
        }
        ACTIONS
            .iter()
            .position(|a| *a == recorded)
            .map_or_else(|| recorded.to_owned(), |i| self.actions[i].to_owned())
    }

    /// A purpose of stay.
    pub fn permit_name(&self, p: Permit) -> &'static str {
        self.permits[at(&Permit::ALL, p)]
    }

    #[cfg(test)]
    fn all(&self) -> Vec<&'static str> {
        let mut v = vec![
            self.title,
            self.language,
            self.start_over,
            self.intro,
            self.choose,
            self.follow,
            self.follow_hint,
            self.id,
            self.secret,
            self.open,
            self.required_note,
            self.email,
            self.email_hint,
            self.message_lang,
            self.surname,
            self.latin_hint,
            self.given_names,
            self.native_name,
            self.date_of_birth,
            self.date_hint,
            self.sex,
            self.nationality,
            self.nationality_hint,
            self.permit,
            self.valid_from,
            self.valid_until,
            self.period_hint,
            self.interim_hint,
            self.extension_until,
            self.passport_number,
            self.serial,
            self.proof_hint,
            self.file,
            self.filed,
            self.your_id,
            self.your_secret,
            self.secret_warning,
            self.continue_to,
            self.status,
            self.missing,
            self.nothing_missing,
            self.asked,
            self.upload,
            self.document,
            self.document_file,
            self.upload_button,
            self.uploaded,
            self.submit,
            self.withdraw,
            self.confirm_withdraw,
            self.fee,
            self.how_to_pay,
            self.paid,
            self.unpaid,
            self.decision,
            self.reason,
            self.download_card,
            self.download_qr,
            self.history,
            self.when,
            self.what,
            self.som,
            self.done_upload,
            self.done_submit,
            self.done_withdraw,
        ];
        v.extend(self.sexes);
        v.extend(self.kinds);
        v.extend(self.kind_hints);
        v.extend(self.statuses);
        v.extend(self.documents);
        v.extend(self.permits);
        v.extend(self.actions);
        v
    }
}

static WORDS: PerLang<Words> = PerLang {
    ky: Words {
        title: "Резиденттин картасына онлайн арыз",
        language: "Тил",
        start_over: "Башкы бет",
        intro: "Кыргыз Республикасында убактылуу жашоого арызды консулдукка келбей эле ушул жерден бере аласыз. Арызды толтуруп, документтерди жүктөп, мамлекеттик алымды төлөңүз; эки кызматкер карап чыгат, чечим электрондук почтаңызга келет.",
        choose: "Эмне үчүн арыз бересиз?",
        follow: "Арызымды көрүү",
        follow_hint: "Арыздын номери жана купуя коду арыз бергенде көрсөтүлгөн.",
        id: "Арыздын номери",
        secret: "Купуя код",
        open: "Ачуу",
        required_note: "* милдеттүү талаа",
        email: "Электрондук почта",
        email_hint: "Арыздын ар бир өзгөрүүсү ушул дарекке жазылат.",
        message_lang: "Каттардын тили",
        surname: "Фамилиясы",
        latin_hint: "Латын тамгалары менен, паспорттогудай.",
        given_names: "Аты",
        native_name: "Аты-жөнү эне тилинде",
        date_of_birth: "Туулган күнү",
        date_hint: "Мисалы 1991-04-17.",
        sex: "Жынысы",
        nationality: "Жарандыгы",
        nationality_hint: "ISO коду, мисалы UZB, RUS, KAZ.",
        permit: "Болуу максаты",
        valid_from: "Качандан баштап",
        valid_until: "Качанга чейин",
        period_hint: "Эң көп дегенде бир жыл.",
        interim_hint: "Эң көп дегенде эки ай.",
        extension_until: "Жаңы аяктоо күнү",
        passport_number: "Паспортунун номери",
        serial: "Картанын номери",
        proof_hint: "Картанын номери, паспортуңуздун номери жана туулган күнүңүз бир картага туура келиши керек.",
        file: "Арызды берүү",
        filed: "Арыз берилди",
        your_id: "Арызыңыздын номери",
        your_secret: "Купуя кодуңуз",
        secret_warning: "Бул кодду жазып алыңыз: ал бир гана жолу көрсөтүлөт жана арызыңызды ачат. Аны эч кимге бербеңиз.",
        continue_to: "Документтерди жүктөөгө өтүү",
        status: "Абалы",
        missing: "Жетишпеген документтер",
        nothing_missing: "Бардык керектүү документтер жүктөлдү.",
        asked: "Кызматкер сурайт",
        upload: "Документ жүктөө",
        document: "Документ",
        document_file: "Файл (JPEG, PNG же PDF, 8 МиБ чейин)",
        upload_button: "Жүктөө",
        uploaded: "Жүктөлгөн документтер",
        submit: "Арызды кароого жөнөтүү",
        withdraw: "Арызды кайтарып алуу",
        confirm_withdraw: "Ырастайм: арызды кайтарып алам, муну артка кайтарууга болбойт",
        fee: "Мамлекеттик алым",
        how_to_pay: "Каалаган банкта арыздын номерин көрсөтүп төлөңүз; банк төлөмдү реестрге өзү билдирет.",
        paid: "төлөндү",
        unpaid: "азырынча төлөнгөн жок",
        decision: "Чечим",
        reason: "Себеби",
        download_card: "Картаны жүктөп алуу",
        download_qr: "QR-кодду жүктөп алуу",
        history: "Тарыхы",
        when: "Качан",
        what: "Эмне",
        som: "сом",
        done_upload: "Документ жүктөлдү",
        done_submit: "Арыз кароого жөнөтүлдү",
        done_withdraw: "Арыз кайтарылып алынды",
        sexes: ["аял", "эркек", "көрсөтүлгөн эмес"],
        kinds: [
            "Резиденттин картасы",
            "Убактылуу уруксат",
            "Картаны узартуу",
            "Картаны алмаштыруу",
        ],
        kind_hints: [
            "Бир жылга чейин убактылуу жашоо, ИСН менен.",
            "Бирдиктүү терезенин документи: резиденттин картасына чейин эки айга чейин.",
            "Колдонуудагы картаңыздын мөөнөтүн бир жылга чейин узартуу.",
            "Жоголгон же бузулган картанын ордуна жаңы карта.",
        ],
        statuses: [
            "толтурулууда",
            "кароого жөнөтүлдү",
            "каралууда",
            "кошумча маалымат керек",
            "жактырылды",
            "четке кагылды",
            "кайтарылып алынды",
        ],
        documents: [
            "Паспорт",
            "Сүрөт",
            "Эмгек келишими",
            "Арыз-билдирүү (жоготуу же бузулуу тууралуу)",
            "Башка документ",
        ],
        permits: ["Эмгек", "Окуу", "Үй-бүлө", "Ишкердик", "Башка"],
        actions: [
            "Арыз берилди",
            "Кароого жөнөтүлдү",
            "Кызматкер карады",
            "Алым төлөндү",
            "Жактырылды",
            "Четке кагылды",
            "Кайтарылып алынды",
            "Документтер өчүрүлдү",
        ],
    },
    ru: Words {
        title: "Заявление на карту резидента онлайн",
        language: "Язык",
        start_over: "На главную",
        intro: "Подать заявление на временное проживание в Кыргызской Республике можно здесь, без визита в консульство. Заполните заявление, загрузите документы и оплатите госпошлину; его рассмотрят два сотрудника, решение придёт на вашу почту.",
        choose: "О чём заявление?",
        follow: "Моё заявление",
        follow_hint: "Номер заявления и секретный код были показаны при подаче.",
        id: "Номер заявления",
        secret: "Секретный код",
        open: "Открыть",
        required_note: "* обязательное поле",
        email: "Электронная почта",
        email_hint: "На этот адрес придёт письмо о каждом изменении заявления.",
        message_lang: "Язык писем",
        surname: "Фамилия",
        latin_hint: "Латиницей, как в паспорте.",
        given_names: "Имя",
        native_name: "Имя в родной письменности",
        date_of_birth: "Дата рождения",
        date_hint: "Например 1991-04-17.",
        sex: "Пол",
        nationality: "Гражданство",
        nationality_hint: "Код ISO, например UZB, RUS, KAZ.",
        permit: "Цель пребывания",
        valid_from: "С какого дня",
        valid_until: "По какой день",
        period_hint: "Не больше одного года.",
        interim_hint: "Не больше двух месяцев.",
        extension_until: "Новая дата окончания",
        passport_number: "Номер паспорта",
        serial: "Номер карты",
        proof_hint: "Номер карты, номер паспорта и дата рождения должны относиться к одной карте.",
        file: "Подать заявление",
        filed: "Заявление подано",
        your_id: "Номер вашего заявления",
        your_secret: "Ваш секретный код",
        secret_warning: "Запишите этот код: он показан один раз и открывает ваше заявление. Никому его не сообщайте.",
        continue_to: "Перейти к загрузке документов",
        status: "Состояние",
        missing: "Не хватает документов",
        nothing_missing: "Все нужные документы загружены.",
        asked: "Сотрудник просит",
        upload: "Загрузить документ",
        document: "Документ",
        document_file: "Файл (JPEG, PNG или PDF, до 8 МиБ)",
        upload_button: "Загрузить",
        uploaded: "Загруженные документы",
        submit: "Отправить на рассмотрение",
        withdraw: "Отозвать заявление",
        confirm_withdraw: "Подтверждаю: отзываю заявление, это нельзя отменить",
        fee: "Госпошлина",
        how_to_pay: "Оплатите в любом банке, указав номер заявления; банк сам сообщит об оплате в реестр.",
        paid: "оплачена",
        unpaid: "ещё не оплачена",
        decision: "Решение",
        reason: "Причина",
        download_card: "Скачать карту",
        download_qr: "Скачать QR-код",
        history: "История",
        when: "Когда",
        what: "Что",
        som: "сом",
        done_upload: "Документ загружен",
        done_submit: "Заявление отправлено на рассмотрение",
        done_withdraw: "Заявление отозвано",
        sexes: ["женский", "мужской", "не указан"],
        kinds: [
            "Карта резидента",
            "Временное разрешение",
            "Продление карты",
            "Замена карты",
        ],
        kind_hints: [
            "Временное проживание до одного года, с ИНН.",
            "Документ Единого окна: до двух месяцев, до получения карты резидента.",
            "Продление действующей карты ещё на срок до одного года.",
            "Новая карта взамен утерянной или повреждённой.",
        ],
        statuses: [
            "заполняется",
            "отправлено на рассмотрение",
            "на рассмотрении",
            "нужны сведения",
            "одобрено",
            "отказано",
            "отозвано",
        ],
        documents: [
            "Паспорт",
            "Фотография",
            "Трудовой договор",
            "Заявление (об утере или повреждении)",
            "Другой документ",
        ],
        permits: ["Работа", "Учёба", "Семья", "Предпринимательство", "Иное"],
        actions: [
            "Заявление подано",
            "Отправлено на рассмотрение",
            "Рассмотрено сотрудником",
            "Пошлина оплачена",
            "Одобрено",
            "Отказано",
            "Отозвано",
            "Документы удалены",
        ],
    },
    en: Words {
        title: "Apply online for a resident card",
        language: "Language",
        start_over: "Start",
        intro: "You can apply here for temporary residence in the Kyrgyz Republic, without going to a consulate. Fill in the application, upload the documents and pay the state fee; two officers review it, and the decision comes to your email.",
        choose: "What do you apply for?",
        follow: "My application",
        follow_hint: "The application number and secret were shown when you applied.",
        id: "Application number",
        secret: "Secret",
        open: "Open",
        required_note: "* required",
        email: "Email",
        email_hint: "Every change of your application is mailed to this address.",
        message_lang: "Language of the messages",
        surname: "Surname",
        latin_hint: "In Latin letters, as in the passport.",
        given_names: "Given names",
        native_name: "Name in your native script",
        date_of_birth: "Date of birth",
        date_hint: "For example 1991-04-17.",
        sex: "Sex",
        nationality: "Nationality",
        nationality_hint: "ISO code, for example UZB, RUS, KAZ.",
        permit: "Purpose of stay",
        valid_from: "From",
        valid_until: "Until",
        period_hint: "One year at most.",
        interim_hint: "Two months at most.",
        extension_until: "New last day",
        passport_number: "Passport number",
        serial: "Card number",
        proof_hint: "The card number, your passport number and your date of birth must be one card's.",
        file: "Apply",
        filed: "Application filed",
        your_id: "Your application number",
        your_secret: "Your secret",
        secret_warning: "Write this secret down: it is shown this once, and it opens your application. Give it to nobody.",
        continue_to: "Go on to upload the documents",
        status: "Status",
        missing: "Documents still missing",
        nothing_missing: "Every document needed is uploaded.",
        asked: "The officer asks",
        upload: "Upload a document",
        document: "Document",
        document_file: "File (JPEG, PNG or PDF, up to 8 MiB)",
        upload_button: "Upload",
        uploaded: "Documents uploaded",
        submit: "Submit for review",
        withdraw: "Withdraw the application",
        confirm_withdraw: "I confirm: I withdraw the application, which cannot be undone",
        fee: "State fee",
        how_to_pay: "Pay at any bank, giving the application number; the bank tells the registry.",
        paid: "paid",
        unpaid: "not paid yet",
        decision: "Decision",
        reason: "Reason",
        download_card: "Download the card",
        download_qr: "Download the QR code",
        history: "History",
        when: "When",
        what: "What",
        som: "som",
        done_upload: "Document uploaded",
        done_submit: "Submitted for review",
        done_withdraw: "Application withdrawn",
        sexes: ["female", "male", "unspecified"],
        kinds: [
            "Resident card",
            "Interim permit",
            "Extension of a card",
            "Replacement of a card",
        ],
        kind_hints: [
            "Temporary residence for up to one year, with a taxpayer number.",
            "The Unified Window's document: up to two months, before a resident card.",
            "Your card's validity extended by up to one more year.",
            "A new card for one lost or damaged.",
        ],
        statuses: [
            "being completed",
            "submitted for review",
            "under review",
            "more information needed",
            "approved",
            "refused",
            "withdrawn",
        ],
        documents: [
            "Passport",
            "Photo",
            "Employment contract",
            "Statement (of loss or damage)",
            "Other document",
        ],
        permits: ["Work", "Study", "Family", "Business", "Other"],
        actions: [
            "Filed",
            "Submitted for review",
            "Reviewed by an officer",
            "Fee paid",
            "Approved",
            "Refused",
            "Withdrawn",
            "Documents deleted",
        ],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_is_there_in_every_language() {
        let en = Words::of(Lang::En).all();
        for lang in [Lang::Ky, Lang::Ru] {
            let words = Words::of(lang).all();
            assert_eq!(words.len(), en.len());
            for (w, e) in words.iter().zip(&en) {
                assert!(!w.trim().is_empty(), "{lang}: {e:?} is empty");
                assert_ne!(w, e, "{lang}: {e:?} is not translated");
            }
        }
    }
}
