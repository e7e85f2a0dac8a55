//! What every request passes before a handler: GET/HEAD only, a bounded URI and no body, and
//! the token (or, without one, a loopback `Host`). No CORS headers are ever added, so a page
//! from another origin cannot read an answer.

use super::{ApiError, State};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Longest request target accepted (path and query), bytes.
pub(super) const MAX_URI: usize = 8 * 1024;
/// The cookie a browser gets after `?token=`, so the page's own requests carry it.
pub(super) const COOKIE: &str = "agent_telemetry_token";

/// The middleware.
pub(crate) async fn check(
    axum::extract::State(state): axum::extract::State<State>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().to_string().len() > MAX_URI {
        return error(StatusCode::URI_TOO_LONG, "request target too long");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: GET and HEAD only",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if has_body(req.headers()) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "requests carry no body");
    }
    let mut set_cookie = None;
    match &state.token {
        Some(token) => match presented(&req, token) {
            Presented::Header | Presented::Cookie => {}
            Presented::Query => set_cookie = Some(token.clone()),
            Presented::Nothing => {
                let mut r = error(
                    StatusCode::UNAUTHORIZED,
                    "a token is required: Authorization: Bearer T, or ?token=T",
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return r;
            }
        },
        None => {
            // Loopback without a token: only loopback host names, so a web page that rebinds
            // its own name to 127.0.0.1 (DNS rebinding) is refused.
            if !loopback_host(req.headers()) {
                return error(
                    StatusCode::FORBIDDEN,
                    "Host is not a loopback name (localhost, 127.0.0.1, [::1])",
                );
            }
        }
    }
    let mut resp = next.run(req).await;
    if let Some(t) = set_cookie {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn error(status: StatusCode, msg: &str) -> Response {
    ApiError {
        status,
        body: json!({"error": msg}),
    }
    .into_response()
}

fn has_body(h: &HeaderMap) -> bool {
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

enum Presented {
    Header,
    Query,
    Cookie,
    Nothing,
}

/// Where the request carries the right token, if it does.
fn presented(req: &Request, token: &str) -> Presented {
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|b| same(b.trim(), token)) {
        return Presented::Header;
    }
    let query = req.uri().query().unwrap_or("");
    let in_query = url_pairs(query).any(|(k, v)| k == "token" && same(&v, token));
    if in_query {
        return Presented::Query;
    }
    let in_cookie = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && same(v, token));
    if in_cookie {
        return Presented::Cookie;
    }
    Presented::Nothing
}

/// The decoded `key=value` pairs of a query string.
pub(crate) fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|s| !s.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

/// `%XX` and `+` decoding (invalid escapes kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares in time independent of where the strings first differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The Host header names a loopback address (any port), or there is none (HTTP/1.0).
fn loopback_host(h: &HeaderMap) -> bool {
    let Some(host) = h.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let v: Vec<_> = url_pairs("a=1&b=x%20y+z&c&d=%zz&e=%4").collect();
        assert_eq!(
            v,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), "".into()),
                ("d".into(), "%zz".into()),
                ("e".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn loopback_names() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, HeaderValue::from_str(v).unwrap());
            loopback_host(&m)
        };
        assert!(h("localhost:7777"));
        assert!(h("127.0.0.1:7777"));
        assert!(h("127.1.2.3"));
        assert!(h("[::1]:80"));
        assert!(!h("evil.example:7777"));
        assert!(!h("10.0.0.1:7777"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
