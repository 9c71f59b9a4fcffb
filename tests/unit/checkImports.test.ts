/** The import rules of scripts/check-imports.js (run by `npm test` before jest): each rule catches what it names, and the repository keeps them. */
const { checkSource, checkRepository } = require('../../scripts/check-imports.js') as {
  checkSource(file: string, source: string): string[];
  checkRepository(): string[];
};

describe('the import rules', () => {
  it('hold for the repository', () => {
    expect(checkRepository()).toEqual([]);
  });

  it('keep Node built-ins, pg, express, db and api out of workflows, and activities as types only', () => {
    const wf = (source: string) => checkSource('src/workflows/x.ts', source);
    expect(wf("import { readFileSync } from 'node:fs';")).toEqual([expect.stringMatching(/Node built-in node:fs/)]);
    expect(wf("import crypto from 'crypto';")).toHaveLength(1);
    expect(wf("import type { Pool } from 'pg';")).toHaveLength(1);
    expect(wf("import express from 'express';")).toHaveLength(1);
    expect(wf("import { listCases } from '../db/caseViews';")).toEqual([expect.stringMatching(/from src\/db/)]);
    expect(wf("export { x } from '../api/schemas';")).toHaveLength(1);
    expect(wf("const pg = require('pg');")).toHaveLength(1);
    expect(wf("const m = await import('node:path');")).toHaveLength(1);
    expect(wf("import { createActivities } from '../activities';")).toEqual([expect.stringMatching(/only `import type`/)]);
    expect(wf("import type { CaseActivities } from '../activities';\nimport { proxyActivities } from '@temporalio/workflow';\nimport { x } from '../domain/sla';")).toEqual([]);
    // Not fooled by comments or strings.
    expect(wf("// import fs from 'node:fs'\nconst s = \"import pg from 'pg'\";")).toEqual([]);
  });

  it('keep I/O out of the domain, and reconciliation out of db', () => {
    expect(checkSource('src/domain/x.ts', "import { Pool } from 'pg';")).toHaveLength(1);
    expect(checkSource('src/domain/x.ts', "import { Client } from '@temporalio/client';")).toHaveLength(1);
    expect(checkSource('src/domain/x.ts', "import { q } from '../db/pool';")).toHaveLength(1);
    expect(checkSource('src/domain/x.ts', "export async function f() { return fetch('http://x'); }")).toEqual([expect.stringMatching(/calls fetch/)]);
    expect(checkSource('src/domain/x.ts', "import { parseIsoDuration } from './duration';")).toEqual([]);
    expect(checkSource('src/db/x.ts', "import type { StoredCase } from '../reconciliation/drift';")).toEqual([expect.stringMatching(/src\/reconciliation/)]);
    expect(checkSource('src/db/x.ts', "import type { Pool } from 'pg';\nimport { readFileSync } from 'node:fs';")).toEqual([]);
    expect(checkSource('src/api/x.ts', "import { Pool } from 'pg';")).toEqual([]);
  });
});
