//! profile.proto (package perftools.profiles): the wire format, decoding and encoding.

mod decode;
mod encode;
pub mod wire;

pub use decode::{decode, decode_at};
pub(crate) use decode::{canonical_label_order, split_concatenated};
pub use encode::{encode, encode_gzip};
