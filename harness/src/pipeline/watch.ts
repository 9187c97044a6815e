/**
 * `workbench iterate --watch`: waits for changes under a folder (patches/),
 * debounced, ignoring editor droppings (dotfiles, `*~`, `*.swp`, `#*#`).
 */
import { watch } from 'node:fs';
import { basename } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';

/** True for file names an editor writes while saving (not a change to the series). */
export function isEditorNoise(file: string): boolean {
  const b = basename(file);
  return b.startsWith('.') || b.endsWith('~') || b.endsWith('.swp') || b.endsWith('.swx') || (b.startsWith('#') && b.endsWith('#')) || b === '4913';
}

/** A change watcher over `dir` (recursive). Create with {@link watchFolder}; close when done. */
export interface FolderWatcher {
  /**
   * Resolves with the changed files (relative to the folder) once changes
   * stopped arriving for `debounceMs`; changes seen since the last call count
   * (a save during a run triggers the next run at once).
   * @throws E_ABORTED when `signal` aborts while waiting.
   */
  next(signal?: AbortSignal): Promise<string[]>;
  close(): void;
}

/** Starts watching `dir` recursively. @throws E_WATCH when the folder cannot be watched. */
export function watchFolder(dir: string, debounceMs = 400): FolderWatcher {
  const pending = new Set<string>();
  let wake: (() => void) | undefined;
  let w: ReturnType<typeof watch>;
  try {
    w = watch(dir, { recursive: true, persistent: true }, (_ev, file) => {
      const f = file ? String(file) : '';
      if (f && isEditorNoise(f)) return;
      pending.add(f || '.');
      wake?.();
    });
  } catch (e) {
    throw new WorkbenchError('E_WATCH', `cannot watch ${dir}: ${(e as Error).message}`, { cause: e, hint: 'does the folder exist?' });
  }
  return {
    async next(signal) {
      for (;;) {
        if (signal?.aborted) throw new WorkbenchError('E_ABORTED', 'stopped watching');
        if (pending.size) {
          // debounce: wait until quiet
          let size = -1;
          while (size !== pending.size) {
            size = pending.size;
            await new Promise((r) => setTimeout(r, debounceMs));
          }
          const files = [...pending].sort();
          pending.clear();
          return files;
        }
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          wake = () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          signal?.addEventListener('abort', onAbort, { once: true });
        });
        wake = undefined;
      }
    },
    close() {
      w.close();
    },
  };
}
