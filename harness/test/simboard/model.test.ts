import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { modelOption } from '../../src/cli/commands/simboard.ts';
import { hashTree } from '../../src/simboard/qemuBuild.ts';
import { MODEL_DIR, VIRT_RAM_GPA, modelFromEnv, modelServerArgv, modelServerKey, parseFillByte } from '../../src/simboard/modelServer.ts';
import { DEVICE_DIR } from '../../src/simboard/qemuBuild.ts';
import { resolveModelChoice, simboardModel, simboardPaths, simboardQemuArgv, type SimboardQemuSpec } from '../../src/simboard/simboard.ts';
import { simboardBoard, simboardPixelsSource } from '../../src/target/providers/simboard.ts';
import { judgePixelsFrom, pixelsSourceOf } from '../../src/decode/checks/pixels.ts';
import { modelFailuresIn } from '../../src/registers/modelFailures.ts';
import type { CompareResult } from '../../src/compare/frameCompare.ts';

const spec: SimboardQemuSpec = {
  qemu: { root: '/c/root', dir: '/c/q', binary: '/c/q/qemu-system-aarch64' },
  image: { dir: '/c/i', kernel: '/c/i/vmlinuz', initrd: '/c/i/initrd.cpio' },
  stateDir: '/s',
  disk: '/s/disk.ext4',
  serialLog: '/s/serial.log',
  pidFile: '/s/qemu.pid',
  capture: '/s/capture.jsonl',
  faults: '/s/faults',
  qmp: '/s/qmp.sock',
  sshPort: 2222,
  memoryMiB: 2048,
  cpus: 2,
  append: [],
};

const qemuPart = (argv: string[]) => argv.slice(argv.indexOf('/c/q/qemu-system-aarch64'));

describe('simboard QEMU argv with the decoding model', () => {
  it('shares the guest RAM as a file in the state dir and connects the device to the model socket', () => {
    const qa = qemuPart(simboardQemuArgv({ ...spec, model: { socket: '/s/model.sock', guestRam: '/s/guest,ram', timeoutMs: 700 } }));
    expect(qa[qa.indexOf('-M') + 1]).toBe('virt,gic-version=3,memory-backend=ram0');
    // the backend's size is the guest's -m (QEMU refuses a mismatch); commas doubled
    expect(qa[qa.indexOf('-object') + 1]).toBe('memory-backend-file,id=ram0,mem-path=/s/guest,,ram,size=2048M,share=on,discard-data=on');
    expect(qa[qa.indexOf('-m') + 1]).toBe('2048');
    expect(qa[qa.indexOf('-chardev') + 1]).toBe('socket,id=model,path=/s/model.sock');
    expect(qa).toContain('vdpu381-sim,id=vdpu381,capture=/s/capture.jsonl,control=/s/faults,model=model,model-timeout-ms=700');
  });

  it('is the same argv as before without the model (no memory backend, no chardev)', () => {
    const qa = qemuPart(simboardQemuArgv(spec));
    expect(qa[qa.indexOf('-M') + 1]).toBe('virt,gic-version=3');
    expect(qa).not.toContain('-object');
    expect(qa).not.toContain('-chardev');
    expect(qa).toContain('vdpu381-sim,id=vdpu381,capture=/s/capture.jsonl,control=/s/faults');
  });
});

describe('model choice', () => {
  it('reads WORKBENCH_SIMBOARD_MODEL', () => {
    expect(modelFromEnv({})).toBeUndefined();
    expect(modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'off' })).toBe(false);
    expect(modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'on' })).toEqual({ core: 'auto' });
    expect(modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'stub' })).toEqual({ core: 'stub' });
    expect(modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'fill=0x5a' })).toEqual({ core: 'stub', fill: 90 });
    expect(() => modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'yes' })).toThrow(/WORKBENCH_SIMBOARD_MODEL="yes": expected on, off, stub or fill=N/);
    expect(() => modelFromEnv({ WORKBENCH_SIMBOARD_MODEL: 'fill=256' })).toThrow(/expected a byte value 0-255/);
  });

  it('parses fill bytes and names the option on a bad one', () => {
    expect(parseFillByte('0', 'x')).toBe(0);
    expect(parseFillByte('255', 'x')).toBe(255);
    expect(parseFillByte('0xFF', 'x')).toBe(255);
    expect(() => parseFillByte('-1', '--model-fill')).toThrow(/--model-fill "-1"/);
    expect(() => parseFillByte('1e2', '--model-fill')).toThrow(/--model-fill/);
  });

  it('takes one of --model, --model-stub, --model-fill', () => {
    expect(modelOption({ model: true })).toEqual({ core: 'auto' });
    expect(modelOption({ modelFill: '17', modelTimeoutMs: '500' })).toEqual({ core: 'stub', fill: 17, timeoutMs: 500 });
    expect(() => modelOption({ model: true, modelStub: true })).toThrow(/exclude each other/);
    expect(() => modelOption({ model: true, modelTimeoutMs: '0' })).toThrow(/--model-timeout-ms "0"/);
  });
});

