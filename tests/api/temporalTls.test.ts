/**
 * The client and the worker connect to Temporal over mutual TLS, configured only by the
 * TEMPORAL_TLS_* variables (src/temporal/connectionOptions.ts).
 *
 * The CLI dev server has no TLS options, so the test puts a TLS-terminating proxy
 * (node:tls, ALPN h2, client certificates required) in front of the run's dev server, as a
 * load balancer or Temporal Cloud's front door would. The certificates are made here by the
 * openssl CLI: a CA, a server certificate for `temporal.test`, a client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server as TlsServer } from 'node:tls';
import { loadConfig } from '../../src/config';
import { payloadCodecFor } from '../../src/temporal/codec';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { TEST_PAYLOAD_ENCRYPTION_KEYS } from '../support/testKeys';

const dir = mkdtempSync(join(tmpdir(), 'gj-temporal-tls-'));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and a certificate signed by it for `cn` with the given v3 extensions. */
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=gongjian test CA');
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(file(`${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  };
  leaf('server', 'temporal.test', 'subjectAltName=DNS:temporal.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'gongjian-worker', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
}

let proxy: TlsServer;
let proxyAddress: string;
const handshakes: { authorized: boolean }[] = [];

beforeAll(async () => {
  makeCertificates();
  const [host, port] = process.env.TEST_TEMPORAL_ADDRESS!.split(':');
  proxy = createServer({
    key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')), ca: readFileSync(file('ca.pem')),
    requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'],
  }, (socket) => {
    handshakes.push({ authorized: socket.authorized });
    const upstream = netConnect(Number(port), host);
    socket.pipe(upstream).pipe(socket);
    const close = () => { socket.destroy(); upstream.destroy(); };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyAddress = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
});

const mtlsEnv = () => ({
  APP_ENV: 'test', TEMPORAL_ADDRESS: proxyAddress, PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
  TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
});

describe('Temporal over mutual TLS', () => {
  it('connects the client and the worker with the TEMPORAL_TLS_* settings', async () => {
    const config = loadConfig(mtlsEnv());
    const before = handshakes.length;
    const { client, connection } = await connectClient(config.TEMPORAL_ADDRESS!, config.TEMPORAL_NAMESPACE, payloadCodecFor(config), config.temporalSecurity);
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
      // A real call through the proxy: the namespace the tests use is there.
      expect((await client.workflowService.describeNamespace({ namespace: 'default' })).namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
    const worker = await connectWorker(config.TEMPORAL_ADDRESS!, config.temporalSecurity);
    try {
      expect((await worker.workflowService.getSystemInfo({})).serverVersion).toBeTruthy();
    } finally {
      await worker.close();
    }
    const ours = handshakes.slice(before);
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(ours.every((h) => h.authorized)).toBe(true);
  });

  it('is refused without the client certificate, and without TLS', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...serverOnly } = mtlsEnv();
    const noCert = loadConfig(serverOnly);
    expect(noCert.temporalSecurity.tls).toMatchObject({ serverNameOverride: 'temporal.test' });
    await expect(connectWorker(noCert.TEMPORAL_ADDRESS!, noCert.temporalSecurity)).rejects.toThrow(/TEMPORAL_ADDRESS unreachable/);
    const plaintext = loadConfig({ APP_ENV: 'test', TEMPORAL_ADDRESS: proxyAddress });
    await expect(connectWorker(plaintext.TEMPORAL_ADDRESS!, plaintext.temporalSecurity)).rejects.toThrow(/TEMPORAL_ADDRESS unreachable/);
  });

  it('is refused when the server certificate does not match the expected name', async () => {
    const wrongName = loadConfig({ ...mtlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'other.test' });
    await expect(connectWorker(wrongName.TEMPORAL_ADDRESS!, wrongName.temporalSecurity)).rejects.toThrow(/TEMPORAL_ADDRESS unreachable/);
  });
});
