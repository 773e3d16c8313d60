//! Turning dot text into images with graphviz's `dot`.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `dot -T<format>` on `dot_text` and returns its output.
pub fn render(dot_text: &[u8], format: &str) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "failed to execute dot. Is Graphviz installed? Error: exec: \"dot\": \
                 executable file not found in $PATH (install the graphviz package)"
                    .to_string()
            } else {
                format!("failed to execute dot: {e}")
            }
        })?;
    let mut stdin = child.stdin.take().ok_or("dot: no stdin")?;
    let input = dot_text.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("failed to execute dot: {e}"))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!(
            "dot failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Renders SVG with graphviz, ready to be viewed in a browser: filling the window, with
/// pan (drag) and zoom (wheel) as pprof's `-svg` output has.
pub fn render_svg(dot_text: &[u8]) -> Result<Vec<u8>, String> {
    let svg = render(dot_text, "svg")?;
    Ok(add_pan_and_zoom(&String::from_utf8_lossy(&svg)).into_bytes())
}

/// The script that pans and zooms the `viewport` group of an SVG graph.
const PAN_ZOOM_JS: &str = r#"
(function () {
  var root = document.documentElement;
  var viewport = document.getElementById('viewport');
  if (!viewport) { return; }
  var zoom = 0.5, dx = 0, dy = 0, grab = null;
  function show() {
    viewport.setAttribute('transform',
      'translate(' + dx + ',' + dy + ') scale(' + zoom + ',' + zoom + ')');
  }
  function at(evt) {
    var box = root.getBoundingClientRect();
    return { x: evt.clientX - box.left, y: evt.clientY - box.top };
  }
  root.addEventListener('wheel', function (evt) {
    evt.preventDefault();
    var p = at(evt);
    var step = Math.exp(-evt.deltaY / 500);
    dx = p.x - (p.x - dx) * step;
    dy = p.y - (p.y - dy) * step;
    zoom *= step;
    show();
  }, { passive: false });
  root.addEventListener('mousedown', function (evt) {
    if (evt.button !== 0) { return; }
    var p = at(evt);
    grab = { x: p.x - dx, y: p.y - dy };
  });
  root.addEventListener('mousemove', function (evt) {
    if (grab === null) { return; }
    var p = at(evt);
    dx = p.x - grab.x;
    dy = p.y - grab.y;
    show();
  });
  window.addEventListener('mouseup', function () { grab = null; });
  show();
})();
"#;

/// Rewrites graphviz's SVG so it fills the browser window and can be panned and zoomed:
/// the fixed size and viewBox of the `<svg>` element give way to 100%, and the graph is
/// wrapped in a `viewport` group driven by an embedded script.
pub fn add_pan_and_zoom(svg: &str) -> String {
    // graphviz sometimes leaves an ampersand unescaped, which no XML parser accepts.
    let mut svg = svg.replace("&;", "&amp;;");
    let size = regex::Regex::new(r#"<svg\s*width="[^"]+"\s*height="[^"]+"\s*viewBox="[^"]+""#);
    if let Some(m) = size.ok().and_then(|re| re.find(&svg).map(|m| m.range())) {
        svg.replace_range(m, r#"<svg width="100%" height="100%""#);
    }
    let graph = regex::Regex::new(r#"<g id="graph\d""#);
    if let Some(start) = graph.ok().and_then(|re| re.find(&svg).map(|m| m.start())) {
        let head = format!(
            "<script type=\"text/ecmascript\"><![CDATA[{PAN_ZOOM_JS}]]></script>\
             <g id=\"viewport\" transform=\"translate(0,0) scale(0.5,0.5)\">"
        );
        svg.insert_str(start, &head);
    }
    if let Some(end) = svg.find("</svg>") {
        svg.insert_str(end, "</g>");
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOT_SVG: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg width="614pt" height="980pt"
 viewBox="0.00 0.00 614.00 980.00" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 976)">
<title>a &; b</title>
</g>
</svg>
"#;

    #[test]
    fn svg_fills_the_window_instead_of_a_fixed_size() {
        let out = add_pan_and_zoom(DOT_SVG);
        assert!(out.contains(r#"<svg width="100%" height="100%" xmlns="#));
        assert!(!out.contains("viewBox"));
    }

    #[test]
    fn graph_is_wrapped_in_a_scripted_viewport() {
        let out = add_pan_and_zoom(DOT_SVG);
        let script = out
            .find("<script type=\"text/ecmascript\"><![CDATA[")
            .unwrap();
        let viewport = out.find("<g id=\"viewport\"").unwrap();
        let graph = out.find("<g id=\"graph0\"").unwrap();
        assert!(script < viewport && viewport < graph);
        assert!(out.ends_with("</g>\n</g></svg>\n"));
        assert_eq!(out.matches("<g").count(), out.matches("</g>").count());
    }

    #[test]
    fn unescaped_ampersands_are_escaped() {
        assert!(add_pan_and_zoom(DOT_SVG).contains("a &amp;; b"));
    }
}
