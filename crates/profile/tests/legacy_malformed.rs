//! Legacy inputs that are recognized but broken: each must fail with a message that
//! says what and where, never panic.

use profile::legacy::{self, LegacyError};

/// The message of the error `parse` gives for `data`.
fn error_of(data: &[u8]) -> String {
    match legacy::parse(data) {
        Ok(_) => panic!("input parsed but should not have"),
        Err(LegacyError::Unrecognized) => "unrecognized".to_string(),
        Err(LegacyError::Malformed(e)) => e.to_string(),
    }
}

/// A 64-bit little-endian binary CPU profile with these words after the header.
fn cpu_profile(words: &[u64]) -> Vec<u8> {
    [0u64, 3, 0, 10_000, 0]
        .iter()
        .chain(words)
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

#[test]
fn truncated_binary_cpu_profile_names_the_offset() {
    // One complete sample, then a sample header cut in the middle.
    let mut data = cpu_profile(&[1, 1, 0x1000]);
    data.extend_from_slice(&[7, 0, 0]);
    assert_eq!(
        error_of(&data),
        "binary CPU profile is truncated: sample header at byte offset 64"
    );
}

#[test]
fn binary_cpu_sample_deeper_than_the_input_is_refused() {
    let data = cpu_profile(&[1, 1000, 0x1000]);
    assert_eq!(
        error_of(&data),
        "binary CPU profile: sample at byte offset 40 has 1000 frames, more than the 2 words left"
    );
}

#[test]
fn binary_cpu_profile_without_end_marker_still_parses() {
    let data = cpu_profile(&[2, 2, 0x1000, 0x2000, 1, 2, 0x3000, 0x4000]);
    let p = legacy::parse(&data).expect("a profile without end marker parses");
    assert_eq!(p.samples.len(), 2);
    assert_eq!(p.samples.values(0), &[2, 20_000_000]);
    // Callers' return addresses are moved back onto the call.
    let addresses: Vec<u64> = p.locations.iter().map(|l| l.address).collect();
    assert_eq!(addresses, [0x1000, 0x1fff, 0x3000, 0x3fff]);
}

#[test]
fn second_frame_shared_by_all_cpu_samples_is_dropped_as_signal_handler() {
    let data = cpu_profile(&[1, 3, 0x1000, 0x5001, 0x2000, 1, 3, 0x3000, 0x5001, 0x4000]);
    let p = legacy::parse(&data).expect("parses");
    let stacks: Vec<Vec<u64>> = p
        .samples
        .iter()
        .map(|s| {
            s.locations
                .iter()
                .map(|l| p.locations[l as usize].address)
                .collect()
        })
        .collect();
    assert_eq!(stacks, [vec![0x1000, 0x1fff], vec![0x3000, 0x3fff]]);
}

#[test]
fn heap_line_with_a_number_out_of_range_names_the_line() {
    let data = b"heap profile: 1: 2 [3: 4] @ heap_v2/524288\n\
                 1: 2 [3: 4] @ 0x1000\n\
                 99999999999999999999: 2 [3: 4] @ 0x1000\n";
    assert_eq!(
        error_of(data),
        "malformed sample: 99999999999999999999: 2 [3: 4] @ 0x1000: strconv.ParseInt: \
         parsing \"99999999999999999999\": value out of range (line 3)"
    );
}

#[test]
fn heap_line_that_is_not_a_sample_names_the_line() {
    let data = b"heap profile: 1: 2 [1: 2] @ heap_v2/524288\nnot a sample\n";
    assert_eq!(
        error_of(data),
        "unexpected number of sample values: got 0, want 6 (line 2)"
    );
}

#[test]
fn heap_sample_with_zero_count_but_bytes_is_refused() {
    let data = b"heap profile: 1: 2 [1: 2] @ heap_v2/524288\n0: 16 [0: 16] @ 0x1000\n";
    assert_eq!(
        error_of(data),
        "inuse count was 0 but inuse bytes was 16 (line 2)"
    );
}

#[test]
fn heap_address_wider_than_64_bits_is_refused() {
    let data = b"heap profile: 1: 2 [1: 2] @ heap/2\n1: 2 [1: 2] @ 0x11112222333344445\n";
    assert_eq!(
        error_of(data),
        "malformed sample: 1: 2 [1: 2] @ 0x11112222333344445: failed to parse as hex \
         64-bit number: 0x11112222333344445 (line 2)"
    );
}

#[test]
fn go_count_profile_with_a_bad_line_names_it() {
    let data = b"goroutine profile: total 2\n1 @ 0x1000 0x2000\nbroken line\n";
    assert_eq!(
        error_of(data),
        "malformed profile format: line 3 is not `count @ 0xaddress...`"
    );
}

#[test]
fn contention_sample_that_does_not_parse_names_the_line() {
    let data = b"--- mutex:\ncycles/second=1000000000\n10 1 @ 0x1000\nbogus\n";
    assert_eq!(
        error_of(data),
        "contention profile: line 4 is not `delay count @ 0xaddress...`: \"bogus\""
    );
}

#[test]
fn java_heap_sample_with_zero_count_is_refused() {
    let data = b"--- heapz 1 ---\nformat = java\nresolution = bytes\n 100 0 @ 0x1\n";
    assert_eq!(
        error_of(data),
        "parsing sample 100 0 @ 0x1: second value must be non-zero"
    );
}

#[test]
fn java_heap_without_resolution_has_no_sample_types() {
    let data = b"--- heapz 1 ---\nformat = java\n 100 1 @ 0x1\n";
    assert_eq!(error_of(data), "missing sample type information");
}

#[test]
fn text_that_is_no_legacy_format_is_unrecognized() {
    assert_eq!(error_of(b"hello world\n"), "unrecognized");
    assert_eq!(error_of(b""), "unrecognized");
}

#[test]
fn overlong_line_is_refused_as_pprof_does() {
    let mut data = b"goroutine profile: total 1\n1 @".to_vec();
    data.extend(b" 0x1000".repeat(10_000));
    data.push(b'\n');
    assert_eq!(error_of(&data), "line 2 is longer than 65535 bytes");
}
