//! What the simulator knows before any request: capsules, pipelines, data assets and object
//! storage buckets, and for each capsule or pipeline what a run of it produces.
//!
//! A catalogue is read from a fixture file (JSON or YAML, same shape) or taken from
//! [`Catalogue::builtin`]. Result trees are described either file by file or by a generator
//! (`generate: {depth, folders, files, size}`) so a benchmark can ask for thousands of files in a
//! few lines. File contents are never stored: they are derived from a seed (see
//! [`crate::content`]).
//!
//! Buckets (`buckets:`) are the S3 and GCS buckets data assets can be made from
//! (`source.aws`, `source.gcp`) and written to (`target.aws`): each has a `provider` (`aws` or
//! `gcp`), a `name`, `public` (default false) and its objects, listed by key
//! (`files: [{path, size}]`, folders implied by the keys' `/`) or generated like a result tree
//! (`generate:`), or both. An object's bytes are seeded by the bucket's name and its key, so an
//! asset made from a bucket serves the very bytes of the bucket's objects.
//!
//! ```yaml
//! buckets:
//!   - provider: aws
//!     name: lab-data
//!     files:
//!       - {path: raw/run-1/reads.fastq, size: 1048576}
//!       - {path: raw/README.md, size: 120}
//!   - provider: gcp
//!     name: lab-images
//!     public: true
//!     generate: {depth: 1, folders: 2, files: 3, size: 4096}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole catalogue.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Capsules that can be fetched and run.
    #[serde(default)]
    pub capsules: Vec<Runnable>,
    /// Pipelines that can be run (`pipeline_id` in a run request).
    #[serde(default)]
    pub pipelines: Vec<Runnable>,
    /// Data assets that exist from the start (inputs for runs).
    #[serde(default)]
    pub data_assets: Vec<InputAsset>,
    /// Object storage buckets data assets are made from and written to.
    #[serde(default)]
    pub buckets: Vec<Bucket>,
}

/// The cloud a bucket belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon S3 (`source.aws`, `target.aws`).
    Aws,
    /// Google Cloud Storage (`source.gcp`).
    Gcp,
}

impl Provider {
    /// `aws` or `gcp`, as the fixture and the wire spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
        }
    }
}

/// An object storage bucket and its objects.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// `aws` or `gcp`.
    pub provider: Provider,
    /// Its name (unique in the catalogue; no `/`).
    pub name: String,
    /// Whether it can be read without credentials (`source.aws.public: true` needs it; a GCS
    /// bucket that is not public needs `client_id` and `client_secret`).
    #[serde(default)]
    pub public: bool,
    /// Objects by key (a key's `/` separate folders).
    #[serde(default)]
    pub files: Vec<Object>,
    /// A generated tree added at the bucket's root (a listed object of the same key wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generated>,
}

/// One object of a bucket.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    /// Its key, e.g. `raw/sample-1/reads.fastq` (segments as in result trees: not empty, not
    /// `.` or `..`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Bucket {
    /// The seed of the bucket's object contents (from its name).
    pub fn seed(&self) -> u64 {
        crate::content::file_seed(0, &format!("bucket:{}", self.name))
    }

    /// Its objects as a tree: keys in lexicographic order, folders made from their segments.
    pub fn flatten(&self) -> Result<Flat, String> {
        let mut flat = Flat::default();
        flat.entries
            .insert(String::new(), Entry::Folder(Vec::new()));
        let mut objects: Vec<&Object> = self.files.iter().collect();
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        for o in objects {
            let segments: Vec<&str> = o.path.split('/').collect();
            let mut parent = String::new();
            for (i, seg) in segments.iter().enumerate() {
                if seg.is_empty() || *seg == "." || *seg == ".." || seg.contains('\0') {
                    return Err(format!(
                        "bucket {}: invalid object key {:?}",
                        self.name, o.path
                    ));
                }
                let path = join(&parent, seg);
                let last = i + 1 == segments.len();
                match (flat.entries.get(&path), last) {
                    (Some(Entry::Folder(_)), false) => {}
                    (None, false) => {
                        add_child(&mut flat, &parent, path.clone(), Entry::Folder(vec![]))?
                    }
                    (None, true) => {
                        add_child(&mut flat, &parent, path.clone(), Entry::File(o.size))?
                    }
                    (Some(Entry::File(_)), true) => {
                        return Err(format!(
                            "bucket {}: duplicate object key `{path}`",
                            self.name
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "bucket {}: object key `{}` is both a file and a folder",
                            self.name, path
                        ));
                    }
                }
                parent = path;
            }
        }
        if let Some(g) = &self.generate {
            add_generated(&mut flat, "", g, g.depth);
        }
        Ok(flat)
    }
}

