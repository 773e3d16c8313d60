//! The call graph of a profile, as pprof's graph package builds it: one node per
//! distinct frame (function, file, line, address, as the profile's granularity leaves
//! them), edges from caller to callee, flat and cumulative values, and the trimming
//! steps (low-frequency nodes, edges and tags, top-N selection, call-tree trimming,
//! redundant edges) that reports apply.
//!
//! Nodes and edges live in arenas ([`Graph::arena`], [`Graph::edges`]) and refer to
//! each other by index; [`Graph::nodes`] lists the nodes that are part of the graph, in
//! the current order. Edge maps are ordered by node index so every traversal is
//! deterministic.

mod call_tree;
mod edge_map;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

pub use edge_map::EdgeMap;
use profile::key_index::KeyIndex;

use profile::{Line, Location, Profile, StrId};
use regex::Regex;
use std::sync::OnceLock;

/// Index of a node in [`Graph::arena`].
pub type NodeId = usize;
/// Index of an edge in [`Graph::edges`].
pub type EdgeId = usize;
/// Tags of a node, keyed by their printed name.
pub type TagMap = BTreeMap<String, Tag>;
/// A set of node identities: which nodes a rebuilt graph keeps. (Hashed with a hash
/// seeded per process, fast on the identities' long names.)
pub type NodeSet = HashSet<NodeInfo, foldhash::fast::RandomState>;

/// What identifies a node: the frame's function, file, line and address, as far as the
/// profile's granularity keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// Function name.
    pub name: String,
    /// System (mangled) function name, when original names are asked for.
    pub orig_name: String,
    /// Instruction address (0 when unknown or aggregated away).
    pub address: u64,
    /// Source file, cleaned.
    pub file: String,
    /// First line of the function, kept with the object file name.
    pub start_line: i64,
    /// Line number (0 when unknown or aggregated away).
    pub lineno: i64,
    /// Column number (0 when unknown).
    pub columnno: i64,
    /// Object file of the mapping, kept when asked for or when the frame has no name.
    pub objfile: String,
}

impl NodeInfo {
    /// The parts of the node's printed name: address, function, `file:line[:column]` or
    /// file, else `[object]` or `<unknown>`.
    pub fn name_components(&self) -> Vec<String> {
        let mut parts = Vec::with_capacity(3);
        if self.address != 0 {
            parts.push(format!("{:016x}", self.address));
        }
        if !self.name.is_empty() {
            parts.push(self.name.clone());
        }
        if self.lineno != 0 {
            let mut s = format!("{}:{}", self.file, self.lineno);
            if self.columnno != 0 {
                s.push_str(&format!(":{}", self.columnno));
            }
            parts.push(s);
        } else if !self.file.is_empty() {
            parts.push(self.file.clone());
        } else if !self.name.is_empty() {
        } else if !self.objfile.is_empty() {
            parts.push(format!("[{}]", profile::gopath::base_name(&self.objfile)));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts
    }

    /// The node's printed name: its name components joined by spaces.
    pub fn printable_name(&self) -> String {
        self.name_components().join(" ")
    }

    /// The node identity as Go prints the struct (`{name orig addr file ...}`), pprof's
    /// last tie-break when sorting nodes.
    fn debug_string(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {} {}}}",
            self.name,
            self.orig_name,
            self.address,
            self.file,
            self.start_line,
            self.lineno,
            self.columnno,
            self.objfile
        )
    }
}

/// A label value (or formatted numeric label) attached to a node, with the node's
/// value for the samples carrying it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    /// Printed name: `key:value` of string labels, or a formatted number.
    pub name: String,
    /// Unit of a numeric tag, empty for string labels.
    pub unit: String,
    /// Value of a numeric tag.
    pub value: i64,
    /// Flat value of the samples with this tag.
    pub flat: i64,
    /// Divisor of `flat` for mean reports.
    pub flat_div: i64,
    /// Cumulative value of the samples with this tag.
    pub cum: i64,
    /// Divisor of `cum` for mean reports.
    pub cum_div: i64,
}

impl Tag {
    /// The flat value, divided for mean reports.
    pub fn flat_value(&self) -> i64 {
        div_value(self.flat, self.flat_div)
    }

    /// The cumulative value, divided for mean reports.
    pub fn cum_value(&self) -> i64 {
        div_value(self.cum, self.cum_div)
    }
}

/// Sorts tags by decreasing cumulative (unless `flat`) then flat magnitude, then name.
pub fn sort_tags(tags: &mut [&Tag], flat: bool) {
    tags.sort_by(|a, b| {
        let by_cum = if flat {
            std::cmp::Ordering::Equal
        } else {
            b.cum.wrapping_abs().cmp(&a.cum.wrapping_abs())
        };
        by_cum
            .then_with(|| b.flat.wrapping_abs().cmp(&a.flat.wrapping_abs()))
            .then_with(|| a.name.cmp(&b.name))
    });
}

fn div_value(v: i64, div: i64) -> i64 {
    if div == 0 {
        v
    } else {
        v.wrapping_div(div)
    }
}

/// A node of the graph: a frame with its values, edges and tags.
#[derive(Clone, Debug)]
pub struct Node {
    /// The node's identity.
    pub info: NodeInfo,
    /// The printed name of `info`, computed once.
    pub name: String,
    /// The node of the function this node belongs to (itself when it has no address or
    /// line).
    pub function: NodeId,
    /// Value of the samples whose leaf is this node.
    pub flat: i64,
    /// Divisor of `flat` for mean reports.
    pub flat_div: i64,
    /// Value of the samples whose stack contains this node (counted once per sample).
    pub cum: i64,
    /// Divisor of `cum` for mean reports.
    pub cum_div: i64,
    /// Edges from callers, keyed by caller.
    pub in_edges: EdgeMap,
    /// Edges to callees, keyed by callee.
    pub out_edges: EdgeMap,
    /// String label tags (only when [`GraphOptions::tags`] is set).
    pub label_tags: TagMap,
    /// Numeric label tags, grouped by the joined string labels of their samples.
    pub numeric_tags: BTreeMap<String, TagMap>,
}

impl Node {
    fn new(info: NodeInfo, id: NodeId) -> Node {
        Node {
            name: info.printable_name(),
            info,
            function: id,
            flat: 0,
            flat_div: 0,
            cum: 0,
            cum_div: 0,
            in_edges: EdgeMap::new(),
            out_edges: EdgeMap::new(),
            label_tags: TagMap::new(),
            numeric_tags: BTreeMap::new(),
        }
    }

    /// The flat value, divided for mean reports.
    pub fn flat_value(&self) -> i64 {
        div_value(self.flat, self.flat_div)
    }

    /// The cumulative value, divided for mean reports.
    pub fn cum_value(&self) -> i64 {
        div_value(self.cum, self.cum_div)
    }
}

/// An edge from a caller node to a callee node.
#[derive(Clone, Debug)]
pub struct Edge {
    /// The caller.
    pub src: NodeId,
    /// The callee.
    pub dest: NodeId,
    /// Value of the samples through this call.
    pub weight: i64,
    /// Divisor of `weight` for mean reports.
    pub weight_div: i64,
    /// The edge stands for a path through nodes that were removed.
    pub residual: bool,
    /// The call was inlined.
    pub inline: bool,
}

impl Edge {
    /// The weight, divided for mean reports.
    pub fn weight_value(&self) -> i64 {
        div_value(self.weight, self.weight_div)
    }
}

/// What the graph collects about labels: string label tags and the numeric label
/// `bytes`, formatted in `output_unit` from `bytes_unit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagOptions {
    /// Unit of the numeric label `bytes`.
    pub bytes_unit: String,
    /// Unit numeric tags are formatted in (a unit name, `auto` or `minimum`).
    pub output_unit: String,
}

/// How to build a graph.
#[derive(Clone, Debug, Default)]
pub struct GraphOptions<'a> {
    /// Index of the sample value the graph sums.
    pub sample_index: usize,
    /// Divide by the first sample value (mean reports).
    pub mean: bool,
    /// Collect label tags (used by graph drawings); `None` skips the work.
    pub tags: Option<TagOptions>,
    /// Keep the object file name of every node.
    pub obj_names: bool,
    /// Keep the system names of functions.
    pub orig_fn_names: bool,
    /// Build a call tree (a node per distinct path) instead of a graph.
    pub call_tree: bool,
    /// Drop nodes whose value is negative.
    pub drop_negative: bool,
    /// Only make nodes with these identities.
    pub kept_nodes: Option<&'a NodeSet>,
    /// Only sum the nodes' values: no edges and no tags. For a first pass whose graph
    /// only decides which nodes to keep (not for call trees).
    pub nodes_only: bool,
    /// Leave out the tags that [`Graph::trim_low_frequency_tags`] with this cutoff
    /// would drop (0 keeps every tag); numeric tag groups left empty are not made.
    pub tag_cutoff: i64,
    /// Only make the edges with an end whose printed name matches: for a report that
    /// shows the edges of some nodes only (`-peek`). Nodes and their values are
    /// unaffected. Not for call trees.
    pub edge_ends: Option<&'a Regex>,
    /// Only make the edges into the nodes some location calls inline (a frame other
    /// than its outermost), and of those, into each node, the heaviest inlined call and
    /// the heaviest other one: the edges that decide which nodes a text report marks
    /// `(inline)` or `(partial-inline)` (at any edge cutoff), which is all it shows of
    /// edges. Nodes and their values are unaffected. Not for call trees.
    pub inline_mark_edges_only: bool,
    /// The frame identities of this same profile, worked out already (by
    /// [`NodeTotals::frames`]): a graph built with them skips that work. Ignored when
    /// they were made with other name options.
    pub frames: Option<&'a FrameTable<'a>>,
    /// The tag sets of this same profile, worked out already: a graph with tags built
    /// with them skips that work. Ignored when made with other tag options.
    pub tag_sets: Option<&'a TagSets<'a>>,
}

/// A call graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every node ever made, including ones no longer part of the graph.
    pub arena: Vec<Node>,
    /// Every edge ever made, including removed ones.
    pub edges: Vec<Edge>,
    /// The nodes of the graph, in the current order.
    pub nodes: Vec<NodeId>,
}

/// Orders in which [`Graph::sort_nodes_by`] can sort nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeOrder {
    /// Flat value, then name, then cumulative value.
    FlatName,
    /// Flat value, then cumulative value, then name.
    FlatCumName,
    /// Cumulative value, then name, then flat value.
    CumName,
    /// Function name.
    Name,
    /// File, then start line.
    File,
    /// Address.
    Address,
    /// A score favouring entry points, leaves and nodes with varied edges (drawings).
    Entropy,
}

/// FxHash's multiply-rotate hasher: the graph builder hashes small integer keys (frame
/// identities, edges) millions of times, where SipHash's strength buys nothing.
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(v as u64);
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(v as u64);
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    #[inline]
    fn write_i64(&mut self, v: i64) {
        self.add(v as u64);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A product's low bits depend only on the key's low bits, and a table picks its
        // bucket from the low bits: without this turn, the edges into one node (keys
        // that differ only in their high half, the caller) would all land in one
        // bucket, and a node with thousands of callers would cost a probe of thousands.
        self.0.rotate_left(26)
    }
}

/// A hash map keyed by small integers, hashed with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A hash map keyed by text from a profile: hashed with a seed chosen per process, so
/// that no profile can be made to collide on purpose.
pub(crate) type TextMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// `v`'s hash with [`FxHasher`].
#[inline]
fn fx_hash(v: &impl Hash) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

/// A node identity with its strings replaced by canonical ids (see [`Names`]): what
/// [`NodeInfo`] holds, but copied and hashed without touching a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct FrameKey {
    name: u32,
    orig_name: u32,
    file: u32,
    objfile: u32,
    address: u64,
    start_line: i64,
    lineno: i64,
    columnno: i64,
}

impl FrameKey {
    /// The identity of the function node of this frame (address and line forgotten).
    fn function(self) -> FrameKey {
        FrameKey {
            address: 0,
            lineno: 0,
            columnno: 0,
            ..self
        }
    }
}

/// Canonical ids for a profile's strings: equal texts get equal ids even when the
/// string table holds them twice. Names use the first string id with that text (0 for
/// the empty string); files are cleaned first and numbered in `files`.
#[derive(Clone)]
struct Names<'p> {
    prof: &'p Profile,
    raw: Vec<u32>,
    /// The first string id of each distinct text met, found by text.
    raw_index: KeyIndex,
    /// For each string id in `raw_index`, bits of its text's hash ([`hash_tag`]): a
    /// probe passes over other texts by these, without reading them.
    raw_tags: Vec<u32>,
    /// Hashes the texts of `raw_index`.
    text_hash: foldhash::fast::RandomState,
    /// The canonical id of each file name's string id met (few: most functions of a
    /// source file share its string).
    file: FxMap<u32, u32>,
    file_index: TextMap<String, u32>,
    files: Vec<String>,
}