describe('model choice of starts that name none (iterate, power cycles) and the board profile', () => {
  const saved = { state: process.env.WORKBENCH_STATE_DIR, env: process.env.WORKBENCH_SIMBOARD_MODEL };
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
    for (const [k, v] of [
      ['WORKBENCH_STATE_DIR', saved.state],
      ['WORKBENCH_SIMBOARD_MODEL', saved.env],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('takes the explicit choice, else the env, else the last start (model.json), else none; decodesPixels follows', () => {
    process.env.WORKBENCH_STATE_DIR = dir = mkdtempSync(join(tmpdir(), 'wb-model-state-'));
    delete process.env.WORKBENCH_SIMBOARD_MODEL;
    expect(resolveModelChoice()).toBe(false);
    expect(simboardModel()).toBeUndefined();
    expect(simboardBoard().decodesPixels).toBe(false); // as before the model existed
    mkdirSync(simboardPaths().dir, { recursive: true });
    writeFileSync(simboardPaths().modelChoice, JSON.stringify({ model: { core: 'stub', fill: 1 } }));
    expect(resolveModelChoice()).toEqual({ core: 'stub', fill: 1 });
    expect(simboardBoard().decodesPixels).toBe(true);
    expect(resolveModelChoice(false)).toBe(false);
    process.env.WORKBENCH_SIMBOARD_MODEL = 'off';
    expect(resolveModelChoice()).toBe(false);
    expect(simboardBoard().decodesPixels).toBe(false);
    process.env.WORKBENCH_SIMBOARD_MODEL = 'on';
    expect(resolveModelChoice()).toEqual({ core: 'auto' });
  });
});

describe('model server', () => {
  it("is told the socket, the RAM file and virt's RAM base (0x40000000, hw/arm/virt.c VIRT_MEM)", () => {
    const f = { socket: '/s/model.sock', guestRam: '/s/guest-ram', log: '/s/model.log', pidFile: '/s/model.pid' };
    expect(modelServerArgv('/c/m/vdpu381-model-server', f, { fill: 90, dieAfter: 3 })).toEqual([
      '/c/m/vdpu381-model-server',
      '--socket',
      '/s/model.sock',
      '--ram',
      '/s/guest-ram',
      '--ram-gpa',
      '0x40000000',
      '--fill',
      '90',
      '--die-after',
      '3',
    ]);
    expect(VIRT_RAM_GPA).toBe(1 << 30);
  });

  it('is rebuilt when a file of the model tree changes (cache key)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wb-model-'));
    mkdirSync(join(d, 'server'));
    writeFileSync(join(d, 'server/a.c'), 'int a;\n');
    const k = modelServerKey(await hashTree(d), 'root', 'auto');
    expect(modelServerKey(await hashTree(d), 'root', 'auto')).toBe(k);
    expect(modelServerKey(await hashTree(d), 'root', 'stub')).not.toBe(k);
    writeFileSync(join(d, 'server/a.c'), 'int b;\n');
    expect(modelServerKey(await hashTree(d), 'root', 'auto')).not.toBe(k);
  });

  it('speaks the protocol of the committed header (the device keeps its own copy of the constants)', () => {
    const h = readFileSync(join(MODEL_DIR(), 'include', 'vdpu381_model.h'), 'utf8');
    const c = readFileSync(join(DEVICE_DIR(), 'hw', 'misc', 'vdpu381_sim.c'), 'utf8');
    for (const name of ['VDPU381_MODEL_MAGIC', 'VDPU381_MODEL_VERSION', 'VDPU381_MODEL_NREGS']) {
      const re = new RegExp(`#define ${name}\\s+(\\S+)`);
      const hv = re.exec(h)?.[1];
      expect(hv, `${name} in the header`).toBeDefined();
      expect(re.exec(c)?.[1], `${name} in the device`).toBe(hv);
    }
    // struct vdpu381_model_job: magic, version (u32), job (u64), regs[NREGS] (u32): 16 + 4 * 320
    expect(h).toMatch(/struct vdpu381_model_job \{\s+uint32_t magic;\s+uint32_t version;\s+uint64_t job;[^}]*uint32_t regs\[VDPU381_MODEL_NREGS\];\s+\};/);
    expect(c).toMatch(/#define VDPU381_MODEL_JOB_SIZE\s+\(16 \+ 4 \* VDPU381_MODEL_NREGS\)/);
    // struct vdpu381_model_answer: magic, version, job (u64), sta_int, why_len: 24 bytes; reason < 256
    expect(h).toMatch(
      /struct vdpu381_model_answer \{\s+uint32_t magic;\s+uint32_t version;\s+uint64_t job;\s+uint32_t sta_int;\s+uint32_t why_len;[^}]*< 256\s*\*\/\s+\};/,
    );
    expect(c).toMatch(/#define VDPU381_MODEL_ANS_SIZE\s+24\b/);
    expect(c).toMatch(/#define VDPU381_MODEL_WHY_MAX\s+256\b/);
  });
});

