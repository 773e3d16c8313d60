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
            if u.factor >= factor && value / u.factor >= 1.0 {
                factor = u.factor;
                name = u.canonical_name;
            }
        }
        if factor == 0.0 {
            return None;
        }
        Some((value / factor, name))
    }

    /// Converts `value` from `from` to `to` if `from` belongs to this family.
    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, &'static str)> {
        let from = self.sniff_unit(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            if let Some(r) = self.auto_scale(v) {
                return Some(r);
            }
            return Some((
                v / self.default_unit.factor,
                self.default_unit.canonical_name,
            ));
        }
        match self.sniff_unit(to) {
            Some(to) => Some((v / to.factor, to.canonical_name)),
            None => Some((
                v / self.default_unit.factor,
                self.default_unit.canonical_name,
            )),
        }
    }
}

/// Converts `value` from unit `from` to unit `to` (a unit name, `auto` or `minimum` for
/// the largest unit that keeps the value at least 1), returning the converted value and
/// the name of the unit it is in (empty for plain counts).
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in &UNIT_TYPES {
        if let Some((v, u)) = ut.convert(value, from, to) {
            return (v, u.to_string());
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// Formats `value` in unit `unit` with an automatically chosen unit, such as `1.50MB`.
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// Formats `value`, converted from unit `from` to unit `to`, with two decimals (dropped
/// when they are `.00`) followed by the unit name.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let s = format!("{v:.2}");
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
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
}
