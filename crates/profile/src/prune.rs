//! Pruning frames from stacks: the profile's own `drop_frames`/`keep_frames` and
//! pprof's `-prune_from`.

use regex::Regex;

use crate::error::{Error, Result};
use crate::model::Profile;
use crate::tagfilter::regex_error_text;

/// Names whose parenthesis does not start an argument list.
const RESERVED_NAMES: [&str; 2] = ["(anonymous namespace)", "operator()"];

/// A function name without a leading `.` and without its argument list (from the
/// first `(` that does not belong to a reserved name), as pprof compares names when
/// pruning.
fn simplify_function_name(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    let mut i = 0;
    loop {
        let paren = name[i..].find('(').map(|p| i + p);
        let operator = name[i..].find(RESERVED_NAMES[1]).map(|p| i + p);
        match (paren, operator) {
            (None, None) => return name,
            (Some(p), op) if op.is_none_or(|o| p < o) => {
                if name[p..].starts_with(RESERVED_NAMES[0]) {
                    i = p + RESERVED_NAMES[0].len();
                } else {
                    return &name[..p];
                }
            }
            (_, Some(o)) => i = o + RESERVED_NAMES[1].len(),
            (Some(_), None) => return name,
        }
    }
}

/// Per function: whether its (simplified) name matches, computed on first use.
struct NameVerdicts<'a> {
    profile: &'a Profile,
    cache: Vec<u8>,
}

impl<'a> NameVerdicts<'a> {
    fn new(profile: &'a Profile) -> NameVerdicts<'a> {
        NameVerdicts {
            profile,
            cache: vec![0; profile.functions.len()],
        }
    }

    /// Whether function `index` has a non-empty name for which `test` holds.
    fn get(&mut self, index: u32, test: impl Fn(&str) -> bool) -> bool {
        let i = index as usize;
        match self.cache.get(i) {
            Some(1) => return false,
            Some(2) => return true,
            Some(_) => {}
            None => return false,
        }
        let name = self.profile.str(self.profile.functions[i].name);
        let verdict = !name.is_empty() && test(simplify_function_name(name));
        self.cache[i] = if verdict { 2 } else { 1 };
        verdict
    }
}

impl Profile {
    /// Removes from stacks the frames matching `drop` (unless they match `keep`) and
    /// everything they call, as pprof's `Prune`. Frames below the first non-matching
    /// frame from the root are left alone, so a stack is never pruned entirely.
    pub fn prune(&mut self, drop: &Regex, keep: Option<&Regex>) {
        let n = self.locations.len();
        // Per location: 0 untouched, 1 lines pruned beneath, 2 whole location pruned.
        let mut state = vec![0u8; n];
        let mut new_lines: Vec<(usize, usize)> = Vec::new();
        {
            let mut verdicts = NameVerdicts::new(self);
            let matches =
                |name: &str| drop.is_match(name) && keep.is_none_or(|k| !k.is_match(name));
            for (i, loc) in self.locations.iter().enumerate() {
                let hit = loc
                    .lines
                    .iter()
                    .rposition(|l| verdicts.get(l.function, matches));
                if let Some(at) = hit {
                    if at == loc.lines.len() - 1 {
                        state[i] = 2;
                    } else {
                        state[i] = 1;
                        new_lines.push((i, at + 1));
                    }
                }
            }
        }
        for (i, from) in new_lines {
            self.locations[i].lines.drain(..from);
        }
        self.samples.rewrite_stacks(|_, stack, _, out| {
            let mut found_user = false;
            let mut keep_from = 0;
            for i in (0..stack.len()).rev() {
                match state.get(stack[i] as usize).copied().unwrap_or(0) {
                    0 => found_user = true,
                    _ if !found_user => {}
                    2 => {
                        keep_from = i + 1;
                        break;
                    }
                    _ => {
                        keep_from = i;
                        break;
                    }
                }
            }
            out.extend_from_slice(&stack[keep_from..]);
            true
        });
    }

    /// Prunes with the profile's own `drop_frames` and `keep_frames` expressions (each
    /// anchored to match a whole name), as pprof's `RemoveUninteresting`.
    pub fn remove_uninteresting(&mut self) -> Result<()> {
        let drop_text = self.str(self.drop_frames).to_string();
        if drop_text.is_empty() {
            return Ok(());
        }
        let compile = |text: &str| {
            Regex::new(&format!("^({text})$")).map_err(|e| {
                Error::new(format!(
                    "failed to compile regexp {text}: {}",
                    regex_error_text(&e)
                ))
            })
        };
        let drop = compile(&drop_text)?;
        let keep_text = self.str(self.keep_frames).to_string();
        let keep = if keep_text.is_empty() {
            None
        } else {
            Some(compile(&keep_text)?)
        };
        self.prune(&drop, keep.as_ref());
        Ok(())
    }

    /// Applies pprof's `-prune_from` (as `PruneFrom`): in each stack, drops the frames
    /// below (callees of) the leaf-most frame matching `re`.
    pub fn prune_from(&mut self, re: &Regex) {
        let mut beneath = vec![false; self.locations.len()];
        let mut new_lines: Vec<(usize, usize)> = Vec::new();
        {
            let mut verdicts = NameVerdicts::new(self);
            for (i, loc) in self.locations.iter().enumerate() {
                if let Some(at) = loc
                    .lines
                    .iter()
                    .position(|l| verdicts.get(l.function, |name| re.is_match(name)))
                {
                    beneath[i] = true;
                    new_lines.push((i, at));
                }
            }
        }
        for (i, from) in new_lines {
            self.locations[i].lines.drain(..from);
        }
        self.samples.rewrite_stacks(|_, stack, _, out| {
            let from = stack
                .iter()
                .position(|&l| beneath.get(l as usize).copied().unwrap_or(false))
                .unwrap_or(0);
            out.extend_from_slice(&stack[from..]);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::simplify_function_name;

    #[test]
    fn simplify_function_name_cuts_argument_lists_but_not_reserved_names() {
        assert_eq!(simplify_function_name("foo(int)"), "foo");
        assert_eq!(simplify_function_name(".bar"), "bar");
        assert_eq!(
            simplify_function_name("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(
            simplify_function_name("Foo::operator()(int)"),
            "Foo::operator()"
        );
        assert_eq!(simplify_function_name("plain"), "plain");
    }
}
