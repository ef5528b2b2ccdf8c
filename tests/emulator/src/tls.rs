//! HTTPS for `--tls`: a throwaway certificate authority made at each start, a server certificate
//! it signs for the loopback names, and the rustls acceptor that wraps each accepted connection.
//!
//! Only the CA certificate leaves the process (for clients to trust); both keys live in memory,
//! so every start has a new CA and a file from an earlier run is no longer trusted by the server.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::Error;
use crate::time::date_from_today;

/// Every name a local client may use to reach the emulator; the server certificate covers each.
pub(crate) const SERVER_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// Validity starts a day back, for clocks that disagree a little…
const VALID_FROM_DAYS_AGO: i64 = 1;
/// …and lasts a year: under the longest lifetime platform verifiers accept for a server
/// certificate (macOS refuses longer ones even under a private CA).
const VALID_FOR_DAYS: i64 = 365;

/// The server side of HTTPS for one run.
pub(crate) struct TlsIdentity {
    /// Wraps accepted TCP streams.
    pub(crate) acceptor: TlsAcceptor,
    /// The CA certificate as PEM: what clients add to their trusted roots.
    pub(crate) ca_pem: String,
}

impl TlsIdentity {
    /// A new CA, a server certificate signed by it, and an acceptor serving that certificate
    /// with the ring provider, HTTP/1.1 only.
    pub(crate) fn generate() -> Result<Self, Error> {
        let certificates = Certificates::generate()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(
                vec![certificates.server.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificates.server_key)),
            )
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_pem: certificates.ca_pem,
        })
    }
}

/// What [`TlsIdentity::generate`] serves, kept apart so that tests can check the certificates.
struct Certificates {
    ca_pem: String,
    #[cfg_attr(not(test), allow(dead_code))]
    ca: CertificateDer<'static>,
    server: CertificateDer<'static>,
    /// PKCS#8 DER.
    server_key: Vec<u8>,
}

impl Certificates {
    fn generate() -> Result<Self, Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "baseten-emulator throwaway CA");
        // It signs server certificates only, never another CA.
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut ca_params)?;
        let ca_key = KeyPair::generate().map_err(tls_error)?;
        let ca = ca_params.self_signed(&ca_key).map_err(tls_error)?;

        let names: Vec<String> = SERVER_NAMES.iter().map(|name| (*name).to_owned()).collect();
        let mut server_params = CertificateParams::new(names).map_err(tls_error)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "baseten-emulator");
        server_params.use_authority_key_identifier_extension = true;
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut server_params)?;
        let server_key = KeyPair::generate().map_err(tls_error)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let server = server_params
            .signed_by(&server_key, &issuer)
            .map_err(tls_error)?;

        Ok(Self {
            ca_pem: ca.pem(),
            ca: ca.der().clone(),
            server: server.der().clone(),
            server_key: server_key.serialize_der(),
        })
    }
}

fn set_validity(params: &mut CertificateParams) -> Result<(), Error> {
    let (year, month, day) = date(-VALID_FROM_DAYS_AGO)?;
    params.not_before = rcgen::date_time_ymd(year, month, day);
    let (year, month, day) = date(VALID_FOR_DAYS)?;
    params.not_after = rcgen::date_time_ymd(year, month, day);
    Ok(())
}

/// The date `days` from today (UTC), in the types `rcgen::date_time_ymd` takes.
fn date(days: i64) -> Result<(i32, u8, u8), Error> {
    let (year, month, day) = date_from_today(days);
    let out_of_range = || Error::Tls(format!("the date {year}-{month}-{day} is out of range"));
    Ok((
        i32::try_from(year).map_err(|_| out_of_range())?,
        u8::try_from(month).map_err(|_| out_of_range())?,
        u8::try_from(day).map_err(|_| out_of_range())?,
    ))
}

fn tls_error(error: impl std::fmt::Display) -> Error {
    Error::Tls(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};

    #[test]
    fn the_server_certificate_is_trusted_for_every_loopback_name_under_its_ca_only() {
        let certificates = Certificates::generate().expect("certificates");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier_for = |root: CertificateDer<'static>| {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(root).expect("a valid root");
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("a verifier")
        };
        let verifier = verifier_for(certificates.ca.clone());
        for name in SERVER_NAMES {
            let server_name = ServerName::try_from(name).expect("a server name");
            verifier
                .verify_server_cert(
                    &certificates.server,
                    &[],
                    &server_name,
                    &[],
                    UnixTime::now(),
                )
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        let elsewhere = ServerName::try_from("example.com").expect("a server name");
        assert!(
            verifier
                .verify_server_cert(&certificates.server, &[], &elsewhere, &[], UnixTime::now())
                .is_err()
        );
        // Another run's CA does not vouch for this certificate.
        let other = Certificates::generate().expect("certificates");
        let localhost = ServerName::try_from("localhost").expect("a server name");
        assert!(
            verifier_for(other.ca)
                .verify_server_cert(&certificates.server, &[], &localhost, &[], UnixTime::now())
                .is_err()
        );
    }

    #[test]
    fn the_ca_pem_is_one_certificate() {
        let certificates = Certificates::generate().expect("certificates");
        assert!(
            certificates
                .ca_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(certificates.ca_pem.matches("BEGIN").count(), 1);
    }
}
