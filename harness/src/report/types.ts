/**
 * The run-record types other stages produce (one import for producers):
 * verdicts and checks (verdict.ts), IRQ summaries (irqTypes.ts), and the run
 * record with its parts (record.ts). See reports/README.md for the meaning of
 * every field.
 */
export * from './verdict.ts';
export * from './irqTypes.ts';
export * from './record.ts';
