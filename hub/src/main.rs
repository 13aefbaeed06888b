//! The `samla-hub` binary: the command line in `cli`, over the `samla_hub` library
//! and `samla-common`.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
