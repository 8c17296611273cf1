//! The handlers, one file per resource.

pub mod admin;
pub mod applications;
pub mod cards;
pub mod keys;
pub mod ops;
pub mod status;
pub mod verify;
