//! Units of measurement (bytes, time, GCU): converting values between units and
//! choosing a readable unit, as pprof's measurement package does. Tag filters, label
//! frames and every report format values with these rules.

/// A unit of a [`UnitType`]: its printed name, the names it is recognised by, and its
/// size in the type's base unit.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    /// Name printed after scaled values, such as `MB` or `ms`.
    pub canonical_name: &'static str,
    /// Lowercase spellings (singular) that name this unit in a profile.
    pub aliases: &'static [&'static str],
    /// Size of the unit in the base unit of its type.
    pub factor: f64,
}

/// A family of convertible units (memory, time, GCU) with the unit used when a target
/// unit is not recognised.
#[derive(Clone, Copy, Debug)]
pub struct UnitType {
    /// Unit used when no better one is known.
    pub default_unit: Unit,
    /// Every unit of the family, smallest first.
    pub units: &'static [Unit],
}

const fn unit(canonical_name: &'static str, aliases: &'static [&'static str], factor: f64) -> Unit {
    Unit {
        canonical_name,
        aliases,
        factor,
    }
}

const KIB: f64 = 1024.0;

/// The unit families pprof knows: bytes, time and Google Compute Units.
pub const UNIT_TYPES: [UnitType; 3] = [
    UnitType {
        units: &[
            unit("B", &["b", "byte"], 1.0),
            unit("kB", &["kb", "kbyte", "kilobyte"], KIB),
            unit("MB", &["mb", "mbyte", "megabyte"], KIB * KIB),
            unit("GB", &["gb", "gbyte", "gigabyte"], KIB * KIB * KIB),
            unit("TB", &["tb", "tbyte", "terabyte"], KIB * KIB * KIB * KIB),
            unit(
                "PB",
                &["pb", "pbyte", "petabyte"],
                KIB * KIB * KIB * KIB * KIB,
            ),
        ],
        default_unit: unit("B", &["b", "byte"], 1.0),
    },
    UnitType {
        units: &[
            unit("ns", &["ns", "nanosecond"], 1.0),
            unit("us", &["μs", "us", "microsecond"], 1e3),
            unit("ms", &["ms", "millisecond"], 1e6),
            unit("s", &["s", "sec", "second"], 1e9),
            unit("hrs", &["hour", "hr"], 3600e9),
        ],
        default_unit: unit("s", &[], 1e9),
    },
    UnitType {
        units: &[
            unit("n*GCU", &["nanogcu"], 1e-9),
            unit("u*GCU", &["microgcu"], 1e-6),
            unit("m*GCU", &["milligcu"], 1e-3),
            unit("GCU", &["gcu"], 1.0),
            unit("k*GCU", &["kilogcu"], 1e3),
            unit("M*GCU", &["megagcu"], 1e6),
            unit("G*GCU", &["gigagcu"], 1e9),
            unit("T*GCU", &["teragcu"], 1e12),
            unit("P*GCU", &["petagcu"], 1e15),
        ],
        default_unit: unit("GCU", &[], 1.0),
    },
];

impl UnitType {
    /// The unit of this family that `name` spells (case-insensitive, plural allowed).
    pub fn sniff_unit(&self, name: &str) -> Option<&Unit> {
        let lower = name.to_lowercase();
        let mut name = lower.as_str();
        if name.len() > 2 {
            name = name.strip_suffix('s').unwrap_or(name);
        }
        self.units.iter().find(|u| u.aliases.contains(&name))
    }

    /// The largest unit in which `value` (in base units) is at least 1.
    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut factor = 0.0;
        let mut name = "";
        for u in self.units {
            // `value / u.factor >= 1.0` without dividing: for a positive factor the
            // correctly rounded quotient reaches 1 exactly when `value` reaches the
            // factor (below it, the quotient is at most the float just under 1).
            if u.factor >= factor && value >= u.factor {
                factor = u.factor;
                name = u.canonical_name;
            }
        }
        if factor == 0.0 {
            return None;
        }
        Some((value / factor, name))
    }
}

/// Converts `value` from unit `from` to unit `to` (a unit name, `auto` or `minimum` for
/// the largest unit that keeps the value at least 1), returning the converted value and
/// the name of the unit it is in (empty for plain counts).
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    let (v, u) = LabelScaler::new(from, to).scale(value);
    (v, u.to_string())
}

/// Formats `value` in unit `unit` with an automatically chosen unit, such as `1.50MB`.
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// Formats `value`, converted from unit `from` to unit `to`, with two decimals (dropped
/// when they are `.00`) followed by the unit name.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let mut s = String::new();
    LabelScaler::new(from, to).push(value, &mut s);
    s
}

/// [`scaled_label`] for many values of one pair of units: the units are looked up once,
/// and each label is appended to a buffer the caller reuses.
#[derive(Clone, Debug)]
pub struct LabelScaler<'a> {
    /// The family and unit `from` names, if any (the first family that knows it).
    from: Option<(UnitType, Unit)>,
    /// What values are converted to within that family.
    target: Target,
    /// The target unit as given, printed after numbers in no known unit.
    to: &'a str,
}

