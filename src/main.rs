//! The `rescard` binary: see the README for its commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    rescard::cli::main()
}