impl<'p> Names<'p> {
    fn new(prof: &'p Profile) -> Names<'p> {
        Names {
            prof,
            raw: vec![NONE; prof.strings.len()],
            // Names and files of functions and mappings are most of what is looked up.
            raw_index: KeyIndex::with_capacity(prof.functions.len() + prof.mappings.len()),
            raw_tags: vec![0; prof.strings.len()],
            text_hash: Default::default(),
            file: FxMap::default(),
            file_index: TextMap::default(),
            files: vec![String::new()],
        }
    }

    /// The canonical id of string `id`'s text.
    fn raw(&mut self, id: StrId) -> u32 {
        match self.raw.get(id.index()) {
            Some(&c) if c != NONE => c,
            Some(_) => self.raw_hashed(id, self.text_hash.hash_one(self.prof.str(id))),
            None => 0,
        }
    }

    /// [`raw`](Self::raw), given the hash of `id`'s text (as [`text_hashes`](Self::text_hashes)
    /// gives it): the text is read only to tell it from another with a slot in its way.
    fn raw_hashed(&mut self, id: StrId, hash: u64) -> u32 {
        let i = id.index();
        match self.raw.get(i) {
            Some(&c) if c != NONE => c,
            Some(_) => {
                let prof = self.prof;
                let c = if prof.str(id).is_empty() {
                    0
                } else {
                    let (text_hash, tags, tag) = (&self.text_hash, &self.raw_tags, hash_tag(hash));
                    let text = |c: u32| prof.str(StrId(c));
                    let found = self.raw_index.get_or_insert(
                        hash,
                        i as u32,
                        |c| tags[c as usize] == tag && text(c) == prof.str(id),
                        |c| text_hash.hash_one(text(c)),
                    );
                    found.unwrap_or_else(|| {
                        self.raw_tags[i] = tag;
                        i as u32
                    })
                };
                self.raw[i] = c;
                c
            }
            None => 0,
        }
    }

    /// The hashes [`raw_hashed`](Self::raw_hashed) takes of the texts of `items`' ids, worked
    /// out on every core: reading the texts, scattered over a large profile's string
    /// table, is most of the work of finding their canonical ids.
    fn text_hashes<T: Sync>(&self, items: &[T], id: impl Fn(&T) -> StrId + Sync) -> Vec<u64> {
        const MIN_PART: usize = 8192;
        let (prof, text_hash) = (self.prof, &self.text_hash);
        profile::parallel::on_each_part(items.len(), MIN_PART, |range| {
            items[range]
                .iter()
                .map(|item| text_hash.hash_one(prof.str(id(item))))
                .collect::<Vec<u64>>()
        })
        .concat()
    }

    /// The canonical id of string `id`'s text as a cleaned path.
    fn file(&mut self, id: StrId) -> u32 {
        if let Some(&c) = self.file.get(&id.0) {
            return c;
        }
        let s = self.prof.str(id);
        let c = if s.is_empty() {
            0
        } else {
            let cleaned = profile::gopath::clean(s);
            match self.file_index.get(&cleaned) {
                Some(&c) => c,
                None => {
                    let c = self.files.len() as u32;
                    self.files.push(cleaned.clone());
                    self.file_index.insert(cleaned, c);
                    c
                }
            }
        };
        self.file.insert(id.0, c);
        c
    }

    /// The key of frame `line` of `loc` (`None`: a location without lines), as
    /// [`node_info`] would build it.
    fn frame_key(&mut self, loc: &Location, line: Option<&Line>, o: &GraphOptions) -> FrameKey {
        let prof = self.prof;
        let objfile = match loc.mapping.and_then(|m| prof.mappings.get(m.index())) {
            Some(m) => self.raw(m.filename),
            None => 0,
        };
        let Some((line, func)) =
            line.and_then(|l| prof.functions.get(l.function as usize).map(|f| (l, f)))
        else {
            return FrameKey {
                address: loc.address,
                objfile,
                ..FrameKey::default()
            };
        };
        let mut k = FrameKey {
            address: loc.address,
            lineno: line.line,
            columnno: line.column,
            name: self.raw(func.name),
            file: self.file(func.filename),
            ..FrameKey::default()
        };
        if o.orig_fn_names {
            k.orig_name = self.raw(func.system_name);
        }
        if o.obj_names || (k.name == 0 && k.orig_name == 0) {
            k.objfile = objfile;
            k.start_line = func.start_line;
        }
        k
    }

    /// The key of a node identity whose strings this table has seen (as
    /// [`info`](Self::info) gives it), or `None` when no key seen has its texts.
    fn key_of(&self, info: &NodeInfo) -> Option<FrameKey> {
        let raw = |s: &str| -> Option<u32> {
            if s.is_empty() {
                Some(0)
            } else {
                let prof = self.prof;
                self.raw_index
                    .find(self.text_hash.hash_one(s), |c| prof.str(StrId(c)) == s)
            }
        };
        let file = if info.file.is_empty() {
            0
        } else {
            *self.file_index.get(&info.file)?
        };
        Some(FrameKey {
            name: raw(&info.name)?,
            orig_name: raw(&info.orig_name)?,
            file,
            objfile: raw(&info.objfile)?,
            address: info.address,
            start_line: info.start_line,
            lineno: info.lineno,
            columnno: info.columnno,
        })
    }

    /// The function name of a key.
    fn name(&self, k: &FrameKey) -> &'p str {
        self.prof.str(StrId(k.name))
    }

    /// The node identity a key stands for.
    fn info(&self, k: &FrameKey) -> NodeInfo {
        let text = |id: u32| self.prof.str(StrId(id)).to_string();
        NodeInfo {
            name: text(k.name),
            orig_name: text(k.orig_name),
            address: k.address,
            file: self.files[k.file as usize].clone(),
            start_line: k.start_line,
            lineno: k.lineno,
            columnno: k.columnno,
            objfile: text(k.objfile),
        }
    }
}

/// Interns node identities (as keys) so each distinct one is numbered once; ids are
/// given in order of first use, a frame's function node right after the frame's own.
#[derive(Clone)]
struct InfoTable {
    index: KeyIndex,
    keys: Vec<FrameKey>,
    /// For each identity, bits of its key's hash ([`hash_tag`]): a probe passes over the
    /// keys of other identities by these, without reading the keys, which are far
    /// larger and scattered over memory.
    tags: Vec<u32>,
    /// For each identity, the identity of its function node.
    function_of: Vec<u32>,
}

impl InfoTable {
    fn new() -> InfoTable {
        InfoTable::with_capacity(0)
    }

    fn with_capacity(identities: usize) -> InfoTable {
        InfoTable {
            index: KeyIndex::with_capacity(identities),
            keys: Vec::with_capacity(identities),
            tags: Vec::with_capacity(identities),
            function_of: Vec::with_capacity(identities),
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn intern(&mut self, key: FrameKey) -> u32 {
        self.intern_hashed(key, fx_hash(&key))
    }

    /// [`intern`](Self::intern), given the key's hash.
    fn intern_hashed(&mut self, key: FrameKey, hash: u64) -> u32 {
        self.intern_frame(key, hash, None)
    }

    /// [`intern_hashed`](Self::intern_hashed), given the identity of the key's
    /// function node when it is known (`function`: what interning `key.function()`
    /// gives), which a new key of a frame finer than its function then takes.
    fn intern_frame(&mut self, key: FrameKey, hash: u64, function: Option<u32>) -> u32 {
        let id = self.keys.len() as u32;
        let (keys, tags, tag) = (&self.keys, &self.tags, hash_tag(hash));
        let found = self.index.get_or_insert(
            hash,
            id,
            |i| tags[i as usize] == tag && keys[i as usize] == key,
            |i| fx_hash(&keys[i as usize]),
        );
        if let Some(i) = found {
            return i;
        }
        self.keys.push(key);
        self.tags.push(tag);
        self.function_of.push(id);
        if key.address != 0 || key.lineno != 0 {
            let fid = function.unwrap_or_else(|| self.intern(key.function()));
            self.function_of[id as usize] = fid;
        }
        id
    }
}

const NONE: u32 = u32::MAX;

/// The bits of a key's hash kept beside it to tell it from others cheaply: not the top
/// bits, which pick the slot a [`KeyIndex`] probes first and so are alike in keys that
/// meet in a probe.
fn hash_tag(hash: u64) -> u32 {
    (hash >> 8) as u32
}

/// For each location, the identities of its frames (caller last), flattened.
#[derive(Clone)]
struct LocationInfos {
    offsets: Vec<u32>,
    infos: Vec<u32>,
    /// For each location of one frame, its identity; [`SEVERAL`] for the others. Most
    /// locations have one frame: a walk over stacks finds it with one read instead of
    /// two (an offset, then the frame) in tables too large for a core's cache.
    single: Vec<u32>,
    /// A bit per location, set when it has frames and every one of them is left out
    /// ([`NONE`]); `None` when no location is so. A graph of the nodes a first pass
    /// kept leaves out most frames of most stacks: a walk learns that from a table
    /// that fits a core's first cache, instead of one that fills its second.
    left_out: Option<Vec<u64>>,
}

/// See [`LocationInfos::single`].
const SEVERAL: u32 = u32::MAX - 1;

impl LocationInfos {
    /// The frames `infos` of the locations `offsets` delimits, and `single` as it was
    /// for the same locations' frames in another table (its values are replaced, its
    /// memory kept: a fresh table of a large profile's locations costs page faults).
    fn with_single_of(offsets: Vec<u32>, infos: Vec<u32>, mut single: Vec<u32>) -> LocationInfos {
        for (s, &start) in single.iter_mut().zip(&offsets) {
            if *s != SEVERAL {
                *s = infos[start as usize];
            }
        }
        LocationInfos::new(offsets, infos, single)
    }

    /// The table of the frames `infos` of the locations `offsets` delimits.
    fn of_frames(offsets: Vec<u32>, infos: Vec<u32>) -> LocationInfos {
        let single = offsets
            .windows(2)
            .map(|w| match &infos[w[0] as usize..w[1] as usize] {
                &[id] => id,
                _ => SEVERAL,
            })
            .collect();
        LocationInfos::new(offsets, infos, single)
    }

    /// The table of `offsets`, `infos` and `single`, with its
    /// [`left_out`](Self::left_out) bits worked out.
    fn new(offsets: Vec<u32>, infos: Vec<u32>, single: Vec<u32>) -> LocationInfos {
        let left_out = infos.contains(&NONE).then(|| {
            let mut bits = vec![0u64; offsets.len().saturating_sub(1).div_ceil(64)];
            for (loc, w) in offsets.windows(2).enumerate() {
                let frames = &infos[w[0] as usize..w[1] as usize];
                if !frames.is_empty() && frames.iter().all(|&n| n == NONE) {
                    bits[loc / 64] |= 1 << (loc % 64);
                }
            }
            bits
        });
        LocationInfos {
            offsets,
            infos,
            single,
            left_out,
        }
    }

    /// Whether location `loc` has frames and every one of them is left out.
    #[inline]
    fn is_left_out(&self, loc: u32) -> bool {
        let loc = loc as usize;
        self.left_out
            .as_ref()
            .and_then(|bits| bits.get(loc / 64))
            .is_some_and(|w| w >> (loc % 64) & 1 != 0)
    }

    fn of(&self, loc: u32) -> &[u32] {
        let i = loc as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.infos[a as usize..b as usize],
            _ => &[],
        }
    }

    /// [`of`](Self::of), reading a location of one frame through `single` (into `one`).
    #[inline]
    fn frames<'a>(&'a self, loc: u32, one: &'a mut [u32; 1]) -> &'a [u32] {
        match self.single.get(loc as usize) {
            Some(&SEVERAL) | None => self.of(loc),
            Some(&n) => {
                one[0] = n;
                &one[..]
            }
        }
    }
}

/// The node identity of every frame of a profile's locations, as a graph built with
/// some name options sees them, each distinct identity numbered once (as a key of
/// string ids: the identities' texts are made only for the nodes a report uses). A
/// report that builds several graphs of one profile (a first pass that decides which
/// nodes stay, then the graph of those) works them out once: see
/// [`GraphOptions::frames`].
pub struct FrameTable<'p> {
    orig_fn_names: bool,
    obj_names: bool,
    /// Whether every frame has its identity (no kept set left some out).
    complete: bool,
    names: Names<'p>,
    table: InfoTable,
    locs: LocationInfos,
}

impl std::fmt::Debug for FrameTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameTable")
            .field("identities", &self.table.len())
            .field("locations", &self.names.prof.locations.len())
            .finish_non_exhaustive()
    }
}

