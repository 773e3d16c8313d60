//! Sample filters by frame name (`-focus`, `-ignore`, `-hide`, `-show`,
//! `-show_from`), by label (`-tagfocus`, `-tagignore`) and label removal by key
//! (`-tagshow`, `-taghide`), with pprof's semantics.
//!
//! A frame matches a regular expression when its function name or source file
//! matches, or when its location's mapping file does.

use std::borrow::Cow;

use regex::Regex;

use crate::model::{Location, Profile};
use crate::tagfilter::{TagFilter, TagMatcher};

/// Which of the name filters matched something (pprof warns about the ones that did
/// not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameMatches {
    /// Some location matched the focus expression (true when there is none).
    pub focus: bool,
    /// Some location matched the ignore expression.
    pub ignore: bool,
    /// Some location matched the hide expression.
    pub hide: bool,
    /// Some location kept a frame under the show expression.
    pub show: bool,
}

/// Whether each function's name or file matches a regex, computed once per function.
struct FunctionMatches {
    functions: Vec<bool>,
    mappings: Vec<bool>,
}

impl FunctionMatches {
    fn new(p: &Profile, re: &Regex) -> FunctionMatches {
        // Judged on every core, each with its own copy of the regex (threads sharing
        // one contend for its matching caches).
        let functions = crate::parallel::on_each_part(p.functions.len(), 1 << 13, |range| {
            let re = re.clone();
            p.functions[range]
                .iter()
                .map(|f| re.is_match(p.str(f.name)) || re.is_match(p.str(f.filename)))
                .collect::<Vec<bool>>()
        })
        .concat();
        FunctionMatches {
            functions,
            mappings: p
                .mappings
                .iter()
                .map(|m| re.is_match(p.str(m.filename)))
                .collect(),
        }
    }

    fn function(&self, index: u32) -> bool {
        self.functions.get(index as usize).copied().unwrap_or(false)
    }

    fn mapping(&self, loc: &Location) -> bool {
        loc.mapping
            .and_then(|m| self.mappings.get(m.index()).copied())
            .unwrap_or(false)
    }

    /// Some line's function, or the mapping, matches.
    fn location(&self, loc: &Location) -> bool {
        loc.lines.iter().any(|l| self.function(l.function)) || self.mapping(loc)
    }
}

/// Focus state of a location: not mentioned, focused, or ignored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    None,
    Focus,
    Ignore,
}

/// Whether a stack passes `-focus` and `-ignore` by its locations' marks: no ignored
/// frame and some focused one. Without an ignore expression, the first focused frame
/// decides.
fn stack_passes(marks: &[Mark], can_ignore: bool, stack: impl Iterator<Item = u32>) -> bool {
    let mut focused = false;
    for l in stack {
        match marks.get(l as usize) {
            Some(Mark::Ignore) => return false,
            Some(Mark::Focus) if !can_ignore => return true,
            Some(Mark::Focus) => focused = true,
            _ => {}
        }
    }
    focused
}

/// Samples with fewer frames than this keep their stacks in a cache (a few megabytes of
/// them) once read: asking for them ahead only costs.
const PREFETCH_MIN_FRAMES: usize = 1 << 22;

/// The verdicts of `-tagfocus` and `-tagignore` on samples: a sample's labels decide,
/// and each label set is judged once.
struct TagVerdicts {
    /// Matchers of copies of the filters: threads sharing one regex contend for its
    /// matching caches (see [`FunctionMatches::new`]).
    focus: Option<TagMatcher<'static>>,
    ignore: Option<TagMatcher<'static>>,
    /// Each label set's verdict (bit 0: focused, bit 1: ignored), or [`UNSEEN`].
    by_set: Vec<u8>,
}

/// A label set's verdict not worked out yet.
const UNSEEN: u8 = u8::MAX;

impl TagVerdicts {
    fn new(p: &Profile, focus: Option<&TagFilter>, ignore: Option<&TagFilter>) -> TagVerdicts {
        TagVerdicts {
            focus: focus.map(|f| TagMatcher::new(Cow::Owned(f.clone()))),
            ignore: ignore.map(|f| TagMatcher::new(Cow::Owned(f.clone()))),
            by_set: vec![UNSEEN; p.samples.label_set_count()],
        }
    }

    /// Whether sample `i` of `p` is focused (true without a focus filter) and whether
    /// it is ignored.
    fn of(&mut self, p: &Profile, i: usize) -> (bool, bool) {
        let set = p.samples.label_set_of(i) as usize;
        let verdict = match self.by_set.get(set) {
            Some(&v) if v != UNSEEN => v,
            _ => {
                let labels = p.samples.labels(i);
                let focused = self.focus.as_mut().is_none_or(|f| f.matches(p, labels));
                let ignored = self.ignore.as_mut().is_some_and(|f| f.matches(p, labels));
                let v = focused as u8 | (ignored as u8) << 1;
                if let Some(slot) = self.by_set.get_mut(set) {
                    *slot = v;
                }
                v
            }
        };
        (verdict & 1 != 0, verdict & 2 != 0)
    }
}

