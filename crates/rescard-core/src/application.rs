//! Applications filed online: their kinds, states, fees, required documents, and the moves between
//! states. Pure rules, as [`crate::rules`] is for cards; the registry applies them in its transactions.
//!
//! ```text
//! draft ──submit──▶ submitted ──review: approve | refuse──▶ in_review ──decide──▶ approved | refused
//!   ▲                  │  ▲                                          (another officer)
//!   │                  │  └──────── submit ◀── needs_info ◀── review: request_info
//!   └── (documents)    └── withdraw (from any state before a decision) ──▶ withdrawn
//! ```

use crate::domain::{DocumentType, Permit};

/// What an application asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// A resident card.
    Card,
    /// The interim permit (the Unified Window's two-month document).
    Interim,
    /// An extension of an existing card.
    Extension,
    /// A replacement of a lost or damaged card.
    Replacement,
}

impl ApplicationKind {
    /// Every kind.
    pub const ALL: [ApplicationKind; 4] = [
        Self::Card,
        Self::Interim,
        Self::Extension,
        Self::Replacement,
    ];

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Interim => "interim",
            Self::Extension => "extension",
            Self::Replacement => "replacement",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name.trim())
    }

    /// The document a new-card kind issues (`None` for the kinds that act on an existing card).
    pub fn issues(self) -> Option<DocumentType> {
        match self {
            Self::Card => Some(DocumentType::ResidentCard),
            Self::Interim => Some(DocumentType::Interim),
            Self::Extension | Self::Replacement => None,
        }
    }

    /// The state fee, in som.
    pub fn fee(self) -> u32 {
        FEES.iter()
            .find(|(k, _)| *k == self)
            .map_or(0, |(_, fee)| *fee)
    }

    /// The documents an application of this kind must hold before it is submitted; `permit` is the
    /// purpose of stay asked for (a work permit needs the employment contract).
    pub fn required(self, permit: Option<Permit>) -> Vec<DocumentName> {
        REQUIRED
            .iter()
            .filter(|(k, _, only_for)| *k == self && only_for.is_none_or(|p| Some(p) == permit))
            .map(|(_, d, _)| *d)
            .collect()
    }
}

/// The state fee of each kind, in som.
pub const FEES: [(ApplicationKind, u32); 4] = [
    (ApplicationKind::Card, 4000),
    (ApplicationKind::Interim, 1000),
    (ApplicationKind::Extension, 3000),
    (ApplicationKind::Replacement, 2000),
];

/// What each kind needs: (kind, document, only for this permit).
pub const REQUIRED: [(ApplicationKind, DocumentName, Option<Permit>); 8] = [
    (ApplicationKind::Card, DocumentName::Passport, None),
    (ApplicationKind::Card, DocumentName::Photo, None),
    (
        ApplicationKind::Card,
        DocumentName::Contract,
        Some(Permit::Work),
    ),
    (ApplicationKind::Interim, DocumentName::Passport, None),
    (ApplicationKind::Interim, DocumentName::Photo, None),
    (ApplicationKind::Extension, DocumentName::Passport, None),
    (ApplicationKind::Replacement, DocumentName::Passport, None),
    (ApplicationKind::Replacement, DocumentName::Statement, None),
];

/// A document an application may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentName {
    /// The passport's photo page.
    Passport,
    /// A photo of the applicant's face (it becomes the card's portrait).
    Photo,
    /// The employment contract.
    Contract,
    /// A statement of how the card was lost or damaged.
    Statement,
    /// Anything else the officer asks for.
    Other,
}

impl DocumentName {
    /// Every document name.
    pub const ALL: [DocumentName; 5] = [
        Self::Passport,
        Self::Photo,
        Self::Contract,
        Self::Statement,
        Self::Other,
    ];

