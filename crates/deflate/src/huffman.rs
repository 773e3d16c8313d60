//! Huffman code lengths limited to a maximum, and the canonical codes they give.

/// Code lengths for symbols of frequencies `freqs`, none longer than `max_len`, into
/// `lens` (0 for an unused symbol). The code is complete: at least two symbols get a
/// code, symbols 0 and 1 standing in when fewer are used, since inflaters refuse an
/// incomplete code.
pub(crate) fn code_lengths(freqs: &[u32], max_len: u8, lens: &mut [u8]) {
    debug_assert_eq!(freqs.len(), lens.len());
    lens.fill(0);
    // Used symbols, by ascending frequency then symbol.
    let mut order: Vec<(u32, u16)> = freqs
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f > 0)
        .map(|(s, &f)| (f, s as u16))
        .collect();
    let mut padding = 0u16;
    while order.len() < 2 {
        if !order.iter().any(|&(_, s)| s == padding) {
            order.push((1, padding));
        }
        padding += 1;
    }
    order.sort_unstable();

    let depths = tree_depths(&order);
    // Lengths longer than the maximum are cut to it, then codes are moved from
    // shorter lengths until the code is complete again.
    let max = max_len as usize;
    let mut count = [0u32; 33];
    for &d in &depths {
        count[(d as usize).min(max)] += 1;
    }
    let full = 1u64 << max;
    let mut kraft: u64 = (1..=max).map(|l| (count[l] as u64) << (max - l)).sum();
    while kraft > full {
        // One code of the longest length goes; the longest code shorter than that is
        // split in two. There always is one: an alphabet has fewer than 2^max symbols,
        // so not all of them can be of the longest length.
        count[max] -= 1;
        let split = (1..max).rev().find(|&l| count[l] > 0);
        debug_assert!(split.is_some(), "a code to split");
        if let Some(l) = split {
            count[l] -= 1;
            count[l + 1] += 2;
        }
        kraft -= 1;
    }
    // The most frequent symbols get the shortest codes.
    let mut len = 1;
    for &(_, sym) in order.iter().rev() {
        while count[len] == 0 {
            len += 1;
        }
        count[len] -= 1;
        lens[sym as usize] = len as u8;
    }
}

/// The depth in an optimal Huffman tree of each symbol of `order` (by ascending
/// frequency), in that order: two queues, the leaves and the joined nodes, both in
/// ascending weight.
fn tree_depths(order: &[(u32, u16)]) -> Vec<u32> {
    let n = order.len();
    // Nodes 0..n are the leaves; n.. the joined nodes, made in ascending weight.
    let mut weight: Vec<u64> = order.iter().map(|&(f, _)| f as u64).collect();
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut leaf, mut joined) = (0, n);
    let take = |weight: &Vec<u64>, leaf: &mut usize, joined: &mut usize| {
        if *leaf < n && (*joined >= weight.len() || weight[*leaf] <= weight[*joined]) {
            *leaf += 1;
            *leaf - 1
        } else {
            *joined += 1;
            *joined - 1
        }
    };
    for _ in 0..n - 1 {
        let a = take(&weight, &mut leaf, &mut joined);
        let b = take(&weight, &mut leaf, &mut joined);
        let node = weight.len();
        weight.push(weight[a] + weight[b]);
        parent[a] = node;
        parent[b] = node;
    }
    // The root is the last node; a node's depth is its parent's plus one.
    let root = 2 * n - 2;
    let mut depth = vec![0u32; 2 * n - 1];
    for node in (0..root).rev() {
        depth[node] = depth[parent[node]] + 1;
    }
    depth.truncate(n);
    depth
}

/// The canonical code of each symbol of lengths `lens`, bit-reversed into `codes`, as
/// deflate sends codes first bit first and the bit writer writes low bits first.
pub(crate) fn canonical_codes(lens: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; 16];
    for &l in lens {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for len in 1..16 {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    for (sym, &l) in lens.iter().enumerate() {
        if l > 0 {
            let c = next[l as usize];
            next[l as usize] += 1;
            codes[sym] = c.reverse_bits() >> (16 - l);
        } else {
            codes[sym] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kraft(lens: &[u8], max: u8) -> u64 {
        lens.iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (max - l))
            .sum()
    }

    #[test]
    fn lengths_make_a_complete_code_within_the_limit() {
        // Fibonacci frequencies make the deepest trees: 30 symbols would need 29 bits.
        let mut freqs = vec![1u32, 1];
        while freqs.len() < 30 {
            let n = freqs.len();
            freqs.push(freqs[n - 1] + freqs[n - 2]);
        }
        for max in [7u8, 15] {
            let mut lens = vec![0u8; freqs.len()];
            code_lengths(&freqs, max, &mut lens);
            assert!(lens.iter().all(|&l| (1..=max).contains(&l)), "{lens:?}");
            assert_eq!(kraft(&lens, max), 1 << max, "{lens:?}");
            // More frequent symbols never get longer codes.
            for w in lens.windows(2) {
                assert!(w[0] >= w[1], "{lens:?}");
            }
        }
    }

    #[test]
    fn unlimited_lengths_are_those_of_a_huffman_tree() {
        let freqs = [45u32, 13, 12, 16, 9, 5];
        let mut lens = [0u8; 6];
        code_lengths(&freqs, 15, &mut lens);
        assert_eq!(lens, [1, 3, 3, 3, 4, 4]);
    }

    #[test]
    fn fewer_than_two_used_symbols_still_make_a_complete_code() {
        for freqs in [vec![0u32, 0, 0], vec![0, 0, 7], vec![9, 0, 0]] {
            let mut lens = vec![0u8; freqs.len()];
            code_lengths(&freqs, 15, &mut lens);
            assert_eq!(lens.iter().filter(|&&l| l == 1).count(), 2, "{freqs:?}");
            assert_eq!(kraft(&lens, 15), 1 << 15);
            for (f, l) in freqs.iter().zip(&lens) {
                assert!(*f == 0 || *l > 0);
            }
        }
    }

    #[test]
    fn canonical_codes_follow_rfc_1951s_example() {
        // RFC 1951, 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give codes 010, 011, 100,
        // 101, 110, 00, 1110, 1111.
        let lens = [3u8, 3, 3, 3, 3, 2, 4, 4];
        let mut codes = [0u16; 8];
        canonical_codes(&lens, &mut codes);
        let want = [0b010u16, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111];
        for i in 0..8 {
            assert_eq!(
                codes[i],
                want[i].reverse_bits() >> (16 - lens[i]),
                "symbol {i}"
            );
        }
    }
}
