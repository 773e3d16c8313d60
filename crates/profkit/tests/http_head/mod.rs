//! Reading an HTTP request's head, for the tests' servers on 127.0.0.1.

use std::io::Read;

/// Reads the request head from `stream`, up to the blank line that ends it (or to
/// where the stream ends or fails).
pub fn read_request_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}
