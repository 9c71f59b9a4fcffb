/**
 * Start-up settings of a deployment (docs/deployment.md): which proxies are trusted, which
 * secrets production refuses, how the Temporal connection is secured.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { parseTrustProxy } from '../../src/deployment/trustProxy';
import { describeTemporalSecurity, temporalSecurityFromEnv } from '../../src/temporal/connectionOptions';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** What deploy/generate-env.sh produces, as the API sees it. */
const goodProduction = () => ({
  APP_ENV: 'production',
  ADMIN_API_KEY: hex(32),
  PAYLOAD_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  WEBHOOK_SECRET_KEYS: `w1:${randomBytes(32).toString('base64')}`,
  DATABASE_URL: `postgres://gongjian:${hex(24)}@postgres:5432/gongjian`,
  METRICS_PORT: '9464',
});

/** The uncommented KEY=VALUE lines of deploy/env.example. */
function envExample(): Record<string, string> {
  const text = readFileSync(resolve(__dirname, '../../deploy/env.example'), 'utf8');
  return Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('TRUST_PROXY', () => {
  it('takes false, a hop count or a list of ranges, loopback by default', () => {
    expect(parseTrustProxy(undefined)).toEqual(['loopback']);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 172.16.0.0/12,10.1.2.3,fd00::/8')).toEqual(['loopback', '172.16.0.0/12', '10.1.2.3', 'fd00::/8']);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
  });

  it('refuses "true" (any client could name its own address) and what is not an address or range, naming the variable', () => {
    for (const bad of ['true', 'proxy.example.org', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', ',', '11']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY/);
    }
  });
});

describe('production secrets', () => {
  it('starts with the secrets deploy/generate-env.sh makes', () => {
    const config = loadConfig(goodProduction());
    expect(config.adminApiKeys).toHaveLength(1);
  });

  it('refuses every secret that deploy/env.example ships, naming it', () => {
    const example = envExample();
    const fromExample: Record<string, string> = {
      ADMIN_API_KEY: example.ADMIN_API_KEY,
      PAYLOAD_ENCRYPTION_KEYS: example.PAYLOAD_ENCRYPTION_KEYS,
      WEBHOOK_SECRET_KEYS: example.WEBHOOK_SECRET_KEYS,
      // As docker-compose.yml builds it from GONGJIAN_DB_PASSWORD.
      DATABASE_URL: `postgres://gongjian:${example.GONGJIAN_DB_PASSWORD}@postgres:5432/gongjian`,
    };
    for (const [name, value] of Object.entries(fromExample)) {
      expect(value).toBeTruthy();
      expect(() => loadConfig({ ...goodProduction(), [name]: value })).toThrow(new RegExp(`^${name}`));
    }
    // The same values are accepted outside production, where the example is not used.
    expect(() => loadConfig({ DATABASE_URL: fromExample.DATABASE_URL })).not.toThrow();
  });

  it('refuses the usual placeholders for any secret', () => {
    for (const placeholder of ['change-me-change-me-change-me-0123456789', 'CHANGEME', 'your-api-key-goes-here-0123456789abcdef', 'example-example-example-example-1234']) {
      expect(() => loadConfig({ ...goodProduction(), ADMIN_API_KEY: placeholder })).toThrow(/ADMIN_API_KEY still holds a placeholder/);
      expect(() => loadConfig({ ...goodProduction(), METRICS_BEARER: placeholder })).toThrow(/METRICS_BEARER still holds a placeholder/);
      expect(() => loadConfig({ ...goodProduction(), TEMPORAL_API_KEY: placeholder })).toThrow(/TEMPORAL_API_KEY still holds a placeholder/);
    }
  });

  it('needs ADMIN_API_KEY to be at least 32 random characters in production (16 elsewhere)', () => {
    const short = hex(32).slice(0, 31);
    expect(() => loadConfig({ ...goodProduction(), ADMIN_API_KEY: short })).toThrow(/ADMIN_API_KEY: in production each key must be at least 32 random characters/);
    expect(() => loadConfig({ ...goodProduction(), ADMIN_API_KEY: 'a'.repeat(40) })).toThrow(/at least 32 random characters/);
    expect(() => loadConfig({ ...goodProduction(), ADMIN_API_KEY: 'abcabcabcabcabcabcabcabcabcabcabcabc' })).toThrow(/at least 32 random characters/);
    // Every key of a rotation list counts.
    expect(() => loadConfig({ ...goodProduction(), ADMIN_API_KEY: `${hex(32)},${short}` })).toThrow(/at least 32/);
    expect(loadConfig({ ...goodProduction(), ADMIN_API_KEY: `${hex(32)},${hex(16)}` }).adminApiKeys).toHaveLength(2);
    expect(loadConfig({ ADMIN_API_KEY: short.slice(0, 16) }).adminApiKeys).toHaveLength(1);
  });
});

describe('the Temporal connection (TLS, mTLS, API key through @temporalio/envconfig)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gj-tls-'));
  const ca = join(dir, 'ca.pem');
  const cert = join(dir, 'client.pem');
  const key = join(dir, 'client.key');
  writeFileSync(ca, 'CA PEM');
  writeFileSync(cert, 'CLIENT CERT PEM');
  writeFileSync(key, 'CLIENT KEY PEM');

  it('is plaintext with no settings (the compose network, the dev server)', () => {
    const security = temporalSecurityFromEnv({ TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(security).toEqual({});
    expect(describeTemporalSecurity(security)).toBe('plaintext');
    expect(loadConfig({}).temporalSecurity).toEqual({});
  });

  it('uses TLS with the API key for Temporal Cloud', () => {
    const security = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'cloud-key-123' }).temporalSecurity;
    expect(security).toEqual({ tls: true, apiKey: 'cloud-key-123' });
    expect(describeTemporalSecurity(security)).toBe('TLS, API key');
  });

  it('reads the CA, the server name and the client pair from files (mutual TLS)', () => {
    const security = temporalSecurityFromEnv({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    });
    expect(security.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('CA PEM'),
      clientCertPair: { crt: Buffer.from('CLIENT CERT PEM'), key: Buffer.from('CLIENT KEY PEM') },
    });
    expect(describeTemporalSecurity(security)).toBe('mutual TLS');
  });

  it('takes the PEMs inline too, and TEMPORAL_TLS=true alone means TLS with the system roots', () => {
    const inline = temporalSecurityFromEnv({ TEMPORAL_TLS_CLIENT_CERT_DATA: 'C', TEMPORAL_TLS_CLIENT_KEY_DATA: 'K' });
    expect((inline.tls as { clientCertPair: unknown }).clientCertPair).toEqual({ crt: Buffer.from('C'), key: Buffer.from('K') });
    expect(temporalSecurityFromEnv({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(temporalSecurityFromEnv({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toEqual({ tls: false, apiKey: 'k' });
  });

  it('refuses half a client pair and unreadable files, naming the settings', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert })).toThrow(/mutual TLS needs both a client certificate .* and its key/);
    expect(() => loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') })).toThrow(/Invalid Temporal connection settings .*TEMPORAL_TLS_/);
  });

  it('reads a temporal.toml profile only when TEMPORAL_CONFIG_FILE names it; variables override it', () => {
    const file = join(dir, 'temporal.toml');
    writeFileSync(file, `[profile.default]\naddress = "x:7233"\napi_key = "from-file"\n[profile.prod]\napi_key = "prod-key"\n[profile.prod.tls]\nserver_name = "prod.internal"\n`);
    expect(temporalSecurityFromEnv({ TEMPORAL_CONFIG_FILE: file })).toEqual({ tls: true, apiKey: 'from-file' });
    expect(temporalSecurityFromEnv({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }).tls).toMatchObject({ serverNameOverride: 'prod.internal' });
    expect(temporalSecurityFromEnv({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_API_KEY: 'env-key' }).apiKey).toBe('env-key');
  });
});