describe('model failures in the capture records', () => {
  it('finds failed and unanswered jobs, and nothing without a model or when every job was answered', () => {
    const lines = [
      '{"format":1,"job":1,"end":"ack","status_set":7}',
      '{"format":1,"job":2,"end":"ack","model":{"state":"answered","sta_int":7,"host_us":9,"why":"fill 0x5a: 6144 bytes at 0xbbac0000"}}',
      '{"format":1,"job":3,"end":"ack","model":{"state":"skipped","why":"bus-error"}}',
      '{"format":1,"job":4,"end":"ack","model":{"state":"failed","sta_int":19,"host_us":1,"why":"model disconnected before answering"}}',
      '{"format":1,"job":5,"end":"next-dec-e","model":{"state":"pending"}}',
      'not json "model":',
    ].join('\n');
    expect(modelFailuresIn(lines)).toEqual([
      { job: 4, why: 'model disconnected before answering' },
      { job: 5, why: 'the job ended before the model answered' },
    ]);
    expect(modelFailuresIn(lines.split('\n').slice(0, 3).join('\n'))).toEqual([]);
  });
});

describe('pixels check on the simboard with the model', () => {
  const compare = (match: boolean): CompareResult =>
    ({
      framesExpected: 1,
      framesProduced: 1,
      mismatchingFrames: match ? 0 : 1,
      missingFrames: 0,
      extraFrames: 0,
      pixelsCompared: true,
      streamMd5: 'x',
      perFrame: [{ index: 0, algo: 'md5', produced: 'aa', expected: match ? 'aa' : 'bb', match, ...(match ? {} : { problem: 'hash' }) }],
      ...(match ? {} : { firstMismatch: { outcome: { index: 0, algo: 'md5', produced: 'aa', expected: 'bb', match: false, problem: 'hash' } } }),
    }) as unknown as CompareResult;

  it('says the pixels come from a register-driven model, not silicon', () => {
    const src = simboardPixelsSource({ kind: 'core', pid: 1, serverKey: 'k' });
    expect(src).toBe('pixels verified against a register-driven model of vdpu381, not silicon');
    const j = judgePixelsFrom(compare(true), pixelsSourceOf({ pixelsSource: () => src }));
    expect(j.results![0]!.detail).toBe('1 frames identical to the reference; pixels verified against a register-driven model of vdpu381, not silicon');
  });

  it('names the stub and the fill mode for what they are, and nothing on other boards', () => {
    expect(simboardPixelsSource({ kind: 'stub', pid: 1, serverKey: 'k' })).toMatch(/stub vdpu381 model \(decodes nothing\), not silicon/);
    expect(simboardPixelsSource({ core: 'stub', fill: 90 })).toMatch(/fill test mode \(every byte 0x5a\)/);
    expect(simboardPixelsSource(undefined)).toBeUndefined();
    expect(pixelsSourceOf({})).toBeUndefined();
    expect(judgePixelsFrom(compare(false), undefined).results![0]!.detail).toBe('1 frames differ; first frame 0: md5 aa expected bb');
  });
});
