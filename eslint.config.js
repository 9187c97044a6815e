// ESLint flat config: TypeScript rules plus the folder layering of
// harness/src as ARCHITECTURE.md draws it (see LAYERS below), made executable:
// - import-x/no-cycle: no import cycle between modules;
// - import-x/no-restricted-paths: a folder imports only the folders listed
//   below it (so folders cannot form a cycle either), and never a sibling
//   folder's sub-folders (its internals: vectors/vp9/, decode/visl/, ...).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const SRC = 'harness/src';

/**
 * What each folder of harness/src may import (besides itself and Node/npm
 * packages). Lower folders first; the map must stay acyclic (checked below).
 * A new folder must be added here before it lints.
 */
/** Every folder the pipeline may wire together. */
const STAGES = [
  'core',
  'model',
  'compare',
  'toolbox',
  'kernel',
  'vectors',
  'target',
  'target/providers',
  'irq',
  'vboard',
  'simboard',
  'deploy',
  'decode',
  'report',
  'fluster',
];

const LAYERS = {
  model: [],
  core: ['model'],
  compare: ['core', 'model'],
  toolbox: ['core', 'model'],
  kernel: ['core', 'model', 'toolbox'],
  vectors: ['core', 'model', 'compare'],
  target: ['core', 'model'],
  irq: ['core', 'model', 'target'],
  vboard: ['core', 'model', 'kernel', 'toolbox', 'target'],
  // simboard/: the arm64 QEMU board with the vdpu381 device model (reuses vboard's boot pieces).
  simboard: ['core', 'model', 'kernel', 'toolbox', 'target', 'vboard'],
  // target/providers/: one file per board kind, above the boards they bring up.
  'target/providers': ['core', 'model', 'kernel', 'toolbox', 'target', 'vboard', 'simboard'],
  deploy: ['core', 'model', 'target', 'irq', 'kernel'],
  decode: ['core', 'model', 'compare', 'vectors', 'target', 'irq', 'registers'],
  report: ['core', 'model'],
  fluster: ['core', 'model', 'vectors'],
  registers: ['core', 'model', 'toolbox', 'vectors'],
  // farm/: LAVA jobs, bundles, local lava-run/lava-server, collect into reports
  farm: ['core', 'model', 'compare', 'toolbox', 'kernel', 'vectors', 'target', 'irq', 'vboard', 'simboard', 'deploy', 'decode', 'report'],
  // pipeline/ wires every stage; cli/ is the edge above everything.
  pipeline: STAGES,
  cli: [...STAGES, 'registers', 'pipeline', 'farm'],
};

const folders = Object.keys(LAYERS);
for (const d of readdirSync(SRC)) {
  if (statSync(join(SRC, d)).isDirectory() && !(d in LAYERS)) throw new Error(`eslint.config.js: folder ${SRC}/${d} is not placed in LAYERS`);
}
// The allowed-imports map must be acyclic, else the layering allows a folder cycle.
const visiting = new Set();
const done = new Set();
function visit(f, path) {
  if (done.has(f)) return;
  if (visiting.has(f)) throw new Error(`eslint.config.js: LAYERS has a cycle: ${[...path, f].join(' -> ')}`);
  visiting.add(f);
  for (const g of LAYERS[f] ?? []) visit(g, [...path, f]);
  visiting.delete(f);
  done.add(f);
}
folders.forEach((f) => visit(f, []));

/** Files of a folder (for 'target': everything but its providers/ sub-folder). */
function filesOf(folder) {
  const nested = folders.filter((g) => g.startsWith(`${folder}/`)).map((g) => g.slice(folder.length + 1));
  if (nested.length === 0) return [`${SRC}/${folder}/**/*.{ts,tsx}`];
  return [`${SRC}/${folder}/*.{ts,tsx}`, `${SRC}/${folder}/!(${nested.join('|')})/**/*.{ts,tsx}`];
}

/** no-restricted-paths zones for the files of `folder`. */
function zonesFor(folder) {
  const allowed = new Set([folder, ...LAYERS[folder]]);
  const zones = [];
  for (const g of folders) {
    if (allowed.has(g) || folder.startsWith(`${g}/`) || g.startsWith(`${folder}/`)) continue;
    zones.push({
      target: filesOf(folder),
      from: filesOf(g),
      message: `${folder}/ may import only ${[...LAYERS[folder]].join(', ') || 'nothing of ours'} (LAYERS in eslint.config.js, ARCHITECTURE.md)`,
    });
  }
  // A sibling's sub-folders are its internals: import the files at its top level.
  for (const g of folders) {
    // a folder whose LAYERS entry names a sub-folder of g (target/providers) may import g's sub-folders
    if (g === folder || g.includes('/') || folder.startsWith(`${g}/`) || [...allowed].some((a) => a.startsWith(`${g}/`))) continue;
    zones.push({
      target: filesOf(folder),
      from: `${SRC}/${g}/*/**`,
      except: folders.filter((h) => h.startsWith(`${g}/`)).map((h) => `./${h.slice(g.length + 1)}`),
      message: `a sibling folder's sub-folders are its internals: import from the top level of ${g}/ (re-export there if needed)`,
    });
  }
  return zones;
}

const layerBlocks = folders.map((folder) => ({
  files: filesOf(folder),
  rules: { 'import-x/no-restricted-paths': ['error', { zones: zonesFor(folder) }] },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', '**/*.py', 'harness/src/vboard/guest/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    plugins: { 'import-x': importX },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    settings: {
      // import-x parses the modules an import leads to (no-cycle follows them) with the TypeScript parser.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.tsx', '.js'] })],
    },
    rules: {
      // Stripping control characters from logs and XML is what those regexes are for.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
    },
  },
  {
    files: ['harness/bin/**/*.js', '*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // Tests read JSON and XML written by the code under test without a schema of their own.
    files: ['harness/test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...layerBlocks,
);
