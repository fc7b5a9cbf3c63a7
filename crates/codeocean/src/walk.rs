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
    /// Every path already yielded or queued: a listing that repeats an entry, or names a
    /// folder again (a cycle), cannot make the walk yield it twice or run forever.
    seen: HashSet<String>,
}

impl Walk {
    /// Takes in the entries of one listed folder.
    fn take(&mut self, folder: &str, items: Vec<ResultItem>) {
        for item in items {
            let path = item.path.trim_matches('/').to_owned();
            if item.type_ == ResultItemType::Folder {
                // A sub-folder must be strictly inside the folder listed; anything else would
                // let a server send the walk around in circles.
                let inside = if folder.is_empty() {
                    !path.is_empty()
                } else {
                    path.strip_prefix(folder)
                        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
                };
                if !inside {
                    self.ready.push_back(Err(Error::new(
                        ErrorKind::Decode,
                        format!("walking the {}", self.source.tree()),
                        format!(
                            "the listing of `{folder}` names folder `{}`, which is not inside \
                             it; not followed",
                            item.path
                        ),
                    )));
                    continue;
                }
            }
            if !self.seen.insert(path.clone()) {
                tracing::debug!(path, "a listing repeated an entry; skipped");
                continue;
            }
            if item.type_ == ResultItemType::Folder {
                self.folders.push_back(path);
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
    /// on with the others. An entry a server lists twice is yielded once, and a folder that is
    /// not inside the folder listed (a cycle) is reported as an error and not followed.
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
            seen: HashSet::new(),
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
