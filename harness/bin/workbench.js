#!/usr/bin/env node
// Launcher: runs the TypeScript sources directly through tsx (no build step,
// so `npm ci && npx workbench ...` works on a fresh clone).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
