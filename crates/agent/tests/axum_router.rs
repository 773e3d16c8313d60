//! The axum router answers like the built-in server (feature `axum`).
#![cfg(feature = "axum")]

use std::future::poll_fn;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower_service::Service;

/// Sends one request through the router: the status and the body.
fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut svc = router.clone();
        poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut svc, cx))
            .await
            .expect("ready");
        let resp = svc.call(req).await.expect("response");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .expect("body");
        (status, body.to_vec())
    })
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

#[test]
fn the_router_serves_profiles_text_and_refuses_without_the_token() {
    let router = profkit_agent::axum_router::router();
    let (status, index) = call(&router, get("/debug/pprof/"));
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&index).contains("profile"));

    let (status, body) = call(&router, get("/debug/pprof/threads"));
    assert_eq!(status, StatusCode::OK);
    let p = profile::parse(&body).expect("threads profile parses");
    assert_eq!(p.str(p.sample_types[0].ty), "threads");

    let (status, text) = call(&router, get("/debug/pprof/mutex?debug=1"));
    assert_eq!(status, StatusCode::OK);
    assert!(text.starts_with(b"--- mutex:\n"));

    let (status, _) = call(&router, get("/debug/pprof/nothing"));
    assert_eq!(status, StatusCode::NOT_FOUND);

    let guarded = profkit_agent::axum_router::router_with(profkit_agent::ServeOptions {
        token: Some("t0ken".into()),
        ..Default::default()
    });
    assert_eq!(
        call(&guarded, get("/debug/pprof/cmdline")).0,
        StatusCode::UNAUTHORIZED
    );
    let authorized = Request::get("/debug/pprof/cmdline")
        .header("Authorization", "Bearer t0ken")
        .body(Body::empty())
        .expect("request");
    assert_eq!(call(&guarded, authorized).0, StatusCode::OK);
}
