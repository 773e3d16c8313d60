//! The `/debug/pprof/*` endpoints as an axum [`Router`] (feature `axum`), to mount in a
//! service's own server: `app.merge(profkit_agent::axum_router::router())`.
//!
//! Each request is answered by [`crate::http::handle`] on tokio's blocking pool, since
//! a CPU profile takes the seconds it was asked for.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::http::{handle, Options, Request};

/// A router answering `/debug/pprof/` and every path below it, with no token.
pub fn router() -> Router {
    router_with(Options::default())
}

/// A router answering `/debug/pprof/` and every path below it with `options` (a bearer
/// token, when set, is required on every request; `allow_remote` does not apply, as the
/// caller binds the listener).
pub fn router_with(options: Options) -> Router {
    let serve = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let options = options.clone();
        async move { answer(method, uri, headers, body, options).await }
    };
    Router::new()
        .route("/debug/pprof/", any(serve.clone()))
        .route("/debug/pprof/{*name}", any(serve))
}

async fn answer(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    options: Options,
) -> Response {
    let req = Request {
        method: method.as_str().to_string(),
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string()),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: body.to_vec(),
    };
    let answered = tokio::task::spawn_blocking(move || handle(&req, &options)).await;
    let Ok(resp) = answered else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "profile handler failed\n",
        )
            .into_response();
    };
    let mut builder = axum::http::Response::builder()
        .status(resp.status)
        .header(header::CONTENT_TYPE, resp.content_type);
    for (name, value) in &resp.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Body::from(resp.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
