//! profile.proto (package perftools.profiles): the wire format, decoding and encoding.

mod decode;
mod encode;
#[cfg(target_arch = "x86_64")]
mod masked_vbyte;
mod stream;
mod tables;
pub mod wire;

pub(crate) use decode::{canonical_label_order, split_concatenated};
pub use decode::{decode, decode_at};
pub(crate) use encode::DEFLATE_LENGTH_ID;
pub use encode::{encode, encode_gzip, encode_gzip_fast, encode_into, gzip, write_gzip};
pub use stream::{StreamDecoder, Unsupported};
