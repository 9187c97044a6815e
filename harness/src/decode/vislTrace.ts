/**
 * visl's trace of the V4L2 stateless VP9 controls, for commands outside
 * decode/ (`workbench registers kunit-golden`): parse the tracefs text, then
 * read the frame and compressed-header controls of each frame.
 */
export { parseFtrace } from './visl/ftrace.ts';
export { vp9FrameEvents } from './visl/vp9FrameTrace.ts';
export { vp9ProbsEvents } from './visl/vp9ProbsTrace.ts';
