/**
 * chDB lets one process open a data directory, so while `serve` holds ./data a CLI report cannot. `serve`
 * leaves its address in the directory; the CLI finds it there and asks the API instead.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const FILE = '.egresslens-serve.json';

export interface ServerAdvert {
  url: string;
  pid: number;
  tokenRequired: boolean;
}

export function advertiseServer(
  dataDir: string,
  address: string,
  tokenRequired: boolean,
): { remove(): void } {
  const path = join(resolve(dataDir), FILE);
  const advert: ServerAdvert = {
    url: address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]'),
    pid: process.pid,
    tokenRequired,
  };
  writeFileSync(path, JSON.stringify(advert));
  return { remove: () => rmSync(path, { force: true }) };
}

/** The running server for this data directory, if its process is alive. */
export function findServer(dataDir: string): ServerAdvert | undefined {
  try {
    const advert = JSON.parse(readFileSync(join(resolve(dataDir), FILE), 'utf8')) as ServerAdvert;
    process.kill(advert.pid, 0);
    return advert;
  } catch {
    return undefined;
  }
}
