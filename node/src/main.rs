//! The `samla-node` command line. Thin glue: every rule lives in `samla-common` and
//! the library part of this crate.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
