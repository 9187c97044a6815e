import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { COMMAND_FAMILIES, familiesFor } from '../../src/cli/commands/index.ts';

function walk(c: Command): Command[] {
  return [c, ...c.commands.flatMap(walk)];
}

describe('CLI', () => {
  it('loads only the family that owns the command', () => {
    expect(familiesFor(['node', 'workbench', 'vboard', 'up']).map((f) => f.commands)).toEqual([['vboard']]);
    expect(familiesFor(['node', 'workbench', '--json', 'build', '--for', 'vboard']).map((f) => f.commands[0])).toEqual(['series']);
  });

  it('loads every family for --help, help and unknown commands', () => {
    expect(familiesFor(['node', 'workbench', '--help'])).toHaveLength(COMMAND_FAMILIES.length);
    expect(familiesFor(['node', 'workbench', 'help', 'vboard'])).toHaveLength(COMMAND_FAMILIES.length);
    expect(familiesFor(['node', 'workbench', 'vbaord'])).toHaveLength(COMMAND_FAMILIES.length);
  });

  it('every family registers exactly the top-level commands it claims, each with a description', async () => {
    for (const f of COMMAND_FAMILIES) {
      const program = await buildProgram([f]);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...f.commands].sort());
    }
    const all = await buildProgram();
    for (const c of walk(all)) expect(c.description(), `command '${c.name()}' has no description`).not.toBe('');
  });
});
