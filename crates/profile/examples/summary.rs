//! Decodes each profile named on the command line and prints what it holds.

fn main() {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let result = std::fs::read(&path)
            .map_err(|e| profile::Error::new(e.to_string()))
            .and_then(|data| profile::parse(&data));
        match result {
            Ok(p) => {
                let types: Vec<String> = p
                    .sample_types
                    .iter()
                    .map(|t| format!("{}/{}", p.str(t.ty), p.str(t.unit)))
                    .collect();
                println!(
                    "{path}: {} samples [{}], {} locations, {} functions, {} mappings",
                    p.samples.len(),
                    types.join(" "),
                    p.locations.len(),
                    p.functions.len(),
                    p.mappings.len()
                );
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
            }
        }
    }
    std::process::exit(failed as i32);
}
