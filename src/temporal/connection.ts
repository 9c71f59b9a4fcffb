import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalSecurity } from './connectionOptions';

function unreachable(address: string, err: unknown): Error {
  return new Error(
    `TEMPORAL_ADDRESS unreachable at ${address} (${(err as Error).message}): is the Temporal server running? Unset TEMPORAL_ADDRESS to let \`npm start\` run a dev server.`,
  );
}

/**
 * The codec is required: every payload this client sends (workflow inputs, updates, queries) is encrypted.
 * `security` (TLS, mTLS, API key: config.temporalSecurity) is the same for the client and the workers.
 */
export async function connectClient(address: string, namespace: string, payloadCodec: PayloadCodec, security: TemporalSecurity = {}): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({ ...security, address, connectTimeout: '10s' });
    return { connection, client: new Client({ connection, namespace, dataConverter: { payloadCodecs: [payloadCodec] } }) };
  } catch (err) {
    throw unreachable(address, err);
  }
}

export async function connectWorker(address: string, security: TemporalSecurity = {}): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ ...security, address });
  } catch (err) {
    throw unreachable(address, err);
  }
}
