//! The console's words in Kyrgyz, Russian and English: one field per phrase, so a phrase missing in a
//! language does not compile; the words for a state, a purpose or an act are matches over their enums.

use rescard_core::application::{ApplicationKind, ApplicationStatus};
use rescard_core::rules::Act;
use rescard_core::verify::CardState;
use rescard_core::{DocumentType, Permit};

use crate::server::i18n::{Lang, PerLang};

/// The console's phrases in one language.
pub struct Words {
    pub console: &'static str,
    pub menu: &'static str,
    pub language: &'static str,
    pub home: &'static str,
    pub statistics: &'static str,
    pub audit: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub token: &'static str,
    pub token_hint: &'static str,
    pub find: &'static str,
    pub open: &'static str,
    pub issue: &'static str,
    pub issue_button: &'static str,
    pub surname: &'static str,
    pub given_names: &'static str,
    pub native_name: &'static str,
    pub date_of_birth: &'static str,
    pub sex: &'static str,
    pub nationality: &'static str,
    pub permit: &'static str,
    pub valid_from: &'static str,
    pub valid_until: &'static str,
    pub passport_number: &'static str,
    pub portrait: &'static str,
    pub card: &'static str,
    pub reason: &'static str,
    pub replaced_by: &'static str,
    pub download_card: &'static str,
    pub download_qr: &'static str,
    pub new_valid_until: &'static str,
    pub confirm_final: &'static str,
    pub history: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub what: &'static str,
    pub expiring: &'static str,
    pub by_state: &'static str,
    pub by_permit: &'static str,
    pub by_nationality: &'static str,
    pub issued_per_month: &'static str,
    pub export_csv: &'static str,
    pub done_issue: &'static str,
    pub document: &'static str,
    pub applications: &'static str,
    pub queue_filter: &'static str,
    pub any: &'static str,
    pub kind: &'static str,
    pub status: &'static str,
    pub older_than_days: &'static str,
    pub show: &'static str,
    pub filed: &'static str,
    pub filed_by: &'static str,
    pub fee: &'static str,
    pub paid: &'static str,
    pub unpaid: &'static str,
    pub next_page: &'static str,
    pub none_waiting: &'static str,
    pub request: &'static str,
    pub documents_heading: &'static str,
    pub info_request: &'static str,
    pub review: &'static str,
    pub reviewed_by: &'static str,
    pub note: &'static str,
    pub recommendation: &'static str,
    pub send_review: &'static str,
    pub decision: &'static str,
    pub four_eyes: &'static str,
    pub decide: &'static str,
    pub issued_card: &'static str,
    pub done_review: &'static str,
    pub done_decision: &'static str,
    /// Application kinds, in [`ApplicationKind::ALL`]'s order.
    kinds: [&'static str; 4],
    /// Application statuses, in [`ApplicationStatus::ALL`]'s order.
    statuses_applications: [&'static str; 7],
    /// Recommendations: approve, refuse, request_info.
    pub recommendations: [&'static str; 3],
    /// Decisions: approve, refuse.
    pub decisions: [&'static str; 2],
    /// Document types: resident card, interim permit.
    documents: [&'static str; 2],
    /// Purposes of stay: work, study, family, business, other.
    permits: [&'static str; 5],
    /// Card states: active, suspended, revoked, replaced.
    states: [&'static str; 4],
    /// Acts, in the order of [`Act::ALL`]: extend, reinstate, suspend, replace, revoke.
    acts: [&'static str; 5],
    /// What an act did, in the same order.
    done: [&'static str; 5],
}

impl Words {
    /// The console's words in `lang`.
    pub fn of(lang: Lang) -> &'static Words {
        WORDS.get(lang)
    }

    /// A purpose of stay.
    pub fn permit_name(&self, p: Permit) -> &'static str {
        let i = Permit::ALL.iter().position(|x| *x == p).unwrap_or(0);
        self.permits[i]
    }

    /// A document type.
    pub fn document_name(&self, d: DocumentType) -> &'static str {
        let i = DocumentType::ALL.iter().position(|x| *x == d).unwrap_or(0);
        self.documents[i]
    }

    /// An application kind.
    pub fn kind_name(&self, k: ApplicationKind) -> &'static str {
        let i = ApplicationKind::ALL
            .iter()
            .position(|x| *x == k)
            .unwrap_or(0);
        self.kinds[i]
    }

    /// An application status.
    pub fn application_status(&self, s: ApplicationStatus) -> &'static str {
        let i = ApplicationStatus::ALL
            .iter()
            .position(|x| *x == s)
            .unwrap_or(0);
        self.statuses_applications[i]
    }

    /// A card state.
    pub fn state(&self, s: CardState) -> &'static str {
        let i = CardState::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.states[i]
    }

    /// An act, as the title and button of its form.
    pub fn act(&self, a: Act) -> &'static str {
        self.acts[Self::act_index(a)]
    }

    /// What an act did, for the notice after it.
    pub fn done(&self, a: Act) -> &'static str {
        self.done[Self::act_index(a)]
    }

    fn act_index(a: Act) -> usize {
        Act::ALL.iter().position(|x| *x == a).unwrap_or(0)
    }

    /// Every phrase, for the test that none is empty.
    #[cfg(test)]
    fn all(&self) -> Vec<&'static str> {
        let mut v = vec![
            self.console,
            self.menu,
            self.language,
            self.home,
            self.statistics,
            self.audit,
            self.sign_in,
            self.sign_out,
            self.token,
            self.token_hint,
            self.find,
            self.open,
            self.issue,
            self.issue_button,
            self.surname,
            self.given_names,
            self.native_name,
            self.date_of_birth,
            self.sex,
            self.nationality,
            self.permit,
            self.valid_from,
            self.valid_until,
            self.passport_number,
            self.portrait,
            self.card,
            self.reason,
            self.replaced_by,
            self.download_card,
            self.download_qr,
            self.new_valid_until,
            self.confirm_final,
            self.history,
            self.when,
            self.who,
            self.what,
            self.expiring,
            self.by_state,
            self.by_permit,
            self.by_nationality,
            self.issued_per_month,
            self.export_csv,
            self.done_issue,
            self.document,
            self.applications,
            self.queue_filter,
            self.any,
            self.kind,
            self.status,
            self.older_than_days,
            self.show,
            self.filed,
            self.filed_by,
            self.fee,
            self.paid,
            self.unpaid,
            self.next_page,
            self.none_waiting,
            self.request,
            self.documents_heading,
            self.info_request,
            self.review,
            self.reviewed_by,
            self.note,
            self.recommendation,
            self.send_review,
            self.decision,
            self.four_eyes,
            self.decide,
            self.issued_card,
            self.done_review,
            self.done_decision,
        ];
        v.extend(self.kinds);
        v.extend(self.statuses_applications);
        v.extend(self.recommendations);
        v.extend(self.decisions);
        v.extend(self.documents);
        v.extend(self.permits);
        v.extend(self.states);
        v.extend(self.acts);
        v.extend(self.done);
        v
    }
}

