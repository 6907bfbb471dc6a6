//! Serving: the app on a bound listener until a shutdown future resolves.
//! Tests bind `127.0.0.1:0` and pass their own shutdown; `paygate serve`
//! passes [`shutdown_signal`].

use crate::state::AppState;
use std::future::Future;
use tokio::net::TcpListener;

/// Serves until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = crate::http::app(state.clone());
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let expiry = tokio::spawn(crate::workers::expiry::run(state.clone(), workers_stopped.clone()));
    let webhooks = tokio::spawn(crate::workers::webhooks::run(state.clone(), workers_stopped.clone()));
    let exchange = tokio::spawn(crate::workers::exchange::run(state.clone(), workers_stopped.clone()));
    let reconcile = tokio::spawn(crate::workers::reconcile::run(state.clone(), workers_stopped.clone()));
    let limits = crate::connections::ConnectionSettings::of(&state.settings);
    let served = crate::connections::serve(listener, app, limits, shutdown).await;
    let _ = stop_workers.send(true);
    let _ = expiry.await;
    let _ = webhooks.await;
    let _ = exchange.await;
    let _ = reconcile.await;
    state.db.close().await;
    served
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
