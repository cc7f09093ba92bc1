//! Errors that stop a discovery call. Failures of single steps (a 404, a closed port, a DNS
//! timeout) are not errors: they are reported in the step and probe reports.

/// Why a discovery call could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text given is not a mail address (`local@domain`, no spaces, URL characters or
    /// second `@` in the domain).
    #[error("{0:?} is not a mail address")]
    InvalidAddress(String),
    /// The extra CA certificate in the configuration is not usable PEM.
    #[error("the extra CA certificate cannot be used: {0}")]
    BadCa(String),
    /// The TLS configuration could not be built.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
    #[error("HTTP client set-up failed: {0}")]
    Http(String),
    /// The DNS resolver could not be set up (e.g. no readable resolver configuration).
    #[error("DNS set-up failed: {0}")]
    Dns(String),
}
