//! Where a finished report goes: stdout, an `-output` file, or a `profileNNN.ext` file
//! for binary formats on a terminal. Reports stream into their destination; a file is
//! written through a temporary beside it and renamed into place only when complete, so a
//! failure leaves nothing half-written, and a device (`/dev/null`) is written in place.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use crate::commands::Command;
use crate::config::Config;
use crate::driver::Failure;
use crate::fetch::os_error;

/// An open report destination. Dropping it without [`Output::finish`] removes the
/// temporary file, if any.
pub struct Output {
    writer: BufWriter<Box<dyn Write>>,
    target: Target,
    /// Printed on stderr when the report is complete (pprof's `Generating report in
    /// FILE`, which it prints once it has rendered the report): a report that fails
    /// announces nothing.
    announcement: Option<String>,
}

enum Target {
    Stdout,
    /// A device, pipe or socket, written in place.
    Device,
    /// A regular file, written as `tmp` and renamed to `path` when complete.
    File {
        tmp: PathBuf,
        path: String,
        done: bool,
    },
}

impl Output {
    /// The destination of `command`'s report under `cfg`: `-output`, a numbered file for
    /// binary formats when stdout is a terminal, or stdout.
    pub fn for_report(command: &Command, cfg: &Config) -> Result<Output, Failure> {
        if !cfg.output.is_empty() {
            return Output::announced_file(&cfg.output);
        }
        if let Some(ext) = command.file_extension {
            if std::io::stdout().is_terminal() {
                let path = crate::tempfile::new_path(".", "profile", &format!(".{ext}"))?;
                return Output::announced_file(&path);
            }
        }
        Ok(Output {
            writer: BufWriter::with_capacity(1 << 16, Box::new(Stdout)),
            target: Target::Stdout,
            announcement: None,
        })
    }

    /// The file at `path`, announced when complete; a file that cannot be made is
    /// announced at once, before its error, as pprof does.
    fn announced_file(path: &str) -> Result<Output, Failure> {
        let announcement = format!("Generating report in {path}");
        match Output::file(path) {
            Ok(mut out) => {
                out.announcement = Some(announcement);
                Ok(out)
            }
            Err(e) => {
                eprintln!("{announcement}");
                Err(e)
            }
        }
    }

    /// The file at `path`.
    pub fn file(path: &str) -> Result<Output, Failure> {
        let fail = |e: std::io::Error| Failure(format!("open {path}: {}", os_error(&e)));
        let target = std::path::Path::new(path);
        // Renaming a file over a device would replace the device itself.
        if let Ok(meta) = std::fs::metadata(target) {
            if !meta.is_file() && !meta.is_dir() {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(fail)?;
                return Ok(Output {
                    writer: BufWriter::with_capacity(1 << 16, Box::new(f)),
                    target: Target::Device,
                    announcement: None,
                });
            }
        }
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let f = File::create(&tmp).map_err(fail)?;
        Ok(Output {
            writer: BufWriter::with_capacity(1 << 16, Box::new(f)),
            target: Target::File {
                tmp,
                path: path.to_string(),
                done: false,
            },
            announcement: None,
        })
    }

    /// Where to write the report.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.writer
    }

    /// Flushes the report and, for a file, moves it into place.
    pub fn finish(mut self) -> Result<(), Failure> {
        if let Some(announcement) = self.announcement.take() {
            eprintln!("{announcement}");
        }
        let flushed = self.writer.flush();
        match &mut self.target {
            Target::Stdout => flushed.map_err(|e| Failure(format!("writing output: {e}"))),
            Target::Device => flushed.map_err(|e| Failure(format!("writing output: {e}"))),
            Target::File { tmp, path, done } => {
                flushed
                    .and_then(|_| std::fs::rename(&*tmp, &*path))
                    .map_err(|e| Failure(format!("open {path}: {}", os_error(&e))))?;
                *done = true;
                Ok(())
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Target::File {
            tmp, done: false, ..
        } = &self.target
        {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The process's standard output, which ends the process when its reader has gone, as
/// Go programs end: killed by `SIGPIPE`, silently (`profkit -top big.pb.gz | head`).
/// The signal is ignored for every other descriptor, such as the web UI's sockets.
pub(crate) struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().write(buf).inspect_err(end_if_broken_pipe)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush().inspect_err(end_if_broken_pipe)
    }
}

/// Ends the process by `SIGPIPE` when `e` says the reader of stdout has gone.
fn end_if_broken_pipe(e: &std::io::Error) {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: restoring the default action of a signal, unblocking it (as Go does, for
    // a process started with it blocked) and raising it; the process ends at once,
    // with nothing left to write.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &pipe, std::ptr::null_mut());
        libc::raise(libc::SIGPIPE);
    }
    // Where the signal cannot be raised: the status a shell reports for it.
    std::process::exit(128 + 13);
}

/// Writes a whole report to its destination, or shows it in its viewer when it has one
/// and no `-output` is given.
pub fn write_report(data: &[u8], command: &Command, cfg: &Config) -> Result<(), Failure> {
    if let Some(viewer) = command.viewer.filter(|_| cfg.output.is_empty()) {
        return crate::viewer::show(data, viewer, crate::viewer::Wait::ForExit);
    }
    let mut out = Output::for_report(command, cfg)?;
    out.writer()
        .write_all(data)
        .map_err(|e| Failure(format!("writing output: {e}")))?;
    out.finish()
}

/// Writes `data` to `path` whole, through a temporary file renamed into place.
pub fn write_file(path: &str, data: &[u8]) -> Result<(), Failure> {
    let mut out = Output::file(path)?;
    out.writer()
        .write_all(data)
        .map_err(|e| Failure(format!("writing {path}: {e}")))?;
    out.finish()
}