static WORDS: PerLang<Words> = PerLang {
    ky: Words {
        console: "rescard: кызматкердин консолу",
        menu: "Меню",
        language: "Тил",
        home: "Карталар",
        statistics: "Статистика",
        audit: "Аудит журналы",
        sign_in: "Кирүү",
        sign_out: "Чыгуу",
        token: "Кызматкердин токени",
        token_hint: "`rescard token create --role issuer` буйругу берген токен. Чыкмайынча ушул браузерде сакталат.",
        find: "Картаны номери боюнча табуу",
        open: "Ачуу",
        issue: "Карта берүү",
        issue_button: "Картаны берүү",
        surname: "Фамилиясы (латын тамгалары менен, паспорттогудай)",
        given_names: "Аты (латын тамгалары менен)",
        native_name: "Аты-жөнү эне тилинде",
        date_of_birth: "Туулган күнү",
        sex: "Жынысы",
        nationality: "Жарандыгы (ISO коду, мисалы UZB)",
        permit: "Болуу максаты",
        valid_from: "Жарактуулугу башталат",
        valid_until: "Жарактуулугу аяктайт",
        passport_number: "Паспортунун номери",
        portrait: "Сүрөтү (PNG же JPEG)",
        card: "Карта",
        reason: "Себеби",
        replaced_by: "Алмаштырган карта",
        download_card: "Басып чыгаруу үчүн картаны жүктөп алуу",
        download_qr: "QR-кодду жүктөп алуу",
        new_valid_until: "Жарактуулуктун жаңы аяктоо күнү",
        confirm_final: "Ырастайм: муну артка кайтарууга болбойт",
        history: "Тарыхы",
        when: "Качан",
        who: "Ким",
        what: "Эмне",
        expiring: "30 күндүн ичинде мөөнөтү бүтө турган жарактуу карталар",
        by_state: "Карталар абалы боюнча",
        by_permit: "Карталар болуу максаты боюнча",
        by_nationality: "Карталар жарандыгы боюнча",
        issued_per_month: "Ай сайын берилген карталар",
        export_csv: "CSV түрүндө жүктөп алуу",
        done_issue: "Карта берилди",
        document: "Документ",
        documents: ["Резиденттин картасы", "Убактылуу уруксат"],
        applications: "Арыздар",
        queue_filter: "Кароо кезеги",
        any: "баары",
        kind: "Түрү",
        status: "Абалы",
        older_than_days: "Канча күн мурун берилген (кеминде)",
        show: "Көрсөтүү",
        filed: "Берилген күнү",
        filed_by: "Ким берди",
        fee: "Алым",
        paid: "төлөндү",
        unpaid: "төлөнгөн жок",
        next_page: "Кийинки бет",
        none_waiting: "Бул чыпкага ылайык арыз жок.",
        request: "Арыздагы маалымат",
        documents_heading: "Документтер",
        info_request: "Арыз ээсинен суралган",
        review: "Кароо",
        reviewed_by: "Карап чыккан",
        note: "Эскертүү (маалымат суралса, арыз ээси окуйт)",
        recommendation: "Сунуш",
        send_review: "Кароону жөнөтүү",
        decision: "Чечим",
        four_eyes: "Чечимди арызды карап чыкпаган башка кызматкер кабыл алат.",
        decide: "Чечимди кабыл алуу",
        issued_card: "Берилген карта",
        done_review: "Кароо жазылды",
        done_decision: "Чечим кабыл алынды",
        kinds: [
            "Резиденттин картасы",
            "Убактылуу уруксат",
            "Узартуу",
            "Алмаштыруу",
        ],
        statuses_applications: [
            "толтурулууда",
            "жөнөтүлдү",
            "каралууда",
            "маалымат керек",
            "жактырылды",
            "четке кагылды",
            "кайтарылып алынды",
        ],
        recommendations: ["Жактыруу", "Четке кагуу", "Маалымат суроо"],
        decisions: ["Жактыруу", "Четке кагуу"],
        permits: ["Эмгек", "Окуу", "Үй-бүлө", "Ишкердик", "Башка"],
        states: [
            "жарактуу",
            "убактылуу токтотулган",
            "жокко чыгарылган",
            "алмаштырылган",
        ],
        acts: [
            "Узартуу",
            "Калыбына келтирүү",
            "Убактылуу токтотуу",
            "Алмаштыруу (жоголгон же бузулган)",
            "Жокко чыгаруу",
        ],
        done: [
            "Узартылды",
            "Калыбына келтирилди",
            "Убактылуу токтотулду",
            "Алмаштыруучу карта берилди: бул жаңы карта",
            "Жокко чыгарылды",
        ],
    },
    ru: Words {
        console: "rescard: консоль сотрудника",
        menu: "Меню",
        language: "Язык",
        home: "Карты",
        statistics: "Статистика",
        audit: "Журнал аудита",
        sign_in: "Войти",
        sign_out: "Выйти",
        token: "Токен сотрудника",
        token_hint: "Токен из `rescard token create --role issuer`. Хранится в этом браузере до выхода.",
        find: "Найти карту по номеру",
        open: "Открыть",
        issue: "Выдать карту",
        issue_button: "Выдать карту",
        surname: "Фамилия (латиницей, как в паспорте)",
        given_names: "Имя (латиницей)",
        native_name: "Имя в родной письменности",
        date_of_birth: "Дата рождения",
        sex: "Пол",
        nationality: "Гражданство (код ISO, напр. UZB)",
        permit: "Цель пребывания",
        valid_from: "Действует с",
        valid_until: "Действует до",
        passport_number: "Номер паспорта",
        portrait: "Фото (PNG или JPEG)",
        card: "Карта",
        reason: "Причина",
        replaced_by: "Заменена картой",
        download_card: "Скачать карту для печати",
        download_qr: "Скачать QR-код",
        new_valid_until: "Новая дата окончания",
        confirm_final: "Подтверждаю: это нельзя отменить",
        history: "История",
        when: "Когда",
        who: "Кто",
        what: "Что",
        expiring: "Действующие карты, истекающие в ближайшие 30 дней",
        by_state: "Карты по состоянию",
        by_permit: "Карты по цели пребывания",
        by_nationality: "Карты по гражданству",
        issued_per_month: "Выдано карт по месяцам",
        export_csv: "Выгрузить в CSV",
        done_issue: "Карта выдана",
        document: "Документ",
        documents: ["Карта резидента", "Временное разрешение"],
        applications: "Заявления",
        queue_filter: "Очередь на рассмотрение",
        any: "все",
        kind: "Вид",
        status: "Состояние",
        older_than_days: "Подано не менее дней назад",
        show: "Показать",
        filed: "Подано",
        filed_by: "Подал",
        fee: "Пошлина",
        paid: "оплачена",
        unpaid: "не оплачена",
        next_page: "Следующая страница",
        none_waiting: "Нет заявлений по этому отбору.",
        request: "Данные заявления",
        documents_heading: "Документы",
        info_request: "Запрошено у заявителя",
        review: "Рассмотрение",
        reviewed_by: "Рассмотрел",
        note: "Примечание (при запросе сведений его прочтёт заявитель)",
        recommendation: "Рекомендация",
        send_review: "Записать рассмотрение",
        decision: "Решение",
        four_eyes: "Решение принимает другой сотрудник, не рассматривавший заявление.",
        decide: "Принять решение",
        issued_card: "Выданная карта",
        done_review: "Рассмотрение записано",
        done_decision: "Решение принято",
        kinds: [
            "Карта резидента",
            "Временное разрешение",
            "Продление",
            "Замена",
        ],
        statuses_applications: [
            "заполняется",
            "отправлено",
            "на рассмотрении",
            "нужны сведения",
            "одобрено",
            "отказано",
            "отозвано",
        ],
        recommendations: ["Одобрить", "Отказать", "Запросить сведения"],
        decisions: ["Одобрить", "Отказать"],
        permits: ["Работа", "Учёба", "Семья", "Предпринимательство", "Иное"],
        states: ["действует", "приостановлена", "аннулирована", "заменена"],
        acts: [
            "Продлить",
            "Возобновить",
            "Приостановить",
            "Заменить (утеряна или повреждена)",
            "Аннулировать",
        ],
        done: [
            "Продлена",
            "Возобновлена",
            "Приостановлена",
            "Выдана замена: это новая карта",
            "Аннулирована",
        ],
    },
    en: Words {
        console: "rescard staff console",
        menu: "Menu",
        language: "Language",
        home: "Cards",
        statistics: "Statistics",
        audit: "Audit log",
        sign_in: "Sign in",
        sign_out: "Sign out",
        token: "Staff token",
        token_hint: "The token from `rescard token create --role issuer`. It stays in this browser until you sign out.",
        find: "Find a card by its number",
        open: "Open",
        issue: "Issue a card",
        issue_button: "Issue the card",
        surname: "Surname (Latin, as in the passport)",
        given_names: "Given names (Latin)",
        native_name: "Name in native script",
        date_of_birth: "Date of birth",
        sex: "Sex",
        nationality: "Nationality (ISO code, e.g. UZB)",
        permit: "Purpose of stay",
        valid_from: "Valid from",
        valid_until: "Valid until",
        passport_number: "Passport number",
        portrait: "Portrait (PNG or JPEG)",
        card: "Card",
        reason: "Reason",
        replaced_by: "Replaced by",
        download_card: "Download the printable card",
        download_qr: "Download the QR code",
        new_valid_until: "New valid-until date",
        confirm_final: "I confirm: this cannot be undone",
        history: "History",
        when: "When",
        who: "Who",
        what: "What",
        expiring: "Active cards expiring within 30 days",
        by_state: "Cards by state",
        by_permit: "Cards by purpose of stay",
        by_nationality: "Cards by nationality",
        issued_per_month: "Cards issued per month",
        export_csv: "Export as CSV",
        done_issue: "Card issued",
        document: "Document",
        documents: ["Resident card", "Interim permit"],
        applications: "Applications",
        queue_filter: "Review queue",
        any: "any",
        kind: "Kind",
        status: "Status",
        older_than_days: "Filed at least this many days ago",
        show: "Show",
        filed: "Filed",
        filed_by: "Filed by",
        fee: "Fee",
        paid: "paid",
        unpaid: "unpaid",
        next_page: "Next page",
        none_waiting: "No application matches.",
        request: "What was filed",
        documents_heading: "Documents",
        info_request: "Asked of the applicant",
        review: "Review",
        reviewed_by: "Reviewed by",
        note: "Note (the applicant reads it when you ask for information)",
        recommendation: "Recommendation",
        send_review: "Record the review",
        decision: "Decision",
        four_eyes: "The decision is another officer's than the reviewer's.",
        decide: "Decide",
        issued_card: "Card issued",
        done_review: "Review recorded",
        done_decision: "Decided",
        kinds: [
            "Resident card",
            "Interim permit",
            "Extension",
            "Replacement",
        ],
        statuses_applications: [
            "draft",
            "submitted",
            "in review",
            "needs information",
            "approved",
            "refused",
            "withdrawn",
        ],
        recommendations: ["Approve", "Refuse", "Ask for information"],
        decisions: ["Approve", "Refuse"],
        permits: ["Work", "Study", "Family", "Business", "Other"],
        states: ["active", "suspended", "revoked", "replaced"],
        acts: [
            "Extend",
            "Reinstate",
            "Suspend",
            "Replace (lost or damaged)",
            "Revoke",
        ],
        done: [
            "Extended",
            "Reinstated",
            "Suspended",
            "Replacement issued: this is the new card",
            "Revoked",
        ],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_is_there_in_every_language_and_differs_from_english_where_it_should() {
        let en = Words::of(Lang::En).all();
        for lang in [Lang::Ky, Lang::Ru] {
            let words = Words::of(lang).all();
            assert_eq!(words.len(), en.len());
            for (w, e) in words.iter().zip(&en) {
                assert!(
                    !w.trim().is_empty(),
                    "{lang}: the phrase for {e:?} is empty"
                );
                // A phrase left in English is a missing translation (names such as "Статистика"
                // may coincide between Kyrgyz and Russian, never with English).
                assert_ne!(w, e, "{lang}: {e:?} is not translated");
            }
        }
    }
}
