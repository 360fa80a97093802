//! `logq executor`: Ballista's executor, with logq's functions and an object store for
//! every bucket a plan names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use url::Url;

use crate::cli::ExecutorArgs;
use crate::storage::Bucket;

/// Serves until the process is stopped or the scheduler tells it to stop.
pub async fn run(args: &ExecutorArgs) -> anyhow::Result<()> {
    let (scheduler_host, scheduler_port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--scheduler {:?} is not HOST:PORT", args.scheduler))?;
    let functions = BallistaFunctionRegistry::from(&crate::query::session().state());
    let stores = Arc::new(Stores::new());
    let work_dir = args.work_dir.clone();
    let runtime = move |_: &datafusion::prelude::SessionConfig| {
        let registry: Arc<dyn ObjectStoreRegistry> = stores.clone();
        let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(registry);
        if let Some(dir) = &work_dir {
            builder = builder.with_temp_file_path(dir.clone());
        }
        builder.build_arc()
    };
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: args.bind.clone(),
        external_host: Some(args.external_host.clone().unwrap_or_else(|| args.bind.clone())),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host,
        scheduler_port,
        vcores: args.concurrency.unwrap_or(defaults.vcores).max(1),
        work_dir: args.work_dir.as_ref().map(|d| d.display().to_string()),
        memory_pool_size: args.memory,
        executor_heartbeat_interval_seconds: args.heartbeat.as_secs().max(1),
        print_thread_info: false,
        override_function_registry: Some(Arc::new(functions)),
        override_runtime_producer: Some(Arc::new(runtime)),
        ..defaults
    };
    eprintln!(
        "logq executor on {}:{} (tasks on {}), {} tasks at once, scheduler {}",
        args.bind, args.port, args.grpc_port, config.vcores, args.scheduler
    );
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

/// Makes every read wait this many milliseconds first: for tests that must stop an
/// executor while its query is still running.
const READ_DELAY_VARIABLE: &str = "LOGQ_EXECUTOR_READ_DELAY_MS";

/// DataFusion's registry (the local filesystem, and stores registered by URL) that also
/// opens any `s3://bucket` a plan names, once, with the standard AWS chain and
/// `AWS_ENDPOINT_URL_S3` as everywhere else in logq.
#[derive(Debug)]
struct Stores {
    known: DefaultObjectStoreRegistry,
    buckets: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    read_delay: Option<Duration>,
}

impl Stores {
    fn new() -> Stores {
        let read_delay = std::env::var(READ_DELAY_VARIABLE)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis);
        let stores = Stores {
            known: DefaultObjectStoreRegistry::new(),
            buckets: Mutex::default(),
            read_delay,
        };
        if read_delay.is_some() {
            let local = Arc::new(object_store::local::LocalFileSystem::new());
            let url = Url::parse("file://").expect("file:// is a URL");
            stores.known.register_store(&url, stores.delayed(local));
        }
        stores
    }

    fn delayed(&self, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        match self.read_delay {
            Some(wait) => Arc::new(SlowReads { inner: store, wait }),
            None => store,
        }
    }
}

impl ObjectStoreRegistry for Stores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if url.scheme() != "s3" {
            return self.known.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default().to_owned();
        let mut buckets = self.buckets.lock().expect("no panics holding the bucket map");
        if let Some(store) = buckets.get(&bucket) {
            return Ok(store.clone());
        }
        // Connecting walks the AWS chain on logq's storage runtime; a plain thread keeps
        // that off the task's own runtime, which must not block on another.
        let connected = std::thread::scope(|scope| {
            scope.spawn(|| Bucket::connect(&bucket)).join().expect("connecting does not panic")
        })
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let store = self.delayed(connected.store);
        buckets.insert(bucket, store.clone());
        Ok(store)
    }
}

/// A store whose reads each wait `wait` first; everything else goes straight through.
#[derive(Debug)]
struct SlowReads {
    inner: Arc<dyn ObjectStore>,
    wait: Duration,
}

impl std::fmt::Display for SlowReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlowReads({:?}, {})", self.wait, self.inner)
    }
}

#[async_trait]
impl ObjectStore for SlowReads {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        tokio::time::sleep(self.wait).await;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        tokio::time::sleep(self.wait).await;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
