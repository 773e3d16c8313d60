//! pprof's Config menu: saving the current view's options under a name, listing the
//! saved configurations (each a link to the current view with its options) and deleting
//! them. The configurations live in pprof's settings file (see [`super::settings`]).
//!
//! The menu is not part of a rendered view: views are cached by URL, while the menu
//! depends on the settings file, which `go tool pprof` may change at any time. A view's
//! page holds [`MARK`] where the menu goes, and [`fill`] puts the menu in on every
//! response.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::page::escape;
use super::server::{Request, Response};
use super::settings::{ConfigError, NamedConfig, Settings};
use super::views::config_from_url;
use super::State;

/// Where a page's Config menu goes (an HTML comment, harmless if left in).
pub const MARK: &str = "<!--profkit:config-menu-->";

/// Longest configuration name accepted, in bytes.
const MAX_NAME: usize = 256;

/// The settings file and the lock that serialises edits to it.
pub struct SettingsFile {
    /// The file, or why there is none (no config directory).
    path: Result<PathBuf, String>,
    /// Held while the file is read, edited and written back.
    edits: Mutex<()>,
}

impl SettingsFile {
    /// The settings file at `path`, or none, for the reason given.
    pub fn new(path: Result<PathBuf, String>) -> SettingsFile {
        SettingsFile {
            path,
            edits: Mutex::new(()),
        }
    }

    /// The file's path, or why there is none.
    fn path(&self) -> Result<&Path, ConfigError> {
        self.path
            .as_deref()
            .map_err(|e| ConfigError::Storage(format!("no settings file: {e}")))
    }

    /// Applies `edit` to the settings, one edit at a time.
    fn edit(
        &self,
        edit: impl FnOnce(&mut Settings) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        let path = self.path()?;
        let _one_at_a_time = self
            .edits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Settings::edit(path, edit)
    }
}

/// Checks a configuration name: not empty, no control characters, not too long.
fn check_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::Request("invalid config name".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(ConfigError::Request(
            "invalid config name: it has a control character".into(),
        ));
    }
    if name.len() > MAX_NAME {
        return Err(ConfigError::Request(format!(
            "invalid config name: longer than {MAX_NAME} bytes"
        )));
    }
    Ok(())
}

/// The response to a failed save or delete: 400 for a bad request, 500 when the
/// settings file could not be read, parsed or written.
fn failure(e: ConfigError) -> Response {
    match e {
        ConfigError::Request(m) => Response::text(400, &m),
        ConfigError::Storage(m) => Response::text(500, &m),
    }
}

/// The request's query parameters followed by those of its form body.
fn params(req: &Request) -> Vec<(String, String)> {
    req.query.iter().chain(req.form.iter()).cloned().collect()
}

/// `POST /ui/saveconfig?config=NAME&<view parameters>`: saves the command line's options
/// refined by the view parameters under NAME, replacing a configuration of that name.
pub fn save(state: &State, req: &Request) -> Response {
    if req.method != "POST" {
        return Response::method_not_allowed("POST");
    }
    let params = params(req);
    let merged = Request {
        query: params,
        ..req.clone()
    };
    let name = merged.param("config").to_string();
    let result = check_name(&name)
        .and_then(|()| config_from_url(&state.config, &merged).map_err(ConfigError::Request))
        .and_then(|cfg| {
            let config = NamedConfig::from_config(&name, &cfg);
            state.settings.edit(|s| {
                s.save(config);
                Ok(())
            })
        });
    match result {
        Ok(()) => Response::text(200, ""),
        Err(e) => failure(e),
    }
}

/// `DELETE /ui/deleteconfig?config=NAME` (or POST): deletes the configuration NAME.
pub fn delete(state: &State, req: &Request) -> Response {
    if req.method != "DELETE" && req.method != "POST" {
        return Response::method_not_allowed("DELETE, POST");
    }
    let merged = Request {
        query: params(req),
        ..req.clone()
    };
    let name = merged.param("config");
    let result = check_name(name).and_then(|()| state.settings.edit(|s| s.remove(name)));
    match result {
        Ok(()) => Response::text(200, ""),
        Err(e) => failure(e),
    }
}

/// `resp` with the Config menu for `req` in place of [`MARK`] (the first one, which a
/// page puts in its header, before anything from the profile).
pub fn fill(state: &State, req: &Request, resp: Cow<'_, Response>) -> Response {
    let is_html = resp
        .headers
        .iter()
        .any(|(k, v)| *k == "Content-Type" && v.starts_with("text/html"));
    let mark = MARK.as_bytes();
    let at = if is_html {
        resp.body.windows(mark.len()).position(|w| w == mark)
    } else {
        None
    };
    let Some(at) = at else {
        return resp.into_owned();
    };
    let menu = render(state, req);
    match resp {
        // A response of its own is changed in place.
        Cow::Owned(mut resp) => {
            resp.body.splice(at..at + mark.len(), menu.bytes());
            resp
        }
        Cow::Borrowed(resp) => {
            let mut body = Vec::with_capacity(resp.body.len() + menu.len());
            body.extend_from_slice(&resp.body[..at]);
            body.extend_from_slice(menu.as_bytes());
            body.extend_from_slice(&resp.body[at + mark.len()..]);
            Response {
                status: resp.status,
                headers: resp.headers.clone(),
                body,
            }
        }
    }
}

