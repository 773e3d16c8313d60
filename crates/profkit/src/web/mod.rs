//! The web UI (`-http=[host]:port`): pprof's views (flame graph, top, graph, peek,
//! source, download) served from the loaded profile, each computed on demand with the
//! options in the page's URL, and pprof's Config menu, which saves those options under a
//! name in pprof's settings file (shared with `go tool pprof -http`).
//!
//! Memory: one view renders at a time (the loaded profile sits behind a mutex that is
//! held for the whole render), and a view without sample filters borrows the loaded
//! profile's samples instead of copying them, so a render costs little more than the
//! profile's metadata and the report's own structures. Views render on the thread that
//! loaded the profile, so their allocations reuse the memory loading freed instead of
//! growing a per-thread allocator arena for each connection thread.
//!
//! It binds to 127.0.0.1 unless a host is given, and then answers loopback clients only.
//! Every asset is embedded in the binary; pages load nothing from the network.

mod config_menu;
mod page;
mod server;
mod settings;
mod views;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use profile::Profile;

use crate::config::Config;
use crate::driver::Failure;
use server::{Request, Response};

/// What every request is answered from: the profile as loaded and the command line's
/// options.
pub struct State {
    /// The profile as loaded (merged, with the diff base when there is one). Its lock is
    /// the render lock: a view holds it while it renders, so renders never overlap.
    pub profile: Mutex<Profile>,
    /// The loaded profile's sample types and default sample type alone (no samples,
    /// locations or functions), read by every page without taking the render lock.
    pub sample_types: Profile,
    /// The options of the command line; URL parameters refine a copy per request.
    pub config: Config,
    /// The profile was loaded with `-diff_base`.
    pub diff: bool,
    /// pprof's settings file, where the Config menu's configurations are saved.
    settings: config_menu::SettingsFile,
    /// Recently rendered views: the profile never changes, so a view is a function of
    /// its URL.
    cache: Mutex<ResponseCache>,
    /// Where requests go to be rendered: the thread that loaded the profile.
    renders: Option<mpsc::Sender<RenderJob>>,
}

/// A request to render, with where its response goes.
struct RenderJob {
    /// The request.
    req: Request,
    /// Receives the response.
    reply: mpsc::Sender<Response>,
}

/// The last few responses, by URL, within a byte budget. An entry is made before its
/// view is rendered, so a request for a view being rendered waits for it instead of
/// rendering it again.
#[derive(Default)]
struct ResponseCache {
    entries: VecDeque<(String, Arc<OnceLock<Response>>)>,
}

impl ResponseCache {
    /// Views kept.
    const CAPACITY: usize = 16;
    /// Bytes of response bodies kept; a larger response is not kept at all. Small: the
    /// server's memory is meant to stay within a few times the profile's size, and a
    /// view is quick to render again.
    const BUDGET: usize = 8 << 20;

    /// The entry for `key`, made (empty) if there is none.
    fn entry(&mut self, key: &str) -> Arc<OnceLock<Response>> {
        if let Some((_, cell)) = self.entries.iter().find(|(k, _)| k == key) {
            return Arc::clone(cell);
        }
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        let cell = Arc::new(OnceLock::new());
        self.entries.push_back((key.to_string(), Arc::clone(&cell)));
        cell
    }

    /// Forgets `cell`, and the oldest views while the kept bodies exceed the budget.
    fn settle(&mut self, cell: &Arc<OnceLock<Response>>, forget: bool) {
        if forget {
            self.entries.retain(|(_, c)| !Arc::ptr_eq(c, cell));
        }
        let size = |c: &OnceLock<Response>| c.get().map_or(0, |r| r.body.len());
        let mut total: usize = self.entries.iter().map(|(_, c)| size(c)).sum();
        while total > Self::BUDGET {
            let Some((_, oldest)) = self.entries.pop_front() else {
                break;
            };
            total -= size(&oldest);
        }
    }
}

/// Makes every thread allocate from one allocator arena. Called before the profile is
/// loaded: the server's threads (connections, the render thread, a report's workers)
/// then reuse the memory others freed instead of each growing an arena of its own, which
/// with glibc's malloc can hold hundreds of megabytes per arena after a large render.
pub fn share_one_allocator_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting; it is called while the
    // process has one thread, before any other allocator use that depends on it.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Splits `host:port` (`[v6]:port`, `:port`, `host:`) into host and port; an empty
