//! Searching capsules, pipelines and data assets, as streams that page by themselves and
//! always end.
//!
//! A search pages with `offset` and `limit`, which every server generation understands. It
//! ends when a page says `has_more: false`. A server that says more results follow but sends
//! no page that makes progress (an empty page, or one holding only results already yielded,
//! as a server that ignores `offset` does) ends the stream with an error of kind
//! [`ErrorKind::Paging`] instead of looping; so does reaching the page cap
//! ([`max_pages`](CapsuleSearch::max_pages)). Each result is yielded once, by id, even when
//! pages overlap.
//!
//! The searches return a [`SearchStream`]: a named stream that is `Unpin`, so
//! `StreamExt::next` and `TryStreamExt::try_next` work on it without pinning it first.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use codeocean_raw::{Operation, types};
use futures_util::Stream;

use crate::apps::App;
use crate::client::{Client, op};
use crate::error::{Error, ErrorKind, Result};
use crate::{
    Capsule, CapsuleSortBy, CapsuleStatus, CustomMetadataValue, DataAsset, DataAssetSearchOrigin,
    DataAssetSortBy, DataAssetType, Ownership, SortOrder,
};

/// Results asked for per page unless set otherwise (the server's own default).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page the API serves.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Pages fetched at most by one search unless set otherwise: 100,000 results at the default
/// page size.
pub const DEFAULT_MAX_PAGES: usize = 1000;

/// A field-level filter of a search: values of one field to include (or exclude).
///
/// ```
/// use codeocean::Filter;
///
/// let tagged = Filter::any_of("tags", ["rna", "dna"]);
/// let recent = Filter::range("year", Some(2020.0), None);
/// let not_draft = Filter::equals("stage", "draft").exclude();
/// assert_eq!(not_draft.as_raw().exclude, Some(true));
/// # let _ = (tagged, recent);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a filter does nothing until added to a search with `.filter(..)`"]
pub struct Filter(types::SearchFilter);

impl Filter {
    fn key(key: impl Into<String>) -> types::SearchFilter {
        types::SearchFilter {
            exclude: None,
            key: key.into(),
            range: None,
            value: None,
            values: None,
        }
    }

    /// The field `key` has this value (a string, or a number for number and date fields).
    pub fn equals(key: impl Into<String>, value: impl Into<CustomMetadataValue>) -> Self {
        Self(types::SearchFilter {
            value: Some(value.into()),
            ..Self::key(key)
        })
    }

    /// The field `key` has one of these values.
    pub fn any_of<I, V>(key: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<CustomMetadataValue>,
    {
        Self(types::SearchFilter {
            values: Some(values.into_iter().map(Into::into).collect()),
            ..Self::key(key)
        })
    }

    /// The numeric field `key` is within a range (`None`: unbounded on that side).
    pub fn range(key: impl Into<String>, min: Option<f64>, max: Option<f64>) -> Self {
        Self(types::SearchFilter {
            range: Some(types::SearchFilterRange { max, min }),
            ..Self::key(key)
        })
    }

    /// Excludes the values instead of including them.
    pub fn exclude(mut self) -> Self {
        self.0.exclude = Some(true);
        self
    }

    /// The wire form.
    pub fn as_raw(&self) -> &types::SearchFilter {
        &self.0
    }
}

/// How a search pages: results per page and the most pages it fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Paging {
    page_size: u32,
    max_pages: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}

macro_rules! paging_setters {
    () => {
        /// Results asked for per page (default 100; clamped to 1..=1000, the API's range).
        pub fn page_size(mut self, n: u32) -> Self {
            self.paging.page_size = n.clamp(1, MAX_PAGE_SIZE);
            self
        }

        /// The most pages the search fetches (default 1,000). When more results follow the
        /// last page allowed, the stream ends with an error of kind [`ErrorKind::Paging`]
        /// saying so, after yielding the results fetched.
        pub fn max_pages(mut self, n: usize) -> Self {
            self.paging.max_pages = n.max(1);
            self
        }

        /// A free-text query, with `field:value` terms (see the API documents).
        pub fn query(mut self, query: impl Into<String>) -> Self {
            self.raw.query = Some(query.into());
            self
        }

        /// Only items of this ownership.
        pub fn ownership(mut self, ownership: Ownership) -> Self {
            self.raw.ownership = Some(ownership);
            self
        }

        /// Only (`true`) the caller's favourites.
        pub fn favorite(mut self, favorite: bool) -> Self {
            self.raw.favorite = Some(favorite);
            self
        }

        /// Only (`true`) archived items.
        pub fn archived(mut self, archived: bool) -> Self {
            self.raw.archived = Some(archived);
            self
        }

        /// Adds a field-level filter.
        pub fn filter(mut self, filter: Filter) -> Self {
            self.raw.filters.get_or_insert_default().push(filter.0);
            self
        }
    };
}

