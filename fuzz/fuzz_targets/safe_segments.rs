//! `safe_segments` on arbitrary bytes (read both as lossy UTF-8 and, when they are, as valid
//! UTF-8): an accepted path never escapes its destination.

#![no_main]

use std::path::{Component, Path};

use codeocean::{ErrorKind, safe_segments};
use libfuzzer_sys::fuzz_target;

fn check(path: &str) {
    let Ok(segments) = safe_segments(path) else {
        let e = safe_segments(path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath, "{path:?}: {e}");
        return;
    };
    assert!(!segments.is_empty(), "{path:?}");
    // Joined with `/`, the segments are the path itself: nothing was dropped or rewritten.
    assert_eq!(segments.join("/"), path);
    let dest = Path::new("/dest");
    let mut joined = dest.to_path_buf();
    for s in &segments {
        assert!(!s.is_empty(), "{path:?}: empty segment");
        assert!(*s != "." && *s != "..", "{path:?}: {s:?}");
        assert!(
            !s.contains('/') && !s.contains('\\'),
            "{path:?}: separator in {s:?}"
        );
        assert!(!s.contains('\0'), "{path:?}: NUL in {s:?}");
        // Each segment is exactly one normal component: no root, prefix, `.` or `..`.
        let mut components = Path::new(s).components();
        assert!(
            matches!(components.next(), Some(Component::Normal(c)) if c == *s),
            "{path:?}: {s:?} is not one plain name"
        );
        assert!(components.next().is_none(), "{path:?}: {s:?} splits");
        joined.push(s);
    }
    assert!(
        joined.starts_with(dest),
        "{path:?} escapes to {}",
        joined.display()
    );
    assert_eq!(joined.components().count(), 2 + segments.len(), "{path:?}");
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});
