//! The signal a service manager stops a binary with.

/// Completes on SIGTERM (systemd's stop) or SIGINT (Ctrl-C). Where SIGTERM cannot be
/// listened for, only SIGINT stops.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
