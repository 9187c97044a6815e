/**
 * The run record: everything one `workbench iterate` run did and found,
 * written as `reports/<run-id>/run.json` (schema documented in reports/README.md,
 * JSON Schema in reports/schema/run.schema.json, generated from these zod
 * schemas by harness/src/report/schemaFile.ts).
 *
 * Stages produce the parts (kernel build -> {@link KernelInfo}, deploy ->
 * {@link DeployInfo}, decode -> {@link VectorResult}); the pipeline assembles
 * the {@link RunRecord}; the writers (json, junit, markdown, html) only read it.
 *
 * Compatibility: a field added in a backward-compatible way keeps
 * {@link RUN_SCHEMA_VERSION}; a removed or re-typed field bumps it.
 */
import { z } from 'zod';
import { CheckSchema, VerdictSchema, VerdictResultSchema } from './verdict.ts';
import { IrqRunSummarySchema, IrqVectorSummarySchema } from './irq.ts';
import { CaptureSummarySchema } from './captures.ts';

/** Version of the run.json format. */
export const RUN_SCHEMA_VERSION = 1;
/** Value of run.json's `schema` field. */
export const RUN_SCHEMA_NAME = 'vp9-workbench/run';

const count = z.number().int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');
const md5 = z.string().regex(/^[0-9a-f]{32}$/, '32 lower-case hex digits');
const isoTime = z.iso.datetime({ offset: true });

/** Run ids name report folders: `YYYYMMDD-HHMMSS-<board>-<4 hex>`; letters, digits, dot, dash, underscore. */
export const RunIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);

/**
 * A classified kernel-log event (same shape as irq/kernelLog.ts
 * KernelLogFinding, plus where it was seen). `crash` marks an oops, BUG,
 * panic or watchdog seen in a vector's slice (that vector's verdict is crash).
 */
export const KernelLogFindingSchema = z
  .object({
    kind: z.string().describe('panic, oops, bug, warn, hung_task, soft_lockup, rcu_stall, rkvdec_timeout, iommu_fault, module_error, probe_failed, taint, ...'),
    severity: z.enum(['info', 'warning', 'error', 'crash']),
    line: z.string().describe('the kernel-log line that identified it'),
    time: z.number().optional().describe('kernel time stamp, seconds since boot'),
    context: z.array(z.string()).optional().describe('following lines that belong to it (registers, call trace)'),
    modules: z.array(z.string()).optional().describe('modules named in the line or the call trace'),
    message: z.string().optional().describe('a one-line explanation for a person'),
    stage: z.string().optional().describe('stage whose kernel-log slice held it (deploy, decode...)'),
    vector: z.string().optional().describe('vector whose kernel-log slice held it'),
  })
  .describe('a kernel-log finding');
export type KernelLogFinding = z.infer<typeof KernelLogFindingSchema>;

/** A file of the report folder (path relative to it, forward slashes). */
export const ArtifactSchema = z.object({
  kind: z.enum(['decoded', 'reference', 'diff', 'header', 'log', 'other']),
  path: z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a relative path inside the report folder')
    .describe('relative to the report folder'),
  frame: count.optional().describe('0-based frame index the artifact shows'),
  description: z.string().optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** Result of one vector. */
export const VectorResultSchema = z
  .object({
    name: z.string().describe('vector name as in the suite'),
    suite: z.string(),
    features: z.array(z.string()).describe('VP9 features the vector exercises (suite tags), for filtering'),
    verdict: VerdictSchema,
    md5: z
      .object({
        expected: md5.nullable().describe("Fluster's `result`: MD5 of all reference frames, I420, visible size"),
        actual: md5.nullable().describe('the same over the decoded frames; null when not computed (visl, error)'),
      })
      .describe('whole-output MD5, comparable with Fluster'),
    durationMs: count,
    command: z.string().optional().describe('shell line that reproduces this decode on the board'),
    device: z
      .object({ media: z.string().optional(), video: z.string().optional(), driver: z.string().optional() })
      .optional()
      .describe('the decoder device actually opened'),
    header: z.string().optional().describe("inspector's header summary of the first bad frame"),
    irq: IrqVectorSummarySchema.optional(),
    captures: CaptureSummarySchema.optional().describe('boards that capture register programming (simboard): jobs, status words, IRQ latency'),
    kernelLog: z.array(KernelLogFindingSchema),
    artifacts: z.array(ArtifactSchema),
  })
  .describe('result of one vector');
export type VectorResult = z.infer<typeof VectorResultSchema>;

/** A built module. Same shape as the kernel stage's BuildResult.modules[]. */
export const ModuleRecordSchema = z.object({
  name: z.string().describe('module name, e.g. rockchip_vdec'),
  path: z.string().optional().describe('where it was built (host path)'),
  vermagic: z.string(),
  size: count.describe('bytes'),
  sha256,
});
export type ModuleRecord = z.infer<typeof ModuleRecordSchema>;

/** A patch of the series. */
export const PatchRecordSchema = z.object({
  file: z.string().describe('path relative to patches/'),
  subject: z.string().optional(),
  sha256,
});

/** A compiler or static-check diagnostic (gcc, sparse, smatch, checkpatch, kernel-doc). */
export const DiagnosticSchema = z.object({
  tool: z.string().describe('gcc, sparse, smatch, checkpatch, kernel-doc, ...'),
  file: z.string().optional().describe('path relative to the kernel tree'),
  line: count.optional(),
  column: count.optional(),
  severity: z.enum(['error', 'warning', 'note']),
  message: z.string(),
  patch: z.string().optional().describe('the patch of the series that touched this line, when known'),
});
export type Diagnostic = z.infer<typeof DiagnosticSchema>;

/** Kernel base, series and built modules. */
export const KernelInfoSchema = z
  .object({
    manifest: z.string().describe('kernel-src-manifest name'),
    baseCommit: z.string().nullable().describe('base-commit of the tree the series applies to (null: not a git base)'),
    baseVersion: z.string().optional().describe('e.g. the Debian linux-source package version'),
    series: z.object({
      hash: sha256.describe("SHA-256 over the patches' SHA-256s (hex, newline-separated) in series order"),
      changeId: z.string().optional().describe("cover letter's change-id trailer"),
      patches: z.array(PatchRecordSchema),
    }),
    modules: z.array(ModuleRecordSchema),
    diagnostics: z.object({ errors: count, warnings: count }).describe('compiler/static-check diagnostics counted over the build and checks stages'),
  })
  .describe('kernel base, series and modules');
export type KernelInfo = z.infer<typeof KernelInfoSchema>;

/** The board the run decoded on. */
export const BoardInfoSchema = z.object({
  name: z.string().describe('board name (boards.toml), "vboard" or "simboard"'),
  kind: z
    .enum(['vboard', 'simboard', 'board'])
    .describe('vboard: amd64 QEMU + visl; simboard: arm64 QEMU + the vdpu381 device model (rkvdec really runs, no pixels); board: real hardware'),
  kernelRelease: z.string().describe('uname -r on the board'),
  device: z.object({
    driver: z.string().describe('V4L2 driver name of the decoder (rkvdec, visl)'),
    media: z.string().optional().describe('/dev/mediaN'),
    video: z.string().optional().describe('/dev/videoN'),
  }),
  pixelsDecoded: z.boolean().describe('false for visl: it accepts requests but does not decode pixels'),
});
export type BoardInfo = z.infer<typeof BoardInfoSchema>;

/** What the deploy stage did. */
export const DeployInfoSchema = z.object({
  id: z.string().describe('deploy journal id (for rollback)'),
  backupDir: z.string().optional(),
  replaced: z.array(z.string()).describe('module files replaced on the board'),
  loaded: z.array(z.string()).describe('modules loaded after the reload'),
  durationMs: count,
});
export type DeployInfo = z.infer<typeof DeployInfoSchema>;

/** Name + version of a tool. */
export const ToolVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  detail: z.string().optional().describe('e.g. the GStreamer element used'),
});

