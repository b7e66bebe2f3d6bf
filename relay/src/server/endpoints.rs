//! HTTP endpoints of the secure features, on every HTTP listener (ws, wss,
//! metrics): `GET /webtransport` and `POST|GET /credentials`.

use super::http::{respond_with, Head};
use super::Shared;
use crate::certs::unix_secs;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::io::AsyncWrite;

const JSON: &str = "application/json";

pub(super) async fn answer<S: AsyncWrite + Unpin>(
    shared: &Arc<Shared>,
    head: &Head,
    stream: &mut S,
) {
    match head.path.as_str() {
        "/webtransport" => webtransport(shared, head, stream).await,
        _ => credentials(shared, head, stream).await,
    }
}

/// CORS for a page fetching the hashes: echo an allowed Origin (`*` when
/// every origin is allowed); `None` when the Origin is refused.
fn cors(shared: &Shared, origin: Option<&str>) -> Option<String> {
    if shared.ws_allowed_origins.is_empty() {
        return Some("Access-Control-Allow-Origin: *\r\n".into());
    }
    match origin {
        Some(o) if shared.origin_allowed(Some(o)) => Some(format!(
            "Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n"
        )),
        // No Origin: not a browser's cross-origin fetch; nothing to allow.
        None => Some("Vary: Origin\r\n".into()),
        Some(_) => None,
    }
}

async fn webtransport<S: AsyncWrite + Unpin>(shared: &Arc<Shared>, head: &Head, stream: &mut S) {
    let Some(wt) = &shared.secure.wt else {
        return respond_with(
            stream,
            "404 Not Found",
            "text/plain",
            "",
            "no webtransport listener\n",
        )
        .await;
    };
    let Some(cors) = cors(shared, head.origin.as_deref()) else {
        return respond_with(
            stream,
            "403 Forbidden",
            "text/plain",
            "",
            "origin not allowed\n",
        )
        .await;
    };
    let body = wt.json(head.host.as_deref());
    respond_with(stream, "200 OK", JSON, &cors, &body).await;
}

async fn credentials<S: AsyncWrite + Unpin>(shared: &Arc<Shared>, head: &Head, stream: &mut S) {
    let Some(m) = &shared.secure.minting else {
        return respond_with(
            stream,
            "404 Not Found",
            "text/plain",
            "",
            "credential minting is off\n",
        )
        .await;
    };
    let now = unix_secs(SystemTime::now());
    match m.handle(head.authorization.as_deref(), &head.query, now) {
        Ok(c) => {
            let body = serde_json::to_string(&c).unwrap_or_default();
            respond_with(stream, "200 OK", JSON, "", &body).await;
        }
        Err(e) => {
            let extra = match e {
                super::credentials::MintError::Unauthorized => "WWW-Authenticate: Bearer\r\n",
                _ => "",
            };
            respond_with(stream, e.status(), "text/plain", extra, &format!("{e}\n")).await;
        }
    }
}
