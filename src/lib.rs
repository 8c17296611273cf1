//! rescard: issue resident cards for foreign citizens and check them by their signed QR code.
//!
//! The binary's parts: [`cli`] (the command line), [`keystore`] (the issuer key directory),
//! [`issuance`] (applications as people type them). The card domain, codec and verifier live in
//! `rescard-core`; the registry in `rescard-store`; QR codes in `rescard-qr`.

pub mod checker;
pub mod cli;
pub mod issuance;
pub mod keystore;
pub mod root;
pub mod server;
pub mod views;