/// A search of capsules or pipelines ([`Client::search_capsules`],
/// [`Client::search_pipelines`]).
///
/// ```
/// use codeocean::{CapsuleSearch, CapsuleSortBy, SortOrder};
///
/// let search = CapsuleSearch::new()
///     .query("tag:genomics")
///     .sort(CapsuleSortBy::Name, SortOrder::Ascending)
///     .page_size(200);
/// assert_eq!(search.as_raw().query.as_deref(), Some("tag:genomics"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a search does nothing until passed to `search_capsules` (or `search_pipelines`) and streamed"]
pub struct CapsuleSearch {
    raw: types::CapsuleSearchRequest,
    paging: Paging,
}

impl CapsuleSearch {
    /// Everything the caller can see.
    pub fn new() -> Self {
        Self::default()
    }

    paging_setters!();

    /// Sorts by a field, in an order.
    pub fn sort(mut self, field: CapsuleSortBy, order: SortOrder) -> Self {
        self.raw.sort_field = Some(field);
        self.raw.sort_order = Some(order);
        self
    }

    /// Only items of this status (`release` or `non_release`).
    pub fn status(mut self, status: CapsuleStatus) -> Self {
        self.raw.status = Some(status);
        self
    }

    /// The wire form (without the paging fields, which the stream sets).
    pub fn as_raw(&self) -> &types::CapsuleSearchRequest {
        &self.raw
    }
}

impl From<types::CapsuleSearchRequest> for CapsuleSearch {
    fn from(raw: types::CapsuleSearchRequest) -> Self {
        Self {
            raw,
            paging: Paging::default(),
        }
    }
}

/// A search of data assets ([`Client::search_data_assets`]).
///
/// ```
/// use codeocean::{DataAssetSearch, DataAssetType};
///
/// let search = DataAssetSearch::new().query("name:RNA-seq").asset_type(DataAssetType::Result);
/// assert_eq!(search.as_raw().type_, Some(DataAssetType::Result));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a search does nothing until passed to `search_data_assets` and streamed"]
pub struct DataAssetSearch {
    raw: types::DataAssetSearchRequest,
    paging: Paging,
}

impl DataAssetSearch {
    /// Every data asset the caller can see.
    pub fn new() -> Self {
        Self::default()
    }

    paging_setters!();

    /// Sorts by a field, in an order.
    pub fn sort(mut self, field: DataAssetSortBy, order: SortOrder) -> Self {
        self.raw.sort_field = Some(field);
        self.raw.sort_order = Some(order);
        self
    }

    /// Only data assets of this type.
    pub fn asset_type(mut self, asset_type: DataAssetType) -> Self {
        self.raw.type_ = Some(asset_type);
        self
    }

    /// Only internal or only external data assets.
    pub fn origin(mut self, origin: DataAssetSearchOrigin) -> Self {
        self.raw.origin = Some(origin);
        self
    }

    /// The wire form (without the paging fields, which the stream sets).
    pub fn as_raw(&self) -> &types::DataAssetSearchRequest {
        &self.raw
    }
}

impl From<types::DataAssetSearchRequest> for DataAssetSearch {
    fn from(raw: types::DataAssetSearchRequest) -> Self {
        Self {
            raw,
            paging: Paging::default(),
        }
    }
}

/// The results of a search, page after page: a [`Stream`] of `Result<T>` that fetches each page
/// when the results before it have been taken, and ends after the last page (or after an
/// error, which is its last item). Returned by [`Client::search_capsules`],
/// [`Client::search_pipelines`], [`Client::search_apps`] and [`Client::search_data_assets`].
///
/// It is `Unpin` (the paging state is boxed inside), so `StreamExt::next` and
/// `TryStreamExt::try_next` take it as it is, without `pin!`; and it is `Send`, so a task
/// can own it. Nothing is sent until the stream is polled.
///
/// ```no_run
/// use codeocean::CapsuleSearch;
/// use futures_util::StreamExt as _;
///
/// # async fn example(client: &codeocean::Client) -> codeocean::Result<()> {
/// let mut found = client.search_capsules(&CapsuleSearch::new().query("tag:genomics"));
/// while let Some(capsule) = found.next().await {
///     println!("{}", capsule?.id);
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a search sends nothing until its stream is polled (`.next().await`, `.try_collect()`, …)"]
pub struct SearchStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
}

