//! The dashboard's routes (the page itself and its charts live in `crate::html::dashboard` and
//! web/): `/` and its assets, `/dash/chart/{name}.svg`, `/dash/hung.json`, and `/dash/api/{report}`
//! — `/api/v1/{report}` answered by the same function, byte for byte, except that "nothing found"
//! (the CLI's exit 1) is `200 null` rather than a 404, which a browser logs as a console error.

use super::v1::{self, Outcome};
use super::{blocking, guard, json_response, json_text, ApiError, State};
use crate::analyze::Ctx;
use crate::html::dashboard;
use axum::extract::{Path as UrlPath, RawQuery};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The dashboard's routes, merged into the server's router (behind the same guard).
pub(crate) fn routes() -> Router<State> {
    Router::new()
        .route("/", get(asset))
        .route("/index.html", get(asset))
        .route("/app.js", get(asset))
        .route("/app.css", get(asset))
        .route("/dash/chart/{file}", get(chart))
        .route("/dash/hung.json", get(hung))
        .route("/dash/api/{subcommand}", get(report))
}

fn not_found(what: &str) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        body: serde_json::json!({ "error": format!("no such {what}") }),
    }
}

async fn asset(uri: Uri) -> Response {
    match dashboard::asset(uri.path()) {
        Some((ty, body)) => (
            [
                (header::CONTENT_TYPE, ty),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => not_found("asset").into_response(),
    }
}

fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    guard::url_pairs(q.unwrap_or("")).collect()
}

async fn chart(
    axum::extract::State(state): axum::extract::State<State>,
    UrlPath(file): UrlPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let name = file
        .strip_suffix(".svg")
        .ok_or_else(|| not_found("chart"))?
        .to_string();
    let pairs = pairs(q.as_deref());
    let svg = blocking(&state, move |db| {
        let ctx = Ctx::open(Some(db))?;
        dashboard::chart(&ctx, &name, &pairs)
    })
    .await?
    .map_err(|e| ApiError::from_error(&e))?
    .ok_or_else(|| not_found("chart"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

async fn hung(
    axum::extract::State(state): axum::extract::State<State>,
) -> Result<Response, ApiError> {
    let h = blocking(&state, |db| {
        let ctx = Ctx::open(Some(db))?;
        dashboard::hung(&ctx)
    })
    .await?
    .map_err(|e| ApiError::from_error(&e))?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(h).expect("serialisable"),
    ))
}

async fn report(
    axum::extract::State(state): axum::extract::State<State>,
    UrlPath(sub): UrlPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(q.as_deref());
    match blocking(&state, move |db| v1::report(db, &sub, &pairs)).await? {
        Outcome::Found(text) => Ok(json_text(StatusCode::OK, text)),
        Outcome::Nothing => Ok(json_text(StatusCode::OK, "null\n".into())),
        Outcome::Failed(e) => Err(e),
    }
}