/// A capsule or a pipeline, and what running it does.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Runnable {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// A one-line description.
    #[serde(default)]
    pub description: String,
    /// Its slug (short numeric id shown in the UI).
    #[serde(default)]
    pub slug: Option<String>,
    /// Named parameters it declares; `None` accepts any parameters.
    #[serde(default)]
    pub parameters: Option<Vec<String>>,
    /// Pipeline processes (names as in `main.nf`); empty for a capsule.
    #[serde(default)]
    pub processes: Vec<String>,
    /// Number of released versions (run requests may name `version` 1..=versions).
    #[serde(default)]
    pub versions: u32,
    /// The external Git repository the capsule is linked to (what `sync` pushes to and pulls
    /// from); `sync` is refused without one. Not sent on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_remote: Option<String>,
    /// What a run does.
    #[serde(default)]
    pub run: RunPlan,
}

/// How a run progresses and ends.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunPlan {
    /// Seconds (simulated) spent in `initializing`.
    pub initializing: f64,
    /// Seconds (simulated) spent in `running`.
    pub running: f64,
    /// Seconds (simulated) spent in `finalizing`.
    pub finalizing: f64,
    /// `succeeded`, `failed` or `stopped`.
    pub end_status: String,
    /// The exit code reported at the end.
    pub exit_code: i64,
    /// The state a finished run reports (`completed`; `failed` for a run that failed to start).
    pub final_state: String,
    /// Whether the run produces results (when false, the tree is ignored).
    pub has_results: bool,
    /// Seed for file contents.
    pub seed: u64,
    /// The result tree.
    pub results: Tree,
}

impl Default for RunPlan {
    fn default() -> Self {
        Self {
            initializing: 2.0,
            running: 10.0,
            finalizing: 2.0,
            end_status: "succeeded".into(),
            exit_code: 0,
            final_state: "completed".into(),
            has_results: true,
            seed: 1,
            results: Tree::default(),
        }
    }
}

/// A result tree: explicit entries, a generated tree, or both (generated entries sit at the
/// root next to the explicit ones; on a name clash the explicit entry wins).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    /// Explicit entries at the root.
    #[serde(default)]
    pub entries: Vec<Node>,
    /// A generated tree added at the root.
    #[serde(default)]
    pub generate: Option<Generated>,
}

/// One explicit entry of a result tree.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Node {
    /// A folder and its children.
    Folder {
        /// Its name (one path segment).
        name: String,
        /// What it holds.
        children: Vec<Node>,
    },
    /// A file.
    File {
        /// Its name (one path segment).
        name: String,
        /// Its size in bytes.
        size: u64,
    },
}

/// A regular generated tree: every folder above `depth` holds `folders` sub-folders, and every
/// folder (the root included) holds `files` files of `size` bytes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Generated {
    /// Folder levels below the root.
    pub depth: u32,
    /// Sub-folders per folder.
    pub folders: u32,
    /// Files per folder.
    pub files: u32,
    /// Bytes per file.
    pub size: u64,
}

/// A data asset present from the start.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputAsset {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its default mount folder.
    pub mount: String,
    /// Its size in bytes (derived from `tree` when that has entries; if both are given they
    /// must agree).
    #[serde(default)]
    pub size: u64,
    /// Its number of files (derived from `tree` like `size`).
    #[serde(default)]
    pub files: u64,
    /// Its files, as `list_data_asset_files` lists them (contents are seeded by the asset id).
    #[serde(default)]
    pub tree: Tree,
}

