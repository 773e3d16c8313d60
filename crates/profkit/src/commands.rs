//! The report commands pprof knows (`top`, `list`, `svg`, …): what format each produces
//! and where its output goes.

use report::OutputFormat;

use crate::viewer::Viewer;

/// What happens to a report's bytes after it is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostProcess {
    /// Nothing: the report is text for stdout or the output file.
    None,
    /// Run graphviz `dot -T<format>` on the dot text.
    Dot(&'static str),
    /// Run graphviz to SVG and add pan and zoom.
    Svg,
}

/// A report command.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    /// Its name: the flag `-name` and the shell command `name`.
    pub name: &'static str,
    /// The report format it renders.
    pub format: OutputFormat,
    /// Post-processing of the rendered report.
    pub post: PostProcess,
    /// Binary output goes to a file named `profileNNN.<ext>` when stdout is a terminal.
    pub file_extension: Option<&'static str>,
    /// It takes a regex argument (`-list=regex`).
    pub has_param: bool,
    /// One-line description.
    pub description: &'static str,
    /// The program that shows the report when no `-output` is given (`web`, `gv`, …).
    pub viewer: Option<Viewer>,
}

const fn cmd(
    name: &'static str,
    format: OutputFormat,
    post: PostProcess,
    file_extension: Option<&'static str>,
    has_param: bool,
    description: &'static str,
) -> Command {
    Command {
        name,
        format,
        post,
        file_extension,
        has_param,
        description,
        viewer: None,
    }
}

/// `command`, shown in `viewer`.
const fn shown_in(mut command: Command, viewer: Viewer) -> Command {
    command.viewer = Some(viewer);
    command
}

/// A viewer that is a web browser.
const fn browser(suffix: &'static str) -> Viewer {
    Viewer {
        suffix,
        program: None,
    }
}

/// A viewer that is `program` (a command line).
const fn program(suffix: &'static str, program: &'static str) -> Viewer {
    Viewer {
        suffix,
        program: Some(program),
    }
}

use OutputFormat as F;
use PostProcess as P;

/// Every report command, sorted by name.
pub const COMMANDS: &[Command] = &[
    cmd(
        "callgrind",
        F::Callgrind,
        P::None,
        Some("callgraph.out"),
        false,
        "Outputs a graph in callgrind format",
    ),
    cmd(
        "comments",
        F::Comments,
        P::None,
        None,
        false,
        "Output all profile comments",
    ),
    cmd(
        "disasm",
        F::Dis,
        P::None,
        None,
        true,
        "Output assembly listings annotated with samples",
    ),
    cmd(
        "dot",
        F::Dot,
        P::None,
        None,
        false,
        "Outputs a graph in DOT format",
    ),
    shown_in(
        cmd(
            "eog",
            F::Dot,
            P::Dot("svg"),
            None,
            false,
            "Visualize graph through eog",
        ),
        program("svg", "eog"),
    ),
    shown_in(
        cmd(
            "evince",
            F::Dot,
            P::Dot("pdf"),
            None,
            false,
            "Visualize graph through evince",
        ),
        program("pdf", "evince"),
    ),
    cmd(
        "flamegraph",
        F::FlameGraph,
        P::None,
        Some("svg"),
        false,
        "Outputs an interactive flame graph (SVG, or HTML for a .html -output)",
    ),
    cmd(
        "folded",
        F::Folded,
        P::None,
        None,
        false,
        "Outputs collapsed stacks, one line per stack",
    ),
    cmd(
        "gif",
        F::Dot,
        P::Dot("gif"),
        Some("gif"),
        false,
        "Outputs a graph image in GIF format",
    ),
    shown_in(
        cmd(
            "gv",
            F::Dot,
            P::Dot("ps"),
            None,
            false,
            "Visualize graph through gv",
        ),
        program("ps", "gv --noantialias"),
    ),
    shown_in(
        cmd(
            "kcachegrind",
            F::Callgrind,
            P::None,
            None,
            false,
            "Visualize report in KCachegrind",
        ),
        program("grind", "kcachegrind"),
    ),
    cmd(
        "list",
        F::List,
        P::None,
        None,
        true,
        "Output annotated source for functions matching regexp",
    ),
    cmd(
        "pdf",
        F::Dot,
        P::Dot("pdf"),
        Some("pdf"),
        false,
        "Outputs a graph in PDF format",
    ),
    cmd(
        "peek",
        F::Tree,
        P::None,
        None,
        true,
        "Output callers/callees of functions matching regexp",
    ),
    cmd(
        "png",
        F::Dot,
        P::Dot("png"),
        Some("png"),
        false,
        "Outputs a graph image in PNG format",
    ),
    cmd(
        "proto",
        F::Proto,
        P::None,
        Some("pb.gz"),
        false,
        "Outputs the profile in compressed protobuf format",
    ),
    cmd(
        "ps",
        F::Dot,
        P::Dot("ps"),
        Some("ps"),
        false,
        "Outputs a graph in PS format",
    ),
    cmd(
        "raw",
        F::Raw,
        P::None,
        None,
        false,
        "Outputs a text representation of the raw profile",
    ),
    cmd(
        "svg",
        F::Dot,
        P::Svg,
        Some("svg"),
        false,
        "Outputs a graph in SVG format",
    ),
    cmd(
        "tags",
        F::Tags,
        P::None,
        None,
        false,
        "Outputs all tags in the profile",
    ),
    cmd(
        "text",
        F::Text,
        P::None,
        None,
        false,
        "Outputs top entries in text form",
    ),
    cmd(
        "top",
        F::Text,
        P::None,
        None,
        false,
        "Outputs top entries in text form",
    ),
    cmd(
        "topproto",
        F::TopProto,
        P::None,
        Some("pb.gz"),
        false,
        "Outputs top entries in compressed protobuf format",
    ),
    cmd(
        "traces",
        F::Traces,
        P::None,
        None,
        false,
        "Outputs all profile samples in text form",
    ),
    cmd(
        "tree",
        F::Tree,
        P::None,
        None,
        false,
        "Outputs a text rendering of call graph",
    ),
    shown_in(
        cmd(
            "web",
            F::Dot,
            P::Svg,
            None,
            false,
            "Visualize graph through web browser",
        ),
        browser("svg"),
    ),
    shown_in(
        cmd(
            "weblist",
            F::WebList,
            P::None,
            None,
            true,
            "Display annotated source in a web browser",
        ),
        browser("html"),
    ),
];

/// The command named `name`.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}
