//! profile.proto decoding and encoding: round trips over every shipped profile, and a
//! clear error for each kind of malformed input.

use std::io::Write;
use std::path::{Path, PathBuf};

use profile::{parse, parse_with, proto, ParseOptions, Profile};

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

/// Every proto profile shipped with the conformance suites.
fn proto_inputs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for suite in ["differential/inputs", "pprof-goldens/inputs"] {
        for e in std::fs::read_dir(conformance().join(suite)).unwrap() {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if profile::is_gzip(&data) || proto::decode(&data).is_ok() {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 20,
        "expected the shipped proto profiles, found {}",
        out.len()
    );
    out
}

fn read(path: &Path) -> Profile {
    parse(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything a profile says, with ids resolved, for comparing two decodings.
fn canonical(p: &Profile) -> String {
    let mut s = String::new();
    let vt = |t: &profile::ValueType| format!("{}/{}", p.str(t.ty), p.str(t.unit));
    s += &format!(
        "types {:?} period {} {} time {} dur {} drop {:?} keep {:?} default {:?} doc {:?}\n",
        p.sample_types.iter().map(vt).collect::<Vec<_>>(),
        vt(&p.period_type),
        p.period,
        p.time_nanos,
        p.duration_nanos,
        p.str(p.drop_frames),
        p.str(p.keep_frames),
        p.str(p.default_sample_type),
        p.str(p.doc_url)
    );
    for c in &p.comments {
        s += &format!("comment {:?}\n", p.str(*c));
    }
    for m in &p.mappings {
        s += &format!(
            "mapping {} {:x}-{:x}@{:x} {:?} {:?} {} {} {} {}\n",
            m.id,
            m.memory_start,
            m.memory_limit,
            m.file_offset,
            p.str(m.filename),
            p.str(m.build_id),
            m.has_functions,
            m.has_filenames,
            m.has_line_numbers,
            m.has_inline_frames
        );
    }
    for f in &p.functions {
        s += &format!(
            "function {} {:?} {:?} {:?} {}\n",
            f.id,
            p.str(f.name),
            p.str(f.system_name),
            p.str(f.filename),
            f.start_line
        );
    }
    for l in &p.locations {
        s += &format!(
            "location {} {:?} {:x} {}",
            l.id,
            l.mapping.map(|m| p.mappings[m.index()].id),
            l.address,
            l.is_folded
        );
        for line in &l.lines {
            s += &format!(
                " {}:{}:{}",
                p.functions[line.function as usize].id, line.line, line.column
            );
        }
        s += "\n";
    }
    for sample in p.samples.iter() {
        let ids: Vec<u64> = sample
            .locations
            .iter()
            .map(|l| p.locations[l as usize].id)
            .collect();
        let labels: Vec<String> = sample
            .labels
            .iter()
            .map(|l| {
                format!(
                    "{}={}/{}{}",
                    p.str(l.key),
                    p.str(l.str),
                    { l.num },
                    p.str(l.num_unit)
                )
            })
            .collect();
        s += &format!("sample {:?} {:?} {:?}\n", sample.values, ids, labels);
    }
    s
}

#[test]
fn encode_then_decode_keeps_every_value_of_every_shipped_profile() {
    for path in proto_inputs() {
        let p = read(&path);
        let again = proto::decode(&proto::encode(&p))
            .unwrap_or_else(|e| panic!("{}: re-decoding failed: {e}", path.display()));
        assert_eq!(canonical(&p), canonical(&again), "{}", path.display());
        let gz = parse(&proto::encode_gzip(&p)).unwrap();
        assert_eq!(canonical(&p), canonical(&gz), "{}", path.display());
    }
}

#[test]
fn encoding_is_stable_after_one_round_trip() {
    for path in proto_inputs() {
        let once = proto::encode(&read(&path));
        let twice = proto::encode(&proto::decode(&once).unwrap());
        assert_eq!(once, twice, "{}", path.display());
    }
}

#[test]
fn uncompressed_and_gzipped_inputs_decode_alike() {
    let path = conformance().join("differential/inputs/cpu.pb.gz");
    let data = std::fs::read(&path).unwrap();
    let raw = profile::gunzip(&data, 1 << 30).unwrap();
    assert_eq!(
        canonical(&parse(&data).unwrap()),
        canonical(&parse(&raw).unwrap())
    );
}

#[test]
fn unpacked_repeated_fields_decode_like_packed_ones() {
    // sample_type {type=1 unit=2}, sample {location_id 1 (unpacked) value 7 (unpacked)},
    // location {id 1}, strings "", "samples", "count".
    let mut b = Vec::new();
    b.extend_from_slice(&[0x0a, 0x04, 0x08, 0x01, 0x10, 0x02]);
    b.extend_from_slice(&[0x12, 0x04, 0x08, 0x01, 0x10, 0x07]);
    b.extend_from_slice(&[0x22, 0x02, 0x08, 0x01]);
    for s in ["", "samples", "count"] {
        b.push(0x32);
        b.push(s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
    let p = proto::decode(&b).unwrap();
    assert_eq!(p.samples.len(), 1);
    assert_eq!(p.samples.get(0).values, &[7]);
    assert_eq!(p.samples.get(0).locations, [0]);
    assert_eq!(p.str(p.sample_types[0].ty), "samples");
}

#[test]
fn concatenated_profiles_are_merged() {
    let path = conformance().join("differential/inputs/cpu_a.pb.gz");
    let p = read(&path);
    let mut both = proto::encode(&p);
    both.extend_from_slice(&proto::encode(&p));
    let merged = parse(&both).unwrap();
    let total = |p: &Profile| -> i64 { p.samples.iter().map(|s| s.values.at(1)).sum() };
    assert_eq!(total(&merged), 2 * total(&p));
}

fn parse_error(data: &[u8]) -> String {
    match parse(data) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_input_is_an_error() {
    assert_eq!(parse_error(b""), "parsing profile: empty input file");
}

#[test]
fn text_that_is_no_profile_is_unrecognized() {
    assert_eq!(
        parse_error(b"hello, this is not a profile\n"),
        "parsing profile: unrecognized profile format"
    );
}

#[test]
fn truncated_gzip_stream_is_an_error() {
    let data = std::fs::read(conformance().join("differential/inputs/heap.pb.gz")).unwrap();
    let e = parse_error(&data[..data.len() / 2]);
    assert!(
        e.starts_with("decompressing profile: gzip stream is truncated"),
        "{e}"
    );
}

#[test]
fn truncated_proto_names_the_byte_offset() {
    let data = std::fs::read(conformance().join("differential/inputs/heap.pb.gz")).unwrap();
    let raw = profile::gunzip(&data, 1 << 30).unwrap();
    let e = proto::decode(&raw[..raw.len() - 3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("byte offset"), "{e}");
}

#[test]
fn bad_varint_is_an_error() {
    let e = proto::decode(&[
        0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("varint") && e.contains("byte offset 1"), "{e}");
}

#[test]
fn sample_pointing_at_a_missing_location_is_an_error() {
    // sample_type, sample {location_id [9], value [1]}, strings.
    let mut b = vec![0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
    b.extend_from_slice(&[0x12, 0x06, 0x0a, 0x01, 0x09, 0x12, 0x01, 0x01]);
    for s in ["", "samples", "count"] {
        b.push(0x32);
        b.push(s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
    let e = proto::decode(&b).unwrap_err().to_string();
    assert!(e.contains("location id 9, which does not exist"), "{e}");
}

#[test]
fn duplicate_and_zero_ids_are_errors() {
    let dup = [0x22, 0x02, 0x08, 0x05, 0x22, 0x02, 0x08, 0x05, 0x32, 0x00];
    assert_eq!(
        proto::decode(&dup).unwrap_err().to_string(),
        "multiple locations with same id: 5"
    );
    let zero = [0x2a, 0x02, 0x10, 0x00, 0x32, 0x00];
    assert_eq!(
        proto::decode(&zero).unwrap_err().to_string(),
        "found function with reserved id=0"
    );
}

#[test]
fn string_index_out_of_range_is_an_error() {
    let b = [0x0a, 0x02, 0x08, 0x07, 0x32, 0x00];
    let e = proto::decode(&b).unwrap_err().to_string();
    assert!(
        e.contains("sample_type.type: string index 7 out of range"),
        "{e}"
    );
}

#[test]
fn sample_value_count_must_match_the_sample_types() {
    let mut b = vec![0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
    b.extend_from_slice(&[0x12, 0x04, 0x12, 0x02, 0x01, 0x02]);
    for s in ["", "samples", "count"] {
        b.push(0x32);
        b.push(s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
    let e = proto::decode(&b).unwrap_err().to_string();
    assert!(e.contains("has 2 values vs. 1 types"), "{e}");
}

#[test]
fn large_files_may_inflate_in_proportion_to_their_size() {
    let gib = 1u64 << 30;
    assert_eq!(profile::decompression_limit(0), 4 * gib);
    assert_eq!(profile::decompression_limit(40 << 20), 4 * gib);
    // A 2 GB gzipped profile may inflate to 128 GB, not 4 GiB.
    assert_eq!(profile::decompression_limit(2 * gib), 128 * gib);
    assert_eq!(profile::decompression_limit(u64::MAX), u64::MAX);
}

#[test]
fn gzip_bomb_is_refused_past_the_limit() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 24 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let e = parse_with(
        &bomb,
        &ParseOptions {
            max_decompressed: 8 << 20,
            ..ParseOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "decompressing profile: decompressed size exceeds the limit of 8388608 bytes (a decompression bomb?)"
    );
}

#[test]
fn strings_that_are_not_utf8_keep_their_valid_text_and_have_the_rest_replaced() {
    // sample_type {type: 1, unit: 2}, then the string table.
    let mut b = vec![0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
    for s in [&b""[..], b"caf\xc3\xa9", b"bad\xff\xfeend\xe2\x82"] {
        b.push(0x32);
        b.push(s.len() as u8);
        b.extend_from_slice(s);
    }
    let whole = proto::decode(&b).unwrap();
    let streamed = profile::parse_stream(std::io::Cursor::new(b.clone()), u64::MAX).unwrap();
    for p in [&whole, &streamed] {
        let t = p.sample_types[0];
        assert_eq!(p.str(t.ty), "caf\u{e9}");
        assert_eq!(p.str(t.unit), "bad\u{fffd}\u{fffd}end\u{fffd}");
    }
}

#[test]
fn nonzero_first_string_is_an_error() {
    let e = proto::decode(&[0x32, 0x01, b'x']).unwrap_err().to_string();
    assert!(e.starts_with("string_table[0] must be ''"), "{e}");
}

/// A profile with three million frames, past the size from which gzip output is made
/// of pieces compressed in parallel.
fn large_profile() -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(profile::ValueType { ty, unit });
    for i in 0..1000u64 {
        let name = p.intern(&format!("f{i}"));
        p.functions.push(profile::Function {
            id: i + 1,
            name,
            ..profile::Function::default()
        });
        p.locations.push(profile::Location {
            id: i + 1,
            address: 0x1000 + i,
            lines: vec![profile::Line {
                function: i as u32,
                line: i as i64,
                column: 0,
            }]
            .into(),
            ..profile::Location::default()
        });
    }
    let mut stack = [0u32; 10];
    for s in 0..300_000u32 {
        for (d, frame) in stack.iter_mut().enumerate() {
            *frame = (s.wrapping_mul(2654435761).rotate_left(d as u32 * 3)) % 1000;
        }
        p.samples.push(&[s as i64 % 97 + 1], &stack, &[]);
    }
    p
}

#[test]
fn large_profiles_gzip_as_members_compressed_in_pieces_and_decode_as_read_on_one_thread_or_more() {
    use std::io::Read;
    let p = large_profile();
    let raw = proto::encode(&p);
    assert!(
        raw.len() > 4 << 20,
        "large enough to be compressed in pieces"
    );
    let gz = proto::encode_gzip(&p);
    assert_eq!(gz[8], 4, "compressed at the fast level");
    let mut first = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut first)
        .unwrap();
    assert!(first.len() < raw.len(), "more than one member");
    let mut all = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut all)
        .unwrap();
    assert!(all == raw, "the members are the encoded profile");
    assert_eq!(canonical(&parse(&gz).unwrap()), canonical(&p));
    for one_thread in [false, true] {
        let streamed = streamed(&gz, 1 << 30, one_thread).expect("decoded as read");
        assert_eq!(
            canonical(&streamed),
            canonical(&p),
            "one thread: {one_thread}"
        );
    }

    let mut again = Vec::new();
    flate2::read::MultiGzDecoder::new(&proto::gzip(&raw)[..])
        .read_to_end(&mut again)
        .unwrap();
    assert!(again == raw, "gzip of the bytes reads back the same");
}

#[test]
fn files_that_read_far_faster_than_they_decode_are_decoded_as_read_with_frames_packed_apart() {
    // Stacks that repeat, as real profiles' do: the gzipped file is a small fraction
    // of the profile, and its two million frames make many batches for the thread
    // that packs them.
    let mut p = large_profile();
    let mut again = Profile::new(1);
    again.sample_types = p.sample_types.clone();
    again.strings = p.strings.clone();
    again.functions = std::mem::take(&mut p.functions);
    again.locations = std::mem::take(&mut p.locations);
    for s in 0..200_000u32 {
        let stack: Vec<u32> = (0..10).map(|d| (s % 50) * 10 + d).collect();
        again.samples.push(&[s as i64 % 7 + 1], &stack, &[]);
    }
    let raw = proto::encode(&again);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    assert!(
        raw.len() >= 3 * gz.len(),
        "{} bytes from {}",
        raw.len(),
        gz.len()
    );
    let dir = std::env::temp_dir().join(format!("profkit-packed-apart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("repeating.pb.gz");
    std::fs::write(&path, &gz).unwrap();
    let streamed = profile::parse_stream_file(&path, &ParseOptions::default());
    // Uncompressed, the same frames are packed apart too.
    let plain_path = dir.join("repeating.pb");
    std::fs::write(&plain_path, &raw).unwrap();
    let plain = profile::parse_stream_file(&plain_path, &ParseOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    let streamed = streamed.expect("decoded as read");
    assert_eq!(streamed.samples.frame_count(), 2_000_000);
    assert_eq!(canonical(&streamed), canonical(&again));
    assert_eq!(canonical(&streamed), canonical(&parse(&gz).unwrap()));
    assert_eq!(
        canonical(&plain.expect("uncompressed, decoded as read")),
        canonical(&again)
    );
}

/// A destination that takes `room` bytes, then fails.
struct FailingWriter {
    room: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_destination_fails_the_gzip_writer_for_small_and_large_profiles() {
    let large = large_profile();
    let small = read(&proto_inputs()[0]);
    for (p, rooms) in [(&small, &[0, 10][..]), (&large, &[0, 100, 1 << 20][..])] {
        for &room in rooms {
            let err = proto::write_gzip(p, &mut FailingWriter { room })
                .expect_err("the destination failed");
            assert_eq!(err.to_string(), "disk full");
        }
    }
}

#[test]
fn a_failing_destination_stops_the_raw_dump_with_its_error() {
    let p = large_profile();
    for room in [0, 10, 100_000, 10_000_000] {
        let err = p
            .write_debug_text(&mut FailingWriter { room })
            .expect_err("the destination failed");
        assert_eq!(err.to_string(), "disk full");
    }
}

#[test]
fn profiles_under_a_megabyte_gzip_as_one_member() {
    use std::io::Read;
    let mut checked = 0;
    for path in proto_inputs() {
        let p = read(&path);
        let raw = proto::encode(&p);
        if raw.len() > 1 << 20 {
            continue;
        }
        checked += 1;
        let gz = proto::encode_gzip(&p);
        let mut one = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut one)
            .unwrap();
        assert!(one == raw, "{}", path.display());
        let streamed = profile::parse_stream(&gz[..], 1 << 30).expect("decoded as read");
        assert_eq!(canonical(&streamed), canonical(&p), "{}", path.display());
    }
    assert!(checked >= 15, "{checked} profiles checked");
}

#[test]
fn decoded_tables_keep_no_room_they_grew_into() {
    for path in proto_inputs() {
        let p = read(&path);
        assert_eq!(
            p.locations.capacity(),
            p.locations.len(),
            "{}",
            path.display()
        );
        assert_eq!(
            p.functions.capacity(),
            p.functions.len(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn location_ids_of_every_varint_length_round_trip_in_stacks() {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(profile::ValueType { ty, unit });
    // Varints of 1, 2, 4, 5 and 10 bytes.
    let ids = [1u64, 300, (1 << 28) - 1, (1 << 28) + 5, 1 << 40, u64::MAX];
    for (i, &id) in ids.iter().enumerate() {
        p.locations.push(profile::Location {
            id,
            address: 0x1000 + i as u64,
            ..profile::Location::default()
        });
    }
    p.samples.push(&[7], &[0, 1, 2, 3, 4, 5], &[]);
    p.samples.push(&[9], &[5, 3, 5, 1], &[]);
    p.samples.push(&[11], &[], &[]);
    let again = proto::decode(&proto::encode(&p)).unwrap();
    for i in 0..p.samples.len() {
        let ids_of = |q: &Profile| -> Vec<u64> {
            q.samples
                .locations(i)
                .iter()
                .map(|l| q.locations[l as usize].id)
                .collect()
        };
        assert_eq!(ids_of(&again), ids_of(&p), "sample {i}");
        assert_eq!(again.samples.values(i), p.samples.values(i));
    }
}

/// `bytes` decoded as read, with at most `limit` bytes inflated, on the caller's
/// thread alone or with threads of its own.
fn streamed(bytes: &[u8], limit: u64, one_thread: bool) -> Option<Profile> {
    let options = ParseOptions {
        max_decompressed: limit,
        one_thread,
        ..ParseOptions::default()
    };
    profile::parse_stream_with(bytes, &options)
}

#[test]
fn reading_as_it_decodes_gives_what_a_whole_read_gives_gzipped_or_not_on_one_thread_or_more() {
    for path in proto_inputs() {
        let data = std::fs::read(&path).unwrap();
        let raw = if profile::is_gzip(&data) {
            profile::gunzip(&data, 1 << 30).unwrap()
        } else {
            data.clone()
        };
        let whole = canonical(&parse(&raw).unwrap());
        for (what, bytes) in [("gzipped", &data), ("plain", &raw)] {
            for one_thread in [false, true] {
                let streamed = streamed(bytes, 1 << 30, one_thread).unwrap_or_else(|| {
                    panic!(
                        "{} ({what}, one thread: {one_thread}): not decoded as read",
                        path.display()
                    )
                });
                assert_eq!(canonical(&streamed), whole, "{} ({what})", path.display());
            }
        }
    }
}

/// `raw` gzipped as one member at flate2's fastest level.
fn gzip_one_member(raw: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(raw).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzipped_bytes_held_in_memory_decode_as_read_and_fail_as_a_whole_read_words_it() {
    let p = large_profile();
    let raw = proto::encode(&p);
    let whole = canonical(&parse(&raw).unwrap());
    let one = gzip_one_member(&raw);
    let half = raw.len() / 2;
    let two = [gzip_one_member(&raw[..half]), gzip_one_member(&raw[half..])].concat();
    let own = proto::encode_gzip(&p);
    for (what, gz) in [
        ("one member", &one),
        ("two members", &two),
        ("members that give their lengths", &own),
    ] {
        // From a megabyte on, inflated on a thread of its own.
        assert!(gz.len() >= 1 << 20, "{what}: {} bytes", gz.len());
        assert_eq!(canonical(&parse(gz).unwrap()), whole, "{what}");
        let small = gz.len() as u64;
        let one_thread = ParseOptions {
            one_thread: true,
            max_decompressed: profile::decompression_limit(small),
            ..ParseOptions::default()
        };
        assert_eq!(
            canonical(&parse_with(gz, &one_thread).unwrap()),
            whole,
            "{what}, one thread"
        );
    }

    let e = parse(&one[..one.len() - 1000]).unwrap_err().to_string();
    assert!(
        e.starts_with("decompressing profile: gzip stream is truncated"),
        "{e}"
    );
    let limit = raw.len() as u64 - 1;
    let e = parse_with(
        &one,
        &ParseOptions {
            max_decompressed: limit,
            ..ParseOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        format!("decompressing profile: decompressed size exceeds the limit of {limit} bytes (a decompression bomb?)")
    );
}

#[test]
fn labels_of_many_sets_are_put_in_canonical_order_as_a_whole_read_puts_them() {
    // More label sets than one thread reorders, with their keys in varying orders
    // (numeric labels, repeated keys) that the writer keeps.
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(profile::ValueType { ty, unit });
    let keys: Vec<profile::StrId> = ["zone", "handler", "tenant"]
        .iter()
        .map(|k| p.intern(k))
        .collect();
    let (bytes, bytes_unit) = (p.intern("bytes"), p.intern("bytes"));
    let values: Vec<profile::StrId> = (0..50).map(|v| p.intern(&format!("v{v}"))).collect();
    for i in 0..150_000usize {
        // String labels (a key twice in some), and a number that makes each set its own.
        let mut labels: Vec<profile::Label> = (0..2 + i % 3)
            .map(|k| profile::Label {
                key: keys[(i / 7 + k * (1 + i % 2)) % keys.len()],
                str: values[(i + k) % 50],
                ..profile::Label::default()
            })
            .collect();
        let number = profile::Label {
            key: bytes,
            num: i as i64,
            num_unit: bytes_unit,
            ..profile::Label::default()
        };
        labels.insert(i % (labels.len() + 1), number);
        p.samples.push(&[i as i64 + 1], &[], &labels);
    }
    let raw = proto::encode(&p);
    let whole = proto::decode(&raw).unwrap();
    let streamed = profile::parse_stream(&raw[..], 1 << 30).unwrap();
    let texts = |q: &Profile, i: usize| -> Vec<(String, String, i64)> {
        q.samples
            .labels(i)
            .iter()
            .map(|l| (q.str(l.key).to_string(), q.str(l.str).to_string(), l.num))
            .collect()
    };
    assert_eq!(streamed.samples.len(), whole.samples.len());
    let mut reordered = 0;
    for i in 0..whole.samples.len() {
        let got = texts(&streamed, i);
        assert_eq!(got, texts(&whole, i), "sample {i}");
        reordered += (got != texts(&p, i)) as usize;
    }
    assert!(reordered > 50_000, "{reordered} sets reordered");
}

#[test]
fn inputs_not_decodable_as_read_are_left_to_the_whole_read() {
    let inputs = conformance().join("differential/inputs");
    let heap = std::fs::read(inputs.join("heap.pb.gz")).unwrap();
    let raw = profile::gunzip(&heap, 1 << 30).unwrap();
    let mut concatenated = raw.clone();
    concatenated.extend_from_slice(&raw);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", vec![0x0a]),
        (
            "legacy text",
            std::fs::read(inputs.join("heap.txt")).unwrap(),
        ),
        (
            "legacy binary",
            std::fs::read(inputs.join("cppbench.cpu")).unwrap(),
        ),
        ("truncated proto", raw[..raw.len() - 3].to_vec()),
        ("truncated gzip", heap[..heap.len() / 2].to_vec()),
        ("concatenated messages", concatenated),
    ];
    for one_thread in [false, true] {
        for (what, bytes) in &cases {
            assert!(
                streamed(bytes, 1 << 30, one_thread).is_none(),
                "{what}: decoded as read (one thread: {one_thread})"
            );
        }
        // The limit bounds what is inflated, not what a plain file holds.
        let limit = (raw.len() - 1) as u64;
        assert!(streamed(&heap, limit, one_thread).is_none());
        assert!(streamed(&raw, limit, one_thread).is_some());
    }
}

#[test]
fn gzip_files_of_several_members_are_decoded_as_read_from_a_path() {
    let inputs = conformance().join("differential/inputs");
    let heap = std::fs::read(inputs.join("heap.pb.gz")).unwrap();
    let raw = profile::gunzip(&heap, 1 << 30).unwrap();
    let whole = canonical(&parse(&heap).unwrap());
    // The profile's bytes in three members, as files put end to end are: members
    // that do not give their length, as other writers make them.
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let (a, b) = (raw.len() / 3, raw.len() * 2 / 3);
    let members = [gzip(&raw[..a]), gzip(&raw[a..b]), gzip(&raw[b..])].concat();
    assert!(
        profile::parse_stream(&members[..], 1 << 30).is_none(),
        "read as one member"
    );
    // profkit's own, which do, are read as they come without a path.
    let own = [
        proto::gzip(&raw[..a]),
        proto::gzip(&raw[a..b]),
        proto::gzip(&raw[b..]),
    ]
    .concat();
    let streamed =
        profile::parse_stream(&own[..], 1 << 30).expect("members that give their length");
    assert_eq!(canonical(&streamed), whole);
    let dir = std::env::temp_dir().join(format!("profkit-members-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("members.pb.gz");
    // Read on threads of their own and on one thread; checked once the file is gone.
    let reads: Vec<_> = [false, true]
        .into_iter()
        .map(|one_thread| {
            let options = ParseOptions {
                one_thread,
                ..ParseOptions::default()
            };
            let read = |bytes: &[u8]| {
                std::fs::write(&path, bytes).unwrap();
                profile::parse_stream_file(&path, &options)
            };
            let junk = [&members[..], b"junk"].concat();
            (one_thread, read(&members), read(&heap), read(&junk))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    for (one_thread, streamed, single, junk_after) in reads {
        assert_eq!(
            canonical(&streamed.expect("members decoded as read")),
            whole,
            "one thread: {one_thread}"
        );
        assert_eq!(
            canonical(&single.expect("one member decoded as read")),
            whole,
            "one thread: {one_thread}"
        );
        assert!(
            junk_after.is_none(),
            "bytes after the members are left to the whole read (one thread: {one_thread})"
        );
    }
    assert!(parse(&[&members[..], b"junk"].concat()).is_err());
}
