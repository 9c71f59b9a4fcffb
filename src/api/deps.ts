import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logger';

export interface ApiDeps {
  config: Config;
  pool: Pool;
  temporal: Client;
  log: Logger;
}
