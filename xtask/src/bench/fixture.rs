//! The simulator fixtures of the benchmark, written as JSON catalogues
//! (`crates/codeocean-sim/src/catalogue.rs`) under the work folder.

use serde_json::{Value, json};

/// The capsule whose run produces the result tree.
pub(crate) const TREE_CAPSULE: &str = "c0ffee00-0000-4000-8000-00000000b001";
/// The capsule whose run produces the one big file.
pub(crate) const BIG_CAPSULE: &str = "c0ffee00-0000-4000-8000-00000000b002";
/// The big file's name.
pub(crate) const BIG_FILE: &str = "big.bin";

/// The shape of the result tree.
#[derive(Clone, Debug)]
pub(crate) struct TreeSpec {
    /// Files in all.
    pub(crate) files: usize,
    /// Sub-folders per folder at each level below the root (its length is the depth).
    pub(crate) branching: Vec<usize>,
    /// Large files, placed in the deepest folders.
    pub(crate) large: usize,
    /// Size of each large file.
    pub(crate) large_size: u64,
    /// One size for every small file; `None`: the mix of [`small_size`].
    pub(crate) small_size: Option<u64>,
}

/// What a generated tree holds.
#[derive(Clone, Debug)]
pub(crate) struct TreeFacts {
    pub(crate) files: u64,
    pub(crate) folders: u64,
    pub(crate) bytes: u64,
    /// Folder levels on the path to the deepest file, the root included (= listings in the chain).
    pub(crate) levels: usize,
    /// A one-line description of the size mix.
    pub(crate) mix: String,
}

/// Size of small file number `i`: 80% of 1–16 KiB, 18% of 64–256 KiB, 2% of 1 MiB.
fn small_size(i: usize) -> u64 {
    let i = i as u64;
    match i % 50 {
        0..40 => 1024 + (i * 7919) % (15 * 1024),
        40..49 => 64 * 1024 + (i * 104_729) % (192 * 1024),
        _ => 1 << 20,
    }
}

struct Folder {
    name: String,
    depth: usize,
    files: Vec<(String, u64)>,
    children: Vec<usize>,
}

/// The catalogue with the tree capsule, and what its tree holds.
pub(crate) fn tree(spec: &TreeSpec) -> (Value, TreeFacts) {
    let mut folders = vec![Folder {
        name: String::new(),
        depth: 0,
        files: Vec::new(),
        children: Vec::new(),
    }];
    let mut frontier = vec![0];
    for (level, &n) in spec.branching.iter().enumerate() {
        let mut next = Vec::new();
        for &parent in &frontier {
            for k in 0..n {
                let idx = folders.len();
                folders.push(Folder {
                    name: format!("{}{k}", (b'a' + level as u8) as char),
                    depth: level + 1,
                    files: Vec::new(),
                    children: Vec::new(),
                });
                folders[parent].children.push(idx);
                next.push(idx);
            }
        }
        frontier = next;
    }
    let depth = spec.branching.len();
    let deepest: Vec<usize> = (0..folders.len())
        .filter(|&i| folders[i].depth == depth)
        .collect();
    let mut bytes = 0;
    for k in 0..spec.large {
        let f = deepest[(k * deepest.len()) / spec.large.max(1)];
        folders[f]
            .files
            .push((format!("large-{k}.bin"), spec.large_size));
        bytes += spec.large_size;
    }
    let small = spec.files - spec.large;
    for i in 0..small {
        let f = i % folders.len();
        let size = spec.small_size.unwrap_or_else(|| small_size(i));
        folders[f].files.push((format!("file-{i:04}.dat"), size));
        bytes += size;
    }
    fn node(folders: &[Folder], i: usize) -> Vec<Value> {
        let mut out: Vec<Value> = folders[i]
            .files
            .iter()
            .map(|(name, size)| json!({"name": name, "size": size}))
            .collect();
        for &c in &folders[i].children {
            out.push(json!({"name": folders[c].name, "children": node(folders, c)}));
        }
        out
    }
    let catalogue = catalogue(TREE_CAPSULE, "Benchmark tree", node(&folders, 0));
    let facts = TreeFacts {
        files: spec.files as u64,
        folders: folders.len() as u64,
        bytes,
        levels: depth + 1,
        mix: match spec.small_size {
            Some(size) => format!("every file {size} bytes"),
            None => format!(
                "{} large files of {:.0} MB in the deepest folders; the others small: 80% of \
                 1–16 KiB, 18% of 64–256 KiB, 2% of 1 MiB",
                spec.large,
                spec.large_size as f64 / 1e6
            ),
        },
    };
    (catalogue, facts)
}

