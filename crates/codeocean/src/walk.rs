//! Walking a file tree (a computation's results or a data asset's files), listing folders
//! concurrently.

use std::collections::{HashSet, VecDeque};

use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt as _};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::source::Source;
use crate::{ResultItem, ResultItemType};

type Listing =
    std::pin::Pin<Box<dyn std::future::Future<Output = (String, Result<Vec<ResultItem>>)> + Send>>;

struct Walk {
    client: Client,
    source: Source,
    limit: usize,
    folders: VecDeque<String>,
    listing: FuturesUnordered<Listing>,
    ready: VecDeque<Result<ResultItem>>,
}

/// The folder that directly holds `path` (`""` for the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

impl Walk {
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
                self.ready.push_back(Err(Error::new(
                    kind,
                    format!("walking the {}", self.source.tree()),
                    format!(
                        "the listing of `{folder}` names {what} `{}`, which is not directly \
                         inside it; {outcome}",
                        item.path
                    ),
                )));
                continue;
            }
            if !here.insert(path.to_owned()) {
                tracing::debug!(path, "a listing repeated an entry; skipped");
                continue;
            }
            if item.type_ == ResultItemType::Folder {
                self.folders.push_back(path.to_owned());
            }
            self.ready.push_back(Ok(item));
        }
    }
}

impl Client {
    /// Every entry under a computation's results (or under the folder `path`; `""` is the
    /// root), folders included, in no particular order. Folders are listed concurrently (up to
    /// `concurrency` at once, within the client's API limit), so a deep tree costs about its
    /// depth in round trips. A folder that cannot be listed yields its error and the walk goes
    /// on with the others. An entry a server lists twice is yielded once; an entry that is not
    /// directly inside the folder listed (a cycle, a path with `..`, a deeper path) is reported
    /// as an error (a folder: [`ErrorKind::Decode`], not followed; a file:
    /// [`ErrorKind::UnsafePath`], not yielded). Memory does not grow with the number of
    /// entries walked: no set of seen paths is kept.
    pub fn walk_results(
        &self,
        computation_id: &str,
        path: &str,
        concurrency: usize,
    ) -> impl Stream<Item = Result<ResultItem>> + Send + 'static {
        self.walk(Source::results(computation_id), path, concurrency)
    }

    /// Every entry under a data asset's files (or under the folder `path`; `""` is the root),
    /// folders included, in no particular order: [`walk_results`](Client::walk_results) for a
    /// data asset, with the same concurrency and the same guarantees (each entry once, cycles
    /// reported and not followed). Only internal data assets list their files.
    pub fn walk_data_asset(
        &self,
        data_asset_id: &str,
        path: &str,
        concurrency: usize,
    ) -> impl Stream<Item = Result<ResultItem>> + Send + 'static {
        self.walk(Source::data_asset(data_asset_id), path, concurrency)
    }

    /// The walk of either source.
    pub(crate) fn walk(
        &self,
        source: Source,
        path: &str,
        concurrency: usize,
    ) -> impl Stream<Item = Result<ResultItem>> + Send + 'static {
        let walk = Walk {
            client: self.clone(),
            source,
            limit: concurrency.max(1),
            folders: VecDeque::from([path.trim_matches('/').to_owned()]),
            listing: FuturesUnordered::new(),
            ready: VecDeque::new(),
        };
        futures_util::stream::unfold(walk, |mut w| async move {
            loop {
                if let Some(item) = w.ready.pop_front() {
                    return Some((item, w));
                }
                while w.listing.len() < w.limit {
                    let Some(folder) = w.folders.pop_front() else {
                        break;
                    };
                    let client = w.client.clone();
                    let source = w.source.clone();
                    w.listing.push(Box::pin(async move {
                        let items = source.list(&client, &folder).await;
                        (folder, items)
                    }));
                }
                let (folder, items) = w.listing.next().await?;
                match items {
                    Ok(items) => w.take(&folder, items),
                    Err(e) => w.ready.push_back(Err(e)),
                }
            }
        })
    }
}
