/**
 * Generated lines laid out as the kubelet keeps container logs (/var/log/pods/<namespace>_<pod>_<uid>/<container>/
 * 0.log), so that `egresslens ingest` reads each line's pod, namespace, container and workload from the path, as
 * it does on a node, and stores the same metadata Fluent Bit's kubernetes filter gives the HTTP and Kafka
 * intakes: the paths then store the same rows.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface PodOfLines {
  namespace: string;
  pod: string;
  container: string;
}

/** The kubelet's path of a pod's container log under `root`. */
export function kubeletLogPath(
  root: string,
  p: PodOfLines,
  uid = '6f1c1a36-1111-4b7e-9c1e-2a3b4c5d6e7f',
): string {
  return join(root, 'var', 'log', 'pods', `${p.namespace}_${p.pod}_${uid}`, p.container, '0.log');
}

/**
 * Copies `file`'s lines into one log file per pod, `chunk` lines at a time, chunk n to `podOfChunk(n)` (as the
 * HTTP bench's bodies rotate pods); the files, in the order first written.
 */
export async function splitByPod(
  file: string,
  root: string,
  chunk: number,
  podOfChunk: (n: number) => PodOfLines,
): Promise<string[]> {
  const outs = new Map<string, WriteStream>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let i = 0;
  for await (const line of lines) {
    const path = kubeletLogPath(root, podOfChunk(Math.floor(i++ / chunk)));
    let out = outs.get(path);
    if (!out) {
      mkdirSync(join(path, '..'), { recursive: true });
      out = createWriteStream(path);
      outs.set(path, out);
    }
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  await Promise.all(
    [...outs.values()].map(async (out) => {
      out.end();
      await once(out, 'finish');
    }),
  );
  return [...outs.keys()];
}