impl InputAsset {
    /// Number of files and total size: the tree's when it has entries, else the given ones.
    pub fn totals(&self) -> Result<(u64, u64), String> {
        let flat = self
            .tree
            .flatten()
            .map_err(|e| format!("{}: {e}", self.id))?;
        if flat.entries.len() <= 1 {
            return Ok((self.files, self.size));
        }
        let (files, size) = flat.totals();
        if (self.files != 0 && self.files != files) || (self.size != 0 && self.size != size) {
            return Err(format!(
                "{}: files/size ({}, {}) disagree with its tree ({files}, {size})",
                self.id, self.files, self.size
            ));
        }
        Ok((files, size))
    }
}

/// A flattened result tree: path → entry, with `""` the root folder.
#[derive(Clone, Debug, Default)]
pub struct Flat {
    /// Every entry by its path relative to the results root.
    pub entries: BTreeMap<String, Entry>,
}

/// An entry of a flattened tree.
#[derive(Clone, Debug)]
pub enum Entry {
    /// A folder with its children's paths, in listing order.
    Folder(Vec<String>),
    /// A file of this many bytes.
    File(u64),
}

impl Flat {
    /// The folder at `path` as a tree of its own (paths relative to it), or `None` when
    /// `path` is not a folder.
    pub fn subtree(&self, path: &str) -> Option<Flat> {
        if path.is_empty() {
            return Some(self.clone());
        }
        let Some(Entry::Folder(_)) = self.entries.get(path) else {
            return None;
        };
        let prefix = format!("{path}/");
        let strip = |p: &str| p.strip_prefix(&prefix).map(str::to_owned);
        let rebase = |e: &Entry| match e {
            Entry::File(size) => Entry::File(*size),
            Entry::Folder(children) => {
                Entry::Folder(children.iter().filter_map(|c| strip(c)).collect())
            }
        };
        let mut entries: BTreeMap<String, Entry> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, e)| strip(k).map(|k| (k, rebase(e))))
            .collect();
        entries.insert(String::new(), rebase(&self.entries[path]));
        Some(Flat { entries })
    }

    /// Number of files and their total size.
    pub fn totals(&self) -> (u64, u64) {
        self.entries.values().fold((0, 0), |(n, b), e| match e {
            Entry::File(s) => (n + 1, b + s),
            Entry::Folder(_) => (n, b),
        })
    }
}

impl Tree {
    /// Flattens the tree, checking names (one non-empty segment, no `/`, not `.` or `..`).
    pub fn flatten(&self) -> Result<Flat, String> {
        let mut flat = Flat::default();
        flat.entries
            .insert(String::new(), Entry::Folder(Vec::new()));
        for node in &self.entries {
            add_node(&mut flat, "", node)?;
        }
        if let Some(g) = &self.generate {
            add_generated(&mut flat, "", g, g.depth);
        }
        Ok(flat)
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

fn add_child(flat: &mut Flat, parent: &str, path: String, entry: Entry) -> Result<(), String> {
    if flat.entries.contains_key(&path) {
        return Err(format!("duplicate result entry `{path}`"));
    }
    if let Some(Entry::Folder(children)) = flat.entries.get_mut(parent) {
        children.push(path.clone());
    }
    flat.entries.insert(path, entry);
    Ok(())
}

fn add_node(flat: &mut Flat, parent: &str, node: &Node) -> Result<(), String> {
    let name = match node {
        Node::Folder { name, .. } | Node::File { name, .. } => name,
    };
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "invalid result entry name {name:?} under `{parent}`"
        ));
    }
    let path = join(parent, name);
    match node {
        Node::File { size, .. } => add_child(flat, parent, path, Entry::File(*size)),
        Node::Folder { children, .. } => {
            add_child(flat, parent, path.clone(), Entry::Folder(Vec::new()))?;
            children.iter().try_for_each(|c| add_node(flat, &path, c))
        }
    }
}

