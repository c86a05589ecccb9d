//! Requests from elsewhere are refused. A page of another site may make the browser send
//! requests to this server, with the other site's `Origin`; through DNS rebinding it may even
//! make them look same-origin, but then the `Host` header names the attacker's domain. So the
//! `Host` must be `localhost` or an IP address (what no rebinding can produce) with this
//! server's port, and an `Origin`, when there is one, must be this very host.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::routes::{ApiError, App};

/// The middleware: 403 with a reason for a foreign `Host` or `Origin`.
pub async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let Some(host) = host.filter(|host| allowed_host(host, app.port)) else {
        return ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "refused: the Host header {:?} is not localhost or an IP address with port {}",
                host.unwrap_or(""),
                app.port
            ),
        )
        .into_response();
    };
    if let Some(origin) = headers.get(ORIGIN) {
        let same = origin
            .to_str()
            .is_ok_and(|origin| origin == format!("http://{host}"));
        if !same {
            return ApiError(
                StatusCode::FORBIDDEN,
                format!("refused: a request from another origin ({origin:?})"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether `host` (a `Host` header) is `localhost` or an IP address, with `port` (80 when the
/// header names none).
pub fn allowed_host(host: &str, port: u16) -> bool {
    let (name, given) = match host.rsplit_once(':') {
        // An IPv6 address without a port has colons inside its brackets only.
        Some((name, given)) if !given.contains(']') => (name, given.parse::<u16>().ok()),
        _ => (host, Some(80)),
    };
    if given != Some(port) {
        return false;
    }
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<Ipv4Addr>().is_ok()
        || name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .is_some_and(|n| n.parse::<Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LOCALHOST:8000",
            "[::1]:8000",
            "192.168.1.5:8000",
        ] {
            assert!(allowed_host(ok, 8000), "{ok}");
        }
        for refused in [
            "evil.example:8000",
            "127.0.0.1:8001",
            "127.0.0.1",
            "localhost.evil.example:8000",
            "[::1]",
            "127.0.0.1:8000:8000",
            "",
        ] {
            assert!(!allowed_host(refused, 8000), "{refused}");
        }
        assert!(allowed_host("localhost", 80));
        assert!(allowed_host("[::1]", 80));
    }
}
