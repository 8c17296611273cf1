//! The HTTP service tests: one integration binary. Most call the router directly; `http.rs` starts
//! the real server on port 0.

mod access;
mod batch;
mod browser;
mod cards;
mod crash;
mod errors;
mod helpers;
mod http;
mod images;
mod offline;
mod ops;
mod secrets;