/// The files of the first capsule's result tree in a catalogue of these fixtures: each one's
/// path (`/`-separated) and size.
pub(crate) fn tree_files(catalogue: &Value) -> anyhow::Result<Vec<(String, u64)>> {
    fn walk(prefix: &str, entries: &[Value], out: &mut Vec<(String, u64)>) -> Option<()> {
        for e in entries {
            let name = e["name"].as_str()?;
            let path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            match e["children"].as_array() {
                Some(children) => walk(&path, children, out)?,
                None => out.push((path, e["size"].as_u64()?)),
            }
        }
        Some(())
    }
    let mut out = Vec::new();
    catalogue["capsules"][0]["run"]["results"]["entries"]
        .as_array()
        .and_then(|entries| walk("", entries, &mut out))
        .ok_or_else(|| anyhow::anyhow!("a catalogue without a result tree of these fixtures"))?;
    Ok(out)
}

/// The catalogue with one capsule whose results are one file of `size` bytes.
pub(crate) fn big(size: u64) -> Value {
    catalogue(
        BIG_CAPSULE,
        "Benchmark big file",
        vec![json!({"name": BIG_FILE, "size": size})],
    )
}

/// The capsule whose finished run the CPU-per-call case gets again and again.
pub(crate) const CALLS_CAPSULE: &str = "c0ffee00-0000-4000-8000-00000000b003";

/// The catalogue of the CPU-per-call case: one capsule whose run ends at once.
pub(crate) fn calls() -> Value {
    catalogue(
        CALLS_CAPSULE,
        "Benchmark calls",
        vec![json!({"name": "output.txt", "size": 1024})],
    )
}

/// The catalogue of the waiter case: one capsule per duration, whose run spends exactly that
/// many simulated seconds in `running` (none initializing or finalizing) and then succeeds;
/// and the capsule ids, in the order of `durations`.
pub(crate) fn waiters(durations: &[f64]) -> (Value, Vec<String>) {
    let ids: Vec<String> = (0..durations.len())
        .map(|i| format!("c0ffee00-0000-4000-8000-{:012x}", 0xd000_0000 + i))
        .collect();
    let capsules: Vec<Value> = ids
        .iter()
        .zip(durations)
        .enumerate()
        .map(|(i, (id, secs))| {
            json!({
                "id": id,
                "name": format!("Waiter {i}"),
                "run": {
                    "initializing": 0,
                    "running": secs,
                    "finalizing": 0,
                    "has_results": false,
                },
            })
        })
        .collect();
    (json!({ "capsules": capsules }), ids)
}

fn catalogue(id: &str, name: &str, entries: Vec<Value>) -> Value {
    json!({
        "capsules": [{
            "id": id,
            "name": name,
            "run": {
                "initializing": 0,
                "running": 0,
                "finalizing": 0,
                "results": {"entries": entries},
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_files_are_those_the_facts_count() {
        let spec = TreeSpec {
            files: 20,
            branching: vec![2, 2],
            large: 1,
            large_size: 5000,
            small_size: Some(10),
        };
        let (catalogue, facts) = tree(&spec);
        let files = tree_files(&catalogue).unwrap();
        assert_eq!(files.len() as u64, facts.files);
        assert_eq!(files.iter().map(|(_, n)| n).sum::<u64>(), facts.bytes);
        assert!(
            files.contains(&("a0/b0/large-0.bin".to_owned(), 5000)),
            "{files:?}"
        );
        assert!(
            files.contains(&("file-0000.dat".to_owned(), 10)),
            "{files:?}"
        );
        assert!(tree_files(&json!({"capsules": []})).is_err());
    }
}
