//! Measurement for reports: the unit conversions of [`profile::units`], percentages and
//! Go's number formatting exactly as pprof prints them, and bringing several profiles to
//! common units before they are merged.

pub use profile::units::{label, scale, scaled_label, LabelScaler, Unit, UnitType, UNIT_TYPES};
use profile::{Error, Profile, Result, ValueType};

/// Converts a float to an integer as Go does on amd64: truncating toward zero, with
/// NaN and values out of range becoming `i64::MIN`.
pub fn go_float_to_int(x: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || !(-LIMIT..LIMIT).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// Formats `value` as a percentage of `total`, six characters wide, such as ` 12.34%`
/// without the leading space, `  100%` or ` 0.05%`.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", format_g(ratio, 2))
    }
}

/// Formats `x` like C's (and Go's) `%.{prec}g`: `prec` significant digits, trailing
/// zeros removed, exponent form for very small or large magnitudes.
pub fn format_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".to_string()
        } else if x > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let prec = prec.max(1);
    let e_form = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = e_form.split_once('e').unwrap_or((e_form.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_fraction_zeros(&format!("{x:.decimals$}")).to_string()
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn compatible_value_types(a: (&str, &str), b: (&str, &str)) -> bool {
    let (ta, tb) = (
        a.0.strip_suffix('s').unwrap_or(a.0),
        b.0.strip_suffix('s').unwrap_or(b.0),
    );
    if ta != tb {
        return false;
    }
    if a.1 == b.1 {
        return true;
    }
    UNIT_TYPES
        .iter()
        .any(|ut| ut.sniff_unit(a.1).is_some() && ut.sniff_unit(b.1).is_some())
}

/// The (type, unit) that values of all `types` can be converted to: the one with the
/// finest unit. `None` for fewer than two types; an error when two are incompatible.
pub fn common_value_type<'a>(types: &[(&'a str, &'a str)]) -> Result<Option<(&'a str, &'a str)>> {
    if types.len() <= 1 {
        return Ok(None);
    }
    let mut min = types[0];
    for &t in &types[1..] {
        if !compatible_value_types(min, t) {
            return Err(Error::new(format!(
                "incompatible types: {{{} {}}} {{{} {}}}",
                min.0, min.1, t.0, t.1
            )));
        }
        if scale(1, t.1, min.1).0 < 1.0 {
            min = t;
        }
    }
    Ok(Some(min))
}

/// Brings profiles to common units before they are merged: each sample type (and the
/// period) is converted to the finest unit any profile uses for it, scaling values and
/// dropping samples whose scaled values are all zero.
pub fn scale_profiles(profiles: &mut [Profile]) -> Result<()> {
    let units = CommonUnits::of(profiles)?;
    for p in profiles.iter_mut() {
        units.apply(p);
    }
    Ok(())
}

/// The units profiles are brought to before they are merged (see [`scale_profiles`]):
/// the period's and each sample type's, where the profiles have more than one.
pub struct CommonUnits {
    period: Option<String>,
    sample_types: Vec<Option<String>>,
}

impl CommonUnits {
    /// The common units of `profiles`; fails when their types cannot be reconciled.
    pub fn of(profiles: &[Profile]) -> Result<CommonUnits> {
        let Some(first) = profiles.first() else {
            return Ok(CommonUnits {
                period: None,
                sample_types: Vec::new(),
            });
        };
        let owned =
            |p: &Profile, t: ValueType| (p.str(t.ty).to_string(), p.str(t.unit).to_string());
        let period_types: Vec<(String, String)> = profiles
            .iter()
            .filter(|p| has_period(p))
            .map(|p| owned(p, p.period_type))
            .collect();
        let period = common(&period_types).map_err(|e| e.context("period type"))?;

        let width = first.sample_types.len();
        for p in &profiles[1..] {
            if p.sample_types.len() != width {
                return Err(Error::new(format!(
                    "inconsistent samples type count: {} != {}",
                    width,
                    p.sample_types.len()
                )));
            }
        }
        let mut sample_types = Vec::with_capacity(width);
        for i in 0..width {
            let types: Vec<(String, String)> = profiles
                .iter()
                .map(|p| owned(p, p.sample_types[i]))
                .collect();
            let common = common(&types).map_err(|e| e.context("sample types"))?;
            sample_types.push(common.map(|(_, unit)| unit));
        }
        Ok(CommonUnits {
            period: period.map(|(_, unit)| unit),
            sample_types,
        })
    }

    /// Converts `p` (one of the profiles these units were found for, or one with the
    /// same types) to these units.
    pub fn apply(&self, p: &mut Profile) {
        if let Some(unit) = &self.period {
            if has_period(p) {
                let from = p.str(p.period_type.unit).to_string();
                p.period = go_float_to_int(scale(p.period, &from, unit).0);
                if from != *unit {
                    // Interning builds the string table's index: not for nothing.
                    p.period_type.unit = p.intern(unit);
                }
            }
        }
        let width = p.sample_types.len();
        let mut ratios = vec![1.0; width];
        for (i, common) in self.sample_types.iter().enumerate().take(width) {
            if let Some(unit) = common {
                let from = p.str(p.sample_types[i].unit).to_string();
                ratios[i] = scale(1, &from, unit).0;
                if from != *unit {
                    p.sample_types[i].unit = p.intern(unit);
                }
            }
        }
        scale_n(p, &ratios);
    }
}

/// Whether `p` has a period type.
fn has_period(p: &Profile) -> bool {
    p.period_type != ValueType::default()
}

fn common(types: &[(String, String)]) -> Result<Option<(String, String)>> {
    let refs: Vec<(&str, &str)> = types
        .iter()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .collect();
    Ok(common_value_type(&refs)?.map(|(t, u)| (t.to_string(), u.to_string())))
}

/// Multiplies sample values by `ratios` (one per sample type), rounding, and drops the
/// samples whose scaled values are all zero. Does nothing when every ratio is 1.
fn scale_n(p: &mut Profile, ratios: &[f64]) {
    if ratios.iter().all(|&r| r == 1.0) {
        return;
    }
    p.samples.map_values(|values| {
        for (v, &r) in values.iter_mut().zip(ratios) {
            if r != 1.0 {
                *v = go_float_to_int((*v as f64 * r).round());
            }
        }
    });
    p.samples.retain(|_, s| {
        s.values
            .iter()
            .zip(ratios)
            .any(|(v, &r)| r != 1.0 && v != 0)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_label_picks_the_largest_unit_keeping_value_above_one() {
        assert_eq!(label(1536, "bytes"), "1.50kB");
        assert_eq!(label(10_000_000, "nanoseconds"), "10ms");
        assert_eq!(label(0, "bytes"), "0");
        assert_eq!(label(-2_500_000_000, "nanoseconds"), "-2.50s");
        assert_eq!(label(42, "count"), "42");
        assert_eq!(scaled_label(3_600_000_000_000, "ns", "hour"), "1hrs");
        assert_eq!(scaled_label(5, "widgets", "widgets"), "5widgets");
    }

    #[test]
    fn scale_to_unknown_unit_of_known_type_uses_default_unit() {
        assert_eq!(
            scale(2_000_000_000, "nanoseconds", "bogus"),
            (2.0, "s".to_string())
        );
    }

    #[test]
    fn percentage_uses_fixed_or_two_significant_digits() {
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(1234, 10000), "12.34%");
        assert_eq!(percentage(5, 1000), "  0.5%");
        assert_eq!(percentage(1, 10_000_000), "1e-05%");
        assert_eq!(percentage(0, 0), "    0%");
        assert_eq!(percentage(-50, 100), "50.00%");
    }

    #[test]
    fn format_g_matches_go_percent_g() {
        assert_eq!(format_g(0.123, 2), "0.12");
        assert_eq!(format_g(0.0996, 2), "0.1");
        assert_eq!(format_g(0.000056, 2), "5.6e-05");
        assert_eq!(format_g(123.0, 2), "1.2e+02");
    }

    #[test]
    fn common_value_type_prefers_the_finest_unit() {
        let t = common_value_type(&[("cpu", "milliseconds"), ("cpu", "nanoseconds")]).unwrap();
        assert_eq!(t, Some(("cpu", "nanoseconds")));
        assert!(common_value_type(&[("cpu", "ms"), ("alloc", "bytes")]).is_err());
        assert_eq!(common_value_type(&[("cpu", "ms")]).unwrap(), None);
    }
}
