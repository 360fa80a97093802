//! Where data lives: a folder on the local disk or `s3://bucket/prefix`.
//!
//! Nothing else in logq knows whether data is local or remote: this module turns a location
//! into an object store with the standard AWS credential chain ([`credentials`]), a custom
//! endpoint for S3-compatible stores (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`) and
//! retries with backoff, and runs its requests on one small Tokio runtime so that the
//! partition job's worker threads can fetch objects without being async themselves. Every
//! HTTP request a bucket makes, retries included, is counted, so that runs can report them.

mod credentials;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService,
    SpawnedReqwestConnector,
};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ListResult, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, WriteMultipart,
};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0:?} is not a valid S3 location; write s3://bucket/prefix")]
    BadUrl(String),
    #[error("cannot set up S3 access to bucket {bucket}")]
    Setup { bucket: String, source: object_store::Error },
    #[error("cannot list {location}")]
    List { location: String, source: object_store::Error },
    #[error("cannot read {location}")]
    Get { location: String, source: object_store::Error },
}

/// A folder or an S3 prefix, as written on the command line or in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `s3://bucket[/prefix]` is S3; anything else is a local path.
    pub fn parse(text: &str) -> Result<Location, StorageError> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
        if bucket.len() < 3 || !bucket.chars().all(valid) {
            return Err(StorageError::BadUrl(text.to_owned()));
        }
        Ok(Location::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }

    /// A local path relative to `base` is made relative to it; S3 stays as it is.
    pub fn relative_to(self, base: &std::path::Path) -> Location {
        match self {
            Location::Local(path) if path.is_relative() => Location::Local(base.join(path)),
            other => other,
        }
    }

    /// A stable name for the ledger: the absolute path, or the `s3://` URL.
    pub fn key(&self) -> String {
        match self {
            Location::Local(path) => std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .to_string_lossy()
                .into_owned(),
            Location::S3 { .. } => self.to_string(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The runtime S3 requests run on; its threads only wait on the network.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("logq-storage")
            .enable_all()
            .build()
            .expect("a Tokio runtime starts")
    })
}

/// An S3 bucket (or S3-compatible store) reached with the standard AWS configuration.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
    requests: Arc<AtomicU64>,
}

/// Opens HTTP clients whose requests run on the storage runtime (whichever runtime awaits
/// them, a query's included) and are counted, retries too.
#[derive(Debug)]
struct CountingConnector {
    requests: Arc<AtomicU64>,
}

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = SpawnedReqwestConnector::new(runtime().handle().clone()).connect(options)?;
        Ok(HttpClient::new(CountingService { inner, requests: self.requests.clone() }))
    }
}

#[derive(Debug)]
struct CountingService {
    inner: HttpClient,
    requests: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl HttpService for CountingService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.execute(request).await
    }
}

/// What a [`Bucket::scan`] visitor wants next.
pub enum ScanStep {
    /// The next key.
    Next,
    /// Go on from the first key after this one.
    SeekAfter(String),
}

impl Bucket {
    /// Connects to `bucket` with credentials and region from the AWS chain.
    pub fn connect(bucket: &str) -> Result<Bucket, StorageError> {
        // The chain is walked once per process: a job that reads a source bucket and writes a
        // warehouse bucket shares one credential (and its refreshes).
        static AWS: OnceLock<credentials::AwsSettings> = OnceLock::new();
        let aws = AWS.get_or_init(|| runtime().block_on(credentials::load())).clone();
        // `LOGQ_S3_TIMEOUT` (seconds) bounds each request and the retries of one request.
        let timeout = std::env::var("LOGQ_S3_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64);
        let requests = Arc::new(AtomicU64::new(0));
        let mut builder = AmazonS3Builder::new()
            .with_http_connector(CountingConnector { requests: requests.clone() })
            .with_bucket_name(bucket)
            .with_region(aws.region.unwrap_or_else(|| "us-east-1".to_owned()))
            .with_retry(RetryConfig {
                max_retries: 8,
                retry_timeout: timeout.unwrap_or(RETRY_TIMEOUT),
                ..RetryConfig::default()
            });
        if let Some(timeout) = timeout {
            builder = builder.with_client_options(
                ClientOptions::new().with_timeout(timeout).with_connect_timeout(timeout),
            );
        }
        if let Some(provider) = aws.credentials {
            builder = builder.with_credentials(provider);
        }
        if let Some(endpoint) = aws.endpoint {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false)
                .with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|source| StorageError::Setup { bucket: bucket.to_owned(), source })?;
        Ok(Bucket { name: bucket.to_owned(), store: Arc::new(store), requests })
    }