    /// The name in the path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::Photo => "photo",
            Self::Contract => "contract",
            Self::Statement => "statement",
            Self::Other => "other",
        }
    }

    /// The document named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    /// Filed, being completed by the applicant.
    Draft,
    /// Submitted, waiting for an officer's review.
    Submitted,
    /// Reviewed, waiting for a second officer's decision.
    InReview,
    /// The officer asked the applicant for more.
    NeedsInfo,
    /// Approved: the card was issued in the same transaction.
    Approved,
    /// Refused, with a reason the applicant sees.
    Refused,
    /// Withdrawn by the applicant.
    Withdrawn,
}

impl ApplicationStatus {
    /// Every status.
    pub const ALL: [ApplicationStatus; 7] = [
        Self::Draft,
        Self::Submitted,
        Self::InReview,
        Self::NeedsInfo,
        Self::Approved,
        Self::Refused,
        Self::Withdrawn,
    ];

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::InReview => "in_review",
            Self::NeedsInfo => "needs_info",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Refused | Self::Withdrawn)
    }

    /// Whether the applicant may still change its documents.
    pub fn open_to_applicant(self) -> bool {
        matches!(self, Self::Draft | Self::NeedsInfo)
    }
}

/// What an officer's review recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recommendation {
    /// Approve.
    Approve,
    /// Refuse.
    Refuse,
    /// Ask the applicant for more.
    RequestInfo,
}

impl Recommendation {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::RequestInfo => "request_info",
        }
    }

    /// The recommendation named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Approve, Self::Refuse, Self::RequestInfo]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// A move of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The applicant submits (or answers a request for information).
    Submit,
    /// An officer reviews.
    Review(Recommendation),
    /// A second officer decides: `true` approves.
    Decide(bool),
    /// The applicant withdraws.
    Withdraw,
}

impl Move {
    /// The move's name, for messages and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Review(_) => "review",
            Self::Decide(true) => "approve",
            Self::Decide(false) => "refuse",
            Self::Withdraw => "withdraw",
        }
    }
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// The move is not possible from the application's status.
    #[error("an application that is {} cannot be {}", status.as_str(), verb(*attempted))]
    WrongStatus {
        /// Where it stands.
        status: ApplicationStatus,
        /// What was tried.
        attempted: Move,
    },
    /// The application takes no more documents (submitted and not asked for more, or decided).
    #[error("an application that is {} takes no documents now", .0.as_str())]
    Closed(ApplicationStatus),
    /// Documents are missing.
    #[error("missing documents: {}", names(.0))]
    Missing(Vec<DocumentName>),
    /// The officer who reviewed it tried to decide it.
    #[error("the decision must be made by another officer than the one who reviewed it ({0})")]
    FourEyes(String),
    /// Approval before the fee is paid.
    #[error("the fee of {0} som is not paid")]
    FeeUnpaid(u32),
}

fn verb(m: Move) -> &'static str {
    match m {
        Move::Submit => "submitted",
        Move::Review(_) => "reviewed",
        Move::Decide(_) => "decided",
        Move::Withdraw => "withdrawn",
    }
}

fn names(list: &[DocumentName]) -> String {
    list.iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where `m` takes an application that stands at `status`.
pub fn next(status: ApplicationStatus, m: Move) -> Result<ApplicationStatus, ApplicationError> {
    use ApplicationStatus::*;
    match (status, m) {
        (Draft | NeedsInfo, Move::Submit) => Ok(Submitted),
        (Submitted, Move::Review(Recommendation::RequestInfo)) => Ok(NeedsInfo),
        (Submitted, Move::Review(_)) => Ok(InReview),
        (InReview, Move::Decide(true)) => Ok(Approved),
        (InReview, Move::Decide(false)) => Ok(Refused),
        (s, Move::Withdraw) if !s.is_final() => Ok(Withdrawn),
        _ => Err(ApplicationError::WrongStatus {
            status,
            attempted: m,
        }),
    }
}

/// The documents of `required` that `held` lacks: submission is refused naming each.
pub fn missing(required: &[DocumentName], held: &[DocumentName]) -> Result<(), ApplicationError> {
    let lacking: Vec<DocumentName> = required
        .iter()
        .filter(|d| !held.contains(d))
        .copied()
        .collect();
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(ApplicationError::Missing(lacking))
    }
}