impl Profile {
    /// Applies pprof's `-focus`, `-ignore`, `-hide` and `-show` (as
    /// `FilterSamplesByName`).
    ///
    /// Samples are kept when some frame matches `focus` (or there is no focus) and no
    /// frame matches `ignore`. Lines matching `hide`, and lines not matching `show`,
    /// are removed from their locations; locations left without lines are removed from
    /// stacks, and samples left without locations are dropped.
    pub fn filter_samples_by_name(
        &mut self,
        focus: Option<&Regex>,
        ignore: Option<&Regex>,
        hide: Option<&Regex>,
        show: Option<&Regex>,
    ) -> NameMatches {
        let mut result = NameMatches::default();
        if focus.is_none() && ignore.is_none() && hide.is_none() && show.is_none() {
            result.focus = true;
            return result;
        }
        let matcher = |re: Option<&Regex>| re.map(|re| FunctionMatches::new(self, re));
        let (focus_m, ignore_m, hide_m, show_m) = (
            matcher(focus),
            matcher(ignore),
            matcher(hide),
            matcher(show),
        );
        let marks = self.focus_marks(focus_m.as_ref(), ignore_m.as_ref(), &mut result);
        let mut hidden = vec![false; self.locations.len()];
        let mut any_hidden = false;
        for (i, loc) in self.locations.iter_mut().enumerate() {
            if let Some(m) = &hide_m {
                if m.location(loc) {
                    result.hide = true;
                    if m.mapping(loc) {
                        loc.lines.clear();
                    } else {
                        loc.lines.retain(|l| !m.function(l.function));
                    }
                    if loc.lines.is_empty() {
                        hidden[i] = true;
                        any_hidden = true;
                    }
                }
            }
            if let Some(m) = &show_m {
                if !m.mapping(loc) {
                    loc.lines.retain(|l| m.function(l.function));
                }
                if loc.lines.is_empty() {
                    hidden[i] = true;
                    any_hidden = true;
                } else {
                    result.show = true;
                }
            }
        }
        let can_ignore = ignore.is_some();
        if !any_hidden {
            // Stacks stay as they are: samples are only selected, nothing moves; they
            // are judged on every core.
            let keep = self
                .samples
                .decide(|_, s| stack_passes(&marks, can_ignore, s.locations.iter()));
            self.samples.select_by(&keep);
            return result;
        }
        self.samples.rewrite_stacks(|_, stack, _, out| {
            if !stack_passes(&marks, can_ignore, stack.iter().copied()) {
                return false;
            }
            out.extend(
                stack
                    .iter()
                    .filter(|&&l| !hidden.get(l as usize).copied().unwrap_or(false)),
            );
            !out.is_empty()
        });
        result
    }

    /// Applies `-focus` and `-ignore`, then `-tagfocus` and `-tagignore`: what
    /// [`filter_samples_by_name`](Self::filter_samples_by_name) without hide or show
    /// expressions followed by [`filter_samples_by_tag`](Self::filter_samples_by_tag)
    /// do, in one pass on every core. A sample's labels are judged first; its stack is
    /// walked only when they keep it, or when no sample passing the name filters has
    /// yet been found that their verdict would report as focused or ignored.
    pub fn filter_samples_by_name_and_tag(
        &mut self,
        focus: Option<&Regex>,
        ignore: Option<&Regex>,
        tag_focus: Option<&TagFilter>,
        tag_ignore: Option<&TagFilter>,
    ) -> (NameMatches, (bool, bool)) {
        let mut names = NameMatches::default();
        let matcher = |re: Option<&Regex>| re.map(|re| FunctionMatches::new(self, re));
        let (focus_m, ignore_m) = (matcher(focus), matcher(ignore));
        let marks = self.focus_marks(focus_m.as_ref(), ignore_m.as_ref(), &mut names);
        let can_ignore = ignore.is_some();
        let ahead = self.samples.has_frames(PREFETCH_MIN_FRAMES);
        let judged = self.samples.on_each_range(|range| {
            let mut verdicts = TagVerdicts::new(self, tag_focus, tag_ignore);
            let (mut any_focused, mut any_ignored) = (false, false);
            let mut keep = Vec::with_capacity(range.len());
            // The samples whose labels pass lie scattered: the labels of a block of
            // samples are judged first and, when the stacks are too many to stay in a
            // cache, the stacks to walk asked for, so that their cache misses overlap.
            const BLOCK: usize = 16;
            let mut start = range.start;
            while start < range.end {
                let block = start..(start + BLOCK).min(range.end);
                let mut tags = [(false, false); BLOCK];
                for (k, i) in block.clone().enumerate() {
                    tags[k] = verdicts.of(self, i);
                    if ahead && tags[k] == (true, false) {
                        self.samples.prefetch_stack(i);
                    }
                }
                for (k, i) in block.clone().enumerate() {
                    let (focused, ignored) = tags[k];
                    let kept_by_tags = focused && !ignored;
                    let needed =
                        kept_by_tags || (focused && !any_focused) || (ignored && !any_ignored);
                    if !needed
                        || !stack_passes(&marks, can_ignore, self.samples.locations(i).iter())
                    {
                        keep.push(false);
                        continue;
                    }
                    any_focused |= focused;
                    any_ignored |= ignored;
                    keep.push(kept_by_tags);
                }
                start = block.end;
            }
            (keep, any_focused, any_ignored)
        });
        (names, self.select_judged(judged))
    }