    /// HTTP requests made to the bucket so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Lists the keys under `prefix` in order, letting `visit` skip ahead: each seek is a
    /// new listing that starts after the given key (S3's `start-after`), so ranges of keys
    /// the visitor does not want are never fetched.
    pub fn scan(
        &self,
        prefix: &str,
        mut visit: impl FnMut(&ObjectMeta) -> ScanStep,
    ) -> Result<(), StorageError> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let store = self.store.clone();
        let failed = |source| StorageError::List { location: self.url(prefix), source };
        runtime().block_on(async move {
            let mut offset: Option<ObjectPath> = None;
            'listing: loop {
                let mut keys = match &offset {
                    Some(offset) => store.list_with_offset(path.as_ref(), offset),
                    None => store.list(path.as_ref()),
                };
                while let Some(meta) = keys.try_next().await.map_err(failed)? {
                    match visit(&meta) {
                        ScanStep::Next => {}
                        ScanStep::SeekAfter(key) => {
                            // Keys from a listing are valid paths already; a seek key is one
                            // with its end replaced.
                            let key = ObjectPath::parse(&key)
                                .unwrap_or_else(|_| ObjectPath::from_iter(key.split('/')));
                            offset = Some(key);
                            continue 'listing;
                        }
                    }
                }
                break;
            }
            Ok(())
        })
    }

    /// Every object under `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, object_store::Error> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let store = self.store.clone();
        runtime().block_on(async move { store.list(path.as_ref()).try_collect::<Vec<_>>().await })
    }

    /// Fetches objects whole, up to `in_flight` at once, and hands each over (with its
    /// index) as soon as it has arrived, in whatever order they arrive. At most `in_flight`
    /// fetched objects wait to be taken, which bounds the memory they hold.
    pub fn fetch_all(
        &self,
        keys: Vec<(usize, ObjectPath)>,
        in_flight: usize,
    ) -> tokio::sync::mpsc::Receiver<(usize, Result<Bytes, StorageError>)> {
        use futures::StreamExt;
        let (send, receive) = tokio::sync::mpsc::channel(in_flight.max(1));
        let bucket = self.clone();
        runtime().spawn(async move {
            let mut fetched = futures::stream::iter(keys)
                .map(|(i, key)| {
                    let bucket = bucket.clone();
                    async move { (i, bucket.get_async(key).await) }
                })
                .buffer_unordered(in_flight.max(1));
            while let Some(object) = fetched.next().await {
                // The run stopped taking objects (a --strict failure): stop fetching.
                if send.send(object).await.is_err() {
                    break;
                }
            }
        });
        receive
    }

    /// One object's bytes, whole (retried on throttling, 5xx and timeouts).
    async fn get_async(&self, key: ObjectPath) -> Result<Bytes, StorageError> {
        let failed = |source| StorageError::Get { location: self.url(key.as_ref()), source };
        // A fault for the tests: `LOGQ_FAIL_GET=<text>` fails every GET of a key containing it,
        // as an object that keeps failing after its retries would.
        if let Ok(text) = std::env::var("LOGQ_FAIL_GET")
            && !text.is_empty()
            && key.as_ref().contains(&text)
        {
            return Err(failed(object_store::Error::Generic {
                store: "S3",
                source: "injected failure (LOGQ_FAIL_GET)".into(),
            }));
        }
        let result = self.store.get(&key).await.map_err(failed)?;
        result.bytes().await.map_err(failed)
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// An object's bytes and ETag, or `None` if there is no such object.
    pub fn read(&self, key: &str) -> Result<Option<(Bytes, Option<String>)>, object_store::Error> {
        let (store, path) = (self.store.clone(), ObjectPath::from(key));
        runtime().block_on(async move {
            match store.get(&path).await {
                Ok(result) => {
                    let e_tag = result.meta.e_tag.clone();
                    Ok(Some((result.bytes().await?, e_tag)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// Writes a whole object in one request; returns its new ETag. With [`PutMode::Create`]
    /// this fails with `AlreadyExists` if the key is taken, and with [`PutMode::Update`] with
    /// `Precondition` if the object changed: S3's conditional writes.
    pub fn put(
        &self,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
    ) -> Result<Option<String>, object_store::Error> {
        let (store, path) = (self.store.clone(), ObjectPath::from(key));
        let options = PutOptions { mode, ..PutOptions::default() };
        runtime().block_on(async move {
            Ok(store.put_opts(&path, PutPayload::from(bytes), options).await?.e_tag)
        })
    }

    /// The objects and "folders" directly under `prefix` (one request per 1,000 keys).
    pub fn list_folder(&self, prefix: &str) -> Result<ListResult, object_store::Error> {
        let (store, path) = (self.store.clone(), ObjectPath::from(prefix));
        runtime().block_on(async move { store.list_with_delimiter(Some(&path)).await })
    }

    /// Deletes an object; one that is already gone is not an error.
    pub fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        let (store, path) = (self.store.clone(), ObjectPath::from(key));
        runtime().block_on(async move {
            match store.delete(&path).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other,
            }
        })
    }

    /// Moves an object (a copy, then a delete of the original); false if it was not there.
    pub fn rename(&self, from: &str, to: &str) -> Result<bool, object_store::Error> {
        let (store, from, to) = (self.store.clone(), ObjectPath::from(from), ObjectPath::from(to));
        runtime().block_on(async move {
            match store.rename(&from, &to).await {
                Ok(()) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// Uploads a local file as one object through a multipart upload, sending up to four
    /// parts at once; the object appears whole when the upload completes, or not at all.
    pub fn upload(&self, local: &std::path::Path, key: &str) -> Result<(), object_store::Error> {
        use std::io::Read;
        let io_error = |e: std::io::Error| object_store::Error::Generic {
            store: "S3",
            source: format!("cannot read {}: {e}", local.display()).into(),
        };
        let mut file = std::fs::File::open(local).map_err(io_error)?;
        let (store, path) = (self.store.clone(), ObjectPath::from(key));
        runtime().block_on(async move {
            let upload = store.put_multipart(&path).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                // Local reads of a staged file are short; they do not hold the runtime up.
                let n = match file.read(&mut buffer) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(io_error(e));
                    }
                };
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(4).await?;
                writer.write(&buffer[..n]);
            }
            writer.finish().await.map(|_| ())
        })
    }

    /// Downloads an object into a local file.
    pub fn download(&self, key: &str, local: &std::path::Path) -> Result<(), object_store::Error> {
        use std::io::Write;
        let io_error = |e: std::io::Error| object_store::Error::Generic {
            store: "S3",
            source: format!("cannot write {}: {e}", local.display()).into(),
        };
        if let Some(folder) = local.parent() {
            std::fs::create_dir_all(folder).map_err(io_error)?;
        }
        let mut file = std::fs::File::create(local).map_err(io_error)?;
        let (store, path) = (self.store.clone(), ObjectPath::from(key));
        runtime().block_on(async move {
            let mut stream = store.get(&path).await?.into_stream();
            while let Some(chunk) = stream.try_next().await? {
                file.write_all(&chunk).map_err(io_error)?;
            }
            file.sync_all().map_err(io_error)
        })
    }
}

/// How long one request is retried for (throttling, 5xx, timeouts) before it fails.
const RETRY_TIMEOUT: Duration = Duration::from_secs(120);

/// Size of the parts of a multipart upload (S3 takes 5 MiB to 5 GiB, and 10,000 parts).
const PART_SIZE: usize = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_as_folders_or_s3_prefixes() {
        assert_eq!(Location::parse("logs/cf").unwrap(), Location::Local("logs/cf".into()));
        assert_eq!(
            Location::parse("s3://my-logs/AWSLogs/123/").unwrap(),
            Location::S3 { bucket: "my-logs".into(), prefix: "AWSLogs/123".into() }
        );
        assert_eq!(Location::parse("s3://my-logs").unwrap().to_string(), "s3://my-logs");
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("s3://Bad_Bucket/x").is_err());
    }
}