/// One entry of the menu.
struct Entry {
    /// The configuration's name.
    name: String,
    /// The link: the current view with the configuration's options (`?query`).
    href: String,
    /// The configuration matches the current view (the last one that does is marked).
    current: bool,
    /// A saved configuration (not `Default`), which can be deleted.
    saved: bool,
}

/// The entries of the menu: `Default`, then the saved configurations; and why the saved
/// ones could not be read, if they could not.
fn entries(state: &State, req: &Request) -> (Vec<Entry>, Option<String>) {
    let mut configs = vec![NamedConfig::default_config()];
    let mut problem = None;
    match &state.settings.path {
        Ok(path) => match Settings::read(path) {
            Ok(s) => configs.extend(s.configs),
            Err(e) => problem = Some(e),
        },
        Err(e) => problem = Some(format!("no settings file: {e}")),
    }
    let mut last_match = None;
    let mut entries: Vec<Entry> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (query, changed) = c.apply_to_query(&req.query, &req.raw_query);
            if !changed {
                last_match = Some(i);
            }
            Entry {
                name: c.name.clone(),
                href: format!("?{query}"),
                current: false,
                saved: i > 0,
            }
        })
        .collect();
    if let Some(i) = last_match {
        entries[i].current = true;
    }
    (entries, problem)
}

/// The Config menu, the save dialog and the delete dialog for `req`.
pub fn render(state: &State, req: &Request) -> String {
    let (entries, problem) = entries(state, req);
    let mut out = String::with_capacity(1024 + entries.len() * 256);
    out.push_str(
        "<details id=\"config-menu\" class=\"menu\"><summary>Config</summary>\
<div class=\"submenu\">\
<a href=\"#\" id=\"save-config\" title=\"Save current settings\">Save as \u{2026}</a><hr>",
    );
    for e in &entries {
        let name = escape(&e.name);
        let class = if e.current {
            "config-entry current"
        } else {
            "config-entry"
        };
        let _ = write!(
            out,
            "<a class=\"{class}\" href=\"{}\" data-config=\"{name}\"",
            escape(&e.href)
        );
        if e.current {
            out.push_str(" aria-current=\"true\"");
        }
        out.push_str("><span class=\"menu-check-mark\">");
        if e.current {
            out.push('\u{2713}');
        }
        let _ = write!(out, "</span><span class=\"config-name\">{name}</span>");
        if e.saved {
            let _ = write!(
                out,
                "<span class=\"menu-delete-btn\" role=\"button\" tabindex=\"0\" \
title=\"Delete this config\" data-config=\"{name}\">\u{d7}</span>"
            );
        }
        out.push_str("</a>");
    }
    if let Some(p) = &problem {
        let _ = write!(
            out,
            "<div id=\"config-error\" class=\"config-error\">{}</div>",
            escape(p)
        );
    }
    out.push_str(
        "</div></details>\n<dialog id=\"save-dialog\" class=\"config-dialog\">\
<form method=\"dialog\"><div class=\"dialog-header\">Save options as</div>\
<input id=\"save-name\" type=\"text\" list=\"config-list\" placeholder=\"New config\" \
autocomplete=\"off\" maxlength=\"256\"><datalist id=\"config-list\">",
    );
    for e in entries.iter().filter(|e| e.saved) {
        let _ = write!(out, "<option value=\"{}\">", escape(&e.name));
    }
    out.push_str(
        "</datalist><div class=\"dialog-footer\"><span class=\"dialog-error\" id=\"save-error\"></span>\
<button type=\"button\" id=\"save-cancel\">Cancel</button>\
<button type=\"submit\" id=\"save-confirm\">Save</button></div></form></dialog>\n\
<dialog id=\"delete-dialog\" class=\"config-dialog\"><form method=\"dialog\">\
<div class=\"dialog-header\">Delete config</div><div id=\"delete-prompt\"></div>\
<div class=\"dialog-footer\"><span class=\"dialog-error\" id=\"delete-error\"></span>\
<button type=\"button\" id=\"delete-cancel\">Cancel</button>\
<button type=\"submit\" id=\"delete-confirm\">Delete</button></div></form></dialog>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_non_empty_printable_and_short() {
        assert!(check_name("my view").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME + 1)).is_err());
    }
}
