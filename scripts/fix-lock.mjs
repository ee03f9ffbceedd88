// The npm registry reachable here has no chdb builds for macOS or Linux arm64, so `npm install`
// leaves them out of package-lock.json and `npm ci` then calls the lock out of sync. Optional
// entries with their os/cpu make npm skip them on this platform and keep the lock valid.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const chdb = lock.packages['node_modules/chdb'];
const platforms = {
  '@chdb/lib-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  '@chdb/lib-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  '@chdb/lib-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'] },
};
for (const [name, shape] of Object.entries(platforms)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const version = chdb.optionalDependencies?.[name];
  if (!version) continue;
  lock.packages[key] = { version, optional: true, ...shape };
}
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
