//! One OTLP/HTTP request: protobuf, gzip, the user's headers; which failures are worth retrying
//! (the OTLP specification's list), and the backoff between attempts.

use std::io::Write;
use std::time::Duration;

/// Where and how to send: the traces URL and the extra headers.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// The full URL spans are POSTed to (ends in `/v1/traces` unless the user gave another path).
    pub(super) url: String,
    pub(super) headers: Vec<(String, String)>,
}

/// Why a request did not succeed.
#[derive(Debug)]
pub(super) struct Failure {
    /// Worth trying again: no connection, a timeout, 429, 502, 503, 504 (OTLP/HTTP's list).
    pub(super) retryable: bool,
    /// What went wrong, for the user.
    pub(super) message: String,
}

/// The traces URL of `--endpoint`: the OTLP exporter convention for
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, `v1/traces` appended after one slash), except that
/// a URL already ending in `/v1/traces` (what `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` takes) is used
/// as it is.
pub fn traces_url(endpoint: &str) -> String {
    let e = endpoint.trim();
    if e.trim_end_matches('/').ends_with("/v1/traces") {
        return e.trim_end_matches('/').to_string();
    }
    format!("{}/v1/traces", e.trim_end_matches('/'))
}

/// gzip of `bytes` (Content-Encoding: gzip).
pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// POSTs one gzipped protobuf `ExportTraceServiceRequest`.
pub(super) fn post(agent: &ureq::Agent, ep: &Endpoint, body: &[u8]) -> Result<(), Failure> {
    let mut req = agent
        .post(&ep.url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip");
    for (k, v) in &ep.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send(body) {
        Ok(mut resp) => {
            let code = resp.status().as_u16();
            if (200..300).contains(&code) {
                return Ok(());
            }
            let text = resp
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_string()
                .unwrap_or_default();
            Err(Failure {
                retryable: matches!(code, 429 | 502 | 503 | 504),
                message: format!(
                    "{} answered HTTP {code}: {}",
                    ep.url,
                    crate::util::truncate(text.trim(), 300)
                ),
            })
        }
        Err(e) => Err(Failure {
            retryable: true,
            message: format!("{}: {e}", ep.url),
        }),
    }
}

/// The HTTP client: 30 s per request, statuses read rather than turned into errors.
pub(super) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The wait before attempt `n + 1` (n ≥ 1 failed attempts): 1 s doubling up to `cap`.
pub(super) fn backoff(n: u32, cap: Duration) -> Duration {
    let secs = 1u64 << n.saturating_sub(1).min(16);
    Duration::from_secs(secs).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/otlp"),
            "http://c:4318/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces/"),
            "http://c:4318/v1/traces"
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        let cap = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n, cap).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
