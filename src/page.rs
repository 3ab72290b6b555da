//! The few HTML pages served to a browser, by the callback listener and by the simulator: text
//! escaped, a title per page, `lang` and a viewport, and headers that keep them private (the
//! callback URL carries the authorization code) and inert (no scripts, nothing loaded).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Minimal HTML escaping for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page; `title` is escaped here, `body` must already be HTML.
pub fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n\
         <body style=\"font-family:sans-serif;margin:2em auto;max-width:40em;padding:0 1em\">\n{body}\n</body></html>\n",
        title = escape(title),
    )
}

/// A page with its status code (the security headers come from [`secure`]).
pub fn respond(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(html(title, body))).into_response()
}

/// The headers every response of a loopback server carries (an axum `map_response` layer):
/// not cached, no Referer leaking the code onward, nothing but inline style may load, no sniffing.
pub async fn secure(mut resp: Response) -> Response {
    const HEADERS: [(HeaderName, &str); 4] = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in HEADERS {
        resp.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_declare_language_and_viewport_and_escape_the_title() {
        let page = html("<b>", "<p>x</p>");
        assert!(page.contains("<html lang=\"en\">"), "{page}");
        assert!(page.contains("name=\"viewport\""), "{page}");
        assert!(page.contains("<title>&lt;b&gt;</title>"), "{page}");
    }

    #[tokio::test]
    async fn every_response_gets_the_security_headers() {
        let resp = secure(respond(StatusCode::FORBIDDEN, "t", "b")).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let h = resp.headers();
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; style-src 'unsafe-inline'"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
}
