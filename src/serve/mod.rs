//! `analyze serve`: the readers over HTTP, for dashboards and scripts.
//!
//! ```text
//!  GET /api/v1/<subcommand>?…  ──► v1: query → the same clap arguments → analyze::cli::run_reports,
//!                                      rendered into a buffer (the CLI's `--format json` text)
//!  GET /api/agents/…           ──► design: the design's field names over the same reports
//!  GET /metrics                ──► metrics: Prometheus text exposition from the run_metrics rollup
//!  GET /api/v1/stream          ──► stream: one watcher (PRAGMA data_version every 100 ms →
//!                                      derive → delta) broadcast to at most 32 SSE clients
//!  every evaluate_every_seconds ──► alerts: evaluate the rules, deliver changes (own thread)
//!  every request               ──► guard: GET/HEAD only, bounded URI and body, token or
//!                                      loopback Host, no CORS headers
//! ```
//!
//! Database work is synchronous rusqlite on tokio's blocking threads, one connection per
//! request (as every `analyze` process opens its own), at most [`DB_JOBS`] at a time. Nothing
//! here writes recorded data: opening a reader context only advances the derived projection
//! (and replays the hooks' spool), exactly as `analyze` does. Docs: docs/serve.md.

mod alerts;
mod dash;
mod design;
mod guard;
pub mod metrics;
mod stream;
mod turns;
mod v1;

use crate::error::{Error, Result};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{broadcast, watch, Semaphore};

/// Database jobs (one connection each) running at once; more requests wait their turn.
pub const DB_JOBS: usize = 4;
/// Live streams open at once; one more gets 503.
pub const MAX_STREAMS: usize = 32;

/// Arguments of `analyze serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires a token (given or generated).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port; the URL printed says which).
    #[arg(long, default_value_t = 7777)]
    pub port: u16,
    /// Open the URL in a browser (xdg-open) once listening.
    #[arg(long)]
    pub open: bool,
    /// Require this token on every request (Authorization: Bearer, a `token` query parameter or
    /// the cookie it sets). Generated when binding a non-loopback address without one.
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
}

/// What every handler shares.
pub(crate) struct Shared {
    /// The database, resolved once at start.
    pub(crate) db: PathBuf,
    /// The token every request must carry; None on loopback without `--token`.
    pub(crate) token: Option<String>,
    /// Bounds concurrent database jobs.
    pub(crate) db_jobs: Semaphore,
    /// Bounds concurrent live streams.
    pub(crate) streams: Arc<Semaphore>,
    /// The watcher's events, for every stream.
    pub(crate) events: broadcast::Sender<Arc<stream::Message>>,
    /// Flips to true on SIGINT/SIGTERM: streams end so the server can stop.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Handlers' state.
pub(crate) type State = Arc<Shared>;

/// An HTTP error with a JSON body `{"error": …, …}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl ApiError {
    /// A 400 for a bad parameter (what exit 2 is on the command line).
    pub(crate) fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": msg.into()}),
        }
    }

    /// The status a reader error maps to, with its message, causes and hint.
    pub(crate) fn from_error(e: &Error) -> ApiError {
        let status = match e {
            Error::InvalidArgument(_) | Error::UnknownAgent { .. } => StatusCode::BAD_REQUEST,
            Error::MissingDatabase(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut causes = Vec::new();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            causes.push(s.to_string());
            src = s.source();
        }
        let mut body = json!({"error": e.to_string()});
        if !causes.is_empty() {
            body["causes"] = json!(causes);
        }
        if let Some(h) = e.hint() {
            body["hint"] = json!(h);
        }
        ApiError { status, body }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// A JSON body the way the command line prints it (pretty, one trailing newline).
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut text = serde_json::to_string_pretty(v).expect("JSON values serialise");
    text.push('\n');
    json_text(status, text)
}

/// Already-rendered JSON text.
pub(crate) fn json_text(status: StatusCode, text: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// Runs `f` on a blocking thread with the database path, at most [`DB_JOBS`] at a time.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&Path) -> T + Send + 'static,
) -> std::result::Result<T, ApiError> {
    let _permit = state.db_jobs.acquire().await.map_err(|_| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: json!({"error": "shutting down"}),
    })?;
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || f(&db))
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({"error": format!("the request failed: {e}")}),
        })
}