fn add_generated(flat: &mut Flat, parent: &str, g: &Generated, levels_left: u32) {
    for i in 0..g.files {
        let path = join(parent, &format!("file-{i:04}.bin"));
        // Generated names never collide with each other; a collision with an explicit entry
        // keeps the explicit one.
        let _ = add_child(flat, parent, path, Entry::File(g.size));
    }
    if levels_left == 0 {
        return;
    }
    for i in 0..g.folders {
        let path = join(parent, &format!("dir-{i:03}"));
        if add_child(flat, parent, path.clone(), Entry::Folder(Vec::new())).is_ok() {
            add_generated(flat, &path, g, levels_left - 1);
        }
    }
}

impl Catalogue {
    /// Reads a catalogue from a JSON or YAML file (chosen by extension; YAML otherwise, which
    /// also reads JSON).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read fixture {}: {e}", path.display()))?;
        let parsed: Result<Self, String> = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_norway::from_str(&text).map_err(|e| e.to_string())
        };
        let catalogue = parsed.map_err(|e| format!("invalid fixture {}: {e}", path.display()))?;
        catalogue.validate()?;
        Ok(catalogue)
    }

    /// Checks the catalogue: trees flatten, enum-like fields hold known values, ids are unique.
    pub fn validate(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for r in self.capsules.iter().chain(&self.pipelines) {
            if !ids.insert(r.id.as_str()) {
                return Err(format!("duplicate id {}", r.id));
            }
            r.run
                .results
                .flatten()
                .map_err(|e| format!("{}: {e}", r.id))?;
            if !["succeeded", "failed", "stopped"].contains(&r.run.end_status.as_str()) {
                return Err(format!(
                    "{}: end_status must be succeeded, failed or stopped",
                    r.id
                ));
            }
            if !["completed", "failed"].contains(&r.run.final_state.as_str()) {
                return Err(format!("{}: final_state must be completed or failed", r.id));
            }
            let durations = [r.run.initializing, r.run.running, r.run.finalizing];
            if durations.iter().any(|d| !d.is_finite() || *d < 0.0) {
                return Err(format!("{}: durations must be non-negative numbers", r.id));
            }
        }
        for a in &self.data_assets {
            if !ids.insert(a.id.as_str()) {
                return Err(format!("duplicate id {}", a.id));
            }
            a.totals()?;
        }
        let mut names = std::collections::BTreeSet::new();
        for b in &self.buckets {
            if b.name.trim().is_empty() || b.name.contains('/') {
                return Err(format!("invalid bucket name {:?}", b.name));
            }
            if !names.insert(b.name.as_str()) {
                return Err(format!("duplicate bucket {}", b.name));
            }
            b.flatten()?;
        }
        Ok(())
    }

    /// The default catalogue: a capsule that succeeds with a small tree, one that fails, a
    /// pipeline, an input data asset with a small file tree (8 files in 5 folders), and four
    /// buckets: `sim-s3-data` (S3, private: `raw/` with two samples in nested folders, and
    /// `reference/`), `sim-s3-open` (S3, public: `shared/`), `sim-gcs-data` (GCS, private:
    /// `images/`) and `sim-s3-results` (S3, empty: a target). Ids and names are stable
    /// (documented in the README).
    pub fn builtin() -> Self {
        let file = |name: &str, size: u64| Node::File {
            name: name.into(),
            size,
        };
        let folder = |name: &str, children: Vec<Node>| Node::Folder {
            name: name.into(),
            children,
        };
        let tree = Tree {
            entries: vec![
                file("output.txt", 1_234),
                file("summary.json", 512),
                folder(
                    "figures",
                    vec![file("plot.png", 48_213), file("histogram.svg", 9_876)],
                ),
                folder(
                    "tables",
                    vec![
                        file("counts.csv", 20_480),
                        folder(
                            "per-sample",
                            vec![file("s1.csv", 4_096), file("s2.csv", 4_097)],
                        ),
                    ],
                ),
                folder("logs", vec![]),
            ],
            generate: None,
        };
        Self {
            capsules: vec![
                Runnable {
                    id: "c0ffee00-0000-4000-8000-000000000001".into(),
                    name: "Hello results".into(),
                    description: "Writes a small tree of results.".into(),
                    slug: Some("1234567".into()),
                    parameters: Some(vec!["greeting".into(), "count".into()]),
                    processes: vec![],
                    versions: 2,
                    git_remote: Some("https://git.example.org/lab/hello-results.git".into()),
                    run: RunPlan {
                        results: tree,
                        ..RunPlan::default()
                    },
                },
                Runnable {
                    id: "c0ffee00-0000-4000-8000-000000000002".into(),
                    name: "Always fails".into(),
                    description: "Exits with status 1 after a few seconds.".into(),
                    slug: Some("2345678".into()),
                    parameters: None,
                    processes: vec![],
                    versions: 0,
                    git_remote: None,
                    run: RunPlan {
                        running: 3.0,
                        end_status: "failed".into(),
                        exit_code: 1,
                        results: Tree {
                            entries: vec![file("error.log", 321)],
                            generate: None,
                        },
                        seed: 2,
                        ..RunPlan::default()
                    },
                },
                Runnable {
                    id: "c0ffee00-0000-4000-8000-000000000003".into(),
                    name: "Big tree".into(),
                    description: "A 2,000-file result tree four folders deep.".into(),
                    slug: Some("3456789".into()),
                    parameters: None,
                    processes: vec![],
                    versions: 0,
                    git_remote: None,
                    run: RunPlan {
                        results: Tree {
                            entries: vec![],
                            // 1 + 3 + 9 + 27 + 81 = 121 folders; 121 * 16 = 1,936 files + 64.
                            generate: Some(Generated {
                                depth: 4,
                                folders: 3,
                                files: 16,
                                size: 4_096,
                            }),
                        },
                        seed: 3,
                        ..RunPlan::default()
                    },
                },
            ],
            pipelines: vec![Runnable {
                id: "c0ffee00-0000-4000-8000-00000000000a".into(),
                name: "Align and count".into(),
                description: "A two-process Nextflow pipeline.".into(),
                slug: Some("4567890".into()),
                parameters: None,
                processes: vec!["capsule_align_1".into(), "capsule_count_2".into()],
                versions: 1,
                git_remote: Some("https://git.example.org/lab/align-and-count.git".into()),
                run: RunPlan {
                    results: Tree {
                        entries: vec![folder("capsule_count_2", vec![file("counts.tsv", 65_537)])],
                        generate: None,
                    },
                    seed: 4,
                    ..RunPlan::default()
                },
            }],
            data_assets: vec![InputAsset {
                id: "da7a0000-0000-4000-8000-000000000001".into(),
                name: "Reference genome".into(),
                mount: "reference".into(),
                size: 0,
                files: 0,
                tree: Tree {
                    entries: vec![
                        file("README.md", 1_234),
                        folder(
                            "genome",
                            vec![
                                file("GRCh38.fa", 131_079),
                                file("GRCh38.fa.fai", 893),
                                folder(
                                    "chromosomes",
                                    vec![
                                        file("chr1.fa", 65_537),
                                        file("chr2.fa", 65_536),
                                        file("chrX.fa", 40_000),
                                    ],
                                ),
                            ],
                        ),
                        folder(
                            "annotation",
                            vec![file("genes.gtf", 54_321), file("transcripts.gtf", 33_333)],
                        ),
                        folder("index", vec![]),
                    ],
                    generate: None,
                },
            }],
            buckets: builtin_buckets(),
        }
    }
}

