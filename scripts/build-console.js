#!/usr/bin/env node
/**
 * Bundle the console (src/console/web) with esbuild into dist/console-web: content-hashed
 * JS and CSS (everything inside, ECharts and its Chinese locale too: no CDN), and the two
 * HTML shells, index.html (/console/) and order.html (/p/{token}). Run by scripts/build.js
 * and by the test global set-up. Prints the gzip size of what a browser downloads.
 */
'use strict';
const { mkdirSync, rmSync, writeFileSync, readFileSync } = require('node:fs');
const { join, basename } = require('node:path');
const { gzipSync } = require('node:zlib');

const root = join(__dirname, '..');
const outdir = join(root, 'dist/console-web');

function shell(title, assets) {
  const css = assets.filter((a) => a.endsWith('.css')).map((a) => `<link rel="stylesheet" href="${a}">`).join('\n');
  const js = assets.filter((a) => a.endsWith('.js')).map((a) => `<script src="${a}" defer></script>`).join('\n');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
${css}
${js}
</head>
<body>
<div id="app"><noscript>需要启用 JavaScript / JavaScript is required.</noscript></div>
</body>
</html>
`;
}

async function buildConsole({ quiet = false } = {}) {
  const esbuild = require('esbuild');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(root, 'src/console/web/app.ts'), order: join(root, 'src/console/web/order.ts') },
    bundle: true, minify: true, sourcemap: false, format: 'esm', splitting: true, target: ['chrome110', 'safari15', 'firefox115'],
    outdir, entryNames: '[name]-[hash]', chunkNames: 'chunk-[hash]', assetNames: '[name]-[hash]', metafile: true,
    legalComments: 'none', logLevel: quiet ? 'error' : 'warning', absWorkingDir: root,
  });
  const outputs = Object.entries(result.metafile.outputs);
  const assetsOf = (entry) => {
    const [file, meta] = outputs.find(([, m]) => m.entryPoint && m.entryPoint.endsWith(`src/console/web/${entry}.ts`));
    return [basename(file), ...(meta.cssBundle ? [basename(meta.cssBundle)] : [])];
  };
  // ES modules: the entry imports its shared chunks itself.
  const html = (title, entry, base) => shell(title, assetsOf(entry).map((a) => `${base}${a}`)).replace(/<script src="([^"]+)" defer>/g, '<script type="module" src="$1">');
  writeFileSync(join(outdir, 'index.html'), html('共建 社区服务台', 'app', '/console/'));
  writeFileSync(join(outdir, 'order.html'), html('工单', 'order', '/console/'));
  let raw = 0;
  let gz = 0;
  for (const [file] of outputs) {
    if (!/\.(js|css)$/.test(file)) continue;
    const bytes = readFileSync(join(root, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  const sizes = { rawBytes: raw, gzipBytes: gz };
  writeFileSync(join(outdir, 'sizes.json'), JSON.stringify(sizes));
  if (!quiet) console.error(`[console] bundled into dist/console-web: ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzip (JS + CSS)`);
  return sizes;
}

module.exports = { buildConsole, CONSOLE_OUT: outdir };
if (require.main === module) buildConsole().catch((err) => { console.error(err.message); process.exit(1); });
