//! Sample filters on labels, compiled from pprof's `-tagfocus`/`-tagignore` syntax.
//!
//! A filter is `[key=]value`. A value that reads as a numeric range (`64`, `1kb:`,
//! `:10kb`, `32mb:64mb`, units optional) matches numeric labels whose value, converted
//! to the range's unit, falls in the range. Any other value is a comma-separated list
//! of regular expressions: with a key, a sample matches when one of them matches one of
//! the key's values; without a key, when each of them matches some `key:value` of the
//! sample.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;

use crate::error::{Error, Result};
use crate::model::{Label, Profile};
use crate::samples::SampleRef;
use crate::strings::StrId;
use crate::units::scale;

/// A compiled `-tagfocus`/`-tagignore` filter.
#[derive(Clone, Debug)]
pub struct TagFilter {
    /// Only labels with this key are looked at, if set.
    key: Option<String>,
    kind: Kind,
    /// Unit of each numeric label key (see [`Profile::num_label_units`]).
    units: HashMap<String, String>,
}

#[derive(Clone, Debug)]
enum Kind {
    /// Numeric labels in a range, compared in `unit`.
    Range(NumRange),
    /// String labels matching regular expressions.
    Regexes(Vec<Regex>),
}

#[derive(Clone, Debug)]
struct NumRange {
    low: Option<f64>,
    high: Option<f64>,
    unit: String,
}

impl NumRange {
    fn contains(&self, value: i64, unit: &str) -> bool {
        let (v, u) = scale(value, unit, &self.unit);
        u == self.unit && self.low.is_none_or(|lo| v >= lo) && self.high.is_none_or(|hi| v <= hi)
    }
}

impl TagFilter {
    /// Compiles the filter `value` of option `name` (`tagfocus` or `tagignore`, used in
    /// error messages); `num_label_units` gives the unit of each numeric label key.
    pub fn parse(
        name: &str,
        value: &str,
        num_label_units: &HashMap<String, String>,
    ) -> Result<TagFilter> {
        let (key, value) = match value.split_once('=') {
            Some((k, v)) => (Some(k.to_string()), v),
            None => (None, value),
        };
        let kind = match parse_range(value)? {
            Some(range) => Kind::Range(range),
            None => {
                let mut regexes = Vec::new();
                for part in value.split(',') {
                    let rx = Regex::new(part).map_err(|e| {
                        Error::new(format!("parsing {name} regexp: {}", regex_error_text(&e)))
                    })?;
                    regexes.push(rx);
                }
                Kind::Regexes(regexes)
            }
        };
        Ok(TagFilter {
            key: key.filter(|k| !k.is_empty()),
            kind,
            units: num_label_units.clone(),
        })
    }

    /// Whether the filter was read as a numeric range (pprof then prints
    /// `NAME:Interpreted 'VALUE' as range, not regexp`).
    pub fn is_range(&self) -> bool {
        matches!(self.kind, Kind::Range(_))
    }

    /// Whether `sample` of `profile` passes the filter.
    pub fn matches(&self, profile: &Profile, sample: SampleRef<'_>) -> bool {
        // One sample: nothing to remember (a table per string id would cost more).
        let mut once = TagMatcher::new(Cow::Borrowed(self));
        once.remember = false;
        once.matches(profile, sample.labels)
    }
}

/// A label's string not judged yet (see [`TagMatcher`]).
const UNSEEN: u8 = u8::MAX;

/// A [`TagFilter`] judging the label sets of one profile, each string judged once: a
/// large profile repeats a few keys and values over half a million label sets, and reading
/// a remembered verdict costs far less than comparing a string or running a regex.
/// Each thread judging sets needs its own (they would contend for the regexes' caches).
pub(crate) struct TagMatcher<'f> {
    filter: Cow<'f, TagFilter>,
    /// Whether verdicts per string id are kept (not for a single sample).
    remember: bool,
    /// Per string id as a label key: [`UNSEEN`], or whether the filter looks at the
    /// key's labels (every key, when the filter names none).
    key_verdicts: Vec<u8>,
    /// Per string id as a string label's value, for regexes with a key: [`UNSEEN`], or
    /// whether some regex matches it.
    value_verdicts: Vec<u8>,
    /// For regexes without a key: per `key:value` pair, which regexes match it (bit
    /// `i` for regex `i`, up to 64 of them; more are matched every time).
    pair_matches: HashMap<(StrId, StrId), u64, foldhash::fast::RandomState>,
    /// For ranges: per key, the unit of its numeric labels.
    key_units: HashMap<StrId, String, foldhash::fast::RandomState>,
}

