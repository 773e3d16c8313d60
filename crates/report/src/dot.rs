//! The call graph in Graphviz dot (`-dot`): a legend, one box per node sized by its flat
//! value and coloured by its cumulative share, tag nodelets, and weighted edges.

mod style;

pub use style::{
    dot_color, edge_weight_and_width, escape_for_dot, font_size, multiline_function_name,
    shorten_function_name,
};
