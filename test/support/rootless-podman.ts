/**
 * A throwaway Linux user with its own rootless Podman, for tests that must show the stack runs
 * without root. Needs root to create and delete the user; everything else runs as that user.
 * Debian: podman uidmap slirp4netns fuse-overlayfs.
 */
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from './eventually.ts';

/** Marks the users made here, so a run killed before its cleanup is swept up by the next one. */
const COMMENT = 'nanobot rootless podman test';

export type Ran = { code: number; stdout: string; stderr: string };

export type RootlessUser = {
  name: string;
  uid: number;
  home: string;
  /** XDG_RUNTIME_DIR, where Podman keeps its socket and network namespace. */
  runtimeDir: string;
  /** The user's Podman API socket (Docker Engine API compatible). */
  socket: string;
  /** The user's subordinate uids: container uid N (N > 0) is host uid subuidStart + N - 1. */
  subuidStart: number;
  subuidCount: number;
  /** Runs a command as the user, in their home, with their runtime dir; never throws. */
  run(cmd: string[], stdin?: Blob): Promise<Ran>;
  /** `podman <args>` as the user; throws with its output when it fails. */
  podman(...args: string[]): Promise<string>;
  /** Pid of the user's `podman system service`. */
  servicePid: number;
  /** Host pids whose uid is the user's or one of their subordinate uids. */
  pids(): number[];
  /** Kills the user's processes, deletes the user, their home and runtime dir. Safe to call twice. */
  remove(): Promise<void>;
};

/** The real, effective, saved and file-system uids of a process, or undefined once it is gone. */
export function uidsOf(pid: number): number[] | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
    return line?.split(/\s+/).slice(1).map(Number);
  } catch {
    return undefined;
  }
}

export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

export function allPids(): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

/** What `podman inspect` says of a container: its id, and the host pids of its process and its conmon. */
export type ContainerInfo = { Id: string; State: { Pid: number; ConmonPid: number; Running: boolean } };

export async function inspectContainer(user: RootlessUser, name: string): Promise<ContainerInfo> {
  const [info] = JSON.parse(await user.podman('inspect', '--type', 'container', name)) as ContainerInfo[];
  if (!info) throw new Error(`podman inspect ${name} said nothing`);
  return info;
}

/** The names of the user's running agent containers (the gateway labels every one it makes). */
export async function agentNames(user: RootlessUser): Promise<string[]> {
  return (await user.podman('ps', '--filter', 'label=nanobot.managed=true', '--format', '{{.Names}}')).split('\n').filter(Boolean);
}

/** Root processes on the host whose command line names the user's home, runtime dir or one of these containers. */
export function rootProcessesNaming(user: RootlessUser, containerIds: string[]): string[] {
  return allPids()
    .filter((pid) => uidsOf(pid)?.[0] === 0)
    .map(commandLineOf)
    .filter((cmd) => cmd.includes(user.runtimeDir) || cmd.includes(user.home) || containerIds.some((id) => cmd.includes(id.slice(0, 12))));
}