impl<'f> TagMatcher<'f> {
    /// A matcher for `filter` (a copy of its own for a thread among others).
    pub(crate) fn new(filter: Cow<'f, TagFilter>) -> TagMatcher<'f> {
        TagMatcher {
            filter,
            remember: true,
            key_verdicts: Vec::new(),
            value_verdicts: Vec::new(),
            pair_matches: HashMap::default(),
            key_units: HashMap::default(),
        }
    }

    /// Whether a sample of `profile` with `labels` passes the filter.
    pub(crate) fn matches(&mut self, profile: &Profile, labels: &[Label]) -> bool {
        match &self.filter.kind {
            Kind::Range(range) => labels.iter().any(|l| {
                if !l.is_numeric() {
                    return false;
                }
                let filter = &self.filter;
                let verdicts = &mut self.key_verdicts;
                if !remembered(self.remember, verdicts, l.key, || {
                    filter
                        .key
                        .as_deref()
                        .is_none_or(|k| k == profile.str(l.key))
                }) {
                    return false;
                }
                let unit = self.key_units.entry(l.key).or_insert_with(|| {
                    filter
                        .units
                        .get(profile.str(l.key))
                        .cloned()
                        .unwrap_or_default()
                });
                range.contains(l.num, unit)
            }),
            Kind::Regexes(regexes) => match &self.filter.key {
                Some(want) => labels.iter().any(|l| {
                    !l.is_numeric()
                        && remembered(self.remember, &mut self.key_verdicts, l.key, || {
                            profile.str(l.key) == want
                        })
                        && remembered(self.remember, &mut self.value_verdicts, l.str, || {
                            regexes.iter().any(|rx| rx.is_match(profile.str(l.str)))
                        })
                }),
                None if regexes.len() <= 64 => {
                    let mut found = 0u64;
                    let mut text = String::new();
                    for l in labels.iter().filter(|l| !l.is_numeric()) {
                        found |= *self.pair_matches.entry((l.key, l.str)).or_insert_with(|| {
                            key_value_text(profile, l, &mut text);
                            regexes
                                .iter()
                                .enumerate()
                                .filter(|(_, rx)| rx.is_match(&text))
                                .fold(0, |bits, (i, _)| bits | 1 << i)
                        });
                    }
                    found.count_ones() as usize == regexes.len()
                }
                None => {
                    let mut text = String::new();
                    regexes.iter().all(|rx| {
                        labels.iter().any(|l| {
                            if l.is_numeric() {
                                return false;
                            }
                            key_value_text(profile, l, &mut text);
                            rx.is_match(&text)
                        })
                    })
                }
            },
        }
    }
}

/// The verdict `judge` gives string `id`, remembered in `verdicts` (grown as needed)
/// when `remember`.
#[inline]
fn remembered(
    remember: bool,
    verdicts: &mut Vec<u8>,
    id: StrId,
    judge: impl FnOnce() -> bool,
) -> bool {
    if !remember {
        return judge();
    }
    let i = id.index();
    if i >= verdicts.len() {
        verdicts.resize(i + 1, UNSEEN);
    }
    match verdicts[i] {
        UNSEEN => {
            let v = judge();
            verdicts[i] = v as u8;
            v
        }
        v => v != 0,
    }
}

/// Writes string label `l` as `key:value` into `text`, as regexes without a key see it.
fn key_value_text(profile: &Profile, l: &Label, text: &mut String) {
    text.clear();
    text.push_str(profile.str(l.key));
    text.push(':');
    text.push_str(profile.str(l.str));
}

/// The first line of a regex error (the crate's messages span several lines).
pub(crate) fn regex_error_text(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s.lines().last().unwrap_or("").trim().to_string(),
        other => other.to_string(),
    }
}

/// One number with an optional unit inside a range filter: (whole match, digits,
/// unit), as byte ranges of the filter.
fn range_parts(filter: &str) -> Vec<(usize, usize, usize)> {
    // pprof's pattern is `([+-]?[[:digit:]]+)([[:alpha:]]+)?`, matched at most twice.
    let b = filter.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < b.len() && parts.len() < 2 {
        let start = i;
        let mut j = i;
        if b[j] == b'+' || b[j] == b'-' {
            j += 1;
        }
        let digits = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits {
            i += 1;
            continue;
        }
        let number_end = j;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        parts.push((start, number_end, j));
        i = j;
    }
    parts
}

/// Reads `filter` as a numeric range, or returns `None` when it is not one.
fn parse_range(filter: &str) -> Result<Option<NumRange>> {
    let parts = range_parts(filter);
    let Some(&(s0, n0, e0)) = parts.first() else {
        return Ok(None);
    };
    let number = |s: usize, n: usize| -> Result<i64> {
        filter[s..n]
            .parse::<i64>()
            .map_err(|e| Error::new(format!("failed to parse int {}: {e}", &filter[s..n])))
    };
    let first = &filter[s0..e0];
    let range = |low, high, unit| Ok(Some(NumRange { low, high, unit }));
    if parts.len() == 1 {
        let v = number(s0, n0)?;
        let (value, unit) = scale(v, &filter[n0..e0], &filter[n0..e0]);
        if filter == first {
            return range(Some(value), Some(value), unit);
        }
        if filter.strip_suffix(':') == Some(first) {
            return range(Some(value), None, unit);
        }
        if filter.strip_prefix(':') == Some(first) {
            return range(None, Some(value), unit);
        }
        return Ok(None);
    }
    let (s1, n1, e1) = parts[1];
    if filter != format!("{first}:{}", &filter[s1..e1]) {
        return Ok(None);
    }
    let v = number(s0, n0)?;
    let (low, unit) = scale(v, &filter[n0..e0], &filter[n0..e0]);
    let v2 = number(s1, n1)?;
    let (high, unit2) = scale(v2, &filter[n1..e1], &unit);
    if unit != unit2 {
        return Ok(None);
    }
    range(Some(low), Some(high), unit)
}
