//! Unified diffs of drop-in files and of manual edits, paths as seen inside the root.

use similar::TextDiff;

/// The unified diff that creates `path` with `content` (from `/dev/null`).
pub fn new_file_diff(path: &str, content: &str) -> String {
    TextDiff::from_lines("", content)
        .unified_diff()
        .context_radius(3)
        .header("/dev/null", path)
        .to_string()
}

/// The unified diff of `path` from `before` to `after`, with three lines of context; empty
/// when they are the same.
pub fn edit_diff(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
}
