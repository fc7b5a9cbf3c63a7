//! Cross-crate integration tests: the spec's shape, and what the generated types decode — every
//! example of the API documents, the current form of each object, and hostile variants; and the
//! fault soak of the client against the simulator.

mod fixtures;
mod raw;
mod soak;
mod spec;

use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives one level below the workspace root")
        .to_path_buf()
}
