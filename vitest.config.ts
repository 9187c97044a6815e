import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - unit: fast tests of our own logic with fakes (harness/test/**\/*.test.ts)
 * - integration: tests that run the real thing (QEMU vboard, toolbox chroot,
 *   vpxenc, ffmpeg...): harness/test/**\/*.int.test.ts. They run one file at a
 *   time because they share the single virtual board and the 2 CPU cores.
 */
export default defineConfig({
  test: {
    // Installs (as root) or names the missing host tools before any test runs.
    globalSetup: ['harness/test/globalSetup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['harness/test/**/*.test.ts'],
          exclude: ['harness/test/**/*.int.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['harness/test/**/*.int.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