/// `GET /api`: the endpoints (`/` is the dashboard).
async fn index() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "name": "agent-telemetry",
            "version": env!("CARGO_PKG_VERSION"),
            "docs": "docs/serve.md",
            "reports": v1::SUBCOMMANDS.iter().map(|s| format!("/api/v1/{s}")).collect::<Vec<_>>(),
            "design": [
                "/api/agents/metrics/current",
                "/api/agents/metrics/timeline?hours=24",
                "/api/agents/types/distribution",
                "/api/agents/performance/{agent_name}?days=7",
                "/api/agents/tools/usage?period=day",
            ],
            "stream": "/api/v1/stream",
            "prometheus": "/metrics",
        }),
    )
}

/// Every route, behind the guard.
pub(crate) fn router(state: State) -> Router {
    Router::new()
        .route("/api", get(index))
        // ── the dashboard: `/`, its assets, `/dash/…` (src/serve/dash.rs, src/html/, web/) ──
        .merge(dash::routes())
        .route("/api/v1/stream", get(stream::handler))
        .route("/metrics", get(metrics::handler))
        .route("/api/v1/{subcommand}", get(v1::handler))
        .route("/api/agents/metrics/current", get(design::current))
        .route("/api/agents/metrics/timeline", get(design::timeline))
        .route("/api/agents/types/distribution", get(design::distribution))
        .route(
            "/api/agents/performance/{agent_name}",
            get(design::performance),
        )
        .route("/api/agents/tools/usage", get(design::tools_usage))
        .fallback(|| async {
            ApiError {
                status: StatusCode::NOT_FOUND,
                body: json!({"error": "no such endpoint (GET /api lists them)"}),
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .with_state(state)
}

/// Runs `analyze serve` until SIGINT or SIGTERM. `Ok(true)` after a clean stop.
pub fn run(db: Option<&Path>, args: &ServeArgs) -> Result<bool> {
    let db = crate::paths::db_path(db);
    // Fail now, with the reader's message and exit 2, rather than on every request.
    drop(crate::analyze::Ctx::open(Some(&db))?);
    // That first derivation (a backlog, a rules upgrade) may draw a bar; once serving, stderr is
    // the server's log and every later derivation (requests, the watcher) draws nothing.
    crate::progress::silence();
    let loopback = args.bind.is_loopback();
    let token = match (&args.token, loopback) {
        (Some(t), _) if t.trim().is_empty() => {
            return Err(Error::InvalidArgument("--token must not be empty".into()))
        }
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let (events, _) = broadcast::channel(1024);
    let (stop_tx, stop_rx) = watch::channel(false);
    let watcher = stream::Watcher::spawn(db.clone(), events.clone(), stop_rx.clone())?;
    // Not joined at the end: a delivery in flight (a slow webhook) must not delay the stop.
    drop(alerts::spawn(db.clone(), stop_rx.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(DB_JOBS + 4)
        .thread_name("serve")
        .enable_all()
        .build()?;
    let state: State = Arc::new(Shared {
        db,
        token,
        db_jobs: Semaphore::new(DB_JOBS),
        streams: Arc::new(Semaphore::new(MAX_STREAMS)),
        events,
        shutdown: stop_rx,
    });
    let stop_tx = Arc::new(stop_tx);
    let served = runtime.block_on(serve(state, args, stop_tx.clone()));
    // Also after a failure (a port in use): the watcher sees the stop within one poll.
    let _ = stop_tx.send(true);
    let _ = watcher.join();
    served
}

async fn serve(state: State, args: &ServeArgs, stop_tx: Arc<watch::Sender<bool>>) -> Result<bool> {
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let token = state.token.clone();
    let host = match local.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        ip => ip.to_string(),
    };
    let url = match &token {
        Some(t) => format!("http://{host}:{}/?token={t}", local.port()),
        None => format!("http://{host}:{}/", local.port()),
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "analyze serve: listening on {local}; open {url}");
        let _ = out.flush();
    }
    if args.open {
        open_browser(&url);
    }
    let app = router(state);
    let shutdown = async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    eprintln!("analyze serve: stopped");
    Ok(true)
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// `--open`: xdg-open when it is installed; otherwise say so (the URL is printed anyway).
fn open_browser(url: &str) {
    let spawned = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reap it when it exits (xdg-open hands the URL over and returns).
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => {
            eprintln!("analyze serve: --open: could not run xdg-open ({e}); open the URL yourself")
        }
    }
}
