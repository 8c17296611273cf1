//! The command-line tests: one integration binary, so the suite builds once.

mod checker;
mod commands;
mod database;
mod fixtures;
mod helpers;
mod hsm;
mod interop;
mod private;
mod root;
mod root_fixtures;
mod text;