/// The built-in buckets (see [`Catalogue::builtin`]).
fn builtin_buckets() -> Vec<Bucket> {
    let objects = |list: &[(&str, u64)]| {
        list.iter()
            .map(|(path, size)| Object {
                path: (*path).into(),
                size: *size,
            })
            .collect()
    };
    vec![
        Bucket {
            provider: Provider::Aws,
            name: "sim-s3-data".into(),
            public: false,
            files: objects(&[
                ("raw/README.md", 2_345),
                ("raw/sample-1/reads.fastq", 70_001),
                ("raw/sample-1/meta/info.json", 321),
                ("raw/sample-2/reads.fastq", 65_539),
                ("raw/sample-2/meta/info.json", 333),
                ("reference/genome.fa", 131_075),
                ("reference/genome.fa.fai", 456),
            ]),
            generate: None,
        },
        Bucket {
            provider: Provider::Aws,
            name: "sim-s3-open".into(),
            public: true,
            files: objects(&[("shared/table.csv", 12_288), ("shared/docs/notes.txt", 777)]),
            generate: None,
        },
        Bucket {
            provider: Provider::Gcp,
            name: "sim-gcs-data".into(),
            public: false,
            files: objects(&[
                ("images/index.csv", 1_024),
                ("images/2024/01/a.tif", 100_003),
                ("images/2024/02/b.tif", 90_001),
            ]),
            generate: None,
        },
        Bucket {
            provider: Provider::Aws,
            name: "sim-s3-results".into(),
            public: false,
            files: vec![],
            generate: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_valid_and_trees_flatten() {
        let c = Catalogue::builtin();
        c.validate().unwrap();
        let flat = c.capsules[0].run.results.flatten().unwrap();
        assert!(matches!(
            flat.entries["tables/per-sample/s2.csv"],
            Entry::File(4_097)
        ));
        assert!(matches!(&flat.entries["logs"], Entry::Folder(c) if c.is_empty()));
        let big = c.capsules[2].run.results.flatten().unwrap();
        let (files, bytes) = big.totals();
        assert_eq!(files, 121 * 16);
        assert_eq!(bytes, 121 * 16 * 4_096);
        assert!(
            big.entries
                .contains_key("dir-002/dir-001/dir-000/dir-002/file-0015.bin")
        );
    }

    #[test]
    fn subtrees_are_rebased() {
        let c = Catalogue::builtin();
        let flat = c.capsules[0].run.results.flatten().unwrap();
        let sub = flat.subtree("tables").unwrap();
        assert!(matches!(&sub.entries[""], Entry::Folder(c) if c == &["counts.csv", "per-sample"]));
        assert!(matches!(
            &sub.entries["per-sample"],
            Entry::Folder(c) if c == &["per-sample/s1.csv", "per-sample/s2.csv"]
        ));
        assert_eq!(sub.totals(), (3, 20_480 + 4_096 + 4_097));
        assert!(flat.subtree("output.txt").is_none());
        assert!(flat.subtree("nowhere").is_none());
        assert_eq!(flat.subtree("").unwrap().totals(), flat.totals());
        let (files, size) = c.data_assets[0].totals().unwrap();
        assert_eq!(
            (files, size),
            (
                8,
                1_234 + 131_079 + 893 + 65_537 + 65_536 + 40_000 + 54_321 + 33_333
            )
        );
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        for name in ["..", ".", "", "a/b"] {
            let tree = Tree {
                entries: vec![Node::File {
                    name: name.into(),
                    size: 1,
                }],
                generate: None,
            };
            assert!(tree.flatten().is_err(), "{name:?} accepted");
        }
        let mut c = Catalogue::builtin();
        c.capsules[0].run.end_status = "done".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn yaml_fixture_parses() {
        let yaml = r#"
capsules:
  - id: cap-1
    name: Tiny
    run:
      running: 1
      results:
        entries:
          - {name: a.txt, size: 3}
          - name: sub
            children: [{name: b.txt, size: 5}]
"#;
        let c: Catalogue = serde_norway::from_str(yaml).unwrap();
        c.validate().unwrap();
        let flat = c.capsules[0].run.results.flatten().unwrap();
        assert_eq!(flat.totals(), (2, 8));
    }
}
