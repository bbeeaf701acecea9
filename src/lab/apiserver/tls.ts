/**
 * A throwaway PKI for the HTTPS test API server, made with the `openssl` CLI (node:crypto can make keys
 * but not X.509 certificates): a CA, a server certificate for the listen address (IP SAN, so clients
 * verify it exactly as they verify a cluster's apiserver certificate), and a client certificate signed by
 * the same CA (CN = user, O = group) for kubeconfig client-certificate authentication.
 * The files live in a fresh temporary directory that is removed before returning.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PetrelError } from '../../errors.js';

export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    throw new PetrelError('APISERVER_TLS', `openssl ${args[0]} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`, { cause: e });
  }
}

export function makeTestPki(host = '127.0.0.1', clientUser = 'petrel-test'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-pki-'));
  try {
    const key = (name: string) => openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    key('ca');
    openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=petrel-test-ca', '-out', 'ca.crt',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
    const sign = (name: string, subj: string, ext: string) => {
      key(name);
      openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`]);
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
        '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
    };
    sign('server', '/CN=kube-apiserver', `subjectAltName=${san},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
    sign('client', `/O=system:masters/CN=${clientUser}`, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
    const r = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { caCert: r('ca.crt'), serverCert: r('server.crt'), serverKey: r('server.key'), clientCert: r('client.crt'), clientKey: r('client.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