impl<'p> FrameTable<'p> {
    fn new(prof: &'p Profile, o: &GraphOptions) -> FrameTable<'p> {
        let mut names = Names::new(prof);
        // A node per function, and with addresses or line numbers (a finer
        // granularity) up to one per frame more: sized once rather than grown through
        // ever larger tables, each in fresh memory.
        // One pass over the locations, which can take megabytes.
        let (frames, finer) = prof.locations.iter().fold((0, false), |(n, finer), l| {
            let finer = finer || l.address != 0 || l.lines.iter().any(|line| line.line != 0);
            (n + l.lines.len().max(1), finer)
        });
        let identities = if finer {
            frames + prof.functions.len()
        } else {
            prof.functions.len()
        };
        let mut table = InfoTable::with_capacity(identities);
        let locs = location_infos(&mut names, o, &mut table);
        // The index is for interning only: a kept set is matched against the keys.
        table.index = KeyIndex::default();
        FrameTable {
            orig_fn_names: o.orig_fn_names,
            obj_names: o.obj_names,
            complete: o.kept_nodes.is_none(),
            names,
            table,
            locs,
        }
    }

    /// The identity of node `id`.
    fn info(&self, id: u32) -> NodeInfo {
        self.names.info(&self.table.keys[id as usize])
    }

    /// Whether the table gives the identities a graph of `prof` built with `o` would.
    fn fits(&self, prof: &Profile, o: &GraphOptions) -> bool {
        self.complete
            && self.orig_fn_names == o.orig_fn_names
            && self.obj_names == o.obj_names
            && std::ptr::eq(self.names.prof, prof)
    }

    /// The table and location frames [`location_infos`] would give with `kept` as
    /// the kept set: identities numbered in the same order, frames left out marked
    /// [`NONE`].
    fn restricted(&self, is_kept: &[bool]) -> (InfoTable, LocationInfos) {
        let (table, infos) = self.restricted_infos(is_kept);
        let offsets = self.locs.offsets.clone();
        let single = self.locs.single.clone();
        (table, LocationInfos::with_single_of(offsets, infos, single))
    }

    /// [`restricted`](Self::restricted), taking this table's place: its identities of
    /// every frame are freed before the caller goes on.
    fn into_restricted(self, is_kept: &[bool]) -> (Names<'p>, InfoTable, LocationInfos) {
        let (table, infos) = self.restricted_infos(is_kept);
        let FrameTable { names, locs, .. } = self;
        (
            names,
            table,
            LocationInfos::with_single_of(locs.offsets, infos, locs.single),
        )
    }

    /// Whether each identity of the table, by number, is in `kept`.
    fn kept_identities(&self, kept: &NodeSet) -> Vec<bool> {
        let kept_keys: std::collections::HashSet<FrameKey, BuildHasherDefault<FxHasher>> = kept
            .iter()
            .filter_map(|info| self.names.key_of(info))
            .collect();
        // Most identities are rejected by their name alone, without hashing the key.
        let mut kept_name = vec![false; self.names.prof.strings.len()];
        for k in &kept_keys {
            if let Some(slot) = kept_name.get_mut(k.name as usize) {
                *slot = true;
            }
        }
        self.table
            .keys
            .iter()
            .map(|k| {
                kept_name.get(k.name as usize).copied().unwrap_or(true) && kept_keys.contains(k)
            })
            .collect()
    }

    /// The table and each frame's identity of [`restricted`](Self::restricted): the
    /// identities `is_kept` marks (by number), renumbered in order.
    fn restricted_infos(&self, is_kept: &[bool]) -> (InfoTable, Vec<u32>) {
        let all = &self.table;
        let mut renumbered = vec![NONE; all.len()];
        let mut table = InfoTable::new();
        let mut add = |table: &mut InfoTable, id: u32| -> u32 {
            let slot = &mut renumbered[id as usize];
            if *slot == NONE {
                *slot = table.keys.len() as u32;
                table.keys.push(all.keys[id as usize]);
                table.tags.push(all.tags[id as usize]);
                table.function_of.push(*slot);
            }
            *slot
        };
        let infos = self
            .locs
            .infos
            .iter()
            .map(|&id| {
                if !is_kept.get(id as usize).copied().unwrap_or(false) {
                    return NONE;
                }
                let new = add(&mut table, id);
                let function = all.function_of[id as usize];
                if function != id {
                    let f = add(&mut table, function);
                    table.function_of[new as usize] = f;
                }
                new
            })
            .collect();
        (table, infos)
    }
}

/// The frame identities a graph is built from: [`Names`] to make their texts, the
/// numbered identities, and each location's frames.
struct Identities<'f> {
    names: std::borrow::Cow<'f, Names<'f>>,
    table: std::borrow::Cow<'f, InfoTable>,
    locs: std::borrow::Cow<'f, LocationInfos>,
}

/// The identities of every frame of `prof` for a graph built with `o`: from `owned`
/// or `o.frames` when they fit, else worked out. With `keep`, the identities of
/// `owned` it marks (by number) are kept instead of `o.kept_nodes`.
fn frame_identities<'f>(
    prof: &'f Profile,
    o: &'f GraphOptions<'f>,
    owned: Option<FrameTable<'f>>,
    keep: Option<&[bool]>,
) -> Identities<'f> {
    use std::borrow::Cow;
    if let Some(frames) = owned.filter(|f| f.fits(prof, o)) {
        let (names, table, locs) = match (keep, o.kept_nodes) {
            (Some(keep), _) => frames.into_restricted(keep),
            (None, Some(kept)) => {
                let keep = frames.kept_identities(kept);
                frames.into_restricted(&keep)
            }
            (None, None) => (frames.names, frames.table, frames.locs),
        };
        return Identities {
            names: Cow::Owned(names),
            table: Cow::Owned(table),
            locs: Cow::Owned(locs),
        };
    }
    match (o.frames.filter(|f| f.fits(prof, o)), o.kept_nodes) {
        (Some(frames), Some(kept)) => {
            let (table, locs) = frames.restricted(&frames.kept_identities(kept));
            Identities {
                names: Cow::Borrowed(&frames.names),
                table: Cow::Owned(table),
                locs: Cow::Owned(locs),
            }
        }
        (Some(frames), None) => Identities {
            names: Cow::Borrowed(&frames.names),
            table: Cow::Borrowed(&frames.table),
            locs: Cow::Borrowed(&frames.locs),
        },
        (None, _) => {
            let mut names = Names::new(prof);
            let mut table = InfoTable::new();
            let locs = location_infos(&mut names, o, &mut table);
            Identities {
                names: Cow::Owned(names),
                table: Cow::Owned(table),
                locs: Cow::Owned(locs),
            }
        }
    }
}

/// The node ids of every frame of every location of `names`' profile, interning them
/// in `table`; frames whose identity `o.kept_nodes` leaves out get [`NONE`].
fn location_infos(names: &mut Names, o: &GraphOptions, table: &mut InfoTable) -> LocationInfos {
    let used = used_locations(names.prof);
    if o.kept_nodes.is_none() && !o.obj_names {
        if let Some(locs) = function_location_infos(names, o, table, used.as_ref()) {
            return locs;
        }
    }
    let prof = names.prof;
    let mut offsets = Vec::with_capacity(prof.locations.len() + 1);
    let mut infos = Vec::with_capacity(prof.locations.len());
    let mut frames = FrameInterner::new(prof.functions.len(), o);
    offsets.push(0);
    for (i, loc) in prof.locations.iter().enumerate() {
        if used.as_ref().is_some_and(|used| !used.contains(i)) {
            // No sample counted goes through it: no frames, and no identities only
            // it has (nodes without a value, which no graph shows).
            offsets.push(infos.len() as u32);
            continue;
        }
        if loc.lines.is_empty() {
            let key = names.frame_key(loc, None, o);
            frames.add(key, None, false, &mut infos, names, table);
        } else {
            for line in &loc.lines {
                // A frame without address or line (a profile at function
                // granularity) is known by its function alone, unless its identity
                // names the object file: its id is found once per function, not
                // once per location.
                let by_function = loc.address == 0 && line.line == 0 && line.column == 0;
                let f = line.function as usize;
                if by_function {
                    if let Some(id) = frames.of_function(f) {
                        infos.push(id);
                        continue;
                    }
                }
                let key = names.frame_key(loc, Some(line), o);
                let named = !o.obj_names && (key.name != 0 || key.orig_name != 0);
                let function = named.then_some(f);
                frames.add(key, function, by_function, &mut infos, names, table);
            }
        }
        offsets.push(infos.len() as u32);
    }
    frames.finish(&mut infos, names, table);
    LocationInfos::of_frames(offsets, infos)
}

/// Interns the frames [`location_infos`] meets, in order: without a kept set each
/// frame's identity is interned [`FrameInterner::AHEAD`] frames after its key is made,
/// the slot it probes loaded meanwhile (its place in the location frames waits as
/// [`NONE`]); with one, at once, each distinct identity judged once.
struct FrameInterner<'o> {
    kept: Option<&'o NodeSet>,
    /// Frames whose keys are made, not interned yet.
    pending: std::collections::VecDeque<PendingFrame>,
    /// With a kept set, whether each distinct identity is kept (its id or [`NONE`]).
    decided: FxMap<FrameKey, u32>,
    /// For each function, the identity of its frames known by the function alone.
    of_function: Vec<u32>,
    /// For each function, the identity of its function node, when its name (not the
    /// object file) names it: a new frame of the function is then given that node
    /// without looking it up.
    function_node: Vec<u32>,
}

/// A frame [`FrameInterner`] has keyed: where its identity goes in the location
/// frames, its key and the key's hash, and the function that alone knows its
/// function node (see [`FrameInterner::add`]).
struct PendingFrame {
    place: usize,
    key: FrameKey,
    hash: u64,
    function: Option<usize>,
    by_function: bool,
}

impl<'o> FrameInterner<'o> {
    const AHEAD: usize = 8;

