//! The HTTP service tests: one integration binary. Most call the router directly; `http.rs` starts
//! the real server on port 0, and `contract.rs` checks the OpenAPI document against it.

mod access;
mod applications;
mod apply_pages;
mod at_rest;
mod batch;
mod browser;
mod browser_apply;
mod cards;
mod connections;
mod console;
mod console_applications;
mod contract;
mod crash;
mod errors;
mod helpers;
mod http;
mod images;
mod mail;
mod offline;
mod ops;
mod replicas;
mod secrets;
mod text;