/** A stage of the pipeline as it ran. */
export const StageRecordSchema = z.object({
  name: z.string(),
  status: z.enum(['pending', 'running', 'done', 'skipped', 'failed']),
  durationMs: count.optional(),
  detail: z.string().optional(),
  commands: z.array(z.string()).describe('shell lines that reproduce this stage by hand'),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});
export type StageRecord = z.infer<typeof StageRecordSchema>;

/** Per verdict, how many vectors had it. */
export const CountsSchema = z.object({
  total: count.describe('vectors planned'),
  ran: count,
  notRun: count.describe('planned but not run (interrupted or stopped early)'),
  pass: count,
  fail: count,
  timeout: count,
  error: count,
  'not-supported': count,
  crash: count,
});
export type Counts = z.infer<typeof CountsSchema>;

/** The whole run. */
export const RunRecordSchema = z
  .object({
    $schema: z.string().optional(),
    schema: z.literal(RUN_SCHEMA_NAME),
    schemaVersion: z.literal(RUN_SCHEMA_VERSION),
    runId: RunIdSchema,
    status: z.enum(['complete', 'incomplete']).describe('incomplete: interrupted, or a stage failed before all vectors ran'),
    incompleteReason: z.string().optional(),
    startedAt: isoTime,
    finishedAt: isoTime,
    durationMs: count,
    exitCode: z.union([z.literal(0), z.literal(1), z.literal(2)]).describe('0 passed, 1 test failures, 2 infrastructure'),
    command: z.string().describe('the workbench command line of this run'),
    workbench: z.object({
      version: z.string(),
      gitCommit: z.string().optional(),
      gitDirty: z.boolean().optional(),
    }),
    kernel: KernelInfoSchema.optional(),
    board: BoardInfoSchema.optional(),
    deploy: DeployInfoSchema.optional(),
    decoder: ToolVersionSchema.optional().describe('decoder on the board, e.g. GStreamer v4l2slvp9dec'),
    reference: ToolVersionSchema.optional().describe('reference decoder on the host, e.g. libvpx vpxdec'),
    suite: z.object({
      name: z.string(),
      filter: z.string().optional().describe('--vectors glob, when given'),
      vectors: z.array(z.string()).describe('every vector planned, in run order'),
    }),
    stages: z.array(StageRecordSchema),
    checks: z
      .object({
        ran: z.array(CheckSchema),
        notRun: z.array(z.object({ check: CheckSchema, reason: z.string() })),
        pixelsVerified: z.boolean(),
      })
      .describe('which checks ran over the whole run'),
    counts: CountsSchema,
    vectors: z.array(VectorResultSchema),
    irq: IrqRunSummarySchema,
    diagnostics: z.array(DiagnosticSchema).optional().describe('build and static-check diagnostics'),
    kernelLog: z.array(KernelLogFindingSchema).describe('findings outside any vector (deploy, module load)'),
    previousRunId: RunIdSchema.optional().describe('the previous run on the same board, diffed against'),
  })
  .meta({ id: 'RunRecord', title: 'vp9-workbench run record' });
export type RunRecord = z.infer<typeof RunRecordSchema>;

export { VerdictResultSchema };