    fn new(functions: usize, o: &GraphOptions<'o>) -> FrameInterner<'o> {
        FrameInterner {
            kept: o.kept_nodes,
            pending: std::collections::VecDeque::with_capacity(Self::AHEAD + 1),
            decided: FxMap::default(),
            of_function: vec![NONE; functions],
            function_node: vec![NONE; functions],
        }
    }

    /// The identity of function `f`'s frames known by the function alone, once one
    /// is interned.
    fn of_function(&self, f: usize) -> Option<u32> {
        self.of_function.get(f).copied().filter(|&id| id != NONE)
    }

    /// Adds a frame with `key` to `infos`: `function` is its function when the
    /// function alone (not the location's object file) gives the key's function node,
    /// and `by_function` whether the function alone gives the key itself.
    fn add(
        &mut self,
        key: FrameKey,
        function: Option<usize>,
        by_function: bool,
        infos: &mut Vec<u32>,
        names: &Names,
        table: &mut InfoTable,
    ) {
        let hash = fx_hash(&key);
        let ahead = if self.kept.is_some() { 0 } else { Self::AHEAD };
        if ahead > 0 {
            table.index.prefetch(hash);
        }
        self.pending.push_back(PendingFrame {
            place: infos.len(),
            key,
            hash,
            function,
            by_function,
        });
        infos.push(NONE);
        while self.pending.len() > ahead {
            self.resolve(infos, names, table);
        }
    }

    /// Interns the frames still pending.
    fn finish(&mut self, infos: &mut [u32], names: &Names, table: &mut InfoTable) {
        while !self.pending.is_empty() {
            self.resolve(infos, names, table);
        }
    }

    /// Interns the oldest pending frame.
    fn resolve(&mut self, infos: &mut [u32], names: &Names, table: &mut InfoTable) {
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        let id = match self.kept {
            None => {
                let node = p.function.and_then(|f| self.function_node.get(f));
                let node = node.copied().filter(|&id| id != NONE);
                table.intern_frame(p.key, p.hash, node)
            }
            Some(kept) => match self.decided.get(&p.key) {
                Some(&id) => id,
                None => {
                    let id = if kept.contains(&names.info(&p.key)) {
                        table.intern_hashed(p.key, p.hash)
                    } else {
                        NONE
                    };
                    self.decided.insert(p.key, id);
                    id
                }
            },
        };
        infos[p.place] = id;
        if let (Some(f), true) = (p.function, id != NONE) {
            if p.by_function {
                self.of_function[f] = id;
            }
            // Which node is the key's function node: a key at the function's
            // granularity is its own, a finer one (by address or line) was given its
            // function's; one by column alone keeps its own.
            let k = p.key;
            let known = k.address != 0 || k.lineno != 0 || k.columnno == 0;
            if known && self.function_node[f] == NONE {
                self.function_node[f] = table.function_of[id as usize];
            }
        }
    }
}

/// [`location_infos`] without a kept set or object names, for a profile whose frames
/// (those of the `used` locations) are all known by their function alone, as at the
/// granularity of functions: no address, line or column, and a named function.
/// `None`, with nothing interned, for a profile with other frames.
///
/// Each function's identity is worked out once, in order of first use (the order
/// [`location_infos`] gives ids in), in passes that each read one thing for every
/// function: the texts of their names on every core, then their canonical ids and
/// their identities, each looked up with the slot it probes loaded a few functions
/// ahead. Looked up one function at a time, each of these would wait for memory.
fn function_location_infos(
    names: &mut Names,
    o: &GraphOptions,
    table: &mut InfoTable,
    used: Option<&UsedLocations>,
) -> Option<LocationInfos> {
    const AHEAD: usize = 8;
    let prof = names.prof;
    let functions = &prof.functions;
    // Each frame's function, and the functions in order of first use.
    let mut offsets = Vec::with_capacity(prof.locations.len() + 1);
    let mut frames = Vec::with_capacity(prof.locations.len());
    let mut met = vec![0u64; functions.len().div_ceil(64)];
    let mut order = Vec::new();
    offsets.push(0);
    for (i, loc) in prof.locations.iter().enumerate() {
        if used.is_none_or(|used| used.contains(i)) {
            if loc.address != 0 || loc.lines.is_empty() {
                return None;
            }
            for line in &loc.lines {
                let f = line.function;
                let known = (f as usize) < functions.len();
                let word = met.get_mut(f as usize / 64).filter(|_| known);
                let (Some(word), 0, 0) = (word, line.line, line.column) else {
                    return None;
                };
                if *word >> (f % 64) & 1 == 0 {
                    let func = &functions[f as usize];
                    let named = !prof.str(func.name).is_empty()
                        || (o.orig_fn_names && !prof.str(func.system_name).is_empty());
                    if !named {
                        // Known by its object file too, which is the location's.
                        return None;
                    }
                    *word |= 1 << (f % 64);
                    order.push(f);
                }
                frames.push(f);
            }
        }
        offsets.push(frames.len() as u32);
    }
    // Their canonical names, then their identities, in order of first use.
    let hashes = names.text_hashes(&order, |&f| functions[f as usize].name);
    // A function's identity is interned AHEAD functions after its key is made (and
    // the slot it probes loaded): the keys in between wait in `pending`.
    let mut pending = [(0u32, FrameKey::default(), 0u64); AHEAD];
    let mut id_of = vec![NONE; functions.len()];
    for k in 0..order.len() + AHEAD {
        let slot = k % AHEAD;
        if k >= AHEAD {
            let (f, key, hash) = pending[slot];
            id_of[f as usize] = table.intern_hashed(key, hash);
        }
        let Some(&f) = order.get(k) else {
            continue;
        };
        if let Some(&h) = hashes.get(k + AHEAD) {
            names.raw_index.prefetch(h);
        }
        let func = &functions[f as usize];
        let key = FrameKey {
            name: names.raw_hashed(func.name, hashes[k]),
            orig_name: if o.orig_fn_names {
                names.raw(func.system_name)
            } else {
                0
            },
            file: names.file(func.filename),
            ..FrameKey::default()
        };
        let hash = fx_hash(&key);
        table.index.prefetch(hash);
        pending[slot] = (f, key, hash);
    }
    for frame in &mut frames {
        *frame = id_of[*frame as usize];
    }
    Some(LocationInfos::of_frames(offsets, frames))
}

/// Which locations the samples counted use, when a filter left some samples out:
/// their stacks then often go through a small part of the locations, and the others
/// need no identities. `None` when every sample counts, or when the selected samples
/// have many times more frames than there are locations: their stacks are then taken
/// to use every location, rather than read through once more to find out (reading a
/// frame costs a few nanoseconds, giving a location an identity tens).
fn used_locations(prof: &Profile) -> Option<UsedLocations> {
    const FRAMES_PER_LOCATION: usize = 8;
    if !prof.samples.has_selection()
        || prof
            .samples
            .has_frames(prof.locations.len().saturating_mul(FRAMES_PER_LOCATION))
    {
        return None;
    }
    // A bit per location (the bits of a large profile's locations fit a core's cache),
    // the samples read on every core.
    let words = prof.locations.len().div_ceil(64);
    let parts = prof.samples.on_each_range(|range| {
        let mut bits = vec![0u64; words];
        for i in range {
            prof.samples.prefetch(i + PREFETCH_AHEAD);
            prof.samples.prefetch_stack(i + PREFETCH_AHEAD / 2);
            for loc in prof.samples.locations(i) {
                if let Some(w) = bits.get_mut(loc as usize / 64) {
                    *w |= 1 << (loc % 64);
                }
            }
        }
        bits
    });
    let mut parts = parts.into_iter();
    let mut bits = parts.next().unwrap_or_default();
    for part in parts {
        for (w, p) in bits.iter_mut().zip(part) {
            *w |= p;
        }
    }
    Some(UsedLocations { bits })
}

/// The locations some counted sample goes through (see [`used_locations`]).
struct UsedLocations {
    /// Bit `i % 64` of word `i / 64`: location `i` is used.
    bits: Vec<u64>,
}

impl UsedLocations {
    fn contains(&self, loc: usize) -> bool {
        self.bits
            .get(loc / 64)
            .is_some_and(|w| w >> (loc % 64) & 1 != 0)
    }
}

/// The identity of frame `line` of `loc` (`None`: a location without lines).
fn node_info(prof: &Profile, loc: &Location, line: Option<usize>, o: &GraphOptions) -> NodeInfo {
    let objfile = loc
        .mapping
        .and_then(|m| prof.mappings.get(m.index()))
        .map(|m| prof.str(m.filename))
        .unwrap_or("");
    let line = line.and_then(|i| loc.lines.get(i));
    let Some((line, func)) =
        line.and_then(|l| prof.functions.get(l.function as usize).map(|f| (l, f)))
    else {
        return NodeInfo {
            address: loc.address,
            objfile: objfile.to_string(),
            ..NodeInfo::default()
        };
    };
    let mut info = NodeInfo {
        address: loc.address,
        lineno: line.line,
        columnno: line.column,
        name: prof.str(func.name).to_string(),
        ..NodeInfo::default()
    };
    let file = prof.str(func.filename);
    if !file.is_empty() {
        info.file = profile::gopath::clean(file);
    }
    if o.orig_fn_names {
        info.orig_name = prof.str(func.system_name).to_string();
    }
    if o.obj_names || (info.name.is_empty() && info.orig_name.is_empty()) {
        info.objfile = objfile.to_string();
        info.start_line = func.start_line;
    }
    info
}

/// Identities of the frames of every location: for location index `i`, `result[i]`
/// lists its frames, innermost (inlined callee) first.
pub fn location_node_infos(prof: &Profile, o: &GraphOptions) -> Vec<Vec<NodeInfo>> {
    prof.locations
        .iter()
        .map(|loc| {
            if loc.lines.is_empty() {
                vec![node_info(prof, loc, None, o)]
            } else {
                (0..loc.lines.len())
                    .map(|li| node_info(prof, loc, Some(li), o))
                    .collect()
            }
        })
        .collect()
}

/// Joins a sample's string labels as sorted `key:value` strings separated by a literal
/// `\n`, the grouping key of tags.
fn join_labels(prof: &Profile, labels: &[profile::Label]) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        // pprof removes its diff-base marker label before building graphs.
        .filter(|l| !l.is_numeric() && prof.str(l.key) != "pprof::base")
        .map(|l| format!("{}:{}", prof.str(l.key), prof.str(l.str)))
        .collect();
    parts.sort();
    parts.join("\\n")
}

/// Values of a node summed over some samples. Their divisors, which only mean reports
/// sum, are kept apart (see [`Partial::divisors`]).
#[derive(Clone, Copy, Default)]
struct NodeAcc {
    flat: i64,
    cum: i64,
}

/// A node's cumulative value as a walk over samples sums it, with the stamp of the last
/// sample that counted it (cum counts a node once per sample): what the walk reads for
/// every frame, in 16 bytes, apart from the flat values it adds to once per sample.
#[derive(Clone, Copy, Default)]
struct CumAcc {
    cum: i64,
    stamp: u32,
}

// A walk's cumulative values become its node values in place (see `node_values`).
const _: () = assert!(
    std::mem::size_of::<CumAcc>() == std::mem::size_of::<NodeAcc>()
        && std::mem::align_of::<CumAcc>() == std::mem::align_of::<NodeAcc>()
);

/// An edge's weight summed over some samples.
#[derive(Clone, Copy, Default)]
struct EdgeAcc {
    src: u32,
    dest: u32,
    weight: i64,
    weight_div: i64,
    residual: bool,
    inline: bool,
}

/// An edge being summed: its weight, the stamp of the last sample that counted it
/// (an edge counts once per sample), and its rank in order of first appearance.
struct EdgeSlot {
    weight: i64,
    weight_div: i64,
    stamp: u32,
    order: u32,
    residual: bool,
    inline: bool,
}

/// Flat and cumulative values summed over some samples. Their divisors, which only
/// mean reports sum, are kept apart (see [`TagTotals`]).
#[derive(Clone, Copy, Default)]
struct Sums {
    flat: i64,
    cum: i64,
}

impl Sums {
    #[inline]
    fn add(&mut self, w: i64, flat: bool) {
        if flat {
            self.flat = self.flat.wrapping_add(w);
        } else {
            self.cum = self.cum.wrapping_add(w);
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.flat = self.flat.wrapping_add(o.flat);
        self.cum = self.cum.wrapping_add(o.cum);
    }

    /// Adds these sums, with their divisors `(flat, cum)`, to `t`.
    fn add_to(&self, divisors: (i64, i64), t: &mut Tag) {
        t.flat = t.flat.wrapping_add(self.flat);
        t.flat_div = t.flat_div.wrapping_add(divisors.0);
        t.cum = t.cum.wrapping_add(self.cum);
        t.cum_div = t.cum_div.wrapping_add(divisors.1);
    }
}

/// Adds `dw` to the flat or the cumulative divisor of `d`.
#[inline]
fn add_divisor(d: &mut (i64, i64), dw: i64, flat: bool) {
    if flat {
        d.0 = d.0.wrapping_add(dw);
    } else {
        d.1 = d.1.wrapping_add(dw);
    }
}

/// Adds the divisors `o` to `d`.
fn merge_divisors(d: &mut (i64, i64), o: (i64, i64)) {
    d.0 = d.0.wrapping_add(o.0);
    d.1 = d.1.wrapping_add(o.1);
}

/// Which tag a sum is for: a node's tag for one joined string label set.
#[derive(Clone, Copy)]
struct LabelTagId {
    node: u32,
    label: u32,
}

/// Which tag a sum is for: a node's tag for one printed `bytes` value under one joined
/// label set; `value` is the number first seen with that printed name.
#[derive(Clone, Copy)]
struct NumericTagId {
    node: u32,
    label: u32,
    name: u32,
    value: i64,
}

/// Tags of one kind with their summed values, in order of first appearance, found by
/// key `K`.
struct TagSums<K, T> {
    /// The position in `tags` of each key.
    index: FxMap<K, u32>,
    /// Each tag and its sums.
    tags: Vec<(T, Sums)>,
    /// In a mean report, the flat and cumulative divisors of each of `tags`; else empty.
    divisors: Vec<(i64, i64)>,
}

impl<K, T> Default for TagSums<K, T> {
    fn default() -> Self {
        TagSums {
            index: FxMap::default(),
            tags: Vec::new(),
            divisors: Vec::new(),
        }
    }
}

impl<K: Hash + Eq, T> TagSums<K, T> {
    /// Adds a sample's value `w` (flat or cumulative) to the tag of `key`, made by
    /// `tag` when new, and its divisor `dw` when `mean`.
    #[inline]
    fn add(&mut self, key: K, tag: impl FnOnce() -> T, w: i64, dw: i64, flat: bool, mean: bool) {
        let tags = &mut self.tags;
        let i = *self.index.entry(key).or_insert_with(|| {
            tags.push((tag(), Sums::default()));
            tags.len() as u32 - 1
        }) as usize;
        tags[i].1.add(w, flat);
        if mean {
            self.divisors.resize(tags.len(), (0, 0));
            add_divisor(&mut self.divisors[i], dw, flat);
        }
    }

    /// Adds `other`, whose samples come after this one's; `key` gives a tag's key, and
    /// `mean` is as for [`add`](Self::add).
    fn merge(&mut self, other: TagSums<K, T>, key: impl Fn(&T) -> K, mean: bool) {
        let TagSums { tags, divisors, .. } = other;
        for (j, (tag, sums)) in tags.into_iter().enumerate() {
            let i = match self.index.get(&key(&tag)) {
                Some(&i) => {
                    self.tags[i as usize].1.merge(&sums);
                    i as usize
                }
                None => {
                    self.index.insert(key(&tag), self.tags.len() as u32);
                    self.tags.push((tag, sums));
                    self.tags.len() - 1
                }
            };
            if mean {
                self.divisors.resize(self.tags.len(), (0, 0));
                let d = divisors.get(j).copied().unwrap_or_default();
                merge_divisors(&mut self.divisors[i], d);
            }
        }
    }

