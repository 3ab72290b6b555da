//! HTML pages served by the simulated authorization server.

use super::authorize::AuthRequest;
use super::config::SimConfig;

/// Minimal HTML escaping for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head>\n<body>\n<p><em>Atlassian (simulated)</em></p>\n{body}\n</body></html>\n",
        title = escape(title),
    )
}

/// Link to `/authorize/decide` with the original query plus `decision`.
fn decide_href(req: &AuthRequest, decision: &str) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &req.pairs {
        ser.append_pair(k, v);
    }
    ser.append_pair("decision", decision);
    format!("/authorize/decide?{}", ser.finish())
}

/// The consent screen: app name, user, granted scopes, sites, Accept/Decline.
pub(crate) fn consent(config: &SimConfig, req: &AuthRequest) -> String {
    let scopes: String = req
        .granted
        .iter()
        .map(|s| format!("  <li><code>{}</code></li>\n", escape(s)))
        .collect();
    let sites: String = if config.sites.is_empty() {
        "  <li>(no sites available to this account)</li>\n".to_string()
    } else {
        config
            .sites
            .iter()
            .map(|s| {
                format!(
                    "  <li>{} &mdash; {}</li>\n",
                    escape(&s.name),
                    escape(&s.url)
                )
            })
            .collect()
    };
    let body = format!(
        "<h1>{app} is requesting access to your Atlassian account</h1>\n\
         <p>Signed in as {name} ({email})</p>\n\
         <h2>Permissions</h2>\n<ul id=\"scopes\">\n{scopes}</ul>\n\
         <h2>Sites</h2>\n<ul id=\"sites\">\n{sites}</ul>\n\
         <p><a id=\"accept\" href=\"{accept}\">Accept</a> \
         <a id=\"decline\" href=\"{decline}\">Decline</a></p>",
        app = escape(&config.app_name),
        name = escape(&config.user.display_name),
        email = escape(&config.user.email),
        accept = escape(&decide_href(req, "accept")),
        decline = escape(&decide_href(req, "decline")),
    );
    page("Authorize app", &body)
}

/// The page shown instead of redirecting when the request cannot be trusted.
pub(crate) fn error(message: &str) -> String {
    let body = format!(
        "<h1>Something went wrong</h1>\n<p id=\"error\">{}</p>",
        escape(message)
    );
    page("Something went wrong", &body)
}