    /// The focus state of every location (ignored, focused, or neither), recording in
    /// `result` whether each expression matched some location. Without a focus
    /// expression, every location not ignored is focused.
    fn focus_marks(
        &self,
        focus: Option<&FunctionMatches>,
        ignore: Option<&FunctionMatches>,
        result: &mut NameMatches,
    ) -> Vec<Mark> {
        self.locations
            .iter()
            .map(|loc| {
                if ignore.is_some_and(|m| m.location(loc)) {
                    result.ignore = true;
                    Mark::Ignore
                } else if focus.is_none_or(|m| m.location(loc)) {
                    result.focus = true;
                    Mark::Focus
                } else {
                    Mark::None
                }
            })
            .collect()
    }

    /// Applies pprof's `-show_from` (as `ShowFrom`): drops the frames of each stack
    /// above (callers of) the root-most frame matching `re`, and the samples with no
    /// matching frame. Returns whether some location matched.
    pub fn show_from(&mut self, re: &Regex) -> bool {
        let m = FunctionMatches::new(self, re);
        let mut matched = vec![false; self.locations.len()];
        let mut any = false;
        for (i, loc) in self.locations.iter_mut().enumerate() {
            if m.mapping(loc) {
                matched[i] = true;
                any = true;
            } else if let Some(last) = loc.lines.iter().rposition(|l| m.function(l.function)) {
                loc.lines.truncate(last + 1);
                matched[i] = true;
                any = true;
            }
        }
        self.samples.rewrite_stacks(|_, stack, _, out| {
            match stack
                .iter()
                .rposition(|&l| matched.get(l as usize).copied().unwrap_or(false))
            {
                Some(i) => {
                    out.extend_from_slice(&stack[..=i]);
                    true
                }
                None => false,
            }
        });
        any
    }

    /// Applies pprof's `-tagshow` and `-taghide` (as `FilterTagsByName`): removes the
    /// labels whose key does not match `show` or matches `hide`. Returns whether some
    /// key matched `show` (or there is no show) and whether some key matched `hide`.
    pub fn filter_tags_by_name(
        &mut self,
        show: Option<&Regex>,
        hide: Option<&Regex>,
    ) -> (bool, bool) {
        let (mut shown, mut hidden) = (false, false);
        // Per string id: 0 not evaluated yet, 1 keep, 2 remove.
        let mut verdicts = vec![0u8; self.strings.len()];
        let strings = &self.strings;
        self.samples.rewrite_labels(|labels, out| {
            for l in labels {
                let slot = l.key.index();
                let verdict = match verdicts.get(slot) {
                    Some(&v) if v != 0 => v,
                    _ => {
                        let name = strings.get(l.key);
                        let match_show = show.is_none_or(|re| re.is_match(name));
                        let match_hide = hide.is_some_and(|re| re.is_match(name));
                        shown |= match_show;
                        hidden |= match_hide;
                        let v = if !match_show || match_hide { 2 } else { 1 };
                        if let Some(cell) = verdicts.get_mut(slot) {
                            *cell = v;
                        }
                        v
                    }
                };
                if verdict == 1 {
                    out.push(*l);
                }
            }
        });
        (shown, hidden)
    }

    /// Applies pprof's `-tagfocus` and `-tagignore` (as `FilterSamplesByTag`): keeps
    /// the samples that pass `focus` (if given) and do not pass `ignore` (if given).
    /// Returns whether some sample passed each filter.
    pub fn filter_samples_by_tag(
        &mut self,
        focus: Option<&TagFilter>,
        ignore: Option<&TagFilter>,
    ) -> (bool, bool) {
        if focus.is_none() && ignore.is_none() {
            return (!self.samples.is_empty(), false);
        }
        let judged = self.samples.on_each_range(|range| {
            let mut verdicts = TagVerdicts::new(self, focus, ignore);
            let (mut any_focused, mut any_ignored) = (false, false);
            let keep: Vec<bool> = range
                .map(|i| {
                    let (focused, ignored) = verdicts.of(self, i);
                    any_focused |= focused;
                    any_ignored |= ignored;
                    focused && !ignored
                })
                .collect();
            (keep, any_focused, any_ignored)
        });
        self.select_judged(judged)
    }

    /// Selects the samples that consecutive parts of them, judged apart, keep (each
    /// part: whether each sample is kept, and whether some sample was focused and some
    /// ignored by the tag filters); returns whether any was focused and any ignored.
    fn select_judged(&mut self, parts: Vec<(Vec<bool>, bool, bool)>) -> (bool, bool) {
        let (mut any_focused, mut any_ignored) = (false, false);
        let mut keep = Vec::with_capacity(self.samples.len());
        for (part, focused, ignored) in parts {
            keep.extend(part);
            any_focused |= focused;
            any_ignored |= ignored;
        }
        self.samples.select_by(&keep);
        (any_focused, any_ignored)
    }
}
