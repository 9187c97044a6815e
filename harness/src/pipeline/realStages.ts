/**
 * The real stages of `workbench iterate`, on top of the stage modules
 * (kernel/, target/ + vboard/, deploy/, vectors/ + compare/, decode/).
 * `workbench iterate` only ever runs these (fakes live in harness/test/).
 *
 * A stage whose module has no entry point yet throws `E_STAGE_UNAVAILABLE`
 * naming the module, so the run fails honestly (exit 2) with a report that
 * says which stage is missing, instead of pretending.
 */
import { WorkbenchError } from '../core/errors.ts';
import { getBoard, VBOARD } from '../target/boards.ts';
import { targetFor } from '../target/connect.ts';
import { vboardUp } from '../vboard/vboard.ts';
import { probeGst, selectElement } from '../decode/gstElements.ts';
import type { StageContext } from './graph.ts';
import type { BoardSession, IterateStages } from './stages.ts';

/** Driver under test per board flavour: visl on the vboard, rkvdec on RK3588 boards. */
export function driverFor(flavour: string): string {
  return flavour === 'vboard' ? 'visl' : 'rkvdec';
}

function unavailable(stage: string, module: string): never {
  throw new WorkbenchError('E_STAGE_UNAVAILABLE', `the ${stage} stage is not available yet: ${module} has no entry point for it`, {
    hint: `this workbench version cannot run \`iterate\` end to end; run the ${stage} command of its own family when it exists, or update the workbench`,
  });
}

async function board(ctx: StageContext, name: string | undefined): Promise<BoardSession> {
  const b = getBoard(name ?? VBOARD);
  if (b.flavour === 'vboard') {
    ctx.command(['workbench', 'vboard', 'up']);
    await vboardUp({ log: (m) => ctx.log(m) });
  }
  const target = targetFor(b);
  const kernelRelease = await target.kernelRelease();
  const driver = driverFor(b.flavour);
  return {
    info: { name: b.name, kind: b.flavour === 'vboard' ? 'vboard' : 'board', kernelRelease, device: { driver }, pixelsDecoded: driver !== 'visl' },
    target,
    // the pooled connection is closed by the command (closeTargets) at exit
    close: async () => undefined,
  };
}

/** The real {@link IterateStages}. */
export function realStages(): IterateStages {
  return {
    board: (ctx, req) => board(ctx, req.board),
    build: async () => unavailable('build', 'harness/src/kernel (module build)'),
    check: async () => unavailable('check', 'harness/src/kernel (static checks)'),
    deploy: async () => unavailable('deploy', 'harness/src/deploy (deployModules)'),
    plan: async () => unavailable('plan', 'harness/src/vectors (suite resolution and references)'),
    prepareDecode: async (ctx, s) => {
      ctx.command(['ssh', s.info.name, 'gst-inspect-1.0', 'v4l2codecs']);
      const probe = await probeGst(s.target);
      const el = selectElement(probe, s.info.device.driver, s.info.name);
      return {
        device: { driver: el.driver || s.info.device.driver, media: el.mediaDevice, video: el.videoDevice },
        decoder: { name: 'gstreamer', version: probe.gstVersion ?? 'unknown', detail: el.element },
      };
    },
    decodeVector: async () => unavailable('decode', 'harness/src/decode (decode one vector on the board)'),
    irqUnavailableReason: (s) =>
      s.info.device.driver === 'visl' ? 'the board uses visl, which has no vdpu381 interrupt to instrument' : undefined,
  };
}
