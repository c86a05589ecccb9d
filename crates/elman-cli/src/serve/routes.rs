//! The HTTP routes: the page and its files, and the JSON API the page calls.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /assets/{name}` | its script, style and charting library |
//! | `GET /api/options` | the data choices with their settings, the backends, the bounds |
//! | `GET /api/runs` | the runs so far |
//! | `POST /api/runs` | start a run: a JSON [`Form`] |
//! | `POST /api/runs/{id}/pause`, `…/resume`, `…/stop` | control a run |
//! | `GET /api/runs/{id}/events` | a run's live state, as server-sent events |
//! | `GET /api/runs/{id}/files/{name}` | a file of an ended run's folder |
//!
//! Every error is a 4xx or 5xx with `{"error": "…"}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

use super::form::{Catalog, Form};
use super::run::{Run, Status};
use super::runs::Registry;
use super::{assets, events, guard};
use crate::backend::Backend;

/// What every handler shares.
pub struct App {
    /// The runs.
    pub registry: Arc<Registry>,
    /// The data the page offers.
    pub catalog: Catalog,
    /// The backends that work on this machine.
    pub backends: Vec<Backend>,
    /// The port the server listens on, for the `Host` check.
    pub port: u16,
    /// Turns true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// An error answer: its status and one line.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

/// The router of the whole server.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/assets/{name}", get(asset))
        .route("/api/options", get(options))
        .route("/api/runs", get(list).post(start))
        .route("/api/runs/{id}/pause", post(pause))
        .route("/api/runs/{id}/resume", post(resume))
        .route("/api/runs/{id}/stop", post(stop))
        .route("/api/runs/{id}/events", get(stream))
        .route("/api/runs/{id}/files/{name}", get(file))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page".into()) })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::check,
        ))
        .with_state(app)
}

async fn page() -> Html<&'static str> {
    Html(assets::INDEX)
}

async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (kind, bytes) = assets::asset(&name)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no asset `{name}`")))?;
    Ok(([(CONTENT_TYPE, kind), (CACHE_CONTROL, "no-cache")], bytes).into_response())
}

async fn options(State(app): State<Arc<App>>) -> Response {
    axum::Json(json!({
        "choices": app.catalog.choices,
        "backends": app.backends,
        "limits": app.registry.limits,
    }))
    .into_response()
}

/// A run as the list shows it.
#[derive(Serialize)]
struct Summary<'a> {
    id: u64,
    form: &'a Form,
    folder: &'a str,
    summary: &'a str,
    status: Status,
    epochs_done: usize,
}

fn summary(run: &Run) -> serde_json::Value {
    let live = run.live();
    serde_json::to_value(Summary {
        id: run.id,
        form: &run.form,
        folder: &run.folder,
        summary: &run.summary,
        status: live.status,
        epochs_done: live.losses.len(),
    })
    .expect("a summary serializes")
}

async fn list(State(app): State<Arc<App>>) -> Response {
    let runs: Vec<_> = app.registry.list().iter().map(|r| summary(r)).collect();
    axum::Json(runs).into_response()
}

async fn start(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // JSON only: a plain HTML form of another site cannot post it.
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the settings must be sent as application/json".into(),
        ));
    }
    let form: Form = serde_json::from_slice(&body)
        .map_err(|err| ApiError(StatusCode::BAD_REQUEST, format!("bad settings: {err}")))?;
    let started = tokio::task::spawn_blocking(move || {
        app.registry
            .start(form, &app.catalog)
            .map(|run| summary(&run))
    })
    .await
    .map_err(|err| ApiError(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?;
    match started {
        Ok(summary) => Ok((StatusCode::CREATED, axum::Json(summary)).into_response()),
        Err(refused) => Err(ApiError(
            StatusCode::from_u16(refused.status).unwrap_or(StatusCode::BAD_REQUEST),
            refused.message,
        )),
    }
}

/// The run a path names.
fn find(app: &App, id: &str) -> Result<Arc<Run>, ApiError> {
    id.parse()
        .ok()
        .and_then(|id| app.registry.get(id))
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no run `{id}`")))
}

/// A control's answer: the run, or 409 when it has ended.
fn controlled(run: &Run, done: bool, verb: &str) -> Result<Response, ApiError> {
    if done {
        Ok(axum::Json(summary(run)).into_response())
    } else {
        Err(ApiError(
            StatusCode::CONFLICT,
            format!("run {} has ended: there is nothing to {verb}", run.id),
        ))
    }
}

async fn pause(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run = find(&app, &id)?;
    controlled(&run, run.pause(), "pause")
}

async fn resume(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run = find(&app, &id)?;
    controlled(&run, run.resume(), "resume")
}

async fn stop(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run = find(&app, &id)?;
    controlled(&run, run.stop(), "stop")
}

async fn stream(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run = find(&app, &id)?;
    Ok(events::stream(run, app.shutdown.clone()).into_response())
}

/// A file of an ended run: only a name the run folder lists, so no path leaves the folder.
async fn file(
    State(app): State<Arc<App>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let run = find(&app, &id)?;
    let listed = run.live().files.contains(&name);
    if !listed {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("run {} has no file `{name}`", run.id),
        ));
    }
    let path = run.path.join(&name);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|err| ApiError(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?
        .map_err(|err| ApiError(StatusCode::NOT_FOUND, format!("{name}: {err}")))?;
    let kind = match name.rsplit('.').next() {
        Some("png") => "image/png",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("toml") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let disposition = if kind == "image/png" {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{name}\"")
    };
    Ok((
        [
            (CONTENT_TYPE, kind.to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
