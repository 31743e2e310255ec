import { readdir, readFile, readlink } from 'node:fs/promises';

/** The processes whose parent is `pid` (Linux /proc). */
export async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name is in parentheses and may hold spaces: the parent's PID is the 2nd field after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * How many established TCP connections to local `port` from the client ports `from` each process
 * holds (Linux /proc): the sockets of /proc/net/tcp{,6} in state ESTABLISHED, found among each
 * process's file descriptors by inode.
 */
export async function connectionsOnPort(
  pids: readonly number[],
  port: number,
  from: ReadonlySet<number>,
): Promise<number[]> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = Number.parseInt(fields[1]?.split(':').at(-1) ?? '', 16);
      const remote = Number.parseInt(fields[2]?.split(':').at(-1) ?? '', 16);
      if (local === port && from.has(remote) && fields[3] === '01' && fields[9]) inodes.add(fields[9]);
    }
  }
  return Promise.all(
    pids.map(async (pid) => {
      let held = 0;
      for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
        const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode !== undefined && inodes.has(inode)) held += 1;
      }
      return held;
    }),
  );
}
