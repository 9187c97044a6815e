import { describe, expect, it } from 'vitest';
import { EventBus, type WorkbenchEvent } from '../../src/core/events.ts';
import { WorkbenchError } from '../../src/core/errors.ts';
import { runGraph, type StageGraph } from '../../src/pipeline/graph.ts';
import { sleep } from './fakeStages.ts';

function collect(bus: EventBus): WorkbenchEvent[] {
  const ev: WorkbenchEvent[] = [];
  bus.on((e) => ev.push(e));
  return ev;
}

describe('stage graph', () => {
  it('runs independent stages concurrently and dependents after their inputs', async () => {
    const bus = new EventBus();
    const ev = collect(bus);
    const order: string[] = [];
    // a can only finish after b finished: proves they run at the same time (no timing assumptions)
    let bDone!: () => void;
    const bFinished = new Promise<void>((r) => (bDone = r));
    const g: StageGraph<{ a: number; b: number; c: number }> = {
      a: {
        deps: [],
        run: async () => {
          order.push('a+');
          await bFinished;
          order.push('a-');
          return 1;
        },
      },
      b: {
        deps: [],
        run: async (ctx) => {
          order.push('b+');
          await sleep(10, ctx.signal);
          order.push('b-');
          ctx.command(['make', 'M=a b']);
          bDone();
          return 2;
        },
      },
      c: {
        deps: ['a', 'b'],
        run: async (_ctx, get) => {
          order.push('c');
          return get('a') + get('b');
        },
      },
    };
    const r = await runGraph(g, { bus });
    expect(r.outputs.c).toBe(3);
    expect(order).toEqual(['a+', 'b+', 'b-', 'a-', 'c']);
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
      ['c', 'done'],
    ]);
    expect(r.stages[1]!.commands).toEqual([`make 'M=a b'`]);
    expect(ev.filter((e) => e.type === 'stage' && e.stage === 'c').map((e) => (e as { status: string }).status)).toEqual(['pending', 'running', 'done']);
  });

  it('a failure skips dependents and stops stages still running', async () => {
    const bus = new EventBus();
    let bStopped = false;
    const g: StageGraph<{ a: number; b: number; c: number }> = {
      a: {
        deps: [],
        run: async () => {
          throw new WorkbenchError('E_BUILD', 'does not compile', { exitCode: 1 });
        },
      },
      b: {
        deps: [],
        run: async (ctx) => {
          try {
            await sleep(5000, ctx.signal);
          } catch (e) {
            bStopped = true;
            throw e;
          }
          return 2;
        },
      },
      c: { deps: ['a'], run: async () => 3 },
    };
    const r = await runGraph(g, { bus });
    expect(bStopped).toBe(true);
    expect(r.failure?.stage).toBe('a');
    expect(r.failure?.error.code).toBe('E_BUILD');
    expect(r.interrupted).toBe(false);
    expect(r.stages.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(r.stages[0]!.error).toMatchObject({ code: 'E_BUILD', message: 'does not compile' });
  });

  it('the external signal stops everything and says interrupted', async () => {
    const bus = new EventBus();
    const ac = new AbortController();
    const g: StageGraph<{ a: number; b: number }> = {
      a: {
        deps: [],
        run: async (ctx) => {
          setTimeout(() => ac.abort(), 10);
          await sleep(5000, ctx.signal);
          return 1;
        },
      },
      b: { deps: ['a'], run: async () => 2 },
    };
    const r = await runGraph(g, { bus, signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(r.failure).toBeUndefined();
    expect(r.stages.map((s) => [s.status, s.detail])).toEqual([
      ['skipped', 'interrupted'],
      ['skipped', 'interrupted'],
    ]);
  });

  it('rejects unknown dependencies and cycles', async () => {
    const bus = new EventBus();
    await expect(runGraph({ a: { deps: ['zz' as 'a'], run: async () => 1 } }, { bus })).rejects.toThrow(/unknown stage zz/);
    const cyc: StageGraph<{ a: number; b: number }> = { a: { deps: ['b'], run: async () => 1 }, b: { deps: ['a'], run: async () => 2 } };
    await expect(runGraph(cyc, { bus })).rejects.toThrow(/cycle/);
  });

  it('turns an unexpected exception into E_INTERNAL with a hint', async () => {
    const r = await runGraph(
      {
        a: {
          deps: [],
          run: async () => {
            throw new TypeError('x is undefined');
          },
        },
      },
      { bus: new EventBus() },
    );
    expect(r.failure?.error.code).toBe('E_INTERNAL');
    expect(r.stages[0]!.error?.hint).toMatch(/bug/);
  });
});
