#!/usr/bin/env node
/**
 * The import rules of the architecture, enforced in `npm test`:
 *
 * - src/workflows: deterministic sandbox code. No Node built-ins, no `pg`, no `express`,
 *   nothing from src/db or src/api; activities only as types (calls go through proxyActivities).
 * - src/domain: plain types and pure rules. No I/O: no Node built-ins, no `pg`, `express` or
 *   Temporal client/worker/activity packages, nothing from src/db, src/api, src/activities,
 *   src/temporal or src/reconciliation, and no call to the global `fetch`.
 * - src/db: nothing from src/reconciliation (reconciliation uses the read model, not the reverse).
 *
 * ESLint's `no-restricted-imports` would say the same, but typescript-eslint needs the
 * TypeScript compiler API, which TypeScript 7 (the Go compiler) does not ship; so the
 * sources are parsed with swc (already the test transform) and checked here.
 *
 *   node scripts/check-imports.js        # exit 1 and one line per violation
 */
const { builtinModules } = require('node:module');
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const ROOT = resolve(__dirname, '..');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Per layer (a folder of src): what it must not import. `typesAllowed` layers may still be imported with `import type`. */
const RULES = [
  {
    layer: 'src/workflows',
    why: 'workflow code runs in the deterministic sandbox',
    builtins: true,
    packages: ['pg', 'express'],
    layers: ['src/db', 'src/api'],
    typesOnly: ['src/activities'],
    globals: [],
  },
  {
    layer: 'src/domain',
    why: 'the domain is pure rules, without I/O',
    builtins: true,
    packages: ['pg', 'express', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
    layers: ['src/db', 'src/api', 'src/activities', 'src/temporal', 'src/reconciliation'],
    typesOnly: [],
    globals: ['fetch'],
  },
  {
    layer: 'src/db',
    why: 'reconciliation builds on the read model, not the other way round',
    builtins: false,
    packages: [],
    layers: ['src/reconciliation'],
    typesOnly: [],
    globals: [],
  },
];

/** Every import of a module: `{ specifier, typeOnly }`, plus the calls of global names. */
function importsOf(source, filename) {
  const ast = require('@swc/core').parseSync(source, { syntax: 'typescript', tsx: filename.endsWith('.tsx') });
  const found = [];
  const calls = [];
  const visit = (node) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    switch (node.type) {
      case 'ImportDeclaration':
        found.push({ specifier: node.source.value, typeOnly: node.typeOnly || (node.specifiers.length > 0 && node.specifiers.every((s) => s.isTypeOnly)) });
        return;
      case 'ExportAllDeclaration':
        found.push({ specifier: node.source.value, typeOnly: Boolean(node.typeOnly) });
        return;
      case 'ExportNamedDeclaration':
        if (node.source) found.push({ specifier: node.source.value, typeOnly: node.typeOnly || node.specifiers.every((s) => s.isTypeOnly) });
        break;
      case 'TsImportEqualsDeclaration':
        if (node.moduleRef?.type === 'TsExternalModuleReference') found.push({ specifier: node.moduleRef.expression.value, typeOnly: node.isTypeOnly });
        break;
      case 'CallExpression': {
        const arg = node.arguments?.[0]?.expression;
        const literal = arg && arg.type === 'StringLiteral' ? arg.value : null;
        if (node.callee.type === 'Import' && literal) found.push({ specifier: literal, typeOnly: false });
        if (node.callee.type === 'Identifier' && node.callee.value === 'require' && literal) found.push({ specifier: literal, typeOnly: false });
        if (node.callee.type === 'Identifier') calls.push(node.callee.value);
        break;
      }
      case 'TsImportType':
        return; // `import('x').T` in a type position: erased
      default:
    }
    for (const key of Object.keys(node)) if (key !== 'span') visit(node[key]);
  };
  visit(ast.body);
  return { imports: found, calls };
}

/** `src/workflows/x.ts` importing `../db/pool` -> `src/db/pool`; packages stay as they are. */
function target(fileRel, specifier) {
  if (!specifier.startsWith('.')) return specifier;
  return relative(ROOT, resolve(ROOT, dirname(fileRel), specifier)).split(sep).join('/');
}

const within = (path, layer) => path === layer || path.startsWith(`${layer}/`);
const packageName = (s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);

/** The violations in one file (path relative to the repository, `/`-separated). */
function checkSource(fileRel, source) {
  const rule = RULES.find((r) => within(fileRel, r.layer));
  if (!rule) return [];
  const { imports, calls } = importsOf(source, fileRel);
  const problems = [];
  const say = (what) => problems.push(`${fileRel}: ${what} (${rule.why})`);
  for (const { specifier, typeOnly } of imports) {
    const to = target(fileRel, specifier);
    if (rule.builtins && BUILTINS.has(specifier)) say(`imports the Node built-in ${specifier}`);
    else if (rule.packages.includes(packageName(specifier))) say(`imports ${specifier}`);
    else if (rule.layers.some((l) => within(to, l))) say(`imports ${specifier} from ${rule.layers.find((l) => within(to, l))}`);
    else if (!typeOnly && rule.typesOnly.some((l) => within(to, l))) say(`imports ${specifier} as a value (only \`import type\` is allowed)`);
  }
  for (const name of rule.globals) if (calls.includes(name)) say(`calls ${name}()`);
  return problems;
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function checkRepository(root = ROOT) {
  return sourceFiles(join(root, 'src')).flatMap((file) => checkSource(relative(root, file).split(sep).join('/'), readFileSync(file, 'utf8')));
}

module.exports = { checkSource, checkRepository, RULES };

if (require.main === module) {
  const problems = checkRepository();
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} import rule violation(s)`);
    process.exit(1);
  }
  console.log('check-imports: the import rules hold');
}
