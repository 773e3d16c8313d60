//! The pprof profile: its data model, the profile.proto codec, the legacy formats, and
//! the transforms pprof applies before reporting (merge, filters, pruning, scaling,
//! aggregation).
//!
//! The model is columnar (see [`Samples`]): profiles with millions of samples decode
//! with a handful of allocations. Entities refer to each other by dense index and all
//! strings live in one [`StringTable`].

#![warn(missing_docs)]

mod aggregate;
mod debug_text;
mod error;
mod filter;
pub mod gopath;
pub mod key_index;
mod label_frames;
pub mod legacy;
pub mod merge;
mod model;
pub mod parallel;
mod parse;
mod prefetch;
pub mod proto;
mod prune;
mod sample_index;
mod sample_types;
mod samples;
mod strings;
mod tagfilter;
mod transform;
pub mod units;

pub use error::{Error, Result};
pub use filter::NameMatches;
pub use merge::merge;
pub use model::{
    Function, Label, Line, Lines, Location, Mapping, MappingIndex, Profile, ValueType,
};
pub use parse::{
    decompression_limit, gunzip, is_gzip, parse, parse_stream, parse_stream_file,
    parse_stream_with, parse_uncompressed, parse_with, ParseOptions, DEFAULT_MAX_DECOMPRESSED,
};
pub use sample_types::compatibilize_sample_types;
pub use samples::{SampleRef, Samples, Stack, StackIter, Values, ValuesIter};
pub use strings::{StrId, StringTable};
pub use tagfilter::TagFilter;
pub use transform::DIFF_BASE_LABEL;