    /// The divisors of the `i`th tag: none (zeros) outside a mean report.
    fn divisor(&self, i: usize) -> (i64, i64) {
        self.divisors.get(i).copied().unwrap_or_default()
    }
}

/// Tag values of nodes, in order of first appearance.
#[derive(Default)]
struct TagTotals {
    /// By node and joined label set.
    labels: TagSums<u64, LabelTagId>,
    /// By node, joined label set and printed value.
    numeric: TagSums<(u64, u32), NumericTagId>,
    /// Whether the divisors are summed (a mean report).
    mean: bool,
}

impl TagTotals {
    /// No tag values yet, their divisors summed if `mean`.
    fn new(mean: bool) -> TagTotals {
        TagTotals {
            mean,
            ..TagTotals::default()
        }
    }

    /// Adds a sample's value to the tags of `node`, the sample having tag set `set`.
    fn add(&mut self, node: u32, set: TagSet<'_>, w: i64, dw: i64, flat: bool) {
        let key = pair_key(node, set.label);
        let label = set.label;
        let tag = || LabelTagId { node, label };
        self.labels.add(key, tag, w, dw, flat, self.mean);
        for &(value, name) in set.bytes {
            let tag = || NumericTagId {
                node,
                label,
                name,
                value,
            };
            self.numeric.add((key, name), tag, w, dw, flat, self.mean);
        }
    }

    /// Adds `other`, whose samples come after this one's.
    fn merge(&mut self, other: TagTotals) {
        let key = |t: &LabelTagId| pair_key(t.node, t.label);
        self.labels.merge(other.labels, key, self.mean);
        let key = |t: &NumericTagId| (pair_key(t.node, t.label), t.name);
        self.numeric.merge(other.numeric, key, self.mean);
    }
}

/// What one thread aggregated from a range of samples. Edges and tag entries are in
/// order of first appearance, so merging the parts in sample order numbers them as a
/// single pass would.
struct Partial {
    nodes: Vec<NodeAcc>,
    /// The flat and cumulative divisor of each node for a mean report; empty for
    /// others, which have none.
    divisors: Vec<(i64, i64)>,
    edges: Vec<EdgeAcc>,
    tags: TagTotals,
}

#[inline]
fn pair_key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

impl Partial {
    /// Sums the parts (given in sample order) into one.
    fn merge(mut parts: Vec<Partial>) -> Partial {
        if parts.len() <= 1 {
            return parts.pop().unwrap_or(Partial {
                nodes: Vec::new(),
                divisors: Vec::new(),
                edges: Vec::new(),
                tags: TagTotals::default(),
            });
        }
        let mut rest = parts.split_off(1);
        let Some(mut all) = parts.pop() else {
            unreachable!("split_off(1) left one part")
        };
        let mut edge_index: FxMap<u64, u32> = all
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (pair_key(e.src, e.dest), i as u32))
            .collect();
        for part in rest.drain(..) {
            for (a, b) in all.nodes.iter_mut().zip(&part.nodes) {
                a.flat = a.flat.wrapping_add(b.flat);
                a.cum = a.cum.wrapping_add(b.cum);
            }
            for (a, b) in all.divisors.iter_mut().zip(&part.divisors) {
                a.0 = a.0.wrapping_add(b.0);
                a.1 = a.1.wrapping_add(b.1);
            }
            for e in &part.edges {
                match edge_index.get(&pair_key(e.src, e.dest)) {
                    Some(&i) => {
                        let a = &mut all.edges[i as usize];
                        a.weight = a.weight.wrapping_add(e.weight);
                        a.weight_div = a.weight_div.wrapping_add(e.weight_div);
                        a.residual |= e.residual;
                        a.inline &= e.inline;
                    }
                    None => {
                        edge_index.insert(pair_key(e.src, e.dest), all.edges.len() as u32);
                        all.edges.push(*e);
                    }
                }
            }
            all.tags.merge(part.tags);
        }
        all
    }
}

/// Aggregates samples `range` into node values, edge weights and (with tag sets) tag
/// values, as pprof's graph builder does for each sample in turn.
/// Sums every sample into a [`Partial`], on both cores when there is enough work (in
/// sample order, so the result is the same either way).
fn accumulate_all(
    prof: &Profile,
    o: &GraphOptions,
    locs: &LocationInfos,
    node_count: usize,
    edges: EdgeFilter,
    tag_sets: Option<&TagSets>,
) -> Partial {
    let partials = if o.nodes_only && !o.mean && tag_sets.is_none() {
        prof.samples
            .on_each_range(|range| accumulate_nodes(prof, o, locs, node_count, range))
    } else {
        prof.samples
            .on_each_range(|range| accumulate(prof, o, locs, node_count, edges, tag_sets, range))
    };
    Partial::merge(partials)
}

/// Which edges a graph makes, by the nodes at their ends (node values are summed
/// whatever it is).
#[derive(Clone, Copy)]
enum EdgeFilter<'a> {
    /// Every edge.
    All,
    /// The edges with a marked end, source or destination.
    Touching(&'a [bool]),
    /// The edges into a marked node.
    Into(&'a [bool]),
}

impl EdgeFilter<'_> {
    fn keeps(self, src: u32, dest: u32) -> bool {
        match self {
            EdgeFilter::All => true,
            EdgeFilter::Touching(m) => m[src as usize] || m[dest as usize],
            EdgeFilter::Into(m) => m[dest as usize],
        }
    }
}

/// Of `edges`, for each node they go into, the heaviest inlined call and the heaviest
/// other call (by magnitude, the first of equals), in their order: the edges that decide
/// the node's inline mark, whatever cutoff trims the edges below some weight (an edge
/// of either kind stays exactly when the heaviest of that kind does).
fn heaviest_per_mark(edges: Vec<EdgeAcc>) -> Vec<EdgeAcc> {
    let mut heaviest: FxMap<(u32, bool), usize> = FxMap::default();
    for (i, e) in edges.iter().enumerate() {
        heaviest
            .entry((e.dest, e.inline))
            .and_modify(|best| {
                if e.weight.wrapping_abs() > edges[*best].weight.wrapping_abs() {
                    *best = i;
                }
            })
            .or_insert(i);
    }
    let mut kept: Vec<usize> = heaviest.into_values().collect();
    kept.sort_unstable();
    kept.into_iter().map(|i| edges[i]).collect()
}

/// Marks the identities that some location's frames call inline: any frame of a
/// location but its last (outermost) one.
fn inline_callees(locs: &LocationInfos, count: usize) -> Vec<bool> {
    let mut marked = vec![false; count];
    for w in locs.offsets.windows(2) {
        let frames = &locs.infos[w[0] as usize..w[1] as usize];
        if let Some((_, inner)) = frames.split_last() {
            for &n in inner {
                if let Some(m) = marked.get_mut(n as usize) {
                    *m = true;
                }
            }
        }
    }
    marked
}

/// The identity and values of every node of a graph, without the nodes themselves: what
/// a report needs to decide which nodes to keep before it builds its graph, at a
/// fraction of the memory of a [`Graph`] of nodes only (no node names, edge maps or tag
/// maps for hundreds of thousands of nodes that are about to be dropped).
pub struct NodeTotals<'p> {
    frames: FrameTable<'p>,
    /// Flat and cumulative value of each node.
    values: Vec<NodeAcc>,
    /// Their divisors in a mean report, else empty.
    divisors: Vec<(i64, i64)>,
    /// The nodes a graph would hold (see [`Graph::nodes`]).
    nodes: Vec<u32>,
    /// With [`with_neighbors`](Self::with_neighbors): the nodes whose printed name
    /// matched, and the nodes at the other end of their edges.
    neighborhood: Vec<u32>,
}

impl<'p> NodeTotals<'p> {
    /// The node values of the graph `o` describes (edges, tags and call trees aside).
    pub fn new(prof: &'p Profile, o: &GraphOptions) -> NodeTotals<'p> {
        Self::build(prof, o, None)
    }

    /// [`new`](Self::new), and besides the nodes whose printed name matches `rx` and
    /// their callers and callees: see [`neighborhood`](Self::neighborhood).
    pub fn with_neighbors(prof: &'p Profile, o: &GraphOptions, rx: &Regex) -> NodeTotals<'p> {
        Self::build(prof, o, Some(rx))
    }

    fn build(prof: &'p Profile, o: &GraphOptions, rx: Option<&Regex>) -> NodeTotals<'p> {
        let o = GraphOptions {
            nodes_only: rx.is_none(),
            tags: None,
            edge_ends: None,
            inline_mark_edges_only: false,
            call_tree: false,
            ..o.clone()
        };
        let frames = FrameTable::new(prof, &o);
        let count = frames.table.len();
        let matched: Option<Vec<bool>> = rx.map(|rx| {
            (0..count as u32)
                .map(|i| rx.is_match(&frames.info(i).printable_name()))
                .collect()
        });
        let edges = matched
            .as_deref()
            .map_or(EdgeFilter::All, EdgeFilter::Touching);
        let acc = accumulate_all(prof, &o, &frames.locs, count, edges, None);
        let values = acc.nodes;
        let divisors = acc.divisors;
        let nodes = (0..count as u32)
            .filter(|&i| {
                let v = &values[i as usize];
                is_shown(v.flat, v.cum, o.drop_negative)
            })
            .collect();
        let mut neighborhood = Vec::new();
        if let Some(matched) = &matched {
            let mut near = matched.clone();
            for e in &acc.edges {
                near[e.src as usize] = true;
                near[e.dest as usize] = true;
            }
            neighborhood = (0..count as u32).filter(|&i| near[i as usize]).collect();
        }
        NodeTotals {
            frames,
            values,
            divisors,
            nodes,
            neighborhood,
        }
    }

    /// Each node a graph would hold whose function name `name` accepts, in node
    /// order, with its flat and cumulative values (not divided).
    pub fn nodes_named<'s>(
        &'s self,
        name: impl Fn(&str) -> bool + 's,
    ) -> impl Iterator<Item = (NodeInfo, i64, i64)> + 's {
        self.nodes
            .iter()
            .filter(move |&&n| name(self.frames.names.name(&self.frames.table.keys[n as usize])))
            .map(|&n| {
                let v = &self.values[n as usize];
                (self.frames.info(n), v.flat, v.cum)
            })
    }

    /// Identities of the nodes [`with_neighbors`](Self::with_neighbors) found: those
    /// whose printed name matched and those at the other end of their edges.
    pub fn neighborhood(&self) -> NodeSet {
        self.neighborhood
            .iter()
            .map(|&n| self.frames.info(n))
            .collect()
    }

    /// The identities of the profile's frames these totals were summed by, for the
    /// graphs of the same profile built after them (see [`GraphOptions::frames`]).
    pub fn frames(&self) -> &FrameTable<'p> {
        &self.frames
    }

    /// The frame identities alone ([`frames`](Self::frames)), the values dropped.
    pub fn into_frames(self) -> FrameTable<'p> {
        self.frames
    }

    /// The flat and cumulative value of each node (divided for mean reports), as
    /// [`Node::flat_value`] and [`Node::cum_value`], in node order.
    pub fn node_values(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.nodes.iter().map(|&n| {
            let v = &self.values[n as usize];
            let (flat_div, cum_div) = self.divisors.get(n as usize).copied().unwrap_or((0, 0));
            (div_value(v.flat, flat_div), div_value(v.cum, cum_div))
        })
    }

    /// Number of nodes, as [`Graph::nodes`] would have.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Sum of the flat and of the cumulative values of the nodes, as [`Graph::sum`].
    pub fn sum(&self) -> (i64, i64) {
        self.nodes.iter().fold((0, 0), |(f, c), &n| {
            let v = &self.values[n as usize];
            (f.wrapping_add(v.flat), c.wrapping_add(v.cum))
        })
    }

    /// Identities of the nodes whose cumulative magnitude reaches `cutoff`, as
    /// [`Graph::discard_low_frequency_nodes`].
    pub fn discard_low_frequency_nodes(&self, cutoff: i64) -> NodeSet {
        self.nodes
            .iter()
            .filter(|&&n| self.values[n as usize].cum.wrapping_abs() >= cutoff)
            .map(|&n| self.frames.info(n))
            .collect()
    }

    /// The nodes [`discard_low_frequency_nodes`](Self::discard_low_frequency_nodes)
    /// keeps, by number in [`frames`](Self::frames) (for
    /// [`Graph::with_frames_keeping`]), and how many they are.
    pub fn reaching(&self, cutoff: i64) -> (Vec<bool>, usize) {
        let mut keep = vec![false; self.frames.table.len()];
        let mut count = 0;
        for &n in &self.nodes {
            if self.values[n as usize].cum.wrapping_abs() >= cutoff {
                keep[n as usize] = true;
                count += 1;
            }
        }
        (keep, count)
    }
}

/// How many samples ahead of the one it works on a walk over selected samples asks
/// for the next ones' data (see [`profile::Samples::prefetch`]).
const PREFETCH_AHEAD: usize = 16;