/// port is 0 (any free port).
pub fn split_host_port(hostport: &str) -> Result<(String, u16), Failure> {
    let Some((host, port)) = hostport.rsplit_once(':') else {
        return Err(Failure(format!(
            "could not split http address: address {hostport}: missing port in address"
        )));
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.contains(':') && !hostport.starts_with('[') {
        return Err(Failure(format!(
            "could not split http address: address {hostport}: too many colons in address"
        )));
    }
    let port = if port.is_empty() {
        0
    } else {
        port.parse::<u16>()
            .map_err(|e| Failure(format!("invalid port number: {e}")))?
    };
    Ok((host.to_string(), port))
}

/// Whether a server bound to `host` should answer loopback clients only.
fn is_local_host(host: &str) -> bool {
    matches!(host, "" | "localhost" | "127.0.0.1" | "::1")
}

/// Serves the web UI for `profile` on `hostport` until the process ends.
pub fn serve(
    profile: Profile,
    config: Config,
    hostport: &str,
    no_browser: bool,
    diff: bool,
) -> Result<(), Failure> {
    let (host, port) = split_host_port(hostport)?;
    let bind_host = if host.is_empty() { "127.0.0.1" } else { &host };
    let listener = TcpListener::bind((bind_host, port))
        .map_err(|e| Failure(format!("listen tcp {bind_host}:{port}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure(format!("listen tcp {bind_host}:{port}: {e}")))?;
    let shown_host = if bind_host.contains(':') {
        format!("[{bind_host}]")
    } else {
        bind_host.to_string()
    };
    let url = format!("http://{shown_host}:{}", local.port());
    eprintln!("Serving web UI on {url}");
    if !no_browser {
        open_browser(format!("{url}/ui/"));
    }
    let (renders, jobs) = mpsc::channel::<RenderJob>();
    let state = Arc::new(State {
        sample_types: sample_types_only(&profile),
        profile: Mutex::new(profile),
        config,
        diff,
        settings: config_menu::SettingsFile::new(settings::location()),
        cache: Mutex::new(ResponseCache::default()),
        renders: Some(renders),
    });
    // Render the default view now, so the first page a browser asks for is ready.
    let warm = Arc::clone(&state);
    let _ = std::thread::Builder::new()
        .name("warm-up".into())
        .spawn(move || {
            let req = Request::new("GET", "/ui/flamegraph", "");
            route(&warm, &req);
        });
    let serving = Arc::clone(&state);
    let loopback_only = is_local_host(&host);
    std::thread::Builder::new()
        .name("web".into())
        .spawn(move || server::run(listener, loopback_only, move |req| route(&serving, req)))
        .map_err(|e| Failure(format!("web UI: cannot start a thread: {e}")))?;
    for job in jobs {
        let resp = render_guarded(&state, &job.req);
        // The client may have gone; its response is then dropped.
        let _ = job.reply.send(resp);
    }
    Ok(())
}

/// A profile holding only `p`'s sample types and default sample type.
fn sample_types_only(p: &Profile) -> Profile {
    let mut out = Profile::new(0);
    for t in &p.sample_types {
        let ty = out.intern(p.str(t.ty));
        let unit = out.intern(p.str(t.unit));
        out.sample_types.push(profile::ValueType { ty, unit });
    }
    out.default_sample_type = out.intern(p.str(p.default_sample_type));
    out
}

/// Answers one request: a view from the cache when the same URL was rendered recently
/// (the profile never changes, so a view is a function of its URL), with the Config menu
/// filled in; a Config menu action directly.
fn route(state: &State, req: &Request) -> Response {
    match req.path.as_str() {
        "/ui/saveconfig" => return config_menu::save(state, req),
        "/ui/deleteconfig" => return config_menu::delete(state, req),
        _ if req.method != "GET" && req.method != "HEAD" => {
            return Response::method_not_allowed("GET, HEAD")
        }
        "/ui/download" => return render_on_render_thread(state, req),
        _ => {}
    }
    let path = if req.path == "/ui/" {
        "/ui/flamegraph"
    } else {
        req.path.as_str()
    };
    let key = format!("{path}?{}", req.raw_query);
    let cell = match state.cache.lock() {
        Ok(mut c) => c.entry(&key),
        Err(_) => return render_on_render_thread(state, req),
    };
    let size = cell
        .get_or_init(|| render_on_render_thread(state, req))
        .body
        .len();
    let too_big = size > ResponseCache::BUDGET;
    if let Ok(mut c) = state.cache.lock() {
        c.settle(&cell, too_big);
    }
    // A response no longer in the cache and waited for by no one else is moved out, not
    // copied.
    match Arc::try_unwrap(cell) {
        Ok(once) => once
            .into_inner()
            .map(|r| config_menu::fill(state, req, Cow::Owned(r))),
        Err(cell) => cell
            .get()
            .map(|r| config_menu::fill(state, req, Cow::Borrowed(r))),
    }
    .unwrap_or_else(|| Response::text(500, "the view could not be rendered"))
}

/// Renders `req` on the render thread, waiting for it; renders here when there is none.
fn render_on_render_thread(state: &State, req: &Request) -> Response {
    let Some(renders) = &state.renders else {
        return render_guarded(state, req);
    };
    let (reply, response) = mpsc::channel();
    let job = RenderJob {
        req: req.clone(),
        reply,
    };
    if renders.send(job).is_err() {
        return render_guarded(state, req);
    }
    response
        .recv()
        .unwrap_or_else(|_| Response::text(500, "the view could not be rendered"))
}

/// Renders `req`, answering 500 if rendering panics (the render thread lives on).
fn render_guarded(state: &State, req: &Request) -> Response {
    let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(state, req)))
        .unwrap_or_else(|_| Response::text(500, "the view could not be rendered"));
    release_freed_memory();
    response
}

/// Gives the memory a render freed back to the system: the server lives long and its
/// views come one after another, so what one view freed should not stay counted
/// against the next.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Renders the response to one request.
fn render(state: &State, req: &Request) -> Response {
    let q = req.query_suffix();
    match req.path.as_str() {
        "/" | "/ui" => Response::redirect(307, format!("/ui/{q}")),
        "/ui/" | "/ui/flamegraph" => views::flame_graph(state, req),
        "/ui/flamegraph2" | "/ui/flamegraphold" => {
            Response::redirect(301, format!("flamegraph{q}"))
        }
        "/ui/top" => views::top(state, req),
        "/ui/graph" => views::graph(state, req),
        "/ui/peek" => views::peek(state, req),
        "/ui/source" => views::source(state, req),
        "/ui/disasm" => views::disasm(state, req),
        "/ui/download" => views::download(state),
        _ => Response::text(404, "404 page not found"),
    }
}

/// Opens `url` in the user's browser in the background, trying the browsers the `web`
/// command tries; prints the URL when none starts, as pprof does.
fn open_browser(url: String) {
    let spawned = std::thread::Builder::new()
        .name("browser".into())
        .spawn(move || {
            // Give the server a moment to be ready.
            std::thread::sleep(std::time::Duration::from_millis(300));
            for candidate in crate::viewer::browsers() {
                if crate::viewer::start(&candidate, &url).is_ok() {
                    return;
                }
            }
            eprintln!("{url}");
        });
    drop(spawned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms_are_split() {
        assert_eq!(split_host_port(":8080").unwrap(), ("".into(), 8080));
        assert_eq!(
            split_host_port("localhost:").unwrap(),
            ("localhost".into(), 0)
        );
        assert_eq!(split_host_port("[::1]:80").unwrap(), ("::1".into(), 80));
        assert!(split_host_port("8080").is_err());
        assert!(split_host_port(":http").is_err());
    }

    fn filled(cache: &mut ResponseCache, key: &str, bytes: usize) -> Arc<OnceLock<Response>> {
        let cell = cache.entry(key);
        let _ = cell.set(Response::with_status(200, "text/plain", vec![0; bytes]));
        cell
    }

    #[test]
    fn cache_forgets_oldest_views_beyond_its_byte_budget() {
        let mut cache = ResponseCache::default();
        let third = ResponseCache::BUDGET / 3 + 1;
        for key in ["a", "b", "c"] {
            let cell = filled(&mut cache, key, third);
            cache.settle(&cell, false);
        }
        let keys: Vec<&str> = cache.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "c"]);
    }

    #[test]
    fn cache_does_not_keep_a_response_it_is_told_to_forget() {
        let mut cache = ResponseCache::default();
        let small = filled(&mut cache, "small", 10);
        cache.settle(&small, false);
        let big = filled(&mut cache, "big", ResponseCache::BUDGET + 1);
        cache.settle(&big, true);
        let keys: Vec<&str> = cache.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["small"]);
        assert_eq!(Arc::strong_count(&big), 1);
    }

    #[test]
    fn only_loopback_hosts_restrict_clients() {
        assert!(is_local_host(""));
        assert!(is_local_host("localhost"));
        assert!(!is_local_host("0.0.0.0"));
    }
}
