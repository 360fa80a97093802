//! The standard AWS configuration chain (aws-config), bridged into object_store.
//!
//! aws-config finds credentials where AWS tools look: environment variables, the shared
//! config and credentials files with `AWS_PROFILE`, SSO, web identity, container and
//! instance metadata, and assume-role. object_store asks for a credential before each
//! request; this bridge keeps the one it has until five minutes before it expires. Neither
//! the bridge nor its errors ever print a key.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

/// What the chain found.
#[derive(Clone)]
pub(super) struct AwsSettings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub credentials: Option<Arc<dyn CredentialProvider<Credential = AwsCredential>>>,
}

/// Loads region, endpoint and credentials the way the AWS CLI would.
pub(super) async fn load() -> AwsSettings {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await;
    // The S3-specific variable wins, as in the AWS SDKs.
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned));
    AwsSettings {
        region: config.region().map(ToString::to_string),
        endpoint,
        credentials: config.credentials_provider().map(|provider| {
            Arc::new(AwsChain { provider, cached: Mutex::new(None) })
                as Arc<dyn CredentialProvider<Credential = AwsCredential>>
        }),
    }
}

/// Refresh a credential this long before it expires.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

struct AwsChain {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl std::fmt::Debug for AwsChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AwsChain")
    }
}

#[async_trait]
impl CredentialProvider for AwsChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        if let Some((credential, expiry)) = &*self.cached.lock().expect("not poisoned") {
            let fresh = expiry.is_none_or(|at| SystemTime::now() + REFRESH_BEFORE < at);
            if fresh {
                return Ok(credential.clone());
            }
        }
        let found = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: format!("no AWS credentials: {e}").into(),
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: found.access_key_id().to_owned(),
            secret_key: found.secret_access_key().to_owned(),
            token: found.session_token().map(str::to_owned),
        });
        *self.cached.lock().expect("not poisoned") = Some((credential.clone(), found.expiry()));
        Ok(credential)
    }
}