/// A decision by `decider` on an application reviewed by `reviewer`, with its fee paid or not.
pub fn check_decision(
    approve: bool,
    reviewer: Option<&str>,
    decider: &str,
    fee: u32,
    paid: bool,
) -> Result<(), ApplicationError> {
    if reviewer.is_some_and(|r| r == decider) {
        return Err(ApplicationError::FourEyes(decider.to_owned()));
    }
    if approve && !paid {
        return Err(ApplicationError::FeeUnpaid(fee));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationStatus::*;

    #[test]
    fn the_path_from_draft_to_a_decision() {
        let review = |r| Move::Review(r);
        assert_eq!(next(Draft, Move::Submit), Ok(Submitted));
        assert_eq!(
            next(Submitted, review(Recommendation::RequestInfo)),
            Ok(NeedsInfo)
        );
        assert_eq!(next(NeedsInfo, Move::Submit), Ok(Submitted));
        assert_eq!(
            next(Submitted, review(Recommendation::Approve)),
            Ok(InReview)
        );
        assert_eq!(
            next(Submitted, review(Recommendation::Refuse)),
            Ok(InReview)
        );
        assert_eq!(next(InReview, Move::Decide(true)), Ok(Approved));
        assert_eq!(next(InReview, Move::Decide(false)), Ok(Refused));
        for s in [Draft, Submitted, InReview, NeedsInfo] {
            assert_eq!(next(s, Move::Withdraw), Ok(Withdrawn));
        }
        for s in [Approved, Refused, Withdrawn] {
            for m in [
                Move::Submit,
                Move::Withdraw,
                Move::Decide(true),
                review(Recommendation::Approve),
            ] {
                assert!(next(s, m).is_err(), "{s:?} {m:?}");
            }
        }
        assert!(next(Draft, Move::Decide(true)).is_err());
        assert!(
            next(Submitted, Move::Decide(true)).is_err(),
            "no decision without a review"
        );
        assert!(next(InReview, review(Recommendation::Approve)).is_err());
        assert_eq!(
            next(Approved, Move::Withdraw)
                .expect_err("final")
                .to_string(),
            "an application that is approved cannot be withdrawn"
        );
    }

    #[test]
    fn four_eyes_and_the_fee() {
        assert_eq!(
            check_decision(true, Some("officer-a"), "officer-a", 4000, true),
            Err(ApplicationError::FourEyes("officer-a".into()))
        );
        assert_eq!(
            check_decision(true, Some("officer-a"), "officer-b", 4000, false),
            Err(ApplicationError::FeeUnpaid(4000))
        );
        assert!(check_decision(false, Some("officer-a"), "officer-b", 4000, false).is_ok());
        assert!(check_decision(true, Some("officer-a"), "officer-b", 4000, true).is_ok());
    }

    #[test]
    fn each_kind_has_a_fee_and_its_documents() {
        use DocumentName::*;
        for kind in ApplicationKind::ALL {
            assert!(kind.fee() > 0, "{kind:?}");
            assert!(kind.required(None).contains(&Passport), "{kind:?}");
            assert_eq!(ApplicationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            ApplicationKind::Card.required(Some(Permit::Work)),
            [Passport, Photo, Contract]
        );
        assert_eq!(
            ApplicationKind::Card.required(Some(Permit::Study)),
            [Passport, Photo]
        );
        assert_eq!(
            missing(&[Passport, Photo, Contract], &[Photo]),
            Err(ApplicationError::Missing(vec![Passport, Contract]))
        );
        assert_eq!(
            ApplicationError::Missing(vec![Passport, Contract]).to_string(),
            "missing documents: passport, contract"
        );
    }
}
