"""What ``Webservice.run()`` trusts for an ``https://`` scoring URI.

``MODELPORT_CA_BUNDLE`` (a PEM file or folder; the variable remote clients of an HTTPS workspace
server use too) wins; otherwise, when the service's certificate
(from the Service document) is self-signed, that certificate alone is trusted for it; otherwise
the system's CA store decides.
"""

from __future__ import annotations

import os
import ssl

from modelport.sdk._target import ENV_CA_BUNDLE as CA_BUNDLE_ENV  # same as the server's


def verify_for(scoring_uri: str, cert_pem: str | None) -> ssl.SSLContext | str | bool:
    """The ``verify`` argument of httpx for a request to ``scoring_uri``."""
    if not scoring_uri.startswith("https://"):
        return True
    bundle = os.environ.get(CA_BUNDLE_ENV)
    if bundle:
        return bundle
    if cert_pem and _self_signed(cert_pem):
        ctx = ssl.create_default_context(cadata=cert_pem)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx
    return True


def _self_signed(cert_pem: str) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except ValueError:
        return False
    return cert.subject == cert.issuer
