//! The profile.proto outputs: the profile itself (`-proto`) and its top entries as a
//! profile (`-topproto`), both gzipped.

use std::collections::HashMap;
use std::io::Write;

use profile::{Function, Line, Location, Profile, Result, ValueType};

use crate::measurement::{go_float_to_int, scale};
use crate::report::Report;
use crate::{write_error, Options};

fn write_gzipped(w: &mut dyn Write, p: &Profile) -> Result<()> {
    profile::proto::write_gzip(p, w).map_err(write_error)
}

/// Writes `p` as gzipped profile.proto, its values multiplied by the report ratio.
pub fn print_proto(w: &mut dyn Write, p: &mut Profile, o: &Options) -> Result<()> {
    let r = o.ratio;
    if r > 0.0 && r != 1.0 {
        p.samples.map_values(|values| {
            for v in values {
                *v = go_float_to_int(*v as f64 * r);
            }
        });
    }
    write_gzipped(w, p)
}

/// Writes the nodes of the trimmed graph as a gzipped profile.proto: one sample per
/// node with its cumulative and flat values in the output unit.
pub fn print_top_proto(w: &mut dyn Write, rpt: &mut Report) -> Result<()> {
    let t = rpt.new_trimmed_graph();
    let g = &t.graph;
    rpt.select_output_unit(g);
    let p = rpt.prof;
    let o = &rpt.options;
    let mut out = Profile::new(2);
    let cum = out.intern("cum");
    let flat = out.intern("flat");
    let unit = out.intern(&o.output_unit);
    out.sample_types = vec![ValueType { ty: cum, unit }, ValueType { ty: flat, unit }];
    out.time_nanos = p.time_nanos;
    out.duration_nanos = p.duration_nanos;
    out.period_type = ValueType {
        ty: out.intern(p.str(p.period_type.ty)),
        unit: out.intern(p.str(p.period_type.unit)),
    };
    out.period = p.period;
    let mut functions: HashMap<(&str, &str, &str, i64), u32> = HashMap::new();
    for (i, &id) in g.nodes.iter().enumerate() {
        let info = &g.node(id).info;
        let key = (
            info.name.as_str(),
            info.orig_name.as_str(),
            info.file.as_str(),
            info.start_line,
        );
        let f = match functions.get(&key) {
            Some(&f) => f,
            None => {
                let f = out.functions.len() as u32;
                let function = Function {
                    id: f as u64 + 1,
                    name: out.intern(&info.name),
                    system_name: out.intern(&info.orig_name),
                    filename: out.intern(&info.file),
                    start_line: info.start_line,
                };
                out.functions.push(function);
                functions.insert(key, f);
                f
            }
        };
        out.locations.push(Location {
            id: i as u64 + 1,
            mapping: None,
            address: info.address,
            lines: vec![Line {
                function: f,
                line: info.lineno,
                column: info.columnno,
            }]
            .into(),
            is_folded: false,
        });
        let n = g.node(id);
        let (fv, _) = scale(n.flat_value(), &o.sample_unit, &o.output_unit);
        let (cv, _) = scale(n.cum_value(), &o.sample_unit, &o.output_unit);
        out.samples.push(
            &[go_float_to_int(cv), go_float_to_int(fv)],
            &[i as u32],
            &[],
        );
    }
    write_gzipped(w, &out)
}
