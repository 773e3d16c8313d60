//! Help text: `profkit -h` and the shell's `help`.

use crate::commands::COMMANDS;
use crate::config::{choice_help, Kind, FIELDS};

const HEADER: &str = "usage:

Write one report and exit:

   profkit <format> [options] [binary] <source> ...

Without a format, open an interactive shell whose commands produce the same
reports:

   profkit [options] [binary] <source> ...

Without a format and with -http, serve a web interface on host:port:

   profkit -http [host]:[port] [options] [binary] <source> ...

Details:
";

const SOURCES: &str = "

  Source options:
    -seconds              How long to collect a time-based profile from a URL
    -timeout              Timeout in seconds for fetching a profile
    -buildid              Build id to assume for the main binary
    -add_comment          A comment to add to the profile
                          Shown by some reports and by -comments
    -diff_base source     Base profile to compare against
    -base source          Base profile to subtract
    profile.pb.gz         A profile in profile.proto format, gzipped or not
    legacy_profile        A profile in one of pprof's legacy formats
    http://host/profile   A URL serving a profile
    https+insecure://host/profile
                          The same over https, without checking the certificate
    -symbolize=           Where symbol information comes from
      none                  No symbolization
      local                 Only local binaries
      fastlocal             Only function names from local binaries
      remote                Only the profile's server
      force                 Symbolize again even if already symbolized
    Binary                  Path or build id of the binary to symbolize with
    -tls_cert             Client certificate (PEM) shown to servers
    -tls_key              Private key (PEM) of the client certificate
    -tls_ca               Certificate authorities (PEM) to trust for servers
";

const MISC: &str = "

  Misc options:
   -http              Serve the web interface at host:port.
                      The host defaults to localhost, the port to any free one.
   -no_browser        Do not open a browser for the web interface.
   -tools             Search path for object tools
   -all_frames        Ignore the profile's drop_frames and keep_frames regexps

  Legacy convenience options:
   -inuse_space           Same as -sample_index=inuse_space
   -inuse_objects         Same as -sample_index=inuse_objects
   -alloc_space           Same as -sample_index=alloc_space
   -alloc_objects         Same as -sample_index=alloc_objects
   -total_delay           Same as -sample_index=delay
   -contentions           Same as -sample_index=contentions
   -mean_delay            Same as -mean -sample_index=delay

  Environment Variables:
   PPROF_TMPDIR       Where fetched profiles are saved (default $HOME/pprof)
   PPROF_TOOLS        Search path for object tools
   PPROF_BINARY_PATH  Search path for local binaries
                      default: $HOME/pprof/binaries
";

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The list of commands and options; with `command_line`, spelled as flags.
pub fn usage(command_line: bool) -> String {
    let prefix = if command_line { "-" } else { "" };
    let line = |name: &str, help: &str| {
        format!("    {:<16} {}", format!("{prefix}{name}"), first_line(help))
    };
    let mut out = String::new();
    out.push_str(if command_line {
        "  Output formats (select at most one):\n"
    } else {
        "  Commands:\n"
    });
    for c in COMMANDS {
        out.push_str(&line(c.name, c.description));
        out.push('\n');
    }
    if !command_line {
        out.push_str(&line("o/options", "List options and their current values"));
        out.push('\n');
        out.push_str(&line("q/quit/exit/^D", "Exit pprof"));
        out.push('\n');
    }
    out.push_str("\n  Options:\n");
    let mut options: Vec<_> = FIELDS
        .iter()
        .filter(|f| !matches!(f.kind, Kind::Choice(_)))
        .collect();
    options.sort_by_key(|f| f.name);
    for f in options {
        out.push_str(&line(f.name, f.help));
        out.push('\n');
    }
    out.push_str("\n  Option groups (only set one per group):\n");
    let mut groups: Vec<_> = FIELDS
        .iter()
        .filter_map(|f| match f.kind {
            Kind::Choice(c) => Some((f.name, c)),
            _ => None,
        })
        .collect();
    groups.sort_by_key(|g| g.0);
    for (name, choices) in groups {
        out.push_str(&format!("    {name:<16} \n"));
        for c in choices {
            out.push_str(&format!(
                "      {:<16} {}\n",
                format!("{prefix}{c}"),
                first_line(choice_help(c))
            ));
        }
    }
    out.pop();
    out
}

/// The whole `-h` text.
pub fn command_line_usage() -> String {
    format!("{HEADER}{}{SOURCES}{MISC}", usage(true))
}