/// The unit a [`LabelScaler`] converts to within the family of its source unit.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The largest unit that keeps the value at least 1 (`auto`, `minimum`).
    Largest,
    /// A unit of the family.
    Unit(Unit),
    /// The family's default unit (the target names none of the family).
    Default,
}

impl<'a> LabelScaler<'a> {
    /// Labels of values in unit `from`, converted to unit `to` (a unit name, `auto` or
    /// `minimum`).
    pub fn new(from: &str, to: &'a str) -> LabelScaler<'a> {
        let from = UNIT_TYPES
            .iter()
            .find_map(|ut| ut.sniff_unit(from).map(|u| (*ut, *u)));
        let target = match (from, to) {
            (_, "minimum" | "auto") => Target::Largest,
            (Some((ut, _)), _) => ut
                .sniff_unit(to)
                .map_or(Target::Default, |u| Target::Unit(*u)),
            (None, _) => Target::Default,
        };
        LabelScaler { from, target, to }
    }

    /// Appends the label of `value` to `out`: what [`scaled_label`] returns for it.
    pub fn push(&self, value: i64, out: &mut String) {
        // A number in no known unit keeps its value, which prints as its integer when
        // an f64 holds it exactly: labels such as request sizes have hundreds of
        // thousands of distinct values.
        if self.from.is_none() && value.unsigned_abs() <= 1 << 53 {
            if value == 0 {
                out.push('0');
                return;
            }
            out.push_str(itoa::Buffer::new().format(value));
            if !is_count_unit(self.to) {
                out.push_str(self.to);
            }
            return;
        }
        let start = out.len();
        let (v, unit) = self.scale(value);
        if !push_two_decimals(out, v) {
            use std::fmt::Write as _;
            let _ = write!(out, "{v:.2}");
        }
        if out[start..].ends_with(".00") {
            out.truncate(out.len() - 3);
        }
        if matches!(&out[start..], "0" | "-0") {
            out.truncate(start);
            out.push('0');
            return;
        }
        out.push_str(unit);
    }

    /// `value` converted with these units, and the name of the unit it is in (empty
    /// for plain counts): what [`scale`] returns.
    fn scale(&self, value: i64) -> (f64, &'a str) {
        if value < 0 && value != i64::MIN {
            let (v, u) = self.scale(-value);
            return (-v, u);
        }
        let Some((family, from)) = self.from else {
            return (
                value as f64,
                if is_count_unit(self.to) { "" } else { self.to },
            );
        };
        let v = value as f64 * from.factor;
        let default = (
            v / family.default_unit.factor,
            family.default_unit.canonical_name,
        );
        match self.target {
            Target::Largest => family.auto_scale(v).unwrap_or(default),
            Target::Unit(to) => (v / to.factor, to.canonical_name),
            Target::Default => default,
        }
    }
}

/// Whether values in `unit` print as plain numbers (pprof's count-like units).
fn is_count_unit(unit: &str) -> bool {
    matches!(unit, "count" | "sample" | "unit" | "minimum" | "auto")
}

/// Appends `x` with two decimals exactly as `format!("{x:.2}")` writes it (correctly
/// rounded, ties to even, the sign of a negative value kept), by integer arithmetic on
/// its binary value; returns false, appending nothing, for values outside the range
/// done so (not finite, at least 2^113, or below 2^-68 in magnitude but not zero).
fn push_two_decimals(out: &mut String, x: f64) -> bool {
    if !x.is_finite() {
        return false;
    }
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    // |x| = mantissa * 2^power.
    let (mantissa, power) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, exponent - 1075)
    };
    let scaled = mantissa as u128 * 100;
    let hundredths = if mantissa == 0 {
        0
    } else if power >= 0 {
        if power > 60 {
            return false;
        }
        scaled << power
    } else {
        let shift = -power;
        if shift > 120 {
            return false;
        }
        let q = scaled >> shift;
        let rest = scaled - (q << shift);
        let half = 1u128 << (shift - 1);
        if rest > half || (rest == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    if negative {
        out.push('-');
    }
    // Dividing 128-bit numbers is a call to a slow routine: numbers that fit in 64
    // bits (all but the largest) are divided as such.
    let mut digits = itoa::Buffer::new();
    let (whole, cents) = match u64::try_from(hundredths) {
        Ok(h) => (digits.format(h / 100), (h % 100) as u8),
        Err(_) => (digits.format(hundredths / 100), (hundredths % 100) as u8),
    };
    out.push_str(whole);
    out.push('.');
    out.push((b'0' + cents / 10) as char);
    out.push((b'0' + cents % 10) as char);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_converts_between_memory_units() {
        assert_eq!(scale(2048, "bytes", "kb"), (2.0, "kB".to_string()));
        assert_eq!(scale(3, "MB", "auto"), (3.0, "MB".to_string()));
        assert_eq!(scale(10, "", ""), (10.0, String::new()));
        assert_eq!(scale(10, "", "widgets"), (10.0, "widgets".to_string()));
        assert_eq!(scale(-2048, "b", "minimum"), (-2.0, "kB".to_string()));
    }

    #[test]
    fn scaled_label_trims_zero_decimals() {
        assert_eq!(scaled_label(1536, "bytes", "auto"), "1.50kB");
        assert_eq!(scaled_label(2000000, "ns", "ms"), "2ms");
        assert_eq!(scaled_label(0, "ns", "ms"), "0");
        assert_eq!(scaled_label(7, "", ""), "7");
    }

    #[test]
    fn two_decimals_are_written_as_the_formatter_writes_them() {
        let mut values = vec![
            0.0, -0.0, 0.005, 0.015, 0.125, 0.375, 2.675, 1.005, -0.001, 99.995, 1e15, 123456.785,
            1e-20, 5e-324, 1e30, 1e300,
        ];
        // Byte counts in the units memory labels print in, and arbitrary bit patterns.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (state >> 11) as f64 * if state & 1 == 0 { 1.0 } else { -1.0 };
            values.push(n / 1024f64.powi((state >> 3) as i32 % 6));
            values.push((state >> 40) as f64 / 1000.0);
            values.push(f64::from_bits(state));
        }
        for x in values {
            let mut s = String::new();
            if push_two_decimals(&mut s, x) {
                assert_eq!(s, format!("{x:.2}"), "{x:e}");
            } else {
                assert!(s.is_empty());
                assert!(!x.is_finite() || x.abs() >= 2f64.powi(113) || x.abs() < 2f64.powi(-68));
            }
        }
    }

    #[test]
    fn auto_scale_picks_the_unit_whose_quotient_reaches_one() {
        for family in UNIT_TYPES {
            // The unit by definition: the largest whose quotient is at least 1.
            let by_quotient = |value: f64| {
                let mut best: Option<&Unit> = None;
                for u in family.units {
                    if value / u.factor >= 1.0 && best.is_none_or(|b| u.factor >= b.factor) {
                        best = Some(u);
                    }
                }
                best.map(|u| (value / u.factor, u.canonical_name))
            };
            for u in family.units {
                let f = u.factor;
                for value in [
                    f,
                    f.next_down(),
                    f.next_up(),
                    f * 0.999,
                    f * 1.5,
                    f * 1e3,
                    -f,
                    0.0,
                ] {
                    assert_eq!(family.auto_scale(value), by_quotient(value), "{value:e}");
                }
            }
        }
    }

    /// What a label is by definition: [`scale`], two decimals by the formatter,
    /// `.00` dropped, and integers for numbers in no known unit.
    fn label_by_definition(value: i64, from: &str, to: &str) -> String {
        let known = UNIT_TYPES.iter().any(|ut| ut.sniff_unit(from).is_some());
        if !known && value.unsigned_abs() <= 1 << 53 {
            if value == 0 {
                return "0".to_string();
            }
            let plain = ["count", "sample", "unit", "minimum", "auto"].contains(&to);
            let suffix = if plain { "" } else { to };
            return format!("{value}{suffix}");
        }
        let (v, u) = scale(value, from, to);
        let mut s = format!("{v:.2}");
        if s.ends_with(".00") {
            s.truncate(s.len() - 3);
        }
        if s == "0" || s == "-0" {
            return "0".to_string();
        }
        s + &u
    }

    #[test]
    fn label_scaler_writes_labels_as_defined_for_every_pair_of_units() {
        let froms = [
            "bytes",
            "B",
            "kb",
            "MiB",
            "ns",
            "seconds",
            "s",
            "ms",
            "hour",
            "gcu",
            "milligcu",
            "request_size",
            "",
            "count",
        ];
        let tos = [
            "auto", "minimum", "kb", "MB", "ms", "s", "hrs", "widgets", "", "count", "bytes", "gcu",
        ];
        let mut values = vec![0, 1, -1, 999, 1023, 1024, 1025, 1536, i64::MAX, i64::MIN];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push((state >> (state % 60)) as i64 * if state & 1 == 0 { 1 } else { -1 });
        }
        let mut out = String::new();
        for from in froms {
            for to in tos {
                let scaler = LabelScaler::new(from, to);
                for &v in &values {
                    out.clear();
                    out.push_str("previous ");
                    scaler.push(v, &mut out);
                    assert_eq!(
                        &out["previous ".len()..],
                        label_by_definition(v, from, to),
                        "{v} {from} -> {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn scaled_label_prints_numbers_in_no_unit_as_integers() {
        for (value, to, text) in [
            (123_456_789, "auto", "123456789"),
            (-42, "minimum", "-42"),
            (5, "widgets", "5widgets"),
            (0, "widgets", "0"),
            (1 << 53, "", "9007199254740992"),
            ((1 << 53) + 1, "", "9007199254740992"),
            (i64::MIN, "auto", "-9223372036854775808"),
        ] {
            assert_eq!(
                scaled_label(value, "request_size", to),
                text,
                "{value} {to}"
            );
        }
    }
}
