/**
 * Splits the text of tracefs `trace` (or `trace_pipe`) into events.
 *
 * An event starts with the ftrace header line
 * `<task>-<pid> [<cpu>] <flags> <seconds.micros>: <event>: <text>` (the flags
 * column depends on the `irq-info` option and may be absent) and, for events
 * whose TP_printk contains newlines (visl's do: its formats start with "\n"),
 * continues over the following lines until the next header line. Comment
 * lines (`#`) are skipped; the `entries-in-buffer/entries-written` comment is
 * kept so a caller can tell whether the ring buffer dropped events.
 * Format: kernel/trace/trace_output.c (trace_raw_output_prep prints
 * "<event name>: " then the TP_printk text).
 */

/** One trace event. */
export interface FtraceEvent {
  task: string;
  pid: number;
  cpu: number;
  /** Trace clock, seconds. */
  time: number;
  /** Event name (e.g. `v4l2_ctrl_vp9_frame`). */
  event: string;
  /** The printed text: the rest of the header line, then every continuation line. */
  lines: string[];
}

/** Parsed trace plus the buffer accounting from its header. */
export interface FtraceText {
  events: FtraceEvent[];
  /** From `# entries-in-buffer/entries-written: N/M`; M > N means events were lost. */
  entriesInBuffer?: number;
  entriesWritten?: number;
}

const HEADER = /^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d{3,})\]\s+(?:[^\s]{4,6}\s+)?(\d+\.\d+):\s+([A-Za-z0-9_]+):\s?(.*)$/;
const ENTRIES = /^#\s*entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/;

/** Parses trace text (see module doc). Lines that fit nothing before the first event are ignored. */
export function parseFtrace(text: string): FtraceText {
  const out: FtraceText = { events: [] };
  let cur: FtraceEvent | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) {
      const m = ENTRIES.exec(line);
      if (m) {
        out.entriesInBuffer = Number(m[1]);
        out.entriesWritten = Number(m[2]);
      }
      continue;
    }
    const m = HEADER.exec(line);
    if (m) {
      cur = { task: m[1]!, pid: Number(m[2]), cpu: Number(m[3]), time: Number(m[4]), event: m[5]!, lines: [m[6]!] };
      out.events.push(cur);
      continue;
    }
    if (cur) cur.lines.push(line);
  }
  for (const e of out.events) {
    while (e.lines.length > 0 && e.lines[e.lines.length - 1]!.trim() === '') e.lines.pop();
  }
  return out;
}
