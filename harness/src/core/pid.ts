/**
 * Whether a process with this PID exists on this host. `kill(pid, 0)`
 * sends no signal and only checks: it fails with ESRCH when there is no
 * such process and with EPERM when the process exists but belongs to
 * another user (kill(2), "ERRORS"), so EPERM means alive.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