fn accumulate(
    prof: &Profile,
    o: &GraphOptions,
    locs: &LocationInfos,
    node_count: usize,
    edges: EdgeFilter,
    tag_sets: Option<&TagSets>,
    range: std::ops::Range<usize>,
) -> Partial {
    let mut cums = vec![CumAcc::default(); node_count];
    let mut flats = vec![0i64; node_count];
    let mut divisors = if o.mean {
        vec![(0i64, 0i64); node_count]
    } else {
        Vec::new()
    };
    // The accumulators live in the table itself: one cache miss per frame, not two.
    let mut edge_map: FxMap<u64, EdgeSlot> = FxMap::default();
    let mut tags = TagTotals::new(o.mean);
    // Nodes counted in the current sample, in the order they were met.
    let mut touched: Vec<u32> = Vec::new();
    let samples = &prof.samples;
    for si in range {
        // Selected samples lie scattered in memory: their values, stacks and the
        // offsets to them are asked for ahead, so that their cache misses overlap.
        samples.prefetch(si + PREFETCH_AHEAD);
        samples.prefetch_stack(si + PREFETCH_AHEAD / 2);
        let (w, dw) = Graph::sample_weights(o, samples.values(si));
        if w == 0 && dw == 0 {
            continue;
        }
        let stamp = si as u32 + 1;
        let set = tag_sets.and_then(|t| t.set_of(si));
        touched.clear();
        let mut parent = NONE;
        let mut residual = false;
        for loc in samples.locations(si).iter().rev() {
            if locs.is_left_out(loc) {
                residual = true;
                continue;
            }
            let mut one = [NONE];
            let frames = locs.frames(loc, &mut one);
            let last = frames.len().wrapping_sub(1);
            for (ni, &n) in frames.iter().enumerate().rev() {
                if n == NONE {
                    residual = true;
                    continue;
                }
                let node = &mut cums[n as usize];
                if node.stamp != stamp {
                    node.stamp = stamp;
                    node.cum = node.cum.wrapping_add(w);
                    if let Some(d) = divisors.get_mut(n as usize) {
                        d.1 = d.1.wrapping_add(dw);
                    }
                    if set.is_some() {
                        touched.push(n);
                    }
                }
                if parent != NONE && parent != n && !o.nodes_only && edges.keeps(parent, n) {
                    let inline = ni != last;
                    let order = edge_map.len() as u32;
                    let edge = edge_map.entry(pair_key(parent, n)).or_insert(EdgeSlot {
                        weight: 0,
                        weight_div: 0,
                        stamp: 0,
                        order,
                        residual: false,
                        inline,
                    });
                    if edge.stamp != stamp {
                        edge.stamp = stamp;
                        edge.weight = edge.weight.wrapping_add(w);
                        edge.weight_div = edge.weight_div.wrapping_add(dw);
                        edge.residual |= residual;
                        edge.inline &= inline;
                    }
                }
                parent = n;
                residual = false;
            }
        }
        let leaf = (parent != NONE && !residual).then_some(parent);
        if let Some(leaf) = leaf {
            let flat = &mut flats[leaf as usize];
            *flat = flat.wrapping_add(w);
            if let Some(d) = divisors.get_mut(leaf as usize) {
                d.0 = d.0.wrapping_add(dw);
            }
        }
        if let Some(set) = set {
            for &n in &touched {
                tags.add(n, set, w, dw, false);
            }
            if let Some(leaf) = leaf {
                tags.add(leaf, set, w, dw, true);
            }
        }
    }
    let mut edges = vec![EdgeAcc::default(); edge_map.len()];
    for (key, e) in edge_map {
        edges[e.order as usize] = EdgeAcc {
            src: (key >> 32) as u32,
            dest: key as u32,
            weight: e.weight,
            weight_div: e.weight_div,
            residual: e.residual,
            inline: e.inline,
        };
    }
    Partial {
        nodes: node_values(cums, flats),
        divisors,
        edges,
        tags,
    }
}

/// [`accumulate`] of node values alone (no edges, tags or mean divisors): the walk of
/// the first pass most reports make. A node's cumulative value counts each sample once
/// however often its stack holds the node, so the order of the frames matters only
/// for the leaf, which takes the flat value: stacks are read leaf first, as they are
/// stored, without the parent and residual bookkeeping of edges.
fn accumulate_nodes(
    prof: &Profile,
    o: &GraphOptions,
    locs: &LocationInfos,
    node_count: usize,
    range: std::ops::Range<usize>,
) -> Partial {
    let mut cums = vec![CumAcc::default(); node_count];
    let mut flats = vec![0i64; node_count];
    let samples = &prof.samples;
    for si in range {
        samples.prefetch(si + PREFETCH_AHEAD);
        samples.prefetch_stack(si + PREFETCH_AHEAD / 2);
        let w = samples.values(si).get(o.sample_index).unwrap_or(0);
        if w == 0 {
            continue;
        }
        let stamp = si as u32 + 1;
        let mut count = |n: u32| {
            if let Some(node) = cums.get_mut(n as usize) {
                if node.stamp != stamp {
                    node.stamp = stamp;
                    node.cum = node.cum.wrapping_add(w);
                }
            }
        };
        // The first frame met is the leaf ([`NONE`], left out by a kept set, counts
        // nothing and takes no flat value).
        let mut leaf: Option<u32> = None;
        for loc in samples.locations(si).iter() {
            if locs.is_left_out(loc) {
                leaf.get_or_insert(NONE);
                continue;
            }
            match locs.single.get(loc as usize).copied().unwrap_or(SEVERAL) {
                SEVERAL => {
                    for &n in locs.of(loc) {
                        leaf.get_or_insert(n);
                        count(n);
                    }
                }
                n => {
                    leaf.get_or_insert(n);
                    count(n);
                }
            }
        }
        if let Some(flat) = leaf.and_then(|n| flats.get_mut(n as usize)) {
            *flat = flat.wrapping_add(w);
        }
    }
    Partial {
        nodes: node_values(cums, flats),
        divisors: Vec::new(),
        edges: Vec::new(),
        tags: TagTotals::new(false),
    }
}

/// A walk's node values from its cumulative values and flat values, in the room of the
/// cumulative values (of the same size): a graph of lines has hundreds of thousands of
/// nodes on each thread.
fn node_values(cums: Vec<CumAcc>, flats: Vec<i64>) -> Vec<NodeAcc> {
    cums.into_iter()
        .zip(flats)
        .map(|(c, flat)| NodeAcc { flat, cum: c.cum })
        .collect()
}

/// The distinct label sets of a profile's samples, as a graph's tags see them: the
/// joined string labels and the numeric `bytes` labels with their printed names, each
/// text numbered once. A report that builds several graphs with tags of one profile
/// works them out once: see [`GraphOptions::tag_sets`].
#[derive(Clone)]
pub struct TagSets<'p> {
    prof: &'p Profile,
    options: TagOptions,
    /// For each sample, the index of its set in `sets`.
    of_sample: Vec<u32>,
    /// Each distinct set: its joined string labels and where its `bytes` values are.
    sets: Vec<StoredTagSet>,
    /// The `bytes` values of all sets, each with its printed name, by number.
    bytes: Vec<(i64, u32)>,
    /// Joined string label sets, by number.
    labels: Vec<String>,
    /// Printed `bytes` values, by number.
    names: Vec<String>,
}

/// One distinct label set of [`TagSets`]: its joined string labels and its `bytes`
/// values with their printed names, by number.
#[derive(Clone, Copy)]
struct TagSet<'s> {
    label: u32,
    bytes: &'s [(i64, u32)],
}

/// A [`TagSet`] as [`TagSets`] stores it: its `bytes` values are a range of
/// [`TagSets::bytes`].
#[derive(Clone, Copy)]
struct StoredTagSet {
    label: u32,
    start: u32,
    len: u32,
}

impl std::fmt::Debug for TagSets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagSets")
            .field("sets", &self.sets.len())
            .finish_non_exhaustive()
    }
}

impl<'p> TagSets<'p> {
    /// The tag sets of `prof`'s samples under tag options `to`.
    pub fn new(prof: &'p Profile, to: &TagOptions) -> TagSets<'p> {
        let mut label_index: HashMap<String, u32> = HashMap::new();
        let mut name_index: HashMap<String, u32> = HashMap::new();
        let mut labels = Vec::new();
        let mut names = Vec::new();
        let mut sets = Vec::new();
        let number = |texts: &mut Vec<String>, index: &mut HashMap<String, u32>, s: String| {
            *index.entry(s).or_insert_with_key(|s| {
                texts.push(s.clone());
                texts.len() as u32 - 1
            })
        };
        // A tag set is what tags read of a sample's labels (its joined string labels
        // and its `bytes` values), so label sets that differ elsewhere share one: it is
        // worked out once per label set of the samples and kept once per content.
        const UNSEEN: u32 = u32::MAX;
        let mut of_label_set = vec![UNSEEN; prof.samples.label_set_count()];
        let mut all_bytes: Vec<(i64, u32)> = Vec::new();
        // Sets by the hash of their content; sets with equal hashes are chained.
        let mut set_index: FxMap<u64, u32> = FxMap::default();
        let mut same_hash: Vec<u32> = Vec::new();
        let mut set_bytes: Vec<(i64, u32)> = Vec::new();
        let mut set_strings: Vec<(StrId, StrId)> = Vec::new();
        // Label sets that differ in numbers often share their string labels, and
        // numbers repeat: each is joined or printed once.
        let mut joined_of: FxMap<Vec<(StrId, StrId)>, u32> = FxMap::default();
        let mut name_of: FxMap<i64, u32> = FxMap::default();
        let of_sample = (0..prof.samples.len())
            .map(|i| {
                let label_set = prof.samples.label_set_of(i) as usize;
                if of_label_set[label_set] == UNSEEN {
                    let sample_labels = prof.samples.labels(i);
                    set_bytes.clear();
                    set_bytes.extend(
                        sample_labels
                            .iter()
                            .filter(|l| l.is_numeric() && prof.str(l.key) == "bytes")
                            .map(|l| {
                                let name = *name_of.entry(l.num).or_insert_with(|| {
                                    let name = crate::measurement::scaled_label(
                                        l.num,
                                        &to.bytes_unit,
                                        &to.output_unit,
                                    );
                                    number(&mut names, &mut name_index, name)
                                });
                                (l.num, name)
                            }),
                    );
                    set_strings.clear();
                    set_strings.extend(
                        sample_labels
                            .iter()
                            .filter(|l| !l.is_numeric())
                            .map(|l| (l.key, l.str)),
                    );
                    let label = match joined_of.get(set_strings.as_slice()) {
                        Some(&label) => label,
                        None => {
                            let joined = join_labels(prof, sample_labels);
                            let label = number(&mut labels, &mut label_index, joined);
                            joined_of.insert(set_strings.clone(), label);
                            label
                        }
                    };
                    let mut hasher = FxHasher::default();
                    hasher.add(label as u64);
                    for &(num, name) in &set_bytes {
                        hasher.add(num as u64);
                        hasher.add(name as u64);
                    }
                    let hash = hasher.finish();
                    let mut found = set_index.get(&hash).copied().unwrap_or(NONE);
                    while found != NONE {
                        let s: &StoredTagSet = &sets[found as usize];
                        let start = s.start as usize;
                        if s.label == label
                            && all_bytes[start..start + s.len as usize] == set_bytes[..]
                        {
                            break;
                        }
                        found = same_hash[found as usize];
                    }
                    if found == NONE {
                        found = sets.len() as u32;
                        sets.push(StoredTagSet {
                            label,
                            start: all_bytes.len() as u32,
                            len: set_bytes.len() as u32,
                        });
                        all_bytes.extend_from_slice(&set_bytes);
                        same_hash.push(set_index.insert(hash, found).unwrap_or(NONE));
                    }
                    of_label_set[label_set] = found;
                }
                of_label_set[label_set]
            })
            .collect();
        TagSets {
            prof,
            options: to.clone(),
            of_sample,
            sets,
            bytes: all_bytes,
            labels,
            names,
        }
    }

    /// The tag set of sample `i`.
    fn set_of(&self, i: usize) -> Option<TagSet<'_>> {
        let set = self.sets.get(*self.of_sample.get(i)? as usize)?;
        let start = set.start as usize;
        Some(TagSet {
            label: set.label,
            bytes: self.bytes.get(start..start + set.len as usize)?,
        })
    }

    /// Gives the nodes their tags from the summed tag values.
    fn apply(&self, arena: &mut [Node], totals: &TagTotals, to: &TagOptions, cutoff: i64) {
        let keep = |s: &Sums| {
            cutoff <= 0 || s.flat.wrapping_abs() >= cutoff || s.cum.wrapping_abs() >= cutoff
        };
        for (i, (t, sums)) in totals.labels.tags.iter().enumerate() {
            let (Some(node), Some(label)) = (
                arena.get_mut(t.node as usize),
                self.labels.get(t.label as usize),
            ) else {
                continue;
            };
            if cutoff <= 0 {
                node.numeric_tags.entry(label.clone()).or_default();
            }
            if !label.is_empty() && keep(sums) {
                let tag = node.label_tags.entry(label.clone()).or_insert_with(|| Tag {
                    name: label.clone(),
                    ..Tag::default()
                });
                sums.add_to(totals.labels.divisor(i), tag);
            }
        }
        for (i, (t, sums)) in totals.numeric.tags.iter().enumerate() {
            let (Some(node), Some(label), Some(name)) = (
                arena.get_mut(t.node as usize),
                self.labels.get(t.label as usize),
                self.names.get(t.name as usize),
            ) else {
                continue;
            };
            if !keep(sums) {
                continue;
            }
            let tags = node.numeric_tags.entry(label.clone()).or_default();
            let tag = tags.entry(name.clone()).or_insert_with(|| Tag {
                name: name.clone(),
                unit: to.bytes_unit.clone(),
                value: t.value,
                ..Tag::default()
            });
            sums.add_to(totals.numeric.divisor(i), tag);
        }
    }
}

