/**
 * `setup --engine podman`: the stack on the current user's rootless Podman. Podman serves the
 * Docker Engine API on a per-user socket; pointing DOCKER_HOST there makes every `docker` and
 * Compose call of the scripts, and the gateway itself (its socket mount), use it unchanged.
 */
import { join } from 'node:path';
import { capture } from './run.ts';

export type PodmanCheck = { ok: true; socket: string } | { ok: false; problem: string };

const START_HINT = `Start your user's Podman API service:
    systemctl --user enable --now podman.socket
    loginctl enable-linger "$USER"    # so it outlives your login
  or, without systemd: podman system service --time=0 &`;

/** The user's Podman API socket, as `podman system service` and podman.socket place it. */
export function podmanSocket(runtimeDir = process.env.XDG_RUNTIME_DIR): string | undefined {
  return runtimeDir ? join(runtimeDir, 'podman', 'podman.sock') : undefined;
}

/** Whether this user's rootless Podman can run the stack, and if not, what to do about it. */
export async function checkPodman({ uid = process.getuid?.(), runtimeDir = process.env.XDG_RUNTIME_DIR } = {}): Promise<PodmanCheck> {
  if (uid === 0) {
    return { ok: false, problem: '--engine podman is for rootless Podman: run setup as the unprivileged user who will own the stack, not as root.' };
  }
  if (!Bun.which('podman')) return { ok: false, problem: 'The podman command is missing: install podman, uidmap, slirp4netns and fuse-overlayfs (Debian: apt-get install podman uidmap slirp4netns fuse-overlayfs).' };
  const socket = podmanSocket(runtimeDir);
  if (!socket) return { ok: false, problem: `XDG_RUNTIME_DIR is not set, so your Podman socket cannot be found: log in as the user (not su/sudo) or set XDG_RUNTIME_DIR=/run/user/$(id -u).\n  ${START_HINT}` };
  const answered = await fetch('http://podman/_ping', { unix: socket }).then((r) => r.ok, () => false);
  if (!answered) return { ok: false, problem: `Podman's API does not answer on ${socket}.\n  ${START_HINT}` };
  const rootless = await capture(['podman', 'info', '--format', '{{.Host.Security.Rootless}}'], { timeoutMs: 20_000 });
  if (rootless.stdout.trim() !== 'true') return { ok: false, problem: `podman info does not report a rootless Podman (${rootless.stderr.trim() || rootless.stdout.trim()}).` };
  return { ok: true, socket };
}
