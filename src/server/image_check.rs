//! Photos of a card's QR code, read for `POST /api/v1/verify` and the check page alike, within two
//! bounds:
//!
//! - **pixels by caller**: a photo sent without a token may have at most
//!   [`ServiceConfig::anonymous_image_max_pixels`], one sent with a token
//!   [`ServiceConfig::image_max_pixels`]; a larger one is refused (413 `image_too_large`) from its
//!   header, before it is decoded and without taking a decode slot;
//! - **decodes in flight**: at most [`ServiceConfig::image_decodes_in_flight`] photos are decoded at
//!   once, over all callers; past it a photo is refused at once (503 `image_checks_busy`, with
//!   `Retry-After`) rather than queued, so a burst of uploads cannot pile up memory.
//!
//! Each decode is itself bounded (the decoder reads an image at no more than
//! [`rescard_qr::WORKING_PIXELS`], about 50 MB at most), so the memory of photo checks is at most
//! the cap times that. A request that times out (408) keeps its slot until its decode ends.
//!
//! [`ServiceConfig::anonymous_image_max_pixels`]: super::ServiceConfig::anonymous_image_max_pixels
//! [`ServiceConfig::image_max_pixels`]: super::ServiceConfig::image_max_pixels
//! [`ServiceConfig::image_decodes_in_flight`]: super::ServiceConfig::image_decodes_in_flight

use std::sync::Arc;

use axum::http::StatusCode;
use rescard_core::PREFIX;
use rescard_qr::DecodeError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{AppError, AppState};

/// The seconds a photo refused for a full decoder is told to wait: about one large photo's check.
pub const BUSY_RETRY_SECONDS: u64 = 2;

/// The cap on photos decoded at once.
pub struct DecodeSlots {
    slots: Arc<Semaphore>,
    capacity: usize,
}

/// One photo's turn at the decoder; the turn ends when this is dropped.
pub struct DecodeSlot {
    _permit: OwnedSemaphorePermit,
}

impl DecodeSlots {
    /// A cap of `capacity` decodes at once.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// A turn, or `None` when every one is taken.
    pub fn try_take(&self) -> Option<DecodeSlot> {
        Arc::clone(&self.slots)
            .try_acquire_owned()
            .ok()
            .map(|permit| DecodeSlot { _permit: permit })
    }

    /// How many decodes may run at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Why a photo gave no payload.
#[derive(Debug)]
pub enum ImageCheckError {
    /// Every decode slot is taken.
    Busy {
        /// The cap.
        in_flight: usize,
    },
    /// The image was refused or could not be read.
    Unreadable {
        /// What the decoder said.
        error: DecodeError,
        /// The limit that applied was the anonymous one, and a token would allow this many pixels.
        with_token: Option<u64>,
    },
    /// The decoding task failed.
    Failed(anyhow::Error),
}

/// Reads the payload from `photo`, sent with a token or not (`anonymous`), within the service's
/// pixel limit for that caller and its cap on decodes in flight. On the blocking pool: the header is
/// checked first (a photo refused from it never takes a slot), then the decode holds its slot until
/// it ends.
pub async fn read_payload(
    state: &AppState,
    anonymous: bool,
    photo: impl AsRef<[u8]> + Send + 'static,
) -> Result<String, ImageCheckError> {
    let config = state.config();
    let with_token = config.image_max_pixels;
    let max_pixels = if anonymous {
        config.anonymous_image_max_pixels.min(with_token)
    } else {
        with_token
    };
    let unreadable = move |error| ImageCheckError::Unreadable {
        error,
        with_token: (anonymous && max_pixels < with_token).then_some(with_token),
    };
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let photo = photo.as_ref();
        rescard_qr::check_image(photo, max_pixels).map_err(unreadable)?;
        let slots = state.decode_slots();
        let _slot = slots.try_take().ok_or(ImageCheckError::Busy {
            in_flight: slots.capacity(),
        })?;
        rescard_qr::decode_payload_within(photo, PREFIX, max_pixels).map_err(unreadable)
    })
    .await
    .map_err(|e| ImageCheckError::Failed(e.into()))?
}

impl From<ImageCheckError> for AppError {
    fn from(e: ImageCheckError) -> Self {
        let (error, with_token) = match e {
            ImageCheckError::Busy { in_flight } => {
                return AppError::busy(
                    "image_checks_busy",
                    BUSY_RETRY_SECONDS,
                    format!(
                        "the service is already reading {in_flight} photos, the most it reads at once; try again in {BUSY_RETRY_SECONDS} s, or send the payload text"
                    ),
                );
            }
            ImageCheckError::Failed(cause) => return AppError::internal(cause),
            ImageCheckError::Unreadable { error, with_token } => (error, with_token),
        };
        let (status, code) = match error {
            DecodeError::TooLarge(_)
            | DecodeError::TooManyPixels { .. }
            | DecodeError::TooCostly { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "image_too_large"),
            DecodeError::UnsupportedFormat => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_image")
            }
            DecodeError::Corrupt(_) => (StatusCode::UNPROCESSABLE_ENTITY, "corrupt_image"),
            DecodeError::NoCode => (StatusCode::UNPROCESSABLE_ENTITY, "no_qr_code"),
            DecodeError::Unreadable => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_qr_code"),
        };
        let message = match (&error, with_token) {
            (DecodeError::TooManyPixels { .. }, Some(pixels)) => format!(
                "{error} without a token (with one, up to {:.1} megapixels)",
                pixels as f64 / 1e6
            ),
            _ => error.to_string(),
        };
        AppError::new(status, code, message)
    }
}
