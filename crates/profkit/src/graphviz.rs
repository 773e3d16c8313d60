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
                "failed to execute dot. Is Graphviz installed? (the `graphviz` package provides it)"
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

/// Renders SVG with graphviz, ready to be viewed in a browser.
pub fn render_svg(dot_text: &[u8]) -> Result<Vec<u8>, String> {
    render(dot_text, "svg")
}