/// Per-sample label data used to attribute tags.
struct SampleTags {
    labels: String,
    bytes: Vec<i64>,
}

impl Graph {
    /// Builds the graph (or call tree) of `prof` as `o` asks.
    pub fn new(prof: &Profile, o: &GraphOptions) -> Graph {
        if o.call_tree {
            Graph::new_trimmed_tree(prof, o, |_| 0).0
        } else {
            Graph::new_graph(prof, o, None, None)
        }
    }

    /// [`new`](Self::new) with the frame identities of this same profile, worked out
    /// already and no longer needed after (by [`NodeTotals::into_frames`]): the graph
    /// takes them over, and frees the identities of the frames it leaves out before
    /// summing the samples. Ignored for call trees and when made with other name
    /// options.
    pub fn with_frames<'p>(
        prof: &'p Profile,
        o: &GraphOptions<'p>,
        frames: FrameTable<'p>,
    ) -> Graph {
        if o.call_tree {
            Graph::new_trimmed_tree(prof, o, |_| 0).0
        } else {
            Graph::new_graph(prof, o, Some(frames), None)
        }
    }

    /// [`with_frames`](Self::with_frames) of the nodes whose identities `keep` marks,
    /// by their number in `frames` (as [`NodeTotals::reaching`] gives them): a kept set
    /// that a first pass over the same table decided, without making the identities'
    /// texts. `o.kept_nodes` is not looked at. Not for call trees.
    pub fn with_frames_keeping<'p>(
        prof: &'p Profile,
        o: &GraphOptions<'p>,
        frames: FrameTable<'p>,
        keep: &[bool],
    ) -> Graph {
        if o.call_tree || !frames.fits(prof, o) {
            // The numbers mean nothing to another table: the kept set by identity.
            let kept: NodeSet = (0..frames.table.len() as u32)
                .filter(|&i| keep.get(i as usize).copied().unwrap_or(false))
                .map(|i| frames.info(i))
                .collect();
            let o = GraphOptions {
                kept_nodes: Some(&kept),
                ..o.clone()
            };
            return Graph::with_frames(prof, &o, frames);
        }
        Graph::new_graph(prof, o, Some(frames), Some(keep))
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.arena[id]
    }

    /// One more than the largest node id: the length of a table indexed by node ids
    /// (the ids of nodes the graph no longer lists included).
    pub fn node_id_limit(&self) -> usize {
        self.arena.len()
    }

    /// The edge with this id.
    pub fn edge(&self, id: EdgeId) -> &Edge {
        &self.edges[id]
    }

    fn sample_weights(o: &GraphOptions, values: profile::Values<'_>) -> (i64, i64) {
        let w = values.get(o.sample_index).unwrap_or(0);
        let dw = if o.mean {
            values.first().unwrap_or(0)
        } else {
            0
        };
        (w, dw)
    }

    fn sample_tags(
        prof: &Profile,
        o: &GraphOptions,
        labels: &[profile::Label],
    ) -> Option<SampleTags> {
        o.tags.as_ref()?;
        let bytes = labels
            .iter()
            .filter(|l| l.is_numeric() && prof.str(l.key) == "bytes")
            .map(|l| l.num)
            .collect();
        Some(SampleTags {
            labels: join_labels(prof, labels),
            bytes,
        })
    }

    fn new_graph<'p>(
        prof: &'p Profile,
        o: &GraphOptions<'p>,
        frames: Option<FrameTable<'p>>,
        keep: Option<&[bool]>,
    ) -> Graph {
        let Identities { names, table, locs } = frame_identities(prof, o, frames, keep);
        let mut g = Graph::default();
        // Identity ids and node ids coincide: every identity gets its node.
        g.arena.reserve_exact(table.len());
        for (i, key) in table.keys.iter().enumerate() {
            let mut n = Node::new(names.info(key), i);
            n.function = table.function_of[i] as usize;
            g.arena.push(n);
        }
        drop(table);
        drop(names);
        let tag_sets = match &o.tags {
            Some(to) if !o.nodes_only => Some(
                match o
                    .tag_sets
                    .filter(|t| std::ptr::eq(t.prof, prof) && t.options == *to)
                {
                    Some(sets) => std::borrow::Cow::Borrowed(sets),
                    None => std::borrow::Cow::Owned(TagSets::new(prof, to)),
                },
            ),
            _ => None,
        };
        let marked: Option<Vec<bool>> = if o.nodes_only {
            None
        } else if let Some(rx) = o.edge_ends {
            Some(g.arena.iter().map(|n| rx.is_match(&n.name)).collect())
        } else if o.inline_mark_edges_only {
            Some(inline_callees(&locs, g.arena.len()))
        } else {
            None
        };
        let edges = match (&marked, o.edge_ends) {
            (None, _) => EdgeFilter::All,
            (Some(m), Some(_)) => EdgeFilter::Touching(m),
            (Some(m), None) => EdgeFilter::Into(m),
        };
        let Partial {
            nodes: node_accs,
            divisors,
            edges: edge_accs,
            tags: merged_tags,
        } = accumulate_all(prof, o, &locs, g.arena.len(), edges, tag_sets.as_deref());
        let edge_accs = if matches!(edges, EdgeFilter::Into(_)) {
            heaviest_per_mark(edge_accs)
        } else {
            edge_accs
        };
        for (node, acc) in g.arena.iter_mut().zip(&node_accs) {
            node.flat = acc.flat;
            node.cum = acc.cum;
        }
        for (node, &(flat_div, cum_div)) in g.arena.iter_mut().zip(&divisors) {
            node.flat_div = flat_div;
            node.cum_div = cum_div;
        }
        drop(node_accs);
        drop(divisors);
        g.edges.reserve_exact(edge_accs.len());
        for acc in &edge_accs {
            g.edges.push(Edge {
                src: acc.src as usize,
                dest: acc.dest as usize,
                weight: acc.weight,
                weight_div: acc.weight_div,
                residual: acc.residual,
                inline: acc.inline,
            });
        }
        // Edge maps are built in bulk from one list of (this end, other end, edge),
        // sorted, each node's run of it in the order of the other end.
        let mut ends: Vec<(u32, u32, u32)> = edge_accs
            .iter()
            .enumerate()
            .map(|(e, acc)| (acc.src, acc.dest, e as u32))
            .collect();
        drop(edge_accs);
        ends.sort_unstable();
        for run in ends.chunk_by(|a, b| a.0 == b.0) {
            if let Some(node) = g.arena.get_mut(run[0].0 as usize) {
                node.out_edges = run
                    .iter()
                    .map(|&(_, dest, e)| (dest as usize, e as usize))
                    .collect();
            }
        }
        for t in &mut ends {
            *t = (t.1, t.0, t.2);
        }
        ends.sort_unstable();
        for run in ends.chunk_by(|a, b| a.0 == b.0) {
            if let Some(node) = g.arena.get_mut(run[0].0 as usize) {
                node.in_edges = run
                    .iter()
                    .map(|&(_, src, e)| (src as usize, e as usize))
                    .collect();
            }
        }
        drop(ends);
        if let (Some(sets), Some(to)) = (&tag_sets, &o.tags) {
            sets.apply(&mut g.arena, &merged_tags, to, o.tag_cutoff);
        }
        g.select_nodes(o.drop_negative);
        g
    }

    /// Adds a sample's value to the tags of node `n` (its flat tags when `flat`).
    fn add_sample_tags(
        &mut self,
        n: NodeId,
        dw: i64,
        w: i64,
        tags: &SampleTags,
        o: &GraphOptions,
        flat: bool,
    ) {
        let node = &mut self.arena[n];
        let Some(to) = o.tags.as_ref() else {
            return;
        };
        let add_tag = |t: &mut Tag| {
            if flat {
                t.flat_div = t.flat_div.wrapping_add(dw);
                t.flat = t.flat.wrapping_add(w);
            } else {
                t.cum_div = t.cum_div.wrapping_add(dw);
                t.cum = t.cum.wrapping_add(w);
            }
        };
        if !tags.labels.is_empty() {
            let t = node
                .label_tags
                .entry(tags.labels.clone())
                .or_insert_with(|| Tag {
                    name: tags.labels.clone(),
                    ..Tag::default()
                });
            add_tag(t);
        }
        let numeric = node.numeric_tags.entry(tags.labels.clone()).or_default();
        for &v in &tags.bytes {
            let name = crate::measurement::scaled_label(v, &to.bytes_unit, &to.output_unit);
            let t = numeric.entry(name.clone()).or_insert_with(|| Tag {
                name,
                unit: to.bytes_unit.clone(),
                value: v,
                ..Tag::default()
            });
            add_tag(t);
        }
    }

    /// Keeps the nodes with a value (and, with `drop_negative`, not negative), in
    /// arena order.
    fn select_nodes(&mut self, drop_negative: bool) {
        self.nodes = (0..self.arena.len())
            .filter(|&i| is_shown(self.arena[i].flat, self.arena[i].cum, drop_negative))
            .collect();
    }

    /// Sum of the flat and of the cumulative values of the graph's nodes.
    pub fn sum(&self) -> (i64, i64) {
        self.nodes.iter().fold((0, 0), |(f, c), &n| {
            (
                f.wrapping_add(self.arena[n].flat),
                c.wrapping_add(self.arena[n].cum),
            )
        })
    }

    /// Identities of the nodes whose cumulative magnitude reaches `cutoff`.
    pub fn discard_low_frequency_nodes(&self, cutoff: i64) -> NodeSet {
        self.nodes
            .iter()
            .filter(|&&n| self.arena[n].cum.wrapping_abs() >= cutoff)
            .map(|&n| self.arena[n].info.clone())
            .collect()
    }

    /// The nodes whose cumulative magnitude reaches `cutoff` (for call trees).
    pub fn discard_low_frequency_node_ids(&self, cutoff: i64) -> HashSet<NodeId> {
        self.nodes
            .iter()
            .copied()
            .filter(|&n| self.arena[n].cum.wrapping_abs() >= cutoff)
            .collect()
    }

    /// Drops the tags of every node whose flat and cumulative magnitudes are below
    /// `cutoff`.
    pub fn trim_low_frequency_tags(&mut self, cutoff: i64) {
        let keep = |t: &Tag| t.flat.wrapping_abs() >= cutoff || t.cum.wrapping_abs() >= cutoff;
        for &n in &self.nodes {
            let node = &mut self.arena[n];
            node.label_tags.retain(|_, t| keep(t));
            for tags in node.numeric_tags.values_mut() {
                tags.retain(|_, t| keep(t));
            }
        }
    }

    /// Removes edges whose weight magnitude is below `cutoff`; returns how many.
    pub fn trim_low_frequency_edges(&mut self, cutoff: i64) -> usize {
        let mut dropped = 0;
        for i in 0..self.nodes.len() {
            let n = self.nodes[i];
            let low: Vec<(NodeId, EdgeId)> = self.arena[n]
                .in_edges
                .iter()
                .filter(|&(_, e)| self.edges[e].weight.wrapping_abs() < cutoff)
                .collect();
            for (src, _) in low {
                self.arena[n].in_edges.remove(&src);
                self.arena[src].out_edges.remove(&n);
                dropped += 1;
            }
        }
        dropped
    }

    /// Sorts the nodes the way reports list them: entropy order for drawings
    /// (`visual`), else by cumulative or flat value.
    pub fn sort_nodes(&mut self, cum: bool, visual: bool) {
        let order = if visual {
            NodeOrder::Entropy
        } else if cum {
            NodeOrder::CumName
        } else {
            NodeOrder::FlatName
        };
        self.sort_nodes_by(order);
    }

    /// Sorts the nodes in `order`, with pprof's tie-breaks.
    pub fn sort_nodes_by(&mut self, order: NodeOrder) {
        let mut nodes = std::mem::take(&mut self.nodes);
        sort_node_ids(self, &mut nodes, order);
        self.nodes = nodes;
    }

    /// The first `max_nodes` nodes (all when 0); in `visual` mode a node also counts
    /// for its tags (up to the number drawn).
    fn top_nodes(&self, max_nodes: usize, visual: bool) -> &[NodeId] {
        let mut max = max_nodes;
        if max > 0 && visual {
            let mut count = 0;
            for (i, &n) in self.nodes.iter().enumerate() {
                count += count_tags(&self.arena[n]).min(MAX_NODELETS) + 1;
                if count >= max {
                    max = i + 1;
                    break;
                }
            }
        }
        &self.nodes[..max.min(self.nodes.len())]
    }

    /// Identities of the top `max_nodes` nodes in the current order.
    pub fn select_top_nodes(&self, max_nodes: usize, visual: bool) -> NodeSet {
        self.top_nodes(max_nodes, visual)
            .iter()
            .map(|&n| self.arena[n].info.clone())
            .collect()
    }

    /// [`select_top_nodes`](Self::select_top_nodes) of a drawing, counting each node's
    /// tags in `tagged`: a graph of the same profile built with tags for (at least)
    /// the first `max_nodes` nodes of this one, which was built without them.
    pub fn select_top_nodes_tagged_by(&self, max_nodes: usize, tagged: &Graph) -> NodeSet {
        let index: HashMap<&NodeInfo, NodeId> = tagged
            .arena
            .iter()
            .enumerate()
            .map(|(id, n)| (&n.info, id))
            .collect();
        let mut max = max_nodes;
        if max > 0 {
            let mut count = 0;
            for (i, &n) in self.nodes.iter().enumerate() {
                let tags = index
                    .get(&self.arena[n].info)
                    .map_or(0, |&t| count_tags(&tagged.arena[t]));
                count += tags.min(MAX_NODELETS) + 1;
                if count >= max {
                    max = i + 1;
                    break;
                }
            }
        }
        self.nodes[..max.min(self.nodes.len())]
            .iter()
            .map(|&n| self.arena[n].info.clone())
            .collect()
    }

    /// The top `max_nodes` nodes in the current order (for call trees).
    pub fn select_top_node_ids(&self, max_nodes: usize, visual: bool) -> HashSet<NodeId> {
        self.top_nodes(max_nodes, visual).iter().copied().collect()
    }

    /// Removes the nodes of a call tree not in `kept`, connecting each removed node's
    /// children to its parent with residual edges.
    pub fn trim_tree(&mut self, kept: &HashSet<NodeId>) {
        let old = std::mem::take(&mut self.nodes);
        for cur in old {
            if kept.contains(&cur) {
                self.nodes.push(cur);
                continue;
            }
            let parent_edge = self.arena[cur].in_edges.iter().next();
            let outs: Vec<(NodeId, EdgeId)> = self.arena[cur].out_edges.iter().collect();
            let Some((parent, pe)) = parent_edge else {
                for (child, _) in outs {
                    self.arena[child].in_edges.remove(&cur);
                }
                continue;
            };
            let parent_inline = self.edges[pe].inline;
            self.arena[parent].out_edges.remove(&cur);
            for (child, e) in outs {
                self.arena[child].in_edges.remove(&cur);
                self.arena[child].in_edges.insert(parent, e);
                self.arena[parent].out_edges.insert(child, e);
                let edge = &mut self.edges[e];
                edge.src = parent;
                edge.residual = true;
                edge.inline = parent_inline && edge.inline;
            }
        }
        self.remove_redundant_edges();
    }

    /// Edges of `edges` sorted by decreasing weight magnitude, then source and
    /// destination names, then (ends that print alike) their identities: an order that
    /// does not depend on how nodes are numbered.
    pub fn sorted_edges(&self, edges: &EdgeMap) -> Vec<EdgeId> {
        let mut list: Vec<EdgeId> = edges.values().collect();
        list.sort_by(|&a, &b| self.compare_edges(a, b));
        list
    }

    /// The order of [`sorted_edges`](Self::sorted_edges).
    pub fn compare_edges(&self, a: EdgeId, b: EdgeId) -> std::cmp::Ordering {
        let (ea, eb) = (&self.edges[a], &self.edges[b]);
        let (sa, sb) = (&self.arena[ea.src], &self.arena[eb.src]);
        let (da, db) = (&self.arena[ea.dest], &self.arena[eb.dest]);
        eb.weight
            .wrapping_abs()
            .cmp(&ea.weight.wrapping_abs())
            .then_with(|| sa.name.cmp(&sb.name))
            .then_with(|| da.name.cmp(&db.name))
            .then_with(|| compare_identity(sa, sb))
            .then_with(|| compare_identity(da, db))
    }

    /// Removes residual edges implied by a longer path between the same nodes.
    pub fn remove_redundant_edges(&mut self) {
        for i in (0..self.nodes.len()).rev() {
            let n = self.nodes[i];
            let ins = self.sorted_edges(&self.arena[n].in_edges);
            for &e in ins.iter().rev() {
                if !self.edges[e].residual {
                    break;
                }
                if self.is_redundant_edge(e) {
                    let (src, dest) = (self.edges[e].src, self.edges[e].dest);
                    self.arena[src].out_edges.remove(&dest);
                    self.arena[dest].in_edges.remove(&src);
                }
            }
        }
    }

    fn is_redundant_edge(&self, e: EdgeId) -> bool {
        let (src, start) = (self.edges[e].src, self.edges[e].dest);
        let mut seen = HashSet::from([start]);
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for (from, ie) in self.arena[n].in_edges.iter() {
                if ie == e || seen.contains(&from) {
                    continue;
                }
                if from == src {
                    return true;
                }
                seen.insert(from);
                queue.push_back(from);
            }
        }
        false
    }
}

