/**
 * Test-only RSA (or, to test refusals, EC P-256) keys and self-signed certificates, generated at test time with the
 * openssl CLI (no private key is committed). Cached per process and name.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKeyPair {
  /** PEM PKCS#8 private key. */
  key: string;
  /** PEM X.509 certificate. */
  cert: string;
  /** Base64 DER body of the certificate (what metadata carries). */
  certBody: string;
}

const cache = new Map<string, TestKeyPair>();

export const testKeyPair = (name: string, type: 'rsa' | 'ec' = 'rsa'): TestKeyPair => {
  const cacheKey = `${type}:${name}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'orgway-saml-key-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', ...(type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048']), '-nodes', '-sha256', '-days', '3', '-subj', `/CN=orgway-test-${name}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const pair = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert,
      certBody: cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''),
    };
    cache.set(cacheKey, pair);
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** IdP metadata XML as an administrator would paste it. */
export const idpMetadataXml = (entityId: string, ssoUrl: string, certs: readonly TestKeyPair[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
${certs
  .map(
    (c) => `    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c.certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
  )
  .join('\n')}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ssoUrl}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
