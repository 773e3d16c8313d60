//! How graph elements look in dot: escaping, colours, font sizes, edge weights and the
//! short multi-line names of nodes.

use crate::graph::shorten_function_name;

/// Escapes `s` for a quoted dot string: backslashes and double quotes get a backslash,
/// and newlines become `\l` (a left-justified line break).
pub fn escape_for_dot(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\l"),
            _ => out.push(c),
        }
    }
    out
}

/// The colour of an element whose score (its share of the total, signed) is `score`:
/// -1 is green, 0 grey and 1 red. A background colour is light, a foreground colour
/// dark. Formatted as `#rrggbb`.
pub fn dot_color(score: f64, background: bool) -> String {
    // How far colours are shifted away from grey.
    const SHIFT: f64 = 0.7;
    let (mut saturation, value) = if background { (0.1, 0.93) } else { (1.0, 0.7) };

    let mut score = score.clamp(-1.0, 1.0);
    // Near zero, fade to grey rather than to yellow.
    if score.abs() < 0.2 {
        saturation *= score.abs() / 0.2;
    }
    if score > 0.0 {
        score = score.powf(1.0 - SHIFT);
    }
    if score < 0.0 {
        score = -(-score).powf(1.0 - SHIFT);
    }

    let (r, g) = if score < 0.0 {
        (value * (1.0 + saturation * score), value)
    } else {
        (value, value * (1.0 - saturation * score))
    };
    let b = value * (1.0 - saturation);
    format!("#{:02x}{:02x}{:02x}", channel(r), channel(g), channel(b))
}

/// A colour channel in [0, 1] as a byte, truncated.
fn channel(v: f64) -> u8 {
    (v * 255.0) as u8
}

/// The font size of a node whose flat value is `flat` when the largest flat value of the
/// graph is `max_flat`: 8 points, growing with the square root of the share up to 24.
pub fn font_size(flat: i64, max_flat: f64) -> i64 {
    const BASE: i64 = 8;
    const MAX_GROWTH: f64 = 16.0;
    let flat = flat.unsigned_abs() as f64;
    if max_flat != 0.0 && flat != 0.0 && flat <= max_flat {
        BASE + (MAX_GROWTH * (flat / max_flat).sqrt()).ceil() as i64
    } else {
        BASE
    }
}

/// The layout weight (1 to 101) and pen width (1 to 6) of an edge of `weight` in a graph
/// whose total is `total` (non-zero).
pub fn edge_weight_and_width(weight: i64, total: i64) -> (i64, i64) {
    let share = |scale: i64, max: i64| {
        let v = weight.wrapping_mul(scale).checked_div(total).unwrap_or(0);
        1 + v.wrapping_abs().min(max)
    };
    (share(100, 100), share(5, 5))
}

/// The name of a function as a node label shows it: shortened, escaped, and broken into
/// lines at `::` and `.` (but not inside a `[...]` type parameter list). Lines are joined
/// by a literal `\n`.
pub fn multiline_function_name(name: &str) -> String {
    escape_for_dot(&shorten_function_name(name))
        .replace("::", "\\n")
        .replace("[...]", "[…]")
        .replace('.', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_for_dot_escapes_quotes_backslashes_and_newlines() {
        assert_eq!(escape_for_dot(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_for_dot("x\ny"), r"x\ly");
    }

    #[test]
    fn dot_color_is_grey_at_zero_and_red_or_green_at_the_ends() {
        assert_eq!(dot_color(0.0, false), "#b2b2b2");
        assert_eq!(dot_color(0.0, true), "#ededed");
        assert_eq!(dot_color(1.0, false), "#b20000");
        assert_eq!(dot_color(-1.0, false), "#00b200");
        assert_eq!(dot_color(2.0, true), dot_color(1.0, true));
    }

    #[test]
    fn dot_color_matches_pprof_for_intermediate_shares() {
        // Values pprof printed for nodes of 95.96% and 17.17% of the total.
        assert_eq!(dot_color(1.90 / 1.98, false), "#b20200");
        assert_eq!(dot_color(1.90 / 1.98, true), "#edd5d5");
        assert_eq!(dot_color(0.34 / 1.98, false), "#b25819");
        assert_eq!(dot_color(0.34 / 1.98, true), "#ede1d8");
    }

    #[test]
    fn font_size_grows_with_the_square_root_of_the_flat_share() {
        assert_eq!(font_size(0, 70.0), 8);
        assert_eq!(font_size(70, 70.0), 24);
        assert_eq!(font_size(-70, 70.0), 24);
        assert_eq!(font_size(10, 70.0), 15);
        assert_eq!(font_size(1, 0.0), 8);
    }

    #[test]
    fn edge_weight_and_width_are_capped() {
        assert_eq!(edge_weight_and_width(0, 10), (1, 1));
        assert_eq!(edge_weight_and_width(5, 10), (51, 3));
        assert_eq!(edge_weight_and_width(30, 10), (101, 6));
        assert_eq!(edge_weight_and_width(-10, 10), (101, 6));
    }

    #[test]
    fn multiline_function_name_breaks_at_dots_but_keeps_type_parameters() {
        assert_eq!(
            multiline_function_name("example.com/a.Map[...].Get"),
            r"a\nMap[…]\nGet"
        );
        assert_eq!(multiline_function_name("ns::Foo::bar"), r"Foo\nbar");
    }
}
