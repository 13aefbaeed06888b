//! Logging to standard error, as both binaries do it: readable lines (coloured on a
//! terminal) or JSON lines for a log collector, at the level `SAMLA_LOG` names.

/// Starts logging; `default_level` applies when `SAMLA_LOG` is not set (`info`, `warn`).
pub fn init_logging(json: bool, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAMLA_LOG")
        .unwrap_or_else(|_| default_level.into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