impl<T> SearchStream<T> {
    fn new(inner: impl Stream<Item = Result<T>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<T> Stream for SearchStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> std::fmt::Debug for SearchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchStream").finish_non_exhaustive()
    }
}

/// One page: its results and whether more follow.
type Page<T> = Pin<Box<dyn Future<Output = Result<(Vec<T>, bool)>> + Send>>;
/// Fetches the page at an offset with a limit.
type Fetch<T> = Arc<dyn Fn(i64, i64) -> Page<T> + Send + Sync>;

struct Pager<T> {
    fetch: Fetch<T>,
    id: fn(&T) -> &str,
    /// "searching data assets", for messages.
    what: &'static str,
    paging: Paging,
    offset: i64,
    pages: usize,
    seen: HashSet<String>,
    ready: VecDeque<T>,
    done: bool,
}

impl<T: Send + 'static> Pager<T> {
    /// A pager at its first page.
    fn new(fetch: Fetch<T>, id: fn(&T) -> &str, what: &'static str, paging: Paging) -> Self {
        Self {
            fetch,
            id,
            what,
            paging,
            offset: 0,
            pages: 0,
            seen: HashSet::new(),
            ready: VecDeque::new(),
            done: false,
        }
    }

    fn stream(self) -> SearchStream<T> {
        SearchStream::new(futures_util::stream::unfold(self, |mut p| async move {
            loop {
                if let Some(item) = p.ready.pop_front() {
                    return Some((Ok(item), p));
                }
                if p.done {
                    return None;
                }
                match p.next_page().await {
                    Ok(()) => {}
                    Err(e) => {
                        p.done = true;
                        return Some((Err(e), p));
                    }
                }
            }
        }))
    }

    fn paging_error(&self, detail: String) -> Error {
        Error::new(ErrorKind::Paging, self.what, detail)
    }

    /// Fetches the next page into `ready`, or says why paging cannot go on.
    async fn next_page(&mut self) -> Result<()> {
        if self.pages >= self.paging.max_pages {
            return Err(self.paging_error(format!(
                "stopped after {} pages of {} ({} results), the page cap: more results follow; \
                 narrow the search or raise max_pages",
                self.pages,
                self.paging.page_size,
                self.seen.len()
            )));
        }
        let (results, has_more) =
            (self.fetch)(self.offset, i64::from(self.paging.page_size)).await?;
        self.pages += 1;
        let n = results.len();
        let mut fresh = 0usize;
        for item in results {
            if self.seen.insert((self.id)(&item).to_owned()) {
                self.ready.push_back(item);
                fresh += 1;
            }
        }
        if !has_more {
            self.done = true;
            return Ok(());
        }
        if n == 0 {
            return Err(self.paging_error(format!(
                "the server said more results follow but sent an empty page at offset {}; \
                 stopping instead of asking forever",
                self.offset
            )));
        }
        if fresh == 0 {
            return Err(self.paging_error(format!(
                "the server said more results follow but the page at offset {} repeats only \
                 results already seen (does it ignore `offset`?); stopping instead of asking \
                 forever",
                self.offset
            )));
        }
        self.offset += n as i64;
        Ok(())
    }
}

impl Client {
    /// Every capsule or every pipeline matching a search, page after page:
    /// [`search_capsules`](Client::search_capsules) or
    /// [`search_pipelines`](Client::search_pipelines), the family picked at run time.
    pub fn search_apps(&self, app: App, search: &CapsuleSearch) -> SearchStream<Capsule> {
        let client = self.clone();
        let raw = search.raw.clone();
        let (operation, what) = match app {
            App::Capsule => (Operation::SearchCapsules, "searching capsules"),
            App::Pipeline => (Operation::SearchPipelines, "searching pipelines"),
        };
        let fetch: Fetch<Capsule> = Arc::new(move |offset, limit| {
            let client = client.clone();
            let body = types::CapsuleSearchRequest {
                offset: Some(offset),
                limit: Some(limit),
                next_token: None,
                ..raw.clone()
            };
            Box::pin(async move {
                let what = format!("{what} (offset {offset})");
                // A search reads only: safe to retry although it is a POST.
                let page = client
                    .send(op(operation, what), || {
                        let (client, body) = (&client, &body);
                        async move {
                            match app {
                                App::Capsule => client.raw().search_capsules(body).await,
                                App::Pipeline => client.raw().search_pipelines(body).await,
                            }
                        }
                    })
                    .await?;
                Ok((page.results, page.has_more))
            })
        });
        Pager::new(fetch, |c: &Capsule| c.id.as_str(), what, search.paging).stream()
    }

