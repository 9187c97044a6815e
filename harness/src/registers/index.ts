/**
 * What other folders use of registers/ (the per-vector `registers` check in
 * decode/checks/): MPP's records of a vector, the differential of a
 * simboard capture against them, the allow-list.
 */
export { loadAllowList } from './allowList.ts';
export { cachedMppRecords, diffCaptureText } from './compareRun.ts';
export { ensureMppRig } from './mppBuild.ts';
export { formatDifference, formatReport, type RegDiffReport } from './diff.ts';
export { summarizeCapture } from './captureSummary.ts';
