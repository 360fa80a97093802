//! Where data lives: a folder on the local disk or `s3://bucket/prefix`.
//!
//! Nothing else in logq knows whether data is local or remote: this module turns a location
//! into an object store with the standard AWS credential chain ([`credentials`]), a custom
//! endpoint for S3-compatible stores (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`) and
//! retries with backoff, and runs its requests on one small Tokio runtime so that the
//! partition job's worker threads can fetch objects without being async themselves.
//!
//! TODO(#5): the warehouse on S3 (multipart writes, the commit, the lock as a lease) and
//! listing only the key range a format's key layout and `--since`/`--until` allow.

mod credentials;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig};

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
}

impl Bucket {
    /// Connects to `bucket` with credentials and region from the AWS chain.
    pub fn connect(bucket: &str) -> Result<Bucket, StorageError> {
        let aws = runtime().block_on(credentials::load());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(aws.region.unwrap_or_else(|| "us-east-1".to_owned()))
            .with_retry(RetryConfig {
                max_retries: 8,
                retry_timeout: Duration::from_secs(120),
                ..RetryConfig::default()
            });
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
        Ok(Bucket { name: bucket.to_owned(), store: Arc::new(store) })
    }

    /// Every object under `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let store = self.store.clone();
        runtime()
            .block_on(async move { store.list(path.as_ref()).try_collect::<Vec<_>>().await })
            .map_err(|source| StorageError::List { location: self.url(prefix), source })
    }

    /// One object's bytes, whole (retried on throttling, 5xx and timeouts).
    pub fn get(&self, key: &ObjectPath) -> Result<Bytes, StorageError> {
        // A fault for the tests: `LOGQ_FAIL_GET=<text>` fails every GET of a key containing it,
        // as an object that keeps failing after its retries would.
        if let Ok(text) = std::env::var("LOGQ_FAIL_GET")
            && !text.is_empty()
            && key.as_ref().contains(&text)
        {
            let source = object_store::Error::Generic {
                store: "S3",
                source: "injected failure (LOGQ_FAIL_GET)".into(),
            };
            return Err(StorageError::Get { location: self.url(key.as_ref()), source });
        }
        let store = self.store.clone();
        let path = key.clone();
        runtime()
            .block_on(async move { store.get(&path).await?.bytes().await })
            .map_err(|source| StorageError::Get { location: self.url(key.as_ref()), source })
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }
}

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