    /// Every capsule matching a search, page after page (see [`CapsuleSearch`] for the page
    /// size and the page cap). The stream ends after the last page; a server that claims more
    /// results without sending them ends it with an error of kind [`ErrorKind::Paging`]
    /// rather than a loop.
    ///
    /// The stream is a [`SearchStream`], `Unpin`: no `pin!` is needed before `try_next`.
    ///
    /// ```no_run
    /// use codeocean::CapsuleSearch;
    /// use futures_util::TryStreamExt as _;
    ///
    /// # async fn example() -> codeocean::Result<()> {
    /// let client = codeocean::Client::from_env()?;
    /// let mut found = client.search_capsules(&CapsuleSearch::new().query("tag:genomics"));
    /// while let Some(capsule) = found.try_next().await? {
    ///     println!("{} {}", capsule.id, capsule.name.unwrap_or_default());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn search_capsules(&self, search: &CapsuleSearch) -> SearchStream<Capsule> {
        self.search_apps(App::Capsule, search)
    }

    /// Every pipeline matching a search, page after page; see
    /// [`search_capsules`](Client::search_capsules).
    pub fn search_pipelines(&self, search: &CapsuleSearch) -> SearchStream<Capsule> {
        self.search_apps(App::Pipeline, search)
    }

    /// Every data asset matching a search, page after page (see [`DataAssetSearch`] for the
    /// page size and the page cap), each once. The stream ends after the last page; a server
    /// that claims more results without sending them ends it with an error of kind
    /// [`ErrorKind::Paging`] rather than a loop.
    ///
    /// ```no_run
    /// use codeocean::{DataAssetSearch, DataAssetType};
    /// use futures_util::TryStreamExt as _;
    ///
    /// # async fn example() -> codeocean::Result<()> {
    /// let client = codeocean::Client::from_env()?;
    /// let search = DataAssetSearch::new()
    ///     .query("tag:rna")
    ///     .asset_type(DataAssetType::Dataset)
    ///     .page_size(500);
    /// let assets: Vec<_> = client.search_data_assets(&search).try_collect().await?;
    /// println!("{} data assets", assets.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn search_data_assets(&self, search: &DataAssetSearch) -> SearchStream<DataAsset> {
        let client = self.clone();
        let raw = search.raw.clone();
        let fetch: Fetch<DataAsset> = Arc::new(move |offset, limit| {
            let client = client.clone();
            let body = types::DataAssetSearchRequest {
                offset: Some(offset),
                limit: Some(limit),
                next_token: None,
                ..raw.clone()
            };
            Box::pin(async move {
                let what = format!("searching data assets (offset {offset})");
                let page = client
                    .send(op(Operation::SearchDataAssets, what), || {
                        client.raw().search_data_assets(&body)
                    })
                    .await?;
                Ok((page.results, page.has_more))
            })
        });
        Pager::new(
            fetch,
            |a: &DataAsset| a.id.as_str(),
            "searching data assets",
            search.paging,
        )
        .stream()
    }
}

impl Client {
    /// One page of a capsule or pipeline search, as the server answers it: the request as
    /// given (its `offset` and `limit`, or the `next_token` of the page before), the page
    /// with its `has_more` and `next_token`. For a caller that pages itself (a tool handing
    /// the token to the next call); [`search_apps`](Client::search_apps) yields every result.
    /// A search reads only, so it is retried like a `GET` although it is a `POST`.
    pub async fn search_apps_page(
        &self,
        app: App,
        request: &types::CapsuleSearchRequest,
    ) -> Result<types::CapsuleSearchResults> {
        let (operation, what) = match app {
            App::Capsule => (Operation::SearchCapsules, "searching capsules"),
            App::Pipeline => (Operation::SearchPipelines, "searching pipelines"),
        };
        self.send(op(operation, what.to_owned()), || async move {
            match app {
                App::Capsule => self.raw().search_capsules(request).await,
                App::Pipeline => self.raw().search_pipelines(request).await,
            }
        })
        .await
    }