/// Most tags drawn per node in graph drawings.
pub const MAX_NODELETS: usize = 4;

fn count_tags(n: &Node) -> usize {
    n.label_tags.values().filter(|t| t.flat != 0).count()
        + n.numeric_tags
            .values()
            .flat_map(|m| m.values())
            .filter(|t| t.flat != 0)
            .count()
}

/// Whether a node with these values is part of a graph: it has a value, and a
/// negative one only when negative nodes are not dropped.
fn is_shown(flat: i64, cum: i64, drop_negative: bool) -> bool {
    let negative = flat < 0 || (flat == 0 && cum < 0);
    (flat != 0 || cum != 0) && !(drop_negative && negative)
}

/// pprof's printable-name comparison: by address when both have different non-zero
/// addresses, else by printed name.
fn compare_printable(a: &Node, b: &Node) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a.info == b.info {
        return Ordering::Equal;
    }
    if a.info.address != 0 && b.info.address != 0 && a.info.address != b.info.address {
        return a.info.address.cmp(&b.info.address);
    }
    // Different identities with equal names compare equal here; later keys decide.
    a.name.cmp(&b.name)
}

fn compare_identity(a: &Node, b: &Node) -> std::cmp::Ordering {
    if a.info == b.info {
        return std::cmp::Ordering::Equal;
    }
    a.info.debug_string().cmp(&b.info.debug_string())
}

fn sort_node_ids(g: &Graph, nodes: &mut [NodeId], order: NodeOrder) {
    let a = |n: NodeId| &g.arena[n];
    match order {
        NodeOrder::FlatName => nodes.sort_by(|&l, &r| {
            let (l, r) = (a(l), a(r));
            r.flat
                .wrapping_abs()
                .cmp(&l.flat.wrapping_abs())
                .then_with(|| compare_printable(l, r))
                .then_with(|| r.cum.wrapping_abs().cmp(&l.cum.wrapping_abs()))
                .then_with(|| compare_identity(l, r))
        }),
        NodeOrder::FlatCumName => nodes.sort_by(|&l, &r| {
            let (l, r) = (a(l), a(r));
            r.flat
                .wrapping_abs()
                .cmp(&l.flat.wrapping_abs())
                .then_with(|| r.cum.wrapping_abs().cmp(&l.cum.wrapping_abs()))
                .then_with(|| compare_printable(l, r))
                .then_with(|| compare_identity(l, r))
        }),
        NodeOrder::Name => nodes.sort_by(|&l, &r| {
            let (l, r) = (a(l), a(r));
            l.info
                .name
                .cmp(&r.info.name)
                .then_with(|| compare_identity(l, r))
        }),
        NodeOrder::File => nodes.sort_by(|&l, &r| {
            let (l, r) = (a(l), a(r));
            l.info
                .file
                .cmp(&r.info.file)
                .then_with(|| l.info.start_line.cmp(&r.info.start_line))
                .then_with(|| compare_identity(l, r))
        }),
        NodeOrder::Address => nodes.sort_by(|&l, &r| {
            let (l, r) = (a(l), a(r));
            l.info
                .address
                .cmp(&r.info.address)
                .then_with(|| compare_identity(l, r))
        }),
        NodeOrder::CumName | NodeOrder::Entropy => {
            let score: HashMap<NodeId, i64> = nodes
                .iter()
                .map(|&n| {
                    let s = if order == NodeOrder::CumName {
                        a(n).cum
                    } else {
                        entropy_score(g, a(n))
                    };
                    (n, s)
                })
                .collect();
            nodes.sort_by(|&li, &ri| {
                let (l, r) = (a(li), a(ri));
                score[&ri]
                    .wrapping_abs()
                    .cmp(&score[&li].wrapping_abs())
                    .then_with(|| compare_printable(l, r))
                    .then_with(|| r.flat.wrapping_abs().cmp(&l.flat.wrapping_abs()))
                    .then_with(|| compare_identity(l, r))
            })
        }
    }
}

fn entropy_score(g: &Graph, n: &Node) -> i64 {
    let mut score = 0.0;
    if n.in_edges.is_empty() {
        score += 1.0;
    } else {
        score += edge_entropy_score(g, &n.in_edges, 0);
    }
    if n.out_edges.is_empty() {
        score += 1.0;
    } else {
        score += edge_entropy_score(g, &n.out_edges, n.flat);
    }
    crate::measurement::go_float_to_int(score * n.cum as f64).wrapping_add(n.flat)
}

fn edge_entropy_score(g: &Graph, edges: &EdgeMap, self_value: i64) -> f64 {
    let mut score = 0.0;
    let mut total = self_value;
    for e in edges.values() {
        if g.edges[e].weight > 0 {
            total = total.wrapping_add(g.edges[e].weight.wrapping_abs());
        }
    }
    if total != 0 {
        for e in edges.values() {
            let frac = g.edges[e].weight.wrapping_abs() as f64 / total as f64;
            score += -frac * frac.log2();
        }
        if self_value > 0 {
            let frac = self_value.wrapping_abs() as f64 / total as f64;
            score += -frac * frac.log2();
        }
    }
    score
}

fn shorten_regexes() -> &'static [Regex; 5] {
    static RES: OnceLock<[Regex; 5]> = OnceLock::new();
    RES.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("static regex");
        [
            re(r"^\(anonymous namespace\)::"),
            re(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)$"),
            re(r"^(?:[\w\-\.]+/)+([^.]+\..+)"),
            re(r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|$)"),
            re(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)"),
        ]
    })
}

/// Shortens a function name for compact displays: drops package paths, Java packages
/// and C++ namespaces, as pprof does.
pub fn shorten_function_name(f: &str) -> String {
    let [anon, gover, go, java, cpp] = shorten_regexes();
    let f = anon.replace_all(f, "");
    let f = gover.replace_all(&f, "${1}${2}").into_owned();
    for re in [go, java, cpp] {
        if let Some(c) = re.captures(&f) {
            if c.len() >= 2 {
                return c
                    .iter()
                    .skip(1)
                    .map(|m| m.map_or("", |m| m.as_str()))
                    .collect();
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_keys_that_differ_only_in_the_caller_spread_over_buckets() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<FxHasher>::default();
        // The edges from 1,024 callers into one node: a table of 1,024 buckets picks
        // the bucket from the hash's low 10 bits.
        let buckets: std::collections::HashSet<u64> = (0..1024u32)
            .map(|caller| build.hash_one(pair_key(caller, 7)) & 1023)
            .collect();
        assert!(buckets.len() > 512, "{} buckets of 1024", buckets.len());
    }

    #[test]
    fn printable_name_joins_address_function_and_line() {
        let info = NodeInfo {
            name: "main.f".into(),
            address: 0x1234,
            file: "a.go".into(),
            lineno: 7,
            ..NodeInfo::default()
        };
        assert_eq!(info.printable_name(), "0000000000001234 main.f a.go:7");
        let obj = NodeInfo {
            objfile: "/usr/lib/libc.so".into(),
            ..NodeInfo::default()
        };
        assert_eq!(obj.printable_name(), "[libc.so]");
        assert_eq!(NodeInfo::default().printable_name(), "<unknown>");
    }

    #[test]
    fn shorten_function_name_drops_packages() {
        assert_eq!(shorten_function_name("github.com/x/y.(*T).M"), "y.(*T).M");
        assert_eq!(shorten_function_name("github.com/x/v2/y.F"), "y.F");
        assert_eq!(
            shorten_function_name("java.lang.String.indexOf"),
            "String.indexOf"
        );
        assert_eq!(
            shorten_function_name("(anonymous namespace)::ns::Foo::bar"),
            "Foo::bar"
        );
        assert_eq!(shorten_function_name("main"), "main");
    }
}
