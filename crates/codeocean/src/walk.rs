//! Walking a file tree (a computation's results or a data asset's files), listing folders
//! concurrently.

use std::collections::{HashSet, VecDeque};

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use futures_util::stream::FuturesUnordered;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::tree::Tree;
use crate::{ResultItem, ResultItemType};

/// How far a walk may go, so that it ends whatever the server lists: a server whose folders
/// nest without end, or that lists entries without end, stops at these caps with an error of
/// kind [`ErrorKind::Paging`] that names the cap. Start from [`WalkLimits::default`]; a
/// [`Walk`] takes them one by one too ([`Walk::max_depth`], [`Walk::max_entries`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkLimits {
    /// Deepest folder listed, in levels below the folder the walk starts at (default
    /// [`DEFAULT_MAX_DEPTH`]). A folder deeper than this is reported and not listed; the walk
    /// goes on with the others.
    pub max_depth: usize,
    /// Most entries (files and folders) yielded (default [`DEFAULT_MAX_ENTRIES`]); the walk
    /// ends with an error once it is reached and more entries follow.
    pub max_entries: u64,
}

/// Default [`WalkLimits::max_depth`]: 100 levels. Linux allows paths of 4096 bytes, so 100
/// levels leave 40 bytes a name; result trees are rarely a tenth as deep.
pub const DEFAULT_MAX_DEPTH: usize = 100;

/// Default [`WalkLimits::max_entries`]: a million entries, twenty times the largest tree the
/// benchmarks download (50,000 files); a walk's memory does not grow with it.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;

impl Default for WalkLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

impl WalkLimits {
    /// Sets [`max_depth`](Self::max_depth).
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = levels;
        self
    }

    /// Sets [`max_entries`](Self::max_entries).
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }
}

/// One folder's listing, on a task of its own: it runs to its end whether or not the walk is
/// being polled. (A listing polled only with the walk would hold its place in the client's API
/// limiter, unanswered, while the walk's consumer is busy: a download whose URL calls wait for
/// that place would wait for ever.) Dropped, it aborts its task. At most `limit` of them exist,
/// so what they hold once done stays bounded.
struct Listing(tokio::task::JoinHandle<(String, Result<Vec<ResultItem>>)>);

impl Listing {
    fn spawn(client: Client, tree: Tree, folder: String) -> Self {
        Listing(tokio::spawn(async move {
            let items = tree.list(&client, &folder).await;
            (folder, items)
        }))
    }
}

impl std::future::Future for Listing {
    type Output = (String, Result<Vec<ResultItem>>);

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|done| match done {
                Ok(listed) => listed,
                // A listing that panicked panics the walk, as it would have inline.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Only `Drop` aborts it, and then it is never polled again.
                Err(e) => unreachable!("a listing task ended without an answer: {e}"),
            })
    }
}

impl Drop for Listing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct WalkState {
    client: Client,
    tree: Tree,
    limit: usize,
    limits: WalkLimits,
    /// Segments of the folder the walk started at (depth is counted below it).
    root_depth: usize,
    /// Entries yielded so far.
    entries: u64,
    /// The entry cap was reached, or the API refused the credentials: nothing more is listed,
    /// and the walk ends once what is ready has been yielded.
    capped: bool,
    folders: VecDeque<String>,
    listing: FuturesUnordered<Listing>,
    ready: VecDeque<Result<ResultItem>>,
}

/// The folder that directly holds `path` (`""` for the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

impl WalkState {
    /// Takes in the entries of one listed folder.
    ///
    /// Only direct children of the folder listed are taken, each once. That is what makes the
    /// walk end and yield every path at most once without remembering the paths it has seen
    /// (memory stays flat in the size of the tree): a path has exactly one parent, which is
    /// listed once, so no folder is queued twice and no cycle can form.
    fn take(&mut self, folder: &str, items: Vec<ResultItem>) {
        let mut here = HashSet::with_capacity(items.len());
        for item in items {
            let path = item.path.trim_matches('/');
            if path.is_empty() || parent(path) != folder {
                let (kind, what, outcome) = if item.type_ == ResultItemType::Folder {
                    (ErrorKind::Decode, "folder", "not followed")
                } else {
                    (ErrorKind::UnsafePath, "file", "not downloaded")
                };
                self.report(
                    kind,
                    format!(
                        "the listing of `{folder}` names {what} `{}`, which is not directly \
                         inside it; {outcome}",
                        item.path
                    ),
                );
                continue;
            }
            if !here.insert(path.to_owned()) {
                tracing::debug!(path, "a listing repeated an entry; skipped");
                continue;
            }
            if self.entries >= self.limits.max_entries {
                self.capped = true;
                self.folders.clear();
                self.report(
                    ErrorKind::Paging,
                    format!(
                        "stopped after {} entries, the cap (max_entries); more were listed. \
                         Raise it (WalkLimits::max_entries, Download::max_entries, \
                         --max-entries) if the tree is really this large",
                        self.limits.max_entries
                    ),
                );
                return;
            }
            self.entries += 1;
            if item.type_ == ResultItemType::Folder {
                let depth = path.split('/').count().saturating_sub(self.root_depth);
                if depth > self.limits.max_depth {
                    self.report(
                        ErrorKind::Paging,
                        format!(
                            "the folder `{path}` is {depth} levels deep, beyond the cap of {} \
                             (max_depth); not listed. Raise it (WalkLimits::max_depth, \
                             Download::max_depth, --max-depth) if the tree is really this deep",
                            self.limits.max_depth
                        ),
                    );
                } else {
                    self.folders.push_back(path.to_owned());
                }
            }
            self.ready.push_back(Ok(item));
        }
    }

