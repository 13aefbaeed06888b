//! Errors as the person at the terminal reads them (STYLE.md 9): the binary's name,
//! what went wrong with every cause after it on one line, each cause once, and then,
//! after a blank line, the hint.
//!
//! Error types follow one convention: a message says only what its own layer adds and
//! carries the error it wraps as its source, and a hint for the reader follows the
//! message after a blank line (`"…\n\nRestrict it to its owner: chmod 600 …"`). This
//! printer walks the chain once, joins the messages with `": "` and puts the hints
//! last. A cause whose words the one before it already printed (some libraries repeat
//! their source in their own message) is left out.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// A hint for the reader, attached as an error's context:
/// `result.context(Hint("Give the node config with --config FILE."))`. It is printed
/// after the causes, never between them.
#[derive(Debug, Clone, Copy)]
pub struct Hint(pub &'static str);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n\n{}", self.0)
    }
}

/// An error's causes on one line, each once, without its hints: for a log line,
/// `tracing::error!(error = %Chain(&e), …)`, where `%e` would show only the outermost
/// message.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&split(self.0).0.join(": "))
    }
}

/// The error's causes on one line, each once, followed by its hints. Takes any error
/// (`&*anyhow_error` for an `anyhow::Error`).
pub fn message(error: &(dyn std::error::Error + 'static)) -> String {
    let (causes, hints) = split(error);
    let mut out = causes.join(": ");
    for hint in hints {
        out.push_str("\n\n");
        out.push_str(&hint);
    }
    out
}

/// The causes (each once) and the hints of an error's chain.
fn split(error: &(dyn std::error::Error + 'static)) -> (Vec<String>, Vec<String>) {
    let mut causes: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    let chain = std::iter::successors(Some(error), |e| e.source());
    for cause in chain {
        let text = cause.to_string();
        let (head, hint) = match text.split_once("\n\n") {
            Some((head, hint)) => (head.trim(), Some(hint.trim())),
            None => (text.trim(), None),
        };
        if let Some(hint) = hint.filter(|h| !h.is_empty()) {
            if !hints.iter().any(|h| h == hint) {
                hints.push(hint.to_owned());
            }
        }
        let repeated = causes
            .last()
            .is_some_and(|last| last.to_lowercase().contains(&head.to_lowercase()));
        if !head.is_empty() && !repeated {
            causes.push(head.to_owned());
        }
    }
    (causes, hints)
}

/// Whether the error comes from writing to a closed pipe (`samla-hub report | head`):
/// the reader has all it wanted, so that is not an error.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source())
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Prints `program: message` to standard error, for an error that does not end the
/// command (one unreadable file of several, say).
pub fn warn(program: &str, error: &(dyn std::error::Error + 'static)) {
    // Standard error closed too: there is no one left to tell.
    let _ = writeln!(std::io::stderr(), "{program}: {}", message(error));
}

/// Prints `program: message` to standard error and returns `code`, or returns success
/// for a broken pipe.
pub fn exit(program: &str, error: &anyhow::Error, code: u8) -> ExitCode {
    if is_broken_pipe(&**error) {
        return ExitCode::SUCCESS;
    }
    warn(program, &**error);
    ExitCode::from(code)
}

/// Writes text to standard output, returning the error (a closed pipe, say) instead
/// of panicking as `print!` does.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("opening {path}")]
    struct Open {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_once_then_the_hint() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(Open {
            path: "node.db",
            source: io,
        })
        .context(Hint("Give the node config with --config FILE."));
        assert_eq!(
            message(&*error),
            "opening node.db: no such file\n\nGive the node config with --config FILE."
        );
    }

    #[test]
    fn a_log_line_gets_the_causes_without_the_hint() {
        let error = anyhow::anyhow!("no such file\n\nCreate it first.").context("reading x");
        assert_eq!(Chain(&*error).to_string(), "reading x: no such file");
    }

    #[test]
    fn a_cause_that_repeats_its_source_is_shown_once() {
        let io = std::io::Error::other("unable to open database file");
        let error = anyhow::Error::new(io)
            .context("unable to open database file: /x/node.db")
            .context("opening /x/node.db");
        assert_eq!(
            message(&*error),
            "opening /x/node.db: unable to open database file: /x/node.db"
        );
    }

    #[test]
    fn a_hint_inside_a_cause_moves_to_the_end() {
        let error = anyhow::anyhow!("key file k is accessible\n\nRestrict it: chmod 600 k")
            .context("loading keys");
        assert_eq!(
            message(&*error),
            "loading keys: key file k is accessible\n\nRestrict it: chmod 600 k"
        );
    }

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_recognised() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let error: anyhow::Result<()> = Err(pipe).context("writing the report");
        let error = error.unwrap_err();
        assert!(is_broken_pipe(&*error));
        assert_eq!(exit("samla-hub", &error, 2), ExitCode::SUCCESS);
        assert!(!is_broken_pipe(&*anyhow::anyhow!("other")));
    }
}
