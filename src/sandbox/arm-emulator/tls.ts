/**
 * Throw-away PKI for the emulator: a CA and a server certificate for 127.0.0.1 / ::1 / localhost,
 * generated in memory at start. The Azure SDK's bearer-token policy refuses plain HTTP, so the
 * emulator must speak HTTPS, and clients trust it through `caPem` (or NODE_EXTRA_CA_CERTS /
 * VMSS_MESH_ARM_CA_FILE) instead of turning verification off.
 *
 * ECDSA P-256 keys through WebCrypto: generation takes milliseconds, unlike RSA in pure JS.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface TestPki {
  /** PEM of the CA certificate clients must trust. */
  readonly caPem: string;
  /** PEM of the server certificate followed by nothing else (the CA is a root clients already trust). */
  readonly certPem: string;
  /** PKCS#8 PEM of the server key. */
  readonly keyPem: string;
}

export interface TestPkiOptions {
  /** DNS names and IP literals the server certificate covers. Default: localhost, 127.0.0.1, ::1. */
  readonly hosts?: readonly string[];
  /** Common name of the CA, to tell several sandboxes apart. Default `vmss-mesh ARM emulator CA`. */
  readonly caName?: string;
  /** Validity. Default one day (the emulator is regenerated at every start). */
  readonly validForMs?: number;
}

const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];

// @peculiar/x509 is typed against the DOM `Crypto`/`CryptoKeyPair`; node's WebCrypto implements the
// same interfaces, so its objects are handed over under the library's own names.
type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1]>;
type X509KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
const crypto = webcrypto as unknown as X509Crypto;

async function generateKeys(): Promise<X509KeyPair> {
  const pair: webcrypto.CryptoKeyPair = await webcrypto.subtle.generateKey(SIGNING, true, ['sign', 'verify']);
  return pair as unknown as X509KeyPair;
}

function serial(): string {
  // Positive 64-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** Escapes a value for an RFC 4514 distinguished name. */
function dnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  if (hosts.length === 0) throw new TypeError('createTestPki: hosts must name at least one host');
  const notBefore = new Date(Date.now() - 60_000); // tolerate small clock differences
  const notAfter = new Date(Date.now() + (options.validForMs ?? 24 * 3600_000));

  const caKeys = await generateKeys();
  const caName = `CN=${dnValue(options.caName ?? 'vmss-mesh ARM emulator CA')}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: caName,
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const serverKeys = await generateKeys();
  const server = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${dnValue(hosts[0] ?? 'localhost')}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          hosts.map((host) => (isIpLiteral(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host })),
          false,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const keyPem = KeyObject.from(serverKeys.privateKey as unknown as webcrypto.CryptoKey)
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { caPem: ca.toString('pem'), certPem: server.toString('pem'), keyPem };
}