    /// Yields an error of the walk (the walk goes on unless the caller ends it).
    fn report(&mut self, kind: ErrorKind, detail: String) {
        let context = format!("walking the {}", self.tree.named());
        self.ready.push_back(Err(Error::new(kind, context, detail)));
    }
}

/// Default [`Walk::concurrency`]: folders listed at once.
const DEFAULT_LIST_CONCURRENCY: usize = 16;

/// A walk of a file tree (a computation's results or a data asset's files): made by
/// [`Client::walk_results`], [`Client::walk_data_asset`] or [`Client::walk_tree`], adjusted
/// with its methods, and turned into the stream of entries by [`stream`](Self::stream).
///
/// The stream yields every entry under the tree (or under the folder [`path`](Self::path)),
/// folders included, in no particular order. Folders are listed concurrently (up to
/// [`concurrency`](Self::concurrency) at once, within the client's API limit), so a deep tree
/// costs about its depth in round trips. A folder that cannot be listed yields its error and
/// the walk goes on with the others. An entry a server lists twice is yielded once; an entry
/// that is not directly inside the folder listed (a cycle, a path with `..`, a deeper path) is
/// reported as an error (a folder: [`ErrorKind::Decode`], not followed; a file:
/// [`ErrorKind::UnsafePath`], not yielded). Memory does not grow with the number of entries
/// walked: no set of seen paths is kept. The walk ends at its caps ([`WalkLimits`]: 100
/// levels, a million entries by default), with an error of kind [`ErrorKind::Paging`].
///
/// ```no_run
/// use futures_util::StreamExt as _;
///
/// # async fn example(client: &codeocean::Client) -> codeocean::Result<()> {
/// let mut entries = client
///     .walk_results("66095e3a-0000-4000-8000-000000000001")
///     .path("figures")
///     .concurrency(8)
///     .stream();
/// while let Some(entry) = entries.next().await {
///     println!("{}", entry?.path);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a walk does nothing until its `.stream()` is polled"]
pub struct Walk {
    client: Client,
    tree: Tree,
    path: String,
    concurrency: usize,
    limits: WalkLimits,
}

impl Walk {
    /// Only the entries under this folder (default `""`: the whole tree).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Folders listed at once (default 16; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Deepest folder listed, in levels below [`path`](Self::path) (default
    /// [`DEFAULT_MAX_DEPTH`]); a deeper folder is reported and not listed.
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.limits.max_depth = levels;
        self
    }

    /// Most entries yielded (default [`DEFAULT_MAX_ENTRIES`]); the walk ends with an error
    /// once it is reached and more entries follow.
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.limits.max_entries = entries;
        self
    }

    /// Both caps at once.
    pub fn limits(mut self, limits: WalkLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The entries, as a stream ([`Unpin`]: `.next()` needs no pinning). Nothing is listed
    /// before it is polled.
    pub fn stream(self) -> BoxStream<'static, Result<ResultItem>> {
        let root = self.path.trim_matches('/');
        let walk = WalkState {
            client: self.client,
            tree: self.tree,
            limit: self.concurrency.max(1),
            limits: self.limits,
            root_depth: if root.is_empty() {
                0
            } else {
                root.split('/').count()
            },
            entries: 0,
            capped: false,
            folders: VecDeque::from([root.to_owned()]),
            listing: FuturesUnordered::new(),
            ready: VecDeque::new(),
        };
        futures_util::stream::unfold(walk, |mut w| async move {
            loop {
                if let Some(item) = w.ready.pop_front() {
                    return Some((item, w));
                }
                if w.capped {
                    return None;
                }
                while w.listing.len() < w.limit {
                    let Some(folder) = w.folders.pop_front() else {
                        break;
                    };
                    let listing = Listing::spawn(w.client.clone(), w.tree.clone(), folder);
                    w.listing.push(listing);
                }
                let (folder, items) = w.listing.next().await?;
                match items {
                    Ok(items) => w.take(&folder, items),
                    Err(e) => {
                        if e.is_credentials_refused() {
                            // Every other listing would be refused too: end the walk here.
                            w.folders.clear();
                            w.capped = true;
                        }
                        w.ready.push_back(Err(e));
                    }
                }
            }
        })
        .boxed()
    }
}

impl Client {
    /// A walk of a computation's results: every entry, folders included, once its
    /// [`stream`](Walk::stream) is polled; see [`Walk`] for what it guarantees and how to
    /// narrow it (`.path("figures")`, `.concurrency(8)`, `.max_depth(10)`).
    pub fn walk_results(&self, computation_id: &str) -> Walk {
        self.walk_tree(&Tree::results(computation_id))
    }

    /// A walk of a data asset's files: [`walk_results`](Client::walk_results) for a data
    /// asset, with the same guarantees ([`Walk`]). Only internal data assets list their files.
    pub fn walk_data_asset(&self, data_asset_id: &str) -> Walk {
        self.walk_tree(&Tree::data_asset(data_asset_id))
    }

    /// A walk of a tree: [`walk_results`](Client::walk_results) or
    /// [`walk_data_asset`](Client::walk_data_asset), for code that picks the kind of tree at
    /// run time.
    pub fn walk_tree(&self, tree: &Tree) -> Walk {
        Walk {
            client: self.clone(),
            tree: tree.clone(),
            path: String::new(),
            concurrency: DEFAULT_LIST_CONCURRENCY,
            limits: WalkLimits::default(),
        }
    }
}
