//! Health, readiness, metrics, OpenAPI, docs, request ids, body limits and
//! the error envelope for requests no route serves.

use crate::both_backends;
use crate::helpers::*;
use serde_json::json;

both_backends!(
    health_and_readiness,
    metrics_count_requests_by_route_and_status,
    openapi_covers_every_route,
    docs_are_served_from_the_binary,
    request_ids_are_made_or_propagated,
    oversized_body_is_413_and_changes_nothing,
    unknown_route_and_wrong_method_get_the_envelope,
    graceful_shutdown_finishes_and_stops_accepting,
);

async fn health_and_readiness(app: TestApp) {
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
    let (s, body) = read(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["schema_version"], body["expected_schema_version"]);
    // A closed pool is an unreachable database: not ready.
    app.state.db.close().await;
    let (s, body) = read(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["database"], "unreachable");
}

async fn metrics_count_requests_by_route_and_status(app: TestApp) {
    let m = app.create_merchant("metrics@example.com").await;
    assert_eq!(app.signed(&m, "/api/v1/balance", json!({})).await.0, 200);
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // The recorder is process-wide (other tests add to it), so look for our series, not exact counts.
    assert!(
        text.contains(r#"paygate_http_requests_total{method="POST",route="/api/v1/balance",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"paygate_http_requests_total{method="POST",route="/admin/v1/merchants",status="201"}"#));
    assert!(text.contains("paygate_http_request_duration_seconds_bucket{"), "latency must be a histogram");
}

async fn openapi_covers_every_route(app: TestApp) {
    let doc: serde_json::Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let served = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
        ("/docs", "get"),
        ("/api/v1/balance", "post"),
        ("/admin/v1/merchants", "post"),
        ("/admin/v1/merchants", "get"),
        ("/admin/v1/merchants/{id}", "get"),
        ("/admin/v1/merchants/{id}", "patch"),
        ("/admin/v1/merchants/{id}/rotate-secret", "post"),
        ("/api/v1/dispute/create", "post"),
        ("/api/v1/dispute/get", "post"),
        ("/api/v1/dispute/list", "post"),
        ("/api/v1/dispute/cancel", "post"),
        ("/admin/v1/disputes", "get"),
        ("/admin/v1/disputes/{id}", "get"),
        ("/admin/v1/disputes/{id}/accept", "post"),
        ("/admin/v1/disputes/{id}/reject", "post"),
        ("/admin/v1/disputes/{id}/receipt", "get"),
    ];
    for (path, method) in served {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from OpenAPI");
    }
    // Parameters say where they go: a path parameter is in the path template,
    // and query filters are optional query parameters (generated clients
    // otherwise put `?status=` into the path, or demand every filter).
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                match param["in"].as_str().unwrap() {
                    "path" => {
                        assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: {name} is not in the path")
                    }
                    "query" => assert_ne!(param["required"], true, "{method} {path}: filter {name} is required"),
                    other => panic!("{method} {path}: {name} in {other}"),
                }
            }
        }
    }
    // And every documented route answers something other than the 404 fallback.
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "mch_x"));
            let resp = app.http.request(method.to_uppercase().parse().unwrap(), url).send().await.unwrap();
            // A path with parameters may name nothing (404 from its handler).
            let routed = resp.status() != 404 || path.contains('{');
            assert!(routed, "{method} {path} is documented but not served");
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for s in ["app_token", "app_ts", "app_sig", "admin"] {
        assert!(schemes.contains_key(s), "security scheme {s}");
    }
}

async fn docs_are_served_from_the_binary(app: TestApp) {
    let r = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let r = app.http.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("/openapi.json"));
}

async fn request_ids_are_made_or_propagated(app: TestApp) {
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    let made = r.headers().get("x-request-id").unwrap().to_str().unwrap().to_string();
    assert_eq!(made.len(), 16);
    let r2 = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(r2.headers().get("x-request-id").unwrap().to_str().unwrap(), made);
    let r = app.http.get(app.url("/healthz")).header("x-request-id", "client-chosen-42").send().await.unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "client-chosen-42");
    let r = app.http.post(app.url("/api/v1/balance")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-request-id"), "errors carry the id too");
}

async fn oversized_body_is_413_and_changes_nothing(app: TestApp) {
    let small = app.restart_with(|s| s.max_body_bytes = 2048).await;
    let m = small.create_merchant("big@example.com").await;
    let before = small.snapshot().await;
    let huge = json!({"currency": "x".repeat(5000)});
    assert_error(&small.signed(&m, "/api/v1/balance", huge.clone()).await, 413, "PAYLOAD_TOO_LARGE");
    let resp = small
        .http
        .post(small.url("/admin/v1/merchants"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"email": "a@b.co", "name": "x".repeat(5000)}))
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(small.snapshot().await, before);
}

async fn unknown_route_and_wrong_method_get_the_envelope(app: TestApp) {
    assert_error(&read(app.http.get(app.url("/nope")).send().await.unwrap()).await, 404, "NOT_FOUND");
    assert_error(&read(app.http.post(app.url("/api/v1/nope")).send().await.unwrap()).await, 404, "NOT_FOUND");
    assert_error(&read(app.http.delete(app.url("/healthz")).send().await.unwrap()).await, 405, "METHOD_NOT_ALLOWED");
    assert_error(
        &read(app.http.get(app.url("/api/v1/balance")).send().await.unwrap()).await,
        405,
        "METHOD_NOT_ALLOWED",
    );
}

async fn graceful_shutdown_finishes_and_stops_accepting(mut app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let m = app.create_merchant("bye@example.com").await;
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let body = br#"{"currency":"RUB"}"#;
    // A request whose body is still arriving when the shutdown begins.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/balance HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         X-App-Token: {}\r\nX-App-Access-Ts: {ts}\r\nX-App-Access-Sig: {sig}\r\nConnection: close\r\n\r\n",
        body.len(),
        m.public_token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let base = app.base.clone();
    let stopping = tokio::spawn(async move {
        app.stop().await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "shutdown must wait for the in-flight request");
    conn.write_all(&body[5..]).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"success":true,"data":{"balances":[]}}"#), "{response}");
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping).await.expect("shutdown completes").unwrap();
    let after = reqwest::Client::new().get(format!("{base}/healthz")).send().await;
    assert!(after.is_err(), "server still accepting after shutdown");
}
