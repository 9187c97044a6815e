import { FEATURES, REQUIRED_FEATURES, type FeatureId } from './features.ts';

/** Coverage of one feature over a suite. */
export interface FeatureCoverage {
  feature: FeatureId;
  description: string;
  /** In REQUIRED_FEATURES (vectors/features.ts): the generated suite must cover it. */
  required: boolean;
  /** Vectors (by name) that exercise it. */
  vectors: string[];
  /** Reason given when no vector can cover it (recipes' [impossible]). */
  impossible: string | null;
  /** covered | impossible | MISSING (required, neither) | - (optional, not covered). */
  status: 'covered' | 'impossible' | 'MISSING' | '-';
}

/** Feature x vector coverage of a suite. */
export interface CoverageTable {
  suite: string;
  vectors: string[];
  rows: FeatureCoverage[];
  /** Required features neither covered nor marked impossible. */
  missing: FeatureId[];
}

/**
 * Builds the coverage table from each vector's detected features.
 * @param vectors name -> features (null when the vector is not available)
 * @param impossible feature -> reason it cannot be covered
 */
export function coverageTable(
  suite: string,
  vectors: { name: string; features: readonly FeatureId[] | null }[],
  impossible: Partial<Record<FeatureId, string>> = {},
): CoverageTable {
  const rows: FeatureCoverage[] = (Object.keys(FEATURES) as FeatureId[]).map((f) => {
    const names = vectors.filter((v) => v.features?.includes(f)).map((v) => v.name);
    const required = REQUIRED_FEATURES.includes(f);
    const imp = impossible[f] ?? null;
    const status = names.length ? 'covered' : imp ? 'impossible' : required ? 'MISSING' : '-';
    return { feature: f, description: FEATURES[f], required, vectors: names, impossible: imp, status };
  });
  return { suite, vectors: vectors.map((v) => v.name), rows, missing: rows.filter((r) => r.status === 'MISSING').map((r) => r.feature) };
}

/**
 * Renders the table as text: one row per feature, one column per vector
 * (numbered; the legend maps numbers to names), `x` where covered.
 */
export function formatCoverage(t: CoverageTable, vectorsAvailable: Record<string, boolean> = {}): string {
  const lines: string[] = [];
  const w = Math.max(...t.rows.map((r) => r.feature.length), 7);
  const cols = t.vectors.map((_, i) => String(i + 1).padStart(2));
  lines.push(`${'feature'.padEnd(w)} req ${cols.join(' ')}  status`);
  for (const r of t.rows) {
    const cells = t.vectors.map((v) => (r.vectors.includes(v) ? ' x' : vectorsAvailable[v] === false ? ' ?' : ' .'));
    const st = r.status === 'impossible' ? `impossible: ${r.impossible}` : r.status === 'covered' ? `covered (${r.vectors.length})` : r.status;
    lines.push(`${r.feature.padEnd(w)} ${r.required ? ' * ' : '   '} ${cells.join(' ')}  ${st}`);
  }
  lines.push('');
  t.vectors.forEach((v, i) => lines.push(`${String(i + 1).padStart(2)} ${v}${vectorsAvailable[v] === false ? '  (not available: ? = unknown)' : ''}`));
  lines.push('');
  const req = t.rows.filter((r) => r.required);
  lines.push(
    `${req.filter((r) => r.status === 'covered').length} of ${req.length} required features covered, ${req.filter((r) => r.status === 'impossible').length} impossible, ${t.missing.length} missing${t.missing.length ? ': ' + t.missing.join(', ') : ''}`,
  );
  return lines.join('\n');
}
