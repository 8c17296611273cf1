//! QR codes for rescard payloads: render a payload as a printable PNG, and read payloads back from
//! PNG and JPEG images.
//!
//! The error-correction level is **M** (about 15% of the code words recoverable). The reference card
//! needs version 10 at M; level Q would need a larger symbol and so smaller modules in the same
//! printed area, which costs more readability on a worn card than the extra correction gains, and L
//! leaves too little margin for scratches and glare. See `docs/FORMAT.md`.
#![deny(missing_docs)]

mod decode;
mod filter;
mod load;
#[cfg(feature = "photoset")]
pub mod photoset;
mod portrait;
mod printed;
mod reduce;
mod render;

pub use decode::{
    DecodeError, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, decode_image, decode_payload,
    decode_payload_within,
};
pub use load::{MAX_DECODE_BYTES, WORKING_PIXELS, check_image};
pub use portrait::{MAX_PORTRAIT_PIXELS, load_portrait};
pub use printed::{
    CARD_HEIGHT, CARD_MODULE_PX, CARD_WIDTH, INTERIM_PERMIT_TITLE, PrintedCard,
    RESIDENT_CARD_TITLE, font_covers, render_card_png,
};
pub use render::{
    EcLevel, PRINT_DPI, QUIET_ZONE_MODULES, RenderError, module_count, render_luma, render_png,
    version_for,
};