    /// One page of a data asset search, as the server answers it; see
    /// [`search_apps_page`](Client::search_apps_page).
    pub async fn search_data_assets_page(
        &self,
        request: &types::DataAssetSearchRequest,
    ) -> Result<types::DataAssetSearchResults> {
        self.send(
            op(
                Operation::SearchDataAssets,
                "searching data assets".to_owned(),
            ),
            || self.raw().search_data_assets(request),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::StreamExt as _;

    use super::*;

    /// A pager over a fake server: `page(offset, limit)` gives a page and `has_more`.
    fn pager(
        paging: Paging,
        page: impl Fn(i64, i64) -> (Vec<String>, bool) + Send + Sync + 'static,
    ) -> (Pager<String>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let fetch: Fetch<String> = Arc::new(move |offset, limit| {
            counted.fetch_add(1, Ordering::SeqCst);
            let r = page(offset, limit);
            Box::pin(async move { Ok(r) })
        });
        let p = Pager::new(fetch, |s: &String| s.as_str(), "searching things", paging);
        (p, calls)
    }

    fn honest(total: i64) -> impl Fn(i64, i64) -> (Vec<String>, bool) + Send + Sync + 'static {
        move |offset, limit| {
            let end = (offset + limit).min(total);
            (
                (offset..end).map(|i| format!("id-{i}")).collect(),
                end < total,
            )
        }
    }

    async fn run(p: Pager<String>) -> (Vec<String>, Option<Error>) {
        let items: Vec<Result<String>> = p.stream().collect().await;
        let mut ok = Vec::new();
        let mut err = None;
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Ok(s) => ok.push(s),
                Err(e) => {
                    assert!(err.is_none(), "a second error at item {i}");
                    err = Some(e);
                }
            }
        }
        (ok, err)
    }

    #[tokio::test]
    async fn pages_until_has_more_is_false() {
        let paging = Paging {
            page_size: 7,
            max_pages: 100,
        };
        let (p, calls) = pager(paging, honest(50));
        let (items, err) = run(p).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            items,
            (0..50).map(|i| format!("id-{i}")).collect::<Vec<_>>()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 8);
    }

    #[tokio::test]
    async fn an_empty_page_claiming_more_is_an_error() {
        let (p, calls) = pager(Paging::default(), |offset, _| {
            if offset == 0 {
                (vec!["a".into(), "b".into()], true)
            } else {
                (vec![], true)
            }
        });
        let (items, err) = run(p).await;
        assert_eq!(items, ["a", "b"]);
        let err = err.expect("an error");
        assert_eq!(err.kind(), ErrorKind::Paging);
        assert!(err.to_string().contains("empty page at offset 2"), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_repeated_page_is_an_error_and_overlaps_are_yielded_once() {
        // Ignores the offset: always the first page, always "more".
        let (p, calls) = pager(Paging::default(), |_, _| {
            (vec!["a".into(), "b".into()], true)
        });
        let (items, err) = run(p).await;
        assert_eq!(items, ["a", "b"]);
        assert!(err.unwrap().to_string().contains("repeats only results"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Overlapping pages (an item inserted meanwhile shifts them): each id once.
        let (p, _) = pager(Paging::default(), |offset, _| match offset {
            0 => (vec!["a".into(), "b".into()], true),
            2 => (vec!["b".into(), "c".into()], true),
            _ => (vec!["d".into()], false),
        });
        let (items, err) = run(p).await;
        assert!(err.is_none());
        assert_eq!(items, ["a", "b", "c", "d"]);
    }

    #[tokio::test]
    async fn the_page_cap_ends_an_endless_search_with_an_error() {
        let paging = Paging {
            page_size: 10,
            max_pages: 3,
        };
        let (p, calls) = pager(paging, honest(i64::MAX));
        let (items, err) = run(p).await;
        assert_eq!(items.len(), 30);
        let err = err.unwrap();
        assert_eq!(err.kind(), ErrorKind::Paging);
        assert!(err.to_string().contains("stopped after 3 pages"), "{err}");
        assert!(err.to_string().contains("max_pages"), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        // Exactly at the cap with nothing more: no error.
        let (p, _) = pager(paging, honest(30));
        let (items, err) = run(p).await;
        assert_eq!((items.len(), err.is_none()), (30, true));
    }

    #[test]
    fn page_sizes_are_clamped_to_the_api_range() {
        assert_eq!(CapsuleSearch::new().page_size(0).paging.page_size, 1);
        assert_eq!(
            DataAssetSearch::new().page_size(5000).paging.page_size,
            MAX_PAGE_SIZE
        );
        assert_eq!(CapsuleSearch::new().paging, Paging::default());
    }
}
