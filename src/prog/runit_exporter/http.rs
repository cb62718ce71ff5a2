//! HTTP/1.x for one request per connection (docs/exporter.md §2): what a request asks for,
//! decided from the bytes read so far, and the response head. Pure, table-tested.
//!
//! Requests are parsed by `httparse` (not by hand: a request line and headers from an
//! untrusted client are where hand-written parsers go wrong). Every response closes the
//! connection (`Connection: close`): a scrape is one request, and a connection that
//! outlives its response is a slot a slow client could keep.

/// What to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (any query string).
    Metrics,
    /// `GET /`: a pointer to /metrics.
    Index,
    NotFound,
    /// Not GET or HEAD.
    MethodNotAllowed,
    /// Not HTTP, or malformed.
    BadRequest,
    /// The request head did not fit the read buffer, or had too many headers.
    TooLarge,
}

/// The outcome of looking at the bytes read so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not complete yet: read more.
    Partial,
    /// Answer with `route`; `head`: a HEAD request (no body sent).
    Done { route: Route, head: bool },
}

/// Headers looked at, at most; more is `TooLarge` (431).
const MAX_HEADERS: usize = 32;

/// Decides on `buf`; `full`: the read buffer has no room left.
pub fn parse(buf: &[u8], full: bool) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let done = |route| Parsed::Done { route, head: false };
    match req.parse(buf) {
        Ok(httparse::Status::Partial) if full => done(Route::TooLarge),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => done(Route::TooLarge),
        Err(_) => done(Route::BadRequest),
        Ok(httparse::Status::Complete(_)) => {
            let head = req.method == Some("HEAD");
            if !head && req.method != Some("GET") {
                return done(Route::MethodNotAllowed);
            }
            let path = req.path.unwrap_or("");
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            let route = match path {
                "/metrics" => Route::Metrics,
                "/" => Route::Index,
                _ => Route::NotFound,
            };
            Parsed::Done { route, head }
        }
    }
}

/// The exposition format's content type.
pub const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// Status line and fixed body of the non-metrics answers.
pub fn canned(route: Route) -> (&'static str, &'static str) {
    match route {
        Route::Metrics => ("200 OK", ""),
        Route::Index => ("200 OK", "runit-exporter: metrics at /metrics\n"),
        Route::NotFound => ("404 Not Found", "not found\n"),
        Route::MethodNotAllowed => ("405 Method Not Allowed", "only GET and HEAD\n"),
        Route::BadRequest => ("400 Bad Request", "bad request\n"),
        Route::TooLarge => (
            "431 Request Header Fields Too Large",
            "request head too large\n",
        ),
    }
}

/// A whole response: head, then `body` unless `head_only`.
pub fn response(status: &str, ctype: &str, body: &[u8], head_only: bool, out: &mut Vec<u8>) {
    let mut b = [0u8; 20];
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(ctype.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    out.extend_from_slice(crate::fmt_u64(body.len() as u64, &mut b));
    if status.starts_with("405") {
        out.extend_from_slice(b"\r\nAllow: GET, HEAD");
    }
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// The answer for a route other than `Metrics`.
pub fn canned_response(route: Route, head_only: bool, out: &mut Vec<u8>) {
    let (status, body) = canned(route);
    response(status, TEXT_TYPE, body.as_bytes(), head_only, out);
}

/// A plain-text error answer (500 when the directory cannot be read).
pub fn error_response(status: &str, text: &[u8], head_only: bool, out: &mut Vec<u8>) {
    response(status, TEXT_TYPE, text, head_only, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let d = |route, head| Parsed::Done { route, head };
        let cases: &[(&[u8], bool, Parsed)] = &[
            (
                b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                false,
                d(Route::Metrics, false),
            ),
            (
                b"GET /metrics?a=b HTTP/1.0\r\n\r\n",
                false,
                d(Route::Metrics, false),
            ),
            (
                b"HEAD /metrics HTTP/1.1\r\n\r\n",
                false,
                d(Route::Metrics, true),
            ),
            (b"GET / HTTP/1.1\r\n\r\n", false, d(Route::Index, false)),
            (b"GET /x HTTP/1.1\r\n\r\n", false, d(Route::NotFound, false)),
            (
                b"POST /metrics HTTP/1.1\r\n\r\n",
                false,
                d(Route::MethodNotAllowed, false),
            ),
            (b"GET /metrics HTTP/1.1\r\nHo", false, Parsed::Partial),
            (
                b"GET /metrics HTTP/1.1\r\nHo",
                true,
                d(Route::TooLarge, false),
            ),
            (b"", false, Parsed::Partial),
            (
                b"\x00\x01\x02garbage\r\n\r\n",
                false,
                d(Route::BadRequest, false),
            ),
            (
                b"GET /metrics HTTP/9.9\r\n\r\n",
                false,
                d(Route::BadRequest, false),
            ),
            (b"GET\n", false, d(Route::BadRequest, false)),
        ];
        for (req, full, want) in cases {
            assert_eq!(
                parse(req, *full),
                *want,
                "{:?}",
                String::from_utf8_lossy(req)
            );
        }
        let many: Vec<u8> = [&b"GET / HTTP/1.1\r\n"[..]]
            .into_iter()
            .chain(std::iter::repeat_n(&b"A: b\r\n"[..], MAX_HEADERS + 1))
            .chain([&b"\r\n"[..]])
            .flatten()
            .copied()
            .collect();
        assert_eq!(parse(&many, false), d(Route::TooLarge, false));
    }

    #[test]
    fn response_head() {
        let mut o = Vec::new();
        response("200 OK", METRICS_TYPE, b"x 1\n", false, &mut o);
        assert_eq!(
            o,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
              Content-Length: 4\r\nConnection: close\r\n\r\nx 1\n"
        );
        o.clear();
        canned_response(Route::MethodNotAllowed, true, &mut o);
        let s = String::from_utf8(o).unwrap();
        assert!(
            s.contains("\r\nAllow: GET, HEAD\r\n") && s.ends_with("\r\n\r\n"),
            "{s}"
        );
    }
}
