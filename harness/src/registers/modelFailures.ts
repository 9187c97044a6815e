/** A job the model did not decode (capture record `"model":{"state":"failed"|"pending"}`, vdpu381_sim.c). */
export interface ModelFailure {
  /** The device's 1-based job number. */
  job: number;
  /** The device's reason (disconnected, no answer within the bound, bad answer, or the job ended first). */
  why: string;
}

/**
 * The jobs of a stretch of capture lines (JSON lines of vdpu381_sim.c) the
 * model failed: no answer (`failed`: socket closed, timed out, malformed)
 * or the job ended before its answer came (`pending`: the driver's
 * watchdog). Lines that are not JSON are skipped.
 */
export function modelFailuresIn(captureText: string): ModelFailure[] {
  const out: ModelFailure[] = [];
  for (const line of captureText.split('\n')) {
    if (!line.includes('"model":')) continue;
    let rec: { job?: number; model?: { state?: string; why?: string } };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    const st = rec.model?.state;
    if (st === 'failed') out.push({ job: rec.job ?? 0, why: rec.model?.why ?? 'no reason given' });
    else if (st === 'pending') out.push({ job: rec.job ?? 0, why: 'the job ended before the model answered' });
  }
  return out;
}