async function exec(cmd: string[], stdin?: Blob): Promise<Ran> {
  const child = Bun.spawn(cmd, { stdin: stdin ?? 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

async function must(cmd: string[]): Promise<string> {
  const ran = await exec(cmd);
  if (ran.code !== 0) throw new Error(`${cmd.join(' ')} failed (${ran.code}): ${ran.stderr.trim() || ran.stdout.trim()}`);
  return ran.stdout;
}

function subuidRange(name: string): { start: number; count: number } {
  const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const [, start, count] = line?.split(':') ?? [];
  if (!start || !count) throw new Error(`useradd gave ${name} no subordinate uids in /etc/subuid`);
  return { start: Number(start), count: Number(count) };
}

function pidsOf(uid: number, range: { start: number; count: number }): number[] {
  return allPids().filter((pid) => {
    const real = uidsOf(pid)?.[0];
    return real !== undefined && (real === uid || (real >= range.start && real < range.start + range.count));
  });
}

async function removeUser(name: string, uid: number, range: { start: number; count: number }): Promise<void> {
  // Stop the containers first, so their data is not written while it is deleted; then anything left.
  const home = `/home/${name}`;
  await exec(['runuser', '-u', name, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, 'sh', '-c', `cd ${home} && timeout 60 podman rm --all --force --time 0`]);
  for (let round = 0; round < 20; round += 1) {
    const left = pidsOf(uid, range);
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await Bun.sleep(100);
  }
  await exec(['userdel', '--remove', name]);
  rmSync(`/run/user/${uid}`, { recursive: true, force: true });
}

/** Users a killed run left behind (recognised by their comment), removed with everything they own. */
async function sweepLeftovers(): Promise<void> {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, , comment] = line.split(':');
    if (!name || comment !== COMMENT) continue;
    let range = { start: 0, count: 0 };
    try {
      range = subuidRange(name);
    } catch {
      // Killed before useradd finished: only the user's own uid can have processes.
    }
    await removeUser(name, Number(uid), range);
  }
}

/** Creates the user, configures their Podman for this machine and starts their API service. */
export async function createRootlessUser(): Promise<RootlessUser> {
  const missing = ['podman', 'newuidmap', 'slirp4netns', 'fuse-overlayfs'].filter((tool) => !Bun.which(tool));
  if (missing.length > 0) throw new Error(`rootless Podman needs ${missing.join(', ')}: apt-get install podman uidmap slirp4netns fuse-overlayfs`);
  if (process.getuid?.() !== 0) throw new Error('creating a throwaway user needs root');
  await sweepLeftovers();
  const name = `nbpod${crypto.randomUUID().slice(0, 8)}`;
  // useradd gives the new user a range of subordinate uids and gids (Debian's login.defs).
  await must(['useradd', '--create-home', '--shell', '/bin/sh', '--comment', COMMENT, name]);
  const uid = Number((await must(['id', '-u', name])).trim());
  const gid = Number((await must(['id', '-g', name])).trim());
  const range = subuidRange(name);
  const home = `/home/${name}`;
  const runtimeDir = `/run/user/${uid}`;
  try {
    mkdirSync(join(runtimeDir, 'podman'), { recursive: true, mode: 0o700 });
    const config = join(home, '.config', 'containers');
    mkdirSync(config, { recursive: true });
    // runc may not raise the open-files limit in a sandbox; fuse-overlayfs instead of the slow vfs driver.
    writeFileSync(join(config, 'containers.conf'), '[containers]\ndefault_ulimits = []\n');
    writeFileSync(join(config, 'storage.conf'), '[storage]\ndriver = "overlay"\n[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n');
    for (const path of [runtimeDir, join(runtimeDir, 'podman'), join(home, '.config'), config, join(config, 'containers.conf'), join(config, 'storage.conf')]) {
      chownSync(path, uid, gid);
    }
    const env = ['env', `HOME=${home}`, `XDG_RUNTIME_DIR=${runtimeDir}`, 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'];
    const run = (cmd: string[], stdin?: Blob) =>
      exec(['runuser', '-u', name, '--', ...env, 'sh', '-c', `cd ${home} && exec "$@"`, 'sh', ...cmd], stdin);
    const podman = async (...args: string[]) => {
      const ran = await run(['podman', ...args]);
      if (ran.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${ran.code}): ${ran.stderr.trim() || ran.stdout.trim()}`);
      return ran.stdout;
    };
    const socket = join(runtimeDir, 'podman', 'podman.sock');
    // Detached (setsid, reparented), so no root `runuser` stays behind as its parent.
    const started = await run(['sh', '-c', `setsid podman system service --time=0 unix://${socket} >"$HOME/podman-service.log" 2>&1 </dev/null & echo $!`]);
    const servicePid = Number(started.stdout.trim());
    await eventually(async () => {
      const res = await fetch('http://podman/_ping', { unix: socket });
      if (!res.ok) throw new Error(`the Podman service answers ${res.status}`);
    }, 30_000);
    let removed = false;
    return {
      name,
      uid,
      home,
      runtimeDir,
      socket,
      subuidStart: range.start,
      subuidCount: range.count,
      run,
      podman,
      servicePid,
      pids: () => pidsOf(uid, range),
      async remove() {
        if (removed) return;
        removed = true;
        await removeUser(name, uid, range);
      },
    };
  } catch (error) {
    await removeUser(name, uid, range);
    throw error;
  }
}
