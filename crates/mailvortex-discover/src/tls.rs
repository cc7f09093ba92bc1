//! The one TLS client configuration used for HTTPS and for probing: the web PKI roots
//! (`webpki-roots`, the same on every OS) plus, optionally, a CA of the caller's (tests, or a
//! provider with its own CA), with rustls on the `ring` provider.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::Error;

/// Builds the client configuration. `extra_ca_pem` must hold at least one PEM certificate.
pub fn client_config(
    extra_ca_pem: Option<&[u8]>,
    builtin_roots: bool,
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    if builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::BadCa(e.to_string()))?;
            roots.add(cert).map_err(|e| Error::BadCa(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::BadCa("no certificate in the PEM data".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Plain words for a TLS failure, saying "certificate" when the certificate was the problem.
pub(crate) fn describe_io_error(e: &std::io::Error) -> (bool, String) {
    if let Some(inner) = e.get_ref()
        && let Some(tls) = inner.downcast_ref::<rustls::Error>()
    {
        let untrusted = matches!(tls, rustls::Error::InvalidCertificate(_));
        let text = match tls {
            rustls::Error::InvalidCertificate(c) => format!("certificate not trusted: {c:?}"),
            other => other.to_string(),
        };
        return (untrusted, text);
    }
    (false, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_an_error_not_a_panic() {
        assert!(matches!(
            client_config(Some(b"not pem"), false),
            Err(Error::BadCa(_))
        ));
        assert!(client_config(None, true).is_ok());
    }
}
