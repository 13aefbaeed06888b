//! `samla-custodian`: one key custodian of a region (docs/custodian.md).

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
