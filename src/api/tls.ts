/** The cluster CA and the API server's serving certificate, made with @peculiar/x509 and WebCrypto. */
import { webcrypto } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 86_400_000;

export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function fromPem(text: string): ArrayBuffer {
  const b64 = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');
}

/**
 * Loads the CA from `dir` (ca.crt, ca.key), making it on first start, and issues a fresh serving
 * certificate for the given host names and IPs. The CA lives for 10 years, serving certificates 1.
 */
export async function ensurePki(dir: string, names: { dns: string[]; ips: string[] }): Promise<Pki> {
  const caCrtPath = join(dir, 'ca.crt');
  const caKeyPath = join(dir, 'ca.key');
  let caCert: x509.X509Certificate;
  let caKey: CryptoKey;
  if (existsSync(caCrtPath) && existsSync(caKeyPath)) {
    caCert = new x509.X509Certificate(readFileSync(caCrtPath, 'utf8'));
    caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(readFileSync(caKeyPath, 'utf8')), alg, true, ['sign']);
  } else {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const now = Date.now();
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=skiff-ca',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3650 * dayMs),
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    writeFileSync(caKeyPath, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', caKey)), { mode: 0o600 });
    writeFileSync(caCrtPath, caCert.toString('pem') + '\n');
  }
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=skiff-apiserver',
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * dayMs),
    signingAlgorithm: alg,
    publicKey: leafKeys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names.dns.map((value) => ({ type: 'dns' as const, value })), ...names.ips.map((value) => ({ type: 'ip' as const, value }))]),
    ],
  });
  return {
    caPem: caCert.toString('pem') + '\n',
    certPem: leaf.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
  };
}
