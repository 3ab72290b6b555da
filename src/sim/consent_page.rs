//! HTML pages served by the simulated authorization server.

use super::authorize::AuthRequest;
use super::config::SimConfig;
pub(crate) use crate::page::escape;

const BRAND: &str = "<p><em>Atlassian (simulated)</em></p>";

fn page(title: &str, body: &str) -> String {
    crate::page::html(
        &format!("{title} \u{2014} Atlassian (simulated)"),
        &format!("{BRAND}\n{body}"),
    )
}

/// The original authorize query as hidden form fields, so the decision is checked against it.
fn hidden_fields(req: &AuthRequest) -> String {
    req.pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect()
}

/// The site picker: the grant applies to the chosen site only, as on Atlassian's page.
fn site_picker(config: &SimConfig) -> String {
    match config.sites.as_slice() {
        [] => "<p id=\"sites\">(no sites available to this account)</p>\n".to_string(),
        [only] => format!(
            "<p id=\"sites\">{} &mdash; {}</p>\n<input type=\"hidden\" name=\"site\" value=\"{}\">\n",
            escape(&only.name),
            escape(&only.url),
            escape(&only.id)
        ),
        several => {
            let options: String = several
                .iter()
                .map(|s| {
                    format!(
                        "<option value=\"{}\">{} &mdash; {}</option>\n",
                        escape(&s.id),
                        escape(&s.name),
                        escape(&s.url)
                    )
                })
                .collect();
            format!(
                "<label for=\"site\">Use app on</label>\n<select id=\"site\" name=\"site\">\n{options}</select>\n"
            )
        }
    }
}

/// The consent screen: app name, user, granted scopes, the site, and Accept/Decline buttons that
/// POST the decision (a GET link could be followed by a prefetcher or a crawler).
pub(crate) fn consent(config: &SimConfig, req: &AuthRequest) -> String {
    let scopes: String = req
        .granted
        .iter()
        .map(|s| format!("  <li><code>{}</code></li>\n", escape(s)))
        .collect();
    let body = format!(
        "<h1>{app} is requesting access to your Atlassian account</h1>\n\
         <p>Signed in as {name} ({email})</p>\n\
         <h2>Permissions</h2>\n<ul id=\"scopes\">\n{scopes}</ul>\n\
         <form method=\"post\" action=\"/authorize/decide\">\n{hidden}\
         <h2>Site</h2>\n{sites}\
         <p><button id=\"accept\" type=\"submit\" name=\"decision\" value=\"accept\">Accept</button> \
         <button id=\"decline\" type=\"submit\" name=\"decision\" value=\"decline\">Decline</button></p>\n\
         </form>",
        app = escape(&config.app_name),
        name = escape(&config.user.display_name),
        email = escape(&config.user.email),
        hidden = hidden_fields(req),
        sites = site_picker(config),
    );
    page("Authorize app", &body)
}

/// The page shown instead of redirecting when the request cannot be trusted. `code` spans in
/// the message (between backticks) are shown as code, not as literal backticks.
pub(crate) fn error(message: &str) -> String {
    let text: String = message
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => format!("<code>{}</code>", escape(part)),
            _ => escape(part),
        })
        .collect();
    let body = format!("<h1>Something went wrong</h1>\n<p id=\"error\">{text}</p>");
    page("Something went wrong", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_shows_code_spans_without_backticks() {
        let page = error("The redirect_uri `http://x/<cb>` does not match");
        assert!(page.contains("<code>http://x/&lt;cb&gt;</code>"), "{page}");
        assert!(!page.contains('`'), "{page}");
    }

    #[test]
    fn several_sites_get_a_picker_and_one_site_is_named() {
        let mut config = SimConfig::default();
        assert!(!site_picker(&config).contains("<select"));
        config.sites.push(super::super::SimSite::numbered(2));
        let picker = site_picker(&config);
        assert!(
            picker.contains("<select") && picker.contains("Acme 2"),
            "{picker}"
        );
    }
}
